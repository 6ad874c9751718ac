"""A warm export (the next export of a vault kept open) writes and records what a cold one would.

The book keeps its decisions and cards between books and looks only at contacts whose kept directory
record changed (``sync/book.py``); the log keeps what each target holds and the records this process
sealed, and compares only the cards that changed (``vault/log.py``). Whatever is kept, the file must be
byte for byte the file a fresh open of the vault writes, and the log must say exactly what a full
comparison says, also when another ``Vault`` object or another process changed the vault or exported to
the same file in between.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contactvault import Contact, KdfParams, Vault, VaultCorrupted, normalize_phone
from contactvault.book import MessengerBook
from contactvault.crypto import keyed_hash
from contactvault.models import MessengerPresence
from contactvault.sync import export_book, messenger_book
from contactvault.sync.policy import Policy
from contactvault.vault import Disclosure
from contactvault.vault import log as vault_log
from contactvault.vault.disclosures import replay
from tests.conftest import consent

FAST = KdfParams.insecure_fast_for_tests()
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
BEFORE = NOW - timedelta(days=1)  # a withdrawal the book at NOW sees
POLICY = Policy.default()
ROOT = Path(__file__).resolve().parent.parent


def _eligible(name: str, number: str) -> Contact:
    phone = normalize_phone(number, default_region="DE").model_copy(
        update={
            "messenger": MessengerPresence(present=True, source="manual", checked_at=NOW - timedelta(days=1))
        }
    )
    return Contact.model_validate({"display_name": name, "phones": [phone], "consents": [consent()]})


def _contacts(start: int, count: int) -> list[Contact]:
    return [_eligible(f"Kontakt {i:03d}", f"0151 555{i:05d}") for i in range(start, start + count)]


def _export(vault: Vault, path: Path) -> Disclosure:
    return export_book(vault, messenger_book(vault, POLICY, now=NOW), path)


def _check(where: Path | str, path: Path, tmp_path: Path) -> None:
    """``path`` is what a fresh open exports, and the log says the target holds exactly its entries.

    The last record for the target must also be the change a full comparison finds: from what the log
    held before it to the fresh book's entries.
    """
    target = f"file:{path.resolve()}"
    with Vault.open(where, "pw") as fresh:
        book = messenger_book(fresh, POLICY, now=NOW)
        cold = tmp_path / "cold.vcf"
        records = fresh.activity()
        core = fresh._core
        key = keyed_hash(core.keys.log, b"entry-hash")
        wanted = {uid: vault_log._entry_hash(core, key, uid, entry) for uid, entry in book.cards()}
        export_book(fresh, book, cold)
    assert path.read_bytes() == cold.read_bytes()
    assert replay(records, target) == wanted
    last = max(i for i, r in enumerate(records) if isinstance(r, Disclosure) and r.target == target)
    record, before = records[last], replay(records[:last], target)
    assert isinstance(record, Disclosure)
    after = replay(records[: last + 1], target)
    assert record.added == {u: h for u, h in sorted(after.items()) if u not in before}
    assert list(record.added) == sorted(record.added)
    assert record.renamed == {u: h for u, h in sorted(after.items()) if u in before and before[u] != h}
    assert list(record.renamed) == sorted(record.renamed)
    assert record.removed == tuple(sorted(u for u in before if u not in after))
    assert record.held == len(after)


def test_a_warm_export_after_changes_here_and_elsewhere_is_a_cold_one(where, tmp_path):
    """Changes by this vault and by a second ``Vault`` object, and its export to the same file."""
    path = tmp_path / "book.vcf"
    with Vault.create(where, "pw", kdf=FAST) as made:
        ids = made.add_many(_contacts(0, 40))
    with Vault.open(where, "pw") as mine:
        _export(mine, path)
        _check(where, path, tmp_path)
        for i in range(5):
            mine.add_label(ids[2 * i], "Kontakt")  # a label's name is taken out of the book's name
            mine.withdraw_consent(ids[2 * i + 1], "messenger", channel="written", at=BEFORE)
        _export(mine, path)
        _check(where, path, tmp_path)
        with Vault.open(where, "pw") as other:
            other.withdraw_consent(ids[20], "messenger", channel="written", at=BEFORE)
            renamed = other.get(ids[21])
            other.update(renamed.model_copy(update={"display_name": "Anders Benannt"}))
            other.add_many(_contacts(100, 2))
            other.erase(ids[22])
            _export(other, path)  # the same target, recorded by another object
        mine.add_label(ids[23], "warm")
        _export(mine, path)
        _check(where, path, tmp_path)
        _export(mine, path)  # nothing changed: nothing recorded as changed
        last = mine.disclosures()[-1]
        assert (last.added, last.removed, last.renamed) == ({}, (), {})
        _check(where, path, tmp_path)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_another_processs_export_to_the_same_file_is_seen(where, tmp_path):
    """Another OS process changes a contact and exports to the same file: the next export here sees both."""
    path = tmp_path / "book.vcf"
    with Vault.create(where, "pw", kdf=FAST) as mine:
        ids = mine.add_many(_contacts(0, 12))
        _export(mine, path)
        child = (
            "import sys, os\n"
            "from datetime import datetime, UTC\n"
            "from contactvault import Vault\n"
            "from contactvault.sync import export_book, messenger_book\n"
            "from contactvault.sync.policy import Policy\n"
            "now = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)\n"
            "with Vault.open(sys.argv[1], os.environ['CV_TEST_PASSPHRASE']) as v:\n"
            "    v.withdraw_consent(sys.argv[2], 'messenger', channel='email',\n"
            "                       at=datetime(2026, 1, 1, tzinfo=UTC))\n"
            "    export_book(v, messenger_book(v, Policy.default(), now=now), sys.argv[3])\n"
        )
        env = {**os.environ, "CV_TEST_PASSPHRASE": "pw"}
        subprocess.run(  # noqa: S603
            [sys.executable, "-c", child, str(where), str(ids[6]), str(path)],
            check=True,
            env=env,
            cwd=ROOT,
            timeout=120,
        )
        mine.add_label(ids[7], "warm")
        _export(mine, path)
        assert len(mine.disclosures()) == 3
    _check(where, path, tmp_path)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_record_whose_commit_failed_is_never_taken_for_the_log(where, tmp_path, monkeypatch):
    """An export whose transaction fails leaves nothing kept that the next export would trust."""
    path = tmp_path / "book.vcf"
    with Vault.create(where, "pw", kdf=FAST) as mine:
        ids = mine.add_many(_contacts(0, 12))
        _export(mine, path)
        mine.withdraw_consent(ids[3], "messenger", channel="written", at=BEFORE)
        storage = mine._core.storage
        write_single = storage.write_single

        def failing(name: str, value: bytes) -> None:
            raise OSError("disk full")

        monkeypatch.setattr(storage, "write_single", failing)
        with pytest.raises(OSError, match="disk full"):
            _export(mine, path)
        monkeypatch.setattr(storage, "write_single", write_single)
        with Vault.open(where, "pw") as other:  # other records take the failed one's place, and more
            other.add_label(ids[4], "elsewhere")
            other.add_label(ids[8], "elsewhere")
        mine.add_label(ids[5], "warm")
        _export(mine, path)
    _check(where, path, tmp_path)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_stored_record_that_differs_from_the_one_sealed_here_is_refused(where, tmp_path):
    """The log takes its own records back by the hash of their sealed bytes: changed bytes are opened."""
    path = tmp_path / "book.vcf"
    with Vault.create(where, "pw", kdf=FAST) as mine:
        mine.add_many(_contacts(0, 5))
        _export(mine, path)  # sealed here, not yet read back
        with sqlite3.connect(where) as db:
            seq, blob = db.execute("SELECT seq, record FROM disclosures ORDER BY seq DESC LIMIT 1").fetchone()
            damaged = blob[:30] + bytes([blob[30] ^ 1]) + blob[31:]
            db.execute("UPDATE disclosures SET record = ? WHERE seq = ?", (damaged, seq))
        with pytest.raises(VaultCorrupted):
            mine.activity()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_records_read_back_are_the_ones_a_fresh_open_reads(where, tmp_path):
    """Records this process sealed are read back (from what it kept) as a fresh open reads them."""
    path = tmp_path / "book.vcf"
    with Vault.create(where, "pw", kdf=FAST) as mine:
        ids = mine.add_many(_contacts(0, 8))
        _export(mine, path)
        mine.add_label(ids[1], "warm")
        _export(mine, path)
        mine_records = mine.activity()
    with Vault.open(where, "pw") as fresh:
        assert fresh.activity() == mine_records


# --- any sequence of changes --------------------------------------------------------------------------

_steps = st.lists(
    st.tuples(
        st.sampled_from(("label", "withdraw", "grant", "rename", "add", "erase", "other", "plain", "export")),
        st.integers(0, 9),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=_steps)
def test_any_changes_then_a_warm_export_is_a_cold_one(tmp_path_factory, steps):
    """Random changes (here, by another object, books of other kinds) with exports: always a cold one."""
    folder = tmp_path_factory.mktemp("warm")
    where, path = folder / "v.db", folder / "book.vcf"
    with Vault.create(where, "pw", kdf=FAST) as mine:
        ids = mine.add_many(_contacts(0, 10))
        _export(mine, path)
        added, erased = 100, set()
        for action, n in steps:
            cid = ids[n]
            if cid in erased:
                continue
            if action == "label":
                mine.add_label(cid, "Kontakt" if n % 2 else f"l{n}")
            elif action == "withdraw":
                with contextlib.suppress(ValueError):  # no active consent left
                    mine.withdraw_consent(cid, "messenger", channel="written", at=BEFORE)
            elif action == "grant":
                mine.grant_consent(cid, consent())
            elif action == "rename":
                mine.update(mine.get(cid).model_copy(update={"display_name": f"Neu {n} Name"}))
            elif action == "add":
                ids.extend(mine.add_many(_contacts(added, 1)))
                added += 1
            elif action == "erase":
                mine.erase(cid)
                erased.add(cid)
            elif action == "other":
                with Vault.open(where, "pw") as other:
                    other.add_label(next(c for c in ids[n + 1 :] + ids if c not in erased), "other")
                    if n % 2:
                        _export(other, path)
            elif action == "plain":  # a book not made by messenger_book: the full comparison
                book = messenger_book(mine, POLICY, now=NOW)
                plain = MessengerBook(book.cards(), names=book.names, policy_digest=book.policy_digest)
                export_book(mine, plain, path)
            if action in ("export", "plain") or n % 3 == 0:
                _export(mine, path)
        _export(mine, path)
    _check(where, path, folder)
