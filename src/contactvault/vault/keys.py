"""Key slots: one per person, service and recovery key; unlocking; the keyring, the re-key marker, the MAC.

A **person** types a passphrase, stretched by Argon2id (parameters and salt in the slot) into a
key-encryption key (KEK); a **service** holds 256 random bits (a key file or an environment variable) and
the **recovery key** too, both put through HKDF. A person's or service's KEK wraps the slot's X25519
private key, and the vault's master key is sealed to the slot's public key: whoever holds the master key
can seal a new one to every remaining slot (``resealed``, used by a re-key) without their passphrases.
The recovery key's KEK wraps the master key directly; a re-key makes a new recovery key.

A key-check value derived from the KEK tells a wrong passphrase from a damaged wrap. The header's MAC,
under a subkey of the master key, covers every slot, so a slot cannot be added, removed or swapped without
the master key.
"""

from __future__ import annotations

import hashlib
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from contactvault import crypto, kdf_ahead
from contactvault.crypto import AuthenticationFailed, KdfParams, Keys, RecordKind
from contactvault.errors import UnknownUser, VaultCorrupted, WrongPassphrase
from contactvault.vault.header import RECOVERY, Header, Slot, SlotKind, check_name

__all__ = [
    "KdfGuard",
    "Unlock",
    "Unlocked",
    "check_mac",
    "check_passphrase",
    "follow_links",
    "keys_for",
    "make_link",
    "new_recovery_slot",
    "opening_slot",
    "passphrase_unlock",
    "pending_master",
    "person_slot",
    "recovery_unlock",
    "resealed",
    "sealed_keyring",
    "sealed_pending",
    "service_slot",
    "service_unlock",
    "signed",
    "slot_master",
]


@dataclass(frozen=True, slots=True)
class Unlocked:
    """What unlocking a slot gives: the master key, who opened it, and the slot's private key.

    The private key (``None`` for the recovery key and a format-1 passphrase) lets an open vault follow a
    re-key made by another process: it opens the new master key sealed to its slot.
    """

    master: bytes
    slot: str
    kind: SlotKind
    private_key: bytes | None
    opened: Slot | None = None
    """The slot as it was found (``None`` for the recovery key)."""
    upgrade: Slot | None = None
    """The slot to store in place of ``opened``: a format-1 passphrase slot with a key pair of its own,
    or a slot that now trusts the master key a re-key sealed to it."""

    def __repr__(self) -> str:
        return f"Unlocked(slot={self.slot!r}, kind={self.kind.name})"


Unlock = Callable[[Header], Unlocked]
"""Unwraps the master key from a parsed header, or raises ``WrongPassphrase`` / ``UnknownUser``."""

KdfGuard = Callable[[Header, str, Slot | None], None]
"""Called with the person's name and slot (``None``: not in the header) before anything is derived: the
client's memory of the slots it opened and their KDF settings."""


def check_passphrase(passphrase: str | bytes) -> None:
    """``TypeError`` unless a str or bytes; ``ValueError`` if empty (never echoing it)."""
    if not isinstance(passphrase, str | bytes):
        raise TypeError("the passphrase must be str or bytes")
    if not passphrase:
        raise ValueError("the passphrase must not be empty")


def _legacy_ad(vault_id: bytes, kind: int) -> bytes:
    # Format 1's direct wraps (and every recovery slot): bound to the vault and the kind of wrap.
    return crypto.associated_data(vault_id, vault_id, kind, 1)


def _slot_ad(vault_id: bytes, name: str, kind: int) -> bytes:
    # A slot's private key and sealed master key are bound to the vault and the slot's name.
    record = hashlib.sha256(name.encode("utf-8", "surrogatepass")).digest()[:16]
    return crypto.associated_data(vault_id, record, kind, 2)


def _paired(
    kind: SlotKind,
    name: str,
    kek: bytes,
    master: bytes,
    vault_id: bytes,
    *,
    kdf: KdfParams | None = None,
    salt: bytes = b"",
) -> tuple[Slot, bytes]:
    private, public = crypto.new_key_pair()
    slot = Slot(
        kind,
        name,
        key_check=crypto.key_check_value(kek),
        wrapped=crypto.seal(kek, private, _slot_ad(vault_id, name, RecordKind.SLOT_PRIVATE_KEY)),
        public_key=public,
        sealed_master=crypto.seal_to(public, master, _slot_ad(vault_id, name, RecordKind.SLOT_MASTER_KEY)),
        trusted=_trusted(kek, master, vault_id, name),
        kdf=kdf,
        salt=salt,
    )
    return slot, private


def _trusted(kek: bytes, master: bytes, vault_id: bytes, name: str) -> bytes:
    return crypto.seal(kek, master, _slot_ad(vault_id, name, RecordKind.SLOT_TRUSTED_MASTER_KEY))


def person_slot(
    name: str, passphrase: str | bytes, kdf: KdfParams, master: bytes, vault_id: bytes
) -> tuple[Slot, bytes]:
    """A person's slot for ``passphrase`` (a fresh salt and key pair) and its private key."""
    check_name(name)
    check_passphrase(passphrase)
    salt = crypto.random_bytes(crypto.SALT_SIZE)
    kek = crypto.derive_kek(passphrase, salt, kdf)
    return _paired(SlotKind.PERSON, name, kek, master, vault_id, kdf=kdf, salt=salt)


def service_slot(name: str, master: bytes, vault_id: bytes) -> tuple[Slot, str]:
    """A service's slot and its new random key, as text (``cvsk-...``) to keep in a file or variable."""
    check_name(name)
    secret = crypto.random_bytes()
    slot, _ = _paired(SlotKind.SERVICE, name, crypto.service_kek(secret, vault_id, name), master, vault_id)
    return slot, crypto.format_service_key(secret)


def new_recovery_slot(master: bytes, vault_id: bytes) -> tuple[Slot, str]:
    """A recovery slot with a new recovery key, and that key as shown to the user (once)."""
    secret = crypto.random_bytes()
    kek = crypto.recovery_kek(secret, vault_id)
    wrapped = crypto.seal(kek, master, _legacy_ad(vault_id, RecordKind.RECOVERY_WRAP))
    slot = Slot(SlotKind.RECOVERY, RECOVERY, crypto.key_check_value(kek), wrapped)
    return slot, crypto.format_recovery_key(secret)


def resealed(slot: Slot, master: bytes, vault_id: bytes) -> Slot:
    """``slot`` with ``master`` sealed to its public key instead (``ValueError`` for a slot without one)."""
    if not slot.public_key:
        raise ValueError(f"the key slot {slot.name!r} has no public key")
    ad = _slot_ad(vault_id, slot.name, RecordKind.SLOT_MASTER_KEY)
    return replace(slot, sealed_master=crypto.seal_to(slot.public_key, master, ad))


def _master(slot: Slot, kek: bytes, header: Header, what: str) -> Unlocked:
    """Open ``slot`` with ``kek``: ``WrongPassphrase`` for a wrong KEK, ``VaultCorrupted`` for a bad wrap.

    A slot with a key pair takes the master key sealed to it only if it is the one the slot trusts, or
    one the re-key links lead to from it (then the slot is to trust it from now on: ``upgrade``).
    """
    vault_id = header.vault_id
    if not crypto.macs_equal(crypto.key_check_value(kek), slot.key_check):
        raise WrongPassphrase(f"wrong {what}")
    private: bytes | None = None
    try:
        if slot.public_key:
            private = crypto.open_sealed(
                kek, slot.wrapped, _slot_ad(vault_id, slot.name, RecordKind.SLOT_PRIVATE_KEY)
            )
            master = slot_master(slot, private, vault_id)
            trusted = crypto.open_sealed(
                kek, slot.trusted, _slot_ad(vault_id, slot.name, RecordKind.SLOT_TRUSTED_MASTER_KEY)
            )
        else:
            kind = RecordKind.RECOVERY_WRAP if slot.kind == SlotKind.RECOVERY else RecordKind.MASTER_KEY_WRAP
            master = trusted = crypto.open_sealed(kek, slot.wrapped, _legacy_ad(vault_id, kind))
    except AuthenticationFailed:
        raise VaultCorrupted("the key is right but the key slot's wrapped keys are damaged") from None
    if len(master) != crypto.KEY_SIZE or len(trusted) != crypto.KEY_SIZE:
        raise VaultCorrupted("the wrapped master key has the wrong length")
    if slot.kind == SlotKind.RECOVERY:
        return Unlocked(master, slot.name, slot.kind, None)
    if not slot.public_key:
        # A format-1 passphrase slot: the same KEK (salt and KDF kept) now wraps a key pair of its own.
        upgrade, private = _paired(slot.kind, slot.name, kek, master, vault_id, kdf=slot.kdf, salt=slot.salt)
        return Unlocked(master, slot.name, slot.kind, private, slot, upgrade)
    if crypto.macs_equal(master, trusted):
        return Unlocked(master, slot.name, slot.kind, private, slot)
    follow_links(header, trusted, master)
    upgrade = replace(slot, trusted=_trusted(kek, master, vault_id, slot.name))
    return Unlocked(master, slot.name, slot.kind, private, slot, upgrade)


def _link_message(vault_id: bytes, link: bytes) -> bytes:
    return b"contactvault/v1/rekey-link" + vault_id + link[: 3 * crypto.KEY_SIZE]


def make_link(old_master: bytes, new_master: bytes, vault_id: bytes) -> bytes:
    """A re-key's link from ``old_master`` to ``new_master``, signed with the old one's Ed25519 key."""
    body = (
        crypto.master_fingerprint(old_master)
        + crypto.master_fingerprint(new_master)
        + crypto.link_public_key(new_master)
    )
    return body + crypto.link_sign(old_master, _link_message(vault_id, body))


def follow_links(header: Header, trusted: bytes, master: bytes) -> None:
    """``VaultCorrupted`` unless the header's re-key links lead from ``trusted`` to ``master``.

    Anyone can seal a master key to a slot's public key; only a holder of a master key the slot trusted
    can sign the link to the next one.
    """
    size = crypto.KEY_SIZE
    fingerprint, public = crypto.master_fingerprint(trusted), crypto.link_public_key(trusted)
    target = crypto.master_fingerprint(master) + crypto.link_public_key(master)
    for link in header.links:
        if link[:size] != fingerprint:
            continue
        if not crypto.link_verify(public, link[3 * size :], _link_message(header.vault_id, link)):
            raise VaultCorrupted("a re-key link in the vault header fails its signature")
        fingerprint, public = link[size : 2 * size], link[2 * size : 3 * size]
        if fingerprint + public == target:
            return
    raise VaultCorrupted(
        "the master key sealed to this key slot is neither the one it trusts nor reached from it by a "
        "signed re-key: the vault header was tampered with"
    )


def slot_master(slot: Slot, private_key: bytes, vault_id: bytes) -> bytes:
    """The master key sealed to ``slot``, opened with its private key; ``AuthenticationFailed`` if not."""
    ad = _slot_ad(vault_id, slot.name, RecordKind.SLOT_MASTER_KEY)
    return crypto.open_from(private_key, slot.sealed_master, ad)


def _person(header: Header, user: str | None, guard: KdfGuard | None) -> Slot:
    people = [s for s in header.slots if s.kind == SlotKind.PERSON]
    if user is None:
        if len(people) == 1:
            return people[0]
        if not people:
            raise UnknownUser(
                "this vault has no person's key slot: open it with a service key or the recovery key"
            )
        raise UnknownUser(
            f"this vault has {len(people)} users: say which one you are "
            "(user=..., --user or CONTACTVAULT_USER)"
        )
    slot = header.slot(user)
    if guard is not None:
        guard(header, user, slot)
    if slot is None or slot.kind != SlotKind.PERSON:
        raise UnknownUser(f"this vault has no user {user!r} (removed, or never added)")
    return slot


def passphrase_unlock(
    passphrase: str | bytes, user: str | None = None, guard: KdfGuard | None = None
) -> Unlock:
    """An ``Unlock`` for a person: their slot (the only one if ``user`` is ``None``), one Argon2id run.

    ``guard`` sees the slot before anything is derived (the client's memory of its KDF settings).
    """
    check_passphrase(passphrase)

    def unlock(header: Header) -> Unlocked:
        slot, kdf = opening_slot(header, user, guard)
        kek = kdf_ahead.take(passphrase, slot.salt, kdf) or crypto.derive_kek(passphrase, slot.salt, kdf)
        return _master(slot, kek, header, "passphrase")

    return unlock


def opening_slot(header: Header, user: str | None, guard: KdfGuard | None) -> tuple[Slot, KdfParams]:
    """The slot a passphrase of ``user`` opens (the only person's if ``None``) and its KDF parameters.

    ``guard`` sees the slot first: what it refuses is never derived.
    """
    slot = _person(header, user, guard)
    if guard is not None and user is None:
        guard(header, slot.name, slot)
    if slot.kdf is None:  # pragma: no cover (a person's slot always has them: the parser makes sure)
        raise VaultCorrupted("a person's key slot has no KDF parameters")
    return slot, slot.kdf


def service_unlock(service_key: str) -> Unlock:
    """An ``Unlock`` for a service's key (``cvsk-...``): the slot whose key-check value it matches."""

    def unlock(header: Header) -> Unlocked:
        secret = crypto.parse_service_key(service_key)
        if secret is None:
            raise WrongPassphrase("that is not a service key (cvsk- and 43 characters)")
        for slot in header.slots:
            if slot.kind == SlotKind.SERVICE:
                kek = crypto.service_kek(secret, header.vault_id, slot.name)
                if crypto.macs_equal(crypto.key_check_value(kek), slot.key_check):
                    return _master(slot, kek, header, "service key")
        raise WrongPassphrase(
            "that service key opens no key slot of this vault (removed, or another vault's)"
        )

    return unlock


def recovery_unlock(recovery_key: str) -> Unlock:
    """An ``Unlock`` for the recovery key as shown at creation (case, spaces and dashes ignored)."""

    def unlock(header: Header) -> Unlocked:
        secret = crypto.parse_recovery_key(recovery_key)
        if secret is None:
            raise WrongPassphrase("that is not a recovery key (52 letters and digits in groups of four)")
        slot = header.recovery
        if slot is None:
            raise WrongPassphrase("this vault has no recovery key")
        return _master(slot, crypto.recovery_kek(secret, header.vault_id), header, "recovery key")

    return unlock


def _keyring_ad(vault_id: bytes, kind: int) -> bytes:
    return crypto.associated_data(vault_id, vault_id, kind, 2)


def keys_for(header: Header, master: bytes) -> Keys:
    """The vault's keys: subkeys of ``master``, and the keyring sealed in the header (if it was re-keyed)."""
    keys = Keys(master)
    if not header.keyring:
        return keys
    try:
        ring = crypto.open_sealed(
            keys.keyring_wrap, header.keyring, _keyring_ad(header.vault_id, RecordKind.KEYRING)
        )
    except AuthenticationFailed:
        raise VaultCorrupted("the vault header's keyring fails authentication") from None
    if len(ring) != crypto.KEYRING_SIZE:
        raise VaultCorrupted("the vault header's keyring has the wrong length")
    return Keys(master, ring)


def sealed_keyring(keys: Keys, vault_id: bytes) -> bytes:
    """``keys``' keyring sealed under their master key, for the header."""
    return crypto.seal(keys.keyring_wrap, keys.keyring, _keyring_ad(vault_id, RecordKind.KEYRING))


def sealed_pending(keys: Keys, vault_id: bytes, new_master: bytes) -> bytes:
    """The re-key marker: ``new_master`` and the time, sealed under the current master key, for the header."""
    plain = new_master + struct.pack(">Q", int(time.time()))
    return crypto.seal(keys.pending, plain, _keyring_ad(vault_id, RecordKind.PENDING_MASTER_KEY))


def pending_master(header: Header, keys: Keys) -> tuple[bytes, int]:
    """The new master key an unfinished re-key left in the header, and when (Unix time).

    ``VaultCorrupted`` if the marker fails authentication.
    """
    try:
        plain = crypto.open_sealed(
            keys.pending, header.pending, _keyring_ad(header.vault_id, RecordKind.PENDING_MASTER_KEY)
        )
    except AuthenticationFailed:
        raise VaultCorrupted("the vault header's re-key marker fails authentication") from None
    if len(plain) != crypto.KEY_SIZE + 8:
        raise VaultCorrupted("the vault header's re-key marker has the wrong length")
    return plain[: crypto.KEY_SIZE], struct.unpack(">Q", plain[crypto.KEY_SIZE :])[0]


def signed(header: Header, keys: Keys) -> Header:
    """``header`` with its MAC under the master key's header subkey."""
    return header.with_mac(crypto.mac(keys.header, header.body()))


def check_mac(header: Header, keys: Keys) -> None:
    """``VaultCorrupted`` unless the header's MAC verifies (KDF parameters or key slots changed)."""
    if not crypto.macs_equal(crypto.mac(keys.header, header.body()), header.mac):
        raise VaultCorrupted("the vault header fails its MAC (key slots, KDF parameters or keys changed)")
