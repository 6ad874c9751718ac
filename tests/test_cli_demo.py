"""`contactvault demo`: the whole story runs on a fresh folder, writes what it lists, and leaks nothing."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from contactvault import Vault
from contactvault.cli import main
from contactvault.gdpr.access import access_report

FILES = (
    "vault.db",
    "passphrase.txt",
    "messenger-book.vcf",
    "phone-sync/contacts.vcf",
    "audit.html",
    "audit.json",
    "ropa.md",
    "ropa.json",
)
MINIMAL_PROPERTIES = {"BEGIN", "VERSION", "UID", "N", "FN", "TEL", "END"}

# Every number of the two samples (the last seven digits of each): none may appear unmasked on screen.
SAMPLE_DIGITS = (
    "2345678", "3125001", "1234567", "6969123", "0009123", "8817386", "4710123", "5551234", "8765432",
    "1122233", "3456789", "9925904",
)  # fmt: skip


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    """One run of the demo into a new folder below two missing ones, under umask 000: (code, output, folder).

    The umask is the most permissive there is: every folder the demo creates must be private all the same
    (`test_every_folder_the_demo_creates_is_private`); the other tests read what the run wrote.
    """
    folder = tmp_path_factory.mktemp("demo") / "missing" / "parent" / "new"
    old = os.umask(0)
    try:
        result = CliRunner().invoke(main, ["demo", "--folder", str(folder)])
    finally:
        os.umask(old)
    return result.exit_code, result.output, folder


def properties(path: Path) -> set[str]:
    """The property names of a vCard file (without parameters; folded lines skipped)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return {re.split("[;:]", line, maxsplit=1)[0].upper() for line in lines if line and line[0] != " "}


def test_demo_runs_and_writes_every_file(story):
    """The demo exits 0 without a traceback and writes every file of the story."""
    code, out, folder = story
    assert code == 0, out
    assert "Traceback" not in out
    for name in FILES:
        assert (folder / name).is_file(), name
        assert name in out  # the final listing names it
    for step in range(1, 10):
        assert re.search(rf"^{step}\. ", out, re.MULTILINE)


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
def test_every_folder_the_demo_creates_is_private(story):
    """Under umask 000, --folder, its two missing parents and phone-sync are all mode 0700."""
    code, out, folder = story
    assert code == 0, out
    for created in (folder.parent.parent, folder.parent, folder, folder / "phone-sync"):
        assert stat.S_IMODE(created.stat().st_mode) == 0o700, created
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in folder.rglob("*") if p.is_file())


def test_passphrase_file_is_private_and_opens_the_vault(story):
    """passphrase.txt has mode 0600, and its first line opens the vault with the imported contacts."""
    _, out, folder = story
    passphrase_file = folder / "passphrase.txt"
    assert stat.S_IMODE(passphrase_file.stat().st_mode) == 0o600
    assert "passphrase.txt" in out
    passphrase = passphrase_file.read_text(encoding="utf-8").splitlines()[0]
    assert passphrase not in out
    with Vault.open(folder / "vault.db", passphrase) as vault:
        assert len(vault) == 10
        assert [record.kind for record in vault.disclosures()] == ["export", "sync", "sync"]
        assert vault.verify().contacts == 10  # raises VaultCorrupted if anything is off


def test_minimal_vcard_and_sync_target_hold_names_and_numbers_only(story):
    """The export and the synced file hold only BEGIN, VERSION, UID, N, FN, TEL and END: 4 cards, then 3.

    The synced file was synced again after the STOP of step 6: one card fewer, the others as exported.
    """
    _, _, folder = story
    for name, cards in (("messenger-book.vcf", 4), ("phone-sync/contacts.vcf", 3)):
        path = folder / name
        assert properties(path) == MINIMAL_PROPERTIES
        assert path.read_text(encoding="utf-8").count("BEGIN:VCARD") == cards
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    exported, synced = (folder / name for name in ("messenger-book.vcf", "phone-sync/contacts.vcf"))
    kept = synced.read_text(encoding="utf-8").split("END:VCARD")
    assert all(card in exported.read_text(encoding="utf-8") for card in kept)


def test_the_consent_lifecycle_step(story):
    """Step 6: the notice stored, a request answered through the webhook, a STOP, a sync, a schedule."""
    _, out, folder = story
    assert "CV-••••••" in out  # the code is never shown on screen
    passphrase = (folder / "passphrase.txt").read_text(encoding="utf-8").splitlines()[0]
    with Vault.open(folder / "vault.db", passphrase) as vault:
        (notice,) = vault.notices()
        assert notice.text.startswith("Privacy notice")
        assert vault.consent_refresh("messenger") == timedelta(days=730)
        assert vault.retention_schedule() is not None
        asked = vault.find_by_phone("0160 5551234", region="DE")[0]
        (consent,) = asked.consents
        assert (consent.channel, consent.notice_version) == ("messenger", notice.version)
        stopped = vault.find_by_phone("0176 98765432", region="DE")[0]
        assert stopped.consents[0].withdrawn_at is not None
        assert vault.disclosures()[-1].removed  # the STOP's card left the phone
        access = access_report(vault, asked.id)
        assert notice.text.splitlines()[0] in access.to_markdown("en")


def test_audit_finds_every_planted_leak(story):
    """The audit of company-phone.vcf reports each leak the sample plants, under its code."""
    _, out, folder = story
    report = json.loads((folder / "audit.json").read_text(encoding="utf-8"))
    findings = {(e["display_name"], f["code"]) for e in report["entries"] for f in e["findings"]}
    fields = {field for e in report["entries"] for f in e["findings"] for field in f["fields"]}
    assert {
        ("Jürgen Müller bezahlt", "label_in_name"),  # a CRM label in the name
        ("Zoë Weiß", "extra_fields"),  # an e-mail address
        ("Zoë Weiß", "not_on_messenger"),  # a landline
        ("Elif Öztürk", "extra_fields"),  # a birthday
        ("Dr. Anna Schmidt", "consent_withdrawn"),
        ("Tobias Brandt", "unknown_contact"),
    } <= findings
    assert {"EMAIL", "BDAY"} <= fields
    # the entry written as the book writes it has no findings
    assert report["entries_total"] == 6
    assert report["entries_with_findings"] == 5
    assert "Mehmet Y." not in {e["display_name"] for e in report["entries"]}
    for code in ("label_in_name", "extra_fields", "consent_withdrawn", "not_on_messenger", "unknown_contact"):
        assert code in out
    assert (folder / "audit.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_record_of_processing_is_written(story):
    """ropa.md and ropa.json hold the Art. 30 record, naming the vault file and the messenger provider."""
    _, _, folder = story
    markdown = (folder / "ropa.md").read_text(encoding="utf-8")
    assert markdown.startswith("# Record of processing activities")
    assert "WhatsApp Ireland Limited" in markdown
    record = json.loads((folder / "ropa.json").read_text(encoding="utf-8"))
    assert record["schema"] == "contactvault.ropa/1"
    assert record["lang"] == "en"


def test_screen_shows_book_names_and_masked_numbers_only(story):
    """Names appear as the book writes them (given name, initial), numbers masked; no number in full."""
    _, out, _ = story
    for name in ("Jürgen M.", "Zoë W.", "Mehmet Y.", "Elif Ö."):
        assert name in out
    assert "+49 •••" in out
    for digits in SAMPLE_DIGITS:
        assert digits not in out.replace(" ", "")
    for reason in ("consent_withdrawn", "restricted", "objected", "no_legal_basis", "invalid_number"):
        assert reason in out


def test_json_summary(tmp_path):
    """`--json` prints only JSON: the folder, every file with its size, and the counts; --lang de applies."""
    folder = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", "--folder", str(folder), "--json", "--lang", "de"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert Path(summary["folder"]) == folder.resolve()
    on_disk = {p.relative_to(folder).as_posix(): p.stat().st_size for p in folder.rglob("*") if p.is_file()}
    assert {f["path"]: f["size"] for f in summary["files"]} == on_disk
    assert set(FILES) <= on_disk.keys()
    counts = summary["counts"]
    assert counts["imported"] == 10
    assert counts["book_entries"] == 4
    assert counts["disclosures"] == 2
    assert counts["consent_lifecycle"] == {
        "asked": 1,
        "recorded": 2,
        "duplicates": 2,
        "left_the_phone": 1,
        "retention_in_four_years": counts["consent_lifecycle"]["retention_in_four_years"],
    }
    assert set(counts["audit_findings"]) >= {"label_in_name", "extra_fields", "unknown_contact"}
    assert (folder / "ropa.md").read_text(encoding="utf-8").startswith("# Verzeichnis")


def test_a_non_empty_folder_is_refused(tmp_path):
    """A --folder that holds anything is a usage error (exit 2); nothing is written into it."""
    (tmp_path / "keep.txt").write_text("mine", encoding="utf-8")
    result = CliRunner().invoke(main, ["demo", "--folder", str(tmp_path)])
    assert result.exit_code == 2
    assert "not empty" in result.output
    assert "Traceback" not in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_default_folder_is_a_new_temporary_one(tmp_path, monkeypatch):
    """Without --folder, the demo writes into a new contactvault-demo-* folder in the temp dir, kept."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = CliRunner().invoke(main, ["demo", "--json"])
    assert result.exit_code == 0, result.output
    folder = Path(json.loads(result.output)["folder"])
    assert folder.parent == tmp_path.resolve()
    assert folder.name.startswith("contactvault-demo-")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert (folder / "vault.db").is_file()


def test_console_script_runs_the_demo(tmp_path):
    """The installed `contactvault` entry point runs the demo in a subprocess."""
    executable = shutil.which("contactvault")
    assert executable is not None, "the package must be installed (pip install -e .)"
    folder = tmp_path / "demo"
    done = subprocess.run(  # noqa: S603  (our own console script)
        [executable, "demo", "--folder", str(folder)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert (folder / "ropa.json").is_file()
    assert "The files" in done.stdout
