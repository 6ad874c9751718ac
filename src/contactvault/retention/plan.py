"""The retention plan: which contacts a schedule erases or strips at a moment, why, and from when.

`plan` is a pure function of the directory entries, the `Schedule`, ``now`` and what earlier strips
removed: it reads no CRM payload, stores nothing, and gives the same plan for the same input. The vault
applies exactly such a plan (``Vault.apply_retention``).

The definitions, to the letter:

- **Known at now.** Anything dated after ``now`` is not known yet and is ignored (as by the sync policy);
  a contact created after ``now`` is not looked at.
- **Last activity** is the latest of these moments at or before ``now``: the contact's ``created_at`` and
  ``updated_at`` (any change of its record: an edit, a label, a consent, a presence check recorded; a
  retention strip keeps ``updated_at`` and so is no activity), each consent's ``granted_at`` and
  ``withdrawn_at``, each legal basis's ``recorded_at``, each objection's ``objected_at`` and the
  restriction's ``restricted_at``. A messenger presence's ``checked_at`` alone is not: it says whether a
  number uses the messenger, not that the person was in contact.
- **A legal basis for a purpose holds** at ``now`` when a consent for it was granted at or before ``now``,
  is not withdrawn at ``now`` and, if the schedule gives the purpose ``consent_refresh_months``, was
  granted at most that many months before (the sync policy's rule for consents); or when a `LegalBasis`
  for the purpose recorded at or before ``now`` (or undated) names any point of Art. 6(1) but (a). Unlike
  the messenger policy, a legal obligation (c), vital interests (d) and a public task (e) count here:
  they are reasons to keep data, not to hand it to a messenger. A bare 6(1)(a) proves no consent.
- **A purpose is still needed** when the schedule lists it, and, if it gives ``needed_months``, ``now`` is
  before the contact's last activity plus that many months.
- **The rule that matters:** a contact with a legal basis that holds for a purpose still needed is never
  erased, and a strip never removes a field such a purpose needs. Purposes the schedule does not list
  protect nothing: listing them is the schedule's statement of what the business still needs.
- **A rule selects** a contact when every condition of its `Selector` holds, the contact has had no
  activity for ``inactive_months`` (calendar months, the day clamped to the month's end), and the action
  changes something: an erase that no needed purpose blocks, or a strip that still has fields to remove
  (those it removes, less the protected ones, less those stripped since the last activity).
- **Which rule:** the first selecting ``erase`` rule in the schedule's order, else the first selecting
  ``strip`` rule.
- **From when** (``since``): the moment from which the selection holds: the later of the end of the
  inactivity period, the end of the last legal basis (for ``no_basis`` and ``no_basis_for``; the creation
  if there never was one), the restriction (for ``restricted = true``) and the end of the need of each
  purpose whose basis still holds but whose need has ended.
"""

from __future__ import annotations

import calendar
import json
import unicodedata
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from contactvault.models import DirectoryEntry
from contactvault.retention.schedule import Action, Rule, Schedule, StripField

__all__ = [
    "PLAN_SCHEMA",
    "PlanItem",
    "Reason",
    "RetentionPlan",
    "Stripped",
    "add_months",
    "basis_holds",
    "last_activity",
    "plan",
    "protected_purposes",
]

PLAN_SCHEMA: Final = "contactvault.retention-plan/1"
"""The ``schema`` value of :meth:`RetentionPlan.to_dict`."""

Reason = Literal["no_basis", "has_basis", "no_basis_for_purpose", "label", "restricted", "inactive"]
"""Why a rule selected a contact, one code per condition that held:

- ``no_basis``: no legal basis holds for any purpose (``no_basis = true``);
- ``has_basis``: some legal basis holds (``no_basis = false``);
- ``no_basis_for_purpose``: none holds for the rule's purpose (``no_basis_for``);
- ``label``: the contact has the rule's label;
- ``restricted``: processing is restricted (``restricted = true``);
- ``inactive``: no activity for the rule's ``inactive_months`` (always given).
"""

Stripped = Mapping[uuid.UUID, Sequence[tuple[datetime, Iterable[str]]]]
"""What earlier strips removed, by contact: the ``now`` each was applied at and the fields it removed."""

_ALLOWED_BASES: Final = frozenset({"6(1)(b)", "6(1)(c)", "6(1)(d)", "6(1)(e)", "6(1)(f)"})


@dataclass(frozen=True, slots=True)
class PlanItem:
    """One contact a plan selects: who, by which rule, why, from when, and what happens.

    Attributes:
        contact_id: The contact.
        version: The version of its directory entry the plan was made from (the vault applies the item
            only to that version).
        rule: The rule's name.
        action: ``erase`` or ``strip``.
        reasons: The conditions that held (see `Reason`).
        since: From when the selection holds.
        last_activity: The contact's last activity (see the module docstring).
        removes: For ``strip``, the fields removed, in the order of ``STRIPPABLE``; ``()`` for ``erase``,
            which removes everything.
    """

    contact_id: uuid.UUID
    version: int
    rule: str
    action: Action
    reasons: tuple[Reason, ...]
    since: datetime
    last_activity: datetime
    removes: tuple[StripField, ...]

    def to_dict(self) -> dict[str, Any]:
        """The item as JSON data (the contact's full id; no name, number or other value)."""
        return {
            "contact": str(self.contact_id),
            "version": self.version,
            "rule": self.rule,
            "action": self.action,
            "reasons": list(self.reasons),
            "since": self.since.isoformat(),
            "last_activity": self.last_activity.isoformat(),
            "removes": list(self.removes),
        }


@dataclass(frozen=True, slots=True)
class RetentionPlan:
    """What a schedule does at ``now``: one `PlanItem` per selected contact, in the vault's order.

    Attributes:
        now: The moment the plan is for.
        schedule_digest: The schedule's digest (``Schedule.digest``).
        items: The selected contacts.
    """

    now: datetime
    schedule_digest: str
    items: tuple[PlanItem, ...]

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON data: ``schema``, ``now``, ``schedule`` (its digest) and ``items``."""
        return {
            "schema": PLAN_SCHEMA,
            "now": self.now.isoformat(),
            "schedule": self.schedule_digest,
            "items": [item.to_dict() for item in self.items],
        }

    def to_json(self) -> str:
        """The plan as indented JSON text, ending with a newline."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n"


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` plus ``months`` calendar months, the day clamped to the month's end (31 Jan + 1: 28 Feb)."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _fold(name: str) -> str:
    """A label name for caseless comparison, as the sync policy compares them."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


def last_activity(entry: DirectoryEntry, now: datetime) -> datetime | None:
    """The contact's last activity at ``now`` (see the module docstring); ``None`` if created later."""
    if entry.created_at > now:
        return None
    moments = [entry.created_at, entry.updated_at, entry.restricted_at]
    for consent in entry.consents:
        moments += [consent.granted_at, consent.withdrawn_at]
    moments += [basis.recorded_at for basis in entry.legal_bases]
    moments += [objection.objected_at for objection in entry.objections]
    return max(m for m in moments if m is not None and m <= now)


def _consent_counts(
    granted: datetime, withdrawn: datetime | None, now: datetime, refresh: int | None
) -> bool:
    if granted > now or (withdrawn is not None and withdrawn <= now):
        return False
    return refresh is None or now <= add_months(granted, refresh)


def basis_holds(
    entry: DirectoryEntry, purpose: str, now: datetime, refresh_months: int | None = None
) -> bool:
    """Whether a legal basis for ``purpose`` holds at ``now`` (see the module docstring).

    Args:
        entry: The contact's directory entry.
        purpose: The purpose.
        now: The moment, timezone-aware.
        refresh_months: How many months a consent counts after it was granted; ``None``: until withdrawn.
    """
    if any(
        c.purpose == purpose and _consent_counts(c.granted_at, c.withdrawn_at, now, refresh_months)
        for c in entry.consents
    ):
        return True
    return any(
        b.purpose == purpose
        and b.article in _ALLOWED_BASES
        and (b.recorded_at is None or b.recorded_at <= now)
        for b in entry.legal_bases
    )


def _refresh(schedule: Schedule, purpose: str) -> int | None:
    needs = schedule.purposes.get(purpose)
    return None if needs is None else needs.consent_refresh_months


def _purposes_of(entry: DirectoryEntry) -> set[str]:
    return {c.purpose for c in entry.consents} | {b.purpose for b in entry.legal_bases}


def _basis_lost(
    entry: DirectoryEntry, purposes: Iterable[str], schedule: Schedule, now: datetime
) -> datetime:
    """When the last basis for ``purposes`` ended (none holds at ``now``); the creation if none ever held."""
    wanted = set(purposes)
    ends = [entry.created_at]
    for c in entry.consents:
        if c.purpose not in wanted or c.granted_at > now:
            continue
        if c.withdrawn_at is not None and c.withdrawn_at <= now:
            ends.append(c.withdrawn_at)
        elif (months := _refresh(schedule, c.purpose)) is not None:
            ends.append(add_months(c.granted_at, months))
    return max(ends)


def protected_purposes(
    entry: DirectoryEntry, schedule: Schedule, now: datetime, last: datetime
) -> tuple[dict[str, frozenset[StripField]], dict[str, datetime]]:
    """The listed purposes whose basis holds at ``now``, in two groups.

    Those still needed, with the fields they need; and those whose need has ended, with when it ended.
    """
    needed: dict[str, frozenset[StripField]] = {}
    ended: dict[str, datetime] = {}
    for purpose, needs in schedule.purposes.items():
        if not basis_holds(entry, purpose, now, needs.consent_refresh_months):
            continue
        until = None if needs.needed_months is None else add_months(last, needs.needed_months)
        if until is None or now < until:
            needed[purpose] = frozenset(needs.needs)
        else:
            ended[purpose] = until
    return needed, ended


def _selector_holds(
    rule: Rule, entry: DirectoryEntry, schedule: Schedule, now: datetime
) -> tuple[list[Reason], list[datetime]] | None:
    """The reasons and their start moments if the rule's contact conditions hold, else ``None``."""
    selector = rule.contacts
    reasons: list[Reason] = []
    starts: list[datetime] = []
    restricted = entry.restricted_at is not None and entry.restricted_at <= now
    if restricted != selector.restricted:
        return None
    if restricted and entry.restricted_at is not None:
        reasons.append("restricted")
        starts.append(entry.restricted_at)
    if selector.no_basis is not None:
        purposes = _purposes_of(entry)
        holding = any(basis_holds(entry, p, now, _refresh(schedule, p)) for p in purposes)
        if holding == selector.no_basis:
            return None
        reasons.append("has_basis" if holding else "no_basis")
        if not holding:
            starts.append(_basis_lost(entry, purposes, schedule, now))
    if selector.no_basis_for is not None:
        purpose = selector.no_basis_for
        if basis_holds(entry, purpose, now, _refresh(schedule, purpose)):
            return None
        reasons.append("no_basis_for_purpose")
        starts.append(_basis_lost(entry, (purpose,), schedule, now))
    if selector.label is not None:
        wanted = _fold(selector.label)
        if not any(_fold(label.name) == wanted for label in entry.labels):
            return None
        reasons.append("label")
    return reasons, starts


def _decide(  # noqa: PLR0917  (a private step of plan(), called in one place)
    rule: Rule,
    entry: DirectoryEntry,
    schedule: Schedule,
    now: datetime,
    last: datetime,
    already: frozenset[str],
) -> PlanItem | None:
    inactive_since = add_months(last, rule.inactive_months)
    if now < inactive_since:
        return None
    held = _selector_holds(rule, entry, schedule, now)
    if held is None:
        return None
    reasons, starts = held
    needed, ended = protected_purposes(entry, schedule, now, last)
    if rule.action == "erase":
        if needed:  # THE rule: a basis that holds for a purpose still needed blocks every erase
            return None
        removes: tuple[StripField, ...] = ()
        starts += ended.values()
    else:
        kept = frozenset().union(*needed.values()) if needed else frozenset()
        removes = tuple(f for f in rule.removes() if f not in kept and f not in already)
        if not removes:
            return None
        starts += [
            until for purpose, until in ended.items() if set(schedule.purposes[purpose].needs) & set(removes)
        ]
    return PlanItem(
        contact_id=entry.id,
        version=entry.version,
        rule=rule.name,
        action=rule.action,
        reasons=(*reasons, "inactive"),
        since=max([inactive_since, *starts]),
        last_activity=last,
        removes=removes,
    )


def _already_stripped(earlier: Sequence[tuple[datetime, Iterable[str]]], last: datetime) -> frozenset[str]:
    """The fields stripped at or after the last activity (stripping again would remove nothing new)."""
    return frozenset(field for at, fields in earlier if at >= last for field in fields)


def plan(
    entries: Iterable[DirectoryEntry],
    schedule: Schedule,
    *,
    now: datetime,
    stripped: Stripped | None = None,
) -> RetentionPlan:
    """The contacts ``schedule`` erases or strips at ``now`` (see the module docstring for every rule).

    Args:
        entries: The directory entries (``list(vault)``); their CRM payloads are never needed.
        schedule: The schedule.
        now: The moment, timezone-aware.
        stripped: What earlier strips removed, by contact (``Vault.retention_plan`` reads it from the
            log), so that a strip is not planned again for fields already removed.

    Returns:
        The plan, its items in the order of ``entries``.

    Raises:
        ValueError: ``now`` is naive.
        TypeError: ``schedule`` is not a `Schedule`.
    """
    if not isinstance(schedule, Schedule):
        raise TypeError("plan() takes a Schedule")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    earlier = stripped or {}
    items: list[PlanItem] = []
    for entry in entries:
        last = last_activity(entry, now)
        if last is None:
            continue
        already = _already_stripped(earlier.get(entry.id, ()), last)
        decided = [_decide(rule, entry, schedule, now, last, already) for rule in schedule.rules]
        chosen = next((d for d in decided if d is not None and d.action == "erase"), None) or next(
            (d for d in decided if d is not None), None
        )
        if chosen is not None:
            items.append(chosen)
    return RetentionPlan(now=now, schedule_digest=schedule.digest(), items=tuple(items))
