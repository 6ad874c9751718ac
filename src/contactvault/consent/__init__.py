"""The consent lifecycle of issue 16: asking, taking the answer as evidence, and bulk records from forms.

Asking is done with a short message that carries a per-person reply code (:mod:`.codes`: make, find and
hash codes, word the message in English or German); the answer may come straight from the messenger's
webhooks (:mod:`.webhook`: check the signature, read the messages, tell codes from opt-outs); consents
collected on paper or web forms arrive in bulk (:mod:`.bulk`); whose consent needs asking for again
before the policy's refresh period runs out is :mod:`.freshness`.

The package holds no storage and opens no vault: its modules take values and return values. Recording a
consent, remembering which codes were issued and which message ids were seen, is the vault's work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from contactvault.consent.codes import (
    ALPHABET,
    CODE_LENGTH,
    DEFAULT_TTL,
    PREFIX,
    ConsentRequest,
    code_hash,
    expires,
    find_codes,
    new_code,
    normalize_code,
    request_message,
)
from contactvault.consent.freshness import Due, due
from contactvault.consent.webhook import (
    MAX_BODY_BYTES,
    OPT_OUT_WORDS,
    SIGNATURE_HEADER,
    InboundMessage,
    InboxItem,
    InboxReport,
    MessageKind,
    Outcome,
    Reply,
    ReplyKind,
    classify,
    parse_payload,
    verify_signature,
)

if TYPE_CHECKING:
    from contactvault.consent.bulk import (
        RECORDED_BY_PLACEHOLDER,
        BulkConsents,
        ConsentRow,
        RejectedRow,
        parse_consents,
        read_consents,
    )

_BULK = frozenset(
    {"RECORDED_BY_PLACEHOLDER", "BulkConsents", "ConsentRow", "RejectedRow"}
    | {"parse_consents", "read_consents"}
)
"""The names of :mod:`.bulk`, loaded on first use: it loads the CSV importer, which asking does not need."""


def __getattr__(name: str) -> object:
    """The names of :mod:`.bulk` on first use (PEP 562)."""
    if name in _BULK:
        from contactvault.consent import bulk  # noqa: PLC0415 (loaded on use)

        return getattr(bulk, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ALPHABET",
    "CODE_LENGTH",
    "DEFAULT_TTL",
    "MAX_BODY_BYTES",
    "OPT_OUT_WORDS",
    "PREFIX",
    "RECORDED_BY_PLACEHOLDER",
    "SIGNATURE_HEADER",
    "BulkConsents",
    "ConsentRequest",
    "ConsentRow",
    "Due",
    "InboundMessage",
    "InboxItem",
    "InboxReport",
    "MessageKind",
    "Outcome",
    "RejectedRow",
    "Reply",
    "ReplyKind",
    "classify",
    "code_hash",
    "due",
    "expires",
    "find_codes",
    "new_code",
    "normalize_code",
    "parse_consents",
    "parse_payload",
    "read_consents",
    "request_message",
    "verify_signature",
]
