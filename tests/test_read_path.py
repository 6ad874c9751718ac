"""The read path's shortcuts (issue 17): each gives exactly what the long way gives."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contactvault import Contact, KdfParams, Vault, crypto
from contactvault.errors import VaultCorrupted

FAST = KdfParams.insecure_fast_for_tests()
PASSPHRASE = "correct horse battery staple"  # noqa: S105  (a test vault's passphrase)


@given(st.binary(min_size=crypto.KEY_SIZE, max_size=crypto.KEY_SIZE))
def test_the_directory_key_alone_is_the_first_contact_key(data_key: bytes) -> None:
    """Listing and the book derive only the directory key: the very key ``contact_keys`` gives first."""
    assert crypto.directory_key(data_key) == crypto.contact_keys(data_key)[0]
    assert crypto.directory_key(data_key) != crypto.contact_keys(data_key)[1]


@given(st.binary(min_size=1, max_size=64), st.binary(max_size=200), st.sampled_from([16, 32]))
def test_a_keyed_hasher_hashes_as_keyed_hash(key: bytes, data: bytes, size: int) -> None:
    """``keyed_hasher(key, size)`` (the row-set recount's) equals ``keyed_hash`` call by call."""
    hashed = crypto.keyed_hasher(key, size)
    assert hashed(data) == crypto.keyed_hash(key, data, size)
    assert hashed(data + b"x") == crypto.keyed_hash(key, data + b"x", size)  # no state carried over


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("version", "one"),  # INTEGER affinity keeps text that is no number as text
        ("version", 1.5),
        ("directory", "sealed"),
        ("data_key", "key"),
        ("data_key", 7),
        ("payload", "payload"),
        ("id", "0123456789abcdef"),
    ],
)
def test_a_row_of_the_wrong_type_is_refused(tmp_path: Path, column: str, value: object) -> None:
    """SQLite stores any type in any column: a value of the wrong type is ``VaultCorrupted`` on every read."""
    path = tmp_path / "v.db"
    with Vault.create(path, PASSPHRASE, kdf=FAST) as vault:
        vault.add(Contact(display_name="Kundin"))
        storage = vault._core.storage
        with sqlite3.connect(path) as db:
            db.execute(f"UPDATE contacts SET {column} = ?", (value,))  # noqa: S608  (a test's own columns)
        with pytest.raises(VaultCorrupted):
            list(storage.tag_rows())
        with pytest.raises(VaultCorrupted):
            list(storage.rows(with_payload=True))
