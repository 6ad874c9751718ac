"""The full vCard writer: escaping, folding at 75 octets, and cards that an independent parser reads back."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest
import vobject
from hypothesis import given
from hypothesis import strategies as st

from contactvault.export.vcard import contact_to_vcard, contacts_to_vcard, escape_text, fold
from contactvault.models import (
    Birthday,
    Contact,
    CustomField,
    EmailAddress,
    Label,
    NameParts,
    Phone,
    PostalAddress,
)

T0 = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
VERSIONS = ["3.0", "4.0"]

# A content line once unfolded: optional group, an ASCII name, parameters, a colon, the value.
CONTENT_LINE = re.compile(r"\A(?:(?P<group>[A-Za-z0-9-]+)\.)?(?P<name>[A-Za-z0-9-]+)(?:;[^:;]+)*:")


def physical_lines(text: str) -> list[bytes]:
    """The CRLF-separated physical lines of a vCard, as bytes, without the final empty piece."""
    data = text.encode("utf-8")
    assert data.endswith(b"\r\n")
    return data[:-2].split(b"\r\n")


def unfold(text: str) -> list[str]:
    """RFC 6350 unfolding: drop every CRLF followed by one space, then split at CRLF."""
    assert text.endswith("\r\n")
    return text[:-2].replace("\r\n ", "").split("\r\n")


def property_names(text: str) -> list[str]:
    """Upper-cased property names of every unfolded content line, groups removed."""
    names = []
    for line in unfold(text):
        match = CONTENT_LINE.match(line)
        assert match, f"not a content line: {line!r}"
        names.append(match["name"].upper())
    return names


def assert_well_formed(text: str) -> None:
    """Every physical line fits 75 octets and decodes alone; one card; no stray CR or LF."""
    lines = physical_lines(text)
    for line in lines:
        assert len(line) <= 75
        assert b"\r" not in line
        assert b"\n" not in line
        line.decode("utf-8")
    names = property_names(text)
    assert names[0] == "BEGIN"
    assert names[-1] == "END"
    for singleton in ("BEGIN", "END", "VERSION", "UID"):
        assert names.count(singleton) == 1, singleton


def full_contact() -> Contact:
    """A synthetic contact with every field the writer can carry."""
    return Contact(
        id=uuid.UUID("00000000-0000-4000-8000-00000000abcd"),
        display_name="Probe, Anna; Dr.",
        name=NameParts(family="Probe", given="Anna", additional="Maria", prefixes="Dr.", suffixes="jr."),
        nickname="Anni",
        phones=[
            Phone(
                raw="030 5550123",
                e164="+49305550123",
                region="DE",
                kind="fixed",
                extension="5",
                types=["WORK"],
                label="Werkstatt",
            ),
            Phone(raw="0155 50123456", e164="+4915550123456", region="DE", kind="mobile", types=["CELL"]),
            Phone(raw="030 5550", problem="invalid_number", types=["HOME"], preferred=True),
        ],
        emails=[
            EmailAddress(address="anna@example.org", types=["HOME"], preferred=True),
            EmailAddress(address="a.probe@example.net", label="Verein"),
        ],
        addresses=[
            PostalAddress(
                po_box="PF 12",
                extended="Hinterhaus",
                street="Musterweg 7",
                locality="Beispielstadt",
                region="Nord",
                postal_code="12345",
                country="Deutschland",
                types=["HOME"],
            )
        ],
        birthday=Birthday(month=4, day=12),
        organisation="Tischlerei Probe, GmbH",
        department="Werkstatt",
        title="Meisterin",
        urls=["https://example.org/anna"],
        notes=["Zahlt bar;\nimmer pünktlich\\ freundlich"],
        labels=[Label(name="VIP"), Label(name="payment, pending")],
        custom_fields=[
            CustomField(name="X-SHOE-SIZE", value="38", label="Schuhgröße"),
            CustomField(name="X-PET", value="Kater; Fridolin"),
        ],
        created_at=T0,
        updated_at=T0,
    )


# -- escape_text ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("plain", "plain"),
        ("a\\b", "a\\\\b"),
        ("a,b", "a\\,b"),
        ("a;b", "a\\;b"),
        ("a\r\nb", "a\\nb"),
        ("a\nb", "a\\nb"),
        ("a\rb", "a\\nb"),
        ("a\n\nb", "a\\n\\nb"),
        ("a\r\n\r\nb", "a\\n\\nb"),
        ("\\n", "\\\\n"),
        ("\\,;", "\\\\\\,\\;"),
        ("Grüße: ok", "Grüße: ok"),
    ],
)
def test_escape_text(value, escaped):
    """Backslash, comma, semicolon and each kind of line break are escaped as RFC 6350 asks."""
    assert escape_text(value) == escaped


# -- fold -------------------------------------------------------------------------------------------------


def test_short_line_is_not_folded():
    """A line of at most 75 octets is returned with CRLF and nothing else."""
    assert fold("FN:Anna Probe") == "FN:Anna Probe\r\n"
    line = "NOTE:" + "x" * 70
    assert fold(line) == line + "\r\n"


def test_line_of_76_octets_is_folded():
    """A 76-octet line becomes 75 octets, CRLF, a space and the last octet."""
    line = "NOTE:" + "x" * 71
    assert fold(line) == line[:75] + "\r\n " + line[75:] + "\r\n"


def test_fold_does_not_split_a_multibyte_character():
    """A four-byte character that would straddle octet 75 moves to the next line whole."""
    line = "N" * 73 + "😀" + "tail"
    folded = fold(line)
    first, second = physical_lines(folded)
    assert first == b"N" * 73
    assert second == " 😀tail".encode()


def test_empty_line_is_just_crlf():
    """Folding an empty string gives CRLF."""
    assert fold("") == "\r\n"


_line_chars = st.one_of(
    st.characters(exclude_characters="\r\n"),
    st.sampled_from(["😀", "👩‍👩‍👧", "e\u0301", "\u0301", "\u0308", "ß", "€", "𝄞", "中", "\u200d", " "]),
)


@given(st.lists(_line_chars, max_size=300).map("".join))
def test_fold_property(line):
    """Folded lines fit 75 octets, decode alone, continue with one space, and unfold to the input."""
    folded = fold(line)
    assert folded.endswith("\r\n")
    lines = physical_lines(folded)
    for i, physical in enumerate(lines):
        assert len(physical) <= 75
        physical.decode("utf-8")
        if i:
            assert physical.startswith(b" ")
            assert len(physical) > 1
    assert "".join(unfold(folded)) == re.sub("[\ud800-\udfff]", "\ufffd", line)


def test_fold_writes_a_lone_surrogate_as_replacement_character():
    """A lone surrogate has no UTF-8 form: fold writes U+FFFD instead of failing."""
    assert fold("Anna \ud800 Probe") == "Anna ? Probe\r\n".replace("?", "\ufffd")


# -- contact_to_vcard -------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_full_card_is_well_formed(version):
    """The full card has one BEGIN, VERSION, UID and END, folded lines and ASCII property names."""
    text = contact_to_vcard(full_contact(), version)
    assert_well_formed(text)
    assert unfold(text)[1] == f"VERSION:{version}"


@pytest.mark.parametrize("version", VERSIONS)
def test_full_card_reads_back_with_vobject(version):
    """An independent parser (vobject) reads every field of the full card back."""
    contact = full_contact()
    card = vobject.readOne(contact_to_vcard(contact, version))
    assert card.version.value == version
    assert card.uid.value == f"urn:uuid:{contact.id}"
    assert card.fn.value == "Probe, Anna; Dr."
    n = card.n.value
    assert (n.family, n.given, n.additional, n.prefix, n.suffix) == ("Probe", "Anna", "Maria", "Dr.", "jr.")
    assert card.nickname.value == "Anni"
    assert [e.value for e in card.contents["email"]] == ["anna@example.org", "a.probe@example.net"]
    adr = card.adr.value
    assert (adr.box, adr.extended, adr.street, adr.city, adr.region, adr.code, adr.country) == (
        "PF 12",
        "Hinterhaus",
        "Musterweg 7",
        "Beispielstadt",
        "Nord",
        "12345",
        "Deutschland",
    )
    assert card.adr.params["TYPE"] == ["HOME"]
    assert card.org.value == ["Tischlerei Probe, GmbH", "Werkstatt"]
    assert card.title.value == "Meisterin"
    assert card.note.value == "Zahlt bar;\nimmer pünktlich\\ freundlich"
    assert card.categories.value == ["VIP", "payment, pending"]
    assert card.url.value == "https://example.org/anna"
    assert len(card.contents["tel"]) == 3
    assert card.contents["x-pet"][0].value == "Kater; Fridolin"


@pytest.mark.parametrize("version", VERSIONS)
def test_labels_use_item_groups(version):
    """A labelled value sits in an itemN group with an X-ABLabel of the same group."""
    card = vobject.readOne(contact_to_vcard(full_contact(), version))
    labels = {lb.group: lb.value for lb in card.contents["x-ablabel"]}
    assert sorted(labels.values()) == ["Schuhgröße", "Verein", "Werkstatt"]
    groups = {v: k for k, v in labels.items()}
    assert len(set(groups.values())) == 3
    work = next(t for t in card.contents["tel"] if t.group)
    assert work.group == groups["Werkstatt"]
    email = next(e for e in card.contents["email"] if e.group)
    assert email.value == "a.probe@example.net"
    assert email.group == groups["Verein"]
    shoe = card.contents["x-shoe-size"][0]
    assert shoe.value == "38"
    assert shoe.group == groups["Schuhgröße"]


def test_v4_writes_normalised_numbers_as_tel_uris():
    """Version 4.0 writes an E.164 number as a ``tel:`` URI with ``;ext=``, an invalid one as typed."""
    card = vobject.readOne(contact_to_vcard(full_contact(), "4.0"))
    tels = card.contents["tel"]
    assert tels[0].value == "tel:+49305550123;ext=5"
    assert tels[0].params["VALUE"] == ["uri"]
    assert tels[1].value == "tel:+4915550123456"
    assert tels[1].params["TYPE"] == ["CELL"]
    assert tels[2].value == "030 5550"
    assert "VALUE" not in tels[2].params
    assert tels[2].params["PREF"] == ["1"]


def test_v3_writes_numbers_as_phone_number_values():
    """Version 3.0 has no ``tel:`` URIs: numbers are plain values, preference is TYPE=pref."""
    card = vobject.readOne(contact_to_vcard(full_contact(), "3.0"))
    tels = card.contents["tel"]
    assert tels[0].value in {"030 5550123", "+49305550123"}
    assert tels[1].value in {"0155 50123456", "+4915550123456"}
    assert tels[2].value == "030 5550"
    assert "pref" in [t.lower() for t in tels[2].params["TYPE"]]
    assert all(not t.value.startswith("tel:") for t in tels)


def test_v4_yearless_birthday():
    """Version 4.0 writes a birthday without a year as ``--MMDD``."""
    assert "BDAY:--0412" in unfold(contact_to_vcard(full_contact(), "4.0"))


def test_v3_yearless_birthday_uses_apples_1604():
    """Version 3.0 writes a birthday without a year in Apple's form, year 1604 and X-APPLE-OMIT-YEAR."""
    card = vobject.readOne(contact_to_vcard(full_contact(), "3.0"))
    assert card.bday.value == "1604-04-12"
    assert card.bday.params["X-APPLE-OMIT-YEAR"] == ["1604"]


def test_v3_birthday_with_year():
    """Version 3.0 writes a full birthday as an ISO 8601 date."""
    contact = Contact(display_name="Anna Probe", birthday=Birthday(year=1980, month=4, day=2))
    card = vobject.readOne(contact_to_vcard(contact, "3.0"))
    assert card.bday.value in {"1980-04-02", "19800402"}


def test_v4_birthday_with_year_uses_rfc6350_date_form():
    """Version 4.0 writes a full birthday in RFC 6350's basic date form ``YYYYMMDD`` (section 4.3.1)."""
    contact = Contact(display_name="Anna Probe", birthday=Birthday(year=1980, month=4, day=2))
    assert "BDAY:19800402" in unfold(contact_to_vcard(contact, "4.0"))


def test_minimal_contact():
    """A contact with a display name only still gives a valid card with FN and an empty N."""
    contact = Contact(display_name="Anna Probe")
    for version in VERSIONS:
        text = contact_to_vcard(contact, version)
        assert_well_formed(text)
        card = vobject.readOne(text)
        assert card.fn.value == "Anna Probe"
        assert "N:;;;;" in unfold(text)


def test_default_version_is_4():
    """contact_to_vcard writes vCard 4.0 unless asked otherwise."""
    assert "VERSION:4.0" in unfold(contact_to_vcard(Contact(display_name="Anna Probe")))


def test_contacts_to_vcard_writes_one_card_each():
    """Several contacts give one file with one card each, in order."""
    contacts = [Contact(display_name=f"Kontakt {i}") for i in range(3)]
    cards = list(vobject.readComponents(contacts_to_vcard(contacts, "3.0")))
    assert [c.fn.value for c in cards] == ["Kontakt 0", "Kontakt 1", "Kontakt 2"]


def test_long_values_are_folded_and_read_back():
    """A long note of multi-byte characters is folded and vobject reads it back whole."""
    note = "Grüße 😀 " * 40
    contact = Contact(display_name="Anna Probe", notes=[note])
    for version in VERSIONS:
        text = contact_to_vcard(contact, version)
        assert_well_formed(text)
        assert vobject.readOne(text).note.value == note


@pytest.mark.parametrize("version", VERSIONS)
def test_phone_raw_with_control_characters_never_breaks_a_line(version):
    """Line breaks and other control characters in a raw number never reach the output as such."""
    raw = "030\r\n5550\x0b12\n3\x00\x85\u2028"
    contact = Contact(display_name="Anna Probe", phones=[Phone(raw=raw, problem="invalid_number")])
    text = contact_to_vcard(contact, version)
    assert_well_formed(text)
    tel = next(line for line in unfold(text) if line.startswith("TEL"))
    assert not any(ch in tel for ch in "\r\n\x0b\x00\x85\u2028")
    assert vobject.readOne(text).tel.value.split() == ["030", "5550", "12", "3"]


@given(raw=st.text(min_size=1, max_size=60).filter(str.strip), version=st.sampled_from(VERSIONS))
def test_phone_raw_never_breaks_the_card(raw, version):
    """Whatever a raw number holds, the card stays well formed."""
    contact = Contact(display_name="Anna Probe", phones=[Phone(raw=raw, problem="invalid_number")])
    assert_well_formed(contact_to_vcard(contact, version))


_names = st.text(st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=80).filter(
    str.strip
)


@given(
    display=_names,
    note=st.text(max_size=200),
    label=st.text(min_size=1, max_size=40),
    custom=st.text(max_size=100),
    version=st.sampled_from(VERSIONS),
)
def test_any_text_gives_a_well_formed_card(display, note, label, custom, version):
    """Arbitrary text in name, note, label and custom value keeps the card well formed and readable."""
    contact = Contact(
        display_name=display,
        notes=[note],
        labels=[Label(name=label)],
        custom_fields=[CustomField(name="X-FREITEXT", value=custom, label=label)],
        emails=[EmailAddress(address="anna@example.org", label=label)],
    )
    text = contact_to_vcard(contact, version)
    assert_well_formed(text)
    card = vobject.readOne(text)
    assert card.fn.value == display
    assert card.note.value == as_written(note)
    assert card.contents["x-freitext"][0].value == as_written(custom)


def as_written(text: str) -> str:
    """What a text value reads back as: every kind of line break is a LF, other controls but tab gone."""
    text = re.sub("\r\n|[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]", "\n", text)
    return re.sub("[\x00-\x08\x0e-\x1f\x7f]", "", text)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", ["END", "BEGIN", "VERSION", "UID", "N", "BDAY", "item1.END", "end"])
def test_custom_field_name_cannot_inject_structure(name, version):
    """A custom field named like a structural or single-valued property cannot add a second one."""
    contact = Contact(
        display_name="Anna Probe",
        birthday=Birthday(month=4, day=12),
        custom_fields=[CustomField(name=name, value="VCARD")],
    )
    text = contact_to_vcard(contact, version)
    assert_well_formed(text)
    names = property_names(text)
    assert names.count("N") == 1
    assert names.count("BDAY") == 1
    card = vobject.readOne(text)
    assert card.uid.value == f"urn:uuid:{contact.id}"
    assert "VCARD" in [p.value for p in card.getChildren() if p.name.startswith("X-")]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", ["X-GRÖSSE", "Größe", "X-SHOE SIZE", "X-A:B", "X-A;TYPE=x", "X-Ä\nEND"])
def test_custom_field_names_are_ascii_property_names(name, version):
    """A custom field whose name is no valid vCard name is still written under an ASCII name and read back."""
    contact = Contact(display_name="Anna Probe", custom_fields=[CustomField(name=name, value="180 cm")])
    text = contact_to_vcard(contact, version)
    assert_well_formed(text)
    card = vobject.readOne(text)
    assert "180 cm" in [p.value for p in card.getChildren() if p.name.startswith("X-")]
