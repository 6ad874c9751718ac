"""contactvault: keep customer contacts encrypted and hand a messenger only what the GDPR allows.

This module only re-exports the public names; each lives in the module that owns its concern.
"""

from contactvault.duplicates import DuplicateGroup, find_duplicates, merge_duplicates
from contactvault.errors import ContactVaultError, ImportFailed, InvalidRegion, UnknownCsvLayout
from contactvault.importers.csv import import_csv, iter_csv
from contactvault.importers.result import ImportBatch, ImportIssue, ImportResult
from contactvault.importers.vcard import import_vcards, iter_vcards
from contactvault.models import (
    Birthday,
    ConsentRecord,
    Contact,
    ContactSource,
    CustomField,
    EmailAddress,
    Label,
    LegalBasis,
    MessengerEntry,
    MessengerPresence,
    NameParts,
    Phone,
    PostalAddress,
)
from contactvault.phones import normalize_phone

__all__ = [
    "Birthday",
    "ConsentRecord",
    "Contact",
    "ContactSource",
    "ContactVaultError",
    "CustomField",
    "DuplicateGroup",
    "EmailAddress",
    "ImportBatch",
    "ImportFailed",
    "ImportIssue",
    "ImportResult",
    "InvalidRegion",
    "Label",
    "LegalBasis",
    "MessengerEntry",
    "MessengerPresence",
    "NameParts",
    "Phone",
    "PostalAddress",
    "UnknownCsvLayout",
    "find_duplicates",
    "import_csv",
    "import_vcards",
    "iter_csv",
    "iter_vcards",
    "merge_duplicates",
    "normalize_phone",
]
