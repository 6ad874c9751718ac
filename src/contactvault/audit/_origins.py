"""Where a card on the phone came from: the vault's disclosure log knows every book UID it handed out.

A card that contactvault exported or synced carries its book UID (a keyed hash of the contact's id and the
number, ``BookCodes.uid``). The disclosure log keeps every UID it handed out (``Disclosure.added`` and
``renamed``), never a name or a number. So a card on the phone whose UID the log knows came from this
vault, and one of three things holds:

- ``"current"``: a vault contact (under its id or one merged into it) holds the number the UID was made
  for: the card is judged by its numbers, as every card is;
- ``"number_removed"``: a vault contact gives the UID with one of the card's numbers, but no longer holds
  that number (the retention schedule stripped it, or it was edited away);
- ``"erased_contact"``: no vault contact gives the UID with any of the card's numbers: the contact is gone
  from the vault (erased on request, or by the retention schedule; an erased contact's numbers are
  crypto-shredded, so the UID is all that is left to know it by).

Everything is read through the vault's public API: ``disclosures()``, ``book_codes()`` and the directory
entries the audit iterates anyway. A card whose UID the log does not know is judged by its numbers alone.

Cost: the current UIDs take one keyed hash (about 1 µs) per number of every vault contact, and only when a
card's UID is in the log; finding the contact of a card whose UID is not current takes one more per vault
contact and distinct number on such cards (cards that should have gone, normally few).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Literal

from contactvault.book import BookCodes
from contactvault.models import DirectoryEntry

if TYPE_CHECKING:
    from contactvault.vault import Vault

__all__ = ["Origin", "Origins", "normal_uid"]

Origin = Literal["current", "number_removed", "erased_contact"]
"""What the log and the vault say about a card whose UID this vault handed out (see the module docstring)."""


def normal_uid(uid: str | None) -> str | None:
    """A card's UID as the book writes it (lower-case, no spaces around), or ``None`` if it has none."""
    if uid is None:
        return None
    return uid.strip().lower() or None


class Origins:
    """The UIDs the vault handed out, and each contact's ids and numbers: where a card came from.

    Fill it with `add` for every directory entry while the vault is read, then ask `of` once, with the
    cards' UIDs and numbers.
    """

    __slots__ = ("_codes", "_disclosed", "_holders")

    def __init__(self, disclosed: Iterable[str], codes: BookCodes) -> None:
        """Origins for a vault whose log handed out the UIDs ``disclosed``, keyed as ``codes`` key them."""
        self._disclosed = frozenset(disclosed)
        self._codes = codes
        self._holders: list[tuple[tuple[uuid.UUID, ...], tuple[str, ...]]] = []

    @classmethod
    def of_vault(cls, vault: Vault) -> Origins:
        """Empty origins of ``vault``: every UID its disclosure log shows handed out, and its book codes."""
        disclosed: set[str] = set()
        for record in vault.disclosures():
            disclosed.update(record.added)
            disclosed.update(record.renamed)
        return cls(disclosed, vault.book_codes())

    def add(self, entry: DirectoryEntry) -> None:
        """Remember a vault contact: its id, the ids merged into it, and its numbers."""
        self._holders.append(((entry.id, *entry.merged_from), entry.e164_numbers()))

    def disclosed(self, uid: str | None) -> bool:
        """Whether the log shows that this vault handed out a card with ``uid`` (normalised)."""
        return uid is not None and uid in self._disclosed

    def of_cards(
        self, uids: Sequence[str | None], numbers: Sequence[Iterable[str | None]]
    ) -> dict[str, Origin]:
        """`of` for cards given in order: each card's normalised UID and its numbers (E.164 or ``None``)."""
        cards: dict[str, set[str]] = {}
        for uid, card_numbers in zip(uids, numbers, strict=True):
            if uid is not None and uid in self._disclosed:
                cards.setdefault(uid, set()).update(n for n in card_numbers if n is not None)
        return self.of(cards)

    def of(self, cards: Mapping[str, Iterable[str]]) -> dict[str, Origin]:
        """The origin of every UID in ``cards`` (normalised UID -> the E.164 numbers its cards show).

        UIDs the log does not know are left out: their cards did not come from this vault.
        """
        wanted = {uid for uid in cards if uid in self._disclosed}
        if not wanted:
            return {}
        uid = self._codes.uid

        def made(numbers_of: Callable[[Iterable[str]], Iterable[str]]) -> Iterator[str]:
            """The UID of each held contact with each number ``numbers_of`` its own numbers gives."""
            for ids, numbers in self._holders:
                for cid in ids:
                    for number in numbers_of(numbers):
                        yield uid(cid, number)

        found: dict[str, Origin] = {u: "current" for u in made(lambda own: own) if u in wanted}
        orphans = wanted - found.keys()
        candidates = sorted({number for u in orphans for number in cards[u]})
        if candidates:
            found.update({u: "number_removed" for u in made(lambda _: candidates) if u in orphans})
        for orphan in orphans - found.keys():
            found[orphan] = "erased_contact"
        return found
