"""``Vault.import_contacts``: an import that updates what it already knows instead of adding it again.

Matching (``contactvault.importers.matching``) decides, card by card, inside the write transaction; this
module reads the stored contacts for it through the blind index and writes the outcome: new contacts
added, matched ones updated in place (one version later, under their own data key), everything in one
transaction, with one ``"import"`` activity in the log naming (by keyed hashes) the contacts added and
updated; an import that writes nothing logs nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Literal

from contactvault.errors import VaultCorrupted
from contactvault.importers.matching import (
    field_digests,
    file_changes,
    has_baseline,
    match_contacts,
    with_baseline,
)
from contactvault.importers.matching import unchanged as card_unchanged
from contactvault.models import Contact, DirectoryEntry
from contactvault.vault import log
from contactvault.vault.core import BATCH, Core, Write, validated
from contactvault.vault.results import AmbiguousCard, ImportReport

__all__ = ["OnMatch", "import_contacts"]

OnMatch = Literal["update", "skip"]
"""What an import does with a contact it matched: update it from the file, or leave it as it is."""


class _Lookup:
    """Stored contacts by id, external id, UID and number, read through the blind index and cached.

    Contacts this import adds are invisible to it, so that the outcome never depends on where a batch
    boundary falls; contacts it updates are seen as updated.
    """

    def __init__(self, core: Core) -> None:
        self._core = core
        self._cache: dict[bytes, DirectoryEntry] = {}
        self._added: set[bytes] = set()
        self._empty = core.storage.count()[0] == 0  # nothing stored now: no lookup can find anything

    @property
    def empty(self) -> bool:
        """Whether the vault held nothing when the import began (then no lookup finds anything)."""
        return self._empty

    def added(self, contact_id: uuid.UUID) -> None:
        self._added.add(contact_id.bytes)

    def updated(self, entry: DirectoryEntry) -> None:
        self._cache[entry.id.bytes] = entry

    def entry(self, contact_id: uuid.UUID) -> DirectoryEntry:
        """The directory entry of a stored contact (cached: matching has just read it)."""
        return self._entry(contact_id.bytes)

    def _entry(self, cid: bytes) -> DirectoryEntry:
        entry = self._cache.get(cid)
        if entry is None:
            entry = self._core.records.directory(self._core.live_row(uuid.UUID(bytes=cid)))
            self._cache[cid] = entry
        return entry

    def _entries(self, tag: bytes) -> list[DirectoryEntry]:
        if self._empty:
            return []
        return [self._entry(cid) for cid in self._core.storage.index_lookup(tag) if cid not in self._added]

    def _one(self, tag: bytes) -> DirectoryEntry | None:
        found = self._entries(tag)
        if len(found) > 1:
            raise VaultCorrupted("a UID or external id is indexed for several contacts")
        return found[0] if found else None

    def by_id(self, contact_id: uuid.UUID) -> DirectoryEntry | None:
        cid = contact_id.bytes
        if self._empty or cid in self._added:
            return None
        if cid not in self._cache:  # one read of the row: it is live, or there is nothing to match
            row = self._core.storage.get(cid)
            if row is None or row.data_key is None:
                return None
            self._cache[cid] = self._core.records.directory(row)
        return self._cache[cid]

    def by_external_id(self, external_id: str) -> DirectoryEntry | None:
        return self._one(self._core.records.external_tag(external_id))

    def by_uid(self, uid: str) -> DirectoryEntry | None:
        return self._one(self._core.records.uid_tag(uid))

    def by_card(self, key: str) -> list[DirectoryEntry]:
        return self._entries(self._core.records.card_tag(key))

    def by_number(self, e164: str) -> list[DirectoryEntry]:
        found = self._entries(self._core.records.number_tag(e164))
        if any(e164 not in entry.e164_numbers() for entry in found):
            raise VaultCorrupted("the blind index does not match a contact's numbers")
        return found


def _chained(*lists: list[uuid.UUID]) -> Iterator[uuid.UUID]:
    """The items of ``lists`` as they are when iterated (the import fills them as its writes are made)."""
    for items in lists:
        yield from items


def _digests(contact: Contact) -> tuple[tuple[str, str], ...]:
    """The contact's `field_digests`, as the importer noted them with it, or computed here."""
    if contact.source is not None and has_baseline(contact):
        return contact.source.imported
    return field_digests(contact)


def _line(contact: Contact) -> int | None:
    return contact.source.line if contact.source is not None else None


def import_contacts(
    core: Core,
    contacts: Iterable[Contact],
    *,
    on_match: OnMatch,
    dry_run: bool,
    now: datetime,
    progress: Callable[[int], object] | None,
) -> ImportReport:
    """Match, then add, update or report each contact; one transaction (none for a dry run)."""
    if on_match not in ("update", "skip"):
        raise ValueError("on_match must be 'update' or 'skip'")
    lookup = _Lookup(core)
    records = core.records
    added: list[uuid.UUID] = []
    updated: list[uuid.UUID] = []
    unchanged: list[uuid.UUID] = []
    skipped: list[uuid.UUID] = []
    ambiguous: list[AmbiguousCard] = []
    shared = 0
    seen = 0

    def writes() -> Iterator[Write]:
        nonlocal shared, seen
        for match in match_contacts(contacts, lookup, nothing_stored=lookup.empty):
            seen += 1
            if progress is not None and seen % BATCH == 0:
                progress(seen)
            incoming = match.contact
            if match.outcome == "add":
                baseline = incoming if has_baseline(incoming) else with_baseline(incoming)
                fresh = validated(baseline, version=1, by=core.actor)
                lookup.added(fresh.id)
                added.append(fresh.id)
                shared += match.shares_number
                if not dry_run:
                    yield core.insertion(fresh)
            elif match.outcome == "ambiguous":
                ambiguous.append(
                    AmbiguousCard(_line(incoming), match.reason or "several_matches", match.candidates)
                )
            elif match.target is None:  # pragma: no cover - a match always names its target
                raise AssertionError("a match without a target")
            elif match.outcome == "merged":
                unchanged.append(match.target)
            elif on_match == "skip":
                skipped.append(match.target)
            else:
                digests = _digests(incoming)
                if card_unchanged(lookup.entry(match.target), incoming, digests):
                    unchanged.append(match.target)  # known from the directory: no payload decrypted
                    continue
                row = core.live_row(match.target)
                stored = records.contact(row)
                changes = file_changes(stored, incoming, digests)
                if not changes:
                    unchanged.append(stored.id)
                    continue
                new = validated(
                    stored.model_copy(update=changes),
                    version=row.version + 1,
                    by=core.actor,
                    before=(stored,),
                    updated_at=now,
                )
                updated.append(new.id)
                lookup.updated(DirectoryEntry.of(new, new.version))
                if not dry_run:
                    yield core.replacement(row, new)

    if dry_run:
        for _ in writes():
            pass  # pragma: no cover - a dry run yields nothing
    else:
        log.commit(
            core,
            writes(),
            "import",
            contacts=_chained(added, updated),
            detail=lambda: f"{len(added)} added, {len(updated)} updated",
        )
    if progress is not None and seen % BATCH:
        progress(seen)
    return ImportReport(
        added=tuple(added),
        updated=tuple(updated),
        unchanged=tuple(unchanged),
        skipped=tuple(skipped),
        ambiguous=tuple(ambiguous),
        shared_numbers=shared,
        dry_run=dry_run,
    )
