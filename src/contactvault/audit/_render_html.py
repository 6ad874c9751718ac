"""The audit report as one self-contained HTML5 file, with an inline SVG bar chart of the counts per code.

The style is inline, there is no JavaScript and no reference to anything outside the file. Every value is
HTML-escaped, and a Content-Security-Policy forbids scripts and external resources as a second line of
defence.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence
from typing import Final

from contactvault.audit._render_rows import Masker, entries_word, flagged_rows, header_pairs, several_sources
from contactvault.audit._render_words import code_description, fix_instruction, t
from contactvault.audit.report import SEVERITY, AuditReport, FindingCode
from contactvault.i18n import Lang, check_lang

__all__ = ["to_html"]

_SEVERITY_COLOURS: Final = {"high": "#b3261e", "medium": "#a85a00", "low": "#52606d"}

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
    title = t("chart", lang)
    summary = "; ".join(f"{code}: {n}" for code, n in fixes) or t("chart_empty", lang)
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
        parts.append(f'<text x="8" y="{top + row // 2 + 5}">{_h(t("chart_empty", lang))}</text>')
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
            f"<title>{_h(f'{code} ({t(severity, lang)}): {entries_word(n, lang)}')}</title></rect>",
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
    return f'<span class="sev {severity}">{_h(t(severity, lang))}</span>'


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
    header = [(t(key, language), align) for key, align in _CODE_COLUMNS] + [(t(column, language), "")]
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
    masker = Masker(mask_numbers, report.entries)
    title = t("title", language)
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
    out += [
        f"<dt>{_h(label)}</dt><dd>{_h(value)}</dd>" for label, value in header_pairs(report, language, masker)
    ]
    out.append("</dl>")
    if not report.vault:
        out.append(f'<p class="note">{_h(t("no_vault_note", language))}</p>')
    fixes = report.fixes()
    out += [f'<section id="summary"><h2>{_h(t("summary", language))}</h2>', _chart(report, language)]
    if fixes:
        present = [s for s in ("high", "medium", "low") if any(SEVERITY[c] == s for c, _ in fixes)]
        legend = "".join(f'<span><i class="swatch {s}"></i>{_h(t(s, language))}</span>' for s in present)
        out.append(f'<p class="legend">{_h(t("legend", language))}: {legend}</p>')
        out += _html_codes(fixes, language, "col_description", code_description)
    else:
        out.append(f"<p>{_h(t('clean' if report.clean else 'no_findings', language))}</p>")
    out.append("</section>")
    flagged = flagged_rows(report.entries, language, masker)
    if flagged:
        several = several_sources(report.entries)
        out.append(f'<section id="entries"><h2>{_h(t("flagged", language))}</h2>')
        out += _html_table(
            [
                (t("col_where" if several else "col_line", language), ""),
                (t("col_name", language), ""),
                (t("col_numbers", language), ""),
                (t("col_findings", language), ""),
            ],
            (
                [
                    _h(row.where),
                    f"<bdi>{_h(row.name)}</bdi>"
                    if row.name
                    else f'<span class="empty">{_h(t("no_name", language))}</span>',
                    "<br>".join(f'<span class="num">{_h(n)}</span>' for n in row.numbers),
                    "".join(_html_finding(*finding) for finding in row.findings),
                ]
                for row in flagged
            ),
        )
        out.append("</section>")
    if fixes:
        out.append(f'<section id="fixes"><h2>{_h(t("fixes", language))}</h2>')
        out += _html_codes(fixes, language, "col_fix", fix_instruction)
        out.append("</section>")
    if report.unreadable:
        out.append(f'<section id="unreadable"><h2>{_h(t("unreadable", language))}</h2>')
        out += _html_table(
            [
                (t("col_file", language), ""),
                (t("col_line", language), "n"),
                (t("col_code", language), ""),
                (t("col_reason", language), ""),
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
    out += [f"<footer>{_h(t('footer', language))}</footer>", "</main>", "</body>", "</html>"]
    return "\n".join(out) + "\n"
