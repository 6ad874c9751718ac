r"""A tolerant vCard reader for the address books that phones and programs really export.

It reads vCard 2.1, 3.0 and 4.0 card by card, so that one broken card costs only itself: a card without
``END:VCARD``, with bad quoted-printable, with bytes that are not valid in its character set, or with a line
that is not a property becomes an ``ImportIssue`` naming its line, and every other card
still imports. Photos, logos, sounds and keys are dropped unread and never stored.

The quirks it handles, each with a test, are listed in ``docs/import.md``: byte order marks; CRLF, LF or
CR; folding; 2.1 quoted-printable with soft line breaks and ``CHARSET`` before or after ``ENCODING``;
``itemN.`` groups with ``X-ABLabel`` (Apple's ``_$!<Mobile>!$_`` unwrapped); lower-case, repeated and bare
2.1 type parameters; unescaped commas and semicolons in single-valued text; ``\,`` ``\;`` ``\n``
escapes; vCard 4 ``tel:`` URIs with ``;ext=``, ``PREF=1`` and ``ALTID``; birthdays without a year; ``N``
without ``FN`` and ``FN`` without ``N``; unknown properties kept as custom fields.

Data flows one way: blocks of lines -> cards -> properties (unfolded) -> a card's values -> a Contact.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import functools
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Union

from pydantic import ValidationError

from contactvault.errors import ImportFailed
from contactvault.importers._gc import paused_gc
from contactvault.importers._numbers import NumberJob, number_service
from contactvault.importers._values import (
    PHONE_PROBLEMS,
    clean_text,
    fallback_display_name,
    one_line,
    parse_birthday,
    validation_fields,
)
from contactvault.importers.result import ImportBatch, ImportIssue, ImportResult, IssueCode
from contactvault.importers.source import Source, iter_blocks, source_name
from contactvault.models import Contact
from contactvault.phones import MAX_RAW_LENGTH, NumberInfo, check_region

__all__ = ["CardView", "import_vcards", "iter_card_views", "iter_vcards"]

DEFAULT_BATCH_SIZE = 1_000
MAX_VALUE_BYTES = 1 << 20
"""A kept value longer than this (after unfolding) makes its card an issue: no address book needs it."""

# Binary media: dropped unread, whatever their encoding (data, URI or base64). They are never stored.
_DROPPED = frozenset({"PHOTO", "LOGO", "SOUND", "KEY"})
# Structure and bookkeeping that carry nothing about the person.
_IGNORED = frozenset(
    {"BEGIN", "END", "VERSION", "PRODID", "REV", "PROFILE", "NAME", "SOURCE", "CLIENTPIDMAP"}
)
# Property names that messages may show as they are; other names are shown as "a property".
_KNOWN = frozenset(
    {
        "FN", "N", "NICKNAME", "TEL", "EMAIL", "ADR", "LABEL", "BDAY", "ANNIVERSARY", "ORG",
        "TITLE", "ROLE", "NOTE", "URL", "CATEGORIES", "UID", "AGENT", "GEO", "TZ", "IMPP",
        "GENDER", "LANG", "RELATED", "KIND", "MEMBER", "SORT-STRING", "MAILER", "CLASS",
        "FBURL", "CALURI", "CALADRURI", "XML", "X-ABLABEL",
    }
    | _DROPPED
    | _IGNORED
)  # fmt: skip
_PROPERTY_NAME = re.compile(r"[A-Za-z0-9_-]{1,200}")
_BASE64_LINE = re.compile(rb"[A-Za-z0-9+/=]+")
_BAD_QP = re.compile(rb"=(?![0-9A-Fa-f]{2})")
_APPLE_LABEL = re.compile(r"_\$!<(.*)>!\$_", re.DOTALL)
_ENCODING_WORDS = {"QUOTED-PRINTABLE": "Q", "BASE64": "B", "B": "B", "8BIT": "", "7BIT": ""}
_RFC6868 = {"^n": "\n", "^N": "\n", "^^": "^", "^'": '"'}


class _CardError(Exception):
    """A card that cannot be imported; carries an issue code, a line and a message without values."""

    def __init__(self, code: IssueCode, line: int, message: str) -> None:
        super().__init__(message)
        self.code: IssueCode = code
        self.line = line
        self.message = message


@dataclass(slots=True)
class _RawCard:
    """The physical lines after a BEGIN:VCARD line, up to its END:VCARD.

    Line ``i`` of ``lines`` is line ``start + 1 + i`` of the source. The lines of a nested 2.1 AGENT card
    are replaced by a single space (an empty continuation), which keeps that numbering.
    """

    start: int
    lines: list[bytes] = field(default_factory=list)
    nested: list[int] = field(default_factory=list)  # lines where AGENT cards began


@dataclass(slots=True)
class _Open:
    """A card whose END:VCARD the splitter has not yet seen, or a 2.1 AGENT card that ended inside one.

    Its lines are in the splitter's buffer (the lines after the outermost open card's BEGIN:VCARD), from
    index ``first`` (the line after its own BEGIN:VCARD) to ``end`` (its END:VCARD, once seen). ``inner``
    holds the AGENT cards that ended inside it: skipped if it ends too, read as cards of their own if not.
    """

    start: int  # the line of its BEGIN:VCARD
    first: int
    end: int = -1
    inner: list[_Open] = field(default_factory=list)


# --- blocks of lines -> cards ---------------------------------------------------------------------------


def _is_marker(line: bytes, marker: bytes) -> bool:
    return line.strip().upper() == marker


def _opens_agent(line: bytes) -> bool:
    """Whether a line is a vCard 2.1 ``AGENT`` property whose card follows on the next lines."""
    head, colon, value = line.partition(b":")
    return (
        bool(colon)
        and head.split(b";", 1)[0].split(b".")[-1].strip().upper() == b"AGENT"
        and not value.strip()
    )


def _closed(card: _Open, buf: list[bytes], stop: int) -> _RawCard:
    """A card that ended: its lines ``buf[card.first:stop]``, with those of its AGENT cards blanked out."""
    lines = buf if card.first == 0 and stop == len(buf) else buf[card.first : stop]
    for inner in card.inner:  # from its BEGIN:VCARD to its END:VCARD, a space for each line
        begin, after = inner.first - 1 - card.first, inner.end + 1 - card.first
        lines[begin:after] = [b" "] * (after - begin)
    return _RawCard(card.start, lines, [inner.start for inner in card.inner])


def _note_outside(outside: list[int], line: int) -> None:
    """Note a line of text outside any card in ``outside``: the first and the last line of the run."""
    if len(outside) < 2:
        outside.append(line)
    else:
        outside[-1] = line


def _outside_issue(outside: list[int], source: str) -> ImportIssue:
    """The issue for a run of text outside any card; empties ``outside`` for the next run."""
    first, last = outside[0], outside[-1]
    outside.clear()
    where = f"line {first}" if first == last else f"lines {first}-{last}"
    message = f"{where}: text outside any card (no BEGIN:VCARD before it); not imported"
    return ImportIssue(first, message, "outside_card", "error", source)


def _unclosed(
    stack: list[_Open], buf: list[bytes], outside: list[int], source: str, line: int, *, ended: bool
) -> Iterator[_RawCard | ImportIssue]:
    """The open cards do not end: each is a ``not_closed`` issue, and what follows is read again.

    ``stack`` holds the open card, then the AGENT card open inside it, and so on; ``line`` is the line of a
    BEGIN:VCARD that no AGENT line announces or, if ``ended``, the input's last line. The lines from a
    card's first AGENT card on are read again as top-level input, with their own line numbers: an AGENT
    card that ended is a card of its own (with its own AGENT cards skipped), the open card's lines between
    them are text outside any card (noted in ``outside``), and an AGENT card still open does not end
    either. This gives what a second reading of those lines would, but each line is looked at once more at
    most, however deep the open cards nest: linear time, also for a file of cards each cut off after an
    AGENT line.
    """
    base = stack[0].start + 1  # buf[i] is line base + i
    for depth, card in enumerate(stack):
        if outside:
            yield _outside_issue(outside, source)
        following = stack[depth + 1] if depth + 1 < len(stack) else None
        resume = card.inner[0] if card.inner else following
        if resume is not None:
            where = f"before line {resume.start}"
        else:
            where = f"(the input ends at line {line})" if ended else f"before line {line}"
        message = f"card at line {card.start} has no END:VCARD {where}; not imported"
        yield ImportIssue(card.start, message, "not_closed", "error", source)
        if resume is None:
            break  # the innermost open card, and it holds no AGENT card
        i = resume.first - 1
        for inner in card.inner:
            for j in range(i, inner.first - 1):
                if buf[j].strip():
                    _note_outside(outside, base + j)
            if outside:
                yield _outside_issue(outside, source)
            yield _closed(inner, buf, inner.end)
            i = inner.end + 1
        for j in range(i, following.first - 1 if following is not None else len(buf)):
            if buf[j].strip():
                _note_outside(outside, base + j)


def _split_cards(blocks: Iterable[bytes], source: str) -> Iterator[_RawCard | ImportIssue]:
    """Cut blocks of lines into cards; report text outside cards and cards that never end.

    A vCard 2.1 ``AGENT`` line with an empty value announces a card inside the card, which is skipped when
    both end. A card that does not end (a BEGIN:VCARD that no AGENT line announces, in it or in an AGENT
    card open in it, or the end of the input, comes first) is one ``not_closed`` issue, and the lines from
    its first AGENT card on are read again as top-level input (see ``_unclosed``): a card never takes the
    cards after it down with it.
    Only the lines of the one open card are held. Raises ``ImportFailed`` when the input holds text but
    not a single ``BEGIN:VCARD``.
    """
    stack: list[_Open] = []  # the open card, then the AGENT card open inside it, and so on
    buf: list[bytes] = []  # the lines after the open card's BEGIN:VCARD
    outside: list[int] = []  # first and last line of a run of text outside cards
    seen_card = False
    lineno = 0
    for block in blocks:
        lines = block.split(b"\n")
        lines.pop()  # the empty string after the block's last LF
        for raw in lines:
            lineno += 1
            if raw[:3] == codecs.BOM_UTF8:  # two exports with byte order marks, concatenated
                raw = raw[3:]  # noqa: PLW2901  (the line without its mark is the line)
            first = raw[:1]
            if not stack:
                if first in (b"B", b"b") and _is_marker(raw, b"BEGIN:VCARD"):
                    if outside:
                        yield _outside_issue(outside, source)
                    stack.append(_Open(lineno, 0))
                    seen_card = True
                elif raw.strip():
                    _note_outside(outside, lineno)
                continue
            if first in (b"E", b"e") and _is_marker(raw, b"END:VCARD"):
                if len(stack) > 1:  # an AGENT card ends
                    buf.append(raw)
                    inner = stack.pop()
                    inner.end = len(buf) - 1
                    stack[-1].inner.append(inner)
                else:
                    card = stack.pop()
                    yield _closed(card, buf, len(buf)) if card.inner else _RawCard(card.start, buf)
                    buf = []
                continue
            if first in (b"B", b"b") and _is_marker(raw, b"BEGIN:VCARD"):
                if buf and _opens_agent(buf[-1]):  # the last line of the innermost open card
                    buf.append(raw)
                    stack.append(_Open(lineno, len(buf)))
                    continue
                yield from _unclosed(stack, buf, outside, source, lineno, ended=False)
                if outside:
                    yield _outside_issue(outside, source)
                stack, buf = [_Open(lineno, 0)], []
                continue
            buf.append(raw)
    if stack:
        yield from _unclosed(stack, buf, outside, source, lineno, ended=True)
    if outside:
        if not seen_card:
            raise ImportFailed(f"{source}: not a vCard file (no BEGIN:VCARD line)")
        yield _outside_issue(outside, source)


# --- card -> properties ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Head:
    """The part of a property line before its value: ``group.NAME;params``, parsed once and cached."""

    group: str  # upper case, "" without a group
    name: str  # upper case
    params: dict[str, tuple[str, ...]]  # read-only: heads are shared through the cache
    types: tuple[str, ...]  # TYPE values in lower case, without "pref"
    preferred: bool
    encoding: str  # "Q" (quoted-printable), "B" (base64) or ""
    charset: str  # a Python codec name, or "" for none or an unknown one
    altid: str
    dropped: bool  # photo, logo, sound or key: never read
    qp: bool  # quoted-printable: "=" at the end of a line is a soft line break
    b64: bool  # base64: a 2.1 value may run on over unindented lines


def _head_end(line: bytes) -> int:
    """Index of the colon that ends ``NAME;params``, skipping colons inside quoted parameter values."""
    colon = line.find(b":")
    if colon < 0 or b'"' not in line[:colon]:
        return colon
    quoted = False
    for i, byte in enumerate(line):
        if byte == 0x22:  # "
            quoted = not quoted
        elif byte == 0x3A and not quoted:  # :
            return i
    return -1


def _split_unquoted(text: str, sep: str) -> list[str]:
    if '"' not in text:
        return text.split(sep)
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _param_value(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    if "^" in text:  # RFC 6868 caret escapes
        text = re.sub(r"\^[nN^']", lambda m: _RFC6868[m.group()], text)
    return text


@functools.lru_cache(maxsize=4096)
def _parse_head(head: bytes) -> _Head | None:
    """``group.NAME;params`` -> a _Head, or None if it is not one; bare 2.1 params become TYPE/ENCODING.

    Cached: an address book repeats a few dozen heads (``TEL;type=CELL``) over and over.
    """
    text = head.decode("utf-8", errors="replace")
    tokens = _split_unquoted(text, ";")
    group, _, name = tokens[0].strip().rpartition(".")
    if not _PROPERTY_NAME.fullmatch(name):
        return None
    params: dict[str, list[str]] = {}
    for token in tokens[1:]:
        key, eq, value = token.partition("=")
        key = key.strip().upper()
        if not key:
            continue
        if not eq:  # a bare 2.1 parameter: TEL;CELL;PREF or NOTE;QUOTED-PRINTABLE
            params.setdefault("ENCODING" if key in _ENCODING_WORDS else "TYPE", []).append(key)
        elif key == "TYPE":
            params.setdefault(key, []).extend(v.strip() for v in _param_value(value).split(","))
        else:
            params.setdefault(key, []).append(_param_value(value))
    all_types = tuple(dict.fromkeys(t.lower() for t in params.get("TYPE", ()) if t))
    encoding = params.get("ENCODING", [""])[-1].upper()
    encoding = _ENCODING_WORDS.get(encoding, encoding)
    charset = params.get("CHARSET", [""])[-1].strip()
    if charset:
        try:
            charset = codecs.lookup(charset).name
        except LookupError:
            charset = ""  # an unknown name: UTF-8 is the best guess, and it is checked
    name = name.upper()
    return _Head(
        group=group.strip().upper(),
        name=name,
        params={k: tuple(v) for k, v in params.items()},
        types=tuple(t for t in all_types if t != "pref"),
        preferred="PREF" in params or "pref" in all_types,
        encoding=encoding,
        charset=charset,
        altid=params.get("ALTID", [""])[0],
        dropped=name in _DROPPED,
        qp=encoding == "Q",
        b64=encoding == "B",
    )


_Property = tuple[int, _Head, bytes]
"""One logical (unfolded) line: its line number, its head, its value as raw bytes."""


def _garbage(card: _RawCard, line: int, what: str) -> _CardError:
    return _CardError("garbage", line, f"card at line {card.start} not imported: line {line} {what}")


def _start(card: _RawCard, line: int, text: bytes, colon: int) -> tuple[_Head, bytes]:
    """The head and the first piece of the value of a property line; garbage if it is no property."""
    parsed = _parse_head(text[:colon]) if colon > 0 else None
    if parsed is None:
        raise _garbage(card, line, "is not a vCard property")
    return parsed, text[colon + 1 :]


def _properties(card: _RawCard) -> list[_Property]:
    """Unfold a card into properties.

    Folded lines start with a space or a tab, and a fold may come anywhere, even before the colon. A
    quoted-printable value ending in ``=`` continues on the next line (2.1 soft line break). A 2.1 base64
    value may run on over unindented lines. The values of dropped media are not even gathered.
    """
    props: list[_Property] = []
    head: _Head | None = None
    start = 0
    parts: list[bytes] = []
    b64 = dropped = soft = False
    pending: tuple[int, bytes] | None = None  # a property line whose colon is still to come in a fold
    lineno = card.start
    for raw in card.lines:
        lineno += 1
        first = raw[:1]
        folded = first == b" " or first == b"\t"  # noqa: PLR1714  (faster than a tuple here)
        if pending is not None:
            if not folded:
                raise _garbage(card, pending[0], "is not a vCard property")
            text = pending[1] + raw[1:]
            colon = _head_end(text)
            if colon < 0:
                pending = (pending[0], text)
                continue
            start, pending = pending[0], None
            head, value = _start(card, start, text, colon)
        elif head is not None and soft:  # quoted-printable soft line break: whatever follows goes on
            if not dropped:
                parts[-1] = parts[-1][:-1]
                parts.append(raw)
            soft = raw.endswith(b"=")
            continue
        elif head is not None and folded:
            value = raw[1:]
            if not dropped:
                parts.append(value)
            soft = head.qp and value.endswith(b"=")
            continue
        elif head is not None and b64 and raw and _BASE64_LINE.fullmatch(raw.rstrip()):
            if not dropped:
                parts.append(raw)
            continue
        elif not raw:
            continue
        elif folded:
            raise _garbage(card, lineno, "continues nothing")
        else:
            colon = _head_end(raw)
            if head is not None:
                props.append(_finish(card, start, head, parts))
                head = None
            if colon < 0:
                pending = (lineno, raw)  # unless a fold completes it, this line is garbage
                continue
            start = lineno
            head, value = _start(card, start, raw, colon)
        b64, dropped = head.b64, head.dropped
        parts = [] if dropped else [value]
        soft = head.qp and value.endswith(b"=")
    if pending is not None:
        raise _garbage(card, pending[0], "is not a vCard property")
    if head is not None:
        props.append(_finish(card, start, head, parts))
    return props


def _finish(card: _RawCard, line: int, head: _Head, parts: list[bytes]) -> _Property:
    value = b"".join(parts)
    if len(value) > MAX_VALUE_BYTES:
        raise _CardError(
            "value_too_long",
            line,
            f"card at line {card.start} not imported: line {line} ({_shown(head.name)}) holds "
            f"more than {MAX_VALUE_BYTES} bytes",
        )
    return (line, head, value)


# --- text values ----------------------------------------------------------------------------------------


def _shown(name: str) -> str:
    """A property name as messages may show it: known names as they are, X- names shortened."""
    if name in _KNOWN:
        return name
    if name.startswith("X-"):
        return name[:40]
    return "a property"


def _unescape(text: str) -> str:
    r"""Undo vCard text escapes: ``\n`` ``\N`` ``\,`` ``\;`` ``\\`` ``\:``; ``\x`` before a letter stays."""
    if "\\" not in text:
        return text
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n:
            nxt = text[i + 1]
            if nxt in "nN":
                out.append("\n")
            elif nxt.isalnum():
                out.append(ch + nxt)
            else:
                out.append(nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _split_escaped(text: str, sep: str) -> list[str]:
    """Split at separators that are not escaped with a backslash; components stay escaped."""
    if "\\" not in text:
        return text.split(sep)
    parts: list[str] = []
    start = i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == sep:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts


def _ab_label(text: str) -> str:
    """Apple's ``_$!<Mobile>!$_`` -> ``Mobile``; any other label as it is."""
    match = _APPLE_LABEL.fullmatch(text)
    return match.group(1) if match else text


# --- properties -> a card's values -> Contact -----------------------------------------------------------


@dataclass(slots=True)
class _Card:
    """What one card says, gathered property by property as plain values; validated once at the end."""

    start: int
    source: str
    version: str | None = None
    warnings: list[ImportIssue] = field(default_factory=list)
    dropped: int = 0
    fn: str = ""
    name: dict[str, str] | None = None
    nickname: str = ""
    phones: list[dict[str, Any]] = field(default_factory=list)
    phone_lines: list[int] = field(default_factory=list)
    emails: list[dict[str, Any]] = field(default_factory=list)
    addresses: list[dict[str, Any]] = field(default_factory=list)
    birthday: dict[str, int | None] | None = None
    organisation: str = ""
    department: str = ""
    title: str = ""
    urls: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    custom: list[dict[str, Any]] = field(default_factory=list)
    uid: str | None = None

    def warn(self, line: int, code: IssueCode, message: str) -> None:
        self.warnings.append(ImportIssue(line, message, code, "warning", self.source))

    def fail(self, line: int, code: IssueCode, what: str) -> _CardError:
        return _CardError(code, line, f"card at line {self.start} not imported: {what}")

    def keep(self, name: str, value: str, label: str | None) -> None:
        self.custom.append({"name": name, "value": value, "label": label})


def _decode(line: int, head: _Head, data: bytes, card: _Card) -> str:
    """Bytes of a value -> text: transfer encoding first, then the character set; strict."""
    if not head.encoding and not head.charset:
        try:  # the common case: plain UTF-8
            return clean_text(data.decode("utf-8"))
        except UnicodeDecodeError:
            pass
    where = f"line {line} ({_shown(head.name)})"
    if head.encoding == "Q":
        data = data.removesuffix(b"=")
        if _BAD_QP.search(data):
            raise card.fail(line, "bad_quoted_printable", f"{where} has bad quoted-printable")
        data = binascii.a2b_qp(data)
    elif head.encoding == "B":
        try:
            data = base64.b64decode(data + b"=" * (-len(data) % 4))
        except (binascii.Error, ValueError):
            raise card.fail(line, "bad_encoding", f"{where} has bad base64") from None
    try:
        return clean_text(data.decode(head.charset or "utf-8"))
    except UnicodeDecodeError:
        pass
    if not head.charset and card.version == "2.1":
        # vCard 2.1 names no default character set; Windows programs write their code page.
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            pass
        else:
            message = f"{where}: not UTF-8 and no CHARSET given; read as Windows-1252"
            card.warn(line, "assumed_charset", message)
            return clean_text(text)
    charset = (head.charset or "utf-8").upper()
    raise card.fail(line, "bad_encoding", f"{where} is not valid {charset} text")


_Entry = Union["_Card", ImportIssue]
"""A card read but not finished (numbers pending), or the issue it became."""

_Handler = Callable[["_Card", int, _Head, str, "str | None"], None]


def _tel(card: _Card, line: int, head: _Head, text: str, label: str | None) -> None:
    raw = text.strip()
    if not raw:
        return
    if len(raw) > MAX_RAW_LENGTH:
        card.warn(line, "invalid_number", f"line {line} (TEL): too long for a number; kept as text")
        card.keep("TEL", raw, label)
        return
    # Normalised later, for the whole batch at once (see _numbers.py); the line is kept for warnings.
    card.phones.append({"raw": raw, "label": label, "types": head.types, "preferred": head.preferred})
    card.phone_lines.append(line)


def _apply_numbers(card: _Card, answers: dict[str, NumberInfo]) -> None:
    """Fill in each phone's E.164 form, region, kind and extension, and warn about the invalid ones."""
    for phone, line in zip(card.phones, card.phone_lines, strict=True):
        info = answers[phone["raw"]]
        phone.update(
            e164=info.e164,
            region=info.region,
            kind=info.kind,
            extension=info.extension,
            problem=info.problem,
        )
        if info.problem is not None:
            why = PHONE_PROBLEMS[info.problem]
            card.warn(line, "invalid_number", f"line {line} (TEL): {why}; kept as typed, without E.164")


def _fn(card: _Card, line: int, head: _Head, text: str, label: str | None) -> None:
    if not card.fn:
        card.fn = one_line(_unescape(text))


def _n(card: _Card, line: int, head: _Head, text: str, label: str | None) -> None:
    if card.name is not None:
        return
    parts = [one_line(_unescape(p)) for p in _split_escaped(text, ";")]
    parts += [""] * (5 - len(parts))
    card.name = {
        "family": parts[0],
        "given": parts[1],
        "additional": parts[2],
        "prefixes": parts[3],
        "suffixes": " ".join(p for p in parts[4:] if p),
    }


def _email(card: _Card, line: int, head: _Head, text: str, label: str | None) -> None:
    address = one_line(_unescape(text))
    if address:
        card.emails.append(
            {"address": address, "label": label, "types": head.types, "preferred": head.preferred}
        )


def _adr(card: _Card, line: int, head: _Head, text: str, label: str | None) -> None:
    parts = [_unescape(p).strip() for p in _split_escaped(text, ";")]
    parts += [""] * (7 - len(parts))
    if any(parts):
        card.addresses.append(
            {
                "po_box": parts[0],
                "extended": parts[1],
                "street": "\n".join(p for p in parts[2:3] + parts[7:] if p),
                "locality": parts[3],
                "region": parts[4],
                "postal_code": parts[5],
                "country": parts[6],
                "label": label,
                "types": head.types,
                "preferred": head.preferred,
            }
        )


def _org(card: _Card, line: int, head: _Head, text: str, label: str | None) -> None:
    units = [one_line(_unescape(p)) for p in _split_escaped(text, ";")]
    if not any(units):
        return
    if card.organisation or card.department:
        card.keep("ORG", "; ".join(u for u in units if u), label)
        return
    card.organisation = units[0]
    card.department = ", ".join(u for u in units[1:] if u)


def _categories(card: _Card, line: int, head: _Head, text: str, label: str | None) -> None:
    for category in _split_escaped(text, ","):
        name = one_line(_unescape(category))
        if name:
            card.labels.setdefault(name.casefold(), {"name": name})


def _omitted_year(head: _Head) -> int | None:
    """Apple's ``X-APPLE-OMIT-YEAR=1604``: the year written in the date that stands for "no year"."""
    value = head.params.get("X-APPLE-OMIT-YEAR", ("",))[0].strip()
    return int(value) if value.isdigit() and value.isascii() else None


def _bday(card: _Card, line: int, head: _Head, text: str, label: str | None) -> None:
    text = _unescape(text).strip()
    if not text:
        return
    if card.birthday is None:
        card.birthday = parse_birthday(text, _omitted_year(head))
        if card.birthday is not None:
            return
        card.warn(line, "bad_birthday", f"line {line} (BDAY): not a date; kept as text")
    card.keep("BDAY", text, label)


def _single(attribute: str) -> _Handler:
    """A handler for a one-line field: the first value fills it, later ones are kept as custom fields."""

    def handle(card: _Card, line: int, head: _Head, text: str, label: str | None) -> None:
        value = one_line(_unescape(text))
        if not value:
            return
        if getattr(card, attribute):
            card.keep(head.name, value, label)
        else:
            setattr(card, attribute, value)

    return handle


def _note(card: _Card, line: int, head: _Head, text: str, label: str | None) -> None:
    note = _unescape(text)
    if note.strip():
        card.notes.append(note)


def _url(card: _Card, line: int, head: _Head, text: str, label: str | None) -> None:
    url = _unescape(text).strip()
    if url:
        card.urls.append(url)


def _uid(card: _Card, line: int, head: _Head, text: str, label: str | None) -> None:
    card.uid = card.uid or _unescape(text).strip() or None


def _agent(card: _Card, line: int, head: _Head, text: str, label: str | None) -> None:
    if "BEGIN:VCARD" in text.upper():
        card.warn(line, "nested_card", f"line {line} (AGENT): a card inside a card; skipped")
    else:
        _custom(card, line, head, text, label)


def _custom(card: _Card, line: int, head: _Head, text: str, label: str | None) -> None:
    value = _unescape(text)
    if value.strip():
        card.keep(head.name, value, label)


_HANDLERS: dict[str, _Handler] = {
    "TEL": _tel,
    "FN": _fn,
    "N": _n,
    "EMAIL": _email,
    "ADR": _adr,
    "ORG": _org,
    "CATEGORIES": _categories,
    "BDAY": _bday,
    "NICKNAME": _single("nickname"),
    "TITLE": _single("title"),
    "NOTE": _note,
    "URL": _url,
    "UID": _uid,
    "AGENT": _agent,
}


def _read_properties(raw: _RawCard, source: str) -> _Card:
    """Parse one card's properties into a _Card (numbers not yet normalised); raises _CardError."""
    card = _Card(start=raw.start, source=source)
    for line in raw.nested:
        card.warn(line, "nested_card", f"line {line}: a vCard 2.1 AGENT card inside a card; skipped")
    props = _properties(raw)
    group_labels: dict[str, str] = {}
    for line, head, value in props:  # what the other properties depend on
        if head.name == "VERSION":
            card.version = value.decode("ascii", errors="replace").strip()[:20] or None
        elif head.name == "X-ABLABEL" and head.group:
            group_labels[head.group] = _ab_label(_unescape(_decode(line, head, value, card)).strip())
    seen_altids: set[tuple[str, str]] = set()
    for line, head, value in props:
        name = head.name
        if head.dropped:
            card.dropped += 1
            continue
        if name in _IGNORED or name == "X-ABLABEL":
            continue
        if head.altid:
            key = (name, head.altid)
            if key in seen_altids:
                continue  # another representation of a value already read
            seen_altids.add(key)
        text = _decode(line, head, value, card)
        label = group_labels.get(head.group) if head.group else None
        _HANDLERS.get(name, _custom)(card, line, head, text, label)
    return card


def _display_name(card: _Card) -> str:
    if card.fn:
        return card.fn
    name, fallback = fallback_display_name(
        card.name or {}, card.nickname, card.organisation, card.emails, card.phones
    )
    if fallback is not None:
        message = f"card at line {card.start} has no name; its {fallback} is used as display name"
        card.warn(card.start, "no_name", message)
    if not name:
        raise card.fail(card.start, "empty_card", "it has no name, phone number or e-mail address")
    return name


def _to_contact(card: _Card, now: datetime) -> Contact:
    """Validate the gathered values as one Contact; raises _CardError, never a value in a message."""
    data: dict[str, Any] = {
        "display_name": _display_name(card),
        "nickname": card.nickname,
        "phones": card.phones,
        "emails": card.emails,
        "addresses": card.addresses,
        "birthday": card.birthday,
        "organisation": card.organisation,
        "department": card.department,
        "title": card.title,
        "urls": card.urls,
        "notes": card.notes,
        "labels": list(card.labels.values()),
        "custom_fields": card.custom,
        "created_at": now,
        "updated_at": now,
        "source": {
            "format": "vcard",
            "version": card.version,
            "file": None if card.source.startswith("<") else card.source[:255],
            "line": card.start,
            "uid": card.uid[:1000] if card.uid else None,
        },
    }
    if card.name is not None:
        data["name"] = card.name
    try:
        return Contact.model_validate(data)
    except ValidationError as exc:
        raise card.fail(card.start, "invalid_card", f"invalid {validation_fields(exc)}") from None


def _internal_error(line: int, exc: Exception, source: str) -> ImportIssue:
    message = f"card at line {line} not imported: internal error ({type(exc).__name__}); please report it"
    return ImportIssue(line, message, "internal_error", "error", source)


def _read_batch(items: Iterator[_RawCard | ImportIssue], source: str, size: int) -> tuple[list[_Entry], int]:
    """Read up to ``size`` cards: each becomes a _Card (numbers pending) or an error issue, in order."""
    entries: list[_Entry] = []
    count = 0
    for item in items:
        if isinstance(item, ImportIssue):
            entries.append(item)
            count += item.code == "not_closed"
        else:
            count += 1
            try:
                entries.append(_read_properties(item, source))
            except _CardError as exc:
                entries.append(ImportIssue(exc.line, exc.message, exc.code, "error", source))
            except Exception as exc:  # noqa: BLE001  (one card's bug must not cost the other cards)
                entries.append(_internal_error(item.start, exc, source))
        if count >= size:
            break
    return entries, count


def _pending_numbers(entries: list[_Entry]) -> list[str]:
    return list(dict.fromkeys(p["raw"] for e in entries if isinstance(e, _Card) for p in e.phones))


def _finish_batch(entries: list[_Entry], count: int, job: NumberJob, now: datetime) -> ImportBatch:
    """Numbers in, Contacts validated: each card becomes a contact plus its warnings, or one error issue."""
    answers = job()
    batch = ImportBatch(entries=count)
    for entry in entries:
        if isinstance(entry, ImportIssue):
            batch.issues.append(entry)
            continue
        try:
            _apply_numbers(entry, answers)
            contact = _to_contact(entry, now)
        except _CardError as exc:
            batch.issues.append(ImportIssue(exc.line, exc.message, exc.code, "error", entry.source))
            continue
        except Exception as exc:  # noqa: BLE001  (one card's bug must not cost the other cards)
            batch.issues.append(_internal_error(entry.start, exc, entry.source))
            continue
        batch.contacts.append(contact)
        batch.issues.extend(sorted(entry.warnings, key=lambda issue: issue.line))
        batch.dropped += entry.dropped
    return batch


def iter_vcards(
    source: Source, *, default_region: str | None, batch_size: int = DEFAULT_BATCH_SIZE, workers: int = 0
) -> Iterator[ImportBatch]:
    """Read a vCard address book in batches of at most ``batch_size`` cards; memory stays bounded.

    ``default_region`` is the region for numbers without a country code (``"DE"``), or ``None`` to read
    only international numbers; there is no hidden default. ``workers`` > 0 normalises numbers in that many
    helper processes while the next batch is read (see :mod:`contactvault.importers._numbers`). Raises
    ``ImportFailed`` when the source cannot be read or holds no vCard at all; problems
    inside cards become issues.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if workers < 0:
        raise ValueError("workers must be 0 (normalise here) or a positive number of helper processes")
    region = check_region(default_region)  # here, not in the generator: bad arguments fail at the call
    return _batches(source, region, batch_size, workers)


def _batches(source: Source, region: str | None, batch_size: int, workers: int) -> Iterator[ImportBatch]:
    name = source_name(source)
    now = datetime.now(UTC)
    items = _split_cards(iter_blocks(source), name)
    # With helper processes, a two-stage pipeline: batch k's numbers are normalised while batch k+1 is
    # read. Without, each batch is finished at once, so that only one batch is alive at a time.
    in_flight = 1 if workers else 0
    pending: deque[tuple[list[_Entry], int, NumberJob]] = deque()
    with number_service(region, workers) as numbers:
        while True:
            with paused_gc():
                entries, count = _read_batch(items, name, batch_size)
                if entries:
                    pending.append((entries, count, numbers.submit(_pending_numbers(entries))))
                ready = len(pending) > (in_flight if entries else 0)
                done = _finish_batch(*pending.popleft(), now) if ready else None
            if done is not None:
                yield done
            elif not entries:
                return


def import_vcards(
    source: Source, *, default_region: str | None, existing: Iterable[Contact] = (), workers: int = 0
) -> ImportResult:
    """Import a vCard 2.1, 3.0 or 4.0 address book, as phones and programs export it.

    ``source`` is a path, the file's bytes, or its text (see :mod:`contactvault.importers.source`).
    ``default_region`` is the region for numbers without a country code (``"DE"``), or ``None``.
    ``existing`` holds contacts of earlier imports: duplicates against them are reported too.
    ``workers`` > 0 normalises numbers in helper processes, for large files on several cores.

    Every card becomes a contact or an error issue naming its line; nothing is stored anywhere.
    Photos, logos, sounds and keys are dropped unread.
    """
    return ImportResult.collect(
        iter_vcards(source, default_region=default_region, workers=workers),
        source=source_name(source),
        format="vcard",
        existing=existing,
    )


# --- cards as a phone shows them (for audits) ------------------------------------------------------------

_STRUCTURE = _IGNORED | {"UID"}


@dataclass(frozen=True, slots=True)
class CardView:
    """What one card of an address book exposes, read without building a ``Contact`` (for audits).

    Attributes:
        line: The line the card starts at (its ``BEGIN:VCARD``).
        uid: The card's UID, if it has one.
        display_name: ``FN``, else the name parts of ``N`` joined, else ``""``. Left out of ``repr()``.
        numbers: Every ``TEL`` value as typed, in order. Left out of ``repr()``.
        properties: The name of every property the card carries beyond its structure (``BEGIN``,
            ``END``, ``VERSION``, ``PRODID``, ``REV``, ``UID``, ...), upper case, each once, in order of
            first appearance; ``FN``, ``N`` and ``TEL`` included. An Apple ``X-ABLabel`` that labels a
            number belongs to the number and is not listed; one that labels anything else is.
        categories: The card's ``CATEGORIES`` values. Left out of ``repr()``.
    """

    line: int
    uid: str | None
    display_name: str = field(repr=False)
    numbers: tuple[str, ...] = field(repr=False)
    properties: tuple[str, ...]
    categories: tuple[str, ...] = field(repr=False)


def _view(raw: _RawCard, source: str) -> CardView:
    """One card's view; raises _CardError for a card that cannot be read (the importer's rules)."""
    card = _Card(start=raw.start, source=source)
    props = _properties(raw)
    tel_groups = {head.group for _, head, _ in props if head.name == "TEL" and head.group}
    names: dict[str, None] = {}
    numbers: list[str] = []
    seen_altids: set[tuple[str, str]] = set()
    for _, head, value in props:
        if head.name == "VERSION":
            card.version = value.decode("ascii", errors="replace").strip()[:20] or None
    for line, head, value in props:
        name = head.name
        if name in _IGNORED or (name == "X-ABLABEL" and head.group in tel_groups):
            continue
        if head.altid:
            if (name, head.altid) in seen_altids:
                continue
            seen_altids.add((name, head.altid))
        if name in ("FN", "N", "TEL", "UID", "CATEGORIES"):
            text = _decode(line, head, value, card)
            if name == "TEL":
                if text.strip():
                    numbers.append(text.strip())
            else:
                _HANDLERS[name](card, line, head, text, None)
        if name not in _STRUCTURE:
            names[name] = None
    display = card.fn
    if not display and card.name:
        parts = ("prefixes", "given", "additional", "family", "suffixes")
        display = " ".join(card.name[p] for p in parts if card.name[p])
    return CardView(
        line=raw.start,
        uid=card.uid,
        display_name=display,
        numbers=tuple(numbers),
        properties=tuple(names),
        categories=tuple(label["name"] for label in card.labels.values()),
    )


def iter_card_views(source: Source) -> Iterator[CardView | ImportIssue]:
    """Read an address book card by card as a phone would show it: name, numbers and property names.

    The same tolerant reader as ``import_vcards`` (folding, quoted-printable, character sets, Apple
    groups), without number normalisation or validation: a card becomes a `CardView`, or an error
    `ImportIssue` naming its line when it cannot be read. Raises ``ImportFailed`` when the source holds
    no vCard at all.
    """
    name = source_name(source)
    for item in _split_cards(iter_blocks(source), name):
        if isinstance(item, ImportIssue):
            yield item
            continue
        try:
            yield _view(item, name)
        except _CardError as exc:
            yield ImportIssue(exc.line, exc.message, exc.code, "error", name)
        except Exception as exc:  # noqa: BLE001  (one card's bug must not cost the other cards)
            yield _internal_error(item.start, exc, name)
