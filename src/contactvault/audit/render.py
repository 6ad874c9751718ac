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

One module per format (``_render_text``, ``_render_markdown``, ``_render_html``), the words of both
languages in one (``_render_words``) and what every format shows in one (``_render_rows``); import them
from here.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

from contactvault.audit._render_html import to_html
from contactvault.audit._render_markdown import diff_to_markdown, to_markdown
from contactvault.audit._render_text import diff_to_text, to_text
from contactvault.audit._render_words import code_description, fix_instruction
from contactvault.audit.report import AuditReport
from contactvault.i18n import Lang, check_lang

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
