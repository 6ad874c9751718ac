"""Hypothesis properties for the importer's "never" promises: no crash, no lost card, no value in a message.

The examples per test come from the "ci" profile loaded in conftest (bounded for two cores).
"""

from __future__ import annotations

import re

import vobject
from hypothesis import given
from hypothesis import strategies as st

from contactvault import ImportFailed, import_vcards
from contactvault.export.vcard import contact_to_vcard
from contactvault.models import Contact
from tests.strategies import DEFAULT_REGION, CardSpec, arbitrary_bytes, card_files, contacts, private_values

_LINE_END = re.compile(rb"\r\n|\r|\n")
_WIDE_STARTS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")


def has_begin_line(data: bytes) -> bool:
    """Whether some line (after a UTF-8 byte order mark) opens a card: ``BEGIN:VCARD`` in any case."""
    lines = _LINE_END.split(data.removeprefix(b"\xef\xbb\xbf"))
    return any(line[:1] in b"Bb" and line.strip().upper() == b"BEGIN:VCARD" for line in lines)


def read_as_wide_text(data: bytes) -> bool:
    """Whether the reader takes these bytes for UTF-16/32 (a byte order mark, or zero bytes at the start)."""
    return data.startswith(_WIDE_STARTS) or b"\x00" in data[:4]


@given(arbitrary_bytes)
def test_arbitrary_bytes_never_raise_anything_but_import_failed(data):
    """Any bytes at all give a result or ImportFailed, and ImportFailed only when no line is BEGIN:VCARD."""
    try:
        result = import_vcards(data, default_region="DE")
    except ImportFailed:
        assert read_as_wide_text(data) or not has_begin_line(data)
        return
    assert [i for i in result.issues if i.code == "internal_error"] == []
    assert result.entries == len(result.contacts) + len(
        [i for i in result.errors if i.code != "outside_card"]
    )


@given(card_files())
def test_every_card_becomes_a_contact_or_an_error(file):
    """Good and broken cards in any order: each card is a contact or one error; good cards always import."""
    data, cards = file
    result = import_vcards(data, default_region=DEFAULT_REGION)
    card_errors = [i for i in result.errors if i.code != "outside_card"]
    good: list[CardSpec] = [c for c in cards if c.display_name is not None]
    assert len(result.contacts) + len(card_errors) == len(cards) == result.entries
    assert [c.display_name for c in result.contacts] == [c.display_name for c in good]
    assert len(card_errors) == len(cards) - len(good)
    assert [i for i in result.issues if i.code == "internal_error"] == []


def _same_contact(ours: Contact, theirs: Contact, version: str) -> None:
    assert ours.display_name == theirs.display_name
    assert ours.name == theirs.name
    assert [p.e164 for p in ours.phones] == [p.e164 for p in theirs.phones]
    if version == "3.0":
        assert [p.raw for p in ours.phones] == [p.raw for p in theirs.phones]
    assert [e.address for e in ours.emails] == [e.address for e in theirs.emails]
    assert ours.notes == theirs.notes


@given(st.lists(contacts(), min_size=1, max_size=3), st.sampled_from(["3.0", "4.0"]))
def test_written_cards_read_back_the_same(people, version):
    """A contact written as vCard 3.0 or 4.0 reads back with its names, numbers, e-mails and notes."""
    text = "".join(contact_to_vcard(c, version) for c in people)
    result = import_vcards(text, default_region=DEFAULT_REGION)
    assert result.errors == []
    assert len(result.contacts) == len(people)
    for ours, theirs in zip(result.contacts, people, strict=True):
        _same_contact(ours, theirs, version)
    assert len(list(vobject.readComponents(text))) == len(people)


@given(private_values(), st.sampled_from([DEFAULT_REGION, None]))
def test_issue_messages_never_repeat_a_value(file, region):
    """No issue message repeats a name, number, e-mail address or note (of four characters or more)."""
    data, values = file
    result = import_vcards(data, default_region=region)
    assert {i.code for i in result.errors} >= {
        "bad_quoted_printable",
        "garbage",
        "invalid_card",
        "not_closed",
    }
    assert {i.code for i in result.warnings} >= {"invalid_number", "bad_birthday", "no_name"}
    for issue in result.issues:
        shown = f"{issue.message}\n{issue}"
        assert [v for v in values if v in shown] == []
