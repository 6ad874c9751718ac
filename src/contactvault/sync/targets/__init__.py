"""Sync targets: where a ``MessengerBook`` goes, a vCard file or a CardDAV address book.

Every target follows :class:`Target`: ``plan(book)`` says what would change, ``apply(plan)`` does it and
reports what the target confirmed, ``sync(book, dry_run=False)`` does both. Failures raise
:class:`SyncError`; a second sync after a failure finishes the job.
"""

from contactvault.sync.targets.base import RemoteCard, SyncError, SyncPlan, SyncResult, Target
from contactvault.sync.targets.carddav import ADDRESSBOOK_DESCRIPTION, CardDAVTarget
from contactvault.sync.targets.file import VCardFileTarget

__all__ = [
    "ADDRESSBOOK_DESCRIPTION",
    "CardDAVTarget",
    "RemoteCard",
    "SyncError",
    "SyncPlan",
    "SyncResult",
    "Target",
    "VCardFileTarget",
]
