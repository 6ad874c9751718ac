"""Shared fixtures: where the real-world corpus lives, and a helper to write test files."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from contactvault import Contact, Policy, Vault, normalize_phone
from contactvault.models import ConsentRecord
from contactvault.sync import export_book, messenger_book
from tests import pg_server as pg

ROOT = Path(__file__).resolve().parent.parent


def _origin() -> Path | None:
    """The local repository this checkout was cloned from, if any (CI clones the project afresh)."""
    try:
        url = subprocess.run(  # noqa: S603  (a fixed git command)
            ["git", "-C", str(ROOT), "config", "--get", "remote.origin.url"],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        return None
    path = Path(url.removeprefix("file://"))
    return path if url and "://" not in url.removeprefix("file://") and path.is_dir() else None


def _find_corpus() -> Path:
    """Where the shared corpus is: ``CONTACTVAULT_CORPUS`` if set, else ``shared/corpus``.

    It is looked for beside the project or a folder above it, then beside the repository this checkout
    was cloned from. If there is none, the first candidate is returned and the corpus tests fail.
    """
    candidates = [Path(os.environ["CONTACTVAULT_CORPUS"])] if "CONTACTVAULT_CORPUS" in os.environ else []
    candidates += [folder / "shared" / "corpus" for folder in ROOT.parents]
    origin = _origin()
    if origin is not None:
        candidates += [folder / "shared" / "corpus" for folder in origin.resolve().parents]
    return next((c for c in candidates if c.is_dir()), candidates[0])


CORPUS = _find_corpus()
SAMPLE = ROOT / "src" / "contactvault" / "samples" / "phone-export.vcf"

# Hypothesis: a CI profile that is thorough but bounded (2 cores, well under the CI time budget).
settings.register_profile("ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")


@pytest.fixture(scope="session", autouse=True)
def _session_client_memory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A client memory of vaults for the session's shared fixtures, never the user's own state folder."""
    with pytest.MonkeyPatch.context() as patch:
        folder = tmp_path_factory.mktemp("client-state")
        patch.setenv("CONTACTVAULT_STATE_DIR", str(folder))
        yield folder


@pytest.fixture(autouse=True)
def client_memory(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's own client memory of vaults (``CONTACTVAULT_STATE_DIR``), inherited by its subprocesses.

    The folder is outside ``tmp_path``, whose contents some tests list.
    """
    folder = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("CONTACTVAULT_STATE_DIR", str(folder))
    return folder


@pytest.fixture
def corpus() -> Path:
    """The folder of real vCard exports (../shared/corpus, read in place, never copied)."""
    if not CORPUS.is_dir():
        pytest.fail(f"the vCard corpus is missing at {CORPUS}")
    return CORPUS


def vcf(*lines: str) -> bytes:
    """Join lines with CRLF into the bytes of a vCard file."""
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


CONSENT_GRANTED = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)


def consent(**changes: Any) -> ConsentRecord:
    """A valid messenger consent, granted at ``CONSENT_GRANTED``, with ``changes`` applied."""
    fields: dict[str, Any] = {
        "purpose": "messenger",
        "granted_at": CONSENT_GRANTED,
        "channel": "written",
        "notice_id": "notice-messenger",
        "notice_version": "3",
        "recorded_by": "owner",  # the key slot that opens the test vaults: it records what they add
    }
    return ConsentRecord(**(fields | changes))


@dataclass
class CliVault:
    """A vault on disk for command-line tests: its path, its passphrase file, and its contacts' ids."""

    path: Path
    passphrase_file: Path
    ids: list[uuid.UUID]

    @property
    def options(self) -> list[str]:
        """The options that open this vault."""
        return ["--vault", str(self.path), "--passphrase-file", str(self.passphrase_file)]


def disclosed_pair(vault: Vault, folder: Path) -> tuple[Contact, Contact]:
    """Two contacts of one person, "Anna Beispiel" and "A. Beispiel", both exported once.

    Each has a number, a consent (its notice version the number's last digit) and messenger presence;
    the book goes to ``folder/book.vcf``.
    """
    pair = tuple(
        Contact(display_name=name, phones=(normalize_phone(number, default_region=None),))
        for name, number in (("Anna Beispiel", "+4915155500001"), ("A. Beispiel", "+4915155500002"))
    )
    vault.add_many(pair)
    for contact in pair:
        number = contact.phones[0].raw
        vault.grant_consent(contact.id, consent(notice_version=number[-1]))
        vault.set_messenger_presence(contact.id, number, True, source="test")
    export_book(vault, messenger_book(vault, Policy.default()), folder / "book.vcf")
    return pair[0], pair[1]


# --- a vault on either backend ------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    """Where a test's vault lives: ``sqlite`` (a file) or ``postgres`` (a schema on the test server).

    A test about the vault file itself says ``@pytest.mark.parametrize("backend", ["sqlite"])``.
    """
    return str(request.param)


@pytest.fixture
def where(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Path | str:
    """A new vault's location on ``backend``: ``team.db`` in ``tmp_path``, or the URL of a fresh schema."""
    return tmp_path / "team.db" if backend == "sqlite" else str(request.getfixturevalue("pg_url"))


# --- a real PostgreSQL server (tests/pg_server.py) ---------------------------------------------------------


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pg.PostgresServer]:
    """A PostgreSQL server on a private Unix socket, one for the session; skipped where none can run."""
    reason = pg.unavailable()
    if reason is not None and os.environ.get("CONTACTVAULT_REQUIRE_POSTGRES"):
        pytest.fail(f"CONTACTVAULT_REQUIRE_POSTGRES is set, but no PostgreSQL server can run: {reason}")
    if reason is not None:
        pytest.skip(f"no PostgreSQL server for the tests: {reason}")
    with pg.running_server() as server:
        yield server


@pytest.fixture
def pg_urls(pg_server: pg.PostgresServer) -> Iterator[Callable[[], str]]:
    """Makes URLs of fresh schemas (``?schema=t_<random hex>``); each one is dropped after the test."""
    schemas: list[str] = []

    def new_url() -> str:
        schemas.append(f"t_{uuid.uuid4().hex[:20]}")
        return pg_server.url(schemas[-1])

    yield new_url
    for schema in schemas:
        pg_server.drop_schema(schema)


@pytest.fixture
def pg_url(pg_urls: Callable[[], str]) -> str:
    """The URL of a fresh schema in the test server's database, dropped after the test."""
    return pg_urls()
