"""What the cold book's process does with a helper's reply: its check, and the UIDs from the row id's bytes.

``_book_pool._item`` checks each item of a helper's reply with set operations in C; it must accept
exactly what the check it replaced accepted (``_reference_item``, kept here), or a malformed reply could
reach ``finish`` (or a good one drop the helper). ``BookCodes.uids_of`` makes the UIDs of a contact from
its id's 16 bytes, as ``uids`` does from its ``UUID`` and ``book_uid`` from both.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contactvault._helper_process import Broken
from contactvault.book import BookCodes, book_uid
from contactvault.sync import _book_pool


def _reference_item(item: Any) -> tuple[Any, ...]:
    if type(item) is not list or len(item) not in (2, 5):
        raise Broken("a helper process sent a malformed reply")
    window, numbers, *names = item
    fits = (
        (
            window is None
            or (type(window) is list and len(window) == 4 and all(type(n) is int for n in window))
        )
        and type(numbers) is list
        and all(type(n) is str for n in numbers)
        and (len(names) == 3 if numbers else not names)
        and all(type(n) is str for n in names)
    )
    if not fits:
        raise Broken("a helper process sent a malformed reply")
    name, family, given = names if names else ("", "", "")
    return window, numbers, name, family, given


_scalar = (
    st.none() | st.booleans() | st.integers(-5, 2**70) | st.floats(allow_nan=False) | st.text(max_size=3)
)
_json = st.recursive(_scalar, lambda inner: st.lists(inner, max_size=5), max_leaves=12)
_window = st.none() | st.lists(st.integers(-(2**63), 2**63), min_size=3, max_size=5) | _json
_numbers = st.lists(st.text(max_size=4), max_size=3) | st.lists(_scalar, max_size=3) | _json
_names = st.lists(st.text(max_size=4) | _scalar, min_size=0, max_size=4)
# near-misses of the shape a helper sends, and anything else JSON can hold
_items = st.builds(lambda w, n, rest: [w, n, *rest], _window, _numbers, _names) | _json


def _outcome(check: Any, item: Any) -> tuple[Any, ...] | str:
    try:
        return check(item)  # type: ignore[no-any-return]
    except Broken:
        return "broken"


@given(item=_items)
def test_a_reply_item_passes_as_it_did(item: Any) -> None:
    # through JSON, as a reply arrives (ints stay ints, bools stay bools, no tuples)
    item = json.loads(json.dumps(item))
    assert _outcome(_book_pool._item, item) == _outcome(_reference_item, item)


def test_the_replies_a_helper_sends_pass() -> None:
    assert _book_pool._item([None, []]) == (None, [], "", "", "")
    assert _book_pool._item([[1, 2, 3, 4], ["+4915112345678"], "Anna B", "B", "Anna"]) == (
        [1, 2, 3, 4],
        ["+4915112345678"],
        "Anna B",
        "B",
        "Anna",
    )
    for bad in (
        [[1, 2, 3, True], []],
        [None, [], "a", "b", "c"],
        [None, ["+49"]],
        [None, [1], "a", "b", "c"],
    ):
        with pytest.raises(Broken):
            _book_pool._item(bad)


@given(
    key=st.binary(min_size=1, max_size=64),
    contact=st.uuids(),
    numbers=st.lists(st.from_regex(r"\A\+[1-9][0-9]{1,14}\Z") | st.text("+0123456789", max_size=20)),
)
def test_uids_of_the_id_bytes_are_book_uid(key: bytes, contact: uuid.UUID, numbers: list[str]) -> None:
    codes = BookCodes(key)
    expected = tuple(book_uid(key, contact.bytes, n) for n in numbers)
    assert codes.uids_of(contact.bytes, numbers) == expected
    assert codes.uids(contact, numbers) == expected


@pytest.mark.parametrize("bad", [b"\x01" * 15, b"\x01" * 17, bytearray(16), "0123456789abcdef"])
def test_uids_of_takes_16_bytes_only(bad: Any) -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        BookCodes(b"k" * 32).uids_of(bad, ["+4915112345678"])
