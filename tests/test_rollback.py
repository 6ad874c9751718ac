"""Rollback detection, on both backends: an older copy of the vault, put back whole or in part, is refused.

Every copy of a vault is authentic, so only this client's memory (``contactvault.vault.memory``: the newest
state generation it saw, per vault) tells an older one from the newest. These tests put back older copies as
the people who could do it would: the SQLite file copied and copied back, or (while the vault is open) an
older file written over it with SQLite's backup API; in PostgreSQL the schema's tables copied aside with SQL
and put back, as a database administrator would. Each test runs on an SQLite file and on a PostgreSQL schema
(``pg_url``), with its own memory folder (the ``client_memory`` fixture of ``conftest.py``).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from contactvault import Contact, KdfParams, Policy, Vault, VaultCorrupted, VaultError
from contactvault.cli import main as cli
from contactvault.sync import export_book, messenger_book
from contactvault.vault.memory import STATE_DIR_VARIABLE, ClientMemory, RolledBack, Seen
from tests.rollback_child import PASSPHRASE_VARIABLE

FAST = KdfParams.insecure_fast_for_tests()
PASSPHRASE = "zurück in die Zukunft"  # noqa: S105 - a test passphrase
ROOT = Path(__file__).resolve().parent.parent
TABLES = ("header", "state", "contacts", "phone_index", "disclosures")


class Place:
    """A vault on one backend, and the tools to copy it aside and put the copy back from outside."""

    def __init__(self, request: pytest.FixtureRequest, tmp_path: Path) -> None:
        self.kind = request.param
        self.tmp = tmp_path
        if self.kind == "sqlite":
            self.location = str(tmp_path / "vault.db")
        else:
            self.location = request.getfixturevalue("pg_url")
            self.server = request.getfixturevalue("pg_server")
            self.schema = self.location.rpartition("schema=")[2]
            self.aside_schema = f"{self.schema}_aside"
            request.addfinalizer(lambda: self.server.drop_schema(self.aside_schema))
        self.copies = 0

    # --- SQL on the vault's tables, from outside the vault ------------------------------------------------

    def sql(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run ``statement`` (``?`` parameters, ``{table}`` names) on the vault's tables, committed."""
        names = {t: t if self.kind == "sqlite" else f'"{self.schema}".{t}' for t in TABLES}
        text = statement.format(**names)
        if self.kind == "sqlite":
            with closing(sqlite3.connect(self.location, isolation_level=None)) as db:
                return db.execute(text, params).fetchall()
        with self.server.connect() as db:
            cursor = db.execute(text.replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description else []

    def aside(self) -> None:
        """Copy the whole vault aside, as it is now (open or not)."""
        if self.kind == "sqlite":
            self.copies += 1
            with (
                closing(sqlite3.connect(self.location)) as live,
                closing(sqlite3.connect(self._copy)) as copy,
            ):
                live.backup(copy)
            return
        with self.server.connect() as db:
            db.execute(f'DROP SCHEMA IF EXISTS "{self.aside_schema}" CASCADE')
            db.execute(f'CREATE SCHEMA "{self.aside_schema}"')
            for table in TABLES:
                db.execute(f'CREATE TABLE "{self.aside_schema}".{table} AS TABLE "{self.schema}".{table}')

    def put_back(self) -> None:
        """Put the copy back over the vault in one transaction (whoever has it open)."""
        if self.kind == "sqlite":
            with (
                closing(sqlite3.connect(self._copy)) as copy,
                closing(sqlite3.connect(self.location)) as live,
            ):
                copy.backup(live)
            return
        with self.server.connect() as db, db.transaction():
            for table in TABLES:
                db.execute(f'DELETE FROM "{self.schema}".{table}')  # noqa: S608 - test names
                db.execute(f'INSERT INTO "{self.schema}".{table} SELECT * FROM "{self.aside_schema}".{table}')  # noqa: S608

    @property
    def _copy(self) -> str:
        return str(self.tmp / f"aside-{self.copies}.db")


@pytest.fixture(params=["sqlite", "postgresql"])
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Place:
    """A new vault with two contacts, on each backend."""
    where = Place(request, tmp_path)
    with Vault.create(where.location, PASSPHRASE, kdf=FAST) as vault:
        vault.add_many([Contact(display_name="Anna Alt"), Contact(display_name="Bernd Alt")])
    return where


def _open(place: Place) -> Vault:
    return Vault.open(place.location, PASSPHRASE, lock_timeout=30)


def _add(place: Place, name: str = "Neu") -> None:
    with _open(place) as vault:
        vault.add(Contact(display_name=name))


# --- an older copy of the whole vault -----------------------------------------------------------------------


def test_an_older_copy_of_the_whole_vault_is_refused_at_open(place):
    """Copied aside, written to, put back: VaultCorrupted naming both generations and --accept-older."""
    place.aside()
    with _open(place) as vault:
        vault.add(Contact(display_name="Clara Neu"))
        newest = vault.verify().generation
    place.put_back()
    with pytest.raises(RolledBack) as refused:
        _open(place)
    message = str(refused.value)
    assert f"generation {newest - 1}, older than generation {newest} this client saw" in message
    assert "contactvault restore --accept-older" in message
    assert isinstance(refused.value, VaultCorrupted)
    with pytest.raises(VaultCorrupted):  # refused again: nothing was lowered
        _open(place)


def test_a_copied_file_put_back_is_refused(tmp_path):
    """The SQLite file itself copied after close and copied back over the newer one: VaultCorrupted."""
    path = tmp_path / "file.db"
    Vault.create(path, PASSPHRASE, kdf=FAST).close()
    shutil.copyfile(path, tmp_path / "old.db")
    with Vault.open(path, PASSPHRASE) as vault:
        vault.add(Contact(display_name="Dora Neu"))
    for leftover in tmp_path.glob("file.db-*"):
        leftover.unlink()
    shutil.copyfile(tmp_path / "old.db", path)
    with pytest.raises(VaultCorrupted, match="older than generation"):
        Vault.open(path, PASSPHRASE)


def test_a_first_open_on_another_client_cannot_tell(place, tmp_path, monkeypatch):
    """What the memory cannot do: a client that never saw the newer vault opens the older copy."""
    place.aside()
    _add(place)
    place.put_back()
    monkeypatch.setenv(STATE_DIR_VARIABLE, str(tmp_path / "new-machine"))
    with _open(place) as vault:
        assert len(vault) == 2


def test_the_newest_log_records_dropped_with_the_state_are_refused(place, tmp_path, monkeypatch):
    """The last log records deleted and the state from before them put back: refused.

    That older vault is consistent (its row set agrees with its state): only the memory refuses it.
    """
    (old_state,) = place.sql("SELECT data FROM {state}")[0]
    (records,) = place.sql("SELECT count(*) FROM {disclosures}")[0]
    with _open(place) as vault:
        for name in ("a", "b"):
            export_book(vault, messenger_book(vault, Policy.default()), tmp_path / f"{name}.vcf")
    assert place.sql("SELECT count(*) FROM {disclosures}")[0][0] == records + 2
    place.sql("DELETE FROM {disclosures} WHERE seq > ?", (records,))
    place.sql("UPDATE {state} SET data = ? WHERE id = 1", (old_state,))
    with pytest.raises(RolledBack):
        _open(place)
    # The row set itself is consistent: a client without the memory opens it (and sees no records).
    monkeypatch.setenv(STATE_DIR_VARIABLE, str(tmp_path / "elsewhere"))
    with _open(place) as vault:
        assert len(vault.activity()) == records


# --- an older copy put back while the vault is open ---------------------------------------------------------


@pytest.mark.parametrize("operation", ["list", "get", "contacts", "add", "modify", "erase", "verify"])
def test_another_vault_object_notices_the_older_copy(place, operation):
    """A Vault object that saw the newer state: its next read or write raises VaultCorrupted, writes none."""
    with _open(place) as vault:
        anna = next(entry.id for entry in vault if entry.display_name == "Anna Alt")
        place.aside()
        vault.add(Contact(display_name="Clara Neu"))
        place.put_back()
        do = {
            "list": lambda: list(vault),
            "get": lambda: vault.get(anna),
            "contacts": lambda: list(vault.contacts()),
            "add": lambda: vault.add(Contact(display_name="Nie")),
            "modify": lambda: vault.modify(anna, lambda c: c.model_copy(update={"notes": ("nie",)})),
            "erase": lambda: vault.erase(anna),
            "verify": vault.verify,
        }[operation]
        with pytest.raises(RolledBack, match="older than generation"):
            do()
    assert place.sql("SELECT count(*) FROM {contacts}")[0][0] == 2  # the older copy, not written to


def _child(place: Place) -> subprocess.Popen[str]:
    env = {**os.environ, PASSPHRASE_VARIABLE: PASSPHRASE}
    command = [sys.executable, "-m", "tests.rollback_child", place.location]
    pipe = subprocess.PIPE
    child = subprocess.Popen(command, stdin=pipe, stdout=pipe, stderr=pipe, text=True, env=env, cwd=ROOT)  # noqa: S603
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    return child


def _ask(child: subprocess.Popen[str], command: str) -> str:
    assert child.stdin is not None
    assert child.stdout is not None
    child.stdin.write(command + "\n")
    child.stdin.flush()
    return child.stdout.readline().strip()


def test_another_process_holding_the_vault_open_notices_the_older_copy(place):
    """A process keeps the vault open; the vault is put back to before its last write: it refuses to go on."""
    child = _child(place)
    try:
        assert _ask(child, "read") == "ok 2"
        place.aside()
        assert _ask(child, "write") == "ok 3"
        place.put_back()
        assert _ask(child, "read") == "corrupted"
        assert _ask(child, "write") == "corrupted"
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=120)
        assert child.stderr is not None
        errors = child.stderr.read()
        child.stdout.close()  # type: ignore[union-attr]
        child.stderr.close()
    assert "older than generation" in errors
    assert place.sql("SELECT count(*) FROM {contacts}")[0][0] == 2


def test_a_read_in_an_older_snapshot_is_no_rollback(place):
    """An iteration still running (its own older snapshot) while the vault moves on is not taken for one.

    Another thread of the same Vault object sees a newer state; a read inside the iteration then finds its
    older snapshot's state, which is read once more on a connection of its own before anything is refused.
    """
    with _open(place) as vault, _open(place) as other:
        ids = [entry.id for entry in vault]
        seen: list[str] = []
        for entry in vault:  # the SQLite cursor holds one snapshot while the loop runs
            if not seen:
                other.add(Contact(display_name="Clara Neu"))
                reader = threading.Thread(target=lambda: seen.append(vault.get(ids[1]).display_name or ""))
                reader.start()
                reader.join()
            seen.append(vault.directory_entry(entry.id).display_name or "")
        assert seen[0] == "Bernd Alt"
        assert len(vault) == 3


def test_an_import_looks_at_the_state_once_not_per_contact(place, monkeypatch):
    """50 contacts updated by one import: a handful of state reads (the call's and the commit's), not 50."""
    with _open(place) as vault:
        stored = [Contact(display_name=f"Person {i}") for i in range(50)]
        vault.add_many(stored)
        storage = vault._core.storage
        reads: list[str] = []
        read_single = storage.read_single

        def counted(table: str) -> bytes:
            reads.append(table)
            return read_single(table)

        monkeypatch.setattr(storage, "read_single", counted)
        report = vault.import_contacts([c.model_copy(update={"notes": ("neu",)}) for c in stored])
        assert len(report.updated) == 50
        assert reads.count("state") <= 3


def test_an_import_onto_an_older_copy_writes_nothing(place):
    """An import into a vault put back meanwhile: refused (the commit looks at the state), nothing written."""
    with _open(place) as vault:
        place.aside()
        vault.add(Contact(display_name="Clara Neu"))
        place.put_back()
        with pytest.raises(RolledBack):
            vault.import_contacts([Contact(display_name="Dora Neu")])
    assert place.sql("SELECT count(*) FROM {contacts}")[0][0] == 2


# --- rows put back one by one -------------------------------------------------------------------------------


def _rows(place: Place) -> list[tuple[Any, ...]]:
    order = "seq" if place.kind == "postgresql" else "rowid"
    return place.sql(f"SELECT id, version, directory, data_key, payload FROM {{contacts}} ORDER BY {order}")  # noqa: S608


def test_an_older_single_row_is_refused(place):
    """One contact's row put back as it was before an update: VaultCorrupted at open."""
    cid, *old = _rows(place)[0]
    with _open(place) as vault:
        vault.modify(uuid.UUID(bytes=bytes(cid)), lambda c: c.model_copy(update={"notes": ("neu",)}))
    place.sql(
        "UPDATE {contacts} SET version = ?, directory = ?, data_key = ?, payload = ? WHERE id = ?",
        (*old, cid),
    )
    with pytest.raises(VaultCorrupted):
        _open(place)


def test_two_swapped_rows_are_refused(place):
    """The sealed blobs of two contacts swapped: VaultCorrupted at open."""
    first, second = _rows(place)[:2]
    update = "UPDATE {contacts} SET directory = ?, data_key = ?, payload = ? WHERE id = ?"
    place.sql(update, (*second[2:], first[0]))
    place.sql(update, (*first[2:], second[0]))
    with pytest.raises(VaultCorrupted):
        _open(place)


# --- verify -------------------------------------------------------------------------------------------------


def test_verify_reports_the_generation_and_the_memory(place, tmp_path):
    """verify() gives the generation and what this client's memory held; a backup's check consults none."""
    with _open(place) as vault:
        first = vault.verify()
        assert first.memory_consulted
        assert first.seen_generation == first.generation
        vault.add(Contact(display_name="Clara Neu"))
        second = vault.verify()
        assert second.generation == first.generation + 1
        assert second.seen_generation is not None
        assert second.seen_generation <= second.generation
        assert not vault.backup(tmp_path / "b.db").check.memory_consulted
    (state,) = place.sql("SELECT data FROM {state}")[0]
    remembered = json.loads(_memory_file().read_text(encoding="utf-8"))["state"]
    assert (remembered["generation"], remembered["sha256"]) == (
        second.generation,
        Seen.of(0, state).state_hash,
    )


def _memory_file() -> Path:
    """The test's one memory file (each test has a memory folder of its own, and one vault here)."""
    (path,) = (Path(os.environ[STATE_DIR_VARIABLE]) / "seen").glob("*.json")
    return path


# --- restore --accept-older ---------------------------------------------------------------------------------


def test_restore_of_an_older_backup_is_accepted_once_and_logged(place, tmp_path):
    """Refused unless accept_older; then logged in the restored vault, the new baseline, opened normally."""
    with _open(place) as vault:
        vault.backup(tmp_path / "backup.db")
        vault.add(Contact(display_name="Clara Neu"))
        seen = vault.verify().generation
    restored = tmp_path / "restored.db"
    with pytest.raises(RolledBack, match=r"backup\.db: this backup is at generation .* --accept-older"):
        Vault.restore(tmp_path / "backup.db", restored, PASSPHRASE)
    assert not restored.exists()
    report = Vault.restore(tmp_path / "backup.db", restored, PASSPHRASE, accept_older=True)
    assert report.accepted_older == seen
    assert report.check.generation < seen
    with Vault.open(restored, PASSPHRASE) as vault:  # the next open is a normal one
        assert len(vault) == 2
        (logged,) = [r for r in vault.activity() if getattr(r, "action", None) == "restore"]
        assert f"this client had seen generation {seen}" in logged.detail
        check = vault.verify()
        assert check.seen_generation == check.generation == report.check.generation + 1
    with Vault.open(restored, PASSPHRASE):  # and again
        pass
    with pytest.raises(VaultCorrupted):  # the backup is older than the new baseline: refused again
        Vault.restore(tmp_path / "backup.db", tmp_path / "again.db", PASSPHRASE)


def test_restore_of_a_backup_that_is_not_older_logs_nothing(place, tmp_path):
    """A backup as new as the vault restores without accept_older, and the copy is the backup's bytes."""
    with _open(place) as vault:
        vault.backup(tmp_path / "backup.db")
        records = len(vault.activity())
    report = Vault.restore(tmp_path / "backup.db", tmp_path / "r.db", PASSPHRASE, accept_older=True)
    assert report.accepted_older is None
    assert (tmp_path / "r.db").read_bytes() == (tmp_path / "backup.db").read_bytes()
    with Vault.open(tmp_path / "r.db", PASSPHRASE) as vault:
        assert len(vault.activity()) == records


def test_cli_restore_accept_older(tmp_path):
    """`contactvault restore`: exit 3 naming --accept-older; with it, done, said, logged, --json tells."""
    path, secret = tmp_path / "v.db", tmp_path / "pass.txt"
    secret.write_text(PASSPHRASE + "\n", encoding="utf-8")
    with Vault.create(path, PASSPHRASE, kdf=FAST) as vault:
        vault.add(Contact(display_name="Anna Alt"))
        vault.backup(tmp_path / "backup.db")
        vault.add(Contact(display_name="Bernd Neu"))
    runner = CliRunner()
    restore = [
        "restore",
        str(tmp_path / "backup.db"),
        str(tmp_path / "r.db"),
        "--passphrase-file",
        str(secret),
    ]
    refused = runner.invoke(cli, restore)
    assert refused.exit_code == 3
    assert "backup.db: this backup is at generation" in refused.output
    assert "--accept-older" in refused.output
    done = runner.invoke(cli, [*restore, "--accept-older", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["accepted_older"] > 0
    again = runner.invoke(cli, [*restore[:2], str(tmp_path / "r2.db"), *restore[3:]])
    assert again.exit_code == 3
    with Vault.open(tmp_path / "r.db", PASSPHRASE) as vault:
        assert [r.action for r in vault.activity() if getattr(r, "action", None) == "restore"] == ["restore"]


# --- the memory file ----------------------------------------------------------------------------------------


def test_a_damaged_memory_file_fails_closed_and_says_which_file(place):
    """Garbage (or another vault's memory) in the file: VaultError naming it and how to reset it."""
    path = _memory_file()
    for damage in (b"{not json", json.dumps({"format": 1, "vault_id": "00" * 16}).encode(), b"\xff\xfe"):
        path.write_bytes(damage)
        with pytest.raises(VaultError) as refused:
            _open(place)
        assert not isinstance(refused.value, VaultCorrupted)
        assert str(path) in str(refused.value)
        assert "delete it to reset it" in str(refused.value)
    path.unlink()  # reset: the next open trusts the vault as it finds it
    _open(place).close()


def test_the_memory_is_private_and_holds_no_secret(tmp_path, monkeypatch):
    """Folder 0700, files 0600 even under umask 000; the file holds the generation and hashes only."""
    monkeypatch.setenv(STATE_DIR_VARIABLE, str(tmp_path / "state"))
    old = os.umask(0)
    try:
        with Vault.create(tmp_path / "v.db", PASSPHRASE, kdf=FAST) as vault:
            vault.add(Contact(display_name="Anna Geheim"))
    finally:
        os.umask(old)
    folder = tmp_path / "state" / "seen"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = list(folder.iterdir())
    assert {p.suffix for p in files} == {".json", ".lock"}
    for file in files:
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file.name
    (memory,) = folder.glob("*.json")
    text = memory.read_text(encoding="utf-8")
    assert PASSPHRASE not in text
    assert "Anna" not in text
    assert set(json.loads(text)) == {"format", "vault_id", "state", "kdf"}


def test_remember_never_lowers_and_accept_does(tmp_path):
    """``remember`` keeps the higher generation; accept sets any; the state hash goes with its generation."""
    memory, vault_id = ClientMemory(tmp_path), uuid.uuid4().bytes
    assert memory.seen(vault_id) is None
    assert memory.remember(vault_id, Seen.of(5, b"five")).generation == 5
    assert memory.remember(vault_id, Seen.of(3, b"three")).generation == 5
    stored = memory.seen(vault_id)
    assert stored is not None
    assert stored.state_hash == Seen.of(5, b"five").state_hash
    memory.accept(vault_id, Seen.of(3, b"three"))
    stored = memory.seen(vault_id)
    assert stored is not None
    assert stored.generation == 3


def test_the_kdf_memory_per_key_slot(tmp_path):
    """kdf_for gives what remember_kdf stored, per vault and slot; a later remember_kdf replaces it."""
    memory, vault_id = ClientMemory(tmp_path), uuid.uuid4().bytes
    assert memory.kdf_for(vault_id, "anna") is None
    strong, weak = KdfParams.default(), FAST
    memory.remember_kdf(vault_id, "anna", strong)
    memory.remember_kdf(vault_id, "bernd", weak)
    assert memory.kdf_for(vault_id, "anna") == strong
    assert memory.kdf_for(vault_id, "bernd") == weak
    assert memory.kdf_for(uuid.uuid4().bytes, "anna") is None
    memory.remember_kdf(vault_id, "anna", weak)  # a passphrase change to a lower cost, seen authenticated
    assert memory.kdf_for(vault_id, "anna") == weak
    memory.remember(vault_id, Seen.of(9, b"nine"))  # the state beside it changes nothing of the KDF
    assert memory.kdf_for(vault_id, "bernd") == weak


def _hammer(folder: str, vault_id: bytes, seed: int, top: int) -> None:
    """One process: remember every generation up to ``top`` in a random order; the memory never goes back."""
    memory = ClientMemory(folder)
    order = list(range(1, top + 1))
    random.Random(seed).shuffle(order)
    highest = 0
    for generation in order:
        stored = memory.remember(vault_id, Seen.of(generation, generation.to_bytes(8, "big")))
        if stored.generation < max(generation, highest):
            raise SystemExit(f"lowered: {stored.generation} after {highest}")
        highest = stored.generation
        seen = memory.seen(vault_id)
        if seen is None or seen.generation < highest:
            raise SystemExit("read back lower")


def test_processes_updating_the_memory_at_once_never_lower_it(tmp_path):
    """4 processes remembering 150 generations each in random orders: never lowered, the top one stays."""
    vault_id, top = uuid.uuid4().bytes, 150
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_hammer, args=(str(tmp_path), vault_id, seed, top)) for seed in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(300)
        assert worker.exitcode == 0
    seen = ClientMemory(tmp_path).seen(vault_id)
    assert seen is not None
    assert (seen.generation, seen.state_hash) == (top, Seen.of(top, top.to_bytes(8, "big")).state_hash)
    assert [p.name for p in (tmp_path / "seen").iterdir() if p.name.endswith(".tmp")] == []
