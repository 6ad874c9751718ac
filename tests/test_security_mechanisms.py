"""Each security mechanism of the vault, attacked in the one way that only this mechanism can stop.

The issue asks that every security promise have a test that fails when the mechanism behind it is removed.
A test that a second check also stops proves nothing about the first: the row-set digest, for example,
covers each sealed blob through its AES-GCM tag (its last 16 bytes) only, so the digest alone stops a
changed tag, and a changed ciphertext is left to the blob's own AEAD check. Each attack below is built so
that every OTHER check lets it through; the test then asserts a clear error (``VaultCorrupted``,
``ConflictError``) and that nothing forged is returned.

White-box on purpose: several tests use the vault's internals (``vault._core``: its keys, its row codec
``Records`` and its one write path ``Core.commit``) to play an attacker who knows more than a real one
would, for example the plaintext of a blob (AES-GCM is counter mode: XOR-ing the ciphertext changes the
plaintext bit for bit, and only the tag notices), or who can write through the vault's own write path (a
log record sealed with the right key but naming the wrong ``previous``). That is the strongest attack each
mechanism must stop on its own, and the only way to reach it.

Each test was run once against a copy of the source with its mechanism removed (one mutation per
mechanism), and fails there. Vaults are real files in ``tmp_path`` with the fast test KDF; contacts are
synthetic (``example.org``, numbers from the ``+49 151 5550`` range).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import random
import shutil
import sqlite3
import stat
import tempfile
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from contactvault import (
    ConflictError,
    Contact,
    ContactErased,
    ContactMerged,
    EmailAddress,
    KdfParams,
    NameParts,
    Phone,
    Vault,
    VaultCorrupted,
    crypto,
)
from contactvault.book import MessengerBook
from contactvault.cli import main
from contactvault.crypto import Keys, RecordKind
from contactvault.errors import ContactVaultError
from contactvault.gdpr.requests import erase_contact
from contactvault.models import ContactSource, MessengerEntry
from contactvault.phones import parse_number
from contactvault.sync import export_book
from contactvault.vault import keys as slots
from contactvault.vault import log, state
from contactvault.vault.backends.base import Row
from contactvault.vault.core import Write
from contactvault.vault.header import OWNER, RECOVERY, Header, SlotKind
from contactvault.vault.records import Tags, pack, unpack
from tests.conftest import ROOT

PASSPHRASE = "korrektes Pferd, Batterie & Heftklammer"  # noqa: S105  (a test vault's passphrase)
FAST = KdfParams.insecure_fast_for_tests()
TARGET = "carddav:https://dav.example.org/shop/contactvault/"
T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
PRIVATE = 0o600


# --- helpers ----------------------------------------------------------------------------------------------


def _phone(raw: str) -> Phone:
    info = parse_number(raw, "DE")
    assert info.e164 is not None, raw
    return Phone(raw=raw, e164=info.e164, region=info.region, kind=info.kind, types=("cell",))


def _contact(i: int, **changes: Any) -> Contact:
    fields: dict[str, Any] = {
        "display_name": f"Testkundin Nummer {i}",
        "name": NameParts(given="Testkundin", family=f"Nummer {i}"),
        "phones": (_phone(f"+49 151 5550{1000 + i:04d}"),),
        "emails": (EmailAddress(address=f"kundin{i}@example.org"),),
        "notes": (f"Synthetische Notiz {i}: Rückruf am Montag",),
    }
    return Contact(**(fields | changes))


def _new_vault(path: Path, count: int = 3, **options: Any) -> list[uuid.UUID]:
    """A closed vault at ``path`` with ``count`` synthetic contacts; returns their ids."""
    with Vault.create(path, PASSPHRASE, kdf=FAST, **options) as vault:
        return vault.add_many(_contact(i) for i in range(count))


def _companion(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _sql(path: Path, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement on the (closed) vault file with a plain sqlite3 connection, committed and closed."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        rows = db.execute(statement, params).fetchall()
        db.commit()
    return rows


def _book(**names: str) -> MessengerBook:
    """A book whose UIDs are the keys (32 hex digits made from a letter) and names the values."""
    return MessengerBook(
        (
            (key * 32, MessengerEntry(display_name=name, phone_e164=f"+49151555012{i:02d}"))
            for i, (key, name) in enumerate(sorted(names.items()))
        ),
        policy_digest="p" * 64,
    )


def _xor_forge(blob: bytes, old: bytes, new: bytes) -> bytes:
    """``blob`` (nonce, ciphertext, tag) with its plaintext ``old`` turned into ``new``; nonce and tag kept.

    AES-GCM encrypts in counter mode, so XOR-ing the ciphertext with ``old ^ new`` yields a ciphertext of
    ``new``: every byte of the blob but the ciphertext stays, and only the tag check can notice. ``new`` is
    padded with zero bytes to the length of ``old`` (``unpad`` strips trailing zeros).
    """
    assert len(new) <= len(old), "the forged plaintext must fit the original's length"
    new = new + bytes(len(old) - len(new))
    n, t = crypto.NONCE_SIZE, crypto.TAG_SIZE
    body = blob[n:-t]
    assert len(body) == len(old)
    return blob[:n] + bytes(c ^ a ^ b for c, a, b in zip(body, old, new, strict=True)) + blob[-t:]


def _forge_packed(blob: bytes, key: bytes | crypto.Aead, ad: bytes, edit: Callable[[bytes], bytes]) -> bytes:
    """A forged copy of a sealed, packed record (compressed, padded JSON) holding ``edit`` of its JSON."""
    padded = crypto.open_sealed(key, blob, ad)
    return _xor_forge(blob, padded, pack(edit(unpack(padded))))


def _json_edit(*, keep: tuple[str, ...] | None = None, **values: Any) -> Callable[[bytes], bytes]:
    """An edit of a record's JSON object: only the keys ``keep`` (all if ``None``), then ``values`` set.

    The forged JSON is shorter than the original, so that it fits the original's padded length.
    """

    def edit(data: bytes) -> bytes:
        fields = json.loads(data)
        assert isinstance(fields, dict)
        kept = {k: v for k, v in fields.items() if keep is None or k in keep}
        forged = json.dumps(kept | values, separators=(",", ":")).encode()
        assert len(forged) < len(data)
        return forged

    return edit


def _ad(vault: Vault, cid: uuid.UUID, kind: int, version: int) -> bytes:
    return crypto.associated_data(vault._core.vault_id, cid.bytes, kind, version)


def _live_row(vault: Vault, cid: uuid.UUID) -> Row:
    """The stored row of a live contact, read through the open vault's storage."""
    row = vault._core.storage.get(cid.bytes)
    assert row is not None
    assert row.data_key is not None
    assert row.payload is not None
    return row


def _column(path: Path, column: str, cid: uuid.UUID) -> bytes:
    (value,) = _sql(path, f"SELECT {column} FROM contacts WHERE id = ?", (cid.bytes,))[0]  # noqa: S608
    assert isinstance(value, bytes)
    return value


def _set_column(path: Path, column: str, cid: uuid.UUID, value: bytes) -> None:
    _sql(path, f"UPDATE contacts SET {column} = ? WHERE id = ?", (value, cid.bytes))  # noqa: S608


def _folder_state(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@contextlib.contextmanager
def _umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- (a) the disclosure log: hash chain, the record's own seq, no gaps, its seal ------------------------


def _commit_log_record(vault: Vault, place: int, **changes: Any) -> None:
    """Seal a disclosure record with ``changes`` under the log key and commit it through ``Core.commit``.

    The record is made as ``log.new_record`` makes it and sealed with the right key and associated data
    (for its ``place`` in the log), and the commit adds it to the row-set digest: only the log's own checks of
    sequence and chain can tell it from a genuine record.
    """
    core = vault._core
    record, _ = log.new_record(
        core, TARGET, _book(c="Cem"), kind="sync", policy_digest="x", held=None, kept=(), at=T0
    )
    forged = dataclasses.replace(record, **changes)
    sealed = crypto.seal(crypto.Aead(core.keys.log), pack(forged.to_json()), log._ad(core, place))
    core.commit((), log=lambda: (place, sealed))


def _stored_log_record(vault: Vault, seq: int) -> list[bytes]:
    """The sealed record ``seq``, read through the open vault's own storage (it holds the file's lock)."""
    return [record for s, record in vault._core.storage.log_records() if s == seq]


@pytest.fixture
def logged(tmp_path) -> Iterator[Vault]:
    """An open vault whose log holds two genuine records."""
    with Vault.create(tmp_path / "log.db", PASSPHRASE, kdf=FAST) as vault:
        vault.record_disclosure(TARGET, _book(a="Anna"), kind="sync", policy_digest="x", at=T0)
        vault.record_disclosure(TARGET, _book(a="Anna", b="Bernd"), kind="sync", policy_digest="x", at=T0)
        yield vault


def _assert_log_refused(vault: Vault) -> None:
    """Every reader of the log refuses it, and nothing is appended after it; reopening does not help."""
    with pytest.raises(VaultCorrupted):
        vault.disclosures()
    with pytest.raises(VaultCorrupted):
        vault.verify()
    with pytest.raises(VaultCorrupted):
        vault.visible_at(TARGET, T0)
    with pytest.raises(VaultCorrupted):
        vault.record_disclosure(TARGET, _book(a="Anna"), kind="sync", policy_digest="x", at=T0)
    path = vault.path
    vault.close()
    with Vault.open(path, PASSPHRASE) as again, pytest.raises(VaultCorrupted):
        again.disclosures()


def test_log_record_naming_a_wrong_previous_hash_is_refused(logged):
    """A sealed record in its right place whose ``previous`` is not the hash of the record before it."""
    _commit_log_record(logged, 3, seq=3, previous=hashlib.sha256(b"another history").hexdigest())
    _assert_log_refused(logged)


def test_log_record_naming_the_genesis_hash_later_in_the_log_is_refused(logged):
    """A second chain started in the middle of the log (``previous`` = the genesis hash) is refused."""
    _commit_log_record(logged, 3, seq=3, previous="0" * 64)
    _assert_log_refused(logged)


def test_log_record_whose_own_seq_differs_from_its_place_is_refused(logged):
    """A record sealed for place 3 with the right ``previous`` but saying it is record 7 is refused."""
    _, previous = log.read(logged._core)
    _commit_log_record(logged, 3, seq=7, previous=previous)
    _assert_log_refused(logged)


def test_log_with_a_gap_in_its_sequence_is_refused(logged):
    """A record at place 4 (no record 3), sealed for place 4 and chained to record 2, is refused."""
    _, previous = log.read(logged._core)
    _commit_log_record(logged, 4, seq=4, previous=previous)
    _assert_log_refused(logged)


def test_log_record_with_forged_content_is_refused(tmp_path):
    """The last record's ciphertext forged to name another target (tag kept): only its AEAD check stops it."""
    path = tmp_path / "log.db"
    with Vault.create(path, PASSPHRASE, kdf=FAST) as vault:
        vault.record_disclosure(TARGET, _book(a="Anna"), kind="sync", policy_digest="x", at=T0)
        vault.record_disclosure(TARGET, _book(b="Bernd"), kind="sync", policy_digest="x", at=T0)
        core = vault._core
        (sealed,) = _stored_log_record(vault, 2)
        forged = _forge_packed(
            sealed,
            crypto.Aead(core.keys.log),
            log._ad(core, 2),
            _json_edit(target="file:/tmp/x.vcf", added={}),
        )
    _sql(path, "UPDATE disclosures SET record = ? WHERE seq = 2", (forged,))
    with Vault.open(path, PASSPHRASE) as vault:  # the digest covers the tag only: the file opens
        with pytest.raises(VaultCorrupted):
            vault.disclosures()
        with pytest.raises(VaultCorrupted):
            vault.verify()


# --- (b) the tombstone's AEAD ----------------------------------------------------------------------------


def _erased_and_merged(path: Path) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """A closed vault with 4 contacts: one erased, one merged into another; (erased, merged, a bystander)."""
    ids = _new_vault(path, 4)
    with Vault.open(path, PASSPHRASE) as vault:
        vault.erase(ids[1])
        vault.merge([ids[2], ids[3]])
    return ids[1], ids[3], ids[0]


def test_forged_tombstone_is_refused_never_a_made_up_erasure(tmp_path):
    """Tombstones forged to a made-up erasure date, or to another survivor: VaultCorrupted, never believed."""
    path = tmp_path / "tomb.db"
    erased, merged, bystander = _erased_and_merged(path)
    with Vault.open(path, PASSPHRASE) as vault:
        key = vault._core.keys.tombstone
        forgeries = {}
        for cid, edit in (
            (erased, _json_edit(erased_at="1999-01-01T00:00:00+00:00")),
            (merged, _json_edit(merged_into=str(bystander))),
        ):
            row = vault._core.storage.get(cid.bytes)
            assert row is not None
            forgeries[cid] = _forge_packed(
                row.directory, key, _ad(vault, cid, RecordKind.TOMBSTONE, row.version), edit
            )
    for cid, forged in forgeries.items():
        _set_column(path, "directory", cid, forged)
    with Vault.open(path, PASSPHRASE) as vault:  # the digest covers the tag only: the file opens
        for cid in (erased, merged):
            with pytest.raises(VaultCorrupted):
                vault.get(cid)
            with pytest.raises(VaultCorrupted):
                vault.erase(cid)
        with pytest.raises(VaultCorrupted):
            vault.verify()


@pytest.fixture(scope="module")
def tombstones(tmp_path_factory) -> tuple[Path, uuid.UUID, uuid.UUID]:
    """A closed vault with an erased and a merged-away contact (read-only: tests copy it)."""
    path = tmp_path_factory.mktemp("tombstones") / "tomb.db"
    erased, merged, _ = _erased_and_merged(path)
    return path, erased, merged


@settings(max_examples=100)
@given(
    which=st.sampled_from(["erased", "merged"]),
    where=st.floats(0, 1, exclude_max=True),
    mask=st.integers(1, 255),
)
def test_damaged_tombstone_is_corrupted_never_erased_or_merged(tombstones, which, where, mask):
    """A tombstone with any byte changed: VaultCorrupted (at open, get or verify), never an erasure date."""
    source, erased, merged = tombstones
    cid = erased if which == "erased" else merged
    with tempfile.TemporaryDirectory(dir=source.parent) as folder:
        path = Path(folder) / "copy.db"
        shutil.copyfile(source, path)
        blob = bytearray(_column(path, "directory", cid))
        offset = int(where * len(blob))
        blob[offset] ^= mask
        _set_column(path, "directory", cid, bytes(blob))
        try:
            vault = Vault.open(path, PASSPHRASE)
        except VaultCorrupted:
            assert offset >= len(blob) - crypto.TAG_SIZE, "only a changed tag may stop the open (the digest)"
            return
        with vault:
            with pytest.raises(VaultCorrupted):
                vault.get(cid)
            with pytest.raises(VaultCorrupted):
                vault.verify()


# --- (c) each AEAD: directory, wrapped data key, payload (the log record's is above), key slots ----------


def test_forged_directory_is_refused(tmp_path):
    """A directory forged to show another name (tag kept) is refused by list, get, entry and verify."""
    path = tmp_path / "dir.db"
    ids = _new_vault(path)
    with Vault.open(path, PASSPHRASE) as vault:
        row = _live_row(vault, ids[1])
        directory_key = crypto.contact_keys(vault._core.records.data_key(row))[0]
        forged = _forge_packed(
            row.directory,
            directory_key,
            _ad(vault, ids[1], RecordKind.DIRECTORY, row.version),
            _json_edit(
                keep=("id", "version", "created_at", "updated_at", "keys_indexed"), display_name="Mallory"
            ),
        )
    _set_column(path, "directory", ids[1], forged)
    with Vault.open(path, PASSPHRASE) as vault:
        with pytest.raises(VaultCorrupted):
            list(vault)
        with pytest.raises(VaultCorrupted):
            vault.directory_entry(ids[1])
        with pytest.raises(VaultCorrupted):
            vault.get(ids[1])
        with pytest.raises(VaultCorrupted):
            vault.verify()


def test_forged_payload_is_refused(tmp_path):
    """A CRM payload forged to hold another note (tag kept) is refused by get, contacts and verify."""
    path = tmp_path / "payload.db"
    ids = _new_vault(path)
    with Vault.open(path, PASSPHRASE) as vault:
        row = _live_row(vault, ids[1])
        payload_key = crypto.contact_keys(vault._core.records.data_key(row))[1]
        forged = _forge_packed(
            row.payload,
            payload_key,
            _ad(vault, ids[1], RecordKind.PAYLOAD, row.version),
            _json_edit(keep=(), notes=["Forged note"]),
        )
    _set_column(path, "payload", ids[1], forged)
    with Vault.open(path, PASSPHRASE) as vault:
        assert [e.id for e in vault] == ids  # the directories are intact
        with pytest.raises(VaultCorrupted):
            vault.get(ids[1])
        with pytest.raises(VaultCorrupted):
            list(vault.contacts())
        with pytest.raises(VaultCorrupted):
            vault.verify()


def test_substituted_data_key_is_refused_before_anything_is_sealed_under_it(tmp_path):
    """A wrapped data key forged to wrap a key the attacker knows: ``update`` refuses, nothing is written."""
    path = tmp_path / "datakey.db"
    ids = _new_vault(path)
    evil = b"\x41" * crypto.KEY_SIZE
    with Vault.open(path, PASSPHRASE) as vault:
        before = vault.get(ids[1])
        row = _live_row(vault, ids[1])
        assert row.data_key is not None
        forged = _xor_forge(row.data_key, vault._core.records.data_key(row), evil)
    _set_column(path, "data_key", ids[1], forged)
    with Vault.open(path, PASSPHRASE) as vault:  # the digest covers the tag only: the file opens
        changes = vault.changes
        # update() seals the new version under the stored data key without decrypting the old one first:
        # only the wrapped key's own tag keeps the contact from being sealed under the attacker's key.
        with pytest.raises(VaultCorrupted):
            vault.update(before.model_copy(update={"notes": ("Neue Notiz",)}))
        assert vault.changes == changes
        row = vault._core.storage.get(ids[1].bytes)
        assert row is not None
        assert (row.version, row.data_key) == (before.version, forged)


def _forge_slot(path: Path, slot_name: str) -> None:
    """Make a slot yield a master key the attacker chose, by XOR on its KEK-wrapped blob, and re-sign all.

    The recovery slot wraps the master key itself: that wrap is XOR-forged. A person's slot seals the master
    key to its public key, which anyone can do, and keeps the master key it trusts wrapped by its KEK: the
    sealed key is replaced and the trusted one XOR-forged. The key-check value stays (the KEK is the same);
    the header gets a valid MAC and checksum, and the (empty) vault's state a valid MAC, both under the
    attacker's master key: only the AEAD check of the KEK's wrap stands between the passphrase (or recovery
    key) and a vault whose future contacts the attacker reads.
    """
    evil = b"\x42" * crypto.KEY_SIZE
    header = Header.unpack(_sql(path, "SELECT data FROM header")[0][0])
    with Vault.open(path, PASSPHRASE) as vault:
        master = vault._core.master
        assert len(vault) == 0
    slot = header.slot(slot_name)
    assert slot is not None
    if slot.kind == SlotKind.RECOVERY:
        forged_slot = dataclasses.replace(slot, wrapped=_xor_forge(slot.wrapped, master, evil))
    else:
        sealed = slots.resealed(slot, evil, header.vault_id)
        forged_slot = dataclasses.replace(sealed, trusted=_xor_forge(slot.trusted, master, evil))
    changed = tuple(forged_slot if s.name == slot_name else s for s in header.slots)
    forged = slots.signed(header.changed(slots=changed), Keys(evil))
    slots.check_mac(Header.unpack(forged.pack()), Keys(evil))  # the forgery passes the header's checks
    _sql(path, "UPDATE header SET data = ? WHERE id = 1", (forged.pack(),))
    _sql(path, "UPDATE state SET data = ? WHERE id = 1", (state.EMPTY.pack(Keys(evil), forged.pack()),))


def test_substituted_master_key_in_the_passphrase_slot_is_refused(tmp_path):
    """A passphrase slot forged to wrap the attacker's master key: the passphrase opens nothing."""
    path = tmp_path / "slot.db"
    with Vault.create(path, PASSPHRASE, kdf=FAST):
        pass
    _forge_slot(path, OWNER)
    with pytest.raises(VaultCorrupted):
        Vault.open(path, PASSPHRASE)


def test_substituted_master_key_in_the_recovery_slot_is_refused(tmp_path):
    """A recovery slot forged to wrap the attacker's master key: the recovery key opens nothing."""
    path = tmp_path / "slot.db"
    with Vault.create(path, PASSPHRASE, kdf=FAST, recovery_key=True) as vault:
        recovery = vault.recovery_key
    assert recovery is not None
    _forge_slot(path, RECOVERY)
    with pytest.raises(VaultCorrupted):
        Vault.open_with_recovery_key(path, recovery)


# --- (d) the header MAC, (e) the state MAC ---------------------------------------------------------------


def test_header_rewritten_with_a_stale_mac_is_refused(tmp_path):
    """Weaker KDF settings (slot re-wrapped, checksum recomputed) under the old MAC: verify and open refuse.

    Written through ``Core.commit``, so the row-set state's MAC, which also covers the header's bytes,
    is valid for the new header: only the header's own MAC is left to notice.
    """
    path = tmp_path / "header.db"
    _new_vault(path)
    with Vault.open(path, PASSPHRASE) as vault:
        core = vault._core
        weaker = KdfParams(memory_kib=16, iterations=1, lanes=2)
        slot, _ = slots.person_slot(OWNER, PASSPHRASE, weaker, core.master, core.vault_id)
        stale = dataclasses.replace(core.header, slots=(slot,))  # the old MAC kept
        assert Header.unpack(stale.pack()) == stale  # the unkeyed checksum is right
        core.commit((), header=lambda _current: stale)
        with pytest.raises(VaultCorrupted):
            vault.verify()
    with pytest.raises(VaultCorrupted):  # accepted, the new KDF cost: it is the MAC that refuses
        Vault.open(path, PASSPHRASE, accept_kdf_change=True)


def test_state_with_a_changed_generation_is_refused(tmp_path):
    """The row-set state with only its generation changed (the digest still matches): VaultCorrupted."""
    path = tmp_path / "state.db"
    _new_vault(path)
    (data,) = _sql(path, "SELECT data FROM state")[0]
    generation = int.from_bytes(data[:8], "big")
    changed = (generation + 1000).to_bytes(8, "big") + data[8:]
    _sql(path, "UPDATE state SET data = ? WHERE id = 1", (changed,))
    with pytest.raises(VaultCorrupted):
        Vault.open(path, PASSPHRASE)


def test_state_of_another_header_is_refused(tmp_path):
    """The header from before a passphrase change put back (its MAC genuine, rows unchanged): VaultCorrupted.

    Only the state MAC's binding to the header's bytes tells that this header is not the one the
    current state was written with.
    """
    path = tmp_path / "state.db"
    _new_vault(path)
    (old_header,) = _sql(path, "SELECT data FROM header")[0]
    with Vault.open(path, PASSPHRASE) as vault:
        vault.change_passphrase("ein ganz neues Pferd")
    _sql(path, "UPDATE header SET data = ? WHERE id = 1", (old_header,))
    with pytest.raises(VaultCorrupted):
        Vault.open(path, PASSPHRASE)


# --- (f) the WAL checkpoint after erase and merge --------------------------------------------------------


def _traces(path: Path, needles: dict[str, bytes]) -> list[str]:
    """Which needle is in the vault file or its -wal (read raw, as anybody with the files could)."""
    found = []
    for file in (path, _companion(path, "-wal")):
        if file.exists():
            data = file.read_bytes()
            found += [f"{what} in {file.name}" for what, needle in needles.items() if needle in data]
    return found


def _wal_size(path: Path) -> int:
    wal = _companion(path, "-wal")
    return wal.stat().st_size if wal.exists() else 0


def test_erase_truncates_the_wal_and_leaves_no_key_or_text(tmp_path):
    """After erase (vault still open), the -wal is empty and no file holds the erased key, blobs or text."""
    path = tmp_path / "erase.db"
    marker = "Löschvermerk QX-7319"
    target = _contact(7, display_name=f"Xaverine {marker}", notes=(f"{marker}: Ratenzahlung",))
    with Vault.create(path, PASSPHRASE, kdf=FAST) as vault:
        vault.add_many([_contact(0), target, _contact(1)])
        row = _live_row(vault, target.id)
        assert row.data_key is not None
        assert row.payload is not None
        needles = {
            "wrapped data key": row.data_key,
            "directory": row.directory,
            "payload": row.payload,
            "marker (UTF-8)": marker.encode(),
            "marker (UTF-16-LE)": marker.encode("utf-16-le"),
        }
        assert "wrapped data key in erase.db-wal" in _traces(path, needles)  # the search can find it
        erasure = vault.erase(target.id)
        assert erasure.wal_truncated
        assert _traces(path, needles) == []
        assert _wal_size(path) == 0
        with pytest.raises(ContactErased):
            vault.get(target.id)


def test_merge_truncates_the_wal_and_leaves_no_key_of_the_merged_away_contact(tmp_path):
    """After merge (vault still open), the -wal is empty and no file holds the merged-away contact's key."""
    path = tmp_path / "merge.db"
    with Vault.create(path, PASSPHRASE, kdf=FAST) as vault:
        ids = vault.add_many([_contact(0), _contact(1), _contact(2)])
        row = _live_row(vault, ids[2])
        assert row.data_key is not None
        assert row.payload is not None
        needles = {"wrapped data key": row.data_key, "directory": row.directory, "payload": row.payload}
        assert "wrapped data key in merge.db-wal" in _traces(path, needles)
        vault.merge([ids[1], ids[2]])
        assert _traces(path, needles) == []
        assert _wal_size(path) == 0
        with pytest.raises(ContactMerged):
            vault.get(ids[2])


# --- (g) the Art. 17 receipt states only what was done ---------------------------------------------------


@pytest.mark.parametrize("done", [True, False])
def test_receipt_claims_the_wal_checkpoint_only_when_it_was_done(tmp_path, monkeypatch, done):
    """If SQLite could not finish the checkpoint, the receipt does not claim it and says it is pending."""
    path = tmp_path / "receipt.db"
    ids = _new_vault(path)
    with Vault.open(path, PASSPHRASE) as vault:
        if not done:
            monkeypatch.setattr(vault._core.storage, "after_erase", lambda: False)
        receipt = erase_contact(vault, ids[1])
    assert ("wal_checkpoint" in receipt.destroyed) is done
    assert ("wal_pending" in receipt.remains) is not done
    assert "data_key" in receipt.destroyed


@pytest.mark.parametrize("on", [True, False])
def test_receipt_claims_secure_delete_only_when_it_was_on(tmp_path, monkeypatch, on):
    """If SQLite's secure delete was off, the receipt does not claim it."""
    path = tmp_path / "receipt.db"
    ids = _new_vault(path)
    with Vault.open(path, PASSPHRASE) as vault:
        storage = vault._core.storage
        if not on:
            real = storage.settings
            monkeypatch.setattr(storage, "settings", lambda: real() | {"secure_delete": 0})
        receipt = erase_contact(vault, ids[1])
    assert ("secure_delete" in receipt.destroyed) is on


# --- (h) file modes: 0600 whatever the umask -------------------------------------------------------------


def test_vault_and_its_wal_are_private_under_umask_000(tmp_path):
    """A new vault file and its -wal get mode 0600 even when the umask takes nothing away."""
    path = tmp_path / "modes.db"
    with _umask(0), Vault.create(path, PASSPHRASE, kdf=FAST) as vault:
        vault.add(_contact(0))
        wal = _companion(path, "-wal")
        assert wal.exists()
        assert (_mode(path), _mode(wal)) == (PRIVATE, PRIVATE)
    assert _mode(path) == PRIVATE


def test_backup_and_restore_are_private_under_umask_000(tmp_path):
    """``Vault.backup`` and ``Vault.restore`` write files of mode 0600 even under umask 000."""
    path = tmp_path / "modes.db"
    with _umask(0):
        _new_vault(path)
        with Vault.open(path, PASSPHRASE) as vault:
            vault.backup(tmp_path / "backup.db")
        Vault.restore(tmp_path / "backup.db", tmp_path / "restored.db", PASSPHRASE)
    assert (_mode(tmp_path / "backup.db"), _mode(tmp_path / "restored.db")) == (PRIVATE, PRIVATE)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup.db", "modes.db", "restored.db"]


@pytest.mark.parametrize("file_format", ["vcf", "csv"])
def test_exports_are_private_under_umask_000(tmp_path, file_format):
    """``contactvault.sync.export_book`` writes a file of mode 0600 even under umask 000."""
    out = tmp_path / f"book.{file_format}"
    with _umask(0), Vault.create(tmp_path / "modes.db", PASSPHRASE, kdf=FAST) as vault:
        export_book(vault, _book(a="Anna"), out, file_format=file_format)
    assert _mode(out) == PRIVATE


def test_cli_output_and_receipt_files_are_private_under_umask_000(tmp_path):
    """The command line's ``--output`` and ``--receipt`` files get mode 0600 even under umask 000."""
    path = tmp_path / "modes.db"
    ids = _new_vault(path)
    secret = tmp_path / "passphrase.txt"
    secret.write_text(PASSPHRASE + "\n", encoding="utf-8")
    options = ["--vault", str(path), "--passphrase-file", str(secret)]
    ropa = ROOT / "src" / "contactvault" / "samples" / "ropa.toml"
    commands = {
        "access.md": ["access", str(ids[0]), "--output", str(tmp_path / "access.md")],
        "ropa.md": ["ropa", "--config", str(ropa), "--output", str(tmp_path / "ropa.md")],
        "receipt.json": ["erase", str(ids[1]), "--yes", "--receipt", str(tmp_path / "receipt.json")],
    }
    with _umask(0):
        for name, args in commands.items():
            result = CliRunner().invoke(main, [*args, *options])
            assert result.exit_code == 0, (name, result.output)
    assert {name: _mode(tmp_path / name) for name in commands} == dict.fromkeys(commands, PRIVATE)


# --- (i) the blind index keeps UIDs and external ids unique ----------------------------------------------


def _twins(key: str) -> tuple[Contact, Contact]:
    """Two different contacts sharing an external id or a vCard UID."""
    if key == "external_id":
        shared: dict[str, Any] = {"external_id": "KD-4711"}
    else:
        shared = {
            "source": ContactSource(format="vcard", uid="urn:uuid:6f1e8c1a-0000-4000-8000-000000004711")
        }
    return _contact(0, **shared), _contact(1, **shared)


@pytest.mark.parametrize("key", ["external_id", "uid"])
def test_second_contact_with_a_taken_key_is_refused(tmp_path, key):
    """Adding a contact whose external id or UID another contact has: ConflictError, nothing written."""
    first, second = _twins(key)
    with Vault.create(tmp_path / "unique.db", PASSPHRASE, kdf=FAST) as vault:
        vault.add(first)
        changes = vault.changes
        with pytest.raises(ConflictError):
            vault.add(second)
        assert (vault.changes, len(vault)) == (changes, 1)
        assert second.id not in vault
        vault.verify()


@pytest.mark.parametrize("key", ["external_id", "uid"])
def test_two_contacts_with_one_key_in_one_batch_are_refused(tmp_path, key):
    """``add_many`` with two contacts sharing an external id or UID: ConflictError, neither is written."""
    with Vault.create(tmp_path / "unique.db", PASSPHRASE, kdf=FAST) as vault:
        with pytest.raises(ConflictError):
            vault.add_many(_twins(key))
        assert (vault.changes, len(vault)) == (0, 0)


def _smuggle(vault: Vault, contact: Contact) -> tuple[tuple[Any, ...], list[tuple[bytes, bytes]]]:
    """A properly sealed row of ``contact`` and its index entries, made with the vault's own keys."""
    records = vault._core.records
    fresh = contact.model_copy(update={"version": 1})
    row = records.seal(fresh, crypto.random_bytes())
    return tuple(row), [(tag, row.id) for tag in records.tags(fresh).all]


def test_row_smuggled_in_with_a_taken_external_id_is_detected(tmp_path):
    """A properly sealed row (with its index entries) duplicating an external id, put in with sqlite3."""
    path = tmp_path / "unique.db"
    first, second = _twins("external_id")
    with Vault.create(path, PASSPHRASE, kdf=FAST) as vault:
        vault.add(first)
        row, pairs = _smuggle(vault, second)
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute(
            "INSERT INTO contacts (id, version, directory, data_key, payload) VALUES (?, ?, ?, ?, ?)", row
        )
        db.executemany("INSERT INTO phone_index (tag, contact_id) VALUES (?, ?)", pairs)
        db.commit()
    with pytest.raises(VaultCorrupted):
        Vault.open(path, PASSPHRASE)


def test_duplicate_external_id_past_the_write_check_is_refused_on_lookup(tmp_path):
    """Two contacts with one external id (committed past the uniqueness check): the lookup refuses both."""
    first, second = _twins("external_id")
    with Vault.create(tmp_path / "unique.db", PASSPHRASE, kdf=FAST) as vault:
        vault.add(first)
        records = vault._core.records
        fresh = second.model_copy(update={"version": 1})
        write = Write(None, records.seal(fresh, crypto.random_bytes()), (), Tags(records.tags(fresh).all))
        vault._core.commit([write])
        with pytest.raises(VaultCorrupted):
            vault.find_by_external_id("KD-4711")


def test_verify_finds_two_contacts_with_one_external_id(tmp_path):
    """``verify`` (which "checks everything") notices two contacts sharing an external id."""
    first, second = _twins("external_id")
    with Vault.create(tmp_path / "unique.db", PASSPHRASE, kdf=FAST) as vault:
        vault.add(first)
        records = vault._core.records
        fresh = second.model_copy(update={"version": 1})
        write = Write(None, records.seal(fresh, crypto.random_bytes()), (), Tags(records.tags(fresh).all))
        vault._core.commit([write])
        with pytest.raises(VaultCorrupted):
            vault.verify()


# --- (j) a failed open never writes ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> bytes:
    """The bytes of a closed vault with three contacts, one erased, and a log record."""
    path = tmp_path_factory.mktemp("template") / "vault.db"
    ids = _new_vault(path)
    with Vault.open(path, PASSPHRASE) as vault:
        vault.erase(ids[2])
        vault.record_disclosure(TARGET, _book(a="Anna"), kind="sync", policy_digest="x", at=T0)
    return path.read_bytes()


def _plain_sqlite(folder: Path) -> bytes:
    scratch = folder / "scratch.db"
    _sql(scratch, "CREATE TABLE customers (name TEXT, phone TEXT)")
    _sql(scratch, "INSERT INTO customers VALUES ('Anna Beispiel', '+4915155501234')")
    data = scratch.read_bytes()
    scratch.unlink()
    return data


def _flipped(data: bytes, offset: int) -> bytes:
    damaged = bytearray(data)
    damaged[offset] ^= 0x5A
    return bytes(damaged)


def _open_leaves_alone(folder: Path, data: bytes) -> type[BaseException] | None:
    """Write ``data`` as a vault in the empty ``folder``, open it; check that nothing was written.

    Returns the error ``Vault.open`` raised, or ``None`` if it opened (the file is then closed at once).
    """
    path = folder / "vault.db"
    path.write_bytes(data)
    before = _folder_state(folder)
    raised: type[BaseException] | None = None
    try:
        Vault.open(path, PASSPHRASE, lock_timeout=0).close()
    except ContactVaultError as exc:
        raised = type(exc)
    assert _folder_state(folder) == before, "the open wrote to the file or left a file beside it"
    return raised


_FIRST_PAGE_FLIPS = {
    "SQLite magic": 0,
    "page size": 16,
    "write version": 18,
    "read version": 19,
    "reserved bytes": 20,
    "payload fraction": 21,
    "application id": 70,
    "first b-tree page type": 100,
}


def _named_files(folder: Path, vault: bytes) -> dict[str, bytes]:
    files = {
        "empty file": b"",
        "one byte": b"\x00",
        "vCard": b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Anna Beispiel\r\nTEL:+4915155501234\r\nEND:VCARD\r\n",
        "random bytes": random.Random(7).randbytes(20_000),
        "plain SQLite database": _plain_sqlite(folder),
    }
    for length in (1, 16, 50, 99, 100, 4096, 8192, 8193, 16384, len(vault) - 8192, len(vault) - 1):
        files[f"vault truncated to {length} bytes"] = vault[:length]
    for what, offset in _FIRST_PAGE_FLIPS.items():
        files[f"vault with its {what} (byte {offset}) flipped"] = _flipped(vault, offset)
    return files


def test_failed_open_leaves_the_file_and_its_folder_alone(tmp_path, template):
    """Files that are not a vault, truncated vaults, damaged first pages: open raises, nothing is written."""
    failures = []
    for i, (name, data) in enumerate(_named_files(tmp_path, template).items()):
        folder = tmp_path / f"case-{i}"
        folder.mkdir()
        raised = _open_leaves_alone(folder, data)
        if raised is None:
            failures.append(f"{name}: opened")
    assert failures == []


_PREFIXES = {
    "nothing": b"",
    "the SQLite magic": b"SQLite format 3\x00",
}


@settings(max_examples=200)
@given(prefix=st.sampled_from(sorted(_PREFIXES)), tail=st.binary(max_size=600))
def test_open_of_random_bytes_raises_and_never_writes(tmp_path_factory, prefix, tail):
    """Random bytes, with or without an SQLite header in front: open raises and writes nothing."""
    with tempfile.TemporaryDirectory(dir=tmp_path_factory.getbasetemp()) as folder:
        assert _open_leaves_alone(Path(folder), _PREFIXES[prefix] + tail) is not None


@settings(max_examples=200)
@given(data=st.data())
def test_open_of_a_damaged_vault_never_writes(tmp_path_factory, template, data):
    """A vault whose first page has a random byte changed, or whose pages after the first are random.

    Open raises or opens (a byte SQLite does not need); either way the file and the folder are unchanged.
    """
    page = int.from_bytes(template[16:18], "big")
    if data.draw(st.booleans(), label="random pages"):
        pages = data.draw(st.integers(1, len(template) // page - 1), label="pages")
        seed = data.draw(st.integers(0, 2**32), label="seed")
        damaged = template[:page] + random.Random(seed).randbytes(pages * page)
    else:
        offset = data.draw(st.integers(0, page - 1), label="offset")
        damaged = bytearray(template)
        damaged[offset] ^= data.draw(st.integers(1, 255), label="mask")
        damaged = bytes(damaged)
    with tempfile.TemporaryDirectory(dir=tmp_path_factory.getbasetemp()) as folder:
        _open_leaves_alone(Path(folder), damaged)
