"""Freshness (issue 16, item 4): whose consent for a purpose has expired, or will within a window.

A policy with a refresh period (``MessengerPolicy(consent_refresh=...)``) counts a consent only while
``now - granted_at <= refresh``; a policy with notice renewals (``MessengerPolicy(renewed_notices=...)``,
`NoticeRenewal`) stops counting a consent to an older version of a notice once a renewing version applies.
After that the contact leaves the messenger book with the reason ``consent_expired`` unless another legal
basis holds. `due` lists the contacts to ask again before (or because) that happens. It reads directory
entries and returns values: it stores nothing and opens no vault.

The rules are the policy's, to the letter:

- A consent is **active** at ``now`` when it names the purpose, was granted at or before ``now`` and is
  not withdrawn at ``now`` (no withdrawal, or one dated after ``now``: not known yet). A consent granted
  after ``now`` is not known yet either and is ignored.
- An active consent **ends** at whichever comes first: ``granted_at + refresh`` (reason ``"refresh"``; it
  still counts at that moment and is **expired** when ``now - granted_at > refresh``: a consent exactly
  ``refresh`` old is due, not expired), or the ``valid_from`` of the first renewing notice version that
  applies to it (reason ``"notice_renewed"``; it no longer counts from that moment on). Without a refresh
  period and without a renewal it never ends. Time spans are Python's datetime arithmetic, as in the
  policy; for times with a fixed UTC offset (all times read from a vault) that is elapsed time.
- Of a contact's active consents, the one that **ends last** decides (without renewals: the newest).
- A contact is **due** when that consent ends at or before ``now + within``; it is **expired** when it no
  longer counts at ``now``.

Contacts without a counting consent for the purpose are **not** listed: they never consented, or they
withdrew. Asking them again is another matter (someone who withdrew must not be pestered), and so is a
contact whose other legal basis (a contract, a legitimate interest) carries the purpose: `due` looks at
consents only. So ``expired`` here is exactly the policy's ``consent_expired`` for contacts without
another basis.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from pydantic import TypeAdapter, ValidationError

from contactvault.models import ConsentRecord, DirectoryEntry
from contactvault.models._base import Purpose

__all__ = ["Due", "DueReason", "NoticeRenewal", "due", "renewal_due"]

DueReason = Literal["refresh", "notice_renewed"]
"""Why a consent ends: its refresh period runs out, or a renewing notice version applies."""

_PURPOSE: Final[TypeAdapter[str]] = TypeAdapter(Purpose)


@dataclass(frozen=True, slots=True)
class Due:
    """A contact whose consent for a purpose has expired or expires within the window.

    Attributes:
        contact_id: The contact.
        purpose: The purpose asked about.
        granted_at: When the active consent that ends last was granted.
        expires_at: When it ends: with the reason ``"refresh"``, ``granted_at + refresh`` (it counts up to
            and including this moment); with ``"notice_renewed"``, the renewing version's ``valid_from``
            (it counts up to this moment, not at it).
        expired: Whether it no longer counts at ``now``: the policy refuses the contact with
            ``consent_expired`` unless another legal basis holds.
        reason: Why it ends: ``"refresh"`` or ``"notice_renewed"``.
    """

    contact_id: uuid.UUID
    purpose: str
    granted_at: datetime
    expires_at: datetime
    expired: bool
    reason: DueReason = "refresh"


@dataclass(frozen=True, slots=True)
class NoticeRenewal:
    """A notice version that renews its notice: older consents to it need asking again.

    A consent **needs renewal** at ``now`` when it names ``notice_id`` with another version than
    ``version``, was granted before ``valid_from``, and ``valid_from <= now``. From then on it no longer
    counts: the policy (``MessengerPolicy(renewed_notices=...)``) treats it as expired, and `due` lists it
    with the reason ``"notice_renewed"``. A consent granted at or after ``valid_from`` does not need it,
    whatever version it names (the person was asked after the new version applied).

    Attributes:
        notice_id: The notice.
        version: The version that renews it.
        valid_from: When that version applies, timezone-aware.
    """

    notice_id: str
    version: str
    valid_from: datetime

    def __post_init__(self) -> None:
        if not isinstance(self.notice_id, str) or not isinstance(self.version, str):
            raise TypeError("a notice renewal's notice_id and version are strings")
        if not isinstance(self.valid_from, datetime):
            raise TypeError("a notice renewal's valid_from must be a datetime")
        if self.valid_from.tzinfo is None or self.valid_from.utcoffset() is None:
            raise ValueError("a notice renewal's valid_from must be timezone-aware")


def renewal_due(consent: ConsentRecord, renewals: Iterable[NoticeRenewal], now: datetime) -> datetime | None:
    """When the consent stopped counting because a notice version renewed it, or ``None`` if it did not.

    That is the earliest ``valid_from`` of the renewals that apply to the consent at ``now`` (see
    `NoticeRenewal`).
    """
    moments = [
        r.valid_from
        for r in renewals
        if r.notice_id == consent.notice_id
        and r.version != consent.notice_version
        and consent.granted_at < r.valid_from <= now
    ]
    return min(moments) if moments else None


def _check(purpose: str, refresh: timedelta | None, now: datetime, within: timedelta) -> None:
    if not isinstance(purpose, str):
        raise TypeError("purpose must be a string")
    try:
        _PURPOSE.validate_python(purpose, strict=True)
    except ValidationError:
        raise ValueError(
            "purpose must match ^[a-z0-9][a-z0-9_.-]*$ and have at most 100 characters"
        ) from None
    if refresh is not None and not isinstance(refresh, timedelta):
        raise TypeError("refresh must be a timedelta or None")
    if not isinstance(within, timedelta):
        raise TypeError("within must be a timedelta")
    if refresh is not None and refresh <= timedelta(0):
        raise ValueError("refresh must be positive")
    if within < timedelta(0):
        raise ValueError("within must not be negative")
    if not isinstance(now, datetime):
        raise TypeError("now must be a datetime")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")


def _renewed_at(consent: ConsentRecord, renewals: Iterable[NoticeRenewal]) -> datetime | None:
    """The first ``valid_from`` of the renewals that apply to the consent, whenever they apply."""
    moments = [
        r.valid_from
        for r in renewals
        if r.notice_id == consent.notice_id
        and r.version != consent.notice_version
        and consent.granted_at < r.valid_from
    ]
    return min(moments) if moments else None


_End = tuple[datetime, bool, DueReason]  # (when, whether it still counts at that moment, why)


def _end(consent: ConsentRecord, refresh: timedelta | None, renewals: list[NoticeRenewal]) -> _End | None:
    """When an active consent ends (``None``: never); a renewal wins a tie (it ends just before)."""
    ends: list[_End] = []
    if refresh is not None:
        ends.append((consent.granted_at + refresh, True, "refresh"))
    renewed = _renewed_at(consent, renewals)
    if renewed is not None:
        ends.append((renewed, False, "notice_renewed"))
    return min(ends, key=lambda end: end[:2]) if ends else None


def due(
    entries: Iterable[DirectoryEntry],
    *,
    purpose: str,
    refresh: timedelta | None,
    now: datetime,
    within: timedelta = timedelta(0),
    renewals: Iterable[NoticeRenewal] = (),
) -> list[Due]:
    """The contacts whose active consent for ``purpose`` that ends last ends at or before ``now + within``.

    See the module's documentation for the rules; contacts without an active consent (never given, or
    withdrawn) are not listed.

    Args:
        entries: The directory entries to look at (``list(vault)``).
        purpose: The purpose (``^[a-z0-9][a-z0-9_.-]*$``, at most 100 characters), as the policy's.
        refresh: How long a consent counts, positive; ``None``: no limit (only renewals end consents).
        now: The moment to look from, timezone-aware.
        within: How far ahead to look; zero (the default) lists the expired ones and those expiring at
            ``now`` exactly.
        renewals: The notice versions that renew their notice, as the policy's ``renewed_notices``.

    Returns:
        One `Due` per listed contact, sorted by ``expires_at``, then by contact id.

    Raises:
        ValueError: If the purpose does not match, ``refresh`` is not positive, ``within`` is negative or
            ``now`` is naive.
        TypeError: If an argument has the wrong type.
    """
    _check(purpose, refresh, now, within)
    renewing = list(renewals)
    if any(not isinstance(r, NoticeRenewal) for r in renewing):
        raise TypeError("renewals must hold NoticeRenewal values")
    horizon = now + within
    found: list[Due] = []
    for entry in entries:
        active = [
            c
            for c in entry.consents
            if c.purpose == purpose
            and c.granted_at <= now
            and (c.withdrawn_at is None or c.withdrawn_at > now)
        ]
        ends = [(_end(c, refresh, renewing), c) for c in active]
        if not ends or any(end is None for end, _ in ends):
            continue  # no active consent, or one that never ends
        last, consent = max(((e, c) for e, c in ends if e is not None), key=lambda pair: pair[0][:2])
        moment, counts_then, reason = last
        if moment <= horizon:
            found.append(
                Due(
                    contact_id=entry.id,
                    purpose=purpose,
                    granted_at=consent.granted_at,
                    expires_at=moment,
                    expired=now > moment if counts_then else now >= moment,
                    reason=reason,
                )
            )
    found.sort(key=lambda d: (d.expires_at, d.contact_id))
    return found
