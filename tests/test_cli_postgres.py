"""The command line on a vault in PostgreSQL: ``--vault postgresql://...`` works as a file path does.

A business that moved its vault into PostgreSQL runs the same commands; the URL's password never appears
in what they print.
"""

from __future__ import annotations

import json

from click.testing import CliRunner

from contactvault import Vault
from contactvault.cli import main
from tests.conftest import SAMPLE

PASSPHRASE = "Datenbank statt Datei"  # noqa: S105 - a test passphrase


def test_the_everyday_commands_on_a_postgresql_vault(pg_url, pg_server, tmp_path, monkeypatch):
    """init, import, list, book, export, log and verify with the vault in PostgreSQL."""
    secret = tmp_path / "passphrase.txt"
    secret.write_text(PASSPHRASE + "\n", encoding="utf-8")
    monkeypatch.setenv("CONTACTVAULT_VAULT", pg_url)
    monkeypatch.setenv("CONTACTVAULT_PASSPHRASE_FILE", str(secret))
    outputs: list[str] = []

    def run(*args: str) -> str:
        result = CliRunner().invoke(main, list(args))
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
        return result.output

    run("init")
    run("import", str(SAMPLE), "--region", "DE")
    listed = json.loads(run("list", "--json"))
    with Vault.open(pg_url, PASSPHRASE) as vault:
        assert len(listed) == len(vault) > 0
    run("book")
    run("export", str(tmp_path / "book.vcf"))
    assert (tmp_path / "book.vcf").exists()
    assert "file:" in run("log")
    assert "OK" in run("verify")
    assert all(pg_server.password not in output for output in outputs)
