"""The vault and contact commands: each one's effect on the vault, exit codes, and no personal data shown."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st

from contactvault import Contact, KdfParams, Vault, normalize_phone
from contactvault.cli import main
from contactvault.models import EmailAddress, Label
from tests.conftest import CliVault, consent

FAST = KdfParams.insecure_fast_for_tests()
PASSPHRASE = "a passphrase here"  # noqa: S105  (a test vault)
NAMES = ("Anna Beispiel", "Bernd Müller", "Zoë O'Brien")
EMAIL = "anna.beispiel@example.org"
NOTE = "prefers calls after five"
ANY_ID = "0123456789abcdef0123456789abcdef"


def number(i: int) -> str:
    return f"+491515550{1200 + i}"


def person(i: int, **changes: object) -> Contact:
    fields: dict[str, object] = {
        "display_name": NAMES[i],
        "phones": (normalize_phone(number(i), default_region=None),),
    }
    return Contact(**(fields | changes))


class Setup(CliVault):
    """A vault on disk with three contacts, its passphrase file, and the contacts' ids."""

    def ref(self, i: int) -> str:
        """Contact ``i`` by its 8-digit id prefix."""
        return self.ids[i].hex[:8]

    def read(self, i: int) -> Contact:
        """Contact ``i`` as the vault holds it now."""
        with Vault.open(self.path, PASSPHRASE) as vault:
            return vault.get(self.ids[i])


@pytest.fixture
def setup(tmp_path) -> Setup:
    path = tmp_path / "vault.db"
    anna = person(
        0,
        consents=(consent(),),
        labels=(Label(name="VIP"),),
        emails=(EmailAddress(address=EMAIL),),
        notes=(NOTE,),
    )
    with Vault.create(path, PASSPHRASE, kdf=FAST) as vault:
        ids = vault.add_many([anna, person(1), person(2)])
        for notice_id, version in (("privacy-web", "2"), ("n", "1")):  # `consent grant` names a stored one
            vault.add_notice(notice_id, version, "A privacy notice.", language="en")
    passphrase_file = tmp_path / "passphrase.txt"
    passphrase_file.write_text(PASSPHRASE + "\n", encoding="utf-8")
    return Setup(path, passphrase_file, ids)


@pytest.fixture
def terminal(monkeypatch):
    """Standard input counts as a terminal: the test types its answers through click's runner."""
    monkeypatch.setattr("contactvault.cli._app.interactive", lambda: True)


def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    result = CliRunner(env=env).invoke(main, list(args), input=input)
    assert "Traceback" not in result.output
    return result


def ok(*args: str, input: str | None = None) -> Result:
    result = run(*args, input=input)
    assert result.exit_code == 0, result.output
    return result


def assert_no_personal_data(output: str) -> None:
    for name in NAMES:
        assert name not in output
        for word in name.split():
            assert word not in output
    for i in range(len(NAMES)):
        assert number(i) not in output
        assert number(i)[3:] not in output
    assert EMAIL not in output
    assert NOTE not in output


def error_line(result: Result) -> str:
    """The one line an error prints on stderr (rich may wrap it: folded back into one)."""
    assert result.stdout == ""
    assert result.stderr.startswith("error:")
    return " ".join(result.stderr.split())


# --- init ---------------------------------------------------------------------------------------------------


def test_init_creates_a_vault_with_the_prompted_passphrase_and_a_recovery_key(tmp_path, terminal):
    """`init` asks twice, creates the vault with the default KDF, and shows the recovery key once."""
    path = tmp_path / "new.db"
    result = run("init", "--vault", str(path), "--recovery-key", "--json", input="pw\npw\n")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["kdf"] == {"name": "Argon2id", "memory_kib": 65536, "iterations": 3, "lanes": 4}
    assert isinstance(data["recovery_key"], str)
    with Vault.open(path, "pw", lock_timeout=0) as vault:
        assert len(vault) == 0
        assert vault.has_recovery_key
    with Vault.open_with_recovery_key(path, data["recovery_key"], lock_timeout=0) as vault:
        assert len(vault) == 0


def test_init_refuses_an_existing_file_without_asking(setup):
    """An existing file is never overwritten: exit 2, before any prompt."""
    before = setup.path.read_bytes()
    result = run("init", "--vault", str(setup.path))
    assert result.exit_code == 2
    assert "already exists" in error_line(result)
    assert setup.path.read_bytes() == before


def test_init_in_a_missing_folder_is_exit_six_before_any_prompt(tmp_path):
    """An explicit --vault in a folder that does not exist: exit 6, no prompt."""
    result = run("init", "--vault", str(tmp_path / "nowhere" / "v.db"))
    assert result.exit_code == 6
    assert "Passphrase" not in result.output
    assert "v.db" in error_line(result)


def test_init_creates_the_default_folder_private(tmp_path, monkeypatch):
    """With no --vault, the default location's folder is created with mode 0700 (text output)."""
    target = tmp_path / "data" / "contactvault" / "vault.db"
    monkeypatch.setattr("contactvault.cli.vaultcmds.default_vault_path", lambda: target)
    monkeypatch.setattr("contactvault.cli._app.default_vault_path", lambda: target)
    monkeypatch.setattr("contactvault.cli.vaultcmds.Vault.create", _fast_create)
    passphrase_file = tmp_path / "pw.txt"
    passphrase_file.write_text("pw\n", encoding="utf-8")
    result = ok("init", "--passphrase-file", str(passphrase_file), "--recovery-key")
    assert "Recovery key" in result.stdout
    assert "offline" in result.stdout
    assert target.is_file()
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_init_creates_every_missing_default_folder_private_under_umask_000(tmp_path, monkeypatch):
    """Under umask 000, each folder init creates on the default path (~/.local, share, ...) is 0700."""
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    target = home / ".local" / "share" / "contactvault" / "vault.db"
    monkeypatch.setattr("contactvault.cli.vaultcmds.default_vault_path", lambda: target)
    monkeypatch.setattr("contactvault.cli._app.default_vault_path", lambda: target)
    monkeypatch.setattr("contactvault.cli.vaultcmds.Vault.create", _fast_create)
    passphrase_file = tmp_path / "pw.txt"
    passphrase_file.write_text("pw\n", encoding="utf-8")
    old = os.umask(0)
    try:
        ok("init", "--passphrase-file", str(passphrase_file))
    finally:
        os.umask(old)
    for folder in (home / ".local", home / ".local" / "share", target.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    assert stat.S_IMODE(home.stat().st_mode) == 0o755  # it existed: left as it was


def test_init_without_a_terminal_or_passphrase_file_is_exit_two_and_creates_nothing(tmp_path, monkeypatch):
    """No passphrase file and no terminal: one line naming the options, exit 2, no folder and no file."""
    target = tmp_path / "data" / "contactvault" / "vault.db"
    monkeypatch.setattr("contactvault.cli.vaultcmds.default_vault_path", lambda: target)
    monkeypatch.setattr("contactvault.cli._app.default_vault_path", lambda: target)
    monkeypatch.delenv("CONTACTVAULT_PASSPHRASE_FILE", raising=False)
    result = run("init")
    assert result.exit_code == 2
    assert error_line(result) == (
        "error: no passphrase: give --passphrase-file or set CONTACTVAULT_PASSPHRASE_FILE "
        "(there is no terminal to ask on)"
    )
    assert not (tmp_path / "data").exists()


_REAL_CREATE = Vault.create


def _fast_create(path: Path, passphrase: str, **options: object) -> Vault:
    return _REAL_CREATE(path, passphrase, kdf=FAST, **options)  # type: ignore[arg-type]


# --- list and show ------------------------------------------------------------------------------------------


def test_list_masks_names_and_numbers(setup):
    """`list` shows short ids, initials and masked numbers; no name, number or CRM value."""
    result = ok("list", *setup.options)
    out = result.stdout
    assert "3 contacts" in out
    for i in range(3):
        assert setup.ref(i) in out
    assert "A. B." in out
    assert "Z. O." in out
    assert "+49 ••••••••• 00" in out
    assert_no_personal_data(out)


def test_list_reveal_and_json(setup):
    """`--reveal --json` gives full names and numbers and the counts."""
    rows = json.loads(ok("list", "--reveal", "--json", *setup.options).stdout)
    assert [r["name"] for r in rows] == list(NAMES)
    assert rows[0]["numbers"] == [number(0)]
    assert rows[0]["consents_active"] == 1
    assert rows[0]["labels"] == 1
    assert rows[1]["restricted"] is False
    masked = ok("list", "--json", *setup.options).stdout
    assert json.loads(masked)[0]["name"] == "A. B."
    assert_no_personal_data(masked)


def test_list_of_an_empty_vault(tmp_path):
    """An empty vault says so."""
    path = tmp_path / "empty.db"
    Vault.create(path, PASSPHRASE, kdf=FAST).close()
    (tmp_path / "pw").write_text(PASSPHRASE, encoding="utf-8")
    result = ok("list", "--vault", str(path), "--passphrase-file", str(tmp_path / "pw"))
    assert "No contacts." in result.stdout


def test_show_is_masked_by_default(setup):
    """`show` by id prefix: consents and counts, but no name, number, label or CRM value."""
    out = ok("show", setup.ref(0), *setup.options).stdout
    assert str(setup.ids[0]) in out
    assert "messenger: granted" in out
    assert "notice-messenger v3" in out
    assert "Labels: 1, hidden" in out
    assert "VIP" not in out
    assert "recorded by" not in out
    assert_no_personal_data(out)


def test_show_by_number_reveal_full_json(setup):
    """`show NUMBER --reveal --full --json` finds the contact by number and adds the CRM fields."""
    data = json.loads(ok("show", number(0), "--reveal", "--full", "--json", *setup.options).stdout)
    assert data["id"] == str(setup.ids[0])
    assert data["display_name"] == NAMES[0]
    assert data["phones"][0]["number"] == number(0)
    assert data["labels"] == [{"name": "VIP", "colour": None}]
    assert data["consents"][0]["recorded_by"] == "owner"  # the key slot that added it
    assert data["crm"]["emails"][0]["address"] == EMAIL
    assert data["crm"]["notes"] == [NOTE]


def test_show_reveal_full_text_shows_crm_fields(setup):
    """`--reveal --full` as text prints the name, the number, the labels and the CRM values."""
    out = ok("show", setup.ref(0), "--reveal", "--full", *setup.options).stdout
    for value in (NAMES[0], number(0), "Labels: VIP", f"emails: {EMAIL}", f"notes: {NOTE}"):
        assert value in out
    assert "emails" not in ok("show", setup.ref(0), "--reveal", *setup.options).stdout


def test_show_national_number_needs_region(setup):
    """A national number finds the contact with --region, and nothing without it (exit 6)."""
    national = f"0{number(1)[3:6]} {number(1)[6:]}"  # a space: digits alone would read as an id prefix
    assert ok("show", national, "--region", "DE", "--json", *setup.options).stdout.count(str(setup.ids[1]))
    result = run("show", national, *setup.options)
    assert result.exit_code == 6
    assert national not in result.output


def test_a_number_without_spaces_is_not_taken_for_an_id(setup):
    """Digits alone are tried as an id prefix first, then as a number."""
    digits = f"0{number(1)[3:]}"
    assert ok("show", digits, "--region", "DE", "--json", *setup.options).stdout.count(str(setup.ids[1]))


def test_show_full_needs_reveal(setup):
    """--full alone is a usage error."""
    result = run("show", setup.ref(0), "--full", *setup.options)
    assert result.exit_code == 2
    assert "--reveal" in error_line(result)


# --- changes ------------------------------------------------------------------------------------------------


def test_consent_grant_records_everything(setup):
    """`consent grant` stores a ConsentRecord with the given fields; the line names id and purpose only."""
    result = ok(
        "consent", "grant", setup.ref(1), "--purpose", "newsletter", "--channel", "web_form",
        "--notice-id", "privacy-web", "--notice-version", "2",
        "--evidence", "form 17", "--at", "2024-05-01T10:00:00+02:00", *setup.options,
    )  # fmt: skip
    assert result.stdout.startswith(f"{setup.ref(1)}: consent for newsletter recorded")
    assert_no_personal_data(result.output)
    record = setup.read(1).consents[-1]
    assert (record.purpose, record.channel, record.notice_id, record.notice_version) == (
        "newsletter", "web_form", "privacy-web", "2",
    )  # fmt: skip
    assert record.recorded_by == "owner"  # the key slot that opened the vault, never typed
    assert record.evidence_ref == "form 17"
    assert record.granted_at == datetime(2024, 5, 1, 8, tzinfo=UTC)


def test_consent_grant_json_and_recorder_from_the_slot(setup):
    """`--json` reports the change; the consent is recorded by the key slot that opened the vault."""
    result = ok(
        "consent", "grant", setup.ref(2), "--purpose", "messenger", "--channel", "written",
        "--notice-id", "n", "--notice-version", "1", "--json", *setup.options,
    )  # fmt: skip
    data = json.loads(result.stdout)
    assert data == {"id": str(setup.ids[2]), "action": "consent_granted", "changed": True, "version": 2}
    assert setup.read(2).consents[0].recorded_by == "owner"


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--purpose", "Not A Purpose"], "--purpose"),
        (["--purpose", "messenger", "--notice-id", ""], "--notice-id"),
        (["--purpose", "messenger", "--at", "yesterday"], "--at"),
        (["--purpose", "messenger", "--at", "2024-05-01T10:00:00"], "--at"),
        (["--purpose", "messenger", "--at", "2999-01-01T00:00:00Z"], "--at"),
    ],
)
def test_consent_grant_invalid_values_name_the_option_not_the_value(setup, options, named):
    """A bad value is one line naming the option; the vault is unchanged."""
    defaults = {"--notice-id": "n", "--notice-version": "1"}
    for option, value in defaults.items():
        if option not in options:
            options = [*options, option, value]
    result = run("consent", "grant", setup.ref(1), "--channel", "email", *options, *setup.options)
    assert result.exit_code == 2
    line = error_line(result)
    assert named in line
    assert "Not A Purpose" not in line
    assert setup.read(1).consents == ()


def test_consent_grant_unknown_channel_is_a_usage_error(setup):
    """The channel is one of the model's values."""
    result = run(
        "consent", "grant", setup.ref(1), "--purpose", "messenger", "--channel", "carrier-pigeon",
        "--notice-id", "n", "--notice-version", "1", *setup.options,
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--channel" in result.output


def test_consent_withdraw(setup):
    """`consent withdraw` marks the active consent withdrawn; a second time is exit 2."""
    result = ok(
        "consent", "withdraw", setup.ref(0), "--purpose", "messenger", "--channel", "email", *setup.options
    )
    assert "withdrawn" in result.stdout
    record = setup.read(0).consents[0]
    assert record.withdrawn
    assert record.withdrawal_channel == "email"
    again = run(
        "consent", "withdraw", setup.ref(0), "--purpose", "messenger", "--channel", "email", *setup.options
    )
    assert again.exit_code == 2
    assert "no active consent" in error_line(again)


def test_basis_add(setup):
    """`basis add` stores a LegalBasis with its justification and a recording time."""
    result = ok(
        "basis", "add", setup.ref(1), "--article", "6(1)(b)", "--purpose", "billing",
        "--reference", "contract 2024-17", *setup.options,
    )  # fmt: skip
    assert result.stdout.strip() == f"{setup.ref(1)}: legal basis Art. 6(1)(b) for billing recorded"
    basis = setup.read(1).legal_bases[0]
    assert (basis.article, basis.purpose, basis.justification) == ("6(1)(b)", "billing", "contract 2024-17")
    assert basis.recorded_at is not None


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--article", "6(1)(f)", "--purpose", "messenger"], "--reference"),
        (["--article", "6(1)(a)", "--purpose", "messenger", "--reference", "x"], "consent grant"),
        (["--article", "6(1)(f)", "--purpose", "-bad", "--reference", "x"], "--purpose"),
        (["--article", "7(1)", "--purpose", "messenger", "--reference", "x"], "--article"),
    ],
)
def test_basis_add_refusals(setup, options, expected):
    """No justification, consent as a basis, a bad purpose or article: exit 2, nothing stored."""
    result = run("basis", "add", setup.ref(1), *options, *setup.options)
    assert result.exit_code == 2
    assert expected in result.output
    assert setup.read(1).legal_bases == ()


def test_messenger_mark_present_and_absent(setup):
    """`messenger mark` records presence with its source; the line shows the number masked."""
    result = ok("messenger", "mark", setup.ref(2), number(2), "--source", "manual", *setup.options)
    assert "+49 ••••••••• 02 marked as on the messenger" in result.stdout
    assert result.stderr == ""  # a mobile number: no warning
    assert_no_personal_data(result.output)
    presence = setup.read(2).phones[0].messenger
    assert presence is not None
    assert (presence.present, presence.source) == (True, "manual")
    national = f"0{number(2)[3:6]} {number(2)[6:]}"
    absent = ["--absent", "--source", "app", "--region", "DE"]
    ok("messenger", "mark", setup.ref(2), national, *absent, *setup.options)
    presence = setup.read(2).phones[0].messenger
    assert presence is not None
    assert (presence.present, presence.source) == (False, "app")


LANDLINE = "+49301234567"


def test_messenger_mark_warns_when_the_number_is_not_mobile(setup):
    """A landline marked as on the messenger: marked, with one warning line on stderr (masked, not_mobile)."""
    landline = (normalize_phone(LANDLINE, default_region=None),)
    with Vault.open(setup.path, PASSPHRASE) as vault:
        landline_id = vault.add(person(2, display_name="Zoë Festnetz", phones=landline))
    mark = ["messenger", "mark", landline_id.hex[:8]]
    result = ok(*mark, "030 1234567", "--region", "DE", "--source", "manual", *setup.options)
    assert (
        result.stdout.strip() == f"{landline_id.hex[:8]}: +49 ••••••• 67 marked as on the messenger (manual)"
    )
    assert result.stderr.splitlines() == [
        "warning: +49 ••••••• 67 is not a mobile number (kind: fixed); the default policy keeps it out of "
        "the messenger book (reason not_mobile)"
    ]
    assert LANDLINE not in result.output
    assert "1234567" not in result.output
    absent = ok(*mark, LANDLINE, "--absent", "--source", "app", *setup.options)
    assert absent.stderr == ""  # not on the messenger: nothing to warn about


def test_messenger_mark_unknown_number(setup):
    """A number the contact does not have is exit 2, without repeating it."""
    result = run("messenger", "mark", setup.ref(2), number(1), "--source", "manual", *setup.options)
    assert result.exit_code == 2
    assert "no such number" in error_line(result)
    assert_no_personal_data(result.output)


def test_label_add_and_remove(setup):
    """Labels are added once (case-insensitive) and removed; the line never names the label."""
    result = ok("label", "add", setup.ref(1), "Payment pending", "--colour", "#ff0000", *setup.options)
    assert result.stdout.strip() == f"{setup.ref(1)}: label added (1 labels)"
    assert setup.read(1).labels == (Label(name="Payment pending", colour="#ff0000"),)
    again = ok("label", "add", setup.ref(1), "payment PENDING", "--json", *setup.options)
    assert json.loads(again.stdout)["changed"] is False
    removed = ok("label", "remove", setup.ref(1), "PAYMENT pending", *setup.options)
    assert "Payment" not in removed.output
    assert setup.read(1).labels == ()
    missing = ok("label", "remove", setup.ref(1), "nope", *setup.options)
    assert "nothing changed" in missing.stdout


def test_label_add_bad_colour(setup):
    """A colour that is not #RRGGBB names --colour."""
    result = run("label", "add", setup.ref(1), "VIP", "--colour", "red", *setup.options)
    assert result.exit_code == 2
    assert "--colour" in error_line(result)


def test_restrict_and_lift(setup):
    """`restrict` sets restricted_at, twice changes nothing, `--lift` clears it."""
    assert "processing restricted" in ok("restrict", setup.ref(0), *setup.options).stdout
    assert setup.read(0).restricted_at is not None
    assert "already restricted" in ok("restrict", setup.ref(0), *setup.options).stdout
    lifted = json.loads(ok("restrict", setup.ref(0), "--lift", "--json", *setup.options).stdout)
    assert lifted["action"] == "restriction_lifted"
    assert lifted["changed"] is True
    assert setup.read(0).restricted_at is None


def test_object(setup):
    """`object` records an objection for the purpose."""
    result = ok("object", setup.ref(1), "--purpose", "messenger", *setup.options)
    assert result.stdout.strip() == f"{setup.ref(1)}: objection to messenger recorded"
    assert [o.purpose for o in setup.read(1).objections] == ["messenger"]
    shown = json.loads(ok("show", setup.ref(1), "--json", *setup.options).stdout)
    assert shown["objections"][0]["purpose"] == "messenger"


# --- passwd and verify ------------------------------------------------------------------------------------


def test_passwd_with_files(setup, tmp_path):
    """`passwd` re-wraps the key: the new passphrase opens the vault, the old one does not."""
    new_file = tmp_path / "new.txt"
    new_file.write_text("a brand new passphrase\n", encoding="utf-8")
    result = ok("passwd", *setup.options, "--new-passphrase-file", str(new_file))
    assert "Passphrase changed" in result.stdout
    with Vault.open(setup.path, "a brand new passphrase", lock_timeout=0) as vault:
        assert len(vault) == 3
    wrong = run("list", *setup.options)
    assert wrong.exit_code == 3


def test_passwd_prompts_for_the_new_passphrase_twice(setup, terminal):
    """Without --new-passphrase-file the new passphrase is asked twice; the same one is refused."""
    ok("passwd", *setup.options, input="second passphrase\nsecond passphrase\n")
    with Vault.open(setup.path, "second passphrase", lock_timeout=0):
        pass
    setup.passphrase_file.write_text("second passphrase\n", encoding="utf-8")
    same = run("passwd", *setup.options, input="second passphrase\nsecond passphrase\n")
    assert same.exit_code == 2
    assert "same" in same.stderr


def test_passwd_without_a_terminal_needs_the_new_passphrase_file(setup):
    """No --new-passphrase-file and no terminal: exit 2 before the vault is opened; the passphrase stays."""
    result = run("passwd", *setup.options)
    assert result.exit_code == 2
    assert error_line(result) == (
        "error: no new passphrase: give --new-passphrase-file (there is no terminal to ask on)"
    )
    with Vault.open(setup.path, PASSPHRASE, lock_timeout=0):
        pass


def test_verify_ok_and_json(setup):
    """`verify` says what it checked and the counts."""
    out = ok("verify", *setup.options).stdout
    assert "OK" in out
    assert "every sealed record" in out
    data = json.loads(ok("verify", "--json", *setup.options).stdout)
    assert data["ok"] is True
    with Vault.open(setup.path, PASSPHRASE) as vault:
        report = vault.verify()
    assert (data["contacts"], data["erased"], data["index_entries"]) == (3, 0, report.index_entries)


def test_verify_finds_a_flipped_byte_in_a_crm_payload(setup):
    """A byte flipped inside a sealed CRM payload in the file: opening works, verify exits 3."""
    connection = sqlite3.connect(setup.path)
    try:
        (blob,) = connection.execute("SELECT payload FROM contacts ORDER BY rowid LIMIT 1").fetchone()
    finally:
        connection.close()
    data = bytearray(setup.path.read_bytes())
    offset = data.find(blob)
    assert offset > 0
    data[offset + len(blob) // 2] ^= 0x01
    setup.path.write_bytes(bytes(data))
    assert ok("list", *setup.options).stdout  # the directory is intact
    result = run("verify", *setup.options)
    assert result.exit_code == 3
    assert len(result.stderr.strip().splitlines()) <= 2  # one line (rich may wrap it)
    assert "damaged" in error_line(result) or "authentication" in error_line(result)


# --- errors ------------------------------------------------------------------------------------------------


def test_wrong_passphrase_is_exit_three(setup):
    """A wrong passphrase: exit 3, one line, no traceback."""
    setup.passphrase_file.write_text("not it\n", encoding="utf-8")
    result = run("show", setup.ref(0), *setup.options)
    assert result.exit_code == 3
    assert "passphrase" in error_line(result).lower()
    assert "not it" not in result.output


def test_vault_open_elsewhere_is_used_at_once(setup):
    """A vault open in another Vault object (or process): the command reads and writes it as usual."""
    with Vault.open(setup.path, PASSPHRASE) as other:
        result = run("label", "add", setup.ref(0), "x", *setup.options)
        assert result.exit_code == 0, result.output
        assert "x" in [label.name for label in other.get(setup.ids[0]).labels]


def test_writer_busy_past_the_lock_timeout_is_exit_four(setup, monkeypatch):
    """Another writer keeps its transaction open past CONTACTVAULT_LOCK_TIMEOUT: exit 4, nothing changed."""
    monkeypatch.setenv("CONTACTVAULT_LOCK_TIMEOUT", "0.2")
    other = sqlite3.connect(setup.path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        result = run("label", "add", setup.ref(0), "x", *setup.options)
        other.execute("ROLLBACK")
    finally:
        other.close()
    assert result.exit_code == 4
    assert "busy" in error_line(result)
    with Vault.open(setup.path, PASSPHRASE) as vault:
        assert "x" not in [label.name for label in vault.get(setup.ids[0]).labels]


@pytest.mark.parametrize("value", ["soon", "-1", "99999"])
def test_bad_lock_timeout_is_a_usage_error(setup, monkeypatch, value):
    """CONTACTVAULT_LOCK_TIMEOUT must be seconds from 0 to 3600."""
    monkeypatch.setenv("CONTACTVAULT_LOCK_TIMEOUT", value)
    result = run("label", "add", setup.ref(0), "x", *setup.options)
    assert result.exit_code == 2
    assert "CONTACTVAULT_LOCK_TIMEOUT" in error_line(result)


def test_missing_vault_is_exit_six(tmp_path):
    """No vault at the path: exit 6, without asking for a passphrase."""
    result = run("list", "--vault", str(tmp_path / "none.db"))
    assert result.exit_code == 6
    assert "none.db" in error_line(result)


@pytest.mark.parametrize("content", [None, b"", b"\xff\xfe\x00"])
def test_bad_passphrase_file_is_exit_five(setup, content):
    """A missing, empty or non-UTF-8 passphrase file: exit 5 (also through the environment variable)."""
    if content is None:
        setup.passphrase_file.unlink()
    else:
        setup.passphrase_file.write_bytes(content)
    result = run("list", *setup.options)
    assert result.exit_code == 5
    error_line(result)
    via_env = run(
        "list", "--vault", str(setup.path), env={"CONTACTVAULT_PASSPHRASE_FILE": str(setup.passphrase_file)}
    )
    assert via_env.exit_code == 5


def test_passphrase_file_from_the_environment(setup):
    """CONTACTVAULT_PASSPHRASE_FILE is enough to open the vault."""
    result = run(
        "list", "--json", "--vault", str(setup.path),
        env={"CONTACTVAULT_PASSPHRASE_FILE": str(setup.passphrase_file)},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 3


@pytest.mark.parametrize("reference", [ANY_ID, "deadbeef", "+4915155509999", "nobody"])
def test_unknown_contact_is_exit_six(setup, reference):
    """An id, prefix or number that matches nobody: exit 6."""
    result = run("restrict", reference, *setup.options)
    assert result.exit_code == 6
    error_line(result)
    with Vault.open(setup.path, PASSPHRASE) as vault:
        assert all(entry.restricted_at is None for entry in vault)


def test_ambiguous_number_is_exit_two(setup):
    """A number two contacts share: exit 2, the line lists their id prefixes only."""
    with Vault.open(setup.path, PASSPHRASE) as vault:
        twin = vault.add(person(1, display_name="Bernd Müller Jr."))
    result = run("show", number(1), *setup.options)
    assert result.exit_code == 2
    line = error_line(result)
    assert "several contacts" in line
    assert str(twin)[:8] in line
    assert_no_personal_data(result.output)


def test_invalid_region_is_exit_two(setup):
    """An unknown --region: exit 2."""
    result = run("show", setup.ref(0), "--region", "XX", *setup.options)
    assert result.exit_code == 2
    assert "region" in error_line(result)


@pytest.fixture(scope="module")
def junk_vault(tmp_path_factory) -> list[str]:
    """The options that open a vault with one contact, shared by the examples of the property test."""
    folder = tmp_path_factory.mktemp("junk")
    with Vault.create(folder / "vault.db", PASSPHRASE, kdf=FAST) as vault:
        vault.add(person(0))
    (folder / "pw").write_text(PASSPHRASE, encoding="utf-8")
    return ["--vault", str(folder / "vault.db"), "--passphrase-file", str(folder / "pw")]


@settings(max_examples=60, deadline=None)
@given(reference=st.text(max_size=40) | st.from_regex(r"[0-9a-fA-F-]{8,40}", fullmatch=True))
def test_junk_contact_references_never_crash(junk_vault, reference):
    """Any text as CONTACT ends in exit 2 or 6, never a traceback."""
    result = run("show", *junk_vault, "--", reference)
    assert result.exit_code in {2, 6}, result.output
