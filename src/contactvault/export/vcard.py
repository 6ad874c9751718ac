"""Writing vCards: RFC-correct escaping and folding, and a contact's full card.

`contact_to_vcard` writes everything a ``Contact`` holds that vCard can carry
(for a portable export or a round trip through a phone). It is not for messengers: what may go to a
messenger is written from a ``MessengerBook`` only, which holds names and numbers and nothing else.

Lines end in CRLF and are folded at 75 octets without splitting a UTF-8 character.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Literal

from contactvault.models import Contact, Phone

__all__ = ["contact_to_vcard", "contacts_to_vcard", "escape_text", "fold"]

VCardVersion = Literal["3.0", "4.0"]
MAX_LINE_OCTETS = 75
_SURROGATES = re.compile("[\ud800-\udfff]")


def escape_text(value: str) -> str:
    r"""Escape a text value as RFC 6350 asks: backslash, comma, semicolon, and every line break as ``\n``.

    Besides CR and LF, the other characters that some readers take for a line end (vertical tab, form
    feed, U+0085, U+2028, U+2029, ...) become ``\n`` too, and the remaining control characters but
    the tab are dropped: no value can break the card's structure.
    """
    value = value.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;").replace("\r\n", "\n")
    value = _LINE_BREAKS.sub("\\\\n", value)
    return _CONTROLS.sub("", value)


def fold(line: str) -> str:
    """Fold one content line at 75 octets, never inside a UTF-8 character; returns CRLF-terminated text.

    A vCard is UTF-8: a lone surrogate, which has no UTF-8 form, is written as U+FFFD.
    """
    try:
        data = line.encode("utf-8")
    except UnicodeEncodeError:
        line = _SURROGATES.sub("\ufffd", line)
        data = line.encode("utf-8")
    if len(data) <= MAX_LINE_OCTETS:
        return line + "\r\n"
    chunks: list[bytes] = []
    limit = MAX_LINE_OCTETS
    while data:
        cut = min(limit, len(data))
        while cut < len(data) and (data[cut] & 0xC0) == 0x80:  # a continuation byte: step back
            cut -= 1
        chunks.append(data[:cut])
        data = data[cut:]
        limit = MAX_LINE_OCTETS - 1  # continuation lines start with one space
    return "\r\n ".join(c.decode("utf-8") for c in chunks) + "\r\n"


# Standard properties a custom field may be written back as: each may repeat without changing the card's
# structure. Everything else (BEGIN, END, VERSION, UID, N, FN, BDAY, TEL, ...) becomes an X- name.
_REPEATABLE = frozenset(
    {
        "ROLE", "TITLE", "ORG", "NICKNAME", "GEO", "TZ", "IMPP", "LANG", "RELATED", "LABEL", "MAILER",
        "CLASS", "FBURL", "CALURI", "CALADRURI", "EXPERTISE", "HOBBY", "INTEREST", "ORG-DIRECTORY",
    }
)  # fmt: skip
_NOT_NAME = re.compile(r"[^A-Z0-9-]+")
# What str.splitlines() and some vCard readers take for a line end; and the other control characters.
_LINE_BREAKS = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f\x7f]")


def _property_name(name: str) -> str:
    """A safe property name for a custom field: ASCII ``X-...`` or a repeatable standard property."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").upper()
    ascii_name = _NOT_NAME.sub("-", ascii_name).strip("-")
    if ascii_name in _REPEATABLE or (ascii_name.startswith("X-") and len(ascii_name) > 2):
        return ascii_name
    return f"X-CONTACTVAULT-{ascii_name or 'FIELD'}"


def _one_line(value: str) -> str:
    """A value that is not text (a number, a URI): no escapes, but no line break either."""
    return "".join(ch if ch.isprintable() else " " for ch in value)


def _param(types: Iterable[str], preferred: bool, version: VCardVersion) -> str:
    values = [t for t in types if t and t.replace("-", "").isalnum()]
    params = f";TYPE={','.join(values)}" if values else ""
    if preferred:
        params += ";PREF=1" if version == "4.0" else ";TYPE=pref"
    return params


def _tel_value(phone: Phone, version: VCardVersion) -> tuple[str, str]:
    """(extra params, value): vCard 4 writes a ``tel:`` URI when the number is normalised."""
    if version == "4.0" and phone.e164 is not None:
        ext = f";ext={phone.extension}" if phone.extension else ""
        return ";VALUE=uri", f"tel:{phone.e164}{ext}"
    if version == "4.0":  # vCard 4's default TEL value type is text
        return "", escape_text(phone.raw)
    # A vCard 3 phone-number value is not text: no escapes, but never a line break.
    return "", _one_line(phone.raw)


def _lines(contact: Contact, version: VCardVersion) -> Iterator[str]:
    group = 0

    def labelled(line: str, label: str | None) -> Iterator[str]:
        nonlocal group
        if not label:
            yield line
            return
        group += 1
        yield f"item{group}.{line}"
        yield f"item{group}.X-ABLabel:{escape_text(label)}"

    yield "BEGIN:VCARD"
    yield f"VERSION:{version}"
    yield f"UID:urn:uuid:{contact.id}"
    yield f"FN:{escape_text(contact.display_name)}"
    n = contact.name
    parts = (n.family, n.given, n.additional, n.prefixes, n.suffixes)
    yield "N:" + ";".join(escape_text(p) for p in parts)
    if contact.nickname:
        yield f"NICKNAME:{escape_text(contact.nickname)}"
    for phone in contact.phones:
        extra, value = _tel_value(phone, version)
        params = _param(phone.types, phone.preferred, version)
        yield from labelled(f"TEL{extra}{params}:{value}", phone.label)
    for email in contact.emails:
        params = _param(email.types, email.preferred, version)
        yield from labelled(f"EMAIL{params}:{escape_text(email.address)}", email.label)
    for adr in contact.addresses:
        params = _param(adr.types, adr.preferred, version)
        fields = (adr.po_box, adr.extended, adr.street, adr.locality, adr.region)
        value = ";".join(escape_text(p) for p in (*fields, adr.postal_code, adr.country))
        yield from labelled(f"ADR{params}:{value}", adr.label)
    if contact.birthday is not None:
        bday = contact.birthday
        if bday.year is not None and version == "4.0":  # RFC 6350 dates have the basic form only
            yield f"BDAY:{bday.year:04d}{bday.month:02d}{bday.day:02d}"
        elif bday.year is not None:
            yield f"BDAY:{bday.iso()}"
        elif version == "4.0":
            yield f"BDAY:--{bday.month:02d}{bday.day:02d}"
        else:  # vCard 3.0 has no date without a year; Apple's convention is understood widely
            yield f"BDAY;X-APPLE-OMIT-YEAR=1604:1604-{bday.month:02d}-{bday.day:02d}"
    if contact.organisation or contact.department:
        yield f"ORG:{escape_text(contact.organisation)};{escape_text(contact.department)}"
    if contact.title:
        yield f"TITLE:{escape_text(contact.title)}"
    for url in contact.urls:  # a URI, not text: no escapes, but never a line break
        yield f"URL:{_one_line(url)}"
    for note in contact.notes:
        yield f"NOTE:{escape_text(note)}"
    if contact.labels:
        yield "CATEGORIES:" + ",".join(escape_text(label.name) for label in contact.labels)
    for custom in contact.custom_fields:
        yield from labelled(f"{_property_name(custom.name)}:{escape_text(custom.value)}", custom.label)
    yield "END:VCARD"


def contact_to_vcard(contact: Contact, version: VCardVersion = "4.0") -> str:
    """One contact as a full vCard (every field vCard can carry; photos were never stored)."""
    return "".join(fold(line) for line in _lines(contact, version))


def contacts_to_vcard(contacts: Iterable[Contact], version: VCardVersion = "4.0") -> str:
    """Several contacts as one vCard file's text."""
    return "".join(contact_to_vcard(c, version) for c in contacts)
