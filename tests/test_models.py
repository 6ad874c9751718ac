"""The contact model: strict, frozen, no unknown fields, and quiet about personal values."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from contactvault import models
from contactvault.models import (
    Birthday,
    ConsentRecord,
    Contact,
    ContactSource,
    CustomField,
    DirectoryEntry,
    EmailAddress,
    Label,
    LegalBasis,
    MessengerEntry,
    MessengerPresence,
    NameParts,
    Objection,
    Phone,
    PostalAddress,
)
from tests.conftest import CONSENT_GRANTED, consent

T0 = CONSENT_GRANTED
T1 = T0 + timedelta(days=30)
FIXED_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")


# One valid set of arguments per model, and a field that must refuse a wrongly typed value in strict mode.
VALID: dict[type[BaseModel], tuple[dict[str, Any], str, Any]] = {
    NameParts: ({"family": "Beispiel", "given": "Ada"}, "family", 42),
    MessengerPresence: ({"present": True, "source": "manual", "checked_at": T0}, "source", 42),
    Phone: ({"raw": "030 5550123", "problem": "invalid_number"}, "raw", 3055501),
    EmailAddress: ({"address": "ada@example.org"}, "address", 42),
    PostalAddress: ({"street": "Musterweg 7", "locality": "Beispielstadt"}, "street", 7),
    Birthday: ({"year": 1987, "month": 4, "day": 12}, "month", "4"),
    Label: ({"name": "VIP"}, "name", 42),
    CustomField: ({"name": "X-SHOE-SIZE", "value": "44"}, "value", 44),
    ConsentRecord: (
        {
            "purpose": "messenger",
            "granted_at": T0,
            "channel": "written",
            "notice_id": "notice-messenger",
            "notice_version": "3",
            "recorded_by": "front-desk",
        },
        "notice_version",
        3,
    ),
    LegalBasis: (
        {"article": "6(1)(b)", "purpose": "messenger", "justification": "Werkvertrag"},
        "purpose",
        1,
    ),
    ContactSource: ({"format": "vcard", "file": "export.vcf", "line": 3}, "file", 42),
    Objection: ({"purpose": "marketing", "objected_at": T0}, "purpose", 42),
    DirectoryEntry: (
        {"id": uuid.uuid4(), "version": 1, "display_name": "Ada", "created_at": T0, "updated_at": T0},
        "version",
        "1",
    ),
    Contact: ({"display_name": "Ada Beispiel"}, "display_name", 42),
    MessengerEntry: (
        {"display_name": "Ada Beispiel", "phone_e164": "+4915550123456"},
        "phone_e164",
        4915550123,
    ),
}

ALL_MODELS = list(VALID)


def test_the_table_covers_every_public_model():
    """Every pydantic model the module exports is checked by the tests below."""
    exported = {
        obj
        for name in models.__all__
        if isinstance(obj := getattr(models, name), type) and issubclass(obj, BaseModel)
    }
    assert exported == set(VALID)


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_model_forbids_unknown_fields(model):
    """An unknown field is an error, not silently dropped."""
    kwargs, _, _ = VALID[model]
    assert model.model_config.get("extra") == "forbid"
    with pytest.raises(ValidationError) as info:
        model(**kwargs, favourite_colour="teal")
    assert info.value.errors()[0]["type"] == "extra_forbidden"


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_model_is_frozen(model):
    """Assigning to a field raises and leaves the value unchanged."""
    kwargs, field, _ = VALID[model]
    obj = model(**kwargs)
    before = getattr(obj, field)
    with pytest.raises((TypeError, ValueError, AttributeError)):
        setattr(obj, field, before)
    assert getattr(obj, field) == before
    hash(obj)  # frozen models are hashable


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_model_is_strict(model):
    """A value of the wrong type (an int for a str, a str for an int) is rejected, not coerced."""
    kwargs, field, wrong = VALID[model]
    assert model.model_config.get("strict") is True
    with pytest.raises(ValidationError):
        model(**(kwargs | {field: wrong}))


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_model_hides_input_in_errors(model):
    """Every model is configured to keep input values out of validation error messages."""
    assert model.model_config.get("hide_input_in_errors") is True


def test_frozen_assignment_error_does_not_echo_the_value():
    """The error from assigning to a frozen contact does not repeat the value that was assigned."""
    contact = Contact(display_name="Ada Beispiel")
    with pytest.raises((TypeError, ValueError, AttributeError)) as info:
        contact.display_name = "Jürgen Geheimname"  # type: ignore[misc]
    assert "Geheimname" not in str(info.value)
    assert "Geheimname" not in repr(info.value)


@pytest.mark.parametrize(
    ("model", "field", "extra"),
    [
        (MessengerPresence, "checked_at", {}),
        (ConsentRecord, "granted_at", {}),
        (ConsentRecord, "withdrawn_at", {"withdrawal_channel": "email"}),
        (LegalBasis, "recorded_at", {}),
        (Contact, "created_at", {"updated_at": datetime(2030, 1, 1, tzinfo=UTC)}),
        (Contact, "updated_at", {}),
    ],
)
def test_naive_datetime_is_rejected(model, field, extra):
    """A datetime without a time zone is rejected for every aware-datetime field."""
    kwargs, _, _ = VALID[model]
    with pytest.raises(ValidationError) as info:
        model(**(kwargs | extra | {field: datetime(2024, 3, 2, 10, 0)}))
    assert {e["type"] for e in info.value.errors()} == {"timezone_aware"}


def test_datetime_string_is_rejected_in_python_mode():
    """Strict mode does not parse an ISO string into a datetime when validating Python objects."""
    with pytest.raises(ValidationError):
        Contact(display_name="Ada Beispiel", created_at="2024-03-01T09:30:00+00:00")


def test_contact_tuple_fields_accept_lists_and_give_tuples():
    """Every collection field of a contact accepts a list and stores a tuple."""
    contact = Contact(
        display_name="Ada Beispiel",
        phones=[Phone(raw="030 5550123", problem="invalid_number")],
        emails=[EmailAddress(address="ada@example.org")],
        addresses=[PostalAddress(street="Musterweg 7")],
        urls=["https://example.org/ada"],
        notes=["Prefers mornings"],
        labels=[Label(name="VIP")],
        custom_fields=[CustomField(name="X-SHOE-SIZE", value="44")],
        consents=[consent()],
        legal_bases=[LegalBasis(article="6(1)(a)", purpose="messenger")],
    )
    for name in ("phones", "emails", "addresses", "urls", "notes", "labels", "custom_fields"):
        value = getattr(contact, name)
        assert isinstance(value, tuple), name
        assert len(value) == 1, name
    assert isinstance(contact.consents, tuple)
    assert isinstance(contact.legal_bases, tuple)


@pytest.mark.parametrize("model", [Phone, EmailAddress, PostalAddress], ids=lambda m: m.__name__)
def test_types_accept_a_list_and_give_a_tuple(model):
    """The ``types`` field accepts a list and stores a tuple."""
    kwargs, _, _ = VALID[model]
    obj = model(**kwargs, types=["HOME", "pref"])
    assert obj.types == ("HOME", "pref")


def test_tuple_items_stay_strict():
    """Accepting a list does not make its items lax: an int note or bytes type is rejected."""
    with pytest.raises(ValidationError):
        Contact(display_name="Ada Beispiel", notes=[42])
    with pytest.raises(ValidationError):
        Phone(raw="030 5550123", problem="invalid_number", types=[b"CELL"])
    with pytest.raises(ValidationError):
        Contact(
            display_name="Ada Beispiel",
            phones=[{"raw": "030", "problem": "not_a_number", "preferred": "yes"}],
        )


# -- validation errors never repeat the input ---------------------------------------------------------------

PERSONAL_NAME = "Jürgen\nMüller"
PERSONAL_E164 = "+0049170"


@pytest.mark.parametrize(
    ("build", "secrets"),
    [
        (lambda: Contact(display_name=PERSONAL_NAME), ["Jürgen", "Müller"]),
        (lambda: Phone(raw="0170 5550987", e164=PERSONAL_E164), [PERSONAL_E164, "0170 5550987", "0049170"]),
        (lambda: MessengerEntry(display_name=PERSONAL_NAME, phone_e164=PERSONAL_E164), ["Jürgen", "0049170"]),
        (lambda: MessengerEntry(display_name=" Jürgen Müller", phone_e164="+4915550123456"), ["Jürgen"]),
        (
            lambda: Contact(
                display_name="Jürgen Müller", phones=[{"raw": "0170 5550987", "e164": PERSONAL_E164}]
            ),
            ["Jürgen", "0170 5550987", "0049170"],
        ),
        (lambda: EmailAddress(address="juergen.mueller@example.org", types="HOME"), ["juergen.mueller"]),
        (lambda: Label(name="Schuldner Müller", colour="Jürgen"), ["Schuldner", "Jürgen"]),
        (lambda: CustomField(name="X-NOTE", value=12345678), ["12345678"]),
        (lambda: Birthday(year=2023, month=2, day=29), ["2023"]),
        (lambda: consent(purpose="Jürgen Müller"), ["Jürgen"]),
        (
            lambda: LegalBasis(article="6(1)(z)", purpose="messenger", justification="Vertrag Müller"),
            ["Müller"],
        ),
        (
            lambda: Contact.model_validate_json(
                '{"display_name": "J\\u00fcrgen\\nM\\u00fcller", "notes": ["Geheimnis"], "extra": "Schuld"}'
            ),
            ["Jürgen", "Müller", "Geheimnis", "Schuld"],
        ),
        (lambda: Contact.model_validate_json('{"display_name": "Jürgen Geheimname", '), ["Geheimname"]),
    ],
)
def test_validation_errors_do_not_contain_the_input(build, secrets):
    """An invalid model built from personal-looking values raises an error that names none of them."""
    with pytest.raises(ValidationError) as info:
        build()
    error = info.value
    shown = [
        str(error),
        repr(error),
        repr(error.errors()),
        error.json(),
        repr(error.errors(include_url=False)),
    ]
    for secret in secrets:
        for text in shown:
            assert secret not in text
    assert all(e["input"] is None for e in error.errors())


@given(
    st.sampled_from(
        ["display_name", "nickname", "organisation", "external_id", "id", "created_at", "phones"]
    ),
    st.text(min_size=4, max_size=40).map(lambda text: f"Marker{text}\n\x00"),
)
def test_no_validation_error_carries_the_rejected_value(field, marker):
    """Whatever value a field refuses, no form of the error (str, repr, errors(), json()) carries it."""
    value = marker * 100 if field in ("nickname", "organisation") else marker  # too long for these two
    with pytest.raises(ValidationError) as info:
        Contact.model_validate({"display_name": "Anna", field: value})
    error = info.value
    for text in (str(error), repr(error), repr(error.errors()), error.json()):
        assert "Marker" not in text


# -- repr() and str() never show personal values ----------------------------------------------------------

_no_controls = st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp"))
personal_text = st.text(_no_controls, min_size=3, max_size=30)
display_names = personal_text.filter(lambda s: s.strip() == s and len(s.strip()) >= 3)
e164_numbers = st.from_regex(r"\A\+[1-9][0-9]{7,14}\Z")


def _hidden(real: BaseModel, skeleton: BaseModel, values: list[str]) -> None:
    """Assert that repr and str of ``real`` match the skeleton's and show none of ``values``."""
    assert repr(real) == repr(skeleton)
    assert str(real) == str(skeleton)
    for value in values:
        if len(value) >= 3 and value not in repr(skeleton):
            assert value not in repr(real)
            assert value not in str(real)


def _build(text: dict[str, str], e164: str, year: int) -> dict[str, BaseModel]:
    """Every model whose repr is checked, filled from ``text`` (personal values) and ``e164``."""
    name = NameParts(
        family=text["family"],
        given=text["given"],
        additional=text["additional"],
        prefixes=text["prefixes"],
        suffixes=text["suffixes"],
    )
    phone = Phone(
        raw=text["raw"], e164=e164, region="DE", kind="mobile", extension=text["ext"], label=text["label"]
    )
    email = EmailAddress(address=text["email"], label=text["label"])
    address = PostalAddress(
        po_box=text["po_box"],
        street=text["street"],
        locality=text["locality"],
        region=text["region"],
        postal_code=text["postal_code"],
        country=text["country"],
        label=text["label"],
    )
    birthday = Birthday(year=year, month=2, day=28)
    label = Label(name=text["tag"])
    custom = CustomField(name="X-SHOE-SIZE", value=text["custom"], label=text["label"])
    entry = MessengerEntry(display_name=text["display"], phone_e164=e164)
    contact = Contact(
        id=FIXED_ID,
        display_name=text["display"],
        name=name,
        nickname=text["nickname"],
        phones=[phone],
        emails=[email],
        addresses=[address],
        birthday=birthday,
        organisation=text["org"],
        department=text["department"],
        title=text["title"],
        urls=[text["url"]],
        notes=[text["note"]],
        labels=[label],
        custom_fields=[custom],
        created_at=T0,
        updated_at=T1,
    )
    return {
        "contact": contact,
        "phone": phone,
        "email": email,
        "address": address,
        "birthday": birthday,
        "name": name,
        "label": label,
        "custom": custom,
        "entry": entry,
    }


TEXT_KEYS = [
    "family",
    "given",
    "additional",
    "prefixes",
    "suffixes",
    "raw",
    "ext",
    "label",
    "email",
    "po_box",
    "street",
    "locality",
    "region",
    "postal_code",
    "country",
    "tag",
    "custom",
    "nickname",
    "org",
    "department",
    "title",
    "url",
    "note",
]


@given(
    text=st.fixed_dictionaries(dict.fromkeys(TEXT_KEYS, personal_text) | {"display": display_names}),
    e164=e164_numbers,
    year=st.integers(1900, 2020),
)
def test_repr_and_str_never_show_personal_values(text, e164, year):
    """No name, number, e-mail, address part, note or label of three or more characters appears in repr."""
    real = _build(text, e164, year)
    skeleton = _build(dict.fromkeys(text, "xyz") | {"display": "Xyz"}, "+4915550000000", 1970)
    values = [*text.values(), e164, e164[1:], str(year)]
    for key, obj in real.items():
        _hidden(obj, skeleton[key], values)


def test_repr_hides_free_text_of_consents_and_legal_bases():
    """A contact's repr shows neither who recorded a consent, its evidence, nor a basis's justification."""
    contact = Contact(
        display_name="Ada Beispiel",
        consents=[consent(recorded_by="Bettina Empfang", evidence_ref="scan Ada Beispiel unterschrift.pdf")],
        legal_bases=[
            LegalBasis(article="6(1)(b)", purpose="invoicing", justification="Werkvertrag Ada 2024")
        ],
    )
    for value in ("Bettina Empfang", "scan Ada Beispiel", "Werkvertrag Ada"):
        assert value not in repr(contact)
        assert value not in str(contact)


# -- MessengerEntry ---------------------------------------------------------------------------------------


def test_messenger_entry_has_exactly_two_fields():
    """A messenger entry holds a display name and an E.164 number, nothing else."""
    assert set(MessengerEntry.model_fields) == {"display_name", "phone_e164"}


def test_messenger_entry_is_final():
    """MessengerEntry is marked with typing.final, so type checkers refuse a subclass."""
    assert getattr(MessengerEntry, "__final__", False) is True


def test_messenger_entry_config_is_minimal_and_strict():
    """MessengerEntry is frozen, strict and forbids unknown fields."""
    config = MessengerEntry.model_config
    assert config.get("frozen") is True
    assert config.get("strict") is True
    assert config.get("extra") == "forbid"


@pytest.mark.parametrize("number", ["+4915550123456", "+12", "+123456789012345", "+12125550100"])
def test_messenger_entry_accepts_e164(number):
    """A well-formed E.164 number is accepted as is."""
    assert MessengerEntry(display_name="Ada Beispiel", phone_e164=number).phone_e164 == number


@pytest.mark.parametrize(
    "number",
    [
        "0170123",
        "+0123",
        "+1234567890123456",
        "+49170ABC",
        "+49 1555 0123456",
        "+4915550123456\n",
        " +4915550123456",
        "+",
        "",
        "+\uff14\uff19\uff11\uff17\uff10\uff11\uff12",
        "tel:+4915550123456",
    ],
)
def test_messenger_entry_rejects_non_e164(number):
    """Anything but a plus, a non-zero digit and at most 14 more ASCII digits is rejected."""
    with pytest.raises(ValidationError):
        MessengerEntry(display_name="Ada Beispiel", phone_e164=number)


@pytest.mark.parametrize(
    "name",
    [
        "Jürgen\nMüller",
        "Jürgen\rMüller",
        "Jürgen\tMüller",
        "Jürgen\x00Müller",
        "Jürgen\x1bMüller",
        "Jürgen\x85Müller",
        "Jürgen\u2028Müller",
        "Jürgen\u2029Müller",
        " Jürgen Müller",
        "Jürgen Müller ",
        "Jürgen Müller\n",
        "",
        "   ",
    ],
)
def test_messenger_entry_rejects_bad_display_names(name):
    """Control characters, line breaks (Unicode ones included) and surrounding spaces are rejected."""
    with pytest.raises(ValidationError):
        MessengerEntry(display_name=name, phone_e164="+4915550123456")


def test_messenger_entry_rejects_wrong_types_and_extra_fields():
    """An int name or number, or any third field, is rejected."""
    with pytest.raises(ValidationError):
        MessengerEntry(display_name=42, phone_e164="+4915550123456")
    with pytest.raises(ValidationError):
        MessengerEntry(display_name="Ada Beispiel", phone_e164=4915550123456)
    with pytest.raises(ValidationError):
        MessengerEntry(display_name="Ada Beispiel", phone_e164="+4915550123456", email="ada@example.org")


# -- Phone ------------------------------------------------------------------------------------------------


def test_phone_needs_exactly_one_of_e164_and_problem():
    """A phone has an E.164 form or a problem: both, or neither, is an error."""
    assert Phone(raw="030 5550123", e164="+49305550123").valid
    assert not Phone(raw="030 5550", problem="invalid_number").valid
    with pytest.raises(ValidationError):
        Phone(raw="030 5550123")
    with pytest.raises(ValidationError):
        Phone(raw="030 5550123", e164="+49305550123", problem="invalid_number")


def test_phone_rejects_unknown_problem_and_kind():
    """Problem and kind are closed vocabularies."""
    with pytest.raises(ValidationError):
        Phone(raw="030 5550123", problem="typo")
    with pytest.raises(ValidationError):
        Phone(raw="030 5550123", e164="+49305550123", kind="landline")


# -- Birthday ---------------------------------------------------------------------------------------------


def test_birthday_without_year_allows_29_february():
    """Without a year, 29 February is a real birthday."""
    assert Birthday(month=2, day=29).iso() == "--02-29"


def test_birthday_29_february_needs_a_leap_year():
    """29 February is rejected in 2023 and accepted in 2024."""
    with pytest.raises(ValidationError):
        Birthday(year=2023, month=2, day=29)
    assert Birthday(year=2024, month=2, day=29).iso() == "2024-02-29"


@pytest.mark.parametrize(("month", "day"), [(4, 31), (13, 1), (0, 1), (1, 0), (1, 32)])
def test_birthday_rejects_impossible_dates(month, day):
    """A day beyond the month's end, or a month outside 1..12, is rejected."""
    with pytest.raises(ValidationError):
        Birthday(month=month, day=day)


def test_birthday_iso_forms():
    """``iso()`` gives ``YYYY-MM-DD``, zero-padded, or ``--MM-DD`` without a year."""
    assert Birthday(year=1987, month=4, day=2).iso() == "1987-04-02"
    assert Birthday(year=987, month=12, day=24).iso() == "0987-12-24"
    assert Birthday(month=3, day=5).iso() == "--03-05"


# -- ConsentRecord and LegalBasis -------------------------------------------------------------------------


def test_consent_withdrawal_before_grant_is_rejected():
    """A consent cannot be withdrawn before it was granted."""
    with pytest.raises(ValidationError):
        consent(withdrawn_at=T0 - timedelta(seconds=1), withdrawal_channel="email")


def test_consent_withdrawal_at_or_after_grant_is_accepted():
    """A withdrawal at the moment of the grant or later is kept and marks the consent withdrawn."""
    assert consent(withdrawn_at=T0, withdrawal_channel="email").withdrawn
    assert consent(withdrawn_at=T1, withdrawal_channel="messenger").withdrawn
    assert not consent().withdrawn


def test_consent_withdrawal_needs_time_and_channel_together():
    """A withdrawal time without a channel, or a channel without a time, is rejected."""
    with pytest.raises(ValidationError):
        consent(withdrawn_at=T1)
    with pytest.raises(ValidationError):
        consent(withdrawal_channel="email")


@pytest.mark.parametrize("purpose", ["Messenger", "", "-messenger", "messenger sync", "nachrichten/wa", "ä"])
def test_consent_purpose_pattern_rejects(purpose):
    """A purpose is a lower-case slug: no capitals, spaces, slashes or leading punctuation."""
    with pytest.raises(ValidationError):
        consent(purpose=purpose)


@pytest.mark.parametrize("purpose", ["messenger", "messenger.whatsapp", "newsletter_2024", "a-b", "7"])
def test_consent_purpose_pattern_accepts(purpose):
    """Lower-case letters, digits, dots, dashes and underscores make a purpose."""
    assert consent(purpose=purpose).purpose == purpose


@pytest.mark.parametrize("article", ["6(1)(b)", "6(1)(c)", "6(1)(d)", "6(1)(e)", "6(1)(f)"])
def test_legal_basis_other_than_consent_needs_justification(article):
    """Every basis but consent is rejected without a justification, blank or empty."""
    for justification in ("", "   \n"):
        with pytest.raises(ValidationError):
            LegalBasis(article=article, purpose="messenger", justification=justification)
    assert (
        LegalBasis(article=article, purpose="messenger", justification="Werkvertrag 17/2024").article
        == article
    )


def test_legal_basis_consent_needs_no_justification():
    """Art. 6(1)(a) is accepted without a justification (the consent record carries the proof)."""
    assert LegalBasis(article="6(1)(a)", purpose="messenger").justification == ""


def test_legal_basis_rejects_unknown_article():
    """Only the six points of Art. 6(1) are bases."""
    with pytest.raises(ValidationError):
        LegalBasis(article="6(1)(g)", purpose="messenger", justification="x")


# -- Contact ----------------------------------------------------------------------------------------------


def test_contact_updated_before_created_is_rejected():
    """``updated_at`` before ``created_at`` is rejected; equal times are fine."""
    with pytest.raises(ValidationError):
        Contact(display_name="Ada Beispiel", created_at=T1, updated_at=T0)
    assert Contact(display_name="Ada Beispiel", created_at=T0, updated_at=T0).updated_at == T0


@pytest.mark.parametrize(
    "name", ["", "   ", "Jürgen\nMüller", "Jürgen\r\nMüller", "Ada\x00", "Ada\u2028Beispiel"]
)
def test_contact_rejects_bad_display_names(name):
    """An empty display name or one with control characters or line breaks is rejected."""
    with pytest.raises(ValidationError):
        Contact(display_name=name)


def test_contact_e164_numbers_are_ordered_without_repeats():
    """``e164_numbers()`` lists normalised numbers once each, in order, skipping invalid ones."""
    contact = Contact(
        display_name="Ada Beispiel",
        phones=[
            Phone(raw="0155 50123456", e164="+4915550123456"),
            Phone(raw="030 5550", problem="invalid_number"),
            Phone(raw="030 5550123", e164="+49305550123"),
            Phone(raw="+49 155 50123456", e164="+4915550123456"),
        ],
    )
    assert contact.e164_numbers() == ("+4915550123456", "+49305550123")


def full_contact() -> Contact:
    """A contact with every field filled in."""
    return Contact(
        display_name="Ada Beispiel",
        name=NameParts(family="Beispiel", given="Ada", additional="M.", prefixes="Dr.", suffixes="jr."),
        nickname="Adi",
        phones=[
            Phone(
                raw="0155 50123456",
                e164="+4915550123456",
                region="DE",
                kind="mobile",
                extension="12",
                label="Werkstatt",
                types=["CELL"],
                preferred=True,
                messenger=MessengerPresence(present=True, source="manual", checked_at=T0),
            ),
            Phone(raw="030 5550", problem="invalid_number"),
        ],
        emails=[EmailAddress(address="ada@example.org", label="privat", types=["HOME"], preferred=True)],
        addresses=[PostalAddress(street="Musterweg 7", locality="Beispielstadt", postal_code="12345")],
        birthday=Birthday(month=2, day=29),
        organisation="Tischlerei Beispiel",
        department="Werkstatt",
        title="Meisterin",
        urls=["https://example.org/ada"],
        notes=["Zahlt bar;\nimmer pünktlich", "🙂"],
        labels=[Label(name="VIP", colour="#aa00FF")],
        custom_fields=[CustomField(name="X-SHOE-SIZE", value="38", label="Schuhgröße")],
        consents=[consent(withdrawn_at=T1, withdrawal_channel="email", evidence_ref="form-17")],
        legal_bases=[
            LegalBasis(article="6(1)(b)", purpose="invoicing", justification="Werkvertrag", recorded_at=T0)
        ],
        created_at=T0,
        updated_at=T1,
        source=ContactSource(format="vcard", version="3.0", file="export.vcf", line=12, uid="abc-123"),
    )


def test_contact_json_round_trip():
    """A fully filled contact survives ``model_dump_json`` and ``model_validate_json`` unchanged."""
    contact = full_contact()
    assert Contact.model_validate_json(contact.model_dump_json()) == contact


@given(
    display=display_names,
    notes=st.lists(st.text(max_size=50), max_size=3),
    nickname=st.text(max_size=20),
)
def test_contact_json_round_trip_any_text(display, notes, nickname):
    """Arbitrary text in names and notes survives a JSON round trip."""
    contact = Contact(display_name=display, notes=notes, nickname=nickname, created_at=T0, updated_at=T1)
    assert Contact.model_validate_json(contact.model_dump_json()) == contact
