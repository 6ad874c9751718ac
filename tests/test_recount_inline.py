"""``vault.state.counted`` (the open's inline recount) against the element definitions the writes use.

``counted`` hashes every row, index entry and log record inline, without ``row_element`` and
``index_element``; its sum must be theirs on any values a backend can hand it (ids of 16 bytes, versions
up to 2**64 - 1, tags of any length up to 255 bytes, empty tags of a tombstone), or an untouched vault
would be refused and a tampered one let through.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contactvault import crypto
from contactvault.errors import VaultCorrupted
from contactvault.vault import state
from contactvault.vault.backends.base import TagRow

_blob = st.binary(max_size=40)
_rows = st.lists(
    st.builds(
        TagRow,
        st.binary(min_size=16, max_size=16),
        st.integers(min_value=0, max_value=2**64 - 1),
        _blob,
        _blob,
        _blob,
    ),
    max_size=8,
)
_pairs = st.lists(st.tuples(st.binary(max_size=255), _blob), max_size=8)
_log = st.lists(st.tuples(st.integers(min_value=1, max_value=2**63 - 1), st.binary(max_size=60)), max_size=4)


@given(key=st.binary(min_size=1, max_size=64), rows=_rows, pairs=_pairs, log=_log)
def test_counted_is_the_sum_of_the_elements(
    key: bytes, rows: list[TagRow], pairs: list[tuple[bytes, bytes]], log: list[tuple[int, bytes]]
) -> None:
    hashed = crypto.keyed_hasher(key)
    digest = sum(state.row_element(hashed, row) for row in rows)
    digest += sum(state.index_element(hashed, tag, cid) for tag, cid in pairs)
    digest += sum(state.log_element(hashed, seq, record[-crypto.TAG_SIZE :]) for seq, record in log)
    expected = (len(rows), len(pairs), len(log), digest % (1 << 256))
    assert state.counted(key, iter(rows), iter(pairs), iter(log)) == expected


def test_a_malformed_id_is_refused() -> None:
    with pytest.raises(VaultCorrupted, match="malformed id"):
        state.counted(b"key", [TagRow(b"\x01" * 15, 1, b"d", b"k", b"p")], [], [])
