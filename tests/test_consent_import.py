"""Consents in bulk from a form export: `Vault.import_consents` and `contactvault consent import` (issue 16).

All or nothing: a file with any bad row (the file's own problems, a number or id that names no contact or
several, a notice version the vault does not hold, the same consent twice) records nothing and names each
rejected line, column and reason, never a value; a good file records every consent in one transaction and
one log record, by the user who opened the vault. On both backends.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from contactvault import Contact, ContactErased, KdfParams, Vault, normalize_phone
from contactvault.cli import main
from contactvault.consent import parse_consents
from contactvault.vault import log

FAST = KdfParams.insecure_fast_for_tests()
PASSPHRASE = "import test passphrase"  # noqa: S105  (a test vault)
HEADER = "phone,purpose,granted_at,channel,notice_id,notice_version,evidence"
COUNT = 200
BAD_LINES = (20, 101, 187)


def number(i: int) -> str:
    return f"+4915155{500000 + i}"


def rows(count: int = COUNT, *, bad: bool = False) -> str:
    """A form export of ``count`` consents, one per contact; with ``bad``, three bad rows (BAD_LINES)."""
    lines = [HEADER]
    for i in range(count):
        line = i + 2  # the header is line 1
        phone, channel, version = number(i), "web_form", "1"
        if bad and line == BAD_LINES[0]:
            phone = "+4915155999999"  # no contact has it
        if bad and line == BAD_LINES[1]:
            version = "7"  # not stored in the vault
        if bad and line == BAD_LINES[2]:
            channel = "carrier-pigeon"  # not a channel
        lines.append(f"{phone},messenger,2026-02-01T10:00:00+01:00,{channel},privacy,{version},form {i}")
    return "\n".join(lines) + "\n"


def make_vault(where: Path | str) -> tuple[Vault, list[uuid.UUID]]:
    """A vault opened by "alice" with COUNT contacts (one number each) and notice privacy version 1."""
    vault = Vault.create(where, "pw", user="alice", kdf=FAST)
    contacts = [
        Contact(display_name=f"Person {i}", phones=(normalize_phone(number(i), default_region=None),))
        for i in range(COUNT)
    ]
    ids = vault.add_many(contacts)
    vault.add_notice("privacy", "1", "Our privacy notice.", language="en")
    return vault, list(ids)


@pytest.fixture
def team(where):
    vault, ids = make_vault(where)
    yield vault, ids
    vault.close()


def consents_of(vault: Vault, ids: list[uuid.UUID]) -> int:
    return sum(len(vault.get(cid).consents) for cid in ids)


# --- the API, on both backends ------------------------------------------------------------------------------


def test_three_bad_rows_of_200_import_nothing_and_name_the_three_lines(team):
    vault, ids = team
    before = len(log.read(vault._core)[0])
    result = vault.import_consents(parse_consents(rows(bad=True)))
    assert not result.ok
    assert result.rejected_lines == BAD_LINES
    assert [(r.line, r.field) for r in result.rejected] == [
        (20, "phone"),
        (101, "notice_version"),
        (187, "channel"),
    ]
    assert result.rejected[0].reason == "no contact has this number"
    assert "not stored in the vault" in result.rejected[1].reason
    assert (result.recorded, result.contacts) == (0, 0)
    assert consents_of(vault, ids) == 0
    assert len(log.read(vault._core)[0]) == before
    assert all("+49" not in r.reason for r in result.rejected)


def test_a_good_file_records_200_consents_in_one_transaction_by_the_opener(team):
    vault, ids = team
    before = len(log.read(vault._core)[0])
    result = vault.import_consents(parse_consents(rows()))
    assert result.ok
    assert (result.recorded, result.already, result.contacts) == (COUNT, 0, COUNT)
    for i, cid in enumerate(ids):
        (record,) = vault.get(cid).consents
        assert (record.purpose, record.channel, record.notice_id, record.notice_version) == (
            "messenger",
            "web_form",
            "privacy",
            "1",
        )
        assert record.evidence_ref == f"form {i}"
        assert record.recorded_by == "alice"
        assert record.granted_at == datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
        assert vault.directory_entry(cid).version == 2
    records = log.read(vault._core)[0]
    assert len(records) == before + 1  # one record for the whole file
    (activity,) = records[before:]
    assert (activity.action, activity.count, activity.by) == ("consent", COUNT, "alice")
    assert activity.detail == "200 consents imported: messenger"
    vault.verify()


def test_importing_the_same_file_again_records_nothing_and_never_revives_a_withdrawal(team):
    vault, ids = team
    bulk = parse_consents(rows(5))
    vault.import_consents(bulk)
    vault.withdraw_consent(ids[0], "messenger", channel="email")
    before = len(log.read(vault._core)[0])
    again = vault.import_consents(bulk)
    assert (again.ok, again.recorded, again.already, again.contacts) == (True, 0, 5, 0)
    assert len(log.read(vault._core)[0]) == before
    (withdrawn,) = vault.get(ids[0]).consents
    assert withdrawn.withdrawn


def test_several_rows_for_one_contact_are_one_write(team):
    vault, ids = team
    text = "\n".join(
        [
            "contact,purpose,granted_at,channel,notice_id,notice_version",
            f"{ids[0].hex[:8]},messenger,2026-02-01,written,privacy,1",
            f"{ids[0].hex},newsletter,2026-02-01,written,privacy,1",
            f"{ids[1].hex[:12]},messenger,2026-02-02,in_person,privacy,1",
        ]
    )
    result = vault.import_consents(parse_consents(text))
    assert (result.ok, result.recorded, result.contacts) == (True, 3, 2)
    assert [c.purpose for c in vault.get(ids[0]).consents] == ["messenger", "newsletter"]
    assert vault.directory_entry(ids[0]).version == 2  # both consents in one new version


def test_the_vaults_rejections_name_line_column_and_reason(team):
    vault, ids = team
    shared = Contact(display_name="Second", phones=(normalize_phone(number(1), default_region=None),))
    vault.add(shared)  # number(1) now names two contacts
    text = "\n".join(
        [
            HEADER,
            f"{number(0)},messenger,2026-02-01,written,privacy,1,",
            f"{number(1)},messenger,2026-02-01,written,privacy,1,",
            f"{number(0)},messenger,2026-02-01,written,privacy,1,",  # the same consent as line 2
            f"{number(2)},messenger,2026-02-01,written,other-notice,1,",
        ]
    )
    result = vault.import_consents(parse_consents(text))
    assert [(r.line, r.field, r.reason) for r in result.rejected] == [
        (3, "phone", "several contacts have this number"),
        (4, "row", "duplicate of line 2"),  # found by the file reader already
        (5, "notice_version", "this notice version is not stored in the vault (contactvault notice add)"),
    ]
    assert consents_of(vault, ids) == 0


def test_the_same_contact_by_id_and_by_number_is_a_duplicate(team):
    vault, ids = team
    text = "\n".join(
        [
            "contact,purpose,granted_at,channel,notice_id,notice_version",
            f"{ids[3].hex[:8]},messenger,2026-02-01,written,privacy,1",
            f"{ids[3].hex},messenger,2026-02-01,written,privacy,1",
            f"{'f' * 8},messenger,2026-02-01,written,privacy,1",
        ]
    )
    result = vault.import_consents(parse_consents(text))
    reasons = [(r.line, r.field, r.reason) for r in result.rejected]
    assert (3, "row", "duplicate of line 2 (the same contact)") in reasons
    assert consents_of(vault, ids) == 0


def test_an_erased_contact_is_not_found_and_one_erased_meanwhile_stops_everything(where, monkeypatch):
    vault, ids = make_vault(where)
    with vault:
        vault.erase(ids[0])
        result = vault.import_consents(parse_consents(rows(3)))
        assert [(r.line, r.reason) for r in result.rejected] == [(2, "no contact has this number")]
        # Erased between the check and the transaction: the write sees it, and nothing is written.
        real_commit = log.commit

        erased: list[bool] = []

        def erase_first(core, *args, **kwargs):
            if core is vault._core and not erased:
                erased.append(True)
                with Vault.open(where, "pw") as other:
                    other.erase(ids[2])
            return real_commit(core, *args, **kwargs)

        monkeypatch.setattr(log, "commit", erase_first)
        with pytest.raises(ContactErased):
            vault.import_consents(parse_consents(rows(3).replace(number(0), number(5))))
        monkeypatch.undo()
        assert consents_of(vault, [ids[1], ids[5]]) == 0


def test_import_consents_takes_what_read_consents_returns(team):
    vault, _ = team
    with pytest.raises(TypeError):
        vault.import_consents(rows())


# --- the command line ---------------------------------------------------------------------------------------


class Shop:
    """A vault file made by ``make_vault`` and its CLI options."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "shop.db"
        self.secret = folder / "pass.txt"
        self.secret.write_text("pw\n", encoding="utf-8")
        vault, self.ids = make_vault(self.path)
        vault.close()

    def run(self, *args: str, code: int = 0, input: str | None = None) -> Result:
        """Run a command against this vault and check its exit code."""
        options = ["--vault", str(self.path), "--passphrase-file", str(self.secret), "--user", "alice"]
        result = CliRunner().invoke(main, [*args, *options], input=input)
        assert "Traceback" not in result.output
        assert result.exit_code == code, result.output
        return result

    def consents(self) -> int:
        """How many consents the vault holds."""
        with Vault.open(self.path, "pw", user="alice") as vault:
            return consents_of(vault, self.ids)


@pytest.fixture
def shop(tmp_path):
    return Shop(tmp_path)


def test_cli_three_bad_rows_exit_1_name_the_lines_and_record_nothing(shop):
    path = shop.folder / "forms.csv"
    path.write_text(rows(bad=True), encoding="utf-8")
    result = shop.run("consent", "import", str(path), code=1)
    assert result.stdout.splitlines() == [
        "Nothing recorded: 3 of 200 rows rejected (lines 20, 101, 187).",
        "line 20, phone: no contact has this number",
        "line 101, notice_version: this notice version is not stored in the vault (contactvault notice add)",
        "line 187, channel: not a consent channel (written, email, web_form, in_person, phone, messenger "
        "or other)",
    ]
    assert "+49" not in result.output
    assert "form " not in result.output
    assert shop.consents() == 0
    data = json.loads(shop.run("consent", "import", str(path), "--json", code=1).stdout)
    assert (data["ok"], data["rows"], data["recorded"], data["rejected_lines"]) == (
        False,
        200,
        0,
        [20, 101, 187],
    )
    assert data["rejected"][0] == {"line": 20, "column": "phone", "reason": "no contact has this number"}


def test_cli_a_good_file_records_200_consents(shop):
    path = shop.folder / "forms.csv"
    path.write_text(rows(), encoding="utf-8")
    assert shop.run("consent", "import", str(path)).stdout == "Recorded 200 consents for 200 contacts.\n"
    assert shop.consents() == COUNT
    again = json.loads(shop.run("consent", "import", str(path), "--json").stdout)
    assert (again["ok"], again["recorded"], again["already"]) == (True, 0, 200)
    with Vault.open(shop.path, "pw", user="alice") as vault:
        assert {c.recorded_by for cid in shop.ids for c in vault.get(cid).consents} == {"alice"}


def test_cli_national_numbers_with_region_dates_in_a_zone_and_stdin(shop):
    text = "\n".join(
        [
            "phone;purpose;granted_at;channel;notice_id;notice_version",
            "0151 55500007;messenger;01.02.2026;written;privacy;1",
        ]
    )
    without = shop.run("consent", "import", "-", input=text, code=1)
    assert "line 2, phone:" in without.stdout
    shop.run("consent", "import", "-", "--region", "DE", "--timezone", "Europe/Berlin", input=text)
    with Vault.open(shop.path, "pw", user="alice") as vault:
        (record,) = vault.get(shop.ids[7]).consents
    assert record.granted_at == datetime(2026, 1, 31, 23, 0, tzinfo=UTC)
    assert record.granted_at.utcoffset() == timedelta(hours=1)


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--timezone", "Mars/Olympus"], 2, "invalid --timezone"),
        (["--region", "XX"], 2, "region"),
    ],
)
def test_cli_bad_options(shop, args, code, words):
    path = shop.folder / "forms.csv"
    path.write_text(rows(2), encoding="utf-8")
    result = shop.run("consent", "import", str(path), *args, code=code)
    assert words in result.output
    assert shop.consents() == 0


def test_cli_a_file_that_is_no_consent_csv_is_bad_input(shop):
    path = shop.folder / "contacts.csv"
    path.write_text("name,phone\nAnna,+4915155500001\n", encoding="utf-8")
    result = shop.run("consent", "import", str(path), code=5)
    assert "contacts.csv" in result.output
    assert "Anna" not in result.output
    assert shop.consents() == 0
