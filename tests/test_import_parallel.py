"""The import on several cores gives exactly what one process gives.

It falls back to one process when helper processes cannot run (and says so); the CLI streams the contacts
into the vault.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import BrokenExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contactvault import Vault
from contactvault.cli import main
from contactvault.crypto import KdfParams
from contactvault.errors import ImportFailed
from contactvault.importers import _vcard_pool
from contactvault.importers._vcard_cards import split_cards
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
    here = _vcard_pool.build_batch(items, count, "<bytes>", "DE", now)
    sent = _vcard_pool._received(_vcard_pool._helper(items, count, "<bytes>", "DE", now))
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


class _NoProcesses:
    """A multiprocessing context whose processes cannot start (a sandbox that forbids them)."""

    def __init__(self, failing: str) -> None:
        self._real = multiprocessing.get_context("spawn")
        self._failing = failing

    def __getattr__(self, name: str) -> Any:
        if name == self._failing:
            raise PermissionError("not allowed here")
        return getattr(self._real, name)


@pytest.mark.parametrize("failing", ["Process", "SimpleQueue"])
def test_a_pool_that_cannot_start_falls_back_to_one_process_and_says_so(monkeypatch, failing):
    """No semaphores (no /dev/shm) or no processes: the same result, read here, and the reason given."""
    monkeypatch.setattr(_vcard_pool, "pool_context", lambda: _NoProcesses(failing))
    data = _file(30)
    batches = list(iter_vcards(data, default_region="DE", batch_size=4, workers=1))
    notes = [b.fallback for b in batches]
    assert notes[0] is not None
    assert "PermissionError" in notes[0]
    assert "one process" in notes[0]
    assert notes[1:] == [None] * (len(batches) - 1)  # said once
    result = ImportResult.collect(batches, source="<bytes>", format="vcard")
    assert result.fallback == notes[0]
    assert _plain(result) == _plain(import_vcards(data, default_region="DE", workers=0))


def test_a_helper_that_breaks_midway_loses_no_card(monkeypatch):
    """The chunks in flight when the pool breaks are read here: nothing lost, nothing read twice."""
    real = _vcard_pool._received
    calls = []

    def breaks_on_the_second(sent: Any) -> ImportBatch:
        calls.append(1)
        if len(calls) == 2:
            raise BrokenExecutor("a helper was killed")
        return real(sent)

    monkeypatch.setattr(_vcard_pool, "_received", breaks_on_the_second)
    data = _file(40)
    batches = list(iter_vcards(data, default_region="DE", batch_size=3, workers=2))
    assert len(calls) == 2  # the pool was not used after it broke
    assert [b.fallback is not None for b in batches].count(True) == 1
    assert batches[1].fallback is not None
    assert "BrokenExecutor" in batches[1].fallback
    result = ImportResult.collect(batches, source="<bytes>", format="vcard")
    assert _plain(result) == _plain(import_vcards(data, default_region="DE", workers=0))


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
    monkeypatch.setattr(_vcard_pool, "pool_context", lambda: _NoProcesses("Process"))
    result, stored = _cli_import(tmp_path, _file(20), "--workers", "1")
    assert result.exit_code == 0, result.output
    assert "note: helper processes could not run (PermissionError)" in result.output
    assert len(stored) == 17


def test_the_cli_refuses_a_workers_value_that_is_not_a_count(tmp_path):
    result, _ = _cli_import(tmp_path, _file(3), "--workers", "many")
    assert result.exit_code == 2
    assert "--workers" in result.output
