"""``contactvault book``, ``export`` and ``sync``: the minimal messenger book, shown, written or synced.

All three build the book with the vault's policy, ``Policy.from_vault(vault)``: the default rules with
the consent refresh period the vault stores for the purpose ``messenger`` (``consent refresh``) and the
notice versions that renew older consents (``notice add --renews``). One entry (a display name and an
E.164 number) per number the policy allows. ``book`` only shows it (names and numbers masked unless
``--reveal``) and writes and records nothing; ``book --explain`` adds every reason the policy gives: those
of each refused contact and each of its numbers, and those of each number left out of a contact that is
in the book. ``export`` writes it to a vCard or CSV file and ``sync`` makes a vCard file or a CardDAV
address book hold exactly the book; both record the disclosure in the vault's log (a dry run records
nothing). The CardDAV
password is never a command-line argument: it comes from ``--password-file``, the file named by
``CONTACTVAULT_CARDDAV_PASSWORD_FILE``, or a prompt without echo (on a terminal only).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal, TypeVar, cast, get_args

import click
from rich.text import Text

from contactvault.book import DEFAULT_PSEUDONYM, MessengerBook, NameStyle
from contactvault.cli._app import (
    VaultAccess,
    ask_secret,
    check_folder,
    echo_json,
    mask_name,
    read_secret_file,
    stdout,
    vault_options,
)
from contactvault.cli._errors import EXIT_SYNC, CommandError, guarded
from contactvault.cli._lines import NAME_WIDTH, fit, masked, write_lines
from contactvault.cli._workers import workers_option
from contactvault.errors import SyncError
from contactvault.export.vcard import VCardVersion
from contactvault.models import DirectoryEntry
from contactvault.sync import explain, export_book, messenger_book, sync_book
from contactvault.sync.policy import Decision, Policy
from contactvault.sync.targets import CardDAVTarget, SyncResult, Target, VCardFileTarget
from contactvault.vault import Vault

__all__ = ["COMMANDS", "book_command", "export_command", "sync_group"]

PASSWORD_FILE_ENV: Final = "CONTACTVAULT_CARDDAV_PASSWORD_FILE"  # noqa: S105  (a variable name)
"""The environment variable naming a file whose first line is the CardDAV password."""

_F = TypeVar("_F", bound=Callable[..., Any])


def name_style_options(func: _F) -> _F:
    """Add ``--name-style``, ``--pseudonym`` (the template of the pseudonym style) and ``--workers``."""
    func = workers_option(
        "Helper processes that share the work of the first book of the vault (0: one process; auto: one "
        "from 20,000 contacts on two cores)."
    )(func)
    func = click.option(
        "--pseudonym",
        default=DEFAULT_PSEUDONYM,
        show_default=True,
        help="The template of --name-style pseudonym; {code} is the contact's stable code.",
    )(func)
    return click.option(
        "--name-style",
        type=click.Choice(get_args(NameStyle)),
        default="full",
        show_default=True,
        help="How contacts are named in the book: full name, given name and initial, initials, or a "
        "pseudonym.",
    )(func)


def _entries(n: int) -> str:
    return f"{n} entry" if n == 1 else f"{n} entries"


def build_book(
    vault: Vault,
    name_style: str,
    pseudonym: str,
    workers: int | Literal["auto"],
    *,
    now: datetime | None = None,
) -> MessengerBook:
    """The book by the vault's policy (``Policy.from_vault``); a bad pseudonym template is a usage error."""
    try:
        return messenger_book(
            vault,
            Policy.from_vault(vault),
            name_style=cast("NameStyle", name_style),
            pseudonym=pseudonym,
            now=now,
            workers=workers,
        )
    except ValueError as exc:
        raise CommandError(str(exc)) from None


# --- book ------------------------------------------------------------------------------------------------


def _explain(vault: Vault, now: datetime, reveal: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every reason the vault's policy gives: (refused contacts, contacts in the book with numbers left out).

    A refused contact comes with its reason codes and each number's; a contact in the book comes only if
    one of its numbers is refused, with that number's reasons (``not_mobile``, ``no_messenger``, ...).
    Names and numbers are masked unless ``reveal``; a number without an E.164 form is ``None``.
    """

    def number(value: str | None) -> str | None:
        if value is None:
            return None
        return value if reveal else masked(value)

    refused: list[dict[str, Any]] = []
    left_out: list[dict[str, Any]] = []
    pairs: list[tuple[DirectoryEntry, Decision]] = list(explain(vault, Policy.from_vault(vault), now=now))
    for entry, decision in pairs:
        numbers = [
            {"number": number(n.e164), "reasons": list(n.reasons)}
            for n in decision.per_number
            if not n.allowed
        ]
        item: dict[str, Any] = {
            "contact": str(entry.id),
            "name": entry.display_name if reveal else mask_name(entry.display_name),
        }
        if not decision.allowed:
            refused.append({**item, "reasons": list(decision.reasons), "numbers": numbers})
        elif numbers:
            left_out.append({**item, "numbers": numbers})
    return refused, left_out


_REASONS_HEADER: Final = "{contact:<8}  {name}  {number}  reasons"
_NUMBER_WIDTH: Final = 18
"""The width of a number column followed by another: an E.164 number (16) or a masked one (up to 18)."""


def _reason_lines(item: dict[str, Any], fallback: list[str], width: int) -> Iterator[str]:
    """One line per number with its reasons; the contact's id and name on its first line only.

    A number's reasons include those of the whole contact; a contact without numbers gets one line with
    ``fallback`` (its own reasons).
    """
    numbers = item["numbers"] or [{"number": "none", "reasons": fallback}]
    for i, n in enumerate(numbers):
        contact = item["contact"][:8] if i == 0 else ""
        name = fit(item["name"] if i == 0 else "", width)
        number = fit(n["number"] or "no E.164 form", _NUMBER_WIDTH)
        yield f"{contact:<8}  {name}  {number}  {', '.join(n['reasons'])}".rstrip()


def _print_explanation(refused: list[dict[str, Any]], left_out: list[dict[str, Any]], reveal: bool) -> None:
    """The two lists of ``book --explain``: refused contacts, and numbers left out of the book."""
    console = stdout()
    width = NAME_WIDTH[reveal]
    sections = (
        (refused, f"Refused contacts ({len(refused)})", "The policy refuses no contact."),
        (
            left_out,
            f"Numbers left out of contacts in the book ({sum(len(i['numbers']) for i in left_out)})",
            "No number of a contact in the book is left out.",
        ),
    )
    for items, title, none in sections:
        if not items:
            click.echo(none)
            continue
        console.print(Text(title, style="bold"))
        header = _REASONS_HEADER.format(
            contact="contact", name=fit("name", width), number=fit("number", _NUMBER_WIDTH)
        )
        console.print(Text(header, style="bold"))
        write_lines(line for item in items for line in _reason_lines(item, item.get("reasons", []), width))


@click.command("book")
@name_style_options
@click.option(
    "--explain",
    is_flag=True,
    help="Also list every reason: each refused contact and number, and each number left out of the book.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the book (and the refusals) as JSON.")
@click.option("--reveal", is_flag=True, help="Show names and numbers in full (masked by default).")
@vault_options
@guarded
def book_command(
    name_style: str,
    pseudonym: str,
    workers: int | Literal["auto"],
    explain: bool,
    as_json: bool,
    reveal: bool,
    access: VaultAccess,
) -> None:
    """Show the minimal messenger book: the entries the vault's policy allows.

    Nothing is written or recorded: this is a look at the book, not a disclosure. Names and numbers are
    masked unless --reveal.
    """
    now = datetime.now(UTC)
    with access.open() as vault:
        book = build_book(vault, name_style, pseudonym, workers, now=now)
        refused, left_out = _explain(vault, now, reveal) if explain else ([], [])
    entries = [
        {
            "uid": uid,
            "name": entry.display_name if reveal else mask_name(entry.display_name),
            "number": entry.phone_e164 if reveal else masked(entry.phone_e164),
        }
        for uid, entry in book.cards()
    ]
    if as_json:
        payload: dict[str, Any] = {
            "name_style": name_style,
            "masked": not reveal,
            "policy": book.policy_digest,
            "entries": entries,
        }
        if explain:
            payload["refused"] = refused
            payload["left_out"] = left_out
        echo_json(payload)
        return
    console = stdout()
    width = NAME_WIDTH[reveal]
    console.print(Text(f"Messenger book: {_entries(len(entries))}", style="bold"))
    if entries:  # Text, not markup, and written as plain lines: a name may hold brackets
        console.print(Text(f"{fit('name', width)}  number", style="bold"))
        write_lines(f"{fit(item['name'], width)}  {item['number']}" for item in entries)
    if not reveal:
        click.echo("Names and numbers are masked; --reveal shows them.")
    if explain:
        _print_explanation(refused, left_out, reveal)
    click.echo("Nothing was written or recorded.")


# --- export ----------------------------------------------------------------------------------------------


@click.command("export")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "vcf", "csv"]),
    default="auto",
    show_default=True,
    help="A minimal vCard file or a Google Contacts CSV; auto: csv for a .csv file, vcf otherwise.",
)
@click.option(
    "--vcard-version",
    type=click.Choice(["3.0", "4.0"]),
    default="3.0",
    show_default=True,
    help="The vCard version of a vcf export.",
)
@name_style_options
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
@vault_options
@guarded
def export_command(
    path: Path,
    fmt: str,
    vcard_version: str,
    name_style: str,
    pseudonym: str,
    workers: int | Literal["auto"],
    as_json: bool,
    access: VaultAccess,
) -> None:
    """Write the minimal messenger book to PATH (mode 0600) and record the disclosure.

    An existing file is replaced. The file holds names and numbers only, one entry per allowed number.
    """
    file_format = fmt if fmt != "auto" else ("csv" if path.suffix.lower() == ".csv" else "vcf")
    check_folder(path)  # before the passphrase is asked for
    with access.open() as vault:
        book = build_book(vault, name_style, pseudonym, workers)
        record = export_book(
            vault,
            book,
            path,
            file_format="csv" if file_format == "csv" else "vcf",
            version=cast("VCardVersion", vcard_version),
        )
    if as_json:
        echo_json(
            {
                "path": str(path),
                "format": file_format,
                "vcard_version": vcard_version if file_format == "vcf" else None,
                "name_style": name_style,
                "entries": len(book),
                "disclosure": record.seq,
            }
        )
        return
    click.echo(f"Wrote {_entries(len(book))} to {path.name} ({file_format}).")
    click.echo(f"Recorded as record #{record.seq} of the vault's log.")


# --- sync ------------------------------------------------------------------------------------------------


def _sync_options(func: _F) -> _F:
    func = click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")(func)
    func = name_style_options(func)
    return click.option(
        "--dry-run", is_flag=True, help="Only say what would change; write and record nothing."
    )(func)


def _counts(result: SyncResult) -> dict[str, int]:
    if result.dry_run and result.plan is not None:
        plan = result.plan
        return {
            "created": len(plan.create),
            "updated": len(plan.update),
            "deleted": len(plan.delete),
            "unchanged": plan.unchanged,
        }
    return {
        "created": len(result.created),
        "updated": len(result.updated),
        "deleted": len(result.deleted),
        "unchanged": result.unchanged,
    }


def _run_sync(
    access: VaultAccess, target: Target, options: dict[str, Any], *, dry_run: bool, as_json: bool
) -> None:
    """Build the book (``options``: name style, pseudonym, workers), sync it, print the counts.

    A failed sync is one line and exit code 7.
    """
    with access.open() as vault:
        book = build_book(vault, **options)
        try:
            result = sync_book(vault, book, target, dry_run=dry_run)
        except SyncError as exc:
            done = len(exc.done)
            note = (
                f" ({done} changes were confirmed and recorded; run the sync again to finish)" if done else ""
            )
            raise CommandError(f"{exc}{note}", EXIT_SYNC) from None
    counts = _counts(result)
    if as_json:
        echo_json(
            {
                "target": target.name,
                "dry_run": result.dry_run,
                "entries": len(book),
                **counts,
                "pending": len(result.pending),
            }
        )
        return
    if dry_run:
        click.echo(
            f"Dry run, nothing written or recorded: {counts['created']} to create, "
            f"{counts['updated']} to update, {counts['deleted']} to delete, "
            f"{counts['unchanged']} unchanged."
        )
    else:
        click.echo(
            f"{counts['created']} created, {counts['updated']} updated, {counts['deleted']} deleted, "
            f"{counts['unchanged']} unchanged ({_entries(len(book))} in the book)."
        )


@click.group("sync")
def sync_group() -> None:
    """Make a vCard file or a CardDAV address book hold exactly the messenger book.

    Every change the target confirms is recorded in the vault's disclosure log; --dry-run only says what
    would change.
    """


@sync_group.command("file")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--vcard-version",
    type=click.Choice(["3.0", "4.0"]),
    default="3.0",
    show_default=True,
    help="The vCard version written.",
)
@_sync_options
@vault_options
@guarded
def sync_file_command(
    path: Path,
    vcard_version: str,
    dry_run: bool,
    name_style: str,
    pseudonym: str,
    workers: int | Literal["auto"],
    as_json: bool,
    access: VaultAccess,
) -> None:
    """Sync the book to a vCard file (written atomically, mode 0600, only if something changed).

    A file that exists and holds no vCard is never overwritten.
    """
    check_folder(path)  # before the passphrase is asked for (a dry run too: the real run would fail)
    target = VCardFileTarget(path, cast("VCardVersion", vcard_version))
    options = {"name_style": name_style, "pseudonym": pseudonym, "workers": workers}
    _run_sync(access, target, options, dry_run=dry_run, as_json=as_json)


def carddav_password(password_file: Path | None) -> str:
    """The CardDAV password: from the file, the environment variable's file, or a prompt without echo.

    Without a terminal to ask on, a ``CommandError`` (exit 2) names the option to give instead.
    """
    if password_file is not None:
        return read_secret_file(password_file, "password file")
    named = os.environ.get(PASSWORD_FILE_ENV)
    if named:
        return read_secret_file(Path(named), f"{PASSWORD_FILE_ENV}:")
    return ask_secret(
        "CardDAV password",
        twice=False,
        missing=f"no CardDAV password: give --password-file or set {PASSWORD_FILE_ENV}",
        what="the CardDAV password",
    )


@sync_group.command("carddav")
@click.argument("url")
@click.option("--username", required=True, help="The CardDAV account's user name.")
@click.option(
    "--password-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help=f"Read the CardDAV password from the first line of this file (or set {PASSWORD_FILE_ENV}). "
    "Without either, it is asked for without echo.",
)
@click.option(
    "--addressbook",
    default="contactvault",
    show_default=True,
    help="The address book below the home; contactvault owns it and deletes every other card in it.",
)
@click.option("--timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True, help="Seconds.")
@_sync_options
@vault_options
@guarded
def sync_carddav_command(
    url: str,
    username: str,
    password_file: Path | None,
    addressbook: str,
    timeout: float,
    dry_run: bool,
    name_style: str,
    pseudonym: str,
    workers: int | Literal["auto"],
    as_json: bool,
    access: VaultAccess,
) -> None:
    """Sync the book to a CardDAV address book (Radicale, Nextcloud, ...) that a phone subscribes to.

    URL is the server's base URL or the account's address book home, without credentials in it.
    """
    access.require()  # before asking for any password
    password = carddav_password(password_file)
    try:
        target = CardDAVTarget(url, username, password, addressbook, timeout=timeout)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    with target:
        options = {"name_style": name_style, "pseudonym": pseudonym, "workers": workers}
        _run_sync(access, target, options, dry_run=dry_run, as_json=as_json)


COMMANDS: list[click.Command] = [book_command, export_command, sync_group]
