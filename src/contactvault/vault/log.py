"""The disclosure log inside the vault: sealed, hash-chained records of every export and sync.

Each record (``contactvault.vault.disclosures.Disclosure``) is sealed under the log key with its sequence
number in the associated data, names the SHA-256 of the sealed record before it (``previous``), and is an
element of the row-set digest. Reading checks all three: a record edited, dropped, reordered or replayed
fails, each check on its own (tests break each on purpose).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from datetime import datetime

from contactvault import crypto
from contactvault.book import MessengerBook, book_uid
from contactvault.crypto import AuthenticationFailed, RecordKind
from contactvault.errors import VaultCorrupted
from contactvault.models import DirectoryEntry, MessengerEntry
from contactvault.vault.core import Core
from contactvault.vault.disclosures import GENESIS, Disclosure, DisclosureKind, replay
from contactvault.vault.records import pack, unpack
from contactvault.vault.results import Change, ContactDisclosure, HeldEntry

__all__ = ["disclosures_of", "held_at", "new_record", "read"]


def _ad(core: Core, seq: int) -> bytes:
    return crypto.associated_data(core.vault_id, seq.to_bytes(16, "big"), RecordKind.DISCLOSURE, seq)


def read(core: Core) -> tuple[list[Disclosure], str]:
    """The checked records, oldest first, and the hash the next record must name as its ``previous``."""
    records: list[Disclosure] = []
    previous = GENESIS
    aead = crypto.Aead(core.keys.log)
    for seq, sealed in core.storage.log_records():
        if seq != len(records) + 1:
            raise VaultCorrupted("the disclosure log has a gap or is out of order")
        try:
            plain = crypto.open_sealed(aead, sealed, _ad(core, seq))
            record = Disclosure.from_json(unpack(plain))
        except (AuthenticationFailed, ValueError):
            raise VaultCorrupted("a disclosure record fails authentication or is malformed") from None
        if record.seq != seq or record.previous != previous:
            raise VaultCorrupted("the disclosure log's hash chain is broken")
        records.append(record)
        previous = hashlib.sha256(sealed).hexdigest()
    return records, previous


def _entry_hash(key: bytes, uid: str, entry: MessengerEntry) -> str:
    """The log's keyed hash of one book entry (its UID, name and number): shows a rename, hides the values."""
    data = json.dumps([uid, entry.display_name, entry.phone_e164]).encode("utf-8")
    return crypto.keyed_hash(key, data, 16).hex()


def new_record(
    core: Core,
    target: str,
    book: MessengerBook,
    *,
    kind: DisclosureKind,
    policy_digest: str,
    held: Iterable[str] | None,
    kept: Iterable[str],
    at: datetime,
) -> tuple[Disclosure, bytes]:
    """The next record (what ``target`` holds now, as the change since its last record) and its seal."""
    if not target or any(not ch.isprintable() for ch in target):
        raise ValueError("a target is a non-empty line of printable text")
    if at.tzinfo is None:
        raise ValueError("the time of a disclosure must be timezone-aware")
    cards = dict(book.cards())
    reached = set(cards) if held is None else set(held)
    if not reached <= cards.keys():
        raise ValueError("held names UIDs that are not in the book")
    records, previous = read(core)
    before = replay(records, target)
    entry_key = crypto.keyed_hash(core.keys.log, b"entry-hash")
    now_held = {uid: _entry_hash(entry_key, uid, cards[uid]) for uid in sorted(reached)}
    now_held.update({uid: before[uid] for uid in kept if uid in before})
    record = Disclosure(
        seq=len(records) + 1,
        at=at,
        target=target,
        kind=kind,
        policy=policy_digest,
        added={u: h for u, h in now_held.items() if u not in before},
        removed=tuple(sorted(u for u in before if u not in now_held)),
        renamed={u: h for u, h in now_held.items() if u in before and before[u] != h},
        held=len(now_held),
        previous=previous,
    )
    sealed = crypto.seal(crypto.Aead(core.keys.log), pack(record.to_json()), _ad(core, record.seq))
    return record, sealed


def _owners(core: Core, entry: DirectoryEntry) -> dict[str, tuple[uuid.UUID, str]]:
    """Book UID -> (the id it was made under, number), for the contact's id and every id merged into it."""
    key = core.keys.book
    return {
        book_uid(key, cid.bytes, number): (cid, number)
        for cid in (entry.id, *entry.merged_from)
        for number in entry.e164_numbers()
    }


def disclosures_of(core: Core, entry: DirectoryEntry) -> list[ContactDisclosure]:
    """Every disclosure of the contact's current numbers, under its id or one merged into it."""
    owners = _owners(core, entry)
    found: list[ContactDisclosure] = []
    for record in read(core)[0]:
        changes: tuple[tuple[Change, Iterable[str]], ...] = (
            ("added", record.added),
            ("renamed", record.renamed),
            ("removed", record.removed),
        )
        found.extend(
            ContactDisclosure(
                seq=record.seq,
                at=record.at,
                target=record.target,
                kind=record.kind,
                change=change,
                number=owners[uid][1],
                uid=uid,
                policy=record.policy,
                contact_id=owners[uid][0],
            )
            for change, uids in changes
            for uid in uids
            if uid in owners
        )
    return found


def held_at(core: Core, entries: Iterable[DirectoryEntry], target: str, when: datetime) -> list[HeldEntry]:
    """What ``target`` held at ``when``, by replaying the log, with each entry's contact and number now."""
    if when.tzinfo is None:
        raise ValueError("when must be timezone-aware")
    held = replay(read(core)[0], target, when)
    owners: dict[str, tuple[uuid.UUID, str]] = {}
    for entry in entries:
        owners.update((uid, (entry.id, number)) for uid, (_, number) in _owners(core, entry).items())
    return [
        HeldEntry(uid, *owners[uid]) if uid in owners else HeldEntry(uid, None, None) for uid in sorted(held)
    ]
