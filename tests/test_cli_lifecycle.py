"""The vault over the years on the command line: re-import, add, edit, duplicates, merge, log, backup.

Every test runs the real ``contactvault`` command (click's CliRunner, or a subprocess where a real editor
process matters) on a real SQLite vault, with the bundled sample and the corpus exports.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contactvault import KdfParams, Vault
from contactvault.cli import main
from contactvault.cli._errors import EXIT_CODES
from tests.conftest import CORPUS, SAMPLE, vcf

PASSPHRASE = "Inventur im Januar: korrektes Pferd"  # noqa: S105  (a test vault's passphrase)
FAST = KdfParams.insecure_fast_for_tests()


class Cli:
    """A vault on disk and a way to run the command against it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "shop.db"
        self.secret = folder / "pass.txt"
        self.secret.write_text(PASSPHRASE + "\n", encoding="utf-8")
        with Vault.create(self.path, PASSPHRASE, kdf=FAST) as vault:
            for version in ("1", "2"):  # `consent grant` names a stored notice version
                vault.add_notice("notice", version, f"Privacy notice, version {version}.", language="en")

    @property
    def options(self) -> list[str]:
        """The options that open this vault."""
        return ["--vault", str(self.path), "--passphrase-file", str(self.secret)]

    def run(self, *args: str, code: int = 0) -> str:
        """Run the command with this vault; its output, after checking the exit code."""
        result = CliRunner().invoke(main, [*args, *self.options])
        assert result.exit_code == code, result.output
        return result.output

    def json(self, *args: str) -> object:
        """Run the command with --json; the parsed output."""
        return json.loads(self.run(*args, "--json"))

    def ids(self) -> list[str]:
        """The ids of the contacts in the vault."""
        with Vault.open(self.path, PASSPHRASE) as vault:
            return [str(entry.id) for entry in vault]


@pytest.fixture
def cli(tmp_path):
    return Cli(tmp_path)


def _card(uid: str, name: str, tel: str, email: str) -> list[str]:
    head = ["BEGIN:VCARD", "VERSION:3.0", f"UID:{uid}", f"FN:{name}"]
    return [*head, f"TEL;TYPE=CELL:{tel}", f"EMAIL:{email}", "END:VCARD"]


# --- import: the second time is an update ---------------------------------------------------------------


@pytest.mark.parametrize("source", [SAMPLE, CORPUS / "ez-vcard" / "gmail-list.vcf"], ids=lambda p: p.name)
def test_importing_the_same_file_twice_adds_nothing(cli, source):
    """The second import of the same export: 0 added, 0 updated, everything else unchanged."""
    first = cli.json("import", str(source), "--region", "DE")
    assert first["vault"]["added"] == first["summary"]["contacts"]
    second = cli.json("import", str(source), "--region", "DE")
    assert second["vault"]["added"] == 0
    assert second["vault"]["updated"] == 0
    assert second["vault"]["unchanged"] == first["vault"]["added"]
    assert len(cli.ids()) == first["vault"]["added"]


def test_a_changed_e_mail_updates_one_contact_and_keeps_its_consent(cli, tmp_path):
    """After one card's e-mail changes in the export, the import updates that contact alone."""
    phone = tmp_path / "phone.vcf"
    cards = [_card(f"u{i}", f"Kunde {n}", f"+4915155500{i:03d}", f"{n.lower()}@example.org")
             for i, n in enumerate(("Anna", "Berta", "Clara"))]  # fmt: skip
    phone.write_bytes(vcf(*(line for card in cards for line in card)))
    cli.run("import", str(phone), "--region", "DE")
    cli.run("consent", "grant", "+4915155500001", "--purpose", "messenger", "--channel", "written",
            "--notice-id", "notice", "--notice-version", "1")  # fmt: skip
    cards[1] = _card("u1", "Kunde Berta", "+4915155500001", "berta@neu.example.org")
    phone.write_bytes(vcf(*(line for card in cards for line in card)))
    dry = cli.json("import", str(phone), "--region", "DE", "--dry-run")
    assert dry["vault"]["updated"] == 1
    report = cli.json("import", str(phone), "--region", "DE")
    assert report["vault"] == {
        "added": 0, "updated": 1, "unchanged": 2, "skipped": 0, "ambiguous": 0, "shared_numbers": 0,
    }  # fmt: skip
    shown = cli.json("show", "+4915155500001", "--reveal", "--full")
    assert [e["address"] for e in shown["crm"]["emails"]] == ["berta@neu.example.org"]
    assert [c["active"] for c in shown["consents"]] == [True]


def test_a_dry_run_leaves_the_vault_file_as_it_was(cli):
    """--dry-run says what would change and writes nothing (the file's bytes are the same)."""
    cli.run("import", str(SAMPLE), "--region", "DE")
    before = hashlib.sha256(cli.path.read_bytes()).hexdigest()
    out = cli.run("import", str(SAMPLE), "--region", "DE", "--dry-run")
    assert "Nothing was stored (--dry-run)." in out
    assert hashlib.sha256(cli.path.read_bytes()).hexdigest() == before


def test_ambiguous_cards_make_strict_fail_and_name_their_line(cli, tmp_path):
    """Two stored contacts fit one card: it is reported with its line and --strict exits with 1."""
    cli.run("add", "--name", "Anna M.", "--tel", "+4915155500009")
    cli.run("add", "--name", "A. Muster", "--tel", "+4915155500009")
    phone = tmp_path / "phone.vcf"
    phone.write_bytes(vcf("BEGIN:VCARD", "VERSION:3.0", "FN:Anna Muster", "TEL:+4915155500009", "END:VCARD"))
    out = cli.run("import", str(phone), "--region", "DE", "--strict", code=1)
    assert "ambiguous card at line 1: several stored contacts share its numbers and name" in out
    assert "Anna" not in out


# --- add and edit ----------------------------------------------------------------------------------------


def test_add_stores_a_checked_contact_and_points_at_a_shared_number(cli):
    """Add stores one contact; a second one with the same number is pointed at `duplicates`."""
    fields = ["--birthday", "--04-12", "--city", "Kassel", "--label", "VIP", "--region", "DE"]
    out = cli.run("add", "--name", "Petra Neu", "--tel", "0171 9998877", "--email", "p@example.org", *fields)
    assert out.endswith("added (1 numbers, 1 e-mail)\n")
    data = cli.json("show", "+491719998877", "--reveal", "--full")
    assert data["display_name"] == "Petra Neu"
    assert data["crm"]["birthday"] == {"year": None, "month": 4, "day": 12}
    assert data["crm"]["addresses"][0]["locality"] == "Kassel"
    assert [lb["name"] for lb in data["labels"]] == ["VIP"]
    second = cli.run("add", "--name", "Petra Neu (Büro)", "--tel", "+491719998877")
    assert "duplicates" in second


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--birthday", "Anna-31-99"], "--birthday"),
        (["--email", "a" * 1001], "--email"),
        (["--external-id", " Anna "], "--external-id"),
    ],
)
def test_add_refuses_a_bad_value_in_one_line_naming_the_option_never_the_value(cli, options, named):
    """A value that is not valid is one line naming the option; the value itself is not repeated."""
    result = CliRunner().invoke(main, ["add", "--name", "Anna Beispiel", *options, *cli.options])
    assert result.exit_code == 2
    assert named in result.output
    assert "Anna" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert cli.ids() == []


def test_edit_by_options(cli):
    """Edit changes the name, adds and removes numbers and e-mail; removing a number it lacks is refused."""
    cli.run("add", "--name", "Jürgen Müller", "--tel", "+4915155500001", "--email", "alt@example.org")
    emails = ["--remove-email", "alt@example.org", "--add-email", "neu@example.org"]
    cli.run("edit", "+4915155500001", "--name", "Jürgen Müller-Weiß", "--add-tel", "030 1234567", *emails,
            "--region", "DE")  # fmt: skip
    data = cli.json("show", "+4915155500001", "--reveal", "--full")
    assert data["display_name"] == "Jürgen Müller-Weiß"
    assert [p["number"] for p in data["phones"]] == ["+4915155500001", "+49301234567"]
    assert [e["address"] for e in data["crm"]["emails"]] == ["neu@example.org"]
    cli.run("edit", "+4915155500001", "--remove-tel", "+4930999999", code=2)
    cli.run("edit", "+4915155500001", code=2)  # nothing to change and no --editor


EDITOR = textwrap.dedent(
    """
    import os, sys, pathlib
    from contactvault import Vault
    path = pathlib.Path(sys.argv[1])
    text = path.read_text(encoding="utf-8")
    calls = pathlib.Path(os.environ["EDIT_CALLS"])
    n = int(calls.read_text()) if calls.exists() else 0
    calls.write_text(str(n + 1))
    # While the form is open, the vault is free: another program opens it.
    Vault.open(os.environ["EDIT_VAULT"], os.environ["EDIT_PASS"]).close()
    action = os.environ["EDIT_ACTION"]
    if action == "email":
        text = text.replace("alt@example.org", "neu@example.org")
    elif action == "broken-then-fixed":
        text = text.replace("END:VCARD", "") if n == 0 else text.replace("alt@example.org", "neu@example.org")
        text = text if n == 0 else text.rstrip("\\n") + "\\nEND:VCARD\\n"
    elif action == "empty":
        text = ""
    path.write_text(text, encoding="utf-8")
    """
)


def _edit_env(cli: Cli, tmp_path: Path, action: str) -> dict[str, str]:
    script = tmp_path / "editor.py"
    script.write_text(EDITOR, encoding="utf-8")
    return {
        "EDITOR": f"{sys.executable} {script}",
        "VISUAL": "",
        "EDIT_ACTION": action,
        "EDIT_CALLS": str(tmp_path / "calls"),
        "EDIT_VAULT": str(cli.path),
        "EDIT_PASS": PASSPHRASE,
    }


@pytest.mark.parametrize(
    ("action", "calls", "addresses"),
    [("email", 1, ["neu@example.org"]), ("broken-then-fixed", 2, ["neu@example.org"]),
     ("empty", 1, ["alt@example.org"])],
)  # fmt: skip
def test_edit_in_the_editor(cli, tmp_path, action, calls, addresses):
    """--editor opens a vCard form with the vault closed; a broken form reopens; an empty one cancels."""
    cli.run("add", "--name", "Jürgen Müller", "--tel", "+4915155500001", "--email", "alt@example.org")
    cli.run("consent", "grant", "+4915155500001", "--purpose", "messenger", "--channel", "written",
            "--notice-id", "notice", "--notice-version", "1")  # fmt: skip
    result = CliRunner(env=_edit_env(cli, tmp_path, action)).invoke(
        main, ["edit", "+4915155500001", "--editor", *cli.options]
    )
    assert result.exit_code == 0, result.output
    assert int((tmp_path / "calls").read_text()) == calls
    if action == "broken-then-fixed":
        assert "has no END:VCARD" in result.output
        assert "the form is opened again" in result.output
    data = cli.json("show", "+4915155500001", "--reveal", "--full")
    assert [e["address"] for e in data["crm"]["emails"]] == addresses
    assert len(data["consents"]) == 1  # the form never touches consents
    assert not list(Path(tempfile.gettempdir()).glob("contactvault-edit-*/contact.vcf"))


# --- duplicates and merge --------------------------------------------------------------------------------


def test_duplicates_and_merge(cli, tmp_path):
    """Duplicates lists the pair; merge (asked before, or --yes) keeps both consents and both numbers."""
    cli.run("add", "--name", "Anna Beispiel", "--tel", "+4915155500001")
    cli.run("add", "--name", "Anna Beispiel Büro", "--tel", "+4915155500001", "--tel", "+4930123456")
    groups = cli.json("duplicates")
    assert len(groups) == 1
    first, second = (c["id"] for c in groups[0]["contacts"])
    for ref, version in ((first, "1"), (second, "2")):
        cli.run("consent", "grant", ref, "--purpose", "messenger", "--channel", "written",
                "--notice-id", "notice", "--notice-version", version)  # fmt: skip
    cli.run("merge", first, second, code=2)  # no terminal to ask on: --yes is needed
    assert len(cli.ids()) == 2
    merged = cli.json("merge", first, second, "--yes")
    assert merged["id"] == first
    assert merged["merged_from"] == [second]
    data = cli.json("show", first, "--reveal")
    assert [c["notice_version"] for c in data["consents"]] == ["1", "2"]
    assert len(data["phones"]) == 2
    assert cli.json("duplicates") == []
    out = cli.run("show", second, code=6)
    assert "merged into" in out


# --- the log ---------------------------------------------------------------------------------------------


def test_log_lists_finds_a_person_and_answers_what_was_visible(cli, tmp_path):
    """Log --at before and after a withdrawal shows the number, then not; --verify checks the chain."""
    cli.run("add", "--name", "Anna Beispiel", "--tel", "+4915155500001")
    cli.run("consent", "grant", "+4915155500001", "--purpose", "messenger", "--channel", "written",
            "--notice-id", "notice", "--notice-version", "1")  # fmt: skip
    cli.run("messenger", "mark", "+4915155500001", "+4915155500001", "--source", "test")
    book = tmp_path / "book.vcf"
    cli.run("export", str(book))
    between = datetime.now(UTC).isoformat()
    cli.run("consent", "withdraw", "+4915155500001", "--purpose", "messenger", "--channel", "email")
    cli.run("export", str(book))
    records = cli.json("log")
    disclosures = [r for r in records if r["kind"] in ("export", "sync")]
    assert [(r["added"], r["removed"]) for r in disclosures] == [(1, 0), (0, 1)]
    activity = [(r["action"], r["contacts"], r["by"]) for r in records if r["kind"] == "activity"]
    notices = [("notice", 0, "owner")] * 2  # stored when the test vault was made
    assert activity == notices + [(a, 1, "owner") for a in ("import", "consent", "presence", "withdrawal")]
    assert {r["by"] for r in disclosures} == {"owner"}
    before = cli.json("log", "--at", between, "--target", "book.vcf", "--reveal")
    assert [e["number"] for e in before[0]["entries"]] == ["+4915155500001"]
    after = cli.json("log", "--at", (datetime.now(UTC) + timedelta(seconds=1)).isoformat(), "--reveal")
    assert after[0]["entries"] == []
    masked = cli.run("log", "--at", between)
    assert "+4915155500001" not in masked
    assert "A. B." in masked
    person = cli.json("log", "--contact", "+4915155500001")
    assert [d["change"] for d in person["disclosures"]] == ["added", "removed"]
    assert [a["action"] for a in person["activity"]] == ["import", "consent", "presence", "withdrawal"]
    assert cli.json("log", "--verify") == {"ok": True, "records": 8, "checked": 8}  # with the 2 notices
    out = cli.run("log", "--at", between, "--target", "nowhere", code=2)
    assert "no target in the log matches it" in out


# --- backup, restore, recovery key ------------------------------------------------------------------------


def test_backup_restore_and_the_recovery_key(tmp_path):
    """A backup restores to a new path; the recovery key sets a new passphrase; nothing is overwritten."""
    folder = tmp_path
    secret = folder / "pass.txt"
    secret.write_text(PASSPHRASE + "\n", encoding="utf-8")
    vault = folder / "shop.db"
    out = CliRunner().invoke(main, ["init", "--recovery-key", "--json", "--vault", str(vault),
                                    "--passphrase-file", str(secret)])  # fmt: skip
    assert out.exit_code == 0, out.output
    key_file = folder / "recovery.txt"
    key_file.write_text(json.loads(out.output)["recovery_key"] + "\n", encoding="utf-8")
    options = ["--vault", str(vault), "--passphrase-file", str(secret)]
    runner = CliRunner()
    assert runner.invoke(main, ["import", str(SAMPLE), "--region", "DE", *options]).exit_code == 0
    backup = folder / "backup.db"
    result = runner.invoke(main, ["backup", str(backup), "--json", *options])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["verified"] is True
    assert runner.invoke(main, ["backup", str(backup), *options]).exit_code == 2
    restored = folder / "restored.db"
    result = runner.invoke(main, ["restore", str(backup), str(restored), "--passphrase-file", str(secret)])
    assert result.exit_code == 0, result.output
    assert (
        runner.invoke(
            main, ["restore", str(backup), str(restored), "--passphrase-file", str(secret)]
        ).exit_code
        == 2
    )
    new_secret = folder / "new.txt"
    new_secret.write_text("ein ganz neues Passwort\n", encoding="utf-8")
    result = runner.invoke(main, ["passwd", "--vault", str(vault), "--recovery-key-file", str(key_file),
                                  "--new-passphrase-file", str(new_secret)])  # fmt: skip
    assert result.exit_code == 0, result.output
    with Vault.open(vault, "ein ganz neues Passwort") as opened:
        assert len(opened) == 10
    # The passphrase change made the vault newer than the backup: this client refuses the older copy
    # unless the restore is meant (--accept-older; tests/test_rollback.py has the details).
    again = ["restore", str(backup), str(folder / "r2.db"), "--recovery-key-file", str(key_file)]
    result = runner.invoke(main, again)
    assert result.exit_code == 3, result.output
    assert "--accept-older" in result.output
    result = runner.invoke(main, [*again, "--accept-older"])
    assert result.exit_code == 0, result.output


# --- the read-only promise ------------------------------------------------------------------------------

READ_ONLY = (
    ["list"],
    ["show", "12345678"],
    ["book"],
    ["verify"],
    ["log"],
    ["duplicates"],
    ["import", str(SAMPLE), "--region", "DE", "--dry-run"],
)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(
        st.binary(max_size=300),
        st.binary(max_size=300).map(lambda b: b"SQLite format 3\x00" + b),
        st.binary(min_size=84, max_size=300).map(
            lambda b: b"SQLite format 3\x00" + b[:52] + b"CVLT" + b[56:]
        ),
    ),
    st.sampled_from(READ_ONLY),
)
def test_read_only_commands_never_write_the_file_they_were_given(tmp_path, data, command):
    """Whatever bytes the vault file holds, a read-only command leaves them; its exit code is documented."""
    folder = tmp_path / hashlib.sha256(data + repr(command).encode()).hexdigest()[:16]
    folder.mkdir()
    path = folder / "vault.db"
    path.write_bytes(data)
    secret = folder / "pass.txt"
    secret.write_text("pw\n", encoding="utf-8")
    result = CliRunner().invoke(main, [*command, "--vault", str(path), "--passphrase-file", str(secret)])
    assert path.read_bytes() == data
    assert sorted(p.name for p in folder.iterdir()) == ["pass.txt", "vault.db"]
    assert result.exit_code in EXIT_CODES
    assert result.exit_code in (3, 5, 6), result.output
    assert "Traceback" not in result.output


def test_reading_commands_and_an_unchanged_import_leave_a_real_vault_byte_for_byte(cli):
    """list, show, book, verify, log, duplicates and importing the same file again write nothing."""
    cli.run("import", str(SAMPLE), "--region", "DE")
    before = hashlib.sha256(cli.path.read_bytes()).hexdigest()
    first = cli.ids()[0]
    for command in (["list"], ["show", first], ["book", "--explain"], ["verify"], ["log"], ["duplicates"]):
        cli.run(*command)
    cli.run("import", str(SAMPLE), "--region", "DE")
    assert hashlib.sha256(cli.path.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in cli.folder.iterdir()) == ["pass.txt", "shop.db"]
