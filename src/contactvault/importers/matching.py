"""Re-import as update: which stored contact an incoming one is, and what the file changes in it.

A business imports its phone's export again every month. Each incoming contact is matched to a stored one
in this order, and never guessed:

1. its **id**, if it was read from this vault and is passed back in;
2. its **external id** (the caller's own key), if it has one;
3. one of its **vCard UIDs**, if the stored contact shares its name (compatible, see below) or a number
   (a UID alone is not trusted: some programs number their cards 1, 2, 3 ...);
4. its **card** (`card_key`: the same words of the name and the same numbers) as a stored contact without a
   UID, or as a card merged into one;
5. its **numbers**: the stored contacts with one of its E.164 numbers and a compatible name, if exactly one.

Two names are *compatible* when every word of the shorter is a word of the longer, ignoring case, accents,
punctuation and order ("Müller, Jürgen" and "Jürgen Müller"), an initial standing for a word ("J. Müller"),
and one typo in words of four letters or more ("Jürgen Müler").

A card that was merged into a stored contact (``Vault.merge``) is recognised by its UID or its card and
left alone: its data was taken in at the merge. An incoming contact with several candidates, a UID that
points to someone else, keys that disagree, or a stored contact already claimed by an earlier card of the
same import (matched by it, or named in its ambiguity) is *ambiguous*: reported, not stored. So a stored
contact an ambiguous card names is left as it is by the rest of that import, and the same file imported
again is reported the same: no other card of it changes the contact in between.
A matched contact takes from the file the `FILE_FIELDS` the card changed since it was last imported (a
three-way merge: an edit made in the vault stays until the phone changes that field too); its consents,
legal bases, labels, messenger presence, restriction, objections, merges and the disclosure log are never
touched by an import. A card without UID or number is recognised by its exact name (`card_key`).

This module is pure: it reads stored contacts through a `Lookup` and decides; the vault writes.
"""

from __future__ import annotations

import hashlib
import unicodedata
import uuid
import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final, Literal, Protocol

from contactvault.models import (
    Contact,
    ContactSource,
    DirectoryEntry,
    MessengerPresence,
    Phone,
    combined_digest,
)

__all__ = [
    "FILE_FIELDS",
    "AmbiguousReason",
    "Lookup",
    "Match",
    "baselined",
    "card_key",
    "carry_presence",
    "field_digests",
    "file_changes",
    "has_baseline",
    "match_contacts",
    "names_compatible",
    "note_baseline",
    "unchanged",
    "with_baseline",
]

FILE_FIELDS: Final = (
    "display_name",
    "name",
    "nickname",
    "phones",
    "emails",
    "addresses",
    "birthday",
    "organisation",
    "department",
    "title",
    "urls",
    "notes",
    "custom_fields",
)
"""The fields a re-import takes from the file for a matched contact (plus its source and, if the stored
contact has none, its external id). A number's messenger presence stays as stored."""


class Lookup(Protocol):
    """How matching reads the stored contacts (their directory entries; no CRM payload)."""

    def by_id(self, contact_id: uuid.UUID) -> DirectoryEntry | None:
        """The stored contact with this id, if it is live."""

    def by_external_id(self, external_id: str) -> DirectoryEntry | None:
        """The stored contact with this external id, if any."""

    def by_uid(self, uid: str) -> DirectoryEntry | None:
        """The stored contact that answers to this vCard UID, if any."""

    def by_number(self, e164: str) -> Sequence[DirectoryEntry]:
        """The stored contacts with this E.164 number."""

    def by_card(self, key: str) -> Sequence[DirectoryEntry]:
        """The stored contacts whose own `card_key` is ``key``, or that had a card with it merged in."""


Outcome = Literal["add", "match", "merged", "ambiguous"]

AmbiguousReason = Literal[
    "several_matches",
    "uid_conflict",
    "external_id_conflict",
    "matched_twice",
    "repeated_key",
    "merged_contact",
]
"""Why an incoming contact was neither added nor matched:

- ``several_matches``: several stored contacts have its numbers (or its card) and a compatible name;
- ``uid_conflict``: a stored contact has its UID but neither its name nor any of its numbers;
- ``external_id_conflict``: its UID or numbers point to a stored contact with another external id;
- ``matched_twice``: an earlier card of the same import already matched that stored contact, or was
  ambiguous and named it (a contact an import reports on is left as it is by the rest of that import);
- ``repeated_key``: an earlier card of the same import has the same UID or external id;
- ``merged_contact``: only a number and a compatible name point to a contact that merged several cards,
  and the card does not show that contact's name: a merged card that changed is not guessed at.
"""


@dataclass(frozen=True, slots=True)
class Match:
    """The decision for one incoming contact.

    Attributes:
        contact: The incoming contact.
        outcome: ``add`` (a new contact), ``match`` (the stored contact ``target``), ``merged`` (a card
            whose UID was merged into ``target``: its data was taken in at the merge and is not applied
            again) or ``ambiguous``.
        target: The stored contact's id, for a match or a merged card.
        reason: Why it is ambiguous (see ``contactvault.vault.AmbiguousReason``).
        candidates: The stored contacts it could be, when ambiguous.
        shares_number: For an addition: whether another contact (stored or incoming) has one of its
            numbers, that is, whether it is a likely duplicate.
    """

    contact: Contact
    outcome: Outcome
    target: uuid.UUID | None = None
    reason: AmbiguousReason | None = None
    candidates: tuple[uuid.UUID, ...] = ()
    shares_number: bool = False


# --- names ---------------------------------------------------------------------------------------------


def _words(name: str) -> list[str]:
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    plain = "".join(ch if ch.isalnum() else " " for ch in decomposed if not unicodedata.combining(ch))
    return plain.split()


def _one_edit(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` differ by at most one insertion, deletion or substitution."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :] or (len(a) == len(b) and a[i + 1 :] == b[i + 1 :])


def _same_word(a: str, b: str) -> bool:
    if a == b:
        return True
    if len(a) == 1 or len(b) == 1:  # an initial
        return a[0] == b[0]
    return min(len(a), len(b)) >= 4 and _one_edit(a, b)


def names_compatible(first: str, second: str) -> bool:
    """Whether two display names can be the same person's (see the module docstring).

    A "name" without a letter (an address book's placeholder, a number shown as the name) is compatible
    with any name.
    """
    a, b = _words(first), _words(second)
    if not any(w.isalpha() for w in a) or not any(w.isalpha() for w in b):
        return True  # no name at all (an address book shows the number instead): it says nothing
    shorter, longer = (a, b) if len(a) <= len(b) else (b, a)
    free = list(longer)
    for word in shorter:
        hit = next((i for i, other in enumerate(free) if _same_word(word, other)), None)
        if hit is None:
            return False
        free.pop(hit)
    return True


# --- matching ------------------------------------------------------------------------------------------


def _words_of(contact: Contact | DirectoryEntry) -> list[str]:
    return sorted(_words(contact.display_name))


def card_key(contact: Contact | DirectoryEntry) -> str:
    """What a card is when it has no key: its name's words and its numbers, in a canonical form.

    Two cards with the same key show the same name (in any order, case or accents) and the same numbers.
    The vault indexes a keyed hash of it, so that a card without a UID (or a number) is recognised when
    it comes back unchanged.
    """
    numbers = sorted({p.e164 for p in contact.phones if p.e164 is not None})
    unnormalised = sorted(
        {"".join(ch for ch in p.raw if ch.isdigit()) for p in contact.phones if p.e164 is None}
    )
    return "\x1f".join((" ".join(_words_of(contact)), ",".join(numbers), ",".join(unnormalised)))


def _plausible(incoming: Contact, stored: DirectoryEntry) -> bool:
    """Whether a stored contact found by UID can be the incoming one: a compatible name or a shared number."""
    if not set(incoming.e164_numbers()).isdisjoint(stored.e164_numbers()):  # the cheaper test first
        return True
    return names_compatible(incoming.display_name, stored.display_name)


def _keys_disagree(incoming: Contact, stored: DirectoryEntry) -> bool:
    return (
        incoming.external_id is not None
        and stored.external_id is not None
        and incoming.external_id != stored.external_id
    )


def _other_card(incoming: Contact, stored: DirectoryEntry) -> bool:
    """Whether both carry UIDs and share none: two different cards, whatever else they share."""
    own = set(incoming.uids())
    return bool(own) and bool(stored.uids()) and own.isdisjoint(stored.uids())


@dataclass(frozen=True, slots=True)
class _Found:
    entry: DirectoryEntry | None = None
    merged: bool = False  # the card is one that was merged into ``entry``
    by_number: bool = False  # found by a shared number and a compatible name only
    reason: AmbiguousReason | None = None
    candidates: tuple[uuid.UUID, ...] = ()


def _by_keys(contact: Contact, lookup: Lookup) -> _Found | None:
    """By id, external id or vCard UID: the stored contact, an ambiguity, or ``None`` (no key found)."""
    # A contact read from this vault (version 1 or more) and passed back in; a new one has version 0.
    by_id = lookup.by_id(contact.id) if contact.version else None
    if by_id is not None:
        return _Found(by_id)
    if contact.external_id is not None:
        found = lookup.by_external_id(contact.external_id)
        if found is not None:
            return _Found(found)
    for uid in contact.uids():
        found = lookup.by_uid(uid)
        if found is None:
            continue
        if not _plausible(contact, found):
            return _Found(reason="uid_conflict", candidates=(found.id,))
        if _keys_disagree(contact, found):
            return _Found(reason="external_id_conflict", candidates=(found.id,))
        return _Found(found, merged=uid in found.merged_uids)
    return None


def _by_card(contact: Contact, lookup: Lookup) -> _Found | None:
    """By the card's exact name and numbers: the stored contact, or one it was merged into; else ``None``."""
    key = card_key(contact)
    same_card = [e for e in lookup.by_card(key) if not _other_card(contact, e)]
    own = [e for e in same_card if card_key(e) == key]
    merged_into = [e for e in same_card if card_key(e) != key]  # found through ``merged_cards``
    if len(own) > 1:
        return _Found(reason="several_matches", candidates=tuple(sorted(e.id for e in own)))
    if len(own) == 1 and not _keys_disagree(contact, own[0]):
        return _Found(own[0])
    if len(merged_into) == 1:
        return _Found(merged_into[0], merged=True)
    return None


def _by_numbers(contact: Contact, lookup: Lookup) -> _Found:
    """By a shared number and a compatible name; the candidates are kept to tell a likely duplicate."""
    candidates: dict[uuid.UUID, DirectoryEntry] = {}
    for number in contact.e164_numbers():
        for entry in lookup.by_number(number):
            candidates.setdefault(entry.id, entry)
    fitting = [
        e
        for e in candidates.values()
        if names_compatible(contact.display_name, e.display_name) and not _other_card(contact, e)
    ]
    if len(fitting) > 1:
        return _Found(reason="several_matches", candidates=tuple(sorted(e.id for e in fitting)))
    if fitting and _keys_disagree(contact, fitting[0]):
        return _Found(reason="external_id_conflict", candidates=(fitting[0].id,))
    return _Found(fitting[0] if fitting else None, by_number=bool(fitting), candidates=tuple(candidates))


_NOTHING: Final = _Found()
"""What `_find` says for any contact when no stored contact can be found."""


def _find(contact: Contact, lookup: Lookup) -> _Found:
    """The stored contact the incoming one is, or why it is ambiguous (see the module docstring)."""
    return _by_keys(contact, lookup) or _by_card(contact, lookup) or _by_numbers(contact, lookup)


def match_contacts(
    contacts: Iterable[Contact], lookup: Lookup, *, nothing_stored: bool = False
) -> Iterator[Match]:
    """Decide, in order, what each incoming contact is: new, a stored contact, or ambiguous.

    Lazy: each decision is made when it is asked for, so the caller can look up and write in one
    transaction. Within one import, a stored contact is matched at most once, a stored contact that an
    ambiguous card names is matched by no later card, and a UID or external id counts once (later cards
    with it are ambiguous), so importing the same file twice changes nothing the second time.
    ``nothing_stored`` says that ``lookup`` finds nothing (an empty vault; the contacts an import adds
    are invisible to it): no key is worked out to ask it (the import's own rules, repeated keys and
    shared numbers, apply as ever).
    """
    claimed: dict[uuid.UUID, None] = {}
    keys_seen: set[tuple[str, str]] = set()
    numbers_added: set[str] = set()
    for contact in contacts:
        keys = {("uid", uid) for uid in contact.uids()}
        if contact.external_id is not None:
            keys.add(("external", contact.external_id))
        if not keys.isdisjoint(keys_seen):
            yield Match(contact, "ambiguous", reason="repeated_key")
            continue
        keys_seen |= keys
        found = _NOTHING if nothing_stored else _find(contact, lookup)
        if found.reason is not None:
            claimed.update(dict.fromkeys(found.candidates))  # left as they are by the rest of the import
            yield Match(contact, "ambiguous", reason=found.reason, candidates=found.candidates)
        elif found.entry is None:
            numbers = set(contact.e164_numbers())
            shares = bool(found.candidates) or not numbers.isdisjoint(numbers_added)
            numbers_added |= numbers
            yield Match(contact, "add", shares_number=shares)
        elif found.merged:
            yield Match(contact, "merged", target=found.entry.id)
        elif found.by_number and found.entry.merged_from and _words_of(contact) != _words_of(found.entry):
            # Only a number and a compatible name point to a contact that merged several cards, and this
            # card does not show its name: a merged card that changed since? Not guessed, and not claimed.
            yield Match(contact, "ambiguous", reason="merged_contact", candidates=(found.entry.id,))
        elif found.entry.id in claimed:
            yield Match(contact, "ambiguous", reason="matched_twice", candidates=(found.entry.id,))
        else:
            claimed[found.entry.id] = None
            yield Match(contact, "match", target=found.entry.id)


def carry_presence(phones: Sequence[Phone], stored: Sequence[Phone]) -> tuple[Phone, ...]:
    """The file's numbers, each with the messenger presence stored for its E.164 form (or none)."""
    presence = {p.e164: p.messenger for p in stored if p.e164 is not None and p.messenger is not None}

    def kept(phone: Phone) -> MessengerPresence | None:
        return presence.get(phone.e164) if phone.e164 is not None else None

    return tuple(p if p.messenger == kept(p) else p.model_copy(update={"messenger": kept(p)}) for p in phones)


_FILE_SET: Final = frozenset(FILE_FIELDS)
_NO_PRESENCE: Final = {"phones": {"__all__": {"messenger"}}}


def field_digests(contact: Contact) -> tuple[tuple[str, str], ...]:
    """A digest of each of the contact's `FILE_FIELDS` (a number's messenger presence left out).

    Stored with an imported contact (``ContactSource.imported``, inside the sealed payload), so that the
    next import can tell which fields the card changed since. Each is a BLAKE2b of the field's plain
    form (pydantic's JSON-mode dump, written out by ``repr``: fast, and the same for the same value).
    """
    data = contact.model_dump(mode="json", include=set(_FILE_SET), exclude=_NO_PRESENCE)
    return tuple(
        (name, hashlib.blake2b(repr(data[name]).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest())
        for name in FILE_FIELDS
    )


def unchanged(stored: DirectoryEntry, incoming: Contact, digests: tuple[tuple[str, str], ...]) -> bool:
    """Whether a re-import of ``incoming`` would change nothing in ``stored``, seen from its directory.

    True when the card says what it said at the last import and brings no UID or external id the stored
    contact does not have; False means "look at the whole contact" (`file_changes`), not "changed".
    """
    if stored.import_digest is None or stored.import_digest != combined_digest(digests):
        return False
    uid = incoming.source.uid if incoming.source is not None else None
    if uid is not None and uid != stored.source_uid:
        return False
    return incoming.external_id is None or incoming.external_id == stored.external_id


def with_baseline(contact: Contact, digests: tuple[tuple[str, str], ...] | None = None) -> Contact:
    """``contact`` with its source recording what the card says now (`field_digests`)."""
    source = contact.source if contact.source is not None else ContactSource(format="manual")
    imported = digests if digests is not None else field_digests(contact)
    return contact.model_copy(update={"source": source.model_copy(update={"imported": imported})})


# Contacts whose ``source.imported`` an importer of this process computed from the contact itself (the very
# object, weakly: an entry goes with its contact), so that the vault need not compute it again.
_BASELINED: weakref.WeakValueDictionary[int, Contact] = weakref.WeakValueDictionary()


def baselined(contact: Contact) -> Contact:
    """`with_baseline` of ``contact``, noted (`note_baseline`)."""
    fresh = with_baseline(contact)
    _BASELINED[id(fresh)] = fresh
    return fresh


def note_baseline(contact: Contact) -> None:
    """Note that ``contact.source.imported`` is `field_digests` of ``contact`` (an importer computed it)."""
    _BASELINED[id(contact)] = contact


def has_baseline(contact: Contact) -> bool:
    """Whether ``contact`` is the very object noted with its baseline (`baselined`, `note_baseline`)."""
    return _BASELINED.get(id(contact)) is contact


def file_changes(
    stored: Contact, incoming: Contact, digests: tuple[tuple[str, str], ...] | None = None
) -> dict[str, object]:
    """The updates a re-import makes to ``stored``: a three-way merge of fields, and the new baseline.

    A field is taken from the card only where the card changed it since the last import (its digest
    differs from the one recorded then), so an edit made in the vault, or what a merge brought in, stays
    until the phone changes that field too. A contact without a recorded baseline (stored before, or
    added by hand) takes every field that differs. The messenger presence of a number stays as stored;
    an external id is only added, never replaced; a UID is replaced only by a card that has one (a card
    without one keeps the stored UID, so that a file imported again matches as it did the first time).
    Empty when nothing is to be written: a card that only moved to another line of the file is unchanged.
    """
    base = dict(stored.source.imported) if stored.source is not None else {}
    now = digests if digests is not None else field_digests(incoming)
    updates: dict[str, object] = {}
    for name, digest in now:
        if base.get(name) == digest:
            continue  # the card still says what it said last time: the stored value stands
        value = getattr(incoming, name)
        if name == "phones":
            value = carry_presence(value, stored.phones)
        if value != getattr(stored, name):
            updates[name] = value
    if incoming.external_id is not None and stored.external_id is None:
        updates["external_id"] = incoming.external_id
    old_source = stored.source
    new_uid = incoming.source.uid if incoming.source is not None else None
    if (
        updates
        or old_source is None
        or old_source.imported != now
        or (new_uid is not None and new_uid != old_source.uid)
    ):
        source = incoming.source or old_source or ContactSource(format="manual")
        kept: dict[str, object] = {"imported": now}
        if new_uid is None and old_source is not None and old_source.uid is not None:
            kept["uid"] = old_source.uid  # a card without a UID says nothing about the stored one: kept
        updates["source"] = source.model_copy(update=kept)
    return updates
