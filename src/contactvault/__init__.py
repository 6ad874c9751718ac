"""contactvault: keep customer contacts encrypted and hand a messenger only what the GDPR allows.

This module only re-exports the public names; each lives in the module that owns its concern. The
errors are imported with the package; every other name when it is first used (``contactvault.Vault``,
``from contactvault import Vault``), so that ``import contactvault`` and the command line load only what
they use.
"""

from typing import TYPE_CHECKING, Final

from contactvault._lazy import lazy_names
from contactvault.errors import (
    CodeRefused,
    ConflictError,
    ContactErased,
    ContactMerged,
    ContactNotFound,
    ContactVaultError,
    ImportFailed,
    InvalidRegion,
    KdfLimitExceeded,
    NoticeError,
    SyncError,
    UnknownCsvLayout,
    UnknownUser,
    UnsupportedFormat,
    VaultClosed,
    VaultCorrupted,
    VaultError,
    VaultExists,
    VaultLocked,
    VaultNotFound,
    WebhookError,
    WrongPassphrase,
)

if TYPE_CHECKING:
    from contactvault.book import MessengerBook
    from contactvault.crypto import KdfParams
    from contactvault.duplicates import DuplicateGroup, find_duplicates, merge_duplicates
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
    from contactvault.sync.policy import Policy
    from contactvault.vault import (
        AmbiguousCard,
        BackupReport,
        ContactDisclosure,
        Erasure,
        ImportReport,
        Vault,
        VaultSettings,
        VerifyReport,
        default_vault_path,
    )

_LAZY: Final[dict[str, str]] = {
    "AmbiguousCard": "contactvault.vault",
    "BackupReport": "contactvault.vault",
    "Birthday": "contactvault.models",
    "ConsentRecord": "contactvault.models",
    "Contact": "contactvault.models",
    "ContactDisclosure": "contactvault.vault",
    "ContactSource": "contactvault.models",
    "CustomField": "contactvault.models",
    "DirectoryEntry": "contactvault.models",
    "DuplicateGroup": "contactvault.duplicates",
    "EmailAddress": "contactvault.models",
    "Erasure": "contactvault.vault",
    "ImportBatch": "contactvault.importers.result",
    "ImportIssue": "contactvault.importers.result",
    "ImportReport": "contactvault.vault",
    "ImportResult": "contactvault.importers.result",
    "KdfParams": "contactvault.crypto",
    "Label": "contactvault.models",
    "LegalBasis": "contactvault.models",
    "MessengerBook": "contactvault.book",
    "MessengerEntry": "contactvault.models",
    "MessengerPresence": "contactvault.models",
    "NameParts": "contactvault.models",
    "Objection": "contactvault.models",
    "Phone": "contactvault.models",
    "Policy": "contactvault.sync.policy",
    "PostalAddress": "contactvault.models",
    "Vault": "contactvault.vault",
    "VaultSettings": "contactvault.vault",
    "VerifyReport": "contactvault.vault",
    "default_vault_path": "contactvault.vault",
    "find_duplicates": "contactvault.duplicates",
    "import_csv": "contactvault.importers.csv",
    "import_vcards": "contactvault.importers.vcard",
    "iter_csv": "contactvault.importers.csv",
    "iter_vcards": "contactvault.importers.vcard",
    "merge_duplicates": "contactvault.duplicates",
    "normalize_phone": "contactvault.phones",
}
"""Every public name but the errors, and the module it is imported from on first use."""

__all__ = [
    "AmbiguousCard",
    "BackupReport",
    "Birthday",
    "CodeRefused",
    "ConflictError",
    "ConsentRecord",
    "Contact",
    "ContactDisclosure",
    "ContactErased",
    "ContactMerged",
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
    "ImportReport",
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
    "NoticeError",
    "Objection",
    "Phone",
    "Policy",
    "PostalAddress",
    "SyncError",
    "UnknownCsvLayout",
    "UnknownUser",
    "UnsupportedFormat",
    "Vault",
    "VaultClosed",
    "VaultCorrupted",
    "VaultError",
    "VaultExists",
    "VaultLocked",
    "VaultNotFound",
    "VaultSettings",
    "VerifyReport",
    "WebhookError",
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


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals(), __all__)
