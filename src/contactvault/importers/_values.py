"""Text, date and error helpers that both importers (vCard and CSV) use, so their values read alike."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from contactvault.models import Birthday

__all__ = [
    "PHONE_PROBLEMS",
    "clean_text",
    "fallback_display_name",
    "one_line",
    "parse_birthday",
    "validation_fields",
]

PHONE_PROBLEMS = {
    "invalid_number": "not a valid number for its region",
    "not_a_number": "not a phone number",
    "no_country_code": "no country code and no default region given",
}
"""How issue messages explain a phone's ``problem``."""

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_BREAKING = frozenset({"Cc", "Zl", "Zp"})  # control characters, line and paragraph separators
_BDAY = re.compile(r"(?:(\d{4})-?|--)(\d{2})-?(\d{2})(?:T.*)?", re.DOTALL)
_APPLE_NO_YEAR = 1604  # Apple writes this year for "no year"


def clean_text(text: str) -> str:
    """Line breaks to LF; other control characters (which no address book means) removed."""
    if text.isprintable():
        return text
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text)


def one_line(text: str) -> str:
    """A value for a one-line field such as a name: control characters and line breaks become spaces."""
    if text.isprintable():
        return text.strip()
    return "".join(" " if unicodedata.category(ch) in _BREAKING else ch for ch in text).strip()


def parse_birthday(text: str, omit_year: int | None = None) -> dict[str, int | None] | None:
    """``1980-03-22``, ``19800322``, ``--0322``, ``--03-22``, Apple's ``1604-03-22``, with or without time.

    Returns the fields of a valid ``Birthday``, or None. The year 0, Apple's
    1604 and ``omit_year`` (Apple's ``X-APPLE-OMIT-YEAR`` value) mean "no year".
    """
    match = _BDAY.fullmatch(text.strip())
    if not match:
        return None
    year_text, month, day = match.groups()
    year = int(year_text) if year_text else None
    if year in (0, _APPLE_NO_YEAR, omit_year):
        year = None
    try:
        Birthday(year=year, month=int(month), day=int(day))
    except ValidationError:
        return None
    return {"year": year, "month": int(month), "day": int(day)}


def validation_fields(error: ValidationError) -> str:
    """Where and why validation failed, e.g. ``phones.1.label (string_too_long)``; never the value."""
    problems = dict.fromkeys(
        f"{'.'.join(str(part) for part in e['loc'])} ({e['type']})"
        for e in error.errors(include_input=False)
        if e["loc"]
    )
    return ", ".join(list(problems)[:5]) or "its values"


def fallback_display_name(
    name: Mapping[str, str],
    nickname: str,
    organisation: str,
    emails: Sequence[Mapping[str, Any]],
    phones: Sequence[Mapping[str, Any]],
) -> tuple[str, str | None]:
    """A display name for an entry that gives none: its name parts, nickname or organisation.

    Failing those, the first e-mail address or number, returned with what it is ("e-mail address",
    "phone number") so that the importer can warn that no name was given. ``("", None)``: nothing at all.
    """
    parts = (name.get(part, "") for part in ("prefixes", "given", "additional", "family", "suffixes"))
    for candidate in (" ".join(p for p in parts if p), nickname, organisation):
        if candidate:
            return candidate, None
    if emails:
        return str(emails[0]["address"]), "e-mail address"
    if phones:
        return str(phones[0]["raw"]), "phone number"
    return "", None
