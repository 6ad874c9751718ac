"""The retention schedule in the vault: stored in the log, planned, applied (erase, strip), both backends."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from contactvault import Contact, KdfParams, Vault, normalize_phone
from contactvault.errors import ConflictError, ContactErased
from contactvault.models import EmailAddress, Label, LegalBasis, PostalAddress
from contactvault.retention import Schedule, add_months, parse_schedule
from tests.test_retention_plan import EXAMPLE, T0

FAST = KdfParams.insecure_fast_for_tests()
PASSPHRASE = "correct horse battery staple"  # noqa: S105  (a test vault)
EMAIL = "bernd.geheim@example.org"
STREET = "Lindenallee 77"
NUMBERS = ("+4915155501234", "+4915155509876")


def _contacts() -> tuple[Contact, Contact, Contact]:
    lapsed = Contact(
        display_name="Anna Vergessen",
        phones=(normalize_phone(NUMBERS[0], default_region=None),),
        emails=(EmailAddress(address="anna.vergessen@example.org"),),
        created_at=T0,
        updated_at=T0,
    )
    customer = Contact(
        display_name="Bernd Kunde",
        phones=(normalize_phone(NUMBERS[1], default_region=None),),
        emails=(EmailAddress(address=EMAIL),),
        addresses=(PostalAddress(street=STREET, locality="Kassel"),),
        notes=("zahlt spät",),
        labels=(Label(name="customer"),),
        legal_bases=(
            LegalBasis(article="6(1)(c)", purpose="invoicing", justification="§147 AO", recorded_at=T0),
        ),
        created_at=T0,
        updated_at=T0,
    )
    fresh = Contact(display_name="Clara Neu", created_at=add_months(T0, 30), updated_at=add_months(T0, 30))
    return lapsed, customer, fresh


@pytest.fixture
def vault(where):
    with Vault.create(where, PASSPHRASE, kdf=FAST) as opened:
        opened.add_many(_contacts())
        yield opened


def test_the_schedule_is_stored_in_the_log_and_the_newest_wins(vault):
    """Stored as a log record; the same schedule again is not stored twice; a new one replaces it."""
    assert vault.retention_schedule() is None
    schedule = parse_schedule(EXAMPLE)
    assert vault.set_retention_schedule(schedule) is True
    assert vault.set_retention_schedule(schedule) is False
    shorter = Schedule(rules=schedule.rules[:1])
    assert vault.set_retention_schedule(shorter) is True
    stored = vault.stored_retention_schedule()
    assert stored is not None
    assert stored.schedule == shorter
    assert stored.versions == 2
    records = [r for r in vault.activity() if getattr(r, "action", None) == "retention_schedule"]
    assert len(records) == 2
    assert records[0].data == schedule.to_document()


def test_no_schedule_no_plan(vault):
    """Without a stored schedule, planning is refused with a message that says what to do."""
    with pytest.raises(ValueError, match="no retention schedule is stored"):
        vault.retention_plan(add_months(T0, 40))


def test_the_plan_equals_the_receipts_and_apply_is_complete(vault):
    """`retention plan` equals `retention apply`'s receipts; afterwards the plan is empty."""
    vault.set_retention_schedule(parse_schedule(EXAMPLE))
    now = add_months(T0, 40)
    planned = vault.retention_plan(now)
    assert [(i.rule, i.action) for i in planned.items] == [
        ("no-basis-36-months", "erase"),
        ("customer-business-need-over", "strip"),
    ]
    receipts = vault.apply_retention(now)
    assert [r.item for r in receipts] == list(planned.items)
    assert vault.retention_plan(now).items == ()
    with pytest.raises(ContactErased):
        vault.get(planned.items[0].contact_id)
    stripped = vault.get(planned.items[1].contact_id)
    assert stripped.display_name == "Bernd Kunde"
    assert stripped.addresses[0].street == STREET
    assert stripped.phones == ()
    assert stripped.emails == ()
    assert stripped.notes == ()
    assert [label.name for label in stripped.labels] == ["customer"]
    assert stripped.legal_bases
    assert stripped.updated_at == T0
    assert vault.find_by_phone(NUMBERS[1]) == ()
    # the log: one "retention" record per contact, the rule as detail, the contact as a hash only
    records = [r for r in vault.activity() if getattr(r, "action", None) == "retention"]
    assert [r.detail for r in records] == ["no-basis-36-months", "customer-business-need-over"]
    assert all(r.count == 1 and str(planned.items[1].contact_id) not in str(r.data) for r in records)
    assert not [r for r in vault.activity() if getattr(r, "action", None) == "erasure"]  # no double record
    vault.verify()


def test_a_shown_plan_is_applied_only_while_it_still_holds(vault):
    """A plan shown to a person is refused whole when the vault changed since; the same plan applies."""
    vault.set_retention_schedule(parse_schedule(EXAMPLE))
    now = add_months(T0, 40)
    shown = vault.retention_plan(now)
    vault.add_label(shown.items[0].contact_id, "VIP")  # a change meanwhile
    with pytest.raises(ConflictError, match="nothing was applied"):
        vault.apply_retention(shown)
    assert len(vault) == 3
    again = vault.retention_plan(now)
    assert [r.item for r in vault.apply_retention(again)] == list(again.items)


def test_a_plan_for_a_moment_to_come_is_a_preview_and_is_never_applied(vault):
    """Applying the plan of a later time would erase what the schedule still needs today: refused whole."""
    vault.set_retention_schedule(parse_schedule(EXAMPLE))
    later = datetime.now(UTC) + timedelta(days=1)
    preview = vault.retention_plan(later)
    assert preview.items  # what would happen then
    before = [vault.directory_entry(entry.id).version for entry in vault]
    for attempt in (later, preview):
        with pytest.raises(ValueError, match="moment that has come"):
            vault.apply_retention(attempt)
    assert [vault.directory_entry(entry.id).version for entry in vault] == before


def test_the_later_erase_of_a_stripped_customer_after_the_statutory_period(vault):
    """Strip at 40 months, nothing at 100, erase at 120 months after the last activity."""
    vault.set_retention_schedule(parse_schedule(EXAMPLE))
    customer = vault.apply_retention(add_months(T0, 40))[1].contact_id
    at_100 = vault.retention_plan(add_months(T0, 100)).items
    assert customer not in [i.contact_id for i in at_100]  # Clara Neu (no basis, from month 66) is
    late = vault.apply_retention(add_months(T0, 120))
    assert {r.contact_id: r.item.rule for r in late}[customer] == "customer-statutory-period-over"


def test_stripped_and_erased_values_are_gone_from_the_raw_vault_file(tmp_path):
    """After apply, no removed value and no old data key is in the .db or -wal file (SQLite)."""
    path = tmp_path / "vault.db"
    with Vault.create(path, PASSPHRASE, kdf=FAST) as vault:
        ids = vault.add_many(_contacts())
        vault.set_retention_schedule(parse_schedule(EXAMPLE))
        old_keys = _wrapped_keys(path, tmp_path / "before")
        receipts = vault.apply_retention(add_months(T0, 40))
        assert all(r.secure_delete and r.wal_truncated for r in receipts)
        new_keys = _wrapped_keys(path, tmp_path / "after")
        assert new_keys[ids[1]] != old_keys[ids[1]]  # the stripped contact: a new data key
        assert new_keys[ids[0]] is None  # the erased one: none
        needles = {
            "e-mail": EMAIL.encode(),
            "note": "zahlt spät".encode(),
            "number": NUMBERS[1].encode(),
            "old key of the stripped contact": old_keys[ids[1]],
            "old key of the erased contact": old_keys[ids[0]],
        }
        found = [
            f"{what} in {file.name}"
            for file in (path, path.with_name(path.name + "-wal"))
            if file.exists()
            for what, needle in needles.items()
            if needle in file.read_bytes()
        ]
        assert found == []
        assert vault.get(ids[1]).addresses[0].street == STREET


def _wrapped_keys(path, snapshot):
    """Each contact's wrapped data key, read from a copy of the vault's files (the vault holds its lock)."""
    snapshot.mkdir()
    for file in (path, path.with_name(path.name + "-wal")):
        if file.exists():
            shutil.copyfile(file, snapshot / file.name)
    with contextlib.closing(sqlite3.connect(snapshot / path.name)) as db:
        return {uuid.UUID(bytes=cid): key for cid, key in db.execute("SELECT id, data_key FROM contacts")}


def test_nothing_to_do_changes_nothing(vault):
    """A plan without items writes nothing: no record, no new generation."""
    vault.set_retention_schedule(parse_schedule(EXAMPLE))
    before = len(vault.activity())
    assert vault.apply_retention(datetime(2015, 6, 1, tzinfo=UTC)) == []
    assert len(vault.activity()) == before


def test_a_stripped_contact_is_sealed_under_a_new_data_key(vault):
    """The old data key (under which the removed values were sealed) is not the stripped contact's key."""
    vault.set_retention_schedule(parse_schedule(EXAMPLE))
    customer = next(e.id for e in vault if e.display_name == "Bernd Kunde")
    core = vault._core  # the test looks inside: the key is not part of the API

    def key() -> bytes:
        return core.records.data_key(core.storage.get(customer.bytes))

    before = key()
    vault.apply_retention(add_months(T0, 40))
    assert key() != before
