"""Masking numbers in reports: number fields, and numbers hidden in free text (names, details, files).

A report that must not disclose numbers shows each as its country code and last two digits
(`contactvault.phones.mask_number`). Numbers also turn up where no number belongs: a display name such as
"Anna 0171 2345678", a file named after a number. `NumberMask.text` finds runs of digits in free text and
masks a run that is an international number (``+`` or ``00`` and at least 7 digits) or holds the digits of
one of the report's numbers (with or without its country code).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Final, Protocol

from contactvault.phones import mask_number

__all__ = ["NumberMask", "Numbered"]

# A run of digits with the separators numbers are typed with; the candidates for masking in free text.
_NUMBER_LIKE: Final = re.compile(r"(?:\+|\b00)?\d(?:[\d \-./()\u00a0]*\d)?")
_E164_MIN_DIGITS: Final = 7
_MIN_KNOWN_DIGITS: Final = 5


class _FindingNumber(Protocol):
    @property
    def number(self) -> str | None: ...


class Numbered(Protocol):
    """What `NumberMask` reads of a report's entry (an ``AuditEntry``): its numbers and its findings' numbers.

    A protocol, so that this module needs nothing of the report it masks (the report imports this module).
    """

    @property
    def numbers(self) -> Sequence[str]:
        """The entry's numbers."""
        ...

    @property
    def findings(self) -> Sequence[_FindingNumber]:
        """The entry's findings, each with the number it concerns (or ``None``)."""
        ...


class NumberMask:
    """Masks the numbers of a report's entries, wherever they appear."""

    def __init__(self, entries: Iterable[Numbered]) -> None:
        self._known: set[str] = set()
        self._shown: dict[str, str] = {}  # number -> as shown (an entry's number recurs in its findings)
        self._longest = 0
        for entry in entries:
            for raw in (*entry.numbers, *(f.number for f in entry.findings if f.number)):
                digits = _digits(raw)
                if len(digits) < _MIN_KNOWN_DIGITS:
                    continue
                self._known.add(digits)
                self._known.add(digits.lstrip("0") or digits)
                if raw.startswith("+"):  # also the number without its country code (1 to 3 digits)
                    self._known.update(
                        digits[cc:] for cc in (1, 2, 3) if len(digits) - cc >= _E164_MIN_DIGITS
                    )
                self._longest = max(self._longest, len(digits))

    def number(self, value: str) -> str:
        """A number field's value, masked."""
        shown = self._shown.get(value)
        if shown is None:
            shown = self._shown[value] = mask_number(value)
        return shown

    def text(self, value: str) -> str:
        """Free text with every number-like run that is (or holds) a number masked."""
        return _NUMBER_LIKE.sub(self._hide, value)

    def _hide(self, match: re.Match[str]) -> str:
        run = match.group(0)
        digits = _digits(run)
        international = run.startswith(("+", "00")) and len(digits) >= _E164_MIN_DIGITS
        if international or self._holds_known(digits):
            return mask_number("+" + digits.removeprefix("00") if international else run)
        return run

    def _holds_known(self, digits: str) -> bool:
        """Whether the digits of a report's number are part of ``digits`` (runs may join numbers)."""
        if len(digits) < _MIN_KNOWN_DIGITS or not self._known:
            return False
        return any(
            digits[start:end] in self._known
            for start in range(len(digits) - _MIN_KNOWN_DIGITS + 1)
            for end in range(start + _MIN_KNOWN_DIGITS, min(start + self._longest, len(digits)) + 1)
        )


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())
