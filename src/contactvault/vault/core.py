"""The inside of an open vault: its backend, keys and row-set state, and the one path every write takes.

``Core.commit`` is that path. It takes the rows a change writes (``Write``: the old row, if any, and the new
one, with their blind-index tags), applies them, the disclosure-log record or the new header if any, and
the new row-set state in ONE write transaction: a crash leaves the old state or the new one.

Other processes (and threads) write the same vault, so nothing read before the transaction is trusted in
it: the header and the row-set state are read again inside it, under the writers' lock, and the new state
is the stored one plus this transaction's changes; the log record is built there too (``log`` is a
function called inside), so two writers never fork the state or the log's hash chain. A row replaced from a
stale read fails its version check (``ConflictError`` with ``stale``). UID and external-id tags are checked
to be unique inside that transaction.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import NamedTuple, Protocol

from contactvault import crypto
from contactvault.changes import attributed
from contactvault.crypto import AuthenticationFailed, Keys
from contactvault.errors import (
    ConflictError,
    ContactErased,
    ContactMerged,
    ContactNotFound,
    VaultClosed,
    VaultCorrupted,
)
from contactvault.models import Contact, DirectoryEntry
from contactvault.models.contact import checked_whole, validate_dumped
from contactvault.vault import keys as slots
from contactvault.vault import state
from contactvault.vault.backends.base import Backend, Row
from contactvault.vault.directory import Directory
from contactvault.vault.disclosures import LogRecord
from contactvault.vault.header import OWNER, Header
from contactvault.vault.records import Records, Tags
from contactvault.vault.state import Delta, RowSet

__all__ = ["BATCH", "Core", "StateWatch", "Write", "contact_id", "validated"]

BATCH = 1_000
"""New rows are inserted (and progress is reported) in batches of this many."""

_ONCE = threading.local()  # .cores: ids of the Cores whose state this thread checked for the call under way


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


def validated(
    contact: Contact,
    *,
    version: int,
    by: str,
    before: Iterable[Contact | DirectoryEntry] = (),
    updated_at: datetime | None = None,
) -> Contact:
    """``contact`` validated afresh (a ``model_copy(update=...)`` is not) at ``version``, as stored ``by``.

    ``by`` is the user whose key slot opened the vault, ``before`` the stored versions the change starts
    from: new consents, withdrawals, legal bases and objections are recorded by ``by``, stored ones keep
    who recorded them (``changes.attributed``), whatever ``contact`` says.

    A contact this process validated whole (``models.contact.checked_whole``: what an importer or a read
    from JSON returns) with no consent, legal basis or objection to attribute is not validated again: only
    its version is set (a count no other validator of a contact looks at, checked here).
    """
    if not isinstance(contact, Contact):
        raise TypeError("the vault stores Contact objects")
    if (
        type(version) is int
        and version >= 0
        and updated_at is None
        and not (contact.consents or contact.legal_bases or contact.objections)
        and checked_whole(contact)
    ):
        return contact if contact.version == version else contact.model_copy(update={"version": version})
    fields = attributed(contact.model_dump(), before, by)
    fields["version"] = version
    if updated_at is not None:
        fields["updated_at"] = max(updated_at, contact.created_at)
    return validate_dumped(fields)  # a dump with plain values replaced: plain, checked whole


class StateWatch(Protocol):
    """What watches the row-set state for an older copy put back (``memory.Watch``): told of each state."""

    def read(self, core: Core, generation: int, raw: bytes) -> None:
        """A state read from the backend, its MAC checked: ``VaultCorrupted`` if older than one seen."""

    def written(self, core: Core, generation: int, raw: bytes) -> None:
        """A state this process committed."""

    def close(self, core: Core) -> None:
        """The vault is closing."""


class Core:
    """An unlocked vault: its backend, header, keys and row codec, and its decrypted directory entries.

    Of what is read from the rows, only the directory entries are kept (``directory``, refreshed from the
    row-set state, dropped by ``close``); never a CRM payload.
    """

    watch: StateWatch | None = None
    """The rollback watch of a vault opened by ``Vault`` (``memory.opened`` sets it); ``None`` for a copy
    that a backup or a migration checks."""

    def __init__(
        self,
        storage: Backend,
        header: Header,
        master: bytes,
        keys: Keys,
        *,
        actor: str = OWNER,
        private_key: bytes | None = None,
    ) -> None:
        self.storage = storage
        self.actor = actor
        """Who opened the vault: the name of the key slot that unlocked it (a person, a service or the
        recovery key). Every change and log record names it; callers cannot type another."""
        self._private_key = private_key  # the slot's: follows a re-key made by another process
        self.header = header
        self._header_bytes = header.pack()
        self.master = master
        self._keys: Keys | None = keys
        self.records = Records(header.vault_id, keys)
        self.changes = 0
        self._lock = threading.Lock()  # guards header and changes between threads
        self.directory = Directory()
        """The directory entries decrypted so far, and caches derived from them (``vault.directory``)."""
        self.log_kept: tuple[tuple[LogRecord, ...], str] | None = None
        """The log records read and checked so far, and the hash of the last one (``log.read`` keeps it):
        the log only grows, so a later read opens only the records added since."""
        self.entry_hashes: dict[tuple[str, str, str], str] = {}
        """The log's keyed hash of each book entry (UID, name, number) computed so far (``log``)."""
        self.log_memo: dict[object, object] = {}
        """What ``log`` derives from the records (the records this process sealed, what each target
        holds), kept for its next record; dropped by ``close``."""

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
        """Close the storage; drop the keys and the decrypted entries (references: bytes are not wiped)."""
        if self.watch is not None and not self.storage.closed:
            self.watch.close(self)
        self.storage.close()
        self.directory.clear()
        self.log_kept = None
        self.entry_hashes = {}
        self.log_memo = {}
        self.master = b""
        self._keys = None

    def check(self) -> RowSet:
        """Recompute the row-set digest and compare it with the authenticated state; return the state.

        Reads one snapshot, so that writes of other processes meanwhile do not disturb the sum.
        """
        with self.storage.snapshot():
            header = self.adopt_header(self.storage.read_single("header"))
            return state.check(self.storage, self.keys, header.pack())

    def adopt_header(self, raw: bytes) -> Header:
        """The header ``raw`` read from the backend, checked, and kept as the current one.

        Another process may have changed it (a new passphrase re-wraps the same master key): a header whose
        MAC holds under this vault's keys is taken; any other is ``VaultCorrupted``.
        """
        if raw == self._header_bytes:
            return self.header
        header = Header.unpack(raw)
        if header.vault_id != self.vault_id:
            raise VaultCorrupted("the vault's header now belongs to another vault")
        try:
            slots.check_mac(header, self.keys)
        except VaultCorrupted:
            self._follow_rekey(header, raw)
            return header
        with self._lock:
            self.header, self._header_bytes = header, raw
        return header

    def _follow_rekey(self, header: Header, raw: bytes) -> None:
        """Take the keys of a header another process re-keyed, through this slot's private key.

        ``VaultCorrupted`` if this slot is not in it (re-keyed without this user) or it fails its MAC under
        the new master key (tampered with).
        """
        slot = header.slot(self.actor)
        if self._private_key is None or slot is None or not slot.public_key:
            raise VaultCorrupted(
                "the vault's header fails its MAC under this vault's keys: it was re-keyed without this "
                "key slot, or tampered with; open the vault again"
            )
        try:
            master = slots.slot_master(slot, self._private_key, header.vault_id)
        except AuthenticationFailed:
            raise VaultCorrupted(
                "the vault's header fails its MAC, and this key slot does not open it"
            ) from None
        slots.follow_links(header, self.master, master)  # signed by the master key this process holds
        keys = slots.keys_for(header, master)
        slots.check_mac(header, keys)
        self.rekeyed(header, master, keys)

    def take_private_key(self, private_key: bytes) -> None:
        """This slot's new private key (after its passphrase changed)."""
        self._private_key = private_key

    def forget_private_key(self) -> None:
        """Drop this slot's private key: it is not the one stored (another process changed the slot)."""
        self._private_key = None

    def rekeyed(self, header: Header, master: bytes, keys: Keys) -> None:
        """Take a re-keyed header with its master key and keys: this process's re-key, or one it follows."""
        with self._lock:
            self.header, self._header_bytes = header, header.pack()
            self.master, self._keys = master, keys
            self.records.use(keys)  # in place: a method of it bound before the re-key uses the new keys

    def current_header(self) -> Header:
        """The header as stored now (another process may have changed the passphrase)."""
        return self.adopt_header(self.storage.read_single("header"))

    def _stored_state(self) -> tuple[Header, RowSet]:
        """The header and the row-set state as stored, checked (inside a transaction: under the lock)."""
        header = self.current_header()
        raw = self.storage.read_single("state")
        stored = RowSet.unpack(raw, self.keys, header.pack())
        if self.watch is not None:
            self.watch.read(self, stored.generation, raw)
        return header, stored

    def read_state(self) -> tuple[RowSet, bytes]:
        """The row-set state as stored now, its MAC checked, and its bytes: one read of the state.

        Against the header this object holds; if another process changed the header, both are read again
        in one snapshot.
        """
        raw = self.storage.read_single("state")
        try:
            return RowSet.unpack(raw, self.keys, self._header_bytes), raw  # the header's bytes, kept
        except VaultCorrupted:
            with self.storage.snapshot():
                header = self.current_header()
                raw = self.storage.read_single("state")
                return RowSet.unpack(raw, self.keys, header.pack()), raw

    def fresh_state(self) -> tuple[int, bytes]:
        """The state's generation and bytes as committed now, read on a connection of its own.

        Not in this thread's transaction or snapshot (an iteration still running holds one): a thread of
        its own reads it. For telling an older snapshot from an older vault.
        """
        found: list[tuple[int, bytes]] = []
        failed: list[BaseException] = []

        def read() -> None:
            try:
                with self.storage.snapshot():
                    state, raw = self.read_state()
                found.append((state.generation, raw))
            except BaseException as exc:  # noqa: BLE001 - raised again in the calling thread
                failed.append(exc)

        reader = threading.Thread(target=read, name="contactvault-state")
        reader.start()
        reader.join()
        if failed:
            raise failed[0]
        return found[0]

    def watched(self) -> None:
        """Before a read: one read of the state, compared with the newest seen (``VaultCorrupted``)."""
        if self.watch is not None and id(self) not in getattr(_ONCE, "cores", ()):
            state, raw = self.read_state()
            self.watch.read(self, state.generation, raw)

    @contextlib.contextmanager
    def checked_once(self) -> Iterator[None]:
        """For one call that reads many rows (an import, a merge): one check of the state, not one per row.

        The reads of this thread inside do not check again; a commit still checks the state it builds on.
        """
        self.watched()
        cores: set[int] = _ONCE.__dict__.setdefault("cores", set())
        if id(self) in cores:  # nested: the outer call checked
            yield
            return
        cores.add(id(self))
        try:
            yield
        finally:
            cores.discard(id(self))

    # --- reading ------------------------------------------------------------------------------------------

    def entries(self) -> Iterator[DirectoryEntry]:
        """Every live contact's directory entry, in the order they were added; no CRM payload decrypted.

        Served from ``directory``: one read of the state (shown to the rollback watch) when nothing
        changed, else the changed rows decrypted. Read when the iteration starts.
        """
        yield from self.directory.entries(self)

    def live_row(self, cid: uuid.UUID) -> Row:
        """The row of a live contact; ``ContactNotFound``, ``ContactErased`` or ``ContactMerged``."""
        self.watched()
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
        log: Callable[[], tuple[int, bytes]] | None = None,
        header: Callable[[Header], Header] | None = None,
        progress: Callable[[int], object] | None = None,
    ) -> int:
        """Apply ``writes`` (consumed lazily), ``log``, ``header`` and the new state: one transaction.

        ``log``, called inside the transaction, returns the next log record (its sequence number and
        sealed bytes); ``header`` gets the current header and returns the new one. ``progress`` is called
        with the number of rows written so far after every ``BATCH`` of them (inside the transaction).
        Returns how many rows were written; when there is nothing to write, the file is left as it was (no
        new generation). Raises ``ConflictError`` if a row was changed by another writer since it was
        read (``stale``), if a UID or external id would be in the vault twice, or a new row's id is already
        there; nothing is written then.
        """
        keys = self.keys
        delta = Delta(keys)
        storage = self.storage
        # A list of writes (a modify, an erase, a merge) is accounted for before the write lock is taken,
        # so that the lock is held for the SQL alone; a stream (add_many, an import) as it goes.
        counted = isinstance(writes, list | tuple)
        if counted:
            for write in writes:
                _account(write, delta)
        inserts: list[Row] = []
        pairs: list[tuple[bytes, bytes]] = []
        claimed: set[bytes] = set()  # unique tags added in this transaction
        count = 0

        def flush() -> None:
            storage.insert(inserts)
            storage.index_add(pairs)
            inserts.clear()
            pairs.clear()

        writes, written = _tracked(writes)  # the ids of the rows written, for the directory cache
        with storage.transaction():
            current_header, current = self._stored_state()
            if self.keys is not keys:
                raise ConflictError(
                    "the vault was re-keyed by another process meanwhile: try again", stale=True
                )
            stored = current.index > 0  # an empty index holds no tag: only this transaction's can clash
            for write in writes:
                old, new = write.old, write.new
                fresh = write.new_tags.unique.difference(write.old_tags)
                for tag in fresh:
                    if tag in claimed or (stored and storage.index_lookup(tag)):
                        cid = uuid.UUID(bytes=new.id)
                        raise ConflictError(
                            f"contact {cid}: another contact in the vault already has that vCard UID or "
                            "external id",
                            cid,
                        )
                    claimed.add(tag)
                if not counted:
                    _account(write, delta)
                if old is None:
                    inserts.append(new)
                    pairs.extend((tag, new.id) for tag in write.new_tags.all)
                else:
                    flush()
                    storage.replace(new, old.version)  # first: a stale read fails here, as a conflict
                    gone, added = _changed_tags(write)
                    if gone:
                        storage.index_remove(old.id, gone)
                    if added:
                        storage.index_add([(tag, new.id) for tag in added])
                count += 1
                if len(inserts) >= BATCH:
                    flush()
                if progress is not None and count % BATCH == 0:
                    progress(count)
            flush()
            if log is not None:
                seq, record = log()
                storage.log_append(seq, record)
                delta.log_record(seq, record)
            new_header = header(current_header) if header is not None else current_header
            header_bytes = new_header.pack()
            if header is not None:
                storage.write_single("header", header_bytes)
            if count == 0 and log is None and header is None:
                return 0  # nothing to write: the empty transaction leaves the file as it was
            new_state = delta.applied(current)
            packed = new_state.pack(keys, header_bytes)
            storage.write_single("state", packed)
        self._committed(new_header, header_bytes, (current.generation, new_state.generation), packed, written)
        return count

    def _committed(
        self,
        header: Header,
        header_bytes: bytes,
        generations: tuple[int, int],
        state: bytes,
        written: list[bytes],
    ) -> None:
        """After a commit: keep its header (and its bytes), count it, tell the watch of the new state.

        ``generations`` are the state's before and after the commit, ``written`` the ids of the rows
        written: the directory cache re-reads those rows only.
        """
        with self._lock:
            self.header, self._header_bytes = header, header_bytes
            self.changes += 1
        self.directory.committed(*generations, state, written)
        if self.watch is not None:
            self.watch.written(self, generations[1], state)


def _tracked(writes: Iterable[Write]) -> tuple[Iterator[Write], list[bytes]]:
    """``writes`` as they are consumed, and the list that collects the ids of their new rows meanwhile."""
    written: list[bytes] = []

    def each() -> Iterator[Write]:
        for write in writes:
            written.append(write.new.id)
            yield write

    return each(), written


def _changed_tags(write: Write) -> tuple[list[bytes], list[bytes]]:
    """The index tags a replacement removes and adds; the ones it keeps are left alone."""
    old, new = set(write.old_tags), set(write.new_tags.all)
    return [t for t in write.old_tags if t not in new], [t for t in write.new_tags.all if t not in old]


def _account(write: Write, delta: Delta) -> None:
    """Add ``write`` to the row-set ``delta``: the new row in, the old one out, the index entries changed."""
    new, old = write.new, write.old
    delta.row(state.tags_of(new), +1)
    if old is None:
        for tag in write.new_tags.all:
            delta.index_entry(tag, new.id, +1)
        return
    delta.row(state.tags_of(old), -1)
    gone, added = _changed_tags(write)
    for tag in gone:
        delta.index_entry(tag, old.id, -1)
    for tag in added:
        delta.index_entry(tag, new.id, +1)
