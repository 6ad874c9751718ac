"""The value objects the vault hands back: what an erase, a merge, an import or a check did."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from contactvault.crypto import KdfParams
from contactvault.importers.matching import AmbiguousReason
from contactvault.vault.disclosures import DisclosureKind

__all__ = [
    "AmbiguousCard",
    "AmbiguousReason",
    "ContactDisclosure",
    "Erasure",
    "HeldEntry",
    "ImportReport",
    "VaultSettings",
    "VerifyReport",
]

Change = Literal["added", "renamed", "removed"]
"""What happened to a book entry at a target."""


@dataclass(frozen=True, slots=True)
class Erasure:
    """What ``Vault.erase`` did: which contact, when, at which version its tombstone was written, and how.

    Attributes:
        contact_id: The erased contact's id.
        erased_at: When.
        version: The tombstone's version.
        index_entries: How many blind-index entries (keyed hashes of its numbers and keys) were removed.
        secure_delete: Whether SQLite's secure delete was on, so freed pages were overwritten with zeros.
        wal_truncated: Whether the write-ahead log was checkpointed and truncated afterwards, so no copy of
            the destroyed data key stays in the ``-wal`` file. ``False`` if SQLite could not finish the
            checkpoint (the erasure itself is committed either way; the next checkpoint completes it).
    """

    contact_id: uuid.UUID
    erased_at: datetime
    version: int
    index_entries: int = 0
    secure_delete: bool = False
    wal_truncated: bool = False


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The result of a successful ``Vault.verify``: what was checked.

    ``disclosures`` counts every record of the vault's log: the disclosures and the activity records.
    ``generation`` is the row-set state's generation (every write adds one). ``memory_consulted`` says
    whether this client's memory of the vault (``docs/threat-model.md``, rollback) was compared with it:
    always for a vault opened with ``Vault``, never for the copy a backup or migration checks;
    ``seen_generation`` and ``seen_at`` are what the memory held (``None``: this client had not seen the
    vault before). An older generation than the memory's raises ``VaultCorrupted`` instead of a report.
    """

    contacts: int
    erased: int
    index_entries: int
    disclosures: int = 0
    generation: int = 0
    memory_consulted: bool = False
    seen_generation: int | None = None
    seen_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class VaultSettings:
    """The protections in force in an open vault, read from its header and its backend (SQLite or PostgreSQL).

    This is what the Art. 30 record's technical measures are filled in from, so that they describe this
    file and not the documentation.

    Attributes:
        format_version: The vault file format version.
        cipher: The authenticated cipher of every record.
        kdf: The passphrase KDF's name (``"Argon2id"``).
        kdf_params: Its memory, iterations and lanes, as stored in the header.
        key_hierarchy: How keys are organised, in one line.
        per_contact_keys: Whether every contact has its own data key (erasure shreds it).
        padding: How plaintexts are padded before sealing, in one line.
        recovery_key: Whether a recovery key can also open the vault.
        backend: Where the vault lives: ``"sqlite"`` (a file) or ``"postgresql"``.
        journal_mode: The write-ahead log in use (``"wal"``: SQLite's WAL mode, or PostgreSQL's WAL).
        synchronous: The flush level (2: every commit is flushed to disk before it returns; SQLite's FULL,
            or PostgreSQL's ``fsync`` and ``synchronous_commit`` on).
        secure_delete: Whether deleted content is overwritten in the backend's files (SQLite's secure
            delete; PostgreSQL has none).
        serialised_writes: Whether writers are serialised on the authenticated state, so that the row set
            and the log never fork (SQLite's write lock, a row lock in PostgreSQL).
        disclosure_log: Whether disclosures are recorded in the authenticated, hash-chained log (always).
        disclosure_records: How many disclosures (exports and syncs) the log holds; its activity records
            (``Vault.activity``) are not counted here.
        contacts: Live contacts.
        erased: Erased contacts (tombstones).
    """

    format_version: int
    cipher: str
    kdf: str
    kdf_params: KdfParams
    key_hierarchy: str
    per_contact_keys: bool
    padding: str
    recovery_key: bool
    backend: str
    journal_mode: str
    synchronous: int
    secure_delete: bool
    serialised_writes: bool
    disclosure_log: bool
    disclosure_records: int
    contacts: int
    erased: int


@dataclass(frozen=True, slots=True)
class ContactDisclosure:
    """One disclosure of one of a contact's numbers, found in the disclosure log.

    Attributes:
        seq: The log record's sequence number.
        at: When the disclosure happened.
        target: Where the book went (``file:...``, ``carddav:...``), without credentials.
        kind: ``"export"`` or ``"sync"``.
        change: ``"added"`` (the target received the entry), ``"renamed"`` (it received a new name) or
            ``"removed"`` (the target no longer holds it).
        number: The contact's E.164 number the entry carried.
        uid: The book entry's UID.
        policy: The digest of the policy that allowed it.
        contact_id: The id the entry was made under: the contact's own, or one merged into it.
        by: Who recorded the disclosure (the key slot that opened the vault); ``None`` for a record made
            before the log kept it.
    """

    seq: int
    at: datetime
    target: str
    kind: DisclosureKind
    change: Change
    number: str
    uid: str
    policy: str
    contact_id: uuid.UUID | None = None
    by: str | None = None


@dataclass(frozen=True, slots=True)
class HeldEntry:
    """One book entry a target held at a moment (``Vault.held_at``).

    Attributes:
        uid: The entry's UID.
        contact_id: The contact that holds the entry's number now; ``None`` if none does (erased, or the
            number removed): the log keeps keyed hashes only, never the name or the number.
        number: That number, when the contact is known.
    """

    uid: str
    contact_id: uuid.UUID | None
    number: str | None


@dataclass(frozen=True, slots=True)
class AmbiguousCard:
    """An incoming contact that an import reported instead of guessing.

    Attributes:
        line: The line of its card in the source file (``None`` for contacts not read from a file).
        reason: Why (see ``AmbiguousReason``).
        candidates: The stored contacts it could be (their ids only).
    """

    line: int | None
    reason: AmbiguousReason
    candidates: tuple[uuid.UUID, ...] = ()

    def message(self) -> str:
        """One line naming the card's line, the reason and the candidates' short ids, never a value."""
        where = f"card at line {self.line}" if self.line is not None else "a contact"
        ids = ", ".join(c.hex[:8] for c in self.candidates[:10])
        texts = {
            "several_matches": f"several stored contacts share its numbers and name ({ids})",
            "uid_conflict": f"stored contact {ids} has its UID but not its name or numbers",
            "external_id_conflict": f"it points to stored contact {ids}, which has another external id",
            "matched_twice": f"an earlier card of this import already matched, or was reported naming, "
            f"contact {ids}",
            "repeated_key": "an earlier card of this import has the same UID or external id",
            "merged_contact": f"it matches contact {ids} only by number and name, and that contact merged "
            "several cards: which one changed is not guessed",
        }
        return f"{where}: {texts[self.reason]}; not imported, give it a look"


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What ``Vault.import_contacts`` did, or (with ``dry_run``) would do.

    Attributes:
        added: Ids of the contacts added.
        updated: Ids of stored contacts updated from the file.
        unchanged: Ids of stored contacts the file matched and that needed no change.
        skipped: Ids of stored contacts matched but left alone (``on_match="skip"``).
        ambiguous: Incoming contacts reported instead of guessed.
        shared_numbers: How many added contacts share a number with another contact (likely duplicates;
            ``contactvault duplicates`` lists them).
        dry_run: Whether nothing was written.
    """

    added: tuple[uuid.UUID, ...] = ()
    updated: tuple[uuid.UUID, ...] = ()
    unchanged: tuple[uuid.UUID, ...] = ()
    skipped: tuple[uuid.UUID, ...] = ()
    ambiguous: tuple[AmbiguousCard, ...] = field(default=())
    shared_numbers: int = 0
    dry_run: bool = False

    def counts(self) -> dict[str, int]:
        """The counts by outcome: ``added``, ``updated``, ``unchanged``, ``skipped``, ``ambiguous``."""
        return {
            "added": len(self.added),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "skipped": len(self.skipped),
            "ambiguous": len(self.ambiguous),
            "shared_numbers": self.shared_numbers,
        }
