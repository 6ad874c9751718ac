"""What an import returns: contacts, issues with line numbers, duplicates, and counts.

Every card (or CSV row) of an address book ends either as a ``Contact`` or as an
``ImportIssue`` of severity ``"error"`` that names its line: none vanishes. Warnings mark cards that were
imported with something noted (a number kept without E.164, a birthday kept as text).

Issue messages name lines and fields, never values: they are safe to log and to show.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from contactvault.duplicates import DuplicateGroup, find_duplicates
from contactvault.models import Contact

__all__ = ["ImportBatch", "ImportIssue", "ImportResult", "ImportTally", "IssueCode", "Severity"]

Severity = Literal["error", "warning"]
"""``error``: the card or row was not imported. ``warning``: it was imported, with something to check."""

IssueCode = Literal[
    # the card or row was not imported (severity "error")
    "not_closed",  # BEGIN:VCARD without END:VCARD
    "bad_quoted_printable",  # "=" not followed by two hex digits
    "bad_encoding",  # bytes that are not valid in the card's character set
    "garbage",  # a line inside a card that is not a property
    "outside_card",  # text outside any card
    "empty_card",  # no name, number or e-mail address
    "value_too_long",  # a value beyond the model's limits
    "invalid_card",  # the values do not make a valid contact
    "internal_error",  # a bug in contactvault; the card is reported, not lost
    "unclosed_quote",  # a CSV quote never closed: the rest of the file was read as one cell
    # the card or row was imported (severity "warning")
    "invalid_number",  # a number kept as typed, without E.164
    "bad_birthday",  # a birthday that is not a date, kept as a custom field
    "assumed_charset",  # a vCard 2.1 value without CHARSET, or a CSV file not in UTF-8, read as Windows-1252
    "nested_card",  # a vCard 2.1 AGENT card inside a card, not imported
    "no_name",  # no name at all: the display name was taken from an e-mail or a number
    "row_length",  # a CSV row with more or fewer cells than the header
]
"""Stable issue codes: scripts may match on them."""


@dataclass(frozen=True, slots=True)
class ImportIssue:
    """A problem found while importing, at a 1-based line of the source.

    ``message`` names the line and the field, never a value, so it is safe to log.
    """

    line: int
    message: str
    code: IssueCode
    severity: Severity = "error"
    source: str = "<input>"

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.severity}: {self.message}"


@dataclass(slots=True)
class ImportBatch:
    """A slice of an import, as the streaming readers yield it; memory is bounded by the batch size."""

    contacts: list[Contact] = field(default_factory=list)
    issues: list[ImportIssue] = field(default_factory=list)
    entries: int = 0
    """Cards or rows read in this batch (each became a contact or an error issue)."""
    dropped: int = 0
    """Photos, logos, sounds and keys dropped unread."""
    fallback: str | None = None
    """Set on the batch where helper processes were asked for but could not run: why, and that the rest
    was read in one process (the results are the same)."""


class _Issues:
    """``errors`` and ``warnings`` of an import's ``issues``: shared by `ImportResult` and `ImportTally`."""

    __slots__ = ()
    issues: list[ImportIssue]

    @property
    def errors(self) -> list[ImportIssue]:
        """Issues of severity ``error``: entries that were not imported."""
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[ImportIssue]:
        """Issues of severity ``warning``: imported entries with something to check."""
        return [i for i in self.issues if i.severity == "warning"]


@dataclass(slots=True)
class ImportResult(_Issues):
    """The outcome of importing one address book.

    ``contacts`` and ``issues`` are in source order. ``duplicates`` lists contacts sharing a normalised
    number, within this import or with the ``existing`` contacts the import was given.
    """

    source: str
    format: str
    contacts: list[Contact] = field(default_factory=list)
    issues: list[ImportIssue] = field(default_factory=list)
    duplicates: list[DuplicateGroup] = field(default_factory=list)
    entries: int = 0
    """Cards or rows read: ``len(contacts)`` plus the entries that became error issues."""
    dropped: int = 0
    """Photos, logos, sounds and keys dropped unread (they are never stored)."""
    fallback: str | None = None
    """Why helper processes asked for could not run (the file was then read in one process), or ``None``."""

    @classmethod
    def collect(
        cls,
        batches: Iterable[ImportBatch],
        *,
        source: str,
        format: str,
        existing: Iterable[Contact] = (),
    ) -> ImportResult:
        """Gather streamed batches into one result and find the duplicates."""
        result = cls(source=source, format=format)
        for batch in batches:
            result.contacts.extend(batch.contacts)
            result.issues.extend(batch.issues)
            result.entries += batch.entries
            result.dropped += batch.dropped
            result.fallback = result.fallback or batch.fallback
        result.duplicates = find_duplicates(result.contacts, existing)
        return result

    def summary(self) -> dict[str, int]:
        """Counts for a report: no names, no numbers, only numbers of things."""
        phones = [p for c in self.contacts for p in c.phones]
        normalised = sum(1 for p in phones if p.e164 is not None)
        return {
            "entries": self.entries,
            "contacts": len(self.contacts),
            "phone_numbers": len(phones),
            "normalised": normalised,
            "not_normalised": len(phones) - normalised,
            "emails": sum(len(c.emails) for c in self.contacts),
            "duplicate_groups": len(self.duplicates),
            "dropped_media": self.dropped,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
        }


@dataclass(slots=True)
class ImportTally(_Issues):
    """An import counted as it streams by, without keeping its contacts: memory flat in the file's size.

    ``contacts_of(batches)`` passes the contacts on (into a vault, say) while it keeps the issues and
    counts; afterwards ``summary()`` gives what `ImportResult.summary` would have given for the same
    batches (``duplicate_groups`` counting numbers shared within the file).
    """

    source: str
    format: str
    issues: list[ImportIssue] = field(default_factory=list)
    entries: int = 0
    dropped: int = 0
    fallback: str | None = None
    """As `ImportResult.fallback`."""
    _counts: dict[str, int] = field(default_factory=dict)
    _owners: dict[str, int] = field(default_factory=dict)  # number -> the first contact (by count) with it
    _shared: set[str] = field(default_factory=set)

    def add(self, batch: ImportBatch) -> None:
        """Count one batch (its contacts are not kept)."""
        counts, owners, shared = self._counts, self._owners, self._shared
        self.issues.extend(batch.issues)
        self.entries += batch.entries
        self.dropped += batch.dropped
        self.fallback = self.fallback or batch.fallback
        for contact in batch.contacts:
            seq = counts["contacts"] = counts.get("contacts", 0) + 1
            phones = contact.phones
            counts["phone_numbers"] = counts.get("phone_numbers", 0) + len(phones)
            counts["normalised"] = counts.get("normalised", 0) + sum(1 for p in phones if p.e164 is not None)
            counts["emails"] = counts.get("emails", 0) + len(contact.emails)
            for number in contact.e164_numbers():
                if owners.setdefault(number, seq) != seq:
                    shared.add(number)

    def contacts_of(self, batches: Iterable[ImportBatch]) -> Iterator[Contact]:
        """The batches' contacts, in order, each batch counted as it is read."""
        for batch in batches:
            self.add(batch)
            yield from batch.contacts

    def summary(self) -> dict[str, int]:
        """Counts for a report, as `ImportResult.summary` gives them."""
        counts = self._counts
        phones, normalised = counts.get("phone_numbers", 0), counts.get("normalised", 0)
        return {
            "entries": self.entries,
            "contacts": counts.get("contacts", 0),
            "phone_numbers": phones,
            "normalised": normalised,
            "not_normalised": phones - normalised,
            "emails": counts.get("emails", 0),
            "duplicate_groups": len(self._shared),
            "dropped_media": self.dropped,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
        }
