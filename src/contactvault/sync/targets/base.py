"""What every sync target shares: the plan, the result, the error, and the ``Target`` protocol.

A target receives a :class:`~contactvault.book.MessengerBook` and makes the place it writes to hold
exactly that book. It works in two steps: :meth:`Target.plan` reads the target's current state and says what
would change (a :class:`SyncPlan`), :meth:`Target.apply` carries the plan out and reports what the target
confirmed (a :class:`SyncResult`). :meth:`Target.sync` does both, or only the first for a dry run.

The plan is always computed from the target's current state, so running a sync again after a failure
finishes the job. A result lists only what the target confirmed: the disclosure log records
:attr:`SyncResult.held`, so nothing counts as disclosed that did not arrive.

Neither plans, results nor errors carry a name or a number: UIDs (keyed hashes) and counts only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from contactvault.book import MessengerBook
from contactvault.errors import SyncError
from contactvault.models import MessengerEntry

__all__ = ["RemoteCard", "SyncError", "SyncPlan", "SyncResult", "Target"]


@dataclass(frozen=True, slots=True)
class RemoteCard:
    """One card the target holds before the sync: its identity, where it is, and its version.

    Attributes:
        uid: The card's UID. For a card that contactvault did not write (its resource is not named
            ``<UID>.vcf``), the resource name without ``.vcf`` stands in.
        href: Where the card is: the card's absolute URL on a CardDAV server, the file's path for a file.
        etag: The server's entity tag of the card (``None`` for a file, or if the server gave none).
    """

    uid: str
    href: str
    etag: str | None = None


@dataclass(frozen=True, slots=True, repr=False)
class SyncPlan:
    """What a sync would change at one target: made by :meth:`Target.plan`, done by :meth:`Target.apply`.

    Attributes:
        target: The :attr:`Target.name` of the target the plan was made for.
        create: ``(uid, entry)`` pairs of the book that the target does not hold yet.
        update: ``(uid, entry)`` pairs that the target holds in another version (a rename, a new number, or
            a card edited at the target): they are written again, the book wins.
        delete: UIDs of the cards at the target that are not in the book (a withdrawn consent, a contact
            taken out by the policy, or a card somebody else added).
        unchanged: How many cards of the book the target already holds as they are.
        book: The book the plan was made for.
        remote: The cards the target held when the plan was made (with their entity tags).
    """

    target: str
    create: tuple[tuple[str, MessengerEntry], ...]
    update: tuple[tuple[str, MessengerEntry], ...]
    delete: tuple[str, ...]
    unchanged: int
    book: MessengerBook = field(compare=False)
    remote: tuple[RemoteCard, ...] = ()

    @property
    def changes(self) -> int:
        """How many cards the plan creates, updates or deletes."""
        return len(self.create) + len(self.update) + len(self.delete)

    @property
    def unchanged_uids(self) -> tuple[str, ...]:
        """The UIDs of the book that the target already holds as they are (sorted)."""
        touched = {uid for uid, _ in self.create} | {uid for uid, _ in self.update}
        return tuple(sorted(uid for uid, _ in self.book.cards() if uid not in touched))

    def describe(self) -> str:
        """A one-line summary, counts only: ``2 to create, 1 to update, 0 to delete, 5 unchanged``."""
        return (
            f"{len(self.create)} to create, {len(self.update)} to update, "
            f"{len(self.delete)} to delete, {self.unchanged} unchanged"
        )

    def __str__(self) -> str:
        return self.describe()

    def __repr__(self) -> str:
        return (
            f"SyncPlan(target={self.target!r}, create={len(self.create)}, update={len(self.update)}, "
            f"delete={len(self.delete)}, unchanged={self.unchanged})"
        )


@dataclass(frozen=True, slots=True, repr=False)
class SyncResult:
    """What a sync did at one target, as far as the target confirmed it.

    Attributes:
        target: The :attr:`Target.name` of the target.
        created: UIDs of the cards the target confirmed as created.
        updated: UIDs of the cards the target confirmed as written again.
        deleted: UIDs of the cards the target confirmed as deleted (or that were already gone).
        unchanged: How many cards of the book the target held as they are before the sync.
        held: UIDs of the book whose current version the target holds after the sync, sorted: what the
            disclosure log records. After a complete sync, every UID of the book.
        pending: UIDs of cards the plan meant to change or delete that the target still holds as they were
            (only after a failure; see :attr:`SyncError.partial`).
        dry_run: ``True`` if nothing was written (a dry run): ``plan`` says what would change.
        plan: The plan the result comes from.
    """

    target: str
    created: tuple[str, ...]
    updated: tuple[str, ...]
    deleted: tuple[str, ...]
    unchanged: int
    held: tuple[str, ...]
    pending: tuple[str, ...] = ()
    dry_run: bool = False
    plan: SyncPlan | None = field(default=None, compare=False)

    @property
    def done(self) -> tuple[str, ...]:
        """The UIDs of every card the target confirmed as created, updated or deleted."""
        return self.created + self.updated + self.deleted

    def describe(self) -> str:
        """A one-line summary with counts only, e.g. ``2 created, 1 updated, 0 deleted, 5 unchanged``."""
        if self.dry_run:
            what = self.plan.describe() if self.plan is not None else f"{self.unchanged} unchanged"
            return f"dry run, nothing written: {what}"
        text = (
            f"{len(self.created)} created, {len(self.updated)} updated, {len(self.deleted)} deleted, "
            f"{self.unchanged} unchanged"
        )
        return text + (f", {len(self.pending)} pending" if self.pending else "")

    def __str__(self) -> str:
        return self.describe()

    def __repr__(self) -> str:
        return (
            f"SyncResult(target={self.target!r}, created={len(self.created)}, updated={len(self.updated)}, "
            f"deleted={len(self.deleted)}, unchanged={self.unchanged}, held={len(self.held)}, "
            f"pending={len(self.pending)}, dry_run={self.dry_run})"
        )

    @classmethod
    def from_plan(
        cls,
        plan: SyncPlan,
        *,
        created: Iterable[str] = (),
        updated: Iterable[str] = (),
        deleted: Iterable[str] = (),
        complete: bool = True,
        dry_run: bool = False,
    ) -> SyncResult:
        """The result of carrying out ``plan`` as far as the target confirmed (``created`` and so on).

        ``held`` is computed as the unchanged UIDs plus those confirmed as created or updated; ``pending``
        lists what the plan meant to do and did not (empty when ``complete``).
        """
        created, updated, deleted = tuple(created), tuple(updated), tuple(deleted)
        held = set(plan.unchanged_uids) | set(created) | set(updated)
        planned = [uid for uid, _ in plan.update] + list(plan.delete)
        confirmed = set(updated) | set(deleted)
        pending = () if complete or dry_run else tuple(sorted({u for u in planned if u not in confirmed}))
        return cls(
            target=plan.target,
            created=created,
            updated=updated,
            deleted=deleted,
            unchanged=plan.unchanged,
            held=tuple(sorted(held)),
            pending=pending,
            dry_run=dry_run,
            plan=plan,
        )


@runtime_checkable
class Target(Protocol):
    """Where a :class:`~contactvault.book.MessengerBook` is synced to.

    Attributes:
        name: A stable description of the target without credentials, used by the disclosure log
            (``file:/path/book.vcf``, ``carddav:https://host/user/contactvault/``).
    """

    name: str

    def plan(self, book: MessengerBook) -> SyncPlan:
        """Read the target's current state and say what a sync of ``book`` would change; writes nothing."""
        ...

    def apply(self, plan: SyncPlan) -> SyncResult:
        """Carry out ``plan``; raises :class:`SyncError` with what was done so far if the target fails."""
        ...

    def sync(self, book: MessengerBook, *, dry_run: bool = False) -> SyncResult:
        """Plan, then apply unless ``dry_run``; a dry run's result has ``dry_run=True`` and its plan."""
        ...


def run_sync(target: Target, book: MessengerBook, *, dry_run: bool = False) -> SyncResult:
    """:meth:`Target.sync` for every target: plan, then apply unless ``dry_run``."""
    plan = target.plan(book)
    if dry_run:
        return SyncResult.from_plan(plan, dry_run=True)
    return target.apply(plan)


def check_plan(target: Target, plan: SyncPlan) -> None:
    """Refuse a plan that was made for another target."""
    if not isinstance(plan, SyncPlan):
        raise TypeError("apply() takes a SyncPlan from plan()")
    if plan.target != target.name:
        raise ValueError("this plan was made for another target")


def check_book(book: object) -> MessengerBook:
    """The book, if it is a ``MessengerBook``: targets take nothing else."""
    if not isinstance(book, MessengerBook):
        raise TypeError("sync targets take a MessengerBook, nothing else")
    return book


# --- comparing cards -----------------------------------------------------------------------------------

_UNFOLD = re.compile(r"(?:\r\n|\n|\r)[ \t]")
_LINE_END = re.compile(r"\r\n|\n|\r")
# Properties a server may add or rewrite on its own; they do not make a card different.
_IGNORED = frozenset({"PRODID", "REV"})

CanonicalCard = tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]
"""A card in a form that ignores line ends, folding, property order, case of names and escaping."""


def _split_outside_quotes(text: str, sep: str, maxsplit: int = -1) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted and maxsplit != 0:
            parts.append("".join(current))
            current = []
            maxsplit -= 1
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


def _components(value: str) -> tuple[str, ...]:
    r"""A value split at unescaped semicolons, each part unescaped (``\n`` is a line break)."""
    parts: list[str] = []
    current: list[str] = []
    chars = iter(value)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, "")
            current.append("\n" if nxt in ("n", "N") else nxt)
        elif ch == ";":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return tuple(parts)


def content_lines(text: str) -> list[str]:
    """The unfolded, non-empty content lines of vCard text (any line ends)."""
    return [line for line in _LINE_END.split(_UNFOLD.sub("", text)) if line.strip()]


def canonical(lines: Iterable[str]) -> CanonicalCard:
    """The content lines as sorted ``(NAME, params, components)`` triples, ``PRODID`` and ``REV`` left out."""
    out = []
    for line in lines:
        pieces = _split_outside_quotes(line, ":", 1)
        head, value = (pieces[0], pieces[1]) if len(pieces) == 2 else (pieces[0], "")
        name, *params = _split_outside_quotes(head, ";")
        name = name.strip().upper()
        if name.rpartition(".")[2] in _IGNORED:
            continue
        out.append((name, tuple(sorted(p.strip().upper() for p in params)), _components(value)))
    return tuple(sorted(out))


def canonical_text(text: str) -> CanonicalCard:
    """:func:`canonical` of one card's text."""
    return canonical(content_lines(text))


def split_cards(text: str) -> list[tuple[str | None, CanonicalCard]]:
    """The cards in vCard text, each as ``(uid or None, canonical form)``, in file order."""
    cards: list[tuple[str | None, CanonicalCard]] = []
    current: list[str] | None = None
    depth = 0
    for line in content_lines(text):
        key = line.split(":", 1)[0].strip().upper()
        value = line.split(":", 1)[1].strip().upper() if ":" in line else ""
        if key == "BEGIN" and value == "VCARD":
            depth += 1
            if depth == 1:
                current = []
        if current is not None:
            current.append(line)
        if key == "END" and value == "VCARD" and depth:
            depth -= 1
            if depth == 0 and current is not None:
                form = canonical(current)
                uid = next((";".join(c) for n, _, c in form if n.rpartition(".")[2] == "UID"), None)
                cards.append((uid.strip() if uid is not None else None, form))
                current = None
    return cards
