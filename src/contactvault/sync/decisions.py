"""What a sync policy returns: the decision about a contact and each of its numbers, with reason codes.

Every refusal carries stable reason codes (`REASONS`), so that a decision can be explained to a person and
recorded in the disclosure log. `Decision` and `NumberDecision` check that their fields agree; the helpers
below are what every policy of ``contactvault.sync.policy`` builds its decisions and digests with. Nothing
here stores, logs, or puts a name, a number or a label into an exception message or a ``repr()``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Literal, get_args

__all__ = [
    "REASONS",
    "RULES_VERSION",
    "Decision",
    "NumberDecision",
    "Reason",
    "decision_from",
    "resolve_now",
    "settings_digest",
]

Reason = Literal[
    "no_number",
    "invalid_number",
    "not_mobile",
    "no_messenger",
    "messenger_check_expired",
    "no_legal_basis",
    "consent_withdrawn",
    "consent_expired",
    "restricted",
    "objected",
    "minor",
    "label_excluded",
]
"""Why a number may not reach the messenger. The codes are stable: logs and reports rely on them."""

REASONS: Final[tuple[Reason, ...]] = get_args(Reason)
"""Every reason code, in the order `MessengerPolicy` checks the rules."""

_KNOWN_REASONS: Final = frozenset(REASONS)

RULES_VERSION: Final = 1
"""Part of every digest: raised whenever the meaning of a rule changes, so that old digests stop matching."""


def _sorted_reasons(reasons: Iterable[Reason]) -> tuple[Reason, ...]:
    """The reasons sorted alphabetically, each once."""
    return tuple(sorted(set(reasons)))


def resolve_now(now: datetime | None) -> datetime:
    """``now`` itself if it is timezone-aware, the current UTC time if it is ``None``; naive is an error."""
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    return now


def settings_digest(settings: dict[str, object]) -> str:
    """SHA-256 of the settings as canonical JSON (sorted keys, no spaces, ASCII only)."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


@dataclass(frozen=True, slots=True)
class NumberDecision:
    """The decision about one of a contact's numbers.

    Attributes:
        e164: The number's E.164 form, or ``None`` if it has none. Left out of ``repr()``.
        allowed: Whether the number may reach the messenger.
        reasons: Why not, sorted alphabetically, each code once; empty exactly when ``allowed``.

    Raises:
        ValueError: If the fields contradict each other (an allowed number without E.164 form or with
            reasons, a refused number without a reason) or a reason code is unknown.
    """

    e164: str | None = field(repr=False)
    allowed: bool
    reasons: tuple[Reason, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "reasons", _sorted_reasons(self.reasons))
        if not _KNOWN_REASONS.issuperset(self.reasons):
            raise ValueError("unknown reason code")
        if self.allowed and (self.e164 is None or self.reasons):
            raise ValueError("an allowed number has an E.164 form and no reasons")
        if not self.allowed and not self.reasons:
            raise ValueError("a refused number needs at least one reason")


@dataclass(frozen=True, slots=True)
class Decision:
    """The decision about one contact: which of its numbers may reach the messenger, and why not.

    Attributes:
        allowed: ``True`` exactly when at least one number is allowed.
        reasons: When not allowed, every reason found (for any number, and for the contact as a whole),
            sorted alphabetically, each code once. Empty when allowed: the refused numbers of an allowed
            contact explain themselves in ``per_number``.
        numbers: The allowed E.164 numbers, in the contact's order, without repeats. Left out of
            ``repr()``.
        per_number: One `NumberDecision` per phone of the contact, in the contact's order (a number the
            contact holds twice is decided twice).

    Raises:
        ValueError: If the fields contradict each other.
    """

    allowed: bool
    reasons: tuple[Reason, ...]
    numbers: tuple[str, ...] = field(repr=False)
    per_number: tuple[NumberDecision, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "reasons", _sorted_reasons(self.reasons))
        if not _KNOWN_REASONS.issuperset(self.reasons):
            raise ValueError("unknown reason code")
        if self.allowed != bool(self.numbers):
            raise ValueError("a decision is allowed exactly when it has numbers")
        if self.allowed == bool(self.reasons):
            raise ValueError("a decision has reasons exactly when it is not allowed")
        if self.numbers != _allowed_numbers(self.per_number):
            raise ValueError("numbers must be the allowed numbers of per_number, in order, without repeats")


def _allowed_numbers(per_number: Iterable[NumberDecision]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n.e164 for n in per_number if n.allowed and n.e164 is not None))


def decision_from(per_number: Sequence[NumberDecision], contact_reasons: Iterable[Reason]) -> Decision:
    """The contact's decision from its numbers' decisions and the reasons that hold for the whole contact."""
    numbers = _allowed_numbers(per_number)
    if numbers:
        return Decision(allowed=True, reasons=(), numbers=numbers, per_number=tuple(per_number))
    reasons: set[Reason] = {reason for number in per_number for reason in number.reasons}
    reasons.update(contact_reasons)
    if not per_number:
        reasons.add("no_number")
    return Decision(allowed=False, reasons=_sorted_reasons(reasons), numbers=(), per_number=tuple(per_number))


# --- decisions a policy of this package makes -------------------------------------------------------------
# The public constructors check that the fields agree. A policy of ``contactvault.sync.policy`` whose rules
# guarantee it (``MessengerPolicy``) builds its decisions with these instead, which skip the checks and the
# sorting; tests/test_book_speed.py rebuilds random decisions with the checking constructors and compares.

_new = object.__new__
_set = object.__setattr__


def number_decided(e164: str | None, reasons: tuple[Reason, ...]) -> NumberDecision:
    """A `NumberDecision` without the constructor's checks: allowed exactly when ``reasons`` is empty.

    The caller guarantees what the constructor checks: ``reasons`` known codes, sorted, each once; ``e164``
    not ``None`` when there is none.
    """
    made: NumberDecision = _new(NumberDecision)
    _set(made, "e164", e164)
    _set(made, "allowed", not reasons)
    _set(made, "reasons", reasons)
    return made


def decided(per_number: tuple[NumberDecision, ...], contact_reasons: Iterable[Reason]) -> Decision:
    """`decision_from` without the constructor's checks, for number decisions made as the rules say.

    The caller guarantees what `NumberDecision` checks of each of ``per_number``, and that
    ``contact_reasons`` are known codes.
    """
    made: Decision = _new(Decision)
    numbers = _allowed_numbers(per_number)
    if numbers:
        reasons: tuple[Reason, ...] = ()
    else:
        found: set[Reason] = {reason for number in per_number for reason in number.reasons}
        found.update(contact_reasons)
        if not per_number:
            found.add("no_number")
        reasons = tuple(sorted(found))
    _set(made, "allowed", bool(numbers))
    _set(made, "reasons", reasons)
    _set(made, "numbers", numbers)
    _set(made, "per_number", per_number)
    return made
