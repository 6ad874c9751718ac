"""Properties -> a card's values -> a Contact: the third stage of the vCard reader.

Each property is decoded (transfer encoding, then character set, strictly; Windows-1252 assumed for a 2.1
card without ``CHARSET``) and handed to the handler of its name, which gathers plain values on a `Card`:
the first ``FN``, ``N``, ``ORG`` ... fill their fields, later ones and unknown properties are kept as
custom fields. Numbers are normalised per batch (:func:`apply_numbers`), then :func:`to_contact` validates
the card as one ``Contact``. Problems become warnings on the card or a `CardError`, never a value in a
message.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from contactvault.importers._values import (
    PHONE_PROBLEMS,
    clean_text,
    fallback_display_name,
    one_line,
    parse_birthday,
    validation_fields,
)
from contactvault.importers._vcard_cards import RawCard
from contactvault.importers._vcard_properties import (
    IGNORED,
    CardError,
    Head,
    ab_label,
    shown,
    split_escaped,
    unescape,
    unfold,
)
from contactvault.importers.result import ImportIssue, IssueCode
from contactvault.models import Contact
from contactvault.phones import MAX_RAW_LENGTH, NumberInfo

__all__ = ["HANDLERS", "Card", "apply_numbers", "decode", "read_properties", "to_contact"]

_BAD_QP = re.compile(rb"=(?![0-9A-Fa-f]{2})")


@dataclass(slots=True)
class Card:
    """What one card says, gathered property by property as plain values; validated once at the end."""

    start: int
    source: str
    version: str | None = None
    warnings: list[ImportIssue] = field(default_factory=list)
    dropped: int = 0
    fn: str = ""
    name: dict[str, str] | None = None
    nickname: str = ""
    phones: list[dict[str, Any]] = field(default_factory=list)
    phone_lines: list[int] = field(default_factory=list)
    emails: list[dict[str, Any]] = field(default_factory=list)
    addresses: list[dict[str, Any]] = field(default_factory=list)
    birthday: dict[str, int | None] | None = None
    organisation: str = ""
    department: str = ""
    title: str = ""
    urls: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    custom: list[dict[str, Any]] = field(default_factory=list)
    uid: str | None = None

    def warn(self, line: int, code: IssueCode, message: str) -> None:
        """Note a warning about ``line``; the card is still imported."""
        self.warnings.append(ImportIssue(line, message, code, "warning", self.source))

    def fail(self, line: int, code: IssueCode, what: str) -> CardError:
        """The error that makes the whole card an issue (for the caller to raise)."""
        return CardError(code, line, f"card at line {self.start} not imported: {what}")

    def keep(self, name: str, value: str, label: str | None) -> None:
        """Keep a value the model has no field for as a custom field."""
        self.custom.append({"name": name, "value": value, "label": label})


def decode(line: int, head: Head, data: bytes, card: Card) -> str:
    """Bytes of a value -> text: transfer encoding first, then the character set; strict."""
    if not head.encoding and not head.charset:
        try:  # the common case: plain UTF-8
            return clean_text(data.decode("utf-8"))
        except UnicodeDecodeError:
            pass
    where = f"line {line} ({shown(head.name)})"
    if head.encoding == "Q":
        data = data.removesuffix(b"=")
        if _BAD_QP.search(data):
            raise card.fail(line, "bad_quoted_printable", f"{where} has bad quoted-printable")
        data = binascii.a2b_qp(data)
    elif head.encoding == "B":
        try:
            data = base64.b64decode(data + b"=" * (-len(data) % 4))
        except (binascii.Error, ValueError):
            raise card.fail(line, "bad_encoding", f"{where} has bad base64") from None
    try:
        return clean_text(data.decode(head.charset or "utf-8"))
    except UnicodeDecodeError:
        pass
    if not head.charset and card.version == "2.1":
        # vCard 2.1 names no default character set; Windows programs write their code page.
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            pass
        else:
            message = f"{where}: not UTF-8 and no CHARSET given; read as Windows-1252"
            card.warn(line, "assumed_charset", message)
            return clean_text(text)
    charset = (head.charset or "utf-8").upper()
    raise card.fail(line, "bad_encoding", f"{where} is not valid {charset} text")


_Handler = Callable[["Card", int, Head, str, "str | None"], None]


def _tel(card: Card, line: int, head: Head, text: str, label: str | None) -> None:
    raw = text.strip()
    if not raw:
        return
    if len(raw) > MAX_RAW_LENGTH:
        card.warn(line, "invalid_number", f"line {line} (TEL): too long for a number; kept as text")
        card.keep("TEL", raw, label)
        return
    # Normalised later, for the whole batch at once (see _numbers.py); the line is kept for warnings.
    card.phones.append({"raw": raw, "label": label, "types": head.types, "preferred": head.preferred})
    card.phone_lines.append(line)


def apply_numbers(card: Card, answers: dict[str, NumberInfo]) -> None:
    """Fill in each phone's E.164 form, region, kind and extension, and warn about the invalid ones."""
    for phone, line in zip(card.phones, card.phone_lines, strict=True):
        info = answers[phone["raw"]]
        phone.update(
            e164=info.e164,
            region=info.region,
            kind=info.kind,
            extension=info.extension,
            problem=info.problem,
        )
        if info.problem is not None:
            why = PHONE_PROBLEMS[info.problem]
            card.warn(line, "invalid_number", f"line {line} (TEL): {why}; kept as typed, without E.164")


def _fn(card: Card, line: int, head: Head, text: str, label: str | None) -> None:
    if not card.fn:
        card.fn = one_line(unescape(text))


def _n(card: Card, line: int, head: Head, text: str, label: str | None) -> None:
    if card.name is not None:
        return
    parts = [one_line(unescape(p)) for p in split_escaped(text, ";")]
    parts += [""] * (5 - len(parts))
    card.name = {
        "family": parts[0],
        "given": parts[1],
        "additional": parts[2],
        "prefixes": parts[3],
        "suffixes": " ".join(p for p in parts[4:] if p),
    }


def _email(card: Card, line: int, head: Head, text: str, label: str | None) -> None:
    address = one_line(unescape(text))
    if address:
        card.emails.append(
            {"address": address, "label": label, "types": head.types, "preferred": head.preferred}
        )


def _adr(card: Card, line: int, head: Head, text: str, label: str | None) -> None:
    parts = [unescape(p).strip() for p in split_escaped(text, ";")]
    parts += [""] * (7 - len(parts))
    if any(parts):
        card.addresses.append(
            {
                "po_box": parts[0],
                "extended": parts[1],
                "street": "\n".join(p for p in parts[2:3] + parts[7:] if p),
                "locality": parts[3],
                "region": parts[4],
                "postal_code": parts[5],
                "country": parts[6],
                "label": label,
                "types": head.types,
                "preferred": head.preferred,
            }
        )


def _org(card: Card, line: int, head: Head, text: str, label: str | None) -> None:
    units = [one_line(unescape(p)) for p in split_escaped(text, ";")]
    if not any(units):
        return
    if card.organisation or card.department:
        card.keep("ORG", "; ".join(u for u in units if u), label)
        return
    card.organisation = units[0]
    card.department = ", ".join(u for u in units[1:] if u)


def _categories(card: Card, line: int, head: Head, text: str, label: str | None) -> None:
    for category in split_escaped(text, ","):
        name = one_line(unescape(category))
        if name:
            card.labels.setdefault(name.casefold(), {"name": name})


def _omitted_year(head: Head) -> int | None:
    """Apple's ``X-APPLE-OMIT-YEAR=1604``: the year written in the date that stands for "no year"."""
    value = head.params.get("X-APPLE-OMIT-YEAR", ("",))[0].strip()
    return int(value) if value.isdigit() and value.isascii() else None


def _bday(card: Card, line: int, head: Head, text: str, label: str | None) -> None:
    text = unescape(text).strip()
    if not text:
        return
    if card.birthday is None:
        card.birthday = parse_birthday(text, _omitted_year(head))
        if card.birthday is not None:
            return
        card.warn(line, "bad_birthday", f"line {line} (BDAY): not a date; kept as text")
    card.keep("BDAY", text, label)


def _single(attribute: str) -> _Handler:
    """A handler for a one-line field: the first value fills it, later ones are kept as custom fields."""

    def handle(card: Card, line: int, head: Head, text: str, label: str | None) -> None:
        value = one_line(unescape(text))
        if not value:
            return
        if getattr(card, attribute):
            card.keep(head.name, value, label)
        else:
            setattr(card, attribute, value)

    return handle


def _note(card: Card, line: int, head: Head, text: str, label: str | None) -> None:
    note = unescape(text)
    if note.strip():
        card.notes.append(note)


def _url(card: Card, line: int, head: Head, text: str, label: str | None) -> None:
    url = unescape(text).strip()
    if url:
        card.urls.append(url)


def _uid(card: Card, line: int, head: Head, text: str, label: str | None) -> None:
    card.uid = card.uid or unescape(text).strip() or None


def _agent(card: Card, line: int, head: Head, text: str, label: str | None) -> None:
    if "BEGIN:VCARD" in text.upper():
        card.warn(line, "nested_card", f"line {line} (AGENT): a card inside a card; skipped")
    else:
        _custom(card, line, head, text, label)


def _custom(card: Card, line: int, head: Head, text: str, label: str | None) -> None:
    value = unescape(text)
    if value.strip():
        card.keep(head.name, value, label)


HANDLERS: dict[str, _Handler] = {
    "TEL": _tel,
    "FN": _fn,
    "N": _n,
    "EMAIL": _email,
    "ADR": _adr,
    "ORG": _org,
    "CATEGORIES": _categories,
    "BDAY": _bday,
    "NICKNAME": _single("nickname"),
    "TITLE": _single("title"),
    "NOTE": _note,
    "URL": _url,
    "UID": _uid,
    "AGENT": _agent,
}
"""The handler of each property name the model has a field for; any other is kept as a custom field."""


def read_properties(raw: RawCard, source: str) -> Card:
    """Parse one card's properties into a Card (numbers not yet normalised); raises CardError."""
    card = Card(start=raw.start, source=source)
    for line in raw.nested:
        card.warn(line, "nested_card", f"line {line}: a vCard 2.1 AGENT card inside a card; skipped")
    props = unfold(raw)
    group_labels: dict[str, str] = {}
    for line, head, value in props:  # what the other properties depend on
        if head.name == "VERSION":
            card.version = value.decode("ascii", errors="replace").strip()[:20] or None
        elif head.name == "X-ABLABEL" and head.group:
            group_labels[head.group] = ab_label(unescape(decode(line, head, value, card)).strip())
    seen_altids: set[tuple[str, str]] = set()
    for line, head, value in props:
        name = head.name
        if head.dropped:
            card.dropped += 1
            continue
        if name in IGNORED or name == "X-ABLABEL":
            continue
        if head.altid:
            key = (name, head.altid)
            if key in seen_altids:
                continue  # another representation of a value already read
            seen_altids.add(key)
        text = decode(line, head, value, card)
        label = group_labels.get(head.group) if head.group else None
        HANDLERS.get(name, _custom)(card, line, head, text, label)
    return card


def _display_name(card: Card) -> str:
    if card.fn:
        return card.fn
    name, fallback = fallback_display_name(
        card.name or {}, card.nickname, card.organisation, card.emails, card.phones
    )
    if fallback is not None:
        message = f"card at line {card.start} has no name; its {fallback} is used as display name"
        card.warn(card.start, "no_name", message)
    if not name:
        raise card.fail(card.start, "empty_card", "it has no name, phone number or e-mail address")
    return name


def to_contact(card: Card, now: datetime) -> Contact:
    """Validate the gathered values as one Contact; raises CardError, never a value in a message."""
    data: dict[str, Any] = {
        "display_name": _display_name(card),
        "nickname": card.nickname,
        "phones": card.phones,
        "emails": card.emails,
        "addresses": card.addresses,
        "birthday": card.birthday,
        "organisation": card.organisation,
        "department": card.department,
        "title": card.title,
        "urls": card.urls,
        "notes": card.notes,
        "labels": list(card.labels.values()),
        "custom_fields": card.custom,
        "created_at": now,
        "updated_at": now,
        "source": {
            "format": "vcard",
            "version": card.version,
            "file": None if card.source.startswith("<") else card.source[:255],
            "line": card.start,
            "uid": card.uid[:1000] if card.uid else None,
        },
    }
    if card.name is not None:
        data["name"] = card.name
    try:
        return Contact.model_validate(data)
    except ValidationError as exc:
        raise card.fail(card.start, "invalid_card", f"invalid {validation_fields(exc)}") from None
