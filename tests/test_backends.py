"""One suite for the storage protocol (``backends.base``), run on both backends.

Each test runs on an SQLite file and on a schema of the real PostgreSQL server of the ``pg_server`` fixture.

Bytes in, bytes out: the backends never see a key or a plaintext, so the rows here are random bytes. What is
checked is the protocol's semantics: round trips, insertion order, all-or-nothing transactions, snapshots
that do not move, serialised writers, stale writes refused, errors as contactvault errors.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from contactvault.errors import (
    ConflictError,
    VaultClosed,
    VaultCorrupted,
    VaultExists,
    VaultLocked,
    VaultNotFound,
)
from contactvault.vault.backends import create, open_backend
from contactvault.vault.backends.base import Backend, Row, TagRow, copy_rows

HEADER = bytes(range(256)) + b"\x00header"
STATE = b"\x00state\xff" * 10
ALL_BYTES = bytes(range(256))


def _row(version: int = 1, *, erased: bool = False) -> Row:
    """A contact row of random bytes (a tombstone has no data key and no payload)."""
    directory = os.urandom(60) + ALL_BYTES
    if erased:
        return Row(uuid.uuid4().bytes, version, directory, None, None)
    return Row(uuid.uuid4().bytes, version, directory, os.urandom(76), os.urandom(300) + ALL_BYTES)


@pytest.fixture(params=["sqlite", "postgres"])
def location(request, tmp_path) -> str | Path:
    """Where a test's vault goes: a file in ``tmp_path``, or a fresh schema on the test server."""
    if request.param == "sqlite":
        return tmp_path / "vault.db"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(location):
    """A new vault holding ``HEADER`` and ``STATE``, closed after the test."""
    backend = create(location, HEADER, STATE, lock_timeout=10.0)
    yield backend
    backend.close()


def _reopen(location, lock_timeout: float = 10.0) -> Backend:
    return open_backend(location, lock_timeout=lock_timeout)


def _in_threads(*jobs: Callable[[], object]) -> None:
    """Run the jobs in threads at once; an exception in one is raised here."""
    with ThreadPoolExecutor(len(jobs)) as pool:
        for future in [pool.submit(job) for job in jobs]:
            future.result()


def _everything(backend: Backend) -> tuple[object, ...]:
    """Every byte the backend holds, read in one snapshot."""
    with backend.snapshot():
        return (
            backend.read_single("header"),
            backend.read_single("state"),
            list(backend.rows(with_payload=True)),
            sorted(backend.index_pairs()),
            list(backend.log_records()),
            backend.count(),
        )


def test_bytes_round_trip(store, location):
    """Header, state, rows, index and log come back byte for byte, also through another backend object."""
    rows = [_row(), _row(version=3), _row(version=2, erased=True)]
    pairs = [(os.urandom(32), rows[0].id), (ALL_BYTES[:32], rows[0].id), (os.urandom(32), rows[1].id)]
    with store.transaction():
        store.insert(rows)
        store.index_add(pairs)
        store.log_append(1, ALL_BYTES)
        store.log_append(2, b"\x00")
        store.write_single("state", ALL_BYTES * 3)
    store.check_schema()
    store.integrity_check()
    other = _reopen(location)
    try:
        for backend in (store, other):
            assert backend.read_single("header") == HEADER
            assert backend.read_single("state") == ALL_BYTES * 3
            assert list(backend.rows(with_payload=True)) == rows
            assert list(backend.rows()) == [row._replace(payload=None) for row in rows]
            assert backend.get(rows[1].id) == rows[1]
            assert backend.get(uuid.uuid4().bytes) is None
            assert backend.count() == (3, 2)
            assert sorted(backend.index_pairs()) == sorted(pairs)
            assert sorted(backend.index_of(rows[0].id)) == sorted(
                tag for tag, cid in pairs if cid == rows[0].id
            )
            assert backend.index_lookup(pairs[2][0]) == [rows[1].id]
            assert backend.index_lookup(b"no such tag") == []
            assert list(backend.log_records()) == [(1, ALL_BYTES), (2, b"\x00")]
            tags = list(backend.tag_rows())
            assert tags[0] == TagRow(
                rows[0].id, 1, rows[0].directory[-16:], rows[0].data_key[-16:], rows[0].payload[-16:]
            )
            assert tags[2] == TagRow(rows[2].id, 2, rows[2].directory[-16:], b"", b"")
            blobs = [
                v for r in backend.rows(with_payload=True) for v in (r.id, r.directory, r.data_key, r.payload)
            ]
            assert {type(v) for v in blobs} == {bytes, type(None)}  # bytes, never a memoryview
    finally:
        other.close()


def test_rows_come_back_in_insertion_order(store):
    """Rows come back in the order they were added, over several transactions, not sorted by id."""
    added: list[Row] = []
    for _ in range(3):
        batch = [_row() for _ in range(700)]
        with store.transaction():
            store.insert(batch[:350])
            store.insert(batch[350:])
        added += batch
    assert [row.id for row in store.rows()] == [row.id for row in added]
    assert [row.id for row in store.tag_rows()] == [row.id for row in added]
    with store.transaction():
        for seq in range(1, 1201):
            store.log_append(seq, seq.to_bytes(2, "big"))
    assert [seq for seq, _ in store.log_records()] == list(range(1, 1201))


def test_a_transaction_is_committed_whole_or_not_at_all(store, location):
    """An exception inside a transaction writes nothing; a committed one is seen by another backend."""
    before = _everything(store)
    row = _row()

    def write_then_fail() -> None:
        with store.transaction():
            store.insert([row])
            store.index_add([(b"t" * 32, row.id)])
            store.log_append(1, b"record")
            store.write_single("state", b"new state")
            store.write_single("header", b"new header")
            raise KeyError("stop")

    with pytest.raises(KeyError):
        write_then_fail()
    assert _everything(store) == before
    with store.transaction():
        store.insert([row])
        store.write_single("state", b"new state")
    other = _reopen(location)
    try:
        assert other.get(row.id) == row
        assert other.read_single("state") == b"new state"
    finally:
        other.close()


def test_transactions_do_not_nest(store):
    """A transaction in a transaction or snapshot is a RuntimeError; a snapshot inside either is a no-op."""
    with store.transaction():
        with pytest.raises(RuntimeError):
            store.transaction().__enter__()
        with store.snapshot():
            store.write_single("state", b"inside")
    assert store.read_single("state") == b"inside"
    with store.snapshot(), store.snapshot():
        with pytest.raises(RuntimeError):
            store.transaction().__enter__()
        assert store.read_single("state") == b"inside"
    with store.transaction():  # usable again afterwards
        store.write_single("state", b"after")
    assert store.read_single("state") == b"after"


def test_a_snapshot_does_not_see_later_writes(store, location):
    """Inside a snapshot every read sees the state it began with, while another writer commits."""
    with store.transaction():
        store.insert([_row()])
    writer = _reopen(location)
    try:
        with store.snapshot():
            state = store.read_single("state")
            rows = list(store.rows(with_payload=True))

            def write() -> None:
                with writer.transaction():
                    writer.insert([_row()])
                    writer.write_single("state", b"moved on")

            thread = threading.Thread(target=write)
            thread.start()
            thread.join()
            assert store.read_single("state") == state
            assert list(store.rows(with_payload=True)) == rows
            assert store.count() == (1, 1)
        assert store.read_single("state") == b"moved on"
        assert store.count() == (2, 2)
    finally:
        writer.close()


def test_one_iteration_reads_one_snapshot(store, location):
    """An iteration outside any snapshot is consistent too: rows added meanwhile are not half seen."""
    with store.transaction():
        store.insert([_row() for _ in range(1500)])
    writer = _reopen(location)
    try:
        rows = store.rows()
        first = next(rows)
        with writer.transaction():
            writer.insert([_row() for _ in range(10)])
        assert 1 + sum(1 for _ in rows) == 1500
        assert first.version == 1
    finally:
        writer.close()


def test_a_thread_may_write_while_it_iterates(store):
    """A write transaction inside an iteration over the rows, in the same thread, works."""
    with store.transaction():
        store.insert([_row() for _ in range(1200)])
    seen = 0
    for seen, row in enumerate(store.rows(), start=1):
        if seen % 500 == 0:
            with store.transaction():
                store.replace(row._replace(version=2), 1)
    assert seen >= 1200
    assert sum(row.version == 2 for row in store.rows()) == 2


def test_writers_are_serialised(store, location):
    """Threads with their own backends each add 1 to a counter in the state N times: the sum is right."""
    with store.transaction():
        store.write_single("state", b"0")
    per_thread, threads = 25, 4

    def count_up(backend: Backend) -> None:
        for _ in range(per_thread):
            with backend.transaction():
                value = int(backend.read_single("state"))
                backend.write_single("state", str(value + 1).encode())

    backends = [_reopen(location, lock_timeout=60.0) for _ in range(threads - 1)]
    try:
        _in_threads(*(lambda b=b: count_up(b) for b in [*backends, store]))
    finally:
        for backend in backends:
            backend.close()
    assert int(store.read_single("state")) == per_thread * threads


def test_one_backend_serves_several_threads(store):
    """One backend object used by several threads at once: each thread's writes are all there."""

    def add() -> None:
        for _ in range(10):
            with store.transaction():
                store.insert([_row()])
            assert store.count()[0] >= 1

    _in_threads(add, add, add, add)
    assert store.count() == (40, 40)


def test_a_writer_that_waits_too_long_is_locked_out(store, location):
    """While one transaction holds the writers' lock, another backend's write raises VaultLocked."""
    impatient = _reopen(location, lock_timeout=0.2)
    try:
        with store.transaction():
            store.write_single("state", b"held")
            with pytest.raises(VaultLocked), impatient.transaction():
                impatient.write_single("state", b"never")
        assert impatient.read_single("state") == b"held"
        with impatient.transaction():  # free again
            impatient.write_single("state", b"later")
    finally:
        impatient.close()


def test_a_stale_replace_is_a_conflict(store):
    """replace() with a version that is no longer stored raises ConflictError naming the contact."""
    row = _row()
    with store.transaction():
        store.insert([row])
    with store.transaction():
        store.replace(row._replace(version=2, payload=b"second"), 1)
    with pytest.raises(ConflictError) as caught, store.transaction():
        store.replace(row._replace(version=2, payload=b"stale"), 1)
    assert caught.value.stale
    assert caught.value.contact_id == uuid.UUID(bytes=row.id)
    assert store.get(row.id) == row._replace(version=2, payload=b"second")
    with pytest.raises(ConflictError), store.transaction():
        store.replace(_row(), 1)  # never stored


def test_removing_a_missing_index_entry_is_damage(store):
    """index_remove of a tag that is not there raises VaultCorrupted, and the transaction writes nothing."""
    row = _row()
    with store.transaction():
        store.insert([row])
        store.index_add([(b"a" * 32, row.id), (b"b" * 32, row.id)])
    with pytest.raises(VaultCorrupted), store.transaction():
        store.index_remove(row.id, [b"a" * 32, b"missing" * 4])
    assert sorted(store.index_of(row.id)) == [b"a" * 32, b"b" * 32]
    with store.transaction():
        store.index_remove(row.id, [b"a" * 32, b"a" * 32, b"b" * 32])  # a tag twice is one entry
    assert store.index_of(row.id) == []


def test_a_duplicate_id_is_a_conflict(store):
    """Inserting an id that is stored already raises ConflictError; the whole transaction is undone."""
    row = _row()
    with store.transaction():
        store.insert([row])

    def insert_twice() -> None:
        with store.transaction():
            store.insert([_row()])
            store.insert([row._replace(version=5)])

    with pytest.raises(ConflictError):
        insert_twice()
    assert [r.id for r in store.rows()] == [row.id]
    with pytest.raises(ConflictError), store.transaction():
        store.index_add([(b"t" * 32, row.id), (b"t" * 32, row.id)])
    assert store.index_of(row.id) == []


def test_create_never_overwrites_and_open_needs_a_vault(store, location):
    """Creating again at the same place is VaultExists, the vault unchanged; opening nothing VaultNotFound."""
    with store.transaction():
        store.insert([_row()])
    before = _everything(store)
    with pytest.raises(VaultExists):
        create(location, b"other", b"other", lock_timeout=1.0)
    assert _everything(store) == before
    missing = location.with_name("missing.db") if isinstance(location, Path) else location + "_missing"
    with pytest.raises(VaultNotFound):
        _reopen(missing)


def test_create_refuses_a_stray_write_ahead_log(tmp_path):
    """A database deleted without its -wal: a new vault there is refused, the log left as it was.

    SQLite would replay the old log's pages into the new file, which then fails its own checks.
    """
    old = tmp_path / "old.db"
    first = create(old, HEADER, STATE, lock_timeout=1.0)
    with first.transaction():
        first.insert([_row()])
    stray = tmp_path / "vault.db-wal"
    stray.write_bytes(old.with_name("old.db-wal").read_bytes() or b"not empty")
    first.close()
    with pytest.raises(VaultExists, match=r"vault\.db-wal is still there"):
        create(tmp_path / "vault.db", HEADER, STATE, lock_timeout=1.0)
    assert not (tmp_path / "vault.db").exists()
    assert stray.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary file


def test_copy_rows_between_backends(tmp_path, pg_urls):
    """copy_rows from SQLite to PostgreSQL and back gives the same bytes, rows in the same order."""
    source = create(tmp_path / "a.db", HEADER, STATE, lock_timeout=5.0)
    rows = [_row(version=i % 4 + 1, erased=i % 7 == 0) for i in range(2345)]
    with source.transaction():
        source.insert(rows)
        source.index_add([(os.urandom(32), row.id) for row in rows[::3]])
        for seq in range(1, 31):
            source.log_append(seq, os.urandom(200))
    middle = create(pg_urls(), b"placeholder", b"placeholder", lock_timeout=5.0)
    back = create(tmp_path / "b.db", b"placeholder", b"placeholder", lock_timeout=5.0)
    try:
        copy_rows(source, middle, batch=500)
        copy_rows(middle, back, batch=1000)
        expected = _everything(source)
        assert _everything(middle) == expected
        assert _everything(back) == expected
        assert [row.id for row in middle.rows()] == [row.id for row in rows]
    finally:
        for backend in (source, middle, back):
            backend.close()


def test_a_closed_backend_refuses_work(store):
    """After close every method raises VaultClosed; close again is fine."""
    store.close()
    store.close()
    assert store.closed
    calls = [
        store.check_open,
        lambda: store.read_single("header"),
        lambda: store.get(uuid.uuid4().bytes),
        lambda: list(store.rows()),
        lambda: list(store.tag_rows()),
        lambda: list(store.index_pairs()),
        lambda: list(store.log_records()),
        store.count,
        lambda: store.index_lookup(b"x"),
        lambda: store.transaction().__enter__(),
        lambda: store.snapshot().__enter__(),
        store.settings,
        store.after_erase,
    ]
    for call in calls:
        with pytest.raises(VaultClosed):
            call()


def test_settings_and_checks(store):
    """Both report WAL, a flush level and secure delete; the structural checks pass on a new vault."""
    settings = store.settings()
    assert settings["journal_mode"] == "wal"
    assert settings["synchronous"] in (1, 2)
    assert settings["secure_delete"] in (0, 1)
    assert store.kind in ("sqlite", "postgresql")
    store.check_schema()
    store.integrity_check()
    assert isinstance(store.after_erase(), bool)


def test_messages_never_show_a_password(store, location):
    """Locations, reprs and error messages show no password (a PostgreSQL URL carries one)."""
    password = str(location).partition("://")[2].partition("@")[0].partition(":")[2]
    messages = [store.location, repr(store)]
    for attempt in (
        lambda: create(location, b"h", b"s", lock_timeout=1.0),
        lambda: _reopen(
            str(location) + "_missing" if isinstance(location, str) else location.with_suffix(".x")
        ),
    ):
        with pytest.raises(Exception) as caught:  # noqa: PT011  (each is checked below)
            attempt()
        messages.append(str(caught.value))
    row = _row()
    with store.transaction():
        store.insert([row])
    with pytest.raises(ConflictError) as conflict, store.transaction():
        store.insert([row])
    messages.append(str(conflict.value))
    for message in messages:
        assert not password or password not in message
        assert row.id.hex() not in message
