"""`contactvault consent request`, `consent confirm` and `consent inbox`, end to end, on both backends.

request -> confirm -> the contact enters the messenger book; request -> a webhook payload -> recorded once
even when it arrives twice, refused when the signature is wrong or the sender's number is another; STOP
withdraws; unknown, used and expired codes are refused, name their reason, and change nothing.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from contactvault import Contact, KdfParams, Policy, Vault, normalize_phone
from contactvault.cli import main
from contactvault.models import MessengerPresence
from contactvault.sync import messenger_book
from tests.conftest import consent

FAST = KdfParams.insecure_fast_for_tests()
PASSPHRASE = "frag mich vorher"  # noqa: S105  (a test vault)
SECRET = "0123456789abcdef0123456789abcdef"  # noqa: S105  (a test app secret)
NOW = datetime.now(UTC).replace(microsecond=0)
ANNA, BERND, CARLA, DORA = "+4915155501234", "+4915155502345", "+493012345678", "+4915155504567"
REQUEST = [
    "consent",
    "request",
    "--purpose",
    "messenger",
    "--notice-id",
    "privacy",
    "--notice-version",
    "2026-01",
    "--channel",
    "messenger",
    "--business",
    "Bäckerei Schmidt",
]


def person(name: str, number: str, **fields: Any) -> Contact:
    phone = normalize_phone(number, default_region=None)
    checked = MessengerPresence(present=True, source="test", checked_at=NOW - timedelta(days=1))
    return Contact(display_name=name, phones=(phone.model_copy(update={"messenger": checked}),), **fields)


class Setup:
    """Four customers: Anna (no consent), Bernd (withdrew), Carla (a landline), Dora (an old consent)."""

    def __init__(self, where: Path | str, tmp_path: Path) -> None:
        self.where = where
        self.passphrase_file = tmp_path / "passphrase.txt"
        self.passphrase_file.write_text(PASSPHRASE + "\n", encoding="utf-8")
        withdrawn = consent(
            granted_at=NOW - timedelta(days=100),
            withdrawn_at=NOW - timedelta(days=10),
            withdrawal_channel="phone",
        )
        with Vault.create(where, PASSPHRASE, kdf=FAST) as vault:
            vault.add_notice("privacy", "2026-01", "We use your number for WhatsApp.", language="de")
            label = {"labels": ({"name": "Kunden"},)}
            self.anna, self.bernd, self.carla, self.dora = vault.add_many(
                [
                    person("Anna Beispiel", ANNA, **label),
                    person("Bernd Müller", BERND, consents=(withdrawn,), **label),
                    person("Carla Fest", CARLA, **label),
                    person("Dora Alt", DORA, consents=(consent(granted_at=NOW - timedelta(days=700)),)),
                ]
            )

    @property
    def options(self) -> list[str]:
        """The options that open the vault."""
        return ["--vault", str(self.where), "--passphrase-file", str(self.passphrase_file)]

    def run(self, *args: str, input: bytes | str | None = None, env: dict[str, str] | None = None) -> Result:
        """``contactvault ARGS`` on this vault."""
        result = CliRunner(env=env).invoke(main, [*args, *self.options], input=input)
        assert "Traceback" not in result.output
        return result

    def vault(self) -> Vault:
        """The vault, opened."""
        return Vault.open(self.where, PASSPHRASE)

    def snapshot(self) -> tuple[int, list[int]]:
        """What a refused step leaves as it was: the log's length and every contact's version."""
        with self.vault() as vault:
            return len(vault.activity()), [entry.version for entry in vault]


@pytest.fixture
def setup(where, tmp_path) -> Setup:
    return Setup(where, tmp_path)


def in_book(setup: Setup, number: str) -> bool:
    with setup.vault() as vault:
        return any(e.phone_e164 == number for _, e in messenger_book(vault, Policy.default()).cards())


def requested(setup: Setup, *selection: str, style: str = "json") -> tuple[Result, Any]:
    result = setup.run(*REQUEST, *selection, "--format", style)
    assert result.exit_code == 0, result.output
    return result, json.loads(result.stdout) if style == "json" else result.stdout


# --- consent request --------------------------------------------------------------------------------------


def test_request_by_label_skips_who_said_no_and_who_has_no_mobile(setup):
    result, rows = requested(setup, "--label", "kunden")
    [row] = rows
    assert set(row) == {"contact", "to", "code", "expires_at", "message"}
    assert (row["contact"], row["to"]) == (setup.anna.hex[:8], ANNA)
    assert row["code"] in row["message"]
    assert "Bäckerei Schmidt" in row["message"]
    assert datetime.fromisoformat(row["expires_at"]) - NOW >= timedelta(days=13)
    assert "Asked 1 contact" in result.stderr
    assert "skipped 1 without a mobile number, 1 who withdrew, objected or are restricted" in result.stderr
    assert "shown this once" in result.stderr


def test_request_missing_and_expiring(setup):
    _, rows = requested(setup, "--missing")
    assert [row["contact"] for row in rows] == [setup.anna.hex[:8]]  # Bernd withdrew, Carla has a landline
    _, rows = requested(setup, "--expiring", "60", "--refresh", "730")
    assert [row["contact"] for row in rows] == [setup.dora.hex[:8]]
    _, rows = requested(setup, "--expiring", "10", "--refresh", "730")
    assert rows == []
    _, rows = requested(setup, "--missing", "--expiring", "60", "--refresh", "730")
    assert {row["contact"] for row in rows} == {setup.anna.hex[:8], setup.dora.hex[:8]}
    _, rows = requested(setup, "--missing", "--label", "nobody")
    assert rows == []


def test_expiring_takes_the_stored_refresh_period(setup):
    result = setup.run(*REQUEST, "--expiring", "60")
    assert result.exit_code == 2
    assert "--refresh" in result.output
    with setup.vault() as vault:
        vault.set_consent_refresh("messenger", timedelta(days=730))
    _, rows = requested(setup, "--expiring", "60")
    assert [row["contact"] for row in rows] == [setup.dora.hex[:8]]


def test_request_by_contact_and_formats(setup):
    _, text = requested(
        setup, "--contact", ANNA, "--contact", setup.dora.hex[:8], "--lang", "de", style="text"
    )
    lines = text.splitlines()
    assert len(lines) == 4
    assert lines[0].startswith(f"{setup.anna.hex[:8]}  {ANNA}  CV-")
    assert "möchte Ihnen" in lines[1]
    _, text = requested(setup, "--contact", ANNA, style="csv")
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert (row["contact"], row["to"]) == (setup.anna.hex[:8], ANNA)
    assert row["code"] in row["message"]


def test_a_business_name_a_spreadsheet_would_run_is_quoted(setup):
    args = [a if a != "Bäckerei Schmidt" else "=Bäckerei" for a in REQUEST]
    result = setup.run(*args, "--contact", ANNA, "--format", "csv")
    assert result.exit_code == 0, result.output
    [row] = list(csv.DictReader(io.StringIO(result.stdout)))
    assert row["message"].startswith("'=Bäckerei")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "choose whom to ask"),
        (["--missing", "--notice-version", "1999"], "not stored"),
        (["--missing", "--business", " "], "business is empty"),
        (["--missing", "--purpose", "Not Valid"], "purpose"),
    ],
)
def test_bad_requests_are_one_line_and_record_nothing(setup, args, message):
    before = setup.snapshot()
    result = setup.run(*REQUEST, *args)
    assert result.exit_code == 2
    assert message in result.output
    assert setup.snapshot() == before


# --- consent confirm --------------------------------------------------------------------------------------


def test_request_confirm_enters_the_book(setup):
    assert not in_book(setup, ANNA)
    _, [row] = requested(setup, "--contact", ANNA)
    result = setup.run(
        "consent", "confirm", row["code"].lower(), "--channel", "messenger", "--evidence", "WhatsApp chat"
    )
    assert result.exit_code == 0, result.output
    assert result.output == f"{setup.anna.hex[:8]}: consent for messenger recorded (reply code, messenger)\n"
    assert in_book(setup, ANNA)
    with setup.vault() as vault:
        [recorded] = vault.get(setup.anna).consents
    assert (recorded.notice_id, recorded.notice_version, recorded.channel) == (
        "privacy",
        "2026-01",
        "messenger",
    )
    assert recorded.evidence_ref.endswith("; WhatsApp chat")


def test_used_unknown_and_expired_codes_are_refused(setup):
    _, [row] = requested(setup, "--contact", ANNA)
    code = row["code"]
    assert setup.run("consent", "confirm", code, "--channel", "written", "--json").exit_code == 0
    with setup.vault() as vault:
        [old] = vault.request_consent(
            [setup.dora],
            purpose="messenger",
            notice_id="privacy",
            notice_version="2026-01",
            channel="phone",
            business="B",
            ttl=timedelta(days=1),
            now=NOW - timedelta(days=2),
        )
    before = setup.snapshot()
    unknown = "CV-000000" if code != "CV-000000" else "CV-111111"
    for given, reason in ((code, "used"), (unknown, "unknown"), ("hello", "unknown"), (old.code, "expired")):
        result = setup.run("consent", "confirm", given, "--channel", "written")
        assert result.exit_code == 2
        assert f"reply code refused ({reason})" in result.output
        assert given not in result.output
        assert len(result.output.strip().splitlines()) == 1
    result = setup.run(
        "consent", "confirm", old.code, "--channel", "written", "--at", (NOW - timedelta(days=2)).isoformat()
    )
    assert setup.snapshot()[0] == before[0] + 1  # a reply in time, typed in late, is taken
    assert result.exit_code == 0


def test_confirm_from_another_number_is_refused(setup):
    _, [row] = requested(setup, "--contact", ANNA)
    before = setup.snapshot()
    result = setup.run("consent", "confirm", row["code"], "--channel", "phone", "--from", DORA)
    assert result.exit_code == 2
    assert "(sender)" in result.output
    assert DORA not in result.output
    assert setup.snapshot() == before


def test_confirm_at_in_the_future_is_a_usage_error(setup):
    _, [row] = requested(setup, "--contact", ANNA)
    result = setup.run(
        "consent", "confirm", row["code"], "--channel", "phone", "--at", "2999-01-01T00:00:00Z"
    )
    assert result.exit_code == 2
    assert "future" in result.output


# --- consent inbox ----------------------------------------------------------------------------------------


def body(text: str, *, wamid: str = "wamid.A1", sender: str = ANNA) -> bytes:
    message = {
        "from": sender.removeprefix("+"),
        "id": wamid,
        "timestamp": str(int(NOW.timestamp())),
        "type": "text",
        "text": {"body": text},
    }
    value = {"messaging_product": "whatsapp", "metadata": {}, "messages": [message]}
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(payload).encode()


def sign(data: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def test_inbox_records_a_code_once(setup, tmp_path):
    _, [row] = requested(setup, "--contact", ANNA)
    data = body(f"Ja {row['code']}")
    saved = tmp_path / "call.json"
    saved.write_bytes(data)
    env = {"CONTACTVAULT_WEBHOOK_SECRET": SECRET}
    first = setup.run("consent", "inbox", str(saved), "--signature", sign(data), env=env)
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines() == [
        f"message 1: consent recorded [{setup.anna.hex[:8]}]",
        "1 message: 1 recorded, 0 duplicate, 0 refused, 0 ignored",
    ]
    assert in_book(setup, ANNA)
    before = setup.snapshot()
    again = setup.run("consent", "inbox", "-", "--signature", sign(data), "--json", input=data, env=env)
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == {
        "messages": 1,
        "recorded": 0,
        "duplicate": 1,
        "refused": 0,
        "ignored": 0,
        "items": [
            {"message": 1, "action": "consent", "outcome": "duplicate", "reason": None, "contact": None}
        ],
    }
    assert setup.snapshot() == before
    for output in (first.output, again.output):
        assert row["code"] not in output
        assert ANNA not in output
        assert ANNA[1:] not in output


def test_inbox_with_a_wrong_signature_changes_nothing(setup, tmp_path):
    _, [row] = requested(setup, "--contact", ANNA)
    data = body(row["code"])
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(SECRET + "\n", encoding="utf-8")
    before = setup.snapshot()
    for signature in (sign(data, "another secret"), sign(data + b"\n")):
        result = setup.run(
            "consent",
            "inbox",
            "-",
            "--app-secret-file",
            str(secret_file),
            "--signature",
            signature,
            input=data,
        )
        assert result.exit_code == 5
        assert "wrong X-Hub-Signature-256 signature" in result.output
    unsigned = setup.run("consent", "inbox", "-", "--app-secret-file", str(secret_file), input=data)
    assert unsigned.exit_code == 5
    assert setup.snapshot() == before
    no_secret = setup.run("consent", "inbox", "-", "--signature", sign(data), input=data)
    assert no_secret.exit_code == 2
    assert "--app-secret-file" in no_secret.output


def test_inbox_from_another_number_and_junk(setup):
    _, [row] = requested(setup, "--contact", ANNA)
    before = setup.snapshot()
    result = setup.run("consent", "inbox", "-", input=body(row["code"], sender=DORA))
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "message 1: consent refused (sender)"
    assert setup.snapshot() == before
    junk = setup.run("consent", "inbox", "-", input=b"{not json")
    assert junk.exit_code == 5
    missing = setup.run("consent", "inbox", str(uuid.uuid4()) + ".json")
    assert missing.exit_code == 5
    assert setup.snapshot() == before


def test_inbox_stop_withdraws(setup):
    _, [row] = requested(setup, "--contact", ANNA)
    assert (
        setup.run(
            "consent",
            "confirm",
            row["code"],
            "--channel",
            "messenger",
            "--at",
            (NOW - timedelta(hours=1)).isoformat(),
        ).exit_code
        == 0
    )
    assert in_book(setup, ANNA)
    result = setup.run("consent", "inbox", "-", input=body("STOPP", wamid="wamid.S"))
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == f"message 1: withdrawal recorded [{setup.anna.hex[:8]}]"
    assert not in_book(setup, ANNA)
    again = setup.run("consent", "inbox", "-", input=body("STOPP", wamid="wamid.S"))
    assert again.stdout.splitlines()[0] == f"message 1: withdrawal duplicate [{setup.anna.hex[:8]}]"


def test_restricted_and_objecting_contacts_are_not_asked(setup):
    with setup.vault() as vault:
        vault.restrict(setup.anna)
        vault.object(setup.dora, "messenger")
    result, rows = requested(setup, "--contact", ANNA, "--contact", DORA)
    assert rows == []
    assert "2 who withdrew, objected or are restricted" in result.stderr
