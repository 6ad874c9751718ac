"""The tolerant vCard reader: one test per quirk of real exports, and one per way a card can be broken.

All cards are synthetic: invented names, numbers from the German, Austrian and US number plans with made-up
subscriber digits, e-mail addresses under ``example.*``.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from contactvault import ImportFailed, ImportResult, InvalidRegion, import_vcards, iter_vcards
from contactvault.export.vcard import fold
from contactvault.importers.source import BLOCK_SIZE
from contactvault.importers.vcard import CardView, iter_card_views
from contactvault.models import Contact
from tests.conftest import vcf

# A synthetic "photo": recognisable base64 that must never reach a stored contact.
PHOTO_BYTES = b"SYNTHETIC-PHOTO-" + bytes(range(256)) * 4
PHOTO_B64 = base64.b64encode(PHOTO_BYTES).decode()

ALPHA = ("BEGIN:VCARD", "VERSION:3.0", "FN:Anna Alpha", "TEL:030 1234567", "END:VCARD")  # lines 1-5
GAMMA = ("BEGIN:VCARD", "VERSION:3.0", "FN:Carl Gamma", "TEL:+43 664 1234567", "END:VCARD")


def read(data: bytes | str | Path, region: str | None = "DE") -> ImportResult:
    return import_vcards(data, default_region=region)


def only(result: ImportResult) -> Contact:
    """The single contact of a result that must hold exactly one, with no error issues."""
    assert result.errors == []
    assert len(result.contacts) == 1
    return result.contacts[0]


def card(*lines: str, version: str = "3.0") -> bytes:
    return vcf("BEGIN:VCARD", f"VERSION:{version}", *lines, "END:VCARD")


def base64_pieces(text: str, size: int = 12) -> set[str]:
    """Every run of ``size`` characters of a base64 text (overlapping), to look for leaks."""
    return {text[i : i + size] for i in range(len(text) - size + 1)}


def assert_photo_not_stored(result: ImportResult) -> None:
    dumped = "".join(c.model_dump_json() for c in result.contacts)
    leaked = [piece for piece in base64_pieces(PHOTO_B64) if piece in dumped]
    assert leaked == []


# --- byte order marks, line ends, folding ---------------------------------------------------------------


def test_utf8_bom_is_dropped():
    """A UTF-8 byte order mark before the first card is dropped, not read as text outside a card."""
    result = read(b"\xef\xbb\xbf" + card("FN:J\u00fcrgen M\u00fcller"))
    assert only(result).display_name == "Jürgen Müller"
    assert result.issues == []


def test_utf8_bom_of_a_concatenated_export_is_dropped():
    """A UTF-8 byte order mark at the start of a second, concatenated export does not cost its first card."""
    data = b"\xef\xbb\xbf" + vcf(*ALPHA) + b"\xef\xbb\xbf" + vcf(*GAMMA)
    result = read(data)
    assert [c.display_name for c in result.contacts] == ["Anna Alpha", "Carl Gamma"]
    assert result.errors == []


@pytest.mark.parametrize("eol", [b"\r\n", b"\n", b"\r", b"mixed"], ids=["crlf", "lf", "lone-cr", "mixed"])
def test_line_ends_crlf_lf_and_lone_cr(eol):
    """CRLF, LF, lone CR and a mix of them all end lines, and issue line numbers count them the same way."""
    lines = [*ALPHA, "BEGIN:VCARD", "VERSION:3.0", "FN:Bert Beta", "TEL:030 12", "END:VCARD"]
    if eol == b"mixed":
        ends = [b"\r\n", b"\n", b"\r"] * 4
        data = b"".join(line.encode() + end for line, end in zip(lines, ends, strict=False))
    else:
        data = eol.join(line.encode() for line in lines) + eol
    result = read(data)
    assert [c.display_name for c in result.contacts] == ["Anna Alpha", "Bert Beta"]
    assert [(i.code, i.line) for i in result.issues] == [("invalid_number", 9)]


@pytest.mark.parametrize(
    "shift", [-2, -1, 0], ids=["lf-at-boundary", "crlf-across-boundary", "cr-at-boundary"]
)
def test_crlf_split_across_read_blocks(tmp_path, shift):
    """A CRLF whose CR ends one read block and whose LF starts the next is one line end, not two."""
    head = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Anna Alpha\r\nPHOTO;ENCODING=b:"
    data = head + b"A" * (BLOCK_SIZE - len(head) + shift) + b"\r\nTEL:030 12\r\nEND:VCARD\r\n"
    path = tmp_path / "gross.vcf"
    path.write_bytes(data)
    for source in (path, data):
        result = read(source)
        assert only(result).display_name == "Anna Alpha"
        assert [(i.code, i.line) for i in result.issues] == [("invalid_number", 5)]


def test_folding_with_space_and_tab():
    """A line starting with a space or a tab continues the previous one; exactly one blank is removed."""
    result = read(
        card("FN:Anna Mar", " ia Beispiel", "NOTE:erste Zeile\\n", "\tzweite  Zeile", "TEL:030 123", " 4567")
    )
    contact = only(result)
    assert contact.display_name == "Anna Maria Beispiel"
    assert contact.notes == ("erste Zeile\nzweite  Zeile",)
    assert contact.phones[0].e164 == "+49301234567"


@pytest.mark.parametrize("offset", [4, 5, 6], ids=["before", "inside", "after"])
@pytest.mark.parametrize("indent", [b" ", b"\t"], ids=["space", "tab"])
def test_folding_inside_a_utf8_character(offset, indent):
    """A fold between the two bytes of "ü", or right before or after it, still gives the character."""
    raw = "FN:Jürgen Müller".encode()
    data = (
        b"BEGIN:VCARD\r\nVERSION:3.0\r\n"
        + raw[:offset]
        + b"\r\n"
        + indent
        + raw[offset:]
        + b"\r\nEND:VCARD\r\n"
    )
    assert only(read(data)).display_name == "Jürgen Müller"


@pytest.mark.parametrize("where", ["name", "params"])
def test_fold_before_the_colon(where):
    """A fold inside the property name or its parameters (as `fold` writes long heads) is unfolded too."""
    if where == "name":
        head, value = "X-" + "VERY-LONG-CUSTOM-PROPERTY-NAME-" * 3, "Wert"
    else:
        head = 'TEL;X-COUCHDB-UUID="c2fa1caa-2926-4087-8971-609cfc7354ce";X-EVOLUTION-UI-SLOT=1;TYPE=CELL'
        value = "030 1234567"
    folded = fold(f"{head}:{value}").removesuffix("\r\n").split("\r\n")
    assert ":" not in folded[0]  # the fold really falls before the colon
    contact = only(read(card("FN:Anna Alpha", *folded)))
    if where == "name":
        assert [(f.name, f.value) for f in contact.custom_fields] == [(head, value)]
    else:
        assert [(p.e164, p.types) for p in contact.phones] == [("+49301234567", ("cell",))]


# --- vCard 2.1 quoted-printable and character sets ------------------------------------------------------


def test_quoted_printable_soft_line_breaks():
    """2.1 quoted-printable values joined across soft line breaks, even one inside a UTF-8 character."""
    result = read(
        card(
            "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;J=C3=",
            "=BCrgen;;;",
            "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:J=C3=BCrgen =",
            "M=C3=BCller",
            "NOTE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:R=C3=BCckruf=0D=0A=",
            "nur vormittags",
            "TEL;CELL:0171 2345678",
            version="2.1",
        )
    )
    contact = only(result)
    assert contact.display_name == "Jürgen Müller"
    assert (contact.name.family, contact.name.given) == ("Müller", "Jürgen")
    assert contact.notes == ("Rückruf\nnur vormittags",)
    assert contact.phones[0].e164 == "+491712345678"


@pytest.mark.parametrize(
    "params",
    [
        "CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE",
        "ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8",
        "QUOTED-PRINTABLE;CHARSET=utf-8",
    ],
)
def test_charset_before_or_after_encoding(params):
    """``CHARSET`` before ``ENCODING``, after it, or with a bare ``QUOTED-PRINTABLE`` reads the same."""
    contact = only(read(card(f"FN;{params}:Zo=C3=AB Wei=C3=9F", version="2.1")))
    assert contact.display_name == "Zoë Weiß"


def test_soft_break_followed_by_empty_line_ends_the_value():
    """A soft line break followed by an empty line ends the value; the next property is read as one."""
    contact = only(
        read(
            card(
                "FN:Anna Alpha",
                "NOTE;ENCODING=QUOTED-PRINTABLE:Zahlung offen=",
                "",
                "TEL;CELL:0171 2345678",
                version="2.1",
            )
        )
    )
    assert contact.notes == ("Zahlung offen",)
    assert [p.e164 for p in contact.phones] == ["+491712345678"]


def test_windows_1252_without_charset_in_21_is_assumed():
    """A 2.1 value that is neither UTF-8 nor marked with CHARSET is read as Windows-1252, with a warning."""
    data = "BEGIN:VCARD\r\nVERSION:2.1\r\nFN:Jürgen Müller \u2013 „Bäckerei“\r\nEND:VCARD\r\n".encode(
        "cp1252"
    )
    result = read(data)
    assert only(result).display_name == "Jürgen Müller \u2013 „Bäckerei“"
    assert [(i.code, i.severity, i.line) for i in result.issues] == [("assumed_charset", "warning", 3)]


def test_charset_iso_8859_1_is_decoded():
    """``CHARSET=ISO-8859-1`` is honoured, in plain and in quoted-printable values."""
    data = (
        b"BEGIN:VCARD\r\nVERSION:2.1\r\nFN;CHARSET=ISO-8859-1:J\xfcrgen M\xfcller\r\n"
        b"N;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:M=FCller;J=FCrgen\r\nEND:VCARD\r\n"
    )
    result = read(data)
    contact = only(result)
    assert (contact.display_name, contact.name.family, contact.name.given) == (
        "Jürgen Müller",
        "Müller",
        "Jürgen",
    )
    assert result.issues == []


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_file_with_bom(encoding):
    """A UTF-16 (or UTF-32) file with a byte order mark is read like UTF-8, line numbers included."""
    text = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jürgen Müller\r\nTEL:030 12\r\nEND:VCARD\r\n"
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    result = read(data)
    assert only(result).display_name == "Jürgen Müller"
    assert [(i.code, i.line) for i in result.issues] == [("invalid_number", 4)]


# --- photos, keys, logos, sounds --------------------------------------------------------------------------


def test_base64_media_are_dropped_and_never_stored():
    """Folded base64 PHOTO, KEY, LOGO and SOUND are dropped, counted, and no piece of them is stored."""
    chunks = [PHOTO_B64[i : i + 74] for i in range(0, len(PHOTO_B64), 74)]
    folded = [chunks[0], *(" " + c for c in chunks[1:])]
    result = read(
        card(
            "FN:Anna Alpha",
            f"PHOTO;ENCODING=b;TYPE=JPEG:{folded[0]}",
            *folded[1:],
            f"KEY;ENCODING=b:{PHOTO_B64}",
            f"item1.LOGO;ENCODING=b;TYPE=PNG:{PHOTO_B64}",
            f"SOUND;ENCODING=b:{PHOTO_B64}",
            "TEL;TYPE=CELL:0171 2345678",
        )
    )
    contact = only(result)
    assert result.dropped == 4
    assert [p.e164 for p in contact.phones] == ["+491712345678"]
    assert contact.custom_fields == ()
    assert_photo_not_stored(result)


def unindented_photo_card(trailing: str = "") -> list[str]:
    """A vCard 2.1 card whose base64 photo runs on over unindented lines, ended by a blank line."""
    chunks = [PHOTO_B64[i : i + 76] for i in range(0, len(PHOTO_B64), 76)]
    return [
        "BEGIN:VCARD",
        "VERSION:2.1",
        "FN:Anna Alpha",
        f"PHOTO;ENCODING=BASE64;TYPE=JPEG:{chunks[0]}",
        *(chunk + trailing for chunk in chunks[1:]),
        "",
        "TEL;CELL:0171 2345678",
        "END:VCARD",
    ]


@pytest.mark.parametrize("trailing", ["", " ", "\t "])
def test_21_unindented_base64_photo_ending_with_blank_line(trailing):
    """A 2.1 base64 photo on unindented lines (trailing blanks too), ended by a blank line, is dropped."""
    result = read(vcf(*unindented_photo_card(trailing), *GAMMA))
    assert [c.display_name for c in result.contacts] == ["Anna Alpha", "Carl Gamma"]
    assert result.errors == []
    assert result.dropped == 1
    assert [p.e164 for p in result.contacts[0].phones] == ["+491712345678"]
    assert_photo_not_stored(result)


def test_very_long_single_line_photo():
    """A photo on one line longer than a read block and than any kept value may be is dropped unread."""
    big = base64.b64encode(PHOTO_BYTES * (BLOCK_SIZE // len(PHOTO_BYTES) * 2)).decode()
    assert len(big) > 2 * BLOCK_SIZE
    data = vcf(
        *ALPHA[:-1],
        f"PHOTO;ENCODING=BASE64;TYPE=JPEG:{big}",
        "",
        "TEL;CELL:0171 2345678",
        "END:VCARD",
        *GAMMA,
    )
    result = read(data)
    assert [c.display_name for c in result.contacts] == ["Anna Alpha", "Carl Gamma"]
    assert result.errors == []
    assert result.dropped == 1
    assert [p.e164 for p in result.contacts[0].phones] == ["+49301234567", "+491712345678"]
    assert_photo_not_stored(result)


def test_quoted_printable_key_is_dropped():
    """A 2.1 KEY in quoted-printable with soft line breaks is dropped whole, without breaking its card."""
    data = vcf(
        *ALPHA[:-1],
        "KEY;PGP;ENCODING=QUOTED-PRINTABLE:-----BEGIN PGP PUBLIC KEY BLOCK-----=0D=0A=",
        "mQENBFsyntheticKEYdata=0D=0A=",
        "-----END PGP PUBLIC KEY BLOCK-----",
        "END:VCARD",
        *GAMMA,
    )
    result = read(data)
    assert [c.display_name for c in result.contacts] == ["Anna Alpha", "Carl Gamma"]
    assert result.errors == []
    assert result.dropped == 1
    assert "synthetic" not in result.contacts[0].model_dump_json()


# --- groups, labels, types ------------------------------------------------------------------------------


def test_item_groups_with_apple_labels():
    """``itemN.`` groups give their ``X-ABLabel`` to the property; Apple's ``_$!<Mobile>!$_`` is unwrapped."""
    contact = only(
        read(
            card(
                "FN:Anna Alpha",
                "item1.TEL:+49 171 2345678",
                "item1.X-ABLabel:_$!<Mobile>!$_",
                "ITEM2.EMAIL;type=INTERNET:anna.alpha@example.org",
                "item2.X-ABLabel:Privat",
                "TEL;type=HOME:030 1234567",
            )
        )
    )
    assert [(p.e164, p.label) for p in contact.phones] == [
        ("+491712345678", "Mobile"),
        ("+49301234567", None),
    ]
    assert [(e.address, e.label) for e in contact.emails] == [("anna.alpha@example.org", "Privat")]
    assert contact.custom_fields == ()


@pytest.mark.parametrize(
    ("line", "types", "preferred"),
    [
        ("TEL;CELL;PREF:0171 2345678", ("cell",), True),
        ("TEL;type=CELL;type=pref:0171 2345678", ("cell",), True),
        ("tel;type=cell,VOICE:0171 2345678", ("cell", "voice"), False),
        ('TEL;TYPE="work,voice";PREF=1:0171 2345678', ("work", "voice"), True),
        ("TEL;WORK;VOICE;WORK:0171 2345678", ("work", "voice"), False),
    ],
)
def test_lower_case_repeated_and_bare_type_params(line, types, preferred):
    """Lower-case, repeated, quoted and bare 2.1 type parameters all become ``types`` and ``preferred``."""
    phone = only(read(card("FN:Anna Alpha", line, version="2.1"))).phones[0]
    assert (phone.types, phone.preferred, phone.e164) == (types, preferred, "+491712345678")


# --- text values ------------------------------------------------------------------------------------------


def test_unescaped_comma_and_semicolon_in_single_valued_text():
    """An unescaped comma in FN and a semicolon in NOTE stay part of the value (vobject cuts them)."""
    contact = only(read(card("FN:Doe, John", "NOTE:a;b", "TITLE:Chef, Einkauf")))
    assert contact.display_name == "Doe, John"
    assert contact.notes == ("a;b",)
    assert contact.title == "Chef, Einkauf"


def test_escapes_in_text_values():
    r"""``\,`` ``\;`` ``\n`` ``\N`` and ``\\`` are unescaped; N splits only at unescaped ``;``."""
    contact = only(
        read(
            card(
                r"FN:Doe\, John\; Jr.",
                r"N:Doe\, Jr.;John\;Paul;;;",
                r"NOTE:Zeile 1\nZeile 2\NZeile 3 \\ Ende",
            )
        )
    )
    assert contact.display_name == "Doe, John; Jr."
    assert (contact.name.family, contact.name.given) == ("Doe, Jr.", "John;Paul")
    assert contact.notes == ("Zeile 1\nZeile 2\nZeile 3 \\ Ende",)


# --- vCard 4 ----------------------------------------------------------------------------------------------


def test_vcard4_tel_uri_with_extension():
    """``TEL;VALUE=uri:tel:+49-30-123456;ext=5`` gives the E.164 form and the extension; raw is kept."""
    phone = only(read(card("FN:Anna Alpha", "TEL;VALUE=uri:tel:+49-30-123456;ext=5", version="4.0"))).phones[
        0
    ]
    assert (phone.e164, phone.extension, phone.raw) == ("+4930123456", "5", "tel:+49-30-123456;ext=5")


def test_vcard4_pref_1_marks_the_preferred_value():
    """``PREF=1`` marks a phone and an e-mail address as preferred; the others are not."""
    contact = only(
        read(
            card(
                "FN:Anna Alpha",
                "TEL;VALUE=uri;TYPE=cell:tel:+49-171-2345678",
                "TEL;VALUE=uri;PREF=1;TYPE=work:tel:+49-30-1234567",
                "EMAIL;PREF=1:anna.alpha@example.org",
                version="4.0",
            )
        )
    )
    assert [p.preferred for p in contact.phones] == [False, True]
    assert contact.emails[0].preferred is True


def test_vcard4_altid_second_representation_is_ignored():
    """Of several values with the same ``ALTID``, the first is read and the others are not extra values."""
    contact = only(
        read(
            card(
                "FN;ALTID=1;LANGUAGE=de:Jürgen Müller",
                "FN;ALTID=1;LANGUAGE=en:Juergen Mueller",
                "N;ALTID=2;LANGUAGE=de:Müller;Jürgen;;;",
                "N;ALTID=2;LANGUAGE=en:Mueller;Juergen;;;",
                "BDAY;ALTID=3:--0412",
                "BDAY;ALTID=3;VALUE=text:am zwölften April",
                version="4.0",
            )
        )
    )
    assert contact.display_name == "Jürgen Müller"
    assert (contact.name.family, contact.name.given) == ("Müller", "Jürgen")
    assert contact.birthday is not None
    assert contact.birthday.iso() == "--04-12"
    assert contact.custom_fields == ()


@pytest.mark.parametrize(
    "line",
    [
        "BDAY:--0412",
        "BDAY:--04-12",
        "BDAY:1604-04-12",
        "BDAY;X-APPLE-OMIT-YEAR=1604:1604-04-12",
        "BDAY;VALUE=date:1604-04-12",
    ],
)
def test_birthday_without_a_year(line):
    """``--0412``, ``--04-12``, Apple's year 1604 and ``X-APPLE-OMIT-YEAR`` all mean 12 April, no year."""
    result = read(card("FN:Anna Alpha", line, version="4.0" if line.startswith("BDAY:--") else "3.0"))
    birthday = only(result).birthday
    assert birthday is not None
    assert (birthday.year, birthday.month, birthday.day) == (None, 4, 12)
    assert result.issues == []


# --- names ------------------------------------------------------------------------------------------------


def test_n_without_fn_gives_display_name_from_parts():
    """A card with N but no FN gets its display name from the N parts, in the usual western order."""
    result = read(card("N:Beispiel;Anna;Maria;Dr.;MSc"))
    contact = only(result)
    assert contact.display_name == "Dr. Anna Maria Beispiel MSc"
    assert contact.name.family == "Beispiel"
    assert result.issues == []


def test_fn_without_n_keeps_empty_name_parts():
    """A card with FN but no N is imported with that display name and empty name parts."""
    contact = only(read(card("FN:Anna Beispiel")))
    assert contact.display_name == "Anna Beispiel"
    assert contact.name.is_empty()


def test_profile_line_is_ignored():
    """Lotus Notes' ``PROFILE:VCard`` is bookkeeping: neither an issue nor a custom field."""
    result = read(card("PROFILE:VCard", "FN:Anna Alpha", "NAME:VCard for Anna", "SOURCE:x"))
    assert only(result).custom_fields == ()
    assert result.issues == []


def test_unknown_properties_are_kept_as_custom_fields_with_group_label():
    """Unknown ``X-`` and other properties are kept as CustomField, with the label of their group."""
    contact = only(
        read(
            card(
                "FN:Anna Alpha",
                "X-MS-MANAGER:Bernd Bäcker",
                "item3.X-ABRELATEDNAMES:Carla Çelik",
                "item3.X-ABLabel:_$!<Spouse>!$_",
                "ROLE:Einkauf",
                "X-EVOLUTION-FILE-AS:Alpha\\, Anna",
            )
        )
    )
    assert [(f.name, f.value, f.label) for f in contact.custom_fields] == [
        ("X-MS-MANAGER", "Bernd Bäcker", None),
        ("X-ABRELATEDNAMES", "Carla Çelik", "Spouse"),
        ("ROLE", "Einkauf", None),
        ("X-EVOLUTION-FILE-AS", "Alpha, Anna", None),
    ]


def test_categories_become_labels():
    """``CATEGORIES`` are split at unescaped commas into labels; an escaped comma stays in its label."""
    contact = only(read(card("FN:Anna Alpha", "CATEGORIES:Kunden,bezahlt,Zahlung offen\\, Mahnung 1")))
    assert [label.name for label in contact.labels] == ["Kunden", "bezahlt", "Zahlung offen, Mahnung 1"]


# --- broken cards: each costs only itself -----------------------------------------------------------------

# Each case: the lines of the broken card, where it goes (between or after the two good cards), the issue
# code and the 1-based line the issue must name (ALPHA takes lines 1-5, so a middle card starts at line 6).
# A bad value is reported at the line where its property starts, even when the bad bytes sit on a
# continuation line: that is the line a person searches for.
BROKEN = {
    "no-end-before-next-card": (["BEGIN:VCARD", "VERSION:3.0", "FN:Bert Beta"], "middle", "not_closed", 6),
    "no-end-at-end-of-file": (["BEGIN:VCARD", "VERSION:3.0", "FN:Bert Beta"], "last", "not_closed", 11),
    "bad-quoted-printable": (
        ["BEGIN:VCARD", "VERSION:2.1", "FN;ENCODING=QUOTED-PRINTABLE:B=ZZert", "END:VCARD"],
        "middle",
        "bad_quoted_printable",
        8,
    ),
    "bad-quoted-printable-after-soft-break": (
        ["BEGIN:VCARD", "VERSION:2.1", "FN:Bert", "NOTE;ENCODING=QUOTED-PRINTABLE:abc=", "d=ZZ", "END:VCARD"],
        "middle",
        "bad_quoted_printable",
        9,
    ),
    "invalid-utf8-in-3.0": (
        ["BEGIN:VCARD", "VERSION:3.0", "FN:B\udcffert", "END:VCARD"],
        "middle",
        "bad_encoding",
        8,
    ),
    "garbage-line": (
        ["BEGIN:VCARD", "VERSION:3.0", "FN:Bert Beta", "this is not a property", "END:VCARD"],
        "middle",
        "garbage",
        9,
    ),
    "line-continuing-nothing": (
        ["BEGIN:VCARD", " continued from nowhere", "VERSION:3.0", "FN:Bert Beta", "END:VCARD"],
        "middle",
        "garbage",
        7,
    ),
    "line-with-colon-continuing-nothing": (
        ["BEGIN:VCARD", "\tnote: continued from nowhere", "VERSION:3.0", "FN:Bert Beta", "END:VCARD"],
        "middle",
        "garbage",
        7,
    ),
    "only-version": (["BEGIN:VCARD", "VERSION:3.0", "END:VCARD"], "middle", "empty_card", 6),
}


@pytest.mark.parametrize(("lines", "position", "code", "line"), BROKEN.values(), ids=BROKEN.keys())
def test_broken_card_costs_only_itself(lines, position, code, line):
    """A broken card among two good ones becomes exactly one error issue with the right code and line."""
    broken = "\r\n".join(lines).encode("utf-8", errors="surrogateescape") + b"\r\n"
    data = vcf(*ALPHA) + broken + vcf(*GAMMA) if position == "middle" else vcf(*ALPHA, *GAMMA) + broken
    result = read(data)
    assert [c.display_name for c in result.contacts] == ["Anna Alpha", "Carl Gamma"]
    assert [(i.code, i.line, i.severity) for i in result.errors] == [(code, line, "error")]
    assert result.entries == 3


def test_text_outside_any_card_is_reported():
    """Text between cards becomes one ``outside_card`` error at its first line; the cards around it import."""
    result = read(vcf(*ALPHA, "Hallo, hier ist Text", "noch mehr Text", *GAMMA))
    assert [c.display_name for c in result.contacts] == ["Anna Alpha", "Carl Gamma"]
    assert [(i.code, i.line) for i in result.errors] == [("outside_card", 6)]
    assert result.entries == 2


@pytest.mark.parametrize(
    "content",
    [
        json.dumps({"contacts": [{"name": "Anna Alpha"}]}).encode(),
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
    ],
    ids=["json", "png"],
)
def test_file_that_is_not_a_vcard_raises_import_failed(tmp_path, content):
    """A file without a single BEGIN:VCARD raises ImportFailed naming the file's name, never its directory."""
    folder = tmp_path / "kundendaten-geheim"
    folder.mkdir()
    path = folder / "export.vcf"
    path.write_bytes(content)
    with pytest.raises(ImportFailed) as info:
        read(path)
    message = str(info.value)
    assert "export.vcf" in message
    assert "kundendaten-geheim" not in message
    assert str(tmp_path) not in message


@pytest.mark.parametrize(
    "content", [b"", b"\r\n\r\n", b"\xef\xbb\xbf"], ids=["empty", "blank-lines", "only-bom"]
)
def test_empty_file_gives_nothing(tmp_path, content):
    """An empty file (or one of blank lines) gives no contacts and no issues, and raises nothing."""
    path = tmp_path / "empty.vcf"
    path.write_bytes(content)
    for source in (path, content):
        result = read(source)
        assert (result.contacts, result.issues, result.entries) == ([], [], 0)


# --- phone numbers ----------------------------------------------------------------------------------------


def test_invalid_numbers_are_kept_with_a_problem():
    """Numbers that cannot be normalised are kept as typed, without E.164, with a problem and a warning."""
    result = read(card("FN:Anna Alpha", "TEL:030 12", "TEL:BusinessPhone", "TEL:+49 30 1234567"))
    contact = only(result)
    assert [(p.raw, p.e164, p.problem) for p in contact.phones] == [
        ("030 12", None, "invalid_number"),
        ("BusinessPhone", None, "not_a_number"),
        ("+49 30 1234567", "+49301234567", None),
    ]
    assert [(i.code, i.severity, i.line) for i in result.issues] == [
        ("invalid_number", "warning", 4),
        ("invalid_number", "warning", 5),
    ]


def test_no_default_region_leaves_national_numbers_without_e164():
    """Without a default region a national number gets ``no_country_code``; international ones work."""
    result = read(card("FN:Anna Alpha", "TEL:030 1234567", "TEL:+43 664 1234567"), region=None)
    phones = only(result).phones
    assert [(p.e164, p.problem) for p in phones] == [(None, "no_country_code"), ("+436641234567", None)]
    assert [(i.code, i.line) for i in result.issues] == [("invalid_number", 4)]


@pytest.mark.parametrize("region", ["XX", "Germany", "", "D"])
def test_unknown_region_raises_invalid_region(region):
    """A default region that phonenumbers does not know raises InvalidRegion before anything is read."""
    with pytest.raises(InvalidRegion):
        read(vcf(*ALPHA), region=region)


def test_iter_vcards_checks_its_arguments_at_the_call():
    """A bad region or batch size fails when iter_vcards is called, not at the first batch."""
    with pytest.raises(InvalidRegion):
        iter_vcards(vcf(*ALPHA), default_region="XX")
    with pytest.raises(ValueError, match="batch_size"):
        iter_vcards(vcf(*ALPHA), default_region="DE", batch_size=0)
    with pytest.raises(ValueError, match="workers"):
        iter_vcards(vcf(*ALPHA), default_region="DE", workers=-1)


def test_apple_omit_year_drops_only_the_year_it_names():
    """X-APPLE-OMIT-YEAR=1604 marks 1604 as "no year"; a real year in the date is kept."""
    data = vcf(
        "BEGIN:VCARD",
        "VERSION:3.0",
        "FN:Anna Alpha",
        "BDAY;X-APPLE-OMIT-YEAR=1604:1980-04-12",
        "END:VCARD",
        "BEGIN:VCARD",
        "VERSION:3.0",
        "FN:Bert Beta",
        "BDAY;X-APPLE-OMIT-YEAR=1604:1604-04-12",
        "END:VCARD",
    )
    years = [c.birthday.year for c in read(data).contacts if c.birthday]
    assert years == [1980, None]


def test_missing_file_named_as_str_is_reported_as_missing(tmp_path):
    """A str that names a .vcf file which does not exist says so, rather than "not a vCard"."""
    with pytest.raises(ImportFailed, match="cannot read file") as caught:
        read(str(tmp_path / "fehlt.vcf"))
    assert "fehlt.vcf" in str(caught.value)
    assert str(tmp_path) not in str(caught.value)


# --- sources, batches, duplicates -------------------------------------------------------------------------


def test_path_bytes_and_str_sources(tmp_path):
    """A Path, the bytes, the text, and a str naming an existing file all give the same contacts."""
    data = vcf(*ALPHA, *GAMMA)
    path = tmp_path / "telefon.vcf"
    path.write_bytes(data)
    for source, file in (
        (path, "telefon.vcf"),
        (data, None),
        (data.decode(), None),
        (str(path), "telefon.vcf"),
    ):
        result = read(source)
        assert [c.display_name for c in result.contacts] == ["Anna Alpha", "Carl Gamma"]
        assert [c.phones[0].e164 for c in result.contacts] == ["+49301234567", "+436641234567"]
        assert [(c.source.file, c.source.line) for c in result.contacts if c.source] == [(file, 1), (file, 6)]


def test_iter_vcards_yields_batches_of_at_most_two():
    """``iter_vcards(..., batch_size=2)`` yields batches of at most two entries, together holding all."""
    broken = ("BEGIN:VCARD", "VERSION:3.0", "FN:Bert Beta")
    data = vcf(*ALPHA, *GAMMA, *broken, *ALPHA, *GAMMA, *ALPHA)
    batches = list(iter_vcards(data, default_region="DE", batch_size=2))
    assert [b.entries for b in batches] == [2, 2, 2]
    assert all(len(b.contacts) + len(b.issues) <= 2 for b in batches)
    assert sum(len(b.contacts) for b in batches) == 5
    assert [i.code for b in batches for i in b.issues] == ["not_closed"]


def test_existing_contacts_give_duplicates_across_imports():
    """``existing=`` reports a contact that shares a normalised number with one of an earlier import."""
    earlier = read(vcf(*ALPHA)).contacts
    result = import_vcards(
        card("FN:Anna A.", "TEL:+49 30 1234567") + vcf(*GAMMA), default_region="DE", existing=earlier
    )
    assert [(d.e164, d.contact_ids) for d in result.duplicates] == [
        ("+49301234567", (earlier[0].id, result.contacts[0].id))
    ]


def test_21_agent_with_embedded_card():
    """A 2.1 AGENT card inside a card gives ``nested_card`` warning; the outer card imports, the inner not."""
    data = vcf(
        "BEGIN:VCARD",
        "VERSION:2.1",
        "FN:Anna Alpha",
        "AGENT:",
        "BEGIN:VCARD",
        "VERSION:2.1",
        "FN:Ingo Innen",
        "TEL:+49 30 7654321",
        "END:VCARD",
        "TEL:030 1234567",
        "END:VCARD",
        *GAMMA,
    )
    result = read(data)
    assert [c.display_name for c in result.contacts] == ["Anna Alpha", "Carl Gamma"]
    assert [p.e164 for p in result.contacts[0].phones] == ["+49301234567"]
    assert [(i.code, i.severity, i.line) for i in result.issues] == [("nested_card", "warning", 5)]
    assert "Ingo" not in result.contacts[0].model_dump_json()


# --- a card without END:VCARD never takes the cards after it down with it ----------------------------------

# A vCard 2.1 card that ends in an AGENT line with an empty value (which announces a card inside it on the
# next lines) and then never ends: lines 1-4.
OPEN_AGENT = ("BEGIN:VCARD", "VERSION:2.1", "FN:Xaver Offen", "AGENT:")
BETA = ("BEGIN:VCARD", "VERSION:3.0", "FN:Bert Beta", "TEL:+49 171 2345678", "END:VCARD")


def places(result: ImportResult) -> list[tuple[str, int]]:
    """Contacts as (name, line) and error issues as (code, line), in file order."""
    found = [(c.display_name, c.source.line) for c in result.contacts if c.source and c.source.line]
    found += [(i.code, i.line) for i in result.errors]
    return sorted(found, key=lambda item: item[1])


@pytest.mark.parametrize(
    "agent", ["AGENT:", "item1.agent;VALUE=vcard: ", "AGENT"], ids=["bare", "group", "no-colon"]
)
@pytest.mark.parametrize("count", [1, 2, 3])
def test_card_ending_in_agent_without_end_keeps_the_cards_after_it(agent, count):
    """A card cut off after a bare AGENT line is one ``not_closed`` issue; the complete cards after it import.

    The first card after it looks like the AGENT card it announces, until the input ends or another card
    begins without an AGENT line before it: then the broken card is reported, and the cards read again.
    """
    after = [ALPHA, BETA, GAMMA][:count]
    data = vcf(*OPEN_AGENT[:3], agent, *(line for lines in after for line in lines))
    result = read(data)
    names = ["Anna Alpha", "Bert Beta", "Carl Gamma"][:count]
    assert places(result) == [("not_closed", 1), *zip(names, range(5, 5 + 5 * count, 5), strict=True)]
    assert result.errors[0].message == "card at line 1 has no END:VCARD before line 5; not imported"
    assert result.warnings == []
    assert result.entries == count + 1
    assert [b.entries for b in iter_vcards(data, default_region="DE", batch_size=1)] == [1] * (count + 1)


def test_agent_card_that_ends_inside_a_card_without_end_is_a_card_of_its_own():
    """An AGENT card that ends inside a card that does not: the outer card is the issue, the inner a contact.

    The lines are read again from the AGENT card on, as if the outer card had ended before it: the outer
    card's own lines after the inner card are text outside any card, and the cards after them import.
    """
    data = vcf(
        *OPEN_AGENT,
        "BEGIN:VCARD",  # 5
        "VERSION:2.1",
        "FN:Ingo Innen",
        "TEL:+49 30 7654321",
        "END:VCARD",  # 9
        "TEL:030 1234567",  # 10: the outer card's, now outside any card
        *GAMMA,  # 11-15
        *ALPHA,  # 16-20
    )
    result = read(data)
    assert places(result) == [
        ("not_closed", 1),
        ("Ingo Innen", 5),
        ("outside_card", 10),
        ("Carl Gamma", 11),
        ("Anna Alpha", 16),
    ]
    assert [p.e164 for p in result.contacts[0].phones] == ["+49307654321"]
    assert result.entries == 4


def test_agent_card_never_closed_is_an_issue_of_its_own():
    """An AGENT card that never ends either: two ``not_closed`` issues, at the end or before the next card."""
    inner = ("BEGIN:VCARD", "VERSION:2.1", "FN:Ingo Innen")  # lines 5-7
    result = read(vcf(*OPEN_AGENT, *inner))
    assert [(i.code, i.line, i.message) for i in result.issues] == [
        ("not_closed", 1, "card at line 1 has no END:VCARD before line 5; not imported"),
        ("not_closed", 5, "card at line 5 has no END:VCARD (the input ends at line 7); not imported"),
    ]
    assert (result.contacts, result.entries) == ([], 2)

    result = read(vcf(*OPEN_AGENT, *inner, *GAMMA, *ALPHA))
    assert places(result) == [("not_closed", 1), ("not_closed", 5), ("Carl Gamma", 8), ("Anna Alpha", 13)]
    assert result.errors[1].message == "card at line 5 has no END:VCARD before line 8; not imported"
    assert result.entries == 4


def test_agent_card_in_a_card_that_ends_is_still_skipped_after_a_broken_card():
    """A card cut off after a bare AGENT line, then a 2.1 card with a real AGENT card: that one still imports.

    The AGENT card inside it ends and so does its card: it is skipped with a ``nested_card`` warning at its
    real line, and never becomes a contact.
    """
    data = vcf(
        *OPEN_AGENT,
        "BEGIN:VCARD",  # 5
        "VERSION:2.1",
        "FN:Anna Alpha",
        "AGENT:",
        "BEGIN:VCARD",  # 9
        "VERSION:2.1",
        "FN:Ingo Innen",
        "TEL:+49 30 7654321",
        "END:VCARD",
        "TEL:030 12",  # 14: a warning with its real line
        "END:VCARD",
        *GAMMA,  # 16-20
    )
    result = read(data)
    assert places(result) == [("not_closed", 1), ("Anna Alpha", 5), ("Carl Gamma", 16)]
    assert [(i.code, i.line) for i in result.warnings] == [("nested_card", 9), ("invalid_number", 14)]
    assert [p.raw for p in result.contacts[0].phones] == ["030 12"]
    assert "Ingo" not in result.contacts[0].model_dump_json()
    assert result.entries == 3


def test_many_cards_cut_off_after_agent_lines_are_each_one_issue():
    """Thousands of cards, each cut off after a bare AGENT line, each inside the one before: one issue each.

    The whole file is one chain of cards inside cards; it is read once, not once for each card.
    """
    count = 5_000
    data = b"".join(vcf("BEGIN:VCARD", "VERSION:2.1", f"FN:Kunde {i}", "AGENT:") for i in range(count))
    result = read(data + vcf(*ALPHA))
    assert [c.source.line for c in result.contacts if c.source] == [4 * count + 1]
    assert [i.line for i in result.errors] == list(range(1, 4 * count, 4))
    assert all(i.code == "not_closed" for i in result.errors)
    assert result.entries == count + 1


def test_card_views_keep_the_cards_after_a_card_without_end():
    """``iter_card_views`` (the audit's reader) cuts cards the same way: no card after the AGENT is lost."""
    items = list(iter_card_views(vcf(*OPEN_AGENT, *ALPHA, *GAMMA)))
    assert [(type(item).__name__, item.line) for item in items] == [
        ("ImportIssue", 1),
        ("CardView", 5),
        ("CardView", 10),
    ]
    assert [item.display_name for item in items if isinstance(item, CardView)] == ["Anna Alpha", "Carl Gamma"]


def test_helper_processes_give_the_same_batches():
    """``workers=2`` (numbers normalised in helper processes) gives exactly the batches of ``workers=0``."""
    lines: list[str] = []
    for i in range(12):
        number = f"030 {2345600 + i}" if i % 3 else "030 12"
        lines += [
            "BEGIN:VCARD",
            "VERSION:3.0",
            f"FN:Kundin {i:02d} Müller",
            f"TEL:{number}",
            "TEL:+43 664 1234567",
        ]
        lines += ["END:VCARD"] if i % 5 else []  # every fifth card is never closed

    def batches(workers: int) -> list[tuple[list[tuple[str, object]], list[tuple[str, int, str]], int]]:
        return [
            (
                [(c.display_name, c.phones) for c in b.contacts],
                [(i.code, i.line, i.message) for i in b.issues],
                b.entries,
            )
            for b in iter_vcards(vcf(*lines), default_region="DE", batch_size=4, workers=workers)
        ]

    expected = batches(0)
    assert sum(len(people) for people, _, _ in expected) == 9
    assert batches(2) == expected
