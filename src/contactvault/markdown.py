"""Values as inert Markdown: what every Markdown document contactvault writes uses for untrusted text.

Names, notes and file names come from phone exports and may be crafted. A value written with `inline`
renders as the same text in CommonMark renderers and in Python-Markdown (what MkDocs uses): no emphasis,
no link, no raw HTML, no table cell broken by a pipe. `visible` first makes control and bidirectional
characters visible, so that they can neither garble nor reorder a document.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Final

__all__ = ["LINE_BREAK", "inline", "table", "visible"]

LINE_BREAK: Final = re.compile(r"\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
"""Every sequence a renderer may take for a line break."""

_BIDI: Final = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ENTITY: Final = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "~": "&#126;", "@": "&#64;"}
_BACKSLASH: Final = frozenset("\\`*_[]{}|#!")
# Where an autolink would start (``https://``, ``www.``): that character becomes an entity.
_LINK_START: Final = re.compile(r"(?i)(?<=[a-z0-9]):(?=//)|(?<=\bwww)\.")


def visible(text: str) -> str:
    """``text`` with control, format, bidi and surrogate characters shown as ``U+XXXX``."""
    if text.isprintable() and _BIDI.isdisjoint(text):
        return text
    return "".join(
        f"U+{ord(ch):04X}" if ch in _BIDI or unicodedata.category(ch) in ("Cc", "Cf", "Cs") else ch
        for ch in text
    )


def inline(text: str) -> str:
    """One line of text as inert Markdown: markup characters escaped, HTML and autolinks defused."""
    links = {m.start() for m in _LINK_START.finditer(text)}
    out = []
    for i, ch in enumerate(text):
        if i in links:
            out.append(f"&#{ord(ch)};")
        elif ch in _ENTITY:
            out.append(_ENTITY[ch])
        elif ch in _BACKSLASH:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def table(header: Sequence[str], rows: Iterable[Sequence[str]], right: Sequence[int] = ()) -> list[str]:
    """A Markdown table's lines; cells must already be inert (`inline`). ``right``: right-aligned columns."""
    rule = "|" + "".join("---:|" if i in right else "---|" for i in range(len(header)))
    lines = ["| " + " | ".join(header) + " |", rule]
    lines.extend("| " + " | ".join(cell or " " for cell in row) + " |" for row in rows)
    return lines
