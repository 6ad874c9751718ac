"""Key slots: the master key wrapped by a passphrase's KEK or by the recovery key, and the header's MAC.

A passphrase is stretched by Argon2id (parameters in the header) into a key-encryption key (KEK); the
recovery key, already 256 random bits, goes through HKDF. Each KEK wraps the same random master key; a
key-check value derived from the KEK tells a wrong passphrase from a damaged wrap. The header's MAC, under a
subkey of the master key, covers everything in the header, so a slot cannot be added, removed or swapped
without the master key.
"""

from __future__ import annotations

from collections.abc import Callable

from contactvault import crypto
from contactvault.crypto import AuthenticationFailed, Keys, RecordKind
from contactvault.errors import VaultCorrupted, WrongPassphrase
from contactvault.vault.header import FORMAT_VERSION, Header, KeySlot

__all__ = ["Unlock", "check_passphrase", "make_slot", "passphrase_unlock", "recovery_unlock", "signed"]

Unlock = Callable[[Header], bytes]
"""Unwraps the master key from a parsed header, or raises ``WrongPassphrase``."""


def check_passphrase(passphrase: str | bytes) -> None:
    """``TypeError`` unless a str or bytes; ``ValueError`` if empty (never echoing it)."""
    if not isinstance(passphrase, str | bytes):
        raise TypeError("the passphrase must be str or bytes")
    if not passphrase:
        raise ValueError("the passphrase must not be empty")


def _ad(vault_id: bytes, kind: int) -> bytes:
    # The slot's version is the format version it was made under; it stays 1 for slots of format 1.
    return crypto.associated_data(vault_id, vault_id, kind, FORMAT_VERSION)


def make_slot(kek: bytes, master: bytes, vault_id: bytes, kind: int) -> KeySlot:
    """Wrap ``master`` under ``kek``: a key slot of ``kind`` (passphrase or recovery)."""
    wrapped = crypto.seal(kek, master, _ad(vault_id, kind))
    return KeySlot(key_check=crypto.key_check_value(kek), wrapped_master_key=wrapped)


def unwrap(slot: KeySlot, kek: bytes, vault_id: bytes, kind: int) -> bytes:
    """The master key from ``slot``: ``WrongPassphrase`` for a wrong KEK, ``VaultCorrupted`` for a bad one."""
    if not crypto.macs_equal(crypto.key_check_value(kek), slot.key_check):
        what = "passphrase" if kind == RecordKind.MASTER_KEY_WRAP else "recovery key"
        raise WrongPassphrase(f"wrong {what}")
    try:
        master = crypto.open_sealed(kek, slot.wrapped_master_key, _ad(vault_id, kind))
    except AuthenticationFailed:
        raise VaultCorrupted("the key is right but the wrapped master key is damaged") from None
    if len(master) != crypto.KEY_SIZE:
        raise VaultCorrupted("the wrapped master key has the wrong length")
    return master


def passphrase_unlock(passphrase: str | bytes) -> Unlock:
    """An ``Unlock`` that derives the KEK from ``passphrase`` (one Argon2id run)."""
    check_passphrase(passphrase)

    def unlock(header: Header) -> bytes:
        kek = crypto.derive_kek(passphrase, header.salt, header.kdf)
        return unwrap(header.passphrase_slot, kek, header.vault_id, RecordKind.MASTER_KEY_WRAP)

    return unlock


def recovery_unlock(recovery_key: str) -> Unlock:
    """An ``Unlock`` for the recovery key as shown at creation (case, spaces and dashes ignored)."""

    def unlock(header: Header) -> bytes:
        secret = crypto.parse_recovery_key(recovery_key)
        if secret is None:
            raise WrongPassphrase("that is not a recovery key (52 letters and digits in groups of four)")
        if header.recovery_slot is None:
            raise WrongPassphrase("this vault was created without a recovery key")
        kek = crypto.recovery_kek(secret, header.vault_id)
        return unwrap(header.recovery_slot, kek, header.vault_id, RecordKind.RECOVERY_WRAP)

    return unlock


def signed(header: Header, keys: Keys) -> Header:
    """``header`` with its MAC under the master key's header subkey."""
    return header.with_mac(crypto.mac(keys.header, header.body()))


def check_mac(header: Header, keys: Keys) -> None:
    """``VaultCorrupted`` unless the header's MAC verifies (KDF parameters or key slots changed)."""
    if not crypto.macs_equal(crypto.mac(keys.header, header.body()), header.mac):
        raise VaultCorrupted("the vault header fails its MAC (changed KDF parameters or key slots)")
