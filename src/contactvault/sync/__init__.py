"""Deciding what may reach a messenger, the minimal book, and where it goes.

This package only re-exports the public names; each lives in the module that owns its concern:
``policy`` (the rules; their decisions and reason codes in ``decisions``), ``book`` (a vault's book built,
exported and synced: :func:`messenger_book`, :func:`explain`, :func:`export_book`, :func:`sync_book`) and
``targets`` (a vCard file, a CardDAV server). It works through the vault's public API; the vault imports
nothing from here. ``MessengerBook`` and its name styles live in ``contactvault.book``, the disclosure
records in ``contactvault.vault``; both are re-exported here as well. Every name is imported from its
module on first use, so that the HTTP client (httpx) loads only when a CardDAV target is used, and a
book's helper process (``_book_worker``) loads only what it decides with.
"""

from typing import TYPE_CHECKING, Final

from contactvault._lazy import lazy_names

if TYPE_CHECKING:
    from contactvault.book import DEFAULT_PSEUDONYM, BookDiff, MessengerBook, NameStyle
    from contactvault.sync.book import ExportFormat, explain, export_book, messenger_book, sync_book
    from contactvault.sync.policy import (
        REASONS,
        AllOf,
        AnyOf,
        Decision,
        MessengerPolicy,
        NumberDecision,
        Policy,
        Reason,
        UnsafeAllowAllValidNumbers,
    )
    from contactvault.sync.targets import SyncError, SyncPlan, SyncResult, Target, VCardFileTarget
    from contactvault.sync.targets.carddav import CardDAVTarget
    from contactvault.vault import Disclosure, DisclosureKind

_LAZY: Final[dict[str, str]] = {
    "AllOf": "contactvault.sync.policy",
    "AnyOf": "contactvault.sync.policy",
    "BookDiff": "contactvault.book",
    "CardDAVTarget": "contactvault.sync.targets.carddav",
    "DEFAULT_PSEUDONYM": "contactvault.book",
    "Decision": "contactvault.sync.policy",
    "Disclosure": "contactvault.vault",
    "DisclosureKind": "contactvault.vault",
    "ExportFormat": "contactvault.sync.book",
    "MessengerBook": "contactvault.book",
    "MessengerPolicy": "contactvault.sync.policy",
    "NameStyle": "contactvault.book",
    "NumberDecision": "contactvault.sync.policy",
    "Policy": "contactvault.sync.policy",
    "REASONS": "contactvault.sync.policy",
    "Reason": "contactvault.sync.policy",
    "SyncError": "contactvault.sync.targets",
    "SyncPlan": "contactvault.sync.targets",
    "SyncResult": "contactvault.sync.targets",
    "Target": "contactvault.sync.targets",
    "UnsafeAllowAllValidNumbers": "contactvault.sync.policy",
    "VCardFileTarget": "contactvault.sync.targets",
    "explain": "contactvault.sync.book",
    "export_book": "contactvault.sync.book",
    "messenger_book": "contactvault.sync.book",
    "sync_book": "contactvault.sync.book",
}
"""Every public name and the module it is imported from on first use."""

__all__ = [
    "DEFAULT_PSEUDONYM",
    "REASONS",
    "AllOf",
    "AnyOf",
    "BookDiff",
    "CardDAVTarget",
    "Decision",
    "Disclosure",
    "DisclosureKind",
    "ExportFormat",
    "MessengerBook",
    "MessengerPolicy",
    "NameStyle",
    "NumberDecision",
    "Policy",
    "Reason",
    "SyncError",
    "SyncPlan",
    "SyncResult",
    "Target",
    "UnsafeAllowAllValidNumbers",
    "VCardFileTarget",
    "explain",
    "export_book",
    "messenger_book",
    "sync_book",
]


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals(), __all__)
