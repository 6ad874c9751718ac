"""The authenticated state of the vault's row set: a generation, counts, and a keyed digest of every row.

Every sealed blob is authenticated on its own, but that does not show a row that was deleted, duplicated,
swapped with another or put back from an older copy. The row-set state does: a keyed sum (modulo 2**256) of
one keyed hash per contact row (id, version, the tags of its sealed blobs), per blind-index entry and per
disclosure-log record, with the counts and a generation that every write increments, under a MAC that also
covers the header's bytes. Each write adds and subtracts its rows' elements (`Delta`), so a write costs
what it changes, not the size of the vault; opening recomputes the whole sum (`RowSet` against the rows).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from contactvault import crypto
from contactvault.crypto import Keys
from contactvault.errors import VaultCorrupted
from contactvault.vault.backends.base import Backend, Row, TagRow

__all__ = [
    "EMPTY",
    "Delta",
    "RowSet",
    "check",
    "counted",
    "index_element",
    "log_element",
    "recount",
    "row_element",
    "tags_of",
]

_STATE = struct.Struct(">QQQQ32s")  # generation, contact rows, index entries, log records, digest
_MODULUS = 1 << 256


@dataclass(frozen=True, slots=True)
class RowSet:
    """The authenticated state of the set of rows: a generation counter, counts and the digest.

    Its MAC also covers the header's bytes, so that neither can be put back without the other: an older
    header (an old passphrase) under the current rows, or older rows under the current header, is refused.
    """

    generation: int
    rows: int
    index: int
    log: int
    digest: int

    def pack(self, keys: Keys, header: bytes) -> bytes:
        """The state's bytes with their MAC (bound to ``header``)."""
        body = _STATE.pack(self.generation, self.rows, self.index, self.log, self.digest.to_bytes(32, "big"))
        return body + crypto.mac(keys.state, header, body)

    @classmethod
    def unpack(cls, data: bytes, keys: Keys, header: bytes) -> RowSet:
        """The stored state, its MAC checked; ``VaultCorrupted`` if it fails."""
        if len(data) != _STATE.size + 32:
            raise VaultCorrupted("the vault's row-set state has the wrong length")
        body, tag = data[: _STATE.size], data[_STATE.size :]
        if not crypto.macs_equal(crypto.mac(keys.state, header, body), tag):
            raise VaultCorrupted("the vault's row-set state fails its MAC, or belongs to another header")
        generation, rows, index, log, digest = _STATE.unpack(body)
        return cls(generation, rows, index, log, int.from_bytes(digest, "big"))


EMPTY = RowSet(0, 0, 0, 0, 0)
"""The state of a new vault."""


class Delta:
    """Changes to the row set within one transaction, applied to a ``RowSet`` at the commit."""

    def __init__(self, keys: Keys) -> None:
        self._hashed = crypto.keyed_hasher(keys.rowset)
        self.digest = 0
        self.rows = 0
        self.index = 0
        self.log = 0

    def row(self, row: TagRow, sign: int) -> None:
        """Add (``+1``) or take away (``-1``) one contact row."""
        self.digest += sign * row_element(self._hashed, row)
        self.rows += sign

    def index_entry(self, tag: bytes, contact_id: bytes, sign: int) -> None:
        """Add or take away one blind-index entry."""
        self.digest += sign * index_element(self._hashed, tag, contact_id)
        self.index += sign

    def log_record(self, seq: int, record: bytes) -> None:
        """Add one sealed disclosure-log record (records are never taken away)."""
        self.digest += log_element(self._hashed, seq, record[-crypto.TAG_SIZE :])
        self.log += 1

    def applied(self, state: RowSet) -> RowSet:
        """``state`` after this transaction: one generation later."""
        return RowSet(
            generation=state.generation + 1,
            rows=state.rows + self.rows,
            index=state.index + self.index,
            log=state.log + self.log,
            digest=(state.digest + self.digest) % _MODULUS,
        )


Hashed = Callable[[bytes], bytes]
"""The row-set key's keyed hash (``crypto.keyed_hasher(keys.rowset)``): the key's block hashed once."""


def row_element(hashed: Hashed, row: TagRow) -> int:
    """The digest element of one contact row."""
    cid, version, directory, data_key, payload = row
    sizes = bytes((len(directory), len(data_key), len(payload)))
    data = b"C" + cid + version.to_bytes(8, "big") + sizes + directory + data_key + payload
    return int.from_bytes(hashed(data), "big")


def index_element(hashed: Hashed, tag: bytes, contact_id: bytes) -> int:
    """The digest element of one blind-index entry."""
    return int.from_bytes(hashed(b"I" + bytes((len(tag),)) + tag + contact_id), "big")


def log_element(hashed: Hashed, seq: int, tag: bytes) -> int:
    """The digest element of one disclosure-log record (through its AEAD tag)."""
    return int.from_bytes(hashed(b"L" + seq.to_bytes(8, "big") + bytes((len(tag),)) + tag), "big")


def tags_of(row: Row) -> TagRow:
    """What the digest covers of a full row: its id, version and the AEAD tags of its blobs."""
    t = crypto.TAG_SIZE
    key_tag = row.data_key[-t:] if row.data_key is not None else b""
    payload_tag = row.payload[-t:] if row.payload is not None else b""
    return TagRow(row.id, row.version, row.directory[-t:], key_tag, payload_tag)


def check(storage: Backend, keys: Keys, header: bytes) -> RowSet:
    """Recompute the digest of all rows, index entries and log records; compare with the stored state.

    Returns the state; ``VaultCorrupted`` if anything differs. Call it inside one snapshot of the backend.
    """
    stored = RowSet.unpack(storage.read_single("state"), keys, header)
    found = recount(storage, keys, stored.generation)
    if found != stored:
        raise VaultCorrupted(
            "the set of rows does not match the vault's authenticated state "
            "(a row was deleted, added, duplicated or replaced by an older copy)"
        )
    return found


def recount(storage: Backend, keys: Keys, generation: int) -> RowSet:
    """The state of the rows as they are (at ``generation``): every row, index entry and log record hashed.

    ``check`` compares it with the stored state; a re-key stores it under the new key. The key's hash
    state is made once: an open of 100,000 contacts hashes some 400,000 elements.
    """
    return RowSet(
        generation, *counted(keys.rowset, storage.tag_rows(), storage.index_pairs(), storage.log_records())
    )


def counted(
    key: bytes,
    tag_rows: Iterable[TagRow],
    index_pairs: Iterable[tuple[bytes, bytes]],
    log_records: Iterable[tuple[int, bytes]],
) -> tuple[int, int, int, int]:
    """The counts of rows, index entries and log records, and the digest (mod 2**256) of them all.

    The sum of ``row_element``, ``index_element`` and ``log_element`` (the definitions, which the writes
    use) under the row-set ``key``, computed inline: the same bytes hashed with ``crypto.keyed_hash``'s
    keyed BLAKE2b, whose key block is hashed once, without a function call per element.
    """
    copy = hashlib.blake2b(key=key, digest_size=32).copy
    number, tag_size = int.from_bytes, crypto.TAG_SIZE
    digest = rows = 0
    for cid, version, directory, data_key, payload in tag_rows:
        if len(cid) != 16:
            raise VaultCorrupted("a contact row has a malformed id")
        hashed = copy()
        hashed.update(
            b"C%b%b%c%c%c%b%b%b"
            % (
                cid,
                version.to_bytes(8, "big"),
                len(directory),
                len(data_key),
                len(payload),
                directory,
                data_key,
                payload,
            )
        )
        digest += number(hashed.digest(), "big")
        rows += 1
    index = 0
    for tag, cid in index_pairs:
        hashed = copy()
        hashed.update(b"I%c%b%b" % (len(tag), tag, cid))
        digest += number(hashed.digest(), "big")
        index += 1
    hashed_log = crypto.keyed_hasher(key)  # log records are few: their definition itself
    log = 0
    for seq, record in log_records:
        digest += log_element(hashed_log, seq, record[-tag_size:])
        log += 1
    return rows, index, log, digest % _MODULUS
