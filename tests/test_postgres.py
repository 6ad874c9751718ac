"""What only the PostgreSQL backend has: the URL and schema, versions and migrations, the server's errors.

And streaming reads, and what a ``pg_dump`` of a vault shows: nothing personal.

Everything runs against the real server of the ``pg_server`` fixture (``tests/pg_server.py``); each test gets
fresh schemas (``pg_url``, ``pg_urls``). The contacts are synthetic.
"""

from __future__ import annotations

import re
import threading
import time
import uuid

import pytest
from psycopg import sql

from contactvault import (
    Contact,
    EmailAddress,
    KdfParams,
    Label,
    PostalAddress,
    UnsupportedFormat,
    Vault,
    VaultCorrupted,
    VaultError,
    VaultExists,
    VaultLocked,
    VaultNotFound,
    normalize_phone,
)
from contactvault.errors import ConflictError
from contactvault.vault.backends import create, open_backend
from contactvault.vault.backends import postgres as pg
from contactvault.vault.backends.base import Row

FAST = KdfParams.insecure_fast_for_tests()
PASSPHRASE = "Kennwort für die Tests"  # noqa: S105  (a test vault's passphrase)
WRONG = "not-the-Password-42"


def _schema(url: str) -> str:
    return url.rpartition("schema=")[2]


def _new(url: str, **options: float) -> pg.PostgresBackend:
    backend = create(url, b"header", b"state", lock_timeout=options.get("lock_timeout", 5.0))
    assert isinstance(backend, pg.PostgresBackend)
    return backend


def _sql(pg_server, statement: str, *args: object, s: str = "") -> list[tuple[object, ...]]:
    """Run one statement as the server's superuser; ``{s}`` in it is the schema ``s`` (quoted)."""
    with pg_server.connect() as db:
        cursor = db.execute(sql.SQL(statement).format(s=sql.Identifier(s)), args or None)
        return cursor.fetchall() if cursor.description else []


# --- the URL ------------------------------------------------------------------------------------------------


def test_each_schema_is_its_own_vault(pg_server, pg_urls):
    """Two schemas of one database hold two vaults; without ``schema=`` the schema is ``contactvault``."""
    first, second = pg_urls(), pg_urls()
    a, b = _new(first), _new(second)
    try:
        with a.transaction():
            a.write_single("state", b"only in a")
        assert b.read_single("state") == b"state"
        assert a.location.endswith(f"?schema={_schema(first)}")
    finally:
        a.close()
        b.close()
    default = pg_server.url()
    try:
        _new(default).close()
        assert pg_server.schema_exists("contactvault")
        backend = open_backend(default, lock_timeout=1.0)
        assert backend.location.endswith("?schema=contactvault")
        backend.close()
    finally:
        pg_server.drop_schema("contactvault")


@pytest.mark.parametrize(
    "query",
    ["schema=Upper", "schema=1abc", "schema=" + "a" * 64, "schema=pg_own", "schema=a-b", "schema=x%3Bdrop",
     "schema=", "schema=a&schema=b", "schema=caf%C3%A9"],
)  # fmt: skip
def test_bad_schema_names_are_refused(pg_server, query):
    """A schema that is no plain lower-case name (or given twice) is a VaultError before anything is done."""
    url = pg_server.url() + "?" + query
    for attempt in (lambda: create(url, b"h", b"s", lock_timeout=1.0), lambda: Vault.open(url, PASSPHRASE)):
        with pytest.raises(VaultError, match="schema") as caught:
            attempt()
        assert pg_server.password not in str(caught.value)


def test_the_location_shows_no_password():
    """The location keeps user, host, port, database and schema; the password (also as a parameter) goes."""
    conninfo, schema, location = pg.parse_url(
        "postgres://anna:s3cr%40t@db.example.org:6543/crm?sslmode=require&password=other&schema=team_a"
    )
    assert schema == "team_a"
    assert location == "postgres://anna@db.example.org:6543/crm?sslmode=require&schema=team_a"
    assert "schema" not in conninfo
    assert "s3cr%40t" in conninfo  # libpq still gets it
    assert pg.parse_url("postgresql://h/db")[1:] == ("contactvault", "postgresql://h/db?schema=contactvault")


def test_a_wrong_password_is_a_clean_vault_error(pg_server, pg_url):
    """A refused login is a VaultError naming the location, without the password or the server's text."""
    _new(pg_url).close()
    wrong = pg_server.url(_schema(pg_url), password=WRONG)
    for attempt in (lambda: open_backend(wrong, lock_timeout=1.0), lambda: Vault.open(wrong, PASSPHRASE)):
        with pytest.raises(VaultError) as caught:
            attempt()
        message = str(caught.value)
        assert type(caught.value) is VaultError
        assert "refused" in message
        assert pg.parse_url(wrong)[2] in message
        for secret in (WRONG, pg_server.password, "FATAL", 'cvtest"'):
            assert secret not in message
        assert caught.value.__cause__ is None


def test_no_server_is_a_clean_vault_error(pg_server, tmp_path):
    """A socket folder where no server listens gives a VaultError naming the location."""
    url = pg_server.url("nowhere").replace(
        pg_server.url().split("@")[1].split("/")[0], str(tmp_path).replace("/", "%2F")
    )
    with pytest.raises(VaultError, match="cannot connect to postgresql://cvtest@") as caught:
        Vault.open(url, PASSPHRASE)
    assert pg_server.password not in str(caught.value)


def test_create_and_open_need_the_right_state(pg_server, pg_url):
    """Opening an empty schema is VaultNotFound; creating over a vault (or its table names) is VaultExists."""
    with pytest.raises(VaultNotFound):
        open_backend(pg_url, lock_timeout=1.0)
    assert not pg_server.schema_exists(_schema(pg_url))  # open created nothing
    _new(pg_url).close()
    with pytest.raises(VaultExists):
        _new(pg_url)
    other = pg_url + "_partial"
    _sql(pg_server, "CREATE SCHEMA {s}", s=_schema(other))
    try:
        _sql(pg_server, "CREATE TABLE {s}.contacts (x integer)", s=_schema(other))
        with pytest.raises(VaultExists):
            _new(other)
        _sql(pg_server, "DROP TABLE {s}.contacts", s=_schema(other))
        _new(other).close()  # an empty schema that exists is used
    finally:
        pg_server.drop_schema(_schema(other))


def test_a_user_with_rights_on_its_schema_only(pg_server, pg_url):
    """A user who owns just the vault's schema (no CREATE on the database) creates and uses the vault.

    One without rights gets a VaultError that says so, not VaultCorrupted.
    """
    owner, stranger, secret = f"cv_{uuid.uuid4().hex[:10]}", f"cv_{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    schema = _schema(pg_url)

    def as_user(user: str) -> str:
        return pg_url.replace(f"{pg_server.user}:{pg_server.password}@", f"{user}:{secret}@")

    with pg_server.connect() as db:
        for role in (owner, stranger):
            db.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(secret))
            )
        db.execute(
            sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(sql.Identifier(schema), sql.Identifier(owner))
        )
    try:
        with Vault.create(as_user(owner), PASSPHRASE, kdf=FAST) as vault:
            vault.erase(vault.add(Contact(display_name="Eigentümer Ä")))
            assert vault.verify().erased == 1
        with pytest.raises(VaultError, match="InsufficientPrivilege") as caught:
            Vault.open(as_user(stranger), PASSPHRASE)
        assert type(caught.value) is VaultError
        assert secret not in str(caught.value)
    finally:
        pg_server.drop_schema(schema)
        with pg_server.connect() as db:
            for role in (owner, stranger):
                db.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


# --- schema versions and damage ----------------------------------------------------------------------------


def _set_version(pg_server, url: str, version: str) -> None:
    _sql(pg_server, "UPDATE {s}.meta SET value = %s WHERE key = 'schema_version'", version, s=_schema(url))


def test_a_newer_schema_version_is_refused(pg_server, pg_url):
    """Tables of a newer version than this code knows give UnsupportedFormat naming both versions."""
    Vault.create(pg_url, PASSPHRASE, kdf=FAST).close()
    _set_version(pg_server, pg_url, "7")
    with pytest.raises(UnsupportedFormat, match=r"version 7.*\b1\b"):
        Vault.open(pg_url, PASSPHRASE)
    _set_version(pg_server, pg_url, "seven")
    with pytest.raises(VaultCorrupted):
        Vault.open(pg_url, PASSPHRASE)


def test_older_tables_are_migrated_in_one_transaction(pg_server, pg_url, monkeypatch):
    """Tables at an older version get the MIGRATIONS steps at open, all of them or (on a failure) none."""
    with Vault.create(pg_url, PASSPHRASE, kdf=FAST) as vault:
        contact_id = vault.add(Contact(display_name="Migration Ä"))
    schema = _schema(pg_url)
    _set_version(pg_server, pg_url, "0")
    monkeypatch.setitem(pg.MIGRATIONS, 0, ("CREATE TABLE {schema}.added (x integer)", "SELECT 1 / 0"))
    with pytest.raises(VaultError):
        Vault.open(pg_url, PASSPHRASE)
    assert _sql(pg_server, "SELECT value FROM {s}.meta", s=schema) == [("0",)]
    assert _sql(pg_server, "SELECT to_regclass(%s)", f"{schema}.added") == [(None,)]
    monkeypatch.setitem(
        pg.MIGRATIONS,
        0,
        ("CREATE TABLE {schema}.added (x integer)", "INSERT INTO {schema}.added VALUES (42)"),
    )
    with Vault.open(pg_url, PASSPHRASE) as vault:
        assert vault.get(contact_id).display_name == "Migration Ä"
        assert vault.verify().contacts == 1
    assert _sql(pg_server, "SELECT value FROM {s}.meta", s=schema) == [("1",)]
    assert _sql(pg_server, "SELECT x FROM {s}.added", s=schema) == [(42,)]
    Vault.open(pg_url, PASSPHRASE).close()  # the second open runs no step again
    assert _sql(pg_server, "SELECT x FROM {s}.added", s=schema) == [(42,)]
    monkeypatch.delitem(pg.MIGRATIONS, 0)
    _set_version(pg_server, pg_url, "0")
    with pytest.raises(UnsupportedFormat, match="no upgrade from schema version 0"):
        Vault.open(pg_url, PASSPHRASE)


@pytest.mark.parametrize(
    ("damage", "found_at_open"),
    [
        ("ALTER TABLE {s}.contacts DROP CONSTRAINT contacts_id_check", False),
        ("ALTER TABLE {s}.disclosures DROP CONSTRAINT disclosures_pkey", False),
        ("ALTER TABLE {s}.header DROP CONSTRAINT header_id_check", False),
        ("ALTER TABLE {s}.disclosures ALTER COLUMN record TYPE text", True),
        ("ALTER TABLE {s}.contacts ALTER COLUMN payload SET NOT NULL", True),
        ("ALTER TABLE {s}.contacts ADD COLUMN extra text", True),
        ("DROP TABLE {s}.phone_index", True),
        ("DROP TABLE {s}.meta", True),
    ],
)
def test_damaged_tables_are_found(pg_server, pg_url, damage, found_at_open):
    """A table, column, type or constraint that is not as created is VaultCorrupted: at open, or by verify."""
    Vault.create(pg_url, PASSPHRASE, kdf=FAST).close()
    _sql(pg_server, damage, s=_schema(pg_url))
    if found_at_open:
        with pytest.raises(VaultCorrupted):
            Vault.open(pg_url, PASSPHRASE)
        return
    with Vault.open(pg_url, PASSPHRASE) as vault, pytest.raises(VaultCorrupted):
        vault.verify()


def test_a_row_of_the_wrong_type_is_damage(pg_server, pg_url):
    """A header row that is not the one row of id 1 is VaultCorrupted, never a wrong read."""
    Vault.create(pg_url, PASSPHRASE, kdf=FAST).close()
    _sql(pg_server, "ALTER TABLE {s}.header DROP CONSTRAINT header_id_check", s=_schema(pg_url))
    _sql(pg_server, "INSERT INTO {s}.header VALUES (2, 'x')", s=_schema(pg_url))
    with pytest.raises(VaultCorrupted):
        Vault.open(pg_url, PASSPHRASE)


# --- connections, transactions, streaming --------------------------------------------------------------


def _sessions(pg_server, name: str) -> int:
    rows = _sql(pg_server, "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", name)
    return int(rows[0][0])  # type: ignore[call-overload]


def _sessions_end(pg_server, name: str) -> int:
    """The sessions still there once the server has had time to end the closed ones (0 if all ended).

    Closing a connection ends its server process a moment later, not at once: on a busy machine
    ``pg_stat_activity`` may still list it. Asked again for up to 30 s; a connection left open stays.
    """
    deadline = time.monotonic() + 30
    while (left := _sessions(pg_server, name)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def test_a_connection_per_thread_all_closed_by_close(pg_server, pg_url):
    """Each thread that uses a backend gets its own connection; close() closes every one of them."""
    name = f"cv_{uuid.uuid4().hex[:12]}"
    _new(pg_url).close()
    backend = open_backend(f"{pg_url}&application_name={name}", lock_timeout=5.0)
    connected, counted = threading.Barrier(4), threading.Barrier(4)

    def work() -> None:
        backend.count()
        connected.wait(30)
        counted.wait(30)  # alive until the sessions are counted: an ended thread's connection is closed

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    connected.wait(30)
    assert _sessions(pg_server, name) == 4
    counted.wait(30)
    for thread in threads:
        thread.join()
    backend.close()
    assert _sessions_end(pg_server, name) == 0


def test_reads_of_whole_tables_stream(pg_server, pg_url):
    """rows() fetches through a server-side cursor, a batch at a time, in a snapshot on another connection."""
    name = f"cv_{uuid.uuid4().hex[:12]}"
    _new(pg_url).close()
    backend = open_backend(f"{pg_url}&application_name={name}", lock_timeout=5.0)
    try:
        with backend.transaction():
            backend.insert([Row(uuid.uuid4().bytes, 1, b"d" * 64, b"k" * 64, b"p" * 64) for _ in range(1200)])
        rows = backend.rows()
        next(rows)
        activity = _sql(
            pg_server, "SELECT state, query FROM pg_stat_activity WHERE application_name = %s", name
        )
        assert ("idle in transaction", activity[-1][1]) in activity
        assert any(str(query).startswith('FETCH 500 FROM "cv_') for _, query in activity)
        assert sum(1 for _ in rows) == 1199
    finally:
        backend.close()


def test_a_caught_error_inside_a_transaction_commits_nothing(pg_url):
    """A failed statement spoils PostgreSQL's transaction: if its error is caught, nothing is committed."""
    backend = _new(pg_url)
    row = Row(uuid.uuid4().bytes, 1, b"d", b"k", b"p")
    try:
        with backend.transaction():
            backend.insert([row])

        def swallow_a_conflict() -> None:
            with backend.transaction():
                backend.write_single("state", b"changed")
                with pytest.raises(ConflictError):
                    backend.insert([row])

        with pytest.raises(VaultError, match="none of it was written"):
            swallow_a_conflict()
        assert backend.read_single("state") == b"state"
    finally:
        backend.close()


def test_a_lock_timeout_of_zero_does_not_wait_for_ever(pg_url):
    """lock_timeout=0 (no waiting) gives VaultLocked at once, not PostgreSQL's "wait for ever"."""
    holder = _new(pg_url)
    impatient = open_backend(pg_url, lock_timeout=0.0)
    try:
        with holder.transaction(), pytest.raises(VaultLocked), impatient.transaction():
            pass
    finally:
        holder.close()
        impatient.close()


def test_a_lost_connection_is_replaced(pg_server, pg_url):
    """A connection the server dropped gives one VaultError (naming no password); the next call reconnects."""
    name = f"cv_{uuid.uuid4().hex[:12]}"
    _new(pg_url).close()
    backend = open_backend(f"{pg_url}&application_name={name}", lock_timeout=5.0)
    try:
        assert backend.count() == (0, 0)
        _sql(
            pg_server,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            name,
        )
        with pytest.raises(VaultError, match="connection") as caught:
            backend.count()
        assert pg_server.password not in str(caught.value)
        assert backend.count() == (0, 0)
    finally:
        backend.close()


def test_settings_and_erase_report_what_postgresql_does(pg_url, pg_urls):
    """Settings come from the server (synchronous 2: fsync and synchronous_commit on); erase wipes nothing."""
    with Vault.create(pg_url, PASSPHRASE, kdf=FAST) as vault:
        settings = vault.settings()
        assert (settings.backend, settings.journal_mode, settings.synchronous) == ("postgresql", "wal", 2)
        assert not settings.secure_delete
        erasure = vault.erase(vault.add(Contact(display_name="Gelöscht Ö")))
        assert not erasure.wal_truncated
        assert not erasure.secure_delete
        with pytest.raises(ValueError, match="PostgreSQL"):
            _ = vault.path
    backend = _new(pg_urls())
    try:
        assert re.fullmatch(r"\d+(\.\d+)? .*|\d+(\.\d+)?", str(backend.settings()["server_version"]))
        assert backend.after_erase() is False
    finally:
        backend.close()


# --- no plaintext on the server ----------------------------------------------------------------------------

MARKERS = {
    "name": "Quirinus Zwetschgenbaum",
    "email": "quirinus.zwetschge@example.org",
    "note": "Rückruf wegen Kündigung Zählerstand",
    "label": "Stammkunde-Kürbis",
    "street": "Holunderweg 17",
    "organisation": "Pflaumenmus GmbH",
}
NUMBERS = ("+4915155501234", "+4930555019876")


def test_a_pg_dump_shows_no_personal_data(pg_server, pg_url):
    """pg_dump of the vault's schema holds none of the names, numbers, e-mails, notes or labels."""
    contact = Contact(
        display_name=MARKERS["name"],
        phones=tuple(normalize_phone(n, default_region=None) for n in NUMBERS),
        emails=(EmailAddress(address=MARKERS["email"]),),
        notes=(MARKERS["note"],),
        labels=(Label(name=MARKERS["label"]),),
        addresses=(PostalAddress(street=MARKERS["street"], locality="Musterstadt"),),
        organisation=MARKERS["organisation"],
    )
    with Vault.create(pg_url, PASSPHRASE, kdf=FAST) as vault:
        contact_id = vault.add(contact)
        vault.add_many(Contact(display_name=f"{MARKERS['name']} {i}") for i in range(20))
    dump = pg_server.dump(_schema(pg_url))
    assert "COPY" in dump
    assert "contacts" in dump
    lowered = dump.lower()
    forbidden = [*MARKERS.values(), *NUMBERS, *(n.lstrip("+") for n in NUMBERS), *(n[3:] for n in NUMBERS)]
    forbidden += [n[-8:] for n in NUMBERS]  # runs of their digits
    for value in forbidden:
        for form in (value, value.lower()):
            assert form not in dump
            assert form.lower() not in lowered
            assert form.encode().hex() not in lowered  # bytea is dumped as hex
            assert form.encode("utf-16-le").hex() not in lowered
    with Vault.open(pg_url, PASSPHRASE) as vault:
        assert vault.get(contact_id).display_name == MARKERS["name"]
        assert vault.verify().contacts == 21
