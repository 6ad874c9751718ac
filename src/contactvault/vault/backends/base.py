"""The storage protocol of a vault: bytes in, bytes out, and the transactions that keep them consistent.

A backend stores what ``docs/format.md`` lists and nothing else: random ids, version numbers, sealed blobs,
keyed blind-index tags, sealed log records, the sealed header and the authenticated row-set state. It never
sees a key or a plaintext, so a backend (or whoever administers it) learns counts and sizes only.

Two implementations share this protocol and one test suite: ``sqlite`` (the default, one file) and
``postgres`` (a schema in a PostgreSQL database). Their concurrency semantics are the same:

- ``transaction()`` is a write transaction, and writers are serialised: SQLite's write lock (``BEGIN
  IMMEDIATE``), or in PostgreSQL a row lock on the state row (``SELECT ... FOR UPDATE``) taken first. The
  row-set state and the disclosure log are read and written inside it, so they never fork.
- ``snapshot()`` is a read transaction: every read inside it sees one committed state. Readers never block
  writers.
- ``replace`` writes a row only if it is still at the version it was read at; otherwise ``ConflictError``.
- One backend object serves several threads: each thread gets its own connection.

Every database error is turned into a contactvault error inside the backend: damage becomes
``VaultCorrupted``, a writer that waited too long ``VaultLocked``.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Iterator
from typing import NamedTuple, Protocol

from contactvault.errors import ConflictError

__all__ = ["SINGLE_TABLES", "TABLES", "Backend", "Row", "TagRow", "copy_rows", "stale"]

TABLES = ("header", "state", "contacts", "phone_index", "disclosures")
"""The tables of every vault, on every backend."""

SINGLE_TABLES = ("header", "state")
"""The tables that hold exactly one blob."""


class Row(NamedTuple):
    """One stored contact: its id, version and sealed blobs.

    ``data_key`` and ``payload`` are ``None`` once the contact is erased.
    """

    id: bytes
    version: int
    directory: bytes
    data_key: bytes | None
    payload: bytes | None


class TagRow(NamedTuple):
    """What the row-set digest covers of a contact row: id, version and the tags of its sealed blobs."""

    id: bytes
    version: int
    directory_tag: bytes
    data_key_tag: bytes
    payload_tag: bytes


class Backend(Protocol):
    """Where a vault's bytes live. See the module docstring for the semantics every backend keeps."""

    @property
    def location(self) -> str:
        """What to call the vault in messages: a file name, or a URL without its password."""
        ...

    @property
    def kind(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        ...

    @property
    def closed(self) -> bool:
        """Whether ``close`` was called."""
        ...

    def close(self) -> None:
        """Close every connection. Safe to call twice."""
        ...

    def check_open(self) -> None:
        """Raise ``VaultClosed`` if the vault was closed."""
        ...

    def check_schema(self) -> None:
        """``VaultCorrupted`` (or ``UnsupportedFormat``) unless the vault's tables are there as expected."""
        ...

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """One write transaction, serialised with every other writer: all of it is committed, or nothing."""
        ...

    def snapshot(self) -> contextlib.AbstractContextManager[None]:
        """A read transaction: the reads inside see one committed state (inside ``transaction``: no-op)."""
        ...

    def after_erase(self) -> bool:
        """Make erased bytes unreachable in the backend's own files where it can; whether that was done."""
        ...

    def settings(self) -> dict[str, int | str]:
        """The backend's protective settings, read back from the server or file."""
        ...

    def integrity_check(self) -> None:
        """The backend's structural check; ``VaultCorrupted`` if it finds anything."""
        ...

    def read_single(self, table: str) -> bytes:
        """The one blob of the ``header`` or ``state`` table."""
        ...

    def write_single(self, table: str, data: bytes) -> None:
        """Replace the one blob of the ``header`` or ``state`` table (inside a transaction)."""
        ...

    def get(self, contact_id: bytes) -> Row | None:
        """The row of one contact, or ``None``."""
        ...

    def rows(self, *, with_payload: bool = False) -> Iterator[Row]:
        """Every contact row in the order they were added; ``payload`` is ``None`` unless asked for."""
        ...

    def tag_rows(self) -> Iterator[TagRow]:
        """Id, version and the tags of every contact row: what the row-set digest covers."""
        ...

    def count(self) -> tuple[int, int]:
        """Rows in the contacts table, and how many of them are live (not erased)."""
        ...

    def rewrap(self, keys: list[tuple[bytes, int, bytes]]) -> None:
        """Replace the wrapped data key of each ``(id, version, data key)`` row (inside a transaction).

        ``ConflictError`` (``stale``) if a row is no longer at that version.
        """
        ...

    def insert(self, rows: Iterable[Row]) -> None:
        """Add new contact rows (inside a transaction)."""
        ...

    def replace(self, row: Row, expected_version: int) -> None:
        """Overwrite a contact row if it is still at ``expected_version``, else ``ConflictError``."""
        ...

    def index_add(self, pairs: Iterable[tuple[bytes, bytes]]) -> None:
        """Add ``(tag, contact_id)`` pairs to the blind index."""
        ...

    def index_of(self, contact_id: bytes) -> list[bytes]:
        """The index tags of one contact, found by scanning the index (a slow fallback)."""
        ...

    def index_remove(self, contact_id: bytes, tags: list[bytes]) -> None:
        """Remove the index entries ``tags`` of one contact; each must be there, else ``VaultCorrupted``."""
        ...

    def index_lookup(self, tag: bytes) -> list[bytes]:
        """The ids of the contacts with an index entry ``tag``."""
        ...

    def index_pairs(self) -> Iterator[tuple[bytes, bytes]]:
        """Every ``(tag, contact_id)`` pair of the blind index."""
        ...

    def log_append(self, seq: int, record: bytes) -> None:
        """Append a sealed disclosure record (inside a transaction)."""
        ...

    def log_records(self, after: int = 0) -> Iterator[tuple[int, bytes]]:
        """Every sealed disclosure record with a sequence number above ``after``, in order."""
        ...

    def log_last(self) -> tuple[int, bytes] | None:
        """The sealed log record with the highest sequence number; ``None`` when the log is empty."""
        ...


def stale(contact_id: bytes) -> ConflictError:
    """The error of a write from a stale read: names the contact's id, never a value."""
    cid = uuid.UUID(bytes=contact_id)
    return ConflictError(
        f"contact {cid} was changed by another writer since it was read; "
        "read it again and apply the change to the fresh copy",
        cid,
        stale=True,
    )


def copy_rows(source: Backend, target: Backend, *, batch: int = 1_000) -> None:
    """Copy every row of ``source`` into the new, empty ``target`` as it is: no blob is opened.

    Reads one snapshot of ``source`` and writes one transaction into ``target``: header, state, contact
    rows, blind index and log. The copy is therefore a whole vault or none; the caller verifies it.
    """
    with source.snapshot(), target.transaction():
        for table in SINGLE_TABLES:
            target.write_single(table, source.read_single(table))
        pending: list[Row] = []
        for row in source.rows(with_payload=True):
            pending.append(row)
            if len(pending) >= batch:
                target.insert(pending)
                pending.clear()
        target.insert(pending)
        pairs: list[tuple[bytes, bytes]] = []
        for pair in source.index_pairs():
            pairs.append(pair)
            if len(pairs) >= batch:
                target.index_add(pairs)
                pairs.clear()
        target.index_add(pairs)
        for seq, record in source.log_records():
            target.log_append(seq, record)
