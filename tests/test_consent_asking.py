"""Asking for consent with a reply code and taking the answer (issue 16, items 2 and 3), on both backends.

Request -> confirm -> the contact enters the messenger book; request -> a webhook payload -> recorded once,
however often the payload comes; refused codes (unknown, used, expired, another sender) change nothing;
STOP withdraws; the vault and its log hold only keyed hashes of the codes. Each protecting mechanism (single
use, the message-id guard, the sender check, the expiry check, the signature check) has a test here that
fails when it is broken.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contactvault import (
    CodeRefused,
    Contact,
    KdfParams,
    NoticeError,
    Policy,
    Vault,
    WebhookError,
    changes,
    crypto,
    normalize_phone,
)
from contactvault.consent import code_hash, normalize_code
from contactvault.models import MessengerPresence
from contactvault.sync import messenger_book
from contactvault.vault import asking, log
from contactvault.vault.disclosures import Activity

FAST = KdfParams.insecure_fast_for_tests()
PASSPHRASE = "frag mich vorher"  # noqa: S105  (a test vault)
SECRET = "0123456789abcdef0123456789abcdef"  # noqa: S105  (a test app secret)
NUMBER = "+4915155501234"
OTHER = "+4915155509876"
NOW = datetime.now(UTC).replace(microsecond=0)


def person(name: str = "Anna Beispiel", number: str = NUMBER, *, presence: bool = True) -> Contact:
    """A contact with a mobile number that uses the messenger (checked yesterday), without consent."""
    phone = normalize_phone(number, default_region=None)
    if presence:
        checked = MessengerPresence(present=True, source="test", checked_at=NOW - timedelta(days=1))
        phone = phone.model_copy(update={"messenger": checked})
    return Contact(display_name=name, phones=(phone,))


@pytest.fixture
def vault(where: Path | str) -> Iterator[Vault]:
    """A vault on either backend with one stored privacy notice."""
    with Vault.create(where, PASSPHRASE, kdf=FAST) as opened:
        opened.add_notice("privacy", "2026-01", "We use your number for WhatsApp messages.", language="en")
        yield opened


def ask(vault: Vault, *ids: uuid.UUID, purpose: str = "messenger", **options: Any) -> list[Any]:
    fields: dict[str, Any] = {
        "purpose": purpose,
        "notice_id": "privacy",
        "notice_version": "2026-01",
        "channel": "messenger",
        "business": "Bäckerei Schmidt",
    }
    return vault.request_consent(ids, **(fields | options))


def in_book(vault: Vault, contact_id: uuid.UUID) -> bool:
    return any(e.phone_e164 == NUMBER for _, e in messenger_book(vault, Policy.default()).cards())


def state(vault: Vault, contact_id: uuid.UUID) -> tuple[int, int]:
    """What a refused step must leave as it was: the log's length and the contact's version."""
    return len(vault.activity()), vault.get(contact_id).version


def message(
    body: str, *, wamid: str = "wamid.A1", sender: str = NUMBER[1:], at: datetime = NOW
) -> dict[str, Any]:
    stamp = str(int(at.timestamp()))
    return {"from": sender, "id": wamid, "timestamp": stamp, "type": "text", "text": {"body": body}}


def payload(*messages: dict[str, Any]) -> bytes:
    value = {"messaging_product": "whatsapp", "metadata": {}, "messages": list(messages)}
    document = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(document).encode()


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# --- request -> confirm -----------------------------------------------------------------------------------


def test_request_then_confirm_enters_the_book(vault):
    anna = vault.add(person())
    assert not in_book(vault, anna)
    [request] = ask(vault, anna)
    assert request.contact_id == anna
    assert request.to == NUMBER
    assert request.code in request.message
    assert "Bäckerei Schmidt" in request.message
    assert "2026-01" in request.message
    assert request.expires_at == vault.activity()[-1].at + timedelta(days=14)

    replied = NOW - timedelta(minutes=3)
    contact = vault.confirm_consent(request.code, channel="messenger", evidence="chat", replied_at=replied)
    [consent] = contact.consents
    assert (consent.purpose, consent.notice_id, consent.notice_version) == ("messenger", "privacy", "2026-01")
    assert consent.granted_at == replied
    assert consent.channel == "messenger"
    assert consent.recorded_by == "owner"
    digest = code_hash(crypto.keyed_hash(vault._core.keys.log, b"consent-reply-code"), request.code).hex()
    assert f"log record {request.request}" in consent.evidence_ref
    assert digest in consent.evidence_ref
    assert replied.isoformat() in consent.evidence_ref
    assert consent.evidence_ref.endswith("; chat")
    record = vault.activity()[-1]
    assert isinstance(record, Activity)
    assert record.action == "consent"
    assert record.data == {
        "code": digest,
        "request": request.request,
        "replied_at": replied.isoformat(),
        "channel": "messenger",
    }
    assert in_book(vault, anna)


def test_the_request_record_holds_hashes_only(vault):
    anna, bernd = vault.add_many([person(), person("Bernd Müller", OTHER)])
    requests = ask(vault, anna, bernd, anna, language="de", ttl=timedelta(days=3), now=NOW)
    assert [r.contact_id for r in requests] == [anna, bernd]  # asked once each, in order
    assert "möchte Ihnen" in requests[0].message
    record = vault.activity()[-1]
    assert isinstance(record, Activity)
    assert (record.action, record.detail, record.by, record.at) == (
        "consent_request",
        "messenger",
        "owner",
        NOW,
    )
    key = crypto.keyed_hash(vault._core.keys.log, b"consent-reply-code")
    assert record.data == {
        "purpose": "messenger",
        "channel": "messenger",
        "notice_id": "privacy",
        "notice_version": "2026-01",
        "language": "de",
        "business": "Bäckerei Schmidt",
        "issued_at": NOW.isoformat(),
        "expires_at": (NOW + timedelta(days=3)).isoformat(),
        "codes": [
            {"code": code_hash(key, r.code).hex(), "contact": log.contact_hash(vault._core, r.contact_id)}
            for r in requests
        ],
    }
    text = json.dumps(record.data)
    for secret in (*(r.code for r in requests), str(anna), anna.hex, "Anna", NUMBER, NUMBER[1:]):
        assert secret not in text
    assert len({r.code for r in requests}) == 2


@pytest.mark.parametrize("backend", ["sqlite"])
def test_codes_never_reach_the_vault_file(vault, where):
    anna = vault.add(person())
    codes = [r.code for r in ask(vault, anna)] + [r.code for r in ask(vault, anna, purpose="news")]
    vault.confirm_consent(codes[0], channel="written")
    vault.take_webhook(
        payload(message(f"ja {codes[1]}")),
        signature=sign(payload(message(f"ja {codes[1]}"))),
        app_secret=SECRET,
    )
    assert len(vault.get(anna).consents) == 2
    vault.close()
    raw = b"".join(
        p.read_bytes() for p in Path(where).parent.iterdir() if p.name.startswith(Path(where).name)
    )
    for code in codes:
        tail = code.removeprefix("CV-")
        for form in (code, code.lower(), "CV" + tail, tail, tail.lower(), code.replace("-", " ")):
            for encoded in (form.encode(), form.encode("utf-16-le")):
                assert encoded not in raw


def test_a_request_names_a_stored_notice(vault):
    anna = vault.add(person())
    before = len(vault.activity())
    with pytest.raises(NoticeError):
        ask(vault, anna, notice_version="1999")
    assert len(vault.activity()) == before


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("purpose", "Not A Purpose"),
        ("channel", "pigeon"),
        ("language", "fr"),
        ("business", " "),
        ("ttl", timedelta(0)),
    ],
)
def test_bad_request_options_record_nothing(vault, option, value):
    anna = vault.add(person())
    before = len(vault.activity())
    with pytest.raises(ValueError, match=option.replace("language", "lang")):
        ask(vault, anna, **{option: value})
    assert len(vault.activity()) == before


def test_an_unknown_contact_records_nothing(vault):
    before = len(vault.activity())
    with pytest.raises(KeyError):
        ask(vault, uuid.uuid4())
    assert len(vault.activity()) == before


def test_no_contact_no_record(vault):
    before = len(vault.activity())
    assert ask(vault) == []
    assert len(vault.activity()) == before


# --- refused codes change nothing -------------------------------------------------------------------------


def test_unknown_code_is_refused(vault):
    anna = vault.add(person())
    [request] = ask(vault, anna)
    before = state(vault, anna)
    other = "CV-" + ("0" * 6 if request.code != "CV-000000" else "1" * 6)
    for code in (other, "not a code", ""):
        with pytest.raises(CodeRefused) as refused:
            vault.confirm_consent(code, channel="messenger")
        assert refused.value.reason == "unknown"
        assert request.code not in str(refused.value)
    assert state(vault, anna) == before


def test_used_code_is_refused(vault):
    anna = vault.add(person())
    [request] = ask(vault, anna)
    vault.confirm_consent(request.code, channel="messenger")
    before = state(vault, anna)
    with pytest.raises(CodeRefused, match=r"\(used\)") as refused:
        vault.confirm_consent(request.code.lower().replace("-", " "), channel="written")
    assert refused.value.reason == "used"
    assert state(vault, anna) == before


def test_expired_code_is_refused(vault):
    anna = vault.add(person())
    [request] = ask(vault, anna, ttl=timedelta(days=2), now=NOW - timedelta(days=3))
    before = state(vault, anna)
    with pytest.raises(CodeRefused, match=r"\(expired\)") as refused:
        vault.confirm_consent(request.code, channel="messenger")
    assert refused.value.reason == "expired"
    assert state(vault, anna) == before
    # a reply sent in time is taken, however late it is recorded
    replied = NOW - timedelta(days=2)
    assert (
        vault.confirm_consent(request.code, channel="messenger", replied_at=replied).consents[0].granted_at
        == replied
    )


def test_reply_from_another_number_is_refused(vault):
    anna = vault.add(person())
    [request] = ask(vault, anna)
    before = state(vault, anna)
    with pytest.raises(CodeRefused, match=r"\(sender\)") as refused:
        vault.confirm_consent(request.code, channel="messenger", sender=OTHER)
    assert refused.value.reason == "sender"
    assert OTHER not in str(refused.value)
    assert state(vault, anna) == before
    assert vault.confirm_consent(
        request.code, channel="messenger", sender=NUMBER[1:]
    ).consents  # WhatsApp's form


def test_code_of_an_erased_contact_is_unknown(vault):
    anna = vault.add(person())
    [request] = ask(vault, anna)
    vault.erase(anna)
    before = len(vault.activity())
    with pytest.raises(CodeRefused) as refused:
        vault.confirm_consent(request.code, channel="messenger")
    assert refused.value.reason == "unknown"
    assert len(vault.activity()) == before


def test_code_of_a_merged_contact_goes_to_the_merged_one(vault):
    anna, twin = vault.add_many([person(), person("A. Beispiel", OTHER)])
    [request] = ask(vault, twin)
    merged = vault.merge([anna, twin])
    assert vault.confirm_consent(request.code, channel="messenger").id == merged.id


def test_a_reply_in_the_future_is_a_value_error(vault):
    anna = vault.add(person())
    [request] = ask(vault, anna)
    with pytest.raises(ValueError, match="future"):
        vault.confirm_consent(request.code, channel="messenger", replied_at=NOW + timedelta(days=1))


def test_requests_survive_a_rekey(vault):
    anna = vault.add(person())
    [request] = ask(vault, anna)
    vault.rekey()
    assert vault.confirm_consent(request.code, channel="messenger").consents


# --- single use across threads ----------------------------------------------------------------------------


def test_two_threads_confirming_one_code_record_once(vault, monkeypatch):
    """Both threads pass the check before either writes (a barrier in the change): the guard decides.

    Without the guard inside the transaction both would record.
    """
    anna = vault.add(person())
    [request] = ask(vault, anna)
    barrier = threading.Barrier(2, timeout=60)
    waited = threading.local()
    real = changes.with_consent

    def meet(contact, consent):
        if not getattr(waited, "done", False):
            waited.done = True
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()
        return real(contact, consent)

    monkeypatch.setattr(changes, "with_consent", meet)
    outcomes: list[str] = []

    def confirm() -> None:
        try:
            vault.confirm_consent(request.code, channel="messenger")
            outcomes.append("recorded")
        except CodeRefused as refused:
            outcomes.append(refused.reason)

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["recorded", "used"]
    assert len(vault.get(anna).consents) == 1
    assert sum(1 for r in vault.activity() if isinstance(r, Activity) and r.action == "consent") == 1


# --- the webhook ------------------------------------------------------------------------------------------


def test_webhook_with_a_code_records_once_when_delivered_twice(vault):
    anna = vault.add(person())
    [request] = ask(vault, anna)
    sent = NOW - timedelta(minutes=1)
    body = payload(message(f"Ja gerne {request.code.lower()}", at=sent))
    first = vault.take_webhook(body, signature=sign(body), app_secret=SECRET)
    assert (first.messages, [(i.action, i.outcome, i.contact_id) for i in first.items]) == (
        1,
        [("consent", "recorded", anna)],
    )
    [consent] = vault.get(anna).consents
    assert (consent.channel, consent.granted_at) == ("messenger", sent)
    assert in_book(vault, anna)
    before = state(vault, anna)
    again = vault.take_webhook(body, signature=sign(body), app_secret=SECRET)
    assert [(i.action, i.outcome) for i in again.items] == [("consent", "duplicate")]
    assert state(vault, anna) == before
    assert again.recorded == 0


def test_webhook_with_a_wrong_signature_records_nothing(vault):
    anna = vault.add(person())
    [request] = ask(vault, anna)
    body = payload(message(request.code))
    before = state(vault, anna)
    for signature in (sign(body, "another secret"), sign(body + b" "), None, "sha256=" + "0" * 64):
        with pytest.raises(WebhookError):
            vault.take_webhook(body, signature=signature, app_secret=SECRET)
    with pytest.raises(ValueError, match="app secret"):
        vault.take_webhook(body, signature=sign(body))
    assert state(vault, anna) == before


def test_webhook_from_another_number_is_refused(vault):
    anna = vault.add(person())
    [request] = ask(vault, anna)
    body = payload(message(request.code, sender=OTHER[1:]))
    before = state(vault, anna)
    report = vault.take_webhook(body, signature=sign(body), app_secret=SECRET)
    assert [(i.outcome, i.reason) for i in report.items] == [("refused", "sender")]
    assert state(vault, anna) == before


def test_webhook_refusals_and_ignored_messages(vault):
    anna = vault.add(person())
    [old] = ask(vault, anna, ttl=timedelta(days=1), now=NOW - timedelta(days=2))
    body = payload(
        message(f"ja {old.code}", wamid="w1"),
        message("CV-000000 CV-111111", wamid="w2"),
        message("Hallo, wann haben Sie offen?", wamid="w3"),
        message("STOP", wamid="w4", sender=OTHER[1:]),
        message("STOP", wamid="w5"),
        message(old.code, wamid="w6", sender="not a number"),
    )
    report = vault.take_webhook(body)
    assert [(i.message, i.action, i.outcome, i.reason) for i in report.items] == [
        (0, "consent", "refused", "expired"),
        (1, "consent", "refused", "unknown"),
        (1, "consent", "refused", "unknown"),
        (2, "none", "ignored", "no_reply"),
        (3, "withdrawal", "ignored", "unknown_sender"),
        (4, "withdrawal", "ignored", "no_consent"),
        (5, "none", "ignored", "no_sender"),
    ]
    assert not vault.get(anna).consents
    assert (report.count("refused"), report.count("ignored"), report.recorded) == (3, 4, 0)


def test_stop_withdraws_once(vault):
    anna, other = vault.add_many([person(), person("Bernd Müller", OTHER)])
    for cid in (anna, other):
        [request] = ask(vault, cid)
        vault.confirm_consent(request.code, channel="messenger", replied_at=NOW - timedelta(hours=1))
    assert in_book(vault, anna)
    stop = payload(message("Stopp bitte", wamid="wamid.STOP"))
    report = vault.take_webhook(stop, signature=sign(stop), app_secret=SECRET)
    assert [(i.action, i.outcome, i.contact_id) for i in report.items] == [("withdrawal", "recorded", anna)]
    [consent] = vault.get(anna).consents
    assert (consent.withdrawn_at, consent.withdrawal_channel, consent.withdrawn_by) == (
        NOW,
        "messenger",
        "owner",
    )
    assert not in_book(vault, anna)
    assert not vault.get(other).consents[0].withdrawn
    record = vault.activity()[-1]
    assert isinstance(record, Activity)
    assert record.action == "withdrawal"
    assert set(record.data or {}) == {"message", "replied_at", "channel"}
    assert "wamid" not in json.dumps(record.data)
    # delivered again after a new consent (a paper form dated before the STOP, recorded later): still once
    vault.grant_consent(
        anna,
        consent.model_copy(
            update={
                "withdrawn_at": None,
                "withdrawal_channel": None,
                "withdrawn_by": None,
                "granted_at": NOW - timedelta(minutes=5),
            }
        ),
    )
    before = state(vault, anna)
    again = vault.take_webhook(stop, signature=sign(stop), app_secret=SECRET)
    assert [(i.action, i.outcome) for i in again.items] == [("withdrawal", "duplicate")]
    assert state(vault, anna) == before


def test_stop_spares_a_consent_given_after_it(vault):
    anna = vault.add(person())
    [request] = ask(vault, anna)
    vault.confirm_consent(request.code, channel="written", replied_at=NOW)
    stop = payload(message("STOP", at=NOW - timedelta(hours=1)))
    report = vault.take_webhook(stop)
    assert [(i.outcome, i.reason) for i in report.items] == [("ignored", "no_consent")]
    assert not vault.get(anna).consents[0].withdrawn


def test_one_message_one_record_per_contact_with_the_number(vault):
    """A number two contacts share: an opt-out withdraws both, each once."""
    first, second = vault.add_many([person(), person("Anna B.")])
    for cid in (first, second):
        [request] = ask(vault, cid)
        vault.confirm_consent(request.code, channel="messenger", replied_at=NOW - timedelta(hours=1))
    stop = payload(message("stop"))
    assert {(i.contact_id, i.outcome) for i in vault.take_webhook(stop).items} == {
        (first, "recorded"),
        (second, "recorded"),
    }
    assert {(i.contact_id, i.outcome) for i in vault.take_webhook(stop).items} == {
        (first, "duplicate"),
        (second, "duplicate"),
    }


# --- Hypothesis: junk as a body ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def junk_vault(tmp_path_factory) -> Iterator[tuple[Vault, str]]:
    with Vault.create(tmp_path_factory.mktemp("junk") / "v.db", PASSPHRASE, kdf=FAST) as opened:
        opened.add_notice("privacy", "2026-01", "Notice.", language="en")
        anna = opened.add(person())
        [request] = ask(opened, anna)
        yield opened, request.code


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=500) | _json.map(lambda v: json.dumps(v).encode()))
def test_junk_bodies_raise_only_webhook_error(junk_vault, body):
    vault, _ = junk_vault
    with contextlib.suppress(WebhookError):
        vault.take_webhook(body)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.dictionaries(st.sampled_from(["from", "id", "timestamp", "type", "text"]), _json, max_size=5),
    st.text(max_size=40),
    st.booleans(),
)
def test_junk_messages_raise_only_webhook_error(junk_vault, fields, text, with_code):
    """Random values in the fields and random text (with a real code or not): a report or WebhookError."""
    vault, code = junk_vault
    base = message(
        f"{text} {code}" if with_code else text,
        wamid=f"w{len(text)}",
        sender=NUMBER[1:] if with_code else "4915155500000",
    )
    try:
        report = vault.take_webhook(payload({**base, **fields}))
    except WebhookError:
        return
    for item in report.items:
        assert item.outcome in {"recorded", "duplicate", "refused", "ignored"}
    assert normalize_code(code) == code


def test_a_code_is_never_issued_twice(vault, monkeypatch):
    """A code drawn again (30 bits: it happens among many requests) is drawn anew: one code, one request."""
    anna, bernd = vault.add_many([person(), person("Bernd Müller", OTHER)])
    drawn = iter(["CV-AAAAAA", "CV-AAAAAA", "CV-BBBBBB"])
    monkeypatch.setattr("contactvault.consent.codes.new_code", lambda: next(drawn, "CV-CCCCCC"))
    [first] = ask(vault, anna)
    [second] = ask(vault, bernd)
    assert (first.code, second.code) == ("CV-AAAAAA", "CV-BBBBBB")
    assert vault.confirm_consent("CV-BBBBBB", channel="messenger").id == bernd


def test_a_code_issued_meanwhile_elsewhere_is_drawn_anew(vault, monkeypatch):
    """The uniqueness check runs again inside the write transaction, and a clash there is drawn anew.

    A code another process issued after this one looked (here: the first look sees an empty log).
    """
    anna, bernd = vault.add_many([person(), person("Bernd Müller", OTHER)])
    drawn = iter(["CV-AAAAAA", "CV-AAAAAA", "CV-AAAAAA", "CV-BBBBBB"])
    monkeypatch.setattr("contactvault.consent.codes.new_code", lambda: next(drawn, "CV-CCCCCC"))
    [first] = ask(vault, anna)
    real, looks = asking._issued, []

    def stale_first_look(records):
        looks.append(1)
        return {} if len(looks) == 1 else real(records)

    monkeypatch.setattr(asking, "_issued", stale_first_look)
    [second] = ask(vault, bernd)
    assert (first.code, second.code) == ("CV-AAAAAA", "CV-BBBBBB")


def test_a_request_shows_no_code_number_or_message_in_its_repr(vault):
    anna = vault.add(person())
    landline = vault.add(
        Contact(display_name="Carla", phones=(normalize_phone("+493012345678", default_region=None),))
    )
    first, second = ask(vault, anna, landline)
    assert (first.to, second.to) == (NUMBER, None)  # the message goes to a mobile number: none for a landline
    for text in (first.code, NUMBER, "Bäckerei"):
        assert text not in repr(first)
