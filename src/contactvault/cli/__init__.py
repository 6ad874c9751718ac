"""The ``contactvault`` command (click + rich): one function per subcommand, no global state.

The subcommands live by concern: `importing` (import), `vaultcmds` (init, list, show, consent, basis,
messenger, label, restrict, object, passwd, verify), `messenger` (book, export, sync), `gdprcmds` (audit,
access, erase, ropa) and `demo`. What they share (exit codes, errors, the vault and its passphrase) is in
`contactvault.cli._app`. ``docs/cli.md`` is the reference.
"""

from __future__ import annotations

import click

from contactvault.cli import demo, gdprcmds, importing, messenger, vaultcmds

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--debug", is_flag=True, help="Show the traceback of unexpected errors.")
@click.version_option(package_name="contactvault")
def main(debug: bool) -> None:  # the --debug flag is read through the context by guarded()
    """Keep customer contacts encrypted; hand a messenger only names and numbers it may have.

    Start with `contactvault demo`: it tells the whole story in a temporary folder.
    """


for _module in (importing, vaultcmds, messenger, gdprcmds, demo):
    for _command in _module.COMMANDS:
        main.add_command(_command)
