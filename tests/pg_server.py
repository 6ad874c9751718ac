"""A real PostgreSQL server on a private Unix socket for the PostgreSQL backend's tests.

``PostgresServer.start`` runs ``initdb`` into a new temporary folder (password authentication with
SCRAM-SHA-256, a random password read from a 0600 file) and starts the server with ``pg_ctl``, listening on a
socket in that folder only (no TCP port). Run as root (as CI is), ``initdb`` refuses to work, so the server
runs as the ``postgres`` system user through ``runuser``. ``find_bin`` finds the binaries on ``PATH`` or
under ``/usr/lib/postgresql/*/bin``. The fixtures (``pg_server``, one per session, and ``pg_url``, a fresh
schema per test) are in ``tests/conftest.py``.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

STARTUP_TIMEOUT = 60.0
"""Seconds to wait for the server to accept connections (CI machines are slow and busy)."""

SUPERUSER = "cvtest"
"""The database superuser ``initdb`` creates; the vault tests connect as it."""

_DEBIAN_BINS = Path("/usr/lib/postgresql")


def find_bin(name: str) -> Path | None:
    """The PostgreSQL program ``name`` (``initdb``, ``pg_ctl``, ``pg_dump``): on PATH, or Debian's newest."""
    found = shutil.which(name)
    if found:
        return Path(found).resolve()
    versions = sorted(
        (p for p in _DEBIAN_BINS.glob("*/bin") if (p / name).is_file()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    return versions[-1] / name if versions else None


def _system_user() -> str | None:
    """The user to run the server as: ``postgres`` when running as root (initdb refuses root), else none."""
    return "postgres" if os.geteuid() == 0 else None


@dataclass
class PostgresServer:
    """One PostgreSQL cluster in ``folder``: data in ``data/``, the socket in ``socket/``, the log beside.

    ``url(schema)`` is a ``postgresql://`` URL for the vault tests; ``connect()`` a superuser connection for
    looking at the server directly.
    """

    folder: Path
    bin: Path
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18), repr=False)
    database: str = "postgres"
    user: str = SUPERUSER

    @property
    def data(self) -> Path:
        """The cluster's data folder."""
        return self.folder / "data"

    @property
    def socket_dir(self) -> Path:
        """The folder of the server's Unix socket (its only way in)."""
        return self.folder / "socket"

    @property
    def log(self) -> Path:
        """The server's log file."""
        return self.folder / "server.log"

    def url(self, schema: str | None = None, *, password: str | None = None) -> str:
        """A URL to the test database over the socket; with ``?schema=`` if given."""
        secret = quote(self.password if password is None else password, safe="")
        host = quote(str(self.socket_dir), safe="")
        query = f"?schema={schema}" if schema is not None else ""
        return f"postgresql://{self.user}:{secret}@{host}/{self.database}{query}"

    def connect(self) -> Any:
        """An autocommit superuser connection (psycopg), for setting up and inspecting tests."""
        import psycopg  # noqa: PLC0415  (optional: the tests skip without it)

        return psycopg.connect(
            host=str(self.socket_dir),
            user=self.user,
            password=self.password,
            dbname=self.database,
            autocommit=True,
        )

    def _run(
        self, *command: str | Path, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL program, as the ``postgres`` system user when this process is root."""
        user = _system_user()
        prefix: list[str | Path] = ["runuser", "-u", user, "--"] if user else []
        return subprocess.run(  # noqa: S603  (fixed programs and arguments)
            [*prefix, *command],
            cwd=self.folder,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            check=False,
            timeout=STARTUP_TIMEOUT * 2,
        )

    def _checked(self, what: str, result: subprocess.CompletedProcess[str]) -> None:
        if result.returncode != 0:
            raise RuntimeError(f"{what} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")

    def start(self) -> None:
        """``initdb`` a new cluster and start it; return once it accepts connections."""
        self.socket_dir.mkdir(mode=0o700)
        pwfile = self.folder / "pwfile"
        pwfile.touch(mode=0o600)
        pwfile.write_text(self.password + "\n", encoding="utf-8")
        user = _system_user()
        if user:
            shutil.chown(self.folder, user)
            for path in (self.socket_dir, pwfile):
                shutil.chown(path, user)
        self._checked(
            "initdb",
            self._run(
                self.bin / "initdb", "-D", self.data, "--auth=scram-sha-256", f"--pwfile={pwfile}",
                f"--username={self.user}", "--encoding=UTF8", "--locale=C", "--no-sync",
            ),
        )  # fmt: skip
        pwfile.unlink()
        with (self.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write(
                "\n# contactvault tests: a Unix socket in a private folder only\n"
                "listen_addresses = ''\n"
                f"unix_socket_directories = '{self.socket_dir}'\n"
                "unix_socket_permissions = 0700\n"
                "max_connections = 200\n"
            )
        wait = str(int(STARTUP_TIMEOUT))
        self._checked(
            "pg_ctl start",
            self._run(self.bin / "pg_ctl", "start", "-D", self.data, "-l", self.log, "-w", "-t", wait),
        )
        self._wait()

    def _wait(self) -> None:
        """Connect until the server answers, for up to ``STARTUP_TIMEOUT`` seconds."""
        import psycopg  # noqa: PLC0415

        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            try:
                self.connect().close()
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"PostgreSQL answered no connection within {STARTUP_TIMEOUT} s"
                    ) from None
                time.sleep(0.2)
            else:
                return

    def stop(self) -> None:
        """Stop the server (``pg_ctl stop -m fast``) if it runs; the folder stays."""
        if (self.data / "postmaster.pid").exists():
            self._run(self.bin / "pg_ctl", "stop", "-D", self.data, "-m", "fast", "-w", "-t", "60")

    def dump(self, schema: str) -> str:
        """``pg_dump`` of one schema (plain SQL text), run as the server's user against its socket."""
        result = self._run(
            self.bin / "pg_dump", "--host", self.socket_dir, "--username", self.user,
            "--dbname", self.database, "--schema", schema, "--no-password",
            env={"PGPASSWORD": self.password},
        )  # fmt: skip
        self._checked("pg_dump", result)
        return result.stdout

    def schema_exists(self, schema: str) -> bool:
        """Whether the test database has a schema of that name."""
        with self.connect() as db:
            row = db.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
        return bool(row[0])

    def drop_schema(self, schema: str) -> None:
        """Drop a test's schema and everything in it."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", schema):
            raise ValueError("not a test schema name")
        with self.connect() as db:
            db.execute("SET lock_timeout = '30s'")  # a vault a test left open would block the drop
            db.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def unavailable() -> str | None:
    """Why no PostgreSQL server can be started here (no binaries, no psycopg), or ``None``."""
    try:
        import psycopg  # noqa: F401, PLC0415
    except ImportError:
        return "psycopg is not installed (pip install -e '.[dev]')"
    missing = [name for name in ("initdb", "pg_ctl", "pg_dump") if find_bin(name) is None]
    if missing:
        return f"no PostgreSQL binaries ({', '.join(missing)}) on PATH or under /usr/lib/postgresql/*/bin"
    if _system_user() and shutil.which("runuser") is None:
        return "running as root, but runuser (to run PostgreSQL as the postgres user) is missing"
    return None


@contextlib.contextmanager
def running_server() -> Any:
    """A started server in a new private temporary folder; stopped and removed afterwards."""
    initdb = find_bin("initdb")
    if initdb is None:
        raise RuntimeError("initdb not found")
    # Directly under the system's temporary folder: the postgres user must reach it (pytest's own
    # temporary folders are private to root).
    folder = Path(tempfile.mkdtemp(prefix="cv-pg-"))
    server = PostgresServer(folder=folder, bin=initdb.parent)
    try:
        server.start()
        yield server
    finally:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)
