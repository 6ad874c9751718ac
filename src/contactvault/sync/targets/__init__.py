"""Sync targets: where a ``MessengerBook`` goes, a vCard file or a CardDAV address book.

Every target follows :class:`Target`: ``plan(book)`` says what would change, ``apply(plan)`` does it and
reports what the target confirmed, ``sync(book, dry_run=False)`` does both. Failures raise
:class:`SyncError`; a second sync after a failure finishes the job.

The CardDAV names (``CardDAVTarget``, ``ADDRESSBOOK_DESCRIPTION``) are imported on first use, so that the
HTTP client (httpx) loads only when a CardDAV target is used.
"""

from typing import TYPE_CHECKING

from contactvault.sync.targets.base import RemoteCard, SyncError, SyncPlan, SyncResult, Target
from contactvault.sync.targets.file import VCardFileTarget

if TYPE_CHECKING:
    from contactvault.sync.targets.carddav import ADDRESSBOOK_DESCRIPTION, CardDAVTarget

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


_CARDDAV_NAMES = frozenset({"ADDRESSBOOK_DESCRIPTION", "CardDAVTarget"})


def __getattr__(name: str) -> object:
    """The CardDAV names, imported on first use (with httpx); any other name is missing."""
    if name in _CARDDAV_NAMES:
        from contactvault.sync.targets import carddav  # noqa: PLC0415  (on purpose: httpx only when used)

        value: object = getattr(carddav, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
