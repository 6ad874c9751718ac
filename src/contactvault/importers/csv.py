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
row's values (``_csv_rows``, by the plan made from the header and its layout, ``_csv_layouts``) -> a
Contact. Memory follows the batch size, not the file size.
"""

from __future__ import annotations

import csv
import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from contactvault.errors import ImportFailed
from contactvault.importers._csv_layouts import Layout, detect_layout
from contactvault.importers._csv_rows import Field, Row, RowError, plan_fields
from contactvault.importers._gc import paused_gc
from contactvault.importers._values import clean_text, fallback_display_name, validation_fields
from contactvault.importers.result import ImportBatch, ImportIssue, ImportResult, IssueCode
from contactvault.importers.source import Source, iter_lines, source_name
from contactvault.importers.vcard import DEFAULT_BATCH_SIZE
from contactvault.models import Contact
from contactvault.phones import check_region

__all__ = ["import_csv", "iter_csv"]

_DELIMITERS = (",", ";", "\t")  # Google and Outlook; Excel in a German locale; "tab separated" exports
_QUOTED = re.compile(r'"[^"]*"')


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


# --- the file: header, rows -----------------------------------------------------------------------------


@dataclass(slots=True)
class _CsvFile:
    """An opened CSV source: its layout and plan, and the reader positioned after the header row."""

    name: str
    region: str | None
    layout: Layout
    plan: tuple[Field, ...]
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


def _check_text(line: str, decoder: _Decoder, name: str, vcard: str) -> None:
    """Raise ImportFailed, naming only the file, when the first line shows it is not a CSV file.

    ``vcard`` is what the message says of a vCard file.
    """
    if decoder.bad or "\x00" in line:
        raise ImportFailed(f"{name}: not a CSV file (binary data)")
    body = line.rstrip("\n")
    if not body.isprintable() and any(unicodedata.category(ch) == "Cc" and ch != "\t" for ch in body):
        raise ImportFailed(f"{name}: not a CSV file (binary data)")
    if line.lstrip().upper().startswith("BEGIN:VCARD"):
        raise ImportFailed(f"{name}: {vcard}")


def header_row(
    decoder: _Decoder, name: str, *, vcard: str = "not a CSV file but a vCard file (use import_vcards)"
) -> tuple[int, Iterator[list[str]], list[str]]:
    """The first non-blank line read as a CSV header: its line number, the reader after it, its cells.

    ``ImportFailed``, naming only the file, for a file that is no CSV (no header row, binary data, a vCard
    file, a header cell too long, a quote never closed); ``vcard`` is what the message says of a vCard.
    The consent CSV reader (``contactvault.consent.bulk``) opens its files with it too.
    """
    first = next((line for line in decoder if line.strip()), None)
    if first is None:
        raise ImportFailed(f"{name}: not a CSV file (no header row)")
    _check_text(first, decoder, name, vcard)
    line = decoder.lineno
    reader = csv.reader(itertools.chain((first,), decoder), delimiter=_sniff(first))
    try:
        cells = next(reader)
    except csv.Error:
        raise ImportFailed(f"{name}: not a CSV file (a header cell is too long)") from None
    if decoder.exhausted:
        raise ImportFailed(f"{name}: not a CSV file (a quote in the header row is never closed)")
    return line, reader, cells


def _open(source: Source, region: str | None) -> _CsvFile:
    """Read the header row and recognise the layout; raises ImportFailed or UnknownCsvLayout."""
    name = source_name(source)
    decoder = _Decoder(iter_lines(source))
    header_line, reader, header = header_row(decoder, name)
    if not any(cell.strip() for cell in header):
        raise ImportFailed(f"{name}: not a CSV file (the header row is empty)")
    layout = detect_layout(header, name)
    plan = plan_fields(header, layout)
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


def _read_cells(raw: _RawRow, file: _CsvFile) -> Row:
    """Gather one row's values by the plan; cells beyond the header are kept under their position."""
    row = Row(raw.start, file.name, file.region)
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


def _display_name(row: Row) -> str:
    if row.display:
        return row.display
    name, fallback = fallback_display_name(row.name, row.nickname, row.organisation, row.emails, row.phones)
    if fallback is not None:
        row.warn("no_name", f"no name; its {fallback} is used as display name")
    if not name:
        raise row.fail("empty_card", "it has no name, phone number or e-mail address")
    return name


def _to_contact(row: Row, file: _CsvFile, now: datetime) -> Contact:
    """Validate the gathered values as one Contact; raises RowError, never a value in a message."""
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
    except RowError as exc:
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
