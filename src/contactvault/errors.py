"""Every error contactvault raises on purpose.

All of them derive from ``ContactVaultError``, and each also subclasses the matching built-in, so
callers may catch either::

    ContactVaultError
    ├── ImportFailed (ValueError)        the input as a whole is not an address book
    │   └── UnknownCsvLayout             a CSV file whose header matches no known layout
    ├── InvalidRegion (ValueError)       a default region that is not an ISO 3166 code phonenumbers knows
    ├── WebhookError (ValueError)        a messenger's webhook call: bad signature, or not a payload we read
    ├── FolderNotFound (FileNotFoundError)  the folder a file is to be written into does not exist
    ├── VaultError                       something about the vault file as a whole
    │   ├── WrongPassphrase              the passphrase (or recovery key, or service key) is not the vault's
    │   ├── UnknownUser                  no key slot of that user, or several users and none named
    │   ├── VaultCorrupted               the key is right but the file was damaged or tampered with
    │   ├── UnsupportedFormat            not a contactvault vault, or a newer format than this version reads
    │   ├── KdfLimitExceeded             the file asks for KDF parameters above the documented cap
    │   ├── VaultLocked                  another process (or Vault object) has the vault open
    │   ├── VaultNotFound (FileNotFoundError)   no vault at that path
    │   ├── VaultExists (FileExistsError)       create() would overwrite a file
    │   └── VaultClosed                  the Vault object was closed
    ├── ConflictError                    an update based on a stale version of the contact
    ├── SyncError                        a sync target was unreachable or refused a request
    └── ContactNotFound (KeyError)       no contact with that id
        ├── ContactErased                the contact was erased (GDPR Art. 17)
        └── ContactMerged                the contact was merged into another (its id is given)

Problems *inside* an address book (one broken card, one bad row) are not raised: they are reported as
``contactvault.ImportIssue`` entries, so that one bad card never costs the others.

No message carries personal data (names, numbers, e-mail addresses, note text) or key material: messages
name the file, the line and the field, never the value.

This module imports nothing of the project; ``PartialSync`` describes what ``SyncError.partial`` holds
(a ``contactvault.sync.SyncResult``) without importing it.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Protocol

__all__ = [
    "CodeRefused",
    "ConflictError",
    "ContactErased",
    "ContactMerged",
    "ContactNotFound",
    "ContactVaultError",
    "FolderNotFound",
    "ImportFailed",
    "InvalidRegion",
    "KdfLimitExceeded",
    "NoticeError",
    "PartialSync",
    "SyncError",
    "UnknownCsvLayout",
    "UnknownUser",
    "UnsupportedFormat",
    "VaultClosed",
    "VaultCorrupted",
    "VaultError",
    "VaultExists",
    "VaultLocked",
    "VaultNotFound",
    "WebhookError",
    "WrongPassphrase",
]


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


class WebhookError(ContactVaultError, ValueError):
    """A messenger's webhook call that is refused: a bad signature, or a body that is not a payload we read.

    The signature is missing, malformed or wrong, or the body is not JSON or has a documented field of the
    wrong shape or type. The message names what is wrong and where
    (``entry[0].changes[1].value.messages[2].timestamp``), never the body, a number or a signature. Raised
    by ``contactvault.consent.webhook``.
    """


class NoticeError(ContactVaultError, ValueError):
    """A privacy notice refused: a version not stored in the vault, or a stored version that would change.

    A notice version, once stored, never changes: storing the same id and version again with another text
    is refused (the same text again is accepted and changes nothing). The message names the notice id and
    version, never its text.
    """


class CodeRefused(ContactVaultError, ValueError):
    """A consent reply code refused: unknown, already used, expired, or sent from another number.

    ``reason`` says which: ``"unknown"``, ``"used"``, ``"expired"`` or ``"sender"`` (the reply came from a
    number that is not the contact's the code was made for). Nothing was recorded. The message names
    neither the code nor a number.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class FolderNotFound(ContactVaultError, FileNotFoundError):
    """The folder a file is to be written into does not exist; nothing was written.

    The message names the folder as the caller gave it (``the folder exports/2025 does not exist``), not a
    temporary file. Raised before anything is written, by every function that writes a file atomically
    (exports, ``--output`` files, receipts). ``folder`` holds that path.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        super().__init__(f"the folder {folder} does not exist")

    def __reduce__(self) -> tuple[type[FolderNotFound], tuple[Path]]:
        return (type(self), (self.folder,))  # rebuilt from the folder, not from the message


class VaultError(ContactVaultError):
    """Something about the vault file as a whole: it cannot be opened, read or written."""


class WrongPassphrase(VaultError):
    """The passphrase (or recovery key) does not open this vault.

    Raised after exactly one key derivation, before anything is read; the file is left byte for byte as it
    was. A damaged file gives ``VaultCorrupted`` instead: the vault's key-check value tells them apart.
    """


class UnknownUser(VaultError):
    """The vault has no key slot of that user (or service), or several users and none was named.

    Nothing is derived and nothing is written. The message names the user asked for, never a passphrase.
    """


class VaultCorrupted(VaultError):
    """The key is right, but the file was damaged or tampered with.

    Any failed authentication tag or MAC, a changed header, or a row that was deleted, duplicated, swapped
    or replaced by an older copy. No data is returned from a vault in this state.
    """


class UnsupportedFormat(VaultError):
    """The file is not a contactvault vault (or a newer format version than this one reads).

    An empty file, one that is not an SQLite database, or another SQLite database (without the vault's
    mark and tables). A damaged vault (its mark still there, or its tables) is ``VaultCorrupted``.
    """


class KdfLimitExceeded(VaultError, ValueError):
    """KDF parameters above the documented cap (``contactvault.crypto.KDF_CAPS``).

    Raised before any key is derived, so that a crafted file cannot exhaust memory or time.
    """


class VaultLocked(VaultError):
    """Another process (or another ``Vault`` object) has the vault open; one at a time, readers included."""


class VaultNotFound(VaultError, FileNotFoundError):
    """No vault file at the given path."""


class VaultExists(VaultError, FileExistsError):
    """``Vault.create`` refuses to overwrite an existing file."""


class VaultClosed(VaultError):
    """The ``Vault`` object was closed; open the vault again."""


class ConflictError(ContactVaultError):
    """A write the vault refuses because of what is already stored.

    Either an update based on a stale version of a contact (``stale`` is true: somebody, maybe another
    process, changed it since it was read; read it again and apply the change to the fresh copy, or use
    ``Vault.modify``, which does so), or a new contact whose id, vCard UID or external id is already in
    the vault. ``contact_id`` names the contact where known; the message never shows a value. The vault
    never lets the last writer silently win.
    """

    def __init__(self, message: str, contact_id: uuid.UUID | None = None, *, stale: bool = False) -> None:
        super().__init__(message)
        self.contact_id = contact_id
        self.stale = stale


class ContactNotFound(ContactVaultError, KeyError):
    """No contact with that id in this vault."""

    def __str__(self) -> str:
        # KeyError's own __str__ would show the message in quotes.
        return str(self.args[0]) if self.args else "contact not found"


class ContactErased(ContactNotFound):
    """The contact was erased (GDPR Art. 17); its data is gone for good, only the id's tombstone remains."""


class ContactMerged(ContactNotFound):
    """The contact was merged into another (``Vault.merge``); ``merged_into`` is the id that holds it now.

    Its own data key was destroyed at the merge, as an erase does; its data lives on in that contact.
    """

    def __init__(self, message: str, merged_into: uuid.UUID) -> None:
        super().__init__(message)
        self.merged_into = merged_into


class PartialSync(Protocol):
    """What a sync target confirmed before it failed: ``SyncError.partial``.

    A ``contactvault.sync.SyncResult`` (its other fields and ``describe()`` are there too); only UIDs, never
    a name or a number. Described here as a protocol so that this module imports nothing of the project.
    """

    @property
    def target(self) -> str:
        """The name of the target (without credentials)."""
        ...

    @property
    def created(self) -> tuple[str, ...]:
        """UIDs of the cards the target confirmed as created."""
        ...

    @property
    def updated(self) -> tuple[str, ...]:
        """UIDs of the cards the target confirmed as written again."""
        ...

    @property
    def deleted(self) -> tuple[str, ...]:
        """UIDs of the cards the target confirmed as deleted."""
        ...

    @property
    def held(self) -> tuple[str, ...]:
        """UIDs of the book whose current version the target holds: what the disclosure log records."""
        ...

    @property
    def pending(self) -> tuple[str, ...]:
        """UIDs of cards the sync meant to change or delete that the target still holds as they were."""
        ...

    @property
    def done(self) -> tuple[str, ...]:
        """The UIDs of every card the target confirmed as created, updated or deleted."""
        ...


class SyncError(ContactVaultError):
    """A sync could not be completed: the target was unreachable, refused a request, or answered an error.

    The message names the operation and, for an HTTP answer, its status; never a name, a number or a
    password. Running the sync again once the cause is fixed finishes the job, since every plan starts
    from the target's current state.

    Attributes:
        partial: What the target confirmed before the failure, a ``contactvault.sync.SyncResult``
            (``None`` if the failure came before anything was written, for example while planning).
    """

    def __init__(self, message: str, *, partial: PartialSync | None = None) -> None:
        super().__init__(message)
        self.partial = partial

    @property
    def done(self) -> tuple[str, ...]:
        """The UIDs of the cards the target confirmed as created, updated or deleted before the failure."""
        return self.partial.done if self.partial is not None else ()
