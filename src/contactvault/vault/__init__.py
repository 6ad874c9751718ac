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
"""

from contactvault.vault.backup import BackupReport, MigrationReport
from contactvault.vault.changing import MODIFY_ATTEMPTS
from contactvault.vault.directory import Kept, KeptView
from contactvault.vault.disclosures import Activity, ActivityAction, Disclosure, DisclosureKind, LogRecord
from contactvault.vault.facade import DEFAULT_LOCK_TIMEOUT, Vault, default_vault_path
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
