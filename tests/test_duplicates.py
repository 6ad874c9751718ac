"""Duplicates: finding contacts that share a normalised number, and merging them without losing anything."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from contactvault.duplicates import DuplicateGroup, find_duplicates, merge_duplicates
from contactvault.models import (
    Birthday,
    ConsentRecord,
    Contact,
    CustomField,
    EmailAddress,
    Label,
    LegalBasis,
    NameParts,
    Phone,
    PostalAddress,
)

T0 = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)

N1 = "+4915550000001"
N2 = "+4915550000002"
N3 = "+4915550000003"
N4 = "+4915550000004"


def phone(number: str) -> Phone:
    return Phone(raw=number, e164=number, region="DE", kind="mobile")


def bad_phone(raw: str) -> Phone:
    return Phone(raw=raw, problem="invalid_number")


def person(display_name: str, *numbers: str, **fields: Any) -> Contact:
    """A synthetic contact with the given E.164 numbers."""
    return Contact(display_name=display_name, phones=[phone(n) for n in numbers], **fields)


def consent(purpose: str) -> ConsentRecord:
    return ConsentRecord(
        purpose=purpose,
        granted_at=T0,
        channel="written",
        notice_id="notice-messenger",
        notice_version="2",
        recorded_by="front-desk",
    )


# -- find_duplicates --------------------------------------------------------------------------------------


def test_contacts_sharing_a_number_form_a_group():
    """Two contacts with the same E.164 number are one group, in the order they were seen."""
    a, b, c = person("Anna Probe", N1), person("Bernd Probe", N2), person("Clara Probe", N1)
    groups = find_duplicates([a, b, c])
    assert groups == [DuplicateGroup(e164=N1, contact_ids=(a.id, c.id))]


def test_groups_come_in_order_of_first_sight():
    """Groups are listed in the order their numbers were first seen."""
    a, b = person("Anna Probe", N2, N1), person("Bernd Probe", N1, N2)
    c, d = person("Clara Probe", N3), person("Dora Probe", N3)
    groups = find_duplicates([a, b, c, d])
    assert [g.e164 for g in groups] == [N2, N1, N3]
    assert all(g.contact_ids == (a.id, b.id) for g in groups[:2])
    assert groups[2].contact_ids == (c.id, d.id)


def test_a_contact_repeating_its_own_number_is_not_a_duplicate():
    """A contact that lists one number twice is not its own duplicate."""
    a = person("Anna Probe", N1, N1)
    assert find_duplicates([a]) == []
    b = person("Bernd Probe", N1)
    assert find_duplicates([a, b]) == [DuplicateGroup(e164=N1, contact_ids=(a.id, b.id))]


def test_existing_contacts_count_only_with_a_new_one():
    """A number shared only among existing contacts is not reported; a new contact joining it is."""
    old_a, old_b = person("Anna Alt", N1), person("Bernd Alt", N1)
    new_c, new_d = person("Clara Neu", N2), person("Dora Neu", N1)
    assert find_duplicates([new_c], existing=[old_a, old_b]) == []
    groups = find_duplicates([new_c, new_d], existing=[old_a, old_b])
    assert groups == [DuplicateGroup(e164=N1, contact_ids=(old_a.id, old_b.id, new_d.id))]


def test_new_contact_matching_one_existing_contact():
    """A new contact sharing a number with one existing contact is reported, existing first."""
    old = person("Anna Alt", N1)
    new = person("Anna Neu", N1)
    assert find_duplicates([new], existing=[old]) == [DuplicateGroup(e164=N1, contact_ids=(old.id, new.id))]


def test_reimporting_the_same_contact_is_not_a_duplicate():
    """A contact present both as existing and as new (same id) is not its own duplicate."""
    a = person("Anna Probe", N1)
    assert find_duplicates([a], existing=[a]) == []


def test_numbers_without_e164_are_never_grouped():
    """Two contacts with the same unnormalised number are not reported."""
    a = Contact(display_name="Anna Probe", phones=[bad_phone("030 5550")])
    b = Contact(display_name="Bernd Probe", phones=[bad_phone("030 5550")])
    assert find_duplicates([a, b]) == []


def test_find_duplicates_accepts_generators():
    """Both arguments may be one-shot iterables."""
    a, b = person("Anna Probe", N1), person("Bernd Probe", N1)
    groups = find_duplicates(iter([b]), existing=(c for c in [a]))
    assert groups == [DuplicateGroup(e164=N1, contact_ids=(a.id, b.id))]


def test_duplicate_group_repr_hides_the_number():
    """A group's repr and str show the contact ids but not the shared number."""
    a, b = person("Anna Probe", N1), person("Bernd Probe", N1)
    (group,) = find_duplicates([a, b])
    for text in (repr(group), str(group)):
        assert N1 not in text
        assert N1[1:] not in text
        assert "15550000001" not in text
        assert str(a.id) in text


# -- merge_duplicates -------------------------------------------------------------------------------------


def test_merge_without_groups_returns_contacts_unchanged():
    """With an empty list of groups nothing is merged, and the order is kept."""
    contacts = [person("Anna Probe", N1), person("Bernd Probe", N1), person("Clara Probe", N2)]
    assert merge_duplicates(contacts, []) == contacts


def test_merge_defaults_to_found_duplicates():
    """Without groups, merge_duplicates merges what find_duplicates finds."""
    a, b = person("Anna Probe", N1), person("Bernd Probe", N1)
    merged = merge_duplicates([a, b])
    assert len(merged) == 1
    assert merged[0].id == a.id


def test_merge_is_transitive():
    """A~B by one number and B~C by another give one contact holding all numbers."""
    a = person("Anna Probe", N1)
    b = person("Bernd Probe", N1, N2)
    c = person("Clara Probe", N2, N3)
    merged = merge_duplicates([a, b, c])
    assert len(merged) == 1
    assert merged[0].e164_numbers() == (N1, N2, N3)


def test_merge_is_transitive_when_the_chain_is_listed_backwards():
    """Transitive clusters form whatever the order of contacts: C~B, then B~A."""
    c = person("Clara Probe", N3, N2)
    unrelated = person("Udo Probe", N4)
    b = person("Bernd Probe", N2, N1)
    a = person("Anna Probe", N1)
    merged = merge_duplicates([c, unrelated, b, a])
    assert [m.id for m in merged] == [c.id, unrelated.id]
    assert set(merged[0].e164_numbers()) == {N1, N2, N3}


def test_merge_keeps_each_number_once():
    """A number shared by the members appears once in the merged contact; invalid numbers are kept."""
    a = Contact(display_name="Anna Probe", phones=[phone(N1), bad_phone("0170 55")])
    b = Contact(display_name="Anna P.", phones=[phone(N1), phone(N2), bad_phone("030 5550")])
    (merged,) = merge_duplicates([a, b])
    assert [p.e164 for p in merged.phones if p.e164] == [N1, N2]
    assert {p.raw for p in merged.phones if p.e164 is None} == {"0170 55", "030 5550"}


def test_merge_keeps_every_email_once_ignoring_case():
    """E-mail addresses of all members are kept; the same address in another case is kept once."""
    a = person("Anna Probe", N1, emails=[EmailAddress(address="Anna@Example.org")])
    b = person(
        "Anna P.",
        N1,
        emails=[EmailAddress(address="anna@example.org"), EmailAddress(address="anna.work@example.net")],
    )
    (merged,) = merge_duplicates([a, b])
    assert [e.address for e in merged.emails] == ["Anna@Example.org", "anna.work@example.net"]


def test_merge_keeps_first_id_and_display_name():
    """The merged contact has the first member's id and display name."""
    a = person("Anna Probe", N1)
    b = person("Anna P.", N1)
    (merged,) = merge_duplicates([a, b])
    assert merged.id == a.id
    assert merged.display_name == "Anna Probe"


def test_merge_keeps_every_multi_valued_field():
    """Notes, addresses, labels, URLs, custom fields, consents and legal bases of all members are kept."""
    a = person(
        "Anna Probe",
        N1,
        notes=["Zahlt bar"],
        addresses=[PostalAddress(street="Musterweg 7", locality="Beispielstadt")],
        labels=[Label(name="VIP")],
        urls=["https://example.org/anna"],
        custom_fields=[CustomField(name="X-SHOE-SIZE", value="38")],
        consents=[consent("messenger")],
        legal_bases=[LegalBasis(article="6(1)(b)", purpose="invoicing", justification="Werkvertrag")],
    )
    b = person(
        "Anna P.",
        N1,
        notes=["Ruft abends an", "Zahlt bar"],
        addresses=[PostalAddress(street="Probeallee 3", locality="Testdorf")],
        labels=[Label(name="payment pending"), Label(name="vip")],
        urls=["https://example.net/ap"],
        custom_fields=[CustomField(name="X-PET", value="Kater Fridolin")],
        consents=[consent("newsletter")],
        legal_bases=[LegalBasis(article="6(1)(f)", purpose="reminders", justification="Termine")],
    )
    (merged,) = merge_duplicates([a, b])
    assert merged.notes == ("Zahlt bar", "Ruft abends an")
    assert [adr.street for adr in merged.addresses] == ["Musterweg 7", "Probeallee 3"]
    assert [label.name.casefold() for label in merged.labels] == ["vip", "payment pending"]
    assert merged.urls == ("https://example.org/anna", "https://example.net/ap")
    assert {(c.name, c.value) for c in merged.custom_fields} >= {
        ("X-SHOE-SIZE", "38"),
        ("X-PET", "Kater Fridolin"),
    }
    assert [c.purpose for c in merged.consents] == ["messenger", "newsletter"]
    assert [lb.purpose for lb in merged.legal_bases] == ["invoicing", "reminders"]


def test_merge_keeps_conflicting_birthday_and_organisation_as_custom_fields():
    """On a conflicting birthday or organisation the first wins and the other is kept as MERGED-..."""
    a = person(
        "Anna Probe", N1, birthday=Birthday(year=1980, month=4, day=12), organisation="Tischlerei Probe"
    )
    b = person("Anna P.", N1, birthday=Birthday(month=5, day=1), organisation="Probe & Söhne")
    (merged,) = merge_duplicates([a, b])
    assert merged.birthday == Birthday(year=1980, month=4, day=12)
    assert merged.organisation == "Tischlerei Probe"
    kept = {c.name: c.value for c in merged.custom_fields if c.name.startswith("MERGED-")}
    assert "--05-01" in kept.values()
    assert "Probe & Söhne" in kept.values()


def test_merge_keeps_a_later_members_differing_name():
    """A later member's differing display name is kept as a MERGED-... custom field, not lost."""
    a = person("Anna Probe", N1, name=NameParts(family="Probe", given="Anna"))
    b = person("Anna Probe-Meier", N1, name=NameParts(family="Probe-Meier", given="Anna"))
    (merged,) = merge_duplicates([a, b])
    assert merged.display_name == "Anna Probe"
    assert merged.name.family == "Probe"
    kept = [c.value for c in merged.custom_fields if c.name.startswith("MERGED-")]
    assert "Anna Probe-Meier" in kept


def test_merge_fills_empty_single_values_without_merged_fields():
    """A value only one member has is taken over; equal values add no MERGED-... field."""
    a = person("Anna Probe", N1, birthday=Birthday(month=5, day=1), title="Meisterin")
    b = person(
        "Anna Probe", N1, birthday=Birthday(month=5, day=1), organisation="Probe & Söhne", title="Meisterin"
    )
    (merged,) = merge_duplicates([a, b])
    assert merged.organisation == "Probe & Söhne"
    assert merged.birthday == Birthday(month=5, day=1)
    assert not [c for c in merged.custom_fields if c.name.startswith("MERGED-")]


def test_merge_keeps_earliest_creation_time():
    """The merged contact was created when its oldest member was."""
    a = person("Anna Probe", N1, created_at=T0, updated_at=T0)
    b = person("Anna P.", N1, created_at=T0 - timedelta(days=9), updated_at=T0)
    (merged,) = merge_duplicates([a, b])
    assert merged.created_at == T0 - timedelta(days=9)
    assert merged.updated_at >= T0


def test_contacts_outside_groups_pass_through_in_order():
    """Unmerged contacts keep their order, and a merged cluster sits where its first member was."""
    u1 = person("Udo Eins", N3)
    a = person("Anna Probe", N1)
    u2 = person("Ute Zwei", N4)
    b = person("Anna P.", N1)
    u3 = Contact(display_name="Uwe Drei")
    merged = merge_duplicates([u1, a, u2, b, u3])
    assert [m.id for m in merged] == [u1.id, a.id, u2.id, u3.id]
    assert merged[0] is u1
    assert merged[2] is u2
    assert merged[3] is u3


def test_merge_only_the_groups_given():
    """Passing a subset of groups merges only those; groups naming unknown ids are ignored."""
    a, b = person("Anna Probe", N1), person("Anna P.", N1)
    c, d = person("Clara Probe", N2), person("Clara P.", N2)
    outsider = person("Otto Fremd", N1)
    groups = find_duplicates([a, b, c, d], existing=[outsider])
    first = next(g for g in groups if g.e164 == N1)
    merged = merge_duplicates([a, b, c, d], [first])
    assert [m.id for m in merged] == [a.id, c.id, d.id]


def test_merged_list_has_no_duplicates_left():
    """After merging, no two contacts share an E.164 number."""
    contacts = [
        person("Anna Probe", N1),
        person("Bernd Probe", N2, N1),
        person("Clara Probe", N3),
        person("Dora Probe", N3, N4),
        person("Emil Probe", N4),
    ]
    merged = merge_duplicates(contacts)
    assert find_duplicates(merged) == []
    assert len(merged) == 2


# -- the property: nothing is lost ------------------------------------------------------------------------

POOL_NUMBERS = [f"+49155500000{i:02d}" for i in range(8)]
POOL_EMAILS = [
    "anna@example.org",
    "ANNA@example.org",
    "bernd@example.net",
    "clara@example.com",
    "d@example.de",
]
POOL_NOTES = ["Zahlt bar", "Ruft abends an", "zahlt bar", "Hund im Hof", "🙂"]


@st.composite
def contact_lists(draw: st.DrawFn) -> list[Contact]:
    """Lists of contacts that share numbers, e-mail addresses and notes from small pools."""
    contacts = []
    for i in range(draw(st.integers(0, 8))):
        phones = [phone(n) for n in draw(st.lists(st.sampled_from(POOL_NUMBERS), max_size=3, unique=True))]
        if draw(st.booleans()):
            phones.append(bad_phone(f"030 55{i}"))
        contacts.append(
            Contact(
                display_name=f"Kontakt {i}",
                phones=phones,
                emails=[
                    EmailAddress(address=a) for a in draw(st.lists(st.sampled_from(POOL_EMAILS), max_size=2))
                ],
                notes=draw(st.lists(st.sampled_from(POOL_NOTES), max_size=2)),
                birthday=draw(
                    st.none() | st.builds(Birthday, month=st.integers(1, 12), day=st.integers(1, 28))
                ),
                organisation=draw(st.sampled_from(["", "Probe GmbH", "Test AG"])),
            )
        )
    return contacts


@given(contacts=contact_lists())
def test_merging_never_loses_a_number_an_email_or_a_note(contacts):
    """Every E.164 number, e-mail address (ignoring case) and note of the input is in the output."""
    merged = merge_duplicates(contacts)

    def numbers(cs: list[Contact]) -> set[str]:
        return {p.e164 for c in cs for p in c.phones if p.e164}

    def raws(cs: list[Contact]) -> set[str]:
        return {p.raw for c in cs for p in c.phones if p.e164 is None}

    def emails(cs: list[Contact]) -> set[str]:
        return {e.address.casefold() for c in cs for e in c.emails}

    def notes(cs: list[Contact]) -> set[str]:
        return {n for c in cs for n in c.notes}

    assert numbers(merged) == numbers(contacts)
    assert raws(merged) == raws(contacts)
    assert emails(merged) == emails(contacts)
    assert notes(merged) == notes(contacts)
    assert find_duplicates(merged) == []
    assert [m.id for m in merged] == [cluster[0].id for cluster in _clusters(contacts)]
    for contact in merged:
        numbers_here = [p.e164 for p in contact.phones if p.e164]
        assert len(numbers_here) == len(set(numbers_here))


def _clusters(contacts: list[Contact]) -> list[list[Contact]]:
    """Connected components of "shares a number", each in input order, ordered by first member (naively)."""
    clusters: list[list[Contact]] = []
    for contact in contacts:
        mine = set(contact.e164_numbers())
        joined = [cl for cl in clusters if mine & {n for c in cl for n in c.e164_numbers()}]
        rest = [cl for cl in clusters if all(cl is not j for j in joined)]
        clusters = [*rest, sorted([*(c for cl in joined for c in cl), contact], key=contacts.index)]
    return sorted(clusters, key=lambda cl: contacts.index(cl[0]))
