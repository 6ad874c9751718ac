"""``contactvault demo``: the whole story, on synthetic sample data, in a folder of its own.

The demo creates a vault in a new temporary folder (or ``--folder DIR``, which must be empty or new),
imports the bundled phone export, records consents, legal bases, a withdrawal, a restriction and an
objection, explains the messenger book, exports it and syncs it to a folder, audits a leaky company-phone
export against the vault and writes the Art. 30 record. It ends by listing every file it wrote; the folder
is kept so that the files can be looked at (and opened with the other commands: the passphrase is in
``passphrase.txt``).

Everything it reads is synthetic and shipped in the package (``contactvault/samples``): the phone export
(``phone-export.vcf``), the company phone's address book (``company-phone.vcf``) and the record's config
(``ropa.toml``). The screen shows names as the book writes them (given name and initial) and numbers
masked. Each step is one function, in the order the story is told.

Every folder the demo creates (``--folder`` and its missing parents, ``phone-sync``) has mode 0700 whatever
the umask, and every value shown is printed as plain text (rich markup only in the demo's own words).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import shlex
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Final, cast

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from contactvault.audit import audit_phonebook
from contactvault.audit.render import to_html, to_text
from contactvault.book import MessengerBook, book_name
from contactvault.cli._app import echo_json, lang_option, stdout
from contactvault.cli._errors import CommandError, guarded, note_written, track
from contactvault.cli.importing import summary_table
from contactvault.files import make_private_dir
from contactvault.gdpr.ropa import RopaConfig, record_of_processing
from contactvault.i18n import Lang
from contactvault.importers.vcard import import_vcards
from contactvault.models import ConsentChannel, ConsentRecord, DirectoryEntry, GdprBasis, LegalBasis
from contactvault.phones import mask_number, parse_number
from contactvault.retention import read_schedule
from contactvault.sync import explain, export_book, messenger_book, sync_book
from contactvault.sync.policy import Policy
from contactvault.sync.targets import VCardFileTarget
from contactvault.vault import Vault

__all__ = ["COMMANDS", "demo_command"]

REGION: Final = "DE"
"""The samples are a German business's address books: numbers without a country code are German."""

PURPOSE: Final = "messenger"
"""The purpose every consent, legal basis and objection of the story names (the default policy's)."""

NOTICE_ID: Final = "messenger-privacy-notice"
NOTICE_VERSION: Final = "2024-05"
_NOTICE_FROM: Final = datetime(2024, 5, 1, tzinfo=UTC)

DEMO_APP_SECRET: Final = "demo-app-secret"  # noqa: S105  (the demo signs its own sample webhook body)
"""What the demo's simulated WhatsApp webhook body is signed with (X-Hub-Signature-256)."""

_NAME_STYLE: Final = "given_initial"


@dataclass
class _Story:
    """The folder, the console, the documents' language, and the counts the ``--json`` summary reports."""

    folder: Path
    console: Console
    lang: Lang
    counts: dict[str, Any] = field(default_factory=dict)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def heading(self, step: int, title: str) -> None:
        """A step's heading (a rule across the screen)."""
        self.console.print()
        self.console.rule(f"[bold]{step}. {escape(title)}", align="left")

    def say(self, text: str) -> None:
        """A paragraph of the story (rich markup allowed; values are escaped by the caller)."""
        self.console.print(text)

    def table(self, table: Table) -> None:
        """A table; its cells are ``Text`` (never markup), since they hold names, numbers and paths."""
        self.console.print(table)

    def write(self, relative: str, data: str | bytes) -> Path:
        """Write a new file in the folder with mode 0600 (it may hold synthetic personal data)."""
        path = self.folder / relative
        raw = data.encode("utf-8") if isinstance(data, str) else data
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(raw)
        return path


@contextlib.contextmanager
def _sample(name: str) -> Iterator[Path]:
    """A sample shipped in the package, as a real file (extracted for the time being if zipped)."""
    with resources.as_file(resources.files("contactvault") / "samples" / name) as path:
        yield path


def _shown_name(entry: DirectoryEntry) -> str:
    """The name as the book writes it (given name and initial, CRM labels removed)."""
    return book_name(entry, _NAME_STYLE, code="(no name)", pseudonym="{code}")


def _contact(vault: Vault, number: str) -> DirectoryEntry:
    """The one contact of the story holding ``number``."""
    (contact,) = vault.find_by_phone(number, region=REGION)
    return vault.directory_entry(contact.id)


def _prepare_folder(folder: Path | None) -> Path:
    """The demo's folder: a new temporary one, or ``folder`` if it is new or empty (usage error otherwise).

    A new ``folder`` is created with each missing parent, all with mode 0700 whatever the umask.
    """
    if folder is None:
        created = Path(tempfile.mkdtemp(prefix="contactvault-demo-")).resolve()  # mode 0700
        note_written()
        return created
    if folder.exists():
        if not folder.is_dir():
            raise CommandError(f"--folder {folder.name}: not a folder")
        if any(folder.iterdir()):
            raise CommandError(
                f"--folder {folder.name}: not empty; the demo writes only into a new or empty folder"
            )
    else:
        make_private_dir(folder)
        note_written()
    return folder.resolve()


# --- the steps, in the order of the story ----------------------------------------------------------------


def _create_vault(story: _Story) -> Vault:
    """Step 1: a new vault, under a random throwaway passphrase written to passphrase.txt (0600)."""
    story.heading(1, "Create an encrypted vault")
    passphrase = secrets.token_urlsafe(18)
    story.write("passphrase.txt", passphrase + "\n")
    vault = track(Vault.create(story.folder / "vault.db", passphrase))
    kdf = vault.kdf
    story.say(
        f"Created [bold]vault.db[/bold] in {escape(str(story.folder))}.\n"
        f"Its passphrase is a random throwaway one, written to [bold]passphrase.txt[/bold] (mode 0600) so "
        "that you can open the vault later with --passphrase-file. For real data, choose your own "
        "passphrase and keep it out of files.\n"
        f"The passphrase is stretched with Argon2id ({kdf.memory_kib // 1024} MiB, {kdf.iterations} "
        f"passes, the default) into a key that unwraps a random master key; each contact's CRM data is "
        "sealed under a key of its own (AES-256-GCM)."
    )
    return vault


def _import_phone_export(story: _Story, vault: Vault) -> None:
    """Step 2: import the bundled phone export (12 cards, 2 of them broken) and show the summary."""
    story.heading(2, "Import a phone's address book export")
    with _sample("phone-export.vcf") as path:
        result = import_vcards(path, default_region=REGION)
    stored = vault.import_contacts(result).added  # one transaction: all of them or none
    again = vault.import_contacts(result)  # next month's export, here the same file: nothing to add
    story.table(summary_table(result, REGION))
    for issue in result.issues:  # each message names its line and field, never a value
        colour = "red" if issue.severity == "error" else "yellow"
        story.console.print(Text.assemble((f"{issue.severity:7}", colour), " ", issue.message))
    story.say(
        f"Stored {len(stored)} contacts. Every card became a contact or an issue naming its line: the two "
        "broken cards are reported, not lost silently. Names and numbers (in E.164) go to the directory "
        "compartment; e-mail and postal addresses, the organisation and notes to the sealed CRM payload.\n"
        f"Imported again, as next month's export would be: {len(again.added)} added, "
        f"{len(again.updated)} updated, {len(again.unchanged)} unchanged. A re-import updates what the "
        "vault knows and never touches consents or the log."
    )
    story.counts["imported"] = len(stored)
    story.counts["import_issues"] = len(result.issues)


def _did(story: _Story, entry: DirectoryEntry, number: str, what: str) -> None:
    """Say what was recorded for the contact (its name as the book writes it, the number masked)."""
    e164 = parse_number(number, REGION).e164 or number
    story.say(f"  [bold]{escape(_shown_name(entry))}[/bold] ({escape(mask_number(e164))}): {escape(what)}")


def _on_messenger(story: _Story, vault: Vault, number: str) -> DirectoryEntry:
    """Record that the contact's ``number`` uses the messenger (as checked on the phone, today)."""
    entry = _contact(vault, number)
    vault.set_messenger_presence(
        entry.id, number, True, source="checked on the company phone", at=story.now, region=REGION
    )
    return entry


def _grant(
    story: _Story, vault: Vault, number: str, channel: ConsentChannel, days_ago: int
) -> DirectoryEntry:
    """A consent to the notice, given ``days_ago`` days ago over ``channel``; the number uses it."""
    entry = _on_messenger(story, vault, number)
    vault.grant_consent(
        entry.id,
        ConsentRecord(
            purpose=PURPOSE,
            granted_at=story.now - timedelta(days=days_ago),
            channel=channel,
            notice_id=NOTICE_ID,
            notice_version=NOTICE_VERSION,
            evidence_ref="signed form in the customer folder" if channel == "written" else None,
            recorded_by="front desk",
        ),
    )
    what = f"consent ({channel}, notice {NOTICE_ID} v{NOTICE_VERSION}; Art. 7(1)); uses the messenger"
    _did(story, entry, number, what)
    return entry


def _basis(
    story: _Story, vault: Vault, number: str, article: GdprBasis, justification: str
) -> DirectoryEntry:
    """A legal basis other than consent, with its written justification; the number uses the messenger."""
    entry = _on_messenger(story, vault, number)
    basis = LegalBasis(article=article, purpose=PURPOSE, justification=justification, recorded_at=story.now)
    vault.add_legal_basis(entry.id, basis)
    _did(story, entry, number, f"legal basis Art. {article} ({justification}); uses the messenger")
    return entry


def _record_rights(story: _Story, vault: Vault) -> None:
    """Step 3: consents and legal bases, messenger presence, a withdrawal, a restriction, an objection."""
    story.heading(3, "Record consents, legal bases and rights")
    story.say(
        f"A contact may reach the messenger only with a legal basis for the purpose {PURPOSE!r} "
        "(Art. 6(1)) and only with a number that uses the messenger. Each record keeps who, when and how."
    )
    with _sample("privacy-notice.txt") as path:
        notice = vault.add_notice(
            NOTICE_ID, NOTICE_VERSION, path.read_text("utf-8"), language="en", valid_from=_NOTICE_FROM
        )
    story.say(
        f"First the privacy notice people are shown: stored as version {NOTICE_VERSION} of {NOTICE_ID!r}, "
        f"sealed, with its SHA-256 ({notice.sha256[:12]}…). A stored version never changes; every "
        "consent names one, and the Art. 15 report prints the text the person agreed to."
    )
    _grant(story, vault, "0171 2345678", "written", days_ago=40)
    _grant(story, vault, "0170 1234567", "in_person", days_ago=20)
    _grant(story, vault, "0176 98765432", "web_form", days_ago=5)
    _basis(story, vault, "0160 5551234", "6(1)(b)", "a contract: delivery dates of a kitchen order")

    withdrawn = _grant(story, vault, "0152 28817386", "written", days_ago=60)
    vault.withdraw_consent(withdrawn.id, PURPOSE, channel="phone", at=story.now)
    story.say(
        "    then [bold]withdrew[/bold] by phone (Art. 7(3)): the consent record stays, with the withdrawal"
    )

    restricted = _grant(story, vault, "+43 664 1234567", "email", days_ago=10)
    vault.restrict(restricted.id, at=story.now)
    story.say(
        "    then disputed his record: processing is [bold]restricted[/bold] (Art. 18) until it is checked"
    )

    objected = _basis(story, vault, "0157 11122233", "6(1)(f)", "legitimate interest: payment reminders")
    vault.object(objected.id, PURPOSE, at=story.now)
    story.say(
        "    then [bold]objected[/bold] (Art. 21): the legitimate interest no longer carries the messenger"
    )
    story.say(
        "The other three contacts get nothing: a landline, an invalid number, an e-mail address only.\n"
        "A withdrawal, a restriction or an objection takes effect at the next sync: the number leaves the "
        "phone."
    )


def _explain_book(story: _Story, vault: Vault) -> MessengerBook:
    """Step 4: the eligible book, and every refused contact with its reason codes."""
    story.heading(4, "Who may reach the messenger, and why the others may not")
    policy = Policy.default()
    allowed = Table(title="In the book (names as the book writes them; numbers masked here)")
    allowed.add_column("name")
    allowed.add_column("number in the book")
    allowed.add_column("numbers left out (reasons)")
    refused = Table(title="Refused contacts")
    refused.add_column("name")
    refused.add_column("numbers")
    refused.add_column("reasons")
    refused_count = 0
    for entry, decision in explain(vault, policy, now=story.now):
        name = _shown_name(entry)
        if decision.allowed:
            left_out = [
                f"{mask_number(n.e164) if n.e164 else 'no E.164'} ({', '.join(n.reasons)})"
                for n in decision.per_number
                if not n.allowed
            ]
            numbers = "\n".join(map(mask_number, decision.numbers))
            allowed.add_row(Text(name), Text(numbers), Text("\n".join(left_out)))
        else:
            refused_count += 1
            masked = [mask_number(n.e164) if n.e164 else "not valid" for n in decision.per_number]
            refused.add_row(Text(name), Text("\n".join(masked) or "none"), Text(", ".join(decision.reasons)))
    book = messenger_book(vault, policy, name_style=_NAME_STYLE, now=story.now)
    story.table(allowed)
    story.table(refused)
    story.say(
        "The policy reads the directory compartment only (never the CRM payload); every refusal has stable "
        "reason codes. The book holds a display name and an E.164 number per entry, nothing else."
    )
    story.counts["book_entries"] = len(book)
    story.counts["refused_contacts"] = refused_count
    return book


def _properties(path: Path) -> list[str]:
    """The property names a vCard file uses, in the order they first appear."""
    names = (line.split(":", 1)[0].split(";", 1)[0].upper() for line in path.read_text("utf-8").splitlines())
    return list(dict.fromkeys(name for name in names if name and not name.startswith(" ")))


def _phone(story: _Story) -> VCardFileTarget:
    """The folder target a phone could sync from."""
    return VCardFileTarget(story.folder / "phone-sync" / "contacts.vcf")


def _export_and_sync(story: _Story, vault: Vault, book: MessengerBook) -> None:
    """Step 5: write the minimal vCard, sync the book to a folder target, show the disclosure log."""
    story.heading(5, "Export the minimal vCard and sync it, with a record of each disclosure")
    exported = story.folder / "messenger-book.vcf"
    export_book(vault, book, exported)
    story.say(
        f"Wrote [bold]messenger-book.vcf[/bold] ({len(book)} cards, vCard 3.0). Its only properties: "
        f"{escape(', '.join(_properties(exported)))}."
    )
    make_private_dir(story.folder / "phone-sync")
    target = _phone(story)
    result = sync_book(vault, book, target)
    story.say(
        f"Synced the book to [bold]phone-sync/contacts.vcf[/bold] (a folder a phone could sync from): "
        f"{len(result.created)} created, {len(result.updated)} updated, {len(result.deleted)} deleted."
    )
    log = Table(title="The disclosure log (sealed and hash-chained inside the vault)")
    for column in ("seq", "kind", "target", "added", "removed", "held", "chained to"):
        numeric = column in {"seq", "added", "removed", "held"}
        log.add_column(column, justify="right" if numeric else "left", overflow="fold")
    records = vault.disclosures()
    for record in records:
        where = record.target.replace(f"file:{story.folder}{os.sep}", "file:")
        counts = (len(record.added), len(record.removed), record.held)
        cells = (str(record.seq), record.kind, where, *map(str, counts), record.previous[:8] + "…")
        log.add_row(*map(Text, cells))
    story.table(log)
    visible = vault.visible_at(target.name, datetime.now(UTC))
    story.say(
        "Each record names the digest of the policy that chose the entries "
        f"({escape(records[-1].policy[:8])}…) and holds keyed hashes of the entries, never a name or a "
        "number. "
        "Replaying the log answers "
        f'"what could the phone see on that day?": right now, {len(visible)} entries (Vault.visible_at).'
    )
    story.counts["disclosures"] = len(records)


def _webhook_body(*messages: tuple[str, str, str]) -> tuple[bytes, str]:
    """A WhatsApp Business Platform webhook body with ``(message id, sender, text)`` messages, signed."""
    at = str(int(datetime.now(UTC).timestamp()))
    value = {
        "messaging_product": "whatsapp",
        "messages": [
            {"from": sender, "id": mid, "timestamp": at, "type": "text", "text": {"body": text}}
            for mid, sender, text in messages
        ],
    }
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"changes": [{"field": "messages", "value": value}]}],
    }
    body = json.dumps(payload).encode("utf-8")
    digest = hmac.new(DEMO_APP_SECRET.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return body, f"sha256={digest}"


def _consent_lifecycle(story: _Story, vault: Vault) -> None:
    """Step 6: a refresh period, a request with a reply code, the replies from the webhook, the next sync."""
    story.heading(6, "Keep consent alive: ask, take the reply, refresh, delete on schedule")
    vault.set_consent_refresh(PURPOSE, timedelta(days=730))
    asked = _contact(vault, "0160 5551234")
    (request,) = vault.request_consent(
        [asked.id],
        purpose=PURPOSE,
        notice_id=NOTICE_ID,
        notice_version=NOTICE_VERSION,
        channel="messenger",
        business="Beispiel GmbH",
        language=story.lang,
        now=story.now,
    )
    story.say(
        "A consent now counts for 730 days (consent refresh); `consent due` lists who to ask again in "
        f"time. The contract customer {escape(_shown_name(asked))} is asked for consent to messages beyond "
        "the order, with a reply code of their own (the vault keeps only its keyed hash):"
    )
    story.console.print(Text(f"    {request.message.replace(request.code, 'CV-••••••')}"))
    stop = _contact(vault, "0176 98765432")
    body, signature = _webhook_body(
        ("wamid.demo-1", "491605551234", f"Ja gern, {request.code}"),
        ("wamid.demo-2", "4917698765432", "STOP"),
    )
    first = vault.take_webhook(body, signature=signature, app_secret=DEMO_APP_SECRET)
    again = vault.take_webhook(body, signature=signature, app_secret=DEMO_APP_SECRET)
    story.say(
        "Their reply and a STOP from another customer arrive at the webhook (signature checked): "
        f"{first.recorded} recorded (the consent, with the request and the code's hash as evidence; the "
        f"withdrawal of {escape(_shown_name(stop))}). Delivered again, as webhooks are: "
        f"{again.count('duplicate')} duplicates, nothing recorded twice."
    )
    synced = sync_book(
        vault, messenger_book(vault, Policy.from_vault(vault), name_style=_NAME_STYLE), _phone(story)
    )
    story.say(
        f"The next sync to phone-sync/contacts.vcf: {len(synced.created)} created, {len(synced.deleted)} "
        "deleted: the card of the customer who wrote STOP has left the phone."
    )
    with _sample("retention.toml") as path:
        vault.set_retention_schedule(read_schedule(path))
    today = vault.retention_plan(story.now)
    preview = vault.retention_plan(story.now + timedelta(days=4 * 366))
    story.say(
        "The retention schedule (sample retention.toml) is stored in the vault: erase contacts without a "
        "legal basis after 36 quiet months, strip customers to what the invoices need after 24. "
        f"`retention plan` today: {len(today.items)} contacts due; if nothing happened for four years: "
        f"{len(preview.items)}. `retention apply` does exactly what the plan says, a receipt per contact."
    )
    story.counts["consent_lifecycle"] = {
        "asked": 1,
        "recorded": first.recorded,
        "duplicates": again.count("duplicate"),
        "left_the_phone": len(synced.deleted),
        "retention_in_four_years": len(preview.items),
    }


def _audit_company_phone(story: _Story, vault: Vault) -> None:
    """Step 7: audit the company phone's address book (a synthetic sample with leaks) against the vault."""
    story.heading(7, "Audit the company phone's address book")
    story.say(
        "The company phone's own address book (company-phone.vcf, shipped as a sample) was kept by hand. "
        "It holds some of the vault's contacts, with leaks: an e-mail address, a birthday, a contact who "
        'withdrew, a CRM label in a name ("bezahlt"), a landline that is not on the messenger, and a '
        "contact the vault does not know. The audit compares every entry with the vault and the policy:"
    )
    with _sample("company-phone.vcf") as path:
        report = audit_phonebook(path, vault=vault, default_region=REGION, now=story.now)
    story.console.print(Text(to_text(report, lang=story.lang, width=max(story.console.width, 60)).rstrip()))
    story.write("audit.html", to_html(report, lang=story.lang))
    story.write("audit.json", report.to_json())
    story.say(
        "Wrote [bold]audit.html[/bold] (one file, numbers masked) and [bold]audit.json[/bold] (for "
        "report.diff() at the next regular check)."
    )
    story.counts["audit_entries"] = len(report.entries)
    story.counts["audit_findings"] = {code: n for code, n in report.counts().items() if n}


def _write_record_of_processing(story: _Story, vault: Vault) -> None:
    """Step 8: the Art. 30 record, with the technical measures read from this vault's real settings."""
    story.heading(8, "Write the record of processing activities (Art. 30)")
    with _sample("ropa.toml") as path:
        config = RopaConfig.load(path)
    record = record_of_processing(vault, config, policy=Policy.default(), now=story.now)
    story.write("ropa.md", record.to_markdown(story.lang))
    story.write("ropa.json", record.to_json(story.lang))
    transfers = "; ".join(f"{t.recipient} → {t.country}" for t in record.transfers) or "none"
    story.say(
        f"Controller {escape(record.controller.name)} (from the sample ropa.toml); recipients: "
        f"{escape(', '.join(r.name for r in record.recipients))}; transfers to third countries: "
        f"{escape(transfers)}. {len(record.technical_measures)} technical measures, each read from the "
        "vault's settings or the policy (encryption, key derivation, per-contact keys, secure delete, the "
        "disclosure log, ...). Wrote [bold]ropa.md[/bold] and [bold]ropa.json[/bold]."
    )


def _list_files(story: _Story) -> list[dict[str, Any]]:
    """Step 9: every file in the folder, its path relative to the folder and its size."""
    story.heading(9, "The files")
    found = [
        (path.relative_to(story.folder).as_posix(), path.stat().st_size)
        for path in sorted(story.folder.rglob("*"))
        if path.is_file()
    ]
    table = Table(title=f"Written to {escape(str(story.folder))} (kept)")
    table.add_column("file")
    table.add_column("bytes", justify="right")
    for relative, size in found:
        table.add_row(Text(relative), Text(f"{size:,}"))
    story.table(table)
    story.say("Look around with the other commands, for example:")
    commands = (
        f"export CONTACTVAULT_VAULT={shlex.quote(str(story.folder / 'vault.db'))}",
        f"export CONTACTVAULT_PASSPHRASE_FILE={shlex.quote(str(story.folder / 'passphrase.txt'))}",
        "contactvault book --explain --name-style given_initial",
    )
    for command in commands:  # one line each, however narrow the terminal: they are meant to be copied
        story.console.print(Text(f"  {command}"), soft_wrap=True)
    story.say("Delete the folder when you are done: everything in it is synthetic.")
    return [{"path": relative, "size": size} for relative, size in found]


# --- the command -----------------------------------------------------------------------------------------


@click.command("demo")
@click.option(
    "--folder",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write into this folder (new or empty); default: a new temporary folder, kept afterwards.",
)
@lang_option("The language of the audit report and the Art. 30 record.")
@click.option("--json", "as_json", is_flag=True, help="Print only a summary as JSON: folder, files, counts.")
@guarded
def demo_command(folder: Path | None, lang: str, as_json: bool) -> None:
    """Tell the whole story on synthetic sample data, in a temporary folder.

    Creates a vault, imports a phone export, records consents and rights, explains, exports and syncs the
    messenger book, audits a leaky phone address book and writes the Art. 30 record. Nothing outside the
    folder is touched.
    """
    console = Console(quiet=True) if as_json else stdout()
    story = _Story(_prepare_folder(folder), console, cast("Lang", lang))
    with _create_vault(story) as vault:
        _import_phone_export(story, vault)
        _record_rights(story, vault)
        book = _explain_book(story, vault)
        _export_and_sync(story, vault, book)
        _consent_lifecycle(story, vault)
        _audit_company_phone(story, vault)
        _write_record_of_processing(story, vault)
    files = _list_files(story)  # after closing: the vault's journal files are gone
    if as_json:
        echo_json({"folder": str(story.folder), "lang": story.lang, "files": files, "counts": story.counts})


COMMANDS: list[click.Command] = [demo_command]
