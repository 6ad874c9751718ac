"""Reading a vCard file on several cores: this process splits, helper processes build the contacts.

This process reads the file and cuts it into cards (``split_cards``: fast, and the only stage that must see
the lines in order), gathers the raw cards into chunks of one batch each, and hands every chunk to one of
``workers`` helper processes, in turn. A helper does the rest of what the one-process reader does with a
batch, with the very same functions (`build_batch`): properties unfolded and decoded, numbers normalised,
each card validated as a ``Contact``. It sends the contacts back as their JSON (``model_dump_json``:
compact, and quick to write) and this process validates each again from it (``Contact.model_validate_json``),
so that every contact handed to a caller was validated in the caller's process. Batches come back in file
order, with the same contacts, issues, line numbers and counts as with one process; only the random contact
ids differ, as they do between any two imports. At most ``2 * workers + 1`` chunks are in flight, so
memory follows the batch size, not the file.

A helper is a plain subprocess, ``python -P -m contactvault.importers._vcard_worker`` (the same
interpreter, and this process's copy of contactvault first on its path), that talks over its standard
input and output in length-prefixed frames (see :mod:`contactvault.importers._vcard_worker`). It imports
the importer's modules and nothing else: never the caller's ``__main__`` (a script needs no ``if __name__
== "__main__":`` guard, and its top-level code never runs twice), no CLI, no vault. It needs no semaphore,
no shared memory and no ``fork``: it inherits neither this process's threads nor its memory (the vault's
keys), and is given nothing but card text. Its standard error is discarded (a message could quote a card).

Helpers never outlive the import: when the batches are all read, their standard input is closed and they
exit; when the import stops early (an exception, Ctrl-C, a caller that stops iterating) they are killed, and
waited for either way. Should this process die, a helper's standard input ends and it exits too.

Where a helper cannot start or breaks (no interpreter to run, a helper that exits, a reply that is cut short
or malformed), the helpers are stopped, the chunks not yet done are read in this process, and the batch
after the failure says so (``ImportBatch.fallback``): nothing is lost or read twice.
"""

from __future__ import annotations

import json
import logging
import marshal
from collections import deque
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Final, get_args

from contactvault._helper_process import Broken, Helper
from contactvault._helper_process import helper_command as _helper_command
from contactvault.importers._frames import HEADER
from contactvault.importers._gc import paused_gc
from contactvault.importers._vcard_cards import RawCard
from contactvault.importers.matching import FILE_FIELDS, note_baseline
from contactvault.importers.result import ImportBatch, ImportIssue, IssueCode, Severity
from contactvault.models import Contact

__all__ = ["Build", "Chunk", "helper_command", "parallel_batches"]

_log = logging.getLogger("contactvault.importers")

Chunk = list[RawCard | ImportIssue]
"""The raw cards of one batch, with the splitter's issues among them, in file order."""

_CODES: Final = frozenset(get_args(IssueCode))
_SEVERITIES: Final = frozenset(get_args(Severity))


def helper_command() -> list[str]:
    """The command that starts one helper process: this interpreter, the worker module, no script path."""
    return _helper_command("contactvault.importers._vcard_worker")


def request(
    chunk: Chunk, count: int, source: str, region: str | None, now: datetime, *, baselines: bool
) -> bytes:
    """A chunk as a request frame's bytes (``marshal`` of built-in types; see the worker module)."""
    items = [
        (0, item.start, item.lines, item.nested)
        if isinstance(item, RawCard)
        else (1, item.line, item.message, item.code, item.severity, item.source)
        for item in chunk
    ]
    return marshal.dumps((count, source, region, now.isoformat(), baselines, items))


def received(reply: bytes, count: int, *, baselines: bool) -> ImportBatch:
    """A reply checked and made into a batch, each contact validated again here (``Broken``: malformed)."""
    view = memoryview(reply)
    try:
        (size,) = HEADER.unpack_from(view)
        header: Any = json.loads(bytes(view[HEADER.size : HEADER.size + size]))
        issues = [_issue(item) for item in header["issues"]]
        entries, dropped, number = header["entries"], header["dropped"], header["contacts"]
        _check(entries == count and type(dropped) is int and dropped >= 0 and type(number) is int)
        with paused_gc():
            contacts = list(_contacts(view, HEADER.size + size, number))
            if baselines:  # the helper worked out each contact's ``source.imported`` from the contact
                for contact in contacts:
                    _check(contact.source is not None and len(contact.source.imported) == len(FILE_FIELDS))
                    note_baseline(contact)
    except Broken:
        raise
    except Exception as exc:  # struct.error, ValueError (JSON, pydantic), KeyError, TypeError
        raise Broken(f"a helper sent a malformed reply ({type(exc).__name__})") from exc
    return ImportBatch(contacts, issues, entries, dropped)


def _check(fits: bool) -> None:
    if not fits:
        raise Broken("a helper sent a malformed reply")


def _contacts(view: memoryview, at: int, number: int) -> Iterator[Contact]:
    """The ``number`` contacts of a reply from offset ``at``, each validated from its JSON; nothing after."""
    for _ in range(number):
        (size,) = HEADER.unpack_from(view, at)
        at += HEADER.size
        text = bytes(view[at : at + size])
        _check(len(text) == size)
        yield Contact.model_validate_json(text)
        at += size
    _check(at == len(view))


def _issue(item: Any) -> ImportIssue:  # noqa: ANN401  (JSON, checked here)
    line, message, code, severity, source = item
    _check(type(line) is int and type(message) is str and type(source) is str)
    _check(code in _CODES and severity in _SEVERITIES)
    return ImportIssue(line, message, code, severity, source)


def _chunks(items: Iterator[RawCard | ImportIssue], size: int) -> Iterator[tuple[Chunk, int]]:
    """Chunks of ``size`` entries, counted as the one-process reader counts them (same batch boundaries)."""
    chunk: Chunk = []
    count = 0
    for item in items:
        chunk.append(item)
        count += item.code == "not_closed" if isinstance(item, ImportIssue) else 1
        if count >= size:
            yield chunk, count
            chunk, count = [], 0
    if chunk:
        yield chunk, count


class _Helper(Helper):
    """One helper process of the import (``helper_command``) and its two pipes."""

    def __init__(self) -> None:
        super().__init__(helper_command())


def _start(workers: int) -> list[_Helper]:
    helpers: list[_Helper] = []
    try:
        helpers.extend(_Helper() for _ in range(workers))
    except BaseException:
        _stop(helpers, kill=True)
        raise
    return helpers


def _stop(helpers: list[_Helper], *, kill: bool) -> None:
    while helpers:
        helpers.pop().stop(kill=kill)


Build = Callable[..., ImportBatch]
"""``vcard.build_batch``: a chunk made into a batch in this process (when a helper cannot do it)."""


def parallel_batches(
    items: Iterator[RawCard | ImportIssue],
    *,
    build: Build,
    source: str,
    region: str | None,
    batch_size: int,
    workers: int,
    now: datetime,
    baselines: bool,
) -> Iterator[ImportBatch]:
    """The batches of ``items`` (the splitter's output) built in ``workers`` helper processes, in order."""
    fallback: str | None = None
    helpers: list[_Helper] = []
    try:
        helpers = _start(workers)
    except Exception as exc:  # noqa: BLE001  (OSError: no interpreter to run, no processes allowed...)
        fallback = _fallback_note(type(exc).__name__)
    pending: deque[tuple[Chunk, int, _Helper | None]] = deque()
    chunks = _chunks(items, batch_size)
    turn = 0
    try:
        while True:
            while helpers and len(pending) < 2 * workers + 1:
                nxt = next(chunks, None)
                if nxt is None:
                    break
                helper: _Helper | None = helpers[turn % len(helpers)]
                turn += 1
                try:
                    helper.send(request(*nxt, source, region, now, baselines=baselines))  # type: ignore[union-attr]
                except Broken as exc:
                    _stop(helpers, kill=True)
                    fallback, helper = _fallback_note(str(exc)), None
                    pending = deque((c, n, None) for c, n, _ in pending)
                pending.append((*nxt, helper))
            if not pending:
                nxt = next(chunks, None)
                if nxt is None:
                    return
                pending.append((*nxt, None))
            chunk, count, helper = pending.popleft()
            batch: ImportBatch | None = None
            if helper is not None:
                try:
                    batch = received(helper.receive(), count, baselines=baselines)
                except Broken as exc:  # its chunk and those still out are read here
                    _stop(helpers, kill=True)
                    fallback = _fallback_note(str(exc))
                    pending = deque((c, n, None) for c, n, _ in pending)
            if batch is None:
                batch = build(chunk, count, source, region, now, baselines=baselines)
            if fallback is not None:
                batch.fallback, fallback = fallback, None
            yield batch
    except BaseException:
        _stop(helpers, kill=True)  # an exception, Ctrl-C, or a caller that stopped iterating
        raise
    finally:
        _stop(helpers, kill=False)


def _fallback_note(why: str) -> str:
    note = f"helper processes could not run ({why}): the file was read in one process"
    _log.warning("%s", note)
    return note
