"""The open's recount of the row-set digest (``vault.state.recount``) against the elements' bytes.

``recount`` hashes every row, index entry and log record with the key's hash state made once (issue 17:
an open of 100,000 contacts hashes some 400,000 elements), through the element functions the write path
uses too. It must give the digest of the elements as the format lays them out, on any rows a file can
hold, also rows the vault never writes (index tags of other lengths, tombstones), or an untouched vault
would be refused, or a tampered one let through.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contactvault import Contact, KdfParams, Vault, crypto
from contactvault.crypto import TAG_SIZE, Keys
from contactvault.vault import state
from contactvault.vault.backends.base import Backend

FAST = KdfParams.insecure_fast_for_tests()
PASSPHRASE = "correct horse battery staple"  # noqa: S105  (a test vault's passphrase)


def _oracle(storage: Backend, keys: Keys, generation: int) -> state.RowSet:
    """The digest the long way, from the elements' bytes as docs/format.md lays them out, one hash each."""

    def element(data: bytes) -> int:
        return int.from_bytes(crypto.keyed_hash(keys.rowset, data), "big")

    rows = list(storage.tag_rows())
    pairs = list(storage.index_pairs())
    log = list(storage.log_records())
    digest = 0
    for cid, version, *tags in rows:
        sizes = bytes(len(t) for t in tags)
        digest += element(b"C" + cid + version.to_bytes(8, "big") + sizes + b"".join(tags))
    for tag, cid in pairs:
        digest += element(b"I" + bytes((len(tag),)) + tag + cid)
    for seq, record in log:
        tag = record[-TAG_SIZE:]
        digest += element(b"L" + seq.to_bytes(8, "big") + bytes((len(tag),)) + tag)
    return state.RowSet(generation, len(rows), len(pairs), len(log), digest % (1 << 256))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    tags=st.lists(st.binary(min_size=0, max_size=40), max_size=6, unique=True),
    erase=st.booleans(),
)
def test_recount_is_the_digest_of_the_elements(tmp_path: Path, tags: list[bytes], erase: bool) -> None:
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
