"""Answers straight from the messenger (issue 16, item 3): check a webhook call, read and classify it.

WhatsApp (the Business Platform's Cloud API) calls a business's web server with a JSON body for every message
a person sends to the business's number. This module is the storage-free part of taking consent answers from
those calls; recording them (once per message id, for the contact the code was made for) is the caller's.
A web app's handler does, on the raw body and the header as received::

    verify_signature(body, request.headers.get("X-Hub-Signature-256"), app_secret)
    for message in parse_payload(body):
        reply = classify(message)  # codes, an opt-out, or nothing relevant

Signature (`verify_signature`)
    Meta signs each call with the app secret: ``X-Hub-Signature-256: sha256=<hex>``, the HMAC-SHA256 of the
    raw body (the bytes as received, before any JSON parsing). A missing, malformed or wrong signature is a
    `WebhookError`; the comparison takes constant time.

Payload (`parse_payload`)
    The documented shape (Cloud API, "messages" webhook)::

        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "<WABA id>",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {...},
                                "contacts": [...],
                                "messages": [
                                    {
                                        "from": "4915155501234",
                                        "id": "wamid.…",
                                        "timestamp": "1733490000",
                                        "type": "text",
                                        "text": {"body": "JA CV-7K3Q9M"},
                                    }
                                ],
                            },
                        }
                    ],
                }
            ],
        }

    Each message becomes an `InboundMessage`. Its text is what the person typed or tapped: ``text.body`` for
    ``text``; the visible title of the reply button or list row for ``interactive`` (``button_reply`` /
    ``list_reply``); the button's text for ``button`` (a quick-reply button of a template); ``""`` for any
    other type (image, sticker, location, reaction, ...).

The one rule for bad input
    What the documentation says is there and this module reads must be there with the documented type:
    ``object`` is ``"whatsapp_business_account"``; ``entry`` and each ``changes`` are lists of objects;
    ``field`` is a string; in a change whose field is ``"messages"``, ``value`` is an object and its
    ``messages`` (when present) a list of objects, each with a non-empty string ``id`` and ``from``, a
    Unix ``timestamp`` (a string of digits, or a whole number) within the years 1970 to 9999, a string
    ``type``, and for the types read, their object with its string. Anything else in that list is a
    `WebhookError` for the whole body, naming the path (``entry[0].changes[0].value.messages[1].timestamp``)
    and what was expected, never a value: a body that breaks the documented shape is not half-trusted.
    What the module does not read is ignored whatever it holds: other fields (``statuses`` updates, errors,
    account updates), other keys, the contents of other message types. The one thing skipped inside a valid
    body is a message whose sender (``from``) is not a usable phone number: it is returned with
    ``sender_e164`` ``None`` and ``skipped`` set, so that the caller can still mark its id as seen. A body
    over `MAX_BODY_BYTES`, not UTF-8 JSON, nested too deep, or with ``NaN``/``Infinity`` is a `WebhookError`.

Idempotency
    Webhooks are delivered at least once, so the same message may come twice; the same body always gives the
    same messages with the same ids, and the caller records each message id once.

Replies (`classify`)
    An opt-out is one of `OPT_OUT_WORDS` as the whole message or its first word, whatever the case and
    the punctuation around it (``"Stop!"``, ``"stopp bitte"``); it wins over codes in the same message
    (a refusal is never read as consent). Otherwise the reply codes found by
    :func:`contactvault.consent.codes.find_codes`; otherwise nothing relevant.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal, NoReturn

from contactvault.consent.codes import find_codes
from contactvault.crypto import macs_equal
from contactvault.errors import WebhookError
from contactvault.phones import parse_number

__all__ = [
    "MAX_BODY_BYTES",
    "OPT_OUT_WORDS",
    "SIGNATURE_HEADER",
    "InboundMessage",
    "InboxItem",
    "InboxReport",
    "MessageKind",
    "Outcome",
    "Reply",
    "ReplyKind",
    "classify",
    "parse_payload",
    "verify_signature",
]

SIGNATURE_HEADER: Final = "X-Hub-Signature-256"
"""The HTTP header that carries Meta's signature of the body."""

MAX_BODY_BYTES: Final = 1_048_576
"""The largest body read (1 MiB); Meta sends a few kilobytes at most."""

MAX_ID_LENGTH: Final = 512
"""The longest message id accepted (WhatsApp's ``wamid.…`` ids are under 100 characters)."""

OPT_OUT_WORDS: Final = frozenset({"STOP", "STOPP", "ABMELDEN", "UNSUBSCRIBE", "ABBESTELLEN"})
"""Words that, as the whole message or its first word, withdraw consent (compared case-insensitively)."""

MessageKind = Literal["text", "interactive", "button", "other"]
"""What the person sent: typed text, a tapped reply button or list row, a template's button, or else."""

ReplyKind = Literal["codes", "opt_out", "none"]
"""What a message means for consent: reply codes, an opt-out, or nothing relevant."""

Outcome = Literal["recorded", "duplicate", "refused", "ignored"]
"""What became of one reply of a webhook call (``Vault.take_webhook``)."""

_SKIP_SENDER: Final = "sender is not a usable phone number"
_MAX_TIMESTAMP: Final = 253_402_300_799  # 9999-12-31T23:59:59Z
_MAX_DEPTH: Final = 64
_FIRST_WORD: Final = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message a person sent to the business, as the webhook reported it.

    Attributes:
        message_id: WhatsApp's id of the message (``wamid.…``): the key for recording it once.
        sender_e164: The sender's number in E.164 form (``+4915155501234``), or ``None`` if ``from`` was
            not a usable phone number (then ``skipped`` says so).
        at: When the person sent it (timezone-aware, UTC), from the payload's Unix timestamp.
        text: What the person typed or tapped (see the module's docstring); ``""`` for other kinds.
        kind: The kind of message (`MessageKind`); WhatsApp's other types are ``"other"``.
        skipped: ``None``, or why the message cannot be used (its sender is not a usable number).
    """

    message_id: str
    sender_e164: str | None
    at: datetime
    text: str
    kind: MessageKind
    skipped: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """What one message means for consent.

    Attributes:
        message: The message classified.
        kind: ``"codes"`` (``codes`` holds them), ``"opt_out"`` (one of `OPT_OUT_WORDS`), or ``"none"``.
        codes: The reply codes found, canonical, in order, each once; empty unless ``kind`` is ``"codes"``.
    """

    message: InboundMessage
    kind: ReplyKind
    codes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class InboxItem:
    """What became of one reply of a webhook call; never a number, a code or a message's text.

    Attributes:
        message: The message's position in the payload (0 for the first).
        action: ``"consent"`` (a reply code), ``"withdrawal"`` (an opt-out word) or ``"none"``.
        outcome: ``"recorded"``, ``"duplicate"`` (recorded before: the message came again), ``"refused"``
            (a code refused: ``reason`` is `CodeRefused`'s) or ``"ignored"``.
        reason: Why it was refused or ignored: ``unknown``, ``used``, ``expired``, ``sender``; ``no_reply``
            (neither a code nor an opt-out), ``no_sender`` (no usable number), ``unknown_sender`` (no
            contact has the number), ``no_consent`` (no active consent to withdraw).
        contact_id: The contact concerned, when one is.
    """

    message: int
    action: Literal["consent", "withdrawal", "none"]
    outcome: Outcome
    reason: str | None = None
    contact_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class InboxReport:
    """What ``Vault.take_webhook`` made of a call: an `InboxItem` per code, per opt-out, per other message."""

    messages: int
    items: tuple[InboxItem, ...]

    def count(self, outcome: Outcome) -> int:
        """How many items had ``outcome``."""
        return sum(1 for item in self.items if item.outcome == outcome)

    @property
    def recorded(self) -> int:
        """How many consents and withdrawals were recorded."""
        return self.count("recorded")


def verify_signature(body: bytes, header: str | None, app_secret: str | bytes) -> None:
    """Check ``X-Hub-Signature-256`` (``sha256=<64 hex>``) against the raw ``body``; `WebhookError` if not.

    ``header`` is the header's value as received (``None`` if the request had none). ``app_secret`` is the
    Meta app's secret (a ``str`` is taken as UTF-8). An empty secret is a configuration error: ``ValueError``.
    """
    secret = app_secret.encode("utf-8") if isinstance(app_secret, str) else bytes(app_secret)
    if not secret:
        raise ValueError("the app secret is empty")
    if header is None:
        raise WebhookError(f"no {SIGNATURE_HEADER} header: the call is not signed")
    scheme, _, digest = header.strip().partition("=")
    if scheme.lower() != "sha256" or len(digest) != 64:
        raise WebhookError(f"malformed {SIGNATURE_HEADER} header (expected sha256= and 64 hex digits)")
    try:
        given = bytes.fromhex(digest)
    except ValueError:
        raise WebhookError(
            f"malformed {SIGNATURE_HEADER} header (expected sha256= and 64 hex digits)"
        ) from None
    expected = hmac.new(secret, body, hashlib.sha256).digest()
    if not macs_equal(expected, given):
        raise WebhookError(f"wrong {SIGNATURE_HEADER} signature: not signed with this app secret")


def _reject_constant(name: str) -> NoReturn:
    """The JSON parser's hook for ``NaN``, ``Infinity`` and ``-Infinity``: refused."""
    raise WebhookError("the body is not valid JSON (NaN or Infinity)")


def _load(body: bytes) -> object:
    """The JSON value of ``body``; `WebhookError` for anything that is not UTF-8 JSON of a sane size."""
    if not isinstance(body, bytes | bytearray | memoryview):
        raise WebhookError("the body must be bytes")
    if len(body) > MAX_BODY_BYTES:
        raise WebhookError(f"the body is larger than {MAX_BODY_BYTES} bytes")
    try:
        text = bytes(body).decode("utf-8")
        return json.loads(text, parse_constant=_reject_constant)
    except WebhookError:
        raise
    except (ValueError, RecursionError):  # bad UTF-8, bad JSON, a number of too many digits, deep nesting
        raise WebhookError("the body is not valid UTF-8 JSON") from None


def _depth_ok(value: object) -> bool:
    """Whether ``value`` nests at most `_MAX_DEPTH` lists and objects deep (iteratively: no recursion)."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= _MAX_DEPTH:
                return False
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return True


def _object(value: object, path: str) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise WebhookError(f"{path}: expected an object")
    return value


def _list(value: object, path: str) -> list[object]:
    if not isinstance(value, list):
        raise WebhookError(f"{path}: expected a list")
    return value


def _string(value: object, path: str, *, max_length: int | None = None) -> str:
    if not isinstance(value, str):
        raise WebhookError(f"{path}: expected a string")
    if max_length is not None and not 0 < len(value) <= max_length:
        raise WebhookError(f"{path}: expected 1 to {max_length} characters")
    return value


def _timestamp(value: object, path: str) -> datetime:
    """A Unix timestamp (a string of ASCII digits or a whole number) as an aware UTC datetime."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12:
        seconds = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    else:
        raise WebhookError(f"{path}: expected a Unix timestamp (a string of digits)")
    if not 0 <= seconds <= _MAX_TIMESTAMP:
        raise WebhookError(f"{path}: the Unix timestamp is out of range")
    return datetime.fromtimestamp(seconds, UTC)


def _sender(raw: str) -> str | None:
    """``from`` (digits, WhatsApp's form) as E.164 (``+<digits>``), or ``None`` if it is no usable number."""
    digits = raw.strip().removeprefix("+")
    if not (digits.isascii() and digits.isdigit() and 1 <= len(digits) <= 15):
        return None
    e164 = parse_number("+" + digits, None).e164
    return e164 if e164 == "+" + digits else None


def _content(message: Mapping[str, object], kind: str, path: str) -> tuple[MessageKind, str]:
    """The message's kind and its visible text (see the module's docstring)."""
    if kind == "text":
        text = _object(message.get("text"), f"{path}.text")
        return "text", _string(text.get("body"), f"{path}.text.body")
    if kind == "interactive":
        interactive = _object(message.get("interactive"), f"{path}.interactive")
        sub = _string(interactive.get("type"), f"{path}.interactive.type")
        if sub in {"button_reply", "list_reply"}:
            reply = _object(interactive.get(sub), f"{path}.interactive.{sub}")
            return "interactive", _string(reply.get("title"), f"{path}.interactive.{sub}.title")
        return "interactive", ""  # a flow's answer (nfm_reply) and others carry no text a person typed
    if kind == "button":
        button = _object(message.get("button"), f"{path}.button")
        return "button", _string(button.get("text"), f"{path}.button.text")
    return "other", ""


def _message(value: object, path: str) -> InboundMessage:
    message = _object(value, path)
    message_id = _string(message.get("id"), f"{path}.id", max_length=MAX_ID_LENGTH)
    raw_sender = _string(message.get("from"), f"{path}.from", max_length=MAX_ID_LENGTH)
    at = _timestamp(message.get("timestamp"), f"{path}.timestamp")
    kind, text = _content(message, _string(message.get("type"), f"{path}.type"), path)
    sender = _sender(raw_sender)
    return InboundMessage(
        message_id=message_id,
        sender_e164=sender,
        at=at,
        text=text,
        kind=kind,
        skipped=None if sender is not None else _SKIP_SENDER,
    )


def parse_payload(body: bytes) -> list[InboundMessage]:
    """The messages a person sent, from a webhook call's raw body, in the order of the payload.

    Status updates and other fields are ignored; a body without messages gives ``[]``. `WebhookError` for a
    body that is not a WhatsApp Business Account webhook of the documented shape (see the module's
    docstring for the one rule); messages whose sender is not a usable number come back with ``skipped``
    set. The signature is not checked here: call `verify_signature` first.
    """
    payload = _load(body)
    if not _depth_ok(payload):
        raise WebhookError(f"the body nests deeper than {_MAX_DEPTH} levels")
    root = _object(payload, "the body")
    if root.get("object") != "whatsapp_business_account":
        raise WebhookError('object: expected "whatsapp_business_account"')
    messages: list[InboundMessage] = []
    for e, entry in enumerate(_list(root.get("entry"), "entry")):
        where = f"entry[{e}]"
        changes = _list(_object(entry, where).get("changes"), f"{where}.changes")
        for c, change_value in enumerate(changes):
            at = f"{where}.changes[{c}]"
            change = _object(change_value, at)
            if _string(change.get("field"), f"{at}.field") != "messages":
                continue
            value = _object(change.get("value"), f"{at}.value")
            if "messages" not in value:
                continue  # status updates (sent, delivered, read) and errors only
            found = _list(value["messages"], f"{at}.value.messages")
            messages.extend(_message(item, f"{at}.value.messages[{m}]") for m, item in enumerate(found))
    return messages


def _opts_out(text: str) -> bool:
    first = _FIRST_WORD.search(text)
    return first is not None and first.group().upper() in OPT_OUT_WORDS


def classify(message: InboundMessage) -> Reply:
    """What ``message`` means for consent: an opt-out, reply codes, or nothing relevant.

    A skipped message (no usable sender) means nothing: without a sender neither a code nor an opt-out can
    be matched to a contact.
    """
    if message.skipped is not None or message.sender_e164 is None:
        return Reply(message, "none")
    if _opts_out(message.text):
        return Reply(message, "opt_out")
    codes = find_codes(message.text)
    if codes:
        return Reply(message, "codes", tuple(codes))
    return Reply(message, "none")
