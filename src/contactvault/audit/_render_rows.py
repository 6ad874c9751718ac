"""What every rendering of an audit report shares: values cleaned and masked, the rows and the header.

A value from a phone's export becomes one line of inert text (line breaks as spaces, control and bidi
characters as ``U+XXXX``) and, with masking on, every number in it is masked (`Masker`). The entries with
findings (`flagged_rows`), the changed findings of a diff (`diff_rows`) and the header's label-value pairs
(`header_pairs`) are built here once, cleaned and masked but not escaped: each format escapes them its
own way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from contactvault.audit._render_words import t
from contactvault.audit.masking import NumberMask
from contactvault.audit.report import AuditDiff, AuditEntry, AuditReport, Finding, FindingCode
from contactvault.i18n import Lang

__all__ = [
    "DiffRow",
    "Masker",
    "Row",
    "detail_of",
    "diff_parts",
    "entries_word",
    "flagged_rows",
    "header_pairs",
    "name_of",
    "several_sources",
    "where_of",
]

# --- values: cleaning and masking --------------------------------------------------------------------------

_LINE_BREAK: Final = re.compile(r"\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
_BIDI: Final = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


# Control characters (Unicode category Cc), bidi controls and lone surrogates (Cs).
_INVISIBLE: Final = re.compile("[\x00-\x1f\x7f-\x9f" + "".join(sorted(_BIDI)) + "\ud800-\udfff]")


def _clean(value: str) -> str:
    """A value as one line of inert text: line breaks as spaces, control characters as ``U+XXXX``.

    Control, bidi and surrogate characters are made visible, so that they can neither garble nor
    reorder the output.
    """
    return _INVISIBLE.sub(lambda m: f"U+{ord(m.group(0)):04X}", _LINE_BREAK.sub(" ", value))


class Masker:
    """Shows numbers as the rendering should (see `NumberMask`), as one line of inert text."""

    def __init__(self, mask: bool, entries: Iterable[AuditEntry]) -> None:
        self.mask = mask
        self._numbers = NumberMask(entries) if mask else None

    def number(self, value: str) -> str:
        return _clean(self._numbers.number(value) if self._numbers is not None else value)

    def text(self, value: str) -> str:
        cleaned = _clean(value)
        return self._numbers.text(cleaned) if self._numbers is not None else cleaned


# --- shared structure --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """One entry with findings, as every rendering shows it (values cleaned and masked, not escaped)."""

    where: str
    name: str
    numbers: tuple[str, ...]
    findings: tuple[tuple[FindingCode, str, str], ...]  # code, number, detail


def several_sources(entries: Iterable[AuditEntry]) -> bool:
    return len({e.source for e in entries}) > 1


def where_of(entry: AuditEntry, several: bool, masker: Masker) -> str:
    if entry.line is None:
        return masker.text(entry.source)
    return f"{masker.text(entry.source)}:{entry.line}" if several else str(entry.line)


def name_of(entry: AuditEntry, masker: Masker) -> str:
    return masker.text(entry.display_name)


_DUPLICATE_EN: Final = re.compile(r"\bline (\d+)|\band (\d+) more$")


_WORDED: Final[dict[tuple[str, str], str]] = {
    ("not_on_messenger", "not_mobile"): "not_mobile",
    ("consent_withdrawn", "opt_out"): "opt_out",
}
"""Details that are a fixed word, shown in the report's language: (code, detail) -> key of `t`."""


def detail_of(finding: Finding, lang: Lang, masker: Masker) -> str:
    """The finding's fields or detail, in words."""
    if finding.code == "extra_fields" and finding.fields:
        return ", ".join(masker.text(f) for f in finding.fields)
    if not finding.detail:
        return ""
    detail = masker.text(finding.detail)
    if finding.code == "label_in_name":
        return t("label", lang, label=detail)
    worded = _WORDED.get((finding.code, finding.detail))
    if worded is not None:
        return t(worded, lang)
    if finding.code == "duplicate":
        if lang == "de":
            detail = _DUPLICATE_EN.sub(
                lambda m: f"Zeile {m.group(1)}" if m.group(1) else f"und {m.group(2)} weitere", detail
            )
        return t("also", lang, where=detail)
    return detail


def flagged_rows(entries: Sequence[AuditEntry], lang: Lang, masker: Masker) -> list[Row]:
    several = several_sources(entries)
    return [
        Row(
            where=where_of(entry, several, masker),
            name=name_of(entry, masker),
            numbers=tuple(masker.number(n) for n in entry.numbers),
            findings=tuple(
                (f.code, masker.number(f.number) if f.number else "", detail_of(f, lang, masker))
                for f in entry.findings
            ),
        )
        for entry in entries
        if entry.findings
    ]


def entries_word(n: int, lang: Lang) -> str:
    return t("entry_one", lang) if n == 1 else t("entry_many", lang, n=n)


def header_pairs(report: AuditReport, lang: Lang, masker: Masker) -> list[tuple[str, str]]:
    """The header's (label, value) pairs."""
    pairs = [
        (t("source", lang), masker.text(report.source)),
        (t("created", lang), report.created_at.isoformat(sep=" ", timespec="minutes")),
        (t("region", lang), report.region or t("none", lang)),
        (t("vault", lang), t("yes" if report.vault else "no", lang)),
        (t("policy", lang), report.policy[:12] if report.policy else t("none", lang)),
        (
            t("entries", lang),
            t("totals", lang, total=len(report.entries), flagged=len(report.flagged)),
        ),
        (t("numbers_shown", lang), t("masked" if masker.mask else "unmasked", lang)),
    ]
    if report.unreadable:
        pairs.append((t("unreadable", lang), str(len(report.unreadable))))
    return pairs


DiffRow = tuple[str, str, FindingCode, str, str]
"""A changed finding as the diffs show it: where, name, code, number and detail (cleaned and masked)."""


def _diff_rows(
    pairs: Sequence[tuple[AuditEntry, Finding]], several: bool, lang: Lang, masker: Masker
) -> list[DiffRow]:
    """(where, name, code, number, detail) of each changed finding, cleaned and masked."""
    return [
        (
            where_of(entry, several, masker),
            name_of(entry, masker),
            finding.code,
            masker.number(finding.number) if finding.number else "",
            detail_of(finding, lang, masker),
        )
        for entry, finding in pairs
    ]


def diff_parts(
    diff: AuditDiff, lang: Lang, mask_numbers: bool
) -> tuple[bool, list[tuple[str, list[DiffRow]]]]:
    """Whether the diff's entries come from several sources, and its non-empty parts, new first.

    Each part is the key of its heading (``diff_new``, ``diff_resolved``) and its rows.
    """
    entries = [entry for entry, _ in (*diff.new, *diff.resolved)]
    masker = Masker(mask_numbers, entries)
    several = several_sources(entries)
    parts = [
        (key, _diff_rows(pairs, several, lang, masker))
        for key, pairs in (("diff_new", diff.new), ("diff_resolved", diff.resolved))
        if pairs
    ]
    return several, parts
