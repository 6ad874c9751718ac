"""Google Contacts and Outlook CSV import: both Google layouts, Outlook with English or German headers.

The layout is recognised from the header row: Google Contacts as exported since 2024 (``First Name``,
``Labels``, ``Phone 1 - Label``, ...), the older Google layout (``Name``, ``Given Name``, ``Group
Membership``, ``Phone 1 - Type``, ...), and Outlook's export with English or German column names. A header
that matches none of them raises ``UnknownCsvLayout``, which names the columns missing
for the closest layout and never the header that was found (a file without a header row has a customer's
data there).

Every non-empty row becomes a contact or an ``ImportIssue`` naming the line where the
row starts; completely empty rows are skipped. Google's ``" ::: "`` multi-values are split, so every number
becomes its own phone. Columns the model has no field for are kept as custom fields under their header;
photo URLs are dropped and counted, never stored. Issue messages name lines and columns, never values.

Encoding: UTF-8 (with or without byte order mark) or UTF-16, as :mod:`contactvault.importers.source`
delivers it; a file whose first non-ASCII line is not UTF-8 is read as Windows-1252 (Outlook's "ANSI"), with
one ``assumed_charset`` warning. The delimiter (comma, semicolon or tab) is taken from the header line.

Data flows one way: lines of bytes -> text lines (one encoding per file) -> rows (the csv module) -> a
row's values -> a Contact. Memory follows the batch size, not the file size.
"""

from __future__ import annotations

import csv
import itertools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal

from pydantic import ValidationError

from contactvault.errors import ImportFailed, UnknownCsvLayout
from contactvault.importers._gc import paused_gc
from contactvault.importers._values import (
    PHONE_PROBLEMS,
    clean_text,
    fallback_display_name,
    one_line,
    parse_birthday,
    validation_fields,
)
from contactvault.importers.result import ImportBatch, ImportIssue, ImportResult, IssueCode
from contactvault.importers.source import Source, iter_lines, source_name
from contactvault.importers.vcard import DEFAULT_BATCH_SIZE
from contactvault.models import Birthday, Contact, SourceFormat
from contactvault.phones import MAX_RAW_LENGTH, check_region, parse_number

__all__ = ["import_csv", "iter_csv"]

_MULTI = " ::: "  # Google joins several values of one column group with this
_GROUP = re.compile(r"(.+?) (\d+) - (.+)")  # Google's numbered columns: "phone 2 - value" (casefolded)
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")  # Outlook (English): 3/22/1980
_DE_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")  # Outlook (German): 22.03.1980
_DELIMITERS = (",", ";", "\t")  # Google and Outlook; Excel in a German locale; "tab separated" exports
_QUOTED = re.compile(r'"[^"]*"')
_MAX_NAME = 200  # CustomField.name and Label.name limits

_Kind = Literal[
    "display", "name", "single", "birthday", "notes", "photo", "labels", "phone", "email", "url",
    "address", "custom_field", "custom",
]  # fmt: skip


# --- layouts --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Spec:
    """What a known column means: its kind, and the target, types and preference that go with it."""

    kind: _Kind
    target: str = ""  # a name part, a Contact attribute, or an address key
    part: str = ""  # the address part an address column fills
    types: tuple[str, ...] = ()
    preferred: bool = False


@dataclass(frozen=True, slots=True)
class _Layout:
    """One known CSV layout: the columns that identify it and what its known columns mean."""

    format: SourceFormat
    required: tuple[str, ...]  # spelled as the exporter writes them: messages show them
    columns: Mapping[str, _Spec]  # casefolded header -> meaning
    google: bool  # numbered "Phone 1 - Value" groups, " ::: " multi-values, "* " marks

    def __post_init__(self) -> None:
        # Headers are compared casefolded, and casefold() turns "ß" into "ss": fold the table the same way
        # once, so that it can be written as the exporters spell their columns.
        object.__setattr__(self, "columns", {key.casefold(): spec for key, spec in self.columns.items()})


def _phone(*types: str, preferred: bool = False) -> _Spec:
    return _Spec("phone", types=types, preferred=preferred)


def _address(key: str, **parts: tuple[str, ...]) -> dict[str, _Spec]:
    """The columns of one Outlook address (``business``, ``home``, ``other``), by PostalAddress part."""
    return {column: _Spec("address", key, part) for part, columns in parts.items() for column in columns}


_EMAIL = _Spec("email")
_URL = _Spec("url")
_BIRTHDAY = _Spec("birthday")
_NOTES = _Spec("notes")
_LABELS = _Spec("labels")

_GOOGLE_COMMON: Final[dict[str, _Spec]] = {
    "name prefix": _Spec("name", "prefixes"),
    "name suffix": _Spec("name", "suffixes"),
    "nickname": _Spec("single", "nickname"),
    "birthday": _BIRTHDAY,
    "notes": _NOTES,
    "photo": _Spec("photo"),
}
_GOOGLE_NEW = _Layout(
    format="google_csv",
    required=("First Name", "Last Name", "Labels"),
    columns={
        **_GOOGLE_COMMON,
        "first name": _Spec("name", "given"),
        "middle name": _Spec("name", "additional"),
        "last name": _Spec("name", "family"),
        "file as": _Spec("display"),
        "organization name": _Spec("single", "organisation"),
        "organization title": _Spec("single", "title"),
        "organization department": _Spec("single", "department"),
        "labels": _LABELS,
    },
    google=True,
)
_GOOGLE_OLD = _Layout(
    format="google_csv",
    required=("Name", "Given Name", "Family Name", "Group Membership"),
    columns={
        **_GOOGLE_COMMON,
        "name": _Spec("display"),
        "given name": _Spec("name", "given"),
        "additional name": _Spec("name", "additional"),
        "family name": _Spec("name", "family"),
        "group membership": _LABELS,
    },
    google=True,
)
_OUTLOOK_EN = _Layout(
    format="outlook_csv",
    required=("First Name", "Last Name", "E-mail Address"),
    columns={
        "title": _Spec("name", "prefixes"),  # Outlook's "Title" is Mr./Dr.; the job is "Job Title"
        "first name": _Spec("name", "given"),
        "middle name": _Spec("name", "additional"),
        "last name": _Spec("name", "family"),
        "suffix": _Spec("name", "suffixes"),
        "nickname": _Spec("single", "nickname"),
        "company": _Spec("single", "organisation"),
        "department": _Spec("single", "department"),
        "job title": _Spec("single", "title"),
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
_OUTLOOK_DE = _Layout(
    format="outlook_csv",
    required=("Vorname", "Nachname", "E-Mail-Adresse"),
    columns={
        "anrede": _Spec("name", "prefixes"),
        "vorname": _Spec("name", "given"),
        "weitere vornamen": _Spec("name", "additional"),
        "nachname": _Spec("name", "family"),
        "suffix": _Spec("name", "suffixes"),
        "firma": _Spec("single", "organisation"),
        "abteilung": _Spec("single", "department"),
        "position": _Spec("single", "title"),
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
_GOOGLE_GROUPS: Final[dict[str, _Kind]] = {
    "e-mail": "email",
    "phone": "phone",
    "website": "url",
    "address": "address",
    "custom field": "custom_field",
}
_GOOGLE_ADDRESS_PARTS: Final = {
    "formatted": "formatted",
    "street": "street",
    "city": "locality",
    "po box": "po_box",
    "region": "region",
    "postal code": "postal_code",
    "country": "country",
    "extended address": "extended",
}
_GOOGLE_ORGANISATION_PARTS: Final = {"name": "organisation", "title": "title", "department": "department"}
_ADDRESS_TYPES: Final = {"work": ("work",), "home": ("home",), "other": ()}

# Google's phone, e-mail and address labels (and a few German ones typed by hand) as vCard types.
_TYPES: Final[dict[str, tuple[str, ...]]] = {
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
_PLACEHOLDERS: Final[dict[str, frozenset[str]]] = {
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


# --- bytes -> text lines --------------------------------------------------------------------------------


class _Decoder:
    """Physical lines of bytes -> lines of text ending in LF, with one encoding for the whole file.

    ASCII lines read the same in every candidate, so the choice waits for the first line with other
    bytes: UTF-8 if that line is valid UTF-8, else Windows-1252 (what Outlook calls "ANSI"). Deciding once
    per file, without reading ahead, keeps streaming and never mixes two readings of one file. A later
    line that is not valid in the chosen encoding is decoded with replacement characters, so the CSV
    structure still holds, and noted in ``bad``: its row becomes an issue, nothing is guessed twice.
    """

    def __init__(self, lines: Iterator[bytes]) -> None:
        self._lines = lines
        self.lineno = 0
        self.encoding: str | None = None  # None while every line so far was ASCII
        self.assumed_at = 0  # the line where Windows-1252 was assumed, until it is reported
        self.bad: list[int] = []  # lines not valid in the encoding, until their row is read
        self.exhausted = False

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        try:
            raw = next(self._lines)
        except StopIteration:
            self.exhausted = True
            raise
        self.lineno += 1
        if raw.isascii():
            return raw.decode("ascii") + "\n"
        if self.encoding is None:
            self.encoding = "utf-8" if _is_utf8(raw) else "cp1252"
            if self.encoding == "cp1252":
                self.assumed_at = self.lineno
        try:
            return raw.decode(self.encoding) + "\n"
        except UnicodeDecodeError:
            self.bad.append(self.lineno)
            return raw.decode(self.encoding, errors="replace") + "\n"


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# --- header -> layout and plan --------------------------------------------------------------------------


def _key(header: str) -> str:
    """A header cell as layouts list it: stripped, case-folded, without a stray byte order mark."""
    return header.strip().lstrip("\ufeff").strip().casefold()


def _detect(header: Sequence[str], source: str) -> _Layout:
    """The layout whose identifying columns are all there (the best covered one if several are).

    Raises ``UnknownCsvLayout`` naming the columns missing for the closest layout; the header that
    was found is never repeated.
    """
    keys = {_key(h) for h in header}

    def coverage(layout: _Layout) -> tuple[int, int]:
        present = sum(1 for column in layout.required if column.casefold() in keys)
        return present, len(keys & layout.columns.keys())

    best = max(_LAYOUTS, key=coverage)  # max() keeps the first of equals: the order of _LAYOUTS
    missing = tuple(column for column in best.required if column.casefold() not in keys)
    if missing:
        raise UnknownCsvLayout(source, missing)
    return best


_Reader = Callable[["_Row", "_Field", str, Sequence[str]], None]


@dataclass(frozen=True, slots=True)
class _Field:
    """One thing a row says, read from one column or a group of columns; planned once per file."""

    read: _Reader
    column: int  # the column read (for a group: its value column, or its first part)
    shown: str  # how messages name the column: a known header, never a cell of the file
    name: str  # the custom field's name when a value is kept as text: the header, or "column N"
    target: str = ""
    types: tuple[str, ...] = ()
    preferred: bool = False
    label: str | None = None  # Outlook: a phone's label is its column's header
    label_column: int = -1  # Google: the group's "Label" / "Type" column
    parts: tuple[tuple[str, int], ...] = ()  # address part -> column
    google: bool = False
    placeholders: frozenset[str] = frozenset()


def _column_name(header: str, column: int) -> str:
    """The name a column's values are kept under: its header, or ``column N`` if it has no usable one."""
    name = one_line(header.lstrip("\ufeff"))
    return name if 0 < len(name) <= _MAX_NAME else f"column {column + 1}"


def _known(
    spec: _Spec,
    header: Sequence[str],
    column: int,
    google: bool,
    *,
    label_column: int = -1,
    parts: tuple[tuple[str, int], ...] = (),
) -> _Field:
    name = _column_name(header[column], column)
    return _Field(
        read=_READERS[spec.kind],
        column=column,
        shown=name,
        name=name,
        target=spec.target,
        types=spec.types,
        preferred=spec.preferred,
        label=name if spec.kind == "phone" and not google else None,
        label_column=label_column,
        parts=parts,
        google=google,
    )


def _custom(header: Sequence[str], column: int, label_column: int = -1) -> _Field:
    name = _column_name(header[column], column)
    placeholders = _PLACEHOLDERS.get(_key(header[column]), frozenset())
    return _Field(
        _keep, column, f"column {column + 1}", name, label_column=label_column, placeholders=placeholders
    )


def _plan(header: Sequence[str], layout: _Layout) -> tuple[_Field, ...]:
    """What to read from which column, in column order, so that values keep the file's order."""
    fields: list[_Field] = []
    groups: dict[tuple[str, str], dict[str, int]] = {}  # Google: (group, number) -> part -> column
    addresses: dict[str, list[tuple[str, int]]] = {}  # Outlook: address key -> (part, column)
    for column, text in enumerate(header):
        key = _key(text)
        spec = layout.columns.get(key)
        match = _GROUP.fullmatch(key) if layout.google and spec is None else None
        members = groups.setdefault((match[1], match[2]), {}) if match is not None else None
        if spec is not None and spec.kind == "address":
            addresses.setdefault(spec.target, []).append((spec.part, column))
        elif spec is not None:
            fields.append(_known(spec, header, column, layout.google))
        elif match is not None and members is not None and match[3] not in members:
            members[match[3]] = column
        else:  # not a known column, or a repeated one: kept as custom fields
            fields.append(_custom(header, column))
    for (group, _number), parts in groups.items():
        fields += _group_fields(group, parts, header)
    for address, columns in addresses.items():
        fields.append(_outlook_address(address, columns, header))
    return tuple(sorted(fields, key=lambda f: f.column))


def _group_fields(group: str, parts: dict[str, int], header: Sequence[str]) -> list[_Field]:
    """The fields of one Google column group (``Phone 2 - Label`` + ``Phone 2 - Value``).

    A known group reads its label column itself. In another group (``Event 1 - Type`` + ``Event 1 -
    Value``) the label labels the custom fields kept from the group. Whatever is left is kept as custom
    fields of its own, so no column is ignored.
    """
    labels = [parts.pop(part) for part in ("label", "type") if part in parts]
    label = labels.pop(0) if labels else -1
    fields = _known_group(group, parts, header, label)
    known_reads_label = bool(fields) and group in _GOOGLE_GROUPS
    labels_the_rest = group not in _GOOGLE_GROUPS and group != "organization" and bool(parts)
    fields += [_custom(header, column, label if labels_the_rest else -1) for column in parts.values()]
    if label >= 0 and not (known_reads_label or labels_the_rest):
        labels.append(label)
    fields += [_custom(header, column) for column in labels]
    return fields


def _known_group(group: str, parts: dict[str, int], header: Sequence[str], label: int) -> list[_Field]:
    """The model fields a Google group fills; the parts they read are taken out of ``parts``."""
    if group == "address":
        mapped = tuple(
            (_GOOGLE_ADDRESS_PARTS[p], parts.pop(p)) for p in list(parts) if p in _GOOGLE_ADDRESS_PARTS
        )
        if not mapped:
            return []
        return [_known(_Spec("address"), header, mapped[0][1], True, label_column=label, parts=mapped)]
    if group == "organization":  # the old layout's "Organization 1 - Name", "- Title", "- Department"
        return [
            _known(_Spec("single", target), header, parts.pop(part), True)
            for part, target in _GOOGLE_ORGANISATION_PARTS.items()
            if part in parts
        ]
    kind = _GOOGLE_GROUPS.get(group)
    if kind is None or "value" not in parts:
        return []
    return [_known(_Spec(kind), header, parts.pop("value"), True, label_column=label)]


def _outlook_address(key: str, parts: list[tuple[str, int]], header: Sequence[str]) -> _Field:
    spec = _Spec("address", types=_ADDRESS_TYPES[key])
    return _known(spec, header, parts[0][1], False, parts=tuple(parts))


# --- a row's cells -> its values ------------------------------------------------------------------------


class _RowError(Exception):
    """A row that cannot be imported; carries an issue code and a message without values."""

    def __init__(self, code: IssueCode, message: str) -> None:
        super().__init__(message)
        self.code: IssueCode = code
        self.message = message


@dataclass(slots=True)
class _Row:
    """What one row says, gathered column by column as plain values; validated once at the end."""

    start: int
    source: str
    default_region: str | None
    warnings: list[ImportIssue] = field(default_factory=list)
    dropped: int = 0
    display: str = ""
    name: dict[str, str] = field(default_factory=dict)
    nickname: str = ""
    organisation: str = ""
    department: str = ""
    title: str = ""
    phones: list[dict[str, Any]] = field(default_factory=list)
    emails: list[dict[str, Any]] = field(default_factory=list)
    addresses: list[dict[str, Any]] = field(default_factory=list)
    birthday: dict[str, int | None] | None = None
    urls: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    custom: list[dict[str, Any]] = field(default_factory=list)

    def warn(self, code: IssueCode, what: str) -> None:
        message = f"row at line {self.start}: {what}"
        self.warnings.append(ImportIssue(self.start, message, code, "warning", self.source))

    def fail(self, code: IssueCode, what: str) -> _RowError:
        return _RowError(code, f"row at line {self.start} not imported: {what}")

    def keep(self, name: str, value: str, label: str | None = None) -> None:
        self.custom.append({"name": name, "value": value, "label": label})


def _cell(cells: Sequence[str], column: int) -> str:
    return cells[column] if 0 <= column < len(cells) else ""


def _values(f: _Field, text: str) -> list[str]:
    """Google's several values in one cell, split; any other cell is one value."""
    return text.split(_MULTI) if f.google and _MULTI in text else [text]


def _google_label(cell: str) -> tuple[str | None, tuple[str, ...], bool]:
    """``"* Mobile"`` -> label ``Mobile``, types ``("cell",)``, preferred (Google's "*" marks the primary)."""
    text = one_line(cell)
    preferred = text.startswith("*")
    if preferred:
        text = text[1:].strip()
    return text or None, _TYPES.get(text.casefold(), ()), preferred


def _kind_of(f: _Field, cells: Sequence[str]) -> tuple[str | None, tuple[str, ...], bool]:
    """Label, types and preference: from Google's label column, or fixed by the Outlook column."""
    if f.label_column >= 0:
        return _google_label(_cell(cells, f.label_column))
    return f.label, f.types, f.preferred


def _read_display(row: _Row, f: _Field, text: str, cells: Sequence[str]) -> None:
    value = one_line(text)
    if value and not row.display:
        row.display = value
    elif value:
        row.keep(f.name, value)


def _read_name(row: _Row, f: _Field, text: str, cells: Sequence[str]) -> None:
    value = one_line(text)
    if value and not row.name.get(f.target):
        row.name[f.target] = value
    elif value:
        row.keep(f.name, value)


def _read_single(row: _Row, f: _Field, text: str, cells: Sequence[str]) -> None:
    """A one-line field: the first value fills it, later ones are kept as custom fields."""
    value = one_line(text)
    if value and not getattr(row, f.target):
        setattr(row, f.target, value)
    elif value:
        row.keep(f.name, value)


def _read_birthday(row: _Row, f: _Field, text: str, cells: Sequence[str]) -> None:
    value = one_line(text)
    if not value.strip("0/.- "):  # Outlook writes 0/0/00 (German: 0.0.00) for "no birthday"
        return
    if row.birthday is None:
        row.birthday = _parse_date(value)
        if row.birthday is not None:
            return
        row.warn("bad_birthday", f"column '{f.shown}' is not a date; kept as text")
    row.keep(f.name, value)


def _parse_date(text: str) -> dict[str, int | None] | None:
    """``1980-03-22``, ``--03-22``, Outlook's ``3/22/1980`` and German ``22.03.1980``; None if not a date."""
    if match := _US_DATE.fullmatch(text):
        month, day, year = (int(g) for g in match.groups())
        if month > 12 >= day:  # an English (UK) Outlook writes the day first; it shows only then
            month, day = day, month
    elif match := _DE_DATE.fullmatch(text):
        day, month, year = (int(g) for g in match.groups())
    else:
        return parse_birthday(text)
    try:
        Birthday(year=year, month=month, day=day)
    except ValidationError:
        return None
    return {"year": year, "month": month, "day": day}


def _read_notes(row: _Row, f: _Field, text: str, cells: Sequence[str]) -> None:
    note = clean_text(text)
    if note.strip():
        row.notes.append(note)


def _read_photo(row: _Row, f: _Field, text: str, cells: Sequence[str]) -> None:
    # A photo is a URL to Google's servers: dropped unread, counted, never stored.
    row.dropped += sum(1 for value in _values(f, text) if value.strip())


def _read_labels(row: _Row, f: _Field, text: str, cells: Sequence[str]) -> None:
    """Google's labels (``* myContacts ::: Kunden``) or Outlook's categories (``Kunden;bezahlt``)."""
    for value in text.split(_MULTI) if f.google else text.split(";"):
        name = one_line(value)
        if f.google and name.startswith("*"):  # a Google system group: "* starred" is kept as "starred"
            name = name[1:].strip()
            if name.replace(" ", "").casefold() == "mycontacts":  # every contact is in it: no information
                continue
        if name:
            row.labels.setdefault(name.casefold(), {"name": name})


def _read_phones(row: _Row, f: _Field, text: str, cells: Sequence[str]) -> None:
    label, types, preferred = _kind_of(f, cells)
    for index, value in enumerate(_values(f, text)):
        raw = value.strip()
        if raw:
            _add_phone(row, f, raw, label=label, types=types, preferred=preferred and index == 0)


def _add_phone(
    row: _Row, f: _Field, raw: str, *, label: str | None, types: tuple[str, ...], preferred: bool
) -> None:
    if len(raw) > MAX_RAW_LENGTH:
        row.warn("invalid_number", f"column '{f.shown}' is too long for a number; kept as text")
        row.keep(f.name, raw, label)
        return
    info = parse_number(raw, row.default_region)
    if info.problem is not None:
        why = PHONE_PROBLEMS[info.problem]
        row.warn("invalid_number", f"column '{f.shown}': {why}; kept as typed, without E.164")
    row.phones.append(
        {
            "raw": raw,
            "e164": info.e164,
            "region": info.region,
            "kind": info.kind,
            "extension": info.extension,
            "label": label,
            "types": types,
            "preferred": preferred,
            "problem": info.problem,
        }
    )


def _read_emails(row: _Row, f: _Field, text: str, cells: Sequence[str]) -> None:
    label, types, preferred = _kind_of(f, cells)
    for index, value in enumerate(_values(f, text)):
        address = one_line(value)
        if address:
            row.emails.append(
                {"address": address, "label": label, "types": types, "preferred": preferred and index == 0}
            )


def _read_urls(row: _Row, f: _Field, text: str, cells: Sequence[str]) -> None:
    row.urls.extend(url for url in map(one_line, _values(f, text)) if url)


def _read_addresses(row: _Row, f: _Field, text: str, cells: Sequence[str]) -> None:
    """One address per value: Google may put several in one column group, part by part."""
    filled = [(part, text) for part, column in f.parts if (text := _cell(cells, column))]
    if not filled:  # the common case: most rows leave most addresses empty
        return
    label, types, preferred = _kind_of(f, cells)
    columns = [(part, _values(f, text)) for part, text in filled]
    for index in range(max(len(values) for _, values in columns)):
        parts: dict[str, list[str]] = {}
        for part, values in columns:
            value = clean_text(values[index]).strip() if index < len(values) else ""
            if value:
                parts.setdefault(part, []).append(value)
        address = {part: "\n".join(lines) for part, lines in parts.items()}  # "Street 2", "Street 3"
        formatted = address.pop("formatted", "")
        if not address and formatted:  # only the one-block form was filled in: keep it whole
            address["street"] = formatted
        if address:
            extra = {"label": label, "types": types, "preferred": preferred and index == 0}
            row.addresses.append({**address, **extra})


def _read_custom_field(row: _Row, f: _Field, text: str, cells: Sequence[str]) -> None:
    """Google's ``Custom Field N - Label`` / ``Value``: the label names the field."""
    value = clean_text(text)
    if value.strip():
        row.keep(one_line(_cell(cells, f.label_column)) or "CUSTOM", value)


def _keep(row: _Row, f: _Field, text: str, cells: Sequence[str]) -> None:
    """A column the model has no field for: kept as a custom field under its header."""
    value = clean_text(text)
    if value.strip() and value.strip().casefold() not in f.placeholders:
        label = _google_label(_cell(cells, f.label_column))[0] if f.label_column >= 0 else None
        row.keep(f.name, value, label)


_READERS: Final[dict[_Kind, _Reader]] = {
    "display": _read_display,
    "name": _read_name,
    "single": _read_single,
    "birthday": _read_birthday,
    "notes": _read_notes,
    "photo": _read_photo,
    "labels": _read_labels,
    "phone": _read_phones,
    "email": _read_emails,
    "url": _read_urls,
    "address": _read_addresses,
    "custom_field": _read_custom_field,
    "custom": _keep,
}


# --- the file: header, rows -----------------------------------------------------------------------------


@dataclass(slots=True)
class _CsvFile:
    """An opened CSV source: its layout and plan, and the reader positioned after the header row."""

    name: str
    region: str | None
    layout: _Layout
    plan: tuple[_Field, ...]
    width: int
    header_line: int
    decoder: _Decoder
    reader: Iterator[list[str]]


@dataclass(frozen=True, slots=True)
class _RawRow:
    """A row's cells and the line it starts at; ``error`` when the row cannot be read at all."""

    start: int
    cells: Sequence[str]
    error: tuple[IssueCode, str] | None = None


def _sniff(line: str) -> str:
    """The delimiter of the header line: the most frequent of comma, semicolon and tab outside quotes."""
    bare = _QUOTED.sub("", line)
    return max(_DELIMITERS, key=bare.count)  # a tie (or none at all) keeps the comma


def _check_text(line: str, decoder: _Decoder, name: str) -> None:
    """Raise ImportFailed, naming only the file, when the first line shows it is not a CSV file."""
    if decoder.bad or "\x00" in line:
        raise ImportFailed(f"{name}: not a CSV file (binary data)")
    body = line.rstrip("\n")
    if not body.isprintable() and any(unicodedata.category(ch) == "Cc" and ch != "\t" for ch in body):
        raise ImportFailed(f"{name}: not a CSV file (binary data)")
    if line.lstrip().upper().startswith("BEGIN:VCARD"):
        raise ImportFailed(f"{name}: not a CSV file but a vCard file (use import_vcards)")


def _open(source: Source, region: str | None) -> _CsvFile:
    """Read the header row and recognise the layout; raises ImportFailed or UnknownCsvLayout."""
    name = source_name(source)
    decoder = _Decoder(iter_lines(source))
    first = next((line for line in decoder if line.strip()), None)
    if first is None:
        raise ImportFailed(f"{name}: not a CSV file (no header row)")
    _check_text(first, decoder, name)
    header_line = decoder.lineno
    reader = csv.reader(itertools.chain((first,), decoder), delimiter=_sniff(first))
    try:
        header = next(reader)
    except csv.Error:
        raise ImportFailed(f"{name}: not a CSV file (a header cell is too long)") from None
    if decoder.exhausted:
        raise ImportFailed(f"{name}: not a CSV file (a quote in the header row is never closed)")
    if not any(cell.strip() for cell in header):
        raise ImportFailed(f"{name}: not a CSV file (the header row is empty)")
    layout = _detect(header, name)
    plan = _plan(header, layout)
    return _CsvFile(name, region, layout, plan, len(header), header_line, decoder, reader)


def _charset_note(file: _CsvFile, start: int) -> ImportIssue | None:
    """The one ``assumed_charset`` warning, at the row whose lines made the choice."""
    at, file.decoder.assumed_at = file.decoder.assumed_at, 0
    if not at:
        return None
    message = f"line {at} is not UTF-8: the file is read as Windows-1252"
    return ImportIssue(start, message, "assumed_charset", "warning", file.name)


def _row_error(file: _CsvFile, start: int) -> tuple[IssueCode, str] | None:
    """Why the row just read cannot be imported at all: an unclosed quote, or bytes not in the encoding."""
    decoder = file.decoder
    bad, decoder.bad = decoder.bad, []
    if decoder.exhausted:  # the csv module ends a quoted cell at the end of the input without a word
        what = f"a quote in it is never closed (lines {start}-{decoder.lineno} were read as one row)"
        return "unclosed_quote", what
    if bad:
        encoding = "UTF-8" if decoder.encoding == "utf-8" else "Windows-1252"
        return "bad_encoding", f"line {bad[0]} is not valid {encoding} text"
    return None


def _raw_rows(file: _CsvFile) -> Iterator[_RawRow | ImportIssue]:
    """The data rows with their start lines; completely empty rows are skipped, file notes passed on."""
    decoder = file.decoder
    if note := _charset_note(file, file.header_line):
        yield note
    while True:
        start = decoder.lineno + 1
        error: tuple[IssueCode, str] | None = None
        try:
            cells: Sequence[str] = next(file.reader)
        except StopIteration:
            return
        except csv.Error:
            # Reading lines that end in LF, the csv module's only complaint is a cell over its size limit
            # (a quote that is never closed); it goes on with the next line.
            cells = ()
            error = ("value_too_long", f"a cell holds more than {csv.field_size_limit()} characters")
        if note := _charset_note(file, start):
            yield note
        error = _row_error(file, start) or error
        if error is not None or any(cell.strip() for cell in cells):
            yield _RawRow(start, cells, error)


# --- a row's values -> Contact --------------------------------------------------------------------------


def _read_cells(raw: _RawRow, file: _CsvFile) -> _Row:
    """Gather one row's values by the plan; cells beyond the header are kept under their position."""
    row = _Row(raw.start, file.name, file.region)
    cells = raw.cells
    count = len(cells)
    if count != file.width:
        row.warn("row_length", f"{count} cells where the header has {file.width}; read by position")
    for f in file.plan:
        text = cells[f.column] if f.column < count else ""
        if text or f.parts:
            f.read(row, f, text, cells)
    for column in range(file.width, count):
        value = clean_text(cells[column])
        if value.strip():
            row.keep(f"column {column + 1}", value)
    return row


def _display_name(row: _Row) -> str:
    if row.display:
        return row.display
    name, fallback = fallback_display_name(row.name, row.nickname, row.organisation, row.emails, row.phones)
    if fallback is not None:
        row.warn("no_name", f"no name; its {fallback} is used as display name")
    if not name:
        raise row.fail("empty_card", "it has no name, phone number or e-mail address")
    return name


def _to_contact(row: _Row, file: _CsvFile, now: datetime) -> Contact:
    """Validate the gathered values as one Contact; raises _RowError, never a value in a message."""
    data: dict[str, Any] = {
        "display_name": _display_name(row),
        "nickname": row.nickname,
        "phones": row.phones,
        "emails": row.emails,
        "addresses": row.addresses,
        "birthday": row.birthday,
        "organisation": row.organisation,
        "department": row.department,
        "title": row.title,
        "urls": row.urls,
        "notes": row.notes,
        "labels": list(row.labels.values()),
        "custom_fields": row.custom,
        "created_at": now,
        "updated_at": now,
        "source": {
            "format": file.layout.format,
            "file": None if file.name.startswith("<") else file.name[:255],
            "line": row.start,
        },
    }
    if row.name:
        data["name"] = row.name
    try:
        return Contact.model_validate(data)
    except ValidationError as exc:
        raise row.fail("invalid_card", f"invalid {validation_fields(exc)}") from None


def _read_row(raw: _RawRow, file: _CsvFile, now: datetime, batch: ImportBatch) -> None:
    """One row into the batch: a contact plus its warnings, or one error issue."""
    batch.entries += 1
    if raw.error is not None:
        code, what = raw.error
        message = f"row at line {raw.start} not imported: {what}"
        batch.issues.append(ImportIssue(raw.start, message, code, "error", file.name))
        return
    try:
        row = _read_cells(raw, file)
        contact = _to_contact(row, file, now)
    except _RowError as exc:
        batch.issues.append(ImportIssue(raw.start, exc.message, exc.code, "error", file.name))
        return
    except Exception as exc:  # noqa: BLE001  (one row's bug must not cost the other rows)
        message = (
            f"row at line {raw.start} not imported: internal error ({type(exc).__name__}); please report it"
        )
        batch.issues.append(ImportIssue(raw.start, message, "internal_error", "error", file.name))
        return
    batch.contacts.append(contact)
    batch.issues.extend(row.warnings)
    batch.dropped += row.dropped


def _batches(file: _CsvFile, batch_size: int) -> Iterator[ImportBatch]:
    now = datetime.now(UTC)
    items = _raw_rows(file)
    while True:
        batch = ImportBatch()
        with paused_gc():
            for item in items:
                if isinstance(item, ImportIssue):
                    batch.issues.append(item)
                else:
                    _read_row(item, file, now, batch)
                if batch.entries >= batch_size:
                    break
        if not (batch.entries or batch.issues):
            return
        yield batch


def iter_csv(
    source: Source, *, default_region: str | None, batch_size: int = DEFAULT_BATCH_SIZE
) -> Iterator[ImportBatch]:
    """Read a Google Contacts or Outlook CSV export in batches of at most ``batch_size`` rows.

    ``default_region`` is the region for numbers without a country code (``"DE"``), or ``None`` to read
    only international numbers; there is no hidden default. Memory stays bounded by the batch size.
    Raises ``UnknownCsvLayout`` when the header row matches no known layout (naming the
    missing columns, never the header found) and ``ImportFailed`` when the source is
    not a CSV file at all; problems inside rows become issues. Photo URLs are dropped, never stored.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    region = check_region(default_region)  # here, not in a generator: bad arguments fail at the call
    return _batches(_open(source, region), batch_size)


def import_csv(
    source: Source, *, default_region: str | None, existing: Iterable[Contact] = ()
) -> ImportResult:
    """Import a Google Contacts (2024 or older layout) or Outlook (English or German) CSV export.

    ``source`` is a path, the file's bytes, or its text (see :mod:`contactvault.importers.source`).
    ``default_region`` is the region for numbers without a country code (``"DE"``), or ``None``.
    ``existing`` holds contacts of earlier imports: duplicates against them are reported too.

    The result's ``format`` is ``"google_csv"`` or ``"outlook_csv"``. Every non-empty row becomes a
    contact or an error issue naming the line it starts at; nothing is stored anywhere. Photo URLs are
    dropped. Raises ``UnknownCsvLayout`` or ``ImportFailed`` as
    ``iter_csv`` does.
    """
    file = _open(source, check_region(default_region))
    return ImportResult.collect(
        _batches(file, DEFAULT_BATCH_SIZE),
        source=file.name,
        format=file.layout.format,
        existing=existing,
    )
