"""The keyed codes of a vault's books: each entry's UID and each contact's pseudonym code.

Part of :mod:`contactvault.book` (which exports these names), kept apart so that each file stays short.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Iterable

__all__ = ["BookCodes", "book_uid", "pseudonym_code"]


def pseudonym_code(key: bytes, contact_id: bytes) -> str:
    """A contact's stable six-character code (base32 of a keyed hash): the same for every book of a vault."""
    digest = hashlib.blake2b(b"pseudonym" + contact_id, key=key, digest_size=10).digest()
    return base64.b32encode(digest).decode("ascii")[:6]


def book_uid(key: bytes, contact_id: bytes, e164: str) -> str:
    """The UID of one book entry: a keyed hash of contact and number, 32 hex digits."""
    return hashlib.blake2b(b"uid" + contact_id + e164.encode("ascii"), key=key, digest_size=16).hexdigest()


class BookCodes:
    """The keyed codes of one vault's books: each entry's UID and each contact's pseudonym code.

    Made by ``Vault.book_codes()`` with the vault's book key, which it keeps to itself (no attribute,
    ``repr()`` or pickle shows it). The codes are stable across books of the vault, and linkable neither to
    other vaults nor to the contacts' internal ids.
    """

    __slots__ = ("__key", "__uid")

    def __init__(self, key: bytes) -> None:
        """Codes keyed with ``key`` (the vault's book key)."""
        if not isinstance(key, bytes) or not key:
            raise TypeError("the key of book codes is non-empty bytes")
        self.__key = key
        # book_uid's hash with the key's block and the prefix taken in once: each UID copies it
        self.__uid = hashlib.blake2b(b"uid", key=key, digest_size=16)

    def uid(self, contact_id: uuid.UUID, e164: str) -> str:
        """The UID of the contact's book entry for the number ``e164`` (:func:`book_uid`)."""
        return self.uids(contact_id, (e164,))[0]

    def uids(self, contact_id: uuid.UUID, numbers: Iterable[str]) -> tuple[str, ...]:
        """:meth:`uid` of each of ``numbers``, in order: :func:`book_uid` of the contact and each number."""
        return self.uids_of(contact_id.bytes, numbers)

    def uids_of(self, contact_id: bytes, numbers: Iterable[str]) -> tuple[str, ...]:
        """:meth:`uids` of the contact whose id is the 16 bytes ``contact_id`` (its ``UUID.bytes``).

        For a book that has the contacts' row ids as bytes: no ``UUID`` is made for each.
        """
        if type(contact_id) is not bytes or len(contact_id) != 16:
            raise ValueError("a contact id is 16 bytes")
        of_contact = self.__uid.copy()
        of_contact.update(contact_id)
        made: list[str] = []
        for number in numbers:
            state = of_contact.copy()
            state.update(number.encode("ascii"))
            made.append(state.hexdigest())
        return tuple(made)

    def pseudonym(self, contact_id: uuid.UUID) -> str:
        """The contact's six-character pseudonym code (:func:`pseudonym_code`)."""
        return pseudonym_code(self.__key, contact_id.bytes)

    def __repr__(self) -> str:
        return "BookCodes(...)"

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("book codes hold a key of the vault and cannot be pickled")
