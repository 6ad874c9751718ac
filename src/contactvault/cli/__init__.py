"""The ``contactvault`` command (click + rich): one function per subcommand, no global state.

The subcommands live by concern: `importing` (import), `contacts` (add, edit, duplicates, merge),
`vaultcmds` (init, list, show, passwd, verify), `usercmds` (user add, list, remove, passwd; rekey),
`rights` (consent, basis, messenger, label, restrict, object),
`messenger` (book, export, sync), `logcmd` (log), `backupcmds` (backup, restore), `gdprcmds` (audit,
access, erase, ropa) and `demo`. What they share (the vault and its passphrase, common options) is in
`contactvault.cli._app`, how a command ends (exit codes, errors) in `contactvault.cli._errors`.
``docs/cli.md`` is the reference.

The root group is a `CommandLine`: a usage error anywhere below it is one line on stderr (exit code 2)
that names the option and never the value typed, and Ctrl-C is one line with exit code 130.
"""

from __future__ import annotations

import click

from contactvault.cli import (
    askcmds,
    backupcmds,
    contacts,
    demo,
    gdprcmds,
    importing,
    logcmd,
    messenger,
    noticecmds,
    retentioncmds,
    rights,
    usercmds,
    vaultcmds,
)
from contactvault.cli._errors import CommandLine

__all__ = ["main"]


@click.group(
    "contactvault",
    cls=CommandLine,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option("--debug", is_flag=True, help="Show the traceback of unexpected errors.")
@click.version_option(package_name="contactvault")
def main(debug: bool) -> None:  # the --debug flag is read through the context by guarded()
    """Keep customer contacts encrypted; hand a messenger only names and numbers it may have.

    Start with `contactvault demo`: it tells the whole story in a temporary folder.
    """


for _module in (
    importing,
    contacts,
    vaultcmds,
    usercmds,
    rights,
    noticecmds,
    askcmds,
    retentioncmds,
    messenger,
    logcmd,
    backupcmds,
    gdprcmds,
    demo,
):
    for _command in _module.COMMANDS:
        main.add_command(_command)
