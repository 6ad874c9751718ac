"""Telephone numbers: normalisation to E.164 with phonenumbers, and the kind of line.

A number without a country code can only be read with a default region, and there is no hidden default:
the caller passes one (``"DE"``), or ``None`` to accept international numbers only. The number as typed is
always kept; a number that cannot be normalised is kept with ``e164=None`` and a ``problem``, never dropped.

phonenumbers costs tens of microseconds per number, and address books repeat numbers (a switchboard, a
family landline), so results are cached per (string, region).
"""

from __future__ import annotations

import functools
import traceback
from collections.abc import Sequence
from typing import NamedTuple

import phonenumbers
from phonenumbers import (
    COUNTRY_CODE_TO_REGION_CODE,
    NumberParseException,
    PhoneNumberFormat,
    PhoneNumberType,
)

from contactvault.errors import InvalidRegion
from contactvault.models import Phone, PhoneKind, PhoneProblem, is_e164

__all__ = [
    "NumberInfo",
    "check_region",
    "mask_number",
    "normalize_phone",
    "parse_number",
    "parse_numbers",
]

MAX_RAW_LENGTH = 200
"""Longer strings are not read as numbers (phonenumbers itself gives up at 250 characters)."""

_KINDS: dict[int, PhoneKind] = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "fixed",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_or_mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "personal",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
}


class NumberInfo(NamedTuple):
    """What phonenumbers makes of one string: E.164 form or the problem, region, kind, extension."""

    e164: str | None
    region: str | None
    kind: PhoneKind
    extension: str | None
    problem: PhoneProblem | None


def check_region(region: str | None) -> str | None:
    """Return the region code in upper case, or raise ``InvalidRegion`` if phonenumbers does not know it.

    ``None`` is allowed and means: read only numbers that carry their country code.
    """
    if region is None:
        return None
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidRegion("default region must be a two-letter region code such as 'DE' or 'AT', or None")
    return code


def _clean(raw: str) -> str:
    # Control characters and odd spaces never belong to a number; phonenumbers treats the rest.
    if raw.isprintable():
        return raw.strip()
    return "".join(ch if ch.isprintable() else " " for ch in raw).strip()


CACHE_SIZE = 8_192
"""Numbers remembered: enough for the switchboards and family lines an address book repeats, and small
enough (about 3 MiB when full, as the benchmark measures) that memory does not grow with the file."""


@functools.lru_cache(maxsize=CACHE_SIZE)
def parse_number(raw: str, default_region: str | None) -> NumberInfo:
    """Normalise one number string; cached. ``default_region`` must already be checked (see `check_region`).

    Handles the forms real address books hold: ``+49 (0) 30 ...``, ``0049 ...``, ``030/...``,
    ``tel:+49-30-123;ext=5``, dots, dashes and spaces. Never raises for any string.
    """
    text = _clean(raw)
    if not text or len(text) > MAX_RAW_LENGTH:
        return NumberInfo(None, None, "unknown", None, "not_a_number")
    try:
        number = phonenumbers.parse(text, default_region)
    except NumberParseException as exc:
        problem: PhoneProblem = (
            "no_country_code"
            if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE and default_region is None
            else "not_a_number"
        )
        # phonenumbers raises inside an ``except`` block, which leaves a reference cycle (frame ->
        # exception -> traceback -> frame) that holds the caller's frames, and whatever they hold, until
        # the cyclic collector runs. Clearing the frames' variables breaks it.
        while exc is not None:
            traceback.clear_frames(exc.__traceback__)
            exc = exc.__context__  # type: ignore[assignment]
        return NumberInfo(None, None, "unknown", None, problem)
    extension = number.extension or None
    # number_type() finds the region the number belongs to and matches its patterns: UNKNOWN is exactly
    # the case in which is_valid_number() would say False, so one call answers both questions.
    number_type = phonenumbers.number_type(number)
    if number_type == PhoneNumberType.UNKNOWN:
        return NumberInfo(None, None, "unknown", extension, "invalid_number")
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    if not is_e164(e164):  # phonenumbers' metadata allows a few national numbers beyond E.164's 15 digits
        return NumberInfo(None, None, "unknown", extension, "invalid_number")
    region = phonenumbers.region_code_for_number(number)
    return NumberInfo(e164, region, _KINDS.get(number_type, "unknown"), extension, None)


def parse_numbers(raws: Sequence[str], default_region: str | None) -> list[NumberInfo]:
    """`parse_number` for many strings, in order; a top-level function so helper processes can run it."""
    return [parse_number(raw, default_region) for raw in raws]


def normalize_phone(
    raw: str,
    *,
    default_region: str | None,
    label: str | None = None,
    types: tuple[str, ...] = (),
    preferred: bool = False,
) -> Phone:
    """Build a ``Phone`` from a number string as typed.

    ``default_region`` is the region assumed for numbers without a country code (``"DE"``), or ``None``.
    The result always keeps ``raw``; if the number cannot be normalised, ``e164`` is ``None`` and
    ``problem`` says why. An empty string, or one longer than `MAX_RAW_LENGTH`, is not a phone at all and
    raises ``ValueError`` (a pydantic ``ValidationError``, which never shows the value).
    """
    info = parse_number(raw, check_region(default_region))
    return Phone(
        raw=raw.strip(),
        e164=info.e164,
        region=info.region,
        kind=info.kind,
        extension=info.extension,
        label=label,
        types=types,
        preferred=preferred,
        problem=info.problem,
    )


def mask_number(number: str, *, keep: int = 2) -> str:
    """A number as reports show it when they must not disclose it: the country code and the last digits.

    ``+4917612345678`` becomes ``+49 ••••••••• 78``: enough for a person holding the phone to find the
    entry, not enough to call it. Anything that is not an E.164 number keeps only its last ``keep``
    digits. ``keep`` is at most 4.
    """
    if not 0 <= keep <= 4:
        raise ValueError("keep must be between 0 and 4")
    digits = "".join(ch for ch in number if ch.isdigit())
    tail = digits[-keep:] if keep and len(digits) > keep + 4 else ""
    if is_e164(number):
        # Country codes are prefix-free: the first one to three digits that are one, are it.
        country = next((digits[:n] for n in (1, 2, 3) if int(digits[:n]) in COUNTRY_CODE_TO_REGION_CODE), "")
        hidden = max(len(digits) - len(country) - len(tail), 0)
        head = f"+{country} " if country else "+"
        return f"{head}{'•' * hidden}{' ' + tail if tail else ''}"
    hidden = max(len(digits) - len(tail), 1)
    return f"{'•' * hidden}{' ' + tail if tail else ''}"
