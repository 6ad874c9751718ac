"""The audit report and its diffs as Markdown: the same content as the plain text, as tables.

Every value from the report is escaped with :func:`contactvault.markdown.inline`: a crafted name cannot
end a table cell, start a link, or smuggle HTML into a page the Markdown is rendered to.
"""

from __future__ import annotations

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
from contactvault.markdown import inline, table

__all__ = ["diff_to_markdown", "to_markdown"]

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
    masker = Masker(mask_numbers, report.entries)
    lines = [f"# {t('title', language)}", ""]
    lines += [f"- **{label}:** {inline(value)}" for label, value in header_pairs(report, language, masker)]
    if not report.vault:
        lines += ["", f"*{t('no_vault_note', language)}*"]
    fixes = report.fixes()
    lines += ["", f"## {t('summary', language)}", ""]
    if fixes:
        lines += table(
            [t(k, language) for k in ("col_code", "col_severity", "col_entries", "col_description")],
            (
                [f"`{code}`", t(SEVERITY[code], language), str(n), code_description(code, lang=language)]
                for code, n in fixes
            ),
            right=(2,),
        )
    else:
        lines.append(t("clean" if report.clean else "no_findings", language))
    flagged = flagged_rows(report.entries, language, masker)
    if flagged:
        several = several_sources(report.entries)
        lines += ["", f"## {t('flagged', language)}", ""]
        lines += table(
            [t(k, language) for k in ("col_where" if several else "col_line", "col_name", "col_numbers")]
            + [t("col_findings", language)],
            (
                [
                    inline(row.where),
                    inline(row.name) if row.name else f"*{t('no_name', language)}*",
                    "<br>".join(inline(n) for n in row.numbers),
                    "<br>".join(_md_finding(*finding) for finding in row.findings),
                ]
                for row in flagged
            ),
        )
    if fixes:
        lines += ["", f"## {t('fixes', language)}", ""]
        lines += [
            f"{i}. `{code}` ({entries_word(n, language)}): {fix_instruction(code, lang=language)}"
            for i, (code, n) in enumerate(fixes, 1)
        ]
    if report.unreadable:
        lines += ["", f"## {t('unreadable', language)}", ""]
        lines += table(
            [t(k, language) for k in ("col_file", "col_line", "col_code", "col_reason")],
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
    lines = [f"# {t('diff_title', language)}", ""]
    if not diff:
        lines.append(t("diff_none", language))
        return "\n".join(lines) + "\n"
    lines.append(t("diff_counts", language, new=len(diff.new), resolved=len(diff.resolved)))
    several, parts = diff_parts(diff, language, mask_numbers)
    header = [
        t(k, language)
        for k in ("col_where" if several else "col_line", "col_name", "col_code", "col_number", "col_detail")
    ]
    for key, changed in parts:
        lines += ["", f"## {t(key, language)} ({len(changed)})", ""]
        lines += table(
            header,
            (
                [
                    inline(where),
                    inline(name) if name else f"*{t('no_name', language)}*",
                    f"`{code}`",
                    inline(number) if number else t("none", language),
                    inline(detail),
                ]
                for where, name, code, number, detail in changed
            ),
        )
    return "\n".join(lines) + "\n"
