"""The minimal exports of a MessengerBook: vCard 3.0 / 4.0 and Google CSV, written atomically."""

from __future__ import annotations

import io
import re
import stat
import uuid
from datetime import UTC, datetime

import pytest
import vobject
from hypothesis import given
from hypothesis import strategies as st

from contactvault import import_csv, import_vcards
from contactvault.book import MessengerBook, NameStyle, book_name_parts
from contactvault.export.minimal import card, to_csv, to_vcard, write_csv, write_vcard
from contactvault.models import DirectoryEntry, MessengerEntry
from tests.strategies import contacts, display_names

ALLOWED = {"BEGIN", "VERSION", "UID", "N", "FN", "TEL", "END"}
AWKWARD = "Müller, Jürgen; \\ GmbH: Zoë ﻿ 김민준 " + "ß" * 40  # commas, semicolons, backslash, long


def _book(*names: str) -> MessengerBook:
    return MessengerBook(
        (f"{i:032x}", MessengerEntry(display_name=name, phone_e164=f"+49151555012{i:02d}"))
        for i, name in enumerate(names)
    )


def _properties(text: str) -> list[str]:
    unfolded = text.replace("\r\n ", "")
    return [line.split(":", 1)[0].split(";", 1)[0] for line in unfolded.split("\r\n") if line]


def test_cards_hold_only_the_allowed_properties():
    """Each card is BEGIN, VERSION, UID, N, FN, TEL;TYPE=CELL, END and nothing else, with CRLF line ends."""
    text = to_vcard(_book("Anna Beispiel"))
    assert text == (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" + "0" * 32 + "\r\nN:Beispiel;Anna;;;\r\nFN:Anna Beispiel\r\n"
        "TEL;TYPE=CELL:+4915155501200\r\nEND:VCARD\r\n"
    )


def test_n_holds_the_split_of_fn():
    """N holds family and given, each escaped; given no split, card() splits the display name itself."""
    uid = "0" * 32
    assert "\r\nN:M.;Jürgen;;;\r\nFN:Jürgen M.\r\n" in card(uid, "Jürgen M.", "+4915155501234")
    assert "\r\nN:M.;J.;;;\r\nFN:J. M.\r\n" in card(uid, "J. M.", "+4915155501234")
    assert "\r\nN:Müller;Jürgen;;;\r\n" in card(uid, "Müller, Jürgen", "+4915155501234")
    pseudonym = card(uid, "Kunde 7KQ4M2", "+4915155501234", family="", given="Kunde 7KQ4M2")
    assert "\r\nN:;Kunde 7KQ4M2;;;\r\n" in pseudonym
    odd = card(uid, "Ölz; Söhne \\ GmbH", "+4915155501234", family="GmbH", given="Ölz; Söhne \\")
    assert "\r\nN:GmbH;Ölz\\; Söhne \\\\;;;\r\n" in odd
    parsed = vobject.readOne(odd)
    assert (parsed.n.value.family, parsed.n.value.given) == ("GmbH", "Ölz; Söhne \\")


def test_n_never_shows_what_fn_does_not():
    """A split with a word FN does not show is refused, and the message does not repeat it."""
    with pytest.raises(ValueError, match="whole words") as caught:
        card("0" * 32, "Bäckerei Schmidt", "+4915155501234", family="Schmidt", given="Hans")
    assert "Hans" not in str(caught.value)


def test_vcard_4():
    """VCard 4.0 writes the number as a tel: URI."""
    text = to_vcard(_book("Anna"), version="4.0")
    assert "VERSION:4.0\r\n" in text
    assert "TEL;VALUE=uri;TYPE=cell:tel:+4915155501200\r\n" in text
    with pytest.raises(ValueError, match="version"):
        to_vcard(_book("Anna"), version="2.1")  # type: ignore[arg-type]


def test_awkward_names_are_escaped_folded_and_read_back_by_vobject():
    """Commas, semicolons, backslashes and long non-Latin names survive; no line exceeds 75 octets."""
    text = to_vcard(_book(AWKWARD.strip(), "O'Brien"))
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    cards = list(vobject.readComponents(io.StringIO(text)))
    assert [c.fn.value for c in cards] == [AWKWARD.strip(), "O'Brien"] or [c.fn.value for c in cards] == [
        "O'Brien",
        AWKWARD.strip(),
    ]
    for component in cards:
        assert {child.name for child in component.getChildren()} == ALLOWED - {"BEGIN", "END"}


def test_the_export_reads_back_through_contactvaults_own_importer():
    """The vCard and the CSV import again into the same names and E.164 numbers."""
    book = _book("Anna Beispiel", "Müller, Jürgen")
    expected = sorted((e.display_name, e.phone_e164) for e in book)
    from_vcf = import_vcards(to_vcard(book).encode(), default_region="DE")
    assert sorted((c.display_name, c.phones[0].e164) for c in from_vcf.contacts) == expected
    from_csv = import_csv(to_csv(book).encode(), default_region="DE")
    assert sorted((c.display_name, c.phones[0].e164) for c in from_csv.contacts) == expected


def test_csv_defuses_formulas_in_names():
    """A name a spreadsheet would run as a formula gets a leading apostrophe."""
    text = to_csv(_book("=HYPERLINK(1)", "@SUM(1)"))
    assert "'=HYPERLINK(1)" in text
    assert "'@SUM(1)" in text
    assert text.splitlines()[0] == "First Name,Last Name,Labels,Phone 1 - Label,Phone 1 - Value"


def test_exports_take_books_only():
    """Anything but a MessengerBook is refused, so no CRM object can be exported by mistake."""
    with pytest.raises(TypeError):
        to_vcard([MessengerEntry(display_name="A", phone_e164="+4915155501234")])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        to_csv(None)  # type: ignore[arg-type]


def test_files_are_written_atomically_and_privately(tmp_path):
    """write_vcard and write_csv replace the file whole, with mode 0600 and no temporary file left."""
    target = tmp_path / "book.vcf"
    target.write_text("old")
    write_vcard(_book("Anna"), target)
    assert target.read_bytes().startswith(b"BEGIN:VCARD\r\n")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    csv_path = write_csv(_book("Anna"), tmp_path / "book.csv")
    assert csv_path.read_bytes().startswith("\ufeffFirst Name".encode())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.csv", "book.vcf"]


@given(st.lists(display_names(max_words=6), min_size=1, max_size=5), st.sampled_from(["3.0", "4.0"]))
def test_any_book_exports_only_allowed_properties(names, version):
    """For any names, the export has only the allowed properties and one card per entry."""
    book = _book(*names)
    text = to_vcard(book, version=version)
    properties = _properties(text)
    assert set(properties) <= ALLOWED
    assert properties.count("BEGIN") == len(book) == properties.count("TEL")


_WORD = re.compile(r"[^\s,]+")
_STYLES: tuple[NameStyle, ...] = ("full", "given_initial", "initials", "pseudonym")
T0 = datetime(2025, 1, 1, tzinfo=UTC)


@st.composite
def named_books(draw: st.DrawFn) -> MessengerBook:
    """A book built as the vault builds one: names and splits from book_name_parts, in any style."""
    cards, names = [], {}
    for i, contact in enumerate(draw(st.lists(contacts(), min_size=1, max_size=4))):
        entry = DirectoryEntry.of(contact.model_copy(update={"id": uuid.uuid4()}), 1)
        style = draw(st.sampled_from(_STYLES))
        name, family, given = book_name_parts(entry, style, code=f"K{i:05d}")
        uid = f"{i:032x}"
        cards.append((uid, MessengerEntry(display_name=name, phone_e164=f"+49151555012{i:02d}")))
        if draw(st.booleans()):  # or the book splits the name itself
            names[uid] = (family, given)
    return MessengerBook(cards, names=names)


@given(named_books(), st.sampled_from(["3.0", "4.0"]))
def test_n_is_made_of_fn_and_reads_back(book, version):
    """For any book, each card's N is whole words of its FN; vobject and the importer read both back."""
    text = to_vcard(book, version=version)
    parsed = list(vobject.readComponents(io.StringIO(text)))
    assert len(parsed) == len(book)
    for component in parsed:
        uid = component.uid.value
        entry = dict(book.cards())[uid]
        family, given = book.name_parts(uid)
        assert component.fn.value == entry.display_name
        assert (component.n.value.family, component.n.value.given) == (family, given)
        fn_words = _WORD.findall(entry.display_name)
        for part in (family, given):
            words = _WORD.findall(part)
            assert part == " ".join(words)
            assert not words or any(
                fn_words[i : i + len(words)] == words for i in range(len(fn_words) - len(words) + 1)
            )
    imported = import_vcards(text.encode(), default_region="DE")
    assert not [issue for issue in imported.issues if issue.severity == "error"]
    by_number = {c.phones[0].e164: c for c in imported.contacts}
    for uid, entry in book.cards():
        contact = by_number[entry.phone_e164]
        assert contact.display_name == entry.display_name
        assert (contact.name.family, contact.name.given) == book.name_parts(uid)
