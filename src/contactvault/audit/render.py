"""The audit report rendered for people: plain text, Markdown and self-contained HTML, in English or German.

Every rendering holds the same content: a header (source, date, whether a vault was compared, the policy
digest, how many entries were read and how many have findings), the count of entries per finding code
with its severity, the entries with findings, the fix list (one instruction per code that occurs, most
serious first), and the cards that could not be read. :func:`render` picks a format by name and also
writes JSON (:meth:`AuditReport.to_json`, whose keys are English whatever the language).

Numbers are masked by default (``mask_numbers=True``): every number is shown as
:func:`~contactvault.phones.mask_number` shows it (``+49 ••••••••• 78``), and a number that turns up
inside a name, a file name or a detail is masked there too, so that no full number is in the output.
Names are shown: the reader needs them to find the entries on the phone.

Names come from a phone's export and may have been chosen by anybody. Control and bidi characters are
shown as ``U+XXXX``; Markdown escapes every character that could start markup, a link or HTML; HTML
escapes every value and carries a Content-Security-Policy that forbids scripts and every external
resource, as a second line of defence. The HTML file needs no network and no JavaScript.
"""

from __future__ import annotations

import html
import re
import textwrap
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal, get_args

from contactvault.audit.masking import NumberMask
from contactvault.audit.report import (
    SEVERITY,
    AuditDiff,
    AuditEntry,
    AuditReport,
    Finding,
    FindingCode,
)
from contactvault.i18n import Lang, check_lang
from contactvault.markdown import inline, table

__all__ = [
    "FORMATS",
    "Format",
    "code_description",
    "diff_to_markdown",
    "diff_to_text",
    "fix_instruction",
    "render",
    "to_html",
    "to_markdown",
    "to_text",
]

Format = Literal["text", "json", "markdown", "html"]
"""A rendering of an audit report: ``text`` (terminal), ``json``, ``markdown`` or ``html``."""

FORMATS: Final[tuple[Format, ...]] = get_args(Format)
"""Every format :func:`render` writes."""

# --- strings ---------------------------------------------------------------------------------------------

_TEXT: Final[dict[str, tuple[str, str]]] = {
    "title": ("Audit of the messenger address book", "Prüfung des Messenger-Adressbuchs"),
    "source": ("Source", "Quelle"),
    "created": ("Created", "Erstellt"),
    "region": ("Default region", "Standardregion"),
    "vault": ("Vault compared", "Mit Tresor abgeglichen"),
    "policy": ("Policy", "Richtlinie"),
    "entries": ("Entries", "Einträge"),
    "numbers_shown": ("Numbers", "Nummern"),
    "masked": ("masked", "maskiert"),
    "unmasked": ("shown in full", "vollständig angezeigt"),
    "yes": ("yes", "ja"),
    "no": ("no", "nein"),
    "none": ("\u2013", "\u2013"),
    "totals": ("{total} total, {flagged} with findings", "{total} insgesamt, {flagged} mit Befunden"),
    "no_vault_note": (
        "No vault was compared: only what the entries expose was checked (fields, kinds of numbers, "
        "duplicates, labels in names), not the legal bases.",
        "Es wurde kein Tresor abgeglichen: geprüft wurde nur, was die Einträge preisgeben (Felder, Art "
        "der Nummern, Dubletten, Labels in Namen), nicht die Rechtsgrundlagen.",
    ),
    "summary": ("Findings per code", "Befunde je Code"),
    "flagged": ("Entries with findings", "Einträge mit Befunden"),
    "fixes": ("What to do (most serious first)", "Was zu tun ist (Schwerwiegendstes zuerst)"),
    "unreadable": ("Unreadable cards", "Nicht lesbare Karten"),
    "clean": (
        "No findings: every entry was read and none has a finding.",
        "Keine Befunde: jeder Eintrag wurde gelesen, keiner hat einen Befund.",
    ),
    "no_findings": ("No entry has a finding.", "Kein Eintrag hat einen Befund."),
    "col_code": ("Code", "Code"),
    "col_severity": ("Severity", "Schweregrad"),
    "col_entries": ("Entries", "Einträge"),
    "col_description": ("Description", "Beschreibung"),
    "col_line": ("Line", "Zeile"),
    "col_where": ("File:line", "Datei:Zeile"),
    "col_name": ("Name", "Name"),
    "col_numbers": ("Numbers", "Nummern"),
    "col_number": ("Number", "Nummer"),
    "col_detail": ("Detail", "Angabe"),
    "col_findings": ("Findings", "Befunde"),
    "col_fix": ("What to do", "Maßnahme"),
    "col_file": ("File", "Datei"),
    "col_reason": ("Reason", "Grund"),
    "no_name": ("(no name)", "(ohne Namen)"),
    "entry_one": ("1 entry", "1 Eintrag"),
    "entry_many": ("{n} entries", "{n} Einträge"),
    "label": ('label "{label}"', "Label „{label}“"),
    "also": ("also {where}", "auch {where}"),
    "not_mobile": ("not a mobile number", "keine Mobilnummer"),
    "chart": ("Findings per code (entries)", "Befunde je Code (Einträge)"),
    "chart_empty": ("No findings", "Keine Befunde"),
    "legend": ("Severity", "Schweregrad"),
    "diff_title": ("Changes since the previous audit", "Änderungen seit der letzten Prüfung"),
    "diff_counts": ("{new} new, {resolved} resolved", "{new} neu, {resolved} behoben"),
    "diff_new": ("New findings", "Neue Befunde"),
    "diff_resolved": ("Resolved findings", "Behobene Befunde"),
    "diff_none": ("No changes since the previous audit.", "Keine Änderungen seit der letzten Prüfung."),
    "footer": ("Written by contactvault.", "Erstellt von contactvault."),
    "high": ("high", "hoch"),
    "medium": ("medium", "mittel"),
    "low": ("low", "niedrig"),
}

_DESCRIPTIONS: Final[dict[FindingCode, tuple[str, str]]] = {
    "unknown_contact": (
        "A number (or an entry without a number) that no vault contact holds: no legal basis is recorded.",
        "Eine Nummer (oder ein Eintrag ohne Nummer), die kein Kontakt im Tresor hat: es ist keine "
        "Rechtsgrundlage erfasst.",
    ),
    "no_legal_basis": (
        "The vault's contact has no consent and no other legal basis for the messenger (Art. 6(1)).",
        "Der Kontakt im Tresor hat weder eine Einwilligung noch eine andere Rechtsgrundlage für den "
        "Messenger (Art. 6 Abs. 1 DSGVO).",
    ),
    "consent_withdrawn": (
        "The contact withdrew the consent (Art. 7(3)).",
        "Der Kontakt hat seine Einwilligung widerrufen (Art. 7 Abs. 3 DSGVO).",
    ),
    "consent_expired": (
        "The consent is older than the policy allows and must be renewed.",
        "Die Einwilligung ist älter, als die Richtlinie erlaubt, und muss erneuert werden.",
    ),
    "restricted": (
        "Processing of the contact's data is restricted (Art. 18).",
        "Die Verarbeitung der Daten des Kontakts ist eingeschränkt (Art. 18 DSGVO).",
    ),
    "objected": (
        "The contact objected to the use for the messenger (Art. 21).",
        "Der Kontakt hat der Nutzung für den Messenger widersprochen (Art. 21 DSGVO).",
    ),
    "minor": (
        "The contact is younger than the policy's minimum age (Art. 8).",
        "Der Kontakt ist jünger als das Mindestalter der Richtlinie (Art. 8 DSGVO).",
    ),
    "label_excluded": (
        "The contact carries a label the policy excludes from the messenger.",
        "Der Kontakt trägt ein Label, das die Richtlinie vom Messenger ausschließt.",
    ),
    "not_on_messenger": (
        "Not a mobile number, or the contact is not known to use the messenger (or that check is too old).",
        "Keine Mobilnummer, oder es ist nicht bekannt, dass der Kontakt den Messenger nutzt (oder diese "
        "Prüfung ist zu alt).",
    ),
    "extra_fields": (
        "The entry holds more than name and number (e-mail, address, birthday, notes, photo …).",
        "Der Eintrag enthält mehr als Name und Nummer (E-Mail, Adresse, Geburtstag, Notizen, Foto …).",
    ),
    "label_in_name": (
        "A CRM label is part of the name the messenger shows.",
        "Ein CRM-Label steht in dem Namen, den der Messenger anzeigt.",
    ),
    "invalid_number": (
        "A number that is not a valid telephone number.",
        "Eine Nummer, die keine gültige Telefonnummer ist.",
    ),
    "duplicate": (
        "Another entry holds the same number.",
        "Ein anderer Eintrag hat dieselbe Nummer.",
    ),
}

_FIXES: Final[dict[FindingCode, tuple[str, str]]] = {
    "unknown_contact": (
        "Add the contact to the vault with a legal basis, or delete it from the phone.",
        "Den Kontakt mit einer Rechtsgrundlage in den Tresor aufnehmen oder ihn vom Telefon löschen.",
    ),
    "no_legal_basis": (
        "Record the contact's consent or another legal basis in the vault, or delete the contact from the "
        "phone.",
        "Die Einwilligung des Kontakts oder eine andere Rechtsgrundlage im Tresor erfassen oder den Kontakt "
        "vom Telefon löschen.",
    ),
    "consent_withdrawn": (
        "Delete the contact from the phone and the messenger; consent was withdrawn (Art. 7(3)).",
        "Den Kontakt vom Telefon und aus dem Messenger löschen; die Einwilligung wurde widerrufen "
        "(Art. 7 Abs. 3 DSGVO).",
    ),
    "consent_expired": (
        "Ask the contact to renew the consent and record it in the vault; until then, delete the contact "
        "from the phone.",
        "Den Kontakt um eine erneute Einwilligung bitten und sie im Tresor erfassen; bis dahin den Kontakt "
        "vom Telefon löschen.",
    ),
    "restricted": (
        "Delete the contact from the phone and the messenger while processing is restricted (Art. 18).",
        "Den Kontakt vom Telefon und aus dem Messenger löschen, solange die Verarbeitung eingeschränkt ist "
        "(Art. 18 DSGVO).",
    ),
    "objected": (
        "Delete the contact from the phone and the messenger; the contact objected (Art. 21).",
        "Den Kontakt vom Telefon und aus dem Messenger löschen; der Kontakt hat widersprochen "
        "(Art. 21 DSGVO).",
    ),
    "minor": (
        "Delete the contact from the phone and the messenger; the contact is below the policy's minimum "
        "age (Art. 8).",
        "Den Kontakt vom Telefon und aus dem Messenger löschen; er ist jünger als das Mindestalter der "
        "Richtlinie (Art. 8 DSGVO).",
    ),
    "label_excluded": (
        "Delete the contact from the phone, or remove the excluding label in the vault if it no longer "
        "applies.",
        "Den Kontakt vom Telefon löschen oder das ausschließende Label im Tresor entfernen, wenn es nicht "
        "mehr zutrifft.",
    ),
    "not_on_messenger": (
        "Delete the number from the phone's contacts, or record in the vault that the contact uses the "
        "messenger (checked recently).",
        "Die Nummer aus den Kontakten des Telefons löschen oder im Tresor erfassen, dass der Kontakt den "
        "Messenger nutzt (kürzlich geprüft).",
    ),
    "extra_fields": (
        "Remove these fields from the phone's contacts, or replace the phone's address book by "
        "contactvault's minimal book (name and number only).",
        "Diese Felder aus den Kontakten des Telefons entfernen oder das Adressbuch des Telefons durch das "
        "minimale Adressbuch von contactvault ersetzen (nur Name und Nummer).",
    ),
    "label_in_name": (
        "Remove the CRM label from the name; use the vault's labels instead.",
        "Das CRM-Label aus dem Namen entfernen; stattdessen die Labels des Tresors verwenden.",
    ),
    "invalid_number": (
        "Correct the number, or delete it from the entry.",
        "Die Nummer korrigieren oder aus dem Eintrag löschen.",
    ),
    "duplicate": (
        "Merge the entries holding the same number into one.",
        "Die Einträge mit derselben Nummer zu einem zusammenführen.",
    ),
}

_SEVERITY_COLOURS: Final = {"high": "#b3261e", "medium": "#a85a00", "low": "#52606d"}


def _t(key: str, lang: Lang, **values: object) -> str:
    english, german = _TEXT[key]
    text = german if lang == "de" else english
    return text.format(**values) if values else text


def code_description(code: FindingCode, *, lang: Lang = "en") -> str:
    """One line saying what a finding code means, in ``lang``.

    Args:
        code: A finding code (one of `FINDING_CODES`).
        lang: ``"en"`` or ``"de"``.

    Returns:
        The description, one sentence.

    Raises:
        ValueError: ``code`` or ``lang`` is not known.
    """
    return _per_code(_DESCRIPTIONS, code, lang)


def fix_instruction(code: FindingCode, *, lang: Lang = "en") -> str:
    """What to do about the entries with a finding code, in ``lang``.

    Args:
        code: A finding code (one of `FINDING_CODES`).
        lang: ``"en"`` or ``"de"``.

    Returns:
        The instruction, one or two sentences.

    Raises:
        ValueError: ``code`` or ``lang`` is not known.
    """
    return _per_code(_FIXES, code, lang)


def _per_code(table: dict[FindingCode, tuple[str, str]], code: FindingCode, lang: Lang) -> str:
    """The English or German text of ``code`` in ``table``; ``ValueError`` for an unknown code or language."""
    language = check_lang(lang)
    if code not in table:
        raise ValueError("unknown finding code")
    english, german = table[code]
    return german if language == "de" else english


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


class _Masker:
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
class _Row:
    """One entry with findings, as every rendering shows it (values cleaned and masked, not escaped)."""

    where: str
    name: str
    numbers: tuple[str, ...]
    findings: tuple[tuple[FindingCode, str, str], ...]  # code, number, detail


def _several_sources(entries: Iterable[AuditEntry]) -> bool:
    return len({e.source for e in entries}) > 1


def _where(entry: AuditEntry, several: bool, masker: _Masker) -> str:
    if entry.line is None:
        return masker.text(entry.source)
    return f"{masker.text(entry.source)}:{entry.line}" if several else str(entry.line)


def _name(entry: AuditEntry, masker: _Masker) -> str:
    return masker.text(entry.display_name)


_DUPLICATE_EN: Final = re.compile(r"\bline (\d+)|\band (\d+) more$")


def _detail(finding: Finding, lang: Lang, masker: _Masker) -> str:
    """The finding's fields or detail, in words."""
    if finding.code == "extra_fields" and finding.fields:
        return ", ".join(masker.text(f) for f in finding.fields)
    if not finding.detail:
        return ""
    detail = masker.text(finding.detail)
    if finding.code == "label_in_name":
        return _t("label", lang, label=detail)
    if finding.code == "not_on_messenger" and finding.detail == "not_mobile":
        return _t("not_mobile", lang)
    if finding.code == "duplicate":
        if lang == "de":
            detail = _DUPLICATE_EN.sub(
                lambda m: f"Zeile {m.group(1)}" if m.group(1) else f"und {m.group(2)} weitere", detail
            )
        return _t("also", lang, where=detail)
    return detail


def _rows(entries: Sequence[AuditEntry], lang: Lang, masker: _Masker) -> list[_Row]:
    several = _several_sources(entries)
    return [
        _Row(
            where=_where(entry, several, masker),
            name=_name(entry, masker),
            numbers=tuple(masker.number(n) for n in entry.numbers),
            findings=tuple(
                (f.code, masker.number(f.number) if f.number else "", _detail(f, lang, masker))
                for f in entry.findings
            ),
        )
        for entry in entries
        if entry.findings
    ]


def _entries_word(n: int, lang: Lang) -> str:
    return _t("entry_one", lang) if n == 1 else _t("entry_many", lang, n=n)


def _header(report: AuditReport, lang: Lang, masker: _Masker) -> list[tuple[str, str]]:
    """The header's (label, value) pairs."""
    pairs = [
        (_t("source", lang), masker.text(report.source)),
        (_t("created", lang), report.created_at.isoformat(sep=" ", timespec="minutes")),
        (_t("region", lang), report.region or _t("none", lang)),
        (_t("vault", lang), _t("yes" if report.vault else "no", lang)),
        (_t("policy", lang), report.policy[:12] if report.policy else _t("none", lang)),
        (
            _t("entries", lang),
            _t("totals", lang, total=len(report.entries), flagged=len(report.flagged)),
        ),
        (_t("numbers_shown", lang), _t("masked" if masker.mask else "unmasked", lang)),
    ]
    if report.unreadable:
        pairs.append((_t("unreadable", lang), str(len(report.unreadable))))
    return pairs


def _finding_line(code: FindingCode, number: str, detail: str) -> str:
    text = code + (f" {number}" if number else "")
    return f"{text}: {detail}" if detail else text


# --- plain text --------------------------------------------------------------------------------------------


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
    masker = _Masker(mask_numbers, report.entries)
    title = _t("title", language)
    lines = [title, "=" * _width(title)]
    header = _header(report, language, masker)
    label_width = max(_width(label) for label, _ in header) + 2
    lines += [_pad(label + ":", label_width) + value for label, value in header]
    if not report.vault:
        lines += ["", *textwrap.wrap(_t("no_vault_note", language), width)]
    fixes = report.fixes()
    lines += _heading(_t("summary", language))
    if fixes:
        columns = [
            _Column(_t("col_code", language), 18, wrap=False),
            _Column(_t("col_severity", language), 12, wrap=False),
            _Column(_t("col_entries", language), 9, wrap=False, right=True),
            _Column(_t("col_description", language), None),
        ]
        rows: list[list[list[str]]] = [
            [
                [code],
                [_t(SEVERITY[code], language)],
                [str(n)],
                [_prose(code_description(code, lang=language))],
            ]
            for code, n in fixes
        ]
        lines += _text_table(columns, rows, width)
    else:
        lines.append(_t("clean" if report.clean else "no_findings", language))
    flagged = _rows(report.entries, language, masker)
    if flagged:
        several = _several_sources(report.entries)
        lines += _heading(_t("flagged", language))
        columns = [
            _Column(_t("col_where" if several else "col_line", language), 24),
            _Column(_t("col_name", language), 24, wrap=False),
            _Column(_t("col_numbers", language), 18),
            _Column(_t("col_findings", language), None),
        ]
        rows = [
            [
                [row.where],
                [row.name or _t("no_name", language)],
                [_kept(n) for n in row.numbers],
                [_finding_line(code, _kept(number), detail) for code, number, detail in row.findings],
            ]
            for row in flagged
        ]
        lines += _text_table(columns, rows, width)
    if fixes:
        lines += _heading(_t("fixes", language))
        for i, (code, n) in enumerate(fixes, 1):
            lead = f"{i:>2}. "
            text = f"{code} ({_entries_word(n, language)}): {_prose(fix_instruction(code, lang=language))}"
            wrapped = textwrap.wrap(
                text, width, initial_indent=lead, subsequent_indent=" " * len(lead), break_on_hyphens=False
            )
            lines += [line.replace(_KEEP, " ") for line in wrapped]
    if report.unreadable:
        lines += _heading(_t("unreadable", language))
        columns = [
            _Column(_t("col_file", language), 40),
            _Column(_t("col_line", language), 8, right=True),
            _Column(_t("col_code", language), 24),
            _Column(_t("col_reason", language), None),
        ]
        rows = [
            [[masker.text(u.source)], [str(u.line)], [masker.text(u.code)], [masker.text(u.message)]]
            for u in report.unreadable
        ]
        lines += _text_table(columns, rows, width)
    return "\n".join(lines) + "\n"


# --- Markdown ----------------------------------------------------------------------------------------------

# Inside a table cell or a list item only inline markup matters. HTML's characters become entities (a
# backslash before "<" is no escape for every Markdown processor: Python-Markdown keeps the tag); the
# characters that start emphasis, code, links and attribute lists get a backslash, which every processor
# knows; "~" (strikethrough) and the starts of bare links ("http://", "www.", "a@b") become entities, since
# not every processor takes a backslash before them. A pipe is escaped, so that it cannot end a cell.


def _md_finding(code: FindingCode, number: str, detail: str) -> str:
    text = f"`{code}`" + (f" {inline(number)}" if number else "")
    return f"{text}: {inline(detail)}" if detail else text


def to_markdown(report: AuditReport, *, lang: Lang = "en", mask_numbers: bool = True) -> str:
    """The report as Markdown: the same content as :func:`to_text`, as tables.

    Every value from the report is escaped: a crafted name cannot end a table cell, start a link, or
    smuggle HTML into a page the Markdown is rendered to.

    Args:
        report: The audit's report.
        lang: ``"en"`` or ``"de"``.
        mask_numbers: Show every number masked, also inside names and details.

    Returns:
        The Markdown text, ending with a newline.

    Raises:
        ValueError: ``lang`` is not supported.
    """
    language = check_lang(lang)
    masker = _Masker(mask_numbers, report.entries)
    lines = [f"# {_t('title', language)}", ""]
    lines += [f"- **{label}:** {inline(value)}" for label, value in _header(report, language, masker)]
    if not report.vault:
        lines += ["", f"*{_t('no_vault_note', language)}*"]
    fixes = report.fixes()
    lines += ["", f"## {_t('summary', language)}", ""]
    if fixes:
        lines += table(
            [_t(k, language) for k in ("col_code", "col_severity", "col_entries", "col_description")],
            (
                [f"`{code}`", _t(SEVERITY[code], language), str(n), code_description(code, lang=language)]
                for code, n in fixes
            ),
            right=(2,),
        )
    else:
        lines.append(_t("clean" if report.clean else "no_findings", language))
    flagged = _rows(report.entries, language, masker)
    if flagged:
        several = _several_sources(report.entries)
        lines += ["", f"## {_t('flagged', language)}", ""]
        lines += table(
            [_t(k, language) for k in ("col_where" if several else "col_line", "col_name", "col_numbers")]
            + [_t("col_findings", language)],
            (
                [
                    inline(row.where),
                    inline(row.name) if row.name else f"*{_t('no_name', language)}*",
                    "<br>".join(inline(n) for n in row.numbers),
                    "<br>".join(_md_finding(*finding) for finding in row.findings),
                ]
                for row in flagged
            ),
        )
    if fixes:
        lines += ["", f"## {_t('fixes', language)}", ""]
        lines += [
            f"{i}. `{code}` ({_entries_word(n, language)}): {fix_instruction(code, lang=language)}"
            for i, (code, n) in enumerate(fixes, 1)
        ]
    if report.unreadable:
        lines += ["", f"## {_t('unreadable', language)}", ""]
        lines += table(
            [_t(k, language) for k in ("col_file", "col_line", "col_code", "col_reason")],
            (
                [
                    inline(masker.text(u.source)),
                    str(u.line),
                    inline(masker.text(u.code)),
                    inline(masker.text(u.message)),
                ]
                for u in report.unreadable
            ),
            right=(1,),
        )
    return "\n".join(lines) + "\n"


# --- HTML --------------------------------------------------------------------------------------------------

_CSP: Final = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

_CSS: Final = """
:root { color-scheme: light; --high: #b3261e; --medium: #a85a00; --low: #52606d; --line: #d5d9de; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #1b1f24; background: #fff; }
main { max-width: 72rem; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 1rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .6rem; border-bottom: 1px solid var(--line); padding-bottom: .2rem; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0; }
dl.meta dt { font-weight: 600; }
dl.meta dd { margin: 0; overflow-wrap: anywhere; }
.note { color: #44505c; font-style: italic; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0; }
th, td { text-align: left; vertical-align: top; padding: .35rem .5rem; border-bottom: 1px solid var(--line); }
th { background: #f3f5f7; font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
td { overflow-wrap: anywhere; }
code, .num { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .92em; }
.num, code { white-space: nowrap; }
.sev { display: inline-block; padding: 0 .45rem; border-radius: .6rem; color: #fff; font-size: .85em; }
.sev.high { background: var(--high); } .sev.medium { background: var(--medium); }
.sev.low { background: var(--low); }
.swatch.high { background: var(--high); } .swatch.medium { background: var(--medium); }
.swatch.low { background: var(--low); }
.finding { margin: 0 0 .2rem; }
.detail { color: #44505c; }
.empty { color: #6b7580; font-style: italic; }
svg.chart { display: block; max-width: 100%; height: auto; margin: .4rem 0; }
svg.chart text { font: 13px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; fill: #1b1f24; }
.legend span { margin-right: 1rem; }
.swatch { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; vertical-align: -1px; }
ol.fixes li { margin-bottom: .4rem; }
footer { margin-top: 2.5rem; color: #6b7580; font-size: .85em; }
@media print { main { max-width: none; padding: 0; } th { background: none; } }
""".strip()


def _h(value: object) -> str:
    return html.escape(str(value), quote=True)


def _chart(report: AuditReport, lang: Lang) -> str:
    """The counts per code as an inline SVG horizontal bar chart, coloured by severity."""
    fixes = report.fixes()
    title = _t("chart", lang)
    summary = "; ".join(f"{code}: {n}" for code, n in fixes) or _t("chart_empty", lang)
    label_width, bar_width, row, top = 170, 380, 26, 8
    height = top * 2 + row * max(len(fixes), 1)
    width = label_width + bar_width + 60
    parts = [
        f'<svg class="chart" role="img" aria-label="{_h(f"{title}: {summary}")}" '
        f'aria-labelledby="chart-title chart-desc" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}">',
        f'<title id="chart-title">{_h(title)}</title>',
        f'<desc id="chart-desc">{_h(summary)}</desc>',
    ]
    if not fixes:
        parts.append(f'<text x="8" y="{top + row // 2 + 5}">{_h(_t("chart_empty", lang))}</text>')
    most = max((n for _, n in fixes), default=1)
    for i, (code, n) in enumerate(fixes):
        y = top + i * row
        bar = max(round(bar_width * n / most), 2)
        severity = SEVERITY[code]
        colour = _SEVERITY_COLOURS[severity]
        parts += [
            f'<g class="bar {severity}">',
            f'<text x="{label_width - 8}" y="{y + 17}" text-anchor="end">{_h(code)}</text>',
            f'<rect x="{label_width}" y="{y + 4}" width="{bar}" height="{row - 8}" rx="2" fill="{colour}">'
            f"<title>{_h(f'{code} ({_t(severity, lang)}): {_entries_word(n, lang)}')}</title></rect>",
            f'<text x="{label_width + bar + 6}" y="{y + 17}">{n}</text>',
            "</g>",
        ]
    parts.append("</svg>")
    return "\n".join(parts)


def _class(name: str) -> str:
    return f' class="{name}"' if name else ""


def _html_table(header: Sequence[tuple[str, str]], rows: Iterable[Sequence[str]]) -> list[str]:
    """A table; ``header`` holds (text, css class) pairs; cells are HTML already."""
    lines = ["<table>", "<thead><tr>"]
    lines += [f'<th scope="col"{_class(cls)}>{_h(text)}</th>' for text, cls in header]
    lines += ["</tr></thead>", "<tbody>"]
    for row in rows:
        cells = "".join(f"<td{_class(cls)}>{cell}</td>" for cell, (_, cls) in zip(row, header, strict=True))
        lines.append(f"<tr>{cells}</tr>")
    lines += ["</tbody>", "</table>"]
    return lines


def _html_severity(code: FindingCode, lang: Lang) -> str:
    severity = SEVERITY[code]
    return f'<span class="sev {severity}">{_h(_t(severity, lang))}</span>'


def _html_finding(code: FindingCode, number: str, detail: str) -> str:
    text = f"<code>{_h(code)}</code>"
    if number:
        text += f' <span class="num">{_h(number)}</span>'
    if detail:
        text += f': <span class="detail">{_h(detail)}</span>'
    return f'<div class="finding">{text}</div>'


def _html_codes(
    fixes: list[tuple[FindingCode, int]], language: Lang, column: str, text: Callable[..., str]
) -> list[str]:
    """A table of the codes that occur: code, severity, entries, and ``text(code, lang=...)``."""
    header = [(_t(key, language), align) for key, align in _CODE_COLUMNS] + [(_t(column, language), "")]
    rows = (
        [f"<code>{_h(code)}</code>", _html_severity(code, language), str(n), _h(text(code, lang=language))]
        for code, n in fixes
    )
    return _html_table(header, rows)


_CODE_COLUMNS: Final = (("col_code", ""), ("col_severity", ""), ("col_entries", "n"))


def to_html(report: AuditReport, *, lang: Lang = "en", mask_numbers: bool = True) -> str:
    """The report as one self-contained HTML5 file, with a bar chart of the counts per code.

    The file needs nothing else: the style is inline, the chart is inline SVG, there is no JavaScript and
    no reference to anything outside the file. Every value from the report is HTML-escaped, and a
    Content-Security-Policy forbids scripts and external resources in case anything ever slipped through.

    Args:
        report: The audit's report.
        lang: ``"en"`` or ``"de"`` (also the document's ``lang``).
        mask_numbers: Show every number masked, also inside names and details.

    Returns:
        The HTML document.

    Raises:
        ValueError: ``lang`` is not supported.
    """
    language = check_lang(lang)
    masker = _Masker(mask_numbers, report.entries)
    title = _t("title", language)
    out = [
        "<!DOCTYPE html>",
        f'<html lang="{language}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="generator" content="contactvault">',
        f"<title>{_h(title)}: {_h(masker.text(report.source))}</title>",
        f"<style>\n{_CSS}\n</style>",
        "</head>",
        "<body>",
        "<main>",
        f"<h1>{_h(title)}</h1>",
        '<dl class="meta">',
    ]
    out += [f"<dt>{_h(label)}</dt><dd>{_h(value)}</dd>" for label, value in _header(report, language, masker)]
    out.append("</dl>")
    if not report.vault:
        out.append(f'<p class="note">{_h(_t("no_vault_note", language))}</p>')
    fixes = report.fixes()
    out += [f'<section id="summary"><h2>{_h(_t("summary", language))}</h2>', _chart(report, language)]
    if fixes:
        present = [s for s in ("high", "medium", "low") if any(SEVERITY[c] == s for c, _ in fixes)]
        legend = "".join(f'<span><i class="swatch {s}"></i>{_h(_t(s, language))}</span>' for s in present)
        out.append(f'<p class="legend">{_h(_t("legend", language))}: {legend}</p>')
        out += _html_codes(fixes, language, "col_description", code_description)
    else:
        out.append(f"<p>{_h(_t('clean' if report.clean else 'no_findings', language))}</p>")
    out.append("</section>")
    flagged = _rows(report.entries, language, masker)
    if flagged:
        several = _several_sources(report.entries)
        out.append(f'<section id="entries"><h2>{_h(_t("flagged", language))}</h2>')
        out += _html_table(
            [
                (_t("col_where" if several else "col_line", language), ""),
                (_t("col_name", language), ""),
                (_t("col_numbers", language), ""),
                (_t("col_findings", language), ""),
            ],
            (
                [
                    _h(row.where),
                    f"<bdi>{_h(row.name)}</bdi>"
                    if row.name
                    else f'<span class="empty">{_h(_t("no_name", language))}</span>',
                    "<br>".join(f'<span class="num">{_h(n)}</span>' for n in row.numbers),
                    "".join(_html_finding(*finding) for finding in row.findings),
                ]
                for row in flagged
            ),
        )
        out.append("</section>")
    if fixes:
        out.append(f'<section id="fixes"><h2>{_h(_t("fixes", language))}</h2>')
        out += _html_codes(fixes, language, "col_fix", fix_instruction)
        out.append("</section>")
    if report.unreadable:
        out.append(f'<section id="unreadable"><h2>{_h(_t("unreadable", language))}</h2>')
        out += _html_table(
            [
                (_t("col_file", language), ""),
                (_t("col_line", language), "n"),
                (_t("col_code", language), ""),
                (_t("col_reason", language), ""),
            ],
            (
                [
                    _h(masker.text(u.source)),
                    str(u.line),
                    f"<code>{_h(masker.text(u.code))}</code>",
                    _h(masker.text(u.message)),
                ]
                for u in report.unreadable
            ),
        )
        out.append("</section>")
    out += [f"<footer>{_h(_t('footer', language))}</footer>", "</main>", "</body>", "</html>"]
    return "\n".join(out) + "\n"


# --- dispatch ----------------------------------------------------------------------------------------------


def render(report: AuditReport, fmt: Format, *, lang: Lang = "en", mask_numbers: bool = True) -> str:
    """The report in one of `FORMATS`.

    Args:
        report: The audit's report.
        fmt: ``"text"``, ``"json"`` (:meth:`AuditReport.to_json`; its keys are English whatever
            ``lang``), ``"markdown"`` or ``"html"``.
        lang: ``"en"`` or ``"de"``.
        mask_numbers: Show every number masked. For JSON, masking also leaves out the entry keys (a
            masked report cannot be diffed).

    Returns:
        The rendering.

    Raises:
        ValueError: ``fmt`` or ``lang`` is not supported.
    """
    language = check_lang(lang)
    if fmt == "text":
        return to_text(report, lang=language, mask_numbers=mask_numbers)
    if fmt == "json":
        return report.to_json(mask_numbers=mask_numbers)
    if fmt == "markdown":
        return to_markdown(report, lang=language, mask_numbers=mask_numbers)
    if fmt == "html":
        return to_html(report, lang=language, mask_numbers=mask_numbers)
    raise ValueError(f"unknown report format; use one of {', '.join(FORMATS)}")


# --- diffs -------------------------------------------------------------------------------------------------


def _diff_rows(
    pairs: Sequence[tuple[AuditEntry, Finding]], several: bool, lang: Lang, masker: _Masker
) -> list[tuple[str, str, FindingCode, str, str]]:
    """(where, name, code, number, detail) of each changed finding, cleaned and masked."""
    return [
        (
            _where(entry, several, masker),
            _name(entry, masker),
            finding.code,
            masker.number(finding.number) if finding.number else "",
            _detail(finding, lang, masker),
        )
        for entry, finding in pairs
    ]


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
    entries = [entry for entry, _ in (*diff.new, *diff.resolved)]
    masker = _Masker(mask_numbers, entries)
    several = _several_sources(entries)
    title = _t("diff_title", language)
    lines = [title, "=" * _width(title)]
    if not diff:
        lines.append(_t("diff_none", language))
        return "\n".join(lines) + "\n"
    lines.append(_t("diff_counts", language, new=len(diff.new), resolved=len(diff.resolved)))
    columns = [
        _Column(_t("col_where" if several else "col_line", language), 24),
        _Column(_t("col_name", language), 24, wrap=False),
        _Column(_t("col_code", language), 18, wrap=False),
        _Column(_t("col_number", language), 18),
        _Column(_t("col_detail", language), None),
    ]
    for key, pairs in (("diff_new", diff.new), ("diff_resolved", diff.resolved)):
        if not pairs:
            continue
        lines += _heading(f"{_t(key, language)} ({len(pairs)})")
        rows: list[list[list[str]]] = [
            [
                [where],
                [name or _t("no_name", language)],
                [code],
                [_kept(number) or _t("none", language)],
                [detail],
            ]
            for where, name, code, number, detail in _diff_rows(pairs, several, language, masker)
        ]
        lines += _text_table(columns, rows, width)
    return "\n".join(lines) + "\n"


def diff_to_markdown(diff: AuditDiff, *, lang: Lang = "en", mask_numbers: bool = True) -> str:
    """The changes between two audits as Markdown: a table of new findings, one of resolved ones.

    Args:
        diff: What :meth:`AuditReport.diff` returned.
        lang: ``"en"`` or ``"de"``.
        mask_numbers: Show every number masked, also inside names.

    Returns:
        The Markdown text, ending with a newline.

    Raises:
        ValueError: ``lang`` is not supported.
    """
    language = check_lang(lang)
    entries = [entry for entry, _ in (*diff.new, *diff.resolved)]
    masker = _Masker(mask_numbers, entries)
    several = _several_sources(entries)
    lines = [f"# {_t('diff_title', language)}", ""]
    if not diff:
        lines.append(_t("diff_none", language))
        return "\n".join(lines) + "\n"
    lines.append(_t("diff_counts", language, new=len(diff.new), resolved=len(diff.resolved)))
    header = [
        _t(k, language)
        for k in ("col_where" if several else "col_line", "col_name", "col_code", "col_number", "col_detail")
    ]
    for key, pairs in (("diff_new", diff.new), ("diff_resolved", diff.resolved)):
        if not pairs:
            continue
        lines += ["", f"## {_t(key, language)} ({len(pairs)})", ""]
        lines += table(
            header,
            (
                [
                    inline(where),
                    inline(name) if name else f"*{_t('no_name', language)}*",
                    f"`{code}`",
                    inline(number) if number else _t("none", language),
                    inline(detail),
                ]
                for where, name, code, number, detail in _diff_rows(pairs, several, language, masker)
            ),
        )
    return "\n".join(lines) + "\n"
