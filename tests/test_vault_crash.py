"""Crash safety of the vault: a writer killed with SIGKILL at random moments never leaves half a transaction.

A child process (``tests/vault_child.py crash``) adds batches of contacts, updates and erases, one
transaction each, and reports every commit on its standard output; the parent kills it at a random moment,
opens the vault, verifies it and checks that it holds exactly the state after a whole number of
transactions: the last one the child reported, or the one after it (committed, but killed before it could
say so). The next child continues on the same file, so the state accumulates across all the kills.
"""

from __future__ import annotations

import contextlib
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from contactvault import KdfParams, Vault
from tests.vault_child import PASSPHRASE_VARIABLE, expected_state

CHILD = Path(__file__).with_name("vault_child.py")
PASSPHRASE = "Absturz-Test: korrektes Pferd"  # noqa: S105  (a test vault's passphrase)
KILLS = 60
SEED = 20_240_917
MAX_DELAY = 0.15  # seconds between "go" and the kill: the child's open and a handful of transactions
LINE_TIMEOUT = 30.0


class _Child:
    """A crash child, started ahead of time so that its interpreter start-up overlaps the previous run."""

    def __init__(self, path: Path) -> None:
        env = {**os.environ, PASSPHRASE_VARIABLE: PASSPHRASE}
        self.proc = subprocess.Popen(  # noqa: S603  (our own interpreter and script)
            [sys.executable, str(CHILD), "crash", str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def expect(self, wanted: str) -> None:
        line = self.lines.get(timeout=LINE_TIMEOUT)
        assert line == wanted, f"the child said {line!r}, expected {wanted!r}"

    def go(self, committed: int) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{committed}\n")
        self.proc.stdin.flush()

    def kill(self) -> list[str]:
        """Kill the child with SIGKILL, wait for it, and return every line it printed."""
        self.proc.send_signal(signal.SIGKILL)
        self.close()
        assert self.proc.returncode == -signal.SIGKILL, "the child ended on its own instead of being killed"
        said: list[str] = []
        while (line := self.lines.get(timeout=LINE_TIMEOUT)) is not None:
            said.append(line)
        return said

    def close(self) -> None:
        """Make sure the child is gone (killing it if need be) and its pipes are closed."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=LINE_TIMEOUT)
        self._reader.join(timeout=LINE_TIMEOUT)  # it has read to the end of the dead child's output
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(BrokenPipeError):  # nothing was left to flush to the dead child
                    stream.close()


def _last_commit(lines: list[str], before: int) -> int:
    """The number of committed operations the child reported last (``before`` if it reported none)."""
    reported = before
    for line in lines:
        if line.startswith("done "):
            count = int(line.removeprefix("done "))
            assert count == reported + 1, f"the child skipped from {reported} to {count}"
            reported = count
        else:
            assert line in ("warm", "open"), f"unexpected line from the child: {line!r}"
    return reported


def _committed_state(path: Path, reported: int) -> int:
    """Open and verify the vault; return the number of operations (``reported`` or one more) it reflects."""
    with Vault.open(path, PASSPHRASE, lock_timeout=5) as vault:
        report = vault.verify()
        live = {entry.id: entry.version for entry in vault}
        count = len(vault)
    assert count == len(live) == report.contacts
    for ops in (reported, reported + 1):
        expected_live, expected_erased = expected_state(ops)
        if live == expected_live and report.erased == expected_erased:
            return ops
    raise AssertionError(
        f"after a kill the vault holds {count} live and {report.erased} erased contacts, which is not the "
        f"state after {reported} or {reported + 1} whole transactions: one was half applied"
    )


def test_sigkill_at_random_moments_never_leaves_half_a_transaction(tmp_path):
    """After each of 60 SIGKILLs of a writer, the vault opens, verifies and holds whole transactions."""
    path = tmp_path / "crash.db"
    Vault.create(path, PASSPHRASE, kdf=KdfParams.insecure_fast_for_tests()).close()
    rng = random.Random(SEED)
    committed = 0
    unreported = 0  # kills that came after a commit but before the child could report it
    children = [_Child(path)]
    try:
        for run in range(KILLS):
            child = children[run]
            child.expect("warm")
            child.go(committed)
            children.append(_Child(path))  # the next one warms up while this one works
            time.sleep(rng.uniform(0.0, MAX_DELAY))
            reported = _last_commit(child.kill(), committed)
            committed = _committed_state(path, reported)
            unreported += committed - reported
    finally:
        for child in children:
            child.close()
    # The kills must have hit a vault that was being written to, not only children that were starting up.
    assert committed >= KILLS, (
        f"only {committed} transactions in {KILLS} runs ({unreported} unreported); the test wrote too little"
    )
    assert not (tmp_path / "crash.db-journal").exists()
    with Vault.open(path, PASSPHRASE) as vault:
        assert len(vault) == len(expected_state(committed)[0])
