"""Hypothesis strategies shared by the tests: synthetic contacts, vCard text and the bytes around it.

Everything here is invented: names are built from syllables, numbers from the number plans of Germany,
Austria and the US with random subscriber digits, e-mail addresses live under ``example.*``. Nothing is
real personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import strategies as st

from contactvault.export.vcard import escape_text
from contactvault.models import (
    Birthday,
    ConsentRecord,
    Contact,
    ContactSource,
    CustomField,
    EmailAddress,
    Label,
    LegalBasis,
    MessengerPresence,
    NameParts,
    Objection,
    Phone,
    PostalAddress,
)
from contactvault.phones import normalize_phone

__all__ = [
    "DEFAULT_REGION",
    "LINE_ENDINGS",
    "CardSpec",
    "arbitrary_bytes",
    "broken_cards",
    "card_files",
    "contacts",
    "display_names",
    "emails",
    "full_contacts",
    "garbage_lines",
    "good_cards",
    "import_files",
    "name_parts",
    "notes",
    "phone_numbers",
    "phones",
    "private_values",
    "qp_encode",
    "vcard_like_bytes",
]

DEFAULT_REGION = "DE"
"""The region the generated national numbers belong to; tests import with it."""

LINE_ENDINGS = (b"\r\n", b"\n", b"\r")

# --- names, numbers, e-mail addresses, notes ------------------------------------------------------------

_SYLLABLES = (
    "Jür", "gen", "Mül", "ler", "Zo", "ë", "Wei", "ß", "Ñu", "ñez", "Ag", "ne", "Sö", "ren",
    "Öz", "tür", "Łu", "kasz", "Bä", "cker", "Ma", "ría", "Çe", "lik", "Ga", "brie", "le", "Ho",
)  # fmt: skip
_UMLAUT_SYLLABLES = ("Jür", "Mül", "Wei", "ß", "Ñu", "ñez", "Sö", "Öz", "tür", "Łu", "Bä", "ría", "Çe", "ë")
# Characters that vCard must escape or that readers get wrong: commas, semicolons, backslashes, colons.
_AWKWARD = (", ", "; ", "\\", ": ", "-", "'", ".", " ", '"', "^", " & ")

_word = st.lists(st.sampled_from(_SYLLABLES), min_size=1, max_size=3).map("".join)
_umlaut_word = st.tuples(_word, st.sampled_from(_UMLAUT_SYLLABLES), _word).map("".join)


def _joined(words: list[str], separators: list[str]) -> str:
    parts = [words[0]]
    for word, sep in zip(words[1:], separators, strict=False):
        parts += [sep, word]
    return "".join(parts).strip()


@st.composite
def display_names(draw: st.DrawFn, *, max_words: int = 4) -> str:
    """A display name: words with umlauts, ``Ñ``, ``ß``, joined by spaces, commas, semicolons, backslashes.

    Never empty, never with line breaks or surrounding white space, and always with at least one character
    outside ASCII (so it can never be mistaken for the ASCII words of an issue message).
    """
    words = draw(st.lists(_word, min_size=0, max_size=max_words - 1))
    words.insert(draw(st.integers(0, len(words))), draw(_umlaut_word))
    separators = draw(st.lists(st.sampled_from(_AWKWARD), min_size=len(words), max_size=len(words)))
    return _joined(words, separators)


@st.composite
def name_parts(draw: st.DrawFn) -> NameParts:
    """Structured name parts, each possibly empty, with the same awkward characters as display names."""
    part = st.one_of(st.just(""), display_names(max_words=2))
    return NameParts(
        family=draw(part),
        given=draw(part),
        additional=draw(st.one_of(st.just(""), part)),
        prefixes=draw(st.sampled_from(("", "Dr.", "Prof. Dr.", "Mag.", "Ing."))),
        suffixes=draw(st.sampled_from(("", "Jr.", "MSc", "Sr., PhD"))),
    )


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=n, max_size=n)


_NUMBER_SHAPES: dict[str, tuple[str, tuple[st.SearchStrategy[str], ...]]] = {
    # German mobile and landline numbers as typed at home, then international forms, Austria, the US
    "de_mobile": ("{0} {1}", (st.sampled_from(("0151", "0160", "0171", "0176")), _digits(7))),
    "de_city": (
        "{0}{1}{2}",
        (st.sampled_from(("030", "040", "089", "069", "0221")), st.sampled_from(" /-"), _digits(7)),
    ),
    "de_intl": (
        "+49 {0}{1} {2}",
        (st.sampled_from(("", "(0) ")), st.sampled_from(("30", "89", "171")), _digits(7)),
    ),
    "de_0049": ("0049 {0} {1}", (st.sampled_from(("30", "40", "176")), _digits(7))),
    "at": ("+43 {0} {1}", (st.sampled_from(("664", "676", "699")), _digits(7))),
    "at_vienna": ("+43 1 {0} {1}", (_digits(4), _digits(4))),
    "us": (
        "+1 ({0}) {1}-{2}{3}",
        (
            st.sampled_from(("212", "415", "303")),
            st.sampled_from(("555", "937")),
            _digits(4),
            st.sampled_from(("", "", " ext. 12", " ext. 7")),
        ),
    ),
}


@st.composite
def phone_numbers(draw: st.DrawFn) -> str:
    """A number as people type it: German national or international, Austrian or US international.

    The subscriber digits are random, so most are valid and some are not; both are fine for the tests.
    """
    template, parts = _NUMBER_SHAPES[draw(st.sampled_from(sorted(_NUMBER_SHAPES)))]
    return template.format(*(draw(part) for part in parts))


@st.composite
def phones(draw: st.DrawFn) -> Phone:
    """A Phone built the way the library builds it: `normalize_phone` with the German default region."""
    return normalize_phone(
        draw(phone_numbers()),
        default_region=DEFAULT_REGION,
        types=draw(st.sampled_from(((), ("cell",), ("work", "voice"), ("home",)))),
        preferred=draw(st.booleans()),
    )


@st.composite
def emails(draw: st.DrawFn) -> str:
    """A synthetic e-mail address under an ``example`` domain."""
    local = draw(st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=2, max_size=12))
    tag = draw(st.sampled_from(("", ".kunde", "+vip", "_m")))
    domain = draw(st.sampled_from(("example.org", "example.com", "example.net", "beispiel.example")))
    return f"{local}{tag}@{domain}"


@st.composite
def notes(draw: st.DrawFn) -> str:
    """A CRM note: several lines, with commas, semicolons, backslashes and at least one umlaut word."""
    lines = draw(st.lists(display_names(max_words=6), min_size=1, max_size=4))
    extras = draw(st.sampled_from(("", "bezahlt; Rückruf", "a,b;c\\d", "Zahlung offen: 12,50 €")))
    return "\n".join([*lines, extras]) if extras else "\n".join(lines)


@st.composite
def contacts(draw: st.DrawFn) -> Contact:
    """A Contact with an awkward display name, name parts, 0-3 phones, 0-2 e-mail addresses and notes."""
    return Contact(
        display_name=draw(display_names()),
        name=draw(name_parts()),
        phones=tuple(draw(st.lists(phones(), max_size=3))),
        emails=tuple(EmailAddress(address=a) for a in draw(st.lists(emails(), max_size=2))),
        notes=tuple(draw(st.lists(notes(), max_size=2))),
    )


_instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2035, 12, 31)).map(
    lambda d: d.replace(tzinfo=UTC)
)
_zones = st.sampled_from((UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))))
_aware = st.builds(lambda d, z: d.astimezone(z), _instants, _zones)
_purposes = st.sampled_from(("messenger", "newsletter", "marketing.sms", "support"))
_any_text = st.text(max_size=60)  # every Unicode character but surrogates: controls, bidi marks, emoji


@st.composite
def _consents(draw: st.DrawFn) -> ConsentRecord:
    granted = draw(_aware)
    withdrawn = draw(
        st.one_of(st.none(), st.integers(0, 10**8).map(lambda s: granted + timedelta(seconds=s)))
    )
    return ConsentRecord(
        purpose=draw(_purposes),
        granted_at=granted,
        channel=draw(st.sampled_from(("written", "email", "web_form", "in_person"))),
        notice_id=draw(st.sampled_from(("notice-messenger", "datenschutz-2024"))),
        notice_version=draw(st.sampled_from(("1", "3.2"))),
        evidence_ref=draw(st.one_of(st.none(), _any_text)),
        recorded_by=draw(st.sampled_from(("front-desk", "Jürgen"))),
        withdrawn_at=withdrawn,
        withdrawal_channel=None if withdrawn is None else "email",
    )


_addresses = st.builds(
    PostalAddress,
    street=st.one_of(st.just(""), display_names()),
    locality=st.one_of(st.just(""), display_names(max_words=2)),
    postal_code=st.text("0123456789", max_size=5),
    country=st.sampled_from(("", "Deutschland", "Österreich")),
    label=st.one_of(st.none(), _any_text),
    types=st.sampled_from(((), ("home",), ("work", "pref"))),
)
_birthdays = st.dates(min_value=datetime(1900, 1, 1).date(), max_value=datetime(2025, 12, 31).date()).flatmap(
    lambda d: st.sampled_from(
        (Birthday(year=d.year, month=d.month, day=d.day), Birthday(month=d.month, day=d.day))
    )
)


@st.composite
def full_contacts(draw: st.DrawFn) -> Contact:
    """A Contact with every field the model has filled in sometimes: CRM values, consent history, rights.

    Free-text fields (notes, custom field values, labels of numbers) take any Unicode text, so that the
    storage is tested with control characters, bidi marks, emoji and escapes as well as ordinary names.
    """
    created = draw(_aware)
    phone_list = draw(st.lists(phones(), max_size=3))
    with_presence = [
        p.model_copy(
            update={"messenger": MessengerPresence(present=True, source="manual", checked_at=created)}
        )
        if draw(st.booleans()) and p.e164
        else p
        for p in phone_list
    ]
    return Contact.model_validate(
        {
            "display_name": draw(display_names()),
            "name": draw(name_parts()),
            "nickname": draw(st.one_of(st.just(""), _any_text)),
            "phones": [p.model_dump() for p in with_presence],
            "emails": [EmailAddress(address=a) for a in draw(st.lists(emails(), max_size=2))],
            "addresses": draw(st.lists(_addresses, max_size=2)),
            "birthday": draw(st.one_of(st.none(), _birthdays)),
            "organisation": draw(st.one_of(st.just(""), display_names())),
            "title": draw(st.sampled_from(("", "Meisterin", "Dr."))),
            "urls": draw(st.lists(st.just("https://example.org/kunde"), max_size=1)),
            "notes": draw(st.lists(st.one_of(notes(), _any_text), max_size=2)),
            "labels": [
                Label(name=n) for n in draw(st.sets(st.sampled_from(("VIP", "bezahlt", "Zahlung offen"))))
            ],
            "custom_fields": [
                CustomField(name="X-SHOE-SIZE", value=v) for v in draw(st.lists(_any_text, max_size=2))
            ],
            "consents": draw(st.lists(_consents(), max_size=3)),
            "legal_bases": draw(
                st.lists(
                    st.builds(
                        LegalBasis,
                        article=st.just("6(1)(b)"),
                        purpose=_purposes,
                        justification=st.just("Werkvertrag Nr. 12"),
                    ),
                    max_size=1,
                )
            ),
            "restricted_at": draw(st.one_of(st.none(), _aware)),
            "objections": draw(
                st.lists(st.builds(Objection, purpose=_purposes, objected_at=_aware), max_size=2)
            ),
            "created_at": created,
            "updated_at": created + timedelta(seconds=draw(st.integers(0, 10**7))),
            "source": draw(
                st.one_of(st.none(), st.just(ContactSource(format="vcard", version="3.0", line=3)))
            ),
        }
    )


# --- vCard text: good cards, broken cards, garbage between them -----------------------------------------


def qp_encode(text: str, *, width: int = 24) -> str:
    """Quoted-printable as phones write it: every byte of the UTF-8 text as ``=XX``, soft breaks every few."""
    encoded = "".join(f"={b:02X}" for b in text.encode("utf-8"))
    chunks = [encoded[i : i + width] for i in range(0, len(encoded), width)]
    return "=\n".join(chunks)


@dataclass(frozen=True)
class CardSpec:
    """One card of a generated file: its lines (without line ends) and what importing it must give.

    ``display_name`` is the expected name of a good card, ``None`` for a broken card (which must become
    exactly one error issue). ``values`` are the personal values written into it.
    """

    lines: tuple[bytes, ...]
    display_name: str | None
    values: tuple[str, ...] = ()


def _utf8(*lines: str) -> tuple[bytes, ...]:
    return tuple(line.encode("utf-8") for line in lines)


@st.composite
def good_cards(draw: st.DrawFn) -> CardSpec:
    """A valid card in a shape phones export: 3.0, 2.1 quoted-printable with a photo, 4.0, folded, cp1252.

    Or a 2.1 card with an AGENT card inside: that one is skipped with a warning, only the outer card counts.
    """
    name = draw(display_names())
    number = draw(phone_numbers())
    shape = draw(st.sampled_from(("v30", "v21_qp", "v40", "folded", "v21_cp1252", "v21_agent")))
    if shape == "v30":
        lines = _utf8(
            "BEGIN:VCARD", "VERSION:3.0", f"FN:{escape_text(name)}", f"TEL;TYPE=CELL:{number}", "END:VCARD"
        )
    elif shape == "v21_qp":
        # vCard 2.1 knows no backslash escapes, and readers apply 3.0's anyway: no backslash in 2.1 names.
        name = name.replace("\\", "/")
        qp_lines = qp_encode(name).split("\n")
        lines = _utf8(
            "BEGIN:VCARD",
            "VERSION:2.1",
            f"FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{qp_lines[0]}",
            *qp_lines[1:],
            f"TEL;CELL;PREF:{number}",
            "PHOTO;ENCODING=BASE64;TYPE=JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD",
            "SYNTHETICPHOTOBYTESAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "",
            "END:VCARD",
        )
    elif shape == "v40":
        lines = _utf8(
            "BEGIN:VCARD",
            "VERSION:4.0",
            f"FN:{escape_text(name)}",
            f"TEL;VALUE=uri;PREF=1:tel:{number.split(' ext.')[0].replace(' ', '-')}",
            "END:VCARD",
        )
    elif shape == "folded":
        raw = f"FN:{escape_text(name)}".encode()
        # Anywhere in the value, even inside a UTF-8 character. (A fold before the colon is a known bug with
        # its own test in test_import_vcard.py; here it would hide what this strategy is for.)
        cut = draw(st.integers(len(b"FN:"), len(raw) - 1))
        lines = (b"BEGIN:VCARD", b"VERSION:3.0", raw[:cut], b" " + raw[cut:], b"END:VCARD")
    elif shape == "v21_agent":
        name = name.replace("\\", "/")
        agent = draw(display_names()).replace("\\", "/")
        lines = _utf8(
            "BEGIN:VCARD",
            "VERSION:2.1",
            f"FN;CHARSET=UTF-8:{name}",
            "AGENT:",
            "BEGIN:VCARD",
            "VERSION:2.1",
            f"FN;CHARSET=UTF-8:{agent}",
            "END:VCARD",
            f"TEL;CELL:{number}",
            "END:VCARD",
        )
    else:  # vCard 2.1 from a Windows program: code page 1252, no CHARSET
        name = "".join(ch for ch in name if ch.encode("cp1252", errors="ignore")).strip() or "Jürgen"
        lines = (
            b"BEGIN:VCARD",
            b"VERSION:2.1",
            b"FN:" + name.replace("\\", "/").encode("cp1252"),
            f"TEL;WORK;VOICE:{number}".encode(),
            b"END:VCARD",
        )
        name = name.replace("\\", "/")
    return CardSpec(lines, name, (name, number))


@st.composite
def broken_cards(draw: st.DrawFn) -> CardSpec:
    """A card that cannot be imported and must become exactly one error issue (name and number inside)."""
    name = draw(display_names())
    number = draw(phone_numbers())
    head = ("BEGIN:VCARD", "VERSION:3.0")
    kind = draw(
        st.sampled_from(
            (
                "not_closed",
                "agent_not_closed",
                "bad_qp",
                "bad_utf8",
                "garbage",
                "continues_nothing",
                "empty",
                "bad_base64",
            )
        )
    )
    if kind == "not_closed":
        lines = _utf8(*head, f"FN:{escape_text(name)}", f"TEL:{number}")
    elif kind == "agent_not_closed":
        # A 2.1 AGENT line with an empty value announces a card inside this one, but this card never ends:
        # the next card must not be taken for the AGENT card and lost with this one.
        agent = draw(st.sampled_from(("AGENT:", "agent:", "item1.AGENT;VALUE=vcard: ", "AGENT")))
        lines = _utf8(*head, f"FN:{escape_text(name)}", f"TEL:{number}", agent)
    elif kind == "bad_qp":
        lines = _utf8(
            "BEGIN:VCARD",
            "VERSION:2.1",
            f"FN;ENCODING=QUOTED-PRINTABLE:{qp_encode(name)[:9]}=ZZ",
            "END:VCARD",
        )
    elif kind == "bad_utf8":
        lines = (*_utf8(*head), b"FN:" + name.encode() + b"\xff\xfe", f"TEL:{number}".encode(), b"END:VCARD")
    elif kind == "garbage":
        lines = _utf8(*head, f"FN:{escape_text(name)}", f"{name} {number}".replace(":", " "), "END:VCARD")
    elif kind == "continues_nothing":
        lines = _utf8("BEGIN:VCARD", f" {name} {number}".replace(":", " "), "VERSION:3.0", "END:VCARD")
    elif kind == "empty":
        lines = _utf8(*head, "END:VCARD")
    else:
        # base64 of four 0xFF bytes: never UTF-8
        lines = _utf8(*head, f"FN:{escape_text(name)}", "NOTE;ENCODING=b://///w==", "END:VCARD")
    return CardSpec(lines, None, (name, number))


def _not_a_marker(line: bytes) -> bool:
    return line.strip().upper() not in (b"BEGIN:VCARD", b"END:VCARD")


garbage_lines = st.lists(
    st.one_of(
        st.binary(max_size=40).map(lambda b: bytes(c for c in b if c not in b"\r\n\x00\xfe\xff")),
        st.sampled_from(
            (b"{", b'"json": true', b"FN:Nobody", b" folded", b"=ZZ", b"-- ", b"BEGIN:VCARDS", b"AGENT:")
        ),
    ).filter(_not_a_marker),
    min_size=1,
    max_size=3,
)
"""Lines of text between cards (never a BEGIN:VCARD or END:VCARD line, never NUL or a UTF-16 BOM)."""


@st.composite
def card_files(draw: st.DrawFn) -> tuple[bytes, list[CardSpec]]:
    """A vCard file of good and broken cards in any order, with garbage lines between some of them.

    Returns the file's bytes and the cards in file order. A BEGIN:VCARD line only ever opens a card.
    """
    cards = draw(st.lists(st.one_of(good_cards(), broken_cards()), min_size=1, max_size=6))
    eol = draw(st.sampled_from(LINE_ENDINGS))
    lines: list[bytes] = []
    for card in cards:
        if draw(st.integers(0, 3)) == 0:
            lines.extend(draw(garbage_lines))
        lines.extend(card.lines)
    if draw(st.booleans()):
        lines.extend(draw(garbage_lines))
    return eol.join(lines) + eol, cards


# --- raw bytes --------------------------------------------------------------------------------------------

_FRAGMENTS = (
    b"BEGIN:VCARD", b"END:VCARD", b"begin:vcard", b"VERSION:2.1", b"VERSION:3.0", b"VERSION:4.0",
    b"FN:Anna Beisp\xc3\xbcel", b"N:Beisp;Anna;;;", b"TEL:030 1234567", b"TEL;CELL;PREF:0171 2345678",
    b"TEL;VALUE=uri:tel:+49-30-1;ext=5", b"NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:R=C3=BC=",
    b"=ZZ", b"=C3=", b"", b" ", b"\t", b" folded", b"PHOTO;ENCODING=b:AAAA", b"AAAAAAAA",
    b"PHOTO;ENCODING=BASE64:", b"item1.X-ABLabel:_$!<Mobile>!$_", b"item1.TEL:+49 30 1234567",
    b"AGENT:", b"AGENT:BEGIN:VCARD", b"BDAY:--0229", b"BDAY:1604-02-30",
    b"BDAY;X-APPLE-OMIT-YEAR=1604:1604-04-12",
    b"\xef\xbb\xbf", b"\xff\xfe", b"\x00", b"\xff", b"N;CHARSET=klingon:x", b"FN;CHARSET=utf-16:x",
    b"FN;CHARSET=ISO-8859-1:J\xfcrgen", b"FN;ENCODING=b:!!", b"FN;ALTID=1:x", b"CATEGORIES:a,b\\,c",
    b";:", b":", b'X-A;P="a:b":c', b"X-A;P=^n^':c", b"KEY;ENCODING=QUOTED-PRINTABLE:a=", b"FN:" + b"x" * 1200,
)  # fmt: skip

vcard_like_bytes = st.builds(
    lambda lines, eol: eol.join(lines),
    st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.binary(max_size=24)), max_size=40),
    st.sampled_from((*LINE_ENDINGS, b"\r\r\n")),
)
"""Bytes built from vCard fragments, broken pieces and random bytes: they reach deep into the reader."""

arbitrary_bytes = st.one_of(st.binary(max_size=2_000), vcard_like_bytes)
"""Any bytes at all, half of the time shaped like a vCard file."""


# --- cards that make the importer report issues, with the personal values inside -----------------------


@st.composite
def private_values(draw: st.DrawFn) -> tuple[bytes, tuple[str, ...]]:
    """A vCard file whose cards make the importer talk (warnings and errors), and every value written in it.

    Names always hold a non-ASCII letter, numbers have spaces, e-mail addresses an ``@``: none of them can
    be confused with the ASCII words of an issue message.
    """
    name, other, note = draw(display_names()), draw(display_names()), draw(notes())
    number, email = draw(phone_numbers()), draw(emails())
    invalid = f"0{draw(st.sampled_from(('30', '171')))} {draw(_digits(2))}"  # too short to be valid
    qp_name, qp_note = qp_encode(name).split("\n"), (qp_encode(note) + "=ZZ").split("\n")
    lines = [
        # warnings: invalid numbers, a birthday that is not a date, an e-mail-only card, an assumed charset
        "BEGIN:VCARD", "VERSION:3.0", f"FN:{escape_text(name)}", f"TEL:{invalid}", f"TEL:{other}",
        f"BDAY:{escape_text(other)}", f"NOTE:{escape_text(note)}", f"TEL:{'9' * 201}", "END:VCARD",
        "BEGIN:VCARD", "VERSION:4.0", f"EMAIL:{email}", "END:VCARD",
        # errors: bad quoted-printable, garbage, a name beyond the model's limit, not closed
        "BEGIN:VCARD", "VERSION:2.1",
        f"FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{qp_name[0]}", *qp_name[1:],
        f"NOTE;ENCODING=QUOTED-PRINTABLE:{qp_note[0]}", *qp_note[1:], "END:VCARD",
        "BEGIN:VCARD", "VERSION:3.0", f"FN:{escape_text(name)}", f"{other} {number}".replace(":", " "),
        "END:VCARD",
        "BEGIN:VCARD", "VERSION:3.0", f"FN:{escape_text(name) * (1 + 1000 // len(name))}", f"TEL:{number}",
        "END:VCARD",
        f"{name} {email}",  # text outside any card
        "BEGIN:VCARD", "VERSION:3.0", f"FN:{escape_text(other)}", f"TEL:{number}",
    ]  # fmt: skip
    data = "\r\n".join(lines).encode("utf-8")
    cp1252 = other.encode("cp1252", errors="ignore").decode("cp1252").replace("\\", "/").strip()
    windows = b"\r\nBEGIN:VCARD\r\nVERSION:2.1\r\nFN:" + cp1252.encode("cp1252") + b"\r\nEND:VCARD\r\n"
    values = (name, other, note, number, email, invalid, "9" * 201, cp1252, *note.split("\n"))
    return data + windows, tuple(v for v in values if len(v) >= 4)


# --- overlapping exports of one phone, for re-import properties -------------------------------------------

_PEOPLE_NAMES = ("Anna Beispiel", "Bruno Anders", "Clara Weiß", "Dieter Ünal", "Eva Groß", "Anna Anders")
_SHARED_NUMBERS = tuple(f"+49151555{i:05d}" for i in range(5))


@st.composite
def import_files(draw: st.DrawFn) -> list[str]:
    """Two to four vCard exports of the same small, overlapping address book, as a phone writes them.

    Cards share numbers (a family landline), names (two "Anna"), have a UID or none, appear in some files
    and not in others, and change their e-mail address or note from one export to the next.
    """
    people = draw(
        st.lists(
            st.tuples(
                st.sampled_from(_PEOPLE_NAMES),
                st.one_of(st.none(), st.sampled_from(("uid-1", "uid-2", "uid-3", "uid-4", "uid-5"))),
                st.lists(st.sampled_from(_SHARED_NUMBERS), max_size=2, unique=True),
            ),
            min_size=1,
            max_size=6,
        )
    )
    files: list[str] = []
    for _ in range(draw(st.integers(min_value=2, max_value=4))):
        lines: list[str] = []
        chosen = draw(st.lists(st.sampled_from(range(len(people))), max_size=len(people) + 1))
        for index in chosen:
            name, uid, numbers = people[index]
            variant = draw(st.integers(min_value=0, max_value=2))
            lines += ["BEGIN:VCARD", "VERSION:3.0"]
            if uid is not None:
                lines.append(f"UID:{uid}")
            lines += [f"FN:{name}", f"EMAIL:person{index}.{variant}@example.org"]
            lines += [f"TEL;TYPE=CELL:{number}" for number in numbers]
            if variant == 2:
                lines.append(f"NOTE:Rückruf {index}")
            lines.append("END:VCARD")
        files.append("\r\n".join(lines) + "\r\n" if lines else "BEGIN:VCARD\r\nFN:Leer\r\nEND:VCARD\r\n")
    return files
