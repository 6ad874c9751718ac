"""SQLite's contact rows checked for their types, as a ``Row`` or ``TagRow``.

SQLite stores any type in any column, so a crafted file can hold text where a blob belongs: every row read
is checked and a wrong type is ``VaultCorrupted``. ``sqlite3`` gives exactly ``bytes`` for a BLOB and
``int`` for an INTEGER, so ``type(x) is`` is ``isinstance`` here, and cheaper: an open of 100,000 contacts
checks 100,000 rows, a book 100,000 more.
"""

from __future__ import annotations

from typing import Final

from contactvault.errors import VaultCorrupted
from contactvault.vault.backends.base import Row, TagRow

__all__ = ["checked_row", "checked_tag_row"]

_AS_TUPLE: Final = tuple.__new__
"""What ``Row._make`` does: the five values, checked, as the named tuple."""


def checked_row(raw: tuple[object, ...]) -> Row:
    """A contact row (id, version, directory, data key, payload) checked for its types."""
    cid, version, directory, data_key, payload = raw
    if (
        type(cid) is not bytes
        or type(version) is not int
        or type(directory) is not bytes
        or (data_key is not None and type(data_key) is not bytes)
        or (payload is not None and type(payload) is not bytes)
    ):
        raise VaultCorrupted("a contact row holds a value of the wrong type")
    return _AS_TUPLE(Row, raw)


def checked_tag_row(raw: tuple[object, ...]) -> TagRow:
    """A row of the tag query (id, version, the tags of its blobs) checked for its types.

    ``coalesce()`` gives ``b""`` for a tombstone's data key and payload tags, never NULL.
    """
    cid, version, directory, data_key, payload = raw
    if (
        type(cid) is not bytes
        or type(version) is not int
        or type(directory) is not bytes
        or type(data_key) is not bytes
        or type(payload) is not bytes
    ):
        raise VaultCorrupted("a contact row holds a value of the wrong type")
    return _AS_TUPLE(TagRow, raw)
