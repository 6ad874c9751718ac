"""The public names are a promise: this test pins them."""

import contactvault

EXPECTED = [
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


def test_public_names_are_pinned():
    """`contactvault.__all__` is exactly the documented list, sorted."""
    assert contactvault.__all__ == EXPECTED
    assert sorted(contactvault.__all__) == contactvault.__all__


def test_every_public_name_exists_and_is_documented():
    """Each public name resolves and carries a docstring."""
    for name in contactvault.__all__:
        obj = getattr(contactvault, name)
        assert obj.__doc__, name
