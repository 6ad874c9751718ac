"""`contactvault book`, `export` and `sync`: the minimal book shown, written and synced, and the errors."""

from __future__ import annotations

import json
import socket
import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner, Result

from contactvault import Contact, ContactVaultError, KdfParams, Policy, Vault, normalize_phone
from contactvault.cli import main
from contactvault.cli._app import mask_name
from contactvault.errors import FolderNotFound
from contactvault.export.minimal import write_atomically
from contactvault.models import MessengerPresence
from contactvault.phones import mask_number
from contactvault.sync import export_book, messenger_book
from tests.conftest import CliVault, consent

if TYPE_CHECKING:
    from tests.radicale_server import RadicaleServer

pytest_plugins = ("tests.radicale_server",)  # the `radicale` fixture

FAST = KdfParams.insecure_fast_for_tests()
PASSPHRASE = "correct horse battery staple"  # noqa: S105  (a test vault)
ALLOWED = ("Anna Beispiel", "Bernd Müller", "Zoë O'Brien")
REFUSED = "Jürgen Weiß"  # no consent: the policy refuses him with no_legal_basis


def number(i: int) -> str:
    return f"+491515550{1200 + i}"


def contact(i: int, name: str, *, consented: bool = True) -> Contact:
    presence = MessengerPresence(
        present=True, source="manual", checked_at=datetime.now(UTC) - timedelta(days=1)
    )
    phone = normalize_phone(number(i), default_region="DE").model_copy(update={"messenger": presence})
    return Contact(display_name=name, phones=(phone,), consents=(consent(),) if consented else ())


class Setup(CliVault):
    """A vault on disk, its passphrase file, and the ids of its contacts."""

    def disclosures(self) -> int:
        """How many records the disclosure log holds."""
        with Vault.open(self.path, PASSPHRASE) as vault:
            return len(vault.disclosures())


@pytest.fixture
def setup(tmp_path) -> Setup:
    path = tmp_path / "vault.db"
    contacts = [contact(i, name) for i, name in enumerate(ALLOWED)]
    contacts.append(contact(len(ALLOWED), REFUSED, consented=False))
    with Vault.create(path, PASSPHRASE, kdf=FAST) as vault:
        ids = vault.add_many(contacts)
    passphrase_file = tmp_path / "passphrase.txt"
    passphrase_file.write_text(PASSPHRASE + "\n", encoding="utf-8")
    return Setup(path, passphrase_file, list(ids))


@pytest.fixture
def terminal(monkeypatch):
    """Standard input counts as a terminal: the test types its answers through click's runner."""
    monkeypatch.setattr("contactvault.cli._app.interactive", lambda: True)


def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(main, list(args), input=input, env=env)
    assert "Traceback" not in result.output
    return result


def flat(output: str) -> str:
    """The output with line breaks folded into spaces (rich wraps long error lines at 80 columns)."""
    return " ".join(output.split())


def assert_nothing_personal(output: str) -> None:
    for name in (*ALLOWED, REFUSED):
        assert name not in output
    for i in range(len(ALLOWED) + 1):
        assert number(i) not in output
        assert number(i)[3:] not in output  # not even without the country code


# --- book ------------------------------------------------------------------------------------------------


def test_book_lists_allowed_entries_masked_and_records_nothing(setup):
    """`book` shows the allowed entries with masked names and numbers, and writes nothing to the log."""
    result = run("book", *setup.options)
    assert result.exit_code == 0, result.output
    assert "Messenger book: 3 entries" in result.output
    assert "A. B." in result.output
    assert "+49 ••••••••• 00" in result.output
    assert "Nothing was written or recorded." in result.output
    assert_nothing_personal(result.output)
    assert setup.disclosures() == 0


def test_book_prints_one_aligned_line_per_entry_in_the_books_order(setup):
    """`book` writes plain lines (no table measured first): the name column 14 cells, then the number."""
    output = run("book", *setup.options).output.splitlines()
    with Vault.open(setup.path, PASSPHRASE) as vault:
        cards = messenger_book(vault, Policy.from_vault(vault)).cards()
        expected = [
            f"{mask_name(entry.display_name):<14}  {mask_number(entry.phone_e164)}" for _, entry in cards
        ]
    at = output.index("name            number")
    assert output[at - 1] == "Messenger book: 3 entries"
    assert output[at + 1 : at + 4] == expected
    assert output[at + 4] == "Names and numbers are masked; --reveal shows them."


def test_book_reveal_prints_names_as_they_are(tmp_path):
    """A name that looks like markup is printed as it is, cut to 30 cells with … when longer."""
    path, passphrase = tmp_path / "v.db", tmp_path / "pass.txt"
    passphrase.write_text(PASSPHRASE + "\n", encoding="utf-8")
    long = "Maximiliane Alexandra von Hohenzollern-Sigmaringen"
    with Vault.create(path, PASSPHRASE, kdf=FAST) as vault:
        vault.add_many([contact(0, "[bold]Anna[/bold]"), contact(1, long)])
    output = run("book", "--vault", str(path), "--passphrase-file", str(passphrase), "--reveal").output
    assert f"[bold]Anna[/bold]{' ' * 13}  {number(0)}" in output.splitlines()
    assert f"{long[:29]}…  {number(1)}" in output.splitlines()


def test_book_json_reveal_shows_names_and_numbers(setup):
    """`--json --reveal` lists every entry in full, and only the allowed ones."""
    result = run("book", *setup.options, "--json", "--reveal")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["masked"] is False
    assert sorted(e["name"] for e in payload["entries"]) == sorted(ALLOWED)
    assert sorted(e["number"] for e in payload["entries"]) == [number(i) for i in range(3)]
    assert "refused" not in payload
    assert REFUSED not in result.output


def test_book_explain_lists_refused_contacts_with_reasons(setup):
    """`--explain` names each refused contact by id, masked name and reason codes."""
    result = run("book", *setup.options, "--explain")
    assert result.exit_code == 0, result.output
    assert "Refused contacts (1)" in result.output
    assert str(setup.ids[3])[:8] in result.output
    assert "no_legal_basis" in result.output
    assert "J. W." in result.output
    assert_nothing_personal(result.output)

    data = json.loads(run("book", *setup.options, "--explain", "--json").output)
    (refused,) = data["refused"]
    assert refused["contact"] == str(setup.ids[3])
    assert refused["reasons"] == ["no_legal_basis"]
    assert refused["numbers"] == [{"number": "+49 ••••••••• 03", "reasons": ["no_legal_basis"]}]
    assert data["left_out"] == []


LANDLINE = "+49301234567"
SECOND_MOBILE = "+4917612345678"


def test_book_explain_lists_the_numbers_left_out_of_contacts_in_the_book(setup):
    """A contact in the book with a landline and a mobile not on the messenger: both numbers and reasons."""
    with Vault.open(setup.path, PASSPHRASE) as vault:
        anna = vault.get(setup.ids[0])
        extra = tuple(normalize_phone(n, default_region=None) for n in (LANDLINE, SECOND_MOBILE))
        vault.update(anna.model_copy(update={"phones": (*anna.phones, *extra)}))
    result = run("book", *setup.options, "--explain")
    assert result.exit_code == 0, result.output
    assert "Messenger book: 3 entries" in result.output
    assert "Numbers left out of contacts in the book (2)" in result.output
    rows = [line for line in result.output.splitlines() if "•" in line and "no_messenger" in line]
    assert any("+49 ••••••• 67" in row and "not_mobile" in row for row in rows)
    assert any("+49 ••••••••• 78" in row for row in rows)
    assert "Refused contacts (1)" in result.output
    assert any("+49 ••••••••• 03" in line and "no_legal_basis" in line for line in result.output.splitlines())
    assert_nothing_personal(result.output)
    for value in (LANDLINE, SECOND_MOBILE, LANDLINE[3:], SECOND_MOBILE[3:]):
        assert value not in result.output

    data = json.loads(run("book", *setup.options, "--explain", "--json").output)
    (left,) = data["left_out"]
    assert left["contact"] == str(setup.ids[0])
    assert left["name"] == "A. B."
    assert left["numbers"] == [
        {"number": "+49 ••••••• 67", "reasons": ["no_messenger", "not_mobile"]},
        {"number": "+49 ••••••••• 78", "reasons": ["no_messenger"]},
    ]
    revealed = json.loads(run("book", *setup.options, "--explain", "--json", "--reveal").output)
    assert [n["number"] for n in revealed["left_out"][0]["numbers"]] == [LANDLINE, SECOND_MOBILE]


def test_book_name_styles(setup):
    """`--name-style` changes the names; a pseudonym template without {code} is a usage error."""
    data = json.loads(run("book", *setup.options, "--json", "--reveal", "--name-style", "initials").output)
    assert sorted(e["name"] for e in data["entries"]) == ["A. B.", "B. M.", "Z. O."]
    data = json.loads(run("book", *setup.options, "--json", "--reveal", "--name-style", "pseudonym").output)
    assert all(e["name"].startswith("Kunde ") for e in data["entries"])
    result = run("book", *setup.options, "--name-style", "pseudonym", "--pseudonym", "Kunde")
    assert result.exit_code == 2
    assert "{code}" in result.output


# --- export ----------------------------------------------------------------------------------------------


def test_export_vcf_writes_the_book_and_records_the_disclosure(setup, tmp_path):
    """`export` writes a 0600 vCard file with the allowed entries and appends one log record."""
    out = tmp_path / "book.vcf"
    result = run("export", str(out), *setup.options)
    assert result.exit_code == 0, result.output
    assert "Wrote 3 entries to book.vcf" in result.output
    assert_nothing_personal(result.output)
    text = out.read_text(encoding="utf-8")
    assert text.count("BEGIN:VCARD") == 3
    assert "VERSION:3.0" in text
    assert REFUSED not in text
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert setup.disclosures() == 1


def test_export_csv_and_vcard_4_with_json(setup, tmp_path):
    """A .csv path gives a Google CSV; --vcard-version 4.0 writes vCard 4.0; --json reports both."""
    csv_out = tmp_path / "book.csv"
    data = json.loads(run("export", str(csv_out), *setup.options, "--json").output)
    # The log's record number: record 1 is the activity of the add_many that stored the contacts.
    assert (data["format"], data["entries"], data["disclosure"]) == ("csv", 3, 2)
    assert "Anna Beispiel" in csv_out.read_text(encoding="utf-8-sig")
    vcf_out = tmp_path / "book4.vcf"
    result = run("export", str(vcf_out), *setup.options, "--vcard-version", "4.0", "--json")
    assert json.loads(result.output)["vcard_version"] == "4.0"
    assert "VERSION:4.0" in vcf_out.read_text(encoding="utf-8")
    assert setup.disclosures() == 2


@pytest.mark.parametrize(
    "command", [("book", "--reveal", "--json"), ("export", "{out}"), ("sync", "file", "{out}")]
)
def test_workers_share_the_book_and_change_nothing(setup, tmp_path, command):
    """--workers 1 (a helper at any size) gives what --workers 0 gives; anything else is a usage error."""
    outputs = []
    for workers in ("0", "1", "auto"):
        out = tmp_path / f"book-{workers}.vcf"
        args = [part.format(out=out) for part in command]
        result = run(*args, *setup.options, "--workers", workers)
        assert result.exit_code == 0, result.output
        outputs.append(out.read_bytes() if out.exists() else result.output.encode())
    assert outputs[0] == outputs[1] == outputs[2]
    bad = run(*[part.format(out=tmp_path / "x.vcf") for part in command], *setup.options, "--workers", "-1")
    assert bad.exit_code == 2
    assert "invalid value for --workers" in bad.output


# --- sync file -------------------------------------------------------------------------------------------


def test_sync_file_dry_run_changes_nothing_then_sync_writes_and_records(setup, tmp_path):
    """A dry run writes no file and no log record; the real sync does both; a rerun changes nothing."""
    out = tmp_path / "sync.vcf"
    dry = run("sync", "file", str(out), *setup.options, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "3 to create" in dry.output
    assert not out.exists()
    assert setup.disclosures() == 0

    first = json.loads(run("sync", "file", str(out), *setup.options, "--json").output)
    assert (first["created"], first["updated"], first["deleted"], first["dry_run"]) == (3, 0, 0, False)
    assert out.read_text(encoding="utf-8").count("BEGIN:VCARD") == 3
    assert setup.disclosures() == 1

    again = run("sync", "file", str(out), *setup.options)
    assert "0 created, 0 updated, 0 deleted, 3 unchanged" in again.output
    assert_nothing_personal(again.output)


def test_sync_file_refuses_to_overwrite_a_file_that_is_no_vcard(setup, tmp_path):
    """A file target that holds something else is a failed sync (exit 7), and is left alone."""
    out = tmp_path / "notes.vcf"
    out.write_text("shopping list\n", encoding="utf-8")
    result = run("sync", "file", str(out), *setup.options)
    assert result.exit_code == 7
    assert out.read_text(encoding="utf-8") == "shopping list\n"


# --- sync carddav ----------------------------------------------------------------------------------------


@pytest.fixture
def password_file(radicale: RadicaleServer, tmp_path) -> Path:
    path = tmp_path / "carddav-password"
    path.write_text(radicale.password + "\n", encoding="utf-8")
    return path


def carddav(radicale: RadicaleServer, setup: Setup, *extra: str, **kwargs: object) -> Result:
    return run(
        "sync", "carddav", radicale.url, "--username", radicale.username, *setup.options, *extra, **kwargs
    )  # type: ignore[arg-type]


def test_sync_carddav_against_radicale(setup, radicale, password_file):
    """A dry run writes and records nothing; the sync puts the cards up and logs them; a rerun is a no-op."""
    dry = json.loads(
        carddav(radicale, setup, "--password-file", str(password_file), "--dry-run", "--json").output
    )
    assert (dry["dry_run"], dry["created"]) == (True, 3)
    assert setup.disclosures() == 0
    dry_again = json.loads(
        carddav(radicale, setup, "--password-file", str(password_file), "--dry-run", "--json").output
    )
    assert dry_again["created"] == 3  # the dry run wrote nothing to the server

    result = carddav(radicale, setup, "--password-file", str(password_file))
    assert result.exit_code == 0, result.output
    assert "3 created, 0 updated, 0 deleted" in result.output
    assert radicale.password not in result.output
    assert_nothing_personal(result.output)
    assert setup.disclosures() == 1

    again = json.loads(carddav(radicale, setup, "--password-file", str(password_file), "--json").output)
    assert (again["created"], again["unchanged"]) == (0, 3)


def test_sync_carddav_password_from_env_and_from_the_prompt(setup, radicale, password_file, terminal):
    """The password comes from CONTACTVAULT_CARDDAV_PASSWORD_FILE, or a prompt that does not echo it."""
    env = {"CONTACTVAULT_CARDDAV_PASSWORD_FILE": str(password_file)}
    result = carddav(radicale, setup, "--dry-run", env=env)
    assert result.exit_code == 0, result.output
    prompted = carddav(radicale, setup, "--dry-run", input=radicale.password + "\n", env={})
    assert prompted.exit_code == 0, prompted.output
    assert "CardDAV password" in prompted.output
    assert radicale.password not in prompted.output


def test_sync_carddav_password_without_a_terminal_is_exit_two(setup, monkeypatch):
    """No password file, no environment variable, no terminal: one line naming the options, exit 2."""
    monkeypatch.delenv("CONTACTVAULT_CARDDAV_PASSWORD_FILE", raising=False)
    result = run("sync", "carddav", "http://127.0.0.1:9/", "--username", "u", *setup.options)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: no CardDAV password: give --password-file or set CONTACTVAULT_CARDDAV_PASSWORD_FILE "
        "(there is no terminal to ask on)"
    ]


def test_sync_carddav_password_is_never_an_argument(setup, radicale):
    """There is no --password option."""
    result = carddav(radicale, setup, "--password", radicale.password)
    assert result.exit_code == 2


def test_sync_carddav_wrong_password_exits_seven(setup, radicale, tmp_path):
    """Credentials the server refuses: one line, exit 7, nothing recorded, the password not shown."""
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password\n", encoding="utf-8")
    result = carddav(radicale, setup, "--password-file", str(wrong))
    assert result.exit_code == 7
    assert "authentication failed" in flat(result.output)
    assert "not-the-password" not in result.output
    assert setup.disclosures() == 0


@pytest.fixture
def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens there any more


def test_sync_carddav_unreachable_server_exits_seven(setup, tmp_path, closed_port):
    """A server that does not answer: one line naming the failure, exit 7."""
    pw = tmp_path / "pw"
    pw.write_text("secret\n", encoding="utf-8")
    result = run(
        "sync", "carddav", f"http://127.0.0.1:{closed_port}/u/", "--username", "u",
        "--password-file", str(pw), "--timeout", "2", *setup.options,
    )  # fmt: skip
    assert result.exit_code == 7
    assert "could not be reached" in flat(result.output)
    assert flat(result.output).startswith("error: CardDAV:")


def test_sync_carddav_bad_url_is_a_usage_error(setup, tmp_path):
    """Credentials in the URL are refused before anything is sent."""
    pw = tmp_path / "pw"
    pw.write_text("secret\n", encoding="utf-8")
    result = run(
        "sync",
        "carddav",
        "http://u:p@127.0.0.1/",
        "--username",
        "u",
        "--password-file",
        str(pw),
        *setup.options,
    )
    assert result.exit_code == 2
    assert "not in the URL" in flat(result.output)


# --- errors ----------------------------------------------------------------------------------------------

COMMANDS = (("book",), ("export", "out.vcf"), ("sync", "file", "out.vcf"))


@pytest.mark.parametrize("command", COMMANDS)
def test_wrong_passphrase_exits_three(setup, tmp_path, command):
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("wrong\n", encoding="utf-8")
    args = [a if a != "out.vcf" else str(tmp_path / a) for a in command]
    result = run(*args, "--vault", str(setup.path), "--passphrase-file", str(wrong))
    assert result.exit_code == 3
    assert not (tmp_path / "out.vcf").exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_vault_open_elsewhere_does_not_stop_a_command(setup, tmp_path, command):
    """Another Vault object (or process) having the vault open: the command works as usual."""
    args = [a if a != "out.vcf" else str(tmp_path / a) for a in command]
    with Vault.open(setup.path, PASSPHRASE):
        result = run(*args, *setup.options)
    assert result.exit_code == 0, result.output


def test_export_while_another_writer_is_busy_exits_four_and_writes_no_file(setup, tmp_path, monkeypatch):
    """A writer busy past CONTACTVAULT_LOCK_TIMEOUT: exit 4, and no file, since it could not be recorded."""
    monkeypatch.setenv("CONTACTVAULT_LOCK_TIMEOUT", "0.2")
    other = sqlite3.connect(setup.path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        book = run("book", *setup.options)
        export = run("export", str(tmp_path / "out.vcf"), *setup.options)
        other.execute("ROLLBACK")
    finally:
        other.close()
    assert book.exit_code == 0  # reading does not wait for the writer
    assert export.exit_code == 4
    assert not (tmp_path / "out.vcf").exists()
    with Vault.open(setup.path, PASSPHRASE) as vault:
        assert vault.disclosures() == []


@pytest.mark.parametrize("command", COMMANDS)
def test_missing_vault_exits_six(setup, tmp_path, command):
    args = [a if a != "out.vcf" else str(tmp_path / a) for a in command]
    result = run(
        *args, "--vault", str(tmp_path / "nowhere.db"), "--passphrase-file", str(setup.passphrase_file)
    )
    assert result.exit_code == 6
    assert "nowhere.db" in result.output
    assert str(tmp_path) not in result.output


@pytest.mark.parametrize(
    "command",
    [["export", "PATH"], ["export", "PATH", "--format", "csv"], ["sync", "file", "PATH", "--dry-run"]],
)
def test_writing_into_a_missing_folder_names_the_folder(setup, tmp_path, command):
    """A missing folder: exit 6 naming it as given, before the vault is opened; no temporary file named."""
    missing = tmp_path / "no" / "such"
    args = [str(missing / "book.vcf") if arg == "PATH" else arg for arg in command]
    result = run(*args, *setup.options)
    assert result.exit_code == 6
    assert result.stdout == ""
    assert result.stderr.splitlines() == [f"error: the folder {missing} does not exist"]
    assert ".tmp" not in result.output
    assert not missing.exists()
    assert setup.disclosures() == 0


def test_export_book_into_a_missing_folder_raises_folder_not_found(setup, tmp_path):
    """The API: export_book into a missing folder raises FolderNotFound naming it; nothing recorded."""
    missing = tmp_path / "exports" / "2025"
    with Vault.open(setup.path, PASSPHRASE) as vault:
        book = messenger_book(vault, Policy.default())
        with pytest.raises(FolderNotFound) as caught:
            export_book(vault, book, missing / "book.vcf")
        assert len(vault.disclosures()) == 0
    assert isinstance(caught.value, FileNotFoundError)
    assert isinstance(caught.value, ContactVaultError)
    assert str(caught.value) == f"the folder {missing} does not exist"
    assert caught.value.folder == missing
    assert ".tmp" not in str(caught.value)
    assert not missing.exists()


def test_write_atomically_names_the_file_not_its_temporary_copy(tmp_path, monkeypatch):
    """A folder that refuses the temporary file (permissions): the error names the file asked for."""
    target = tmp_path / "book.vcf"

    def refuse(path: object, *_args: object) -> int:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("contactvault.export.minimal.os.open", refuse)
    with pytest.raises(PermissionError) as caught:
        write_atomically(target, b"data")
    assert caught.value.filename == str(target)
    assert list(tmp_path.iterdir()) == []


def test_missing_vault_is_reported_before_the_carddav_password_is_asked(setup, tmp_path):
    """With no vault, `sync carddav` stops at once (exit 6) without prompting for a password."""
    result = run(
        "sync", "carddav", "http://127.0.0.1:9/", "--username", "u", "--vault", str(tmp_path / "none.db"),
        input="",
    )  # fmt: skip
    assert result.exit_code == 6
    assert "password" not in result.output.lower()
