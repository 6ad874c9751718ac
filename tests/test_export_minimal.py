"""The minimal exports of a MessengerBook: vCard 3.0 / 4.0 and Google CSV, written atomically."""

from __future__ import annotations

import io
import stat

import pytest
import vobject
from hypothesis import given
from hypothesis import strategies as st

from contactvault import import_csv, import_vcards
from contactvault.export.minimal import to_csv, to_vcard, write_csv, write_vcard
from contactvault.models import MessengerEntry
from contactvault.sync.book import MessengerBook
from tests.strategies import display_names

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
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" + "0" * 32 + "\r\nN:Anna Beispiel;;;;\r\nFN:Anna Beispiel\r\n"
        "TEL;TYPE=CELL:+4915155501200\r\nEND:VCARD\r\n"
    )


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
