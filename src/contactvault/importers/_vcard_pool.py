"""Reading a vCard file on several cores: this process splits, helper processes build the contacts.

This process reads the file and cuts it into cards (``split_cards``: fast, and the only stage that must see
the lines in order), gathers the raw cards into chunks of one batch each, and hands every chunk to a pool of
helper processes. A helper does the rest of what the one-process reader does with a batch, with the very
same functions: properties unfolded and decoded, numbers normalised, each card validated as a ``Contact``.
It sends the contacts back as their JSON (``model_dump_json``: compact, and quick to write) and this
process validates each again from it (``Contact.model_validate_json``), so that every contact handed to a
caller was validated in the caller's process. Batches come back in file order, with the same contacts,
issues, line numbers and counts as with one process; only the random contact ids differ, as they do between
any two imports. At most ``2 * workers + 1`` chunks are in flight, so memory follows the batch size, not
the file.

Helpers are started with ``forkserver`` where the platform has it (``spawn`` elsewhere), never ``fork``:
a forked helper would inherit this process's threads (a progress display's, a database driver's) and its
memory, the vault's keys included. A helper holds no key and sees nothing but raw cards. As with any use
of multiprocessing, a script should run its import under ``if __name__ == "__main__":``.

Where the pool cannot start or breaks (no ``/dev/shm`` or semaphores in a sandbox, a helper killed, a
script without that guard), the chunks not yet done are read in this process, and the batch after the
failure says so (``ImportBatch.fallback``): nothing is lost or read twice.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import datetime

from contactvault.importers._gc import paused_gc
from contactvault.importers._vcard_cards import RawCard
from contactvault.importers.result import ImportBatch, ImportIssue
from contactvault.models import Contact
from contactvault.phones import parse_number

__all__ = ["Chunk", "build_batch", "parallel_batches", "pool_context"]

_log = logging.getLogger("contactvault.importers")

Chunk = list[RawCard | ImportIssue]
"""The raw cards of one batch, with the splitter's issues among them, in file order."""

_Sent = tuple[list[bytes], list[ImportIssue], int, int]
"""What a helper sends back for a chunk: the contacts' JSON, the issues, entries and dropped media."""


def pool_context() -> multiprocessing.context.BaseContext:
    """The start method of the helper processes: ``forkserver`` where available, else ``spawn``."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def build_batch(chunk: Chunk, count: int, source: str, region: str | None, now: datetime) -> ImportBatch:
    """A chunk of raw cards made into contacts and issues: what the one-process reader does per batch."""
    from contactvault.importers import vcard  # noqa: PLC0415  (vcard imports this module)

    with paused_gc():
        entries, _ = vcard._read_batch(iter(chunk), source, len(chunk) + 1)
        answers = {raw: parse_number(raw, region) for raw in vcard._pending_numbers(entries)}
        return vcard._finish_batch(entries, count, answers, now)


def _helper(chunk: Chunk, count: int, source: str, region: str | None, now: datetime) -> _Sent:
    """In a helper process: one chunk's batch, its contacts as JSON."""
    batch = build_batch(chunk, count, source, region, now)
    with paused_gc():
        contacts = [contact.model_dump_json().encode() for contact in batch.contacts]
    return contacts, batch.issues, batch.entries, batch.dropped


def _received(sent: _Sent) -> ImportBatch:
    contacts, issues, entries, dropped = sent
    with paused_gc():
        return ImportBatch([Contact.model_validate_json(c) for c in contacts], issues, entries, dropped)


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


def _start(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers, mp_context=pool_context())


def parallel_batches(
    items: Iterator[RawCard | ImportIssue],
    *,
    source: str,
    region: str | None,
    batch_size: int,
    workers: int,
    now: datetime,
) -> Iterator[ImportBatch]:
    """The batches of ``items`` (the splitter's output) built in ``workers`` helper processes, in order."""
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        # A helper re-running a script that imports at its top level: stop it here, as multiprocessing
        # itself would, rather than import the file again inside the helper (the caller falls back).
        raise RuntimeError("an import with helper processes must run under `if __name__ == '__main__':`")
    fallback: str | None = None
    try:
        pool: ProcessPoolExecutor | None = _start(workers)
    except Exception as exc:  # noqa: BLE001  (OSError, PermissionError, NotImplementedError, ImportError...)
        pool, fallback = None, _fallback_note(exc)
    pending: deque[tuple[Chunk, int, Future[_Sent] | None]] = deque()
    chunks = _chunks(items, batch_size)
    try:
        while True:
            with paused_gc():
                while pool is not None and len(pending) < 2 * workers + 1:
                    nxt = next(chunks, None)
                    if nxt is None:
                        break
                    try:
                        future: Future[_Sent] | None = pool.submit(_helper, *nxt, source, region, now)
                    except Exception as exc:  # noqa: BLE001  (a pool that broke or cannot start a helper)
                        _stop(pool)
                        pool, fallback, future = None, _fallback_note(exc), None
                    pending.append((*nxt, future))
            if not pending:
                nxt = next(chunks, None)
                if nxt is None:
                    return
                pending.append((*nxt, None))
            chunk, count, future = pending.popleft()
            batch: ImportBatch | None = None
            if future is not None:
                try:
                    batch = _received(future.result())
                except Exception as exc:  # noqa: BLE001  (a helper died: its chunk is read here)
                    _stop(pool)
                    pool, fallback = None, _fallback_note(exc)
                    pending = deque((c, n, None) for c, n, _ in pending)
            if batch is None:
                batch = build_batch(chunk, count, source, region, now)
            if fallback is not None:
                batch.fallback, fallback = fallback, None
            yield batch
    finally:
        _stop(pool)


def _stop(pool: ProcessPoolExecutor | None) -> None:
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def _fallback_note(exc: BaseException) -> str:
    note = f"helper processes could not run ({type(exc).__name__}): the file was read in one process"
    _log.warning("%s", note)
    return note
