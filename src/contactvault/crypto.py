"""Every cryptographic operation of the vault, in one place.

This is the only module that imports ``cryptography.hazmat``; the rest of contactvault calls the small,
named functions below. The choices (see ``docs/format.md`` for the whole key hierarchy):

- Passphrase -> **Argon2id** (``KdfParams``, parameters stored in the vault header) -> a
  key-encryption key (KEK). Parameters above ``KDF_CAPS`` are refused before anything is derived, so
  that a crafted file cannot make us allocate gigabytes or spin for hours.
- The KEK wraps a random 256-bit **master key**; from the master key, **HKDF-SHA256** derives one subkey per
  purpose (``Keys``).
- Records are sealed with **AES-256-GCM**, a fresh random 96-bit nonce each time, and associated data that
  binds the vault, the contact, the kind of record and its version (``associated_data``).
- Plaintexts are padded (``pad``) to size buckets before sealing, so a ciphertext's length says little
  about what it holds.
- A **key-check value** derived from the KEK tells a wrong passphrase from a damaged file.
- Keyed **BLAKE2b** gives the blind index of phone numbers and the elements of the row-set digest.
- Each user's (and service's) key slot holds an **X25519** key pair: the private key wrapped by the slot's
  KEK, the master key sealed to the public key (``seal_to``). So anyone holding the master key can re-wrap a
  NEW master key for every remaining slot (``rekey``) without knowing their passphrases. Since anyone can
  seal to a public key, a slot also keeps the master key it last accepted, wrapped by its own KEK, and a
  new one is taken only along a chain of **Ed25519** signatures from it (``link_sign``): each re-key signs
  the new master key's fingerprint with a signing key derived from the old master key.

Nothing here logs, and no exception raised here carries key material or plaintext.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Self

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from contactvault.errors import KdfLimitExceeded

__all__ = [
    "KDF_CAPS",
    "KEYRING_SIZE",
    "KEY_SIZE",
    "NONCE_SIZE",
    "SALT_SIZE",
    "TAG_SIZE",
    "Aead",
    "AuthenticationFailed",
    "KdfCaps",
    "KdfParams",
    "Keys",
    "RecordKind",
    "associated_data",
    "contact_keys",
    "derive_kek",
    "format_recovery_key",
    "format_service_key",
    "key_check_value",
    "keyed_hash",
    "link_public_key",
    "link_sign",
    "link_verify",
    "mac",
    "macs_equal",
    "master_fingerprint",
    "new_key_pair",
    "open_from",
    "open_sealed",
    "pad",
    "padded_size",
    "parse_recovery_key",
    "parse_service_key",
    "random_bytes",
    "recovery_kek",
    "seal",
    "seal_to",
    "service_kek",
    "unpad",
]

KEY_SIZE: Final = 32
"""Every symmetric key is 256 bits."""
NONCE_SIZE: Final = 12
"""AES-GCM nonces are 96 bits, random for every encryption."""
TAG_SIZE: Final = 16
"""AES-GCM's authentication tag, at the end of every sealed blob."""
SALT_SIZE: Final = 16
"""The Argon2id salt."""

_LABEL: Final = b"contactvault/v1/"

Aead = AESGCM
"""An AEAD object with its key set up (AES-256-GCM); the vault keeps one per long-lived subkey."""


class AuthenticationFailed(Exception):
    """A sealed blob, a MAC or a padding did not verify. Internal: the vault turns it into a public error."""


@dataclass(frozen=True, slots=True)
class KdfCaps:
    """The largest Argon2id parameters a vault file may ask for (see ``KDF_CAPS``)."""

    max_memory_kib: int
    max_iterations: int
    max_lanes: int


KDF_CAPS: Final = KdfCaps(max_memory_kib=1024 * 1024, max_iterations=64, max_lanes=16)
"""Opening refuses a header whose Argon2id parameters exceed these: 1 GiB of memory, 64 iterations, 16 lanes.

The default (64 MiB, 3 iterations, 4 lanes) is far below; the caps only stop a crafted file from making the
reader allocate gigabytes or compute for hours before the passphrase is even checked.
"""


@dataclass(frozen=True, slots=True)
class KdfParams:
    """Argon2id parameters: memory in KiB, iterations (passes) and lanes (parallelism).

    Construct with ``default`` (64 MiB, 3 iterations, 4 lanes) for real vaults. Values above
    ``KDF_CAPS`` raise ``KdfLimitExceeded``; values Argon2 cannot use raise
    ``ValueError``.
    """

    memory_kib: int
    iterations: int
    lanes: int

    def __post_init__(self) -> None:
        for name in ("memory_kib", "iterations", "lanes"):
            value = getattr(self, name)
            if type(value) is not int or value < 1:
                raise ValueError(f"KDF parameter {name} must be a positive integer")
        if self.memory_kib < 8 * self.lanes:
            raise ValueError("KDF memory must be at least 8 KiB per lane")
        caps = KDF_CAPS
        if (
            self.memory_kib > caps.max_memory_kib
            or self.iterations > caps.max_iterations
            or self.lanes > caps.max_lanes
        ):
            raise KdfLimitExceeded(
                f"KDF parameters exceed the cap (memory {caps.max_memory_kib} KiB, "
                f"{caps.max_iterations} iterations, {caps.max_lanes} lanes)"
            )

    @classmethod
    def default(cls) -> Self:
        """The strong default: 64 MiB, 3 iterations, 4 lanes (about 0.1 to 0.5 s on a laptop)."""
        return cls(memory_kib=64 * 1024, iterations=3, lanes=4)

    @classmethod
    def insecure_fast_for_tests(cls) -> Self:
        """Tiny parameters (8 KiB, 1 iteration, 1 lane) that make tests fast. Never use them for real data."""
        return cls(memory_kib=8, iterations=1, lanes=1)


def random_bytes(size: int = KEY_SIZE) -> bytes:
    """``size`` bytes from the operating system's CSPRNG."""
    return os.urandom(size)


def _passphrase_bytes(passphrase: str | bytes) -> bytes:
    if isinstance(passphrase, bytes):
        return passphrase
    # NFC, so that the same passphrase typed on two systems (composed or decomposed accents) is the same key.
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


def derive_kek(passphrase: str | bytes, salt: bytes, params: KdfParams) -> bytes:
    """The key-encryption key: Argon2id of the passphrase (NFC-normalised UTF-8) with the vault's salt."""
    kdf = Argon2id(
        salt=salt,
        length=KEY_SIZE,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
    )
    return kdf.derive(_passphrase_bytes(passphrase))


def recovery_kek(recovery_key: bytes, vault_id: bytes) -> bytes:
    """The key-encryption key of a recovery key: HKDF, since the recovery key is already 256 random bits."""
    return _hkdf(recovery_key, b"recovery-kek", salt=vault_id)


def service_kek(service_key: bytes, vault_id: bytes, name: str) -> bytes:
    """The key-encryption key of a service's random key: HKDF, bound to the vault and the slot's name."""
    return _hkdf(service_key, b"service-kek/" + name.encode("utf-8"), salt=vault_id)


def new_key_pair() -> tuple[bytes, bytes]:
    """A fresh X25519 key pair of a key slot: (private key, public key), 32 raw bytes each."""
    private = X25519PrivateKey.generate()
    return private.private_bytes_raw(), private.public_key().public_bytes_raw()


def _box_key(shared: bytes, ephemeral: bytes, public: bytes) -> bytes:
    return _hkdf(shared, b"sealed-box", salt=ephemeral + public)


def seal_to(public_key: bytes, plaintext: bytes, ad: bytes) -> bytes:
    """Seal ``plaintext`` to an X25519 public key: ``ephemeral public key || seal(...)``.

    ECDH with a fresh ephemeral key, HKDF-SHA256 of the shared secret (salted with both public keys), then
    AES-256-GCM. Only the holder of the private key can open it (``open_from``).
    """
    ephemeral = X25519PrivateKey.generate()
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(public_key))
    eph_public = ephemeral.public_key().public_bytes_raw()
    return eph_public + seal(_box_key(shared, eph_public, public_key), plaintext, ad)


def open_from(private_key: bytes, blob: bytes, ad: bytes) -> bytes:
    """Open a ``seal_to`` blob with the private key; ``AuthenticationFailed`` if anything was changed."""
    if len(blob) < KEY_SIZE + NONCE_SIZE + TAG_SIZE:
        raise AuthenticationFailed("sealed box too short")
    try:
        private = X25519PrivateKey.from_private_bytes(private_key)
        shared = private.exchange(X25519PublicKey.from_public_bytes(blob[:KEY_SIZE]))
        public = private.public_key().public_bytes_raw()
    except ValueError:  # a low-order point (an all-zero shared secret) or a malformed key
        raise AuthenticationFailed("malformed sealed box") from None
    return open_sealed(_box_key(shared, blob[:KEY_SIZE], public), blob[KEY_SIZE:], ad)


def master_fingerprint(master: bytes) -> bytes:
    """A master key's fingerprint: names it in a re-key's link without revealing it."""
    return _hkdf(master, b"master-fingerprint")


def _link_key(master: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(_hkdf(master, b"rekey-link-signing"))


def link_public_key(master: bytes) -> bytes:
    """The public half of the Ed25519 key derived from ``master`` that signs the link to the next one."""
    return _link_key(master).public_key().public_bytes_raw()


def link_sign(master: bytes, message: bytes) -> bytes:
    """Sign ``message`` (a re-key's link) with the Ed25519 key derived from ``master``."""
    return _link_key(master).sign(message)


def link_verify(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """Whether ``signature`` of ``message`` verifies under the Ed25519 ``public_key``."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def key_check_value(kek: bytes) -> bytes:
    """A value derived from the KEK that shows whether a KEK is right without unwrapping anything."""
    return _hkdf(kek, b"key-check")


def _hkdf(key: bytes, label: bytes, *, salt: bytes | None = None) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=salt, info=_LABEL + label).derive(key)


KEYRING_SIZE: Final = 4 * KEY_SIZE
"""The stable keys (index, book, log, tombstone) that a re-key carries over to the new master key."""


class Keys:
    """The subkeys of one vault, derived from its master key with HKDF and distinct labels.

    Rotated by a re-key (a new master key):

    - ``header``: MAC of the header (format version, key slots, KDF parameters, wrapped keys).
    - ``state``: MAC of the row-set state (digest, counts, generation).
    - ``rowset``: keyed hash of each row into the row-set digest.
    - ``wrap``: AEAD key that wraps each contact's random data key (from which ``contact_keys`` derives
      the keys of its directory and its payload).
    - ``keyring_wrap`` and ``pending``: seal the stable keys and an unfinished re-key's new master key in
      the header.

    Stable across re-keys (the **keyring**: derived from the first master key, then carried over, sealed
    in the header, so that blind-index tags, book UIDs, log records and tombstones stay as they are):

    - ``tombstone``: AEAD key of the tombstones erased contacts leave behind.
    - ``index``: blind index of phone numbers.
    - ``log``: the disclosure log.
    - ``book``: the UIDs and pseudonym codes of messenger-book entries.
    """

    __slots__ = (
        "book",
        "header",
        "index",
        "keyring",
        "keyring_wrap",
        "log",
        "pending",
        "rowset",
        "state",
        "tombstone",
        "wrap",
    )

    def __init__(self, master_key: bytes, keyring: bytes | None = None) -> None:
        if len(master_key) != KEY_SIZE:
            raise ValueError("the master key must be 32 bytes")
        if keyring is None:
            keyring = b"".join(
                _hkdf(master_key, label)
                for label in (b"phone-index", b"messenger-book", b"disclosure-log", b"tombstone")
            )
        if len(keyring) != KEYRING_SIZE:
            raise ValueError("a keyring is four 32-byte keys")
        self.keyring = keyring
        self.header = _hkdf(master_key, b"header-mac")
        self.state = _hkdf(master_key, b"state-mac")
        self.rowset = _hkdf(master_key, b"rowset")
        self.wrap = AESGCM(_hkdf(master_key, b"data-key-wrap"))
        self.keyring_wrap = _hkdf(master_key, b"keyring-wrap")
        self.pending = _hkdf(master_key, b"pending-rekey")
        self.index = keyring[:KEY_SIZE]
        self.book = keyring[KEY_SIZE : 2 * KEY_SIZE]
        self.log = keyring[2 * KEY_SIZE : 3 * KEY_SIZE]
        self.tombstone = AESGCM(keyring[3 * KEY_SIZE :])

    def __repr__(self) -> str:
        return "Keys(<hidden>)"


class RecordKind:
    """The kinds of sealed record, each bound into the associated data so that none can pass for another."""

    MASTER_KEY_WRAP: Final = 1
    RECOVERY_WRAP: Final = 2
    DIRECTORY: Final = 3
    DATA_KEY: Final = 4
    PAYLOAD: Final = 5
    TOMBSTONE: Final = 6
    DISCLOSURE: Final = 7
    SLOT_PRIVATE_KEY: Final = 8
    SLOT_MASTER_KEY: Final = 9
    SLOT_TRUSTED_MASTER_KEY: Final = 12
    KEYRING: Final = 10
    PENDING_MASTER_KEY: Final = 11


_AD = struct.Struct(">16s16sBQ")


def associated_data(vault_id: bytes, record_id: bytes, kind: int, version: int) -> bytes:
    """Associated data of a sealed record: vault id, record (contact) id, record kind and version."""
    return _AD.pack(vault_id, record_id, kind, version)


def seal(key: bytes | Aead, plaintext: bytes, ad: bytes) -> bytes:
    """AES-256-GCM with a random nonce: returns ``nonce || ciphertext || tag``."""
    aead = key if isinstance(key, AESGCM) else AESGCM(key)
    nonce = os.urandom(NONCE_SIZE)
    return nonce + aead.encrypt(nonce, plaintext, ad)


def open_sealed(key: bytes | Aead, blob: bytes, ad: bytes) -> bytes:
    """The plaintext of a ``seal`` blob; raises ``AuthenticationFailed`` if anything was changed."""
    if len(blob) < NONCE_SIZE + TAG_SIZE:
        raise AuthenticationFailed("sealed record too short")
    try:
        aead = key if isinstance(key, AESGCM) else AESGCM(key)
        return aead.decrypt(blob[:NONCE_SIZE], blob[NONCE_SIZE:], ad)
    except InvalidTag:
        raise AuthenticationFailed("authentication tag mismatch") from None
    except ValueError:  # a key of the wrong length
        raise AuthenticationFailed("malformed key") from None


def contact_keys(data_key: bytes) -> tuple[bytes, bytes]:
    """The two keys of one contact, derived from its random data key: (directory key, payload key).

    Keyed BLAKE2b with distinct labels (a PRF, like HKDF-Expand, but cheap enough to run for every row
    while listing). Destroying the data key destroys both.
    """
    if len(data_key) != KEY_SIZE:
        raise ValueError("a data key is 32 bytes")
    return (
        hashlib.blake2b(_DIRECTORY_LABEL, key=data_key, digest_size=KEY_SIZE).digest(),
        hashlib.blake2b(_PAYLOAD_LABEL, key=data_key, digest_size=KEY_SIZE).digest(),
    )


def directory_key(data_key: bytes) -> bytes:
    """``contact_keys(data_key)[0]`` alone: what listing and the book need (the payload key is not made)."""
    if len(data_key) != KEY_SIZE:
        raise ValueError("a data key is 32 bytes")
    return hashlib.blake2b(_DIRECTORY_LABEL, key=data_key, digest_size=KEY_SIZE).digest()


_DIRECTORY_LABEL: Final = _LABEL + b"contact-directory"
_PAYLOAD_LABEL: Final = _LABEL + b"contact-payload"


def mac(key: bytes, *parts: bytes) -> bytes:
    """HMAC-SHA256 over the length-prefixed parts (so that part boundaries cannot shift)."""
    h = hmac.new(key, digestmod=hashlib.sha256)
    for part in parts:
        h.update(struct.pack(">I", len(part)))
        h.update(part)
    return h.digest()


def macs_equal(a: bytes, b: bytes) -> bool:
    """Constant-time comparison of two MACs."""
    return hmac.compare_digest(a, b)


def keyed_hash(key: bytes, data: bytes, size: int = 32) -> bytes:
    """Keyed BLAKE2b: a fast PRF for the blind index and the row-set digest."""
    return hashlib.blake2b(data, key=key, digest_size=size).digest()


def keyed_hasher(key: bytes, size: int = 32) -> Callable[[bytes], bytes]:
    """``keyed_hash`` with ``key`` fixed, for hashing many values: the key's block is hashed once.

    ``keyed_hasher(key, size)(data) == keyed_hash(key, data, size)``.
    """
    keyed = hashlib.blake2b(key=key, digest_size=size)

    def hashed(data: bytes) -> bytes:
        state = keyed.copy()
        state.update(data)
        return state.digest()

    return hashed


# Padding: ISO/IEC 7816-4 (0x80 then zeros) up to a bucket. Up to 2 KiB the buckets are 128 bytes apart,
# so that one more label, consent or short note rarely changes a record's size; above that, "Padmé"
# (Nikitin et al., 2019) rounds the length so that only O(log log n) bits of it are kept, at a cost of at
# most about 12 %.
_STEP: Final = 128
_STEPPED_UP_TO: Final = 2048


def padded_size(length: int) -> int:
    """The bucket a plaintext of ``length`` bytes (plus the 0x80 marker) is padded to."""
    size = length + 1
    if size <= _STEPPED_UP_TO:
        return -(-size // _STEP) * _STEP
    exponent = size.bit_length() - 1
    low_bits = exponent - exponent.bit_length()
    mask = (1 << low_bits) - 1
    return (size + mask) & ~mask


def pad(plaintext: bytes) -> bytes:
    """``plaintext || 0x80 || 0x00...`` up to ``padded_size``."""
    return plaintext + b"\x80" + bytes(padded_size(len(plaintext)) - len(plaintext) - 1)


def unpad(padded: bytes) -> bytes:
    """Undo ``pad``; raises ``AuthenticationFailed`` on a malformed padding."""
    end = len(padded.rstrip(b"\x00"))
    if end == 0 or padded[end - 1] != 0x80:
        raise AuthenticationFailed("malformed padding")
    return padded[: end - 1]


# Recovery keys: 32 random bytes shown as 13 groups of 4 base32 characters.
def format_recovery_key(key: bytes) -> str:
    """Show a recovery key as ``ABCD-EFGH-...`` (base32, 52 characters in 13 groups)."""
    text = base64.b32encode(key).decode("ascii").rstrip("=")
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def parse_recovery_key(text: str) -> bytes | None:
    """The 32 bytes of a recovery key typed by a person (case, spaces and dashes ignored), or ``None``."""
    compact = "".join(ch for ch in text.upper() if ch not in " -\t\r\n")
    if len(compact) != 52:
        return None
    try:
        key = base64.b32decode(compact + "====", casefold=False)
    except ValueError:
        return None
    return key if len(key) == KEY_SIZE else None


# Service keys: 32 random bytes as "cvsk-" and unpadded URL-safe base64, for a file or an environment.
_SERVICE_PREFIX: Final = "cvsk-"


def format_service_key(key: bytes) -> str:
    """Show a service's key as ``cvsk-`` and 43 URL-safe base64 characters."""
    return _SERVICE_PREFIX + base64.urlsafe_b64encode(key).decode("ascii").rstrip("=")


def parse_service_key(text: str) -> bytes | None:
    """The 32 bytes of a service key (surrounding white space ignored), or ``None`` if it is not one."""
    compact = text.strip()
    if not compact.startswith(_SERVICE_PREFIX) or len(compact) != len(_SERVICE_PREFIX) + 43:
        return None
    try:
        key = base64.urlsafe_b64decode(compact[len(_SERVICE_PREFIX) :] + "=")
    except ValueError:
        return None
    return key if len(key) == KEY_SIZE else None
