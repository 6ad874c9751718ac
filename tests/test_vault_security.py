"""Security tests of the encrypted vault: damage, tampering, crafted headers, erasure and the writer lock.

Every vault here is a real file in ``tmp_path`` with the fast test KDF; damage and tampering are done the
way an attacker with write access to the file would do them, with ``sqlite3`` or raw file I/O on a closed
vault. The contacts are synthetic: made-up names, ``example.org`` addresses and German mobile numbers
from the ``+49 151 5550`` range.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import os
import random
import selectors
import shutil
import sqlite3
import struct
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any, TypeVar

import pytest

from contactvault import (
    Contact,
    ContactErased,
    DirectoryEntry,
    EmailAddress,
    KdfLimitExceeded,
    KdfParams,
    NameParts,
    Phone,
    UnsupportedFormat,
    Vault,
    VaultCorrupted,
    VaultLocked,
    WrongPassphrase,
    crypto,
)
from contactvault.phones import parse_number
from tests.vault_child import HOLD_BATCH, PASSPHRASE_VARIABLE, contact_id

PASSPHRASE = "richtiges Pferd, Batterie & Heftklammer"  # noqa: S105  (a test vault's passphrase)
FAST = KdfParams.insecure_fast_for_tests()
CHILD = Path(__file__).with_name("vault_child.py")
CHECKSUM = 32  # the header ends with an unkeyed SHA-256 of everything before it (see header.py)

_Snapshot = tuple[list[DirectoryEntry], list[Contact]]
_Flip = TypeVar("_Flip")


# --- helpers ----------------------------------------------------------------------------------------------


def _phone(raw: str) -> Phone:
    info = parse_number(raw, "DE")
    assert info.e164 is not None, raw
    return Phone(raw=raw, e164=info.e164, region=info.region, kind=info.kind, types=("cell",))


def _contact(i: int) -> Contact:
    return Contact(
        display_name=f"Testkundin Nummer {i}",
        name=NameParts(given="Testkundin", family=f"Nummer {i}"),
        phones=[_phone(f"+49 151 5550{1000 + i:04d}")],
        emails=[EmailAddress(address=f"kundin{i}@example.org")],
        notes=[f"Synthetische Notiz {i}: Rückruf am Montag"],
    )


def _new_vault(tmp_path: Path, count: int = 5, *, recovery_key: bool = False) -> Path:
    """A closed vault with ``count`` synthetic contacts."""
    path = tmp_path / "vault.db"
    with Vault.create(path, PASSPHRASE, kdf=FAST, recovery_key=recovery_key) as vault:
        vault.add_many([_contact(i) for i in range(count)])
    assert not _companion(path, "-wal").exists()
    return path


def _companion(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _read_all(path: Path, passphrase: str = PASSPHRASE) -> _Snapshot:
    """Open, verify and read everything (the directory and every full contact), then close."""
    with Vault.open(path, passphrase, lock_timeout=0) as vault:
        vault.verify()
        return list(vault), list(vault.contacts())


def _sql(path: Path, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement on the file with a plain sqlite3 connection of its own, committed and closed."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        rows = db.execute(statement, params).fetchall()
        db.commit()
    return rows


def _fresh_copy(source: Path, target: Path) -> Path:
    for leftover in (target, *(_companion(target, s) for s in ("-wal", "-shm", "-journal", ".lock"))):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(source, target)
    return target


def _probe(path: Path, original: _Snapshot) -> str:
    """``detected``, or ``unchanged`` (it opened and returned exactly the original data), or the problem."""
    try:
        got = _read_all(path)
    except (WrongPassphrase, VaultCorrupted):
        return "detected"
    except Exception as exc:  # noqa: BLE001  (any other type is the finding; it is reported, not hidden)
        return f"raised {type(exc).__name__}: {exc}"
    return "unchanged" if got == original else "returned data different from the original"


def _sweep(
    source: Path, original: _Snapshot, flips: Iterable[_Flip], damage: Callable[[_Flip, Path], None]
) -> dict[_Flip, str]:
    """For each flip: damage a fresh copy of the closed vault ``source`` that way and probe it."""
    outcomes: dict[_Flip, str] = {}
    copy = source.with_name("damaged.db")
    for flip in flips:
        damage(flip, _fresh_copy(source, copy))
        outcomes[flip] = _probe(copy, original)
    return outcomes


def _problems(outcomes: dict[_Flip, str]) -> list[str]:
    return [
        f"{flip}: {result}" for flip, result in outcomes.items() if result not in ("detected", "unchanged")
    ]


def _header(path: Path) -> bytes:
    (data,) = _sql(path, "SELECT data FROM header")[0]
    assert isinstance(data, bytes)
    return data


_FIRST_SLOT_KDF = 29 + 1 + 2 + len("owner")
"""Where the first slot's Argon2id memory is in a new vault's header (format 2: fixed part, flags, the number
of slots, the slot's kind, name length and name ``owner``)."""


def _rewrite_header(path: Path, offset: int, fmt: str, value: int) -> None:
    """Change one field of the header and recompute its trailing checksum, so that it looks intact."""
    header = _header(path)
    assert hashlib.sha256(header[:-CHECKSUM]).digest() == header[-CHECKSUM:], "header layout changed"
    body = bytearray(header[:-CHECKSUM])
    struct.pack_into(fmt, body, offset, value)
    _sql(path, "UPDATE header SET data = ? WHERE id = 1", (bytes(body) + hashlib.sha256(body).digest(),))


def _file_hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


# --- 1. byte flips ----------------------------------------------------------------------------------------


def test_every_header_byte_flip_is_detected(tmp_path):
    """Flipping any single byte of the header blob makes opening or verifying fail with VaultCorrupted."""
    path = _new_vault(tmp_path, recovery_key=True)
    original = _read_all(path)
    header = _header(path)

    def damage(offset: int, copy: Path) -> None:
        flipped = bytearray(header)
        flipped[offset] ^= 0xFF
        _sql(copy, "UPDATE header SET data = ? WHERE id = 1", (bytes(flipped),))

    outcomes = _sweep(path, original, range(len(header)), damage)
    assert _problems(outcomes) == []
    assert collections.Counter(outcomes.values()) == {"detected": len(header)}


@pytest.mark.parametrize("column", ["directory", "data_key", "payload"])
def test_every_record_byte_flip_is_detected(tmp_path, column):
    """Flipping any single byte of one contact's sealed blob makes opening, verifying or reading fail."""
    path = _new_vault(tmp_path)
    original = _read_all(path)
    cid, blob = _sql(path, f"SELECT id, {column} FROM contacts ORDER BY rowid LIMIT 1 OFFSET 2")[0]  # noqa: S608
    assert isinstance(blob, bytes)
    assert len(blob) >= crypto.NONCE_SIZE + crypto.TAG_SIZE

    def damage(offset: int, copy: Path) -> None:
        flipped = bytearray(blob)
        flipped[offset] ^= 0xFF
        _sql(copy, f"UPDATE contacts SET {column} = ? WHERE id = ?", (bytes(flipped), cid))  # noqa: S608

    outcomes = _sweep(path, original, range(len(blob)), damage)
    assert _problems(outcomes) == []
    assert collections.Counter(outcomes.values()) == {"detected": len(blob)}


def test_random_file_byte_flips_are_detected_or_harmless(tmp_path):
    """A byte flipped anywhere in the closed vault file is detected, or the vault returns exactly its data.

    A flip in bytes SQLite never reads (free space inside a page, the change counter, the application id)
    cannot be detected and changes nothing; every other flip must end in VaultCorrupted (or WrongPassphrase).
    """
    path = _new_vault(tmp_path)
    original = _read_all(path)
    size = path.stat().st_size
    rng = random.Random(20_240_611)
    flips = [(rng.randrange(size), rng.randrange(1, 256)) for _ in range(500)]  # (offset, XOR mask)

    def damage(flip: tuple[int, int], copy: Path) -> None:
        offset, mask = flip
        with copy.open("r+b") as f:
            f.seek(offset)
            byte = f.read(1)[0]
            f.seek(offset)
            f.write(bytes((byte ^ mask,)))

    outcomes = _sweep(path, original, flips, damage)
    counts = collections.Counter(
        r if r in ("detected", "unchanged") else "problem" for r in outcomes.values()
    )
    assert _problems(outcomes) == [], counts
    assert counts["detected"] > 0, counts


@pytest.mark.parametrize(
    ("needle", "index", "mask"),
    [
        # "NOT NULL" becomes "NOT \xceULL": the schema no longer parses, and SQLite's message quotes the bytes
        pytest.param(b"version INTEGER NOT NULL", 20, 0x80, id="schema-sql-not-utf8"),
        # sqlite_master's name column "header" becomes "Header"; SQLite still finds the table by its SQL
        pytest.param(b"tableheaderheader", 5, 0x20, id="schema-name-case"),
        # sqlite_master's type column "table" becomes "Table"
        pytest.param(b"tablestatestate", 0, 0x20, id="schema-type-case"),
        # the number of cells on page 1 (sqlite_master's b-tree page header starts at byte 100)
        pytest.param(b"", 104, 0x04, id="schema-cell-count"),
        # the file format write version (byte 18: 1 legacy, 2 WAL; above 2 SQLite opens the file read-only)
        pytest.param(b"", 18, 0x04, id="file-header-write-version"),
        pytest.param(b"", 18, 0x80, id="file-header-write-version-high-bit"),
        # 2 becomes 1 ("legacy"): SQLite would run the vault with a rollback journal instead of the WAL
        pytest.param(b"", 18, 0x03, id="file-header-write-version-legacy"),
        # the file format read version (byte 19)
        pytest.param(b"", 19, 0x04, id="file-header-read-version"),
    ],
)
def test_flips_in_the_sqlite_file_and_schema_headers_are_detected_or_harmless(tmp_path, needle, index, mask):
    """A byte flipped in SQLite's file header or schema page is reported as VaultCorrupted or changes nothing.

    ``needle`` locates the byte (``index`` bytes into its first occurrence; an empty needle: from byte 0).
    """
    path = _new_vault(tmp_path)
    original = _read_all(path)
    data = bytearray(path.read_bytes())
    offset = data.index(needle) + index
    data[offset] ^= mask
    copy = _fresh_copy(path, tmp_path / "damaged.db")
    copy.write_bytes(bytes(data))
    outcome = _probe(copy, original)
    assert outcome in ("detected", "unchanged"), outcome


# --- 2. wrong passphrase ----------------------------------------------------------------------------------


def test_wrong_passphrase_is_its_own_error_and_changes_no_file(tmp_path):
    """A wrong passphrase or recovery key raises WrongPassphrase, not VaultCorrupted, and changes no file."""
    path = tmp_path / "vault.db"
    with Vault.create(path, PASSPHRASE, kdf=FAST, recovery_key=True) as vault:
        vault.add_many([_contact(i) for i in range(3)])
    before = _file_hashes(tmp_path)
    assert "vault.db" in before
    with pytest.raises(WrongPassphrase) as wrong:
        Vault.open(path, PASSPHRASE + "!", lock_timeout=0).close()
    assert type(wrong.value) is WrongPassphrase
    assert not isinstance(wrong.value, VaultCorrupted)
    other_key = crypto.format_recovery_key(bytes(32))
    with pytest.raises(WrongPassphrase):
        Vault.open_with_recovery_key(path, other_key, lock_timeout=0).close()
    assert _file_hashes(tmp_path) == before
    assert len(_read_all(path)[1]) == 3


# --- 3. crafted headers and files that are not vaults -----------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "value"),
    [
        pytest.param(_FIRST_SLOT_KDF, 4 * 1024 * 1024, id="memory-4GiB"),
        pytest.param(_FIRST_SLOT_KDF + 4, 2**31, id="iterations-2^31"),
    ],
)
def test_crafted_kdf_parameters_are_refused_before_any_derivation(tmp_path, monkeypatch, offset, value):
    """Argon2id parameters above the cap in an intact-looking header raise KdfLimitExceeded, deriving nothing.

    A spy replaces ``crypto.derive_kek`` (and any module's own binding of it): it records every call, and
    once the header is crafted it refuses to run Argon2id at all. Opening the intact vault first shows that
    the spy does see the vault's derivation, so "no call" below means no derivation, whatever the clock says.
    """
    path = _new_vault(tmp_path)
    calls: list[object] = []
    derive = crypto.derive_kek
    crafted = False

    def spy_derive_kek(*args: Any, **kwargs: Any) -> bytes:
        calls.append(args[2] if len(args) > 2 else kwargs.get("params"))
        if crafted:
            raise AssertionError("derive_kek was called with the crafted KDF parameters")
        return derive(*args, **kwargs)

    for name, module in list(sys.modules.items()):
        if name.startswith("contactvault") and getattr(module, "derive_kek", None) is derive:
            monkeypatch.setattr(module, "derive_kek", spy_derive_kek)
    Vault.open(path, PASSPHRASE, lock_timeout=0).close()
    assert len(calls) == 1, "the spy did not see the derivation of an ordinary open"
    calls.clear()
    _rewrite_header(path, offset, ">I", value)
    crafted = True
    with pytest.raises(KdfLimitExceeded):
        Vault.open(path, PASSPHRASE, lock_timeout=0).close()
    assert calls == []


@pytest.mark.parametrize(
    ("offset", "fmt", "value"),
    [
        pytest.param(8, ">H", 3, id="format-version-3"),
        pytest.param(0, ">8s", b"CTVAULT\x01", id="other-magic"),
        pytest.param(10, ">B", 2, id="unknown-cipher"),
    ],
)
def test_intact_header_of_another_format_is_unsupported(tmp_path, offset, fmt, value):
    """An intact header (checksum recomputed) of a newer format, magic or cipher gives UnsupportedFormat."""
    path = _new_vault(tmp_path)
    _rewrite_header(path, offset, fmt, value)
    with pytest.raises(UnsupportedFormat):
        Vault.open(path, PASSPHRASE, lock_timeout=0).close()


def test_plain_sqlite_database_is_unsupported_and_left_alone(tmp_path):
    """An SQLite database that is not a vault raises UnsupportedFormat and is left byte for byte as it was."""
    path = tmp_path / "customers.db"
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE customers (name TEXT, email TEXT)")
        db.execute("INSERT INTO customers VALUES ('Testkundin Eins', 'eins@example.org')")
        db.commit()
    before = hashlib.sha256(path.read_bytes()).digest()
    with pytest.raises(UnsupportedFormat):
        Vault.open(path, PASSPHRASE, lock_timeout=0).close()
    assert hashlib.sha256(path.read_bytes()).digest() == before


def test_file_that_is_no_vault_is_unsupported_and_left_alone(tmp_path):
    """Random bytes, an empty file and a vCard are "not a vault" (UnsupportedFormat), never rewritten.

    A vault whose first bytes were damaged still carries the vault's SQLite application id, or its
    tables: that is told apart as VaultCorrupted (the byte-flip tests above).
    """
    samples = {
        "noise.db": random.Random(7).randbytes(64 * 1024),
        "empty.db": b"",
        "one.db": b"\x00",
        "card.vcf": b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Test\r\nEND:VCARD\r\n",
    }
    for name, data in samples.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(UnsupportedFormat, match="not a contactvault vault"):
            Vault.open(path, PASSPHRASE, lock_timeout=0).close()
        assert path.read_bytes() == data, name


def test_truncated_vault_is_corrupted_and_left_alone(tmp_path):
    """A vault cut short anywhere is VaultCorrupted (damaged, not "no vault") and keeps its bytes."""
    source = tmp_path / "whole.db"
    Vault.create(source, PASSPHRASE, kdf=FAST).close()
    data = source.read_bytes()
    for length in (16, 24, 50, 99, 100, 4096, 8191, 8192 + 100, len(data) - 1):
        path = tmp_path / f"cut{length}.db"
        path.write_bytes(data[:length])
        with pytest.raises(VaultCorrupted):
            Vault.open(path, PASSPHRASE, lock_timeout=0).close()
        assert path.read_bytes() == data[:length], length


# --- 4. tampering with rows -------------------------------------------------------------------------------


def _rows(path: Path) -> list[tuple[Any, ...]]:
    return _sql(path, "SELECT id, version, directory, data_key, payload FROM contacts ORDER BY rowid")


def _delete_row(path: Path) -> None:
    _sql(path, "DELETE FROM contacts WHERE id = ?", (_rows(path)[1][0],))


def _delete_row_and_index(path: Path) -> None:
    cid = _rows(path)[1][0]
    _sql(path, "DELETE FROM contacts WHERE id = ?", (cid,))
    _sql(path, "DELETE FROM phone_index WHERE contact_id = ?", (cid,))


def _duplicate_row(path: Path, *, with_index: bool = False) -> None:
    cid, new = _rows(path)[1][0], uuid.uuid4().bytes
    _sql(
        path,
        "INSERT INTO contacts (id, version, directory, data_key, payload) "
        "SELECT ?, version, directory, data_key, payload FROM contacts WHERE id = ?",
        (new, cid),
    )
    if with_index:
        _sql(path, "INSERT INTO phone_index SELECT tag, ? FROM phone_index WHERE contact_id = ?", (new, cid))


def _swap_blobs(path: Path) -> None:
    first, second = _rows(path)[1:3]
    update = "UPDATE contacts SET directory = ?, data_key = ?, payload = ? WHERE id = ?"
    _sql(path, update, (*second[2:], first[0]))
    _sql(path, update, (*first[2:], second[0]))


def _older_copy_of_row(path: Path) -> None:
    cid, *old = _rows(path)[1]
    with Vault.open(path, PASSPHRASE) as vault:
        contact = vault.get(uuid.UUID(bytes=cid))
        vault.update(contact.model_copy(update={"notes": ("Synthetische Notiz: Preis erhöht",)}))
    _sql(
        path,
        "UPDATE contacts SET version = ?, directory = ?, data_key = ?, payload = ? WHERE id = ?",
        (*old, cid),
    )


def _erased_row_restored(path: Path) -> None:
    cid, *old = _rows(path)[1]
    index = _sql(path, "SELECT tag, contact_id FROM phone_index WHERE contact_id = ?", (cid,))
    with Vault.open(path, PASSPHRASE) as vault:
        vault.erase(uuid.UUID(bytes=cid))
    _sql(
        path,
        "UPDATE contacts SET version = ?, directory = ?, data_key = ?, payload = ? WHERE id = ?",
        (*old, cid),
    )
    for pair in index:
        _sql(path, "INSERT INTO phone_index (tag, contact_id) VALUES (?, ?)", pair)


def _delete_index_entry(path: Path) -> None:
    _sql(path, "DELETE FROM phone_index WHERE contact_id = ?", (_rows(path)[1][0],))


def _add_index_entry(path: Path) -> None:
    rows = _rows(path)
    (tag,) = _sql(path, "SELECT tag FROM phone_index WHERE contact_id = ?", (rows[1][0],))[0]
    _sql(path, "INSERT INTO phone_index (tag, contact_id) VALUES (?, ?)", (tag, rows[2][0]))


def _older_state(path: Path) -> None:
    (old,) = _sql(path, "SELECT data FROM state")[0]
    with Vault.open(path, PASSPHRASE) as vault:
        vault.add(_contact(99))
    _sql(path, "UPDATE state SET data = ? WHERE id = 1", (old,))


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(_delete_row, id="row-deleted"),
        pytest.param(_delete_row_and_index, id="row-and-its-index-entries-deleted"),
        pytest.param(_duplicate_row, id="row-duplicated-under-new-id"),
        pytest.param(
            lambda p: _duplicate_row(p, with_index=True), id="row-and-index-duplicated-under-new-id"
        ),
        pytest.param(_swap_blobs, id="blobs-of-two-rows-swapped"),
        pytest.param(_older_copy_of_row, id="row-replaced-by-older-copy"),
        pytest.param(_erased_row_restored, id="erased-row-restored-with-its-index"),
        pytest.param(_delete_index_entry, id="index-entry-deleted"),
        pytest.param(_add_index_entry, id="index-entry-added"),
        pytest.param(_older_state, id="state-replaced-by-older-copy"),
    ],
)
def test_row_tampering_is_detected_at_open(tmp_path, tamper):
    """Deleting, duplicating, swapping or rolling back rows, index entries or the state fails Vault.open."""
    path = _new_vault(tmp_path)
    tamper(path)
    with pytest.raises(VaultCorrupted):
        Vault.open(path, PASSPHRASE, lock_timeout=0).close()


def test_older_header_after_passphrase_change_is_refused(tmp_path):
    """A header rolled back to before a passphrase change does not let the old passphrase read the vault."""
    path = _new_vault(tmp_path)
    old_header = _header(path)
    with Vault.open(path, PASSPHRASE) as vault:
        vault.change_passphrase("neues Pferd, neue Batterie")
        vault.add(_contact(42))  # written after the change: the old passphrase must never reveal it
    _sql(path, "UPDATE header SET data = ? WHERE id = 1", (old_header,))
    with pytest.raises(VaultCorrupted):
        _read_all(path, PASSPHRASE)
    with pytest.raises(WrongPassphrase):
        _read_all(path, "neues Pferd, neue Batterie")


# --- 5. erasure leaves no trace ---------------------------------------------------------------------------


def _traces(folder: Path, stem: str, needles: dict[str, bytes]) -> tuple[list[str], list[str]]:
    """The files of the vault that were searched, and which needle was found in which of them."""
    searched, found = [], []
    for file in sorted(folder.iterdir()):
        if not file.name.startswith(stem):
            continue
        data = file.read_bytes()
        searched.append(file.name)
        found += [f"{what} in {file.name}" for what, needle in needles.items() if needle in data]
    return searched, found


def _sealed(path: Path, cid: bytes, snapshot: Path) -> dict[str, bytes]:
    """One contact's sealed blobs and phone-index tags, read with a separate sqlite3 connection.

    The open vault holds SQLite's exclusive lock, so the connection reads a copy of the vault's files
    (database and WAL, taken into the folder ``snapshot``) rather than the files themselves.
    """
    snapshot.mkdir()
    for file in (path, _companion(path, "-wal")):
        if file.exists():
            shutil.copyfile(file, snapshot / file.name)
    with contextlib.closing(sqlite3.connect(snapshot / path.name)) as db:
        version, directory, data_key, payload = db.execute(
            "SELECT version, directory, data_key, payload FROM contacts WHERE id = ?", (cid,)
        ).fetchone()
        tags = [t for (t,) in db.execute("SELECT tag FROM phone_index WHERE contact_id = ?", (cid,))]
    blobs = {f"wrapped data key v{version}": data_key, f"directory v{version}": directory}
    blobs[f"payload v{version}"] = payload
    blobs.update({f"index tag {i} v{version}": tag for i, tag in enumerate(tags)})
    return blobs


def test_erase_leaves_no_trace_in_the_vault_files(tmp_path):
    """After erase, no file of the vault holds the contact's values, data keys, sealed blobs or index tags."""
    path = tmp_path / "erase.db"
    number = "0151 55507319"
    target = Contact(
        display_name="Xaverine Quellbrunn-Löschtest",
        name=NameParts(given="Xaverine", family="Quellbrunn-Löschtest"),
        phones=[_phone(number)],
        emails=[EmailAddress(address="xaverine.quellbrunn@example.org")],
        notes=["Löschvermerk QX-7319: Ratenzahlung vereinbart"],
    )
    values = {
        "name": target.display_name,
        "given name": "Xaverine",
        "family name": "Quellbrunn-Löschtest",
        "raw number": number,
        "E.164 number": "+4915155507319",
        "e-mail": "xaverine.quellbrunn@example.org",
        "note": "Löschvermerk QX-7319",
    }
    with Vault.create(path, PASSPHRASE, kdf=FAST) as vault:
        others = [_contact(i) for i in range(4)]
        vault.add_many([*others[:2], target, *others[2:]])
        blobs = _sealed(path, target.id.bytes, tmp_path / "snapshot-1")
        current = vault.get(target.id)
        for n in range(1, 4):
            note = f"Löschvermerk QX-7319 Fassung {n}: Mahnstufe {n}"
            current = vault.update(current.model_copy(update={"notes": (note,)}))
            values[f"note v{n + 1}"] = note
            blobs |= _sealed(path, target.id.bytes, tmp_path / f"snapshot-{n + 1}")
        kept = [c for c in vault.contacts() if c.id != target.id]
        needles = {f"{k} (UTF-8)": v.encode() for k, v in values.items()}
        needles |= {f"{k} (UTF-16-LE)": v.encode("utf-16-le") for k, v in values.items()}
        needles |= blobs
        assert len([k for k in blobs if k.startswith("wrapped data key")]) == 4
        # Before the erase, the search finds every version's wrapped data key (in the WAL or the database).
        keys_found = {hit.split(" in ")[0] for hit in _traces(tmp_path, path.name, blobs)[1]}
        assert {k for k in blobs if k.startswith("wrapped data key")} <= keys_found

        vault.erase(target.id)
        searched, found = _traces(tmp_path, path.name, needles)
        assert path.name in searched
        assert found == [], f"after erase, with the vault open (searched {searched})"
        report = vault.verify()
        assert (report.contacts, report.erased, report.index_entries) == (4, 1, 8)  # a number and a card each
        assert list(vault.contacts()) == kept
        with pytest.raises(ContactErased):
            vault.get(target.id)

    searched, found = _traces(tmp_path, path.name, needles)
    assert found == [], f"after erase and close (searched {searched})"
    with Vault.open(path, PASSPHRASE) as vault:
        report = vault.verify()
        assert (report.contacts, report.erased, report.index_entries) == (4, 1, 8)  # a number and a card each
        assert list(vault.contacts()) == kept


# --- 6. one writer at a time ------------------------------------------------------------------------------


def _readline(stream: IO[str], timeout: float) -> str:
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        assert selector.select(timeout), f"the child said nothing for {timeout} s"
    return stream.readline().strip()


def test_vault_open_in_another_process_is_shared_and_nothing_is_lost(tmp_path):
    """While another process has the vault open, this one opens it too, reads its writes and writes."""
    path = tmp_path / "shared.db"
    with Vault.create(path, PASSPHRASE, kdf=FAST) as vault:
        mine = vault.add_many([_contact(i) for i in range(3)])
    env = {**os.environ, PASSPHRASE_VARIABLE: PASSPHRASE}
    command = [sys.executable, str(CHILD), "hold", str(path), "7"]
    pipe = subprocess.PIPE
    with subprocess.Popen(command, stdin=pipe, stdout=pipe, text=True, env=env) as child:  # noqa: S603
        assert child.stdin is not None
        assert child.stdout is not None
        try:
            assert _readline(child.stdout, 60) == "ready"
            with Vault.open(path, PASSPHRASE) as vault:
                assert len(vault) == 10  # the other process's contacts are there at once
                mine.append(vault.add(_contact(99)))
            assert child.poll() is None, "the child let go of the vault too early"
        finally:
            child.stdin.close()
            child.wait(timeout=60)
    assert child.returncode == 0
    entries, contacts = _read_all(path)
    assert {e.id for e in entries} == {*mine, *(contact_id(HOLD_BATCH, i) for i in range(7))}
    assert len(contacts) == 11


def test_two_vault_objects_in_one_process_see_each_others_writes(tmp_path):
    """Two Vault objects open on one file at once: each sees what the other committed."""
    path = _new_vault(tmp_path, 2)
    with Vault.open(path, PASSPHRASE) as first, Vault.open(path, PASSPHRASE) as second:
        added = first.add(_contact(7))
        assert len(second) == 3
        assert second.get(added).display_name == first.get(added).display_name
        second.erase(added)
        with pytest.raises(ContactErased):
            first.get(added)
        first.verify()
        second.verify()


def test_a_writer_busy_past_the_lock_timeout_gives_vault_locked(tmp_path):
    """A write waits for another writer's transaction, up to ``lock_timeout``; then ``VaultLocked``."""
    path = _new_vault(tmp_path, 2)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another writer, in the middle of its transaction
        with Vault.open(path, PASSPHRASE, lock_timeout=0.2) as vault:
            assert len(vault) == 2  # readers are not blocked by the writer
            with pytest.raises(VaultLocked):
                vault.add(_contact(8))
        other.execute("ROLLBACK")
    finally:
        other.close()
    with Vault.open(path, PASSPHRASE) as vault:
        assert len(vault) == 2
        vault.add(_contact(8))
        vault.verify()
