"""The messenger side of a vault: the policy's decisions, the minimal book, and the disclosure log.

`MessengerSide` is part of ``Vault`` (its base class), kept apart so that each file stays short: these
methods read the directory compartment only, never a CRM payload, and write nothing but disclosure
records.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from contactvault.errors import SyncError
from contactvault.export.minimal import write_csv, write_vcard
from contactvault.export.vcard import VCardVersion
from contactvault.importers._gc import paused_gc
from contactvault.models import DirectoryEntry, MessengerEntry
from contactvault.sync.book import (
    DEFAULT_PSEUDONYM,
    MessengerBook,
    NameStyle,
    book_name_parts,
    book_uid,
    check_name_style,
    pseudonym_code,
)
from contactvault.sync.disclosures import Disclosure, DisclosureKind
from contactvault.vault import log
from contactvault.vault.core import Core
from contactvault.vault.core import contact_id as contact_id_of
from contactvault.vault.results import ContactDisclosure, HeldEntry

if TYPE_CHECKING:
    from contactvault.sync.policy import Decision, Policy
    from contactvault.sync.targets.base import SyncResult, Target

__all__ = ["ExportFormat", "MessengerSide"]

ExportFormat = Literal["vcf", "csv"]
"""The file formats of ``Vault.export_book``: a minimal vCard address book or a Google Contacts CSV."""


def _now() -> datetime:
    return datetime.now(UTC)


class MessengerSide:
    """The book and the log of a vault (see the module docstring); used as ``Vault``'s base class."""

    _core: Core

    # --- the messenger book -------------------------------------------------------------------------------

    def explain(
        self, policy: Policy, *, now: datetime | None = None
    ) -> Iterator[tuple[DirectoryEntry, Decision]]:
        """Every contact's directory entry with the policy's decision and its reasons.

        Reads the directory compartment only. ``now`` (default: the current time, taken once) is the moment
        the policy judges.
        """
        moment = now if now is not None else _now()
        for entry in self._core.entries():
            yield entry, policy.decide(entry, now=moment)

    def messenger_book(
        self,
        policy: Policy,
        *,
        name_style: NameStyle = "full",
        pseudonym: str = DEFAULT_PSEUDONYM,
        now: datetime | None = None,
    ) -> MessengerBook:
        """The minimal book: one ``MessengerEntry`` per number the policy allows, nothing else.

        Decrypts the directory compartment only, never a CRM payload. Names follow ``name_style`` (see
        ``NameStyle``); ``pseudonym`` is the template of the pseudonym style, with ``{code}`` for the
        contact's stable code. UIDs and codes are keyed with this vault's book key: stable across books,
        not linkable to other vaults or to the internal ids.
        """
        check_name_style(name_style, pseudonym)
        key = self._core.keys.book
        cards: list[tuple[str, MessengerEntry]] = []
        names: dict[str, tuple[str, str]] = {}  # UID -> (family, given): the card's N, words of its FN
        with paused_gc():  # many small objects and no cycles: the collector would only slow this down
            for entry, decision in self.explain(policy, now=now):
                if not decision.allowed:
                    continue
                cid = entry.id.bytes
                code = functools.partial(pseudonym_code, key, cid)  # computed only if the name needs it
                name, family, given = book_name_parts(entry, name_style, code=code, pseudonym=pseudonym)
                for number in decision.numbers:
                    uid = book_uid(key, cid, number)
                    cards.append((uid, MessengerEntry(display_name=name, phone_e164=number)))
                    names[uid] = (family, given)
            return MessengerBook(cards, policy_digest=policy.digest(), names=names)

    # --- the disclosure log ------------------------------------------------------------------------------

    def record_disclosure(
        self,
        target: str,
        book: MessengerBook,
        *,
        kind: DisclosureKind,
        policy_digest: str,
        held: Iterable[str] | None = None,
        kept: Iterable[str] = (),
        at: datetime | None = None,
    ) -> Disclosure:
        """Append what ``target`` now holds to the disclosure log, as the change since its last record.

        ``held`` is the set of UIDs of ``book`` that reached the target (default: all of them); only those
        are recorded, so nothing counts as disclosed that did not arrive. ``target`` describes the target
        without credentials (``file:/path/book.vcf``, ``carddav:https://host/user/book/``). ``kept`` names
        UIDs the target still holds as they were (a sync that failed half-way): they are neither removed
        nor renamed in the log.
        """
        if not isinstance(book, MessengerBook):
            raise TypeError("record_disclosure() takes a MessengerBook")
        made: list[Disclosure] = []

        def next_record() -> tuple[int, bytes]:
            # Built inside the write transaction, from the log as it is then: two processes recording
            # at once are both recorded, one after the other, in one hash chain.
            record, sealed = log.new_record(
                self._core,
                target,
                book,
                kind=kind,
                policy_digest=policy_digest,
                held=held,
                kept=kept,
                at=at if at is not None else _now(),
            )
            made[:] = [record]
            return record.seq, sealed

        self._core.commit((), log=next_record)
        return made[0]

    def export_book(
        self,
        book: MessengerBook,
        path: str | Path,
        *,
        file_format: ExportFormat = "vcf",
        version: VCardVersion = "3.0",
    ) -> Disclosure:
        """Write ``book`` to ``path`` and record the disclosure (target ``file:<absolute path>``).

        A minimal vCard or a Google Contacts CSV, written atomically with mode 0600.
        """
        target = Path(path)
        if file_format == "vcf":
            write_vcard(book, target, version)
        elif file_format == "csv":
            write_csv(book, target)
        else:
            raise ValueError("file_format must be 'vcf' or 'csv'")
        return self.record_disclosure(
            f"file:{target.resolve()}", book, kind="export", policy_digest=book.policy_digest
        )

    def sync_book(self, book: MessengerBook, target: Target, *, dry_run: bool = False) -> SyncResult:
        """Sync ``book`` to ``target`` and record in the disclosure log what the target confirmed.

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
                self.record_disclosure(
                    target.name, book, kind="sync", policy_digest=digest, held=held, kept=pending
                )
            raise
        if not result.dry_run:
            self.record_disclosure(target.name, book, kind="sync", policy_digest=digest, held=result.held)
        return result

    def disclosures(self) -> list[Disclosure]:
        """Every record of the disclosure log, oldest first, each checked (seal, order and hash chain)."""
        return log.read(self._core)[0]

    def disclosures_of(self, contact_id: uuid.UUID | str) -> list[ContactDisclosure]:
        """Every disclosure of the contact's current numbers in the log, oldest first (for Art. 15).

        The log holds keyed hashes only; a contact's entries are found by recomputing the UIDs of its
        numbers, under its own id and every id merged into it. A number the contact no longer holds cannot
        be matched, nor can an erased contact's.
        """
        core = self._core
        return log.disclosures_of(core, core.records.directory(core.live_row(contact_id_of(contact_id))))

    def visible_at(self, target: str, when: datetime) -> dict[str, uuid.UUID | None]:
        """What ``target`` held at ``when``, by replaying the disclosure log: UID -> contact id.

        The contact id is ``None`` for an entry whose contact (or number) is no longer in the vault, for
        example after an erase: the log keeps only keyed hashes, never the name or the number.
        """
        return {entry.uid: entry.contact_id for entry in self.held_at(target, when)}

    def held_at(self, target: str, when: datetime) -> list[HeldEntry]:
        """What ``target`` held at ``when`` (``visible_at``), with each entry's contact and number now.

        Entries whose contact or number is no longer in the vault have neither: the log keeps keyed hashes.
        """
        return log.held_at(self._core, self._core.entries(), target, when)
