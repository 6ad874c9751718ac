"""Answers from the messenger's webhooks (issue 16, item 3): signature, payload, classification; no network.

The payloads are built from the documented shape of the WhatsApp Cloud API "messages" webhook.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contactvault import ContactVaultError
from contactvault.cli._errors import _ERRORS, EXIT_BAD_INPUT
from contactvault.consent import InboundMessage, classify, parse_payload, verify_signature
from contactvault.consent.webhook import MAX_BODY_BYTES, OPT_OUT_WORDS
from contactvault.errors import WebhookError

SECRET = "0123456789abcdef0123456789abcdef"  # noqa: S105  (a test app secret)
SENDER = "4915155501234"  # a German mobile number from the range set aside for fiction


def _text(body: str, *, wamid: str = "wamid.HBgNNDkxNTE1NTUwMTIzNBUCABIYFjNFQjA=", sender: str = SENDER):
    return {"from": sender, "id": wamid, "timestamp": "1733490000", "type": "text", "text": {"body": body}}


def _payload(*messages: dict[str, Any], statuses: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
    }
    if messages:
        value["contacts"] = [{"profile": {"name": "Erika"}, "wa_id": messages[0]["from"]}]
        value["messages"] = list(messages)
    if statuses is not None:
        value["statuses"] = statuses
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}],
    }


def _body(payload: object) -> bytes:
    return json.dumps(payload).encode()


def _sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# -- signature ------------------------------------------------------------------------------------------


def test_right_signature_passes():
    """The HMAC-SHA256 of the raw body with the app secret is accepted, as str or bytes secret."""
    body = _body(_payload(_text("JA CV-7K3Q9M")))
    verify_signature(body, _sign(body), SECRET)
    verify_signature(body, _sign(body), SECRET.encode())
    verify_signature(body, _sign(body).upper().replace("SHA256=", "sha256="), SECRET)  # upper-case hex


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "no X-Hub-Signature-256"),
        ("", "malformed"),
        ("sha256=", "malformed"),
        ("sha1=" + "0" * 40, "malformed"),
        ("sha256=" + "z" * 64, "malformed"),
        ("sha256=" + "0" * 63, "malformed"),
        ("0" * 64, "malformed"),
        ("sha256=" + "0" * 64, "wrong"),
    ],
)
def test_missing_malformed_or_wrong_signature_is_refused(header, reason):
    """Anything but the right signature is a WebhookError that never shows the header."""
    body = _body(_payload(_text("JA CV-7K3Q9M")))
    with pytest.raises(WebhookError, match=reason) as caught:
        verify_signature(body, header, SECRET)
    assert "0" * 40 not in str(caught.value)


def test_signature_with_another_secret_or_of_another_body_is_refused():
    """Another app's secret, or a body changed after signing (one byte, or re-serialised JSON), fails."""
    body = _body(_payload(_text("JA CV-7K3Q9M")))
    with pytest.raises(WebhookError, match="wrong"):
        verify_signature(body, _sign(body, "another secret"), SECRET)
    with pytest.raises(WebhookError, match="wrong"):
        verify_signature(body.replace(b"7K3Q9M", b"7K3Q9N"), _sign(body), SECRET)
    with pytest.raises(WebhookError, match="wrong"):
        verify_signature(json.dumps(json.loads(body), indent=1).encode(), _sign(body), SECRET)


def test_empty_secret_is_a_configuration_error():
    """No secret is not a bad request but a mistake in the set-up."""
    with pytest.raises(ValueError, match="app secret is empty") as caught:
        verify_signature(b"{}", _sign(b"{}"), "")
    assert not isinstance(caught.value, WebhookError)


def test_webhook_error_is_bad_input_on_the_command_line():
    """A WebhookError is a ContactVaultError and a ValueError, and the CLI ends with the bad-input code."""
    assert issubclass(WebhookError, ContactVaultError)
    assert issubclass(WebhookError, ValueError)
    error = WebhookError("x")
    assert next(code for kind, code in _ERRORS if isinstance(error, kind)) == EXIT_BAD_INPUT


# -- payloads -------------------------------------------------------------------------------------------


def test_documented_text_message():
    """The documented example: one text message, its id, sender in E.164, time in UTC, text and kind."""
    [message] = parse_payload(_body(_payload(_text("JA CV-7K3Q9M"))))
    assert message == InboundMessage(
        message_id="wamid.HBgNNDkxNTE1NTUwMTIzNBUCABIYFjNFQjA=",
        sender_e164="+4915155501234",
        at=datetime(2024, 12, 6, 13, 0, tzinfo=UTC),
        text="JA CV-7K3Q9M",
        kind="text",
    )
    assert message.skipped is None


def test_two_messages_in_order():
    """Several messages (and several entries and changes) come back in the payload's order."""
    payload = _payload(
        _text("ja cv 7k3q9m", wamid="wamid.A"), _text("STOP", wamid="wamid.B", sender="4930901820")
    )
    second = _payload(_text("danke", wamid="wamid.C"))
    payload["entry"].append(second["entry"][0])
    messages = parse_payload(_body(payload))
    assert [m.message_id for m in messages] == ["wamid.A", "wamid.B", "wamid.C"]
    assert [m.sender_e164 for m in messages] == ["+4915155501234", "+4930901820", "+4915155501234"]


def test_statuses_only_payload_has_no_messages():
    """A delivery or read receipt is ignored."""
    status = {"id": "wamid.X", "status": "read", "timestamp": "1733490001", "recipient_id": SENDER}
    assert parse_payload(_body(_payload(statuses=[status]))) == []


def test_other_fields_are_ignored():
    """A change of another field (an account or template update) is not read, whatever it holds."""
    payload = _payload(_text("CV-7K3Q9M"))
    payload["entry"][0]["changes"].insert(0, {"field": "account_update", "value": ["anything", 1e300]})
    assert [m.text for m in parse_payload(_body(payload))] == ["CV-7K3Q9M"]


def test_non_text_messages():
    """An image has no text; a reply button, a list row and a template button give their visible text."""
    image = {
        "from": SENDER,
        "id": "wamid.I",
        "timestamp": "1733490000",
        "type": "image",
        "image": {"caption": "CV-7K3Q9M", "mime_type": "image/jpeg", "id": "2754859441498128"},
    }
    button_reply = {
        "context": {"from": "15550783881", "id": "wamid.ASK"},
        "from": SENDER,
        "id": "wamid.BR",
        "timestamp": "1733490000",
        "type": "interactive",
        "interactive": {"type": "button_reply", "button_reply": {"id": "yes", "title": "Ja CV-7K3Q9M"}},
    }
    list_reply = {
        "from": SENDER,
        "id": "wamid.LR",
        "timestamp": "1733490000",
        "type": "interactive",
        "interactive": {
            "type": "list_reply",
            "list_reply": {"id": "r1", "title": "Stopp", "description": "x"},
        },
    }
    template_button = {
        "from": SENDER,
        "id": "wamid.TB",
        "timestamp": "1733490000",
        "type": "button",
        "button": {"payload": "opt_in", "text": "Abmelden"},
    }
    messages = parse_payload(_body(_payload(image, button_reply, list_reply, template_button)))
    assert [(m.kind, m.text) for m in messages] == [
        ("other", ""),
        ("interactive", "Ja CV-7K3Q9M"),
        ("interactive", "Stopp"),
        ("button", "Abmelden"),
    ]
    assert [classify(m).kind for m in messages] == ["none", "codes", "opt_out", "opt_out"]


def test_the_same_payload_twice_gives_the_same_messages():
    """Webhooks come at least once: the caller records each message id once, and the ids are stable."""
    body = _body(_payload(_text("CV-7K3Q9M", wamid="wamid.A"), _text("CV-22222Z", wamid="wamid.B")))
    first = parse_payload(body)
    again = parse_payload(bytes(body))
    assert first == again
    assert [m.message_id for m in first] == ["wamid.A", "wamid.B"]


@pytest.mark.parametrize("sender", ["0", "12", "999999999999999", "49abc", "+", " ", "4915155501234567890"])
def test_an_unusable_sender_is_skipped_not_raised(sender):
    """A ``from`` that is no usable phone number: the message comes back skipped, without a sender."""
    [message] = parse_payload(_body(_payload(_text("CV-7K3Q9M", sender=sender))))
    assert message.sender_e164 is None
    assert message.skipped == "sender is not a usable phone number"
    assert message.message_id  # so that the caller can still mark it as seen
    assert classify(message).kind == "none"


def _broken(path: str, value: object) -> dict[str, Any]:
    """The documented payload with one thing at ``path`` (dotted, numbers for list items) replaced."""
    payload = _payload(_text("CV-7K3Q9M"))
    *parents, last = path.split(".")
    node: Any = payload
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    if value is KeyError:
        del node[last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return payload


MESSAGE = "entry.0.changes.0.value.messages.0"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ([], "the body: expected an object"),
        ("text", "the body: expected an object"),
        ({"object": "page", "entry": []}, "object: expected"),
        (_broken("entry", {}), "entry: expected a list"),
        (_broken("entry.0", "x"), r"entry\[0\]: expected an object"),
        (_broken("entry.0.changes", None), r"entry\[0\].changes: expected a list"),
        (_broken("entry.0.changes.0.field", 7), r"changes\[0\].field: expected a string"),
        (_broken("entry.0.changes.0.value", []), r"changes\[0\].value: expected an object"),
        (_broken("entry.0.changes.0.value.messages", {}), r"value.messages: expected a list"),
        (_broken(MESSAGE, 5), r"messages\[0\]: expected an object"),
        (_broken(f"{MESSAGE}.id", KeyError), r"messages\[0\].id: expected a string"),
        (_broken(f"{MESSAGE}.id", ""), r"messages\[0\].id: expected 1 to"),
        (_broken(f"{MESSAGE}.from", 4915155501234), r"messages\[0\].from: expected a string"),
        (_broken(f"{MESSAGE}.timestamp", "yesterday"), r"timestamp: expected a Unix timestamp"),
        (_broken(f"{MESSAGE}.timestamp", 1.5), r"timestamp: expected a Unix timestamp"),
        (_broken(f"{MESSAGE}.timestamp", True), r"timestamp: expected a Unix timestamp"),
        (_broken(f"{MESSAGE}.timestamp", 10**30), r"timestamp: the Unix timestamp is out of range"),
        (_broken(f"{MESSAGE}.timestamp", "9" * 40), r"timestamp: expected a Unix timestamp"),
        (_broken(f"{MESSAGE}.timestamp", -1), r"out of range"),
        (_broken(f"{MESSAGE}.type", None), r"messages\[0\].type: expected a string"),
        (_broken(f"{MESSAGE}.text", "JA"), r"messages\[0\].text: expected an object"),
        (_broken(f"{MESSAGE}.text.body", ["JA"]), r"text.body: expected a string"),
    ],
)
def test_wrong_shapes_name_the_place_never_the_value(payload, reason):
    """A documented field of the wrong shape or type refuses the whole body, naming where and not what."""
    with pytest.raises(WebhookError, match=reason) as caught:
        parse_payload(_body(payload))
    assert SENDER not in str(caught.value)
    assert "7K3Q9M" not in str(caught.value)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "not valid UTF-8 JSON"),
        (b"not json", "not valid UTF-8 JSON"),
        (b"\xff\xfe{}", "not valid UTF-8 JSON"),
        (b'{"object": NaN}', "NaN or Infinity"),
        (b'{"a": ' + b"1" * 5000 + b"}", "not valid UTF-8 JSON"),  # more digits than Python converts
        (b"[" * 100_000 + b"]" * 100_000, "not valid UTF-8 JSON|nests deeper"),
        (b"[" * 100 + b"]" * 100, "nests deeper"),
        (b" " * (MAX_BODY_BYTES + 1), "larger than"),
    ],
)
def test_junk_bodies(body, reason):
    """Bodies that are no JSON, or JSON no parser should trust, are WebhookErrors."""
    with pytest.raises(WebhookError, match=reason):
        parse_payload(body)


def test_body_must_be_bytes():
    """A str body is a mistake of the caller: the raw bytes are what was signed."""
    with pytest.raises(WebhookError, match="must be bytes"):
        parse_payload(json.dumps(_payload()))  # type: ignore[arg-type]


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=30,
)


@given(st.binary(max_size=2_000))
def test_random_bytes_raise_only_webhook_error(body):
    """Any bytes as a body: messages or a WebhookError, never anything else."""
    with contextlib.suppress(WebhookError):
        parse_payload(body)


@given(_json)
def test_random_json_raises_only_webhook_error(value):
    """Any JSON value as a body: messages or a WebhookError, never anything else."""
    with contextlib.suppress(WebhookError):
        parse_payload(_body(value))


_MESSAGE_KEYS = st.sampled_from(["from", "id", "timestamp", "type", "text", "interactive", "button", "x"])


@given(st.dictionaries(_MESSAGE_KEYS, _json, max_size=8), st.sampled_from(["text", "interactive", "button"]))
def test_random_messages_in_a_valid_envelope(fields, kind):
    """Random values where a message's documented fields are: messages or a WebhookError, nothing else."""
    message: dict[str, Any] = {**copy.deepcopy(_text("x")), "type": kind, **fields}
    try:
        messages = parse_payload(_body(_payload(message)))
    except WebhookError:
        return
    for parsed in messages:
        assert parsed.at.tzinfo is UTC
        assert parsed.sender_e164 is None or parsed.sender_e164.startswith("+")
        classify(parsed)


@given(st.binary(max_size=300), st.one_of(st.none(), st.text(max_size=80)))
def test_random_signatures_raise_only_webhook_error(body, header):
    """Any body and header: a WebhookError (a random header is never right)."""
    with pytest.raises(WebhookError):
        verify_signature(body, header, SECRET)


# -- classification -------------------------------------------------------------------------------------


def _message(text: str, *, skipped: bool = False) -> InboundMessage:
    return InboundMessage(
        message_id="wamid.A",
        sender_e164=None if skipped else "+4915155501234",
        at=datetime(2026, 12, 6, tzinfo=UTC),
        text=text,
        kind="text",
        skipped="sender is not a usable phone number" if skipped else None,
    )


def test_opt_out_words_are_the_documented_list():
    """The constant is the list the issue names, upper case."""
    assert frozenset({"STOP", "STOPP", "ABMELDEN", "UNSUBSCRIBE", "ABBESTELLEN"}) == OPT_OUT_WORDS


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        "Stopp",
        " Stop! ",
        "ABMELDEN bitte",
        "unsubscribe me",
        "Abbestellen.",
        "STOP CV-7K3Q9M",
    ],
)
def test_opt_out(text):
    """An opt-out word as the whole message or its first word, any case, wins over a code."""
    reply = classify(_message(text))
    assert reply.kind == "opt_out"
    assert reply.codes == ()


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("ja cv 7k3q9m", ("CV-7K3Q9M",)),
        ("CV-7K3Q9M danke", ("CV-7K3Q9M",)),
        ("cv7k3q9m", ("CV-7K3Q9M",)),
        ("Yes: CV-7K3Q9M and CV-22222Z, don't stop", ("CV-7K3Q9M", "CV-22222Z")),
    ],
)
def test_codes(text, codes):
    """Replies with codes give the codes, canonical and in order."""
    reply = classify(_message(text))
    assert reply.kind == "codes"
    assert reply.codes == codes


@pytest.mark.parametrize("text", ["", "Hallo!", "Stoppuhr kaputt", "Bitte nicht stoppen", "Wer ist da?"])
def test_nothing_relevant(text):
    """No code and no opt-out word first: nothing relevant."""
    reply = classify(_message(text))
    assert reply.kind == "none"
    assert reply.codes == ()


def test_a_skipped_message_means_nothing():
    """Without a usable sender neither a code nor an opt-out can be matched to a contact."""
    assert classify(_message("STOP", skipped=True)).kind == "none"
    assert classify(_message("CV-7K3Q9M", skipped=True)).kind == "none"
