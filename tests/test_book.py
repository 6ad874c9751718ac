"""The messenger book: name styles, UIDs and pseudonym codes, order, and diffs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contactvault.book import (
    BookDiff,
    MessengerBook,
    book_name,
    book_name_parts,
    book_uid,
    check_name_split,
    pseudonym_code,
    split_display_name,
)
from contactvault.models import DirectoryEntry, Label, MessengerEntry, NameParts
from tests.strategies import display_names, name_parts

STYLES = ("full", "given_initial", "initials", "pseudonym")

T0 = datetime(2025, 1, 1, tzinfo=UTC)
KEY = bytes(range(32))


def _entry(
    display_name: str, *, given: str = "", family: str = "", labels: tuple[str, ...] = ()
) -> DirectoryEntry:
    return DirectoryEntry(
        id=uuid.uuid4(),
        version=1,
        display_name=display_name,
        name=NameParts(given=given, family=family),
        labels=tuple(Label(name=n) for n in labels),
        created_at=T0,
        updated_at=T0,
    )


def _book_entry(name: str, number: str = "+4915155501234") -> MessengerEntry:
    return MessengerEntry(display_name=name, phone_e164=number)


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("full", "Anna Beispiel"),
        ("given_initial", "Anna B."),
        ("initials", "A. B."),
        ("pseudonym", "Kunde X7Y8Z9"),
    ],
)
def test_name_styles(style, expected):
    """Each name style gives the documented form."""
    entry = _entry("Anna Beispiel", given="Anna", family="Beispiel")
    assert book_name(entry, style, code="X7Y8Z9") == expected


def test_name_parts_are_taken_from_the_display_name_when_missing():
    """Without structured name parts, the first and last words of the display name stand in."""
    entry = _entry("Jürgen von Müller")
    assert book_name(entry, "given_initial", code="C") == "Jürgen M."
    assert book_name(entry, "initials", code="C") == "J. M."


def test_one_word_names():
    """A single-word name gives that word (given_initial) or one initial."""
    entry = _entry("Zoë")
    assert book_name(entry, "given_initial", code="C") == "Zoë"
    assert book_name(entry, "initials", code="C") == "Z."


@pytest.mark.parametrize(
    ("display_name", "labels", "expected"),
    [
        ("Anna Beispiel (bezahlt)", ("bezahlt",), "Anna Beispiel"),
        ("Anna Beispiel - Zahlung offen", ("zahlung offen",), "Anna Beispiel"),
        ("VIP Anna Beispiel", ("VIP",), "Anna Beispiel"),
        ("Annabell Beispiel", ("anna",), "Annabell Beispiel"),  # whole words only
    ],
)
def test_the_contacts_labels_never_reach_the_name(display_name, labels, expected):
    """A label name inside the display name (any case, whole words) is taken out of the book name."""
    assert book_name(_entry(display_name, labels=labels), "full", code="C") == expected


def test_a_name_that_is_only_a_label_becomes_the_pseudonym():
    """If nothing but label text is left, the pseudonym stands in: the book name is never empty."""
    entry = _entry("bezahlt", labels=("Bezahlt",))
    assert book_name(entry, "full", code="Q1W2E3", pseudonym="Kontakt {code}") == "Kontakt Q1W2E3"


def test_bidi_marks_and_invisible_characters_are_removed():
    """Bidirectional controls and zero-width characters are replaced, spaces collapsed."""
    entry = _entry("Anna\u202e \u200bBeispiel\u2066")
    assert book_name(entry, "full", code="C") == "Anna Beispiel"


@pytest.mark.parametrize("template", ["Kunde", "Kunde {name}", "{code} {0}", "Kunde {code", "   {code}"[:3]])
def test_bad_pseudonym_templates_are_refused(template):
    """A template without {code}, or with other placeholders, is a ValueError."""
    with pytest.raises(ValueError, match="template"):
        book_name(_entry("Anna"), "pseudonym", code="C", pseudonym=template)


def test_unknown_style():
    """An unknown name style is a ValueError naming the styles, never the value given."""
    with pytest.raises(ValueError, match="initials") as caught:
        book_name(_entry("Anna"), "nick Geheimwert", code="C")  # type: ignore[arg-type]
    assert str(caught.value) == "unknown name style; use one of: full, given_initial, initials, pseudonym"


@pytest.mark.parametrize(
    "template", ["{code.upper} Geheim", "{code!r} Geheim", "{code:>99} Geheim", "{} Geheim"]
)
def test_templates_use_the_bare_code_only(template):
    """An attribute, conversion or format spec in the template is refused; the message never repeats it."""
    with pytest.raises(ValueError, match="template") as caught:
        book_name(_entry("Anna"), "pseudonym", code="C", pseudonym=template)
    assert "Geheim" not in str(caught.value)
    assert book_name(_entry("Anna"), "pseudonym", code="C", pseudonym="{{Kunde}} {code}") == "{Kunde} C"


def test_codes_and_uids_are_stable_and_keyed():
    """Codes and UIDs are the same for the same key, differ between vaults, and are not the contact id."""
    cid = uuid.uuid4().bytes
    other_key = bytes(32)
    assert pseudonym_code(KEY, cid) == pseudonym_code(KEY, cid)
    assert pseudonym_code(KEY, cid) != pseudonym_code(other_key, cid)
    assert len(pseudonym_code(KEY, cid)) == 6
    uid = book_uid(KEY, cid, "+4915155501234")
    assert uid == book_uid(KEY, cid, "+4915155501234")
    assert uid != book_uid(other_key, cid, "+4915155501234")
    assert uid != book_uid(KEY, cid, "+4915155501235")
    assert uid != cid.hex()
    assert len(uid) == 32


def test_book_order_is_deterministic():
    """The book orders entries by name (without case), then number, whatever the input order."""
    cards = [
        ("c" * 32, _book_entry("zoë")),
        ("a" * 32, _book_entry("Anna")),
        ("b" * 32, _book_entry("anna", "+12")),
    ]
    one, other = MessengerBook(cards), MessengerBook(reversed(cards))
    assert one == other
    assert [e.display_name for e in one] == ["anna", "Anna", "zoë"]
    assert len(one) == 3
    assert repr(one) == "MessengerBook(3 entries)"


def test_book_refuses_duplicates_and_foreign_objects():
    """Duplicate UIDs, malformed UIDs and anything but a MessengerEntry are refused."""
    with pytest.raises(ValueError, match="unique"):
        MessengerBook([("a" * 32, _book_entry("A")), ("a" * 32, _book_entry("B"))])
    with pytest.raises(ValueError, match="UID"):
        MessengerBook([("../etc/passwd", _book_entry("A"))])
    with pytest.raises(TypeError):
        MessengerBook([("a" * 32, {"display_name": "A", "phone_e164": "+4915155501234"})])  # type: ignore[list-item]


def test_diff():
    """diff() reports added, removed and renamed entries by UID."""
    old = MessengerBook([("a" * 32, _book_entry("Anna")), ("b" * 32, _book_entry("Bernd"))])
    new = MessengerBook([("a" * 32, _book_entry("Anna B.")), ("c" * 32, _book_entry("Cem"))])
    diff = new.diff(old)
    assert diff == BookDiff(
        added=(_book_entry("Cem"),),
        removed=(_book_entry("Bernd"),),
        renamed=((_book_entry("Anna"), _book_entry("Anna B.")),),
    )
    assert diff
    assert not new.diff(new)


@given(
    st.text(min_size=1, max_size=300).filter(lambda t: t.strip() and t.isprintable()),
    st.lists(st.text(min_size=1, max_size=20), max_size=3),
    st.sampled_from(["full", "given_initial", "initials", "pseudonym"]),
)
def test_book_names_are_always_valid(display_name, labels, style):
    """For any display name and labels, every style gives a name a MessengerEntry accepts."""
    entry = _entry(display_name, labels=tuple(labels))
    name = book_name(entry, style, code="K0D3XY")
    MessengerEntry(display_name=name, phone_e164="+4915155501234")


# --- the name split of the card's N ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("display_name", "stored", "style", "expected"),
    [
        ("Anna Beispiel", ("Beispiel", "Anna"), "full", ("Anna Beispiel", "Beispiel", "Anna")),
        ("Jürgen Müller", ("", ""), "full", ("Jürgen Müller", "Müller", "Jürgen")),
        ("Jürgen Müller", ("", ""), "given_initial", ("Jürgen M.", "M.", "Jürgen")),
        ("Jürgen Müller", ("", ""), "initials", ("J. M.", "M.", "J.")),
        ("Jürgen Müller", ("", ""), "pseudonym", ("Kunde 7KQ4M2", "", "Kunde 7KQ4M2")),
        (
            "Anna Maria Beispiel",
            ("Beispiel", "Anna Maria"),
            "given_initial",
            ("Anna Maria B.", "B.", "Anna Maria"),
        ),
        (
            "Jürgen von Müller",
            ("von Müller", "Jürgen"),
            "full",
            ("Jürgen von Müller", "von Müller", "Jürgen"),
        ),
        ("Müller, Jürgen", ("", ""), "full", ("Müller, Jürgen", "Müller", "Jürgen")),
        ("Müller, Jürgen", ("", ""), "given_initial", ("Jürgen M.", "M.", "Jürgen")),
        ("Beispiel, Anna", ("Beispiel", "Anna"), "full", ("Beispiel, Anna", "Beispiel", "Anna")),
        ("Dr. Anna Beispiel", ("Beispiel", ""), "full", ("Dr. Anna Beispiel", "Beispiel", "Dr. Anna")),
        ("Zoë", ("", ""), "full", ("Zoë", "", "Zoë")),
        ("Zoë", ("", ""), "initials", ("Z.", "", "Z.")),
    ],
)
def test_name_parts_per_style(display_name, stored, style, expected):
    """Each style splits its name into family and given as a phone expects; the name is book_name's."""
    entry = _entry(display_name, family=stored[0], given=stored[1])
    assert book_name_parts(entry, style, code="7KQ4M2") == expected
    assert book_name(entry, style, code="7KQ4M2") == expected[0]


def test_labels_and_the_pseudonym_fallback_in_the_split():
    """A label taken out of the name is not in the split either; a pseudonym stand-in is a given name."""
    paid = _entry("Anna Beispiel (bezahlt)", labels=("bezahlt",))
    assert book_name_parts(paid, "full", code="C") == ("Anna Beispiel", "Beispiel", "Anna")
    only_label = _entry("bezahlt", labels=("bezahlt",))
    assert book_name_parts(only_label, "full", code="7KQ4M2") == ("Kunde 7KQ4M2", "", "Kunde 7KQ4M2")


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("full", ("Bäckerei Schmidt", "Schmidt", "Bäckerei")),
        ("given_initial", ("Hans S.", "S.", "Hans")),  # the style itself shows the stored given name
        ("initials", ("H. S.", "S.", "H.")),
        ("pseudonym", ("Kunde 7KQ4M2", "", "Kunde 7KQ4M2")),
    ],
)
def test_stored_name_parts_the_name_does_not_show_never_reach_the_split(style, expected):
    """A stored given name that the book name does not show ("Hans" of "Bäckerei Schmidt") is not in N."""
    entry = _entry("Bäckerei Schmidt", given="Hans", family="Schmidt")
    assert book_name_parts(entry, style, code="7KQ4M2") == expected
    check_name_split(*expected)


@pytest.mark.parametrize(
    ("display_name", "expected"),
    [
        ("Jürgen Müller", ("Müller", "Jürgen")),
        ("Jürgen von Müller", ("Müller", "Jürgen von")),
        ("Müller, Jürgen", ("Müller", "Jürgen")),
        ("Müller,Jürgen", ("Müller", "Jürgen")),
        ("Zoë", ("", "Zoë")),
        ("Anna - Beispiel -", ("Beispiel", "Anna")),
        ("J. M.", ("M.", "J.")),
        ("Anna B.", ("B.", "Anna")),
        ("Kunde 7KQ4M2", ("7KQ4M2", "Kunde")),
        ("a, b, c", ("c", "a b")),  # two commas: not the "Family, Given" form
        ("-", ("", "-")),
    ],
)
def test_split_display_name(display_name, expected):
    """A display name alone: "Family, Given", a single given name, or the last word as the family name."""
    assert split_display_name(display_name) == expected
    check_name_split(display_name, *expected)


@pytest.mark.parametrize(
    ("family", "given"),
    [
        ("Schmidt", "Hans"),  # a word FN does not show
        ("Schmid", ""),  # part of a word
        ("", "Anna Beispiel"),  # words of FN, but not next to each other
        ("Beispiel Maria", ""),  # not in FN's order
        ("Beispiel,", ""),  # a comma is a separator, not a word
        ("Beispiel ", ""),  # surrounding white space
        ("Anna  Maria", ""),  # two spaces
    ],
)
def test_check_name_split_refuses_what_fn_does_not_show(family, given):
    """Each part must be consecutive whole words of the display name; the message never repeats a name."""
    with pytest.raises(ValueError, match="whole words") as caught:
        check_name_split("Anna Maria Beispiel, Bäckerei Schmidt", family, given)
    for word in ("Anna", "Maria", "Beispiel", "Schmidt", "Hans"):
        assert word not in str(caught.value)


def test_the_book_keeps_a_split_per_uid():
    """A book takes a (family, given) split per UID, derives the rest, refuses one that FN does not show."""
    cards = [("a" * 32, _book_entry("Jürgen von Müller")), ("b" * 32, _book_entry("Zoë", "+12"))]
    book = MessengerBook(cards, names={"a" * 32: ("von Müller", "Jürgen")})
    assert book.name_parts("a" * 32) == ("von Müller", "Jürgen")
    assert book.name_parts("b" * 32) == ("", "Zoë")
    assert dict(book.names) == {"a" * 32: ("von Müller", "Jürgen"), "b" * 32: ("", "Zoë")}
    assert MessengerBook(cards).name_parts("a" * 32) == ("Müller", "Jürgen von")
    assert MessengerBook(book.cards(), names=book.names) == book
    with pytest.raises(TypeError):
        book.names["a" * 32] = ("", "")  # type: ignore[index]
    with pytest.raises(KeyError):
        book.name_parts("c" * 32)
    with pytest.raises(ValueError, match="whole words") as caught:
        MessengerBook(cards, names={"a" * 32: ("Müller", "Hans")})
    assert "Hans" not in str(caught.value)
    with pytest.raises(ValueError, match="not in the book"):
        MessengerBook(cards, names={"c" * 32: ("", "Zoë")})
    with pytest.raises(TypeError):
        MessengerBook(cards, names={"a" * 32: ["Müller", "Jürgen"]})  # type: ignore[dict-item]


def test_equality_and_diff_see_the_split():
    """Two books differing only in a split are different; diff() reports the entry as resplit, not renamed."""
    cards = [("a" * 32, _book_entry("Jürgen von Müller"))]
    old = MessengerBook(cards)
    new = MessengerBook(cards, names={"a" * 32: ("von Müller", "Jürgen")})
    assert old != new
    assert hash(MessengerBook(cards)) == hash(old)
    assert MessengerBook(cards, names={"a" * 32: ("Müller", "Jürgen von")}) == old
    diff = new.diff(old)
    assert diff == BookDiff(added=(), removed=(), renamed=(), resplit=(_book_entry("Jürgen von Müller"),))
    assert diff
    assert not new.diff(new)


def _words(text: str) -> list[str]:
    return text.replace(",", " ").split()


def _is_run(words: list[str], part: str) -> bool:
    run = _words(part)
    return not run or any(words[i : i + len(run)] == run for i in range(len(words) - len(run) + 1))


@given(display_names(max_words=6), name_parts(), st.lists(st.text(min_size=1, max_size=12), max_size=2))
def test_every_style_splits_into_whole_words_of_the_name(display_name, parts, labels):
    """For any contact and style, family and given are consecutive whole words of the book name."""
    entry = _entry(display_name, labels=tuple(labels)).model_copy(update={"name": parts})
    for style in STYLES:
        name, family, given = book_name_parts(entry, style, code="K0D3XY")
        assert name == book_name(entry, style, code="K0D3XY")
        check_name_split(name, family, given)
        assert family == " ".join(_words(family))
        assert given == " ".join(_words(given))
        assert _is_run(_words(name), family)
        assert _is_run(_words(name), given)
        MessengerBook([("a" * 32, _book_entry(name))], names={"a" * 32: (family, given)})
