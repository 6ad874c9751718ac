"""The shortcuts of the vault's write path: each one is proven to give what the long way gives.

``add_many`` does not validate again a contact this process validated whole (``models.contact.checked_whole``)
when it has nothing to attribute; everything else is validated again, as before. These tests pin down which
contacts count as checked whole, that a broken one is still refused, and that what the short way stores is
what the long way stores. Run on SQLite and PostgreSQL (the ``backend`` fixture).
"""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from contactvault import Contact, ContactSource, DirectoryEntry, KdfParams, Phone, Vault, crypto
from contactvault.models.contact import checked_whole
from contactvault.vault.core import validated
from contactvault.vault.records import directory_json
from tests.conftest import consent
from tests.strategies import full_contacts

FAST = KdfParams.insecure_fast_for_tests()
PASSPHRASE = "correct horse battery staple"  # noqa: S105  (a test vault's passphrase)

_PLAIN = {
    "display_name": "Jürgen Beispiel",
    "phones": [{"raw": "0151 55501234", "e164": "+4915155501234", "region": "DE", "kind": "mobile"}],
    "emails": [{"address": "kunde@example.org"}],
    "notes": ["Rückruf"],
    "labels": [{"name": "VIP"}],
    "source": {"format": "vcard", "line": 3, "uid": "card-1"},
}


class _Subclass(Contact):
    """A subclass: the vault validates it again as a plain ``Contact``."""


def _plain(**changes: object) -> Contact:
    return Contact.model_validate(_PLAIN | changes)


@pytest.fixture
def vault(where: Path | str):
    """A new, empty vault on the test's backend."""
    with Vault.create(where, PASSPHRASE, kdf=FAST) as opened:
        yield opened


def test_only_a_contact_validated_whole_counts_as_checked():
    """From plain data or JSON: checked. A copy, a construct, a pickle, a subclass, a nested model: not."""
    contact = _plain()
    assert checked_whole(contact)
    assert checked_whole(Contact.model_validate_json(contact.model_dump_json()))
    assert checked_whole(Contact.model_validate(contact.model_dump()))
    assert checked_whole(Contact.model_validate(contact))  # the very same object, returned as it is

    assert not checked_whole(contact.model_copy())
    assert not checked_whole(contact.model_copy(update={"display_name": "Anna"}))
    assert not checked_whole(Contact.model_construct(**dict(contact)))
    assert not checked_whole(copy.copy(contact))
    assert not checked_whole(copy.deepcopy(contact))
    assert not checked_whole(pickle.loads(pickle.dumps(contact)))  # noqa: S301  (our own bytes)
    assert not checked_whole(Contact(display_name="Anna"))
    assert not checked_whole(_Subclass.model_validate(_PLAIN))
    assert not checked_whole(Contact.model_validate(_PLAIN, strict=False))
    # pydantic takes a model object found in the data as it is, unvalidated: such a contact is not checked.
    phone = Phone(raw="0151 55501234", e164="+4915155501234", region="DE")
    assert not checked_whole(Contact.model_validate(_PLAIN | {"phones": [phone]}))


def test_a_broken_copy_is_refused_by_add_many(vault):
    """A model_copy that broke a rule, at the top or inside a nested model, is still refused."""
    good = _plain()
    broken_name = good.model_copy(update={"display_name": "Zeile 1\nZeile 2"})
    bad_phone = good.phones[0].model_copy(update={"e164": "0151 not E.164"})
    broken_inside = Contact.model_validate(_PLAIN | {"phones": [bad_phone]})
    for broken in (broken_name, broken_inside):
        with pytest.raises(ValidationError):
            vault.add_many([good, broken])
    assert len(vault) == 0


def test_the_short_way_stores_what_the_long_way_stores(vault):
    """A checked contact is stored at version 1, equal to what validating it again gives, and reads back."""
    contacts = [_plain(), _plain(display_name="Anna Muster", phones=[], source=None)]
    assert all(checked_whole(c) for c in contacts)
    long_way = [
        Contact.model_validate(validated(c.model_copy(), version=1, by="owner").model_dump())
        for c in contacts
    ]
    short_way = [validated(c, version=1, by="owner") for c in contacts]
    assert short_way == long_way
    assert all(c.version == 1 for c in short_way)
    ids = vault.add_many(contacts)
    assert [vault.get(cid) for cid in ids] == long_way


def test_a_checked_contact_with_records_is_still_attributed(vault):
    """Consents, legal bases and objections take the long way: the user who opened the vault records them."""
    contact = _plain(consents=[consent(recorded_by="someone else").model_dump()])
    assert checked_whole(contact)
    stored = vault.get(vault.add_many([contact])[0])
    assert [c.recorded_by for c in stored.consents] == ["owner"]


def test_the_long_way_still_validates_what_it_attributes(vault):
    """A model_copy with consents that broke a rule is refused by the long way (its dump validated once).

    The long way's result counts as checked whole and equals what ``Contact.model_validate`` gives.
    """
    good = _plain(consents=[consent().model_dump()])
    broken = good.model_copy(update={"display_name": "   "})
    with pytest.raises(ValidationError):
        vault.add_many([good.model_copy(), broken])
    assert len(vault) == 0
    made = validated(good.model_copy(), version=1, by="owner")
    assert checked_whole(made)
    assert made == Contact.model_validate(made.model_dump())


_DIGESTS = st.lists(
    st.tuples(st.from_regex(r"[a-z_]{1,40}", fullmatch=True), st.from_regex(r"[0-9a-f]{32}", fullmatch=True)),
    max_size=3,
)


@settings(max_examples=200, deadline=None)
@given(
    full_contacts(), st.integers(min_value=1, max_value=2**40), _DIGESTS, st.sampled_from([None, "", "ü-1"])
)
def test_the_directory_is_written_as_the_entry_would_be(contact, version, digests, uid):
    """The directory JSON written straight from a contact says what ``DirectoryEntry.of`` would say."""
    source = contact.source
    if source is not None:  # the card's UID and the digests a re-import compares: the entry has both
        source = ContactSource.model_validate({**source.model_dump(), "imported": digests, "uid": uid})
    contact = Contact.model_validate({**contact.model_dump(), "version": version, "source": source})
    entry = DirectoryEntry.of(contact, version)
    written = directory_json(contact)
    assert json.loads(written) == json.loads(entry.model_dump_json(exclude_defaults=True))
    assert DirectoryEntry.model_validate_json(written) == entry


def test_a_contact_without_a_version_is_not_sealed(vault):
    """Version 0 (never stored) cannot be sealed: its directory would not read back."""
    records = vault._core.records
    with pytest.raises(ValueError, match="version"):
        records.seal(_plain(), crypto.random_bytes())
