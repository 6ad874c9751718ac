"""The CSV layouts the importer knows, what their columns mean, and which layout a header row is.

Google Contacts as exported since 2024 (``First Name``, ``Labels``, ``Phone 1 - Label``, ...), the older
Google layout (``Name``, ``Given Name``, ``Group Membership``, ``Phone 1 - Type``, ...), and Outlook's export
with English or German column names. :func:`detect_layout` picks the one whose identifying columns a header
holds, or raises ``UnknownCsvLayout`` naming the columns missing for the closest one, never the header that
was found. What a row's cells then become is :mod:`contactvault.importers._csv_rows`' part.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from contactvault.errors import UnknownCsvLayout
from contactvault.models import SourceFormat

__all__ = [
    "ADDRESS_TYPES",
    "GOOGLE_ADDRESS_PARTS",
    "GOOGLE_GROUPS",
    "GOOGLE_ORGANISATION_PARTS",
    "GROUP",
    "PLACEHOLDERS",
    "TYPES",
    "Kind",
    "Layout",
    "Spec",
    "detect_layout",
    "header_key",
]

GROUP = re.compile(r"(.+?) (\d+) - (.+)")  # Google's numbered columns: "phone 2 - value" (casefolded)

Kind = Literal[
    "display", "name", "single", "birthday", "notes", "photo", "labels", "phone", "email", "url",
    "address", "custom_field", "custom",
]  # fmt: skip
"""What a known column holds, and so which reader fills a row from it."""


@dataclass(frozen=True, slots=True)
class Spec:
    """What a known column means: its kind, and the target, types and preference that go with it."""

    kind: Kind
    target: str = ""  # a name part, a Contact attribute, or an address key
    part: str = ""  # the address part an address column fills
    types: tuple[str, ...] = ()
    preferred: bool = False


@dataclass(frozen=True, slots=True)
class Layout:
    """One known CSV layout: the columns that identify it and what its known columns mean."""

    format: SourceFormat
    required: tuple[str, ...]  # spelled as the exporter writes them: messages show them
    columns: Mapping[str, Spec]  # casefolded header -> meaning
    google: bool  # numbered "Phone 1 - Value" groups, " ::: " multi-values, "* " marks

    def __post_init__(self) -> None:
        # Headers are compared casefolded, and casefold() turns "ß" into "ss": fold the table the same way
        # once, so that it can be written as the exporters spell their columns.
        object.__setattr__(self, "columns", {key.casefold(): spec for key, spec in self.columns.items()})


def _phone(*types: str, preferred: bool = False) -> Spec:
    return Spec("phone", types=types, preferred=preferred)


def _address(key: str, **parts: tuple[str, ...]) -> dict[str, Spec]:
    """The columns of one Outlook address (``business``, ``home``, ``other``), by PostalAddress part."""
    return {column: Spec("address", key, part) for part, columns in parts.items() for column in columns}


_EMAIL = Spec("email")
_URL = Spec("url")
_BIRTHDAY = Spec("birthday")
_NOTES = Spec("notes")
_LABELS = Spec("labels")

_GOOGLE_COMMON: Final[dict[str, Spec]] = {
    "name prefix": Spec("name", "prefixes"),
    "name suffix": Spec("name", "suffixes"),
    "nickname": Spec("single", "nickname"),
    "birthday": _BIRTHDAY,
    "notes": _NOTES,
    "photo": Spec("photo"),
}
_GOOGLE_NEW = Layout(
    format="google_csv",
    required=("First Name", "Last Name", "Labels"),
    columns={
        **_GOOGLE_COMMON,
        "first name": Spec("name", "given"),
        "middle name": Spec("name", "additional"),
        "last name": Spec("name", "family"),
        "file as": Spec("display"),
        "organization name": Spec("single", "organisation"),
        "organization title": Spec("single", "title"),
        "organization department": Spec("single", "department"),
        "labels": _LABELS,
    },
    google=True,
)
_GOOGLE_OLD = Layout(
    format="google_csv",
    required=("Name", "Given Name", "Family Name", "Group Membership"),
    columns={
        **_GOOGLE_COMMON,
        "name": Spec("display"),
        "given name": Spec("name", "given"),
        "additional name": Spec("name", "additional"),
        "family name": Spec("name", "family"),
        "group membership": _LABELS,
    },
    google=True,
)
_OUTLOOK_EN = Layout(
    format="outlook_csv",
    required=("First Name", "Last Name", "E-mail Address"),
    columns={
        "title": Spec("name", "prefixes"),  # Outlook's "Title" is Mr./Dr.; the job is "Job Title"
        "first name": Spec("name", "given"),
        "middle name": Spec("name", "additional"),
        "last name": Spec("name", "family"),
        "suffix": Spec("name", "suffixes"),
        "nickname": Spec("single", "nickname"),
        "company": Spec("single", "organisation"),
        "department": Spec("single", "department"),
        "job title": Spec("single", "title"),
        "birthday": _BIRTHDAY,
        "notes": _NOTES,
        "categories": _LABELS,
        "e-mail address": _EMAIL,
        "e-mail 2 address": _EMAIL,
        "e-mail 3 address": _EMAIL,
        "web page": _URL,
        "personal web page": _URL,
        "business phone": _phone("work"),
        "business phone 2": _phone("work"),
        "company main phone": _phone("work"),
        "home phone": _phone("home"),
        "home phone 2": _phone("home"),
        "mobile phone": _phone("cell"),
        "mobile phone 2": _phone("cell"),
        "primary phone": _phone(preferred=True),
        "other phone": _phone(),
        "car phone": _phone("car"),
        "pager": _phone("pager"),
        "business fax": _phone("work", "fax"),
        "home fax": _phone("home", "fax"),
        "other fax": _phone("fax"),
        "assistant's phone": _phone(),
        "callback": _phone(),
        "radio phone": _phone(),
        "telex": _phone(),
        "tty/tdd phone": _phone("textphone"),
        "isdn": _phone("isdn"),
        **_address(
            "work",
            street=("business street", "business street 2", "business street 3"),
            po_box=("business address po box",),
            locality=("business city",),
            region=("business state",),
            postal_code=("business postal code",),
            country=("business country/region", "business country"),
        ),
        **_address(
            "home",
            street=("home street", "home street 2", "home street 3"),
            po_box=("home address po box",),
            locality=("home city",),
            region=("home state",),
            postal_code=("home postal code",),
            country=("home country/region", "home country"),
        ),
        **_address(
            "other",
            street=("other street", "other street 2", "other street 3"),
            po_box=("other address po box",),
            locality=("other city",),
            region=("other state",),
            postal_code=("other postal code",),
            country=("other country/region", "other country"),
        ),
    },
    google=False,
)
_OUTLOOK_DE = Layout(
    format="outlook_csv",
    required=("Vorname", "Nachname", "E-Mail-Adresse"),
    columns={
        "anrede": Spec("name", "prefixes"),
        "vorname": Spec("name", "given"),
        "weitere vornamen": Spec("name", "additional"),
        "nachname": Spec("name", "family"),
        "suffix": Spec("name", "suffixes"),
        "firma": Spec("single", "organisation"),
        "abteilung": Spec("single", "department"),
        "position": Spec("single", "title"),
        "geburtstag": _BIRTHDAY,
        "notizen": _NOTES,
        "kategorien": _LABELS,
        "e-mail-adresse": _EMAIL,
        "e-mail 2: adresse": _EMAIL,
        "e-mail 3: adresse": _EMAIL,
        "webseite": _URL,
        "telefon geschäftlich": _phone("work"),
        "telefon geschäftlich 2": _phone("work"),
        "telefon firma": _phone("work"),
        "telefon privat": _phone("home"),
        "telefon privat 2": _phone("home"),
        "telefon (privat)": _phone("home"),
        "telefon (privat 2)": _phone("home"),
        "mobiltelefon": _phone("cell"),
        "mobiltelefon 2": _phone("cell"),
        "haupttelefon": _phone(preferred=True),
        "weiteres telefon": _phone(),
        "autotelefon": _phone("car"),
        "pager": _phone("pager"),
        "fax geschäftlich": _phone("work", "fax"),
        "fax privat": _phone("home", "fax"),
        "weiteres fax": _phone("fax"),
        "telefon assistent": _phone(),
        "rückmeldung": _phone(),
        "funkruf": _phone(),
        "telex": _phone(),
        "telefon für hörbehinderte": _phone("textphone"),
        "isdn": _phone("isdn"),
        **_address(
            "work",
            street=("straße geschäftlich", "straße geschäftlich 2", "straße geschäftlich 3"),
            po_box=("postfach geschäftlich",),
            locality=("ort geschäftlich",),
            region=("region geschäftlich", "bundesland/kanton geschäftlich"),
            postal_code=("postleitzahl geschäftlich",),
            country=("land/region geschäftlich",),
        ),
        **_address(
            "home",
            street=("straße privat", "straße privat 2", "straße privat 3"),
            po_box=("postfach privat",),
            locality=("ort privat",),
            region=("bundesland/kanton privat", "region privat"),
            postal_code=("postleitzahl privat",),
            country=("land/region privat",),
        ),
        **_address(
            "other",
            street=("weitere straße", "weitere straße 2", "weitere straße 3"),
            po_box=("weiteres postfach",),
            locality=("weiterer ort",),
            region=("weiteres/r bundesland/kanton",),
            postal_code=("weitere postleitzahl",),
            country=("weiteres/r land/region", "weiteres/e land/region"),
        ),
    },
    google=False,
)
_LAYOUTS: Final = (_GOOGLE_NEW, _GOOGLE_OLD, _OUTLOOK_EN, _OUTLOOK_DE)

# Google's numbered column groups; other groups (Event, Relation, IM, ...) are kept as custom fields.
GOOGLE_GROUPS: Final[dict[str, Kind]] = {
    "e-mail": "email",
    "phone": "phone",
    "website": "url",
    "address": "address",
    "custom field": "custom_field",
}
GOOGLE_ADDRESS_PARTS: Final = {
    "formatted": "formatted",
    "street": "street",
    "city": "locality",
    "po box": "po_box",
    "region": "region",
    "postal code": "postal_code",
    "country": "country",
    "extended address": "extended",
}
GOOGLE_ORGANISATION_PARTS: Final = {"name": "organisation", "title": "title", "department": "department"}
ADDRESS_TYPES: Final = {"work": ("work",), "home": ("home",), "other": ()}

# Google's phone, e-mail and address labels (and a few German ones typed by hand) as vCard types.
TYPES: Final[dict[str, tuple[str, ...]]] = {
    "mobile": ("cell",),
    "cell": ("cell",),
    "mobil": ("cell",),
    "handy": ("cell",),
    "work mobile": ("work", "cell"),
    "home": ("home",),
    "privat": ("home",),
    "work": ("work",),
    "arbeit": ("work",),
    "geschäftlich": ("work",),
    "fax": ("fax",),
    "home fax": ("home", "fax"),
    "work fax": ("work", "fax"),
    "other fax": ("fax",),
    "pager": ("pager",),
    "work pager": ("work", "pager"),
    "car": ("car",),
    "isdn": ("isdn",),
    "internet": ("internet",),
}

# Values Outlook writes into every row when a field is not set: they say nothing about the person.
PLACEHOLDERS: Final[dict[str, frozenset[str]]] = {
    "priority": frozenset({"normal"}),
    "priorität": frozenset({"normal"}),
    "sensitivity": frozenset({"normal"}),
    "vertraulichkeit": frozenset({"normal"}),
    "private": frozenset({"false"}),
    "privat": frozenset({"false", "aus"}),
    "gender": frozenset({"unspecified"}),
    "geschlecht": frozenset({"nicht angegeben"}),
    "anniversary": frozenset({"0/0/00"}),
    "jahrestag": frozenset({"0.0.00"}),
    "e-mail type": frozenset({"smtp"}),
    "e-mail 2 type": frozenset({"smtp"}),
    "e-mail 3 type": frozenset({"smtp"}),
    "e-mail-typ": frozenset({"smtp"}),
    "e-mail 2: typ": frozenset({"smtp"}),
    "e-mail 3: typ": frozenset({"smtp"}),
}


def header_key(header: str) -> str:
    """A header cell as layouts list it: stripped, case-folded, without a stray byte order mark."""
    return header.strip().lstrip("\ufeff").strip().casefold()


def detect_layout(header: Sequence[str], source: str) -> Layout:
    """The layout whose identifying columns are all there (the best covered one if several are).

    Raises ``UnknownCsvLayout`` naming the columns missing for the closest layout; the header that
    was found is never repeated.
    """
    keys = {header_key(h) for h in header}

    def coverage(layout: Layout) -> tuple[int, int]:
        present = sum(1 for column in layout.required if column.casefold() in keys)
        return present, len(keys & layout.columns.keys())

    best = max(_LAYOUTS, key=coverage)  # max() keeps the first of equals: the order of _LAYOUTS
    missing = tuple(column for column in best.required if column.casefold() not in keys)
    if missing:
        raise UnknownCsvLayout(source, missing)
    return best
