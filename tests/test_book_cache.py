"""The decrypted directory kept while a vault is open, and the book's kept decisions: never stale, never kept.

An open vault keeps its decrypted directory entries (``vault/directory.py``) and the messenger book keeps
each contact's decision with the span in which it holds (``sync/validity.py``). Whatever is kept, a book
must equal the book a fresh open of the vault builds, a change by another ``Vault`` object or process must
show in the next read, and closing must drop it all.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contactvault import Contact, KdfParams, Vault, VaultCorrupted, normalize_phone
from contactvault.export.minimal import to_vcard
from contactvault.models import Birthday, DirectoryEntry, MessengerPresence
from contactvault.sync import messenger_book
from contactvault.sync.policy import AllOf, AnyOf, MessengerPolicy, Policy, UnsafeAllowAllValidNumbers
from contactvault.sync.validity import day_of, decision_window, instant_of
from contactvault.vault.directory import directory_memo
from tests.conftest import consent
from tests.test_policy import _entries, _policies, _times

FAST = KdfParams.insecure_fast_for_tests()
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent


def _eligible(name: str, number: str, **fields: object) -> Contact:
    phone = normalize_phone(number, default_region="DE").model_copy(
        update={
            "messenger": MessengerPresence(present=True, source="manual", checked_at=NOW - timedelta(days=1))
        }
    )
    return Contact.model_validate(
        {"display_name": name, "phones": [phone], "consents": [consent()], **fields}
    )


def _contacts(count: int) -> list[Contact]:
    return [_eligible(f"Kontakt {i:03d}", f"0151 555{i:05d}") for i in range(count)]


def _core(vault: Vault):
    return vault._core


def _fresh_book(where: Path | str, policy: Policy, now: datetime) -> str:
    """The book's vCard as a new open of the vault builds it: nothing kept from before."""
    with Vault.open(where, "pw") as fresh:
        return to_vcard(messenger_book(fresh, policy, now=now))


# --- the decision's span ------------------------------------------------------------------------------

_zones = st.sampled_from((UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-11, minutes=-30))))
_later = st.builds(
    lambda at, micro, zone: (at + timedelta(microseconds=micro)).astimezone(zone),
    _times,
    st.sampled_from((-1, 0, 1)),
    _zones,
)


_offsets = st.sampled_from((1, 3_600, 86_400, 10 * 86_400, 100 * 86_400, 700 * 86_400)).flatmap(
    lambda seconds: st.sampled_from((seconds, -seconds)).map(lambda s: timedelta(seconds=s))
) | st.integers(-3, 3).map(lambda micro: timedelta(microseconds=micro))


@settings(max_examples=600, deadline=None)
@given(contact=_entries(), policy=_policies, first=_times, offset=_offsets, zone=_zones)
def test_a_decision_holds_everywhere_in_its_span(contact, policy, first, offset, zone):
    """Inside the span decision_window gives, the policy decides exactly as at the moment it was made."""
    window = decision_window(policy, contact, first)
    assert window is not None
    assert window.holds(instant_of(first), day_of(first))
    then = (first + offset).astimezone(zone)
    if window.holds(instant_of(then), day_of(then)):
        assert policy.decide(contact, now=then) == policy.decide(contact, now=first)


@settings(max_examples=200, deadline=None)
@given(contact=_entries(), policy=_policies, first=_times)
def test_a_decision_holds_to_the_last_microsecond_of_its_span(contact, policy, first):
    """The span is not cut short for nothing at its ends either: its last microsecond decides the same."""
    window = decision_window(policy, contact, first)
    assert window is not None
    for edge in (window.start, window.end - 1):
        if abs(edge) < 1 << 60 and window.first == -(1 << 62) and window.last == 1 << 62:
            moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=edge)
            assert policy.decide(contact, now=moment) == policy.decide(contact, now=first)


def test_combined_and_unknown_policies():
    """AllOf and AnyOf meet their members' spans; a policy of unknown rules gets none (decided each time)."""
    contact = DirectoryEntry(
        id=uuid.uuid4(),
        version=1,
        display_name="A",
        consents=(consent(granted_at=NOW - timedelta(days=10)),),
        created_at=NOW,
        updated_at=NOW,
    )
    refresh = MessengerPolicy(consent_refresh=timedelta(days=30))
    window = decision_window(AllOf(refresh, UnsafeAllowAllValidNumbers()), contact, NOW)
    assert window is not None
    assert window.end == instant_of(NOW + timedelta(days=20)) + 1
    assert decision_window(AnyOf(refresh), contact, NOW) == decision_window(refresh, contact, NOW)

    class Own(MessengerPolicy):
        pass

    assert decision_window(Own(), contact, NOW) is None
    assert decision_window(AllOf(refresh, Own()), contact, NOW) is None


# --- the book: kept versus fresh ----------------------------------------------------------------------


def _contact_of(entry: DirectoryEntry, index: int) -> Contact:
    born = entry.birth_date
    fields = entry.model_dump(
        include={"phones", "labels", "consents", "legal_bases", "restricted_at", "objections"}
    )
    birthday = Birthday(year=born.year, month=born.month, day=born.day) if born is not None else None
    return Contact.model_validate({"display_name": f"Person {index}", "birthday": birthday, **fields})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    entries=st.lists(_entries(), min_size=1, max_size=6),
    policy=_policies,
    first=_times,
    then=_later | _times,
)
def test_a_kept_book_equals_a_fresh_one(tmp_path_factory, entries, policy, first, then):
    """For random contacts and two moments, the second book of an open vault equals a fresh open's."""
    path = tmp_path_factory.mktemp("kept") / "v.db"
    with Vault.create(path, "pw", kdf=FAST) as vault:
        vault.add_many([_contact_of(entry, i) for i, entry in enumerate(entries)])
        messenger_book(vault, policy, now=first)
        kept = to_vcard(messenger_book(vault, policy, now=then))
    assert kept == _fresh_book(path, policy, then)


def test_a_decision_kept_before_a_consent_expires_is_not_reused_after(tmp_path):
    """With a refresh period, the book after the period ends leaves the contact out, as a fresh one does."""
    policy = Policy.default(consent_refresh=timedelta(days=30))
    granted = NOW - timedelta(days=29)
    with Vault.create(tmp_path / "v.db", "pw", kdf=FAST) as vault:
        vault.add(_eligible("Anna Beispiel", "0151 55501234", consents=[consent(granted_at=granted)]))
        vault.add(_eligible("Bert Beispiel", "0151 55501235", consents=[consent(granted_at=NOW)]))
        assert len(messenger_book(vault, policy, now=NOW)) == 2
        assert len(messenger_book(vault, policy, now=NOW + timedelta(days=1))) == 2
        after = messenger_book(vault, policy, now=granted + timedelta(days=30, microseconds=1))
        assert [e.display_name for e in after] == ["Bert Beispiel"]
        assert len(messenger_book(vault, policy, now=NOW)) == 2  # and back: an earlier now


def test_a_contact_turning_sixteen_joins_the_book(tmp_path):
    """The rule on minors counts days in now's time zone: the kept decision ends on the birthday."""
    born = date(2010, 1, 16)  # 16 on 2026-01-16
    with Vault.create(tmp_path / "v.db", "pw", kdf=FAST) as vault:
        vault.add(_eligible("Kim Jung", "0151 55501234", birthday=Birthday(year=2010, month=1, day=16)))
        assert len(messenger_book(vault, POLICY_DEFAULT, now=NOW)) == 0
        late_evening = datetime(2026, 1, 16, 0, 30, tzinfo=timezone(timedelta(hours=2)))  # still the 15th UTC
        assert late_evening.astimezone(UTC).date() < date(2026, 1, 16) <= late_evening.date()
        assert len(messenger_book(vault, POLICY_DEFAULT, now=late_evening)) == 1
        assert len(messenger_book(vault, POLICY_DEFAULT, now=late_evening.astimezone(UTC))) == 0
    assert born.year == 2010


POLICY_DEFAULT = Policy.default()


def test_changes_in_this_process_show_in_the_next_book(tmp_path):
    """Updates, a withdrawal, an erasure and new contacts: each next book equals a fresh open's."""
    path = tmp_path / "v.db"
    with Vault.create(path, "pw", kdf=FAST) as vault:
        ids = vault.add_many(_contacts(30))
        messenger_book(vault, POLICY_DEFAULT, now=NOW)
        stored = vault.get(ids[3])
        vault.update(stored.model_copy(update={"display_name": "Aaron Erster"}))
        vault.withdraw_consent(ids[5], "messenger", channel="email", at=NOW - timedelta(hours=1))
        vault.erase(ids[7])
        vault.add(_eligible("Zora Neu", "0151 55599999"))
        book = to_vcard(messenger_book(vault, POLICY_DEFAULT, now=NOW))
        assert book == _fresh_book(path, POLICY_DEFAULT, NOW)
        assert book.count("BEGIN:VCARD") == 29
        assert [e.id for e in vault][-1] != ids[-1]  # the new contact is last, as stored


# --- coherence across Vault objects and processes -----------------------------------------------------


def test_another_vault_objects_changes_are_seen(where):
    """A change made through another Vault object shows in this one's next entries and book."""
    with Vault.create(where, "pw", kdf=FAST) as mine:
        ids = mine.add_many(_contacts(20))
        first = messenger_book(mine, POLICY_DEFAULT, now=NOW)
        with Vault.open(where, "pw") as other:
            stored = other.get(ids[2])
            other.update(stored.model_copy(update={"display_name": "Geändert Anders"}))
            other.erase(ids[4])
            other.add(_eligible("Von Drüben", "0151 55588888"))
        names = {e.display_name for e in mine}
        assert "Geändert Anders" in names
        assert "Von Drüben" in names
        assert len(names) == 20
        second = messenger_book(mine, POLICY_DEFAULT, now=NOW)
        assert second != first
        assert to_vcard(second) == _fresh_book(where, POLICY_DEFAULT, NOW)


def test_own_commit_after_anothers_reads_every_row(where):
    """Another object's commit between ours breaks the chain: its change is not skipped."""
    with Vault.create(where, "pw", kdf=FAST) as mine:
        ids = mine.add_many(_contacts(10))
        list(mine)
        with Vault.open(where, "pw") as other:
            stored = other.get(ids[1])
            other.update(stored.model_copy(update={"display_name": "Von Anderen"}))
        stored = mine.get(ids[2])
        mine.update(stored.model_copy(update={"display_name": "Von Mir"}))
        names = {e.display_name for e in mine}
        assert {"Von Anderen", "Von Mir"} <= names


def test_another_processs_change_is_seen(tmp_path):
    """A change committed by another OS process shows in the next book of a vault kept open here."""
    path = tmp_path / "v.db"
    with Vault.create(path, "pw", kdf=FAST) as mine:
        ids = mine.add_many(_contacts(10))
        assert len(messenger_book(mine, POLICY_DEFAULT, now=NOW)) == 10
        child = (
            "import sys, os\n"
            "from datetime import datetime, UTC\n"
            "from contactvault import Vault\n"
            "with Vault.open(sys.argv[1], os.environ['CV_TEST_PASSPHRASE']) as v:\n"
            "    v.withdraw_consent(sys.argv[2], 'messenger', channel='email',\n"
            "                       at=datetime(2026, 1, 1, tzinfo=UTC))\n"
        )
        env = {**os.environ, "CV_TEST_PASSPHRASE": "pw"}
        subprocess.run(  # noqa: S603
            [sys.executable, "-c", child, str(path), str(ids[6])], check=True, env=env, cwd=ROOT, timeout=120
        )
        assert len(messenger_book(mine, POLICY_DEFAULT, now=NOW)) == 9
        assert next(e for e in mine if e.id == ids[6]).consents[0].withdrawn_at is not None


def test_a_row_tampered_with_is_caught_once_the_state_moves(tmp_path):
    """A cached row changed in the file is served until the state moves; then it is decrypted and refused.

    The byte changed is inside the ciphertext, not its tag: the row-set digest (which covers tags) does
    not see it, so another process opens the vault and commits; the next read here must not keep the
    entry it decrypted before.
    """
    import sqlite3  # noqa: PLC0415

    path = tmp_path / "v.db"
    with Vault.create(path, "pw", kdf=FAST) as mine:
        ids = mine.add_many(_contacts(5))
        list(mine)
        with sqlite3.connect(path) as db:
            blob = db.execute("SELECT directory FROM contacts WHERE id = ?", (ids[1].bytes,)).fetchone()[0]
            damaged = blob[:20] + bytes([blob[20] ^ 1]) + blob[21:]
            db.execute("UPDATE contacts SET directory = ? WHERE id = ?", (damaged, ids[1].bytes))
        assert len(list(mine)) == 5  # the state did not move: what was decrypted once is trusted
        with Vault.open(path, "pw") as other:
            stored = other.get(ids[3])
            other.update(stored.model_copy(update={"display_name": "Weiter"}))
        with pytest.raises(VaultCorrupted):
            list(mine)


def test_close_drops_the_entries_and_the_kept_books(tmp_path):
    """After close(), the directory cache and every kept book hold nothing; no CRM payload is ever kept."""
    with Vault.create(tmp_path / "v.db", "pw", kdf=FAST) as vault:
        vault.add_many(
            [_eligible(f"K {i}", f"0151 5550{i:04d}", notes=["CRM: zahlt spät"]) for i in range(5)]
        )
        messenger_book(vault, POLICY_DEFAULT, now=NOW)
        directory = _core(vault).directory
        memo = directory_memo(vault)
        assert memo
        kept = next(iter(memo.values()))
        assert len(directory) == 5
        assert all(type(e) is DirectoryEntry for e in vault)
        assert all(b"zahlt" not in kept.plain for kept in directory._kept)
    assert len(directory) == 0
    assert directory._kept == ()
    assert memo == {}
    assert kept.contacts == {}
    assert kept.order is None
