"""Crash safety of the vault: a writer killed with SIGKILL never leaves half a transaction.

A child process (``tests/vault_child.py crash``) adds batches of contacts, updates and erases, one
transaction each, and reports every commit on its standard output; the parent kills it, opens the vault,
verifies it and checks that it holds exactly the state after a whole number of transactions. The next
child continues on the same file, so the state accumulates across all the kills. The runs are of three
kinds, mixed in a seeded order:

- parked: the child starts an ``add_many`` that is never meant to commit and stops inside it, from the
  progress callback, after 1,000 or 3,000 of its rows are written; it says ``mid N`` and waits, and only
  then is it killed. The kill lands inside the transaction by construction, whatever the machine's load,
  and the vault must hold exactly the state of the child's last reported commit.
- stopped: the child commits a few operations, says ``idle`` and waits to be killed; nothing it reported
  may be lost.
- random: the child works until it is killed at a random moment (during its start, its open, an add, an
  update or an erase). Where that lands depends on timing, so nothing is asserted about how much was
  written, only that the state is the last reported commit or the one after it (committed, but killed
  before it could say so).
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
from tests.vault_child import (
    OPS_PER_BATCH,
    PASSPHRASE_VARIABLE,
    batch_contacts,
    expected_state,
    updated_notes,
)

CHILD = Path(__file__).with_name("vault_child.py")
PASSPHRASE = "Absturz-Test: korrektes Pferd"  # noqa: S105  (a test vault's passphrase)
SEED = 20_240_917
PARKED, STOPPED, RANDOM = 12, 4, 8
"""Runs of each kind (24 in all): half of them parked inside a transaction."""
PARK_AT = (1_000, 3_000)
"""Where a parked child stops in its ``add_many``: after 1,000 rows (with SQLite's default page cache, all
still in memory) or 3,000 (some already written to the WAL, uncommitted)."""
MAX_OPS_BEFORE = 3
"""A parked or stopped child first commits up to this many operations (a parked one possibly none)."""
MAX_DELAY = 0.15
"""Seconds between "go" and a random kill: the child's open and a handful of transactions, if it is fast."""
LINE_TIMEOUT = 60.0
"""The longest wait for any one line from a child, or for a child to end: a hang guard, not a measure."""


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
        self.said: list[str] = []
        self.lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def _next_line(self) -> str:
        try:
            line = self.lines.get(timeout=LINE_TIMEOUT)
        except queue.Empty:
            raise AssertionError(f"the child said nothing for {LINE_TIMEOUT} s (after {self.said})") from None
        assert line is not None, (
            f"the child ended on its own (exit status {self.proc.poll()}) after {self.said}"
        )
        self.said.append(line)
        return line

    def expect(self, wanted: str) -> None:
        line = self._next_line()
        assert line == wanted, f"the child said {line!r}, expected {wanted!r}"

    def wait_for(self, wanted: str) -> None:
        """Read the child's ``open`` and ``done N`` lines up to ``wanted`` (then it waits to be killed)."""
        while (line := self._next_line()) == "open" or line.startswith("done "):
            pass
        assert line == wanted, f"the child said {line!r}, expected {wanted!r} (after {self.said[:-1]})"

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{command}\n")
        self.proc.stdin.flush()

    def kill(self) -> list[str]:
        """Kill the child with SIGKILL, wait for it, and return every line it printed."""
        self.proc.send_signal(signal.SIGKILL)
        self.close()
        assert self.proc.returncode == -signal.SIGKILL, "the child ended on its own instead of being killed"
        while (line := self.lines.get(timeout=LINE_TIMEOUT)) is not None:
            self.said.append(line)
        return self.said

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
            assert line in ("warm", "open", "idle") or line.startswith("mid "), f"unexpected line: {line!r}"
    return reported


def _committed_state(path: Path, reported: int, *, exact: bool) -> int:
    """Open and verify the vault; return the number of operations it reflects.

    That is ``reported``, or (unless ``exact``: the kill came while the child was known to be idle or inside
    a transaction that must not count) one more, committed just before the kill.
    """
    with Vault.open(path, PASSPHRASE, lock_timeout=5) as vault:
        report = vault.verify()
        live = {entry.id: entry.version for entry in vault}
        count = len(vault)
    assert count == len(live) == report.contacts
    candidates = (reported,) if exact else (reported, reported + 1)
    for ops in candidates:
        expected_live, expected_erased = expected_state(ops)
        if live == expected_live and report.erased == expected_erased:
            return ops
    raise AssertionError(
        f"after a kill the vault holds {count} live and {report.erased} erased contacts, which is not the "
        f"state after {' or '.join(map(str, candidates))} whole transactions: one was half applied or lost"
    )


def _assert_holds_exactly(path: Path, ops: int) -> None:
    """The vault verifies and holds the contacts of ``ops`` operations, each at its version, with its data."""
    expected_live, expected_erased = expected_state(ops)
    with Vault.open(path, PASSPHRASE, lock_timeout=5) as vault:
        report = vault.verify()
        stored = {contact.id: contact for contact in vault.contacts()}
    assert report.erased == expected_erased
    assert {cid: contact.version for cid, contact in stored.items()} == expected_live
    for batch in range(-(-ops // OPS_PER_BATCH)):  # every batch that was added
        for original in batch_contacts(batch):
            if original.id not in stored:
                continue  # erased, as expected_live says
            contact = stored[original.id]
            notes = updated_notes(batch) if contact.version == 2 else original.notes
            assert (contact.display_name, contact.phones, contact.notes) == (
                original.display_name,
                original.phones,
                notes,
            )


def _command(kind: str, committed: int, rng: random.Random) -> tuple[str, int, str]:
    """For a run of ``kind``: the command, the operations the child must report, and what it says last.

    What a parked child says last is ``mid N``, from inside its transaction; a stopped one says ``idle``.
    """
    ahead = rng.randint(0, MAX_OPS_BEFORE)
    if kind == "park":
        at = rng.choice(PARK_AT)
        return f"park {committed} {ahead} {at}", ahead, f"mid {at}"
    if kind == "stop":
        return f"stop {committed} {max(ahead, 1)}", max(ahead, 1), "idle"
    return f"run {committed}", 0, ""


def test_sigkill_never_leaves_half_a_transaction(tmp_path: Path) -> None:
    """After every SIGKILL of a writer (parked mid-transaction, idle or at random) the vault is whole."""
    path = tmp_path / "crash.db"
    Vault.create(path, PASSPHRASE, kdf=KdfParams.insecure_fast_for_tests()).close()
    rng = random.Random(SEED)
    plan = ["park"] * PARKED + ["stop"] * STOPPED + ["random"] * RANDOM
    rng.shuffle(plan)
    committed = 0
    parked = 0  # "mid N" lines seen: kills that landed inside an open add_many transaction
    with contextlib.ExitStack() as cleanup:  # every child is closed (killed if need be), whatever happens

        def start_child() -> _Child:
            child = _Child(path)
            cleanup.callback(child.close)
            return child

        children = [start_child()]
        for run, kind in enumerate(plan):
            child = children[run]
            child.expect("warm")
            command, ahead, waiting = _command(kind, committed, rng)
            child.send(command)
            if run + 1 < len(plan):
                children.append(start_child())  # the next one warms up while this one works
            if kind == "random":
                time.sleep(rng.uniform(0.0, MAX_DELAY))
            else:
                child.wait_for(waiting)
            said = child.kill()
            reported = _last_commit(said, committed)
            if kind == "random":  # the kill may have come just after a commit the child could not report
                committed = _committed_state(path, reported, exact=False)
            else:
                assert reported == committed + ahead, f"{command!r}: the child said {said}"
                # Parked: the add_many was open with 1,000 or 3,000 of its rows written, and none may show;
                # stopped: the child was idle after its last commit, and none of its commits may be lost.
                committed = _committed_state(path, reported, exact=True)
                parked += sum(line.startswith("mid ") for line in said)
    # Counted from what the children said, not from the clock: every parked run was killed mid-transaction.
    assert parked == PARKED, f"only {parked} of {PARKED} parked runs stopped inside their transaction"
    assert parked * 2 >= len(plan)
    assert not (tmp_path / "crash.db-journal").exists()
    _assert_holds_exactly(path, committed)
