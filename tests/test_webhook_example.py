"""docs/examples/whatsapp_webhook.py runs: FastAPI's test client against a real vault, on both backends.

A signed payload with a reply code records the consent (once, however often it comes); a wrong signature
gets 403 and records nothing; the set-up handshake echoes the challenge only for the right token.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest
from fastapi.testclient import TestClient

from contactvault import Contact, KdfParams, Vault, normalize_phone

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "examples" / "whatsapp_webhook.py"
PASSPHRASE = "frag mich vorher"  # noqa: S105  (a test vault)
SECRET = "0123456789abcdef0123456789abcdef"  # noqa: S105  (a test app secret)
TOKEN = "our-verify-token"  # noqa: S105  (a test token)
NUMBER = "+4915155501234"


def load() -> ModuleType:
    """The example as a module of its own (a fresh one each time: its app keeps the vault in its state)."""
    spec = importlib.util.spec_from_file_location("whatsapp_webhook", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def setting(where, tmp_path, monkeypatch) -> Iterator[tuple[Vault, str]]:
    """A vault with a notice, a contact and a request; the example's environment; the request's code."""
    secret_file = tmp_path / "passphrase.txt"
    secret_file.write_text(PASSPHRASE + "\n", encoding="utf-8")
    fast = KdfParams.insecure_fast_for_tests()
    with Vault.create(where, PASSPHRASE, kdf=fast) as vault:
        vault.add_notice("privacy", "2026-01", "Our privacy notice.", language="en")
        anna = vault.add(Contact(display_name="Anna", phones=(normalize_phone(NUMBER, default_region=None),)))
        [request] = vault.request_consent(
            [anna],
            purpose="messenger",
            notice_id="privacy",
            notice_version="2026-01",
            channel="messenger",
            business="Bäckerei Schmidt",
        )
    monkeypatch.setenv("CONTACTVAULT_VAULT", str(where))
    monkeypatch.setenv("CONTACTVAULT_PASSPHRASE_FILE", str(secret_file))
    monkeypatch.setenv("WHATSAPP_APP_SECRET", SECRET)
    monkeypatch.setenv("WHATSAPP_VERIFY_TOKEN", TOKEN)
    monkeypatch.delitem(sys.modules, "whatsapp_webhook", raising=False)
    with Vault.open(where, PASSPHRASE) as reader:
        yield reader, request.code


def payload(code: str) -> bytes:
    message = {
        "from": NUMBER[1:],
        "id": "wamid.HBgNNDkxNTE1NTUwMTIzNBUCABIYFjNFQjA=",
        "timestamp": str(int((datetime.now(UTC) - timedelta(minutes=1)).timestamp())),
        "type": "text",
        "text": {"body": f"Ja, {code}"},
    }
    value = {"messaging_product": "whatsapp", "metadata": {}, "messages": [message]}
    entry = {"id": "1", "changes": [{"field": "messages", "value": value}]}
    return json.dumps({"object": "whatsapp_business_account", "entry": [entry]}).encode()


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


def consents(vault: Vault) -> int:
    return sum(len(contact.consents) for contact in vault.contacts())


def test_a_signed_reply_records_the_consent_once(setting):
    vault, code = setting
    body = payload(code)
    with TestClient(load().app) as client:
        first = client.post("/whatsapp", content=body, headers=signed(body))
        again = client.post("/whatsapp", content=body, headers=signed(body))
    assert (first.status_code, first.json()) == (200, {"messages": 1, "recorded": 1})
    assert (again.status_code, again.json()) == (200, {"messages": 1, "recorded": 0})
    assert consents(vault) == 1


def test_a_wrong_signature_gets_403_and_records_nothing(setting):
    vault, code = setting
    body = payload(code)
    with TestClient(load().app) as client:
        for headers in (signed(body, "another secret"), signed(body + b" "), {}):
            assert client.post("/whatsapp", content=body, headers=headers).status_code == 403
        assert client.post("/whatsapp", content=b"{}", headers=signed(b"{}")).status_code == 403
    assert consents(vault) == 0


def test_the_handshake_echoes_the_challenge_for_our_token(setting):
    with TestClient(load().app) as client:
        query = {"hub.mode": "subscribe", "hub.verify_token": TOKEN, "hub.challenge": "1158201444"}
        answer = client.get("/whatsapp", params=query)
        assert (answer.status_code, answer.text) == (200, "1158201444")
        assert client.get("/whatsapp", params={**query, "hub.verify_token": "guess"}).status_code == 403
