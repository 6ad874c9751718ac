"""`contactvault audit`, `access`, `erase` and `ropa`: reports, GDPR documents, exit codes, no leaks."""

from __future__ import annotations

import json
import os
import stat
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click
import pytest
from click.testing import CliRunner, Result

from contactvault import Contact, KdfParams, Vault, normalize_phone
from contactvault.cli import main
from contactvault.errors import ContactErased
from contactvault.models import EmailAddress, MessengerPresence
from tests.conftest import ROOT, CliVault, consent, vcf

if TYPE_CHECKING:
    from tests.radicale_server import RadicaleServer

pytest_plugins = ("tests.radicale_server",)  # the `radicale` fixture

FAST = KdfParams.insecure_fast_for_tests()
PASSPHRASE = "correct horse battery staple"  # noqa: S105  (a test vault)
NAMES = ("Anna Beispiel", "Bernd Müller", "Zoë O'Brien")
UNKNOWN = "+4915155509999"
ROPA_SAMPLE = ROOT / "src" / "contactvault" / "samples" / "ropa.toml"


def number(i: int) -> str:
    return f"+491515550{1200 + i}"


def contact(i: int) -> Contact:
    presence = MessengerPresence(
        present=True, source="manual", checked_at=datetime.now(UTC) - timedelta(days=1)
    )
    phone = normalize_phone(number(i), default_region="DE").model_copy(update={"messenger": presence})
    return Contact(
        display_name=NAMES[i],
        phones=(phone,),
        consents=(consent(),),
        emails=(EmailAddress(address=f"person{i}@example.org"),),
    )


class Setup(CliVault):
    """A vault on disk, its passphrase file, and the ids of its contacts."""


@pytest.fixture
def setup(tmp_path) -> Setup:
    path = tmp_path / "vault.db"
    with Vault.create(path, PASSPHRASE, kdf=FAST) as vault:
        ids = vault.add_many(contact(i) for i in range(len(NAMES)))
    passphrase_file = tmp_path / "passphrase.txt"
    passphrase_file.write_text(PASSPHRASE + "\n", encoding="utf-8")
    return Setup(path, passphrase_file, list(ids))


@pytest.fixture
def phone_export(tmp_path) -> Path:
    """A phone's export: the vault's three contacts (names and numbers only) and one unknown number."""
    lines: list[str] = []
    for i, name in enumerate(NAMES):
        lines += ["BEGIN:VCARD", "VERSION:3.0", f"FN:{name}", f"TEL;TYPE=CELL:{number(i)}", "END:VCARD"]
    lines += ["BEGIN:VCARD", "VERSION:3.0", "FN:Unbekannt", f"TEL;TYPE=CELL:{UNKNOWN}", "END:VCARD"]
    path = tmp_path / "phone.vcf"
    path.write_bytes(vcf(*lines))
    return path


@pytest.fixture
def terminal(monkeypatch):
    """Standard input counts as a terminal: the test types its answers through click's runner."""
    monkeypatch.setattr("contactvault.cli._app.interactive", lambda: True)


def run(*args: str, input: str | None = None) -> Result:
    result = CliRunner().invoke(main, list(args), input=input)
    assert "Traceback" not in result.output
    return result


def flat(output: str) -> str:
    """The output with line breaks folded into spaces (rich wraps long error lines at 80 columns)."""
    return " ".join(output.split())


def assert_no_full_number(output: str) -> None:
    for n in (*[number(i) for i in range(len(NAMES))], UNKNOWN):
        assert n not in output
        assert n[3:] not in output


# --- audit -----------------------------------------------------------------------------------------------


def test_audit_with_vault_masks_numbers_by_default(setup, phone_export):
    """The text report compares with the vault: the unknown number is found; numbers are masked."""
    result = run("audit", str(phone_export), "--region", "DE", *setup.options)
    assert result.exit_code == 0, result.output
    assert "Vault compared: yes" in flat(result.output)
    assert "unknown_contact" in result.output
    assert "+49 ••••••••• 99" in result.output
    assert_no_full_number(result.output)


def test_audit_no_mask_shows_numbers(setup, phone_export):
    """--no-mask shows the numbers in full."""
    result = run("audit", str(phone_export), "--region", "DE", "--no-mask", *setup.options)
    assert result.exit_code == 0, result.output
    assert UNKNOWN in result.output.replace(" ", "")


def test_audit_no_vault_needs_no_passphrase(phone_export, tmp_path):
    """--no-vault audits exposure only: no vault, no passphrase, no unknown_contact finding."""
    result = run(
        "audit", str(phone_export), "--region", "DE", "--no-vault", "--vault", str(tmp_path / "x.db")
    )
    assert result.exit_code == 0, result.output
    assert "Vault compared: no" in flat(result.output)
    assert "unknown_contact" not in result.output


def test_audit_json_and_german(setup, phone_export):
    """--format json is the report's JSON (masked, without keys); --lang de writes German text."""
    data = json.loads(
        run("audit", str(phone_export), "--region", "DE", "--format", "json", *setup.options).output
    )
    assert data["schema"] == "contactvault.audit/1"
    assert data["masked"] is True
    assert data["counts"]["unknown_contact"] == 1
    german = run("audit", str(phone_export), "--region", "DE", "--lang", "de", *setup.options)
    assert "Prüfung des Messenger-Adressbuchs" in german.output


@pytest.mark.parametrize(
    ("fail_on", "expected"),
    [
        (("unknown_contact",), 1),
        (("minor",), 0),
        (("minor,unknown_contact",), 1),
        (("minor", "unknown_contact"), 1),
        (("any",), 1),
    ],
)
def test_audit_fail_on_exits_one_only_when_the_code_occurs(setup, phone_export, fail_on, expected):
    args = [arg for code in fail_on for arg in ("--fail-on", code)]
    result = run("audit", str(phone_export), "--region", "DE", *args, *setup.options)
    assert result.exit_code == expected, result.output
    assert "Entries with findings" in result.output  # the report is printed either way


def test_audit_fail_on_any_is_zero_for_a_clean_book(setup, tmp_path):
    """A phone holding exactly the allowed entries, names and numbers only, has no finding."""
    export = run("export", str(tmp_path / "clean.vcf"), *setup.options)
    assert export.exit_code == 0
    result = run("audit", str(tmp_path / "clean.vcf"), "--region", "DE", "--fail-on", "any", *setup.options)
    assert result.exit_code == 0, result.output


def test_audit_fail_on_unknown_code_is_a_usage_error(phone_export):
    result = run("audit", str(phone_export), "--region", "DE", "--no-vault", "--fail-on", "bogus")
    assert result.exit_code == 2
    assert "unknown finding code" in result.output
    assert "bogus" not in result.output  # what was typed is not repeated
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    "command",
    [
        ["audit", "SOURCE", "--region", "DE", "--output", "OUT"],
        ["access", "CONTACT", "--output", "OUT"],
        ["ropa", "--config", str(ROPA_SAMPLE), "--output", "OUT"],
    ],
)
def test_output_into_a_missing_folder_is_exit_six_before_any_work(setup, phone_export, tmp_path, command):
    """--output in a folder that does not exist: one line naming the folder as given, exit 6."""
    missing = tmp_path / "reports" / "2025"
    names = {"SOURCE": str(phone_export), "CONTACT": number(0), "OUT": str(missing / "report.md")}
    result = run(*[names.get(arg, arg) for arg in command], *setup.options)
    assert result.exit_code == 6
    assert result.stdout == ""
    assert result.stderr.splitlines() == [f"error: the folder {missing} does not exist"]


def test_audit_html_is_a_complete_document_written_0600(setup, phone_export, tmp_path):
    """--format html prints a whole HTML document; --output writes it (mode 0600) instead of printing."""
    result = run("audit", str(phone_export), "--region", "DE", "--format", "html", *setup.options)
    assert result.exit_code == 0, result.output
    html = result.stdout
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert html.rstrip().endswith("</html>")
    assert "<body>" in html
    assert_no_full_number(html)
    out = tmp_path / "report.html"
    written = run(
        "audit", str(phone_export), "--region", "DE", "--format", "html", "--output", str(out), *setup.options
    )
    assert written.exit_code == 0
    assert "<html" not in written.stdout
    assert out.read_text(encoding="utf-8").rstrip().endswith("</html>")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_audit_previous_prints_the_diff(setup, phone_export, tmp_path):
    """--previous compares with an earlier unmasked JSON report: the removed card's findings are resolved."""
    before = tmp_path / "before.json"
    first = run(
        "audit", str(phone_export), "--region", "DE", "--format", "json", "--no-mask",
        "--output", str(before), *setup.options,
    )  # fmt: skip
    assert first.exit_code == 0, first.output
    data = phone_export.read_bytes()
    phone_export.write_bytes(data[: data.index(b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Unbekannt")])
    result = run("audit", str(phone_export), "--region", "DE", "--previous", str(before), *setup.options)
    assert result.exit_code == 0, result.output
    assert "Changes since the previous audit" in result.output
    assert "0 new, 1 resolved" in result.output
    assert_no_full_number(result.output)
    report = json.loads(
        run(
            "audit", str(phone_export), "--region", "DE", "--format", "json", "--previous", str(before),
            *setup.options,
        ).output
    )  # fmt: skip
    assert report["diff"] == {"new": {}, "resolved": {"unknown_contact": 1}}


def test_audit_previous_masked_or_broken_is_exit_five(setup, phone_export, tmp_path):
    """A masked report cannot be compared, and a file that is no report is refused: exit 5."""
    masked = tmp_path / "masked.json"
    run(
        "audit",
        str(phone_export),
        "--region",
        "DE",
        "--format",
        "json",
        "--output",
        str(masked),
        *setup.options,
    )
    result = run("audit", str(phone_export), "--region", "DE", "--previous", str(masked), *setup.options)
    assert result.exit_code == 5
    assert "masked" in result.output
    broken = tmp_path / "broken.json"
    broken.write_text("{}", encoding="utf-8")
    result = run("audit", str(phone_export), "--region", "DE", "--previous", str(broken), *setup.options)
    assert result.exit_code == 5


def test_audit_unreadable_source_exits_five(setup, tmp_path):
    """A missing source, or a file that is no address book, is one line and exit 5."""
    result = run("audit", str(tmp_path / "nowhere.vcf"), "--region", "DE", "--no-vault")
    assert result.exit_code == 5
    assert "nowhere.vcf" in result.output
    notes = tmp_path / "notes.vcf"
    notes.write_text('{"name": "Anna Beispiel"}\n', encoding="utf-8")
    result = run("audit", str(notes), "--region", "DE", *setup.options)
    assert result.exit_code == 5
    assert "Anna" not in result.output


def test_audit_reads_a_folder_and_a_csv(setup, phone_export, tmp_path):
    """A folder of .vcf files and a Google CSV are sources too."""
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "a.vcf").write_bytes(phone_export.read_bytes())
    result = run("audit", str(folder), "--region", "DE", "--format", "json", *setup.options)
    assert json.loads(result.output)["entries_total"] == 4
    csv = tmp_path / "google.csv"
    csv.write_text(
        "Name,Given Name,Family Name,Group Membership,Phone 1 - Type,Phone 1 - Value\n"
        f"Unbekannt,Un,Bekannt,* myContacts,Mobile,{UNKNOWN}\n",
        encoding="utf-8",
    )
    data = json.loads(run("audit", str(csv), "--region", "DE", "--format", "json", *setup.options).output)
    assert data["counts"]["unknown_contact"] == 1


def test_audit_reads_a_carddav_address_book(setup, radicale: RadicaleServer, tmp_path):
    """--carddav-url audits what a sync put on the server: exactly the allowed entries, no finding."""
    password = tmp_path / "carddav-password"
    password.write_text(radicale.password + "\n", encoding="utf-8")
    dav = ["--username", radicale.username, "--password-file", str(password)]
    synced = run("sync", "carddav", radicale.url, *dav, *setup.options)
    assert synced.exit_code == 0, synced.output
    result = run(
        "audit", "--carddav-url", radicale.url, *dav, "--region", "DE", "--format", "json",
        "--fail-on", "any", *setup.options,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["entries_total"] == 3
    assert radicale.password not in result.output


def test_audit_wrong_passphrase_exits_three(setup, phone_export, tmp_path):
    wrong = tmp_path / "wrong"
    wrong.write_text("wrong\n", encoding="utf-8")
    result = run(
        "audit",
        str(phone_export),
        "--region",
        "DE",
        "--vault",
        str(setup.path),
        "--passphrase-file",
        str(wrong),
    )
    assert result.exit_code == 3


def test_audit_needs_a_source(setup):
    result = run("audit", "--region", "DE", *setup.options)
    assert result.exit_code == 2


# --- access ----------------------------------------------------------------------------------------------


def test_access_report_by_number_and_id(setup):
    """The access report is for the data subject: it holds the contact's data; by number or id."""
    result = run("access", "0151 55501200", "--region", "DE", *setup.options)
    assert result.exit_code == 0, result.output
    assert "Art. 15" in result.output
    assert "Anna Beispiel" in result.output
    assert "person0" in result.output  # the e-mail address (Markdown escapes the @)
    assert "Bernd" not in result.output  # nobody else's data
    data = json.loads(run("access", str(setup.ids[1])[:8], "--format", "json", *setup.options).output)
    assert data["schema"] == "contactvault.access/1"
    assert "Bernd Müller" in json.dumps(data, ensure_ascii=False)


def test_access_output_and_portable_export(setup, tmp_path):
    """--output writes the report (0600) instead of printing it; --portable writes <id>.vcf and <id>.json."""
    out = tmp_path / "access.md"
    folder = tmp_path / "portable"
    result = run(
        "access", number(0), "--output", str(out), "--portable", str(folder), "--lang", "de", *setup.options
    )
    assert result.exit_code == 0, result.output
    assert "Anna" not in result.output
    assert "Art. 15 DSGVO" in out.read_text(encoding="utf-8")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    cid = setup.ids[0]
    assert sorted(p.name for p in folder.iterdir()) == [f"{cid}.json", f"{cid}.vcf"]
    assert "VERSION:4.0" in (folder / f"{cid}.vcf").read_text(encoding="utf-8")
    assert (
        json.loads((folder / f"{cid}.json").read_text(encoding="utf-8"))["schema"]
        == "contactvault.portable/1"
    )
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in folder.iterdir())


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_portable_export_folders_are_private_under_umask_000(setup, tmp_path):
    """--portable creates its folder and each missing parent with mode 0700, even under umask 000."""
    base = tmp_path / "out"
    base.mkdir()
    base.chmod(0o755)
    folder = base / "anna" / "art20"
    old = os.umask(0)
    try:
        result = run("access", number(0), "--output", str(tmp_path / "a.md"), "--portable", str(folder),
                     *setup.options)  # fmt: skip
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE((base / "anna").stat().st_mode) == 0o700
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(base.stat().st_mode) == 0o755  # it existed: left as it was
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in folder.iterdir())


def test_access_unknown_contact_exits_six(setup):
    result = run("access", UNKNOWN, *setup.options)
    assert result.exit_code == 6
    assert UNKNOWN not in result.output


def test_access_while_the_vault_is_open_elsewhere_works(setup):
    """Another process (here another Vault object) having the vault open does not stop a report."""
    with Vault.open(setup.path, PASSPHRASE):
        result = run("access", number(0), *setup.options)
    assert result.exit_code == 0


# --- erase -----------------------------------------------------------------------------------------------


def test_erase_answering_no_changes_nothing(setup, terminal):
    """Without --yes it asks (masked name and number only); "n" leaves the contact as it was."""
    result = run("erase", number(1), *setup.options, input="n\n")
    assert result.exit_code == 0, result.output
    assert "Nothing was erased." in result.output
    assert "B. M." in result.output
    assert "Bernd" not in result.output
    assert_no_full_number(result.output)
    with Vault.open(setup.path, PASSPHRASE) as vault:
        assert vault.get(setup.ids[1]).display_name == "Bernd Müller"


def test_erase_yes_erases_and_writes_the_receipt(setup, tmp_path):
    """--yes erases at once; the receipt (printed and written) has the checklist, no name, no number."""
    receipt = tmp_path / "receipt.json"
    result = run("erase", str(setup.ids[1]), "--yes", "--receipt", str(receipt), *setup.options)
    assert result.exit_code == 0, result.output
    assert "Erasure receipt" in result.output
    assert "Manual steps" in result.output
    assert "Bernd" not in result.output
    assert_no_full_number(result.output)
    data = json.loads(receipt.read_text(encoding="utf-8"))
    assert data["schema"] == "contactvault.erasure/1"
    assert data["contact_id"] == str(setup.ids[1])
    assert stat.S_IMODE(receipt.stat().st_mode) == 0o600
    with Vault.open(setup.path, PASSPHRASE) as vault, pytest.raises(ContactErased):
        vault.get(setup.ids[1])
    again = run("erase", str(setup.ids[1]), "--yes", *setup.options)
    assert again.exit_code == 6


def test_erase_confirmed_with_y_in_german(setup, terminal):
    """Answering "y" erases; --lang de writes the receipt in German."""
    result = run("erase", number(2), "--lang", "de", *setup.options, input="y\n")
    assert result.exit_code == 0, result.output
    assert "Art. 17 DSGVO" in result.output
    with Vault.open(setup.path, PASSPHRASE) as vault, pytest.raises(ContactErased):
        vault.get(setup.ids[2])


def test_erase_asks_with_the_vault_closed(setup, terminal, monkeypatch):
    """While the question waits, another process can open the vault; after "y" the contact is erased."""
    asked: list[str] = []

    def confirm(question: str, **_options: object) -> bool:
        with Vault.open(setup.path, PASSPHRASE, lock_timeout=0) as vault:  # VaultLocked if still held
            assert vault.get(setup.ids[1]).display_name == "Bernd Müller"
        asked.append(question)
        return True

    monkeypatch.setattr(click, "confirm", confirm)
    result = run("erase", str(setup.ids[1]), *setup.options)
    assert result.exit_code == 0, result.output
    assert asked == [
        f"Erase contact {str(setup.ids[1])[:8]} (B. M.; +49 ••••••••• 01)? This cannot be undone"
    ]
    with Vault.open(setup.path, PASSPHRASE) as vault, pytest.raises(ContactErased):
        vault.get(setup.ids[1])


def test_erase_refuses_a_contact_that_changed_while_it_asked(setup, terminal, monkeypatch):
    """A change made while the question waited: exit 2, "changed meanwhile", nothing erased."""

    def confirm(_question: str, **_options: object) -> bool:
        with Vault.open(setup.path, PASSPHRASE, lock_timeout=0) as vault:
            vault.add_label(setup.ids[1], "paid")
        return True

    monkeypatch.setattr(click, "confirm", confirm)
    result = run("erase", str(setup.ids[1]), *setup.options)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["error: the contact changed meanwhile; nothing was erased"]
    with Vault.open(setup.path, PASSPHRASE) as vault:
        assert vault.get(setup.ids[1]).display_name == "Bernd Müller"


def test_erase_asks_for_the_passphrase_once(setup, terminal, monkeypatch):
    """Typed passphrase and answer: the passphrase is asked once, though the vault is opened twice."""
    monkeypatch.delenv("CONTACTVAULT_PASSPHRASE_FILE", raising=False)
    result = run("erase", str(setup.ids[2]), "--vault", str(setup.path), input=f"{PASSPHRASE}\ny\n")
    assert result.exit_code == 0, result.output
    assert result.output.count("Passphrase:") == 1
    assert PASSPHRASE not in result.output
    with Vault.open(setup.path, PASSPHRASE) as vault, pytest.raises(ContactErased):
        vault.get(setup.ids[2])


def test_erase_without_a_terminal_needs_yes(setup):
    """No terminal to ask on and no --yes: exit 2 naming --yes, before the vault is opened; nothing erased."""
    result = run("erase", str(setup.ids[1]), *setup.options)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: the command asks before it changes anything: give --yes (there is no terminal to ask on)"
    ]
    with Vault.open(setup.path, PASSPHRASE) as vault:
        assert vault.get(setup.ids[1]).display_name == "Bernd Müller"


def test_erase_receipt_in_a_missing_folder_erases_nothing(setup, tmp_path):
    """--receipt in a missing folder: exit 6 before the erase (the receipt could not be kept otherwise)."""
    missing = tmp_path / "receipts"
    result = run("erase", str(setup.ids[1]), "--yes", "--receipt", str(missing / "r.json"), *setup.options)
    assert result.exit_code == 6
    assert result.stderr.splitlines() == [f"error: the folder {missing} does not exist"]
    with Vault.open(setup.path, PASSPHRASE) as vault:
        assert vault.get(setup.ids[1]).display_name == "Bernd Müller"


def test_erase_missing_vault_exits_six(tmp_path):
    result = run("erase", number(0), "--yes", "--vault", str(tmp_path / "none.db"))
    assert result.exit_code == 6


# --- ropa ------------------------------------------------------------------------------------------------


def test_ropa_markdown_and_json(setup, tmp_path):
    """The record from the sample config: Markdown by default, JSON on request, --output with mode 0600."""
    result = run("ropa", "--config", str(ROPA_SAMPLE), *setup.options)
    assert result.exit_code == 0, result.output
    assert "Art. 30" in result.output
    assert "Beispiel GmbH" in result.output
    for name in NAMES:  # no contact's data
        assert name not in result.output
    out = tmp_path / "ropa.json"
    written = run(
        "ropa", "--config", str(ROPA_SAMPLE), "--format", "json", "--output", str(out), *setup.options
    )
    assert written.exit_code == 0, written.output
    assert json.loads(out.read_text(encoding="utf-8"))["schema"] == "contactvault.ropa/1"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("bad.toml", "controller = = 1\n"),
        ("incomplete.toml", '[controller]\nname = "Beispiel GmbH"\n'),
        ("config.txt", "anything\n"),
        ("missing.toml", None),
    ],
)
def test_ropa_bad_config_exits_five(setup, tmp_path, name, content):
    """A config that is not valid, incomplete, of another kind or missing: one line, exit 5."""
    config = tmp_path / name
    if content is not None:
        config.write_text(content, encoding="utf-8")
    result = run("ropa", "--config", str(config), *setup.options)
    assert result.exit_code == 5, result.output
    assert name in result.output
    assert str(tmp_path) not in result.output


def test_ropa_missing_vault_exits_six(tmp_path):
    result = run("ropa", "--config", str(ROPA_SAMPLE), "--vault", str(tmp_path / "none.db"))
    assert result.exit_code == 6
