"""The vault over the years: re-import as update, external ids, merge, backup and restore (the API).

The command line is tested in test_cli_lifecycle.py; these tests use the library on a real SQLite vault with
the bundled sample and the corpus exports.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contactvault import (
    ConflictError,
    Contact,
    ContactMerged,
    KdfParams,
    UnsupportedFormat,
    Vault,
    VaultCorrupted,
    VaultExists,
    WrongPassphrase,
    import_vcards,
    normalize_phone,
)
from contactvault.importers.matching import names_compatible
from contactvault.vault.records import Records
from tests.conftest import CORPUS, SAMPLE, consent, disclosed_pair, vcf
from tests.strategies import import_files

PASSPHRASE = "Jahresabschluss: korrektes Pferd"  # noqa: S105  (a test vault's passphrase)
FAST = KdfParams.insecure_fast_for_tests()
CORPUS_FILES = sorted(CORPUS.rglob("*.vcf")) if CORPUS.is_dir() else []


sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])
"""For a test about the vault file itself (its WAL, its modes, the files beside it): it runs once."""


@pytest.fixture
def vault(backend: str, tmp_path: Path, request: pytest.FixtureRequest):
    """A new vault on each backend: ``v.db`` in ``tmp_path``, or a fresh PostgreSQL schema."""
    where = tmp_path / "v.db" if backend == "sqlite" else request.getfixturevalue("pg_url")
    with Vault.create(where, PASSPHRASE, kdf=FAST) as opened:
        yield opened


def _sample():
    return import_vcards(SAMPLE, default_region="DE")


def _snapshot(vault: Vault) -> list[Contact]:
    return sorted(vault.contacts(), key=lambda c: c.id)


def _card(uid: str | None, name: str, tel: str | None, email: str, note: str = "") -> list[str]:
    lines = ["BEGIN:VCARD", "VERSION:3.0"]
    if uid:
        lines.append(f"UID:{uid}")
    lines += [f"FN:{name}", f"EMAIL:{email}"]
    if tel:
        lines.append(f"TEL;TYPE=CELL:{tel}")
    if note:
        lines.append(f"NOTE:{note}")
    return [*lines, "END:VCARD"]


# --- re-import is an update -----------------------------------------------------------------------------


def test_importing_the_sample_twice_adds_nothing_the_second_time(vault):
    """The second import of the same export adds, updates and writes nothing: every contact is unchanged."""
    first = vault.import_contacts(_sample())
    assert first.counts()["added"] == len(_sample().contacts)
    before = _snapshot(vault)
    changes = vault.changes
    second = vault.import_contacts(_sample())
    assert second.counts() == {
        "added": 0,
        "updated": 0,
        "unchanged": len(before),
        "skipped": 0,
        "ambiguous": 0,
        "shared_numbers": 0,
    }
    assert _snapshot(vault) == before
    assert vault.changes == changes  # not even a new generation of the row-set state


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.relative_to(CORPUS).as_posix())
def test_every_corpus_file_imported_twice_adds_nothing_the_second_time(tmp_path, corpus, path):
    """Each real export imported twice: the second import adds nothing and changes no contact."""
    with Vault.create(tmp_path / "c.db", PASSPHRASE, kdf=FAST) as vault:
        first = vault.import_contacts(import_vcards(path, default_region="US"))
        before = _snapshot(vault)
        second = vault.import_contacts(import_vcards(path, default_region="US"))
        assert second.added == ()
        assert second.updated == ()
        assert len(second.unchanged) + len(second.ambiguous) == len(first.added) + len(first.ambiguous)
        assert _snapshot(vault) == before


def test_one_changed_e_mail_updates_exactly_that_contact_and_keeps_its_consents(vault, tmp_path):
    """After one card's e-mail changes in the file, that contact alone is updated; its consent stays."""
    cards = [
        _card(f"uid-{i}", f"Kundin {name}", f"+49151555{i:05d}", f"k{i}@example.org")
        for i, name in enumerate(("Anna", "Berta", "Clara"))
    ]
    path = tmp_path / "phone.vcf"
    path.write_bytes(vcf(*(line for card in cards for line in card)))
    vault.import_contacts(import_vcards(path, default_region="DE"))
    (berta,) = vault.find_by_phone("+4915155500001")
    vault.grant_consent(berta.id, consent())
    cards[1] = _card("uid-1", "Kundin Berta", "+4915155500001", "berta.neu@example.org")
    path.write_bytes(vcf(*(line for card in cards for line in card)))
    report = vault.import_contacts(import_vcards(path, default_region="DE"))
    assert report.updated == (berta.id,)
    assert len(report.unchanged) == 2
    assert report.added == ()
    after = vault.get(berta.id)
    assert [e.address for e in after.emails] == ["berta.neu@example.org"]
    assert after.consents == (consent(recorded_by="owner"),)  # recorded by the slot that opened the vault
    assert after.version == berta.version + 2  # the consent, then the import


def test_an_edit_made_in_the_vault_survives_a_re_import_of_the_unchanged_card(vault, tmp_path):
    """A field changed in the vault stays until the phone changes that field: the card wins only its edits."""
    path = tmp_path / "phone.vcf"
    path.write_bytes(vcf(*_card("uid-a", "Anna Beispiel", "+4915155500001", "anna@example.org")))
    vault.import_contacts(import_vcards(path, default_region="DE"))
    (anna,) = vault.find_by_phone("+4915155500001")
    vault.update(anna.model_copy(update={"notes": ("ruft nur vormittags an",)}))
    assert vault.import_contacts(import_vcards(path, default_region="DE")).counts()["unchanged"] == 1
    assert vault.get(anna.id).notes == ("ruft nur vormittags an",)
    path.write_bytes(vcf(*_card("uid-a", "Anna Beispiel", "+4915155500001", "anna@example.org", "neu")))
    report = vault.import_contacts(import_vcards(path, default_region="DE"))
    assert report.updated == (anna.id,)
    assert vault.get(anna.id).notes == ("neu",)  # now the phone changed the notes, and it wins


def test_matching_by_number_and_compatible_name_adopts_the_cards_uid(vault, tmp_path):
    """A contact added by hand is found by its number and name; the card's UID is adopted for next time."""
    phone = normalize_phone("0151 55500009", default_region="DE")
    manual = Contact(display_name="Jürgen Müller", phones=(phone,))
    vault.add(manual)
    path = tmp_path / "phone.vcf"
    path.write_bytes(vcf(*_card("uid-j", "Müller, Jürgen", "+49 151 55500009", "j@example.org")))
    report = vault.import_contacts(import_vcards(path, default_region="DE"))
    assert report.updated == (manual.id,)
    stored = vault.get(manual.id)
    assert stored.uids() == ("uid-j",)
    assert [e.address for e in stored.emails] == ["j@example.org"]
    assert vault.import_contacts(import_vcards(path, default_region="DE")).unchanged == (manual.id,)


def test_ambiguous_cards_are_reported_not_guessed(vault, tmp_path):
    """Two stored contacts with the card's number and a compatible name: the card is reported, not stored."""
    phone = normalize_phone("+49 151 55500007", default_region=None)
    vault.add_many(
        [Contact(display_name="Anna M.", phones=(phone,)), Contact(display_name="A. Muster", phones=(phone,))]
    )
    before = _snapshot(vault)
    path = tmp_path / "phone.vcf"
    path.write_bytes(vcf(*_card(None, "Anna Muster", "+49 151 55500007", "a@example.org")))
    report = vault.import_contacts(import_vcards(path, default_region="DE"))
    assert [a.reason for a in report.ambiguous] == ["several_matches"]
    assert report.ambiguous[0].line == 1
    assert len(report.ambiguous[0].candidates) == 2
    assert "Anna" not in report.ambiguous[0].message()
    assert _snapshot(vault) == before


def test_a_uid_that_names_someone_else_is_ambiguous(vault, tmp_path):
    """A stored contact with the card's UID but neither its name nor a number: reported, nothing stored."""
    path = tmp_path / "phone.vcf"
    path.write_bytes(vcf(*_card("1", "Anna Beispiel", "+4915155500001", "anna@example.org")))
    vault.import_contacts(import_vcards(path, default_region="DE"))
    other = tmp_path / "outlook.vcf"
    other.write_bytes(vcf(*_card("1", "Bruno Anders", "+4915155500002", "bruno@example.org")))
    report = vault.import_contacts(import_vcards(other, default_region="DE"))
    assert [a.reason for a in report.ambiguous] == ["uid_conflict"]
    assert len(vault) == 1


def test_a_card_without_a_uid_keeps_the_stored_uid(vault, tmp_path):
    """A card without a UID that updates a contact leaves the contact's UID (it says nothing of it)."""
    first = tmp_path / "first.vcf"
    first.write_bytes(vcf(*_card("uid-2", "Dieter Ünal", "+4915155500000", "d1@example.org")))
    vault.import_contacts(import_vcards(first, default_region="DE"))
    (dieter,) = list(vault)
    second = tmp_path / "second.vcf"
    second.write_bytes(vcf(*_card(None, "Dieter Ünal", "+4915155500000", "d0@example.org")))
    assert vault.import_contacts(import_vcards(second, default_region="DE")).updated == (dieter.id,)
    stored = vault.get(dieter.id)
    assert stored.uids() == ("uid-2",)
    assert [e.address for e in stored.emails] == ["d0@example.org"]
    assert vault.import_contacts(import_vcards(second, default_region="DE")).unchanged == (dieter.id,)
    assert vault.import_contacts(import_vcards(first, default_region="DE")).updated == (dieter.id,)


# Found by Hypothesis (the property below): a card gives a stored contact's UID to someone else (a conflict,
# reported), and another card of the same file updates that contact, adding a number the first card has, or
# dropping the UID. The same file imported again then matched the first card to the contact (renaming it,
# with the consents recorded for the other person) or added it: a repeat changed the vault.
_TAKEN = (
    _card("uid-5", "Anna Beispiel", "+4915155500002", "a@example.org"),
    [
        *_card(None, "Eva Groß", "+4915155500002", "e0@example.org")[:-1],
        "TEL;TYPE=CELL:+4915155500000",
        "END:VCARD",
    ],
)


@pytest.mark.parametrize(
    "cards",
    [
        [*_TAKEN[0], *_TAKEN[1]],
        [*_TAKEN[1], *_TAKEN[0]],
        [
            *_card("uid-5", "Anna Beispiel", None, "a@example.org"),
            *_card(None, "Eva Groß", "+4915155500000", "e"),
        ],
        [*_TAKEN[0], *_card("uid-9", "Eva Groß", "+4915155500000", "e0@example.org")],
    ],
    ids=["conflict-first", "update-first", "no-shared-number", "another-uid"],
)
def test_a_uid_conflict_is_reported_the_same_each_time_the_file_is_imported(vault, tmp_path, cards):
    """A card gives a stored contact's UID to someone else: the same file imported again changes nothing.

    The contact is left as it is by every later card of that import (each is reported), and the
    conflicting card never renames it after the other person, then or on a repeat.
    """
    first = tmp_path / "first.vcf"
    first.write_bytes(vcf(*_card("uid-5", "Eva Groß", "+4915155500000", "e1@example.org")))
    vault.import_contacts(import_vcards(first, default_region="DE"))
    (eva,) = list(vault)
    vault.grant_consent(eva.id, consent())
    second = tmp_path / "second.vcf"
    second.write_bytes(vcf(*cards))
    report = vault.import_contacts(import_vcards(second, default_region="DE"))
    assert report.ambiguous
    for _ in range(2):
        before = _snapshot(vault)
        again = vault.import_contacts(import_vcards(second, default_region="DE"))
        assert again.added == again.updated == ()
        assert sorted(a.reason for a in again.ambiguous) == sorted(a.reason for a in report.ambiguous)
        assert _snapshot(vault) == before
    stored = vault.get(eva.id)
    assert stored.display_name == "Eva Groß"
    assert stored.uids() == ("uid-5",)
    assert stored.consents
    assert all(e.display_name != "Anna Beispiel" for e in vault)


def test_skip_leaves_matched_contacts_alone_and_dry_run_writes_nothing(vault, tmp_path):
    """on_match='skip' only adds new contacts; a dry run reports the same counts and writes nothing."""
    vault.import_contacts(_sample())
    changes = vault.changes
    dry = vault.import_contacts(_sample(), dry_run=True)
    assert dry.dry_run
    assert dry.counts()["unchanged"] == len(vault)
    assert vault.changes == changes
    skipped = vault.import_contacts(_sample(), on_match="skip")
    assert len(skipped.skipped) == len(vault)
    with pytest.raises(ValueError, match="on_match"):
        vault.import_contacts(_sample(), on_match="replace")  # type: ignore[arg-type]


def test_names_compatible():
    """Order, case, accents, punctuation, initials and one typo do not matter; another first name does."""
    assert names_compatible("Müller, Jürgen", "jurgen MULLER")
    assert names_compatible("J. Müller", "Jürgen Müller")
    assert names_compatible("Jürgen Müler", "Jürgen Müller")
    assert names_compatible("Müller", "Jürgen Müller")
    assert names_compatible("+49 151 5550", "Anna")  # a number as name says nothing
    assert not names_compatible("Anna Müller", "Max Müller")
    assert not names_compatible("Anna Beispiel", "Bruno Anders")


@settings(max_examples=40)
@given(import_files(), st.data())
def test_random_imports_never_duplicate_a_uid_lose_a_consent_or_change_on_repeat(
    tmp_path_factory, files, data
):
    """Overlapping imports: UIDs stay unique, consents stay, and a file imported again changes nothing."""
    path = tmp_path_factory.mktemp("prop") / "v.db"
    with Vault.create(path, PASSPHRASE, kdf=FAST) as vault:
        for text in files:
            result = import_vcards(text, default_region="DE")
            consents_before = {e.id: e.consents for e in vault}
            vault.import_contacts(result)
            entries = list(vault)
            uids = [uid for e in entries for uid in e.uids()]
            assert len(uids) == len(set(uids)), "two contacts answer to one UID"
            for entry in entries:
                assert entry.consents[: len(consents_before.get(entry.id, ()))] == consents_before.get(
                    entry.id, ()
                )
            if entries:
                chosen = data.draw(st.sampled_from(entries))
                vault.grant_consent(chosen.id, consent())
            before = _snapshot(vault)
            again = vault.import_contacts(import_vcards(text, default_region="DE"))
            assert again.added == ()
            assert again.updated == ()
            assert _snapshot(vault) == before
        vault.verify()


# --- external ids ----------------------------------------------------------------------------------------


def test_external_id_is_unique_found_without_payload_and_matched_first(vault):
    """A caller's key: found by the blind index, refused twice, and it decides an import's match first."""
    phone = normalize_phone("+49 151 55500001", default_region=None)
    stored = Contact(display_name="Anna Beispiel", phones=(phone,), external_id="crm-4711")
    vault.add(stored)
    found = vault.find_by_external_id("crm-4711")
    assert found is not None
    assert found.id == stored.id
    assert vault.find_by_external_id("crm-0000") is None
    with pytest.raises(ConflictError) as raised:
        vault.add(Contact(display_name="Bruno", external_id="crm-4711"))
    assert "crm-4711" not in str(raised.value)
    renamed = Contact(display_name="Anna Neu-Beispiel", external_id="crm-4711", notes=("umgezogen",))
    report = vault.import_contacts([renamed])
    assert report.updated == (stored.id,)
    assert vault.get(stored.id).display_name == "Anna Neu-Beispiel"
    assert len(vault) == 1


# --- merge ----------------------------------------------------------------------------------------------


def test_merge_keeps_both_histories_and_the_log_still_finds_the_merged_away_id(vault, tmp_path):
    """Merging two contacts: one contact with both numbers and consents; old disclosures still found."""
    first, second = disclosed_pair(vault, tmp_path)
    merged = vault.merge([first.id, second.id])
    assert merged.id == first.id
    assert merged.merged_from == (second.id,)
    assert len(vault) == 1
    assert [c.notice_version for c in merged.consents] == ["1", "2"]
    assert set(merged.e164_numbers()) == {"+4915155500001", "+4915155500002"}
    with pytest.raises(ContactMerged) as raised:
        vault.get(second.id)
    assert raised.value.merged_into == first.id
    found = vault.disclosures_of(first.id)
    assert {(d.contact_id, d.number) for d in found} == {
        (first.id, "+4915155500001"),
        (second.id, "+4915155500002"),
    }
    assert vault.verify().erased == 1


@sqlite_only
def test_merge_shreds_the_merged_away_data_key(vault):
    """The merged-away contact's sealed data is gone from the file (its directory holds a tombstone)."""
    first = Contact(display_name="Anna Beispiel", notes=("Markierung-Eins-0815",))
    second = Contact(display_name="Anna B.", notes=("Markierung-Zwei-4711",))
    vault.add_many([first, second])
    vault.merge([first.id, second.id])
    assert "Markierung-Zwei-4711" in vault.get(first.id).notes
    assert vault.path.with_name(vault.path.name + "-wal").stat().st_size == 0


def test_merge_refuses_two_external_ids_and_fewer_than_two_contacts(vault):
    """Which key would the caller's system keep? Two different external ids are refused, as is a lone id."""
    a = Contact(display_name="A", external_id="crm-1")
    b = Contact(display_name="B", external_id="crm-2")
    vault.add_many([a, b])
    with pytest.raises(ConflictError):
        vault.merge([a.id, b.id])
    with pytest.raises(ValueError, match="two"):
        vault.merge([a.id, a.id])
    assert len(vault) == 2


def test_a_re_import_after_a_merge_brings_neither_duplicate_back(vault, tmp_path):
    """The phone still has both cards after a merge in the vault: the next import adds nothing."""
    path = tmp_path / "phone.vcf"
    path.write_bytes(
        vcf(
            *_card(None, "Anna Beispiel", "+4915155500001", "anna@example.org"),
            *_card(None, "Beispiel Firma", "+4915155500001", "buero@example.org"),
        )
    )
    vault.import_contacts(import_vcards(path, default_region="DE"))
    (group,) = vault.duplicates()
    vault.merge(list(group.contact_ids))
    before = _snapshot(vault)
    report = vault.import_contacts(import_vcards(path, default_region="DE"))
    assert report.added == ()
    assert report.updated == ()
    assert _snapshot(vault) == before


# --- backup and restore ---------------------------------------------------------------------------------


@sqlite_only
def test_backup_is_a_verified_private_copy_and_never_overwrites(vault, tmp_path):
    """A backup opens with the same passphrase, holds the same contacts, is 0600, and never overwrites."""
    vault.import_contacts(_sample())
    dest = tmp_path / "backup.db"
    report = vault.backup(dest)
    assert report.check.contacts == len(vault)
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    with pytest.raises(VaultExists):
        vault.backup(dest)
    with Vault.open(dest, PASSPHRASE) as copy:
        assert _snapshot(copy) == _snapshot(vault)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup.db", "v.db", "v.db-shm", "v.db-wal"]


def test_restore_checks_the_copy_and_puts_it_at_a_new_path(vault, tmp_path):
    """Restore verifies before placing, refuses a wrong passphrase or a tampered backup, never overwrites."""
    vault.import_contacts(_sample())
    backup = tmp_path / "backup.db"
    vault.backup(backup)
    data = backup.read_bytes()
    restored = tmp_path / "restored.db"
    with pytest.raises(WrongPassphrase):
        Vault.restore(backup, restored, "falsch")
    assert not restored.exists()
    report = Vault.restore(backup, restored, PASSPHRASE)
    assert report.check.contacts == len(vault)
    assert backup.read_bytes() == data  # the source is never written
    with pytest.raises(VaultExists):
        Vault.restore(backup, restored, PASSPHRASE)
    tampered = tmp_path / "tampered.db"
    tampered.write_bytes(data)
    with contextlib.closing(sqlite3.connect(tampered)) as db, db:
        (blob,) = db.execute("SELECT payload FROM contacts LIMIT 1").fetchone()
        db.execute(
            "UPDATE contacts SET payload = ? WHERE payload = ?",
            (blob[:20] + bytes([blob[20] ^ 1]) + blob[21:], blob),
        )
    with pytest.raises(VaultCorrupted):
        Vault.restore(tampered, tmp_path / "never.db", PASSPHRASE)
    assert not (tmp_path / "never.db").exists()
    not_a_vault = tmp_path / "card.vcf"
    not_a_vault.write_bytes(vcf(*_card(None, "A", None, "a@example.org")))
    with pytest.raises(UnsupportedFormat):
        Vault.restore(not_a_vault, tmp_path / "never.db", PASSPHRASE)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_restore_with_the_recovery_key(tmp_path):
    """A backup restores with the recovery key when the passphrase is lost."""
    with Vault.create(tmp_path / "v.db", PASSPHRASE, kdf=FAST, recovery_key=True) as vault:
        key = vault.recovery_key
        assert key is not None
        vault.backup(tmp_path / "b.db")
    report = Vault.restore(tmp_path / "b.db", tmp_path / "r.db", recovery_key=key)
    assert report.check.contacts == 0
    with pytest.raises(ValueError, match="passphrase, a service key or the recovery key"):
        Vault.restore(tmp_path / "b.db", tmp_path / "x.db")


# --- erase: the result says what was done --------------------------------------------------------------


@sqlite_only
def test_erase_reports_what_it_did(vault):
    """The Erasure names the index entries removed, the secure delete and the truncated WAL."""
    contact = Contact(display_name="Anna", phones=(normalize_phone("+4915155500001", default_region=None),))
    vault.add(contact)
    erasure = vault.erase(contact.id)
    assert erasure.index_entries == 2  # the number and the card
    assert erasure.secure_delete
    assert erasure.wal_truncated
    wal = vault.path.with_name(vault.path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0


@sqlite_only
def test_files_of_the_vault_stay_private(vault, tmp_path):
    """The vault, its WAL and a backup are 0600, whatever the umask."""
    old = os.umask(0)
    try:
        vault.import_contacts(_sample())
        vault.backup(tmp_path / "b.db")
    finally:
        os.umask(old)
    for path in (vault.path, vault.path.with_name("v.db-wal"), tmp_path / "b.db"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def test_a_merged_card_that_changed_is_reported_not_applied_to_the_survivor(vault, tmp_path):
    """After a merge, a merged card without UID that changed matches the survivor by number only: reported."""
    first = _card(None, "Anna Beispiel", "+4915155500001", "anna@example.org")
    second = _card(None, "A. Beispiel", "+4915155500001", "buero@example.org")
    path = tmp_path / "phone.vcf"
    path.write_bytes(vcf(*second, *first))
    vault.import_contacts(import_vcards(path, default_region="DE"))
    (group,) = vault.duplicates()
    survivor = next(e.id for e in vault if e.display_name == "Anna Beispiel")
    others = [i for i in group.contact_ids if i != survivor]
    vault.merge([survivor, *others])
    before = _snapshot(vault)
    changed = [*second[:-1], "TEL;TYPE=CELL:+4915155500002", "END:VCARD"]  # one more number
    path.write_bytes(vcf(*changed, *first))
    report = vault.import_contacts(import_vcards(path, default_region="DE"))
    assert [a.reason for a in report.ambiguous] == ["merged_contact"]
    assert report.unchanged == (survivor,)
    assert report.added == report.updated == ()
    assert _snapshot(vault) == before


def test_an_unchanged_card_is_known_from_the_directory_alone(vault, monkeypatch):
    """Re-importing an unchanged export decrypts no CRM payload: the directory's import digest suffices."""
    vault.import_contacts(_sample())
    opened: list[object] = []
    original = Records.contact
    monkeypatch.setattr(Records, "contact", lambda self, row: opened.append(row) or original(self, row))
    report = vault.import_contacts(_sample())
    assert report.counts()["unchanged"] == len(vault)
    assert opened == []
