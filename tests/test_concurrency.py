"""Many processes and threads on one vault, on both backends: no lost update, no forked log, no half state.

Every test runs against an SQLite file and against a real PostgreSQL server (the ``pg_url`` fixture); the
children are real processes (``tests/concurrency_child.py``) started together. Nothing here measures time:
the assertions are about what ends up in the vault, so they hold on a busy machine too (the children wait
up to two minutes for the write lock).
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
from click.testing import CliRunner

from contactvault import ConflictError, KdfParams, Vault, VaultLocked, WrongPassphrase
from contactvault.cli import main as cli
from tests.concurrency_child import (
    PARK_BATCH,
    PASSPHRASE_VARIABLE,
    batch_id,
    count_of,
    counter_id,
    counters,
)

FAST = KdfParams.insecure_fast_for_tests()
PASSPHRASE = "gleichzeitig genutzt"  # noqa: S105 - a test passphrase
ROOT = Path(__file__).resolve().parent.parent
WAIT = 180.0
"""Seconds a child may take to answer: generous, since CI machines are slow and busy."""


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty vault's location on each backend: a file, or a fresh PostgreSQL schema."""
    where = str(tmp_path / "shared.db") if request.param == "sqlite" else request.getfixturevalue("pg_url")
    Vault.create(where, PASSPHRASE, kdf=FAST).close()
    return where


def _readline(stream: IO[str], timeout: float = WAIT) -> str:
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        assert selector.select(timeout), f"the child said nothing for {timeout} s"
    return stream.readline().strip()


class Child:
    """A running ``concurrency_child`` process, ready (vault open) once constructed."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, PASSPHRASE_VARIABLE: PASSPHRASE}
        command = [sys.executable, "-m", "tests.concurrency_child", *args]
        pipe = subprocess.PIPE
        self.process = subprocess.Popen(command, stdin=pipe, stdout=pipe, text=True, env=env, cwd=ROOT)  # noqa: S603
        assert self.readline() == "ready"

    def say(self, line: str) -> None:
        """Write one line to the child."""
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def readline(self) -> str:
        """The child's next line (an assertion error if it says nothing for ``WAIT`` seconds)."""
        assert self.process.stdout is not None
        return _readline(self.process.stdout)

    def finish(self) -> int:
        """Close its input and wait for it to end; its exit status."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        return self.process.wait(timeout=WAIT)

    def kill(self) -> None:
        """SIGKILL: no cleanup, no commit."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=WAIT)


@pytest.fixture
def children() -> Iterator[list[Child]]:
    """The children a test starts; any still running at the end are killed."""
    started: list[Child] = []
    yield started
    for child in started:
        if child.process.poll() is None:
            child.kill()
        for stream in (child.process.stdin, child.process.stdout):
            if stream is not None:
                stream.close()


def _start(children: list[Child], *args: str) -> Child:
    child = Child(*args)
    children.append(child)
    return child


def test_four_processes_updating_the_same_contacts_lose_nothing(location, children):
    """4 processes x 500 ``modify`` of 5 shared counters: every increment is there, none escaped."""
    per_process, contacts, processes = 500, 5, 4
    with Vault.open(location, PASSPHRASE) as vault:
        vault.add_many(counters(contacts))
    workers = [
        _start(children, "modify", location, str(per_process), str(contacts), str(seed))
        for seed in range(processes)
    ]
    for worker in workers:
        worker.say("go")
    for worker in workers:
        assert worker.readline() == "done 0"  # no ConflictError escaped modify
        assert worker.finish() == 0
    with Vault.open(location, PASSPHRASE) as vault:
        total = sum(count_of(vault.get(counter_id(i))) for i in range(contacts))
        assert total == per_process * processes
        vault.verify()


def test_two_processes_recording_disclosures_share_one_chain(location, children):
    """Two processes exporting at once: every record is in the log, in one unbroken hash chain."""
    each = 25
    workers = [_start(children, "record", location, str(each), name) for name in ("a", "b")]
    for worker in workers:
        worker.say("go")
    for worker in workers:
        assert worker.readline() == "done"
        assert worker.finish() == 0
    with Vault.open(location, PASSPHRASE) as vault:
        records = vault.disclosures()  # seals, order and hash chain checked
        vault.verify()
    assert [r.seq for r in records] == list(range(1, 2 * each + 1))
    for name in ("a", "b"):
        mine = [r for r in records if r.target == f"file:/books/{name}.vcf"]
        assert len(mine) == each
        assert [r.held for r in mine] == [1] * each


def test_a_writer_killed_mid_transaction_leaves_the_others_working(location, children):
    """SIGKILL of a process inside an open ``add_many``: the others write on, the next open is clean."""
    with Vault.open(location, PASSPHRASE) as vault:
        vault.add_many(counters(3))
    parked = _start(children, "park", location, "3500")
    parked.say("go")
    assert parked.readline() == "mid"  # its transaction is open, holding the write lock
    with Vault.open(location, PASSPHRASE, lock_timeout=WAIT) as vault:
        done = threading.Event()

        def write() -> None:
            vault.modify(counter_id(0), lambda c: c.model_copy(update={"notes": ("41",)}))
            done.set()

        writer = threading.Thread(target=write)
        writer.start()  # waits for the parked transaction's lock
        parked.kill()
        writer.join(WAIT)
        assert done.is_set()
        assert count_of(vault.get(counter_id(0))) == 41
        assert len(vault) == 3  # nothing of the killed transaction
    with Vault.open(location, PASSPHRASE) as vault:
        vault.verify()
        assert batch_id(PARK_BATCH, 0) not in vault


def _listed(location: str, folder: Path) -> int:
    """How many contacts ``contactvault list --json`` shows (a CLI run of its own on the same vault)."""
    passphrase_file = folder / "passphrase.txt"
    passphrase_file.write_text(PASSPHRASE + "\n", encoding="utf-8")
    arguments = ["list", "--json", "--vault", location, "--passphrase-file", str(passphrase_file)]
    result = CliRunner().invoke(cli, arguments)
    assert result.exit_code == 0, result.output
    return len(json.loads(result.output))


def test_list_during_a_long_import_shows_before_or_after_never_half(location, children, tmp_path):
    """``contactvault list`` while another process is inside a 3,500-contact transaction: the old state."""
    with Vault.open(location, PASSPHRASE) as vault:
        vault.add_many(counters(2))
    parked = _start(children, "park", location, "3500")
    parked.say("go")
    assert parked.readline() == "mid"  # 1,000 stored in its open transaction
    assert _listed(location, tmp_path) == 2  # before: none of the open transaction
    parked.say("commit")
    assert parked.readline() == "committed"
    assert parked.finish() == 0
    assert _listed(location, tmp_path) == 2 + 3500  # after: all of it


def test_threads_share_one_open_vault(location):
    """8 threads on one ``Vault`` object: reads and ``modify`` from all of them, nothing lost."""
    threads, per_thread, contacts = 8, 25, 3
    errors: list[BaseException] = []
    with Vault.open(location, PASSPHRASE) as vault:
        vault.add_many(counters(contacts))

        def work(seed: int) -> None:
            try:
                for i in range(per_thread):
                    vault.modify(
                        counter_id((seed + i) % contacts),
                        lambda c: c.model_copy(update={"notes": (str(count_of(c) + 1),)}),
                    )
                    assert len(list(vault)) == contacts
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        workers = [threading.Thread(target=work, args=(seed,)) for seed in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(WAIT)
        assert errors == []
        assert sum(count_of(vault.get(counter_id(i))) for i in range(contacts)) == threads * per_thread
        vault.verify()


def test_an_update_from_a_stale_read_is_a_conflict_naming_the_contact(location):
    """``update`` with a contact read before another writer changed it: ``ConflictError``, nothing written."""
    with Vault.open(location, PASSPHRASE) as first, Vault.open(location, PASSPHRASE) as second:
        (cid,) = first.add_many(counters(1))
        stale = first.get(cid)
        second.modify(cid, lambda c: c.model_copy(update={"notes": ("5",)}))
        with pytest.raises(ConflictError) as raised:
            first.update(stale.model_copy(update={"notes": ("1",)}))
        assert raised.value.stale
        assert raised.value.contact_id == cid
        assert str(cid) in str(raised.value)
        assert "Zähler" not in str(raised.value)
        assert count_of(first.get(cid)) == 5


def test_modify_lands_when_another_writer_gets_in_every_time(location):
    """Another writer gets in between each optimistic read and write; the last try, under the lock, lands."""
    with (
        Vault.open(location, PASSPHRASE) as vault,
        Vault.open(location, PASSPHRASE, lock_timeout=0.05) as other,
    ):
        (cid,) = vault.add_many(counters(1))
        calls = meddled = 0

        def meddling(contact):
            nonlocal calls, meddled
            calls += 1
            try:  # another writer gets in between, whenever it can
                other.modify(cid, lambda c: c.model_copy(update={"notes": (str(count_of(c) + 1),)}))
                meddled += 1
            except VaultLocked:  # it cannot while this modify holds the write lock
                pass
            return contact.model_copy(update={"notes": (str(count_of(contact) + 100),)})

        result = vault.modify(cid, meddling, attempts=3)
        assert (calls, meddled) == (3, 2)
        assert count_of(result) == count_of(vault.get(cid)) == 102  # 2 by the other writer, then +100
        vault.verify()


def test_a_passphrase_change_elsewhere_leaves_an_open_vault_working(location):
    """One process changes the passphrase; another, already open, works on; a new open needs the new one."""
    with Vault.open(location, PASSPHRASE) as first, Vault.open(location, PASSPHRASE) as second:
        (cid,) = first.add_many(counters(1))
        first.change_passphrase("ein neues Geheimnis")
        second.modify(cid, lambda c: c.model_copy(update={"notes": ("9",)}))
        assert count_of(first.get(cid)) == 9
        assert second.kdf == first.kdf
        second.verify()
    with pytest.raises(WrongPassphrase):
        Vault.open(location, PASSPHRASE)
    with Vault.open(location, "ein neues Geheimnis") as vault:
        assert count_of(vault.get(cid)) == 9
        vault.verify()


def test_verify_while_another_process_writes_sees_one_snapshot(location, children):
    """``verify`` during another process's stream of changes: never a false alarm, always a whole state."""
    with Vault.open(location, PASSPHRASE) as vault:
        vault.add_many(counters(5))
    writer = _start(children, "modify", location, "300", "5", "1")
    writer.say("go")
    with Vault.open(location, PASSPHRASE) as vault:
        reports = [vault.verify() for _ in range(8)]  # VaultCorrupted here would be a false alarm
    assert writer.readline() == "done 0"
    assert writer.finish() == 0
    assert {report.contacts for report in reports} == {5}


def test_connections_of_ended_threads_are_closed(location):
    """A server that starts a thread per request: the connections of ended threads do not pile up."""
    with Vault.open(location, PASSPHRASE) as vault:
        vault.add_many(counters(2))
        for _ in range(30):
            worker = threading.Thread(target=lambda: len(list(vault)))
            worker.start()
            worker.join(WAIT)
        worker = threading.Thread(target=lambda: len(vault))
        worker.start()
        worker.join(WAIT)
        open_connections = vault._core.storage._all
        assert len(open_connections) <= 3  # this thread's, the last worker's, and a spare at most
        assert len(vault) == 2


def test_an_import_matches_what_another_process_stored_since_this_vault_was_opened(location):
    """A vault opened empty; another process stores a contact; importing the same card matches it."""
    with Vault.open(location, PASSPHRASE) as opened_empty, Vault.open(location, PASSPHRASE) as other:
        (stored,) = counters(1)
        other.add_many([stored])
        report = opened_empty.import_contacts([stored.model_copy(update={"id": batch_id(9, 0)})])
        assert report.added == ()
        assert len(opened_empty) == 1
