"""`list` streams aligned lines; `show` and every CONTACT argument resolve an id prefix without decrypting."""

from __future__ import annotations

import re
import uuid

import pytest
from click.testing import CliRunner, Result
from rich.cells import cell_len

from contactvault import Contact, KdfParams, Vault, normalize_phone
from contactvault.cli import main
from contactvault.cli._app import live_ids
from contactvault.cli._lines import CHUNK as _LIST_CHUNK
from contactvault.errors import VaultCorrupted
from tests.conftest import CliVault

FAST = KdfParams.insecure_fast_for_tests()
PASSPHRASE = "a passphrase here"  # noqa: S105  (a test vault)
LONG_NAME = "Maximiliane Alexandra Theodora von Hohenzollern-Sigmaringen"
WIDE_NAME = "山田太郎 山田花子 山田一郎 山田次郎"  # two terminal cells per character
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def number(i: int) -> str:
    return f"+4915155{i:06d}"


def person(i: int, name: str | None = None, numbers: int = 1) -> Contact:
    phones = tuple(normalize_phone(number(i * 10 + n), default_region=None) for n in range(numbers))
    return Contact(display_name=name or f"Person Number{i}", phones=phones)


def make_vault(tmp_path, contacts: list[Contact]) -> CliVault:
    path = tmp_path / "vault.db"
    with Vault.create(path, PASSPHRASE, kdf=FAST) as vault:
        ids = vault.add_many(contacts)
    passphrase_file = tmp_path / "passphrase.txt"
    passphrase_file.write_text(PASSPHRASE + "\n", encoding="utf-8")
    return CliVault(path, passphrase_file, ids)


def ok(*args: str, env: dict[str, str] | None = None) -> Result:
    result = CliRunner(env=env).invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def small(tmp_path) -> CliVault:
    return make_vault(
        tmp_path,
        [person(0, LONG_NAME, numbers=3), person(1, WIDE_NAME), person(2, "Zoë O'Brien", numbers=2)],
    )


# --- list ---------------------------------------------------------------------------------------------------


def test_list_is_a_header_one_line_per_contact_and_the_count(small):
    """Masked: a header, one line per contact in the order added, the count last; every column aligned."""
    lines = ok("list", *small.options).stdout.splitlines()
    assert lines[0].split() == ["id", "name", "consents", "labels", "restricted", "numbers"]
    assert lines[-1] == "3 contacts"
    rows = lines[1:-1]
    assert [row[:8] for row in rows] == [cid.hex[:8] for cid in small.ids]
    # the numbers start at the same terminal cell on every line, and the header's "numbers" there too
    starts = {cell_len(row[: row.index("+49")]) for row in rows}
    assert starts == {cell_len(lines[0][: lines[0].index("numbers")])}
    assert "M. A. T. V. H." in rows[0]  # initials only
    assert rows[0].endswith("+49 ••••••••• 00, +49 ••••••••• 01, +49 ••••••••• 02")


def test_list_reveal_cuts_long_names_to_the_column_and_shows_every_number(small):
    """--reveal: a long name is cut with … (wide characters count two cells); no number is ever cut."""
    lines = ok("list", "--reveal", *small.options).stdout.splitlines()
    rows = lines[1:-1]
    starts = {cell_len(row[: row.index("+49")]) for row in rows}
    assert len(starts) == 1
    assert LONG_NAME not in rows[0]
    assert LONG_NAME[:20] in rows[0]
    assert "…" in rows[0]
    assert "…" in rows[1]  # the wide name: 38 cells in a column of 30
    assert "Zoë O'Brien" in rows[2]
    assert "…" not in rows[2]
    assert rows[0].endswith(", ".join(number(n) for n in range(3)))


def test_list_lines_are_the_same_on_a_terminal_with_only_styling_added(small):
    """On a terminal (FORCE_COLOR) the header is bold, the count dim; unstyled, the lines are the same."""
    piped = ok("list", *small.options).stdout
    styled = ok("list", *small.options, env={"FORCE_COLOR": "1"}).stdout
    assert "\x1b[" not in piped
    assert "\x1b[1m" in styled.splitlines()[0]
    assert ANSI.sub("", styled) == piped


def test_list_of_an_empty_vault_says_so(tmp_path):
    """No header for an empty vault: one line."""
    empty = make_vault(tmp_path, [])
    assert ok("list", *empty.options).stdout == "No contacts.\n"


def test_list_writes_its_lines_while_it_reads(tmp_path, monkeypatch):
    """Lines are written in chunks as the directory is read: a failure after a chunk finds it written.

    The iteration is made to fail after one and a half chunks: the first chunk is already out, the
    command still ends with the vault's error (exit 3) and no count line.
    """
    vault = make_vault(tmp_path, [person(i) for i in range(_LIST_CHUNK * 2)])
    real_iter = Vault.__iter__

    def failing(self: Vault):
        for done, entry in enumerate(real_iter(self)):
            if done == _LIST_CHUNK * 3 // 2:
                raise VaultCorrupted("a record failed its check")
            yield entry

    monkeypatch.setattr(Vault, "__iter__", failing)
    result = CliRunner().invoke(main, ["list", *vault.options])
    assert result.exit_code == 3
    lines = result.stdout.splitlines()
    assert len(lines) == 1 + _LIST_CHUNK  # the header and the first chunk
    assert "contacts" not in result.stdout
    assert "failed its check" in result.stderr


def test_list_json_is_unchanged_by_streaming(small):
    """--json still prints every row in full (the streaming is for the lines)."""
    import json  # noqa: PLC0415

    rows = json.loads(ok("list", "--reveal", "--json", *small.options).stdout)
    assert [row["name"] for row in rows] == [LONG_NAME, WIDE_NAME, "Zoë O'Brien"]
    assert rows[0]["numbers"] == [number(n) for n in range(3)]


# --- an id prefix resolved without decrypting ---------------------------------------------------------------


def test_live_ids_are_the_ids_of_the_directory_after_erase_and_merge(tmp_path):
    """`live_ids` lists exactly the ids iteration yields: no erased contact, no merged-away one."""
    with Vault.create(tmp_path / "v.db", PASSPHRASE, kdf=FAST) as vault:
        ids = vault.add_many([person(i) for i in range(6)])
        vault.erase(ids[1])
        vault.merge([ids[3], ids[4]])
        assert list(live_ids(vault)) == [entry.id for entry in vault]
        assert ids[1] not in list(live_ids(vault))
        assert ids[4] not in list(live_ids(vault))
        assert len(list(live_ids(vault))) == len(vault) == 4


def test_show_by_prefix_decrypts_no_other_contact(small, monkeypatch):
    """`show <8 hex digits>` finds the contact without iterating (decrypting) the directory."""

    def no_iteration(self: Vault):
        raise AssertionError("the whole directory was decrypted to resolve an id prefix")

    monkeypatch.setattr(Vault, "__iter__", no_iteration)
    out = ok("show", small.ids[2].hex[:8], "--reveal", *small.options).stdout
    assert "Zoë O'Brien" in out


def test_a_prefix_of_an_erased_contact_is_not_found_and_a_shared_one_is_refused(tmp_path):
    """An erased contact's id matches nothing (exit 6); a prefix two live ids share is refused (exit 2)."""
    twins = [
        person(i).model_copy(update={"id": uuid.UUID(f"12345678-{i}000-4000-8000-000000000000")})
        for i in range(3)
    ]
    vault = make_vault(tmp_path, twins)
    with Vault.open(vault.path, PASSPHRASE) as opened:
        opened.erase(vault.ids[0])
    gone = CliRunner().invoke(main, ["show", vault.ids[0].hex, *vault.options])
    assert gone.exit_code == 6
    shared = CliRunner().invoke(main, ["show", "12345678", *vault.options])
    assert shared.exit_code == 2
    assert "several contacts match (12345678, 12345678)" in shared.stderr
    one = ok("show", "123456782", "--json", *vault.options).stdout  # 9 digits: one of the live two
    assert '"id": "12345678-2000-4000-8000-000000000000"' in one
