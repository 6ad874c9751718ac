"""Deciding what may reach a messenger, the minimal book, and where it goes.

This package only re-exports the public names; each lives in the module that owns its concern:
``policy`` (the rules; their decisions and reason codes in ``decisions``), ``book`` (a vault's book built,
exported and synced: :func:`messenger_book`, :func:`explain`, :func:`export_book`, :func:`sync_book`) and
``targets`` (a vCard file, a CardDAV server). It works through the vault's public API; the vault imports
nothing from here. ``MessengerBook`` and its name styles live in ``contactvault.book``, the disclosure
records in ``contactvault.vault``; both are re-exported here as well. ``CardDAVTarget`` is imported on
first use, so that the HTTP client (httpx) loads only when a CardDAV target is used.
"""

from typing import TYPE_CHECKING

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
from contactvault.vault import Disclosure, DisclosureKind

if TYPE_CHECKING:
    from contactvault.sync.targets.carddav import CardDAVTarget

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


def __getattr__(name: str) -> object:
    """``CardDAVTarget``, imported on first use (with httpx); any other name is missing."""
    if name == "CardDAVTarget":
        from contactvault.sync.targets.carddav import CardDAVTarget  # noqa: PLC0415  (httpx only when used)

        globals()[name] = CardDAVTarget
        return CardDAVTarget
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
