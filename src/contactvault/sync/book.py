"""A vault's messenger book: the policy's decisions, the minimal book, and handing it over (recorded).

Everything here works through the vault's public API: it iterates the vault's directory entries (never a
CRM payload), builds UIDs and pseudonym codes with ``Vault.book_codes()``, and records each export and
sync with ``Vault.record_disclosure``. The book itself (``MessengerBook``, name styles) is
``contactvault.book``; the files it is written to are ``contactvault.export.minimal``.

- :func:`explain`: every contact's directory entry with the policy's decision and its reasons;
- :func:`messenger_book`: the minimal book, one entry per number the policy allows;
- :func:`export_book`: the book written to a vCard or CSV file, and the disclosure recorded;
- :func:`sync_book`: the book synced to a target, and what the target confirmed recorded.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from contactvault.book import (
    DEFAULT_PSEUDONYM,
    MessengerBook,
    NameStyle,
    book_name_parts,
    check_name_style,
)
from contactvault.errors import SyncError
from contactvault.export.minimal import write_csv, write_vcard
from contactvault.export.vcard import VCardVersion
from contactvault.importers._gc import paused_gc
from contactvault.models import DirectoryEntry, MessengerEntry
from contactvault.sync.policy import Decision, Policy
from contactvault.sync.targets.base import SyncResult, Target
from contactvault.vault import Disclosure, Vault

__all__ = ["ExportFormat", "explain", "export_book", "messenger_book", "sync_book"]

ExportFormat = Literal["vcf", "csv"]
"""The file formats of :func:`export_book`: a minimal vCard address book or a Google Contacts CSV."""


def explain(
    vault: Vault, policy: Policy, *, now: datetime | None = None
) -> Iterator[tuple[DirectoryEntry, Decision]]:
    """Every contact's directory entry with the policy's decision and its reasons.

    Reads the directory compartment only. ``now`` (default: the current time, taken once) is the moment
    the policy judges.
    """
    moment = now if now is not None else datetime.now(UTC)
    for entry in vault:
        yield entry, policy.decide(entry, now=moment)


def messenger_book(
    vault: Vault,
    policy: Policy,
    *,
    name_style: NameStyle = "full",
    pseudonym: str = DEFAULT_PSEUDONYM,
    now: datetime | None = None,
) -> MessengerBook:
    """The minimal book of ``vault``: one ``MessengerEntry`` per number the policy allows, nothing else.

    Decrypts the directory compartment only, never a CRM payload. Names follow ``name_style`` (see
    ``NameStyle``); ``pseudonym`` is the template of the pseudonym style, with ``{code}`` for the
    contact's stable code. UIDs and codes are keyed with the vault's book key (``Vault.book_codes()``):
    stable across books, not linkable to other vaults or to the internal ids.
    """
    check_name_style(name_style, pseudonym)
    codes = vault.book_codes()
    cards: list[tuple[str, MessengerEntry]] = []
    names: dict[str, tuple[str, str]] = {}  # UID -> (family, given): the card's N, words of its FN
    with paused_gc():  # many small objects and no cycles: the collector would only slow this down
        for entry, decision in explain(vault, policy, now=now):
            if not decision.allowed:
                continue
            code = functools.partial(codes.pseudonym, entry.id)  # computed only if the name needs it
            name, family, given = book_name_parts(entry, name_style, code=code, pseudonym=pseudonym)
            for number in decision.numbers:
                uid = codes.uid(entry.id, number)
                cards.append((uid, MessengerEntry(display_name=name, phone_e164=number)))
                names[uid] = (family, given)
        return MessengerBook(cards, policy_digest=policy.digest(), names=names)


def export_book(
    vault: Vault,
    book: MessengerBook,
    path: str | Path,
    *,
    file_format: ExportFormat = "vcf",
    version: VCardVersion = "3.0",
) -> Disclosure:
    """Write ``book`` to ``path`` and record the disclosure in ``vault`` (target ``file:<absolute path>``).

    A minimal vCard or a Google Contacts CSV, written atomically with mode 0600, inside the vault's write
    transaction: when another process keeps the vault busy past its lock timeout (``VaultLocked``), no
    file is written, so every export that happens is recorded.
    """
    target = Path(path)
    if file_format not in ("vcf", "csv"):
        raise ValueError("file_format must be 'vcf' or 'csv'")

    def write() -> None:  # inside the vault's write transaction: no file unless the record can be made
        if file_format == "vcf":
            write_vcard(book, target, version)
        else:
            write_csv(book, target)

    return vault.record_disclosure(
        f"file:{target.resolve()}", book, kind="export", policy_digest=book.policy_digest, deliver=write
    )


def sync_book(vault: Vault, book: MessengerBook, target: Target, *, dry_run: bool = False) -> SyncResult:
    """Sync ``book`` to ``target`` and record in ``vault``'s disclosure log what the target confirmed.

    A dry run records nothing. If the target fails half-way, what it confirmed is recorded (and the
    cards it still holds as before are kept as they were in the log) before ``SyncError`` is raised;
    running the sync again finishes the job.
    """
    if not isinstance(book, MessengerBook):
        raise TypeError("sync_book() takes a MessengerBook")
    digest = book.policy_digest
    try:
        result = target.sync(book, dry_run=dry_run)
    except SyncError as exc:
        if exc.partial is not None and exc.partial.done:
            held, pending = exc.partial.held, exc.partial.pending
            vault.record_disclosure(
                target.name, book, kind="sync", policy_digest=digest, held=held, kept=pending
            )
        raise
    if not result.dry_run:
        vault.record_disclosure(target.name, book, kind="sync", policy_digest=digest, held=result.held)
    return result
