"""The `contactvault import` command: summary, JSON, exit codes, and no personal data in its output."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from click.testing import CliRunner

from contactvault import KdfParams, Vault
from contactvault.cli import main
from contactvault.cli._app import EXIT_CODES
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
    """A file over 1 MiB shows a progress bar on a terminal, then every card is stored in the vault."""
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
    assert "reading long.vcf" in result.output  # the progress bar (stderr is mixed in by CliRunner)
    assert "Stored 9000 contacts" in result.output
    with Vault.open(vault_path, "a passphrase here") as vault:
        assert len(vault) == 9_000
