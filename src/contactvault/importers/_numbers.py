"""Normalising the phone numbers of a batch: here, or in helper processes while the next batch is read.

phonenumbers is pure Python and costs about 20 µs per number, the largest single share of an import. An
importer hands each batch's distinct number strings to a `NumberService` and asks for the answers only when
it finishes that batch. With ``workers=0`` (the default) the numbers are normalised at once, in this process.
With ``workers=N`` they are normalised in N helper processes while this process reads the next batch; only
the number strings and the small answers cross the process boundary, never a contact.

Helper processes are started with the ``forkserver`` method where the platform has it (``spawn``
elsewhere), so they never inherit the importing program's threads or open files. As with any use of
multiprocessing, a script that asks for workers should run its import under ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager

from contactvault.phones import NumberInfo, parse_number, parse_numbers

__all__ = ["NumberJob", "NumberService", "number_service"]

NumberJob = Callable[[], dict[str, NumberInfo]]
"""Call it to get the answers of one batch (waiting for the helper processes if they are not done)."""


class NumberService:
    """Normalises the number strings of one batch at a time; see the module docstring."""

    def __init__(
        self, default_region: str | None, executor: ProcessPoolExecutor | None, workers: int
    ) -> None:
        self._region = default_region
        self._executor = executor
        self._workers = workers

    def submit(self, raws: Sequence[str]) -> NumberJob:
        """Start normalising ``raws`` (distinct strings); the returned job gives the answers."""
        if self._executor is None or not raws:
            done = {raw: parse_number(raw, self._region) for raw in raws}
            return lambda: done
        size = -(-len(raws) // self._workers)  # ceiling division: one chunk per worker
        chunks = [raws[i : i + size] for i in range(0, len(raws), size)]
        futures: list[tuple[Sequence[str], Future[list[NumberInfo]]]] = [
            (chunk, self._executor.submit(parse_numbers, chunk, self._region)) for chunk in chunks
        ]

        def answers() -> dict[str, NumberInfo]:
            return {raw: info for chunk, f in futures for raw, info in zip(chunk, f.result(), strict=True)}

        return answers


def _context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


@contextmanager
def number_service(default_region: str | None, workers: int) -> Iterator[NumberService]:
    """A `NumberService` for one import; helper processes (if any) end with the ``with`` block.

    ``workers`` is 0 or more: the importer checks it when it is called.
    """
    if workers == 0:
        yield NumberService(default_region, None, 0)
        return
    executor = ProcessPoolExecutor(max_workers=workers, mp_context=_context())
    try:
        yield NumberService(default_region, executor, workers)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
