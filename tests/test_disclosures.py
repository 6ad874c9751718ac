"""The disclosure log: every export and sync recorded, hash-chained, tamper-evident, and replayable."""

from __future__ import annotations

import sqlite3
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contactvault import Contact, KdfParams, Vault, VaultCorrupted, normalize_phone
from contactvault.book import MessengerBook
from contactvault.models import MessengerEntry
from contactvault.sync import export_book
from contactvault.vault.disclosures import GENESIS, replay

FAST = KdfParams.insecure_fast_for_tests()
T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
TARGET = "carddav:https://dav.example.org/shop/contactvault/"


def _entry(name: str, number: str) -> MessengerEntry:
    return MessengerEntry(display_name=name, phone_e164=number)


def _book(**names: str) -> MessengerBook:
    """A book whose UIDs are the keys (32 hex digits made from a letter) and names the values."""
    return MessengerBook(
        (
            (key * 32, _entry(name, f"+49151555012{i:02d}"))
            for i, (key, name) in enumerate(sorted(names.items()))
        ),
        policy_digest="p" * 64,
    )


@pytest.fixture
def vault(tmp_path):
    """A new vault with the fast test KDF."""
    with Vault.create(tmp_path / "v.db", "pw", kdf=FAST) as opened:
        yield opened


def test_records_hold_the_changes_and_chain(vault):
    """Each record holds what was added, removed and renamed, and the hash of the record before it."""
    first = vault.record_disclosure(TARGET, _book(a="Anna", b="Bernd"), kind="sync", policy_digest="x", at=T0)
    second = vault.record_disclosure(
        TARGET, _book(a="Anna B.", c="Cem"), kind="sync", policy_digest="x", at=T0 + timedelta(days=1)
    )
    assert (first.seq, first.previous, sorted(first.added), first.held) == (
        1,
        GENESIS,
        ["a" * 32, "b" * 32],
        2,
    )
    assert sorted(second.added) == ["c" * 32]
    assert second.removed == ("b" * 32,)
    assert sorted(second.renamed) == ["a" * 32]
    assert second.previous != GENESIS
    assert vault.disclosures() == [first, second]


def test_records_never_hold_names_or_numbers(vault, tmp_path):
    """The log stores keyed hashes only: no name or number appears in a record or in the file."""
    record = vault.record_disclosure(TARGET, _book(a="Zoë Geheimnis"), kind="export", policy_digest="x")
    assert "Geheimnis" not in repr(record)
    assert "+4915155501200" not in repr(record)
    vault.close()
    raw = (tmp_path / "v.db").read_bytes()
    assert b"Geheimnis" not in raw
    assert b"dav.example.org" not in raw  # the target is sealed too


def test_only_what_reached_the_target_is_recorded(vault):
    """With held=, only those UIDs count as disclosed; UIDs outside the book are refused."""
    record = vault.record_disclosure(
        TARGET, _book(a="Anna", b="Bernd"), kind="sync", policy_digest="x", held=["a" * 32]
    )
    assert list(record.added) == ["a" * 32]
    with pytest.raises(ValueError, match="not in the book"):
        vault.record_disclosure(TARGET, _book(a="Anna"), kind="sync", policy_digest="x", held=["z" * 32])


def test_targets_are_kept_apart(vault):
    """Records of one target never change what another target held."""
    vault.record_disclosure(TARGET, _book(a="Anna"), kind="sync", policy_digest="x", at=T0)
    vault.record_disclosure("file:/tmp/book.vcf", _book(b="Bernd"), kind="export", policy_digest="x", at=T0)
    assert list(vault.visible_at(TARGET, T0)) == ["a" * 32]
    assert list(vault.visible_at("file:/tmp/book.vcf", T0)) == ["b" * 32]


def test_visible_at_names_the_contacts_and_forgets_erased_ones(vault):
    """visible_at maps each UID to the contact that owns it, and to None once the contact is erased."""
    contact = Contact(display_name="Anna", phones=(normalize_phone("0151 55501234", default_region="DE"),))
    vault.add(contact)
    uid = vault.book_codes().uid(contact.id, "+4915155501234")
    book = MessengerBook([(uid, _entry("Anna", "+4915155501234"))])
    vault.record_disclosure(TARGET, book, kind="sync", policy_digest="x", at=T0)
    assert vault.visible_at(TARGET, T0) == {uid: contact.id}
    assert vault.visible_at(TARGET, T0 - timedelta(seconds=1)) == {}
    vault.erase(contact.id)
    assert vault.visible_at(TARGET, T0) == {uid: None}
    with pytest.raises(ValueError, match="timezone"):
        vault.visible_at(TARGET, datetime(2025, 6, 1))


def test_export_book_writes_and_records(vault, tmp_path):
    """export_book writes the file and records an export to file:<path> with the book's policy digest."""
    record = export_book(vault, _book(a="Anna"), tmp_path / "book.vcf")
    assert (tmp_path / "book.vcf").read_bytes().startswith(b"BEGIN:VCARD\r\n")
    assert record.target == f"file:{(tmp_path / 'book.vcf').resolve()}"
    assert (record.kind, record.policy) == ("export", "p" * 64)
    export_book(vault, _book(a="Anna"), tmp_path / "book.csv", file_format="csv")
    assert len(vault.disclosures()) == 2


@pytest.mark.parametrize("damage", ["edit", "delete", "swap"])
def test_tampering_with_the_log_is_detected(tmp_path, damage):
    """Editing, deleting or reordering a log record makes opening (and verify) fail with VaultCorrupted."""
    path = tmp_path / "v.db"
    with Vault.create(path, "pw", kdf=FAST) as vault:
        vault.record_disclosure(TARGET, _book(a="Anna"), kind="sync", policy_digest="x", at=T0)
        vault.record_disclosure(TARGET, _book(b="Bernd"), kind="sync", policy_digest="x", at=T0)
    with sqlite3.connect(path) as db:
        if damage == "edit":
            (record,) = db.execute("SELECT record FROM disclosures WHERE seq = 2").fetchone()
            db.execute(
                "UPDATE disclosures SET record = ? WHERE seq = 2", (record[:-1] + bytes([record[-1] ^ 1]),)
            )
        elif damage == "delete":
            db.execute("DELETE FROM disclosures WHERE seq = 2")
        else:
            for old, new in ((1, 100), (2, 1), (100, 2)):
                db.execute("UPDATE disclosures SET seq = ? WHERE seq = ?", (new, old))
    db.close()
    with pytest.raises(VaultCorrupted):
        Vault.open(path, "pw")


@settings(max_examples=40)
@given(st.lists(st.sets(st.sampled_from("abcdef"), max_size=6), min_size=1, max_size=6))
def test_visible_at_agrees_with_a_replay_of_the_syncs(steps):
    """After any sequence of syncs, visible_at at each sync's time is exactly that sync's book."""
    with (
        tempfile.TemporaryDirectory() as folder,
        Vault.create(Path(folder) / "v.db", "pw", kdf=FAST) as vault,
    ):
        for i, keys in enumerate(steps):
            book = _book(**{k: f"Name {k.upper()}" for k in keys})
            vault.record_disclosure(TARGET, book, kind="sync", policy_digest="x", at=T0 + timedelta(hours=i))
        for i, keys in enumerate(steps):
            assert sorted(vault.visible_at(TARGET, T0 + timedelta(hours=i))) == sorted(k * 32 for k in keys)
        assert sorted(replay(vault.disclosures(), TARGET)) == sorted(k * 32 for k in steps[-1])
        assert vault.verify().contacts == 0
