"""`notice add/list/show`, `consent grant` naming a stored notice, and the Art. 15 report's notices.

The CLI prints a notice's id, version and SHA-256 (the same as `sha256sum FILE`), never its text except
with `notice show`; a stored version never changes (exit 2, nothing written). `consent grant` refuses a
notice version the vault does not hold. The access report (GDPR Art. 15) prints the exact text the person
agreed to, in English and German, and says so when a version is not stored.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from contactvault import Contact, KdfParams, Vault
from contactvault.cli import main
from contactvault.gdpr.access import access_report
from contactvault.vault import log
from tests.conftest import consent

FAST = KdfParams.insecure_fast_for_tests()
PASSPHRASE = "notice test passphrase"  # noqa: S105  (a test vault)
TEXT_EN = "We keep your number to write to you on the messenger.\nWithdraw at any time: reply STOP.\n"
TEXT_DE = "Wir speichern Ihre Nummer für den Messenger.\n\tWiderruf jederzeit: Antwort STOPP.\n"
T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


class Shop:
    """A vault on disk with one contact and no notice; its CLI options."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "shop.db"
        self.secret = folder / "pass.txt"
        self.secret.write_text(PASSPHRASE + "\n", encoding="utf-8")
        with Vault.create(self.path, PASSPHRASE, kdf=FAST) as vault:
            self.id = vault.add(Contact(display_name="Anna Beispiel"))

    def run(self, *args: str, code: int = 0, input: str | bytes | None = None) -> Result:
        """Run a command against this vault and check its exit code."""
        options = ["--vault", str(self.path), "--passphrase-file", str(self.secret)]
        result = CliRunner().invoke(main, [*args, *options], input=input)
        assert "Traceback" not in result.output
        assert result.exit_code == code, result.output
        return result

    def file(self, name: str, text: str) -> str:
        """Write ``text`` (UTF-8) to a file in the test folder; its path."""
        path = self.folder / name
        path.write_bytes(text.encode("utf-8"))
        return str(path)

    def log_size(self) -> int:
        """How many records the vault's log holds."""
        with Vault.open(self.path, PASSPHRASE) as vault:
            return len(log.read(vault._core)[0])


@pytest.fixture
def shop(tmp_path):
    return Shop(tmp_path)


# --- notice add / list / show ---------------------------------------------------------------------------


def test_notice_add_prints_id_version_and_the_files_sha256_never_the_text(shop):
    path = shop.file("notice-en.txt", TEXT_EN)
    result = shop.run("notice", "add", "--id", "privacy", "--version", "1", path)
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    assert result.stdout == f"notice privacy version 1: stored\nsha256 {digest}\n"
    again = shop.run("notice", "add", "--id", "privacy", "--version", "1", path)
    assert "already stored with this text; nothing changed" in again.stdout
    data = json.loads(shop.run("notice", "add", "--id", "privacy", "--version", "1", path, "--json").stdout)
    assert data["stored"] is False
    assert data["sha256"] == digest
    assert "text" not in data
    assert "messenger" not in result.output + again.output


def test_notice_add_from_stdin_with_language_valid_from_and_renews(shop):
    data = json.loads(
        shop.run(
            "notice", "add", "--id", "privacy", "--version", "2", "--language", "de",
            "--valid-from", "2026-01-01T10:00:00+01:00", "--renews", "-", "--json",
            input=TEXT_DE.encode("utf-8"),
        ).stdout
    )  # fmt: skip
    assert (data["language"], data["renews"], data["stored"]) == ("de", True, True)
    assert datetime.fromisoformat(data["valid_from"]) == T0
    assert data["sha256"] == hashlib.sha256(TEXT_DE.encode("utf-8")).hexdigest()
    assert data["recorded_by"] == "owner"


def test_a_stored_version_is_never_changed_from_the_command_line(shop):
    shop.run("notice", "add", "--id", "privacy", "--version", "1", shop.file("a.txt", TEXT_EN))
    before = shop.log_size()
    result = shop.run(
        "notice", "add", "--id", "privacy", "--version", "1", shop.file("b.txt", TEXT_DE), code=2
    )
    assert result.output.startswith("error: notice 'privacy' version '1' is stored with another text")
    assert len(result.output.strip().splitlines()) == 1
    assert "Messenger" not in result.output
    assert shop.log_size() == before
    assert shop.run("notice", "show", "privacy", "1").stdout == TEXT_EN


@pytest.mark.parametrize(
    ("args", "content", "words"),
    [
        (["--id", " x", "--version", "1"], TEXT_EN, "invalid --id"),
        (["--id", "x", "--version", "v" * 51], TEXT_EN, "invalid --version"),
        (["--id", "x", "--version", "1", "--language", "english"], TEXT_EN, "invalid --language"),
        (
            ["--id", "x", "--version", "1", "--valid-from", "2026-01-01"],
            TEXT_EN,
            "--valid-from needs a time zone",
        ),
        (["--id", "x", "--version", "1"], "   \n", "invalid FILE: a notice text must not be empty"),
    ],
)
def test_bad_notice_options_are_one_line_and_write_nothing(shop, args, content, words):
    before = shop.log_size()
    result = shop.run("notice", "add", *args, shop.file("n.txt", content), code=2)
    assert words in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert shop.log_size() == before


def test_a_file_that_is_not_utf8_or_missing_is_named_without_its_content(shop):
    bad = shop.folder / "latin1.txt"
    bad.write_bytes("Datenschutzerklärung".encode("latin-1"))
    result = shop.run("notice", "add", "--id", "x", "--version", "1", str(bad), code=2)
    assert "latin1.txt is not UTF-8 text" in result.output
    assert "Datenschutz" not in result.output
    missing = shop.run("notice", "add", "--id", "x", "--version", "1", str(shop.folder / "gone.txt"), code=2)
    assert "cannot read gone.txt" in missing.output


def test_notice_list_and_show(shop):
    assert "No notice is stored" in shop.run("notice", "list").stdout
    assert json.loads(shop.run("notice", "list", "--json").stdout) == []
    shop.run("notice", "add", "--id", "privacy", "--version", "1", shop.file("a.txt", TEXT_EN))
    shop.run(
        "notice", "add", "--id", "privacy", "--version", "2", "--language", "de", shop.file("b.txt", TEXT_DE)
    )
    listed = json.loads(shop.run("notice", "list", "--json").stdout)
    assert [(n["notice_id"], n["version"], n["language"]) for n in listed] == [
        ("privacy", "1", "en"),
        ("privacy", "2", "de"),
    ]
    assert all("text" not in n for n in listed)
    table = shop.run("notice", "list").stdout
    assert "2 notice versions" in table
    assert "Messenger" not in table
    assert shop.run("notice", "show", "privacy", "2").stdout == TEXT_DE
    shown = json.loads(shop.run("notice", "show", "privacy", "2", "--json").stdout)
    assert shown["text"] == TEXT_DE
    missing = shop.run("notice", "show", "privacy", "3", code=2)
    assert "notice 'privacy' version '3' is not stored" in missing.output


# --- consent grant names a stored notice version --------------------------------------------------------

GRANT = ("consent", "grant", "--purpose", "messenger", "--channel", "written", "--notice-id", "privacy")


def test_consent_grant_refuses_a_notice_version_not_stored_and_records_nothing(shop):
    shop.run("notice", "add", "--id", "privacy", "--version", "1", shop.file("a.txt", TEXT_EN))
    result = shop.run(*GRANT, "--notice-version", "2", shop.id.hex[:8], code=2)
    assert "notice 'privacy' version '2' is not stored in the vault" in result.output
    with Vault.open(shop.path, PASSPHRASE) as vault:
        assert vault.get(shop.id).consents == ()
    shop.run(*GRANT, "--notice-version", "1", shop.id.hex[:8])
    with Vault.open(shop.path, PASSPHRASE) as vault:
        assert [c.notice_version for c in vault.get(shop.id).consents] == ["1"]


def test_the_library_grant_does_not_require_a_stored_notice(where):
    """`Vault.grant_consent` stays as it was: an application may keep its notices elsewhere."""
    with Vault.create(where, "pw", kdf=FAST) as vault:
        cid = vault.add(Contact(display_name="Anna Beispiel"))
        assert vault.notices() == []
        assert len(vault.grant_consent(cid, consent()).consents) == 1


# --- the access report (Art. 15) ------------------------------------------------------------------------


def test_the_access_report_holds_the_exact_text_agreed_to(where):
    with Vault.create(where, "pw", kdf=FAST) as vault:
        vault.add_notice("notice-messenger", "3", TEXT_DE, language="de", valid_from=T0)
        cid = vault.add(
            Contact(display_name="Anna Beispiel", consents=(consent(), consent(notice_version="2")))
        )
        report = access_report(vault, cid)
    data = report.to_dict()
    assert data["notices"] == [
        {
            "notice_id": "notice-messenger",
            "version": "3",
            "stored": True,
            "language": "de",
            "valid_from": T0.isoformat(),
            "sha256": hashlib.sha256(TEXT_DE.encode("utf-8")).hexdigest(),
            "text": TEXT_DE,
        },
        {"notice_id": "notice-messenger", "version": "2", "stored": False},
    ]
    english = report.to_markdown("en")
    assert "## Privacy notices agreed to" in english
    assert "### notice-messenger, version 3" in english
    assert (
        "```text\nWir speichern Ihre Nummer für den Messenger.\n\tWiderruf jederzeit: Antwort STOPP.\n```"
        in english
    )
    assert f"SHA-256 of the text:** `{data['notices'][0]['sha256']}`" in english
    assert "This version is not stored in the vault" in english
    german = report.to_markdown("de")
    assert "## Datenschutzhinweise, denen zugestimmt wurde" in german
    assert "### notice-messenger, Version 3" in german
    assert "SHA-256 des Textes" in german
    assert "Diese Version ist im Tresor nicht gespeichert" in german


def test_a_notice_text_cannot_end_its_block_or_hide_a_character(where):
    tricky = "``` \n# not a heading\n````\nbidi \u202e here\r\nend\n"
    with Vault.create(where, "pw", kdf=FAST) as vault:
        vault.add_notice("notice-messenger", "3", tricky, language="en")
        cid = vault.add(Contact(display_name="Anna Beispiel", consents=(consent(),)))
        markdown = access_report(vault, cid).to_markdown()
    block = markdown.split("`````text\n", 1)[1].split("\n`````", 1)[0]
    assert block == "``` \n# not a heading\n````\nbidi U+202E here\nend"


def test_without_consents_the_report_has_no_notice_section(where):
    with Vault.create(where, "pw", kdf=FAST) as vault:
        cid = vault.add(Contact(display_name="Anna Beispiel"))
        report = access_report(vault, cid)
    assert report.to_dict()["notices"] == []
    assert "Privacy notices" not in report.to_markdown()


def test_access_on_the_command_line_prints_the_notice_text(shop):
    shop.run("notice", "add", "--id", "privacy", "--version", "1", shop.file("a.txt", TEXT_EN))
    shop.run(*GRANT, "--notice-version", "1", shop.id.hex[:8])
    markdown = shop.run("access", shop.id.hex[:8], "--lang", "de").stdout
    assert "We keep your number to write to you on the messenger." in markdown
    assert "Datenschutzhinweise, denen zugestimmt wurde" in markdown
    data = json.loads(shop.run("access", shop.id.hex[:8], "--format", "json").stdout)
    assert data["notices"][0]["text"] == TEXT_EN
