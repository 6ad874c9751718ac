"""Duplicates: contacts that share a normalised phone number, and merging them when asked.

Finding is cheap and always done on import; merging changes data, so it only happens when a caller asks
(`merge_duplicates`). A merge keeps every number, e-mail address, note, address, label and custom field of
every contact it joins; where two contacts disagree on a single-valued field (display name, structured
name, birthday, organisation), the first contact's value wins and the other is kept as a custom field
(``MERGED-FN``, ``MERGED-N``, ``MERGED-BDAY``, ...), so nothing is lost.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from contactvault.models import Contact, CustomField

__all__ = ["DuplicateGroup", "find_duplicates", "merge_duplicates", "merge_into"]

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class DuplicateGroup:
    """Contacts that share one normalised number.

    ``contact_ids`` lists them in the order they were seen (earlier imports first). The number itself is
    left out of ``repr()``.
    """

    e164: str = field(repr=False)
    contact_ids: tuple[uuid.UUID, ...]


class _HasNumbers(Protocol):
    """A contact or a vault's directory entry: an id and normalised numbers."""

    @property
    def id(self) -> uuid.UUID: ...

    def e164_numbers(self) -> tuple[str, ...]: ...


def find_duplicates(
    contacts: Iterable[_HasNumbers], existing: Iterable[_HasNumbers] = ()
) -> list[DuplicateGroup]:
    """Group contacts that share a normalised (E.164) number.

    ``existing`` holds contacts of earlier imports (or of a vault): a group is reported when at least one of
    its members is in ``contacts``, so a number repeated only among ``existing`` is not reported again.
    A contact listing the same number twice is not its own duplicate. Groups come in order of first sight.
    """
    # Dicts as ordered sets: a switchboard number shared by thousands of contacts stays linear.
    owners: dict[str, dict[uuid.UUID, None]] = {}
    new_numbers: set[str] = set()
    for is_new, source in ((False, existing), (True, contacts)):
        for contact in source:
            for number in contact.e164_numbers():
                owners.setdefault(number, {})[contact.id] = None
                if is_new:
                    new_numbers.add(number)
    return [
        DuplicateGroup(e164=number, contact_ids=tuple(ids))
        for number, ids in owners.items()
        if len(ids) > 1 and number in new_numbers
    ]


def _clusters(contacts: Sequence[Contact], groups: Iterable[DuplicateGroup]) -> list[list[int]]:
    """Indexes of contacts to merge, joined transitively (A~B by one number, B~C by another: one cluster)."""
    index = {c.id: i for i, c in enumerate(contacts)}
    parent = list(range(len(contacts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for group in groups:
        members = [index[i] for i in group.contact_ids if i in index]
        for other in members[1:]:
            a, b = root(members[0]), root(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    clusters: dict[int, list[int]] = {}
    for i in range(len(contacts)):
        clusters.setdefault(root(i), []).append(i)
    return list(clusters.values())


def _union(*parts: Iterable[_T]) -> tuple[_T, ...]:
    """Items of all parts in order, without repeats (models are frozen, hence hashable)."""
    return tuple(dict.fromkeys(item for part in parts for item in part))


def _earliest(*times: datetime | None) -> datetime | None:
    known = [t for t in times if t is not None]
    return min(known) if known else None


def merge_into(first: Contact, other: Contact, now: datetime) -> Contact:
    """``other`` merged into ``first``: ``first``'s id and display name, everything of both.

    The rules of `merge_duplicates`. Besides, the result records ``other``'s id (and the ids merged into
    it) in ``merged_from`` and its vCard UIDs in ``merged_uids``, and keeps an external id of either
    (callers refuse to merge two different ones). Not validated again: the vault validates what it stores.
    """
    kept: list[CustomField] = []

    def pick(name: str, mine: str, theirs: str) -> str:
        if mine and theirs and mine != theirs:
            kept.append(CustomField(name=f"MERGED-{name}", value=theirs))
        return mine or theirs

    if other.display_name != first.display_name:
        kept.append(CustomField(name="MERGED-FN", value=other.display_name))
    if not other.name.is_empty() and not first.name.is_empty() and other.name != first.name:
        n = other.name
        kept.append(
            CustomField(
                name="MERGED-N", value=";".join((n.family, n.given, n.additional, n.prefixes, n.suffixes))
            )
        )
    birthday = first.birthday or other.birthday
    if first.birthday and other.birthday and first.birthday != other.birthday:
        kept.append(CustomField(name="MERGED-BDAY", value=other.birthday.iso()))
    seen_numbers = {p.e164 or p.raw for p in first.phones}
    extra_phones = [p for p in other.phones if (p.e164 or p.raw) not in seen_numbers]
    seen_emails = {e.address.casefold() for e in first.emails}
    extra_emails = [e for e in other.emails if e.address.casefold() not in seen_emails]
    seen_labels = {label.name.casefold() for label in first.labels}
    extra_labels = [lb for lb in other.labels if lb.name.casefold() not in seen_labels]
    return Contact(
        id=first.id,
        version=first.version,
        display_name=first.display_name,
        name=first.name if not first.name.is_empty() else other.name,
        nickname=pick("NICKNAME", first.nickname, other.nickname),
        phones=first.phones + tuple(extra_phones),
        emails=first.emails + tuple(extra_emails),
        addresses=_union(first.addresses, other.addresses),
        birthday=birthday,
        organisation=pick("ORG", first.organisation, other.organisation),
        department=pick("DEPARTMENT", first.department, other.department),
        title=pick("TITLE", first.title, other.title),
        urls=_union(first.urls, other.urls),
        notes=_union(first.notes, other.notes),
        labels=first.labels + tuple(extra_labels),
        custom_fields=_union(first.custom_fields, other.custom_fields, kept),
        consents=_union(first.consents, other.consents),
        legal_bases=_union(first.legal_bases, other.legal_bases),
        restricted_at=_earliest(first.restricted_at, other.restricted_at),
        objections=_union(first.objections, other.objections),
        created_at=min(first.created_at, other.created_at),
        updated_at=max(now, first.updated_at, other.updated_at),
        source=first.source,
        external_id=first.external_id or other.external_id,
        merged_from=_union(first.merged_from, (other.id,), other.merged_from),
        merged_cards=_union(first.merged_cards, other.merged_cards),
        merged_uids=tuple(
            uid for uid in _union(first.merged_uids, other.uids()) if uid != _source_uid(first)
        ),
    )


def _source_uid(contact: Contact) -> str | None:
    return contact.source.uid if contact.source is not None else None


def merge_duplicates(
    contacts: Sequence[Contact], duplicates: Iterable[DuplicateGroup] | None = None
) -> list[Contact]:
    """Merge contacts that share a number; return the new list, in the order of each cluster's first member.

    ``duplicates`` defaults to `find_duplicates(contacts)`; pass a subset to merge only some groups. Groups
    are joined transitively. The merged contact keeps the first member's id and display name and every
    number, e-mail, address, note, URL, label, custom field, consent and legal basis of all members; a
    single-valued field on which members disagree is kept as a ``MERGED-...`` custom field.
    """
    groups = find_duplicates(contacts) if duplicates is None else list(duplicates)
    now = datetime.now(UTC)
    merged: list[Contact] = []
    for cluster in _clusters(contacts, groups):
        result = contacts[cluster[0]]
        for i in cluster[1:]:
            result = merge_into(result, contacts[i], now)
        merged.append(result)
    return merged
