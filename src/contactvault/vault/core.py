"""The inside of an open vault: its storage, keys and row-set state, and the one path every write takes.

``Core.commit`` is that path. It takes the rows a change writes (``Write``: the old row, if any, and the new
one, with their blind-index tags), applies them, the disclosure-log record or the new header if any, and
the new row-set state in ONE SQLite transaction: a crash leaves the old state or the new one. UID and
external-id tags are checked to be unique inside that transaction, under SQLite's write lock.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import NamedTuple

from contactvault import crypto
from contactvault.crypto import Keys
from contactvault.errors import (
    ConflictError,
    ContactErased,
    ContactMerged,
    ContactNotFound,
    VaultClosed,
    VaultCorrupted,
)
from contactvault.models import Contact, DirectoryEntry
from contactvault.vault import state
from contactvault.vault.header import Header
from contactvault.vault.records import Records, Tags
from contactvault.vault.state import Delta, RowSet
from contactvault.vault.storage import Row, Storage

__all__ = ["BATCH", "Core", "Write", "contact_id", "validated"]

BATCH = 1_000
"""New rows are inserted (and progress is reported) in batches of this many."""


class Write(NamedTuple):
    """One row a change writes: ``new`` replaces ``old`` (``None`` for a new contact).

    ``old_tags`` are the blind-index tags stored for ``old``; ``new_tags`` those of ``new`` (none for a
    tombstone).
    """

    old: Row | None
    new: Row
    old_tags: tuple[bytes, ...]
    new_tags: Tags


def contact_id(value: uuid.UUID | str) -> uuid.UUID:
    """A contact id from a UUID or its text; ``ContactNotFound`` for text that is not one."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ContactNotFound("not a contact id (expected a UUID)") from None


def validated(contact: Contact, *, version: int, updated_at: datetime | None = None) -> Contact:
    """``contact`` validated afresh (a ``model_copy(update=...)`` is not) at ``version``."""
    if not isinstance(contact, Contact):
        raise TypeError("the vault stores Contact objects")
    fields = contact.model_dump()
    fields["version"] = version
    if updated_at is not None:
        fields["updated_at"] = max(updated_at, contact.created_at)
    return Contact.model_validate(fields)


class Core:
    """An unlocked vault: storage, header, keys, the row codec and the current row-set state."""

    def __init__(self, storage: Storage, header: Header, master: bytes, keys: Keys) -> None:
        self.storage = storage
        self.header = header
        self.master = master
        self._keys: Keys | None = keys
        self.records = Records(header.vault_id, keys)
        self.state: RowSet = state.EMPTY
        self.changes = 0

    @property
    def keys(self) -> Keys:
        """The vault's subkeys; ``VaultClosed`` once closed."""
        if self._keys is None:
            raise VaultClosed("the vault is closed")
        return self._keys

    @property
    def vault_id(self) -> bytes:
        """The vault's random id."""
        return self.header.vault_id

    def close(self) -> None:
        """Close the storage and drop the keys (references only: Python cannot wipe the bytes)."""
        self.storage.close()
        self.master = b""
        self._keys = None

    def check(self) -> RowSet:
        """Recompute the row-set digest and compare it with the authenticated state; keep the result."""
        self.state = state.check(self.storage, self.keys, self.header.pack())
        return self.state

    # --- reading ------------------------------------------------------------------------------------------

    def entries(self) -> Iterator[DirectoryEntry]:
        """Every live contact's directory entry, in the order they were added; no CRM payload decrypted."""
        records = self.records
        for row in self.storage.rows():
            if row.data_key is not None:
                yield records.directory(row)

    def live_row(self, cid: uuid.UUID) -> Row:
        """The row of a live contact; ``ContactNotFound``, ``ContactErased`` or ``ContactMerged``."""
        row = self.storage.get(cid.bytes)
        if row is None:
            raise ContactNotFound(f"no contact {cid} in this vault")
        if row.data_key is None:
            tombstone = self.records.tombstone(row)
            if tombstone.merged_into is not None:
                raise ContactMerged(
                    f"contact {cid} was merged into {tombstone.merged_into} "
                    f"on {tombstone.erased_at:%Y-%m-%d}",
                    tombstone.merged_into,
                )
            raise ContactErased(f"contact {cid} was erased on {tombstone.erased_at:%Y-%m-%d}")
        return row

    def stored_tags(self, row: Row) -> tuple[bytes, ...]:
        """The blind-index tags stored for a live row.

        Computed from its directory (so removing them is a few primary-key lookups); if the directory
        cannot be read, found by scanning the index, so that a damaged contact can still be erased.
        """
        try:
            return self.records.tags(self.records.directory(row)).all
        except VaultCorrupted:
            return tuple(self.storage.index_of(row.id))

    # --- the writes a change is made of ---------------------------------------------------------------------

    def insertion(self, contact: Contact) -> Write:
        """The write that stores a new ``contact`` (validated, at its version) under a fresh data key."""
        records = self.records
        return Write(None, records.seal(contact, crypto.random_bytes()), (), records.tags(contact))

    def replacement(self, row: Row, contact: Contact) -> Write:
        """The write that stores ``contact`` (validated, one version later) over the live ``row``."""
        records = self.records
        sealed = records.seal(contact, records.data_key(row))
        return Write(row, sealed, self.stored_tags(row), records.tags(contact))

    def tombstone(self, row: Row, at: datetime, merged_into: uuid.UUID | None = None) -> Write:
        """The write that replaces the live ``row`` by its tombstone: data key, payload and tags gone."""
        return Write(row, self.records.seal_tombstone(row, at, merged_into), self.stored_tags(row), Tags())

    # --- the one write path -------------------------------------------------------------------------------

    def commit(
        self,
        writes: Iterable[Write],
        *,
        log: tuple[int, bytes] | None = None,
        header: Header | None = None,
        progress: Callable[[int], object] | None = None,
    ) -> int:
        """Apply ``writes`` (consumed lazily), ``log``, ``header`` and the new state: one transaction.

        ``progress`` is called with the number of rows written so far after every ``BATCH`` of them
        (inside the transaction). Returns how many rows were written; when there is nothing to write, the
        file is left as it was (no new generation). Raises ``ConflictError`` if a UID or
        external id would be in the vault twice, or a new row's id is already there; nothing is written then.
        """
        keys = self.keys
        delta = Delta(keys)
        storage = self.storage
        inserts: list[Row] = []
        pairs: list[tuple[bytes, bytes]] = []
        claimed: set[bytes] = set()  # unique tags added in this transaction
        stored = self.state.index > 0  # an empty index holds no tag: only this transaction's can clash
        count = 0

        def flush() -> None:
            storage.insert(inserts)
            storage.index_add(pairs)
            inserts.clear()
            pairs.clear()

        with storage.transaction():
            for write in writes:
                old, new = write.old, write.new
                fresh = write.new_tags.unique.difference(write.old_tags)
                for tag in fresh:
                    if tag in claimed or (stored and storage.index_lookup(tag)):
                        raise ConflictError(
                            f"contact {uuid.UUID(bytes=new.id)}: another contact in the vault already has "
                            "that vCard UID or external id"
                        )
                    claimed.add(tag)
                delta.row(state.tags_of(new), +1)
                for tag in write.new_tags.all:
                    delta.index_entry(tag, new.id, +1)
                if old is None:
                    inserts.append(new)
                    pairs.extend((tag, new.id) for tag in write.new_tags.all)
                else:
                    flush()
                    delta.row(state.tags_of(old), -1)
                    for tag in write.old_tags:
                        delta.index_entry(tag, old.id, -1)
                    storage.index_remove(old.id, list(write.old_tags))
                    storage.replace(new, old.version)
                    storage.index_add([(tag, new.id) for tag in write.new_tags.all])
                count += 1
                if len(inserts) >= BATCH:
                    flush()
                if progress is not None and count % BATCH == 0:
                    progress(count)
            flush()
            if log is not None:
                seq, record = log
                storage.log_append(seq, record)
                delta.log_record(seq, record)
            if header is not None:
                storage.write_single("header", header.pack())
            if count == 0 and log is None and header is None:
                return 0  # nothing to write: the empty transaction leaves the file as it was
            new_state = delta.applied(self.state)
            storage.write_single("state", new_state.pack(keys, (header or self.header).pack()))
        self.state = new_state
        if header is not None:
            self.header = header
        self.changes += 1
        return count
