"""The directory compartment of an open vault, decrypted once and kept while the vault is open.

Listing the contacts and building a messenger book read every contact's directory entry (``DirectoryEntry``:
names, numbers, labels, consents, legal bases, restriction, objections, messenger presence; never the CRM
payload). ``Directory`` keeps the entries it decrypted, each with the row version and a keyed hash of the
sealed directory it came from (Python's SipHash of the bytes, keyed per process), so that a second listing
or book in the same process decrypts only what changed:

- every read of the entries reads the authenticated row-set state once (its MAC checked, and shown to the
  rollback watch, as every read is); when its bytes are those the cache was built at, nothing changed in
  the vault (every write, by any process, commits a new state) and the kept entries are served;
- when the state is the one this process's own commits led to from the kept one (``committed``: each
  commit's state was built on the one before, inside its write transaction), only the rows those commits
  wrote are read again;
- otherwise (another process wrote, or many rows changed), inside one snapshot with that state, every row
  is read (ids, versions and directory blobs, no CRM payload);

and of the rows read, only one whose version or sealed directory differs from the kept one, or that is new,
is decrypted, authenticated and validated; erased contacts drop out.

So a change made by another ``Vault`` object or another process is seen by the next read here. Entries
come from authenticated rows only, and each is validated into the model once, when it is decrypted.

Derived caches built from the entries (the messenger book's decisions and cards, ``memo``) live here too,
so that ``close()`` drops everything at once: ``clear`` empties them and the entries. What a process that
keeps a vault open trusts because of this cache is in docs/threat-model.md ("Memory").
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

from contactvault.models import DirectoryEntry

if TYPE_CHECKING:
    from contactvault.vault.core import Core

__all__ = ["Directory", "directory_memo"]

_FEW: Final = 2_000
"""Up to this many rows written by this process's commits are re-read one by one; more: all rows."""


class Directory:
    """The decrypted directory entries of one open vault, refreshed from the row-set state (see module)."""

    __slots__ = ("_ahead", "_entries", "_generation", "_known", "_lock", "_state", "_written", "memo")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: bytes | None = None  # the row-set state's bytes the entries were read at
        self._generation = -1  # its generation
        self._ahead: tuple[int, bytes] | None = None  # generation and state of this process's last commit
        self._written: dict[bytes, None] = {}  # ids of the rows written from _state to _ahead, in order
        self._known: dict[bytes, tuple[int, int, DirectoryEntry]] = {}  # id -> version, blob hash, entry
        self._entries: tuple[DirectoryEntry, ...] = ()
        self.memo: dict[object, object] = {}
        """Caches derived from the entries (the messenger book's), dropped with them."""

    def __len__(self) -> int:
        """How many entries are kept."""
        return len(self._known)

    def entries(self, core: Core) -> tuple[DirectoryEntry, ...]:
        """Every live contact's directory entry as stored now, in the order they were added.

        One read of the state when nothing changed; otherwise the rows are read and the changed ones
        decrypted (``VaultCorrupted`` for a row that fails authentication or validation).
        """
        storage = core.storage
        with self._lock, storage.snapshot():
            state, raw = core.read_state()
            if core.watch is not None:
                core.watch.read(core, state.generation, raw)
            if raw != self._state:
                ahead = self._ahead
                if ahead is not None and ahead[1] == raw:
                    self._reread(core, self._written)
                else:
                    self._refresh(core)
                self._state, self._generation = raw, state.generation
                self._ahead, self._written = None, {}
            return self._entries

    def committed(self, base: int, generation: int, raw: bytes, written: list[bytes]) -> None:
        """This process committed ``raw`` (``generation``) on the state at ``base``, writing rows ``written``.

        Chained to the kept state, the next read re-reads only the rows written; otherwise it reads all.
        """
        with self._lock:
            if self._state is None:
                return
            ahead = self._ahead
            if base == (ahead[0] if ahead is not None else self._generation):
                self._ahead = (generation, raw)
                self._written.update(dict.fromkeys(written))
                if len(self._written) > _FEW:  # reading every row is cheaper
                    self._ahead, self._written = (-1, b""), {}
            else:  # another process committed in between: the chain is broken
                self._ahead, self._written = (-1, b""), {}

    def _reread(self, core: Core, ids: Iterable[bytes]) -> None:
        """Read the rows ``ids`` again (inside the caller's snapshot): new ones go last, erased ones out."""
        known = dict(self._known)
        directory = core.records.directory
        for cid in ids:  # in the order written: new rows were added in this order
            row = core.storage.get(cid)
            if row is None or row.data_key is None:  # erased (a row is never deleted: refused by check)
                known.pop(cid, None)
                continue
            sealed = hash(row.directory)  # any change to the blob, not only to its tag
            kept = known.get(cid)
            if kept is None or kept[0] != row.version or kept[1] != sealed:
                known[cid] = (row.version, sealed, directory(row))
        self._known = known
        self._entries = tuple([kept[2] for kept in known.values()])

    def _refresh(self, core: Core) -> None:
        """Read the rows (inside the caller's snapshot); decrypt those not kept at their version and bytes."""
        known = self._known
        found: dict[bytes, tuple[int, int, DirectoryEntry]] = {}
        entries: list[DirectoryEntry] = []
        directory = core.records.directory
        for row in core.storage.rows():
            if row.data_key is None:  # erased: a tombstone
                continue
            sealed = hash(row.directory)  # any change to the blob, not only to its tag
            kept = known.get(row.id)
            if kept is not None and kept[0] == row.version and kept[1] == sealed:
                entry = kept[2]
            else:
                entry = directory(row)
            found[row.id] = (row.version, sealed, entry)
            entries.append(entry)
        self._known = found
        self._entries = tuple(entries)

    def clear(self) -> None:
        """Drop every entry and every derived cache (the vault is closing)."""
        with self._lock:
            self._state = None
            self._ahead, self._written = None, {}
            self._known = {}
            self._entries = ()
            for value in self.memo.values():
                clear = getattr(value, "clear", None)
                if callable(clear):
                    clear()
            self.memo.clear()


def directory_memo(vault: object) -> dict[object, object] | None:
    """The derived caches of an open ``Vault``'s directory (``Directory.memo``); ``None`` for anything else.

    What is kept there is dropped when the vault closes.
    """
    directory = getattr(getattr(vault, "_core", None), "directory", None)
    return directory.memo if isinstance(directory, Directory) else None
