"""A row's cells -> its values: the plan of what to read from which column, and the readers that do it.

:func:`plan_fields` turns a header row and its layout into `Field` s, once per file, in column order; each
names the reader of its kind. The readers gather one row's values on a `Row` as plain values (Google's
``" ::: "`` multi-values split, labels turned into vCard types, Outlook's placeholders skipped, photo URLs
counted and dropped), and warn or raise `RowError` with messages that name lines and columns, never values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from pydantic import ValidationError

from contactvault.importers._csv_layouts import (
    ADDRESS_TYPES,
    GOOGLE_ADDRESS_PARTS,
    GOOGLE_GROUPS,
    GOOGLE_ORGANISATION_PARTS,
    GROUP,
    PLACEHOLDERS,
    TYPES,
    Kind,
    Layout,
    Spec,
    header_key,
)
from contactvault.importers._values import PHONE_PROBLEMS, clean_text, one_line, parse_birthday
from contactvault.importers.result import ImportIssue, IssueCode
from contactvault.models import Birthday
from contactvault.phones import MAX_RAW_LENGTH, parse_number

__all__ = ["Field", "Row", "RowError", "plan_fields"]

_MULTI = " ::: "  # Google joins several values of one column group with this
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")  # Outlook (English): 3/22/1980
_DE_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")  # Outlook (German): 22.03.1980
_MAX_NAME = 200  # CustomField.name and Label.name limits


# --- header -> plan -------------------------------------------------------------------------------------

_Reader = Callable[["Row", "Field", str, Sequence[str]], None]


@dataclass(frozen=True, slots=True)
class Field:
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
    spec: Spec,
    header: Sequence[str],
    column: int,
    google: bool,
    *,
    label_column: int = -1,
    parts: tuple[tuple[str, int], ...] = (),
) -> Field:
    name = _column_name(header[column], column)
    return Field(
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


def _custom(header: Sequence[str], column: int, label_column: int = -1) -> Field:
    name = _column_name(header[column], column)
    placeholders = PLACEHOLDERS.get(header_key(header[column]), frozenset())
    return Field(
        _keep, column, f"column {column + 1}", name, label_column=label_column, placeholders=placeholders
    )


def plan_fields(header: Sequence[str], layout: Layout) -> tuple[Field, ...]:
    """What to read from which column, in column order, so that values keep the file's order."""
    fields: list[Field] = []
    groups: dict[tuple[str, str], dict[str, int]] = {}  # Google: (group, number) -> part -> column
    addresses: dict[str, list[tuple[str, int]]] = {}  # Outlook: address key -> (part, column)
    for column, text in enumerate(header):
        key = header_key(text)
        spec = layout.columns.get(key)
        match = GROUP.fullmatch(key) if layout.google and spec is None else None
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


def _group_fields(group: str, parts: dict[str, int], header: Sequence[str]) -> list[Field]:
    """The fields of one Google column group (``Phone 2 - Label`` + ``Phone 2 - Value``).

    A known group reads its label column itself. In another group (``Event 1 - Type`` + ``Event 1 -
    Value``) the label labels the custom fields kept from the group. Whatever is left is kept as custom
    fields of its own, so no column is ignored.
    """
    labels = [parts.pop(part) for part in ("label", "type") if part in parts]
    label = labels.pop(0) if labels else -1
    fields = _known_group(group, parts, header, label)
    known_reads_label = bool(fields) and group in GOOGLE_GROUPS
    labels_the_rest = group not in GOOGLE_GROUPS and group != "organization" and bool(parts)
    fields += [_custom(header, column, label if labels_the_rest else -1) for column in parts.values()]
    if label >= 0 and not (known_reads_label or labels_the_rest):
        labels.append(label)
    fields += [_custom(header, column) for column in labels]
    return fields


def _known_group(group: str, parts: dict[str, int], header: Sequence[str], label: int) -> list[Field]:
    """The model fields a Google group fills; the parts they read are taken out of ``parts``."""
    if group == "address":
        mapped = tuple(
            (GOOGLE_ADDRESS_PARTS[p], parts.pop(p)) for p in list(parts) if p in GOOGLE_ADDRESS_PARTS
        )
        if not mapped:
            return []
        return [_known(Spec("address"), header, mapped[0][1], True, label_column=label, parts=mapped)]
    if group == "organization":  # the old layout's "Organization 1 - Name", "- Title", "- Department"
        return [
            _known(Spec("single", target), header, parts.pop(part), True)
            for part, target in GOOGLE_ORGANISATION_PARTS.items()
            if part in parts
        ]
    kind = GOOGLE_GROUPS.get(group)
    if kind is None or "value" not in parts:
        return []
    return [_known(Spec(kind), header, parts.pop("value"), True, label_column=label)]


def _outlook_address(key: str, parts: list[tuple[str, int]], header: Sequence[str]) -> Field:
    spec = Spec("address", types=ADDRESS_TYPES[key])
    return _known(spec, header, parts[0][1], False, parts=tuple(parts))


# --- a row's cells -> its values ------------------------------------------------------------------------


class RowError(Exception):
    """A row that cannot be imported; carries an issue code and a message without values."""

    def __init__(self, code: IssueCode, message: str) -> None:
        super().__init__(message)
        self.code: IssueCode = code
        self.message = message


@dataclass(slots=True)
class Row:
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

    def fail(self, code: IssueCode, what: str) -> RowError:
        return RowError(code, f"row at line {self.start} not imported: {what}")

    def keep(self, name: str, value: str, label: str | None = None) -> None:
        self.custom.append({"name": name, "value": value, "label": label})


def _cell(cells: Sequence[str], column: int) -> str:
    return cells[column] if 0 <= column < len(cells) else ""


def _values(f: Field, text: str) -> list[str]:
    """Google's several values in one cell, split; any other cell is one value."""
    return text.split(_MULTI) if f.google and _MULTI in text else [text]


def _google_label(cell: str) -> tuple[str | None, tuple[str, ...], bool]:
    """``"* Mobile"`` -> label ``Mobile``, types ``("cell",)``, preferred (Google's "*" marks the primary)."""
    text = one_line(cell)
    preferred = text.startswith("*")
    if preferred:
        text = text[1:].strip()
    return text or None, TYPES.get(text.casefold(), ()), preferred


def _kind_of(f: Field, cells: Sequence[str]) -> tuple[str | None, tuple[str, ...], bool]:
    """Label, types and preference: from Google's label column, or fixed by the Outlook column."""
    if f.label_column >= 0:
        return _google_label(_cell(cells, f.label_column))
    return f.label, f.types, f.preferred


def _read_display(row: Row, f: Field, text: str, cells: Sequence[str]) -> None:
    value = one_line(text)
    if value and not row.display:
        row.display = value
    elif value:
        row.keep(f.name, value)


def _read_name(row: Row, f: Field, text: str, cells: Sequence[str]) -> None:
    value = one_line(text)
    if value and not row.name.get(f.target):
        row.name[f.target] = value
    elif value:
        row.keep(f.name, value)


def _read_single(row: Row, f: Field, text: str, cells: Sequence[str]) -> None:
    """A one-line field: the first value fills it, later ones are kept as custom fields."""
    value = one_line(text)
    if value and not getattr(row, f.target):
        setattr(row, f.target, value)
    elif value:
        row.keep(f.name, value)


def _read_birthday(row: Row, f: Field, text: str, cells: Sequence[str]) -> None:
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


def _read_notes(row: Row, f: Field, text: str, cells: Sequence[str]) -> None:
    note = clean_text(text)
    if note.strip():
        row.notes.append(note)


def _read_photo(row: Row, f: Field, text: str, cells: Sequence[str]) -> None:
    # A photo is a URL to Google's servers: dropped unread, counted, never stored.
    row.dropped += sum(1 for value in _values(f, text) if value.strip())


def _read_labels(row: Row, f: Field, text: str, cells: Sequence[str]) -> None:
    """Google's labels (``* myContacts ::: Kunden``) or Outlook's categories (``Kunden;bezahlt``)."""
    for value in text.split(_MULTI) if f.google else text.split(";"):
        name = one_line(value)
        if f.google and name.startswith("*"):  # a Google system group: "* starred" is kept as "starred"
            name = name[1:].strip()
            if name.replace(" ", "").casefold() == "mycontacts":  # every contact is in it: no information
                continue
        if name:
            row.labels.setdefault(name.casefold(), {"name": name})


def _read_phones(row: Row, f: Field, text: str, cells: Sequence[str]) -> None:
    label, types, preferred = _kind_of(f, cells)
    for index, value in enumerate(_values(f, text)):
        raw = value.strip()
        if raw:
            _add_phone(row, f, raw, label=label, types=types, preferred=preferred and index == 0)


def _add_phone(
    row: Row, f: Field, raw: str, *, label: str | None, types: tuple[str, ...], preferred: bool
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


def _read_emails(row: Row, f: Field, text: str, cells: Sequence[str]) -> None:
    label, types, preferred = _kind_of(f, cells)
    for index, value in enumerate(_values(f, text)):
        address = one_line(value)
        if address:
            row.emails.append(
                {"address": address, "label": label, "types": types, "preferred": preferred and index == 0}
            )


def _read_urls(row: Row, f: Field, text: str, cells: Sequence[str]) -> None:
    row.urls.extend(url for url in map(one_line, _values(f, text)) if url)


def _read_addresses(row: Row, f: Field, text: str, cells: Sequence[str]) -> None:
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


def _read_custom_field(row: Row, f: Field, text: str, cells: Sequence[str]) -> None:
    """Google's ``Custom Field N - Label`` / ``Value``: the label names the field."""
    value = clean_text(text)
    if value.strip():
        row.keep(one_line(_cell(cells, f.label_column)) or "CUSTOM", value)


def _keep(row: Row, f: Field, text: str, cells: Sequence[str]) -> None:
    """A column the model has no field for: kept as a custom field under its header."""
    value = clean_text(text)
    if value.strip() and value.strip().casefold() not in f.placeholders:
        label = _google_label(_cell(cells, f.label_column))[0] if f.label_column >= 0 else None
        row.keep(f.name, value, label)


_READERS: Final[dict[Kind, _Reader]] = {
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
