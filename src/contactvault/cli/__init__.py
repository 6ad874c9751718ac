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

Commands load on demand, so that a command starts at once: the root group knows each command's name,
module and short help from `COMMAND_TABLE`, and imports a command's module only when that command runs
(``contactvault list`` never imports the audit, the GDPR reports, the importers or the HTTP client).
``contactvault --help`` lists every command from the table without importing any. ``main.commands`` is a
mapping that imports a module when one of its commands is looked up; a test keeps the table equal to the
commands the modules define.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from typing import Final, NamedTuple

import click

from contactvault.cli._errors import CommandLine, is_the_command

__all__ = ["COMMAND_TABLE", "CommandEntry", "main"]


class CommandEntry(NamedTuple):
    """Where a top-level command lives and what ``--help`` says of it before its module is imported.

    ``module`` is the module in ``contactvault.cli`` whose ``COMMANDS`` holds it; ``short_help`` the first
    sentence of its help, or its ``short_help=`` when ``explicit`` (shown as it is, never shortened);
    ``extended_by`` the modules that hang subcommands under it (imported with it).
    """

    module: str
    short_help: str
    explicit: bool = False
    extended_by: tuple[str, ...] = ()


COMMAND_TABLE: Final[dict[str, CommandEntry]] = {
    "import": CommandEntry(
        "importing",
        "Import an address book export (vCard 2.1/3.0/4.0, Google or Outlook CSV) into the vault.",
    ),
    "add": CommandEntry(
        "contacts",
        "Add one contact (the customer who just called): a name, numbers, e-mail addresses and more.",
    ),
    "edit": CommandEntry(
        "contacts",
        "Change CONTACT (its id, or one of its numbers): its name, numbers, e-mail, address, notes, "
        "birthday.",
    ),
    "duplicates": CommandEntry(
        "contacts",
        "List groups of contacts that share a phone number: likely one person, to merge with `merge`.",
    ),
    "merge": CommandEntry(
        "contacts", "Merge CONTACTS (ids or numbers; the first one stays) into one contact."
    ),
    "init": CommandEntry(
        "vaultcmds",
        "Create a new, empty vault (asks for the new passphrase twice unless a passphrase file is given).",
    ),
    "list": CommandEntry(
        "vaultcmds", "List every contact: short id, name, numbers, active consents, labels, restriction."
    ),
    "show": CommandEntry(
        "vaultcmds",
        "Show one contact: numbers, consents, legal bases, restriction, objections, labels, messenger.",
    ),
    "passwd": CommandEntry(
        "vaultcmds", "Change your passphrase, or user NAME's (the recovery key, if any, keeps working)."
    ),
    "verify": CommandEntry(
        "vaultcmds", "Check the whole vault, decrypting every record once; a damaged vault exits with 3."
    ),
    "user": CommandEntry(
        "usercmds", "Add, list and remove the vault's users; set a passphrase.", explicit=True
    ),
    "rekey": CommandEntry("usercmds", "Replace the vault's master key: run it after removing a user."),
    "consent": CommandEntry(
        "rights",
        "Record a consent (Art. 7) or its withdrawal; list who is due.",
        explicit=True,
        extended_by=("askcmds", "noticecmds"),  # consent request, confirm, inbox; consent refresh, import
    ),
    "basis": CommandEntry("rights", "Record a legal basis (Art. 6(1) b to f).", explicit=True),
    "messenger": CommandEntry("rights", "Record whether a contact's number uses the messenger."),
    "label": CommandEntry(
        "rights", "Attach labels to a contact or take them off (names compared without case)."
    ),
    "restrict": CommandEntry(
        "rights", "Restrict processing of a contact (Art. 18), or lift it.", explicit=True
    ),
    "object": CommandEntry("rights", "Record an objection to a purpose (Art. 21).", explicit=True),
    "notice": CommandEntry(
        "noticecmds", "Store privacy notices (versioned, immutable); list and show them.", explicit=True
    ),
    "retention": CommandEntry(
        "retentioncmds",
        "The retention schedule: store it, plan and apply it (Art. 5(1)(e)).",
        explicit=True,
    ),
    "book": CommandEntry(
        "messenger", "Show the minimal messenger book: the entries the vault's policy allows."
    ),
    "export": CommandEntry(
        "messenger", "Write the minimal messenger book to PATH (mode 0600) and record the disclosure."
    ),
    "sync": CommandEntry(
        "messenger", "Make a vCard file or a CardDAV address book hold exactly the messenger book."
    ),
    "log": CommandEntry(
        "logcmd",
        "Show the vault's log: who changed, exported or synced what, one person's records, or what a target "
        "saw.",
    ),
    "backup": CommandEntry(
        "backupcmds",
        "Write a verified copy of the vault to DEST (a new file, mode 0600); it opens with the same "
        "passphrase.",
    ),
    "restore": CommandEntry(
        "backupcmds", "Check the backup SOURCE and copy it to DEST, a NEW file; SOURCE is only read."
    ),
    "migrate": CommandEntry(
        "backupcmds",
        "Copy the vault SRC into a NEW vault DST, a file or a postgresql:// URL, and verify the copy.",
    ),
    "audit": CommandEntry(
        "gdprcmds", "Audit a phone's address book: what can the messenger see, and what should not be there?"
    ),
    "access": CommandEntry(
        "gdprcmds",
        "Write the access report of a contact (GDPR Art. 15), and its portable export.",
        explicit=True,
    ),
    "erase": CommandEntry(
        "gdprcmds", "Erase a contact for good (GDPR Art. 17) and print the receipt.", explicit=True
    ),
    "ropa": CommandEntry(
        "gdprcmds", "Write the record of processing (GDPR Art. 30) for the messenger.", explicit=True
    ),
    "demo": CommandEntry("demo", "Tell the whole story on synthetic sample data, in a temporary folder."),
}
"""Every top-level command: its module and its short help, in the order ``--help`` used to list modules."""


def load_command(name: str) -> click.Command:
    """The command ``name``, its module (from `COMMAND_TABLE`) and those that extend it imported."""
    entry = COMMAND_TABLE[name]
    module = importlib.import_module(f"contactvault.cli.{entry.module}")
    for extension in entry.extended_by:
        importlib.import_module(f"contactvault.cli.{extension}")
    commands: list[click.Command] = module.COMMANDS
    for command in commands:
        if command.name == name:
            return command
    raise LookupError(f"contactvault.cli.{COMMAND_TABLE[name].module} defines no command {name!r}")


class _LazyCommands(MutableMapping[str, click.Command]):
    """The root group's commands: every name in `COMMAND_TABLE`, its module imported when it is looked up."""

    def __init__(self) -> None:
        self.loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        command = self.loaded.get(name)
        if command is None:
            if name not in COMMAND_TABLE:
                raise KeyError(name)
            command = self.loaded[name] = load_command(name)
        return command

    def __setitem__(self, name: str, command: click.Command) -> None:
        self.loaded[name] = command

    def __delitem__(self, name: str) -> None:
        raise TypeError("contactvault's commands cannot be removed")

    def __iter__(self) -> Iterator[str]:
        return iter({**dict.fromkeys(COMMAND_TABLE), **dict.fromkeys(self.loaded)})

    def __len__(self) -> int:
        return len(COMMAND_TABLE.keys() | self.loaded.keys())


class _LazyCommandLine(CommandLine):
    """`CommandLine` whose commands load on demand (`_LazyCommands`); ``--help`` lists them from the table.

    Before a command that opens the vault is loaded, the vault's key derivation starts (`_ahead.begin`;
    only in the command's own process, `is_the_command`), so that it runs while the command's modules
    load; what the command's open did not take is dropped when the command ends.
    """

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """Click's, after starting the key derivation the command will need (`_ahead.begin`)."""
        if args and not ctx.resilient_parsing and is_the_command():  # not while completing a word
            from contactvault.cli import _ahead  # noqa: PLC0415  (not for --help alone)

            if _ahead.begin(args[0], args[1:]):
                from contactvault import kdf_ahead  # noqa: PLC0415  (loaded by begin)

                ctx.call_on_close(kdf_ahead.forget)  # a key no open took
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The "Commands" section of ``--help``, as click writes it, without importing any command."""
        commands = self.commands
        names = [
            name
            for name in self.list_commands(ctx)
            if not (isinstance(commands, _LazyCommands) and name in commands.loaded and commands[name].hidden)
        ]
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, _short_help(commands, name, limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _short_help(commands: MutableMapping[str, click.Command], name: str, limit: int) -> str:
    """A command's short help within ``limit`` characters: the command's own once loaded, else the table's."""
    entry = COMMAND_TABLE.get(name)
    if entry is None or (isinstance(commands, _LazyCommands) and name in commands.loaded):
        return commands[name].get_short_help_str(limit)
    if entry.explicit:
        stand_in = click.Command(name, short_help=entry.short_help)
    else:
        stand_in = click.Command(name, help=entry.short_help)
    return stand_in.get_short_help_str(limit)  # shortened exactly as click shortens the command's own


@click.group(
    "contactvault",
    cls=_LazyCommandLine,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option("--debug", is_flag=True, help="Show the traceback of unexpected errors.")
@click.version_option(package_name="contactvault")
def main(debug: bool) -> None:  # the --debug flag is read through the context by guarded()
    """Keep customer contacts encrypted; hand a messenger only names and numbers it may have.

    Start with `contactvault demo`: it tells the whole story in a temporary folder.
    """


main.commands = _LazyCommands()
