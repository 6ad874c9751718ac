"""``migrate``: a vault copied between an SQLite file and PostgreSQL, sealed rows as they are, then verified.

SQLite -> PostgreSQL -> SQLite gives a vault whose contacts, erased ids, disclosure log and ``verify()``
equal the original's, and whose sealed rows are the same bytes (nothing was decrypted and sealed again).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from contactvault import KdfParams, Policy, Vault, VaultExists, import_vcards
from contactvault.cli import main
from contactvault.sync import export_book, messenger_book
from tests.conftest import SAMPLE, consent

PASSPHRASE = "umziehen ohne auszupacken"  # noqa: S105 - a test passphrase
FAST = KdfParams.insecure_fast_for_tests()


def _everything(vault: Vault) -> tuple[object, ...]:
    """What a vault holds, as the API shows it: contacts, the log, the counts that verify reports."""
    report = vault.verify()
    return (
        sorted(vault.contacts(), key=lambda c: c.id),
        vault.disclosures(),
        (report.contacts, report.erased, report.index_entries, report.disclosures),
    )


def _rows(vault: Vault) -> list[object]:
    """The sealed rows, the index and the log as stored: the bytes a copy must keep."""
    storage = vault._core.storage
    with storage.snapshot():
        return [
            storage.read_single("header"),
            storage.read_single("state"),
            list(storage.rows(with_payload=True)),
            sorted(storage.index_pairs()),
            list(storage.log_records()),
        ]


@pytest.fixture
def made(tmp_path: Path) -> tuple[Path, str]:
    """A vault file (contacts, a consent, an erased and a merged contact, two exports); its recovery key."""
    path = tmp_path / "original.db"
    with Vault.create(path, PASSPHRASE, kdf=FAST, recovery_key=True) as vault:
        key = vault.recovery_key
        report = vault.import_contacts(import_vcards(SAMPLE, default_region="DE"))
        first, second, third, *_ = report.added
        vault.grant_consent(first, consent())
        vault.erase(second)
        vault.merge([first, third])
        export_book(vault, messenger_book(vault, Policy.default()), tmp_path / "book.vcf")
        export_book(vault, messenger_book(vault, Policy.default()), tmp_path / "book.vcf")
    assert key is not None
    return path, key


@pytest.fixture
def original(made: tuple[Path, str]) -> Path:
    """The vault file of ``made``."""
    return made[0]


def test_sqlite_to_postgresql_to_sqlite_keeps_everything(made, pg_url, tmp_path):
    """Both ways: the same contacts, erasures, log and checks; the same sealed bytes in every row."""
    original, recovery_key = made
    back = tmp_path / "back.db"
    with Vault.open(original, PASSPHRASE) as vault:
        before, rows = _everything(vault), _rows(vault)
        there = vault.migrate_to(pg_url)
    assert there.target.endswith("schema=" + pg_url.rpartition("schema=")[2])
    assert PASSPHRASE not in there.target
    with Vault.open(pg_url, PASSPHRASE) as vault:
        assert vault.backend == "postgresql"
        assert _everything(vault) == before
        assert _rows(vault) == rows
        home = vault.migrate_to(back)
    assert (home.check.contacts, home.check.disclosures) == (before[2][0], before[2][3])
    with Vault.open(back, PASSPHRASE) as vault:
        assert vault.backend == "sqlite"
        assert _everything(vault) == before
        assert _rows(vault) == rows
    with Vault.open_with_recovery_key(pg_url, recovery_key) as vault:  # the key slots came along
        assert len(vault) == before[2][0]


def test_migrate_never_overwrites(original, pg_url, tmp_path):
    """A target that holds a vault already (a file, or a schema) is refused; nothing of it changes."""
    taken = tmp_path / "taken.db"
    Vault.create(taken, "anders", kdf=FAST).close()
    before = taken.read_bytes()
    with Vault.open(original, PASSPHRASE) as vault:
        vault.migrate_to(pg_url)
        with pytest.raises(VaultExists):
            vault.migrate_to(taken)
        with pytest.raises(VaultExists):
            vault.migrate_to(pg_url)
    assert taken.read_bytes() == before


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_the_migrate_command_both_ways(original, pg_url, pg_server, tmp_path):
    """``contactvault migrate SRC DST``: exit 0 and the counts; JSON; an existing target is exit 2."""
    secret = tmp_path / "passphrase.txt"
    secret.write_text(PASSPHRASE + "\n", encoding="utf-8")
    code, out = _cli("migrate", str(original), pg_url, "--passphrase-file", str(secret))
    assert code == 0, out
    assert "verified" in out
    assert "schema=" in out
    assert pg_server.password not in out
    code, out = _cli("migrate", pg_url, str(tmp_path / "back.db"), "--passphrase-file", str(secret), "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["verified"] is True
    with Vault.open(original, PASSPHRASE) as vault:
        assert report["contacts"] == len(vault)
        assert report["disclosures"] == len(vault.activity())  # every record of the log
    code, out = _cli("migrate", str(original), str(tmp_path / "back.db"), "--passphrase-file", str(secret))
    assert code == 2
    assert "already exists" in out
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("falsch\n", encoding="utf-8")
    code, out = _cli("migrate", str(original), str(tmp_path / "never.db"), "--passphrase-file", str(wrong))
    assert code == 3
    assert not (tmp_path / "never.db").exists()
