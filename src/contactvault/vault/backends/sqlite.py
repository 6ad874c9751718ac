"""The SQLite backend (the default): one vault file that several processes and threads use at once.

This module stores and returns bytes only (see ``backends.base``). Every ``sqlite3`` error is turned into a
contactvault error here: a damaged file becomes ``VaultCorrupted``, a writer that waited longer than the
busy timeout ``VaultLocked``.

Settings, and why:

- ``journal_mode=WAL`` in shared mode: readers never block the writer, the writer never blocks readers,
  and every process and thread on this machine can have the vault open at once. SQLite keeps the WAL index
  in a ``-shm`` file beside the vault (with the vault file's mode, 0600). WAL needs every process on one
  machine, so a vault on a network file system is refused (`check_local`).
- Writes are short ``BEGIN IMMEDIATE`` transactions (``isolation_level=None``: no implicit deferred BEGIN,
  which could fail with SQLITE_BUSY instead of waiting): the write lock is taken up front and SQLite's busy
  handler waits for it up to the busy timeout.
- ``synchronous=FULL``: a crash (or a kill) at any moment leaves the last committed transaction, never
  half of one.
- ``secure_delete=ON``: deleted rows are overwritten with zeros, in the database and in the WAL.
- ``journal_size_limit``: once the WAL passes 4 MiB, a commit runs a RESTART checkpoint (it waits up to
  0.2 s for readers to move to the newest snapshot, without blocking them), after which the WAL starts over
  and is cut back to 4 MiB: it cannot grow without bound under constant readers.
- ``temp_store=MEMORY``: no temporary files beside the vault.
- The file is created with mode 0600 (SQLite gives ``-wal`` and ``-shm`` the database file's mode).
- ``page_size=8192``, set at creation: less of each page is wasted on rows of several hundred bytes.

Files written before version 0.9 (when a vault was opened under an exclusive lock) open as they are: the
lock mode was never stored in the file.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Self

from contactvault.errors import (
    VaultClosed,
    VaultCorrupted,
    VaultExists,
    VaultNotFound,
)
from contactvault.files import fsync_dir, fsync_file, place
from contactvault.vault.backends.base import SINGLE_TABLES, TABLES, Row, TagRow, stale
from contactvault.vault.backends.checks import APPLICATION_ID, check_local, probe
from contactvault.vault.backends.sqlite_errors import primary_code, sqlite_errors
from contactvault.vault.backends.sqlite_rows import checked_row, checked_tag_row

__all__ = ["PAGE_SIZE", "WAL_LIMIT", "SqliteBackend"]

_SCHEMA = """
CREATE TABLE header (id INTEGER PRIMARY KEY CHECK (id = 1), data BLOB NOT NULL);
CREATE TABLE state (id INTEGER PRIMARY KEY CHECK (id = 1), data BLOB NOT NULL);
CREATE TABLE contacts (
    id BLOB NOT NULL UNIQUE CHECK (length(id) = 16),
    version INTEGER NOT NULL,
    directory BLOB NOT NULL,
    data_key BLOB,
    payload BLOB
);
CREATE TABLE phone_index (
    tag BLOB NOT NULL,
    contact_id BLOB NOT NULL,
    PRIMARY KEY (tag, contact_id)
) WITHOUT ROWID;
CREATE TABLE disclosures (seq INTEGER PRIMARY KEY CHECK (seq >= 1), record BLOB NOT NULL);
"""

PAGE_SIZE = 8192
"""Bytes per SQLite page. Contact rows are several hundred bytes; 8 KiB pages waste less of each page than
4 KiB ones (measured: about 920 bytes per contact in all, see docs/performance.md)."""

# The row-set digest covers each sealed blob through its AES-GCM tag, its last 16 bytes.
_TAG_QUERY = (
    "SELECT id, version, substr(directory, -16), coalesce(substr(data_key, -16), x''), "
    "coalesce(substr(payload, -16), x'') FROM contacts"
)


class _Local(threading.local):
    """A thread's own connection to the vault, and whether it is inside a transaction."""

    db: sqlite3.Connection | None = None
    depth: int = 0
    writing: bool = False


class SqliteBackend:
    """An open vault file. Each thread that uses it gets its own SQLite connection."""

    kind = "sqlite"

    def __init__(self, path: Path, connection: sqlite3.Connection, *, busy_timeout: float) -> None:
        self.path = path
        self._busy_timeout = max(busy_timeout, 0.0)
        self._restore_busy = f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}"  # SQLite's, in ms
        self._local = _Local()
        self._local.db = connection
        self._all = [(threading.current_thread(), connection)]  # each connection, with its thread
        self._lock = threading.Lock()
        self._closed = False

    # --- opening and closing -----------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, *, lock_timeout: float) -> Self:
        """Open an existing vault file (never creates one).

        The file is looked at first without SQLite (`probe`), so that a file that is not a vault, or a
        vault truncated or damaged in its first page, is refused before SQLite could write anything to it.
        A vault on a network file system is refused (`check_local`). ``lock_timeout`` is how long a write
        waits for another writer's transaction to end.
        """
        if not path.is_file():
            raise VaultNotFound(f"no vault at {path.name}")
        probe(path)
        check_local(path)
        return cls(path, _connect(path, busy_timeout=lock_timeout), busy_timeout=lock_timeout)

    @classmethod
    def create(cls, path: Path, header: bytes, state: bytes, *, lock_timeout: float) -> Self:
        """Create a vault file holding ``header`` and ``state``; it appears whole or not at all.

        The file is built under a temporary name and linked into place only when complete, so a crash
        during creation never leaves a half-made vault at ``path``.
        """
        if path.exists():
            raise VaultExists(f"{path.name} already exists; refusing to overwrite it")
        if path.with_name(path.name + "-wal").exists():  # SQLite would replay it into the new vault
            raise VaultExists(
                f"{path.name}-wal is still there (the log of a database once at {path.name}, perhaps with "
                "changes not yet in it); move it away before creating a vault there"
            )
        if not path.parent.is_dir():
            raise VaultNotFound(f"the folder for {path.name} does not exist")
        check_local(path.parent)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            os.close(os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
            db = _connect(tmp, busy_timeout=0.0, create=True)
            try:
                with sqlite_errors("create the vault"):
                    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                    db.executescript(f"BEGIN; {_SCHEMA} COMMIT;")
                    db.execute("BEGIN IMMEDIATE")
                    db.execute("INSERT INTO header (id, data) VALUES (1, ?)", (header,))
                    db.execute("INSERT INTO state (id, data) VALUES (1, ?)", (state,))
                    db.execute("COMMIT")
            finally:
                db.close()
            fsync_file(tmp)
            try:
                place(tmp, path)
            except FileExistsError:
                raise VaultExists(f"{path.name} already exists; refusing to overwrite it") from None
            fsync_dir(path.parent)
        finally:
            for leftover in (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()
        return cls.open(path, lock_timeout=lock_timeout)

    @property
    def location(self) -> str:
        """The vault file's name (messages never show the folders above it)."""
        return self.path.name

    def close(self) -> None:
        """Close every connection (the last one checkpoints the WAL). Safe to call twice."""
        with self._lock:
            self._closed = True
            connections, self._all = self._all, []
        for _, db in connections:
            with sqlite_errors("close the vault"):
                db.close()

    @property
    def closed(self) -> bool:
        """Whether ``close`` was called."""
        return self._closed

    def check_open(self) -> None:
        """Raise ``VaultClosed`` if the vault was closed."""
        self._conn()

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise VaultClosed("the vault is closed")
        db = self._local.db
        if db is None:  # the first use from this thread: its own connection
            db = _connect(self.path, busy_timeout=self._busy_timeout)
            with self._lock:
                if self._closed:
                    db.close()
                    raise VaultClosed("the vault is closed")
                ended = [c for t, c in self._all if not t.is_alive()]
                self._all = [(t, c) for t, c in self._all if t.is_alive()]
                self._all.append((threading.current_thread(), db))
            for old in ended:  # threads that have ended (a server's short-lived ones) use them no more
                with contextlib.suppress(sqlite3.Error):
                    old.close()
            self._local.db = db
        return db

    # --- transactions -------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction (``BEGIN IMMEDIATE``): committed together, or nothing is."""
        db, local = self._conn(), self._local
        if local.depth:
            raise RuntimeError("a write transaction cannot start inside another transaction")
        self._begin_immediate(db)
        local.depth, local.writing = 1, True
        try:
            yield
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
        else:
            with sqlite_errors("commit"):
                db.execute("COMMIT")
            self._limit_wal(db)
        finally:
            local.depth, local.writing = 0, False

    def _begin_immediate(self, db: sqlite3.Connection) -> None:
        """Take the write lock, waiting for another writer in short, jittered steps up to the busy timeout.

        SQLite's own busy handler sleeps 1, 2, 5, 10 ... up to 100 ms between tries, so a writer would sleep
        on through many of the other writers' transactions (a ``modify`` holds the lock for about a
        millisecond). Here the lock is tried again after 0.1 ms, growing to 0.5 ms.
        """
        deadline = time.monotonic() + self._busy_timeout
        delay = 0.0001
        with sqlite_errors("begin a transaction"):
            db.execute("PRAGMA busy_timeout = 0")
            try:
                while True:
                    try:
                        db.execute("BEGIN IMMEDIATE")
                    except sqlite3.OperationalError as exc:
                        busy = primary_code(exc) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
                        if not busy or time.monotonic() + delay > deadline:
                            raise
                    else:
                        return
                    time.sleep(random.uniform(0.5, 1.5) * delay)  # noqa: S311 (jitter, not a secret)
                    delay = min(delay * 1.5, 0.0005)
            finally:
                db.execute(self._restore_busy)

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """A read transaction: the reads inside see one committed state (nested: the outer one's)."""
        db, local = self._conn(), self._local
        if local.depth:
            local.depth += 1
            try:
                yield
            finally:
                local.depth -= 1
            return
        with sqlite_errors("begin reading"):
            db.execute("BEGIN DEFERRED")
        local.depth = 1
        try:
            yield
        finally:
            local.depth = 0
            with contextlib.suppress(sqlite3.Error):
                db.execute("COMMIT")

    def _limit_wal(self, db: sqlite3.Connection) -> None:
        """Once the WAL is past its limit, a checkpoint that lets the next writer start it over.

        A passive checkpoint cannot restart the WAL while readers keep reading (there is always one), so
        this is SQLite's RESTART: it waits, briefly, until every reader is on the newest snapshot (readers
        are not blocked meanwhile), copies the WAL into the database, and the next commit writes the WAL
        from its start, cut back to ``WAL_LIMIT`` bytes. If a reader holds an old snapshot longer than
        ``RESTART_WAIT``, it is tried again after a later commit.
        """
        try:
            size = os.stat(f"{self.path}-wal").st_size
        except OSError:
            return
        if size <= WAL_LIMIT:
            return
        with contextlib.suppress(sqlite3.Error):
            db.execute(f"PRAGMA busy_timeout = {int(RESTART_WAIT * 1000)}")
            try:
                db.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()
            finally:
                db.execute(self._restore_busy)

    def after_erase(self) -> bool:
        """Copy the WAL into the database and truncate it to zero bytes, so no erased byte stays in it.

        A checkpoint cannot finish while another connection reads an older snapshot, so it is retried for
        up to the busy timeout. Returns whether it finished.
        """
        db = self._conn()
        deadline = time.monotonic() + max(self._busy_timeout, 0.5)
        delay = 0.005
        while True:
            with sqlite_errors("checkpoint the WAL"):
                busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if not busy:
                return True
            if time.monotonic() + delay > deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    # --- header and state ---------------------------------------------------------------------------------

    def read_single(self, table: str) -> bytes:
        """The one blob of the ``header`` or ``state`` table."""
        if table not in SINGLE_TABLES:
            raise ValueError("unknown table")
        with sqlite_errors(f"read the {table}"):
            rows = self._conn().execute(f"SELECT id, data FROM {table}").fetchall()  # noqa: S608 (fixed names)
        if len(rows) != 1 or rows[0][0] != 1 or not isinstance(rows[0][1], bytes):
            raise VaultCorrupted(f"the vault's {table} is missing or duplicated")
        data: bytes = rows[0][1]
        return data

    def check_schema(self) -> None:
        """``VaultCorrupted`` unless the vault's tables are there and the file is in WAL mode.

        `probe` has already seen the vault's mark, so a missing table or another journal mode (which only
        a damaged SQLite file header gives a vault) is damage, not another kind of file.
        """
        for table in TABLES:
            if not self.has_table(table):
                raise VaultCorrupted(f"{self.path.name}: the vault's tables are missing (damaged schema)")
        if not self.in_wal_mode():
            raise VaultCorrupted(f"{self.path.name}: not in WAL mode (damaged SQLite file header)")

    def has_table(self, name: str) -> bool:
        """Whether the database has a table of that name (tells a vault from another SQLite file)."""
        with sqlite_errors("read the schema"):
            row = (
                self._conn()
                .execute(
                    "SELECT 1 FROM sqlite_master WHERE lower(type) = 'table' AND name = ? COLLATE NOCASE",
                    (name,),
                )
                .fetchone()
            )
        return row is not None

    def in_wal_mode(self) -> bool:
        """Whether the file is in WAL mode, as every vault is (its erase relies on it)."""
        with sqlite_errors("read the journal mode"):
            (mode,) = self._conn().execute("PRAGMA journal_mode").fetchone()
        return str(mode).lower() == "wal"

    def settings(self) -> dict[str, int | str]:
        """The SQLite settings that protect the data, read back from this thread's connection.

        ``journal_mode``, ``synchronous`` (2 is FULL), ``secure_delete`` (1 is on), ``page_size``,
        ``locking_mode`` (``normal``: shared) and ``busy_timeout`` (ms): what is really in force, not what
        the code meant to set.
        """
        values: dict[str, int | str] = {}
        names = ("journal_mode", "synchronous", "secure_delete", "page_size", "locking_mode", "busy_timeout")
        with sqlite_errors("read the settings"):
            for name in names:
                (value,) = self._conn().execute(f"PRAGMA {name}").fetchone()
                values[name] = value.lower() if isinstance(value, str) else int(value)
        return values

    def write_single(self, table: str, data: bytes) -> None:
        """Replace the one blob of the ``header`` or ``state`` table."""
        if table not in SINGLE_TABLES:
            raise ValueError("unknown table")
        with sqlite_errors(f"write the {table}"):
            self._conn().execute(f"UPDATE {table} SET data = ? WHERE id = 1", (data,))  # noqa: S608

    # --- contacts -----------------------------------------------------------------------------------------

    def get(self, contact_id: bytes) -> Row | None:
        """The row of one contact, or ``None``."""
        with sqlite_errors("read a contact"):
            found = (
                self._conn()
                .execute(
                    "SELECT id, version, directory, data_key, payload FROM contacts WHERE id = ?",
                    (contact_id,),
                )
                .fetchall()
            )
        if len(found) > 1:
            raise VaultCorrupted("a contact id appears twice")
        return checked_row(found[0]) if found else None

    def rows(self, *, with_payload: bool = False) -> Iterator[Row]:
        """Every contact row in a stable order; ``payload`` is ``None`` unless asked for."""
        payload = "payload" if with_payload else "NULL"
        with sqlite_errors("read the contacts"):
            cursor = self._conn().execute(
                f"SELECT id, version, directory, data_key, {payload} FROM contacts ORDER BY rowid"  # noqa: S608
            )
            for raw in cursor:
                yield checked_row(raw)

    def tag_rows(self) -> Iterator[TagRow]:
        """Id, version and the tags of every contact row: what the row-set digest covers."""
        with sqlite_errors("read the contacts"):
            for raw in self._conn().execute(_TAG_QUERY):
                yield checked_tag_row(raw)

    def count(self) -> tuple[int, int]:
        """Rows in the contacts table, and how many of them are live (not erased)."""
        with sqlite_errors("count the contacts"):
            total, live = self._conn().execute("SELECT count(*), count(data_key) FROM contacts").fetchone()
        return int(total), int(live)

    def rewrap(self, keys: list[tuple[bytes, int, bytes]]) -> None:
        """Replace the wrapped data key of each ``(id, version, data key)`` row (inside a transaction)."""
        query = "UPDATE contacts SET data_key = ? WHERE id = ? AND version = ? AND data_key IS NOT NULL"
        with sqlite_errors("update the contacts"):
            for cid, version, data_key in keys:
                if self._conn().execute(query, (data_key, cid, version)).rowcount != 1:
                    raise stale(cid)

    def insert(self, rows: Iterable[Row]) -> None:
        """Add new contact rows (inside a transaction)."""
        with sqlite_errors("store contacts"):
            self._conn().executemany(
                "INSERT INTO contacts (id, version, directory, data_key, payload) VALUES (?, ?, ?, ?, ?)",
                rows,
            )

    def replace(self, row: Row, expected_version: int) -> None:
        """Overwrite a contact row if it is still at ``expected_version`` (inside a transaction).

        ``ConflictError`` (naming the contact's id) if another writer changed it since it was read.
        """
        with sqlite_errors("update a contact"):
            cursor = self._conn().execute(
                "UPDATE contacts SET version = ?, directory = ?, data_key = ?, payload = ? "
                "WHERE id = ? AND version = ?",
                (row.version, row.directory, row.data_key, row.payload, row.id, expected_version),
            )
        if cursor.rowcount != 1:
            raise stale(row.id)

    # --- phone index --------------------------------------------------------------------------------------

    def index_add(self, pairs: Iterable[tuple[bytes, bytes]]) -> None:
        """Add ``(tag, contact_id)`` pairs to the phone index."""
        with sqlite_errors("index numbers"):
            self._conn().executemany("INSERT INTO phone_index (tag, contact_id) VALUES (?, ?)", pairs)

    def index_of(self, contact_id: bytes) -> list[bytes]:
        """The index tags of one contact, found by scanning the whole index (a slow fallback)."""
        with sqlite_errors("read the index"):
            rows = (
                self._conn()
                .execute("SELECT tag FROM phone_index WHERE contact_id = ?", (contact_id,))
                .fetchall()
            )
        return [bytes(r[0]) for r in rows]

    def index_remove(self, contact_id: bytes, tags: list[bytes]) -> None:
        """Remove the index entries ``tags`` of one contact; each must be there (primary-key lookups)."""
        db = self._conn()
        before = db.total_changes
        with sqlite_errors("update the index"):
            db.executemany(
                "DELETE FROM phone_index WHERE tag = ? AND contact_id = ?", [(t, contact_id) for t in tags]
            )
        if db.total_changes - before != len(set(tags)):
            raise VaultCorrupted("the phone index does not match a contact's numbers")

    def index_lookup(self, tag: bytes) -> list[bytes]:
        """The ids of the contacts with an index entry ``tag``."""
        with sqlite_errors("search the index"):
            rows = self._conn().execute("SELECT contact_id FROM phone_index WHERE tag = ?", (tag,)).fetchall()
        return [bytes(r[0]) for r in rows]

    def index_pairs(self) -> Iterator[tuple[bytes, bytes]]:
        """Every ``(tag, contact_id)`` pair of the phone index."""
        with sqlite_errors("read the index"):
            for tag, contact_id in self._conn().execute("SELECT tag, contact_id FROM phone_index"):
                if not isinstance(tag, bytes) or not isinstance(contact_id, bytes):
                    raise VaultCorrupted("the phone index holds a value of the wrong type")
                yield tag, contact_id

    # --- disclosure log -----------------------------------------------------------------------------------

    def log_append(self, seq: int, record: bytes) -> None:
        """Append a sealed disclosure record (inside a transaction)."""
        with sqlite_errors("append to the disclosure log"):
            self._conn().execute("INSERT INTO disclosures (seq, record) VALUES (?, ?)", (seq, record))

    def log_records(self, after: int = 0) -> Iterator[tuple[int, bytes]]:
        """Every sealed disclosure record with a sequence number above ``after``, in order."""
        query = "SELECT seq, record FROM disclosures WHERE seq > ? ORDER BY seq"
        with sqlite_errors("read the disclosure log"):
            for seq, record in self._conn().execute(query, (after,)):
                if type(seq) is not int or not isinstance(record, bytes):
                    raise VaultCorrupted("the disclosure log holds a value of the wrong type")
                yield seq, record

    def log_last(self) -> tuple[int, bytes] | None:
        """The sealed log record with the highest sequence number; ``None`` when the log is empty."""
        query = "SELECT seq, record FROM disclosures ORDER BY seq DESC LIMIT 1"
        with sqlite_errors("read the disclosure log"):
            found = self._conn().execute(query).fetchone()
        if found is not None and (type(found[0]) is not int or not isinstance(found[1], bytes)):
            raise VaultCorrupted("the disclosure log holds a value of the wrong type")
        return None if found is None else (found[0], found[1])

    def copy_to(self, target: Path) -> None:
        """Write a consistent copy of the whole database into ``target`` (an empty file): SQLite's backup.

        The copy is made page by page from this connection's view (committed data only), so it is whole
        even if the vault was being written a moment before.
        """
        with sqlite_errors("back up the vault"):
            copy = sqlite3.connect(target, isolation_level=None)
            try:
                self._conn().backup(copy)
                copy.execute("PRAGMA journal_mode = WAL")  # as every vault is (the backup keeps it)
            finally:
                copy.close()

    def integrity_check(self) -> None:
        """SQLite's structural check of every page; ``VaultCorrupted`` if it finds anything."""
        with sqlite_errors("check the file's structure"):
            rows = self._conn().execute("PRAGMA integrity_check").fetchall()
        if rows != [("ok",)]:
            raise VaultCorrupted("SQLite's integrity check found damaged pages")


def _connect(path: Path, *, busy_timeout: float, create: bool = False) -> sqlite3.Connection:
    uri = f"{path.resolve().as_uri()}?mode=rw"
    with sqlite_errors("open the vault"):
        db = sqlite3.connect(
            uri, uri=True, isolation_level=None, timeout=max(busy_timeout, 0.0), check_same_thread=False
        )
        # The vault stores no text; what SQLite returns as text (schema names, pragma output) may come from a
        # damaged page, so it must never raise UnicodeDecodeError.
        db.text_factory = lambda raw: raw.decode("utf-8", "replace")
    try:
        with sqlite_errors("open the vault"):
            if create:  # before anything touches the new, empty file
                db.execute(f"PRAGMA page_size = {PAGE_SIZE}")
            try:
                # Reading the schema makes "not a database" surface here, as VaultCorrupted.
                db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlite3.OperationalError as exc:
                if primary_code(exc) == sqlite3.SQLITE_READONLY and os.access(path, os.W_OK):
                    # The file may be written, so SQLite refuses because of its header's write version.
                    raise VaultCorrupted(f"{path.name}: the SQLite file header is damaged") from None
                raise
            db.execute("PRAGMA secure_delete = ON")
            db.execute("PRAGMA temp_store = MEMORY")
            db.execute("PRAGMA cell_size_check = ON")
            db.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT}")
            if create:  # a property of the file, set once; opening never changes it
                db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")
    except BaseException:
        db.close()
        raise
    return db


WAL_LIMIT = 4 << 20
"""Bytes of WAL after which a commit runs a checkpoint, and to which a restarted WAL is cut back."""

RESTART_WAIT = 0.2
"""Seconds that checkpoint waits for readers of an older snapshot before it gives up until a later commit."""
