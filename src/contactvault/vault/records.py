"""Sealing and opening one contact row, its tombstone, and its blind-index tags.

A live contact row holds three sealed blobs: its **directory** (``DirectoryEntry``: what listing and the
messenger book need), its random **data key** wrapped under the vault's wrap key, and its **CRM payload**
(every other field). Directory and payload are sealed under keys derived from the data key, so erasing the
contact (deleting the wrapped data key) makes both unreadable for good. An erased contact leaves a
**tombstone**: the erasure time (and, after a merge, the id it was merged into), sealed under the vault's
tombstone key.

Every blob's associated data binds the vault id, the contact id, the kind of record and the version, so a
blob cannot be moved to another contact, another kind or another version.

The **blind index** maps keyed hashes to contact ids: of each E.164 number (``find_by_phone``), of each
vCard UID the contact answers to, of its external id (``find_by_external_id``), and of its card (its
name's words and its numbers; only for a contact without a UID, which its UID already recognises) and the
cards merged into it (re-import matching). The kinds use distinct
inputs, so a tag of one kind never equals one of another; UID and external-id tags are unique in a vault.
"""

from __future__ import annotations

import json
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

import pydantic_core
from pydantic import ValidationError

from contactvault import crypto
from contactvault.crypto import AuthenticationFailed, Keys, RecordKind
from contactvault.errors import VaultCorrupted
from contactvault.importers.matching import card_key
from contactvault.models import DIRECTORY_FIELDS, Contact, DirectoryEntry, combined_digest
from contactvault.models.directory import birth_date
from contactvault.vault.backends.base import Row

__all__ = ["PAYLOAD_FIELDS", "Records", "Tags", "Tombstone", "pack", "unpack"]

PAYLOAD_FIELDS: Final = frozenset(Contact.model_fields) - DIRECTORY_FIELDS
"""The fields of a contact sealed in its CRM payload, under its own data key."""

_MAX_RECORD: Final = (
    64 * 1024 * 1024
)  # a contact's JSON is far smaller; this only bounds a decompression bomb
_UID_DOMAIN: Final = b"\x00uid\x00"  # E.164 numbers start with "+": no number tag can equal these
_EXTERNAL_DOMAIN: Final = b"\x00external-id\x00"
_CARD_DOMAIN: Final = b"\x00card\x00"
_ABSENT: Final = object()
_TO_JSON: Final = Contact.__pydantic_serializer__.to_json  # model_dump_json's, without the str round trip
_DIRECTORY_ONLY: Final = set(DIRECTORY_FIELDS)
_VALIDATE_DIRECTORY: Final = DirectoryEntry.__pydantic_validator__.validate_json
_PAYLOAD_ONLY: Final = set(PAYLOAD_FIELDS)


def pack(plaintext: bytes) -> bytes:
    """Compress (raw deflate) and pad a record's plaintext before it is sealed.

    Compression halves the JSON and keeps the file under 1 KiB per contact; padding to size buckets
    afterwards keeps the compressed length from telling much (see docs/format.md, "What leaks").
    """
    if len(plaintext) > _MAX_RECORD:
        raise ValueError("the contact is too large to store (over 64 MiB as JSON)")
    if len(plaintext) <= _SMALL:
        # memLevel 4, not 8: a 4 KiB hash table instead of 64 KiB, which zlib clears for every record. A
        # record of a few hundred bytes compresses to the very same bytes.
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15, 4)
    else:
        # A large record (the disclosure record of a whole book: 9 MB of hashes for 130,000 entries): the
        # full hash table and level 3 compress it six times faster than level 6 with the small table (0.2
        # s against 1.3 s) and as small (5.09 MB against 5.10 MB).
        compressor = zlib.compressobj(3, zlib.DEFLATED, -15, 8)
    return crypto.pad(compressor.compress(plaintext) + compressor.flush())


_SMALL: Final = 16 * 1024
"""Up to this many bytes, a record is compressed with a small hash table (``pack``)."""


def unpack(padded: bytes) -> bytes:
    """Undo ``pack``; raises ``AuthenticationFailed`` if the content is malformed or too large."""
    decompressor = zlib.decompressobj(-15)
    try:
        plaintext = decompressor.decompress(crypto.unpad(padded), _MAX_RECORD)
    except zlib.error:
        raise AuthenticationFailed("malformed compressed record") from None
    if decompressor.unconsumed_tail or not decompressor.eof:
        raise AuthenticationFailed("compressed record too large or truncated")
    return plaintext


def directory_json(contact: Contact) -> bytes:
    """The JSON of ``DirectoryEntry.of(contact, contact.version)`` (defaults left out), without building it.

    The entry's fields are the contact's (same types and limits, so a valid contact gives a valid entry)
    and four the vault derives from it; writing them straight from the contact saves validating the entry
    again. Reading validates it, as always (``Records.directory``).
    """
    body = _TO_JSON(contact, include=_DIRECTORY_ONLY, exclude_defaults=True)
    source = contact.source
    extra: dict[str, object] = {"keys_indexed": True}
    born = birth_date(contact.birthday)
    if born is not None:
        extra["birth_date"] = born
    if source is not None and source.uid:
        extra["source_uid"] = source.uid
    if source is not None and source.imported:
        extra["import_digest"] = combined_digest(source.imported)
    return body[:-1] + b"," + pydantic_core.to_json(extra)[1:]


def payload_json(contact: Contact) -> bytes:
    """The JSON of the contact's CRM payload: its fields outside the directory (defaults left out)."""
    return _TO_JSON(contact, include=_PAYLOAD_ONLY, exclude_defaults=True)


@dataclass(frozen=True, slots=True)
class Tags:
    """The blind-index tags of one contact: every tag, and those that must be unique in the vault."""

    all: tuple[bytes, ...] = ()
    unique: frozenset[bytes] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class Tombstone:
    """What an erased contact's tombstone says: when it was erased, and the contact it was merged into."""

    erased_at: datetime
    merged_into: uuid.UUID | None = None


class Records:
    """Seals and opens the rows of one vault (its id and subkeys)."""

    __slots__ = ("_keys", "_vid")

    def __init__(self, vault_id: bytes, keys: Keys) -> None:
        self._vid = vault_id
        self._keys = keys

    def use(self, keys: Keys) -> None:
        """Seal and open with ``keys`` from now on (the vault was re-keyed)."""
        self._keys = keys

    # --- the blind index ----------------------------------------------------------------------------------

    def number_tag(self, e164: str) -> bytes:
        """The blind-index tag of an E.164 number."""
        return crypto.keyed_hash(self._keys.index, e164.encode("ascii"), 16)

    def uid_tag(self, uid: str) -> bytes:
        """The blind-index tag of a vCard UID."""
        return crypto.keyed_hash(self._keys.index, _UID_DOMAIN + uid.encode("utf-8", "surrogatepass"), 16)

    def external_tag(self, external_id: str) -> bytes:
        """The blind-index tag of an external id."""
        data = _EXTERNAL_DOMAIN + external_id.encode("utf-8", "surrogatepass")
        return crypto.keyed_hash(self._keys.index, data, 16)

    def card_tag(self, key: str) -> bytes:
        """The blind-index tag of a card's name and numbers (``importers.matching.card_key``)."""
        return crypto.keyed_hash(self._keys.index, _CARD_DOMAIN + key.encode("utf-8", "surrogatepass"), 16)

    def tags(self, contact: Contact | DirectoryEntry) -> Tags:
        """Every blind-index tag of a contact: numbers, UIDs, external id, its card and merged cards."""
        numbers = [self.number_tag(n) for n in contact.e164_numbers()]
        if isinstance(contact, DirectoryEntry) and not contact.keys_indexed:  # by an earlier version
            return Tags(tuple(dict.fromkeys(numbers)))
        uids = contact.uids()
        unique = [self.uid_tag(uid) for uid in uids]
        if contact.external_id is not None:
            unique.append(self.external_tag(contact.external_id))
        # A contact's own card is indexed only when it has no UID: a UID already recognises its card.
        own = () if uids else (self.card_tag(card_key(contact)),)
        cards = [*own, *(bytes.fromhex(c) for c in contact.merged_cards)]
        return Tags(tuple(dict.fromkeys((*numbers, *unique, *cards))), frozenset(unique))

    # --- sealing ------------------------------------------------------------------------------------------

    def _ad(self, cid: bytes, kind: int, version: int) -> bytes:
        return crypto.associated_data(self._vid, cid, kind, version)

    def seal(self, contact: Contact, data_key: bytes) -> Row:
        """Seal ``contact`` (validated, at its version: 1 or later) under its own data key."""
        cid, version = contact.id.bytes, contact.version
        if version < 1:
            raise ValueError("a stored contact's version starts at 1")
        directory_key, payload_key = crypto.contact_keys(data_key)
        directory = crypto.seal(
            directory_key,
            pack(directory_json(contact)),
            self._ad(cid, RecordKind.DIRECTORY, version),
        )
        wrapped = crypto.seal(self._keys.wrap, data_key, self._ad(cid, RecordKind.DATA_KEY, version))
        payload = crypto.seal(
            payload_key,
            pack(payload_json(contact)),
            self._ad(cid, RecordKind.PAYLOAD, version),
        )
        return Row(cid, version, directory, wrapped, payload)

    def seal_tombstone(self, row: Row, erased_at: datetime, merged_into: uuid.UUID | None = None) -> Row:
        """The tombstone that replaces ``row`` (one version later): no data key, no payload."""
        version = row.version + 1
        body: dict[str, str] = {"erased_at": erased_at.isoformat()}
        if merged_into is not None:
            body["merged_into"] = str(merged_into)
        sealed = crypto.seal(
            self._keys.tombstone,
            pack(json.dumps(body).encode()),
            self._ad(row.id, RecordKind.TOMBSTONE, version),
        )
        return Row(row.id, version, sealed, None, None)

    # --- opening ------------------------------------------------------------------------------------------

    def _open(self, key: bytes | crypto.Aead, blob: bytes, row_id: bytes, kind: int, version: int) -> bytes:
        try:
            return crypto.open_sealed(key, blob, self._ad(row_id, kind, version))
        except AuthenticationFailed:
            raise VaultCorrupted("a contact record fails authentication (damaged or tampered with)") from None

    def data_key(self, row: Row) -> bytes:
        """The contact's own data key, unwrapped."""
        if row.data_key is None:
            raise VaultCorrupted("a contact has no data key")
        key = self._open(self._keys.wrap, row.data_key, row.id, RecordKind.DATA_KEY, row.version)
        if len(key) != crypto.KEY_SIZE:
            raise VaultCorrupted("a contact's data key has the wrong length")
        return key

    def _directory_json(self, row: Row, directory_key: bytes | None = None) -> bytes:
        key = directory_key if directory_key is not None else crypto.directory_key(self.data_key(row))
        plain = self._open(key, row.directory, row.id, RecordKind.DIRECTORY, row.version)
        try:
            return unpack(plain)
        except AuthenticationFailed:
            raise VaultCorrupted("a directory record has a malformed padding") from None

    def directory(self, row: Row) -> DirectoryEntry:
        """The directory entry of a live row (its CRM payload is not decrypted)."""
        return self.kept_entry(row.id, row.version, self._directory_json(row))

    def opened(self, row: Row) -> bytes:
        """The decrypted JSON of a live row's directory (authenticated; not validated: ``kept_entry`` does).

        The directory cache (``vault.directory``) keeps it and validates an entry from it each time it
        hands one out.
        """
        return self._directory_json(row)

    @staticmethod
    def kept_entry(row_id: bytes, version: int, plain: bytes) -> DirectoryEntry:
        """The entry validated from a directory's decrypted JSON, naming row ``row_id`` at ``version``."""
        try:  # what model_validate_json does, without its wrapper: any ValidationError is VaultCorrupted
            entry: DirectoryEntry = _VALIDATE_DIRECTORY(plain)
        except ValidationError:
            raise VaultCorrupted("a directory record does not hold a valid entry") from None
        if entry.id.bytes != row_id or entry.version != version:
            raise VaultCorrupted("a directory record belongs to another contact or version")
        return entry

    def contact(self, row: Row) -> Contact:
        """The whole contact of a live row: directory and CRM payload."""
        if row.payload is None:
            raise VaultCorrupted("a contact has a data key but no payload")
        directory_key, payload_key = crypto.contact_keys(self.data_key(row))
        directory = self._directory_json(row, directory_key)
        payload = self._open(payload_key, row.payload, row.id, RecordKind.PAYLOAD, row.version)
        try:
            fields = json.loads(directory)
            extra = json.loads(unpack(payload))
            if (
                not isinstance(fields, dict)
                or not isinstance(extra, dict)
                or not extra.keys() <= PAYLOAD_FIELDS
            ):
                raise TypeError  # noqa: TRY301  (handled just below, like malformed JSON)
            fields.pop("birth_date", None)
            fields.pop("keys_indexed", None)
            fields.pop("import_digest", None)
            source_uid = fields.pop("source_uid", _ABSENT)
            fields.update(extra)
            contact = Contact.model_validate_json(json.dumps(fields))
        except (ValueError, TypeError, AuthenticationFailed):  # ValidationError, JSONDecodeError: ValueError
            raise VaultCorrupted("a contact record does not hold a valid contact") from None
        if contact.id.bytes != row.id or contact.version != row.version:
            raise VaultCorrupted("a contact record belongs to another contact or version")
        # Directories written before UIDs moved there have none; later ones must agree with the payload.
        if source_uid is not _ABSENT and source_uid != (contact.source.uid if contact.source else None):
            raise VaultCorrupted("a contact's directory and payload disagree")
        return contact

    def tombstone(self, row: Row) -> Tombstone:
        """What an erased contact's tombstone says."""
        plain = self._open(self._keys.tombstone, row.directory, row.id, RecordKind.TOMBSTONE, row.version)
        try:
            body = json.loads(unpack(plain))
            merged = body.get("merged_into")
            return Tombstone(
                erased_at=datetime.fromisoformat(body["erased_at"]),
                merged_into=uuid.UUID(merged) if merged is not None else None,
            )
        except (AuthenticationFailed, ValueError, KeyError, TypeError, AttributeError):
            raise VaultCorrupted("a tombstone is malformed") from None
