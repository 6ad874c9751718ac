"""Freshness (issue 16, item 4): whose consent for a purpose has expired, or will within a window.

A policy with a refresh period (``MessengerPolicy(consent_refresh=...)``) counts a consent only while
``now - granted_at <= refresh``; after that the contact leaves the messenger book with the reason
``consent_expired`` unless another legal basis holds. `due` lists the contacts to ask again before (or
because) that happens. It reads directory entries and returns values: it stores nothing and opens no
vault.

The rules are the policy's, to the letter:

- A consent counts at ``now`` when it names the purpose, was granted at or before ``now`` and is not
  withdrawn at ``now`` (no withdrawal, or one dated after ``now``: not known yet). A consent granted after
  ``now`` is not known yet either and is ignored.
- Of a contact's counting consents, the **newest** decides (the latest ``granted_at``): it expires last.
- It **expires** at ``granted_at + refresh`` and is **expired** when ``now - granted_at > refresh``. A
  consent exactly ``refresh`` old still counts: it is due (it expires at ``now``), not expired. Time spans
  are Python's datetime arithmetic, as in the policy; for times with a fixed UTC offset (all times read
  from a vault) that is elapsed time.
- A contact is **due** when that consent expires at or before ``now + within``.

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
from typing import Final

from pydantic import TypeAdapter, ValidationError

from contactvault.models import DirectoryEntry
from contactvault.models._base import Purpose

__all__ = ["Due", "due"]

_PURPOSE: Final[TypeAdapter[str]] = TypeAdapter(Purpose)


@dataclass(frozen=True, slots=True)
class Due:
    """A contact whose consent for a purpose has expired or expires within the window.

    Attributes:
        contact_id: The contact.
        purpose: The purpose asked about.
        granted_at: When the newest consent that counts was granted.
        expires_at: ``granted_at + refresh``: the consent counts up to and including this moment.
        expired: Whether it no longer counts at ``now`` (``now - granted_at > refresh``): the policy
            refuses the contact with ``consent_expired`` unless another legal basis holds.
    """

    contact_id: uuid.UUID
    purpose: str
    granted_at: datetime
    expires_at: datetime
    expired: bool


def _check(purpose: str, refresh: timedelta, now: datetime, within: timedelta) -> None:
    if not isinstance(purpose, str):
        raise TypeError("purpose must be a string")
    try:
        _PURPOSE.validate_python(purpose, strict=True)
    except ValidationError:
        raise ValueError(
            "purpose must match ^[a-z0-9][a-z0-9_.-]*$ and have at most 100 characters"
        ) from None
    for name, span in (("refresh", refresh), ("within", within)):
        if not isinstance(span, timedelta):
            raise TypeError(f"{name} must be a timedelta")
    if refresh <= timedelta(0):
        raise ValueError("refresh must be positive")
    if within < timedelta(0):
        raise ValueError("within must not be negative")
    if not isinstance(now, datetime):
        raise TypeError("now must be a datetime")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")


def due(
    entries: Iterable[DirectoryEntry],
    *,
    purpose: str,
    refresh: timedelta,
    now: datetime,
    within: timedelta = timedelta(0),
) -> list[Due]:
    """The contacts whose newest counting consent for ``purpose`` expires at or before ``now + within``.

    See the module's documentation for the rules; contacts without a counting consent (never given, or
    withdrawn) are not listed.

    Args:
        entries: The directory entries to look at (``list(vault)``).
        purpose: The purpose (``^[a-z0-9][a-z0-9_.-]*$``, at most 100 characters), as the policy's.
        refresh: How long a consent counts; positive.
        now: The moment to look from, timezone-aware.
        within: How far ahead to look; zero (the default) lists the expired ones and those expiring at
            ``now`` exactly.

    Returns:
        One `Due` per listed contact, sorted by ``expires_at``, then by contact id.

    Raises:
        ValueError: If the purpose does not match, ``refresh`` is not positive, ``within`` is negative or
            ``now`` is naive.
        TypeError: If an argument has the wrong type.
    """
    _check(purpose, refresh, now, within)
    found: list[Due] = []
    for entry in entries:
        active = [
            c.granted_at
            for c in entry.consents
            if c.purpose == purpose
            and c.granted_at <= now
            and (c.withdrawn_at is None or c.withdrawn_at > now)
        ]
        if not active:
            continue
        granted_at = max(active)
        age = now - granted_at
        if age + within >= refresh:
            found.append(
                Due(
                    contact_id=entry.id,
                    purpose=purpose,
                    granted_at=granted_at,
                    expires_at=granted_at + refresh,
                    expired=age > refresh,
                )
            )
    found.sort(key=lambda d: (d.expires_at, d.contact_id))
    return found
