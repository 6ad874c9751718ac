"""Privacy notices as versioned, immutable vault records (issue 16, item 1), on both backends.

A stored version never changes: the same version again with the same text is a no-op, with anything else
it is refused, also when another writer stores it between the check and the write (the guard inside the
transaction; broken on purpose once, see the race test). The texts are sealed in the log.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contactvault import KdfParams, NoticeError, Vault
from contactvault.vault import log
from contactvault.vault.notices import MAX_TEXT_BYTES, Notice

FAST = KdfParams.insecure_fast_for_tests()
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
TEXT = "We keep your number to write to you on the messenger.\nYou may withdraw at any time.\n"
TEXT_DE = "Wir speichern Ihre Nummer, um Ihnen über den Messenger zu schreiben. Widerruf jederzeit möglich.\n"


@pytest.fixture
def vault(where):
    with Vault.create(where, "pw", kdf=FAST) as opened:
        yield opened


def test_a_notice_is_stored_with_its_hash_and_read_back(vault):
    stored = vault.add_notice("privacy", "1", TEXT, language="en", valid_from=T0)
    assert isinstance(stored, Notice)
    assert stored.notice_id == "privacy"
    assert stored.version == "1"
    assert stored.language == "en"
    assert stored.valid_from == T0
    assert stored.sha256 == hashlib.sha256(TEXT.encode("utf-8")).hexdigest()
    assert stored.text == TEXT
    assert stored.renews is False
    assert stored.recorded_by == "owner"
    assert vault.notice("privacy", "1") == stored
    assert vault.notices() == [stored]
    assert TEXT not in repr(stored)  # long texts stay out of repr()
    records = log.activities(vault._core, "notice")
    assert [r.detail for r in records] == ["privacy 1"]
    vault.verify()


def test_notices_are_listed_oldest_first_and_valid_from_defaults_to_now(vault):
    before = datetime.now(UTC)
    first = vault.add_notice("privacy", "1", TEXT, language="en")
    second = vault.add_notice("privacy", "2", TEXT_DE, language="de", renews=True)
    third = vault.add_notice("terms", "1", TEXT, language="en")
    assert vault.notices() == [first, second, third]
    assert before <= first.valid_from == first.recorded_at <= datetime.now(UTC)
    assert second.renews
    assert second.language == "de"
    assert [n.seq for n in vault.notices()] == sorted(n.seq for n in vault.notices())


def test_a_notice_survives_reopening(where):
    with Vault.create(where, "pw", kdf=FAST) as vault:
        stored = vault.add_notice("privacy", "1", TEXT_DE, language="de", valid_from=T0)
    with Vault.open(where, "pw") as vault:
        assert vault.notice("privacy", "1") == stored
        assert vault.notice("privacy", "1").text == TEXT_DE


def test_the_same_version_with_the_same_text_writes_nothing(vault):
    stored = vault.add_notice("privacy", "1", TEXT, language="en", valid_from=T0)
    count = len(log.read(vault._core)[0])
    assert vault.add_notice("privacy", "1", TEXT, language="en", valid_from=T0) == stored
    assert vault.add_notice("privacy", "1", TEXT, language="en") == stored  # valid_from not given
    assert len(log.read(vault._core)[0]) == count


@pytest.mark.parametrize(
    "change",
    [
        {"text": TEXT + " "},
        {"language": "de"},
        {"valid_from": T0 + timedelta(seconds=1)},
        {"renews": True},
    ],
    ids=["text", "language", "valid_from", "renews"],
)
def test_a_stored_version_never_changes(vault, change):
    stored = vault.add_notice("privacy", "1", TEXT, language="en", valid_from=T0)
    count = len(log.read(vault._core)[0])
    arguments = {"text": TEXT, "language": "en", "valid_from": T0, "renews": False} | change
    text = arguments.pop("text")
    with pytest.raises(NoticeError, match="'privacy' version '1'") as caught:
        vault.add_notice("privacy", "1", text, **arguments)
    assert TEXT not in str(caught.value)
    assert len(log.read(vault._core)[0]) == count
    assert vault.notices() == [stored]


def test_the_same_instant_in_another_zone_is_the_same_valid_from(vault):
    stored = vault.add_notice("privacy", "1", TEXT, language="en", valid_from=T0)
    other_zone = T0.astimezone(timezone(timedelta(hours=2)))
    assert vault.add_notice("privacy", "1", TEXT, language="en", valid_from=other_zone) == stored


def test_a_version_not_stored_is_a_notice_error_naming_it(vault):
    vault.add_notice("privacy", "1", TEXT, language="en")
    with pytest.raises(NoticeError, match="notice 'privacy' version '2' is not stored"):
        vault.notice("privacy", "2")
    with pytest.raises(NoticeError, match="not stored"):
        vault.notice("other", "1")


def test_another_writer_storing_the_version_first_is_seen_inside_the_transaction(where, monkeypatch):
    """The guard: A checked before B stored the version with another text; A's write is refused.

    Without the guard (broken on purpose: ``guard=None`` in ``add_notice``'s ``log.note``), both versions
    are stored and this test fails.
    """
    with Vault.create(where, "pw", kdf=FAST) as first, Vault.open(where, "pw") as second:
        real_note = log.note
        raced: list[int] = []

        def racing(core, *args, **kwargs):
            if core is first._core and not raced:
                raced.append(second.add_notice("privacy", "1", TEXT_DE, language="de").seq)
            return real_note(core, *args, **kwargs)

        monkeypatch.setattr(log, "note", racing)
        with pytest.raises(NoticeError, match="stored with another text"):
            first.add_notice("privacy", "1", TEXT, language="en")
        monkeypatch.undo()
        assert [n.text for n in first.notices()] == [TEXT_DE]
        assert [n.text for n in second.notices()] == [TEXT_DE]


def test_another_writer_storing_the_same_version_first_returns_theirs(where, monkeypatch):
    with Vault.create(where, "pw", kdf=FAST) as first, Vault.open(where, "pw") as second:
        real_note = log.note
        theirs: list[Notice] = []

        def racing(core, *args, **kwargs):
            if core is first._core and not theirs:
                theirs.append(second.add_notice("privacy", "1", TEXT, language="en", valid_from=T0))
            return real_note(core, *args, **kwargs)

        monkeypatch.setattr(log, "note", racing)
        assert first.add_notice("privacy", "1", TEXT, language="en", valid_from=T0) == theirs[0]
        monkeypatch.undo()
        assert first.notices() == theirs


@pytest.mark.parametrize(
    ("arguments", "error", "match"),
    [
        ({"notice_id": ""}, ValueError, "notice id is 1 to 200"),
        ({"notice_id": " privacy"}, ValueError, "surrounding white space"),
        ({"notice_id": "x" * 201}, ValueError, "notice id is 1 to 200"),
        ({"notice_id": "a\nb"}, ValueError, "printable"),
        ({"version": "v" * 51}, ValueError, "notice version is 1 to 50"),
        ({"version": 2}, TypeError, "version must be a string"),
        ({"text": "  \n"}, ValueError, "must not be empty"),
        ({"text": "a" * (MAX_TEXT_BYTES + 1)}, ValueError, "at most 500,000 bytes"),
        ({"text": "ä" * 200_000}, ValueError, "at most 500,000 bytes"),  # 400 kB, but 1.2 MB as JSON
        ({"text": "\ud800"}, ValueError, "lone surrogate"),
        ({"language": "english"}, ValueError, "two-letter ISO 639-1"),
        ({"language": "EN"}, ValueError, "two-letter ISO 639-1"),
        ({"valid_from": datetime(2026, 3, 1)}, ValueError, "timezone-aware"),
        ({"renews": "yes"}, TypeError, "renews must be a bool"),
    ],
)
def test_bad_arguments_are_refused_and_write_nothing(vault, arguments, error, match):
    base = {"notice_id": "privacy", "version": "1", "text": TEXT, "language": "en"}
    count = len(log.read(vault._core)[0])
    call = base | arguments
    with pytest.raises(error, match=match):
        vault.add_notice(call.pop("notice_id"), call.pop("version"), call.pop("text"), **call)
    assert len(log.read(vault._core)[0]) == count


def test_the_longest_ascii_text_fits(vault):
    text = "a" * MAX_TEXT_BYTES
    assert vault.add_notice("privacy", "1", text, language="fr").text == text


def test_the_text_is_sealed(tmp_path):
    """The vault file holds the text only sealed: no readable fragment of it."""
    path = tmp_path / "sealed.db"
    marker = "Datenschutzhinweis-Unverwechselbar-7f3a"
    with Vault.create(path, "pw", kdf=FAST) as vault:
        vault.add_notice("privacy", "1", marker * 50, language="de")
    raw = path.read_bytes()
    assert marker.encode("utf-8") not in raw
    assert b"privacy" not in raw


# --- Hypothesis: whatever sequence of add_notice calls, a stored version never changes ---------------------

_IDS = st.sampled_from(["privacy", "terms"])
_VERSIONS = st.sampled_from(["1", "2"])
_TEXTS = st.sampled_from([TEXT, TEXT_DE, "Kurz."])
_LANGS = st.sampled_from(["en", "de"])
_FROMS = st.sampled_from([None, T0, T0 + timedelta(days=30)])
_CALLS = st.lists(st.tuples(_IDS, _VERSIONS, _TEXTS, _LANGS, _FROMS, st.booleans()), min_size=1, max_size=8)


@pytest.mark.parametrize("backend", ["sqlite"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(calls=_CALLS)
def test_a_stored_version_never_changes_whatever_the_calls(vault, calls):
    """Each call returns the version first stored or raises NoticeError; each is listed once, as stored.

    The ids are fresh for every example (one vault serves them all).
    """
    run = uuid.uuid4().hex[:8]
    first: dict[tuple[str, str], Notice] = {}
    for notice_id, version, text, language, valid_from, renews in calls:
        key = (f"{notice_id}-{run}", version)
        earlier = first.get(key)
        same = earlier is not None and (
            earlier.text == text
            and earlier.language == language
            and earlier.renews == renews
            and (valid_from is None or earlier.valid_from == valid_from)
        )
        if earlier is not None and not same:
            with pytest.raises(NoticeError):
                vault.add_notice(*key, text, language=language, valid_from=valid_from, renews=renews)
            continue
        stored = vault.add_notice(*key, text, language=language, valid_from=valid_from, renews=renews)
        if earlier is None:
            first[key] = stored
        assert stored == first[key]
    mine = [n for n in vault.notices() if n.notice_id.endswith(run)]
    assert mine == list(first.values())
