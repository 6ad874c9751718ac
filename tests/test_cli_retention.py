"""`contactvault retention set`, `show`, `plan` and `apply`: the dry run equals the receipts, no leaks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from contactvault import KdfParams, Vault
from contactvault.cli import main
from tests.conftest import CliVault
from tests.test_retention_plan import EXAMPLE
from tests.test_retention_vault import EMAIL, NUMBERS, _contacts

FAST = KdfParams.insecure_fast_for_tests()
PASSPHRASE = "correct horse battery staple"  # noqa: S105  (a test vault)
NOW = "2018-05-01T00:00:00+00:00"  # 40 months after the contacts' last activity


def run(*args: str, input: str | None = None) -> Result:
    result = CliRunner().invoke(main, list(args), input=input)
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def setup(tmp_path) -> CliVault:
    path = tmp_path / "vault.db"
    with Vault.create(path, PASSPHRASE, kdf=FAST) as vault:
        ids = vault.add_many(_contacts())
    passphrase_file = tmp_path / "passphrase.txt"
    passphrase_file.write_text(PASSPHRASE + "\n", encoding="utf-8")
    return CliVault(path, passphrase_file, list(ids))


@pytest.fixture
def schedule_file(tmp_path) -> Path:
    path = tmp_path / "retention.toml"
    path.write_text(EXAMPLE, encoding="utf-8")
    return path


def test_set_and_show_the_schedule(setup, schedule_file):
    """`set` stores it and says so, again says unchanged; `show --json` gives the stored document."""
    first = run("retention", "set", str(schedule_file), *setup.options)
    assert first.exit_code == 0, first.output
    assert "Stored the retention schedule" in first.output
    assert "customer-statutory-period-over" in first.output
    again = run("retention", "set", str(schedule_file), *setup.options)
    assert "Unchanged" in again.output
    shown = json.loads(run("retention", "show", "--json", *setup.options).output)
    assert shown["versions"] == 1
    assert shown["schedule"]["rules"][0]["name"] == "no-basis-36-months"


def test_a_bad_schedule_file_is_refused_with_its_name_and_rule(setup, tmp_path):
    """Exit 5, the file's name, the rule and the key; the bad value is not echoed."""
    bad = tmp_path / "bad.toml"
    bad.write_text(EXAMPLE.replace('action = "strip"', 'action = "Anna Müller"'), encoding="utf-8")
    result = run("retention", "set", str(bad), *setup.options)
    assert result.exit_code == 5
    assert "bad.toml" in result.output
    assert "rule 2 (customer-business-need-over)" in result.output
    assert "Anna" not in result.output


def test_the_plan_equals_the_receipts_of_apply(setup, schedule_file, tmp_path):
    """The issue's test: `retention plan --json` equals `retention apply --json`'s receipts."""
    run("retention", "set", str(schedule_file), *setup.options)
    planned = json.loads(run("retention", "plan", "--now", NOW, "--json", *setup.options).output)
    assert len(planned["items"]) == 2
    folder = tmp_path / "receipts"
    folder.mkdir()
    applied = run(
        "retention", "apply", "--now", NOW, "--yes", "--json", "--receipts", str(folder), "--lang", "de",
        *setup.options,
    )  # fmt: skip
    assert applied.exit_code == 0, applied.output
    receipts = json.loads(applied.stdout)["receipts"]
    keys = ("contact", "version", "rule", "action", "reasons", "since", "last_activity", "removes")
    assert [{k: r[k] for k in keys} for r in receipts] == planned["items"]
    assert sorted(p.suffix for p in folder.iterdir()) == [".json", ".json", ".md", ".md"]
    assert "Nachweis" in next(folder.glob("*.md")).read_text(encoding="utf-8")
    after = json.loads(run("retention", "plan", "--now", NOW, "--json", *setup.options).output)
    assert after["items"] == []
    raw = setup.path.read_bytes()
    assert EMAIL.encode() not in raw
    assert NUMBERS[1].encode() not in raw


def test_the_plan_shows_short_ids_and_masked_names_unless_revealed(setup, schedule_file):
    """Who, why, which fields, from when; a name only with --reveal, never a number or an e-mail address."""
    run("retention", "set", str(schedule_file), *setup.options)
    masked = run("retention", "plan", "--now", NOW, *setup.options)
    assert masked.exit_code == 0, masked.output
    assert setup.ids[0].hex[:8] in masked.output
    assert "since 2018-01-01" in masked.output
    assert "Anna Vergessen" not in masked.output
    assert "strip nickname, phones, emails" in masked.output
    revealed = run("retention", "plan", "--now", NOW, "--reveal", *setup.options)
    assert "Anna Vergessen" in revealed.output
    for output in (masked.output, revealed.output):
        assert NUMBERS[0] not in output
        assert EMAIL not in output


def test_apply_asks_first_and_a_no_changes_nothing(setup, schedule_file, monkeypatch):
    """Without --yes and a terminal: exit 2; on a terminal, "n" leaves every contact in place."""
    run("retention", "set", str(schedule_file), *setup.options)
    refused = run("retention", "apply", "--now", NOW, *setup.options)
    assert refused.exit_code == 2
    monkeypatch.setattr("contactvault.cli._app.interactive", lambda: True)
    declined = run("retention", "apply", "--now", NOW, *setup.options, input="n\n")
    assert "Nothing was changed" in declined.output
    with Vault.open(setup.path, PASSPHRASE) as vault:
        assert len(vault) == 3
    accepted = run("retention", "apply", "--now", NOW, *setup.options, input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert "erased" in accepted.output
    with Vault.open(setup.path, PASSPHRASE) as vault:
        assert len(vault) == 2


def test_plan_without_a_schedule_says_what_to_do(setup):
    """No schedule stored: one line and exit 2, no traceback."""
    result = run("retention", "plan", *setup.options)
    assert result.exit_code == 2
    assert "retention set" in result.output


def test_apply_for_a_moment_to_come_is_refused_and_changes_nothing(setup, schedule_file):
    """`plan --now` may look ahead; `apply --now` in the future would erase what is still needed today."""
    run("retention", "set", str(schedule_file), *setup.options)
    later = "2999-01-01T00:00:00+00:00"
    assert json.loads(run("retention", "plan", "--now", later, "--json", *setup.options).output)["items"]
    refused = run("retention", "apply", "--now", later, "--yes", *setup.options)
    assert refused.exit_code == 2
    assert "future" in refused.output
    with Vault.open(setup.path, PASSPHRASE) as vault:
        assert len(vault) == 3
