"""A cold messenger book on two cores: helper processes decide and name contacts while this one does too.

A book that must look at many contacts (a fresh open: nothing kept yet) spends most of its time on each
contact's directory entry: validating it, deciding, the span of the decision, the name. ``messenger_book``
hands such contacts here in order; they are cut into chunks, and each chunk is done either by a helper
(:mod:`contactvault.sync._book_worker`: the same functions, in another process) or by this process, which
takes chunks from the far end while the helpers take them from the front, so that both cores stay busy
and neither waits for the other. This process then makes the UIDs and entries of the helpers' contacts
from their names and numbers (``finish``), and anything a helper left to it (``here``: the one-process
path). The result is the one-process result, item for item, in order.

Helpers start when the book starts (``BookPool``), before the directory is decrypted, and get work only
once they said they are ready; until then this process does everything. A helper gets the policy, the
moment, the name style, and the decrypted directory JSON of the chunks it is sent: no key. Where helpers
cannot start or break (no interpreter, a helper that exits or sends a malformed reply), this process
does their chunks, and the book is the same. Helpers never outlive the book: they are stopped (killed on
an error or Ctrl-C) and waited for when it ends.
"""

from __future__ import annotations

import contextlib
import json
import logging
import marshal
import operator
import os
import pickle
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final, Generic, TypeVar

from contactvault._helper_process import Broken, Helper, helper_command
from contactvault.sync.policy import AllOf, AnyOf, MessengerPolicy, Policy, UnsafeAllowAllValidNumbers
from contactvault.vault import Kept

__all__ = ["CHUNK", "PARALLEL_CONTACTS", "BookPool", "Item", "auto_workers", "portable"]

_log = logging.getLogger("contactvault.sync")

PARALLEL_CONTACTS: Final = 20_000
"""From this many contacts on (the vault's rows, erased ones too), a book with nothing kept yet uses a helper
(``workers="auto"``)."""

CHUNK: Final = 1_000
"""Contacts per chunk: a chunk's request and reply fit the (enlarged) pipes."""

_MODULE: Final = "contactvault.sync._book_worker"

Item = tuple[list[int] | None, list[str], str, str, str]
"""A helper's answer for one contact: window, allowed numbers, name, family, given (checked)."""

H = TypeVar("H")


def auto_workers(contacts: int) -> int:
    """The helpers ``workers="auto"`` uses for a book of ``contacts`` to decide: 1 on two cores or more."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cores = os.cpu_count() or 1
    return 1 if contacts >= PARALLEL_CONTACTS and cores >= 2 else 0


def portable(policy: object) -> bool:
    """Whether a helper decides as ``policy`` does: exactly the library's own policy classes.

    A policy of the caller's own (or a subclass) may decide with code a helper cannot load: the book's
    process decides for it alone.
    """
    kind = type(policy)
    if kind is MessengerPolicy or kind is UnsafeAllowAllValidNumbers:
        return True
    if kind is AllOf or kind is AnyOf:
        return all(map(portable, policy.policies))  # type: ignore[attr-defined]  # AllOf/AnyOf: checked
    return False


class _Worker:
    """One helper, whether it said it is ready, and the chunks it has in hand (in order)."""

    __slots__ = ("helper", "pending", "ready")

    def __init__(self, helper: Helper) -> None:
        self.helper = helper
        self.ready = False
        self.pending: deque[int] = deque()


class BookPool(Generic[H]):
    """The helpers of one book (none when ``workers`` is 0 or they cannot start)."""

    def __init__(  # noqa: PLR0917  (one call, in messenger_book)
        self,
        workers: int,
        policy: Policy,
        now: datetime,
        style: str,
        pseudonym: str,
        finish: Callable[[Kept, Item], H],
    ) -> None:
        """Start ``workers`` helpers and send them the book's settings; they load while the book reads.

        ``finish`` makes a contact's result from a helper's item (its UIDs and entries).
        """
        self._finish = finish
        self._workers: list[_Worker] = []
        self._fed: list[Kept] = []  # contacts fed while the directory is read, in order
        self._chunks: list[Sequence[Kept]] = []  # the chunks known so far (fed, then the book's)
        self._front = 0  # chunks[:front] were handed to helpers
        self._items: dict[int, list[Item | None]] = {}  # helpers' replies, by chunk, not made yet
        if workers <= 0:
            return
        try:
            settings = pickle.dumps((policy, now, style, pseudonym, policy.digest()))
            for _ in range(workers):
                worker = _Worker(Helper(helper_command(_MODULE)))
                self._workers.append(worker)
                worker.helper.send(settings)
        except Exception as exc:  # noqa: BLE001  (OSError: no interpreter; Broken; a policy that will not pickle)
            self._give_up(f"helper processes could not start ({type(exc).__name__})")
        except BaseException:
            self.close(kill=True)
            raise

    def __bool__(self) -> bool:
        """Whether any helper is running."""
        return bool(self._workers)

    def feed(self, kept: Kept) -> None:
        """A contact the directory just decrypted (in the vault's order): helpers may begin with it.

        The directory's read calls this for each contact it decrypts, so that the helpers work while this
        process decrypts the rest. ``made`` uses their replies if the book's contacts begin with these.
        """
        fed = self._fed
        fed.append(kept)
        if len(fed) % CHUNK == 0 and self._workers:
            self._chunks.append(fed[-CHUNK:])
            self._hand_out(len(self._chunks))
            self._collect(wait=False)

    def made(self, tokens: Sequence[Kept], here: Callable[[Kept], H]) -> list[H]:
        """``here(token)`` of each token, in order; the helpers do what they can.

        ``here`` is the one-process path. An exception from it or from ``finish`` propagates (the helpers
        still running are left to ``close``).
        """
        handed = self._front * CHUNK
        if handed and not (len(tokens) >= handed and all(map(operator.is_, tokens[:handed], self._fed))):
            self._collect(wait=True)  # what was fed is not what the book decides (a warm directory)
            self._items.clear()
            self._front = 0
        self._fed = []
        self._chunks = chunks = [tokens[at : at + CHUNK] for at in range(0, len(tokens), CHUNK)]
        done: list[list[H] | None] = [None] * len(chunks)
        back = len(chunks)  # chunks[front:back] are not handed out yet
        while True:
            self._hand_out(back)
            self._collect(wait=False)
            self._made(done, here)
            if self._front >= back:
                break
            back -= 1  # this process takes the last chunk left
            done[back] = [here(token) for token in chunks[back]]
        self._collect(wait=True)
        self._made(done, here)
        out: list[H] = []
        for at, results in enumerate(done):  # a dropped helper's chunks are done here
            out.extend(results if results is not None else map(here, chunks[at]))
        return out

    def _hand_out(self, back: int) -> None:
        """Send chunks up to ``back`` to the helpers that are ready, two in hand each."""
        for worker in list(self._workers):
            if not self._started(worker):
                continue
            while len(worker.pending) < 2 and self._front < back:
                try:
                    worker.helper.send(_request(self._chunks[self._front]))
                except Broken as exc:
                    self._drop(worker, str(exc))
                    break
                worker.pending.append(self._front)
                self._front += 1

    def _made(self, done: list[list[H] | None], here: Callable[[Kept], H]) -> None:
        """Make the results of the helpers' replies taken so far."""
        chunks, finish = self._chunks, self._finish
        for at, items in self._items.items():
            done[at] = [
                here(t) if i is None else finish(t, i) for t, i in zip(chunks[at], items, strict=True)
            ]
        self._items.clear()

    def _started(self, worker: _Worker) -> bool:
        """Whether ``worker`` said it is ready (read without waiting); a helper that failed is dropped."""
        if worker.ready:
            return True
        if not worker.helper.ready():
            return False
        try:
            worker.ready = json.loads(worker.helper.receive()) == "ready"
        except (Broken, ValueError) as exc:
            self._drop(worker, str(exc))
            return False
        if not worker.ready:
            self._drop(worker, "a helper process sent what is not a reply")
        return worker.ready

    def _collect(self, *, wait: bool) -> None:
        """Take the helpers' replies that are there (all of them, with ``wait``), in each helper's order."""
        for worker in list(self._workers):
            while worker.pending and (wait or worker.helper.ready()):
                at = worker.pending[0]
                try:
                    self._items[at] = _items(worker.helper.receive(), len(self._chunks[at]))
                except Broken as exc:
                    self._drop(worker, str(exc))
                    break
                worker.pending.popleft()

    def _drop(self, worker: _Worker, why: str) -> None:
        """Stop a helper that failed; its chunks in hand are done by this process (``made``)."""
        _log.warning("a helper process of the book stopped (%s): this process does its part", why)
        self._workers.remove(worker)
        worker.helper.stop(kill=True)

    def _give_up(self, why: str) -> None:
        _log.warning("%s: the book is made in one process", why)
        self.close(kill=True)

    def close(self, *, kill: bool = False) -> None:
        """Stop every helper (close its input, or kill it) and wait for it."""
        while self._workers:
            with contextlib.suppress(OSError):
                self._workers.pop().helper.stop(kill=kill)


def _request(chunk: Sequence[Kept]) -> bytes:
    return marshal.dumps([(kept.id, kept.version, kept.plain) for kept in chunk])


def _items(reply: bytes, count: int) -> list[Item | None]:
    """A reply checked item by item (``Broken`` if anything is not as the worker module says)."""
    try:
        items: Any = json.loads(reply)
    except ValueError:
        raise Broken("a helper process sent a malformed reply") from None
    if type(items) is not list or len(items) != count:
        raise Broken("a helper process sent a malformed reply")
    return [None if item is None else _item(item) for item in items]


def _item(item: Any) -> Item:  # noqa: ANN401  (JSON, checked here)
    if type(item) is not list or len(item) not in (2, 5):
        raise Broken("a helper process sent a malformed reply")
    window, numbers = item[0], item[1]
    # the types of the window's and the numbers' items as sets: one step in C for each list
    fits = (
        (window is None or (type(window) is list and len(window) == 4 and set(map(type, window)) == _INT))
        and type(numbers) is list
        and set(map(type, numbers)) <= _STR
    )
    if len(item) == 2:
        if fits and not numbers:
            return window, numbers, "", "", ""
    elif fits and numbers:
        name, family, given = item[2], item[3], item[4]
        if type(name) is str and type(family) is str and type(given) is str:
            return window, numbers, name, family, given
    raise Broken("a helper process sent a malformed reply")


_INT: Final = frozenset((int,))
_STR: Final = frozenset((str,))
