"""From the vault to the messenger: explain(), messenger_book(), and what the exported bytes may hold."""

from __future__ import annotations

import io
import pickle
import re
import sqlite3
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import vobject
from hypothesis import given, settings
from hypothesis import strategies as st

from contactvault import Contact, EmailAddress, KdfParams, Label, Vault, normalize_phone
from contactvault.export.minimal import CSV_HEADER, card, to_csv, to_vcard
from contactvault.export.vcard import escape_text
from contactvault.models import MessengerPresence, NameParts
from contactvault.sync import explain, messenger_book
from contactvault.sync.policy import Policy
from tests.conftest import consent
from tests.strategies import full_contacts

FAST = KdfParams.insecure_fast_for_tests()
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
POLICY = Policy.default()
ALLOWED = {"BEGIN", "VERSION", "UID", "N", "FN", "TEL", "END"}


def _eligible(name: str = "Anna Beispiel", number: str = "0151 55501234", **fields: object) -> Contact:
    """A contact the default policy allows: a mobile on the messenger and a messenger consent."""
    phone = normalize_phone(number, default_region="DE").model_copy(
        update={
            "messenger": MessengerPresence(present=True, source="manual", checked_at=NOW - timedelta(days=1))
        }
    )
    return Contact.model_validate(
        {"display_name": name, "phones": [phone], "consents": [consent()], **fields}
    )


@pytest.fixture
def vault(tmp_path):
    """A new vault with the fast test KDF."""
    with Vault.create(tmp_path / "v.db", "pw", kdf=FAST) as opened:
        yield opened


def test_explain_gives_every_contact_its_reasons(vault):
    """explain() yields each contact with the policy's decision; a refused one names its reasons."""
    allowed = vault.add(_eligible())
    refused = vault.add(
        Contact(
            display_name="Ohne Einwilligung", phones=(normalize_phone("0160 5550999", default_region="DE"),)
        )
    )
    decisions = {entry.id: decision for entry, decision in explain(vault, POLICY, now=NOW)}
    assert decisions[allowed].allowed
    assert decisions[allowed].numbers == ("+4915155501234",)
    assert not decisions[refused].allowed
    assert set(decisions[refused].reasons) >= {"no_legal_basis", "no_messenger"}


def test_a_withdrawn_consent_leaves_the_book(vault):
    """After withdraw_consent the contact is no longer in the next book."""
    contact_id = vault.add(_eligible())
    assert [e.phone_e164 for e in messenger_book(vault, POLICY, now=NOW)] == ["+4915155501234"]
    vault.withdraw_consent(contact_id, "messenger", channel="email", at=NOW - timedelta(hours=1))
    assert len(messenger_book(vault, POLICY, now=NOW)) == 0


def test_book_uids_and_codes_are_stable_across_renames_and_books(vault):
    """A rename keeps the entry's UID and pseudonym code; the book carries the policy's digest."""
    contact_id = vault.add(_eligible())
    before = messenger_book(vault, POLICY, name_style="pseudonym", now=NOW)
    stored = vault.get(contact_id)
    vault.update(stored.model_copy(update={"display_name": "Anna Neu"}))
    after = messenger_book(vault, POLICY, name_style="pseudonym", now=NOW)
    assert [uid for uid, _ in before.cards()] == [uid for uid, _ in after.cards()]
    assert before == after  # the pseudonym does not depend on the name
    assert re.fullmatch(r"Kunde [A-Z2-7]{6}", after.entries[0].display_name)
    assert after.policy_digest == POLICY.digest()
    full = messenger_book(vault, POLICY, now=NOW)
    assert [e.display_name for e in full] == ["Anna Neu"]
    assert not full.diff(before).added


def test_book_codes_give_the_books_uids_and_codes_and_hide_the_key(vault):
    """``vault.book_codes()`` gives the book's UIDs and codes; no attribute, repr or pickle shows its key."""
    contact_id = vault.add(_eligible())
    codes = vault.book_codes()
    book = messenger_book(vault, POLICY, name_style="pseudonym", pseudonym="{code}", now=NOW)
    assert [uid for uid, _ in book.cards()] == [codes.uid(contact_id, "+4915155501234")]
    assert book.entries[0].display_name == codes.pseudonym(contact_id)
    key = vault._core.keys.book
    assert key.hex() not in repr(codes)
    assert [name for name in dir(codes) if not name.startswith("_") and getattr(codes, name) == key] == []
    with pytest.raises(TypeError):
        pickle.dumps(codes)


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("full", ("Anna Beispiel", "Beispiel", "Anna")),
        ("given_initial", ("Anna B.", "B.", "Anna")),
        ("initials", ("A. B.", "B.", "A.")),
    ],
)
def test_the_book_splits_each_name_for_the_cards_n(vault, style, expected):
    """The vault's book gives every entry a family/given split of its own name, as the phone expects."""
    vault.add(_eligible())
    book = messenger_book(vault, POLICY, name_style=style, now=NOW)
    ((uid, entry),) = book.cards()
    assert (entry.display_name, *book.name_parts(uid)) == expected
    assert f"\r\nN:{expected[1]};{expected[2]};;;\r\n" in to_vcard(book)


def test_the_book_splits_by_the_stored_family_name(vault):
    """With stored name parts, the split follows them where the name shows them ("von Müller")."""
    von = NameParts(given="Jürgen", family="von Müller")
    vault.add(_eligible("Jürgen von Müller").model_copy(update={"name": von}))
    hans = NameParts(given="Hans", family="Schmidt")
    vault.add(_eligible("Bäckerei Schmidt", "0151 55501235").model_copy(update={"name": hans}))
    book = messenger_book(vault, POLICY, now=NOW)
    splits = {entry.display_name: book.name_parts(uid) for uid, entry in book.cards()}
    assert splits == {
        "Jürgen von Müller": ("von Müller", "Jürgen"),
        "Bäckerei Schmidt": ("Schmidt", "Bäckerei"),
    }


def test_labels_stay_out_of_names(vault):
    """A label written into the display name does not reach the book."""
    vault.add(_eligible("Anna Beispiel (Zahlung offen)", labels=[Label(name="Zahlung offen")]))
    assert [e.display_name for e in messenger_book(vault, POLICY, now=NOW)] == ["Anna Beispiel"]


def test_building_the_book_never_reads_a_payload(vault, tmp_path):
    """The book builds even when every CRM payload is unreadable: only the directory is decrypted."""
    vault.add(_eligible(emails=[EmailAddress(address="geheim@example.org")]))
    vault.close()
    with sqlite3.connect(tmp_path / "v.db") as db:
        (payload,) = db.execute("SELECT payload FROM contacts").fetchone()
        db.execute(
            "UPDATE contacts SET payload = ?", (payload[:20] + bytes([payload[20] ^ 1]) + payload[21:],)
        )
    db.close()
    with Vault.open(tmp_path / "v.db", "pw") as reopened:
        assert len(messenger_book(reopened, POLICY, now=NOW)) == 1


SKELETON = card("0", "A", "+4930123456") + ",".join(CSV_HEADER) + ",Mobile"
"""The text every export has whatever the contacts: property names, parameters, the CSV header."""


def _crm_values(contact: Contact) -> list[str]:
    values = [e.address for e in contact.emails] + list(contact.notes) + list(contact.urls)
    values += [a.street for a in contact.addresses] + [a.locality for a in contact.addresses]
    values += [f.value for f in contact.custom_fields] + [contact.organisation, contact.nickname]
    if contact.birthday is not None:
        values.append(contact.birthday.iso())
    return [v for v in values if len(v.strip()) >= 6]


def _made_eligible(contact: Contact) -> Contact:
    """The contact with a messenger consent and every normalised number marked as on the messenger."""
    presence = MessengerPresence(present=True, source="manual", checked_at=NOW - timedelta(days=1))
    phones = tuple(p.model_copy(update={"messenger": presence}) if p.e164 else p for p in contact.phones)
    return contact.model_copy(update={"phones": phones, "consents": (*contact.consents, consent())})


@settings(max_examples=60)
@given(
    st.lists(
        st.tuples(full_contacts(), st.booleans()).map(
            lambda pair: _made_eligible(pair[0]) if pair[1] else pair[0]
        ),
        min_size=1,
        max_size=6,
        unique_by=lambda c: c.id,
    )
)
def test_exports_hold_exactly_the_allowed_entries_and_no_crm_value(contacts):
    """Exports of any vault hold only allowed properties, exactly the allowed numbers, and no CRM value."""
    with (
        tempfile.TemporaryDirectory() as folder,
        Vault.create(Path(folder) / "v.db", "pw", kdf=FAST) as vault,
    ):
        vault.add_many(contacts)
        expected = sorted(n for _, d in explain(vault, POLICY, now=NOW) for n in d.numbers)
        book = messenger_book(vault, POLICY, now=NOW)
        assert sorted(e.phone_e164 for e in book) == expected
        text = to_vcard(book) + to_csv(book)
        unfolded = to_vcard(book).replace("\r\n ", "")
        properties = {line.split(":", 1)[0].split(";", 1)[0] for line in unfolded.split("\r\n") if line}
        assert properties <= ALLOWED
        for parsed in vobject.readComponents(io.StringIO(to_vcard(book))):  # N: whole words of FN only
            fn_words = parsed.fn.value.replace(",", " ").split()
            for part in (parsed.n.value.family, parsed.n.value.given):
                words = part.replace(",", " ").split()
                assert any(
                    fn_words[i : i + len(words)] == words for i in range(len(fn_words) - len(words) + 1)
                )
        names = " ".join(
            part
            for c in contacts
            for part in (
                c.display_name,
                c.name.given,
                c.name.family,
                c.name.additional,
                *(p.raw for p in c.phones),
            )
        )
        for contact in contacts:
            for value in _crm_values(contact):
                if value in names:  # the same words may be part of somebody's name: not a leak
                    continue
                if value in SKELETON:  # "VERSION" as a note is in every card's structure: not a leak
                    continue
                assert value not in text
                assert escape_text(value) not in text
