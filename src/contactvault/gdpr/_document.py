"""What the GDPR documents share: their words in two languages, the time they are made, JSON and Markdown.

The access report, the portable export and the erasure receipt (:mod:`contactvault.gdpr.requests`) and the
record of processing (:mod:`contactvault.gdpr.ropa`) each keep a table of ``i18n.Words``, check the caller's
``now`` the same way, write JSON the same way, and escape values for Markdown with the helpers here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from contactvault.markdown import LINE_BREAK, inline, visible

__all__ = ["check_now", "distinct", "json_text", "md", "md_code", "when"]


def check_now(now: datetime | None) -> datetime:
    """``now``, or the current UTC time if it is ``None``; ``ValueError`` if ``now`` is not timezone-aware."""
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now


def when(moment: datetime | None) -> str:
    """A time as the documents show it (ISO 8601 to the second), or ``""`` for none."""
    return "" if moment is None else moment.isoformat(timespec="seconds")


def json_text(document: dict[str, Any]) -> str:
    """A document's JSON data as text: UTF-8 characters as they are, indented, ending with a newline."""
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def distinct(values: Iterable[str]) -> tuple[str, ...]:
    """``values`` in order, without repeats."""
    return tuple(dict.fromkeys(values))


# CommonMark lets a backslash escape any ASCII punctuation; these are the ones that can start markup inside
# a list item or a table cell (the pipe ends a cell even inside a code span, so it is always escaped).
def md(value: object) -> str:
    """Any value as inert Markdown text: markup escaped, line breaks as ``<br>``, controls made visible."""
    return "<br>".join(inline(visible(line)) for line in LINE_BREAK.split(str(value)))


def md_code(value: str) -> str:
    """A value as a code span, fenced by more backticks than it holds; pipes escaped for tables."""
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    inner = visible(value.replace("|", "\\|"))
    return f"{fence}{pad}{inner}{pad}{fence}"
