r"""The vault header: format version, ids, the key slots (one per user, service and recovery key), and MACs.

A header of **format 2** (big-endian; ``docs/format.md`` draws it too)::

    size  field
       8  magic  b"CTVAULT\\0"
       2  format version (2)
       1  cipher (1 = AES-256-GCM)
       1  KDF (1 = Argon2id)
      16  vault id (random)
       1  flags: 1 = a keyring follows, 2 = an unfinished re-key's marker follows
     156  (flag 1) the keyring (index, book, log and tombstone keys) sealed under the master key
      68  (flag 2) the new master key of an unfinished re-key and its time, sealed under the current one
       1  (flag 4) number of re-key links, then each (160 bytes): the old master key's fingerprint, the
          new one's fingerprint and Ed25519 public key, signed with the old one's Ed25519 key (64)
       1  number of key slots (1 to 255), then each slot:
            1  kind: 1 = a person (passphrase), 2 = a service (random key), 3 = the recovery key;
               0x81 = a person's slot carried over from format 1 (no key pair, until they next open it)
            1  length of the slot's name (1 to 64), then the name (UTF-8)
           28  (person) Argon2id memory KiB, iterations, lanes (4 bytes each) and salt (16)
           32  key-check value of the slot's KEK
          244  (person, service) X25519 public key (32), private key wrapped by the KEK (60), master key
               sealed to the public key (92), the master key the slot last accepted wrapped by the KEK (60)
           60  (recovery key, 0x81) master key wrapped by the KEK
      32  HMAC-SHA256 of everything above, keyed by the master key's header subkey
      32  SHA-256 of everything above (unkeyed: tells a damaged header from a wrong passphrase)

A header of **format 1** (vaults made before key slots per person) has one passphrase slot and an optional
recovery slot, each the master key wrapped directly by a KEK; it is read as a header with a person named
``owner`` (and the recovery key), and written as format 2 the first time the header changes.

The unkeyed checksum is read first, so that damage is reported as damage before any key is derived; the
keyed MAC, checked once the master key is unwrapped, is what stops deliberate changes: a slot added,
removed or swapped, a KDF downgraded, a wrap replaced.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import Final, Self

from contactvault.crypto import KEY_SIZE, NONCE_SIZE, TAG_SIZE, KdfParams
from contactvault.errors import KdfLimitExceeded, UnsupportedFormat, VaultCorrupted

__all__ = [
    "FORMAT_VERSION",
    "LINK_SIZE",
    "MAGIC",
    "OWNER",
    "RECOVERY",
    "Header",
    "Slot",
    "SlotKind",
    "check_name",
]

MAGIC: Final = b"CTVAULT\x00"
FORMAT_VERSION: Final = 2
CIPHER_AES_256_GCM: Final = 1
KDF_ARGON2ID: Final = 1

OWNER: Final = "owner"
"""The name of the one person of a vault made without a user name (and of a format-1 vault's passphrase)."""
RECOVERY: Final = "recovery key"
"""The name of the recovery key's slot."""

_V1 = struct.Struct(">8sHBBIII16s16s")
_V2 = struct.Struct(">8sHBB16sB")
_KDF = struct.Struct(">III16s")
_KCV = 32
_WRAP = NONCE_SIZE + KEY_SIZE + TAG_SIZE  # 60: a 32-byte key sealed
_BOX = KEY_SIZE + _WRAP  # 92: a 32-byte key sealed to a public key
_KEYRING = NONCE_SIZE + 4 * KEY_SIZE + TAG_SIZE  # 156
_PENDING = NONCE_SIZE + KEY_SIZE + 8 + TAG_SIZE  # 68: a new master key and a time, sealed
_HASH = 32
_MAX_NAME = 64
_FLAG_KEYRING = 1
_FLAG_PENDING = 2
_FLAG_LINKS = 4
LINK_SIZE: Final = 3 * KEY_SIZE + 64
"""A re-key's link: the old and new master keys' fingerprints, the new one's signing key, the signature."""
_DIRECT = 0x80  # in a slot's kind: a format-1 passphrase slot, the master key wrapped by the KEK itself


class SlotKind(IntEnum):
    """Who a key slot belongs to."""

    PERSON = 1
    SERVICE = 2
    RECOVERY = 3


def check_name(name: str) -> str:
    """``name`` if it can name a user or service: 1 to 64 bytes of UTF-8, printable, no surrounding space."""
    if not isinstance(name, str):
        raise TypeError("a user name is a str")
    size = len(name.encode("utf-8", "surrogatepass"))
    if not 1 <= size <= _MAX_NAME or name != name.strip() or not name.isprintable():
        raise ValueError("a user name is 1 to 64 bytes of printable text without leading or trailing spaces")
    if name == RECOVERY:
        raise ValueError(f"{RECOVERY!r} is the recovery key's slot, not a user name")
    return name


@dataclass(frozen=True, slots=True)
class Slot:
    """One way into the vault: a person's passphrase, a service's random key, or the recovery key.

    ``wrapped`` is the slot's X25519 private key wrapped by its KEK, and ``sealed_master`` the master key
    sealed to ``public_key``. A slot without a public key (the recovery key; a format-1 vault's passphrase)
    wraps the master key itself in ``wrapped``.
    """

    kind: SlotKind
    name: str
    key_check: bytes
    wrapped: bytes
    kdf: KdfParams | None = None
    salt: bytes = b""
    public_key: bytes = b""
    sealed_master: bytes = field(default=b"", repr=False)
    trusted: bytes = field(default=b"", repr=False)
    """The master key this slot last accepted, wrapped by its KEK: a new one is taken only along the links."""

    def pack(self) -> bytes:
        """The slot's bytes in format 2."""
        name = self.name.encode("utf-8", "surrogatepass")
        direct = not self.public_key and self.kind != SlotKind.RECOVERY
        out = bytes((self.kind | (_DIRECT if direct else 0), len(name))) + name
        if self.kind == SlotKind.PERSON:
            if self.kdf is None:
                raise ValueError("a person's slot has KDF parameters")
            out += _KDF.pack(self.kdf.memory_kib, self.kdf.iterations, self.kdf.lanes, self.salt)
        out += self.key_check
        if self.kind == SlotKind.RECOVERY or direct:
            if len(self.wrapped) != _WRAP or self.public_key:
                raise ValueError("malformed key slot")
            return out + self.wrapped
        sizes = (len(self.public_key), len(self.wrapped), len(self.sealed_master), len(self.trusted))
        if sizes != (KEY_SIZE, _WRAP, _BOX, _WRAP):
            raise ValueError("malformed key slot")
        return out + self.public_key + self.wrapped + self.sealed_master + self.trusted


@dataclass(frozen=True, slots=True)
class Header:
    """The parsed header of a vault: its id, key slots, keyring, re-key marker and MAC."""

    vault_id: bytes
    slots: tuple[Slot, ...]
    keyring: bytes = field(default=b"", repr=False)
    pending: bytes = field(default=b"", repr=False)
    links: tuple[bytes, ...] = field(default=(), repr=False)
    version: int = FORMAT_VERSION
    mac: bytes = field(default=b"", repr=False)

    def slot(self, name: str) -> Slot | None:
        """The slot called ``name``, if any."""
        return next((s for s in self.slots if s.name == name), None)

    def users(self) -> tuple[Slot, ...]:
        """The slots of people and services (not the recovery key)."""
        return tuple(s for s in self.slots if s.kind != SlotKind.RECOVERY)

    @property
    def recovery(self) -> Slot | None:
        """The recovery key's slot, if the vault has one."""
        return next((s for s in self.slots if s.kind == SlotKind.RECOVERY), None)

    def body(self) -> bytes:
        """Everything the MAC covers."""
        if self.version == 1:
            return self._body_v1()
        if not 1 <= len(self.slots) <= 255 or len({s.name for s in self.slots}) != len(self.slots):
            raise ValueError("a header has 1 to 255 key slots with distinct names")
        flags = (
            (_FLAG_KEYRING if self.keyring else 0)
            | (_FLAG_PENDING if self.pending else 0)
            | (_FLAG_LINKS if self.links else 0)
        )
        out = _V2.pack(MAGIC, FORMAT_VERSION, CIPHER_AES_256_GCM, KDF_ARGON2ID, self.vault_id, flags)
        if (self.keyring and len(self.keyring) != _KEYRING) or (
            self.pending and len(self.pending) != _PENDING
        ):
            raise ValueError("malformed keyring or re-key marker")
        if len(self.links) > 255 or any(len(link) != LINK_SIZE for link in self.links):
            raise ValueError("malformed re-key links")
        links = bytes((len(self.links),)) + b"".join(self.links) if self.links else b""
        out += self.keyring + self.pending + links + bytes((len(self.slots),))
        return out + b"".join(s.pack() for s in self.slots)

    def _body_v1(self) -> bytes:
        person, recovery = self.slots[0], self.recovery
        if person.kdf is None:  # pragma: no cover (a format-1 header is only ever parsed)
            raise ValueError("a format-1 header has KDF parameters")
        fixed = _V1.pack(
            MAGIC,
            1,
            CIPHER_AES_256_GCM,
            KDF_ARGON2ID,
            person.kdf.memory_kib,
            person.kdf.iterations,
            person.kdf.lanes,
            person.salt,
            self.vault_id,
        )
        rest = b"\x01" + recovery.key_check + recovery.wrapped if recovery else b"\x00"
        return fixed + person.key_check + person.wrapped + rest

    def with_mac(self, mac: bytes) -> Header:
        """A copy carrying ``mac``."""
        return replace(self, mac=mac)

    def changed(self, **fields: object) -> Header:
        """A format-2 copy with ``fields`` replaced and no MAC yet (sign it again)."""
        return replace(self, version=FORMAT_VERSION, mac=b"", **fields)  # type: ignore[arg-type]

    def pack(self) -> bytes:
        """The header's bytes, MAC and checksum included."""
        if len(self.mac) != _HASH:
            raise ValueError("the header has no MAC yet")
        data = self.body() + self.mac
        return data + hashlib.sha256(data).digest()

    @classmethod
    def unpack(cls, data: bytes) -> Self:
        """Parse a header. Checks shape and checksum only; the caller checks the MAC once it has the key.

        Raises ``VaultCorrupted`` for a damaged header, ``UnsupportedFormat`` for an intact one this version
        cannot read, and ``KdfLimitExceeded`` for KDF parameters above the cap (before anything is derived).
        """
        if len(data) < 12 + 2 * _HASH:
            raise VaultCorrupted("the vault header is truncated")
        if hashlib.sha256(data[:-_HASH]).digest() != data[-_HASH:]:
            raise VaultCorrupted("the vault header is damaged (checksum mismatch)")
        magic, version, cipher, kdf = struct.unpack_from(">8sHBB", data)
        if magic != MAGIC:
            raise UnsupportedFormat("not a contactvault vault")
        if version not in (1, FORMAT_VERSION):
            raise UnsupportedFormat(
                f"vault format version {version}; this version of contactvault reads versions 1 and "
                f"{FORMAT_VERSION}"
            )
        if cipher != CIPHER_AES_256_GCM or kdf != KDF_ARGON2ID:
            raise UnsupportedFormat(f"unknown cipher ({cipher}) or KDF ({kdf}) in the vault header")
        body, mac = data[: -2 * _HASH], data[-2 * _HASH : -_HASH]
        header = _parse_v1(body) if version == 1 else _Reader(body).header()
        return cls(header.vault_id, header.slots, header.keyring, header.pending, header.links, version, mac)


def _kdf(memory: int, iterations: int, lanes: int) -> KdfParams:
    try:
        return KdfParams(memory_kib=memory, iterations=iterations, lanes=lanes)
    except KdfLimitExceeded:
        raise
    except ValueError:
        raise VaultCorrupted("the vault header has impossible KDF parameters") from None


def _parse_v1(body: bytes) -> Header:
    if len(body) < _V1.size:
        raise VaultCorrupted("the vault header is truncated")
    _, _, _, _, memory, iterations, lanes, salt, vault_id = _V1.unpack_from(body)
    rest = body[_V1.size :]
    slot = _KCV + _WRAP
    has_recovery = len(rest) == 2 * slot + 1 and rest[slot] == 1
    if not has_recovery and not (len(rest) == slot + 1 and rest[slot] == 0):
        raise VaultCorrupted("the vault header has the wrong length")
    params = _kdf(memory, iterations, lanes)
    person = Slot(SlotKind.PERSON, OWNER, rest[:_KCV], rest[_KCV:slot], kdf=params, salt=salt)
    slots = [person]
    if has_recovery:
        slots.append(
            Slot(SlotKind.RECOVERY, RECOVERY, rest[slot + 1 : slot + 1 + _KCV], rest[slot + 1 + _KCV :])
        )
    return Header(vault_id, tuple(slots), version=1)


class _Reader:
    """Reads a format-2 header body; any shape error is ``VaultCorrupted``."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._at = 0

    def take(self, size: int) -> bytes:
        end = self._at + size
        if end > len(self._data):
            raise VaultCorrupted("the vault header is truncated or malformed")
        chunk, self._at = self._data[self._at : end], end
        return chunk

    def header(self) -> Header:
        _, _, _, _, vault_id, flags = _V2.unpack(self.take(_V2.size))
        if flags & ~(_FLAG_KEYRING | _FLAG_PENDING | _FLAG_LINKS):
            raise VaultCorrupted("the vault header has unknown flags")
        keyring = self.take(_KEYRING) if flags & _FLAG_KEYRING else b""
        pending = self.take(_PENDING) if flags & _FLAG_PENDING else b""
        links: tuple[bytes, ...] = ()
        if flags & _FLAG_LINKS:
            links = tuple(self.take(LINK_SIZE) for _ in range(self.take(1)[0]))
        count = self.take(1)[0]
        slots = tuple(self.slot() for _ in range(count))
        if self._at != len(self._data):
            raise VaultCorrupted("the vault header has the wrong length")
        if not slots or len({s.name for s in slots}) != len(slots):
            raise VaultCorrupted("the vault header's key slots are malformed")
        if sum(s.kind == SlotKind.RECOVERY for s in slots) > 1 or not any(
            s.kind != SlotKind.RECOVERY for s in slots
        ):
            raise VaultCorrupted("the vault header's key slots are malformed")
        return Header(vault_id, slots, keyring, pending, links)

    def slot(self) -> Slot:
        kind_byte, size = self.take(2)
        direct = bool(kind_byte & _DIRECT)
        try:
            kind = SlotKind(kind_byte & ~_DIRECT)
            name = self.take(size).decode("utf-8")
        except ValueError:
            raise VaultCorrupted("a key slot in the vault header is malformed") from None
        if (
            not 1 <= size <= _MAX_NAME
            or (kind == SlotKind.RECOVERY) != (name == RECOVERY)
            or (direct and kind != SlotKind.PERSON)
        ):
            raise VaultCorrupted("a key slot in the vault header is malformed")
        params, salt = None, b""
        if kind == SlotKind.PERSON:
            memory, iterations, lanes, salt = _KDF.unpack(self.take(_KDF.size))
            params = _kdf(memory, iterations, lanes)
        key_check = self.take(_KCV)
        if kind == SlotKind.RECOVERY or direct:
            return Slot(kind, name, key_check, self.take(_WRAP), params, salt)
        public, wrapped, sealed = self.take(KEY_SIZE), self.take(_WRAP), self.take(_BOX)
        return Slot(kind, name, key_check, wrapped, params, salt, public, sealed, self.take(_WRAP))
