r"""One card's lines -> properties: unfolding, the ``group.NAME;params`` head, and vCard text escapes.

The second stage of the vCard reader (:mod:`contactvault.importers.vcard`). A card's physical lines become
logical properties (folded lines joined, 2.1 quoted-printable soft line breaks and run-on base64 followed),
each with its parsed head; the values stay bytes until the card's character set is known. Photos, logos,
sounds and keys are marked as dropped and their values never gathered. A line that is no property, or a
value over ``MAX_VALUE_BYTES``, makes the card a `CardError`. The text helpers undo vCard's escapes
(``\,`` ``\;`` ``\n``) and Apple's ``_$!<Mobile>!$_`` labels.
"""

from __future__ import annotations

import codecs
import functools
import re
from dataclasses import dataclass

from contactvault.importers._vcard_cards import RawCard
from contactvault.importers.result import IssueCode

__all__ = [
    "IGNORED",
    "MAX_VALUE_BYTES",
    "CardError",
    "Head",
    "Property",
    "ab_label",
    "shown",
    "split_escaped",
    "unescape",
    "unfold",
]

MAX_VALUE_BYTES = 1 << 20
"""A kept value longer than this (after unfolding) makes its card an issue: no address book needs it."""

# Binary media: dropped unread, whatever their encoding (data, URI or base64). They are never stored.
_DROPPED = frozenset({"PHOTO", "LOGO", "SOUND", "KEY"})
# Structure and bookkeeping that carry nothing about the person.
IGNORED = frozenset({"BEGIN", "END", "VERSION", "PRODID", "REV", "PROFILE", "NAME", "SOURCE", "CLIENTPIDMAP"})
# Property names that messages may show as they are; other names are shown as "a property".
_KNOWN = frozenset(
    {
        "FN", "N", "NICKNAME", "TEL", "EMAIL", "ADR", "LABEL", "BDAY", "ANNIVERSARY", "ORG",
        "TITLE", "ROLE", "NOTE", "URL", "CATEGORIES", "UID", "AGENT", "GEO", "TZ", "IMPP",
        "GENDER", "LANG", "RELATED", "KIND", "MEMBER", "SORT-STRING", "MAILER", "CLASS",
        "FBURL", "CALURI", "CALADRURI", "XML", "X-ABLABEL",
    }
    | _DROPPED
    | IGNORED
)  # fmt: skip
_PROPERTY_NAME = re.compile(r"[A-Za-z0-9_-]{1,200}")
_BASE64_LINE = re.compile(rb"[A-Za-z0-9+/=]+")
_APPLE_LABEL = re.compile(r"_\$!<(.*)>!\$_", re.DOTALL)
_ENCODING_WORDS = {"QUOTED-PRINTABLE": "Q", "BASE64": "B", "B": "B", "8BIT": "", "7BIT": ""}
_RFC6868 = {"^n": "\n", "^N": "\n", "^^": "^", "^'": '"'}


class CardError(Exception):
    """A card that cannot be imported; carries an issue code, a line and a message without values."""

    def __init__(self, code: IssueCode, line: int, message: str) -> None:
        super().__init__(message)
        self.code: IssueCode = code
        self.line = line
        self.message = message


@dataclass(frozen=True, slots=True)
class Head:
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
def _parse_head(head: bytes) -> Head | None:
    """``group.NAME;params`` -> a Head, or None if it is not one; bare 2.1 params become TYPE/ENCODING.

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
    return Head(
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


Property = tuple[int, Head, bytes]
"""One logical (unfolded) line: its line number, its head, its value as raw bytes."""


def _garbage(card: RawCard, line: int, what: str) -> CardError:
    return CardError("garbage", line, f"card at line {card.start} not imported: line {line} {what}")


def _start(card: RawCard, line: int, text: bytes, colon: int) -> tuple[Head, bytes]:
    """The head and the first piece of the value of a property line; garbage if it is no property."""
    parsed = _parse_head(text[:colon]) if colon > 0 else None
    if parsed is None:
        raise _garbage(card, line, "is not a vCard property")
    return parsed, text[colon + 1 :]


def unfold(card: RawCard) -> list[Property]:
    """Unfold a card into properties.

    Folded lines start with a space or a tab, and a fold may come anywhere, even before the colon. A
    quoted-printable value ending in ``=`` continues on the next line (2.1 soft line break). A 2.1 base64
    value may run on over unindented lines. The values of dropped media are not even gathered.
    """
    props: list[Property] = []
    head: Head | None = None
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


def _finish(card: RawCard, line: int, head: Head, parts: list[bytes]) -> Property:
    value = b"".join(parts)
    if len(value) > MAX_VALUE_BYTES:
        raise CardError(
            "value_too_long",
            line,
            f"card at line {card.start} not imported: line {line} ({shown(head.name)}) holds "
            f"more than {MAX_VALUE_BYTES} bytes",
        )
    return (line, head, value)


# --- text values ----------------------------------------------------------------------------------------


def shown(name: str) -> str:
    """A property name as messages may show it: known names as they are, X- names shortened."""
    if name in _KNOWN:
        return name
    if name.startswith("X-"):
        return name[:40]
    return "a property"


def unescape(text: str) -> str:
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


def split_escaped(text: str, sep: str) -> list[str]:
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


def ab_label(text: str) -> str:
    """Apple's ``_$!<Mobile>!$_`` -> ``Mobile``; any other label as it is."""
    match = _APPLE_LABEL.fullmatch(text)
    return match.group(1) if match else text
