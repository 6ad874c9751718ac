"""How long a policy's decision about a contact holds: the span around ``now`` in which it cannot change.

A `MessengerPolicy` decides from the contact's directory entry and ``now``. Its rules read ``now`` only by
comparing it with moments the entry (and the policy) name: a consent's grant and withdrawal, the grant
plus ``consent_refresh``, a renewing notice's ``valid_from``, a legal basis recorded, a restriction, an
objection, a messenger check and the check plus ``messenger_max_age``; and, for the rule on minors, the
date of ``now`` (in its own time zone) against the day the contact reaches ``minimum_age``. Between two
consecutive such moments, no comparison changes its answer, so neither does the decision.

`decision_window` returns that span around ``now``, as a `Window`: microseconds since the epoch (UTC) and,
for the rule on minors, ordinal days. The messenger book keeps a contact's decision with its window and
reuses it while the contact's directory entry is unchanged and a later ``now`` falls inside the window
(``contactvault.sync.book``). A policy whose rules this module does not know gets no window (``None``): its
decisions are made afresh every time.

Whoever changes a rule of `MessengerPolicy` changes the moments here with it; the property test in
tests/test_book_cache.py (a decision at any ``now`` inside the window equals the one it was made at) fails
otherwise.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, timedelta
from typing import Final, NamedTuple

from contactvault.models import DirectoryEntry
from contactvault.sync.policy import AllOf, AnyOf, MessengerPolicy, Policy, UnsafeAllowAllValidNumbers

__all__ = ["ALWAYS", "Window", "day_of", "decision_window", "instant_of"]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_US: Final = timedelta(microseconds=1)
_LOWEST: Final = -(1 << 62)
_HIGHEST: Final = 1 << 62


class Window(NamedTuple):
    """A span of moments in which a decision holds: ``start <= instant < end`` and ``first <= day < last``.

    Instants are microseconds since 1970-01-01 UTC (`instant_of`), days are proleptic ordinals of the date
    of ``now`` in its own time zone (`day_of`).
    """

    start: int
    end: int
    first: int
    last: int

    def holds(self, instant: int, day: int) -> bool:
        """Whether a decision made inside this window holds at ``instant`` on ``day``."""
        return self.start <= instant < self.end and self.first <= day < self.last

    def meet(self, other: Window) -> Window:
        """The span in both windows."""
        return Window(
            max(self.start, other.start),
            min(self.end, other.end),
            max(self.first, other.first),
            min(self.last, other.last),
        )


ALWAYS: Final = Window(_LOWEST, _HIGHEST, _LOWEST, _HIGHEST)
"""The window of a decision that does not depend on ``now``."""


def instant_of(moment: datetime) -> int:
    """Microseconds from 1970-01-01 UTC to the timezone-aware ``moment``."""
    return (moment - _EPOCH) // _US


def day_of(moment: datetime) -> int:
    """The ordinal of ``moment``'s date in its own time zone (the date the rule on minors counts with)."""
    return moment.date().toordinal()


def decision_window(policy: Policy, contact: DirectoryEntry, now: datetime) -> Window | None:
    """The span around ``now`` in which ``policy.decide(contact, now=...)`` gives the same decision.

    ``None`` for a policy whose rules are not known here (a policy class of the caller's own, a subclass).
    """
    kind = type(policy)  # exactly these classes: a subclass may decide otherwise
    if isinstance(policy, MessengerPolicy) and kind is MessengerPolicy:
        return _messenger_window(policy, contact, now)
    if kind is UnsafeAllowAllValidNumbers:
        return ALWAYS
    if isinstance(policy, AllOf | AnyOf) and kind in (AllOf, AnyOf):
        window = ALWAYS
        for member in policy.policies:
            found = decision_window(member, contact, now)
            if found is None:
                return None
            window = window.meet(found)
        return window
    return None


def _messenger_window(policy: MessengerPolicy, contact: DirectoryEntry, now: datetime) -> Window:
    """Every moment at which a comparison of `MessengerPolicy` with ``now`` can change its answer."""
    moments: list[datetime] = []  # compared as datetimes (aware: by their UTC instant), converted twice
    add = moments.append
    refresh = policy.consent_refresh
    renewals = policy.renewed_notices
    for consent in contact.consents:  # all purposes: a moment too many only narrows the window
        add(consent.granted_at)  # granted_at <= now
        if consent.withdrawn_at is not None:
            add(consent.withdrawn_at)  # withdrawn_at > now
        if refresh is not None:
            _add_after(moments, consent.granted_at, refresh)  # now - granted_at > refresh
        for renewal in renewals:
            if renewal.notice_id == consent.notice_id:
                add(renewal.valid_from)  # valid_from <= now
    for basis in contact.legal_bases:
        if basis.recorded_at is not None:
            add(basis.recorded_at)
    if contact.restricted_at is not None:
        add(contact.restricted_at)
    for objection in contact.objections:
        add(objection.objected_at)
    max_age = policy.messenger_max_age
    for phone in contact.phones:
        presence = phone.messenger
        if presence is not None:
            add(presence.checked_at)  # checked_at > now
            if max_age is not None:
                _add_after(moments, presence.checked_at, max_age)  # now - checked_at > max_age
    start: datetime | None = None  # the last moment at or before now, and the first after it
    end: datetime | None = None
    for moment in moments:
        if moment <= now:
            if start is None or moment > start:
                start = moment
        elif end is None or moment < end:
            end = moment
    first, last = _LOWEST, _HIGHEST
    if contact.birth_date is not None:
        of_age = _of_age(contact.birth_date, policy.minimum_age)
        if day_of(now) < of_age:
            last = of_age
        else:
            first = of_age
    return Window(
        _LOWEST if start is None else instant_of(start),
        _HIGHEST if end is None else instant_of(end),
        first,
        last,
    )


def _add_after(moments: list[datetime], moment: datetime, span: timedelta) -> None:
    """Add the first moment more than ``span`` after ``moment``, unless it is past the last datetime."""
    with contextlib.suppress(OverflowError):  # past the last datetime: no now comes after it
        moments.append(moment + span + _US)


def _of_age(born: date, years: int) -> int:
    """The ordinal of the first day on which someone born on ``born`` is ``years`` old (29 Feb: 1 March)."""
    year = born.year + years
    if year > date.max.year:
        return _HIGHEST
    try:
        return date(year, born.month, born.day).toordinal()
    except ValueError:  # 29 February in a year without one
        return date(year, 3, 1).toordinal()
