"""The `contactvault import` command and what every command shares: exit codes, one-line errors, Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from contactvault import Contact, KdfParams, Vault, normalize_phone
from contactvault.cli import main
from contactvault.cli._errors import EXIT_CODES, CommandError
from contactvault.files import make_private_dir
from tests.conftest import ROOT, SAMPLE

# Values from the bundled sample that must never appear in the summary or in issue messages.
SAMPLE_VALUES = ("Jürgen", "Müller", "Zoë", "Weiß", "2345678", "1234567", "info@example.com", "Nowak")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_import_prints_summary_without_personal_data():
    """The summary shows counts and issue lines, never a name, number or e-mail address."""
    code, out = run("import", "--dry-run", str(SAMPLE), "--region", "DE")
    assert code == 0
    assert "normalised to E.164" in out
    assert re.search(r"contacts\s*│\s*10\b", out)
    assert "no END:VCARD" in out
    for value in SAMPLE_VALUES:
        assert value not in out


def test_import_json_is_parseable_and_counts_match():
    """`--json` prints the summary and the issues as JSON."""
    code, out = run("import", "--dry-run", str(SAMPLE), "--region", "de", "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["format"] == "vcard"
    assert payload["summary"]["contacts"] == 10
    assert payload["summary"]["errors"] == 2
    assert {issue["code"] for issue in payload["issues"]} >= {"not_closed", "bad_quoted_printable"}
    for value in SAMPLE_VALUES:
        assert value not in out


def test_strict_exits_one_when_cards_were_not_imported():
    """`--strict` turns error issues into exit code 1."""
    code, _ = run("import", "--dry-run", str(SAMPLE), "--region", "DE", "--strict")
    assert code == 1


def test_missing_file_is_one_line_and_exit_five(tmp_path):
    """A missing file gives one error line naming the file, exit code 5, no traceback."""
    code, out = run("import", "--dry-run", str(tmp_path / "nowhere.vcf"), "--region", "DE")
    assert code == 5
    assert "nowhere.vcf" in out
    assert "Traceback" not in out
    assert str(tmp_path) not in out


def test_not_an_address_book_exits_five(tmp_path):
    """A file that is no vCard is refused with exit code 5."""
    path = tmp_path / "notes.vcf"
    path.write_text('{"name": "Jürgen Müller"}\n', encoding="utf-8")
    code, out = run("import", "--dry-run", str(path), "--region", "DE")
    assert code == 5
    assert "not a vCard" in out
    assert "Jürgen" not in out


def test_region_is_required():
    """There is no hidden default region: leaving it out is a usage error."""
    code, out = run("import", "--dry-run", str(SAMPLE))
    assert code == 2
    assert "--region" in out


def test_unknown_region_is_a_usage_error():
    """An unknown region code gives exit code 2 and a clear message."""
    code, out = run("import", "--dry-run", str(SAMPLE), "--region", "XX")
    assert code == 2
    assert "region" in out
    assert "Traceback" not in out


def test_region_none_reads_only_international_numbers():
    """`--region none` keeps national numbers without E.164."""
    code, out = run("import", "--dry-run", str(SAMPLE), "--region", "none", "--json")
    assert code == 0
    summary = json.loads(out)["summary"]
    assert 0 < summary["normalised"] < summary["phone_numbers"]


def test_readme_main_command_runs_as_written(tmp_path):
    """The README's first bash block is the two set-up commands; its contactvault part runs as written."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first = re.search(r"^```bash\n(.*?)^```$", readme, re.MULTILINE | re.DOTALL)
    assert first is not None
    assert first.group(1).splitlines() == [  # .ci/run runs exactly these two lines
        "pip install . && contactvault demo",
        'pip install -e ".[dev]" && pytest',
    ]
    command = first.group(1).splitlines()[0].split("&&", 1)[1].split()
    executable = shutil.which(command[0])
    assert executable is not None, "the package must be installed (pip install -e .)"
    done = subprocess.run(  # noqa: S603  (a fixed command from our own README)
        [executable, *command[1:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "TMPDIR": str(tmp_path)},  # the demo's new temporary folder goes here
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    (folder,) = tmp_path.glob("contactvault-demo-*")
    assert (folder / "vault.db").is_file()
    assert "The files" in done.stdout


def test_sample_is_synthetic_and_shipped_in_the_package():
    """The sample export lives inside the package, so `contactvault` can find it after install."""
    assert SAMPLE.is_file()
    assert SAMPLE.parent == Path(__file__).resolve().parents[1] / "src" / "contactvault" / "samples"


def test_import_reads_a_google_csv(tmp_path):
    """A .csv file is read as Google Contacts CSV, with the same summary."""
    path = tmp_path / "google.csv"
    path.write_text(
        "First Name,Last Name,Labels,Phone 1 - Label,Phone 1 - Value\n"
        "Jürgen,Müller,* myContacts ::: Kunden,Mobile,0171 2345678\n",
        encoding="utf-8",
    )
    code, out = run("import", "--dry-run", str(path), "--region", "DE", "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["format"] == "google_csv"
    assert payload["summary"]["normalised"] == 1
    assert "Jürgen" not in out


def test_unknown_csv_layout_names_missing_columns_only(tmp_path):
    """A CSV without a known header exits with 5, naming missing columns and no cell value."""
    path = tmp_path / "kunden.csv"
    path.write_text("Jürgen Müller,0171 2345678,juergen@example.com\n", encoding="utf-8")
    code, out = run("import", "--dry-run", str(path), "--region", "DE")
    assert code == 5
    assert "missing columns" in out
    for value in ("Jürgen", "2345678", "juergen@example.com"):
        assert value not in out


def test_docs_cli_lists_exactly_the_exit_codes():
    """The exit-code table of docs/cli.md lists every code of EXIT_CODES, and no other, with its meaning."""
    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    section = page.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| (\d+) \| (.+) \|$", section, re.MULTILINE))
    assert {int(code) for code in rows} == set(EXIT_CODES)
    for code, meaning in EXIT_CODES.items():
        gist = re.split(r"[:(]", meaning, maxsplit=1)[0].strip()  # the words before the details
        assert gist in rows[str(code)].replace("`", ""), code


def test_import_into_the_vault_shows_progress_for_a_long_file(tmp_path):
    """A file over 1 MiB shows progress on a terminal while it is read and stored; every card is stored."""
    cards = [
        f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Kunde {i:05d}\r\nTEL;TYPE=CELL:+49 151 5{i:07d}\r\n"
        f"NOTE:{'x' * 40}\r\nEND:VCARD\r\n"
        for i in range(9_000)
    ]
    path = tmp_path / "long.vcf"
    path.write_text("".join(cards), encoding="utf-8")
    assert path.stat().st_size > 1 << 20
    vault_path, secret = tmp_path / "v.db", tmp_path / "pass.txt"
    secret.write_text("a passphrase here\n", encoding="utf-8")
    Vault.create(vault_path, "a passphrase here", kdf=KdfParams.insecure_fast_for_tests()).close()
    options = ["--vault", str(vault_path), "--passphrase-file", str(secret)]
    result = CliRunner(env={"FORCE_COLOR": "1", "COLUMNS": "100"}).invoke(
        main, ["import", str(path), "--region", "DE", *options]
    )
    assert result.exit_code == 0, result.output
    # The progress display covers the whole import: the reading, then the storing (stderr is mixed in).
    assert " reading " in result.output
    assert " storing " in result.output
    assert "9000/9000" in result.output
    assert "9000 added, 0 updated" in result.output
    with Vault.open(vault_path, "a passphrase here") as vault:
        assert len(vault) == 9_000


# --- usage errors: one line, naming the option, never the value --------------------------------------------

SECRET_VALUE = "Anna Beispiel 0171 2345678"  # noqa: S105  (typed by mistake; never to be echoed)

GRANT = ["consent", "grant", "x", "--purpose", "m", "--notice-id", "n", "--notice-version", "1"]


def one_error_line(result: Result) -> str:
    """The single line a failed command prints on stderr (nothing on stdout, no click usage block)."""
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Usage:" not in result.stderr
    assert "Try " not in result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            [*GRANT, "--channel", SECRET_VALUE],
            "error: invalid value for --channel: expected one of written, email, web_form, in_person, phone, "
            "messenger, other (see contactvault consent grant --help)",
        ),
        (
            GRANT,
            "error: missing option --channel: expected one of written, email, web_form, in_person, phone, "
            "messenger, other (see contactvault consent grant --help)",
        ),
        (
            ["import", "--dry-run", str(SAMPLE)],
            "error: missing option --region (see contactvault import --help)",
        ),
        (["show"], "error: missing argument CONTACT (see contactvault show --help)"),
        (["show", "x", SECRET_VALUE], "error: unexpected extra argument (see contactvault show --help)"),
        (["list", "--01712345678"], "error: no such option (see contactvault list --help)"),
        (["list", "--jsn"], "error: no such option; did you mean --json? (see contactvault list --help)"),
        (["01712345678"], "error: no such command (see contactvault --help)"),
        (
            ["import", "x.vcf", "--region"],
            "error: option --region needs a value (see contactvault import --help)",
        ),
        (
            ["list", f"--json={SECRET_VALUE}"],
            "error: option --json takes no value (see contactvault list --help)",
        ),
        (
            ["sync", "carddav", "http://127.0.0.1:9/", "--username", "u", "--timeout", SECRET_VALUE],
            "error: invalid value for --timeout: expected a number that is at least 0.1 "
            "(see contactvault sync carddav --help)",
        ),
        (
            ["audit", "x.vcf", "--region", "DE", "--fail-on", f"any,{SECRET_VALUE}"],
            "error: invalid value for --fail-on: an unknown finding code; expected any or one of ",
        ),
    ],
)
def test_usage_errors_are_one_line_naming_the_option_never_the_value(args, expected):
    """Every kind of usage error is one line on stderr, exit 2, saying what is expected; no value typed."""
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    line = one_error_line(result)
    assert line.startswith(expected), line
    for secret in (SECRET_VALUE, "01712345678", "2345678"):
        assert secret not in result.output


def test_a_path_option_that_names_a_folder_is_one_line(tmp_path):
    """A --vault that is a folder: what the option expects, not the path typed (nor click's three lines)."""
    folder = tmp_path / "Anna Beispiel"
    folder.mkdir()
    result = CliRunner().invoke(main, ["list", "--vault", str(folder)])
    assert result.exit_code == 2
    line = one_error_line(result)
    assert (
        line
        == "error: invalid value for --vault: expected a file, not a folder (see contactvault list --help)"
    )
    assert "Anna" not in result.output


def test_a_group_without_its_command_shows_its_help():
    """`contactvault consent` alone shows the group's help, as before; --help and --version still exit 0."""
    result = CliRunner().invoke(main, ["consent"])
    assert "grant" in result.output
    assert "withdraw" in result.output
    assert CliRunner().invoke(main, ["--help"]).exit_code == 0
    version = CliRunner().invoke(main, ["--version"])
    assert version.exit_code == 0
    assert "version" in version.output


def test_brackets_in_an_error_message_are_printed_as_they_are(monkeypatch):
    """An error message with square brackets (a pattern, rich markup look-alikes) keeps every character."""
    message = "String should match pattern '^[a-z0-9]*$' [bold]x[/bold] [red]"

    def fail(*_args: object, **_kwargs: object) -> None:
        raise CommandError(message)

    monkeypatch.setattr("contactvault.cli.importing._read", fail)
    result = CliRunner().invoke(main, ["import", "--dry-run", str(SAMPLE), "--region", "DE"])
    assert result.exit_code == 2
    assert one_error_line(result) == f"error: {message}"


def test_a_pydantic_pattern_error_keeps_its_brackets(tmp_path):
    """A purpose that is not a purpose name: the pattern in the message is shown whole."""
    path, secret = tmp_path / "v.db", tmp_path / "pw"
    secret.write_text("pw\n", encoding="utf-8")
    with Vault.create(path, "pw", kdf=KdfParams.insecure_fast_for_tests()) as vault:
        contact_id = vault.add(Contact(display_name="Anna Beispiel"))
    result = CliRunner().invoke(
        main,
        ["consent", "grant", contact_id.hex[:8], "--purpose", "Not A Purpose", "--channel", "email",
         "--notice-id", "n", "--notice-version", "1", "--vault", str(path), "--passphrase-file", str(secret)],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "'^[a-z0-9][a-z0-9_.-]*$'" in one_error_line(result)


# --- Ctrl-C: exit 130 and one line saying whether anything changed ------------------------------------------


def interrupt(*_args: object, **_kwargs: object) -> None:
    raise KeyboardInterrupt


def test_ctrl_c_during_import_exits_130_and_says_nothing_changed(tmp_path, monkeypatch):
    """Ctrl-C while the file is read: exit 130 (not 1, the findings code), one line, the vault unchanged."""
    path, secret = tmp_path / "v.db", tmp_path / "pw"
    secret.write_text("pw\n", encoding="utf-8")
    Vault.create(path, "pw", kdf=KdfParams.insecure_fast_for_tests()).close()
    monkeypatch.setattr("contactvault.cli.importing._read", interrupt)
    result = CliRunner().invoke(
        main,
        ["import", str(SAMPLE), "--region", "DE", "--vault", str(path), "--passphrase-file", str(secret)],
    )
    assert result.exit_code == 130
    assert result.stderr == "interrupted; nothing was changed\n"
    assert "Aborted" not in result.output
    with Vault.open(path, "pw") as vault:
        assert len(vault) == 0


def test_ctrl_c_after_a_committed_change_says_it_is_kept(tmp_path, monkeypatch):
    """Ctrl-C after the vault committed the command's change (before the confirmation): the change is kept."""
    path, secret = tmp_path / "v.db", tmp_path / "pw"
    secret.write_text("pw\n", encoding="utf-8")
    with Vault.create(path, "pw", kdf=KdfParams.insecure_fast_for_tests()) as vault:
        contact_id = vault.add(Contact(display_name="Anna Beispiel"))
    monkeypatch.setattr("contactvault.cli.rights.report_change", interrupt)  # runs after the commit
    result = CliRunner().invoke(
        main,
        ["label", "add", contact_id.hex[:8], "paid", "--vault", str(path), "--passphrase-file", str(secret)],
    )
    assert result.exit_code == 130
    assert result.stderr == (
        "interrupted; the changes already made are kept, the one in progress was not stored\n"
    )
    with Vault.open(path, "pw") as vault:
        assert [label.name for label in vault.get(contact_id).labels] == ["paid"]


def test_a_prompt_closed_without_an_answer_exits_130(tmp_path, monkeypatch):
    """A passphrase prompt given up (click.Abort: Ctrl-C or Ctrl-D there) is an interruption too."""
    path = tmp_path / "v.db"
    Vault.create(path, "pw", kdf=KdfParams.insecure_fast_for_tests()).close()
    monkeypatch.setattr("contactvault.cli._app.interactive", lambda: True)
    monkeypatch.delenv("CONTACTVAULT_PASSPHRASE_FILE", raising=False)
    result = CliRunner().invoke(main, ["list", "--vault", str(path)], input="")  # end of input at the prompt
    assert result.exit_code == 130
    assert result.stderr.splitlines()[-1] == "interrupted; nothing was changed"


CLI = [sys.executable, "-c", "from contactvault.cli import main; main(prog_name='contactvault')"]


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_until_asleep(pid: int) -> None:
    """Wait until the process sleeps (blocked in the read of its answer), as a person's Ctrl-C finds it.

    A SIGINT that lands between writing the question and entering ``read()`` is only noted by Python and
    handled when the read returns; a real Ctrl-C comes while the read waits. Linux's /proc tells.
    """
    stat_file = Path(f"/proc/{pid}/stat")
    for _ in range(6000):
        if stat_file.read_text(encoding="ascii").rsplit(")", 1)[1].split()[0] == "S":
            return
        time.sleep(0.005)
    pytest.fail("the process never waited for its answer")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs a pseudo-terminal and Linux's /proc")
def test_sigint_at_the_erase_question_exits_130_in_a_real_process(tmp_path):
    """A real SIGINT while `erase` waits for its answer on a terminal: exit 130, one line, nothing erased."""
    import pty  # noqa: PLC0415  (POSIX only)

    path, secret = tmp_path / "v.db", tmp_path / "pw"
    secret.write_text("pw\n", encoding="utf-8")
    with Vault.create(path, "pw", kdf=KdfParams.insecure_fast_for_tests()) as vault:
        contact_id = vault.add(
            Contact(
                display_name="Anna Beispiel", phones=(normalize_phone("+4915155501200", default_region=None),)
            )
        )
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(  # noqa: S603  (our own command)
            [*CLI, "erase", str(contact_id), "--vault", str(path), "--passphrase-file", str(secret)],
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            # As a terminal starts a command: with Ctrl-C's default action. A test run started in the
            # background by a script (``cmd &``) ignores SIGINT, and a child would inherit that.
            preexec_fn=_default_sigint,  # noqa: PLW1509  (no threads start in between: only this test's child)
        )
        assert process.stderr is not None
        seen = b""
        while b"This cannot be undone" not in seen:  # the question is on stderr: the prompt now waits
            chunk = os.read(process.stderr.fileno(), 4096)
            assert chunk, seen
            seen += chunk
        wait_until_asleep(process.pid)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        os.close(controller)
        os.close(terminal)
    assert process.returncode == 130, (seen + err).decode()
    assert err.decode().strip().splitlines() == ["interrupted; nothing was changed"]
    assert out == b""
    with Vault.open(path, "pw") as vault:
        assert vault.get(contact_id).display_name == "Anna Beispiel"


# --- no terminal: no prompt, no GetPassWarning --------------------------------------------------------------


def test_without_a_terminal_a_missing_passphrase_is_one_line_and_exit_two(tmp_path):
    """A real process with stdin from /dev/null and no passphrase file: exit 2 at once, no getpass warning."""
    path = tmp_path / "v.db"
    Vault.create(path, "pw", kdf=KdfParams.insecure_fast_for_tests()).close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTACTVAULT_")}
    env["CONTACTVAULT_STATE_DIR"] = os.environ["CONTACTVAULT_STATE_DIR"]  # the test's memory, not the user's
    done = subprocess.run(  # noqa: S603  (our own command)
        [*CLI, "list", "--vault", str(path)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        env=env,
        start_new_session=True,  # no controlling terminal either: getpass would fall back to stdin
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "error: no passphrase: give --passphrase-file or set CONTACTVAULT_PASSPHRASE_FILE "
        "(there is no terminal to ask on)"
    ]
    assert "GetPassWarning" not in done.stderr


# --- private folders, whatever the umask --------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
@pytest.mark.parametrize("umask", [0o000, 0o022, 0o277])
def test_make_private_dir_creates_every_missing_folder_with_mode_0700(tmp_path, umask):
    """Each folder created gets exactly 0700 under any umask; an existing parent keeps its own mode."""
    tmp_path.chmod(0o755)
    target = tmp_path / "a" / "b" / "c"
    old = os.umask(umask)
    try:
        assert make_private_dir(target) == target
        assert make_private_dir(target) == target  # existing: nothing to do
    finally:
        os.umask(old)
    for folder in (tmp_path / "a", tmp_path / "a" / "b", target):
        assert mode(folder) == 0o700, folder
    assert mode(tmp_path) == 0o755
    (target / "file").write_text("writable", encoding="utf-8")  # 0700 even where the umask took u+w


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_make_private_dir_leaves_existing_folders_alone_and_refuses_a_file(tmp_path):
    """An existing folder keeps its mode (not ours to change); a file in the way is NotADirectoryError."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o775)
    make_private_dir(shared / "new")
    assert mode(shared) == 0o775
    assert mode(shared / "new") == 0o700
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(NotADirectoryError):
        make_private_dir(tmp_path / "file" / "sub")
    with pytest.raises(NotADirectoryError):
        make_private_dir(tmp_path / "file")


# --- the docs say what the command prints -------------------------------------------------------------------


def test_docs_show_masked_names_as_the_command_prints_them():
    """Masked names look like `A. B.` (mask_name), in every page and in the README; no `A••• B•••`."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"\b[A-Z]•", text), page.name
