"""Google Contacts and Outlook CSV import (being written; see issue 2)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from contactvault.importers.result import ImportBatch, ImportResult
from contactvault.importers.source import Source
from contactvault.models import Contact

__all__ = ["import_csv", "iter_csv"]


def iter_csv(source: Source, *, default_region: str | None, batch_size: int = 1_000) -> Iterator[ImportBatch]:
    """Read a Google or Outlook CSV export in batches."""
    raise NotImplementedError


def import_csv(source: Source, *, default_region: str | None, existing: Iterable[Contact] = ()) -> ImportResult:
    """Import a Google Contacts or Outlook CSV export."""
    raise NotImplementedError
