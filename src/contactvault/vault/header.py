r"""The vault header: format version, KDF parameters, ids and wrapped master keys, in a fixed binary layout.

Layout (big-endian; ``docs/format.md`` draws it too)::

    offset  size  field
         0     8  magic  b"CTVAULT\\0"
         8     2  format version (1)
        10     1  cipher (1 = AES-256-GCM)
        11     1  KDF (1 = Argon2id)
        12     4  Argon2id memory, KiB
        16     4  Argon2id iterations
        20     4  Argon2id lanes
        24    16  salt
        40    16  vault id (random)
        56    32  key-check value of the passphrase KEK
        88    60  master key wrapped by the passphrase KEK (nonce, ciphertext, tag)
       148     1  1 if a recovery key exists, else 0
       149    92  (only if 1) key-check value and master-key wrap of the recovery KEK
         .    32  HMAC-SHA256 of everything above, keyed by the master key's header subkey
         .    32  SHA-256 of everything above (unkeyed: tells a damaged header from a wrong passphrase)

The unkeyed checksum is read first, so that damage is reported as damage before any key is derived; the
keyed MAC, checked once the master key is unwrapped, is what stops deliberate changes (a downgrade of the KDF
parameters, a swapped wrap).
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, replace
from typing import Final, Self

from contactvault.crypto import KdfParams
from contactvault.errors import KdfLimitExceeded, UnsupportedFormat, VaultCorrupted

__all__ = ["FORMAT_VERSION", "MAGIC", "Header", "KeySlot"]

MAGIC: Final = b"CTVAULT\x00"
FORMAT_VERSION: Final = 1
CIPHER_AES_256_GCM: Final = 1
KDF_ARGON2ID: Final = 1

_FIXED = struct.Struct(">8sHBBIII16s16s")
_KCV = 32
_WRAP = 12 + 32 + 16
_SLOT = _KCV + _WRAP
_HASH = 32


@dataclass(frozen=True, slots=True)
class KeySlot:
    """One way into the vault: a key-check value and the master key wrapped by that KEK."""

    key_check: bytes
    wrapped_master_key: bytes

    def pack(self) -> bytes:
        """The slot's bytes."""
        if len(self.key_check) != _KCV or len(self.wrapped_master_key) != _WRAP:
            raise ValueError("malformed key slot")
        return self.key_check + self.wrapped_master_key

    @classmethod
    def unpack(cls, data: bytes) -> Self:
        """A slot from its bytes (length already checked)."""
        return cls(key_check=data[:_KCV], wrapped_master_key=data[_KCV:])


@dataclass(frozen=True, slots=True)
class Header:
    """The parsed header of a vault."""

    kdf: KdfParams
    salt: bytes
    vault_id: bytes
    passphrase_slot: KeySlot
    recovery_slot: KeySlot | None
    mac: bytes = b""

    def body(self) -> bytes:
        """Everything the MAC covers."""
        fixed = _FIXED.pack(
            MAGIC,
            FORMAT_VERSION,
            CIPHER_AES_256_GCM,
            KDF_ARGON2ID,
            self.kdf.memory_kib,
            self.kdf.iterations,
            self.kdf.lanes,
            self.salt,
            self.vault_id,
        )
        recovery = b"\x01" + self.recovery_slot.pack() if self.recovery_slot else b"\x00"
        return fixed + self.passphrase_slot.pack() + recovery

    def with_mac(self, mac: bytes) -> Header:
        """A copy carrying ``mac``."""
        return replace(self, mac=mac)

    def pack(self) -> bytes:
        """The header's bytes, MAC and checksum included."""
        if len(self.mac) != _HASH:
            raise ValueError("the header has no MAC yet")
        data = self.body() + self.mac
        return data + hashlib.sha256(data).digest()

    @classmethod
    def unpack(cls, data: bytes) -> Self:
        """Parse a header. Checks shape and checksum only; the caller checks the MAC once it has the key.

        Raises ``VaultCorrupted`` for a damaged header, ``UnsupportedFormat`` for an intact one
        this version cannot read, and ``KdfLimitExceeded`` for KDF parameters
        above the cap (before anything is derived).
        """
        if len(data) < _FIXED.size + _HASH:
            raise VaultCorrupted("the vault header is truncated")
        if hashlib.sha256(data[:-_HASH]).digest() != data[-_HASH:]:
            raise VaultCorrupted("the vault header is damaged (checksum mismatch)")
        magic, version, cipher, kdf, memory, iterations, lanes, salt, vault_id = _FIXED.unpack_from(data)
        if magic != MAGIC:
            raise UnsupportedFormat("not a contactvault vault")
        if version != FORMAT_VERSION:
            raise UnsupportedFormat(
                f"vault format version {version}; this version of contactvault reads version {FORMAT_VERSION}"
            )
        if cipher != CIPHER_AES_256_GCM or kdf != KDF_ARGON2ID:
            raise UnsupportedFormat(f"unknown cipher ({cipher}) or KDF ({kdf}) in the vault header")
        rest = data[_FIXED.size : -_HASH]
        has_recovery = len(rest) == _SLOT + 1 + _SLOT + _HASH and rest[_SLOT] == 1
        if not has_recovery and not (len(rest) == _SLOT + 1 + _HASH and rest[_SLOT] == 0):
            raise VaultCorrupted("the vault header has the wrong length")
        try:
            params = KdfParams(memory_kib=memory, iterations=iterations, lanes=lanes)
        except KdfLimitExceeded:
            raise
        except ValueError:
            raise VaultCorrupted("the vault header has impossible KDF parameters") from None
        recovery = KeySlot.unpack(rest[_SLOT + 1 : 2 * _SLOT + 1]) if has_recovery else None
        return cls(
            kdf=params,
            salt=salt,
            vault_id=vault_id,
            passphrase_slot=KeySlot.unpack(rest[:_SLOT]),
            recovery_slot=recovery,
            mac=rest[-_HASH:],
        )
