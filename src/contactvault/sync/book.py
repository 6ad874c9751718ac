"""A vault's messenger book: the policy's decisions, the minimal book, and handing it over (recorded).

Everything here works through the vault's public API: it reads the vault's directory entries (never a
CRM payload), builds UIDs and pseudonym codes with ``Vault.book_codes()``, and records each export and
sync with ``Vault.record_disclosure``. The one exception is ``messenger_book`` on an open ``Vault``: it
reads the vault's directory cache (``vault.directory``) itself, so that it validates only the entries of
contacts it decides again and keeps its decisions and cards there. The book itself (``MessengerBook``,
name styles) is ``contactvault.book``; the files it is written to are ``contactvault.export.minimal``.

- :func:`explain`: every contact's directory entry with the policy's decision and its reasons;
- :func:`messenger_book`: the minimal book, one entry per number the policy allows;
- :func:`export_book`: the book written to a vCard or CSV file, and the disclosure recorded;
- :func:`sync_book`: the book synced to a target, and what the target confirmed recorded.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import operator
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal, TypeVar

from contactvault.book import (
    DEFAULT_PSEUDONYM,
    BookCard,
    BookCodes,
    MessengerBook,
    NameStyle,
    _book_entries,
    _LabelTexts,
    _name_parts,
    check_name_style,
)
from contactvault.errors import SyncError
from contactvault.export.minimal import write_csv, write_vcard
from contactvault.export.vcard import VCardVersion
from contactvault.importers._gc import paused_gc
from contactvault.models import DirectoryEntry
from contactvault.sync._book_pool import PARALLEL_CONTACTS, BookPool, Item, auto_workers, portable
from contactvault.sync.policy import Decision, Policy
from contactvault.sync.targets.base import SyncResult, Target
from contactvault.sync.validity import ALWAYS, Window, day_of, decision_window, instant_of
from contactvault.vault import Disclosure, Kept, KeptView, Vault

__all__ = ["PARALLEL_CONTACTS", "ExportFormat", "explain", "export_book", "messenger_book", "sync_book"]

ExportFormat = Literal["vcf", "csv"]
"""The file formats of :func:`export_book`: a minimal vCard address book or a Google Contacts CSV."""


def explain(
    vault: Vault, policy: Policy, *, now: datetime | None = None
) -> Iterator[tuple[DirectoryEntry, Decision]]:
    """Every contact's directory entry with the policy's decision and its reasons.

    Reads the directory compartment only. ``now`` (default: the current time, taken once) is the moment
    the policy judges.
    """
    moment = now if now is not None else datetime.now(UTC)
    for entry in vault:
        yield entry, policy.decide(entry, now=moment)


def messenger_book(
    vault: Vault,
    policy: Policy,
    *,
    name_style: NameStyle = "full",
    pseudonym: str = DEFAULT_PSEUDONYM,
    now: datetime | None = None,
    workers: int | Literal["auto"] = "auto",
) -> MessengerBook:
    """The minimal book of ``vault``: one ``MessengerEntry`` per number the policy allows, nothing else.

    Decrypts the directory compartment only, never a CRM payload. Names follow ``name_style`` (see
    ``NameStyle``); ``pseudonym`` is the template of the pseudonym style, with ``{code}`` for the
    contact's stable code. UIDs and codes are keyed with the vault's book key (``Vault.book_codes()``):
    stable across books, not linkable to other vaults or to the internal ids.

    ``workers`` > 0 shares the work of a book that looks at every contact (the first of an open vault)
    with that many helper processes, 0 makes it in this process; ``"auto"`` (the default) uses one
    helper from `PARALLEL_CONTACTS` contacts on (rows of the vault: erased ones count), on two cores or
    more. The book is the same either way. A policy of the caller's own (not one of this package's
    classes) is always decided in this process.
    """
    check_name_style(name_style, pseudonym)
    if workers != "auto" and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 0):
        raise ValueError('workers must be "auto", 0 (one process) or a positive number of helper processes')
    codes = vault.book_codes()
    digest = policy.digest()
    moment = now if now is not None else datetime.now(UTC)

    label_texts: _LabelTexts = {}  # this book's, dropped with it

    def make(entry: DirectoryEntry, decision: Decision) -> tuple[BookCard, ...]:
        return _cards_of(entry, decision, codes, name_style, pseudonym, label_texts)

    def finish(token: Kept, item: Item) -> _Held:  # what make() gives, from a helper's name and numbers
        window, numbers, name, family, given = item
        span = None if window is None else Window._make(window)
        if not numbers:  # no number allowed: no card
            return (token, span, ())
        made = map(
            BookCard,
            codes.uids_of(token.id, numbers),  # the row id's bytes are the contact's UUID's
            _book_entries(name, numbers),
            itertools.repeat((family, given)),
        )
        return (token, span, tuple(made))

    with paused_gc():  # many small objects and no cycles; what the book keeps counts as old afterwards
        if not isinstance(vault, Vault) or moment.tzinfo is None:  # no kept directory; a naive now: refused
            entries = [(entry.id.bytes, entry) for entry in vault]
            cards = _Kept().update(entries, _second, policy, moment, make)
        else:
            view = vault.kept_directory()
            kept = _kept_books(view.memo, (type(policy), digest, name_style, pseudonym))
            with kept.lock:
                count = _helpers(workers, view, kept, policy)  # before the read: they load meanwhile
                pool = BookPool(count, policy, moment, name_style, pseudonym, finish)
                try:
                    cards = kept.update(
                        view.read(pool.feed if pool else None), view.entry, policy, moment, make, pool=pool
                    )
                except BaseException:
                    pool.close(kill=True)
                    raise
                pool.close()
        # _Kept.update checked that the UIDs are unique (only those of changed cards, in a warm book)
        return MessengerBook._of_cards(cards, policy_digest=digest, unique=True)


def _helpers(workers: int | Literal["auto"], view: KeptView, kept: _Kept, policy: Policy) -> int:
    """How many helpers a book starts: none when its policy keeps decisions (a warm book) or is not ours.

    ``"auto"`` counts the vault's rows in its row-set state (one read), not its live contacts (a scan).
    """
    if kept.contacts or not portable(policy):
        return 0
    return auto_workers(view.rows()) if workers == "auto" else workers


def _second(pair: tuple[bytes, DirectoryEntry]) -> DirectoryEntry:
    return pair[1]


def _cards_of(  # noqa: PLR0917  (one call, in messenger_book)
    entry: DirectoryEntry,
    decision: Decision,
    codes: BookCodes,
    style: NameStyle,
    pseudonym: str,
    label_texts: _LabelTexts | None = None,
) -> tuple[BookCard, ...]:
    """The book's cards of one contact: one per number ``decision`` allows, with its name and split.

    ``style`` and ``pseudonym`` were checked once for the book (``check_name_style``); ``label_texts``
    keeps the book's cleaned label names (``_name_parts``).
    """
    if not decision.allowed:
        return ()
    cid, numbers = entry.id, decision.numbers
    code = functools.partial(codes.pseudonym, cid)  # computed only if the name needs it
    name, family, given = _name_parts(entry, style, code, pseudonym, label_texts)
    split = (family, given)  # whole words of the name (book_name_parts)
    # each entry what MessengerEntry.model_validate makes of the name and number (_book_entries)
    uids = codes.uids(cid, numbers)
    return tuple(map(BookCard, uids, _book_entries(name, numbers), itertools.repeat(split)))


def _kept_books(memo: dict[object, object], key: object) -> _Kept:
    """The cache of the books made with ``key`` (policy, name style, template) in a vault's ``memo``.

    It lives with the vault's decrypted directory entries and is dropped with them when the vault closes.
    """
    found = memo.get(key)
    if not isinstance(found, _Kept):
        found = memo[key] = _Kept()
    return found


_T = TypeVar("_T", bound=tuple[Any, ...])
_Held = tuple[Any, Window | None, tuple[BookCard, ...]]
"""What a book keeps of one contact: what its directory was read as, its decision's span, its cards."""
_PLACE: Final[_Held] = ((), None, ())


class _Kept:
    """One policy's decisions and cards of a vault's contacts, kept between its books while it is open.

    Per contact (by row id): what its directory was read as (the vault cache's ``Kept`` record: a changed
    contact is a new object), the span of moments in which the decision holds (``sync.validity``;
    ``None``: made afresh each time), and its cards. A book reuses them for a contact whose record is the
    same object and whose span holds the book's ``now``; it validates the entry again and decides again
    for every other one. The cards of the last book are kept in its order, so a few changes are sorted in.

    It also keeps the last ``read`` and the span in which every kept decision holds (``span``: the meet of
    their spans; ``None`` when one is ``None`` or not known). When ``now`` is in that span and the read has
    as many contacts as the last, the records that are not the same objects at the same places are the
    only ones looked at (found in C, without a Python step per contact): the book's work is in proportion
    to what changed. Anything else (contacts added or moved, many changes, ``now`` outside the span) takes
    the full pass, which looks at every contact.
    """

    __slots__ = ("contacts", "last", "lock", "order", "span", "uids")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.contacts: dict[bytes, _Held] = {}
        self.order: list[BookCard] | None = None
        self.last: tuple[Any, ...] | None = None
        self.span: Window | None = None
        self.uids: set[str] = set()  # of the cards in order: each once (checked)

    def clear(self) -> None:
        """Drop everything (the vault is closing)."""
        self.contacts = {}
        self.order = None
        self.last = None
        self.span = None
        self.uids = set()

    def update(
        self,
        read: Iterable[_T],
        entry_of: Callable[[_T], DirectoryEntry],
        policy: Policy,
        now: datetime,
        make: Callable[[DirectoryEntry, Decision], tuple[BookCard, ...]],
        *,
        pool: BookPool[_Held] | None = None,
    ) -> list[BookCard]:
        """The cards of the book at ``now``, in the book's order; the kept decisions brought up to date.

        ``read`` holds what each contact's directory was read as (a tuple: its row id first), in the
        vault's order; ``entry_of`` makes the contact's entry from that. ``pool``'s helpers, if any, share
        the work of a full pass (``sync._book_pool``).
        """
        tokens_read = read if type(read) is tuple else None
        changed = self._changed(tokens_read, now)
        if changed is None:
            return self._update_all(read, entry_of, policy, now, make, pool=pool)
        tokens, gone = changed
        made: dict[bytes, _Held] = {}
        for token in tokens:  # made before anything kept changes: an entry that fails leaves it as it was
            made[token[0]] = _held(entry_of, policy, now, make, token)
        contacts, order = self.contacts, self.order
        fresh = [card for held in made.values() for card in held[2]]
        redone = {cid for cid in made if cid in contacts} | gone
        out = {card.uid for cid in redone for card in contacts[cid][2]}
        new = [card.uid for card in fresh]
        if len(set(new)) != len(new) or any(uid in self.uids and uid not in out for uid in new):
            raise ValueError("the UIDs of a book must be unique")
        if order is None or len(fresh) > len(order) // 8 or not _taken_out(order, redone, contacts):
            self.order = None  # perhaps half taken out: sorted anew
            return self._update_all(read, entry_of, policy, now, make, pool=pool)
        for card in fresh:
            bisect.insort(order, card, key=_book_order)
        self.uids.difference_update(out)
        self.uids.update(new)
        for cid in gone:
            del contacts[cid]
        contacts.update(made)
        self.last, self.span = tokens_read, _meet(self.span, (held[1] for held in made.values()))
        return order

    def _changed(self, read: tuple[Any, ...] | None, now: datetime) -> tuple[list[Any], set[bytes]] | None:
        """The records of ``read`` that changed since the last book and the ids of contacts gone, if cheap.

        ``None`` unless the last book's decisions all hold at ``now`` (its ``span``), ``read`` is a tuple
        of as many records as the last, and few are not the same objects at the same places.
        """
        last, span = self.last, self.span
        if last is None or span is None or read is None or len(read) != len(last):
            return None
        instant, day = instant_of(now), day_of(now)
        if not (span[0] <= instant < span[1] and span[2] <= day < span[3]):
            return None
        at = list(itertools.compress(range(len(read)), map(operator.is_not, read, last)))
        if len(at) > len(read) // 8:
            return None
        tokens = [read[i] for i in at]
        # A contact whose record is elsewhere in read moved: its old place is in ``at`` too (ids are unique).
        gone = {last[i][0] for i in at} - {token[0] for token in tokens}
        return tokens, gone

    def _update_all(
        self,
        read: Iterable[_T],
        entry_of: Callable[[_T], DirectoryEntry],
        policy: Policy,
        now: datetime,
        make: Callable[[DirectoryEntry, Decision], tuple[BookCard, ...]],
        *,
        pool: BookPool[_Held] | None = None,
    ) -> list[BookCard]:
        """:meth:`update` looking at every contact of ``read``."""
        before = self.contacts
        contacts: dict[bytes, _Held] = {}
        todo: list[Any] = []  # the tokens of contacts decided afresh, in order
        redone: set[bytes] = set()
        seen = 0  # contacts of the last book still here
        instant, day = (instant_of(now), day_of(now)) if before else (0, 0)
        tokens = read if type(read) is tuple else None
        for token in read:
            cid: bytes = token[0]
            held = before.get(cid)
            if held is not None:
                seen += 1
                window = held[1]  # and its holds(instant, day), inline:
                if (
                    held[0] is token
                    and window is not None
                    and window[0] <= instant < window[1]
                    and window[2] <= day < window[3]
                ):
                    contacts[cid] = held
                    continue
                redone.add(cid)
            contacts[cid] = _PLACE  # its place; made below
            todo.append(token)

        here = functools.partial(_held, entry_of, policy, now, make)
        if pool and todo:
            try:
                made = pool.made(todo, here)
            except Exception:  # noqa: BLE001  (raised again below: the first failure in order, as in one process)
                pool.close(kill=True)
                made = list(map(here, todo))
        else:
            made = list(map(here, todo))
        fresh: list[BookCard] = []
        for held in made:
            contacts[held[0][0]] = held
            fresh.extend(held[2])
        gone = before.keys() - contacts.keys() if seen < len(before) else set()
        order = self.order
        if order is None or len(fresh) > len(order) // 8 or not _taken_out(order, redone | gone, before):
            if not before and len(made) == len(contacts):  # a first book, ids unique: fresh is in their order
                order = fresh
            else:
                order = [card for held in contacts.values() for card in held[2]]
            order.sort(key=_book_order)
        else:
            for card in fresh:
                bisect.insort(order, card, key=_book_order)
        uids = set(map(_uid_of, order))
        if len(uids) != len(order):
            self.order = None
            raise ValueError("the UIDs of a book must be unique")
        self.contacts, self.order, self.uids = contacts, order, uids
        self.last = tokens
        self.span = _meet(ALWAYS, map(_window, contacts.values())) if tokens is not None else None
        return order


def _held(
    entry_of: Callable[[Any], DirectoryEntry],
    policy: Policy,
    now: datetime,
    make: Callable[[DirectoryEntry, Decision], tuple[BookCard, ...]],
    token: Any,  # noqa: ANN401  (a token of a read: a tuple, its row id first)
) -> _Held:
    """What a book keeps of the contact ``token`` was read as: decided at ``now``, its span, its cards."""
    entry = entry_of(token)
    cards = make(entry, policy.decide(entry, now=now))
    return (token, decision_window(policy, entry, now), cards)


def _window(held: _Held) -> Window | None:
    return held[1]


def _meet(span: Window | None, windows: Iterable[Window | None]) -> Window | None:
    """The span in which ``span`` and every one of ``windows`` hold; ``None`` if any of them is ``None``."""
    found = set(windows)  # many contacts share a span: max and min see each one once
    if span is None or None in found:
        return None
    spans: list[Window] = [span, *found]  # type: ignore[list-item]  # no None: checked above
    return Window(
        max(map(operator.itemgetter(0), spans)),
        min(map(operator.itemgetter(1), spans)),
        max(map(operator.itemgetter(2), spans)),
        min(map(operator.itemgetter(3), spans)),
    )


def _taken_out(order: list[BookCard], contacts: set[bytes], before: dict[bytes, _Held]) -> bool:
    """Take the cards of ``contacts`` (as ``before`` holds them) out of ``order``; whether all were there."""
    for cid in contacts:
        for card in before[cid][2]:
            at = bisect.bisect_left(order, card.key, key=_book_order)
            if at == len(order) or order[at] is not card:
                return False
            del order[at]
    return True


_book_order: Final = operator.attrgetter("key")
_uid_of: Final = operator.attrgetter("uid")


def export_book(
    vault: Vault,
    book: MessengerBook,
    path: str | Path,
    *,
    file_format: ExportFormat = "vcf",
    version: VCardVersion = "3.0",
) -> Disclosure:
    """Write ``book`` to ``path`` and record the disclosure in ``vault`` (target ``file:<absolute path>``).

    A minimal vCard or a Google Contacts CSV, written atomically with mode 0600, inside the vault's write
    transaction: when another process keeps the vault busy past its lock timeout (``VaultLocked``), no
    file is written, so every export that happens is recorded.
    """
    target = Path(path)
    if file_format not in ("vcf", "csv"):
        raise ValueError("file_format must be 'vcf' or 'csv'")

    def write() -> None:  # inside the vault's write transaction: no file unless the record can be made
        if file_format == "vcf":
            write_vcard(book, target, version)
        else:
            write_csv(book, target)

    return vault.record_disclosure(
        f"file:{target.resolve()}", book, kind="export", policy_digest=book.policy_digest, deliver=write
    )


def sync_book(vault: Vault, book: MessengerBook, target: Target, *, dry_run: bool = False) -> SyncResult:
    """Sync ``book`` to ``target`` and record in ``vault``'s disclosure log what the target confirmed.

    A dry run records nothing. If the target fails half-way, what it confirmed is recorded (and the
    cards it still holds as before are kept as they were in the log) before ``SyncError`` is raised;
    running the sync again finishes the job.
    """
    if not isinstance(book, MessengerBook):
        raise TypeError("sync_book() takes a MessengerBook")
    digest = book.policy_digest
    try:
        result = target.sync(book, dry_run=dry_run)
    except SyncError as exc:
        if exc.partial is not None and exc.partial.done:
            held, pending = exc.partial.held, exc.partial.pending
            vault.record_disclosure(
                target.name, book, kind="sync", policy_digest=digest, held=held, kept=pending
            )
        raise
    if not result.dry_run:
        vault.record_disclosure(target.name, book, kind="sync", policy_digest=digest, held=result.held)
    return result
