"""Aligned lines written as they are made: how ``list`` and ``book`` print many rows at once.

A table (rich's ``Table``) measures every row before it prints the first, which for a book of 130,000
entries takes most of half a minute. These commands print fixed-width columns instead, a chunk of lines
at a time: a name column of ``NAME_WIDTH`` terminal cells (padded, or cut with ``…``), then columns
whose values have a known width, and last the one that may run long.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import click
from rich.cells import cell_len, set_cell_size

from contactvault.models import is_e164
from contactvault.phones import mask_number

__all__ = ["CHUNK", "NAME_WIDTH", "fit", "masked", "write_lines"]

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
"""What `mask_number` shows of an E.164 number before its last two digits, by first 3 digits and length."""


def masked(value: str) -> str:
    """``mask_number(value)``, worked out once per kind of E.164 number (first three digits, length).

    Country codes are prefix-free and at most three digits long: all that `mask_number` shows of an
    E.164 number but its last two digits follows from its first three and its length. Anything that is
    not E.164 goes to `mask_number` itself.
    """
    if not is_e164(value):
        return mask_number(value)
    digits = value[1:]  # "+" and ASCII digits only
    shown = len(digits) > 6  # mask_number shows the last two digits of a number of more than six
    key = (digits[:3], len(digits))
    head = _MASK_HEADS.get(key)
    if head is None:
        whole = mask_number(value)
        head = _MASK_HEADS[key] = whole[:-3] if shown else whole
    return f"{head} {digits[-2:]}" if shown else head


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
