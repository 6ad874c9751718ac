"""The vault's API on real files: create, open, add, get, update, find, erase, consent and rights, keys.

Each test about the vault's behaviour runs twice, on an SQLite file and on a schema of the real PostgreSQL
server of the ``pg_server`` fixture (the ``backend`` parameter); a test about the SQLite file itself (its
mode, its bytes, its pages) runs once, marked ``sqlite_only``. Every vault here uses
``KdfParams.insecure_fast_for_tests()``; one test checks that the default stays strong.
Tampering, crashes, locking across processes and erase forensics are in ``test_vault_security.py`` and
``test_vault_crash.py``.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import stat
import tempfile
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from contactvault import (
    ConflictError,
    Contact,
    ContactErased,
    ContactNotFound,
    DirectoryEntry,
    EmailAddress,
    InvalidRegion,
    KdfLimitExceeded,
    KdfParams,
    Label,
    LegalBasis,
    UnsupportedFormat,
    Vault,
    VaultClosed,
    VaultCorrupted,
    VaultExists,
    VaultNotFound,
    WrongPassphrase,
    import_vcards,
    normalize_phone,
)
from contactvault.crypto import KDF_CAPS
from contactvault.vault import default_vault_path
from tests.conftest import CONSENT_GRANTED, ROOT, SAMPLE, consent
from tests.strategies import full_contacts

FAST = KdfParams.insecure_fast_for_tests()
PASSPHRASE = "correct horse battery staple"  # noqa: S105  (a test vault's passphrase)
T0 = CONSENT_GRANTED


def _contact(name: str = "Jürgen Beispiel", number: str = "0151 55501234", **fields: object) -> Contact:
    phones = (normalize_phone(number, default_region="DE"),) if number else ()
    return Contact.model_validate({"display_name": name, "phones": phones, **fields})


sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])
"""For a test about the SQLite file itself: it runs once, on a file."""


@pytest.fixture
def path(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Path | str:
    """Where a test's vault goes: ``contacts.db`` in ``tmp_path``, or the URL of a fresh schema."""
    if backend == "sqlite":
        return tmp_path / "contacts.db"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def elsewhere(path: Path | str, request: pytest.FixtureRequest) -> Callable[[str], Path | str]:
    """Another vault location of the same backend: a file named so beside ``path``, or a fresh schema."""

    def location(name: str) -> Path | str:
        if isinstance(path, Path):
            return path.with_name(name)
        return str(request.getfixturevalue("pg_urls")())

    return location


def _exists(location: Path | str, request: pytest.FixtureRequest) -> bool:
    """Whether anything is at ``location``: a file, or a schema on the test server."""
    if isinstance(location, Path):
        return location.exists()
    return bool(request.getfixturevalue("pg_server").schema_exists(location.rpartition("schema=")[2]))


@pytest.fixture
def vault(path: Path | str):
    """A new, empty vault with the fast test KDF, closed after the test."""
    with Vault.create(path, PASSPHRASE, kdf=FAST) as opened:
        yield opened


# --- creating and opening ------------------------------------------------------------------------------


def test_created_vault_reopens_with_its_contacts(path):
    """Contacts added before close are there, unchanged, after open."""
    contact = _contact(emails=[EmailAddress(address="kunde@example.org")], notes=["Rückruf; bezahlt"])
    with Vault.create(path, PASSPHRASE, kdf=FAST) as vault:
        contact_id = vault.add(contact)
    with Vault.open(path, PASSPHRASE) as vault:
        assert len(vault) == 1
        assert vault.get(contact_id) == contact.model_copy(update={"version": 1})


@sqlite_only
def test_new_vault_file_is_private(path):
    """The vault file is created with mode 0600."""
    with Vault.create(path, PASSPHRASE, kdf=FAST) as vault:
        vault.add(_contact())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_default_path_is_the_user_data_folder(tmp_path, monkeypatch):
    """``path=None`` creates ``vault.db`` in the platformdirs user data folder, which is created if needed."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    expected = default_vault_path()
    assert expected.is_relative_to(tmp_path / "data")
    with Vault.create(None, PASSPHRASE, kdf=FAST) as vault:
        vault.add(_contact())
    assert expected.is_file()
    with Vault.open(None, PASSPHRASE) as vault:
        assert len(vault) == 1


@sqlite_only
def test_create_never_overwrites(path):
    """Creating a vault where a file exists raises VaultExists and leaves the file as it was."""
    path.write_bytes(b"someone's important file")
    with pytest.raises(VaultExists) as caught:
        Vault.create(path, PASSPHRASE, kdf=FAST)
    assert isinstance(caught.value, FileExistsError)
    assert path.read_bytes() == b"someone's important file"


@sqlite_only
def test_create_leaves_no_temporary_files(path):
    """Only the vault file is left in the folder after create and close: no temp, lock, -wal or -shm file."""
    Vault.create(path, PASSPHRASE, kdf=FAST).close()
    assert sorted(p.name for p in path.parent.iterdir()) == ["contacts.db"]


def test_open_missing_file(path, request):
    """Opening a path with no file raises VaultNotFound (a FileNotFoundError) and creates nothing."""
    with pytest.raises(VaultNotFound) as caught:
        Vault.open(path, PASSPHRASE)
    assert isinstance(caught.value, FileNotFoundError)
    assert not _exists(path, request)


def test_create_never_overwrites_a_vault(vault, path):
    """Creating a vault where one is raises VaultExists and leaves it as it was (any backend)."""
    vault.add(_contact())
    with pytest.raises(VaultExists) as caught:
        Vault.create(path, "another passphrase", kdf=FAST)
    assert isinstance(caught.value, FileExistsError)
    assert len(vault) == 1
    vault.close()
    with Vault.open(path, PASSPHRASE) as reopened:
        assert len(reopened) == 1


@pytest.mark.parametrize("passphrase", ["", b""])
def test_empty_passphrase_is_refused(path, passphrase):
    """An empty passphrase is a ValueError, for create and open."""
    with pytest.raises(ValueError, match="empty"):
        Vault.create(path, passphrase, kdf=FAST)
    Vault.create(path, PASSPHRASE, kdf=FAST).close()
    with pytest.raises(ValueError, match="empty"):
        Vault.open(path, passphrase)


def test_wrong_passphrase(vault, path):
    """A wrong passphrase raises WrongPassphrase, whose message says nothing about the passphrase."""
    vault.close()
    with pytest.raises(WrongPassphrase) as caught:
        Vault.open(path, "Correct horse battery staple")
    assert "horse" not in str(caught.value)


def test_passphrase_unicode_forms_are_the_same_key(path):
    """A passphrase typed with composed or decomposed accents opens the same vault (NFC)."""
    Vault.create(path, "Gr\u00fc\u00dfe", kdf=FAST).close()
    Vault.open(path, "Gru\u0308\u00dfe").close()


def test_closed_vault_refuses_work(vault):
    """After close, every operation raises VaultClosed; close is idempotent."""
    vault.close()
    vault.close()
    with pytest.raises(VaultClosed):
        vault.add(_contact())
    with pytest.raises(VaultClosed):
        len(vault)


def test_repr_shows_no_personal_data(vault, path):
    """repr() names the file (or the URL without its password) and the count, nothing else."""
    vault.add(_contact("Zoë Geheim"))
    if isinstance(path, Path):
        assert repr(vault) == "Vault('contacts.db', 1 contacts)"
    else:
        assert repr(vault) == f"Vault({vault.location!r}, 1 contacts)"
        password = path.partition("://")[2].partition("@")[0].partition(":")[2]
        assert password
        assert password not in repr(vault)
    assert "Zoë" not in repr(vault)


# --- KDF parameters ------------------------------------------------------------------------------------


def test_default_kdf_stays_strong(path):
    """The default is Argon2id with 64 MiB, 3 iterations, 4 lanes; create uses it unless told otherwise."""
    assert KdfParams.default() == KdfParams(memory_kib=65536, iterations=3, lanes=4)
    with Vault.create(path, PASSPHRASE) as vault:
        assert vault.kdf == KdfParams.default()


@pytest.mark.parametrize(
    "fields",
    [
        {"memory_kib": KDF_CAPS.max_memory_kib + 1, "iterations": 3, "lanes": 4},
        {"memory_kib": 65536, "iterations": KDF_CAPS.max_iterations + 1, "lanes": 4},
        {"memory_kib": 65536, "iterations": 3, "lanes": KDF_CAPS.max_lanes + 1},
    ],
)
def test_kdf_params_above_the_cap_are_refused(fields):
    """Parameters above the documented cap raise KdfLimitExceeded."""
    with pytest.raises(KdfLimitExceeded):
        KdfParams(**fields)


@pytest.mark.parametrize(
    "fields",
    [
        {"memory_kib": 0, "iterations": 3, "lanes": 4},
        {"memory_kib": 16, "iterations": 3, "lanes": 4},  # under 8 KiB per lane
        {"memory_kib": 65536, "iterations": 0, "lanes": 4},
        {"memory_kib": 65536, "iterations": 3.0, "lanes": 4},
    ],
)
def test_impossible_kdf_params_are_refused(fields):
    """Parameters Argon2 cannot use raise ValueError."""
    with pytest.raises(ValueError, match="KDF"):
        KdfParams(**fields)


# --- adding, reading, iterating ------------------------------------------------------------------------


def test_add_returns_the_id_and_stores_version_one(vault):
    """add() returns the contact's id; get() returns it at version 1."""
    contact = _contact()
    assert vault.add(contact) == contact.id
    assert vault.get(contact.id).version == 1
    assert vault.get(str(contact.id)) == vault.get(contact.id)
    assert contact.id in vault
    assert str(contact.id) in vault


def test_add_many_imports_the_sample(vault):
    """The bundled sample's contacts all go in, in one call, and come out equal."""
    contacts = import_vcards(SAMPLE, default_region="DE").contacts
    seen: list[int] = []
    ids = vault.add_many(contacts, progress=seen.append)
    assert ids == [c.id for c in contacts]
    assert len(vault) == len(contacts)
    assert seen == [len(contacts)]
    assert list(vault.contacts()) == [c.model_copy(update={"version": 1}) for c in contacts]


def test_add_many_reports_progress_every_thousand(vault):
    """Progress is called after each thousand contacts and at the end."""
    seen: list[int] = []
    vault.add_many((_contact(f"Kunde Ä{i}", number="") for i in range(2500)), progress=seen.append)
    assert seen == [1000, 2000, 2500]
    seen.clear()
    vault.add_many((_contact(f"Kunde Ö{i}", number="") for i in range(2000)), progress=seen.append)
    assert seen == [1000, 2000]


def test_add_many_is_all_or_nothing(vault):
    """One bad item in add_many stores none of the batch, and the vault stays usable and intact."""
    first = _contact("Erste Ö")
    vault.add(first)
    batch = [_contact(f"Kunde Ü{i}", number="") for i in range(1500)]
    with pytest.raises(TypeError):
        vault.add_many([*batch, "not a contact"])  # type: ignore[list-item]
    assert len(vault) == 1
    assert [e.id for e in vault] == [first.id]
    assert vault.verify().contacts == 1


def test_add_refuses_an_existing_id(vault):
    """Adding a contact whose id is stored already raises ConflictError and changes nothing."""
    contact = _contact()
    vault.add(contact)
    with pytest.raises(ConflictError):
        vault.add(contact.model_copy(update={"display_name": "Anderer Name"}))
    with pytest.raises(ConflictError):
        vault.add_many([_contact("Neu Ä"), _contact("Auch neu Ö")] * 2)
    assert len(vault) == 1
    assert vault.get(contact.id).display_name == "Jürgen Beispiel"


def test_stored_contacts_are_validated_again(vault):
    """A model_copy(update=...) that broke a rule (pydantic does not validate it) is refused on add."""
    broken = _contact().model_copy(update={"display_name": "Zeile 1\nZeile 2"})
    with pytest.raises(ValidationError):
        vault.add(broken)
    assert len(vault) == 0


def test_iteration_yields_directory_entries_only(vault):
    """Iterating gives DirectoryEntry objects: name, numbers, consents; no e-mail, notes or address."""
    contact = _contact(
        emails=[EmailAddress(address="geheim@example.org")],
        notes=["Zahlung offen"],
        birthday={"year": 1990, "month": 2, "day": 28},
        consents=[consent()],
    )
    vault.add(contact)
    (entry,) = list(vault)
    assert isinstance(entry, DirectoryEntry)
    assert entry.display_name == contact.display_name
    assert entry.phones == contact.phones
    assert entry.consents == contact.consents
    assert entry.birth_date == datetime(1990, 2, 28).date()
    dumped = entry.model_dump_json()
    assert "geheim@example.org" not in dumped
    assert "Zahlung" not in dumped


def test_directory_entry_of_one_contact(vault):
    """directory_entry() gives one contact's directory entry at its current version."""
    contact_id = vault.add(_contact())
    entry = vault.directory_entry(contact_id)
    assert (entry.id, entry.version) == (contact_id, 1)


def test_birth_date_only_with_a_year(vault):
    """A birthday without a year (or Feb 29 in no year) gives no birth date in the directory."""
    vault.add(_contact(birthday={"month": 4, "day": 12}))
    assert next(iter(vault)).birth_date is None


def test_unknown_ids(vault):
    """An unknown id raises ContactNotFound, which is a KeyError whose message has no quotes."""
    with pytest.raises(ContactNotFound) as caught:
        vault.get(uuid.uuid4())
    assert isinstance(caught.value, KeyError)
    assert not str(caught.value).startswith("'")
    with pytest.raises(KeyError):
        vault.get("not-a-uuid")
    assert "not-a-uuid" not in vault
    assert 42 not in vault


# --- updating ------------------------------------------------------------------------------------------


def test_update_stores_a_new_version(vault):
    """update() returns the contact at version 2 with a fresh updated_at, and get() agrees."""
    contact_id = vault.add(_contact())
    stored = vault.get(contact_id)
    updated = vault.update(stored.model_copy(update={"notes": ("neue Notiz",)}))
    assert updated.version == 2
    assert updated.updated_at >= stored.updated_at
    assert vault.get(contact_id) == updated


def test_stale_update_is_a_conflict(vault):
    """An update based on an older version raises ConflictError; the newer write stays."""
    contact_id = vault.add(_contact())
    first_copy = vault.get(contact_id)
    second_copy = vault.get(contact_id)
    vault.update(first_copy.model_copy(update={"notes": ("von A",)}))
    with pytest.raises(ConflictError) as caught:
        vault.update(second_copy.model_copy(update={"notes": ("von B",)}))
    assert "von" not in str(caught.value)
    assert vault.get(contact_id).notes == ("von A",)


def test_update_of_a_contact_never_added(vault):
    """Updating a contact that is not in the vault raises ContactNotFound."""
    with pytest.raises(ContactNotFound):
        vault.update(_contact())


def test_update_changes_the_phone_index(vault):
    """After a number is replaced, the old number finds nothing and the new one finds the contact."""
    contact_id = vault.add(_contact(number="0151 55501234"))
    stored = vault.get(contact_id)
    vault.update(
        stored.model_copy(update={"phones": (normalize_phone("0160 5550999", default_region="DE"),)})
    )
    assert vault.find_by_phone("+4915155501234") == ()
    assert [c.id for c in vault.find_by_phone("0160 5550999", region="DE")] == [contact_id]


# --- finding by phone ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "region"),
    [
        ("0151 55501234", "DE"),
        ("+49 151 55501234", None),
        ("+49 (0)151 / 555 012-34", None),
        ("0049 151 55501234", "DE"),  # 00 is the international prefix in Germany, not everywhere
        ("tel:+49-151-55501234", None),
    ],
)
def test_find_by_phone_in_any_format(vault, number, region):
    """A number in any format finds the contact, through its E.164 form."""
    contact_id = vault.add(_contact(number="0151 55501234"))
    vault.add(_contact("Andere Person Ö", number="0151 55509999"))
    assert [c.id for c in vault.find_by_phone(number, region=region)] == [contact_id]


def test_find_by_phone_shared_number(vault):
    """A switchboard number shared by two contacts finds both."""
    a = vault.add(_contact("Empfang Ä", number="030 5550100"))
    b = vault.add(_contact("Buchhaltung Ö", number="+49 30 5550100"))
    assert {c.id for c in vault.find_by_phone("+49305550100")} == {a, b}


@pytest.mark.parametrize("junk", ["", "kein Anschluss", "12", "+", "0151 55501234"])
def test_find_by_phone_junk_finds_nothing(vault, junk):
    """Text that is not a number (or a national number without a region) finds nothing and raises nothing."""
    vault.add(_contact())
    assert vault.find_by_phone(junk) == ()


# --- erasing -------------------------------------------------------------------------------------------


def test_erase_is_final(vault):
    """After erase, get raises ContactErased (also a ContactNotFound), and the contact is gone everywhere."""
    keep = vault.add(_contact("Bleibt Ö", number="0160 5550111"))
    gone = vault.add(_contact())
    receipt = vault.erase(gone)
    assert receipt.contact_id == gone
    assert receipt.version == 2
    assert receipt.erased_at.tzinfo is not None
    with pytest.raises(ContactErased) as caught:
        vault.get(gone)
    assert isinstance(caught.value, ContactNotFound)
    assert isinstance(caught.value, KeyError)
    assert len(vault) == 1
    assert [e.id for e in vault] == [keep]
    assert [c.id for c in vault.contacts()] == [keep]
    assert gone not in vault
    assert vault.find_by_phone("0151 55501234", region="DE") == ()
    with pytest.raises(ContactErased):
        vault.erase(gone)
    with pytest.raises(ContactErased):
        vault.grant_consent(gone, consent())
    report = vault.verify()
    assert (report.contacts, report.erased) == (1, 1)


def test_erase_survives_reopen(vault, path):
    """An erased contact is still erased after the vault is closed and opened again."""
    gone = vault.add(_contact())
    vault.erase(gone)
    vault.close()
    with Vault.open(path, PASSPHRASE) as reopened:
        with pytest.raises(ContactErased):
            reopened.get(gone)
        assert len(reopened) == 0


def test_erased_id_cannot_be_added_again(vault):
    """The tombstone keeps the id: adding a contact with an erased id is a conflict."""
    contact = _contact()
    vault.add(contact)
    vault.erase(contact.id)
    with pytest.raises(ConflictError):
        vault.add(contact)


def test_update_of_an_erased_contact(vault):
    """Updating an erased contact raises ContactErased."""
    contact_id = vault.add(_contact())
    stored = vault.get(contact_id)
    vault.erase(contact_id)
    with pytest.raises(ContactErased):
        vault.update(stored)


# --- consent and rights --------------------------------------------------------------------------------


def test_consent_history_is_kept(vault):
    """A withdrawal marks the consent withdrawn and keeps the record; a later consent is added beside it."""
    contact_id = vault.add(_contact())
    vault.grant_consent(contact_id, consent())
    withdrawn_at = T0 + timedelta(days=10)
    after = vault.withdraw_consent(contact_id, "messenger", channel="email", at=withdrawn_at)
    (record,) = after.consents
    assert (record.granted_at, record.withdrawn_at, record.withdrawal_channel) == (T0, withdrawn_at, "email")
    again = vault.grant_consent(contact_id, consent(granted_at=T0 + timedelta(days=20)))
    assert len(again.consents) == 2
    assert again.consents[0] == record
    assert vault.get(contact_id).version == 4


def test_withdrawal_needs_an_active_consent(vault):
    """Withdrawing with no active consent for the purpose is a ValueError and writes nothing."""
    contact_id = vault.add(_contact())
    vault.grant_consent(contact_id, consent(purpose="newsletter"))
    with pytest.raises(ValueError, match="no active consent"):
        vault.withdraw_consent(contact_id, "messenger", channel="email")
    assert vault.get(contact_id).version == 2


def test_withdrawal_before_the_grant_is_refused(vault):
    """A withdrawal time before the consent was granted is refused by validation."""
    contact_id = vault.add(_contact())
    vault.grant_consent(contact_id, consent())
    with pytest.raises(ValidationError):
        vault.withdraw_consent(contact_id, "messenger", channel="email", at=T0 - timedelta(days=1))
    assert not vault.get(contact_id).consents[0].withdrawn


def test_wrong_types_are_refused(vault):
    """grant_consent and add_legal_basis take their model types only."""
    contact_id = vault.add(_contact())
    with pytest.raises(TypeError):
        vault.grant_consent(contact_id, {"purpose": "messenger"})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        vault.add_legal_basis(contact_id, "6(1)(b)")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        vault.update("not a contact")  # type: ignore[arg-type]


def test_legal_basis_gets_a_recording_time(vault):
    """A legal basis without recorded_at is stamped when it is stored."""
    contact_id = vault.add(_contact())
    basis = LegalBasis(article="6(1)(b)", purpose="messenger", justification="Werkvertrag 2025-17")
    (stored,) = vault.add_legal_basis(contact_id, basis).legal_bases
    assert stored.recorded_at is not None
    assert stored.justification == "Werkvertrag 2025-17"


def test_messenger_presence_by_number_in_any_format(vault):
    """Messenger presence is set on the number given in any format, and only on that number."""
    contact = Contact(
        display_name="Zwei Nummern Ä",
        phones=(
            normalize_phone("0151 55501234", default_region="DE"),
            normalize_phone("030 5550100", default_region="DE"),
        ),
    )
    vault.add(contact)
    after = vault.set_messenger_presence(contact.id, "+49 151 55501234", True, source="manual", at=T0)
    mobile, landline = after.phones
    assert mobile.messenger is not None
    assert (mobile.messenger.present, mobile.messenger.source, mobile.messenger.checked_at) == (
        True,
        "manual",
        T0,
    )
    assert landline.messenger is None
    entry = vault.directory_entry(contact.id)
    assert entry.phones[0].messenger == mobile.messenger


def test_messenger_presence_for_an_unknown_number(vault):
    """A number the contact does not have is a ValueError whose message does not repeat it."""
    contact_id = vault.add(_contact())
    with pytest.raises(ValueError, match="no such number") as caught:
        vault.set_messenger_presence(contact_id, "0160 5550999", True, source="manual", region="DE")
    assert "5550999" not in str(caught.value)


def test_labels(vault):
    """Labels are added once (without regard to case) and removed by name."""
    contact_id = vault.add(_contact())
    vault.add_label(contact_id, "bezahlt")
    vault.add_label(contact_id, Label(name="VIP", colour="#ff0000"))
    same = vault.add_label(contact_id, "BEZAHLT")
    assert [lb.name for lb in same.labels] == ["bezahlt", "VIP"]
    assert same.version == 3  # the repeated label wrote nothing
    after = vault.remove_label(contact_id, "Bezahlt")
    assert [lb.name for lb in after.labels] == ["VIP"]


def test_restriction_and_objection(vault):
    """Restrict (Art. 18) records the time once; lift_restriction clears it; object (Art. 21) is kept."""
    contact_id = vault.add(_contact())
    restricted = vault.restrict(contact_id, at=T0)
    assert restricted.restricted_at == T0
    assert vault.restrict(contact_id).restricted_at == T0
    assert vault.lift_restriction(contact_id).restricted_at is None
    objected = vault.object(contact_id, "marketing", at=T0)
    assert [(o.purpose, o.objected_at) for o in objected.objections] == [("marketing", T0)]
    entry = vault.directory_entry(contact_id)
    assert entry.objections == objected.objections


# --- passphrase and recovery key -----------------------------------------------------------------------


def test_change_passphrase(vault, path):
    """After change_passphrase only the new passphrase opens the vault, with every contact."""
    contact_id = vault.add(_contact())
    vault.change_passphrase("ein neues Passwort")
    vault.close()
    with pytest.raises(WrongPassphrase):
        Vault.open(path, PASSPHRASE)
    with Vault.open(path, "ein neues Passwort") as reopened:
        assert reopened.get(contact_id).display_name == "Jürgen Beispiel"


def test_change_passphrase_can_change_the_kdf(vault, path):
    """change_passphrase may set new KDF parameters, which the header then records."""
    stronger = KdfParams(memory_kib=64, iterations=2, lanes=2)
    vault.change_passphrase("neu", kdf=stronger)
    vault.close()
    with Vault.open(path, "neu") as reopened:
        assert reopened.kdf == stronger


def test_recovery_key_opens_the_vault(path):
    """The recovery key opens the vault (in any case, with spaces), even after a passphrase change."""
    with Vault.create(path, PASSPHRASE, kdf=FAST, recovery_key=True) as vault:
        assert vault.has_recovery_key
        key = vault.recovery_key
        assert key is not None
        contact_id = vault.add(_contact())
        vault.change_passphrase("vergessen")
    assert len(key.replace("-", "")) == 52
    with Vault.open_with_recovery_key(path, key.lower().replace("-", " ")) as vault:
        assert vault.recovery_key is None  # shown once, at creation only
        assert vault.get(contact_id).display_name == "Jürgen Beispiel"
        vault.change_passphrase("neu gesetzt")
    Vault.open(path, "neu gesetzt").close()


def test_wrong_or_missing_recovery_key(path, elsewhere):
    """A wrong, malformed or absent recovery key raises WrongPassphrase."""
    with Vault.create(path, PASSPHRASE, kdf=FAST) as vault:
        assert not vault.has_recovery_key
        assert vault.recovery_key is None
    other = tempfile.mkdtemp()
    with Vault.create(Path(other) / "v.db", PASSPHRASE, kdf=FAST, recovery_key=True) as vault:
        foreign = vault.recovery_key
    assert foreign is not None
    for attempt in (foreign, "ABCD-EFGH", "!" * 52):
        with pytest.raises(WrongPassphrase):
            Vault.open_with_recovery_key(path, attempt)
    with_key = elsewhere("with-key.db")
    with Vault.create(with_key, PASSPHRASE, kdf=FAST, recovery_key=True) as vault:
        pass
    with pytest.raises(WrongPassphrase):
        Vault.open_with_recovery_key(with_key, foreign)


# --- verify --------------------------------------------------------------------------------------------


def test_verify_reports_what_it_checked(vault):
    """verify() on an intact vault returns the number of contacts, tombstones and index entries."""
    ids = vault.add_many(import_vcards(SAMPLE, default_region="DE").contacts)
    vault.erase(ids[0])
    report = vault.verify()
    assert report.contacts == len(ids) - 1
    assert report.erased == 1
    entries = [vault.directory_entry(i) for i in ids[1:]]
    # One blind-index entry per number and UID, and one for the card (name and numbers) of a contact
    # without a UID.
    assert report.index_entries == sum(
        len(e.e164_numbers()) + len(e.uids()) + (0 if e.uids() else 1) for e in entries
    )


# --- properties ----------------------------------------------------------------------------------------


def _recorded_by(contact: Contact, user: str) -> Contact:
    """``contact`` as the vault stores it when ``user`` adds it: every record attributed to ``user``."""
    return contact.model_copy(
        update={
            "consents": tuple(
                c.model_copy(update={"recorded_by": user, "withdrawn_by": user if c.withdrawn_at else None})
                for c in contact.consents
            ),
            "legal_bases": tuple(b.model_copy(update={"recorded_by": user}) for b in contact.legal_bases),
            "objections": tuple(o.model_copy(update={"recorded_by": user}) for o in contact.objections),
        }
    )


@settings(max_examples=100)
@given(st.lists(full_contacts(), min_size=1, max_size=4, unique_by=lambda c: c.id))
def test_any_contact_survives_a_round_trip(contacts):
    """Any valid contact survives add -> close -> open -> get unchanged (except its version, now 1).

    And who recorded its consents, withdrawals, legal bases and objections: the key slot that added it.
    """
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "v.db"
        with Vault.create(path, PASSPHRASE, kdf=FAST) as vault:
            vault.add_many(contacts)
        with Vault.open(path, PASSPHRASE) as vault:
            for contact in contacts:
                assert vault.get(contact.id) == _recorded_by(contact, "owner").model_copy(
                    update={"version": 1}
                )
            assert [e.id for e in vault] == [c.id for c in contacts]
            assert vault.verify().contacts == len(contacts)


@settings(max_examples=50)
@given(full_contacts())
def test_errors_never_repeat_personal_data(contact):
    """The vault's error messages (conflict, erased, unknown number) never contain the contact's values."""
    with (
        tempfile.TemporaryDirectory() as folder,
        Vault.create(Path(folder) / "v.db", "pw", kdf=FAST) as vault,
    ):
        vault.add(contact)
        messages: list[str] = []
        try:
            vault.update(contact.model_copy(update={"version": 7}))
        except ConflictError as exc:
            messages.append(str(exc))
        try:
            vault.set_messenger_presence(contact.id, "+41 44 668 18 00", True, source="manual")  # not drawn
        except ValueError as exc:
            messages.append(str(exc))
        vault.erase(contact.id)
        try:
            vault.get(contact.id)
        except ContactErased as exc:
            messages.append(str(exc))
        assert len(messages) == 3
        values = [
            contact.display_name,
            *(p.raw for p in contact.phones),
            *(e.address for e in contact.emails),
        ]
        values += [n for n in contact.notes if len(n) > 3]
        for message in messages:
            for value in values:
                assert value not in message


@sqlite_only
def test_vault_files_hold_no_plaintext(vault, path):
    """Names, numbers, e-mail addresses and notes never appear in the raw bytes of the vault's files."""
    contact = _contact(
        "Mustermann Ö",
        emails=[EmailAddress(address="sichtbar@example.org")],
        notes=["Zahlung offen seit März"],
    )
    vault.add(contact)
    vault.close()
    raw = b"".join(p.read_bytes() for p in path.parent.iterdir() if p.is_file())
    for value in ("Mustermann", "sichtbar@example.org", "Zahlung offen", "55501234", "+4915155501234"):
        assert value.encode() not in raw
        assert value.encode("utf-16-le") not in raw
    assert os.path.getsize(path) > 0


README_SECTIONS = ("The vault in Python", "Audit a phone in Python")


def test_readme_vault_example_runs(tmp_path, monkeypatch, capsys):
    """The README's vault, book and audit examples run as written, on the sample saved as contacts.vcf."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sections = [readme.split(f"## {title}", 1)[1].split("\n## ", 1)[0] for title in README_SECTIONS]
    code = "\n".join(
        block.split("```", 1)[0] for section in sections for block in section.split("```python\n")[1:]
    )
    (tmp_path / "contacts.vcf").write_bytes(SAMPLE.read_bytes())
    (tmp_path / SAMPLE.name).write_bytes(SAMPLE.read_bytes())  # the README now reads it under its own name
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "readme passphrase")
    exec(compile(code, "README.md", "exec"), {})  # noqa: S102  (our own README's example)
    printed = capsys.readouterr().out
    assert "{'added': 10, 'updated': 0, 'unchanged': 0, 'skipped': 0, 'ambiguous': 0" in printed
    assert re.search(r"^\S.* 1$", printed, re.MULTILINE)  # find_by_phone found a contact, at version 1
    assert "Recovery key, keep it offline:" in printed
    assert "1 entry in the book, 9 contacts refused with reasons" in printed
    assert (tmp_path / "messenger.vcf").read_bytes().count(b"BEGIN:VCARD") == 1
    with Vault.open(tmp_path / "contacts.db", "readme passphrase") as vault:
        assert len(vault) == 10
        assert len(vault.disclosures()) == 1
    # the audit: the phone holds the whole sample; only the customer with consent and messenger passes
    report = json.loads((tmp_path / "audit.json").read_text(encoding="utf-8"))
    assert report["entries_total"] == 10
    assert len(report["unreadable"]) == 2  # the sample's two broken cards, listed, not lost
    assert report["counts"]["no_legal_basis"] == 6
    customer = next(e for e in report["entries"] if e["display_name"] == "Jürgen Müller")
    # the customer with consent and messenger passes on his mobile; his landline (which another entry
    # holds too) and his other fields do not
    assert {(f["code"], f["number"]) for f in customer["findings"]} == {
        ("not_on_messenger", "+493023125001"),
        ("duplicate", "+493023125001"),
        ("extra_fields", None),
    }
    assert "extra_fields" in printed
    assert (tmp_path / "audit.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_find_by_phone_with_a_bad_region(vault):
    """A region phonenumbers does not know raises InvalidRegion (a ValueError), naming the problem."""
    with pytest.raises(InvalidRegion):
        vault.find_by_phone("0151 55501234", region="XX")
    assert vault.find_by_phone("0151 55501234", region="de") == ()


def test_opening_never_changes_a_foreign_database(tmp_path):
    """Opening an SQLite database that is not a vault raises UnsupportedFormat and leaves it unchanged."""
    other = tmp_path / "app.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE notes (body TEXT)")
    db.close()
    before = other.read_bytes()
    with pytest.raises(UnsupportedFormat):
        Vault.open(other, PASSPHRASE)
    assert other.read_bytes() == before


def test_two_opens_of_one_vault_share_it(vault, path):
    """Two Vault.open of the same vault at once both work, and each sees what the other writes."""
    first = vault.add(_contact("Erste Ä", number=""))
    with Vault.open(path, PASSPHRASE, lock_timeout=0.1) as second, Vault.open(path, PASSPHRASE) as third:
        assert [e.id for e in second] == [first]
        other = second.add(_contact("Zweite Ö", number="0160 5550111"))
        assert [e.id for e in third] == [first, other]
        assert [e.id for e in vault] == [first, other]
        third.add_label(first, "von drei")
        assert [lb.name for lb in second.get(first).labels] == ["von drei"]
        vault.erase(other)
        assert second.find_by_phone("0160 5550111", region="DE") == ()
        assert len(third) == 1
        assert second.verify().erased == 1


def test_no_op_changes_write_nothing(vault):
    """Removing a label that is not there or lifting a restriction never made keeps the version."""
    contact_id = vault.add(_contact())
    assert vault.remove_label(contact_id, "nicht da").version == 1
    assert vault.lift_restriction(contact_id).version == 1


def test_close_drops_the_keys(path):
    """After close the vault holds no keys and no recovery key; using it raises VaultClosed."""
    vault = Vault.create(path, PASSPHRASE, kdf=FAST, recovery_key=True)
    vault.close()
    assert vault.recovery_key is None
    with pytest.raises(VaultClosed):
        vault.find_by_phone("+4915155501234")


@sqlite_only
def test_vault_pages_are_8_kib(vault, path):
    """The vault file uses 8 KiB pages (less waste per page for rows of about 800 bytes)."""
    vault.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA page_size").fetchone() == (8192,)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    db.close()


@settings(max_examples=100)
@given(
    st.one_of(st.binary(max_size=4096), st.binary(max_size=4096).map(lambda b: b"SQLite format 3\x00" + b))
)
def test_opening_junk_never_raises_anything_else(junk):
    """Any file of junk opens to a vault error (corrupted or unsupported), never another exception."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "junk.db"
        path.write_bytes(junk)
        with pytest.raises((VaultCorrupted, UnsupportedFormat)):
            Vault.open(path, PASSPHRASE)


@settings(max_examples=200)
@given(st.text(max_size=300))
def test_find_by_phone_never_raises_on_junk(text):
    """Any text given as a number finds nothing or a contact; it never raises."""
    with (
        tempfile.TemporaryDirectory() as folder,
        Vault.create(Path(folder) / "v.db", "pw", kdf=FAST) as vault,
    ):
        vault.add(_contact())
        found = vault.find_by_phone(text, region="DE")
        assert all(c.e164_numbers() == ("+4915155501234",) for c in found)


def test_close_from_another_thread_closes_the_vault(vault):
    """One Vault serves several threads: close() from any of them closes it for all (VaultClosed after)."""
    added: list[uuid.UUID] = []
    worker = threading.Thread(target=lambda: added.append(vault.add(_contact())))
    worker.start()
    worker.join()
    assert [e.id for e in vault] == added
    worker = threading.Thread(target=vault.close)
    worker.start()
    worker.join()
    with pytest.raises(VaultClosed):
        vault.add(_contact())
    with pytest.raises(VaultClosed):
        len(vault)


def test_only_the_crypto_module_imports_hazmat():
    """``contactvault/crypto.py`` is the one module that imports ``cryptography`` (its hazmat layer)."""
    importers = sorted(
        path.relative_to(ROOT / "src").as_posix()
        for path in (ROOT / "src" / "contactvault").rglob("*.py")
        if re.search(r"^\s*(from|import)\s+cryptography\b", path.read_text(encoding="utf-8"), re.MULTILINE)
    )
    assert importers == ["contactvault/crypto.py"]


def _flip_payload_byte(path: Path | str, request: pytest.FixtureRequest) -> None:
    """Flip one byte of the (one) stored payload's ciphertext, before its tag, as an attacker would."""
    if isinstance(path, Path):
        with sqlite3.connect(path) as db:
            (payload,) = db.execute("SELECT payload FROM contacts").fetchone()
            damaged = bytearray(payload)
            damaged[20] ^= 0x01
            db.execute("UPDATE contacts SET payload = ?", (bytes(damaged),))
        db.close()
        return
    schema = path.rpartition("schema=")[2]
    with request.getfixturevalue("pg_server").connect() as db:
        db.execute(
            f"UPDATE {schema}.contacts SET payload = set_byte(payload, 20, get_byte(payload, 20) # 1)"  # noqa: S608
        )


def test_listing_never_decrypts_a_payload(vault, path, request):
    """Listing and directory_entry() work when a CRM payload is damaged (they never read it); get() fails."""
    contact_id = vault.add(_contact(notes=["nur im CRM"]))
    vault.close()
    _flip_payload_byte(path, request)
    with Vault.open(path, PASSPHRASE) as reopened:
        assert [e.id for e in reopened] == [contact_id]
        assert reopened.directory_entry(contact_id).display_name == "Jürgen Beispiel"
        with pytest.raises(VaultCorrupted):
            reopened.get(contact_id)
        with pytest.raises(VaultCorrupted):
            reopened.verify()
