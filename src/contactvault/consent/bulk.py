"""Consents in bulk from a paper-form or web-form export: a CSV file read all or nothing (issue 16, item 3).

This module only reads and validates; it stores nothing. Recording the rows in a vault (nothing at all when
any row is rejected) and the ``contactvault consent import`` command are the caller's work.

The format
----------

One header row, then one row per consent. Header names are case-insensitive, spaces around them are
ignored, the columns may come in any order:

==================  =========  ==========================================================================
column              required   what it holds
==================  =========  ==========================================================================
``phone``           one of     the person's number; normalised to E.164 with ``default_region`` for
                    these two  numbers without a country code (``None``: international numbers only)
``contact``                    or the contact's id: its first 8 to 32 hex digits, as the CLI prints
                               short ids (hyphens of a full id allowed); resolving it is the caller's
``purpose``         yes        the purpose, by the model's rule: lower-case letters, digits, ``_ . -``,
                               starting with a letter or digit, at most 100 characters
``granted_at``      yes        ISO 8601 with a zone (``2025-03-01T14:30:00+01:00``, ``...Z``), or a date
                               (``2025-03-01``, also ``01.03.2025`` as a German spreadsheet writes it),
                               which means 00:00 in ``timezone`` (default UTC); not more than a day in
                               the future; a time without a zone is refused (which zone would it be?)
``channel``         yes        ``written``, ``email``, ``web_form``, ``in_person``, ``phone``,
                               ``messenger`` or ``other``
``notice_id``       yes        the privacy notice the person was shown (1 to 200 characters)
``notice_version``  yes        its version (1 to 50 characters)
``evidence``        no         where the evidence is (a form's scan, a submission id), up to 1,000
                               characters; the column may be missing, a cell may be empty
==================  =========  ==========================================================================

``purpose`` and ``channel`` are compared in lower case (``Marketing`` is ``marketing``); spaces around
every value are ignored. ``phone`` and ``contact`` are alternatives: a file has exactly one of them.

The rules
---------

- **The file as a whole** is read as the contacts CSV importer reads it, with its own code
  (:mod:`contactvault.importers.csv` and :mod:`contactvault.importers.source`): UTF-8 with or without byte
  order mark, UTF-16/32, or Windows-1252 when the first non-ASCII line is not UTF-8; CRLF, LF or CR line
  ends; the delimiter (comma, semicolon or tab) taken from the header line, so a German Excel's
  ``;``-separated export with a BOM reads as it is; blank lines before the header skipped; a cell over the
  csv module's size limit rejects its row.
- **File-level problems raise** ``contactvault.errors.ImportFailed``: an empty file, no header row, binary
  data, a vCard file, a path that cannot be read, a header without a ``phone`` or ``contact`` column, with
  both, with a required column missing, with a column twice, or with **unknown columns**. The message
  names the file (never its folder) and the missing columns by name; unknown columns are named by their
  position only, since a file without a header row has a person's data where the header should be.
- **Unknown columns are refused, not ignored.** A column this reader does not know may carry something
  the person relied on (``withdrawn_at``, ``only_until``), or be a misspelt ``evidence``: ignoring it would
  record consents that say less than the form did. Remove such columns (a name, an e-mail address) from
  the export first; that is also data minimisation. Columns with an empty header are allowed as long as
  they are empty (spreadsheets add them), and so are empty cells beyond the header's width.
- **Every non-blank row becomes exactly one of**: a `ConsentRow`, or one or more `RejectedRow` entries for
  its line (one per problem, so a file can be fixed in one pass). Rows whose cells are all blank are
  skipped (spreadsheets write ``;;;;;;`` lines). A row with a non-empty cell beyond the header's width,
  an unclosed quote, a line not valid in the file's encoding or a cell over the size limit is rejected as
  a whole (field ``row``). A row with fewer cells than the header reads the missing ones as empty.
- **Line numbers** are the 1-based physical line where the row starts, as the CSV importer reports them
  (a quoted cell may hold line breaks; the row keeps its first line).
- **Duplicates**: a valid row with the same person (number or contact id), purpose and ``granted_at`` (the
  same instant) as an earlier valid row is rejected as ``duplicate of line N``.
- **No personal data in a rejection**: a `RejectedRow` names the line, the column and the problem, never
  the value: not the number, not the evidence, not the purpose or channel that was given.
- **All or nothing** is the caller's part: `BulkConsents.ok` says whether every row was valid; a caller
  records ``rows`` only then.

Each row's consent is a `contactvault.models.ConsentRecord`, validated by the model itself. Its
``recorded_by`` is `RECORDED_BY_PLACEHOLDER`: who recorded a consent is never the file's to say, and the
vault replaces it with the user whose key slot opened it when the record is written (see
`contactvault.changes.attributed`).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from contactvault.errors import ImportFailed
from contactvault.importers._values import PHONE_PROBLEMS, clean_text

# The CSV importer's file reading (decoder, first-line check, delimiter sniffing) is used as it is, not
# copied: a consent file reads exactly as a contacts file does.
from contactvault.importers.csv import _Decoder, header_row
from contactvault.importers.source import iter_lines, source_name
from contactvault.models import ConsentRecord
from contactvault.phones import check_region, parse_number

__all__ = [
    "COLUMNS",
    "RECORDED_BY_PLACEHOLDER",
    "BulkConsents",
    "ConsentRow",
    "RejectedRow",
    "parse_consents",
    "read_consents",
]

RECORDED_BY_PLACEHOLDER: Final = "(set by the vault)"
"""The ``recorded_by`` of every consent read here; the vault replaces it with its user at write time."""

_WHO: Final = ("phone", "contact")
_REQUIRED: Final = ("purpose", "granted_at", "channel", "notice_id", "notice_version")
COLUMNS: Final = (*_WHO, *_REQUIRED, "evidence")
"""Every column a consent CSV may have (``phone`` or ``contact``; ``evidence`` optional)."""

_ROW: Final = "row"  # the field of a rejection that concerns the row as a whole
_FUTURE: Final = timedelta(days=1)
_MAX_TIME_TEXT: Final = 64
_CONTACT_REF = re.compile(r"[0-9a-f]{8,32}")
_GERMAN_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_SINGLE_LINE = ("purpose", "channel", "notice_id", "notice_version")

# Why the model refused a value; never the value itself. Keys are the model's fields.
_MODEL_REASONS: Final = {
    "purpose": (
        "not a purpose: lower-case letters, digits, '_', '.' and '-', starting with a letter or digit, "
        "at most 100 characters"
    ),
    "channel": "not a consent channel (written, email, web_form, in_person, phone, messenger or other)",
    "notice_id": "longer than 200 characters",
    "notice_version": "longer than 50 characters",
    "evidence_ref": "longer than 1,000 characters",
    "granted_at": "not a date or a time with a zone",
}
# Stand-ins for values already rejected, so that the model still checks the others of the same row.
_STAND_INS: Final[dict[str, Any]] = {
    "purpose": "x",
    "granted_at": datetime(2000, 1, 1, tzinfo=UTC),
    "channel": "other",
    "notice_id": "x",
    "notice_version": "x",
    "evidence_ref": None,
}


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """One problem of one row: its line, the column (``row`` for the row as a whole) and why; no value."""

    line: int
    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class ConsentRow:
    """A valid row: its line, the person (``phone_e164`` or ``contact_ref``, exactly one) and the consent.

    ``contact_ref`` is lower-case hex without hyphens (8 to 32 digits), for the caller to resolve to one
    contact. The consent's ``recorded_by`` is `RECORDED_BY_PLACEHOLDER` until a vault writes it.
    """

    line: int
    consent: ConsentRecord
    phone_e164: str | None = field(default=None, repr=False)
    contact_ref: str | None = None

    def __post_init__(self) -> None:
        if (self.phone_e164 is None) == (self.contact_ref is None):
            raise ValueError("a consent row names the person by phone_e164 or by contact_ref, not both")


@dataclass(frozen=True, slots=True)
class BulkConsents:
    """What a consent CSV holds: the valid rows and the rejections, both in line order."""

    rows: tuple[ConsentRow, ...]
    rejected: tuple[RejectedRow, ...]

    @property
    def ok(self) -> bool:
        """Whether every row is valid, so that the rows may be recorded (all or nothing)."""
        return not self.rejected

    @property
    def rejected_lines(self) -> tuple[int, ...]:
        """The lines of the rejected rows, each once, in order."""
        return tuple(dict.fromkeys(r.line for r in self.rejected))


# --- the file: header ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Header:
    columns: dict[str, int]  # known column -> its index
    who: str  # "phone" or "contact"
    width: int
    unnamed: tuple[int, ...]  # columns with an empty header: their cells must be empty


def _positions(indices: Sequence[int]) -> str:
    shown = ", ".join(str(i + 1) for i in indices[:10])
    return shown + (", ..." if len(indices) > 10 else "")


def _read_header(cells: Sequence[str], name: str) -> _Header:
    """The known columns of a header row; ImportFailed naming missing columns, unknown ones by position."""
    columns: dict[str, int] = {}
    unknown: list[int] = []
    unnamed: list[int] = []
    for index, cell in enumerate(cells):
        key = cell.strip().lstrip("\ufeff").strip().lower()
        if not key:
            unnamed.append(index)
        elif key not in COLUMNS:
            unknown.append(index)
        elif key in columns:
            raise ImportFailed(f"{name}: not a consent CSV file; the column {key} appears twice")
        else:
            columns[key] = index
    if len(unnamed) == len(cells):
        raise ImportFailed(f"{name}: not a CSV file (the header row is empty)")
    missing = [key for key in _REQUIRED if key not in columns]
    if not any(key in columns for key in _WHO):
        missing.insert(0, "phone (or contact)")
    problems = []
    if missing:
        problems.append(f"missing columns: {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown columns at positions {_positions(unknown)} (remove them)")
    if problems:
        raise ImportFailed(f"{name}: not a consent CSV file; {'; '.join(problems)}")
    if all(key in columns for key in _WHO):
        raise ImportFailed(f"{name}: not a consent CSV file; it has both a phone and a contact column")
    who = "phone" if "phone" in columns else "contact"
    return _Header(columns, who, len(cells), tuple(unnamed))


def _open(lines: Iterator[bytes], name: str) -> tuple[_Header, _Decoder, Iterator[list[str]]]:
    """The header and the reader positioned after it, as the CSV importer opens a file."""
    decoder = _Decoder(lines)
    _, reader, cells = header_row(decoder, name, vcard="not a consent CSV file but a vCard file")
    return _read_header(cells, name), decoder, reader


def _records(
    decoder: _Decoder, reader: Iterator[list[str]]
) -> Iterator[tuple[int, Sequence[str], str | None]]:
    """The data rows: start line, cells, and why the row cannot be read at all (or None); blank rows skipped.

    The loop of the CSV importer's ``_raw_rows``, which is bound to its contact layouts.
    """
    while True:
        start = decoder.lineno + 1
        problem: str | None = None
        try:
            cells: Sequence[str] = next(reader)
        except StopIteration:
            return
        except csv.Error:  # with LF-terminated lines, only a cell over the size limit
            cells, problem = (), f"a cell holds more than {csv.field_size_limit()} characters"
        bad, decoder.bad = decoder.bad, []
        if decoder.exhausted:  # the csv module ends a quoted cell at the end of the input without a word
            problem = f"a quote in it is never closed (lines {start}-{decoder.lineno} were read as one row)"
        elif bad:
            encoding = "UTF-8" if decoder.encoding == "utf-8" else "Windows-1252"
            problem = f"line {bad[0]} is not valid {encoding} text"
        if problem is not None or any(cell.strip() for cell in cells):
            yield start, cells, problem


# --- a row's values ---------------------------------------------------------------------------------------


def _granted_at(text: str, zone: tzinfo, now: datetime) -> datetime | str:
    """The moment a consent was given, or why the text is not one."""
    if len(text) > _MAX_TIME_TEXT:
        return "not a date or a time with a zone in ISO 8601"
    moment: datetime | None = None
    german = _GERMAN_DATE.fullmatch(text)
    try:
        if german:
            day, month, year = (int(part) for part in german.groups())
            moment = datetime.combine(date(year, month, day), time(), tzinfo=zone)
        elif len(text) <= 10:  # 2025-03-01, 20250301, 2025-W09-6: a date
            moment = datetime.combine(date.fromisoformat(text), time(), tzinfo=zone)
        else:
            moment = datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        return "not a date (YYYY-MM-DD) or a time with a zone in ISO 8601"
    if moment.utcoffset() is None:
        return "a time without a zone: add one (Z, +01:00) or give the date only"
    if moment - now > _FUTURE:
        return "in the future"
    return moment


def _person(text: str, who: str, region: str | None) -> tuple[str | None, str]:
    """``(value, "")`` for a valid number or contact id, ``(None, reason)`` otherwise."""
    if who == "contact":
        compact = text.replace("-", "").lower()
        if _CONTACT_REF.fullmatch(compact):
            return compact, ""
        return None, "not a contact id (the first 8 to 32 hex digits of it, as the CLI prints them)"
    info = parse_number(text, region)
    if info.e164 is None:
        return None, PHONE_PROBLEMS.get(info.problem or "", "not a phone number")
    if info.extension:
        return None, "a number with an extension; give the number itself"
    return info.e164, ""


@dataclass(slots=True)
class _Reader:
    """What every row of one file is read with."""

    header: _Header
    region: str | None
    zone: tzinfo
    now: datetime
    seen: dict[tuple[str, str, datetime], int] = field(default_factory=dict)

    def cell(self, cells: Sequence[str], key: str) -> str:
        index = self.header.columns.get(key)
        return cells[index] if index is not None and index < len(cells) else ""

    def row(self, line: int, cells: Sequence[str]) -> ConsentRow | list[RejectedRow]:
        """One row as a consent, or every problem it has."""
        problems: list[tuple[str, str]] = []
        header = self.header
        beyond = [i for i in range(header.width, len(cells)) if cells[i].strip()]
        if beyond:
            problems.append((_ROW, f"{len(cells)} cells where the header has {header.width}"))
        if stray := [i for i in header.unnamed if i < len(cells) and cells[i].strip()]:
            problems.append((_ROW, f"a value in column {stray[0] + 1}, which has no header"))
        person: str | None = None
        if who := self.cell(cells, header.who).strip():
            person, why = _person(who, header.who, self.region)
            if person is None:
                problems.append((header.who, why))
        else:
            problems.append((header.who, "missing"))
        values: dict[str, Any] = {}
        bad: set[str] = set()
        for key in _REQUIRED:
            text = self.cell(cells, key).strip()
            reason = ""
            if not text:
                reason = "missing"
            elif key in _SINGLE_LINE and not text.isprintable():
                reason = "holds a line break or a control character"
            elif key == "granted_at":
                moment = _granted_at(text, self.zone, self.now)
                reason = moment if isinstance(moment, str) else ""
                values[key] = moment
            else:
                values[key] = text.lower() if key in ("purpose", "channel") else text
            if reason:
                problems.append((key, reason))
                bad.add(key)
        evidence = clean_text(self.cell(cells, "evidence")).strip()
        values["evidence_ref"] = evidence or None
        record: ConsentRecord | None = None
        try:
            data = {**values, **{key: _STAND_INS[key] for key in bad}, "recorded_by": RECORDED_BY_PLACEHOLDER}
            record = ConsentRecord.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors(include_input=False, include_url=False, include_context=False):
                key = str(error["loc"][0]) if error["loc"] else ""
                column = "evidence" if key == "evidence_ref" else key
                if key not in bad and column in COLUMNS:
                    problems.append((column, _MODEL_REASONS.get(key, "not valid")))
                    bad.add(key)
        if problems or record is None or person is None:
            order = {name: i for i, name in enumerate((_ROW, *COLUMNS))}
            problems.sort(key=lambda p: order.get(p[0], len(order)))
            problems = list(dict.fromkeys(problems)) or [(_ROW, "not valid")]
            return [RejectedRow(line, column, reason) for column, reason in problems]
        key3 = (person, record.purpose, record.granted_at)
        if (first := self.seen.get(key3)) is not None:
            return [RejectedRow(line, _ROW, f"duplicate of line {first}")]
        self.seen[key3] = line
        if header.who == "phone":
            return ConsentRow(line, record, phone_e164=person)
        return ConsentRow(line, record, contact_ref=person)


# --- the API ----------------------------------------------------------------------------------------------


def _read(lines: Iterator[bytes], name: str, default_region: str | None, timezone: tzinfo) -> BulkConsents:
    if not isinstance(timezone, tzinfo):
        raise TypeError("timezone must be a tzinfo, such as datetime.UTC or ZoneInfo('Europe/Berlin')")
    region = check_region(default_region)
    header, decoder, reader = _open(lines, name)
    rows: list[ConsentRow] = []
    rejected: list[RejectedRow] = []
    read = _Reader(header, region, timezone, datetime.now(UTC))
    for line, cells, problem in _records(decoder, reader):
        if problem is not None:
            rejected.append(RejectedRow(line, _ROW, problem))
            continue
        try:
            result = read.row(line, cells)
        except Exception as exc:  # noqa: BLE001  (one row's bug must not lose the row silently)
            result = [RejectedRow(line, _ROW, f"internal error ({type(exc).__name__}); please report it")]
        if isinstance(result, ConsentRow):
            rows.append(result)
        else:
            rejected.extend(result)
    return BulkConsents(tuple(rows), tuple(rejected))


def read_consents(
    path: str | Path, *, default_region: str | None = None, timezone: tzinfo = UTC
) -> BulkConsents:
    """Read a consent CSV file (see the module's description for the format and the rules).

    ``default_region`` is the region for numbers without a country code (``"DE"``), or ``None`` to read
    only international numbers; ``timezone`` is where a date without a time starts (00:00 there).
    Rejected rows are reported in the result, never raised. Raises ``ImportFailed`` when the file as a
    whole cannot be read as a consent CSV (naming the file and the missing columns, never its content),
    ``InvalidRegion`` for an unknown ``default_region`` and ``TypeError`` for a ``timezone`` that is not a
    ``tzinfo``.
    """
    source = Path(path)  # always a path: a name is never read as the file's text
    return _read(iter_lines(source), source_name(source), default_region, timezone)


def parse_consents(
    data: str | bytes,
    *,
    name: str = "<stdin>",
    default_region: str | None = None,
    timezone: tzinfo = UTC,
) -> BulkConsents:
    """Read a consent CSV from its bytes or text (standard input, an upload); ``name`` is for messages.

    Otherwise as `read_consents`: the same format, rules and errors.
    """
    raw = data.encode("utf-8", errors="surrogatepass") if isinstance(data, str) else bytes(data)
    return _read(iter_lines(raw), name, default_region, timezone)
