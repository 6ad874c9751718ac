"""The phone side of the consent lifecycle (issue 16, item 6), end to end against a real Radicale server.

A vault's book is synced; then the vault changes (a withdrawal, an erasure, ...). The phone's address book
as it is before the next sync (the collection's cards, and the same cards as a vCard file) is audited and
flags the card with its code; the next sync removes the card from the server, and the disclosure log
records the removal; an audit after it is clean.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from contactvault import Contact, KdfParams, Vault, normalize_phone
from contactvault.audit import AuditReport, audit_phonebook
from contactvault.book import MessengerBook
from contactvault.models import MessengerPresence
from contactvault.retention.schedule import parse_schedule
from contactvault.sync import messenger_book, sync_book
from contactvault.sync.policy import Policy
from contactvault.sync.targets import CardDAVTarget
from tests.conftest import consent

if TYPE_CHECKING:
    import uuid

    from tests.radicale_server import RadicaleServer

pytest_plugins = ("tests.radicale_server",)  # the `radicale` fixture

FAST = KdfParams.insecure_fast_for_tests()
POLICY = Policy.default()
NAMES = ("Anna Beispiel", "Bernd Müller", "Çelik, Ayşe", "Zoë O'Brien")


def _number(i: int) -> str:
    return f"+491515550{1300 + i}"


def _contact(i: int) -> Contact:
    presence = MessengerPresence(
        present=True, source="manual", checked_at=datetime.now(UTC) - timedelta(days=1)
    )
    phone = normalize_phone(_number(i), default_region="DE").model_copy(update={"messenger": presence})
    return Contact(display_name=NAMES[i], phones=(phone,), consents=(consent(),))


@pytest.fixture
def vault(tmp_path):
    """A vault with four contacts the default policy allows."""
    with Vault.create(tmp_path / "v.db", "pw", kdf=FAST) as opened:
        opened.add_many(_contact(i) for i in range(len(NAMES)))
        yield opened


def _target(server: RadicaleServer) -> CardDAVTarget:
    return CardDAVTarget(server.url, server.username, server.password)


def _server_uids(target: CardDAVTarget) -> set[str]:
    """The UIDs of the cards the server holds, read back from the collection."""
    return {card.uid for card in target.plan(MessengerBook([])).remote}


def _phone_file(target: CardDAVTarget, path: Path) -> Path:
    """The phone's address book as a vCard file: the collection's cards, one after another."""
    path.write_bytes("".join(text for _, text in target.read_cards()).encode("utf-8"))
    return path


def _flagged(report: AuditReport) -> dict[str, tuple[str, ...]]:
    return {entry.display_name: entry.codes() for entry in report.flagged}


def _uid(vault: Vault, name: str) -> str:
    cid = next(e.id for e in vault if e.display_name == name)
    return vault.book_codes().uid(cid, _number(NAMES.index(name)))


def _leave_at_next_sync(
    vault: Vault, target: CardDAVTarget, folder: Path, change: Callable[[], object], flagged: dict[str, str]
) -> None:
    """After ``change``, the cards of ``flagged`` (name -> code) are flagged, then leave at the next sync.

    The phone's book before the sync (the collection, and its cards as a vCard file) flags each card with
    its code and nothing else; the next sync removes exactly those cards from the server (read back) and
    the log records the removals; the audit after it is clean.
    """
    uids = {_uid(vault, name) for name in flagged}
    assert uids <= _server_uids(target)
    change()

    phone = _phone_file(target, folder / f"phone-{len(vault.disclosures())}.vcf")
    for source in (target, phone):
        report = audit_phonebook(source, vault=vault, default_region="DE")
        assert _flagged(report) == {name: (code,) for name, code in flagged.items()}
        assert report.counts()["unknown_contact"] == 0

    result = sync_book(vault, messenger_book(vault, POLICY), target)
    assert set(result.deleted) == uids
    assert not uids & _server_uids(target)
    last = vault.disclosures()[-1]
    assert set(last.removed) == uids
    assert last.target == target.name
    assert audit_phonebook(target, vault=vault, default_region="DE").clean


def _synced(vault: Vault, target: CardDAVTarget) -> None:
    first = sync_book(vault, messenger_book(vault, POLICY), target)
    assert len(first.created) == len(NAMES)


def _id(vault: Vault, name: str) -> uuid.UUID:
    return next(e.id for e in vault if e.display_name == name)


def test_withdrawal_and_erasure_leave_the_phone_at_the_next_sync(vault, radicale, tmp_path):
    """(a) a withdrawal: consent_withdrawn; (b) an erasure: erased_contact (the vault keeps no number)."""
    with _target(radicale) as target:
        _synced(vault, target)
        anna, bernd = _id(vault, NAMES[0]), _id(vault, NAMES[1])
        _leave_at_next_sync(
            vault,
            target,
            tmp_path,
            lambda: vault.withdraw_consent(anna, "messenger", channel="email"),
            {NAMES[0]: "consent_withdrawn"},
        )
        _leave_at_next_sync(vault, target, tmp_path, lambda: vault.erase(bernd), {NAMES[1]: "erased_contact"})
        assert len(_server_uids(target)) == len(NAMES) - 2


def _opt_out_body(sender_e164: str, wamid: str) -> bytes:
    """A WhatsApp Cloud API webhook body: one text message "STOP" from ``sender_e164``, a minute ago."""
    sent = int(datetime.now(UTC).timestamp()) - 60
    sender = sender_e164.removeprefix("+")
    message = {"from": sender, "id": wamid, "timestamp": str(sent), "type": "text", "text": {"body": "STOP"}}
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Erika"}, "wa_id": sender}],
        "messages": [message],
    }
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(payload).encode()


def test_an_opt_out_reply_leaves_the_phone_at_the_next_sync(vault, radicale, tmp_path):
    """(c) "STOP" through the webhook (signed): consent_withdrawn with the detail opt_out, then gone."""
    secret = secrets.token_hex(16)
    body = _opt_out_body(_number(2), "wamid.phone-side-opt-out")
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    with _target(radicale) as target:
        _synced(vault, target)
        before = audit_phonebook(target, vault=vault, default_region="DE")
        assert before.clean

        def opt_out() -> None:
            report = vault.take_webhook(body, signature=signature, app_secret=secret)
            assert report.recorded == 1

        _leave_at_next_sync(vault, target, tmp_path, opt_out, {NAMES[2]: "consent_withdrawn"})
        # the audit of the phone's book before that sync, once more: the withdrawal was an opt-out reply
        stale = tmp_path / "phone-1.vcf"
        (finding,) = audit_phonebook(stale, vault=vault, default_region="DE").flagged[0].findings
        assert (finding.code, finding.detail) == ("consent_withdrawn", "opt_out")


SCHEDULE = """
version = 1

[[rules]]
name = "lapsed-erase"
action = "erase"
inactive_months = 0
contacts = { label = "lapsed" }

[[rules]]
name = "former-customer-strip"
action = "strip"
inactive_months = 0
keep = ["addresses", "labels"]
contacts = { label = "former" }
"""


def test_retention_apply_leaves_the_phone_at_the_next_sync(vault, radicale, tmp_path):
    """(d) retention apply: the erased contact's card is erased_contact, the stripped one's number_removed."""
    with _target(radicale) as target:
        _synced(vault, target)
        vault.add_label(_id(vault, NAMES[0]), "lapsed")
        vault.add_label(_id(vault, NAMES[3]), "former")
        assert sync_book(vault, messenger_book(vault, POLICY), target).deleted == ()
        vault.set_retention_schedule(parse_schedule(SCHEDULE))

        def apply() -> None:
            receipts = vault.apply_retention()
            assert sorted(r.item.action for r in receipts) == ["erase", "strip"]

        _leave_at_next_sync(
            vault, target, tmp_path, apply, {NAMES[0]: "erased_contact", NAMES[3]: "number_removed"}
        )
