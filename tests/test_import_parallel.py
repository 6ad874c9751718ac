"""The import on several cores gives exactly what one process gives.

It falls back to one process when helper processes cannot run (and says so); the CLI streams the contacts
into the vault.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contactvault import Vault, _helper_process
from contactvault.cli import main
from contactvault.crypto import KdfParams
from contactvault.errors import ImportFailed
from contactvault.importers import _vcard_pool, _vcard_worker, vcard
from contactvault.importers._vcard_cards import split_cards
from contactvault.importers.matching import field_digests, has_baseline
from contactvault.importers.result import ImportBatch, ImportResult, ImportTally
from contactvault.importers.source import iter_blocks
from contactvault.importers.vcard import PARALLEL_BYTES, auto_workers, import_vcards, iter_vcards
from tests.conftest import CORPUS
from tests.strategies import arbitrary_bytes, card_files

_VOLATILE = {"id", "created_at", "updated_at"}  # random per run, or the time of the call


def _plain(result: ImportResult) -> tuple[Any, ...]:
    """Everything an import gives, contact ids replaced by positions (they are random per import)."""
    position = {c.id: i for i, c in enumerate(result.contacts)}
    return (
        [c.model_dump(exclude=_VOLATILE) for c in result.contacts],
        result.issues,
        [(g.e164, [position[i] for i in g.contact_ids]) for g in result.duplicates],
        result.entries,
        result.dropped,
        result.summary(),
    )


def _batches(data: bytes | Path, workers: int, size: int) -> list[tuple[Any, ...]]:
    return [
        ([c.model_dump(exclude=_VOLATILE) for c in b.contacts], b.issues, b.entries, b.dropped, b.fallback)
        for b in iter_vcards(data, default_region="DE", batch_size=size, workers=workers)
    ]


def _file(cards: int, *, shared: bool = False) -> bytes:
    lines = []
    for i in range(cards):
        number = "+49 30 1234567" if shared and i % 3 == 0 else f"0171 {2000000 + i}"
        lines += ["BEGIN:VCARD", "VERSION:3.0", f"FN:Kundin {i:03d} Müller", f"TEL:{number}"]
        lines += ["END:VCARD"] if i % 7 else []  # every seventh card is never closed
    return ("\r\n".join(lines) + "\r\n").encode()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(card_files().map(lambda f: f[0]), arbitrary_bytes), st.integers(1, 3))
def test_helper_processes_give_what_one_process_gives(data, size):
    """Random files (good, broken and garbage cards; any bytes): the same batches, issues, lines, order."""
    try:
        serial = _batches(data, 0, size)
    except ImportFailed:
        with pytest.raises(ImportFailed):
            _batches(data, 1, size)
        return
    assert _batches(data, 1, size) == serial


@settings(max_examples=60, deadline=None)
@given(st.one_of(card_files().map(lambda f: f[0]), arbitrary_bytes))
def test_the_json_a_helper_sends_gives_the_same_contacts(data):
    """What crosses the process boundary (a contact's JSON, validated again here) is the contact itself."""
    now = datetime.now(UTC)
    try:
        items = list(split_cards(iter_blocks(data), "<bytes>"))
    except ImportFailed:
        return
    count = sum(1 for i in items if not isinstance(i, _vcard_pool.ImportIssue) or i.code == "not_closed")
    here = vcard.build_batch(items, count, "<bytes>", "DE", now, baselines=True)
    request = _vcard_pool.request(items, count, "<bytes>", "DE", now, baselines=True)
    sent = _vcard_pool.received(b"".join(_vcard_worker.reply_to(request)), count, baselines=True)
    assert [c.model_dump(exclude={"id"}) for c in sent.contacts] == [
        c.model_dump(exclude={"id"}) for c in here.contacts
    ]
    assert (sent.issues, sent.entries, sent.dropped) == (here.issues, here.entries, here.dropped)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not here")
def test_every_corpus_file_imports_the_same_on_helper_processes():
    files = sorted(CORPUS.rglob("*.vcf"))
    assert files
    for path in files:
        serial = import_vcards(path, default_region="US", workers=0)
        parallel = import_vcards(path, default_region="US", workers=2)
        assert parallel.fallback is None, path.name
        assert _plain(parallel) == _plain(serial), path.name


def test_many_batches_in_flight_keep_file_order_and_one_time_of_import():
    data = _file(400, shared=True)
    serial = import_vcards(data, default_region="DE", workers=0)
    batches = list(iter_vcards(data, default_region="DE", batch_size=7, workers=2))
    assert len(batches) > 2 * 2 + 1  # more chunks than may be in flight at once
    parallel = ImportResult.collect(batches, source="<bytes>", format="vcard")
    assert _plain(parallel) == _plain(serial)
    assert len({c.created_at for c in parallel.contacts}) == 1  # every helper used this process's "now"
    assert [i.line for i in parallel.issues] == sorted(i.line for i in parallel.issues)


# --- falling back to one process ------------------------------------------------------------------------


def _command(monkeypatch: pytest.MonkeyPatch, *command: str) -> None:
    monkeypatch.setattr(_vcard_pool, "helper_command", lambda: list(command))


def _script(code: str) -> list[str]:
    """A helper command running ``code`` (the worker's frame functions at hand as ``w``)."""
    return [sys.executable, "-c", "from contactvault.importers import _vcard_worker as w\n" + code]


@pytest.mark.parametrize(
    ("command", "said"),
    [
        (["/nonexistent/python3"], "FileNotFoundError"),
        ([sys.executable, "-c", "import sys; sys.exit(3)"], "exited with status 3"),
        ([sys.executable, "-c", "pass"], "exited with status 0"),
    ],
)
def test_a_helper_that_cannot_start_or_run_falls_back_to_one_process_and_says_so(monkeypatch, command, said):
    """No interpreter to run, or a helper that exits at once: the same result, read here, the reason given."""
    _command(monkeypatch, *command)
    data = _file(30)
    batches = list(iter_vcards(data, default_region="DE", batch_size=4, workers=1))
    notes = [b.fallback for b in batches]
    assert notes[0] is not None
    assert said in notes[0]
    assert "one process" in notes[0]
    assert notes[1:] == [None] * (len(batches) - 1)  # said once
    result = ImportResult.collect(batches, source="<bytes>", format="vcard")
    assert result.fallback == notes[0]
    assert _plain(result) == _plain(import_vcards(data, default_region="DE", workers=0))


_ONE_REPLY_THEN_EXIT = """
import sys
w.write_frame(sys.stdout.buffer, w.reply_to(w.read_frame(sys.stdin.buffer)))
sys.exit(5)
"""

_ONE_REPLY_THEN_GARBAGE = """
import sys
w.write_frame(sys.stdout.buffer, w.reply_to(w.read_frame(sys.stdin.buffer)))
w.read_frame(sys.stdin.buffer)
w.write_frame(sys.stdout.buffer, [GARBAGE])
sys.stdin.buffer.read()
"""


@pytest.mark.parametrize(
    ("code", "said"),
    [
        (_ONE_REPLY_THEN_EXIT, "exited with status 5"),
        (_ONE_REPLY_THEN_GARBAGE.replace("GARBAGE", "b'not a reply'"), "malformed reply"),
        (_ONE_REPLY_THEN_GARBAGE.replace("GARBAGE", "b'\\x02\\x00\\x00\\x00{}'"), "malformed reply"),
        (  # half a frame, then nothing (ANSWER_SECONDS made short below)
            _ONE_REPLY_THEN_GARBAGE.replace(
                "w.write_frame(sys.stdout.buffer, [GARBAGE])",
                "sys.stdout.buffer.write(b'\\x40\\x00\\x00\\x00{'); sys.stdout.buffer.flush()",
            ),
            "stopped answering",
        ),
        (
            _ONE_REPLY_THEN_GARBAGE.replace("w.write_frame(sys.stdout.buffer, [GARBAGE])", ""),
            "stopped answering",
        ),
        (  # a well-formed header that does not fit the request
            _ONE_REPLY_THEN_GARBAGE.replace(
                "GARBAGE",
                "(lambda h: w.HEADER.pack(len(h)) + h)"
                '(b\'{"entries":1,"dropped":0,"issues":[],"contacts":0}\')',
            ),
            "malformed reply",
        ),
        (  # an issue code that does not exist
            _ONE_REPLY_THEN_GARBAGE.replace(
                "GARBAGE",
                '(lambda h: w.HEADER.pack(len(h)) + h)(b\'{"entries":3,"dropped":0,'
                '"issues":[[1,"m","made_up","error","<bytes>"]],"contacts":0}\')',
            ),
            "malformed reply",
        ),
    ],
)
def test_a_helper_that_breaks_midway_loses_no_card(monkeypatch, code, said):
    """The chunks out when a helper exits, stalls or sends a malformed reply are read here, once each."""
    monkeypatch.setattr(_helper_process, "ANSWER_SECONDS", 1.0)
    _command(monkeypatch, *_script(code))
    data = _file(40)
    batches = list(iter_vcards(data, default_region="DE", batch_size=3, workers=1))
    assert [b.fallback is not None for b in batches].count(True) == 1
    assert batches[0].fallback is None  # the first chunk came from the helper
    assert batches[1].fallback is not None
    assert said in batches[1].fallback
    result = ImportResult.collect(batches, source="<bytes>", format="vcard")
    assert _plain(result) == _plain(import_vcards(data, default_region="DE", workers=0))


# --- helper processes never outlive the import ------------------------------------------------------------


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[subprocess.Popen[bytes]]:
    """The helper processes started during the test."""
    processes: list[subprocess.Popen[bytes]] = []
    real = _vcard_pool._Helper.__init__

    def noting(self: Any) -> None:
        real(self)
        processes.append(self.process)

    monkeypatch.setattr(_vcard_pool._Helper, "__init__", noting)
    return processes


def _gone(processes: list[subprocess.Popen[bytes]]) -> bool:
    return all(p.returncode is not None for p in processes)  # waited for: no process, no zombie


def test_helpers_exit_when_the_import_ends(started):
    batches = list(iter_vcards(_file(50), default_region="DE", batch_size=5, workers=2))
    assert len(started) == 2
    assert _gone(started)
    assert [p.returncode for p in started] == [0, 0]  # they ended on their own, their input closed
    assert all(b.fallback is None for b in batches)


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_no_helper_is_left_after_an_import_that_raised_midway(started, monkeypatch, error):
    """Ctrl-C (or any error) while this process waits for a helper: every helper is killed and waited for."""
    real, calls = _vcard_pool.received, []

    def raises_on_the_third(reply: bytes, count: int, *, baselines: bool) -> ImportBatch:
        calls.append(1)
        if len(calls) == 3:
            raise error("interrupted")
        return real(reply, count, baselines=baselines)

    monkeypatch.setattr(_vcard_pool, "received", raises_on_the_third)
    with pytest.raises(error):
        list(iter_vcards(_file(200), default_region="DE", batch_size=5, workers=2))
    assert len(started) == 2
    assert _gone(started)


def _give_up_at_the_fourth_batch() -> None:
    with contextlib.closing(iter_vcards(_file(200), default_region="DE", batch_size=5, workers=2)) as batches:
        for i, _ in enumerate(batches):
            if i == 3:
                raise RuntimeError("the caller gave up")


def test_no_helper_is_left_by_a_caller_that_raised_midway(started):
    with pytest.raises(RuntimeError):
        _give_up_at_the_fourth_batch()
    assert len(started) == 2
    assert _gone(started)


def test_no_helper_is_left_by_a_caller_that_stops_iterating(started):
    batches = iter_vcards(_file(200), default_region="DE", batch_size=5, workers=2)
    next(batches)
    batches.close()
    assert len(started) == 2
    assert _gone(started)


def test_no_helper_is_left_when_the_cli_store_fails_midway(tmp_path, started, monkeypatch):
    def fails(self: Any, contacts: Any, **_: Any) -> None:
        next(iter(contacts))
        raise OSError("disk full")

    monkeypatch.setattr(Vault, "import_contacts", fails)
    result, _ = _cli_import(tmp_path, _file(60), "--workers", "2")
    assert result.exit_code != 0
    assert len(started) == 2
    assert _gone(started)


def test_a_script_without_a_main_guard_runs_once(tmp_path):
    """A helper never imports the caller's ``__main__``: a script's top-level code runs once, no fallback."""
    cards = tmp_path / "cards.vcf"
    cards.write_bytes(_file(60))
    script = tmp_path / "unguarded.py"
    script.write_text(
        textwrap.dedent(f"""
            import contactvault
            print("top level ran")
            result = contactvault.import_vcards({str(cards)!r}, default_region="DE", workers=2)
            print(len(result.contacts), result.fallback)
        """),
        encoding="utf-8",
    )
    done = subprocess.run(  # noqa: S603  (this interpreter, a script of the test's)
        [sys.executable, str(script)], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.splitlines() == ["top level ran", "51 None"]


# --- choosing the number of helpers ---------------------------------------------------------------------


def test_auto_uses_helpers_only_for_large_files_on_several_cores(monkeypatch, tmp_path):
    small, large = tmp_path / "small.vcf", tmp_path / "large.vcf"
    small.write_bytes(_file(10))
    large.write_bytes(b"\n" * PARALLEL_BYTES)
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert auto_workers(small) == 0
    assert auto_workers(large) == 4  # at most MAX_AUTO_WORKERS: one process cannot feed more
    assert auto_workers(b"x" * PARALLEL_BYTES) == 4
    assert auto_workers(tmp_path / "missing.vcf") == 0
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert auto_workers(large) == 1  # one core stays with this process (splitting, sealing, storing)
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert auto_workers(large) == 0


@pytest.mark.parametrize("workers", [-1, "two", 1.5, True])
def test_workers_must_be_auto_zero_or_a_count(workers):
    with pytest.raises(ValueError, match="workers"):
        iter_vcards(_file(2), default_region="DE", workers=workers)


# --- the tally the CLI keeps instead of the contacts -----------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.one_of(card_files().map(lambda f: f[0]), st.just(_file(50, shared=True))))
def test_a_tally_counts_what_a_result_counts(data):
    batches = list(iter_vcards(data, default_region="DE", batch_size=3, workers=0))
    tally = ImportTally(source="<bytes>", format="vcard")
    passed = list(tally.contacts_of(batches))
    result = ImportResult.collect(batches, source="<bytes>", format="vcard")
    assert passed == result.contacts
    assert tally.summary() == result.summary()
    assert (tally.issues, tally.errors, tally.warnings) == (result.issues, result.errors, result.warnings)


# --- the command line --------------------------------------------------------------------------------------


def _cli_import(tmp_path: Path, data: bytes, *extra: str) -> tuple[Any, list[dict[str, Any]]]:
    vault_path, secret, path = tmp_path / "v.db", tmp_path / "pass.txt", tmp_path / "cards.vcf"
    vault_path.unlink(missing_ok=True)
    secret.write_text("a passphrase here\n", encoding="utf-8")
    path.write_bytes(data)
    Vault.create(vault_path, "a passphrase here", kdf=KdfParams.insecure_fast_for_tests()).close()
    options = ["--vault", str(vault_path), "--passphrase-file", str(secret)]
    result = CliRunner().invoke(main, ["import", str(path), "--region", "DE", *options, *extra])
    with Vault.open(vault_path, "a passphrase here") as vault:
        stored = sorted(
            (c.model_dump(exclude=_VOLATILE | {"version", "source"}) for c in vault.contacts()),
            key=repr,
        )
    return result, stored


def test_the_cli_stores_the_same_with_helpers_and_without(tmp_path):
    data = _file(60, shared=True)
    one, stored_one = _cli_import(tmp_path, data, "--workers", "0", "--json")
    two, stored_two = _cli_import(tmp_path, data, "--workers", "2", "--json")
    assert one.exit_code == two.exit_code == 0, (one.output, two.output)
    assert one.output == two.output
    assert stored_one == stored_two
    assert len(stored_one) == 51
    assert "note:" not in two.output


def test_the_cli_says_when_it_fell_back_to_one_process(tmp_path, monkeypatch):
    _command(monkeypatch, "/nonexistent/python3")
    result, stored = _cli_import(tmp_path, _file(20), "--workers", "1")
    assert result.exit_code == 0, result.output
    assert "note: helper processes could not run (FileNotFoundError)" in result.output
    assert len(stored) == 17


def test_the_cli_refuses_a_workers_value_that_is_not_a_count(tmp_path):
    result, _ = _cli_import(tmp_path, _file(3), "--workers", "many")
    assert result.exit_code == 2
    assert "--workers" in result.output


# --- what the helpers take off this process's path -------------------------------------------------------


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(card_files().map(lambda f: f[0]), st.just(_file(40, shared=True))))
def test_baselines_are_the_contacts_own_field_digests_with_helpers_and_without(data):
    """``baselines=True``: each contact carries (and is noted with) its own digests; else the same batches."""

    def without_baselines(batches: list[ImportBatch]) -> list[tuple[Any, ...]]:
        dumps = [[c.model_dump(exclude=_VOLATILE) for c in b.contacts] for b in batches]
        for dump in (d for ds in dumps for d in ds if d["source"] is not None):
            dump["source"]["imported"] = ()
        return [
            (ds, b.issues, b.entries, b.dropped, b.fallback) for ds, b in zip(dumps, batches, strict=True)
        ]

    plain = list(iter_vcards(data, default_region="DE", batch_size=3, workers=0))
    assert not any(c.source and c.source.imported for b in plain for c in b.contacts)
    for workers in (0, 1):
        batches = list(iter_vcards(data, default_region="DE", batch_size=3, workers=workers, baselines=True))
        for contact in (c for b in batches for c in b.contacts):
            assert has_baseline(contact)
            assert contact.source is not None
            assert contact.source.imported == field_digests(contact)
            assert not has_baseline(contact.model_copy())  # only the very object
        assert without_baselines(batches) == without_baselines(plain)
    unasked = iter_vcards(data, default_region="DE", workers=1)
    assert not any(has_baseline(c) for b in unasked for c in b.contacts)


def _duplicates_file() -> bytes:
    """Cards that repeat UIDs, numbers and whole cards within the file, and one read back from a vault."""
    cards = []
    for i in range(30):
        uid = f"UID:u{i % 7}\r\n" if i % 2 else ""
        number = f"+49 30 {1000 + i % 5}" if i % 3 else f"0171 {2000000 + i}"
        cards.append(f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Name {i % 4}\r\n{uid}TEL:{number}\r\nEND:VCARD\r\n")
    return "".join(cards).encode()


@pytest.mark.parametrize("workers", [0, 1])
def test_an_empty_vault_matches_nothing_but_the_file_against_itself(tmp_path, monkeypatch, workers):
    """Skipping the lookups into an empty vault gives what the lookups give: repeated keys, shared numbers."""
    from contactvault.vault import importing  # noqa: PLC0415

    reports = []
    for empty in (True, False):
        monkeypatch.setattr(importing._Lookup, "empty", property(lambda self, e=empty: e and self._empty))
        path = tmp_path / f"{empty}.db"
        Vault.create(path, "a passphrase here", kdf=KdfParams.insecure_fast_for_tests()).close()
        with Vault.open(path, "a passphrase here") as vault:
            batches = iter_vcards(_duplicates_file(), default_region="DE", workers=workers, baselines=True)
            report = vault.import_contacts(c for b in batches for c in b.contacts)
            stored = sorted(
                (c.model_dump(exclude=_VOLATILE | {"version"}) for c in vault.contacts()), key=repr
            )
        position = {cid: i for i, cid in enumerate(report.added)}
        reports.append(
            (
                len(report.added),
                [(a.line, a.reason, [position.get(c) for c in a.candidates]) for a in report.ambiguous],
                report.shared_numbers,
                stored,
            )
        )
    assert reports[0] == reports[1]
    assert reports[0][1]  # the file has repeated keys
    assert reports[0][2]  # and shared numbers
