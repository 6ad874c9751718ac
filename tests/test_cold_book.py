"""The shortcuts of the cold book: each gives exactly what the plain code it stands for gives.

- entries: ``book._book_entries`` makes, without pydantic, what ``MessengerEntry.model_validate`` makes of
  the same name and number, and leaves everything else (refused or not) to the model;
- UIDs: ``BookCodes.uids`` (the key's hash state made once) is ``book_uid`` of each number;
- names: ``book._name_parts`` (labels kept per tuple of names, no substitution where none can change
  the name, "Family, Given" split without a search) equals the reference implementation in
  tests/test_book_speed.py, on names made to repeat their words; ``_has_word`` is ``str.isalnum()`` of
  some character, for every character;
- vCard text: ``_escape`` of any text is ``escape_text``'s;
- the book's order: a card's key (one text) sorts as the tuple ``(name without case, number, UID)``, and
  so does a book made of pairs, whose splits are made when first asked for.
"""

from __future__ import annotations

import pickle
import uuid

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from contactvault._book_split import _has_word
from contactvault.book import (
    _BIDI,
    _DOTTED_I,
    BookCard,
    BookCodes,
    MessengerBook,
    _book_entries,
    _fold,
    _name_parts,
    book_uid,
    split_display_name,
)
from contactvault.export.minimal import _escape
from contactvault.export.vcard import escape_text
from contactvault.models import MessengerEntry
from contactvault.models._base import BIDI_CONTROLS
from tests.strategies import display_names
from tests.test_book_speed import _an_entry, _reference_name_parts

# --- entries --------------------------------------------------------------------------------------------

_NAME_CHARS = "aZ ü,;\\-.\u00a0\u2003\u200e\u202a\u2066\t\n\r\x00\x85\u2028\ud800\U0001f600"
_names = (
    st.text(alphabet=_NAME_CHARS, max_size=8)
    | display_names(max_words=3)
    | st.text(max_size=6)
    | st.integers(250, 260).map(lambda n: "x" * n)
    | st.integers(250, 260).map(lambda n: " " + "x" * n)
)
_numbers = (
    st.from_regex(r"\A\+[0-9]{1,17}\Z")
    | st.sampled_from(["+4915112345678", "+49151123456789012", "+0151", "+1", "+12", "4915112345678", ""])
    | st.sampled_from(["+4915112345678\n", "+49\u0661\u0662", "+4915112345678 ", " +4915112345678"])
    | st.text(alphabet="+0123456789\n", max_size=17)
)


def _made(name: object, number: object) -> MessengerEntry | str:
    try:
        return MessengerEntry.model_validate({"display_name": name, "phone_e164": number})
    except ValueError as exc:
        return f"{type(exc).__name__}: {exc}"


def _made_fast(name: object, number: object) -> MessengerEntry | str:
    try:
        (entry,) = _book_entries(name, (number,))  # type: ignore[arg-type]  # other types too
    except ValueError as exc:
        return f"{type(exc).__name__}: {exc}"
    return entry


def _same(fast: MessengerEntry, checked: MessengerEntry) -> None:
    assert type(fast) is type(checked) is MessengerEntry
    assert fast == checked
    assert hash(fast) == hash(checked)
    assert repr(fast) == repr(checked)
    assert list(fast.__dict__.items()) == list(checked.__dict__.items())
    assert fast.model_fields_set == checked.model_fields_set
    assert fast.model_fields_set is not checked.model_fields_set  # each its own, as pydantic makes them
    assert fast.__pydantic_extra__ is checked.__pydantic_extra__ is None
    assert fast.__pydantic_private__ is checked.__pydantic_private__ is None
    assert fast.model_dump_json() == checked.model_dump_json()
    assert pickle.loads(pickle.dumps(fast)) == checked  # noqa: S301  (our own bytes)
    assert MessengerEntry.model_validate(fast.model_dump()) == checked
    with pytest.raises(TypeError):
        fast.display_name = "other"  # type: ignore[misc]  # frozen, as the model is


@settings(max_examples=1500, deadline=None)
@given(name=_names, number=_numbers)
@example(name="Anna Beispiel", number="+4915112345678")
@example(name="Anna Beispiel", number="+4915112345678\n")  # pydantic's $ is the end: refused
@example(name="Anna\u200eBeispiel", number="+4915112345678")  # a mark isprintable refuses, the model not
@example(name="Anna\u00a0Beispiel", number="+4915112345678")  # a space isprintable refuses, the model not
@example(name="x" * 256, number="+4915112345678")
@example(name="x" * 257, number="+4915112345678")
@example(name=" Anna", number="+4915112345678")
@example(name="", number="+4915112345678")
def test_book_entries_are_what_the_model_makes(name, number):
    """For any name and number, the entry is the model's, or the model's error (never one of its own)."""
    checked, fast = _made(name, number), _made_fast(name, number)
    if isinstance(checked, str):
        assert fast == checked
    else:
        assert isinstance(fast, MessengerEntry)
        _same(fast, checked)


@given(name=display_names(max_words=3), numbers=st.lists(_numbers, max_size=4))
def test_book_entries_of_many_numbers(name, numbers):
    """One name with several numbers: each entry in order, the first refused number the error."""
    expected = [_made(name, number) for number in numbers]
    refused = [e for e in expected if isinstance(e, str)]
    if refused:
        try:
            _book_entries(name, numbers)
        except ValueError as exc:
            assert f"{type(exc).__name__}: {exc}" == refused[0]  # noqa: PT017
        else:
            pytest.fail("a number the model refuses was taken")
    else:
        made = _book_entries(name, numbers)
        assert len(made) == len(expected)
        for fast, checked in zip(made, expected, strict=True):
            assert isinstance(checked, MessengerEntry)
            _same(fast, checked)


def test_book_entries_other_types_go_to_the_model():
    """A str subclass or another type is the model's to judge (strict: refused)."""

    class Text(str):
        pass

    assert _made_fast(Text("Anna"), "+4915112345678") == _made(Text("Anna"), "+4915112345678")
    assert isinstance(_made_fast(b"Anna", "+4915112345678"), str)
    assert isinstance(_made_fast("Anna", 4915112345678), str)


# --- UIDs -----------------------------------------------------------------------------------------------


@given(
    key=st.binary(min_size=1, max_size=64),
    contact=st.uuids(),
    numbers=st.lists(st.from_regex(r"\A\+[1-9][0-9]{1,14}\Z") | st.text("+0123456789", max_size=20)),
)
def test_uids_are_book_uid(key, contact, numbers):
    """Every UID of ``BookCodes.uids`` and ``uid`` is ``book_uid`` of the contact and number."""
    codes = BookCodes(key)
    expected = tuple(book_uid(key, contact.bytes, n) for n in numbers)
    assert codes.uids(contact, numbers) == expected
    assert tuple(codes.uid(contact, n) for n in numbers) == expected
    assert codes.uids(contact, numbers) == expected  # the kept state is not changed by a use


def test_uids_of_other_contacts_and_keys_differ():
    a, b = uuid.uuid4(), uuid.uuid4()
    codes = BookCodes(b"k" * 32)
    assert codes.uid(a, "+4915112345678") != codes.uid(b, "+4915112345678")
    assert codes.uid(a, "+4915112345678") != BookCodes(b"j" * 32).uid(a, "+4915112345678")
    with pytest.raises(UnicodeEncodeError):
        codes.uids(a, ["+49\u0661"])  # as book_uid: a number is ASCII


# --- names ----------------------------------------------------------------------------------------------

_few_words = st.lists(
    st.sampled_from(["A", "B", "a", "A-B", "-", "(x)", "Ab", "(", ")"]), min_size=1, max_size=4
)


@settings(max_examples=1500, deadline=None)
@given(
    family=_few_words.map(" ".join),
    given_name=_few_words.map(" ".join),
    labels=st.lists(st.sampled_from(["A", "b", "x", "(x)", "Z"]), max_size=2),
    glue=st.sampled_from([" ", ", ", ",", " , "]),
    order=st.booleans(),
    style=st.sampled_from(["full", "given_initial", "initials"]),
)
@example(family="A", given_name="B A", labels=[], glue=", ", order=False, style="full")
@example(family="A", given_name="A", labels=[], glue=", ", order=False, style="full")
@example(family="A A", given_name="A x", labels=[], glue=", ", order=False, style="full")
def test_names_of_repeated_words_equal_the_reference(  # noqa: PLR0917  (Hypothesis passes them)
    family, given_name, labels, glue, order, style
):
    """Names whose family name recurs in the given name (and the reverse) split as the reference splits."""
    display = f"{given_name}{glue}{family}" if order else f"{family}{glue}{given_name}"
    entry = _an_entry(display, given_name, family, labels)
    if entry is None:
        return
    expected = _reference_name_parts(entry, style, "K0D3XY", "Kunde {code}")
    assert _name_parts(entry, style, "K0D3XY", "Kunde {code}") == expected
    # with the label names of every example before this one kept, as a book keeps its contacts'
    assert _name_parts(entry, style, "K0D3XY", "Kunde {code}", _SHARED_LABEL_TEXTS) == expected


_SHARED_LABEL_TEXTS: dict[tuple[str, ...], list[tuple[str, str]]] = {}


def test_a_book_keeps_no_label_names_past_itself(tmp_path):
    """The cleaned label names a book keeps are its own: nothing of them at module level after it."""
    import contactvault.book as book_module  # noqa: PLC0415

    assert not [
        name
        for name, value in vars(book_module).items()
        if hasattr(value, "cache_info")
        or (isinstance(value, dict) and not name.startswith("__") and name != "_DOTTED_I")  # a constant
    ]


def test_has_word_is_isalnum_of_a_character():
    r"""``_has_word`` (a search of re's ``[^\W_]``) is ``any(ch.isalnum())``, for every code point."""
    chars = [chr(c) for c in range(0x110000)]
    assert [c for c in chars if _has_word(c) != c.isalnum()] == []
    assert [c for c in chars if _has_word(f"-{c}_") != c.isalnum()] == []
    assert not _has_word("")
    assert not _has_word("_-_ ")


# --- vCard text -----------------------------------------------------------------------------------------

_VCARD_CHARS = (
    "aZ ü\\,;:\"'\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x00\x7f\x85\u00a0\u2028\u2029\u200e\u202a\ud800\U0001f600"
)


@settings(max_examples=1000)
@given(st.text(alphabet=_VCARD_CHARS, max_size=12) | st.text(max_size=12))
@example("Müller, Jürgen; Dr.\\")
@example("a\r\nb")
def test_escape_is_escape_text(text):
    """The vCard's escape of a name is ``escape_text``'s, printable or not."""
    assert _escape(text) == escape_text(text)


# --- the book's order -----------------------------------------------------------------------------------

_sort_names = (
    st.text(alphabet="aAbB\u00df \u1e9e\u0131\u0130!(+\u00e4\u0308\u03a9\U0001f600-", min_size=1, max_size=5)
    .map(str.strip)
    .filter(bool)
)
_sort_cards = st.lists(
    st.tuples(
        _sort_names,
        st.sampled_from(["+4915112345678", "+491511234567", "+4915112345679", "+1555"]),
        st.text(alphabet="0123456789abcdef", min_size=1, max_size=3),
    ),
    max_size=30,
)


@settings(max_examples=500)
@given(_sort_cards)
def test_cards_sort_as_the_tuple_of_name_number_uid(triples):
    """A card's key sorts as ``(name without case, number, UID)``: the order of ``MessengerBook(...)``."""
    cards = [
        BookCard(uid, MessengerEntry(display_name=name, phone_e164=number), ("", name))
        for name, number, uid in triples
    ]
    by_key = sorted(cards, key=lambda c: c.key)
    by_tuple = sorted(cards, key=lambda c: (c.entry.display_name.casefold(), c.entry.phone_e164, c.uid))
    assert [id(c) for c in by_key] == [id(c) for c in by_tuple]  # sort is stable: the same cards in place


def test_no_casefold_holds_nul():
    """The key's separator: no character but NUL itself folds to a text that holds NUL."""
    assert [c for c in map(chr, range(1, 0x110000)) if "\x00" in c.casefold()] == []


def test_a_card_with_nul_is_refused():
    """A card whose name or UID holds NUL (no MessengerEntry does) would sort out of place: refused."""
    entry = MessengerEntry(display_name="Anna", phone_e164="+4915112345678")
    with pytest.raises(ValueError, match="NUL"):
        BookCard("ab\x00cd", entry, ("", "Anna"))
    with pytest.raises(ValueError, match="NUL"):
        BookCard("abcd", MessengerEntry.model_construct(display_name="A\x00", phone_e164="+49151"), ("", ""))


def test_no_printable_text_holds_a_bidi_control():
    """What lets ``_clean`` and ``_book_entries`` take ``isprintable()`` for the bidi check too."""
    assert not any(ch.isprintable() for ch in _BIDI)
    assert not any(ch.isprintable() for ch in BIDI_CONTROLS)


def test_fold_translates_only_where_a_dotted_or_dotless_i_is():
    """``_fold`` skips the translation of a text without a dotted or dotless i: it would change nothing."""
    for c in map(chr, range(0x110000)):
        if c not in "\u0130\u0131":
            assert c.translate(_DOTTED_I) == c
    assert _fold("I\u0130\u0131i") == "I\u0130\u0131i".translate(_DOTTED_I).casefold() == "iiii"


@settings(max_examples=300)
@given(_sort_cards)
def test_a_book_of_pairs_is_ordered_and_split_as_before(triples):
    """``MessengerBook(pairs)``: the tuple's order, and each split ``split_display_name``'s when asked for."""
    seen: set[str] = set()
    pairs = []
    for name, number, uid in triples:
        if uid not in seen:
            seen.add(uid)
            pairs.append((uid, MessengerEntry(display_name=name, phone_e164=number)))
    book = MessengerBook(pairs)
    by_tuple = sorted(pairs, key=lambda c: (c[1].display_name.casefold(), c[1].phone_e164, c[0]))
    assert book.cards() == tuple(by_tuple)
    splits = {uid: split_display_name(entry.display_name) for uid, entry in pairs}
    assert dict(book.names) == splits
    assert [book.name_parts(uid) for uid, _ in by_tuple] == [splits[uid] for uid, _ in by_tuple]
    given_names = MessengerBook(list(reversed(pairs)), names=splits)
    assert given_names == book
    assert hash(given_names) == hash(book)


def test_a_book_of_entries_with_nul_sorts_by_the_tuple():
    """Entries made without validation may hold NUL: the book then sorts by the tuple itself."""
    made = MessengerEntry.model_construct
    pairs = [
        ("u1", made(display_name="a\x00+", phone_e164="+49151")),
        ("u2", made(display_name="a", phone_e164="+49152")),
        ("u3", made(display_name="a\x00", phone_e164="+49150")),
    ]
    expected = sorted(pairs, key=lambda c: (c[1].display_name.casefold(), c[1].phone_e164, c[0]))
    assert MessengerBook(pairs).cards() == tuple(expected)
    assert [uid for uid, _ in expected] == ["u2", "u3", "u1"]
