"""Deciding what may reach a messenger, the minimal book, and where it goes.

This package only re-exports the public names; each lives in the module that owns its concern:
``policy`` (the rules and reason codes), ``book`` (``MessengerBook`` and name styles), ``disclosures``
(the log records) and ``targets`` (a vCard file, a CardDAV server).
"""

from contactvault.sync.book import DEFAULT_PSEUDONYM, BookDiff, MessengerBook, NameStyle
from contactvault.sync.disclosures import Disclosure, DisclosureKind
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
from contactvault.sync.targets import CardDAVTarget, SyncError, SyncPlan, SyncResult, Target, VCardFileTarget

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
]
