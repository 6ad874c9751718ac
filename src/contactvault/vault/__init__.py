"""The vault: one encrypted store (an SQLite file, or a PostgreSQL schema) of every contact, and its rooms.

``Vault`` (``facade``) is the only way in. Behind it, top to bottom: ``backends`` (the storage protocol,
SQLite and PostgreSQL, bytes only), ``header`` and ``keys`` (the header, key slots, unlocking and the MAC),
``records`` (sealing a contact row, its tombstone and its blind-index tags), ``state`` (the authenticated
row-set state), ``core`` (the one write path), ``changing`` (``modify`` and the GDPR changes), ``users``
(a key slot per person and per service) and ``rekeying`` (a new master key), ``memory`` (what this client
saw: rollback detection), and beside it ``log`` (the disclosure log; its records in ``disclosures``, its
methods on ``Vault`` in ``messenger``), ``importing`` (re-import as update), ``merging``, ``backup`` (and
migrate) and ``verify``.
Nothing here imports ``contactvault.sync``: the sync package works through the vault's public API.

The names below are imported from their modules on first use (``from contactvault.vault import Vault``),
so that a light part of the vault (``header``, ``keys``, ``memory``) loads without the rest: the command
line reads a header and starts the key derivation while the rest loads (``contactvault.vault.ahead``).
"""

from typing import TYPE_CHECKING, Final

from contactvault._lazy import lazy_names

if TYPE_CHECKING:
    from contactvault.vault.backends import default_vault_path
    from contactvault.vault.backup import BackupReport, MigrationReport
    from contactvault.vault.changing import MODIFY_ATTEMPTS
    from contactvault.vault.directory import Kept, KeptView
    from contactvault.vault.disclosures import Activity, ActivityAction, Disclosure, DisclosureKind, LogRecord
    from contactvault.vault.facade import DEFAULT_LOCK_TIMEOUT, Vault
    from contactvault.vault.importing import OnMatch
    from contactvault.vault.records import PAYLOAD_FIELDS
    from contactvault.vault.rekeying import RekeyReport
    from contactvault.vault.results import (
        AmbiguousCard,
        AmbiguousReason,
        ContactDisclosure,
        Erasure,
        HeldEntry,
        ImportReport,
        VaultSettings,
        VerifyReport,
    )
    from contactvault.vault.users import UserInfo

_LAZY: Final[dict[str, str]] = {
    "Activity": "contactvault.vault.disclosures",
    "ActivityAction": "contactvault.vault.disclosures",
    "AmbiguousCard": "contactvault.vault.results",
    "AmbiguousReason": "contactvault.vault.results",
    "BackupReport": "contactvault.vault.backup",
    "ContactDisclosure": "contactvault.vault.results",
    "DEFAULT_LOCK_TIMEOUT": "contactvault.vault.facade",
    "Disclosure": "contactvault.vault.disclosures",
    "DisclosureKind": "contactvault.vault.disclosures",
    "Erasure": "contactvault.vault.results",
    "HeldEntry": "contactvault.vault.results",
    "ImportReport": "contactvault.vault.results",
    "Kept": "contactvault.vault.directory",
    "KeptView": "contactvault.vault.directory",
    "LogRecord": "contactvault.vault.disclosures",
    "MODIFY_ATTEMPTS": "contactvault.vault.changing",
    "MigrationReport": "contactvault.vault.backup",
    "OnMatch": "contactvault.vault.importing",
    "PAYLOAD_FIELDS": "contactvault.vault.records",
    "RekeyReport": "contactvault.vault.rekeying",
    "UserInfo": "contactvault.vault.users",
    "Vault": "contactvault.vault.facade",
    "VaultSettings": "contactvault.vault.results",
    "VerifyReport": "contactvault.vault.results",
    "default_vault_path": "contactvault.vault.backends",
}
"""Every public name and the module it is imported from on first use."""

__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
    "MODIFY_ATTEMPTS",
    "PAYLOAD_FIELDS",
    "Activity",
    "ActivityAction",
    "AmbiguousCard",
    "AmbiguousReason",
    "BackupReport",
    "ContactDisclosure",
    "Disclosure",
    "DisclosureKind",
    "Erasure",
    "HeldEntry",
    "ImportReport",
    "Kept",
    "KeptView",
    "LogRecord",
    "MigrationReport",
    "OnMatch",
    "RekeyReport",
    "UserInfo",
    "Vault",
    "VaultSettings",
    "VerifyReport",
    "default_vault_path",
]


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals(), __all__)
