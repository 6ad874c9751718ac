"""The messenger side of a vault: the disclosure log, and the keyed codes of the messenger book.

`MessengerSide` is part of ``Vault`` (its base class), kept apart so that each file stays short: these
methods read the directory compartment only, never a CRM payload, and write nothing but disclosure
records; they also read the rest of the log (``activity``: who changed what). Building, exporting and
syncing the book is ``contactvault.sync``'s work, done through the vault's public API: it iterates the
directory entries, asks for ``book_codes()``, and records what it handed over with ``record_disclosure``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from contactvault.book import BookCodes, MessengerBook
from contactvault.vault import log
from contactvault.vault.core import Core
from contactvault.vault.core import contact_id as contact_id_of
from contactvault.vault.directory import KeptView
from contactvault.vault.disclosures import Activity, Disclosure, DisclosureKind, LogRecord
from contactvault.vault.results import ContactDisclosure, HeldEntry

__all__ = ["MessengerSide"]


def _now() -> datetime:
    return datetime.now(UTC)


class MessengerSide:
    """The disclosure log and the book codes of a vault (see the module docstring); ``Vault``'s base class."""

    _core: Core

    # --- the messenger book -------------------------------------------------------------------------------

    def book_codes(self) -> BookCodes:
        """The keyed codes of this vault's books: entry UIDs and pseudonym codes (see ``BookCodes``).

        Keyed with the vault's book key, which the codes never show: the same contact and number give the
        same UID in every book of this vault, and nothing linkable to other vaults or to internal ids.
        """
        return BookCodes(self._core.keys.book)

    def kept_directory(self) -> KeptView:
        """The directory this open vault keeps decrypted (``vault.directory``), for the messenger book.

        Its ``read()`` refreshes it from the row-set state and returns the kept contacts; ``entry(kept)``
        validates one into a ``DirectoryEntry``; ``memo`` holds what the book derives, dropped on close.
        """
        return KeptView(self._core.directory, self._core)

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
        deliver: Callable[[], object] | None = None,
    ) -> Disclosure:
        """Append what ``target`` now holds to the disclosure log, as the change since its last record.

        ``held`` is the set of UIDs of ``book`` that reached the target (default: all of them); only those
        are recorded, so nothing counts as disclosed that did not arrive. ``target`` describes the target
        without credentials (``file:/path/book.vcf``, ``carddav:https://host/user/book/``). ``kept`` names
        UIDs the target still holds as they were (a sync that failed half-way): they are neither removed
        nor renamed in the log. ``contactvault.sync.export_book`` and ``sync_book`` call this for you.

        ``deliver``, if given, hands the book over (writes the file) inside the write transaction, before
        the record is made: if the vault is busy (``VaultLocked``) nothing is delivered, and if delivering
        fails nothing is recorded.
        """
        if not isinstance(book, MessengerBook):
            raise TypeError("record_disclosure() takes a MessengerBook")
        made: list[Disclosure] = []

        def next_record() -> tuple[int, bytes]:
            # Built inside the write transaction, from the log as it is then: two processes recording
            # at once are both recorded, one after the other, in one hash chain.
            if deliver is not None:
                deliver()
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

    def disclosures(self) -> list[Disclosure]:
        """Every disclosure (export, sync) in the log, oldest first, each checked (seal, order, hash chain).

        The log holds ``Activity`` records too (see ``activity``), whose sequence numbers are missing here:
        the ``seq`` of these records need not be contiguous.
        """
        self._core.watched()
        return [record for record in log.read(self._core)[0] if isinstance(record, Disclosure)]

    def activity(self) -> list[LogRecord]:
        """Every record of the vault's log, oldest first: disclosures and activities, each checked.

        An ``Activity`` says who (the key slot that opened the vault) did what (a consent, an erasure, an
        import, ...), when, and to how many contacts, named by keyed hashes only; a ``Disclosure`` what was
        handed to which target, and by whom (``by``; ``None`` in records made before it was kept).
        """
        self._core.watched()
        return log.read(self._core)[0]

    def activity_of(self, contact_id: uuid.UUID | str) -> list[Activity]:
        """Every activity record that concerns the contact, oldest first (for Art. 15).

        Found by hashing the contact's id and every id merged into it again: the log keeps only the hashes.
        """
        core = self._core
        return log.activities_of(core, core.records.directory(core.live_row(contact_id_of(contact_id))))

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
