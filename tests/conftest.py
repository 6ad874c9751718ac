"""Shared fixtures: where the real-world corpus lives, and a helper to write test files."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
SAMPLE = ROOT / "src" / "contactvault" / "samples" / "phone-export.vcf"

# Hypothesis: a CI profile that is thorough but bounded (2 cores, well under the CI time budget).
settings.register_profile("ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")


@pytest.fixture
def corpus() -> Path:
    """The folder of real vCard exports (../shared/corpus, read in place, never copied)."""
    if not CORPUS.is_dir():
        pytest.fail(f"the vCard corpus is missing at {CORPUS}")
    return CORPUS


def vcf(*lines: str) -> bytes:
    """Join lines with CRLF into the bytes of a vCard file."""
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")
