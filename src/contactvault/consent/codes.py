"""Reply codes for asking consent (issue 16, item 2): make, find and hash them, and word the ask.

A business asks a person for consent with a short message that carries a per-person *reply code*; the person
answers with the code, and the answer becomes the evidence of the consent. This module is the storage-free
part of that: it makes codes, finds them again in whatever the person typed, turns them into the keyed hash
that is all the vault will ever store, and words the opt-in message in English or German.

The format
    ``CV-`` and six characters of Crockford's base32 alphabet (`ALPHABET`: the digits and the capital
    letters without I, L, O and U), for example ``CV-7K3Q9M``. Six characters of 32 symbols are 30 bits
    (about a billion codes), drawn with :mod:`secrets`. Crockford's alphabet leaves out the letters that are
    read or typed as others (I and L look like 1, O like 0) and U (so that no code spells a rude word by
    accident); what a person types in their place is read as Crockford says: O as 0, I and L as 1. The
    prefix ``CV`` makes a code easy to find in free text ("ja, CV-7K3Q9M, danke") and hard to confuse with
    a date, a price or a postcode.

Finding codes (`find_codes`)
    A reply is free text typed on a phone. A code is found whatever its case (``cv-7k3q9m``), with or
    without the dash after ``CV`` (``cv7k3q9m``), with a space, colon or dash there instead (``CV 7K3Q9M``,
    ``CV: 7K3Q9M``), with single spaces or dashes between its characters (``CV-7K3 Q9M``), with
    typographic dashes (an en dash for the hyphen) and full-width characters (NFKC), and with the
    Crockford confusions O→0, I/L→1. It must stand on its own: a letter or digit right before ``CV`` or
    right after the six characters means no code. Codes are returned in the canonical form
    (``CV-7K3Q9M``), in the order they appear, each once. A code that looks right but was never issued
    (``cvs 12345`` reads as ``CV-S12345``) is harmless: the caller looks its hash up and finds nothing.

Storage
    Codes are single-use and stored only as keyed hashes (`code_hash`: keyed BLAKE2b of the canonical code,
    with a fixed domain prefix), so that a copy of the vault does not give away codes still waiting for an
    answer. Single use and expiry are the store's business; `expires` only adds the time a code is valid
    to the moment it was issued.

Nothing here stores anything, reads a clock it was not given, or touches the network.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from contactvault.crypto import keyed_hash
from contactvault.i18n import Lang, Words, check_lang

__all__ = [
    "ALPHABET",
    "CODE_LENGTH",
    "DEFAULT_TTL",
    "PREFIX",
    "ConsentRequest",
    "code_hash",
    "expires",
    "find_codes",
    "new_code",
    "normalize_code",
    "request_message",
]

ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Crockford's base32 alphabet: the ten digits and 22 capital letters (no I, L, O, U)."""

CODE_LENGTH: Final = 6
"""Characters after the prefix: 6 x 5 = 30 bits."""

PREFIX: Final = "CV-"
"""What every code starts with, so that it can be found in free text."""

DEFAULT_TTL: Final = timedelta(days=14)
"""A suggested validity for a code: long enough for a person to answer, short enough to go stale."""

HASH_DOMAIN: Final = b"contactvault/consent/reply-code/v1\x00"
"""Prefixed to the canonical code before it is hashed, so that the key can serve other hashes too."""

MAX_FIELD_LENGTH: Final = 200
"""The longest business name, purpose, notice id or notice version a message takes."""

# Crockford's decoding: what a person may type for each symbol (after upper-casing).
_CONFUSED: Final = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SYMBOL: Final = f"[{ALPHABET}OIL]"
# Dashes a phone keyboard or a word processor may put in place of the hyphen-minus.
_DASHES: Final = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63"), "-")
_CODE_RE: Final = re.compile(
    rf"(?<![^\W_])CV[ :\-]{{0,3}}((?:{_SYMBOL}[ \-]?){{{CODE_LENGTH - 1}}}{_SYMBOL})(?![^\W_])"
)


@dataclass(frozen=True, slots=True)
class ConsentRequest:
    """What ``Vault.request_consent`` made for one contact: the code and the message, shown once.

    Attributes:
        contact_id: The contact asked.
        code: The reply code (``CV-7K3Q9M``); the vault keeps only its keyed hash.
        message: The opt-in message that carries it, in the request's language.
        expires_at: When the code stops being accepted.
        to: The contact's first mobile number (E.164) the message may be sent to, or ``None``.
        request: The log record of the request (its sequence number).
    """

    contact_id: uuid.UUID
    code: str = field(repr=False)
    message: str = field(repr=False)
    expires_at: datetime
    to: str | None = field(repr=False)
    request: int


def new_code() -> str:
    """A fresh random reply code such as ``CV-7K3Q9M`` (30 bits from :mod:`secrets`)."""
    return PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def _fold(text: str) -> str:
    """``text`` as codes are searched in: NFKC, dashes as hyphen-minus, white space as spaces, upper case."""
    text = unicodedata.normalize("NFKC", text).translate(_DASHES)
    return "".join(" " if ch.isspace() else ch for ch in text).upper()


def _canonical(match: re.Match[str]) -> str:
    """The canonical code of a match of ``_CODE_RE``: separators dropped, O as 0, I and L as 1."""
    return PREFIX + match.group(1).replace(" ", "").replace("-", "").translate(_CONFUSED)


def find_codes(text: str) -> list[str]:
    """Every reply code in ``text``, canonical (``CV-7K3Q9M``), in order, each once; never raises for a str.

    See the module's docstring for what is tolerated. Anything that is not a ``str`` gives ``[]``.
    """
    if not isinstance(text, str):
        return []
    return list(dict.fromkeys(_canonical(match) for match in _CODE_RE.finditer(_fold(text))))


def normalize_code(code: str) -> str:
    """The canonical form of one code as typed (``"cv 7k3q9m"`` → ``"CV-7K3Q9M"``).

    ``ValueError`` (never showing the value) unless ``code`` is exactly one code and nothing else.
    """
    if isinstance(code, str):
        match = _CODE_RE.fullmatch(_fold(code).strip())
        if match is not None:
            return _canonical(match)
    raise ValueError("not a reply code (expected CV- and six characters, e.g. CV-7K3Q9M)")


def code_hash(key: bytes, code: str) -> bytes:
    """The keyed hash a code is stored as: keyed BLAKE2b (32 bytes) of its canonical form.

    ``key`` is a secret of 16 to 64 bytes kept with the vault's keys. The same code, however it was typed
    (``cv7k3q9m``, ``CV-7K3Q9M``), gives the same hash under the same key, and an unrelated one under
    another key. ``ValueError`` if ``key`` is too short or too long, or ``code`` is not one code.
    """
    if not isinstance(key, bytes) or not 16 <= len(key) <= 64:
        raise ValueError("the key for reply codes must be 16 to 64 bytes")
    return keyed_hash(key, HASH_DOMAIN + normalize_code(code).encode("ascii"))


def expires(issued_at: datetime, ttl: timedelta = DEFAULT_TTL) -> datetime:
    """When a code issued at ``issued_at`` stops being valid: ``issued_at + ttl``.

    ``ValueError`` if ``issued_at`` is not timezone-aware or ``ttl`` is not positive.
    """
    if issued_at.tzinfo is None or issued_at.utcoffset() is None:
        raise ValueError("issued_at must be timezone-aware")
    if ttl <= timedelta(0):
        raise ValueError("ttl must be positive")
    return issued_at + ttl


_words: Final = Words(
    {  # key -> (English, German)
        "request": (
            "{business} would like to send you messages here about: {purpose}. "
            "Privacy notice {notice_id}, version {notice_version}. "
            "To agree, reply with the code {code}. "
            "If you do not agree, ignore this message or reply STOP. "
            "You can withdraw your consent at any time by replying STOP.",
            "{business} möchte Ihnen hier Nachrichten zu folgendem Zweck senden: {purpose}. "
            "Datenschutzhinweis {notice_id}, Version {notice_version}. "
            "Wenn Sie einverstanden sind, antworten Sie mit dem Code {code}. "
            "Wenn nicht, ignorieren Sie diese Nachricht oder antworten Sie STOPP. "
            "Ihre Einwilligung können Sie jederzeit mit der Antwort STOPP widerrufen.",
        ),
    }
)


def _field(name: str, value: str) -> str:
    """``value`` stripped; ``ValueError`` naming the field (never the value) if it cannot be sent."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str")
    text = value.strip()
    if not text:
        raise ValueError(f"{name} is empty")
    if len(text) > MAX_FIELD_LENGTH:
        raise ValueError(f"{name} is longer than {MAX_FIELD_LENGTH} characters")
    if not text.isprintable():
        raise ValueError(f"{name} contains a line break or another control character")
    return text


def request_message(
    *,
    business: str,
    purpose: str,
    notice_id: str,
    notice_version: str,
    code: str,
    lang: Lang,
) -> str:
    """The short opt-in message a person is sent, in English (``"en"``) or German (``"de"``).

    It names the business, the purpose, the privacy notice and its version, asks for a reply with ``code``
    (shown in its canonical form) and says how to refuse or withdraw (STOP / STOPP, both opt-out words of
    :data:`contactvault.consent.webhook.OPT_OUT_WORDS`). One paragraph of plain text, no markup.

    ``ValueError`` (naming the argument, never its value) for an unsupported language, an empty field, one
    over `MAX_FIELD_LENGTH` characters or with a line break, or a ``code`` that is not one reply code.
    """
    language = check_lang(lang)
    return _words("request", language).format(
        business=_field("business", business),
        purpose=_field("purpose", purpose),
        notice_id=_field("notice_id", notice_id),
        notice_version=_field("notice_version", notice_version),
        code=normalize_code(code),
    )
