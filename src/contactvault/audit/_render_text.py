"""The audit report and its diffs as plain text for a terminal, in tables fitted to the line width.

Wide East Asian characters count two columns and combining ones none; long names are cut with "…",
findings and sentences wrapped, and a masked number or an article reference ("Art. 7 Abs. 3 DSGVO") is
never broken over two lines.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from contactvault.audit._render_rows import (
    Masker,
    diff_parts,
    entries_word,
    flagged_rows,
    header_pairs,
    several_sources,
)
from contactvault.audit._render_words import code_description, fix_instruction, t
from contactvault.audit.report import SEVERITY, AuditDiff, AuditReport, FindingCode
from contactvault.i18n import Lang, check_lang

__all__ = ["diff_to_text", "to_text"]


# --- widths and tables -------------------------------------------------------------------------------------

# Text of characters that take one column each: Latin, Greek, Cyrillic (no combining marks), and the
# punctuation the renderings use (U+2010 to U+2027: dashes, quotes, bullet, ellipsis).
_NARROW: Final = re.compile("[\x20-\x7e\xa0-\u02ff\u0370-\u0482\u048a-\u052f\u2010-\u2027]*")


def _width(text: str) -> int:
    """How many terminal columns ``text`` takes (wide East Asian characters two, combining ones none)."""
    if _NARROW.fullmatch(text):
        return len(text)
    total = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        total += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return total


def _truncate(text: str, width: int) -> str:
    if _width(text) <= width:
        return text
    kept, used = [], 0
    for ch in text:
        w = 0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
        if used + w > width - 1:
            break
        kept.append(ch)
        used += w
    return "".join(kept) + "…"


def _pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(width - _width(text), 0)
    return gap + text if right else text + gap


# A space that wrapping must not break at, in text tables. Values never hold it: `_clean` makes every
# control character visible.
_KEEP: Final = "\x00"
_MIN_COLUMN: Final = 8


@dataclass(frozen=True, slots=True)
class _Column:
    header: str
    cap: int | None  # the widest it may be; None: what is left of the line
    wrap: bool = True  # wrap long values (else truncate them with "…")
    right: bool = False


def _text_table(columns: Sequence[_Column], rows: Sequence[Sequence[Sequence[str]]], width: int) -> list[str]:
    """A plain-text table; each cell is a list of lines, wrapped or truncated to its column's width."""
    gap = 2
    widths: list[int] = []
    for i, column in enumerate(columns):
        natural = max([_width(column.header), *(_width(line) for row in rows for line in row[i])], default=1)
        widths.append(min(natural, column.cap) if column.cap is not None else natural)
    rest = [i for i, c in enumerate(columns) if c.cap is None]
    if rest:
        fixed = sum(w for i, w in enumerate(widths) if i not in rest) + gap * (len(columns) - 1)
        share = max((width - fixed) // len(rest), 16)
        for i in rest:
            widths[i] = min(widths[i], share)
    # Too wide for the line: narrow the widest column, down to a minimum, until it fits.
    while sum(widths) + gap * (len(columns) - 1) > width:
        widest = max(range(len(widths)), key=lambda i: widths[i])
        if widths[widest] <= _MIN_COLUMN:
            break
        widths[widest] -= 1

    def cell(lines: Sequence[str], i: int) -> list[str]:
        out: list[str] = []
        for line in lines or [""]:
            if columns[i].wrap and _width(line) > widths[i]:
                out.extend(textwrap.wrap(line, widths[i], break_on_hyphens=False) or [""])
            else:
                out.append(_truncate(line, widths[i]))
        return [line.replace(_KEEP, " ") for line in out]

    def format_row(cells: Sequence[Sequence[str]]) -> list[str]:
        wrapped = [cell(lines, i) for i, lines in enumerate(cells)]
        height = max(len(c) for c in wrapped)
        return [
            (" " * gap)
            .join(
                _pad(c[k] if k < len(c) else "", widths[i], columns[i].right) for i, c in enumerate(wrapped)
            )
            .rstrip()
            for k in range(height)
        ]

    lines = format_row([[c.header] for c in columns])
    lines.append((" " * gap).join("-" * w for w in widths))
    for row in rows:
        lines.extend(format_row(row))
    return lines


def _kept(text: str) -> str:
    """``text`` with its spaces protected from wrapping (a masked number stays on one line)."""
    return text.replace(" ", _KEEP)


_ARTICLE: Final = re.compile(r"Art\. \d+(?:\(\d+\))?(?: Abs\. \d+)?(?: DSGVO)?")


def _prose(text: str) -> str:
    """One of our sentences, its article references ("Art. 7 Abs. 3 DSGVO") kept on one line."""
    return _ARTICLE.sub(lambda m: _kept(m.group(0)), text)


def _heading(text: str, underline: str = "-") -> list[str]:
    return ["", text, underline * _width(text)]


# --- the report and its diffs -----------------------------------------------------------------------------


def _finding_line(code: FindingCode, number: str, detail: str) -> str:
    text = code + (f" {number}" if number else "")
    return f"{text}: {detail}" if detail else text


def to_text(report: AuditReport, *, lang: Lang = "en", mask_numbers: bool = True, width: int = 100) -> str:
    """The report as plain text for a terminal: header, counts, entries with findings, fixes, unreadable.

    Args:
        report: The audit's report.
        lang: ``"en"`` or ``"de"``.
        mask_numbers: Show every number masked (``+49 ••••••••• 78``), also inside names and details.
        width: The line width tables are fitted to (long names are cut with "…", findings wrapped).

    Returns:
        The text, ending with a newline.

    Raises:
        ValueError: ``lang`` is not supported.
    """
    language = check_lang(lang)
    masker = Masker(mask_numbers, report.entries)
    title = t("title", language)
    lines = [title, "=" * _width(title)]
    header = header_pairs(report, language, masker)
    label_width = max(_width(label) for label, _ in header) + 2
    lines += [_pad(label + ":", label_width) + value for label, value in header]
    if not report.vault:
        lines += ["", *textwrap.wrap(t("no_vault_note", language), width)]
    fixes = report.fixes()
    lines += _heading(t("summary", language))
    if fixes:
        columns = [
            _Column(t("col_code", language), 18, wrap=False),
            _Column(t("col_severity", language), 12, wrap=False),
            _Column(t("col_entries", language), 9, wrap=False, right=True),
            _Column(t("col_description", language), None),
        ]
        rows: list[list[list[str]]] = [
            [
                [code],
                [t(SEVERITY[code], language)],
                [str(n)],
                [_prose(code_description(code, lang=language))],
            ]
            for code, n in fixes
        ]
        lines += _text_table(columns, rows, width)
    else:
        lines.append(t("clean" if report.clean else "no_findings", language))
    flagged = flagged_rows(report.entries, language, masker)
    if flagged:
        several = several_sources(report.entries)
        lines += _heading(t("flagged", language))
        columns = [
            _Column(t("col_where" if several else "col_line", language), 24),
            _Column(t("col_name", language), 24, wrap=False),
            _Column(t("col_numbers", language), 18),
            _Column(t("col_findings", language), None),
        ]
        rows = [
            [
                [row.where],
                [row.name or t("no_name", language)],
                [_kept(n) for n in row.numbers],
                [_finding_line(code, _kept(number), detail) for code, number, detail in row.findings],
            ]
            for row in flagged
        ]
        lines += _text_table(columns, rows, width)
    if fixes:
        lines += _heading(t("fixes", language))
        for i, (code, n) in enumerate(fixes, 1):
            lead = f"{i:>2}. "
            text = f"{code} ({entries_word(n, language)}): {_prose(fix_instruction(code, lang=language))}"
            wrapped = textwrap.wrap(
                text, width, initial_indent=lead, subsequent_indent=" " * len(lead), break_on_hyphens=False
            )
            lines += [line.replace(_KEEP, " ") for line in wrapped]
    if report.unreadable:
        lines += _heading(t("unreadable", language))
        columns = [
            _Column(t("col_file", language), 40),
            _Column(t("col_line", language), 8, right=True),
            _Column(t("col_code", language), 24),
            _Column(t("col_reason", language), None),
        ]
        rows = [
            [[masker.text(u.source)], [str(u.line)], [masker.text(u.code)], [masker.text(u.message)]]
            for u in report.unreadable
        ]
        lines += _text_table(columns, rows, width)
    return "\n".join(lines) + "\n"


def diff_to_text(diff: AuditDiff, *, lang: Lang = "en", mask_numbers: bool = True, width: int = 100) -> str:
    """The changes between two audits as plain text: the new findings, then the resolved ones.

    Args:
        diff: What :meth:`AuditReport.diff` returned.
        lang: ``"en"`` or ``"de"``.
        mask_numbers: Show every number masked, also inside names.
        width: The line width the tables are fitted to.

    Returns:
        The text, ending with a newline.

    Raises:
        ValueError: ``lang`` is not supported.
    """
    language = check_lang(lang)
    title = t("diff_title", language)
    lines = [title, "=" * _width(title)]
    if not diff:
        lines.append(t("diff_none", language))
        return "\n".join(lines) + "\n"
    lines.append(t("diff_counts", language, new=len(diff.new), resolved=len(diff.resolved)))
    several, parts = diff_parts(diff, language, mask_numbers)
    columns = [
        _Column(t("col_where" if several else "col_line", language), 24),
        _Column(t("col_name", language), 24, wrap=False),
        _Column(t("col_code", language), 18, wrap=False),
        _Column(t("col_number", language), 18),
        _Column(t("col_detail", language), None),
    ]
    for key, changed in parts:
        lines += _heading(f"{t(key, language)} ({len(changed)})")
        rows: list[list[list[str]]] = [
            [
                [where],
                [name or t("no_name", language)],
                [code],
                [_kept(number) or t("none", language)],
                [detail],
            ]
            for where, name, code, number, detail in changed
        ]
        lines += _text_table(columns, rows, width)
    return "\n".join(lines) + "\n"
