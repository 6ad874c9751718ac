"""The audit report rendered as text, Markdown, HTML and JSON, in English and German (audit.render)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import markdown
import pytest
from markdown_it import MarkdownIt

from contactvault import Contact, KdfParams, Vault, normalize_phone
from contactvault.audit import FINDING_CODES, SEVERITY, AuditEntry, AuditReport, Finding, audit_phonebook
from contactvault.audit.render import (
    FORMATS,
    code_description,
    diff_to_markdown,
    diff_to_text,
    fix_instruction,
    render,
    to_html,
    to_markdown,
    to_text,
)
from contactvault.audit.report import Unreadable
from contactvault.i18n import LANGS
from contactvault.models import MessengerPresence
from tests.conftest import consent, vcf

FAST = KdfParams.insecure_fast_for_tests()
NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)

# Synthetic people and numbers (+49 151 555 0xxxx: not assigned to anybody).
ANNA, BERND, CARLA, DORA = "Anna Beispiel", "Bernd Müller", "Carla Probe", "Dora Muster"
NUMBERS = {ANNA: "+4915155501201", BERND: "+4915155501202", CARLA: "+4915155501203", DORA: "+4915155501204"}
UNKNOWN = "+4915155509999"

XSS_SCRIPT = "<script>alert(1)</script>"
XSS_ATTR = '"><img src=x onerror=alert(1)>'
MD_LINK = "[click](javascript:alert(1)) ![x](y.png) <b>bold</b> *em* _u_ `code` ~~s~~ | pipe \\ {.cls}"
BARE_LINK = "see https://example.org and www.example.org or a@example.org"


def _contact(name: str) -> Contact:
    presence = MessengerPresence(present=True, source="manual", checked_at=NOW - timedelta(days=1))
    phone = normalize_phone(NUMBERS[name], default_region="DE").model_copy(update={"messenger": presence})
    return Contact.model_validate({"display_name": name, "phones": (phone,), "consents": (consent(),)})


def _card(name: str, number: str, *extra: str) -> bytes:
    return vcf("BEGIN:VCARD", "VERSION:3.0", f"FN:{name}", f"TEL;TYPE=CELL:{number}", *extra, "END:VCARD")


@pytest.fixture
def vault(tmp_path):
    """Four contacts the default policy allows; Bernd then withdraws his consent."""
    with Vault.create(tmp_path / "v.db", "a passphrase here", kdf=FAST) as opened:
        ids = {name: opened.add(_contact(name)) for name in NUMBERS}
        opened.withdraw_consent(ids[BERND], "messenger", channel="email", at=NOW - timedelta(hours=1))
        yield opened


def _phone_book(*, anna_email: bool = True, unknown: bool = True) -> bytes:
    """The phone's export: Anna with an e-mail, Bernd (withdrawn), Carla labelled, Dora, an unknown twice.

    Carla's name holds the CRM label "bezahlt"; the unknown number is on two entries (a duplicate).
    """
    cards = [
        _card(ANNA, NUMBERS[ANNA], *(["EMAIL:anna@example.org"] if anna_email else [])),
        _card(BERND, NUMBERS[BERND]),
        _card(f"{CARLA} - bezahlt", NUMBERS[CARLA]),
        _card(DORA, NUMBERS[DORA]),
    ]
    if unknown:
        cards += [_card("Unbekannt Neu", UNKNOWN), _card("Unbekannt Alt", "0151 55509999")]
    return b"".join(cards)


def _audit(vault: Vault, tmp_path: Path, **book: bool) -> AuditReport:
    path = tmp_path / "phone.vcf"
    path.write_bytes(_phone_book(**book))
    return audit_phonebook(path, vault=vault, default_region="DE", now=NOW)


@pytest.fixture
def report(vault, tmp_path):
    return _audit(vault, tmp_path)


@pytest.fixture
def corpus_report(corpus):
    return audit_phonebook(corpus, default_region="DE", now=NOW)


def _crafted(*names: str, unreadable: tuple[Unreadable, ...] = ()) -> AuditReport:
    """A report whose entries have the given (hostile) names, each with an unknown number."""
    entries = tuple(
        AuditEntry(
            key=f"uid:{i}",
            line=1 + 5 * i,
            source="phone.vcf",
            display_name=name,
            numbers=(f"+49151555{10000 + i}",),
            contacts=0,
            findings=(Finding("unknown_contact", f"+49151555{10000 + i}"),),
        )
        for i, name in enumerate(names)
    )
    return AuditReport(
        created_at=NOW,
        source="phone.vcf",
        region="DE",
        vault=True,
        policy="0123456789abcdef" * 4,
        entries=entries,
        unreadable=unreadable,
    )


def _numbers(report: AuditReport) -> set[str]:
    """Every number of the report with five digits or more, as stored (E.164 or as typed)."""
    found = {n for e in report.entries for n in e.numbers}
    found |= {f.number for _, f in report.findings if f.number}
    return {n for n in found if sum(ch.isdigit() for ch in n) >= 5}


def _full_number_in(text: str, number: str) -> bool:
    """Whether ``number`` appears in full: as stored, or as "+" and its digits, or as its digit run."""
    digits = "".join(ch for ch in number if ch.isdigit())
    return number in text or f"+{digits}" in text or (len(digits) >= 7 and digits in text)


# --- strings --------------------------------------------------------------------------------------------


def test_every_code_has_a_description_and_a_fix_in_every_language():
    for code in FINDING_CODES:
        for lang in LANGS:
            assert code_description(code, lang=lang).strip()
            assert fix_instruction(code, lang=lang).strip()
        assert code_description(code, lang="de") != code_description(code, lang="en")
        assert fix_instruction(code, lang="de") != fix_instruction(code, lang="en")


@pytest.mark.parametrize(
    ("code", "en", "de"),
    [
        ("consent_withdrawn", "Art. 7(3)", "Art. 7 Abs. 3 DSGVO"),
        ("restricted", "Art. 18", "Art. 18 DSGVO"),
        ("objected", "Art. 21", "Art. 21 DSGVO"),
        ("minor", "Art. 8", "Art. 8 DSGVO"),
    ],
)
def test_fixes_name_the_gdpr_article(code, en, de):
    assert en in fix_instruction(code, lang="en")
    assert de in fix_instruction(code, lang="de")


def test_the_given_instructions():
    assert fix_instruction("unknown_contact") == (
        "Add the contact to the vault with a legal basis, or delete it from the phone."
    )
    assert fix_instruction("extra_fields").startswith("Remove these fields from the phone's contacts")
    assert (
        fix_instruction("label_in_name")
        == "Remove the CRM label from the name; use the vault's labels instead."
    )


def test_unknown_code_or_language_fails():
    with pytest.raises(ValueError, match="unknown finding code"):
        code_description("nonsense")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown finding code"):
        fix_instruction("nonsense")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unsupported language"):
        code_description("duplicate", lang="fr")  # type: ignore[arg-type]


# --- content: every format shows the counts, the codes, the entries and the fixes ----------------------


def test_the_synthetic_report_has_the_expected_codes(report):
    """The fixture's phone book yields the codes the rendering tests rely on."""
    assert {code for code, _ in report.fixes()} == {
        "unknown_contact",
        "consent_withdrawn",
        "extra_fields",
        "label_in_name",
        "duplicate",
    }


def test_text_holds_header_counts_entries_and_fixes(report):
    text = to_text(report)
    assert text.startswith("Audit of the messenger address book\n")
    assert "Source:" in text
    assert "phone.vcf" in text
    assert "2026-11-02 09:30" in text
    assert "Vault compared: yes" in text
    assert report.policy is not None
    assert report.policy[:12] in text
    assert report.policy not in text
    assert f"{len(report.entries)} total, {len(report.flagged)} with findings" in text
    for code, n in report.fixes():
        assert re.search(rf"^{code}\s+{SEVERITY[code]}\s+{n}\s", text, re.MULTILINE), code
        assert f"{code} (" in text
    for entry in report.flagged:
        assert entry.display_name in text
    assert DORA not in text  # no findings, not listed
    assert "EMAIL" in text  # the extra field named
    assert 'label "bezahlt"' in text
    fixes = text.split("What to do (most serious first)")[1]
    positions = [fixes.index(fix_instruction(code)[:40]) for code, _ in report.fixes()]
    assert positions == sorted(positions)  # most serious first


def test_markdown_holds_counts_and_codes(report):
    text = to_markdown(report)
    assert text.startswith("# Audit of the messenger address book\n")
    for code, n in report.fixes():
        assert f"| `{code}` | {SEVERITY[code]} | {n} |" in text
        assert fix_instruction(code) in text
    assert "## Entries with findings" in text
    assert "| Line | Name | Numbers | Findings |" in text


def test_html_holds_counts_codes_and_chart(report):
    page = to_html(report)
    assert page.startswith("<!DOCTYPE html>\n")
    assert '<html lang="en">' in page
    assert '<meta charset="utf-8">' in page
    assert "<title>Audit of the messenger address book: phone.vcf</title>" in page
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert 'role="img"' in svg
    assert 'aria-label="' in svg
    assert '<title id="chart-title">' in svg
    assert svg.count("<rect") == len(report.fixes())
    for code, n in report.fixes():
        assert f">{code}</text>" in svg
        assert f">{n}</text>" in svg
        assert f'<g class="bar {SEVERITY[code]}">' in svg
        assert f"<td><code>{code}</code></td>" in page
        assert html_escape(fix_instruction(code)) in page
    assert "#b3261e" in svg  # high findings are red


def html_escape(text: str) -> str:
    import html  # noqa: PLC0415

    return html.escape(text, quote=True)


def test_german_uses_german_headings(report):
    text = to_text(report, lang="de")
    assert text.startswith("Prüfung des Messenger-Adressbuchs\n")
    for heading in (
        "Befunde je Code",
        "Einträge mit Befunden",
        "Was zu tun ist",
        "Mit Tresor abgeglichen: ja",
    ):
        assert heading in text
    assert "Findings per code" not in text
    assert "hoch" in text
    assert "niedrig" in text
    assert "Label „bezahlt“" in text
    assert "auch phone.vcf Zeile" in text  # the duplicate's detail, in German
    assert fix_instruction("consent_withdrawn", lang="de") in " ".join(text.split())
    md = to_markdown(report, lang="de")
    assert md.startswith("# Prüfung des Messenger-Adressbuchs\n")
    assert "| Zeile | Name | Nummern | Befunde |" in md
    page = to_html(report, lang="de")
    assert '<html lang="de">' in page
    assert "<h2>Befunde je Code</h2>" in page
    assert "Befunde je Code (Einträge)" in page  # the chart's title


def test_corpus_renders_in_every_format_and_language(corpus_report):
    """The real exports (synthetic "John Doe" samples): every format, both languages, all entries."""
    assert corpus_report.flagged
    for lang in LANGS:
        for fmt in FORMATS:
            out = render(corpus_report, fmt, lang=lang)
            for code, _ in corpus_report.fixes():
                assert code in out
    text = to_text(corpus_report)
    assert "File:line" in text  # a folder: entries are located by file and line
    assert "ez-vcard/John_Doe_IPHONE" in text.replace("\n", "")
    assert "Without" not in text
    assert "No vault was compared" in text


@pytest.mark.parametrize("width", [60, 80, 100, 140])
def test_text_fits_the_width(corpus_report, report, width):
    for rendered in (to_text(corpus_report, width=width), to_text(report, width=width)):
        lines = rendered.splitlines()
        table = [line for line in lines if not line.startswith(("Source", "Created"))]
        assert max(len(line) for line in table) <= width
        assert "\x00" not in rendered  # the wrapping guard never leaks


def test_long_names_are_cut_with_an_ellipsis():
    long = "Maximiliane Wilhelmine Friederike von Hohenzollern-Sigmaringen"
    text = to_text(_crafted(long))
    assert long not in text
    (line,) = [line for line in text.splitlines() if "Maximiliane" in line]
    assert "Maximiliane Wilhelmine" in line
    assert "…" in line


def test_a_clean_report():
    empty = AuditReport(created_at=NOW, source="book.vcf", region="DE", vault=False, policy=None, entries=())
    assert "No findings: every entry was read and none has a finding." in to_text(empty)
    assert "Keine Befunde" in to_markdown(empty, lang="de")
    page = to_html(empty)
    assert "<svg" in page
    assert ">No findings</text>" in page
    assert "<rect" not in page


def test_unreadable_cards_are_listed_in_every_format():
    problem = Unreadable("phone.vcf", 42, "missing_end", "line 42: the card has no END:VCARD")
    crafted = _crafted("Anna Beispiel", unreadable=(problem,))
    for fmt in ("text", "markdown", "html"):
        out = render(crafted, fmt)
        assert "missing" in out
        assert "42" in out
        assert "Unreadable cards" in out
    assert "Nicht lesbare Karten" in to_text(crafted, lang="de")


def test_entries_without_a_name_are_marked():
    crafted = _crafted("")
    assert "(no name)" in to_text(crafted)
    assert "*(ohne Namen)*" in to_markdown(crafted, lang="de")


# --- masking -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_masking_hides_every_full_number(report, corpus_report, fmt):
    for source in (report, corpus_report):
        numbers = _numbers(source)
        assert numbers
        masked = render(source, fmt)
        for number in numbers:
            assert not _full_number_in(masked, number), number
        assert "••" in masked


def test_unmasked_output_shows_the_numbers(report):
    for fmt in ("text", "markdown", "html"):
        out = render(report, fmt, mask_numbers=False)
        assert UNKNOWN in out
        assert "shown in full" in out or "shown in full" in out.replace("\n", " ")


def test_masking_reaches_numbers_inside_names_and_details():
    """A name that is (or holds) a number, and a detail naming one, are masked too; the names stay."""
    crafted = _crafted(
        "+49 151 55512345", "Ruf an: 0049 151 555 12345", "Anna 4915155510001 x", "0151 55510003"
    )
    for fmt in ("text", "markdown", "html"):
        out = render(crafted, fmt)
        for digits in ("4915155512345", "15155512345", "4915155510001", "4915155510000", "15155510003"):
            assert digits not in out.replace(" ", ""), (fmt, digits)
        assert "Ruf an" in out
        assert "Anna" in out


def test_masking_keeps_line_numbers_and_dates(report):
    text = to_text(report)
    assert "2026-11-02" in text
    assert re.search(r"^1\s+Anna Beispiel", text, re.MULTILINE)


# --- escaping: names are chosen by whoever typed them into a phone ----------------------------------------


class _Tags(HTMLParser):
    """The tags and attribute names of a document, and the tags inside table cells."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.in_cells: set[str] = set()
        self._cell = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)
        if self._cell:
            self.in_cells.add(tag)
        if tag == "td":
            self._cell += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._cell -= 1


def _tags(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    return parser


HOSTILE = (
    XSS_SCRIPT,
    XSS_ATTR,
    MD_LINK,
    BARE_LINK,
    "two\nlines\r\nhere",
    "bidi \u202eevil\u202c \x1b[31mred",
)


def test_html_escapes_every_name():
    page = to_html(_crafted(*HOSTILE))
    assert "<script" not in page.lower()
    assert "<img" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    found = _tags(page)
    allowed = {"html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "dl", "dt", "dd"}
    allowed |= {"p", "section", "svg", "desc", "g", "text", "rect", "table", "thead", "tbody", "tr", "th"}
    allowed |= {"td", "code", "span", "i", "br", "div", "bdi", "footer"}
    assert found.tags <= allowed
    assert not any(name.startswith("on") for name in found.attributes)
    assert not {"src", "href"} & found.attributes
    assert "U+202E" in page
    assert "U+001B" in page


def test_html_has_no_external_reference(report, corpus_report):
    for source in (report, corpus_report, _crafted(*HOSTILE)):
        for lang in LANGS:
            page = to_html(source, lang=lang)
            found = _tags(page)
            assert not {"src", "href", "xlink:href", "action", "srcset", "data", "poster"} & found.attributes
            assert "<script" not in page.lower()
            assert "@import" not in page
            assert "url(" not in page.lower()
            assert "<link" not in page.lower()
            assert "<iframe" not in page.lower()
    for source in (report, corpus_report):  # their names hold no URL: no URL and no attribute to load one
        page = to_html(source)
        assert not re.search(r"https?:|//", page)
        assert not re.search(r"\b(?:src|href|xlink:href|srcset)\s*=", page, re.IGNORECASE)
    assert "Content-Security-Policy" in to_html(report)


def test_markdown_escapes_every_name():
    """Rendered by CommonMark (markdown-it) and by Python-Markdown (MkDocs), a hostile name stays text."""
    crafted = _crafted(*HOSTILE)
    md = to_markdown(crafted)
    table = md.split("## Entries with findings")[1].split("\n## ")[0]
    rows = [line for line in table.splitlines() if line.startswith("|")]
    assert len(rows) == 2 + len(HOSTILE)
    for row in rows:  # every row has exactly four cells: no pipe from a name ends one
        assert len(re.findall(r"(?<!\\)\|", row)) == 5
    commonmark = MarkdownIt("commonmark").enable("table").enable("strikethrough")
    for rendered in (commonmark.render(md), markdown.markdown(md, extensions=["tables"])):
        found = _tags(rendered)
        assert not {"script", "img", "a", "b"} & found.tags, found.tags
        assert found.in_cells <= {"code", "br", "em"}, found.in_cells  # ours: codes, breaks, "(no name)"
        assert "href" not in found.attributes
        assert rendered.count("<tr>") == 1 + 1 + len(crafted.fixes()) + len(HOSTILE)  # header rows + rows
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered
        assert "javascript:alert(1)" in rendered  # shown as text
    md_link = to_markdown(_crafted(MD_LINK))
    for rendered in (commonmark.render(md_link), markdown.markdown(md_link, extensions=["tables"])):
        assert _tags(rendered).in_cells <= {"code"}  # no emphasis, strikethrough, link or image
    assert "\x1b" not in md
    assert "\u202e" not in md


def test_text_makes_control_characters_visible():
    text = to_text(_crafted(*HOSTILE, "\x1b[31mred", "a\u202eb"), width=200)
    assert "\x1b" not in text
    assert "\u202e" not in text
    assert "\r" not in text
    assert "U+001B[31mred" in text
    assert "aU+202Eb" in text
    assert "two lines here" in text


# --- dispatch ----------------------------------------------------------------------------------------------


def test_render_dispatches_every_format(report):
    assert FORMATS == ("text", "json", "markdown", "html")
    assert render(report, "text") == to_text(report)
    assert render(report, "markdown", lang="de") == to_markdown(report, lang="de")
    assert render(report, "html", mask_numbers=False) == to_html(report, mask_numbers=False)
    assert render(report, "json") == report.to_json(mask_numbers=True)
    assert json.loads(render(report, "json", mask_numbers=False))["masked"] is False


def test_render_rejects_unknown_format_and_language(report):
    with pytest.raises(ValueError, match="unknown report format"):
        render(report, "pdf")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unsupported language"):
        render(report, "text", lang="fr")  # type: ignore[arg-type]
    for function in (to_text, to_markdown, to_html):
        with pytest.raises(ValueError, match="unsupported language"):
            function(report, lang="EN")  # type: ignore[arg-type]


# --- diffs ---------------------------------------------------------------------------------------------


def test_diff_rendering_shows_new_and_resolved(vault, tmp_path):
    previous = AuditReport.from_json(_audit(vault, tmp_path, unknown=False).to_json())
    current = _audit(vault, tmp_path, anna_email=False)
    diff = current.diff(previous)
    assert {f.code for _, f in diff.new} == {"unknown_contact", "duplicate"}
    assert {f.code for _, f in diff.resolved} == {"extra_fields"}

    text = diff_to_text(diff)
    new, resolved = text.split(f"New findings ({len(diff.new)})")[1].split("Resolved findings (1)")
    assert f"{len(diff.new)} new, 1 resolved" in text
    assert "Unbekannt" in new
    assert "unknown_contact" in new
    assert "+49 ••••••••• 99" in new
    assert "duplicate" in new
    assert "also phone.vcf line" in new
    assert ANNA in resolved
    assert "extra_fields" in resolved
    assert "EMAIL" in resolved
    assert not _full_number_in(text, UNKNOWN)
    assert UNKNOWN in diff_to_text(diff, mask_numbers=False)

    md = diff_to_markdown(diff, lang="de")
    assert f"## Neue Befunde ({len(diff.new)})" in md
    assert "## Behobene Befunde (1)" in md
    assert "| Zeile | Name | Code | Nummer | Angabe |" in md
    assert "| `unknown_contact` |" in md
    assert "| `extra_fields` |" in md
    assert not _full_number_in(md, UNKNOWN)


def test_an_empty_diff(report):
    diff = report.diff(report)
    assert "No changes since the previous audit." in diff_to_text(diff)
    assert "Keine Änderungen seit der letzten Prüfung." in diff_to_markdown(diff, lang="de")


def test_diff_markdown_escapes_names():
    before = _crafted()
    after = _crafted(XSS_SCRIPT, MD_LINK)
    md = diff_to_markdown(after.diff(before))
    rendered = MarkdownIt("commonmark").enable("table").render(md)
    assert not {"script", "a"} & _tags(rendered).tags
