"""The end of a book's full pass, and the cards' text: what the cold book does with fewer steps.

A card keeps its entry's name and number (``BookCard.name``, ``.number``), from which ``to_vcard`` writes
it: the vCard of a vault's book is the vCard of the same ``(uid, entry)`` pairs and splits as any book.

A first book (nothing kept) sorts the cards in the order they were made, instead of gathering them again
from the contacts; that is the same list only when every contact was made once, so a read that holds a
contact twice (a caller's own iterable) must still give the book of the contact once. ``_meet`` takes the
span in which every decision holds from the distinct spans: the same as from all of them.
"""

from __future__ import annotations

import operator
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from contactvault import KdfParams, Vault
from contactvault.book import BookCard, MessengerBook, split_display_name
from contactvault.export.minimal import to_vcard
from contactvault.models import MessengerEntry
from contactvault.sync import messenger_book
from contactvault.sync.book import _meet
from contactvault.sync.policy import Policy
from contactvault.sync.validity import ALWAYS, Window
from tests.strategies import display_names
from tests.test_book_cache import _eligible

FAST = KdfParams.insecure_fast_for_tests()
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


class _Entries:
    """A caller's own source of directory entries: what ``messenger_book`` reads without a kept directory."""

    def __init__(self, vault: Vault, entries: list[object]) -> None:
        self._codes, self._entries = vault.book_codes(), entries

    def book_codes(self) -> object:
        return self._codes

    def __iter__(self):
        return iter(self._entries)


def test_a_contact_read_twice_is_in_the_first_book_once(tmp_path):
    with Vault.create(tmp_path / "v.db", "pw", kdf=FAST) as vault:
        vault.add_many([_eligible(f"Kontakt {i}", f"0151 555{i:05d}") for i in range(4)])
        entries = list(vault)
        once = messenger_book(_Entries(vault, entries), Policy.default(), now=NOW)  # type: ignore[arg-type]
        twice = messenger_book(
            _Entries(vault, [*entries, entries[1], entries[0]]),  # type: ignore[arg-type]
            Policy.default(),
            now=NOW,
        )
        assert len(once) == 4
        assert twice == once
        assert to_vcard(twice) == to_vcard(once) == to_vcard(messenger_book(vault, Policy.default(), now=NOW))


def _reference_meet(span: Window | None, windows: list[Window | None]) -> Window | None:
    if span is None or None in windows:
        return None
    spans = [span, *windows]
    return Window(
        max(map(operator.itemgetter(0), spans)),
        min(map(operator.itemgetter(1), spans)),
        max(map(operator.itemgetter(2), spans)),
        min(map(operator.itemgetter(3), spans)),
    )


_ints = st.integers(-(10**6), 10**6)
_windows = st.builds(Window, _ints, _ints, _ints, _ints)


@given(span=st.none() | st.just(ALWAYS) | _windows, windows=st.lists(st.none() | _windows, max_size=8))
def test_meet_of_the_distinct_spans_is_the_meet_of_all(span, windows):
    assert _meet(span, iter(windows)) == _reference_meet(span, windows)


@given(
    cards=st.lists(
        st.tuples(display_names(), st.from_regex(r"\A\+[1-9][0-9]{6,14}\Z")), max_size=6, unique_by=str
    ),
    version=st.sampled_from(["3.0", "4.0"]),
)
def test_a_card_is_written_from_its_entrys_name_and_number(cards, version):
    made = [
        BookCard(f"{n:032x}", MessengerEntry(display_name=name, phone_e164=number), split_display_name(name))
        for n, (name, number) in enumerate(cards)
    ]
    assert all((c.name, c.number) == (c.entry.display_name, c.entry.phone_e164) for c in made)
    book = MessengerBook._of_cards(sorted(made, key=operator.attrgetter("key")), policy_digest="")
    pairs = MessengerBook(book.cards(), names={c.uid: c.split for c in made})  # written from the entries
    assert to_vcard(book, version) == to_vcard(pairs, version)
