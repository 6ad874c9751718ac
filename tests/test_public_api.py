"""The public names are a promise: this test pins them."""

import contactvault

EXPECTED = [
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


def test_public_names_are_pinned():
    """`contactvault.__all__` is exactly the documented list, sorted."""
    assert contactvault.__all__ == EXPECTED
    assert sorted(contactvault.__all__) == contactvault.__all__


def test_every_public_name_exists_and_is_documented():
    """Each public name resolves and carries a docstring."""
    for name in contactvault.__all__:
        obj = getattr(contactvault, name)
        assert obj.__doc__, name
