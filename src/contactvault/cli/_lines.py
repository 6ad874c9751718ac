"""Aligned lines written as they are made: how ``list`` and ``book`` print many rows at once.

A table (rich's ``Table``) measures every row before it prints the first, which for a book of 130,000
entries takes most of half a minute. These commands print fixed-width columns instead, a chunk of lines
at a time: a name column of ``NAME_WIDTH`` terminal cells (padded, or cut with ``…``), then columns
whose values have a known width, and last the one that may run long.

The line before and the line after them (a header in bold, a count dimmed) are what rich's console
prints; `write_styled` writes those bytes itself where it knows them, so that ``list`` starts without
rich's console, and hands every other case to rich.
"""

from __future__ import annotations

import builtins
import os
import re
import sys
from collections.abc import Iterable
from typing import Final, Literal

import click
from rich.cells import cell_len, set_cell_size

from contactvault.models import E164_PATTERN
from contactvault.phones import mask_number

__all__ = ["CHUNK", "NAME_WIDTH", "fit", "masked", "styled", "write_lines", "write_styled"]

CHUNK: Final = 100
"""Lines are written in chunks of this many, as they are made."""
NAME_WIDTH: Final = {False: 14, True: 30}
"""The width of a name column: masked names (initials), and full ones (``--reveal``)."""


def fit(text: str, width: int) -> str:
    """``text`` in exactly ``width`` terminal cells: padded, or cut with ``…`` (wide characters count two)."""
    if not text.isprintable():  # names are checked when read; a terminal is never sent a control character
        text = "".join(ch if ch.isprintable() else "\N{REPLACEMENT CHARACTER}" for ch in text)
    size = len(text) if text.isascii() else cell_len(text)
    if size > width:
        return set_cell_size(text, width - 1) + "…"
    return text + " " * (width - size)


_MASK_HEADS: Final[dict[tuple[str, int], str]] = {}
"""What `mask_number` shows of an E.164 number before its last two digits, by its first four characters
(``+`` and three digits) and its length."""

_E164: Final = re.compile(E164_PATTERN).fullmatch
"""`is_e164` without its call: the same pattern."""


def masked(value: str) -> str:
    """``mask_number(value)``, worked out once per kind of E.164 number (first three digits, length).

    Country codes are prefix-free and at most three digits long: all that `mask_number` shows of an
    E.164 number but its last two digits follows from its first three and its length. Anything that is
    not E.164 goes to `mask_number` itself.
    """
    if _E164(value) is None:
        return mask_number(value)
    size = len(value)  # "+" and ASCII digits only
    shown = size > 7  # mask_number shows the last two digits of a number of more than six digits
    key = (value[:4], size)
    head = _MASK_HEADS.get(key)
    if head is None:
        whole = mask_number(value)
        head = _MASK_HEADS[key] = whole[:-3] if shown else whole
    return f"{head} {value[-2:]}" if shown else head


def write_lines(lines: Iterable[str]) -> int:
    """Write ``lines`` to standard output in chunks of ``CHUNK``, as they come; how many were written."""
    chunk: list[str] = []
    count = 0
    for line in lines:
        chunk.append(line)
        if len(chunk) == CHUNK:
            click.echo("\n".join(chunk))
            count += len(chunk)
            chunk.clear()
    if chunk:
        click.echo("\n".join(chunk))
        count += len(chunk)
    return count


Style = Literal["bold", "dim"] | None
"""The styles `write_styled` writes itself: bold, dim, or none."""

_SGR: Final[dict[str, str]] = {"bold": "\x1b[1m", "dim": "\x1b[2m"}
"""How rich starts bold and dim text on a terminal (and ends both: `_RESET`), in every colour system."""
_RESET: Final = "\x1b[0m"

_RICH_ONLY: Final = ("FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS")
"""Environment variables that change what rich's console prints: with any of them set, rich prints.

(``NO_COLOR`` and ``COLORTERM`` change colours only; ``LINES`` and ``TTY_INTERACTIVE`` what rich does
with live displays and the screen's height, not a printed line.)
"""


def styled(text: str, style: Style) -> str | None:
    """What ``stdout().print(Text(text, style=style))`` writes (a line and its newline), or None if unsure.

    Known: printable ASCII text on one line (not empty), no variable of `_RICH_ONLY` set, not Windows,
    Jupyter or IDLE, no rich output proxy on standard output, and a line no wider than rich's console
    (rich's own rule: the size of the first of standard input, output and error that is a terminal,
    else 80 columns; 80 on a dumb terminal). Then rich writes the text as it is, wrapped in the style's codes
    only when standard output is a terminal that is not dumb (``TERM`` dumb or unknown); ``NO_COLOR``
    removes colours, neither bold nor dim. Anything else (a narrow terminal, where rich wraps) is None.
    """
    stream = sys.stdout
    unknown = (
        sys.platform == "win32"
        or hasattr(builtins, "get_ipython")
        or stream is None
        or hasattr(stream, "rich_proxied_file")
        or getattr(sys.stdin, "__module__", "").startswith("idlelib")
        or not (text and text.isascii() and text.isprintable())
        or any(name in os.environ for name in _RICH_ONLY)
    )
    if unknown:
        return None
    isatty = getattr(stream, "isatty", None)
    try:
        terminal = bool(isatty is not None and isatty())
    except ValueError:  # a closed file: rich too takes it for no terminal
        terminal = False
    dumb = terminal and os.environ.get("TERM", "").lower() in ("dumb", "unknown")
    if len(text) > (80 if dumb else _width()):
        return None
    if style is None or not terminal or dumb:
        return f"{text}\n"
    return f"{_SGR[style]}{text}{_RESET}\n"


def _width() -> int:
    """The width rich's console takes: the first of stdin, stdout and stderr that has a size, else 80."""
    for descriptor in (0, 1, 2):
        try:
            columns = os.get_terminal_size(descriptor).columns
        except (AttributeError, ValueError, OSError):  # not a terminal
            continue
        return columns or 80  # a pseudo-terminal may report 0
    return 80


def write_styled(text: str, style: Style = None) -> None:
    """Print one line of ``text`` to standard output as rich's console prints ``Text(text, style=style)``.

    The bytes of `styled` where it knows them (without importing rich's console), else rich's own
    (``stdout().print``). Flushed, as rich flushes, so it stays in order with `write_lines`.
    """
    known = styled(text, style)
    if known is None:
        from rich.console import Console  # noqa: PLC0415  (only for what `styled` leaves to rich)
        from rich.text import Text  # noqa: PLC0415

        Console(highlight=False, soft_wrap=False).print(Text(text, style=style or ""))
        return
    sys.stdout.write(known)
    sys.stdout.flush()
