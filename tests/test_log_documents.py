"""Documents in the log (issue 16): an activity's ``data``, a guard inside the transaction, ``log.note``.

Notices, consent requests, refresh periods and retention schedules are activity records that carry their
document. These tests pin the mechanism they share: the document is sealed with the record and covered by
its hash chain; a guard sees the log as it is inside the write transaction, and a guard that refuses
leaves the vault exactly as it was, on both backends.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contactvault import Contact, KdfParams, Vault, VaultCorrupted
from contactvault.vault import log
from contactvault.vault.disclosures import MAX_DATA_BYTES, Activity, LogRecord, parse

FAST = KdfParams.insecure_fast_for_tests()
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


class Refused(Exception):
    """What the guards of these tests raise."""


@pytest.fixture
def vault(where):
    with Vault.create(where, "pw", kdf=FAST) as opened:
        yield opened


def _activity(**data: object) -> Activity:
    return Activity(
        seq=1,
        at=T0,
        by="owner",
        action="notice",
        contacts=(),
        count=0,
        detail="privacy 2",
        previous="0" * 64,
        data=dict(data) if data else None,
    )


def test_a_record_without_data_keeps_the_bytes_it_always_had():
    """Records written before documents existed parse to the same record and pack to the same bytes."""
    plain = _activity()
    assert b'"data"' not in plain.to_json()
    assert parse(plain.to_json()) == plain


@given(
    st.dictionaries(
        st.text(max_size=10),
        st.recursive(
            st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
            ),
            max_leaves=10,
        ),
        max_size=5,
    )
)
def test_a_document_round_trips_through_its_record(data):
    """Whatever JSON object a record carries comes back equal from its sealed JSON."""
    record = _activity(**data) if data else _activity()
    assert parse(record.to_json()) == record


def test_a_document_that_is_not_json_or_too_large_is_refused():
    with pytest.raises(ValueError, match="JSON values only"):
        _activity(when=T0)  # a datetime is not a JSON value
    with pytest.raises(ValueError, match="at most"):
        _activity(text="x" * (MAX_DATA_BYTES + 1))
    with pytest.raises(ValueError, match="JSON object"):
        Activity.from_json(json.dumps({**json.loads(_activity().to_json()), "data": [1, 2]}).encode())


def test_note_seals_the_document_and_the_log_reads_it_back(vault, where, backend):
    seq = log.note(vault._core, "notice", detail="privacy 1", data={"text": "Wir speichern ..."})
    (record,) = log.activities(vault._core, "notice")
    assert (record.seq, record.by, record.detail, record.data) == (
        seq,
        "owner",
        "privacy 1",
        {"text": "Wir speichern ..."},
    )
    assert vault.verify().disclosures == 1
    if backend == "sqlite":
        assert b"Wir speichern" not in where.read_bytes()


def _state(vault: Vault) -> tuple[int, int]:
    """The vault's generation and the number of log records: what a refused step must leave as it was."""
    core = vault._core
    return core.read_state()[0].generation, len(log.read(core)[0])


def test_a_guard_that_refuses_leaves_the_vault_as_it_was(vault):
    """Nothing of a refused step is written: no record, no new generation, no changed contact."""
    cid = vault.add(Contact(display_name="Anna"))
    before = _state(vault)
    seen: list[list[LogRecord]] = []

    def refuse(records: list[LogRecord]) -> None:
        seen.append(records)
        raise Refused

    with pytest.raises(Refused):
        log.note(vault._core, "notice", detail="x", data={"a": 1}, guard=refuse)
    with pytest.raises(Refused):
        vault._modify(cid, lambda c: c.model_copy(update={"display_name": "Bea"}), "edit", guard=refuse)
    assert _state(vault) == before
    assert vault.get(cid).display_name == "Anna"
    assert [len(records) for records in seen] == [before[1], before[1]]


def test_a_guard_sees_what_another_writer_committed_before_it(where):
    """The guard runs under the write lock: of two writers that each store a key once, only one stores it.

    Each thread opens the vault on its own and checks, in its guard, that no record names the key yet. The
    check of a guard outside the transaction would let both pass.
    """
    with Vault.create(where, "pw", kdf=FAST):
        pass
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def once(records: list[LogRecord]) -> None:
        if any(isinstance(r, Activity) and r.data == {"key": "k"} for r in records):
            raise Refused

    def store() -> None:
        with Vault.open(where, "pw") as opened:
            barrier.wait()
            try:
                log.note(opened._core, "consent_request", detail="x", data={"key": "k"}, guard=once)
                outcomes.append("stored")
            except Refused:
                outcomes.append("refused")

    threads = [threading.Thread(target=store) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "stored"]
    with Vault.open(where, "pw") as opened:
        assert len(log.activities(opened._core, "consent_request")) == 1


# --- the kept log: an open vault reads each record once ---------------------------------------------------


def test_an_open_vault_reads_only_the_records_added_since(vault, monkeypatch):
    """After one whole read, the next read opens just the new records; what it returns is the whole log."""
    for i in range(5):
        log.note(vault._core, "consent_refresh", detail=str(i), data={"i": i})
    whole, previous = log.read(vault._core)
    opened: list[int] = []
    real = log.crypto.open_sealed

    def counting(aead, sealed, ad):
        opened.append(1)
        return real(aead, sealed, ad)

    monkeypatch.setattr(log.crypto, "open_sealed", counting)
    again, same = log.read(vault._core)
    assert (again, same) == (whole, previous)
    assert opened == []
    log.note(vault._core, "consent_refresh", detail="new", data={"i": 99})
    grown, _ = log.read(vault._core)
    assert grown[:-1] == whole
    assert grown[-1].data == {"i": 99}
    assert len(opened) <= 2  # the new record (and the commit's check of the last one)
    assert log.read(vault._core, fresh=True)[0] == grown


def test_another_writer_s_records_are_read_and_chained(where):
    """Records another Vault object appends are read as continuations of the kept log, checked."""
    with Vault.create(where, "pw", kdf=FAST) as first:
        log.note(first._core, "consent_refresh", detail="a", data={"n": 1})
        assert len(log.read(first._core)[0]) == 1
        with Vault.open(where, "pw") as second:
            log.note(second._core, "consent_refresh", detail="b", data={"n": 2})
        records, _ = log.read(first._core)
        assert [r.data for r in records] == [{"n": 1}, {"n": 2}]


def test_a_kept_log_whose_stored_records_changed_is_read_again_and_refused(tmp_path):
    """A record rewritten underneath an open vault: the next read does not trust what it kept."""
    path = tmp_path / "v.db"
    with Vault.create(path, "pw", kdf=FAST) as opened:
        log.note(opened._core, "consent_refresh", detail="a", data={"n": 1})
        log.note(opened._core, "consent_refresh", detail="b", data={"n": 2})
        log.read(opened._core)
        with sqlite3.connect(path) as raw:  # the last record replaced by the first one's bytes
            first = raw.execute("SELECT record FROM disclosures WHERE seq = 1").fetchone()[0]
            raw.execute("UPDATE disclosures SET record = ? WHERE seq = 2", (first,))
        with pytest.raises(VaultCorrupted):
            log.read(opened._core)
