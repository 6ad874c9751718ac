"""The PostgreSQL backend: a vault as one schema of a PostgreSQL database, for a team on several machines.

It stores what an SQLite vault file holds (``backends.base``), in tables of the same names, and turns every
psycopg error into a contactvault error: a lock wait past the timeout, a serialisation failure or a deadlock
is ``VaultLocked``; a server that cannot be reached or refuses the login ``VaultError`` naming the location;
a table not as created ``VaultCorrupted``. No message shows the password or the server's own text.

The location is a URL, ``postgresql://user:password@host:port/dbname?schema=NAME`` (or ``postgres://``); the
``schema`` parameter (default ``contactvault``) is taken out, the others go to libpq. Each thread gets its
own autocommit connection. ``transaction()`` takes the state row's lock first (``SELECT ... FOR UPDATE``,
read committed): it serialises the writers, and each statement after it sees what the writer before
committed, so the row-set state and the disclosure log never fork. ``snapshot()`` is a repeatable-read,
read-only transaction. Whole tables are read through server-side cursors, a batch at a time, in the thread's
transaction or snapshot, else in a snapshot of their own on a second connection (so the thread may write
while it iterates). ``meta`` holds the tables' ``schema_version``: an older one is upgraded at open
(`MIGRATIONS`), a newer one refused. PostgreSQL never overwrites deleted row versions: see ``after_erase``.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, LiteralString, Self

import psycopg
from psycopg import pq, sql

from contactvault.errors import (
    ConflictError,
    ContactVaultError,
    UnsupportedFormat,
    VaultClosed,
    VaultCorrupted,
    VaultError,
    VaultExists,
    VaultLocked,
    VaultNotFound,
)
from contactvault.vault.backends.base import SINGLE_TABLES, TABLES, Row, TagRow, stale
from contactvault.vault.backends.postgres_schema import CATALOG, DDL, EXPECTED, EXPECTED_COLUMNS
from contactvault.vault.backends.urls import DEFAULT_SCHEMA, parse_url

if TYPE_CHECKING:
    from psycopg.rows import TupleRow

    Connection = psycopg.Connection[TupleRow]
    _Args = Sequence[object] | None

__all__ = ["DEFAULT_SCHEMA", "MIGRATIONS", "SCHEMA_VERSION", "PostgresBackend", "parse_url"]

SCHEMA_VERSION = 1
"""The version of the tables this code writes and reads, stored in ``meta`` as ``schema_version``."""

MIGRATIONS: dict[int, tuple[LiteralString, ...]] = {}
"""The upgrades of older tables: ``MIGRATIONS[n]`` are the SQL steps that take a vault from version ``n`` to
``n + 1``. ``{schema}`` in a step stands for the vault's schema (quoted); other braces are doubled. Empty:
version 1 is the first."""

_CONNECT_DEFAULTS = (("connect_timeout", "10"), ("application_name", "contactvault"))
_LOCKED = frozenset({"55P03", "40001", "40P01", "57014"})  # lock timeout, serialisation, deadlock, cancelled
_ALL_TABLES = ("meta", *TABLES)

# The row-set digest covers each sealed blob through its AES-GCM tag, its last 16 bytes.
_TAG_QUERY: LiteralString = (
    "SELECT id, version, substr(directory, greatest(length(directory) - 15, 1)), "
    "coalesce(substr(data_key, greatest(length(data_key) - 15, 1)), ''::bytea), "
    "coalesce(substr(payload, greatest(length(payload) - 15, 1)), ''::bytea) "
    "FROM {schema}.contacts ORDER BY seq"
)


def _connect(conninfo: str, location: str) -> Connection:
    """An autocommit connection; a failure is a ``VaultError`` naming ``location`` and a likely cause."""
    try:
        given = psycopg.conninfo.conninfo_to_dict(conninfo)
        extra = {key: value for key, value in _CONNECT_DEFAULTS if key not in given}
        return psycopg.connect(psycopg.conninfo.make_conninfo(conninfo, **extra), autocommit=True)
    except psycopg.ProgrammingError:
        cause = "the URL is not a valid PostgreSQL connection URL"
    except psycopg.Error as exc:  # its text is read for the cause, never shown (it may quote the server)
        refused = any(words in str(exc) for words in ("authentication failed", "password", "does not exist"))
        cause = "the server refused the user name, password or database" if refused else "no server answers"
    raise VaultError(f"cannot connect to {location}: {cause}")


def _error(exc: psycopg.Error, doing: str, location: str) -> ContactVaultError:
    """The contactvault error for a psycopg error: chosen by its SQLSTATE, never showing its message."""
    code = exc.sqlstate or ""
    reported = f"PostgreSQL reports {type(exc).__name__}" + (f" ({code})" if code else "")
    if code in _LOCKED:
        return VaultLocked(f"the vault is busy ({doing}); another writer held it past the lock timeout")
    if code.startswith("23"):  # 23505: a unique key
        return ConflictError(f"cannot {doing}: a contact id or index entry is already there ({reported})")
    if isinstance(exc, psycopg.InterfaceError) or code.startswith(("08", "57P")) or not code:
        return VaultError(f"cannot {doing}: the connection to {location} failed or was closed")
    if code.startswith(("42", "22", "XX")) and code != "42501":  # 42501: permission denied
        return VaultCorrupted(f"the vault's tables at {location} are damaged ({doing}: {reported})")
    return VaultError(f"cannot {doing} in {location}: {reported}")  # permissions, resources, read-only


def _blob(value: object) -> bytes:
    if isinstance(value, memoryview):
        return value.tobytes()
    if not isinstance(value, bytes):
        raise VaultCorrupted("a vault table holds a value of the wrong type")
    return value


def _row(raw: Sequence[Any]) -> Row:
    cid, version, directory, data_key, payload = raw
    if type(version) is not int:
        raise VaultCorrupted("a contact row holds a value of the wrong type")
    key = None if data_key is None else _blob(data_key)
    return Row(_blob(cid), version, _blob(directory), key, None if payload is None else _blob(payload))


class _Local(threading.local):
    """A thread's own connection, its transaction depth, and its idle second connections."""

    def __init__(self) -> None:
        self.conn: Connection | None = None
        self.depth = 0
        self.spares: list[Connection] = []
        self.singles: dict[str, bytes] = {}  # header and state as locked by this write transaction


class PostgresBackend:
    """A vault in a schema of a PostgreSQL database. Each thread that uses it gets its own connection."""

    kind = "postgresql"

    def __init__(self, url: str, *, lock_timeout: float) -> None:
        self._conninfo, self.schema, self._location = parse_url(url)  # the conninfo holds the password
        self._timeout = f"{max(1, round(lock_timeout * 1000))}ms"  # 0 would mean "wait for ever"
        digest = hashlib.sha256(f"contactvault:{self.schema}".encode()).digest()
        self._lock_key = int.from_bytes(digest[:8], "big", signed=True)  # the schema's advisory lock
        self._local = _Local()
        self._all: list[tuple[threading.Thread, Connection]] = []  # each connection, with its thread
        self._lock = threading.Lock()
        self._closed = False
        self._conn()

    def __repr__(self) -> str:
        return f"PostgresBackend({self._location!r})"

    @classmethod
    def open(cls, url: str, *, lock_timeout: float) -> Self:
        """Open the vault in the URL's schema (never creates one); writes wait up to ``lock_timeout``."""
        backend = cls(url, lock_timeout=lock_timeout)
        try:
            names = backend._tables()
        except BaseException:
            backend.close()
            raise
        if "meta" not in names and not {"header", "state", "contacts"} <= names:
            backend.close()
            raise VaultNotFound(f"no vault at {backend.location}")
        return backend

    @classmethod
    def create(cls, url: str, header: bytes, state: bytes, *, lock_timeout: float) -> Self:
        """Create the schema (or use an empty one) and tables, whole or not at all; else ``VaultExists``."""
        backend = cls(url, lock_timeout=lock_timeout)
        try:
            with backend._write("create the vault", advisory=True):
                backend._create_tables(header, state)
        except BaseException:
            backend.close()
            raise
        return backend

    def _create_tables(self, header: bytes, state: bytes) -> None:
        if self._tables() & set(_ALL_TABLES):
            raise VaultExists(f"{self._location} already holds a vault; refusing to overwrite it")
        exists = "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = %s"
        skip = (
            1 if self._fetch("create the vault", exists, (self.schema,)) else 0
        )  # CREATE SCHEMA needs more rights
        for statement in DDL[skip:]:
            self._run("create the vault", statement)
        version = str(SCHEMA_VERSION)
        self._run("create the vault", "INSERT INTO {schema}.meta VALUES ('schema_version', %s)", (version,))
        self._run("create the vault", "INSERT INTO {schema}.header (id, data) VALUES (1, %s)", (header,))
        self._run("create the vault", "INSERT INTO {schema}.state (id, data) VALUES (1, %s)", (state,))

    @property
    def location(self) -> str:
        """The URL without its password or secret parameters, with the schema."""
        return self._location

    def close(self) -> None:
        """Close every connection of every thread. Safe to call twice."""
        with self._lock:
            self._closed = True
            connections, self._all = self._all, []
        for _, conn in connections:
            with conn.lock:  # waits for a statement another thread is running on it
                conn.close()

    @property
    def closed(self) -> bool:
        """Whether ``close`` was called."""
        return self._closed

    def check_open(self) -> None:
        """Raise ``VaultClosed`` if the vault was closed."""
        self._conn()

    def _register(self) -> Connection:
        conn = _connect(self._conninfo, self._location)
        with self._lock:
            closed = self._closed
            ended = [c for t, c in self._all if not t.is_alive()]
            self._all = [(t, c) for t, c in self._all if t.is_alive()]
            if not closed:
                self._all.append((threading.current_thread(), conn))
        for old in ended:  # threads that have ended (a server's short-lived ones) use them no more
            old.close()
        if not closed:
            return conn
        conn.close()
        raise VaultClosed("the vault is closed")

    def _forget(self, conn: Connection | None) -> None:
        with self._lock:
            self._all = [(t, c) for t, c in self._all if c is not conn]
        if conn is not None:
            conn.close()

    def _conn(self) -> Connection:
        if self._closed:
            raise VaultClosed("the vault is closed")
        local = self._local
        if local.conn is None or (local.conn.closed and not local.depth):  # new, or lost between transactions
            self._forget(local.conn)
            local.conn = self._register()
        return local.conn

    @contextlib.contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except psycopg.Error as exc:
            if self._closed:
                raise VaultClosed("the vault is closed") from None
            raise _error(exc, doing, self._location) from None

    def _q(self, text: LiteralString, table: str = "") -> sql.Composed:
        return sql.SQL(text).format(schema=sql.Identifier(self.schema), table=sql.Identifier(table))

    def _run(self, doing: str, query: LiteralString, args: _Args = None, table: str = "") -> int:
        """Run one statement on this thread's connection; the number of rows it changed."""
        with self._errors(doing):
            return self._conn().execute(self._q(query, table), args).rowcount

    def _fetch(self, doing: str, query: LiteralString, args: _Args = None, table: str = "") -> list[TupleRow]:
        """Every row of a small result (whole tables are read with ``_stream``)."""
        with self._errors(doing):
            return self._conn().execute(self._q(query, table), args, binary=True).fetchall()

    def _begin(self, conn: Connection, command: LiteralString, doing: str) -> None:
        with self._errors(doing):
            conn.execute(command)
        self._local.depth = 1

    def _rollback(self, conn: Connection) -> None:
        self._local.depth = 0
        self._local.singles = {}
        with contextlib.suppress(psycopg.Error):
            conn.execute("ROLLBACK")

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """One write transaction (read committed, the state row locked first): all of it, or nothing.

        Unlike SQLite, a statement that failed inside spoils the transaction: if its error was caught and
        the block went on, nothing is committed (``VaultError``).
        """
        return self._write("begin a transaction", advisory=False)

    @contextlib.contextmanager
    def _write(self, doing: str, *, advisory: bool) -> Iterator[None]:
        """A write transaction under the state row's lock, or under the schema's advisory lock (for DDL)."""
        conn = self._conn()
        if self._local.depth:
            raise RuntimeError("a write transaction cannot start inside another transaction")
        self._begin(conn, "BEGIN ISOLATION LEVEL READ COMMITTED", doing)
        try:
            self._take_lock(conn, advisory=advisory)
            yield
        except BaseException:
            self._rollback(conn)
            raise
        if conn.info.transaction_status != pq.TransactionStatus.INTRANS:
            self._rollback(conn)
            raise VaultError("a statement of the transaction failed, so none of it was written")
        self._local.depth = 0
        self._local.singles = {}
        with self._errors("commit"):
            conn.execute("COMMIT")

    def _take_lock(self, conn: Connection, *, advisory: bool) -> None:
        """The lock that serialises the writers (or the schema's changes), waiting up to the lock timeout."""
        with self._errors("wait for the other writers"):
            conn.execute("SELECT pg_catalog.set_config('lock_timeout', %s, true)", (self._timeout,))
            if advisory:
                conn.execute("SELECT pg_catalog.pg_advisory_xact_lock(%s)", (self._lock_key,))
                return
            # The lock, and the header and state under it, in one round trip: the writers' lock is held
            # for as few of them as possible.
            locked = conn.execute(
                self._q(
                    "SELECT s.data, h.data FROM {schema}.state s, {schema}.header h "
                    "WHERE s.id = 1 AND h.id = 1 FOR UPDATE OF s"
                ),
                binary=True,
            ).fetchall()
        if len(locked) != 1:
            raise VaultCorrupted("the vault's state or header is missing")
        self._local.singles = {"state": _blob(locked[0][0]), "header": _blob(locked[0][1])}

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """A read transaction (repeatable read, read only): one committed state; nested: the outer one's."""
        conn, local = self._conn(), self._local
        if local.depth:
            local.depth += 1
            try:
                yield
            finally:
                local.depth -= 1
            return
        self._begin(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "begin reading")
        try:
            yield
        finally:
            self._rollback(conn)

    def _stream(self, query: LiteralString, doing: str) -> Iterator[TupleRow]:
        """The rows of ``query`` from one snapshot, a batch at a time (see the module docstring)."""
        spares, own = self._local.spares, not self._local.depth  # own: a snapshot on a second connection
        conn = (spares.pop() if spares else self._register()) if own else self._conn()
        name = sql.Identifier(f"cv_{uuid.uuid4().hex}")
        try:
            with self._errors(doing):  # an abandoned cursor ends with its transaction
                if own:
                    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                conn.execute(sql.SQL("DECLARE {} NO SCROLL CURSOR FOR ").format(name) + self._q(query))
                while batch := conn.execute(
                    sql.SQL("FETCH 500 FROM {}").format(name), binary=True
                ).fetchall():
                    yield from batch
                conn.execute(sql.SQL("CLOSE {}").format(name))
        finally:
            if own:
                with contextlib.suppress(psycopg.Error):
                    conn.execute("ROLLBACK")
                if self._closed or conn.closed or len(spares) >= 2:
                    self._forget(conn)
                else:
                    spares.append(conn)

    def after_erase(self) -> bool:
        """``VACUUM`` the contacts, the index and the header where it can (outside a transaction).

        Returns ``False``: PostgreSQL never overwrites an old row version (VACUUM marks its space free), so
        an erased contact's sealed bytes (or, after a passphrase change, the old wrap of the master key) may
        stay in the server's files, WAL and backups until overwritten. Crypto-shredding still holds: the
        erased contact's data key is gone.
        """
        self.check_open()
        if not self._local.depth:
            with contextlib.suppress(ContactVaultError):
                self._run(
                    "clean up",
                    "VACUUM (SKIP_LOCKED) {schema}.contacts, {schema}.phone_index, {schema}.header",
                )
        return False

    def settings(self) -> dict[str, int | str]:
        """Read from the server: ``synchronous`` 2 if ``fsync`` is on and ``synchronous_commit`` not off.

        Else 1. And ``journal_mode`` ``wal``, ``secure_delete`` 0 (PostgreSQL has none), ``server_version``.
        """
        fsync, commit, version = (
            str(self._fetch("read the settings", command)[0][0])
            for command in ("SHOW fsync", "SHOW synchronous_commit", "SHOW server_version")
        )
        sync = 2 if fsync.lower() == "on" and commit.lower() != "off" else 1
        return {"journal_mode": "wal", "synchronous": sync, "secure_delete": 0, "server_version": version}

    def _tables(self) -> set[str]:
        query = (
            "SELECT c.relname FROM pg_catalog.pg_class c "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s"
        )
        return {str(name) for (name,) in self._fetch("read the schema", query, (self.schema,))}

    def _stored_version(self) -> int:
        query = "SELECT value FROM {schema}.meta WHERE key = 'schema_version'"
        rows = self._fetch("read the schema version", query)
        value = str(rows[0][0]) if len(rows) == 1 else ""
        if not value.isascii() or not value.isdigit():
            raise VaultCorrupted(f"{self._location}: the vault's schema version is missing or damaged")
        version = int(value)
        if version > SCHEMA_VERSION:
            newer = (
                f"at schema version {version}, newer than this contactvault's {SCHEMA_VERSION}: upgrade it"
            )
            raise UnsupportedFormat(f"{self._location}: the vault's tables are {newer}")
        return version

    def _described(self) -> set[str]:
        """What the catalog says of the vault's tables (see ``EXPECTED``)."""
        params = {"schema": self.schema, "tables": list(_ALL_TABLES)}
        with self._errors("read the schema"):
            return {str(line) for (line,) in self._conn().execute(CATALOG, params).fetchall()}

    def check_schema(self) -> None:
        """Upgrade older tables (`MIGRATIONS`), refuse newer ones; ``VaultCorrupted`` for a missing column."""
        if self._stored_version() < SCHEMA_VERSION:
            with self._write("upgrade the vault's tables", advisory=True):
                self._migrate()
        if {line for line in self._described() if line.islower()} != EXPECTED_COLUMNS:
            raise VaultCorrupted(f"{self._location}: the vault's tables are missing or not as created")

    def _migrate(self) -> None:
        """Apply the migrations from the stored version on (inside the transaction, under the lock)."""
        version = self._stored_version()  # again: another process may have upgraded the tables meanwhile
        for step in range(version, SCHEMA_VERSION):
            if step not in MIGRATIONS:
                raise UnsupportedFormat(f"{self._location}: no upgrade from schema version {step} is known")
            for statement in MIGRATIONS[step]:
                self._run("upgrade the vault's tables", statement)
        query = "UPDATE {schema}.meta SET value = %s WHERE key = 'schema_version'"
        self._run("upgrade the vault's tables", query, (str(SCHEMA_VERSION),))

    def integrity_check(self) -> None:
        """``VaultCorrupted`` unless schema version, columns, constraints, indexes and single rows hold."""
        if self._stored_version() != SCHEMA_VERSION or self._described() != EXPECTED:
            raise VaultCorrupted(f"{self._location}: the vault's tables are not as created (or newer)")
        for table in SINGLE_TABLES:
            self.read_single(table)

    def read_single(self, table: str) -> bytes:
        """The one blob of the ``header`` or ``state`` table."""
        if table not in SINGLE_TABLES:
            raise ValueError("unknown table")
        if table in self._local.singles:  # read under the writers' lock in this transaction
            return self._local.singles[table]
        rows = self._fetch(f"read the {table}", "SELECT id, data FROM {schema}.{table}", None, table)
        if len(rows) != 1 or rows[0][0] != 1:
            raise VaultCorrupted(f"the vault's {table} is missing or duplicated")
        return _blob(rows[0][1])

    def write_single(self, table: str, data: bytes) -> None:
        """Replace the one blob of the ``header`` or ``state`` table (inside a transaction)."""
        if table not in SINGLE_TABLES:
            raise ValueError("unknown table")
        query = "UPDATE {schema}.{table} SET data = %s WHERE id = 1"
        if self._run(f"write the {table}", query, (data,), table) != 1:
            raise VaultCorrupted(f"the vault's {table} is missing")
        if table in self._local.singles:
            self._local.singles[table] = bytes(data)

    def get(self, contact_id: bytes) -> Row | None:
        """The row of one contact, or ``None``."""
        query = "SELECT id, version, directory, data_key, payload FROM {schema}.contacts WHERE id = %s"
        found = self._fetch("read a contact", query, (contact_id,))  # the id is unique
        return _row(found[0]) if found else None

    def rows(self, *, with_payload: bool = False) -> Iterator[Row]:
        """Every contact row in the order they were added; ``payload`` is ``None`` unless asked for."""
        payload = "payload" if with_payload else "NULL::bytea"
        query = "SELECT id, version, directory, data_key, " + payload + " FROM {schema}.contacts ORDER BY seq"  # noqa: S608
        for raw in self._stream(query, "read the contacts"):
            yield _row(raw)

    def tag_rows(self) -> Iterator[TagRow]:
        """Id, version and the tags of every contact row: what the row-set digest covers."""
        for raw in self._stream(_TAG_QUERY, "read the contacts"):
            row = _row(raw)
            if row.data_key is None or row.payload is None:  # coalesce() gives b"" for a tombstone
                raise VaultCorrupted("a contact row holds a value of the wrong type")
            yield TagRow(row.id, row.version, row.directory, row.data_key, row.payload)

    def count(self) -> tuple[int, int]:
        """Rows in the contacts table, and how many of them are live (not erased)."""
        query = "SELECT count(*), count(data_key) FROM {schema}.contacts"
        total, live = self._fetch("count the contacts", query)[0]
        return int(total), int(live)

    def _many(self, doing: str, query: LiteralString, batch: list[Any]) -> None:
        if batch:
            with self._errors(doing), self._conn().cursor() as cursor:
                cursor.executemany(self._q(query), batch)

    def insert(self, rows: Iterable[Row]) -> None:
        """Add new contact rows (inside a transaction), in this order."""
        columns = "INSERT INTO {schema}.contacts (id, version, directory, data_key, payload)"
        self._many("store contacts", columns + " VALUES (%s, %s, %s, %s, %s)", list(rows))

    def rewrap(self, keys: list[tuple[bytes, int, bytes]]) -> None:
        """Replace the wrapped data key of each ``(id, version, data key)`` row (inside a transaction)."""
        query = (
            "UPDATE {schema}.contacts AS c SET data_key = v.k "
            "FROM unnest(%s::bytea[], %s::bigint[], %s::bytea[]) AS v(id, version, k) "
            "WHERE c.id = v.id AND c.version = v.version AND c.data_key IS NOT NULL"
        )
        columns = tuple(list(column) for column in zip(*keys, strict=True))
        if keys and self._run("update the contacts", query, columns) != len(keys):
            raise stale(keys[0][0])

    def replace(self, row: Row, expected_version: int) -> None:
        """Overwrite a contact row if it is still at ``expected_version``, else ``ConflictError``."""
        query = (
            "UPDATE {schema}.contacts SET version = %s, directory = %s, data_key = %s, payload = %s "
            "WHERE id = %s AND version = %s"
        )
        params = (row.version, row.directory, row.data_key, row.payload, row.id, expected_version)
        if self._run("update a contact", query, params) != 1:
            raise stale(row.id)

    def index_add(self, pairs: Iterable[tuple[bytes, bytes]]) -> None:
        """Add ``(tag, contact_id)`` pairs to the blind index."""
        query = "INSERT INTO {schema}.phone_index (tag, contact_id) VALUES (%s, %s)"
        self._many("index numbers", query, list(pairs))

    def index_of(self, contact_id: bytes) -> list[bytes]:
        """The index tags of one contact, found by scanning the whole index (a slow fallback)."""
        query = "SELECT tag FROM {schema}.phone_index WHERE contact_id = %s ORDER BY tag"
        return [_blob(tag) for (tag,) in self._fetch("read the index", query, (contact_id,))]

    def index_remove(self, contact_id: bytes, tags: list[bytes]) -> None:
        """Remove the index entries ``tags`` of one contact; each must be there, else ``VaultCorrupted``."""
        unique = list(set(tags))
        query = "DELETE FROM {schema}.phone_index WHERE contact_id = %s AND tag = ANY(%s)"
        if unique and self._run("update the index", query, (contact_id, unique)) != len(unique):
            raise VaultCorrupted("the phone index does not match a contact's numbers")

    def index_lookup(self, tag: bytes) -> list[bytes]:
        """The ids of the contacts with an index entry ``tag``."""
        query = "SELECT contact_id FROM {schema}.phone_index WHERE tag = %s ORDER BY contact_id"
        return [_blob(cid) for (cid,) in self._fetch("search the index", query, (tag,))]

    def index_pairs(self) -> Iterator[tuple[bytes, bytes]]:
        """Every ``(tag, contact_id)`` pair of the blind index."""
        query = "SELECT tag, contact_id FROM {schema}.phone_index ORDER BY tag, contact_id"
        for tag, contact_id in self._stream(query, "read the index"):
            yield _blob(tag), _blob(contact_id)

    def log_append(self, seq: int, record: bytes) -> None:
        """Append a sealed disclosure record (inside a transaction)."""
        query = "INSERT INTO {schema}.disclosures (seq, record) VALUES (%s, %s)"
        self._run("append to the disclosure log", query, (seq, record))

    def log_records(self, after: int = 0) -> Iterator[tuple[int, bytes]]:
        """Every sealed disclosure record with a sequence number above ``after``, in order.

        The whole log is streamed; the records after ``after`` (a few, as a rule) are fetched at once.
        """
        if after:
            query = "SELECT seq, record FROM {schema}.disclosures WHERE seq > %s ORDER BY seq"
            rows: Iterable[TupleRow] = self._fetch("read the disclosure log", query, (after,))
        else:
            whole = "SELECT seq, record FROM {schema}.disclosures ORDER BY seq"
            rows = self._stream(whole, "read the disclosure log")
        for seq, record in rows:
            if type(seq) is not int:
                raise VaultCorrupted("the disclosure log holds a value of the wrong type")
            yield seq, _blob(record)

    def log_last(self) -> tuple[int, bytes] | None:
        """The sealed log record with the highest sequence number; ``None`` when the log is empty."""
        query = "SELECT seq, record FROM {schema}.disclosures ORDER BY seq DESC LIMIT 1"
        rows = self._fetch("read the disclosure log", query)
        if rows and type(rows[0][0]) is not int:
            raise VaultCorrupted("the disclosure log holds a value of the wrong type")
        return (rows[0][0], _blob(rows[0][1])) if rows else None
