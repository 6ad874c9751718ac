"""The messenger book: name styles, UIDs and pseudonym codes, order, and diffs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contactvault.models import DirectoryEntry, Label, MessengerEntry, NameParts
from contactvault.sync.book import BookDiff, MessengerBook, book_name, book_uid, pseudonym_code

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
    """An unknown name style is a ValueError naming the styles."""
    with pytest.raises(ValueError, match="initials"):
        book_name(_entry("Anna"), "nickname", code="C")  # type: ignore[arg-type]


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
