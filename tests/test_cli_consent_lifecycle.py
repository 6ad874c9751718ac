"""The consent lifecycle on the command line, end to end against a real Radicale server (issue 16).

One business, two customers on WhatsApp: Anna consented, Bert did not yet. `notice add`, `consent
request --missing` asks Bert; the phone syncs (Anna's card); the messenger's webhook delivers Bert's
reply with his code and a STOP from Anna, signed, twice; the next `sync carddav` puts Bert's card up and
takes Anna's down, read back from the server; `contactvault log` shows each step by the user who did it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner, Result

from contactvault import Contact, KdfParams, Vault, normalize_phone
from contactvault.cli import main
from contactvault.models import MessengerPresence
from contactvault.sync.targets import CardDAVTarget
from tests.conftest import consent

if TYPE_CHECKING:
    from tests.radicale_server import RadicaleServer

pytest_plugins = ("tests.radicale_server",)  # the `radicale` fixture

FAST = KdfParams.insecure_fast_for_tests()
PASSPHRASE = "ein langer Satz für den Tresor"  # noqa: S105  (a test vault)
SECRET = "whatsapp-app-secret-for-tests"  # noqa: S105  (a test app secret)
ANNA, BERT = "+4915155507001", "+4915155507002"


def _customer(name: str, number: str, **fields: Any) -> Contact:
    presence = MessengerPresence(
        present=True, source="test", checked_at=datetime.now(UTC) - timedelta(days=1)
    )
    phone = normalize_phone(number, default_region=None).model_copy(update={"messenger": presence})
    return Contact(display_name=name, phones=(phone,), **fields)


class Shop:
    """The shop's vault file, passphrase file and the options every command takes."""

    def __init__(self, tmp_path: Path, radicale: RadicaleServer) -> None:
        self.vault = tmp_path / "shop.db"
        with Vault.create(self.vault, PASSPHRASE, kdf=FAST):
            pass
        (tmp_path / "pw").write_text(PASSPHRASE + "\n", encoding="utf-8")
        (tmp_path / "dav").write_text(radicale.password + "\n", encoding="utf-8")
        (tmp_path / "secret").write_text(SECRET + "\n", encoding="utf-8")
        self.tmp = tmp_path
        self.options = ["--vault", str(self.vault), "--passphrase-file", str(tmp_path / "pw")]
        self.radicale = radicale

    def run(self, *args: str) -> Result:
        """Run ``contactvault ARGS`` on the shop's vault; never a traceback."""
        result = CliRunner().invoke(main, [*args, *self.options])
        assert "Traceback" not in result.output
        return result

    def sync(self) -> dict[str, Any]:
        """``sync carddav`` to the Radicale server; its JSON."""
        server = self.radicale
        result = self.run(
            "sync", "carddav", server.url, "--username", server.username,
            "--password-file", str(self.tmp / "dav"), "--json",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        return dict(json.loads(result.output))

    def server_numbers(self) -> set[str]:
        """The numbers on the server's cards, read back from the collection."""
        server = self.radicale
        target = CardDAVTarget(server.url, server.username, server.password)
        return {
            line.split(":", 1)[1]
            for _, text in target.read_cards()
            for line in text.splitlines()
            if line.startswith("TEL")
        }

    def inbox(self, body: bytes, signature: str) -> Result:
        """``consent inbox`` of ``body`` (saved to a file) with the app secret and ``signature``."""
        path = self.tmp / "body.json"
        path.write_bytes(body)
        return self.run(
            "consent", "inbox", str(path), "--app-secret-file", str(self.tmp / "secret"),
            "--signature", signature, "--json",
        )  # fmt: skip


def _webhook(*messages: tuple[str, str, str]) -> tuple[bytes, str]:
    """A WhatsApp Business Platform body with ``(id, sender, text)`` messages, and its signature header."""
    stamp = str(int(datetime.now(UTC).timestamp()))
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "4930000000", "phone_number_id": "1"},
        "messages": [
            {"from": sender, "id": wamid, "timestamp": stamp, "type": "text", "text": {"body": text}}
            for wamid, sender, text in messages
        ],
    }
    body = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
        }
    ).encode("utf-8")
    return body, "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture
def shop(tmp_path, radicale) -> Shop:
    made = Shop(tmp_path, radicale)
    notice = tmp_path / "notice.txt"
    notice.write_text("Wir schreiben Ihnen per WhatsApp zu Ihrer Bestellung.\n", encoding="utf-8")
    added = made.run(
        "notice", "add", "--id", "whatsapp", "--version", "2026-01", "--language", "de", str(notice)
    )
    assert added.exit_code == 0, added.output
    with Vault.open(made.vault, PASSPHRASE) as vault:
        anna_consent = consent(notice_id="whatsapp", notice_version="2026-01")
        vault.add_many([_customer("Anna Alt", ANNA, consents=(anna_consent,)), _customer("Bert Neu", BERT)])
    return made


def test_ask_reply_stop_and_the_phone_follows(shop):
    """Request -> a signed webhook body with the code and a STOP, twice -> the next sync moves both cards."""
    asked = shop.run(
        "consent", "request", "--purpose", "messenger", "--notice-id", "whatsapp",
        "--notice-version", "2026-01", "--channel", "messenger", "--business", "Blumen Berger",
        "--lang", "de", "--missing", "--format", "json",
    )  # fmt: skip
    assert asked.exit_code == 0, asked.output
    (request,) = json.loads(asked.stdout)
    assert request["to"] == BERT  # Anna consented already: only Bert is asked
    first = shop.sync()
    assert (len(first["created"]) if isinstance(first["created"], list) else first["created"]) == 1
    assert shop.server_numbers() == {ANNA}

    body, signature = _webhook(
        ("wamid.1", BERT[1:], f"ja {request['code'].lower()}"), ("wamid.2", ANNA[1:], "STOP")
    )
    taken = json.loads(shop.inbox(body, signature).output)
    assert (taken["recorded"], taken["duplicate"]) == (2, 0)
    again = json.loads(shop.inbox(body, signature).output)  # delivered twice, as webhooks are
    assert (again["recorded"], again["duplicate"]) == (0, 2)
    forged = shop.inbox(body, "sha256=" + "0" * 64)
    assert forged.exit_code == 5

    shop.sync()
    assert shop.server_numbers() == {BERT}  # Bert's card is up, Anna's is gone
    log = json.loads(shop.run("log", "--json").output)
    actions = [r.get("action", r.get("kind")) for r in log]
    assert actions.count("consent") == 1
    assert actions.count("withdrawal") == 1
    assert {"notice", "consent_request", "sync"} <= set(actions)
    with Vault.open(shop.vault, PASSPHRASE) as vault:
        bert = vault.find_by_phone(BERT)[0]
        (given,) = bert.consents
        assert (given.notice_id, given.notice_version, given.channel) == ("whatsapp", "2026-01", "messenger")
        anna = vault.find_by_phone(ANNA)[0]
        assert anna.consents[0].withdrawn_at is not None
        assert anna.consents[0].withdrawal_channel == "messenger"
