"""``contactvault audit``, ``access``, ``erase`` and ``ropa``: the audit and the GDPR documents.

- ``audit`` checks a phone's address book export against the vault and the default policy (or, with
  ``--no-vault``, only what the entries expose) and renders the report as text, JSON, Markdown or HTML,
  numbers masked unless ``--no-mask``; ``--fail-on`` turns findings into exit code 1 for scripts.
- ``access`` writes the Art. 15 access report of one contact, and with ``--portable`` its Art. 20 export.
- ``erase`` erases one contact (Art. 17) after a confirmation and prints the receipt with its checklist.
  The question is asked with the vault closed (another command may use it meanwhile); the erase then
  opens it again and refuses if the contact changed since the question showed it.
- ``ropa`` writes the Art. 30 record of processing from a config file and the vault's real settings.

Files written with ``--output``, ``--receipt`` and ``--portable`` get mode 0600 and are written atomically.
The folder of an ``--output`` or ``--receipt`` file must exist (exit 6 otherwise, before any work);
``--portable`` creates its folder, and each missing parent, with mode 0700.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, TypeVar, cast

import click

from contactvault.audit import FINDING_CODES, AuditReport, audit_phonebook
from contactvault.audit.render import FORMATS, Format, diff_to_markdown, diff_to_text, render
from contactvault.cli._app import (
    VaultAccess,
    check_folder,
    confirm,
    lang_option,
    mask_name,
    need_terminal,
    parse_region,
    region_option,
    resolve_contact,
    vault_options,
)
from contactvault.cli._errors import (
    EXIT_BAD_INPUT,
    EXIT_FINDINGS,
    CommandError,
    InvalidValue,
    guarded,
    note_written,
)
from contactvault.cli.messenger import PASSWORD_FILE_ENV, carddav_password
from contactvault.export.minimal import write_atomically
from contactvault.gdpr.requests import access_report, erase_contact, portable_export
from contactvault.gdpr.ropa import RopaConfig, record_of_processing
from contactvault.i18n import Lang
from contactvault.phones import mask_number
from contactvault.sync.policy import Policy
from contactvault.sync.targets import CardDAVTarget
from contactvault.vault import Vault

__all__ = ["COMMANDS", "access_command", "audit_command", "erase_command", "ropa_command"]

LARGE_SOURCE: Final = 4 * 1024 * 1024
"""A source file larger than this is read in a helper process while the vault is read (``workers=1``)."""

_F = TypeVar("_F", bound=Callable[..., Any])


def _output_option(func: _F) -> _F:
    return click.option(
        "--output",
        type=click.Path(path_type=Path, dir_okay=False),
        help="Write to this file (mode 0600) instead of printing it.",
    )(func)


def _emit(text: str, output: Path | None) -> None:
    """Print ``text``, or write it to ``output`` (atomically, mode 0600) and say so on stderr."""
    if output is None:
        click.echo(text.rstrip("\n"))
        return
    write_atomically(output, (text if text.endswith("\n") else text + "\n").encode("utf-8"))
    note_written()
    click.echo(f"Wrote {output.name}.", err=True)


# --- audit -----------------------------------------------------------------------------------------------


def _fail_codes(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> frozenset[str]:
    """The codes of ``--fail-on`` (repeated or separated by commas), each checked.

    An unknown code is refused without repeating it (it is what was typed; see `InvalidValue`).
    """
    codes: set[str] = set()
    for value in values:
        for code in (part.strip().lower() for part in value.split(",")):
            if code != "any" and code not in FINDING_CODES:
                known = ", ".join(FINDING_CODES)
                raise InvalidValue(f"an unknown finding code; expected any or one of {known}")
            codes.add(code)
    return frozenset(codes)


def _previous(path: Path) -> AuditReport:
    """The earlier report of ``--previous`` (exit 5 if it is not one)."""
    try:
        return AuditReport.from_json(path.read_bytes())
    except ValueError as exc:
        raise CommandError(f"{path.name}: {exc}", EXIT_BAD_INPUT) from None


def _audited(
    source: Path | None, url: str | None, username: str | None, addressbook: str, password_file: Path | None
) -> Path | CardDAVTarget:
    """What to audit: SOURCE, or the CardDAV address book (read only, never written)."""
    if (source is None) == (url is None):
        raise CommandError("give either SOURCE or --carddav-url")
    if url is None:
        return cast("Path", source)
    if not username:
        raise CommandError("--carddav-url needs --username")
    password = carddav_password(password_file)
    try:
        return CardDAVTarget(url, username, password, addressbook)
    except ValueError as exc:
        raise CommandError(str(exc)) from None


def _with_diff(
    text: str, report: AuditReport, previous: tuple[str, AuditReport], fmt: Format, lang: Lang, mask: bool
) -> tuple[str, str]:
    """The rendering with the diff against ``previous``, and the diff text that goes beside it.

    Text and Markdown get the diff appended, JSON a ``diff`` key with the counts; for HTML the document
    stays as it is and the diff comes back separately, for the terminal.
    """
    name, before = previous
    try:
        diff = report.diff(before)
    except ValueError as exc:
        raise CommandError(f"{name}: {exc}", EXIT_BAD_INPUT) from None
    if fmt == "json":
        data = json.loads(text)
        data["diff"] = diff.counts()
        return json.dumps(data, ensure_ascii=False, indent=2), ""
    if fmt == "markdown":
        return text.rstrip("\n") + "\n\n" + diff_to_markdown(diff, lang=lang, mask_numbers=mask), ""
    shown = diff_to_text(diff, lang=lang, mask_numbers=mask)
    if fmt == "text":
        return text.rstrip("\n") + "\n\n" + shown, ""
    return text, shown


def _failed(report: AuditReport, codes: frozenset[str]) -> bool:
    """Whether a finding named by ``--fail-on`` occurs."""
    if "any" in codes:
        return bool(report.findings)
    return any(n for code, n in report.counts().items() if code in codes)


@click.command("audit")
@click.argument("source", required=False, type=click.Path(path_type=Path))
@click.option(
    "--region",
    required=True,
    help="Region for numbers without a country code, e.g. DE; 'none' reads international numbers only.",
)
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True, help="The rendering."
)
@lang_option()
@_output_option
@click.option("--no-mask", is_flag=True, help="Show numbers in full (masked by default).")
@click.option("--no-vault", is_flag=True, help="Do not compare with the vault (no passphrase needed).")
@click.option(
    "--fail-on",
    multiple=True,
    metavar="CODE",
    callback=_fail_codes,
    help="Exit with 1 if a finding with this code occurs ('any': any finding). Repeat or separate by commas.",
)
@click.option(
    "--previous",
    type=click.Path(path_type=Path, dir_okay=False, exists=False),
    help="An earlier report written with --format json --no-mask: also show what is new and resolved.",
)
@click.option("--carddav-url", help="Audit a CardDAV address book instead of SOURCE (read only).")
@click.option("--username", help="The CardDAV account's user name.")
@click.option(
    "--addressbook",
    default="contactvault",
    show_default=True,
    help="The CardDAV address book below the home.",
)
@click.option(
    "--password-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help=f"The CardDAV password's file (or set {PASSWORD_FILE_ENV}); without either, it is asked for.",
)
@vault_options
@guarded
def audit_command(
    source: Path | None,
    region: str,
    fmt: str,
    lang: str,
    output: Path | None,
    no_mask: bool,
    no_vault: bool,
    fail_on: frozenset[str],
    previous: Path | None,
    carddav_url: str | None,
    username: str | None,
    addressbook: str,
    password_file: Path | None,
    access: VaultAccess,
) -> None:
    """Audit a phone's address book: what can the messenger see, and what should not be there?

    SOURCE is a .vcf file, a folder of them, or a Google/Outlook .csv. Nothing is written, except the
    report with --output.
    """
    default_region = parse_region(region)
    check_folder(output)
    # A previous report that cannot be read stops the command before the audit.
    before = (previous.name, _previous(previous)) if previous is not None else None
    audited = _audited(source, carddav_url, username, addressbook, password_file)
    large = isinstance(audited, Path) and audited.is_file() and audited.stat().st_size > LARGE_SOURCE
    workers = 1 if large else 0
    try:
        if no_vault:
            report = audit_phonebook(audited, default_region=default_region, workers=workers)
        else:
            with access.open() as vault:
                report = audit_phonebook(
                    audited,
                    vault=vault,
                    policy=Policy.default(),
                    default_region=default_region,
                    workers=workers,
                )
    finally:
        if isinstance(audited, CardDAVTarget):
            audited.close()
    format_ = cast("Format", fmt)
    language = cast("Lang", lang)
    text = render(report, format_, lang=language, mask_numbers=not no_mask)
    aside = ""
    if before is not None:
        text, aside = _with_diff(text, report, before, format_, language, not no_mask)
    _emit(text, output)
    if aside:  # the diff beside an HTML document: on the terminal, not inside the document
        click.echo(aside.rstrip("\n"), err=output is None)
    if _failed(report, fail_on):
        sys.exit(EXIT_FINDINGS)


# --- access (Art. 15, Art. 20) ---------------------------------------------------------------------------


@click.command(
    "access", short_help="Write the access report of a contact (GDPR Art. 15), and its portable export."
)
@click.argument("contact")
@region_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["markdown", "json"]),
    default="markdown",
    show_default=True,
    help="The access report's format.",
)
@lang_option()
@_output_option
@click.option(
    "--portable",
    type=click.Path(path_type=Path, file_okay=False),
    help="Also write the Art. 20 export (<id>.vcf as vCard 4.0 and <id>.json) into this folder.",
)
@vault_options
@guarded
def access_command(
    contact: str,
    region: str | None,
    fmt: str,
    lang: str,
    output: Path | None,
    portable: Path | None,
    access: VaultAccess,
) -> None:
    """Write the Art. 15 access report of CONTACT (its id, or one of its numbers).

    The report is for the data subject: it holds every stored field in full, the consent history and
    every disclosure of the contact. Nothing in the vault changes.
    """
    default_region = parse_region(region)
    check_folder(output)
    with access.open() as vault:
        contact_id = resolve_contact(vault, contact, region=default_region)
        report = access_report(vault, contact_id)
        export = portable_export(vault, contact_id) if portable is not None else None
    text = report.to_json() if fmt == "json" else report.to_markdown(cast("Lang", lang))
    _emit(text, output)
    if export is not None and portable is not None:
        written = export.write(portable)
        note_written()
        names = " and ".join(p.name for p in written)
        click.echo(f"Wrote the portable export {names} into {portable.name or portable}.", err=True)


# --- erase (Art. 17) -------------------------------------------------------------------------------------


def _question(vault: Vault, contact_id: uuid.UUID) -> tuple[str, int]:
    """The question ``erase`` asks (id prefix, masked name and numbers) and the version it shows."""
    entry = vault.directory_entry(contact_id)
    numbers = ", ".join(mask_number(p.e164 or p.raw) for p in entry.phones) or "no numbers"
    question = (
        f"Erase contact {str(contact_id)[:8]} ({mask_name(entry.display_name)}; {numbers})? "
        "This cannot be undone"
    )
    return question, entry.version


@click.command("erase", short_help="Erase a contact for good (GDPR Art. 17) and print the receipt.")
@click.argument("contact")
@region_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@lang_option()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["markdown", "json"]),
    default="markdown",
    show_default=True,
    help="How the receipt is printed.",
)
@click.option(
    "--receipt",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the receipt to this file (mode 0600): JSON for a .json file, Markdown otherwise.",
)
@vault_options
@guarded
def erase_command(
    contact: str,
    region: str | None,
    yes: bool,
    lang: str,
    fmt: str,
    receipt: Path | None,
    access: VaultAccess,
) -> None:
    """Erase CONTACT (its id, or one of its numbers) for good, and print the receipt with its checklist.

    The contact's key is destroyed: neither the vault nor a backup of it can show the data again. The
    receipt names the manual steps that remain (copies on phones and in the messenger) and holds no name
    and no full number.
    """
    default_region = parse_region(region)
    language = cast("Lang", lang)
    check_folder(receipt)
    if not yes:
        need_terminal("the command asks before it changes anything: give --yes")
    access.require()
    unlock = access.unlock_args()  # read once: without --yes the vault is opened twice
    with access.open(unlock) as vault:
        contact_id = resolve_contact(vault, contact, region=default_region)
        if yes:
            done = erase_contact(vault, contact_id, lang=language)
        else:  # what the question shows is read now: the vault is closed while the person answers
            question, version = _question(vault, contact_id)
    if not yes:
        if not confirm(question):
            click.echo("Nothing was erased.", err=True)
            return
        with access.open(unlock) as vault:
            if vault.directory_entry(contact_id).version != version:
                raise CommandError("the contact changed meanwhile; nothing was erased")
            done = erase_contact(vault, contact_id, lang=language)
    if receipt is not None:
        body = done.to_json() if receipt.suffix.lower() == ".json" else done.to_markdown(language)
        _emit(body, receipt)
    click.echo((done.to_json() if fmt == "json" else done.to_markdown(language)).rstrip("\n"))


# --- ropa (Art. 30) --------------------------------------------------------------------------------------


@click.command("ropa", short_help="Write the record of processing (GDPR Art. 30) for the messenger.")
@click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The controller, DPO, recipients and erasure periods: a .toml or .json file "
    "(see samples/ropa.toml).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["markdown", "json"]),
    default="markdown",
    show_default=True,
    help="The record's format.",
)
@lang_option()
@_output_option
@vault_options
@guarded
def ropa_command(config_path: Path, fmt: str, lang: str, output: Path | None, access: VaultAccess) -> None:
    """Write the Art. 30 record of processing for customer communication via the messenger.

    Its technical measures are read from the vault's real settings; it holds no contact's data.
    """
    check_folder(output)
    try:
        config = RopaConfig.load(config_path)
    except ValueError as exc:
        raise CommandError(str(exc).replace(str(config_path), config_path.name), EXIT_BAD_INPUT) from None
    with access.open() as vault:
        record = record_of_processing(vault, config, policy=Policy.default())
    language = cast("Lang", lang)
    _emit(record.to_json(language) if fmt == "json" else record.to_markdown(language), output)


COMMANDS: list[click.Command] = [audit_command, access_command, erase_command, ropa_command]
