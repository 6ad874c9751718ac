"""The cold book on two cores (``sync/_book_pool.py``): the very book one process makes, or it is not used.

A helper process validates, decides and names chunks of contacts while the book's process decrypts the
rest and does chunks of its own (``messenger_book(workers=...)``). Whatever the contacts, policy, moment,
name style and chunk size, the book, its vCard and what it keeps for the next book must equal the
one-process book's; a helper that cannot start, breaks or answers nonsense changes nothing but the speed;
an entry that fails raises what one process raises; and no helper outlives the book.
"""

from __future__ import annotations

import json
import logging
import select
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contactvault import KdfParams, Vault, VaultCorrupted, _helper_process
from contactvault.export.minimal import to_vcard
from contactvault.sync import _book_pool, messenger_book
from contactvault.sync import book as sync_book
from contactvault.sync.book import _Kept
from contactvault.sync.policy import AllOf, MessengerPolicy, Policy
from contactvault.vault import Kept, KeptView
from contactvault.vault.records import directory_json
from tests.strategies import display_names
from tests.test_book_cache import _contact_of, _eligible, _later
from tests.test_policy import _entries, _policies, _times

FAST = KdfParams.insecure_fast_for_tests()
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
STYLES = ("full", "given_initial", "initials", "pseudonym")


class _Waiting:
    """Spies on the book's helpers: waits, after they start, until each has something to say.

    A helper takes a few tenths of a second to load; a small test book would be done by then, all in the
    book's process. Waiting (before the read) until a whole first frame is there makes the helpers take
    part from the first chunk. The wait takes no frame: the book reads it as it always does.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started: list[subprocess.Popen[bytes]] = []
        self.items = 0  # contacts a helper decided and named
        real_init, real_items = _book_pool.BookPool.__init__, _book_pool._items

        def init(pool: Any, *args: Any, **kwargs: Any) -> None:
            real_init(pool, *args, **kwargs)
            for worker in pool._workers:
                self.started.append(worker.helper.process)
                deadline = time.monotonic() + 60
                while not worker.helper.ready() and time.monotonic() < deadline:
                    select.select([worker.helper.stdout], [], [], 0.05)

        def items(reply: bytes, count: int) -> list[Any]:
            found = real_items(reply, count)
            self.items += sum(item is not None for item in found)
            return found

        monkeypatch.setattr(_book_pool.BookPool, "__init__", init)
        monkeypatch.setattr(_book_pool, "_items", items)


def _book(
    path: Path, policy: Policy, now: datetime, style: str, workers: int, *, warm: bool = False
) -> object:
    """What a fresh open's book is and keeps: cards, vCard, and the kept decisions' spans and cards."""
    with Vault.open(path, "pw") as vault:
        if warm:
            list(vault)  # the directory is decrypted before the book: nothing is fed to the helpers
        book = messenger_book(vault, policy, now=now, name_style=style, workers=workers)  # type: ignore[arg-type]
        memo = vault.kept_directory().memo
        (kept,) = [value for value in memo.values() if isinstance(value, _Kept)]
        held = {
            cid: (token.id, window, [(c.uid, c.entry, c.split, c.key) for c in cards])
            for cid, (token, window, cards) in kept.contacts.items()
        }
        return (
            [(c.uid, c.entry, c.split, c.key) for c in kept.order or ()],
            list(book),
            to_vcard(book),
            held,
            kept.span,
            list(kept.contacts),
        )


def _gone(processes: list[subprocess.Popen[bytes]]) -> bool:
    return all(p.returncode is not None for p in processes)  # waited for: no process, no zombie


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    entries=st.lists(_entries(), min_size=1, max_size=14),
    names=st.lists(display_names(), min_size=14, max_size=14),
    policy=_policies | st.builds(AllOf, _policies, _policies),
    now=_later | _times,
    style=st.sampled_from(STYLES),
    chunk=st.integers(1, 4),
    warm=st.booleans(),
)
def test_a_parallel_book_is_the_one_process_book(  # noqa: PLR0917  (Hypothesis passes them)
    tmp_path_factory, entries, names, policy, now, style, chunk, warm
):
    path = tmp_path_factory.mktemp("parallel") / "v.db"
    with Vault.create(path, "pw", kdf=FAST) as vault:
        contacts = [_contact_of(entry, i) for i, entry in enumerate(entries)]
        vault.add_many(
            [c.model_copy(update={"display_name": n}) for c, n in zip(contacts, names, strict=False)]
        )
    alone = _book(path, policy, now, style, 0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_book_pool, "CHUNK", chunk)
        waiting = _Waiting(patch)
        shared = _book(path, policy, now, style, 1, warm=warm)
        assert len(waiting.started) == 1
        assert _gone(waiting.started)
    assert shared == alone


def _vault(path: Path | str, count: int) -> Path | str:
    with Vault.create(path, "pw", kdf=FAST) as vault:
        vault.add_many([_eligible(f"Kontakt {i:04d}", f"0151 555{i:05d}") for i in range(count)])
    return path


@pytest.mark.parametrize("workers", [1, 2])
def test_helpers_do_their_part_and_exit_with_the_book(where, monkeypatch, workers):
    """On SQLite and PostgreSQL (the directory is fed to the helpers inside the read's snapshot)."""
    path = _vault(where, 300)
    alone = _book(path, Policy.default(), NOW, "full", 0)
    monkeypatch.setattr(_book_pool, "CHUNK", 7)
    waiting = _Waiting(monkeypatch)
    assert _book(path, Policy.default(), NOW, "full", workers) == alone
    assert len(waiting.started) == workers
    assert [p.returncode for p in waiting.started] == [0] * workers  # ended on their own, input closed
    assert waiting.items > 0  # the helpers decided contacts (how many depends on the machine)


def test_a_warm_directory_is_not_taken_for_what_was_fed(tmp_path, monkeypatch):
    """After ``list(vault)`` nothing is fed; after changes only they are: neither is what the book decides."""
    path = _vault(tmp_path / "v.db", 120)
    monkeypatch.setattr(_book_pool, "CHUNK", 5)
    waiting = _Waiting(monkeypatch)
    with Vault.open(path, "pw") as vault:
        list(vault)
        ids = [entry.id for entry in vault][40:52]
        for cid in reversed(ids):  # re-read one by one: these twelve are fed, in the order written
            vault.modify(cid, lambda c: c.model_copy(update={"display_name": c.display_name + " X"}))
        book = messenger_book(vault, Policy.default(), now=NOW, workers=1)
        shared = to_vcard(book)
    with Vault.open(path, "pw") as vault:
        assert shared == to_vcard(messenger_book(vault, Policy.default(), now=NOW, workers=0))
    assert waiting.items > 0


def test_a_book_of_a_policy_of_ones_own_starts_no_helper(tmp_path, monkeypatch):
    class Own(MessengerPolicy):
        pass

    path = _vault(tmp_path / "v.db", 20)
    waiting = _Waiting(monkeypatch)
    own = Own()
    with Vault.open(path, "pw") as vault:
        shared = to_vcard(messenger_book(vault, own, now=NOW, workers=1))
        assert to_vcard(messenger_book(vault, own, now=NOW, workers=0)) == shared
    assert waiting.started == []
    assert not _book_pool.portable(own)
    assert not _book_pool.portable(AllOf(Policy.default(), own))
    assert _book_pool.portable(AllOf(Policy.default(), Policy.default(admit_fixed_line=True)))


def test_auto_uses_a_helper_from_the_threshold_on_two_cores(monkeypatch):
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    assert _book_pool.auto_workers(_book_pool.PARALLEL_CONTACTS - 1) == 0
    assert _book_pool.auto_workers(_book_pool.PARALLEL_CONTACTS) == 1
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: {0}, raising=False)
    assert _book_pool.auto_workers(10 * _book_pool.PARALLEL_CONTACTS) == 0


@pytest.mark.parametrize(("live", "erased", "helpers"), [(9, 0, 0), (10, 0, 1), (8, 2, 1), (9, 3, 1)])
def test_auto_counts_the_rows_of_the_row_set_state(where, monkeypatch, live, erased, helpers):
    """``"auto"`` takes the vault's rows (erased ones too) from its state, one read, not ``len(vault)``."""
    path = _vault(where, live + erased)
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    monkeypatch.setattr(_book_pool, "PARALLEL_CONTACTS", 10)
    waiting = _Waiting(monkeypatch)
    with Vault.open(path, "pw") as vault:
        for entry in list(vault)[:erased]:
            vault.erase(entry.id)
        assert vault.kept_directory().rows() == live + erased
        assert len(vault) == live
        book = messenger_book(vault, Policy.default(), now=NOW)
        assert to_vcard(book) == to_vcard(messenger_book(vault, Policy.default(), now=NOW, workers=0))
    assert len(waiting.started) == helpers


@pytest.mark.parametrize("workers", [-1, True, 1.5, "2"])
def test_workers_must_be_auto_or_a_count(tmp_path, workers):
    path = _vault(tmp_path / "v.db", 1)
    with Vault.open(path, "pw") as vault, pytest.raises(ValueError, match="workers"):
        messenger_book(vault, Policy.default(), workers=workers)


# --- helpers that fail ----------------------------------------------------------------------------------

_READY = (
    "import sys\n"
    "from contactvault.importers import _frames as f\n"
    "r, w = sys.stdin.buffer, sys.stdout.buffer\n"
)


@pytest.mark.parametrize(
    "script",
    [
        "raise SystemExit(3)",  # exits at once
        _READY + "f.read_frame(r)\nf.write_frame(w, [b'\"busy\"'])\n",  # not ready
        _READY + "f.read_frame(r)\nf.write_frame(w, [b'\"ready\"'])\nf.read_frame(r)\n",  # exits mid-chunk
        _READY + "f.read_frame(r)\nf.write_frame(w, [b'\"ready\"'])\nwhile f.read_frame(r):\n"
        " f.write_frame(w, [b'[[null]]'])\n",  # a reply of the wrong length
        _READY + "f.read_frame(r)\nf.write_frame(w, [b'\"ready\"'])\nwhile f.read_frame(r):\n"
        " f.write_frame(w, [b'{'])\n",  # not JSON
        _READY + "f.read_frame(r)\nf.write_frame(w, [b'\"ready\"'])\nimport time\ntime.sleep(60)\n",  # stalls
        _READY + "f.read_frame(r)\nf.write_frame(w, [b'\"ready\"'])\nf.read_frame(r)\n"
        "w.write(b'\\x40\\x00\\x00\\x00[');w.flush()\nimport time\ntime.sleep(60)\n",  # half a reply
    ],
    ids=["exits", "not-ready", "dies-mid-chunk", "wrong-length", "not-json", "stalls", "half-a-reply"],
)
def test_a_helper_that_fails_changes_nothing_but_the_speed(tmp_path, monkeypatch, caplog, script):
    monkeypatch.setattr(_helper_process, "ANSWER_SECONDS", 1.0)
    path = _vault(tmp_path / "v.db", 60)
    alone = _book(path, Policy.default(), NOW, "full", 0)
    monkeypatch.setattr(_book_pool, "helper_command", lambda _module: [sys.executable, "-c", script])
    monkeypatch.setattr(_book_pool, "CHUNK", 4)
    waiting = _Waiting(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="contactvault.sync"):
        assert _book(path, Policy.default(), NOW, "full", 1) == alone
    assert len(waiting.started) == 1
    assert _gone(waiting.started)
    assert "the book" in caplog.text
    if "sleep" in script:  # waited for ANSWER_SECONDS, not for the helper to end
        assert "stopped answering" in caplog.text


@pytest.mark.parametrize(
    "item",
    [
        [None],
        [[1, 2, 3], []],
        [["1", 2, 3, 4], []],
        [None, ["+4915155500001"]],
        [None, [], "name", "", ""],
        [None, [1], "name", "", ""],
        [None, ["+4915155500001"], "name", None, ""],
        "text",
        [None, [], "extra"],
    ],
)
def test_a_malformed_reply_item_is_refused(item):
    with pytest.raises(_book_pool.Broken):
        _book_pool._items(json.dumps([item]).encode(), 1)


def test_reply_items_as_the_worker_sends_them_are_taken():
    items = [None, [None, []], [[1, 2, 3, 4], ["+4915155500001"], "Anna B.", "B.", "Anna"]]
    assert _book_pool._items(json.dumps(items).encode(), 3) == [
        None,
        (None, [], "", "", ""),
        ([1, 2, 3, 4], ["+4915155500001"], "Anna B.", "B.", "Anna"),
    ]


# --- errors -------------------------------------------------------------------------------------------


def _kept(index: int, *, plain: bytes | None = None, version: int = 1) -> Kept:
    """A kept contact as the directory reads it (``plain``: another decrypted JSON)."""
    contact = _eligible(f"Kontakt {index}", f"0151 555{index:05d}").model_copy(update={"version": 1})
    return Kept(contact.id.bytes, version, 0, plain if plain is not None else directory_json(contact))


def _update(tokens: list[Kept], workers: int) -> object:
    policy = Policy.default()

    def make(entry: Any, decision: Any) -> tuple[()]:
        return ()

    def finish(token: Kept, item: Any) -> Any:
        return (token, None, ())

    pool = _book_pool.BookPool(workers, policy, NOW, "full", "Kunde {code}", finish)
    try:
        return _Kept().update(tuple(tokens), KeptView.entry, policy, NOW, make, pool=pool)
    finally:
        pool.close(kill=True)


def test_an_entry_that_fails_raises_what_one_process_raises(monkeypatch):
    """The first failing contact in the vault's order raises, whichever process met a failure first."""
    tokens = [_kept(i) for i in range(40)]
    tokens[9] = _kept(9, plain=b"not json")  # "does not hold a valid entry", early: a helper's chunk
    tokens[35] = _kept(35, version=2)  # "belongs to another version", late: the book's own chunk
    with pytest.raises(VaultCorrupted) as alone:
        _update(tokens, 0)
    monkeypatch.setattr(_book_pool, "CHUNK", 3)
    waiting = _Waiting(monkeypatch)
    with pytest.raises(VaultCorrupted) as shared:
        _update(tokens, 1)
    assert str(shared.value) == str(alone.value) == "a directory record does not hold a valid entry"
    assert len(waiting.started) == 1
    assert _gone(waiting.started)


def test_the_tokens_are_the_vaults_entries():
    tokens = [_kept(i) for i in range(3)]
    assert [KeptView.entry(t).id for t in tokens] == [uuid.UUID(bytes=t.id) for t in tokens]


def test_no_helper_is_left_after_a_book_that_raised(tmp_path, monkeypatch):
    path = _vault(tmp_path / "v.db", 50)
    monkeypatch.setattr(_book_pool, "CHUNK", 5)
    waiting = _Waiting(monkeypatch)
    real = sync_book._cards_of
    calls = []

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) > 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(sync_book, "_cards_of", failing)
    with Vault.open(path, "pw") as vault, pytest.raises(KeyboardInterrupt):
        messenger_book(vault, Policy.default(), now=NOW, workers=1)
    assert len(waiting.started) == 1
    assert _gone(waiting.started)
