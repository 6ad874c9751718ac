"""The read path's shortcuts (issue 17): each gives exactly what the long way gives."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from contactvault import Contact, KdfParams, Vault, crypto
from contactvault.errors import VaultCorrupted
from contactvault.models import MessengerEntry
from contactvault.vault.log import _entry_hash
from contactvault.vault.records import pack, unpack

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


@given(st.text(), st.text(min_size=1), st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True))
def test_an_entry_hash_hashes_what_json_dumps_writes(uid: str, name: str, number: str) -> None:
    """The log's entry hash is the keyed hash of json.dumps([uid, name, number]), built without its steps."""
    try:
        entry = MessengerEntry.model_validate({"display_name": name, "phone_e164": number})
    except ValidationError:
        assume(False)
    key = bytes(range(32))
    found = _entry_hash(SimpleNamespace(entry_hashes={}), key, uid, entry)  # type: ignore[arg-type]
    data = json.dumps([uid, entry.display_name, entry.phone_e164]).encode("utf-8")
    assert found == crypto.keyed_hash(key, data, 16).hex()


@settings(max_examples=30, deadline=None)
@given(
    st.integers(min_value=0, max_value=40_000),
    st.binary(min_size=1, max_size=64),
)
def test_records_of_any_size_unpack_to_what_was_packed(size: int, pattern: bytes) -> None:
    """Small records and large ones (another compressor setting above 16 KiB) both unpack to themselves."""
    plaintext = (pattern * (size // len(pattern) + 1))[:size]
    assert unpack(pack(plaintext)) == plaintext
    noisy = bytes((b * 131 + i) % 256 for i, b in enumerate(plaintext))
    assert unpack(pack(noisy)) == noisy
