"""The vault: one encrypted SQLite file that holds every contact.

``Vault`` is the only way in. It opens a file with a passphrase (or a recovery key), checks that nothing
was changed, and offers add, get, update, erase, the consent and rights operations, and ``verify()``.
Each contact is stored in two sealed compartments:

- the **directory** (``DirectoryEntry``: display name, name parts, numbers with their messenger presence,
  labels, consents, legal bases, restriction, objections, date of birth). Listing contacts and building a
  messenger book decrypt this only.
- the **CRM payload** (e-mail and postal addresses, birthday, organisation, notes, URLs, custom fields,
  source).

Both are sealed under keys derived from a random data key of the contact's own, which the vault wraps.
Erasing a contact destroys that key (crypto-shredding) and leaves a sealed tombstone.

The whole file is authenticated. Every sealed blob carries the vault id, the contact id, the kind of record
and the version in its associated data, and a MAC-protected digest of all rows (a keyed sum over every row
and index entry, bound to the header) shows a deleted, duplicated, swapped or rolled-back row at open.
``docs/format.md`` describes the format, ``docs/threat-model.md`` what it protects against and what it
does not.
"""

from __future__ import annotations

import functools
import hashlib
import json
import struct
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal, Self

import platformdirs
from pydantic import ValidationError

from contactvault import crypto
from contactvault.crypto import AuthenticationFailed, KdfParams, Keys, RecordKind
from contactvault.errors import (
    ConflictError,
    ContactErased,
    ContactNotFound,
    SyncError,
    UnsupportedFormat,
    VaultClosed,
    VaultCorrupted,
    WrongPassphrase,
)
from contactvault.export.minimal import write_csv, write_vcard
from contactvault.export.vcard import VCardVersion
from contactvault.header import FORMAT_VERSION, Header, KeySlot
from contactvault.importers._gc import paused_gc
from contactvault.models import (
    DIRECTORY_FIELDS,
    ConsentChannel,
    ConsentRecord,
    Contact,
    DirectoryEntry,
    Label,
    LegalBasis,
    MessengerEntry,
    MessengerPresence,
    Objection,
)
from contactvault.phones import check_region, parse_number
from contactvault.storage import Row, Storage, TagRow
from contactvault.sync.book import (
    DEFAULT_PSEUDONYM,
    MessengerBook,
    NameStyle,
    book_name,
    book_uid,
    check_name_style,
    pseudonym_code,
)
from contactvault.sync.disclosures import GENESIS, Disclosure, DisclosureKind, replay

if TYPE_CHECKING:
    from contactvault.sync.policy import Decision, Policy
    from contactvault.sync.targets.base import SyncResult, Target

__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
    "ContactDisclosure",
    "Erasure",
    "Vault",
    "VaultSettings",
    "VerifyReport",
    "default_vault_path",
]

DEFAULT_LOCK_TIMEOUT: Final = 2.0
"""Seconds ``Vault.open`` waits for another process to close the vault before raising ``VaultLocked``."""

PAYLOAD_FIELDS: Final = frozenset(Contact.model_fields) - DIRECTORY_FIELDS
"""The fields of a contact sealed in its CRM payload, under its own data key."""

_Change = Literal["added", "renamed", "removed"]

ExportFormat = Literal["vcf", "csv"]
"""The file formats of ``Vault.export_book``: a minimal vCard address book or a Google Contacts CSV."""

_Changes = dict[str, Any]  # field updates of a contact, validated when the contact is stored
_STATE = struct.Struct(">QQQQ32s")  # generation, contact rows, index entries, log records, digest
_MODULUS = 1 << 256
_BATCH = 1_000
_MAX_RECORD = 64 * 1024 * 1024  # a contact's JSON is far smaller; this only bounds a decompression bomb


def default_vault_path() -> Path:
    """Where a vault lives when no path is given: ``vault.db`` in the platform's user data folder."""
    return platformdirs.user_data_path("contactvault", appauthor=False) / "vault.db"


@dataclass(frozen=True, slots=True)
class Erasure:
    """What ``Vault.erase`` did: which contact, when, and at which version its tombstone was written."""

    contact_id: uuid.UUID
    erased_at: datetime
    version: int


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The result of a successful ``Vault.verify``: what was checked."""

    contacts: int
    erased: int
    index_entries: int


@dataclass(frozen=True, slots=True)
class VaultSettings:
    """The protections in force in an open vault, read from its header and its SQLite connection.

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
        journal_mode: SQLite's journal mode (``"wal"``).
        synchronous: SQLite's synchronous level (2 is FULL: every commit is flushed to disk).
        secure_delete: Whether SQLite overwrites deleted content.
        exclusive_lock: Whether the file is locked for one process while open.
        disclosure_log: Whether disclosures are recorded in the authenticated, hash-chained log (always).
        disclosure_records: How many records the log holds.
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
    journal_mode: str
    synchronous: int
    secure_delete: bool
    exclusive_lock: bool
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
    """

    seq: int
    at: datetime
    target: str
    kind: DisclosureKind
    change: _Change
    number: str
    uid: str
    policy: str


@dataclass(frozen=True, slots=True)
class _RowSet:
    """The authenticated state of the set of rows: a generation counter, counts and the digest.

    Its MAC also covers the header's bytes, so that neither can be put back without the other: an older
    header (an old passphrase) under the current rows, or older rows under the current header, is refused.
    """

    generation: int
    rows: int
    index: int
    log: int
    digest: int
    live: int

    def pack(self, keys: Keys, header: bytes) -> bytes:
        body = _STATE.pack(self.generation, self.rows, self.index, self.log, self.digest.to_bytes(32, "big"))
        return body + crypto.mac(keys.state, header, body)

    @classmethod
    def unpack(cls, data: bytes, keys: Keys, header: bytes) -> _RowSet:
        if len(data) != _STATE.size + 32:
            raise VaultCorrupted("the vault's row-set state has the wrong length")
        body, tag = data[: _STATE.size], data[_STATE.size :]
        if not crypto.macs_equal(crypto.mac(keys.state, header, body), tag):
            raise VaultCorrupted("the vault's row-set state fails its MAC, or belongs to another header")
        generation, rows, index, log, digest = _STATE.unpack(body)
        return cls(generation, rows, index, log, int.from_bytes(digest, "big"), live=-1)


class _Delta:
    """Changes to the row set within one transaction, applied to ``_RowSet`` after the commit."""

    def __init__(self, keys: Keys) -> None:
        self._key = keys.rowset
        self.digest = 0
        self.rows = 0
        self.index = 0
        self.log = 0
        self.live = 0

    def row(self, row: TagRow, sign: int) -> None:
        self.digest += sign * _row_element(self._key, row)
        self.rows += sign
        self.live += sign if row.data_key_tag else 0

    def index_entry(self, tag: bytes, contact_id: bytes, sign: int) -> None:
        self.digest += sign * _index_element(self._key, tag, contact_id)
        self.index += sign

    def log_record(self, seq: int, record: bytes) -> None:
        self.digest += _log_element(self._key, seq, record[-crypto.TAG_SIZE :])
        self.log += 1

    def applied(self, state: _RowSet) -> _RowSet:
        return _RowSet(
            generation=state.generation + 1,
            rows=state.rows + self.rows,
            index=state.index + self.index,
            log=state.log + self.log,
            digest=(state.digest + self.digest) % _MODULUS,
            live=state.live + self.live,
        )


def _row_element(key: bytes, row: TagRow) -> int:
    tags = (row.directory_tag, row.data_key_tag, row.payload_tag)
    data = b"C" + row.id + row.version.to_bytes(8, "big") + bytes(len(t) for t in tags) + b"".join(tags)
    return int.from_bytes(crypto.keyed_hash(key, data), "big")


def _index_element(key: bytes, tag: bytes, contact_id: bytes) -> int:
    data = b"I" + bytes((len(tag),)) + tag + contact_id
    return int.from_bytes(crypto.keyed_hash(key, data), "big")


def _log_element(key: bytes, seq: int, tag: bytes) -> int:
    data = b"L" + seq.to_bytes(8, "big") + bytes((len(tag),)) + tag
    return int.from_bytes(crypto.keyed_hash(key, data), "big")


def _tags(row: Row) -> TagRow:
    t = crypto.TAG_SIZE
    key_tag = row.data_key[-t:] if row.data_key is not None else b""
    payload_tag = row.payload[-t:] if row.payload is not None else b""
    return TagRow(row.id, row.version, row.directory[-t:], key_tag, payload_tag)


def _pack(plaintext: bytes) -> bytes:
    """Compress (raw deflate) and pad a record's plaintext before it is sealed.

    Compression halves the JSON and keeps the file under 1 KiB per contact; padding to size buckets
    afterwards keeps the compressed length from telling much (see docs/format.md, "What leaks").
    """
    if len(plaintext) > _MAX_RECORD:
        raise ValueError("the contact is too large to store (over 64 MiB as JSON)")
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return crypto.pad(compressor.compress(plaintext) + compressor.flush())


def _unpack(padded: bytes) -> bytes:
    """Undo ``_pack``; raises ``AuthenticationFailed`` if the content is malformed or too large."""
    decompressor = zlib.decompressobj(-15)
    try:
        plaintext = decompressor.decompress(crypto.unpad(padded), _MAX_RECORD)
    except zlib.error:
        raise AuthenticationFailed("malformed compressed record") from None
    if decompressor.unconsumed_tail or not decompressor.eof:
        raise AuthenticationFailed("compressed record too large or truncated")
    return plaintext


def _now() -> datetime:
    return datetime.now(UTC)


def _contact_id(value: uuid.UUID | str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ContactNotFound("not a contact id (expected a UUID)") from None


def _path(path: str | Path | None) -> Path:
    return default_vault_path() if path is None else Path(path)


def _check_passphrase(passphrase: str | bytes) -> None:
    if not isinstance(passphrase, str | bytes):
        raise TypeError("the passphrase must be str or bytes")
    if not passphrase:
        raise ValueError("the passphrase must not be empty")


class Vault:
    """An open vault file. Create one with ``create``, open one with ``open``; close it when done.

    A ``Vault`` holds the file's lock: while it is open, no other process (and no other ``Vault`` object)
    can open the same file. Use it as a context manager::

        with Vault.open("contacts.db", passphrase) as vault:
            contact_id = vault.add(contact)

    Iterating over a vault yields ``DirectoryEntry`` objects (the directory
    compartment only); ``get`` and ``contacts`` return full ``Contact``
    objects, decrypting their CRM payloads. A ``Vault`` belongs to the thread that opened it (SQLite's
    rule; another thread gets ``sqlite3.ProgrammingError``); share work between threads through queues.

    The vault never returns data it could not authenticate: any failed check raises
    ``VaultCorrupted``. Key material stays in memory while the vault is open
    (Python cannot reliably wipe it) and is dropped on ``close`` (references only: the bytes are left
    for the garbage collector).
    """

    recovery_key: str | None
    """The recovery key, right after ``create`` with ``recovery_key=True`` only; ``None`` otherwise.
    Show it to the user once, to keep offline: it opens the vault without the passphrase."""

    def __init__(self, storage: Storage, header: Header, master_key: bytes, keys: Keys) -> None:
        """Not for direct use: see ``create``, ``open`` and ``open_with_recovery_key``."""
        self._storage = storage
        self._header = header
        self._master = master_key
        self._keyring: Keys | None = keys
        self._vid = header.vault_id
        self._state = _RowSet(0, 0, 0, 0, 0, 0)
        self._changes = 0
        self.recovery_key = None

    # --- creating, opening, closing ----------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: str | Path | None = None,
        passphrase: str | bytes = "",
        *,
        kdf: KdfParams | None = None,
        recovery_key: bool = False,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> Self:
        """Create a new, empty vault and open it.

        Args:
            path: the new file; ``None`` means ``vault.db`` in the user data folder
                (``default_vault_path``). An existing file is never overwritten (``VaultExists``).
            passphrase: protects the vault; required, not empty.
            kdf: Argon2id parameters; ``KdfParams.default`` (64 MiB, 3 iterations, 4 lanes) unless given.
            recovery_key: also create a recovery key (a second way to unwrap the master key), available once
                as ``recovery_key`` on the returned vault.
            lock_timeout: seconds to wait for the file lock.
        """
        _check_passphrase(passphrase)
        params = kdf if kdf is not None else KdfParams.default()
        target = _path(path)
        if path is None:
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        vault_id = crypto.random_bytes(16)
        salt = crypto.random_bytes(crypto.SALT_SIZE)
        master = crypto.random_bytes()
        keys = Keys(master)
        slot = _slot(
            crypto.derive_kek(passphrase, salt, params), master, vault_id, RecordKind.MASTER_KEY_WRAP
        )
        shown: str | None = None
        recovery: KeySlot | None = None
        if recovery_key:
            secret = crypto.random_bytes()
            recovery = _slot(
                crypto.recovery_kek(secret, vault_id), master, vault_id, RecordKind.RECOVERY_WRAP
            )
            shown = crypto.format_recovery_key(secret)
        header = _signed(Header(params, salt, vault_id, slot, recovery), keys)
        empty = _RowSet(0, 0, 0, 0, 0, 0)
        storage = Storage.create(
            target, header.pack(), empty.pack(keys, header.pack()), lock_timeout=lock_timeout
        )
        vault = cls(storage, header, master, keys)
        vault._state = empty
        vault.recovery_key = shown
        return vault

    @classmethod
    def open(
        cls, path: str | Path | None, passphrase: str | bytes, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    ) -> Self:
        """Open a vault with its passphrase; ``path=None`` means the default location.

        Succeeds whole or fails whole. Raises ``WrongPassphrase`` (after one key derivation; the file is not
        changed), ``VaultCorrupted`` (damage or tampering, including deleted or rolled-back rows),
        ``UnsupportedFormat``, ``KdfLimitExceeded`` (before any derivation), ``VaultLocked`` or
        ``VaultNotFound``.
        """
        _check_passphrase(passphrase)

        def unlock(header: Header) -> bytes:
            kek = crypto.derive_kek(passphrase, header.salt, header.kdf)
            return _unwrap(header.passphrase_slot, kek, header.vault_id, RecordKind.MASTER_KEY_WRAP)

        return cls._open(_path(path), unlock, lock_timeout)

    @classmethod
    def open_with_recovery_key(
        cls, path: str | Path | None, recovery_key: str, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    ) -> Self:
        """Open a vault with the recovery key shown at creation (case, spaces and dashes do not matter).

        Then set a new passphrase with ``change_passphrase``. A key that is not the vault's, or a vault
        created without one, raises ``WrongPassphrase``.
        """

        def unlock(header: Header) -> bytes:
            secret = crypto.parse_recovery_key(recovery_key)
            if secret is None:
                raise WrongPassphrase("that is not a recovery key (52 letters and digits in groups of four)")
            if header.recovery_slot is None:
                raise WrongPassphrase("this vault was created without a recovery key")
            kek = crypto.recovery_kek(secret, header.vault_id)
            return _unwrap(header.recovery_slot, kek, header.vault_id, RecordKind.RECOVERY_WRAP)

        return cls._open(_path(path), unlock, lock_timeout)

    @classmethod
    def _open(cls, path: Path, unlock: Callable[[Header], bytes], lock_timeout: float) -> Self:
        storage = Storage.open(path, lock_timeout=lock_timeout)
        try:
            return cls._unlocked(storage, unlock)
        except BaseException:
            storage.close()
            raise

    @classmethod
    def _unlocked(cls, storage: Storage, unlock: Callable[[Header], bytes]) -> Self:
        """Check the header, unwrap the master key, check the header MAC and the set of rows."""
        if not storage.has_table("header") or not storage.has_table("state"):
            if storage.is_marked_as_vault():  # a vault whose schema was damaged
                raise VaultCorrupted(f"{storage.path.name}: the vault's tables are missing (damaged schema)")
            raise UnsupportedFormat(f"{storage.path.name} is an SQLite database but not a contactvault vault")
        if not storage.in_wal_mode():  # only a damaged SQLite file header takes a vault out of WAL mode
            raise VaultCorrupted(f"{storage.path.name}: not in WAL mode (damaged SQLite file header)")
        header = Header.unpack(storage.read_single("header"))
        master = unlock(header)
        keys = Keys(master)
        if not crypto.macs_equal(crypto.mac(keys.header, header.body()), header.mac):
            raise VaultCorrupted("the vault header fails its MAC (changed KDF parameters or key slots)")
        vault = cls(storage, header, master, keys)
        vault._state = vault._check_rowset()
        return vault

    def close(self) -> None:
        """Close the file, release its lock and drop the keys. Safe to call more than once."""
        self._storage.close()
        self._master = b""
        self._keyring = None
        self.recovery_key = None

    @property
    def _keys(self) -> Keys:
        if self._keyring is None:
            raise VaultClosed("the vault is closed")
        return self._keyring

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._storage.closed else f"{self._state.live} contacts"
        return f"Vault({self._storage.path.name!r}, {state})"

    @property
    def changes(self) -> int:
        """How many write transactions this ``Vault`` object has committed since it was opened."""
        return self._changes

    def _committed(self, state: _RowSet) -> None:
        """Take ``state`` as the current row-set state after a commit, and count the commit."""
        self._state = state
        self._changes += 1

    @property
    def path(self) -> Path:
        """The vault file."""
        return self._storage.path

    @property
    def kdf(self) -> KdfParams:
        """The Argon2id parameters of the passphrase."""
        return self._header.kdf

    @property
    def has_recovery_key(self) -> bool:
        """Whether a recovery key can open this vault."""
        return self._header.recovery_slot is not None

    # --- passphrase ---------------------------------------------------------------------------------------

    def change_passphrase(self, new_passphrase: str | bytes, *, kdf: KdfParams | None = None) -> None:
        """Set a new passphrase (and optionally new KDF parameters).

        Only the master key is re-wrapped, with a fresh salt: the cost is one key derivation, whatever the
        size of the vault. The recovery key, if any, keeps working.
        """
        _check_passphrase(new_passphrase)
        params = kdf if kdf is not None else self._header.kdf
        salt = crypto.random_bytes(crypto.SALT_SIZE)
        kek = crypto.derive_kek(new_passphrase, salt, params)
        slot = _slot(kek, self._master, self._vid, RecordKind.MASTER_KEY_WRAP)
        header = _signed(Header(params, salt, self._vid, slot, self._header.recovery_slot), self._keys)
        with self._storage.transaction():
            self._storage.write_single("header", header.pack())
            new_state = self._write_state(_Delta(self._keys), header)
        self._header = header
        self._committed(new_state)

    # --- reading ------------------------------------------------------------------------------------------

    def __len__(self) -> int:
        """The number of contacts (erased ones do not count)."""
        self._storage._conn()
        return self._state.live

    def __iter__(self) -> Iterator[DirectoryEntry]:
        """Every contact's directory entry, in the order they were added. Never decrypts a CRM payload."""
        for row in self._storage.rows():
            if row.data_key is not None:
                yield self._directory(row)

    def __contains__(self, contact_id: object) -> bool:
        if not isinstance(contact_id, uuid.UUID | str):
            return False
        try:
            row = self._storage.get(_contact_id(contact_id).bytes)
        except ContactNotFound:
            return False
        return row is not None and row.data_key is not None

    def contacts(self) -> Iterator[Contact]:
        """Every contact in full (directory and CRM payload), in the order they were added."""
        for row in self._storage.rows(with_payload=True):
            if row.data_key is not None:
                yield self._contact(row)

    def get(self, contact_id: uuid.UUID | str) -> Contact:
        """One contact in full. Raises ``ContactNotFound`` (a ``KeyError``), or ``ContactErased``."""
        return self._contact(self._live_row(_contact_id(contact_id)))

    def directory_entry(self, contact_id: uuid.UUID | str) -> DirectoryEntry:
        """One contact's directory entry, without decrypting its CRM payload."""
        return self._directory(self._live_row(_contact_id(contact_id)))

    def find_by_phone(self, number: str, *, region: str | None = None) -> tuple[Contact, ...]:
        """The contacts with this number, given in any format.

        For example ``+49 30 1234567``, ``030 1234567`` with ``region="DE"``, or a ``tel:`` URI.
        The number is normalised to E.164 and looked up in the blind index (a keyed hash of each number):
        only the matching contacts are decrypted. Text that is not a phone number finds nothing.
        """
        e164 = parse_number(number, check_region(region)).e164
        if e164 is None:
            return ()
        found: list[Contact] = []
        for cid in self._storage.index_lookup(self._index_tag(e164)):
            contact = self._contact(self._live_row(uuid.UUID(bytes=cid)))
            if e164 not in contact.e164_numbers():
                raise VaultCorrupted("the phone index does not match a contact's numbers")
            found.append(contact)
        return tuple(found)

    # --- writing ------------------------------------------------------------------------------------------

    def add(self, contact: Contact) -> uuid.UUID:
        """Store a new contact; returns its id. ``ConflictError`` if the id is already in the vault."""
        return self.add_many([contact])[0]

    def add_many(
        self, contacts: Iterable[Contact], *, progress: Callable[[int], object] | None = None
    ) -> list[uuid.UUID]:
        """Store many new contacts in one transaction: all of them, or (on any error) none.

        ``progress``, if given, is called with the number stored so far after every thousand contacts and
        with the total at the end (once). Each contact is validated again before it is stored (pydantic
        does not validate a ``model_copy(update=...)``), and stored at version 1.
        """
        ids: list[uuid.UUID] = []
        seen: set[bytes] = set()
        delta = _Delta(self._keys)
        with self._storage.transaction():
            batch: list[Row] = []
            pairs: list[tuple[bytes, bytes]] = []
            for contact in contacts:
                fresh = _validated(contact, version=1)
                cid = fresh.id.bytes
                if cid in seen:
                    raise ConflictError("the same contact id appears twice in add_many")
                seen.add(cid)
                row, tags = self._seal(fresh, crypto.random_bytes())
                batch.append(row)
                delta.row(_tags(row), +1)
                for tag in tags:
                    pairs.append((tag, cid))
                    delta.index_entry(tag, cid, +1)
                ids.append(fresh.id)
                if len(batch) >= _BATCH:
                    self._flush(batch, pairs)
                    if progress is not None:
                        progress(len(ids))
            self._flush(batch, pairs)
            new_state = self._write_state(delta)
        self._committed(new_state)
        if progress is not None and (len(ids) % _BATCH or not ids):
            progress(len(ids))
        return ids

    def update(self, contact: Contact) -> Contact:
        """Store a changed contact and return it at its new version.

        ``contact.version`` must be the version it was read at; if the stored contact has changed since,
        ``ConflictError`` is raised and nothing is written (the last writer never silently wins).
        """
        if not isinstance(contact, Contact):
            raise TypeError("update() takes a Contact")
        row = self._live_row(contact.id)
        if contact.version != row.version:
            raise ConflictError(
                f"contact {contact.id} changed since it was read (version {contact.version}, "
                f"stored {row.version}); read it again and apply the change to the fresh copy"
            )
        return self._replace(row, contact)

    def erase(self, contact_id: uuid.UUID | str) -> Erasure:
        """Erase a contact for good (GDPR Art. 17) by crypto-shredding.

        The contact's wrapped data key, its sealed payload and directory, and its phone-index entries are
        deleted; a sealed tombstone (the erasure time) keeps the id, so that ``get`` raises
        ``ContactErased``. SQLite's secure delete zeroes the freed bytes, and the WAL is checkpointed and
        truncated, so neither the key nor any plaintext survives in the ``.db`` or ``-wal`` file.
        Backups made before the erase still hold the contact: erase cannot reach them.
        """
        cid = _contact_id(contact_id)
        row = self._live_row(cid)
        erased_at = _now()
        version = row.version + 1
        ad = crypto.associated_data(self._vid, row.id, RecordKind.TOMBSTONE, version)
        tombstone = crypto.seal(
            self._keys.tombstone, _pack(json.dumps({"erased_at": erased_at.isoformat()}).encode()), ad
        )
        self._rewrite(row, Row(row.id, version, tombstone, None, None), [])
        self._storage.checkpoint_truncate()
        return Erasure(contact_id=cid, erased_at=erased_at, version=version)

    # --- consent and rights -------------------------------------------------------------------------------

    def grant_consent(self, contact_id: uuid.UUID | str, consent: ConsentRecord) -> Contact:
        """Record a consent (GDPR Art. 7(1)); earlier consents and withdrawals are kept."""
        if not isinstance(consent, ConsentRecord):
            raise TypeError("grant_consent() takes a ConsentRecord")
        return self._modify(contact_id, lambda c: {"consents": (*c.consents, consent)})

    def withdraw_consent(
        self,
        contact_id: uuid.UUID | str,
        purpose: str,
        *,
        channel: ConsentChannel,
        at: datetime | None = None,
    ) -> Contact:
        """Withdraw every active consent for ``purpose`` (GDPR Art. 7(3)).

        The consent records stay (with their withdrawal time and channel), so the history remains
        demonstrable; an earlier withdrawal is never overwritten. ``ValueError`` if there is no active
        consent for the purpose.
        """
        when = at if at is not None else _now()

        def change(c: Contact) -> _Changes:
            active = [r for r in c.consents if r.purpose == purpose and not r.withdrawn]
            if not active:
                raise ValueError(f"no active consent for purpose {purpose!r}")
            consents = tuple(
                ConsentRecord.model_validate(
                    {**r.model_dump(), "withdrawn_at": when, "withdrawal_channel": channel}
                )
                if r in active
                else r
                for r in c.consents
            )
            return {"consents": consents}

        return self._modify(contact_id, change)

    def add_legal_basis(self, contact_id: uuid.UUID | str, basis: LegalBasis) -> Contact:
        """Record a legal basis (GDPR Art. 6(1)) for a purpose; earlier ones are kept."""
        if not isinstance(basis, LegalBasis):
            raise TypeError("add_legal_basis() takes a LegalBasis")
        stamped = basis if basis.recorded_at is not None else basis.model_copy(update={"recorded_at": _now()})
        return self._modify(contact_id, lambda c: {"legal_bases": (*c.legal_bases, stamped)})

    def set_messenger_presence(
        self,
        contact_id: uuid.UUID | str,
        number: str,
        present: bool,
        *,
        source: str,
        at: datetime | None = None,
        region: str | None = None,
    ) -> Contact:
        """Record whether a number of the contact uses the messenger, who or what said so, and when.

        ``number`` may be in any format; it is matched by its E.164 form. ``ValueError`` if the contact has
        no such number.
        """
        e164 = parse_number(number, check_region(region)).e164
        presence = MessengerPresence(
            present=present, source=source, checked_at=at if at is not None else _now()
        )

        def change(c: Contact) -> _Changes:
            if e164 is None or e164 not in c.e164_numbers():
                raise ValueError("the contact has no such number")
            phones = tuple(
                p.model_copy(update={"messenger": presence}) if p.e164 == e164 else p for p in c.phones
            )
            return {"phones": phones}

        return self._modify(contact_id, change)

    def add_label(self, contact_id: uuid.UUID | str, label: Label | str) -> Contact:
        """Attach a label (a name already there, compared without case, is not added twice)."""
        new = label if isinstance(label, Label) else Label(name=label)

        def change(c: Contact) -> _Changes:
            if any(lb.name.casefold() == new.name.casefold() for lb in c.labels):
                return {}
            return {"labels": (*c.labels, new)}

        return self._modify(contact_id, change)

    def remove_label(self, contact_id: uuid.UUID | str, name: str) -> Contact:
        """Remove a label by name (without regard to case); nothing happens if it is not there."""

        def change(c: Contact) -> _Changes:
            kept = tuple(lb for lb in c.labels if lb.name.casefold() != name.casefold())
            return {"labels": kept} if kept != c.labels else {}

        return self._modify(contact_id, change)

    def restrict(self, contact_id: uuid.UUID | str, *, at: datetime | None = None) -> Contact:
        """Restrict processing (GDPR Art. 18): the sync policy then keeps the contact off the messenger."""
        when = at if at is not None else _now()
        return self._modify(contact_id, lambda c: {} if c.restricted_at else {"restricted_at": when})

    def lift_restriction(self, contact_id: uuid.UUID | str) -> Contact:
        """Lift a restriction of processing (GDPR Art. 18(3))."""
        return self._modify(contact_id, lambda c: {"restricted_at": None} if c.restricted_at else {})

    def object(self, contact_id: uuid.UUID | str, purpose: str, *, at: datetime | None = None) -> Contact:
        """Record an objection to processing for ``purpose`` (GDPR Art. 21)."""
        objection = Objection(purpose=purpose, objected_at=at if at is not None else _now())
        return self._modify(contact_id, lambda c: {"objections": (*c.objections, objection)})

    # --- the messenger book -------------------------------------------------------------------------------

    def explain(
        self, policy: Policy, *, now: datetime | None = None
    ) -> Iterator[tuple[DirectoryEntry, Decision]]:
        """Every contact's directory entry with the policy's decision and its reasons.

        Reads the directory compartment only. ``now`` (default: the current time, taken once) is the moment
        the policy judges.
        """
        moment = now if now is not None else _now()
        for entry in self:
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
        cards: list[tuple[str, MessengerEntry]] = []
        with paused_gc():  # many small objects and no cycles: the collector would only slow this down
            self._collect_cards(policy, cards, name_style=name_style, pseudonym=pseudonym, now=now)
            return MessengerBook(cards, policy_digest=policy.digest())

    def _collect_cards(
        self,
        policy: Policy,
        cards: list[tuple[str, MessengerEntry]],
        *,
        name_style: NameStyle,
        pseudonym: str,
        now: datetime | None,
    ) -> None:
        key = self._keys.book
        for entry, decision in self.explain(policy, now=now):
            if not decision.allowed:
                continue
            cid = entry.id.bytes
            code = functools.partial(pseudonym_code, key, cid)  # computed only if the name needs it
            name = book_name(entry, name_style, code=code, pseudonym=pseudonym)
            cards.extend(
                (book_uid(key, cid, number), MessengerEntry(display_name=name, phone_e164=number))
                for number in decision.numbers
            )

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
        if not target or any(not ch.isprintable() for ch in target):
            raise ValueError("a target is a non-empty line of printable text")
        cards = dict(book.cards())
        reached = set(cards) if held is None else set(held)
        if not reached <= cards.keys():
            raise ValueError("held names UIDs that are not in the book")
        records, previous = self._read_log()
        before = replay(records, target)
        entry_key = crypto.keyed_hash(self._keys.log, b"entry-hash")
        now_held = {uid: _entry_hash(entry_key, uid, cards[uid]) for uid in sorted(reached)}
        now_held.update({uid: before[uid] for uid in kept if uid in before})
        record = Disclosure(
            seq=len(records) + 1,
            at=at if at is not None else _now(),
            target=target,
            kind=kind,
            policy=policy_digest,
            added={u: h for u, h in now_held.items() if u not in before},
            removed=tuple(sorted(u for u in before if u not in now_held)),
            renamed={u: h for u, h in now_held.items() if u in before and before[u] != h},
            held=len(now_held),
            previous=previous,
        )
        if record.at.tzinfo is None:
            raise ValueError("the time of a disclosure must be timezone-aware")
        sealed = crypto.seal(self._log_aead(), _pack(record.to_json()), self._log_ad(record.seq))
        delta = _Delta(self._keys)
        delta.log_record(record.seq, sealed)
        with self._storage.transaction():
            self._storage.log_append(record.seq, sealed)
            new_state = self._write_state(delta)
        self._committed(new_state)
        return record

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
        try:
            result = target.sync(book, dry_run=dry_run)
        except SyncError as exc:
            if exc.partial is not None and exc.partial.done:
                self.record_disclosure(
                    target.name,
                    book,
                    kind="sync",
                    policy_digest=book.policy_digest,
                    held=exc.partial.held,
                    kept=exc.partial.pending,
                )
            raise
        if not result.dry_run:
            self.record_disclosure(
                target.name, book, kind="sync", policy_digest=book.policy_digest, held=result.held
            )
        return result

    def disclosures(self) -> list[Disclosure]:
        """Every record of the disclosure log, oldest first, each checked (seal, order and hash chain)."""
        return self._read_log()[0]

    def _read_log(self) -> tuple[list[Disclosure], str]:
        """The checked records, and the hash the next record must name as its ``previous``."""
        records: list[Disclosure] = []
        previous = GENESIS
        aead = self._log_aead()
        for seq, sealed in self._storage.log_records():
            if seq != len(records) + 1:
                raise VaultCorrupted("the disclosure log has a gap or is out of order")
            try:
                plain = crypto.open_sealed(aead, sealed, self._log_ad(seq))
                record = Disclosure.from_json(_unpack(plain))
            except (AuthenticationFailed, ValueError):
                raise VaultCorrupted("a disclosure record fails authentication or is malformed") from None
            if record.seq != seq or record.previous != previous:
                raise VaultCorrupted("the disclosure log's hash chain is broken")
            records.append(record)
            previous = hashlib.sha256(sealed).hexdigest()
        return records, previous

    def disclosures_of(self, contact_id: uuid.UUID | str) -> list[ContactDisclosure]:
        """Every disclosure of the contact's current numbers in the log, oldest first (for Art. 15).

        The log holds keyed hashes only; a contact's entries are found by recomputing the UIDs of its
        numbers. A number the contact no longer holds cannot be matched, nor can an erased contact's.
        """
        entry = self.directory_entry(contact_id)
        key = self._keys.book
        numbers = {book_uid(key, entry.id.bytes, n): n for n in entry.e164_numbers()}
        found: list[ContactDisclosure] = []
        for record in self.disclosures():
            changes: tuple[tuple[_Change, Iterable[str]], ...] = (
                ("added", record.added),
                ("renamed", record.renamed),
                ("removed", record.removed),
            )
            found.extend(
                ContactDisclosure(
                    seq=record.seq,
                    at=record.at,
                    target=record.target,
                    kind=record.kind,
                    change=change,
                    number=numbers[uid],
                    uid=uid,
                    policy=record.policy,
                )
                for change, uids in changes
                for uid in uids
                if uid in numbers
            )
        return found

    def settings(self) -> VaultSettings:
        """The protections in force: header, SQLite settings and counts (see `VaultSettings`)."""
        sql = self._storage.settings()
        total, live = self._storage.count()
        return VaultSettings(
            format_version=FORMAT_VERSION,
            cipher="AES-256-GCM",
            kdf="Argon2id",
            kdf_params=self.kdf,
            key_hierarchy=(
                "passphrase -> Argon2id KEK -> random 256-bit master key -> HKDF-SHA256 subkeys; "
                "a random 256-bit data key per contact"
            ),
            per_contact_keys=True,
            padding="128-byte buckets up to 2 KiB, then Padmé",
            recovery_key=self.has_recovery_key,
            journal_mode=str(sql["journal_mode"]),
            synchronous=int(sql["synchronous"]),
            secure_delete=sql["secure_delete"] == 1,
            exclusive_lock=sql["locking_mode"] == "exclusive",
            disclosure_log=True,
            disclosure_records=len(self.disclosures()),
            contacts=live,
            erased=total - live,
        )

    def visible_at(self, target: str, when: datetime) -> dict[str, uuid.UUID | None]:
        """What ``target`` held at ``when``, by replaying the disclosure log: UID -> contact id.

        The contact id is ``None`` for an entry whose contact (or number) is no longer in the vault, for
        example after an erase: the log keeps only keyed hashes, never the name or the number.
        """
        if when.tzinfo is None:
            raise ValueError("when must be timezone-aware")
        held = replay(self.disclosures(), target, when)
        key = self._keys.book
        owners = {book_uid(key, e.id.bytes, n): e.id for e in self for n in e.e164_numbers()}
        return {uid: owners.get(uid) for uid in sorted(held)}

    def _log_aead(self) -> crypto.Aead:
        return crypto.Aead(self._keys.log)

    def _log_ad(self, seq: int) -> bytes:
        return crypto.associated_data(self._vid, seq.to_bytes(16, "big"), RecordKind.DISCLOSURE, seq)

    # --- integrity ----------------------------------------------------------------------------------------

    def verify(self) -> VerifyReport:
        """Check everything, and decrypt everything once to do it.

        SQLite's page structure, the header MAC, every sealed blob of every row (every CRM payload too),
        the phone index against each contact's numbers, and the row-set digest.

        Raises ``VaultCorrupted`` at the first problem; returns what was checked otherwise.
        """
        self._storage.integrity_check()
        header = Header.unpack(self._storage.read_single("header"))
        if header != self._header or not crypto.macs_equal(
            crypto.mac(self._keys.header, header.body()), header.mac
        ):
            raise VaultCorrupted("the vault header changed or fails its MAC")
        state = self._check_rowset()
        self.disclosures()  # seals, order and hash chain of the log
        index: dict[bytes, set[bytes]] = {}
        for tag, cid in self._storage.index_pairs():
            index.setdefault(cid, set()).add(tag)
        contacts = erased = 0
        for row in self._storage.rows(with_payload=True):
            if row.data_key is None:
                self._tombstone_time(row)
                erased += 1
                expected: set[bytes] = set()
            else:
                contact = self._contact(row)
                contacts += 1
                expected = {self._index_tag(n) for n in contact.e164_numbers()}
            if index.pop(row.id, set()) != expected:
                raise VaultCorrupted("the phone index does not match a contact's numbers")
        if index:
            raise VaultCorrupted("the phone index names contacts that are not in the vault")
        return VerifyReport(contacts=contacts, erased=erased, index_entries=state.index)

    # --- internals ----------------------------------------------------------------------------------------

    def _check_rowset(self) -> _RowSet:
        """Recompute the digest of all rows and index entries; compare it with the authenticated state."""
        stored = _RowSet.unpack(self._storage.read_single("state"), self._keys, self._header.pack())
        key = self._keys.rowset
        digest = rows = index = live = 0
        for tag_row in self._storage.tag_rows():
            if len(tag_row.id) != 16:
                raise VaultCorrupted("a contact row has a malformed id")
            digest += _row_element(key, tag_row)
            rows += 1
            live += 1 if tag_row.data_key_tag else 0
        for tag, cid in self._storage.index_pairs():
            digest += _index_element(key, tag, cid)
            index += 1
        log = 0
        for seq, record in self._storage.log_records():
            digest += _log_element(key, seq, record[-crypto.TAG_SIZE :])
            log += 1
        if (rows, index, log, digest % _MODULUS) != (stored.rows, stored.index, stored.log, stored.digest):
            raise VaultCorrupted(
                "the set of rows does not match the vault's authenticated state "
                "(a row was deleted, added, duplicated or replaced by an older copy)"
            )
        return _RowSet(stored.generation, rows, index, log, stored.digest, live)

    def _write_state(self, delta: _Delta, header: Header | None = None) -> _RowSet:
        new = delta.applied(self._state)
        self._storage.write_single("state", new.pack(self._keys, (header or self._header).pack()))
        return new

    def _flush(self, batch: list[Row], pairs: list[tuple[bytes, bytes]]) -> None:
        self._storage.insert(batch)
        self._storage.index_add(pairs)
        batch.clear()
        pairs.clear()

    def _index_tag(self, e164: str) -> bytes:
        return crypto.keyed_hash(self._keys.index, e164.encode("ascii"), 16)

    def _seal(self, contact: Contact, data_key: bytes) -> tuple[Row, list[bytes]]:
        """Seal ``contact`` at its version under its own data key."""
        cid, version = contact.id.bytes, contact.version
        entry = DirectoryEntry.of(contact, version)
        directory_key, payload_key = crypto.contact_keys(data_key)
        directory = crypto.seal(
            directory_key,
            _pack(entry.model_dump_json(exclude_defaults=True).encode()),
            crypto.associated_data(self._vid, cid, RecordKind.DIRECTORY, version),
        )
        wrapped = crypto.seal(
            self._keys.wrap, data_key, crypto.associated_data(self._vid, cid, RecordKind.DATA_KEY, version)
        )
        payload = crypto.seal(
            payload_key,
            _pack(contact.model_dump_json(include=set(PAYLOAD_FIELDS), exclude_defaults=True).encode()),
            crypto.associated_data(self._vid, cid, RecordKind.PAYLOAD, version),
        )
        tags = [self._index_tag(n) for n in entry.e164_numbers()]
        return Row(cid, version, directory, wrapped, payload), tags

    def _open_blob(
        self, key: bytes | crypto.Aead, blob: bytes, row_id: bytes, kind: int, version: int
    ) -> bytes:
        try:
            return crypto.open_sealed(key, blob, crypto.associated_data(self._vid, row_id, kind, version))
        except AuthenticationFailed:
            raise VaultCorrupted("a contact record fails authentication (damaged or tampered with)") from None

    def _tombstone_time(self, row: Row) -> datetime:
        plain = self._open_blob(
            self._keys.tombstone, row.directory, row.id, RecordKind.TOMBSTONE, row.version
        )
        try:
            return datetime.fromisoformat(json.loads(_unpack(plain))["erased_at"])
        except (AuthenticationFailed, ValueError, KeyError, TypeError):
            raise VaultCorrupted("a tombstone is malformed") from None

    def _live_row(self, cid: uuid.UUID) -> Row:
        row = self._storage.get(cid.bytes)
        if row is None:
            raise ContactNotFound(f"no contact {cid} in this vault")
        if row.data_key is None:
            erased_at = self._tombstone_time(row)
            raise ContactErased(f"contact {cid} was erased on {erased_at:%Y-%m-%d}")
        return row

    def _directory_json(self, row: Row, directory_key: bytes | None = None) -> bytes:
        key = directory_key if directory_key is not None else self._contact_keys(row)[0]
        plain = self._open_blob(key, row.directory, row.id, RecordKind.DIRECTORY, row.version)
        try:
            return _unpack(plain)
        except AuthenticationFailed:
            raise VaultCorrupted("a directory record has a malformed padding") from None

    def _directory(self, row: Row) -> DirectoryEntry:
        try:
            entry = DirectoryEntry.model_validate_json(self._directory_json(row))
        except ValidationError:
            raise VaultCorrupted("a directory record does not hold a valid entry") from None
        if entry.id.bytes != row.id or entry.version != row.version:
            raise VaultCorrupted("a directory record belongs to another contact or version")
        return entry

    def _stored_tags(self, row: Row) -> list[bytes]:
        """The phone-index tags stored for a live row.

        Computed from its directory's numbers (so removing them is a few primary-key lookups); if the
        directory cannot be read, found by scanning the index, so that a damaged contact can still be erased.
        """
        try:
            numbers = self._directory(row).e164_numbers()
        except VaultCorrupted:
            return self._storage.index_of(row.id)
        return [self._index_tag(n) for n in numbers]

    def _data_key(self, row: Row) -> bytes:
        """The contact's own data key, unwrapped."""
        if row.data_key is None:  # pragma: no cover - callers check for tombstones first
            raise VaultCorrupted("a contact has no data key")
        key = self._open_blob(self._keys.wrap, row.data_key, row.id, RecordKind.DATA_KEY, row.version)
        if len(key) != crypto.KEY_SIZE:
            raise VaultCorrupted("a contact's data key has the wrong length")
        return key

    def _contact_keys(self, row: Row) -> tuple[bytes, bytes]:
        return crypto.contact_keys(self._data_key(row))

    def _contact(self, row: Row) -> Contact:
        if row.payload is None:
            raise VaultCorrupted("a contact has a data key but no payload")
        directory_key, payload_key = self._contact_keys(row)
        directory = self._directory_json(row, directory_key)
        payload = self._open_blob(payload_key, row.payload, row.id, RecordKind.PAYLOAD, row.version)
        try:
            fields = json.loads(directory)
            extra = json.loads(_unpack(payload))
            if (
                not isinstance(fields, dict)
                or not isinstance(extra, dict)
                or not extra.keys() <= PAYLOAD_FIELDS
            ):
                raise TypeError  # noqa: TRY301  (handled just below, like malformed JSON)
            fields.pop("birth_date", None)
            fields.update(extra)
            contact = Contact.model_validate_json(json.dumps(fields))
        except (ValueError, TypeError, AuthenticationFailed):  # ValidationError, JSONDecodeError: ValueError
            raise VaultCorrupted("a contact record does not hold a valid contact") from None
        if contact.id.bytes != row.id or contact.version != row.version:
            raise VaultCorrupted("a contact record belongs to another contact or version")
        return contact

    def _replace(self, row: Row, contact: Contact) -> Contact:
        """Write ``contact`` over ``row`` (one version later), in one transaction."""
        data_key = self._data_key(row)
        updated_at = max(_now(), contact.created_at)
        fresh = _validated(contact, version=row.version + 1, updated_at=updated_at)
        self._rewrite(row, *self._seal(fresh, data_key))
        return fresh

    def _rewrite(self, row: Row, new_row: Row, new_tags: list[bytes]) -> None:
        """Replace a live row and its index entries, and the row-set state, in one transaction."""
        old_tags = self._stored_tags(row)
        delta = _Delta(self._keys)
        delta.row(_tags(row), -1)
        delta.row(_tags(new_row), +1)
        for tag in old_tags:
            delta.index_entry(tag, row.id, -1)
        for tag in new_tags:
            delta.index_entry(tag, row.id, +1)
        with self._storage.transaction():
            self._storage.index_remove(row.id, old_tags)
            self._storage.replace(new_row, row.version)
            self._storage.index_add([(tag, row.id) for tag in new_tags])
            new_state = self._write_state(delta)
        self._committed(new_state)

    def _modify(self, contact_id: uuid.UUID | str, change: Callable[[Contact], _Changes]) -> Contact:
        row = self._live_row(_contact_id(contact_id))
        current = self._contact(row)
        updates = change(current)
        if not updates:
            return current
        return self._replace(row, current.model_copy(update=updates))


def _validated(contact: Contact, *, version: int, updated_at: datetime | None = None) -> Contact:
    """``contact`` validated afresh (a ``model_copy(update=...)`` is not) at ``version``."""
    if not isinstance(contact, Contact):
        raise TypeError("the vault stores Contact objects")
    fields = contact.model_dump()
    fields["version"] = version
    if updated_at is not None:
        fields["updated_at"] = updated_at
    return Contact.model_validate(fields)


def _entry_hash(key: bytes, uid: str, entry: MessengerEntry) -> str:
    """The log's keyed hash of one book entry (its UID, name and number): shows a rename, hides the values."""
    data = json.dumps([uid, entry.display_name, entry.phone_e164]).encode("utf-8")
    return crypto.keyed_hash(key, data, 16).hex()


def _slot(kek: bytes, master: bytes, vault_id: bytes, kind: int) -> KeySlot:
    wrapped = crypto.seal(kek, master, crypto.associated_data(vault_id, vault_id, kind, FORMAT_VERSION))
    return KeySlot(key_check=crypto.key_check_value(kek), wrapped_master_key=wrapped)


def _unwrap(slot: KeySlot, kek: bytes, vault_id: bytes, kind: int) -> bytes:
    if not crypto.macs_equal(crypto.key_check_value(kek), slot.key_check):
        what = "passphrase" if kind == RecordKind.MASTER_KEY_WRAP else "recovery key"
        raise WrongPassphrase(f"wrong {what}")
    try:
        master = crypto.open_sealed(
            kek, slot.wrapped_master_key, crypto.associated_data(vault_id, vault_id, kind, FORMAT_VERSION)
        )
    except AuthenticationFailed:
        raise VaultCorrupted("the key is right but the wrapped master key is damaged") from None
    if len(master) != crypto.KEY_SIZE:
        raise VaultCorrupted("the wrapped master key has the wrong length")
    return master


def _signed(header: Header, keys: Keys) -> Header:
    return header.with_mac(crypto.mac(keys.header, header.body()))
