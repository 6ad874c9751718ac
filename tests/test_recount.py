"""The open's recount of the row-set digest (``vault.state.recount``) against the element functions.

``recount`` hashes every row, index entry and log record inline (issue 17: an open of 100,000 contacts
hashes some 400,000 elements); the write path adds and takes away the same elements one by one
(``row_element``, ``index_element``, ``log_element``). Both must agree on any rows a file can hold, also
rows the vault never writes (index tags of other lengths, tombstones, odd versions), or an untouched vault
would be refused, or a tampered one let through.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contactvault import Contact, KdfParams, Vault
from contactvault.crypto import TAG_SIZE, Keys
from contactvault.vault import state
from contactvault.vault.backends.base import Backend

FAST = KdfParams.insecure_fast_for_tests()
PASSPHRASE = "correct horse battery staple"  # noqa: S105  (a test vault's passphrase)


def _oracle(storage: Backend, keys: Keys, generation: int) -> state.RowSet:
    """The digest the long way: one element function call per row, entry and record."""
    key = keys.rowset
    rows = list(storage.tag_rows())
    pairs = list(storage.index_pairs())
    log = list(storage.log_records())
    digest = sum(state.row_element(key, row) for row in rows)
    digest += sum(state.index_element(key, tag, cid) for tag, cid in pairs)
    digest += sum(state.log_element(key, seq, record[-TAG_SIZE:]) for seq, record in log)
    return state.RowSet(generation, len(rows), len(pairs), len(log), digest % (1 << 256))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    tags=st.lists(st.binary(min_size=0, max_size=40), max_size=6, unique=True),
    erase=st.booleans(),
)
def test_recount_equals_the_element_functions(tmp_path: Path, tags: list[bytes], erase: bool) -> None:
    """Untouched, with a tombstone, and with index entries of any length added behind the vault's back."""
    path = tmp_path / f"v-{len(list(tmp_path.iterdir()))}.db"
    with Vault.create(path, PASSPHRASE, kdf=FAST) as vault:
        ids = vault.add_many(
            [
                Contact.model_validate(
                    {
                        "display_name": f"Kunde {n}",
                        "phones": [{"raw": f"0151 5550{n:04d}", "e164": f"+491515550{n:04d}"}],
                    }
                )
                for n in range(3)
            ]
        )
        if erase:  # a tombstone row and an erasure record in the log
            vault.erase(ids[0])
        core = vault._core
        before = state.recount(core.storage, core.keys, 7)
        assert before == _oracle(core.storage, core.keys, 7)
        assert before.log >= 1  # the import (and the erasure) recorded: the log part is covered too
        db = sqlite3.connect(path)
        with db:
            db.executemany(
                "INSERT INTO phone_index (tag, contact_id) VALUES (?, ?)", [(t, ids[1].bytes) for t in tags]
            )
        db.close()
        found = state.recount(core.storage, core.keys, 7)
        assert found == _oracle(core.storage, core.keys, 7)
        assert found.index == before.index + len(tags)
