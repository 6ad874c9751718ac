"""The HTML audit report in a real browser: headless Chromium loads it, without a console message.

Skipped only where no Chromium is installed. Chromium runs as the test's user; as root it needs
``--no-sandbox``. Each run gets its own profile in ``tmp_path``.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from contactvault.audit import audit_phonebook
from contactvault.audit.render import to_html
from tests.test_audit_render import _crafted

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else shutil.which("chromium")
NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
HOSTILE = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "[x](javascript:alert(1))")

needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")


def _chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    command = [
        CHROMIUM,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--enable-logging=stderr",
        "--v=0",
        f"--user-data-dir={profile}",
        *extra,
        page.as_uri(),
    ]
    return subprocess.run(  # noqa: S603  (a fixed command line; the page is ours)
        command, capture_output=True, text=True, timeout=60, check=False
    )


def _console(stderr: str, page: Path) -> list[str]:
    """Chromium's console lines about ``page``: messages, uncaught errors, CSP violations."""
    return [
        line
        for line in stderr.splitlines()
        if ("CONSOLE" in line or "Uncaught" in line) and (page.as_uri() in line or "Uncaught" in line)
    ]


@needs_chromium
@pytest.mark.parametrize("lang", ["en", "de"])
def test_chromium_renders_the_report_without_console_errors(corpus, tmp_path, lang):
    report = audit_phonebook(corpus, default_region="DE", now=NOW)
    page = tmp_path / "audit.html"
    page.write_text(to_html(report, lang=lang), encoding="utf-8")
    done = _chromium(page, tmp_path / "profile", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    title = "Audit of the messenger address book" if lang == "en" else "Prüfung des Messenger-Adressbuchs"
    assert f"<title>{title}: corpus</title>" in dom
    assert f'<html lang="{lang}">' in dom
    assert '<svg class="chart" role="img"' in dom
    assert dom.count("<rect") == len(report.fixes())
    assert "<script" not in dom
    assert _console(done.stderr, page) == []


@needs_chromium
def test_hostile_names_stay_text_in_chromium(tmp_path):
    """Names written to run script or load an image are text in the parsed page, and nothing runs."""
    page = tmp_path / "hostile.html"
    page.write_text(to_html(_crafted(*HOSTILE)), encoding="utf-8")
    done = _chromium(page, tmp_path / "profile", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "<script" not in done.stdout
    assert "<img" not in done.stdout
    assert "<a " not in done.stdout
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in done.stdout
    assert _console(done.stderr, page) == []


@needs_chromium
def test_the_console_check_sees_errors(tmp_path):
    """A control: a page with a failing script does show up in the console check (the test is not blind)."""
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>t</title></head>"
        "<body><script>undefinedFunction();</script></body></html>",
        encoding="utf-8",
    )
    done = _chromium(page, tmp_path / "profile", "--dump-dom")
    assert done.returncode == 0
    assert any("Uncaught ReferenceError" in line for line in _console(done.stderr, page))


@needs_chromium
def test_chromium_screenshot(corpus, tmp_path):
    page = tmp_path / "audit.html"
    page.write_text(to_html(audit_phonebook(corpus, default_region="DE", now=NOW)), encoding="utf-8")
    shot = tmp_path / "audit.png"
    done = _chromium(page, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,1600")
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 10_000  # a rendered page, not a blank one
    assert _console(done.stderr, page) == []
