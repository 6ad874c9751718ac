"""contactvault: keep customer contacts encrypted and hand a messenger only what the GDPR allows.

This module only re-exports the public names; each lives in the module that owns its concern.
"""

from contactvault.crypto import KdfParams
from contactvault.duplicates import DuplicateGroup, find_duplicates, merge_duplicates
from contactvault.errors import (
    ConflictError,
    ContactErased,
    ContactNotFound,
    ContactVaultError,
    ImportFailed,
    InvalidRegion,
    KdfLimitExceeded,
    SyncError,
    UnknownCsvLayout,
    UnsupportedFormat,
    VaultClosed,
    VaultCorrupted,
    VaultError,
    VaultExists,
    VaultLocked,
    VaultNotFound,
    WrongPassphrase,
)
from contactvault.importers.csv import import_csv, iter_csv
from contactvault.importers.result import ImportBatch, ImportIssue, ImportResult
from contactvault.importers.vcard import import_vcards, iter_vcards
from contactvault.models import (
    Birthday,
    ConsentRecord,
    Contact,
    ContactSource,
    CustomField,
    DirectoryEntry,
    EmailAddress,
    Label,
    LegalBasis,
    MessengerEntry,
    MessengerPresence,
    NameParts,
    Objection,
    Phone,
    PostalAddress,
)
from contactvault.phones import normalize_phone
from contactvault.sync.book import MessengerBook
from contactvault.sync.policy import Policy
from contactvault.vault import Erasure, Vault, VerifyReport, default_vault_path

__all__ = [
    "Birthday",
    "ConflictError",
    "ConsentRecord",
    "Contact",
    "ContactErased",
    "ContactNotFound",
    "ContactSource",
    "ContactVaultError",
    "CustomField",
    "DirectoryEntry",
    "DuplicateGroup",
    "EmailAddress",
    "Erasure",
    "ImportBatch",
    "ImportFailed",
    "ImportIssue",
    "ImportResult",
    "InvalidRegion",
    "KdfLimitExceeded",
    "KdfParams",
    "Label",
    "LegalBasis",
    "MessengerBook",
    "MessengerEntry",
    "MessengerPresence",
    "NameParts",
    "Objection",
    "Phone",
    "Policy",
    "PostalAddress",
    "SyncError",
    "UnknownCsvLayout",
    "UnsupportedFormat",
    "Vault",
    "VaultClosed",
    "VaultCorrupted",
    "VaultError",
    "VaultExists",
    "VaultLocked",
    "VaultNotFound",
    "VerifyReport",
    "WrongPassphrase",
    "default_vault_path",
    "find_duplicates",
    "import_csv",
    "import_vcards",
    "iter_csv",
    "iter_vcards",
    "merge_duplicates",
    "normalize_phone",
]
