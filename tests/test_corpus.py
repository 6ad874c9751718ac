"""Conformance: the real exports in ../shared/corpus (read in place, never copied) import as they should.

Numbers are read with ``default_region="US"``: the sample people live in New York and Ontario.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import vobject

from contactvault import ImportResult, import_vcards
from contactvault.models import Contact
from tests.conftest import CORPUS

FILES = sorted(CORPUS.rglob("*.vcf")) if CORPUS.is_dir() else []
REGION = "US"
_LINE_END = re.compile(rb"\r\n|\r|\n")
_MEDIA = re.compile(rb"(?:[A-Za-z0-9-]+\.)?(PHOTO|KEY|LOGO|SOUND)[;:]", re.IGNORECASE)
_BASE64_ONLY = re.compile(rb"[ \t]*[A-Za-z0-9+/=]+[ \t]*")


def lines_of(path: Path) -> list[bytes]:
    return _LINE_END.split(path.read_bytes().removeprefix(b"\xef\xbb\xbf"))


def begin_lines(path: Path) -> int:
    """How many lines open a card (``BEGIN:VCARD`` in any case, at the start of the line)."""
    return sum(1 for line in lines_of(path) if line[:1] in b"Bb" and line.strip().upper() == b"BEGIN:VCARD")


def media_pieces(path: Path, size: int = 16) -> set[bytes]:
    """Runs of ``size`` bytes from the values of PHOTO, KEY, LOGO and SOUND (folded, unindented or URI)."""
    pieces: set[bytes] = set()
    inside = False
    for line in lines_of(path):
        match = _MEDIA.match(line)
        if match:
            inside = True
            value = line.split(b":", 1)[1] if b":" in line else b""
        elif inside and (not line.strip() or line[:1] in b" \t" or _BASE64_ONLY.fullmatch(line)):
            value = line.strip()
        else:
            inside = False
            continue
        pieces.update(value[i : i + size] for i in range(len(value) - size + 1))
    return pieces


def imported(name: str) -> ImportResult:
    return import_vcards(CORPUS / "ez-vcard" / name, default_region=REGION)


def names(result: ImportResult) -> list[str]:
    return [c.display_name for c in result.contacts]


def e164s(contact: Contact) -> list[str | None]:
    return [p.e164 for p in contact.phones]


def test_corpus_is_there(corpus):
    """The corpus holds the nineteen real exports this module reads (so the parametrisation is not empty)."""
    assert len(list(corpus.rglob("*.vcf"))) == len(FILES) >= 19


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(CORPUS).as_posix())
def test_every_card_becomes_a_contact_or_an_error(path):
    """Every BEGIN:VCARD line of a real export ends as a contact or as one error issue; nothing is raised."""
    result = import_vcards(path, default_region=REGION)
    card_errors = [i for i in result.errors if i.code != "outside_card"]
    assert begin_lines(path) == len(result.contacts) + len(card_errors) == result.entries
    assert not [i for i in result.issues if i.code == "internal_error"]
    assert all(i.line >= 1 and i.source == path.name for i in result.issues)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(CORPUS).as_posix())
def test_photos_and_keys_are_dropped(path):
    """Every PHOTO, KEY, LOGO and SOUND is counted as dropped and no piece of it is in a stored contact."""
    result = import_vcards(path, default_region=REGION)
    assert result.dropped == sum(1 for line in lines_of(path) if _MEDIA.match(line))
    dumped = "".join(c.model_dump_json() for c in result.contacts).encode()
    assert [p for p in media_pieces(path) if p in dumped] == []


# --- exact expectations, file by file --------------------------------------------------------------------


def test_android_names_with_enye_and_the_broken_card():
    """Android's quoted-printable names keep every ``Ñ``; the card with a stray ``=80`` is one error."""
    result = imported("John_Doe_ANDROID.vcf")
    assert names(result) == [
        "john.doe@company.com",
        "jane.doe@company.com",
        "Ñ Ñ Ñ Ñ Ñ",
        "Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ",
        "Ñ Ñ Ñ Ñ",
    ]
    assert [(c.name.family, c.name.given) for c in result.contacts[2:]] == [
        ("Ñ Ñ Ñ Ñ", ""),
        ("Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ", ""),
        ("Ñ Ñ", "Ñ Ñ Ñ"),
    ]
    # The sixth card (line 71) has an ORG whose quoted-printable value, begun on line 82, ends in "=80".
    [error] = result.errors
    assert (error.code, error.line) == ("bad_encoding", 82)
    assert "line 71" in error.message
    assert [(i.code, i.line) for i in result.warnings if i.code == "no_name"] == [
        ("no_name", 1),
        ("no_name", 6),
    ]
    assert result.contacts[2].phones[0].raw == "123456789"
    assert (result.contacts[2].phones[0].types, result.contacts[2].phones[0].preferred) == (("cell",), True)


@pytest.mark.parametrize("file", ["John_Doe_GMAIL.vcf", "John_Doe_EVOLUTION.vcf"])
def test_unescaped_and_escaped_commas_in_names(file):
    """Gmail's unescaped and Evolution's escaped comma both give the full name, comma included."""
    contact = imported(file).contacts[0]
    assert contact.display_name == "Mr. John Richter, James Doe Sr."
    n = contact.name
    assert (n.family, n.given, n.additional, n.prefixes, n.suffixes) == (
        "Doe",
        "John",
        "Richter, James",
        "Mr.",
        "Sr.",
    )


def test_gmail_and_evolution_numbers():
    """Gmail's and Evolution's (folded inside the value) numbers normalise with the US as default region."""
    assert e164s(imported("John_Doe_GMAIL.vcf").contacts[0]) == ["+19055551234", "+19056661234"]
    assert e164s(imported("John_Doe_EVOLUTION.vcf").contacts[0]) == ["+19056661234", "+19055551234"]


def test_issue114_escaped_comma_and_german_numbers():
    """issue114.vcf keeps "Dummy, Dummy"; its invalid German number is kept as typed, the valid one too."""
    contact = only_contact("issue114.vcf")
    assert contact.display_name == "Dummy, Dummy"
    assert [(p.raw, p.e164, p.problem, p.preferred) for p in contact.phones] == [
        ("+49 1234 56789", None, "invalid_number", True),
        ("+49 9876 54321", "+49987654321", None, False),
    ]


def only_contact(file: str) -> Contact:
    result = imported(file)
    assert result.errors == []
    assert len(result.contacts) == 1
    return result.contacts[0]


ASCII_NAMES = {
    "John_Doe_BLACK_BERRY.vcf": ["John Doe"],
    "John_Doe_IPHONE.vcf": ["Mr. John Richter James Doe Sr."],
    "John_Doe_LOTUS_NOTES.vcf": ["Mr. Doe John I Johny"],
    "John_Doe_MAC_ADDRESS_BOOK.vcf": ["Mr. John Richter,James Doe Sr."],
    "John_Doe_MS_OUTLOOK.vcf": ["Mr. John Richter James Doe Sr."],
    "fullcontact.vcf": ["Prefix FirstName MiddleName LastName Suffix"],
    "gmail-list.vcf": ["Arnold Smith", "Chris Beatle", "Doug White"],
    "gmail-single.vcf": ["Greg Dartmouth"],
    "gmail-single2.vcf": ["VCard Test"],
    "outlook-2003.vcf": ["John Doe III"],
    "outlook-2007.vcf": ["Mr. Michael Angstadt Jr."],
    "rfc2426-example.vcf": ["Frank Dawson", "Tim Howes"],
    "rfc6350-example.vcf": ["Simon Perreault"],
    "thunderbird-MoreFunctionsForAddressBook-extension.vcf": ["John Doe"],
}


@pytest.mark.parametrize(("file", "expected"), ASCII_NAMES.items(), ids=ASCII_NAMES.keys())
def test_ascii_names_exact(file, expected):
    """Display names of the exports without special letters come out exactly as written, with no errors."""
    result = imported(file)
    assert names(result) == expected
    assert result.errors == []


def test_rfc6350_tel_uri_extension_and_birthday():
    """The RFC 6350 example: ``tel:`` URIs with ``ext=102``, ``PREF=1``, quoted types, ``BDAY:--0203``."""
    contact = only_contact("rfc6350-example.vcf")
    first, second = contact.phones
    assert (first.e164, first.extension, first.preferred, first.types) == (
        "+14186569254",
        "102",
        True,
        ("work", "voice"),
    )
    assert (second.e164, second.extension, second.preferred) == ("+14182626501", None, False)
    assert second.types == ("work", "cell", "voice", "video", "text")
    assert contact.birthday is not None
    assert contact.birthday.iso() == "--02-03"
    assert contact.name.suffixes == "ing. jr,M.Sc."


def test_rfc2426_fn_without_n():
    """The RFC 2426 example's two cards have FN but no N: names from FN, international numbers normalised."""
    result = imported("rfc2426-example.vcf")
    assert [c.name.is_empty() for c in result.contacts] == [True, True]
    assert [e164s(c) for c in result.contacts] == [
        ["+19196769515", "+19196769564"],
        ["+14159373419", "+14155284164"],
    ]


@pytest.mark.parametrize("file", ["John_Doe_IPHONE.vcf", "John_Doe_MAC_ADDRESS_BOOK.vcf"])
def test_apple_labels_unwrapped(file):
    """The iPhone's ``_$!<AssistantPhone>!$_`` and the Mac's plain label both become "AssistantPhone"."""
    contact = only_contact(file)
    labelled = [(p.raw, p.e164, p.label) for p in contact.phones if p.label is not None]
    assert labelled == [("905-222-1234", "+19052221234", "AssistantPhone")]


def test_outlook_2003_placeholder_numbers_kept_as_typed():
    """Outlook 2003's "BusinessPhone" and friends are kept as typed, with problem ``not_a_number``."""
    result = imported("outlook-2003.vcf")
    contact = result.contacts[0]
    assert [(p.raw, p.e164, p.problem) for p in contact.phones] == [
        ("BusinessPhone", None, "not_a_number"),
        ("HomePhone", None, "not_a_number"),
        ("MobilePhone", None, "not_a_number"),
        ("BusinessFaxPhone", None, "not_a_number"),
    ]
    assert [i.code for i in result.warnings] == ["invalid_number"] * 4
    assert contact.organisation == "Company, The"
    assert contact.notes[0].startswith("This is the note field!!\nSecond line\n\nThird line is empty")


def test_lotus_notes_profile_ignored_and_photo_dropped():
    """Lotus Notes' ``PROFILE:VCard``, ``NAME`` and ``SOURCE`` are not stored; its photo is dropped."""
    result = imported("John_Doe_LOTUS_NOTES.vcf")
    names_kept = {f.name for f in result.contacts[0].custom_fields}
    assert names_kept.isdisjoint({"PROFILE", "NAME", "SOURCE", "PHOTO"})
    assert result.dropped == 1


def test_radicale_all_name_components():
    """The radicale sample from vobject keeps every N component."""
    contact = import_vcards(CORPUS / "vobject" / "radicale-1587.vcf", default_region=REGION).contacts[0]
    n = contact.name
    assert (n.family, n.given, n.additional, n.prefixes, n.suffixes) == (
        "Family",
        "Given",
        "Additional",
        "Prefix",
        "Suffix",
    )


# --- vobject as an independent parser ---------------------------------------------------------------------


def _joined(value: object) -> str:
    return ",".join(value) if isinstance(value, list) else str(value)


def _fn_has_unescaped_comma(path: Path) -> bool:
    fn_lines = [line for line in lines_of(path) if line.upper().startswith(b"FN")]
    return any(re.search(rb"(?<!\\),", line) for line in fn_lines)


def read_with_vobject(path: Path) -> list[object] | None:
    """The cards vobject finds in a file, or None where it cannot read the file (several real exports)."""
    try:
        return list(vobject.readComponents(path.read_text(encoding="utf-8")))
    except Exception:  # noqa: BLE001  (vobject raises many kinds of errors on broken input)
        return None


def test_names_agree_with_vobject():
    """Where vobject can read a file, it finds the same cards, N components and (without bare commas) FN."""
    compared = 0
    for path in FILES:
        theirs = read_with_vobject(path)
        if theirs is None:
            continue
        ours = import_vcards(path, default_region=REGION).contacts
        assert len(theirs) == len(ours), path.name
        for card, contact in zip(theirs, ours, strict=True):
            if hasattr(card, "n"):
                n = card.n.value
                expected = tuple(_joined(x) for x in (n.family, n.given, n.additional, n.prefix, n.suffix))
                got = contact.name
                assert (got.family, got.given, got.additional, got.prefixes, got.suffixes) == expected, (
                    path.name
                )
            if hasattr(card, "fn") and not _fn_has_unescaped_comma(path):
                assert contact.display_name == card.fn.value, path.name
        compared += 1
    assert compared >= 10
