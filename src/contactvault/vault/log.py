"""The vault's log: sealed, hash-chained records of every export and sync, and of who changed what.

Each record (a ``Disclosure`` or an ``Activity``, ``contactvault.vault.disclosures``) is sealed under the
log key with its sequence number in the associated data, names the SHA-256 of the sealed record before it
(``previous``), and is an element of the row-set digest. Reading checks all three: a record edited,
dropped, reordered or replayed fails, each check on its own (tests break each on purpose).

Every write of the vault passes the callable ``activity`` returns to ``Core.commit``, which calls it inside
the write transaction: the record is made from the log as it is then and lands with the change, or
neither does. ``commit`` does that, and writes (and logs) nothing when a change writes no row.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple, cast

from contactvault import crypto
from contactvault.book import BookCard, MessengerBook, book_uid
from contactvault.crypto import AuthenticationFailed, RecordKind
from contactvault.errors import VaultCorrupted
from contactvault.models import DirectoryEntry, MessengerEntry
from contactvault.vault.core import Core, Write
from contactvault.vault.disclosures import (
    ACTIVITY_ACTIONS,
    GENESIS,
    Activity,
    ActivityAction,
    Disclosure,
    DisclosureKind,
    LogRecord,
    parse,
    replay,
)
from contactvault.vault.records import pack, unpack
from contactvault.vault.results import Change, ContactDisclosure, HeldEntry

__all__ = [
    "activities",
    "activities_of",
    "activity",
    "commit",
    "contact_hash",
    "contact_hashes",
    "disclosures_of",
    "held_at",
    "new_record",
    "note",
    "read",
]


def _ad(core: Core, seq: int) -> bytes:
    return crypto.associated_data(core.vault_id, seq.to_bytes(16, "big"), RecordKind.DISCLOSURE, seq)


def read(core: Core, *, fresh: bool = False) -> tuple[list[LogRecord], str]:
    """The checked records (disclosures and activities), oldest first, and the next record's ``previous``.

    The log only grows, so an open vault keeps what it read (``Core.log_kept``) and later opens only the
    records added since: the first new record must name the hash of the last kept one, which proves the
    kept records are still the stored ones (the hash chain). If the stored log is no longer a continuation
    of the kept one (shorter, or its last record changed: a snapshot older than what this process read, a
    copy put back, tampering), the whole log is read and checked again. ``fresh`` reads it whole in any
    case (``verify``).
    """
    kept = None if fresh else core.log_kept
    mine = {} if fresh else _memo(core).sealed
    if kept is not None:
        old, previous = kept
        last = core.storage.log_last()
        count = len(old)
        if last is not None and last[0] >= count:
            if last[0] == count and hashlib.sha256(last[1]).hexdigest() == previous:
                return list(old), previous
            if last[0] > count:
                try:
                    rows = core.storage.log_records(after=count)
                    added, previous = _checked(core, rows, count, previous, mine)
                except VaultCorrupted:
                    pass  # not a continuation of what was kept: read it all again, below
                else:
                    records = [*old, *added]
                    core.log_kept = (tuple(records), previous)
                    return records, previous
    records, previous = _checked(core, core.storage.log_records(), 0, GENESIS, mine)
    core.log_kept = (tuple(records), previous)
    return records, previous


def _checked(
    core: Core,
    rows: Iterable[tuple[int, bytes]],
    count: int,
    previous: str,
    mine: dict[str, LogRecord],
) -> tuple[list[LogRecord], str]:
    """The records of ``rows``, which follow ``count`` records ending in the hash ``previous``, checked.

    ``mine`` holds the records this process sealed (``_seal``), by the SHA-256 of their sealed bytes: a
    row whose bytes have that hash is those very bytes, sealed here from that record under this vault's
    log key for its sequence number (checked below), so it is taken without opening and parsing it again
    (a disclosure of a whole book is large). Every other row is opened and parsed.
    """
    records: list[LogRecord] = []
    aead = crypto.Aead(core.keys.log)
    for seq, sealed in rows:
        if seq != count + len(records) + 1:
            raise VaultCorrupted("the vault's log has a gap or is out of order")
        digest = hashlib.sha256(sealed).hexdigest()
        record = mine.pop(digest, None)
        if record is None:
            try:
                plain = crypto.open_sealed(aead, sealed, _ad(core, seq))
                record = parse(unpack(plain))
            except (AuthenticationFailed, ValueError):
                raise VaultCorrupted("a log record fails authentication or is malformed") from None
        if record.seq != seq or record.previous != previous:
            raise VaultCorrupted("the vault log's hash chain is broken")
        records.append(record)
        previous = digest
    return records, previous


class _Target(NamedTuple):
    """What a target holds after the first ``after`` records of the log (the last one's hash ``previous``).

    ``cards`` are the cards of the book whose entries ``held`` is, exactly (every card's UID with its entry
    hash, nothing else), when a record of this process made it so; ``None`` otherwise.
    """

    after: int  # how many records (``count`` is a method of tuples)
    previous: str
    held: dict[str, str]
    cards: frozenset[BookCard] | None


class _Memo:
    """What this process keeps of the log beyond the records (``Core.log_memo``), dropped on close.

    ``sealed``: the records it sealed, by the SHA-256 of the sealed bytes, until ``read`` meets them in
    the log (a record of a transaction that failed stays until the next record it seals clears it).
    ``targets``: per target, what it holds after a point of the log (``_Target``), so that the next record
    replays only the records added since and, after a record made from a book of ``messenger_book``,
    compares only the cards that changed.
    """

    __slots__ = ("sealed", "targets")

    def __init__(self) -> None:
        self.sealed: dict[str, LogRecord] = {}
        self.targets: dict[str, _Target] = {}


def _memo(core: Core) -> _Memo:
    found = core.log_memo.get(_Memo)
    if not isinstance(found, _Memo):
        found = core.log_memo[_Memo] = _Memo()
    return found


def _held_before(
    records: list[LogRecord], previous: str, target: str, memo: _Memo
) -> tuple[dict[str, str], frozenset[BookCard] | None]:
    """What ``target`` holds after ``records`` (never to be changed), and the cards it is, if known.

    From ``memo`` when its point is still in the log (the hash chain: the record after it names its hash,
    or it is the last), replaying only the records after it; otherwise every record is replayed.
    """
    found = memo.targets.get(target)
    count = len(records)
    if found is not None and (
        (found.after == count and found.previous == previous)
        or (found.after < count and records[found.after].previous == found.previous)
    ):
        later = [r for r in records[found.after :] if isinstance(r, Disclosure) and r.target == target]
        if not later:
            return found.held, found.cards
        return replay(later, target, held=found.held), None
    return replay(records, target), None


_json_text: Final[Callable[[str], str]] = json.encoder.encode_basestring_ascii
"""A string as ``json.dumps`` writes it (``ensure_ascii``, the default): quoted and escaped."""


def _entry_hash(core: Core, key: bytes, uid: str, entry: MessengerEntry) -> str:
    """The log's keyed hash of one book entry (its UID, name and number): shows a rename, hides the values.

    Kept per open vault (``Core.entry_hashes``): the next export hashes only the entries that changed.
    """
    known = (uid, entry.display_name, entry.phone_e164)
    found = core.entry_hashes.get(known)
    if found is None:
        # json.dumps(list(known)), without its Python steps: each string as json.dumps writes it
        data = f"[{_json_text(uid)}, {_json_text(known[1])}, {_json_text(known[2])}]".encode()
        found = core.entry_hashes[known] = crypto.keyed_hash(key, data, 16).hex()
    return found


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
    made = book._cards_made() if held is None and not kept else None  # a book of messenger_book
    if made is None:
        cards = dict(book.cards())
        reached = set(cards) if held is None else set(held)
        if not reached <= cards.keys():
            raise ValueError("held names UIDs that are not in the book")
    records, previous = read(core)
    memo = _memo(core)
    before, cards_before = _held_before(records, previous, target, memo)
    entry_key = crypto.keyed_hash(core.keys.log, b"entry-hash")
    if made is None:
        now_held = {uid: _entry_hash(core, entry_key, uid, cards[uid]) for uid in sorted(reached)}
        now_held.update({uid: before[uid] for uid in kept if uid in before})
        added, renamed = _added_renamed(now_held.items(), before)
        removed = tuple(sorted(u for u in before if u not in now_held))
        cards_now = None
    else:
        cards_now = frozenset(made)
        now_held, added, removed, renamed = _changes(
            core, entry_key, made, cards=cards_now, before=before, cards_before=cards_before
        )
    record = Disclosure(
        seq=len(records) + 1,
        at=at,
        target=target,
        kind=kind,
        policy=policy_digest,
        added=added,
        removed=removed,
        renamed=renamed,
        held=len(now_held),
        previous=previous,
        by=core.actor,
    )
    sealed = _seal(core, record)
    # What the target holds once this record is in the log: the next record starts from it (if the commit
    # fails, the log never names this record's hash and it is not used).
    memo.targets[target] = _Target(record.seq, hashlib.sha256(sealed).hexdigest(), now_held, cards_now)
    return record, sealed


def _changes(
    core: Core,
    key: bytes,
    made: tuple[BookCard, ...],
    *,
    cards: frozenset[BookCard],
    before: dict[str, str],
    cards_before: frozenset[BookCard] | None,
) -> tuple[dict[str, str], dict[str, str], tuple[str, ...], dict[str, str]]:
    """What the target holds with every card of ``made`` (``cards``), and what was added, removed, renamed.

    When ``before`` is exactly the entries of ``cards_before`` (a book of ``messenger_book`` recorded
    before), only the cards that are not in both are looked at: a card is the same object from book to
    book while its contact does not change. Otherwise every card is hashed and compared, as for any book.
    """
    if cards_before is None:
        now_held = {card.uid: _entry_hash(core, key, card.uid, card.entry) for card in made}
        new = now_held
        gone: Iterable[str] = (uid for uid in before if uid not in now_held)
    else:
        new = {card.uid: _entry_hash(core, key, card.uid, card.entry) for card in cards - cards_before}
        now_held = dict(before)
        for card in cards_before - cards:
            now_held.pop(card.uid, None)
        now_held.update(new)
        gone = (card.uid for card in cards_before - cards if card.uid not in now_held)
    added, renamed = _added_renamed(sorted(new.items()), before)
    return now_held, added, tuple(sorted(gone)), renamed


def _added_renamed(
    held: Iterable[tuple[str, str]], before: dict[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Of the ``(uid, entry hash)`` pairs held now: those new to the target, and those it held otherwise."""
    pairs = list(held)
    added = {u: h for u, h in pairs if u not in before}
    renamed = {u: h for u, h in pairs if u in before and before[u] != h}
    return added, renamed


def _seal(core: Core, record: LogRecord) -> bytes:
    """The record sealed under the log key; kept by its hash, so that ``read`` need not open it again."""
    sealed = crypto.seal(crypto.Aead(core.keys.log), pack(record.to_json()), _ad(core, record.seq))
    mine = _memo(core).sealed
    if len(mine) >= _MAX_SEALED:  # records of transactions that failed, never read back: start over
        mine.clear()
    mine[hashlib.sha256(sealed).hexdigest()] = record
    return sealed


_MAX_SEALED: Final = 1_000
"""The most records sealed by this process and not yet read back that ``_Memo.sealed`` keeps."""


def _tail(core: Core) -> tuple[int, str]:
    """The last record's sequence number and hash (0 and ``GENESIS`` for an empty log), its seal checked."""
    last = core.storage.log_last()
    if last is None:
        return 0, GENESIS
    seq, sealed = last
    try:
        crypto.open_sealed(crypto.Aead(core.keys.log), sealed, _ad(core, seq))
    except AuthenticationFailed:
        raise VaultCorrupted("a log record fails authentication or is malformed") from None
    return seq, hashlib.sha256(sealed).hexdigest()


def contact_hash(core: Core, contact_id: uuid.UUID) -> str:
    """The log's keyed hash of a contact id: the same id, the same hash; the id cannot be read from it."""
    return contact_hashes(core, (contact_id,))[0]


def contact_hashes(core: Core, contact_ids: Iterable[uuid.UUID]) -> tuple[str, ...]:
    """``contact_hash`` of each id, in order (the hash key derived once, not once per contact)."""
    key = crypto.keyed_hash(core.keys.log, b"contact-hash")
    return tuple(crypto.keyed_hash(key, cid.bytes, 16).hex() for cid in contact_ids)


def activity(
    core: Core,
    action: str,
    *,
    contacts: Iterable[uuid.UUID] = (),
    detail: str = "",
    at: datetime | None = None,
    data: dict[str, Any] | None = None,
    guard: Callable[[list[LogRecord]], None] | None = None,
) -> Callable[[], tuple[int, bytes]]:
    """The callable to pass as ``Core.commit(..., log=...)`` that appends an ``Activity`` by ``core.actor``.

    Called inside the write transaction, it reads the last record of the log as it is then (authenticated;
    the whole chain is checked by ``read``, not by every write) and returns the next record's sequence
    number and sealed bytes. ``contacts`` (their ids; only keyed hashes are stored) is iterated
    when it is called, so a list that the commit's writes fill as they are made can be passed; ``detail``
    is a short line that holds no personal data (a purpose, a legal basis); ``at`` defaults to the time the
    record is made. ``data`` is the record's document (``Activity.data``). ``guard``, if given, is called
    inside the transaction with every record of the log as it is then (the whole chain checked), before
    the record is made: it raises to refuse the step (a reply code already used, a notice version already
    stored), and the commit then writes nothing. ``ValueError`` for an unknown ``action`` (at once) or a
    ``detail`` that is not a short line of printable text (from the commit, which then writes nothing).
    """
    if action not in ACTIVITY_ACTIONS:
        raise ValueError(f"unknown activity {action!r}")
    checked = cast("ActivityAction", action)

    def record() -> tuple[int, bytes]:
        if guard is None:
            last, previous = _tail(core)
        else:
            records, previous = read(core)
            guard(records)
            last = len(records)
        hashes = tuple(dict.fromkeys(contact_hashes(core, contacts)))
        made = Activity(
            seq=last + 1,
            at=at if at is not None else datetime.now(UTC),
            by=core.actor,
            action=checked,
            contacts=hashes,
            count=len(hashes),
            detail=detail,
            previous=previous,
            data=data,
        )
        return made.seq, _seal(core, made)

    return record


class _NothingWritten(Exception):  # not an error: it ends a transaction that wrote nothing
    """Raised inside a transaction whose change wrote no row, so that no activity is logged for it."""


def commit(
    core: Core,
    writes: Iterable[Write],
    action: ActivityAction,
    *,
    contacts: Iterable[uuid.UUID] = (),
    detail: str | Callable[[], str] = "",
    progress: Callable[[int], object] | None = None,
    data: dict[str, Any] | None = None,
    guard: Callable[[list[LogRecord]], None] | None = None,
) -> int:
    """``core.commit(writes, log=activity(...))``: the change and its activity record in one transaction.

    A change that writes no row logs nothing and leaves the vault as it was (a stream of writes that turns
    out empty is rolled back). ``detail`` may be a function, called after the writes (inside the
    transaction). ``data`` and ``guard`` are passed to ``activity``. Returns how many rows were written.
    """
    if isinstance(writes, list | tuple):
        if not writes:
            return 0
        text = detail if isinstance(detail, str) else detail()
        made = activity(core, action, contacts=contacts, detail=text, data=data, guard=guard)
        return core.commit(writes, log=made, progress=progress)
    activity(core, action)  # an unknown action fails before anything is written
    count = 0

    def counted() -> Iterator[Write]:
        nonlocal count
        for write in writes:
            count += 1
            yield write

    def record() -> tuple[int, bytes]:
        if count == 0:
            raise _NothingWritten
        text = detail if isinstance(detail, str) else detail()
        return activity(core, action, contacts=contacts, detail=text, data=data, guard=guard)()

    try:
        return core.commit(counted(), log=record, progress=progress)
    except _NothingWritten:
        return 0


def note(
    core: Core,
    action: ActivityAction,
    *,
    contacts: Iterable[uuid.UUID] = (),
    detail: str = "",
    data: dict[str, Any] | None = None,
    guard: Callable[[list[LogRecord]], None] | None = None,
    at: datetime | None = None,
) -> int:
    """Append one activity that changes no contact (a notice stored, a request sent): its own transaction.

    ``guard`` is called inside it with the log as it is then (see ``activity``); if it raises, nothing is
    written. Returns the new record's sequence number.
    """
    made = activity(core, action, contacts=contacts, detail=detail, at=at, data=data, guard=guard)
    seqs: list[int] = []

    def record() -> tuple[int, bytes]:
        seq, sealed = made()
        seqs.append(seq)
        return seq, sealed

    core.commit([], log=record)
    return seqs[0]


def activities(core: Core, action: ActivityAction) -> list[Activity]:
    """Every activity record of ``action``, oldest first (the whole log read and checked)."""
    return [r for r in read(core)[0] if isinstance(r, Activity) and r.action == action]


def activities_of(core: Core, entry: DirectoryEntry) -> list[Activity]:
    """Every activity record that concerns the contact, under its id or one merged into it, oldest first."""
    hashes = set(contact_hashes(core, (entry.id, *entry.merged_from)))
    return [
        record
        for record in read(core)[0]
        if isinstance(record, Activity) and not hashes.isdisjoint(record.contacts)
    ]


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
        if not isinstance(record, Disclosure):
            continue
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
                by=record.by,
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
