"""Refresh periods stored in the vault, and the policy the CLI syncs with (issue 16, items 1 and 4).

`Vault.set_consent_refresh` stores a period per purpose (the newest record wins); `Policy.from_vault` puts
it, and the notice versions that renew older consents, into the policy of `book`, `export` and `sync`. The
end-to-end tests move the clock the commands read (a `now` the tests control) and watch a contact leave the
book with `consent_expired`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from contactvault import Contact, KdfParams, Policy, Vault, normalize_phone
from contactvault.cli import main
from contactvault.models import MessengerPresence
from contactvault.sync.policy import MessengerPolicy, NoticeRenewal
from contactvault.vault import log
from tests.conftest import consent

FAST = KdfParams.insecure_fast_for_tests()
PASSPHRASE = "refresh test passphrase"  # noqa: S105  (a test vault)
NUMBER = "+4915155501234"


@pytest.fixture
def vault(where):
    with Vault.create(where, "pw", kdf=FAST) as opened:
        yield opened


# --- the API, on both backends ----------------------------------------------------------------------------


def test_a_refresh_period_is_stored_per_purpose_and_the_newest_wins(vault):
    assert vault.consent_refresh("messenger") is None
    assert vault.consent_refreshes() == {}
    assert vault.set_consent_refresh("messenger", timedelta(days=730)) is True
    assert vault.set_consent_refresh("newsletter", timedelta(days=365)) is True
    assert vault.consent_refresh("messenger") == timedelta(days=730)
    assert vault.set_consent_refresh("messenger", timedelta(days=400)) is True
    assert vault.consent_refresh("messenger") == timedelta(days=400)
    assert vault.consent_refreshes() == {"messenger": timedelta(days=400), "newsletter": timedelta(days=365)}
    assert vault.set_consent_refresh("messenger", None) is True
    assert vault.consent_refresh("messenger") is None
    assert vault.consent_refreshes()["messenger"] is None  # switched off, and says so
    details = [r.detail for r in log.activities(vault._core, "consent_refresh")]
    assert details == ["messenger: 730 days", "newsletter: 365 days", "messenger: 400 days", "messenger: off"]
    vault.verify()


def test_the_period_in_force_again_writes_nothing(vault):
    assert vault.set_consent_refresh("messenger", None) is False  # none stored is off already
    vault.set_consent_refresh("messenger", timedelta(hours=36, microseconds=5))
    count = len(log.read(vault._core)[0])
    assert vault.set_consent_refresh("messenger", timedelta(hours=36, microseconds=5)) is False
    assert len(log.read(vault._core)[0]) == count
    assert vault.consent_refresh("messenger") == timedelta(hours=36, microseconds=5)  # kept exactly


def test_a_refresh_period_survives_reopening(where):
    with Vault.create(where, "pw", kdf=FAST) as vault:
        vault.set_consent_refresh("messenger", timedelta(days=730))
    with Vault.open(where, "pw") as vault:
        assert vault.consent_refresh("messenger") == timedelta(days=730)


@pytest.mark.parametrize(
    ("purpose", "period", "error"),
    [
        ("Messenger", timedelta(days=1), ValueError),
        ("", timedelta(days=1), ValueError),
        ("messenger", timedelta(0), ValueError),
        ("messenger", -timedelta(days=1), ValueError),
        ("messenger", 730, TypeError),
        (None, timedelta(days=1), TypeError),
    ],
)
def test_bad_refresh_settings_are_refused_and_write_nothing(vault, purpose, period, error):
    count = len(log.read(vault._core)[0])
    with pytest.raises(error):
        vault.set_consent_refresh(purpose, period)
    assert len(log.read(vault._core)[0]) == count


def test_policy_from_vault_takes_the_period_and_the_renewals(vault):
    assert Policy.from_vault(vault) == MessengerPolicy()
    vault.set_consent_refresh("messenger", timedelta(days=730))
    vault.add_notice("notice-messenger", "3", "Version three.", language="en")
    v4 = vault.add_notice("notice-messenger", "4", "Version four.", language="en", renews=True)
    policy = Policy.from_vault(vault)
    renewal = NoticeRenewal("notice-messenger", "4", v4.valid_from)
    assert policy == MessengerPolicy(
        consent_refresh=timedelta(days=730), renewed_notices=frozenset({renewal})
    )
    assert vault.notice_renewals() == frozenset({renewal})
    assert Policy.from_vault(vault, "newsletter").consent_refresh is None
    assert Policy.from_vault(vault, consent_refresh=timedelta(days=1)).consent_refresh == timedelta(days=1)
    assert policy.digest() != MessengerPolicy(consent_refresh=timedelta(days=730)).digest()


def test_a_renewing_notice_ends_older_consents_in_the_vaults_policy(vault):
    """A consent to version 3 counts until version 4 (renews) applies; one to version 4 counts after."""
    vault.add_notice("notice-messenger", "3", "Version three.", language="en")
    cid = vault.add(Contact(display_name="Anna Beispiel", consents=(consent(),)))
    valid_from = datetime.now(UTC) + timedelta(days=10)
    vault.add_notice(
        "notice-messenger", "4", "Version four.", language="en", valid_from=valid_from, renews=True
    )
    policy = Policy.from_vault(vault)
    entry = vault.directory_entry(cid)
    basis = {"no_legal_basis", "consent_withdrawn", "consent_expired"}
    assert not basis & set(policy.decide(entry, now=valid_from - timedelta(seconds=1)).reasons)
    assert basis & set(policy.decide(entry, now=valid_from).reasons) == {"consent_expired"}
    vault.grant_consent(cid, consent(granted_at=datetime.now(UTC), notice_version="4"))
    assert not basis & set(policy.decide(vault.directory_entry(cid), now=valid_from).reasons)


# --- the command line, with a clock the tests move ---------------------------------------------------------


class Clock:
    """Moves the clock that `book`, `export`, `sync` and `consent due` read (``datetime.now``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = timedelta(0)
        clock = self

        class Shifted(datetime):
            @classmethod
            def now(cls, tz: Any = None) -> Any:
                return datetime.now(tz) + clock.offset

        for module in ("contactvault.sync.book", "contactvault.cli.messenger", "contactvault.cli.rights"):
            monkeypatch.setattr(f"{module}.datetime", Shifted)

    def advance(self, span: timedelta) -> None:
        """Let ``span`` pass."""
        self.offset += span


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


class Shop:
    """A vault with one contact on the messenger, consented 10 days ago to notice-messenger version 3."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "shop.db"
        self.secret = folder / "pass.txt"
        self.secret.write_text(PASSPHRASE + "\n", encoding="utf-8")
        presence = MessengerPresence(present=True, source="manual", checked_at=datetime.now(UTC))
        phone = normalize_phone(NUMBER, default_region=None).model_copy(update={"messenger": presence})
        granted = consent(granted_at=datetime.now(UTC) - timedelta(days=10))
        with Vault.create(self.path, PASSPHRASE, kdf=FAST) as vault:
            vault.add_notice("notice-messenger", "3", "Version three.", language="en")
            self.id = vault.add(Contact(display_name="Anna Beispiel", phones=(phone,), consents=(granted,)))

    def run(self, *args: str, code: int = 0, input: str | None = None) -> Result:
        """Run a command against this vault and check its exit code."""
        options = ["--vault", str(self.path), "--passphrase-file", str(self.secret)]
        result = CliRunner().invoke(main, [*args, *options], input=input)
        assert "Traceback" not in result.output
        assert result.exit_code == code, result.output
        return result

    def book(self) -> dict[str, Any]:
        """`book --explain --json`."""
        data: dict[str, Any] = json.loads(self.run("book", "--explain", "--json").stdout)
        return data

    def refused(self) -> list[str]:
        """The reasons of the refused contact (empty if it is in the book)."""
        return [reason for item in self.book()["refused"] for reason in item["reasons"]]


@pytest.fixture
def shop(tmp_path):
    return Shop(tmp_path)


def test_consent_refresh_sets_shows_and_switches_off(shop):
    assert "No refresh period is stored" in shop.run("consent", "refresh").stdout
    assert shop.run("consent", "refresh", "messenger", "--months", "24").stdout == (
        "refresh period for messenger: 730 days\n"
    )
    again = json.loads(shop.run("consent", "refresh", "messenger", "--months", "24", "--json").stdout)
    assert again == {"purpose": "messenger", "days": 730, "changed": False}
    shop.run("consent", "refresh", "newsletter", "--days", "90")
    assert shop.run("consent", "refresh").stdout == "messenger: 730 days\nnewsletter: 90 days\n"
    assert json.loads(shop.run("consent", "refresh", "--json").stdout) == [
        {"purpose": "messenger", "days": 730},
        {"purpose": "newsletter", "days": 90},
    ]
    assert shop.run("consent", "refresh", "newsletter").stdout == "newsletter: 90 days\n"
    assert (
        shop.run("consent", "refresh", "messenger", "--off").stdout == "refresh period for messenger: off\n"
    )
    assert json.loads(shop.run("consent", "refresh", "messenger", "--json").stdout) == [
        {"purpose": "messenger", "days": None}
    ]
    with Vault.open(shop.path, PASSPHRASE) as vault:
        assert vault.consent_refreshes() == {"messenger": None, "newsletter": timedelta(days=90)}


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["messenger", "--months", "24", "--days", "3"], "not --months and --days"),
        (["--days", "3"], "--days needs a PURPOSE"),
        (["Not A Purpose", "--days", "3"], "invalid PURPOSE"),
        (["messenger", "--days", "0"], "--days"),
        (["messenger", "--months", "x"], "--months"),
    ],
)
def test_consent_refresh_bad_options_are_one_line_and_change_nothing(shop, args, words):
    result = shop.run("consent", "refresh", *args, code=2)
    assert len(result.output.strip().splitlines()) == 1
    assert words in result.output
    assert "Not A Purpose" not in result.output
    with Vault.open(shop.path, PASSPHRASE) as vault:
        assert vault.consent_refreshes() == {}


def test_the_stored_period_passes_and_the_contact_leaves_the_book_at_the_next_export_and_sync(
    shop, clock, tmp_path
):
    """A consent 10 days old, a stored period of 30 days: in the book for 20 more days, then out."""
    shop.run("consent", "refresh", "messenger", "--days", "30")
    target = tmp_path / "phone.vcf"
    assert json.loads(shop.run("sync", "file", str(target), "--json").stdout)["created"] == 1
    clock.advance(timedelta(days=19, hours=23))
    assert shop.refused() == []
    assert json.loads(shop.run("export", str(tmp_path / "a.vcf"), "--json").stdout)["entries"] == 1
    clock.advance(timedelta(hours=2))  # 30 days and 1 hour since the consent
    assert shop.refused() == ["consent_expired"]
    assert json.loads(shop.run("export", str(tmp_path / "b.vcf"), "--json").stdout)["entries"] == 0
    assert NUMBER not in (tmp_path / "b.vcf").read_text(encoding="utf-8")
    synced = json.loads(shop.run("sync", "file", str(target), "--json").stdout)
    assert (synced["deleted"], synced["entries"]) == (1, 0)
    assert NUMBER not in target.read_text(encoding="utf-8")
    due = json.loads(shop.run("consent", "due", "--json").stdout)  # the stored period, no --refresh
    assert [(d["contact"], d["expired"], d["reason"]) for d in due] == [(shop.id.hex[:8], True, "refresh")]


def test_consent_due_without_a_period_is_refused_and_refresh_overrides_the_stored_one(shop):
    result = shop.run("consent", "due", code=2)
    assert "no refresh period for messenger" in result.output
    assert "--refresh" in result.output
    assert len(result.output.strip().splitlines()) == 1
    shop.run("consent", "refresh", "messenger", "--days", "5")
    assert [d["expired"] for d in json.loads(shop.run("consent", "due", "--json").stdout)] == [True]
    assert json.loads(shop.run("consent", "due", "--refresh", "365", "--within", "0", "--json").stdout) == []


def test_a_renewing_notice_takes_older_consents_out_until_they_are_given_again(shop, tmp_path):
    """With `notice add --renews`, a consent to version 3 expires from version 4's valid-from."""
    text = tmp_path / "v4.txt"
    text.write_text("Version four of the notice.\n", encoding="utf-8")
    assert shop.refused() == []
    shop.run("notice", "add", "--id", "notice-messenger", "--version", "4", "--renews", str(text))
    assert shop.refused() == ["consent_expired"]
    due = json.loads(shop.run("consent", "due", "--json").stdout)  # no period stored: renewals suffice
    assert [(d["contact"], d["expired"], d["reason"]) for d in due] == [
        (shop.id.hex[:8], True, "notice_renewed")
    ]
    table = shop.run("consent", "due").stdout
    assert "notice renewed" in table
    shop.run(
        "consent", "grant", shop.id.hex[:8], "--purpose", "messenger", "--channel", "written",
        "--notice-id", "notice-messenger", "--notice-version", "4",
    )  # fmt: skip
    assert shop.refused() == []
    assert json.loads(shop.run("consent", "due", "--json").stdout) == []


def test_a_renewal_valid_later_is_due_before_it_applies(shop, tmp_path, clock):
    text = tmp_path / "v4.txt"
    text.write_text("Version four of the notice.\n", encoding="utf-8")
    later = (datetime.now(UTC) + timedelta(days=14)).isoformat()
    shop.run(
        "notice",
        "add",
        "--id",
        "notice-messenger",
        "--version",
        "4",
        "--renews",
        "--valid-from",
        later,
        str(text),
    )
    assert shop.refused() == []
    due = json.loads(shop.run("consent", "due", "--within", "30", "--json").stdout)
    assert [(d["expired"], d["reason"]) for d in due] == [(False, "notice_renewed")]
    assert "renewal due in 14 days" in shop.run("consent", "due", "--within", "30").stdout
    clock.advance(timedelta(days=14, seconds=1))
    assert shop.refused() == ["consent_expired"]
