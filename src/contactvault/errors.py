"""Every error contactvault raises on purpose.

All of them derive from :class:`ContactVaultError`, and each also subclasses the matching built-in, so
callers may catch either::

    ContactVaultError
    ├── ImportFailed (ValueError)        the input as a whole is not an address book
    │   └── UnknownCsvLayout             a CSV file whose header matches no known layout
    └── InvalidRegion (ValueError)       a default region that is not an ISO 3166 code phonenumbers knows

Problems *inside* an address book (one broken card, one bad row) are not raised: they are reported as
:class:`contactvault.ImportIssue` entries, so that one bad card never costs the others.

No message carries personal data (names, numbers, e-mail addresses, note text) or key material: messages
name the file, the line and the field, never the value.
"""

from __future__ import annotations

__all__ = ["ContactVaultError", "ImportFailed", "InvalidRegion", "UnknownCsvLayout"]


class ContactVaultError(Exception):
    """Base class of every error contactvault raises on purpose."""


class ImportFailed(ContactVaultError, ValueError):
    """The input as a whole cannot be read as an address book (not a vCard or CSV file at all).

    The message names the file (its name only, never its contents).
    """


class UnknownCsvLayout(ImportFailed):
    """A CSV file whose header row matches neither Google Contacts nor Outlook.

    The message names the columns that are missing; it never repeats the header that was found, since a
    file without a header row would have a customer's data there.
    """

    def __init__(self, source: str, missing: tuple[str, ...]) -> None:
        self.source = source
        self.missing = missing
        super().__init__(
            f"{source}: not a known contacts CSV layout (Google Contacts or Outlook); "
            f"missing columns: {', '.join(missing)}"
        )


class InvalidRegion(ContactVaultError, ValueError):
    """A default region that is not a two-letter region code known to phonenumbers (e.g. ``"DE"``)."""
