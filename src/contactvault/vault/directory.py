"""The directory compartment of an open vault, decrypted once and kept while the vault is open.

Listing the contacts and building a messenger book read every contact's directory entry (``DirectoryEntry``:
names, numbers, labels, consents, legal bases, restriction, objections, messenger presence; never the CRM
payload). ``Directory`` keeps, per contact, the entry's decrypted JSON (``Kept``: its bytes, a few hundred
per contact, not the model's objects, which take ten times that), with the row version and a keyed hash of
the sealed directory it came from (Python's SipHash of the bytes, keyed per process), so that a second
listing or book in the same process decrypts only what changed:

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

So a change made by another ``Vault`` object or another process is seen by the next read here. What is
kept comes from authenticated rows only; every entry handed out is a ``DirectoryEntry`` validated from
those bytes when it is handed out (and checked to name its row and version), so a read keeps no model
objects alive and a second one decrypts nothing. The messenger book (``read``) takes the kept records
themselves and validates only the entries of the contacts it decides again.

Derived caches built from the entries (the messenger book's decisions and cards, ``memo``) live here too,
so that ``close()`` drops everything at once: ``clear`` empties them and the entries. What a process that
keeps a vault open trusts because of this cache is in docs/threat-model.md ("Memory").
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Final, NamedTuple, Protocol

from contactvault.models import DirectoryEntry
from contactvault.vault.records import Records

if TYPE_CHECKING:
    from contactvault.vault.backends.base import Backend
    from contactvault.vault.state import RowSet


class _Watch(Protocol):
    def read(self, core: Any, generation: int, raw: bytes) -> None: ...  # noqa: ANN401 (the core)


class Core(Protocol):
    """What the cache reads through: the open vault's ``Core`` (``vault.core``, which imports this module)."""

    @property
    def records(self) -> Records: ...
    @property
    def storage(self) -> Backend: ...
    @property
    def watch(self) -> _Watch | None: ...
    def read_state(self) -> tuple[RowSet, bytes]: ...


__all__ = ["Directory", "Kept", "KeptView", "directory_memo", "directory_of"]

_FEW: Final = 2_000
"""Up to this many rows written by this process's commits are re-read one by one; more: all rows."""


class Kept(NamedTuple):
    """One contact's kept directory: its row's id, version and sealed-blob hash, and the decrypted JSON.

    A tuple of bytes and ints (the garbage collector stops tracking it). A changed row gets a new ``Kept``:
    the book tells an unchanged contact by this object's identity.
    """

    id: bytes
    version: int
    sealed: int
    plain: bytes


class Directory:
    """The decrypted directory entries of one open vault, refreshed from the row-set state (see module)."""

    __slots__ = ("_ahead", "_generation", "_kept", "_known", "_lock", "_state", "_written", "memo")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: bytes | None = None  # the row-set state's bytes the entries were read at
        self._generation = -1  # its generation
        self._ahead: tuple[int, bytes] | None = None  # generation and state of this process's last commit
        self._written: dict[bytes, None] = {}  # ids of the rows written from _state to _ahead, in order
        self._known: dict[bytes, Kept] = {}  # id -> kept, in the order added
        self._kept: tuple[Kept, ...] = ()
        self.memo: dict[object, object] = {}
        """Caches derived from the entries (the messenger book's), dropped with them."""

    def __len__(self) -> int:
        """How many entries are kept."""
        return len(self._known)

    def entries(self, core: Core) -> Iterator[DirectoryEntry]:
        """Every live contact's directory entry as stored now, in the order they were added.

        One read of the state when nothing changed; otherwise the rows are read and the changed ones
        decrypted (``VaultCorrupted`` for a row that fails authentication). Each entry is validated from
        the kept JSON as the iteration reaches it (``VaultCorrupted`` there for one that fails).
        """
        return _entries(core.records, self.read(core))

    def read(self, core: Core, feed: Callable[[Kept], object] | None = None) -> tuple[Kept, ...]:
        """The kept contacts as stored now, in the order added (see ``entries``), their JSON not validated.

        ``feed``, if given, is called with each contact decrypted now (not with those kept from before),
        in order, as soon as it is decrypted: before the read is over.
        """
        storage = core.storage
        with self._lock, storage.snapshot():
            state, raw = core.read_state()
            if core.watch is not None:
                core.watch.read(core, state.generation, raw)
            if raw != self._state:
                ahead = self._ahead
                if ahead is not None and ahead[1] == raw:
                    self._reread(core, self._written, feed)
                else:
                    self._refresh(core, feed)
                self._state, self._generation = raw, state.generation
                self._ahead, self._written = None, {}
            return self._kept

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

    def _reread(self, core: Core, ids: Iterable[bytes], feed: Callable[[Kept], object] | None) -> None:
        """Read the rows ``ids`` again (inside the caller's snapshot): new ones go last, erased ones out."""
        known = dict(self._known)
        opened = core.records.opened
        for cid in ids:  # in the order written: new rows were added in this order
            row = core.storage.get(cid)
            if row is None or row.data_key is None:  # erased (a row is never deleted: refused by check)
                known.pop(cid, None)
                continue
            sealed = hash(row.directory)  # any change to the blob, not only to its tag
            kept = known.get(cid)
            if kept is None or kept.version != row.version or kept.sealed != sealed:
                known[cid] = kept = Kept(cid, row.version, sealed, opened(row))
                if feed is not None:
                    feed(kept)
        self._known = known
        self._kept = tuple(known.values())

    def _refresh(self, core: Core, feed: Callable[[Kept], object] | None) -> None:
        """Read the rows (inside the caller's snapshot); decrypt those not kept at their version and bytes."""
        known = self._known
        found: dict[bytes, Kept] = {}
        opened = core.records.opened
        for row in core.storage.rows():
            if row.data_key is None:  # erased: a tombstone
                continue
            cid = row.id
            sealed = hash(row.directory)  # any change to the blob, not only to its tag
            kept = known.get(cid)
            if kept is None or kept.version != row.version or kept.sealed != sealed:
                kept = Kept(cid, row.version, sealed, opened(row))
                if feed is not None:
                    feed(kept)
            found[cid] = kept
        self._known = found
        self._kept = tuple(found.values())

    def clear(self) -> None:
        """Drop every entry and every derived cache (the vault is closing)."""
        with self._lock:
            self._state = None
            self._ahead, self._written = None, {}
            self._known = {}
            self._kept = ()
            for value in self.memo.values():
                clear = getattr(value, "clear", None)
                if callable(clear):
                    clear()
            self.memo.clear()


def _entries(records: Records, read: tuple[Kept, ...]) -> Iterator[DirectoryEntry]:
    """The entries of ``read``, each validated from its kept JSON when the iteration reaches it."""
    entry = records.kept_entry
    for kept in read:
        yield entry(kept.id, kept.version, kept.plain)


class KeptView:
    """An open vault's kept directory, as the messenger book reads it (``Vault.kept_directory()``)."""

    __slots__ = ("_core", "_directory")

    def __init__(self, directory: Directory, core: Core) -> None:
        self._directory, self._core = directory, core

    @property
    def memo(self) -> dict[object, object]:
        """Caches derived from the entries (the messenger book's), dropped when the vault closes."""
        return self._directory.memo

    def read(self, feed: Callable[[Kept], object] | None = None) -> tuple[Kept, ...]:
        """The kept contacts as stored now, in the order added (``Directory.read``, with ``feed``)."""
        return self._directory.read(self._core, feed)

    def rows(self) -> int:
        """How many contact rows the vault holds now, erased ones too: the row-set state's count.

        One read of the authenticated state (its MAC checked), not a count of the table: for a book that
        chooses, before reading the directory, whether helpers pay off (erased rows are few).
        """
        return self._core.read_state()[0].rows

    @staticmethod
    def entry(kept: Kept) -> DirectoryEntry:
        """The validated ``DirectoryEntry`` of a kept contact (``VaultCorrupted`` if it does not validate).

        It needs no key: the messenger book's helper process (``contactvault.sync._book_pool``) validates
        the entries it is given with it, as this process does.
        """
        return Records.kept_entry(kept.id, kept.version, kept.plain)


def directory_of(vault: object) -> tuple[Directory, Core] | None:
    """The directory cache of an open ``Vault`` and its core; ``None`` for anything else."""
    core = getattr(vault, "_core", None)
    directory = getattr(core, "directory", None)
    if isinstance(directory, Directory) and core is not None:
        return directory, core
    return None


def directory_memo(vault: object) -> dict[object, object] | None:
    """The derived caches of an open ``Vault``'s directory (``Directory.memo``); ``None`` for anything else.

    What is kept there is dropped when the vault closes.
    """
    directory = getattr(getattr(vault, "_core", None), "directory", None)
    return directory.memo if isinstance(directory, Directory) else None
