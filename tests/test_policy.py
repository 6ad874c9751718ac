"""The sync policy: every reason code, the legal bases, the boundaries, combinators, digests."""

from __future__ import annotations

import typing
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contactvault.models import (
    ConsentRecord,
    DirectoryEntry,
    Label,
    LegalBasis,
    MessengerPresence,
    Objection,
    Phone,
)
from contactvault.phones import normalize_phone
from contactvault.sync.policy import (
    REASONS,
    AllOf,
    AnyOf,
    Decision,
    MessengerPolicy,
    NoticeRenewal,
    NumberDecision,
    Policy,
    Reason,
    UnsafeAllowAllValidNumbers,
)
from tests.conftest import consent

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
CREATED = datetime(2024, 1, 10, 8, 0, tzinfo=UTC)
GRANTED = datetime(2023, 1, 1, 9, 0, tzinfo=UTC)  # the base contact's consent
CHECKED = datetime(2023, 1, 2, 10, 0, tzinfo=UTC)  # its number's messenger check

MOBILE = "0151 55501234"  # +4915155501234, mobile
MOBILE_2 = "0171 5550123"  # +491715550123, mobile
FIXED = "030 12345678"  # +493012345678, fixed
US = "+1 202 555 0123"  # +12025550123, fixed_or_mobile
VOIP = "+44 56 1234 5678"  # +445612345678, voip
INVALID = "12"  # no E.164 form


def phone(raw: str = MOBILE, *, present: bool | None = True, checked_at: datetime = CHECKED) -> Phone:
    """A German-read phone; ``present=None`` leaves the messenger presence unknown."""
    number = normalize_phone(raw, default_region="DE")
    if present is None:
        return number
    presence = MessengerPresence(present=present, source="test-device", checked_at=checked_at)
    return number.model_copy(update={"messenger": presence})


def entry(**changes: Any) -> DirectoryEntry:
    """A contact that the default policy allows at ``NOW``, with ``changes`` applied."""
    fields: dict[str, Any] = {
        "id": uuid.uuid4(),
        "version": 1,
        "display_name": "Test Person 1",
        "phones": (phone(),),
        "consents": (consent(granted_at=GRANTED),),
        "created_at": CREATED,
        "updated_at": CREATED,
    }
    return DirectoryEntry(**(fields | changes))


def basis(article: str, **changes: Any) -> LegalBasis:
    """A messenger legal basis under ``article`` with a justification."""
    fields: dict[str, Any] = {"article": article, "purpose": "messenger", "justification": "synthetic"}
    return LegalBasis(**(fields | changes))


def reasons_of(contact: DirectoryEntry, policy: Policy | None = None, now: datetime = NOW) -> tuple[str, ...]:
    """The contact-level reasons of a decision (empty when allowed)."""
    return (policy or MessengerPolicy()).decide(contact, now=now).reasons


DEFAULT = MessengerPolicy()


# --- the reason codes ------------------------------------------------------------------------------


def test_reason_codes_are_the_literal():
    """`REASONS` lists exactly the members of the `Reason` literal, in the same order."""
    assert typing.get_args(Reason) == REASONS
    assert len(set(REASONS)) == 12


def test_baseline_contact_is_allowed():
    """The base contact (mobile, messenger present, consent) is allowed with its number and no reasons."""
    decision = DEFAULT.decide(entry(), now=NOW)
    assert decision.allowed
    assert decision.reasons == ()
    assert decision.numbers == ("+4915155501234",)
    assert decision.per_number == (NumberDecision("+4915155501234", True, ()),)


def test_no_number():
    """A contact without phones gets `no_number`, and loses it once it has a phone."""
    assert reasons_of(entry(phones=())) == ("no_number",)
    assert reasons_of(entry()) == ()


def test_no_number_lists_contact_reasons_too():
    """A contact without phones also shows its contact-level reasons."""
    assert reasons_of(entry(phones=(), consents=())) == ("no_legal_basis", "no_number")


def test_invalid_number():
    """A number without E.164 form gets `invalid_number` only, and is allowed once corrected."""
    decision = DEFAULT.decide(entry(phones=(phone(INVALID),)), now=NOW)
    assert decision.reasons == ("invalid_number",)
    assert decision.per_number == (NumberDecision(None, False, ("invalid_number",)),)
    assert reasons_of(entry(phones=(phone(MOBILE),))) == ()


def test_not_mobile():
    """A fixed line, a VoIP number and a toll-free number get `not_mobile`; a mobile does not."""
    for raw in (FIXED, VOIP, "0800 1234567"):
        assert reasons_of(entry(phones=(phone(raw),))) == ("not_mobile",)
    assert reasons_of(entry(phones=(phone(MOBILE),))) == ()


def test_fixed_or_mobile_counts_as_mobile():
    """A number that may be fixed or mobile (North America) is allowed."""
    assert reasons_of(entry(phones=(phone(US),))) == ()


def test_no_messenger():
    """Unknown presence and known absence both give `no_messenger`; a positive presence removes it."""
    assert reasons_of(entry(phones=(phone(present=None),))) == ("no_messenger",)
    assert reasons_of(entry(phones=(phone(present=False),))) == ("no_messenger",)
    assert reasons_of(entry(phones=(phone(present=True),))) == ()


def test_messenger_check_in_the_future_is_not_known_yet():
    """A presence checked after `now` is not known at `now`."""
    later = phone(checked_at=NOW + timedelta(seconds=1))
    assert reasons_of(entry(phones=(later,))) == ("no_messenger",)
    assert reasons_of(entry(phones=(later,)), now=NOW + timedelta(seconds=1)) == ()


def test_messenger_check_expired():
    """A presence older than `messenger_max_age` gets `messenger_check_expired`; a fresh check removes it."""
    policy = MessengerPolicy(messenger_max_age=timedelta(days=30))
    old = phone(checked_at=NOW - timedelta(days=31))
    assert reasons_of(entry(phones=(old,)), policy) == ("messenger_check_expired",)
    assert reasons_of(entry(phones=(phone(checked_at=NOW - timedelta(days=1)),)), policy) == ()
    assert reasons_of(entry(phones=(old,))) == ()  # no maximum age by default


def test_messenger_max_age_boundary():
    """A check exactly `messenger_max_age` old still counts; a microsecond older does not."""
    policy = MessengerPolicy(messenger_max_age=timedelta(days=30))
    edge = phone(checked_at=NOW - timedelta(days=30))
    past = phone(checked_at=NOW - timedelta(days=30, microseconds=1))
    assert reasons_of(entry(phones=(edge,)), policy) == ()
    assert reasons_of(entry(phones=(past,)), policy) == ("messenger_check_expired",)


def test_absent_presence_is_no_messenger_even_when_old():
    """An old negative check is `no_messenger`, not `messenger_check_expired`."""
    policy = MessengerPolicy(messenger_max_age=timedelta(days=30))
    old_absent = phone(present=False, checked_at=NOW - timedelta(days=90))
    assert reasons_of(entry(phones=(old_absent,)), policy) == ("no_messenger",)


def test_no_legal_basis():
    """A contact without consent or basis gets `no_legal_basis`; a consent removes it."""
    assert reasons_of(entry(consents=())) == ("no_legal_basis",)
    assert reasons_of(entry(consents=(consent(),))) == ()


def test_consent_for_another_purpose_does_not_count():
    """A newsletter consent is no basis for the messenger."""
    assert reasons_of(entry(consents=(consent(purpose="newsletter"),))) == ("no_legal_basis",)
    newsletter = MessengerPolicy(purpose="newsletter")
    assert reasons_of(entry(consents=(consent(purpose="newsletter"),)), newsletter) == ()


def test_consent_withdrawn():
    """A withdrawn consent gives `consent_withdrawn`; a contract basis removes it."""
    withdrawn = consent(withdrawn_at=NOW - timedelta(days=1), withdrawal_channel="email")
    assert reasons_of(entry(consents=(withdrawn,))) == ("consent_withdrawn",)
    assert reasons_of(entry(consents=(withdrawn,), legal_bases=(basis("6(1)(b)"),))) == ()


def test_consent_withdrawn_in_the_future_still_holds():
    """A withdrawal dated after `now` has not happened yet at `now`."""
    withdrawn = consent(withdrawn_at=NOW + timedelta(days=1), withdrawal_channel="email")
    assert reasons_of(entry(consents=(withdrawn,))) == ()
    assert reasons_of(entry(consents=(withdrawn,)), now=NOW + timedelta(days=1)) == ("consent_withdrawn",)


def test_consent_granted_in_the_future_does_not_count():
    """A consent granted after `now` is not a basis at `now`."""
    later = consent(granted_at=NOW + timedelta(hours=1))
    assert reasons_of(entry(consents=(later,))) == ("no_legal_basis",)
    assert reasons_of(entry(consents=(later,)), now=NOW + timedelta(hours=1)) == ()


def test_consent_withdrawn_then_granted_again():
    """A new consent after a withdrawal restores the basis; only the withdrawn one gives the reason."""
    withdrawn = consent(withdrawn_at=datetime(2024, 9, 1, tzinfo=UTC), withdrawal_channel="phone")
    again = consent(granted_at=datetime(2025, 1, 5, tzinfo=UTC), notice_version="4")
    assert reasons_of(entry(consents=(withdrawn, again))) == ()
    assert reasons_of(entry(consents=(withdrawn, again)), now=datetime(2024, 12, 1, tzinfo=UTC)) == (
        "consent_withdrawn",
    )


def test_consent_expired():
    """A consent older than `consent_refresh` gives `consent_expired`; a fresh consent removes it."""
    policy = MessengerPolicy(consent_refresh=timedelta(days=365))
    assert reasons_of(entry(), policy) == ("consent_expired",)  # granted in 2023
    fresh = consent(granted_at=NOW - timedelta(days=10))
    assert reasons_of(entry(consents=(consent(), fresh)), policy) == ()


def test_consent_expired_beats_withdrawn_when_both_exist():
    """An expired, not withdrawn consent next to a withdrawn one is reported as expired."""
    policy = MessengerPolicy(consent_refresh=timedelta(days=365))
    withdrawn = consent(withdrawn_at=datetime(2024, 4, 1, tzinfo=UTC), withdrawal_channel="email")
    assert reasons_of(entry(consents=(withdrawn, consent())), policy) == ("consent_expired",)


# --- notice renewals ----------------------------------------------------------------------------------------

RENEWAL = NoticeRenewal("notice-messenger", "4", NOW - timedelta(days=1))  # the base consent names version 3


def test_a_renewed_notice_expires_older_consents_to_other_versions():
    """From the renewing version's valid_from, a consent to another version given before it ends."""
    policy = MessengerPolicy(renewed_notices=frozenset({RENEWAL}))
    assert reasons_of(entry(), policy) == ("consent_expired",)
    assert reasons_of(entry(), policy, now=RENEWAL.valid_from - timedelta(microseconds=1)) == ()
    assert reasons_of(entry(), policy, now=RENEWAL.valid_from) == ("consent_expired",)


def test_a_renewal_spares_the_same_version_later_consents_and_other_notices():
    policy = MessengerPolicy(renewed_notices=frozenset({RENEWAL}))
    assert reasons_of(entry(consents=(consent(granted_at=GRANTED, notice_version="4"),)), policy) == ()
    assert reasons_of(entry(consents=(consent(granted_at=RENEWAL.valid_from),)), policy) == ()
    assert reasons_of(entry(consents=(consent(granted_at=GRANTED, notice_id="terms"),)), policy) == ()
    renewed_again = entry(
        consents=(consent(granted_at=GRANTED), consent(granted_at=NOW - timedelta(hours=1)))
    )
    assert reasons_of(renewed_again, policy) == ()


def test_a_renewed_consent_with_another_basis_is_allowed_and_a_withdrawn_one_stays_withdrawn():
    policy = MessengerPolicy(renewed_notices=frozenset({RENEWAL}))
    assert reasons_of(entry(legal_bases=(basis("6(1)(b)"),)), policy) == ()
    withdrawn = consent(granted_at=GRANTED, withdrawn_at=NOW - timedelta(days=5), withdrawal_channel="email")
    assert reasons_of(entry(consents=(withdrawn,)), policy) == ("consent_withdrawn",)


def test_renewed_notices_must_be_notice_renewals():
    with pytest.raises(TypeError, match="NoticeRenewal"):
        MessengerPolicy(renewed_notices=frozenset({("notice-messenger", "4", NOW)}))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timezone-aware"):
        NoticeRenewal("notice-messenger", "4", datetime(2025, 1, 1))


def test_policy_from_vault_takes_the_stored_period_and_renewals():
    """``Policy.from_vault`` asks the vault; options given by the caller win."""

    class Stored:
        def consent_refresh(self, purpose: str) -> timedelta | None:
            return timedelta(days=30) if purpose == "messenger" else None

        def notice_renewals(self) -> frozenset[NoticeRenewal]:
            return frozenset({RENEWAL})

    policy = Policy.from_vault(Stored())
    assert policy == MessengerPolicy(consent_refresh=timedelta(days=30), renewed_notices=frozenset({RENEWAL}))
    assert Policy.from_vault(Stored(), "newsletter").consent_refresh is None
    assert Policy.from_vault(Stored(), consent_refresh=None).consent_refresh is None
    assert Policy.from_vault(Stored(), renewed_notices=frozenset()).renewed_notices == frozenset()
    assert Policy.from_vault(Stored(), minimum_age=18).minimum_age == 18


def test_expired_consent_with_another_basis_is_allowed():
    """A legitimate interest carries a contact whose consent has expired."""
    policy = MessengerPolicy(consent_refresh=timedelta(days=365))
    assert reasons_of(entry(legal_bases=(basis("6(1)(f)"),)), policy) == ()


def test_consent_refresh_boundaries():
    """A consent exactly `consent_refresh` old counts; a microsecond older has expired."""
    policy = MessengerPolicy(consent_refresh=timedelta(days=365))
    edge = consent(granted_at=NOW - timedelta(days=365))
    past = consent(granted_at=NOW - timedelta(days=365, microseconds=1))
    assert reasons_of(entry(consents=(edge,)), policy) == ()
    assert reasons_of(entry(consents=(past,)), policy) == ("consent_expired",)


@pytest.mark.parametrize(
    ("consents", "bases"),
    [
        pytest.param((consent(),), (), id="consent"),
        pytest.param((), (basis("6(1)(b)"),), id="contract"),
        pytest.param((), (basis("6(1)(f)"),), id="legitimate-interest"),
    ],
)
def test_legal_basis_alternatives(consents, bases):
    """Consent, a contract and a legitimate interest each carry the contact on their own."""
    assert reasons_of(entry(consents=consents, legal_bases=bases)) == ()


@pytest.mark.parametrize("article", ["6(1)(a)", "6(1)(c)", "6(1)(d)", "6(1)(e)"])
def test_other_articles_do_not_count(article):
    """A bare 6(1)(a) record and a legal obligation, vital or public interest are no messenger basis."""
    assert reasons_of(entry(consents=(), legal_bases=(basis(article),))) == ("no_legal_basis",)


def test_legal_basis_for_another_purpose_does_not_count():
    """A contract basis for invoicing is no basis for the messenger."""
    invoicing = basis("6(1)(b)", purpose="invoicing")
    assert reasons_of(entry(consents=(), legal_bases=(invoicing,))) == ("no_legal_basis",)


def test_legal_basis_recorded_in_the_future_does_not_count():
    """A basis recorded after `now` is not known at `now`."""
    later = basis("6(1)(b)", recorded_at=NOW + timedelta(days=1))
    assert reasons_of(entry(consents=(), legal_bases=(later,))) == ("no_legal_basis",)
    assert reasons_of(entry(consents=(), legal_bases=(later,)), now=NOW + timedelta(days=1)) == ()


def test_restricted():
    """A restriction in force gives `restricted`; lifting it or dating it later removes it."""
    assert reasons_of(entry(restricted_at=NOW - timedelta(days=1))) == ("restricted",)
    assert reasons_of(entry(restricted_at=NOW)) == ("restricted",)
    assert reasons_of(entry(restricted_at=NOW + timedelta(days=1))) == ()
    assert reasons_of(entry(restricted_at=None)) == ()


def test_objected():
    """An objection to the purpose gives `objected`; an objection to another purpose does not."""
    objection = Objection(purpose="messenger", objected_at=NOW - timedelta(days=2))
    assert reasons_of(entry(objections=(objection,))) == ("objected",)
    other = Objection(purpose="newsletter", objected_at=NOW - timedelta(days=2))
    assert reasons_of(entry(objections=(other,))) == ()
    later = Objection(purpose="messenger", objected_at=NOW + timedelta(days=2))
    assert reasons_of(entry(objections=(later,))) == ()


def test_minor():
    """A contact under 16 gets `minor`; an unknown or adult date of birth does not."""
    assert reasons_of(entry(birth_date=date(2012, 1, 1))) == ("minor",)
    assert reasons_of(entry(birth_date=None)) == ()
    assert reasons_of(entry(birth_date=date(1980, 3, 22))) == ()


def test_minor_on_the_sixteenth_birthday():
    """The day before the 16th birthday is `minor`; from the birthday on the contact is allowed."""
    contact = entry(birth_date=date(2009, 6, 15))
    assert reasons_of(contact, now=datetime(2025, 6, 14, 23, 59, 59, tzinfo=UTC)) == ("minor",)
    assert reasons_of(contact, now=datetime(2025, 6, 15, 0, 0, tzinfo=UTC)) == ()


def test_minor_counts_days_in_the_time_zone_of_now():
    """At the same instant, a Berlin `now` already has the birthday that UTC has not reached yet."""
    contact = entry(birth_date=date(2009, 6, 15))
    berlin = timezone(timedelta(hours=2))
    assert reasons_of(contact, now=datetime(2025, 6, 14, 22, 30, tzinfo=UTC)) == ("minor",)
    assert reasons_of(contact, now=datetime(2025, 6, 15, 0, 30, tzinfo=berlin)) == ()


def test_minor_born_on_29_february():
    """Someone born on 29 February has a birthday on that day in leap years, and on 1 March otherwise."""
    contact = entry(birth_date=date(2008, 2, 29))
    assert reasons_of(contact, now=datetime(2024, 2, 28, 12, tzinfo=UTC)) == ("minor",)
    assert reasons_of(contact, now=datetime(2024, 2, 29, 12, tzinfo=UTC)) == ()
    seventeen = MessengerPolicy(minimum_age=17)
    assert reasons_of(contact, seventeen, now=datetime(2025, 2, 28, 12, tzinfo=UTC)) == ("minor",)
    assert reasons_of(contact, seventeen, now=datetime(2025, 3, 1, 0, 0, tzinfo=UTC)) == ()


def test_minimum_age_setting():
    """`minimum_age` moves the limit: 0 admits everyone born, 18 refuses a 17-year-old."""
    seventeen = entry(birth_date=date(2008, 1, 1))
    assert reasons_of(seventeen) == ()
    assert reasons_of(seventeen, MessengerPolicy(minimum_age=18)) == ("minor",)
    assert reasons_of(entry(birth_date=date(2025, 1, 1)), MessengerPolicy(minimum_age=0)) == ()


def test_label_excluded():
    """An excluded label gives `label_excluded`; removing the label removes the reason."""
    policy = MessengerPolicy(excluded_labels=frozenset({"payment pending"}))
    assert reasons_of(entry(labels=(Label(name="payment pending"),)), policy) == ("label_excluded",)
    assert reasons_of(entry(labels=(Label(name="paid"),)), policy) == ()
    assert reasons_of(entry(labels=()), policy) == ()


def test_label_exclusion_is_case_insensitive():
    """Labels match whatever their case, with Unicode case folding and normalisation."""
    policy = MessengerPolicy(excluded_labels=frozenset({"VIP", "Straße", "Zahlung überfällig"}))
    assert policy.excluded_labels == frozenset({"vip", "strasse", "zahlung überfällig"})
    for name in ("vip", "Vip", "VIP", "STRASSE", "ZAHLUNG U\u0308BERFA\u0308LLIG"):
        assert reasons_of(entry(labels=(Label(name=name),)), policy) == ("label_excluded",), name


def test_all_failing_rules_are_listed():
    """A contact that breaks several rules lists every reason, sorted."""
    contact = entry(
        phones=(phone(FIXED, present=None),),
        consents=(),
        restricted_at=NOW - timedelta(days=1),
        birth_date=date(2015, 1, 1),
    )
    assert reasons_of(contact) == ("minor", "no_legal_basis", "no_messenger", "not_mobile", "restricted")


def test_contact_reasons_apply_to_every_number():
    """A contact-level reason appears on each number, next to that number's own reasons."""
    contact = entry(phones=(phone(MOBILE), phone(FIXED), phone(INVALID)), restricted_at=NOW)
    decision = DEFAULT.decide(contact, now=NOW)
    assert [n.reasons for n in decision.per_number] == [
        ("restricted",),
        ("not_mobile", "restricted"),
        ("invalid_number", "restricted"),
    ]


def test_multiple_numbers_with_mixed_decisions():
    """Allowed numbers come out in the contact's order, once each; refused numbers explain themselves."""
    contact = entry(
        phones=(
            phone(FIXED),
            phone(MOBILE_2),
            phone(INVALID),
            phone(MOBILE, present=False),
            phone(MOBILE),
            phone(MOBILE_2),
            phone(US, present=None),
        )
    )
    decision = DEFAULT.decide(contact, now=NOW)
    assert decision.allowed
    assert decision.reasons == ()
    assert decision.numbers == ("+491715550123", "+4915155501234")
    assert [(n.e164, n.allowed, n.reasons) for n in decision.per_number] == [
        ("+493012345678", False, ("not_mobile",)),
        ("+491715550123", True, ()),
        (None, False, ("invalid_number",)),
        ("+4915155501234", False, ("no_messenger",)),
        ("+4915155501234", True, ()),
        ("+491715550123", True, ()),
        ("+12025550123", False, ("no_messenger",)),
    ]


def test_refused_contact_unites_number_reasons():
    """When no number is allowed, the contact's reasons are the union over its numbers."""
    contact = entry(phones=(phone(FIXED), phone(INVALID), phone(MOBILE, present=None)))
    decision = DEFAULT.decide(contact, now=NOW)
    assert not decision.allowed
    assert decision.numbers == ()
    assert decision.reasons == ("invalid_number", "no_messenger", "not_mobile")
    assert len(decision.per_number) == 3


def test_fixed_line_admission():
    """`admit_fixed_line` admits a landline, but never VoIP or toll-free numbers."""
    landline = entry(phones=(phone(FIXED),))
    assert reasons_of(landline) == ("not_mobile",)
    admitting = MessengerPolicy(admit_fixed_line=True)
    assert reasons_of(landline, admitting) == ()
    assert reasons_of(entry(phones=(phone(MOBILE),)), admitting) == ()
    assert reasons_of(entry(phones=(phone(VOIP),)), admitting) == ("not_mobile",)
    assert reasons_of(entry(phones=(phone("0800 1234567"),)), admitting) == ("not_mobile",)


# --- time ------------------------------------------------------------------------------------------


def test_naive_now_is_refused():
    """Every policy refuses a naive `now`, without repeating anything of the contact."""
    naive = datetime(2025, 6, 15, 12, 0)
    policies = [DEFAULT, AllOf(DEFAULT), AnyOf(DEFAULT), UnsafeAllowAllValidNumbers()]
    for policy in policies:
        with pytest.raises(ValueError, match="timezone-aware") as caught:
            policy.decide(entry(), now=naive)
        assert "Test Person" not in str(caught.value)


def test_now_defaults_to_the_current_time():
    """Without `now`, the policy decides for the present moment."""
    assert DEFAULT.decide(entry()).allowed
    expired = entry(phones=(phone(checked_at=datetime.now(UTC) - timedelta(days=2)),))
    assert not MessengerPolicy(messenger_max_age=timedelta(days=1)).decide(expired).allowed


def test_now_in_another_time_zone_is_the_same_instant():
    """A `now` with an offset compares as the same instant as its UTC equivalent."""
    policy = MessengerPolicy(messenger_max_age=timedelta(days=14))
    berlin = NOW.astimezone(timezone(timedelta(hours=2)))
    assert DEFAULT.decide(entry(), now=berlin) == DEFAULT.decide(entry(), now=NOW)
    assert policy.decide(entry(), now=berlin) == policy.decide(entry(), now=NOW)


# --- the policy object -----------------------------------------------------------------------------


def test_policy_default_returns_messenger_policy():
    """`Policy.default()` builds the default `MessengerPolicy`, with options passed through."""
    assert Policy.default() == MessengerPolicy()
    assert type(Policy.default()) is MessengerPolicy
    custom = Policy.default("newsletter", admit_fixed_line=True, minimum_age=18)
    assert custom == MessengerPolicy(purpose="newsletter", admit_fixed_line=True, minimum_age=18)


def test_every_policy_is_a_policy():
    """The shipped policies satisfy the protocol at run time; other objects do not."""
    for policy in (DEFAULT, AllOf(DEFAULT), AnyOf(DEFAULT), UnsafeAllowAllValidNumbers()):
        assert isinstance(policy, Policy)
    assert not isinstance(object(), Policy)
    assert not hasattr(DEFAULT, "default")  # `default` is not a protocol member


def test_policy_is_frozen():
    """Settings cannot be changed after construction."""
    with pytest.raises(AttributeError):
        DEFAULT.minimum_age = 12
    combined = AllOf(DEFAULT)
    with pytest.raises(TypeError, match="frozen"):
        combined._policies = ()


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"purpose": ""}, ValueError),
        ({"purpose": "Messenger"}, ValueError),
        ({"purpose": "-messenger"}, ValueError),
        ({"purpose": "m" * 101}, ValueError),
        ({"purpose": 1}, TypeError),
        ({"admit_fixed_line": 1}, TypeError),
        ({"messenger_max_age": timedelta(0)}, ValueError),
        ({"messenger_max_age": timedelta(days=-1)}, ValueError),
        ({"messenger_max_age": 30}, TypeError),
        ({"consent_refresh": timedelta(0)}, ValueError),
        ({"consent_refresh": timedelta(seconds=-1)}, ValueError),
        ({"minimum_age": -1}, ValueError),
        ({"minimum_age": 121}, ValueError),
        ({"minimum_age": True}, TypeError),
        ({"minimum_age": 16.0}, TypeError),
        ({"excluded_labels": "vip"}, TypeError),
        ({"excluded_labels": frozenset({""})}, ValueError),
        ({"excluded_labels": frozenset({"  "})}, ValueError),
        ({"excluded_labels": frozenset({1})}, TypeError),
    ],
)
def test_invalid_settings_are_refused(options, error):
    """Out-of-range or mistyped settings raise at construction."""
    with pytest.raises(error):
        MessengerPolicy(**options)


def test_valid_setting_extremes():
    """The edges of the allowed ranges are accepted."""
    MessengerPolicy(minimum_age=0)
    MessengerPolicy(minimum_age=120)
    MessengerPolicy(purpose="m" * 100, messenger_max_age=timedelta(microseconds=1))
    assert MessengerPolicy(excluded_labels=["VIP"]).excluded_labels == frozenset({"vip"})


def test_repr_hides_numbers():
    """Decisions show reasons and flags in `repr()`, never a number."""
    decision = DEFAULT.decide(entry(phones=(phone(MOBILE), phone(FIXED))), now=NOW)
    text = repr(decision)
    assert "4915155501234" not in text
    assert "493012345678" not in text
    assert "not_mobile" in text


def test_decision_invariants_are_enforced():
    """A decision or number decision whose fields contradict each other cannot be built."""
    with pytest.raises(ValueError, match=r"E\.164"):
        NumberDecision(None, True, ())
    with pytest.raises(ValueError, match="reason"):
        NumberDecision("+4915155501234", False, ())
    with pytest.raises(ValueError, match="unknown"):
        NumberDecision("+4915155501234", False, ("bogus",))
    allowed = NumberDecision("+4915155501234", True, ())
    with pytest.raises(ValueError, match="numbers"):
        Decision(True, (), (), (allowed,))
    with pytest.raises(ValueError, match="reasons"):
        Decision(False, (), (), ())
    with pytest.raises(ValueError, match="numbers"):
        Decision(True, (), ("+491715550123",), (allowed,))
    assert NumberDecision(None, False, ("not_mobile", "invalid_number", "not_mobile")).reasons == (
        "invalid_number",
        "not_mobile",
    )


# --- combinators -----------------------------------------------------------------------------------


def test_all_of_needs_every_member():
    """`AllOf` allows a number only when every member does, and unites the refusals' reasons."""
    strict = MessengerPolicy(excluded_labels=frozenset({"vip"}))
    contact = entry(labels=(Label(name="VIP"),), phones=(phone(MOBILE), phone(FIXED)))
    assert DEFAULT.decide(contact, now=NOW).allowed
    decision = AllOf(DEFAULT, strict).decide(contact, now=NOW)
    assert not decision.allowed
    assert decision.reasons == ("label_excluded", "not_mobile")
    assert [n.reasons for n in decision.per_number] == [("label_excluded",), ("label_excluded", "not_mobile")]
    assert AllOf(DEFAULT, MessengerPolicy(minimum_age=18)).decide(contact, now=NOW).numbers == (
        "+4915155501234",
    )


def test_all_of_is_per_number():
    """`AllOf` of two members that each allow a different number allows neither."""
    fresh_fixed = phone(FIXED, checked_at=NOW - timedelta(days=1))
    contact = entry(phones=(phone(MOBILE), fresh_fixed))  # the mobile was checked in 2023
    recent_any_line = MessengerPolicy(admit_fixed_line=True, messenger_max_age=timedelta(days=30))
    assert DEFAULT.decide(contact, now=NOW).numbers == ("+4915155501234",)
    assert recent_any_line.decide(contact, now=NOW).numbers == ("+493012345678",)
    decision = AllOf(DEFAULT, recent_any_line).decide(contact, now=NOW)
    assert not decision.allowed
    assert decision.reasons == ("messenger_check_expired", "not_mobile")


def test_any_of_needs_one_member():
    """`AnyOf` allows a number when one member does; when none does, it unites all reasons."""
    landline = entry(phones=(phone(FIXED),))
    either = AnyOf(DEFAULT, MessengerPolicy(admit_fixed_line=True))
    assert either.decide(landline, now=NOW).numbers == ("+493012345678",)
    refused = entry(phones=(phone(FIXED),), consents=())
    decision = either.decide(refused, now=NOW)
    assert not decision.allowed
    assert decision.reasons == ("no_legal_basis", "not_mobile")


def test_any_of_allowed_number_has_no_reasons():
    """A number one member allows carries no reasons, even though another member refused it."""
    decision = AnyOf(MessengerPolicy(minimum_age=18), DEFAULT).decide(
        entry(birth_date=date(2008, 1, 1)), now=NOW
    )
    assert decision.per_number == (NumberDecision("+4915155501234", True, ()),)


def test_combinators_without_phones():
    """Combinators report `no_number` and the members' contact-level reasons for a contact without phones."""
    contact = entry(phones=(), consents=())
    for combinator in (AllOf, AnyOf):
        decision = combinator(DEFAULT, UnsafeAllowAllValidNumbers()).decide(contact, now=NOW)
        assert decision.reasons == ("no_legal_basis", "no_number")
        assert decision.per_number == ()


def test_combinators_nest():
    """A combinator is a policy and can be a member of another."""
    adults = MessengerPolicy(minimum_age=18, admit_fixed_line=True)
    nested = AllOf(AnyOf(DEFAULT, MessengerPolicy(admit_fixed_line=True)), adults)
    contact = entry(phones=(phone(FIXED),), birth_date=date(2000, 1, 1))
    assert nested.decide(contact, now=NOW).numbers == ("+493012345678",)
    assert nested.decide(entry(birth_date=date(2008, 1, 1)), now=NOW).reasons == ("minor",)


@pytest.mark.parametrize("combinator", [AllOf, AnyOf])
def test_empty_combinator_is_an_error(combinator):
    """A combinator without members raises at construction."""
    with pytest.raises(ValueError, match="at least one policy"):
        combinator()


@pytest.mark.parametrize("combinator", [AllOf, AnyOf])
def test_combinator_members_must_be_policies(combinator):
    """A member that is not a policy is refused at construction."""
    with pytest.raises(TypeError, match="policies"):
        combinator(DEFAULT, "messenger")


class _OneDecisionTooFew:
    """A broken third-party policy: it forgets the per-number decisions."""

    def decide(self, contact: DirectoryEntry, *, now: datetime | None = None) -> Decision:
        """Refuse the contact without per-number decisions."""
        return Decision(False, ("no_number",), (), ())

    def digest(self) -> str:
        """A fixed digest."""
        return "0" * 64


def test_combinator_refuses_a_member_that_breaks_the_protocol():
    """A member without one decision per phone makes the combinator raise, not guess."""
    with pytest.raises(ValueError, match="one decision per phone"):
        AllOf(DEFAULT, _OneDecisionTooFew()).decide(entry(), now=NOW)


def test_combinator_equality_and_repr():
    """Combinators compare by kind and members, and their repr names both."""
    assert AllOf(DEFAULT) == AllOf(MessengerPolicy())
    assert AllOf(DEFAULT) != AnyOf(DEFAULT)
    assert hash(AllOf(DEFAULT)) == hash(AllOf(MessengerPolicy()))
    assert repr(AnyOf(UnsafeAllowAllValidNumbers())) == "AnyOf(UnsafeAllowAllValidNumbers())"
    assert AllOf(DEFAULT, UnsafeAllowAllValidNumbers()).policies == (DEFAULT, UnsafeAllowAllValidNumbers())


# --- digests ---------------------------------------------------------------------------------------


def test_digest_is_stable():
    """Equal settings give equal digests, and the default's digest is pinned so that any change shows."""
    assert DEFAULT.digest() == MessengerPolicy().digest() == Policy.default().digest()
    assert DEFAULT.digest() == "53de5e1e70bdbd4f41a8a5678a0719eaf537bf3ca149577739e0bdc6d4bc7354"
    assert len(UnsafeAllowAllValidNumbers().digest()) == 64
    labels = MessengerPolicy(excluded_labels=frozenset({"VIP", "paid"}))
    assert labels.digest() == MessengerPolicy(excluded_labels=frozenset({"paid", "vip"})).digest()


@pytest.mark.parametrize(
    "options",
    [
        {"purpose": "newsletter"},
        {"admit_fixed_line": True},
        {"messenger_max_age": timedelta(days=30)},
        {"messenger_max_age": timedelta(days=30, microseconds=1)},
        {"consent_refresh": timedelta(days=30)},
        {"consent_refresh": timedelta(days=365)},
        {"minimum_age": 18},
        {"minimum_age": 0},
        {"excluded_labels": frozenset({"vip"})},
        {"excluded_labels": frozenset({"vip", "paid"})},
    ],
)
def test_digest_changes_with_each_setting(options):
    """Changing any one setting changes the digest."""
    assert MessengerPolicy(**options).digest() != DEFAULT.digest()


def test_digest_changes_with_renewals_and_ignores_their_order_and_zone():
    """Renewals are part of the digest; the same instants in another zone give the same digest."""
    renewal = NoticeRenewal("notice-messenger", "4", NOW)
    other = NoticeRenewal("terms", "2", NOW - timedelta(days=1))
    digest = MessengerPolicy(renewed_notices=frozenset({renewal, other})).digest()
    assert digest != DEFAULT.digest()
    assert MessengerPolicy(renewed_notices=frozenset()).digest() == DEFAULT.digest()
    shifted = NoticeRenewal("notice-messenger", "4", NOW.astimezone(timezone(timedelta(hours=2))))
    assert MessengerPolicy(renewed_notices=frozenset({shifted, other})).digest() == digest
    later = NoticeRenewal("notice-messenger", "4", NOW + timedelta(microseconds=1))
    assert MessengerPolicy(renewed_notices=frozenset({later, other})).digest() != digest
    assert MessengerPolicy(renewed_notices=frozenset({renewal})).digest() != digest


def test_digest_tells_the_two_time_spans_apart():
    """The same span as message age or as consent refresh gives different digests."""
    span = timedelta(days=30)
    assert MessengerPolicy(messenger_max_age=span).digest() != MessengerPolicy(consent_refresh=span).digest()


def test_combinator_digests():
    """Combinator digests depend on kind and members, not on member order."""
    other = MessengerPolicy(minimum_age=18)
    digests = {
        DEFAULT.digest(),
        AllOf(DEFAULT).digest(),
        AnyOf(DEFAULT).digest(),
        AllOf(DEFAULT, other).digest(),
        AnyOf(DEFAULT, other).digest(),
        UnsafeAllowAllValidNumbers().digest(),
        AllOf(DEFAULT, UnsafeAllowAllValidNumbers()).digest(),
    }
    assert len(digests) == 7
    assert AllOf(DEFAULT, other).digest() == AllOf(other, DEFAULT).digest()
    assert AllOf(AnyOf(DEFAULT)).digest() != AllOf(AllOf(DEFAULT)).digest()


# --- the unsafe policy -----------------------------------------------------------------------------


def test_unsafe_policy_allows_every_valid_number():
    """The unsafe policy ignores every rule but the number's form."""
    contact = entry(
        phones=(phone(FIXED, present=None), phone(INVALID), phone(VOIP, present=False)),
        consents=(),
        restricted_at=NOW - timedelta(days=1),
        objections=(Objection(purpose="messenger", objected_at=NOW - timedelta(days=1)),),
        birth_date=date(2015, 1, 1),
        labels=(Label(name="vip"),),
    )
    decision = UnsafeAllowAllValidNumbers().decide(contact, now=NOW)
    assert decision.numbers == ("+493012345678", "+445612345678")
    assert decision.per_number[1] == NumberDecision(None, False, ("invalid_number",))
    assert UnsafeAllowAllValidNumbers().decide(entry(phones=(phone(INVALID),))).reasons == ("invalid_number",)
    assert UnsafeAllowAllValidNumbers().decide(entry(phones=())).reasons == ("no_number",)
    assert "Warning" in (UnsafeAllowAllValidNumbers.__doc__ or "")


# --- property --------------------------------------------------------------------------------------

_RAWS = (MOBILE, MOBILE_2, FIXED, US, VOIP, INVALID, "0800 1234567", "+44 7400 123456", "abc")
_PURPOSES = ("messenger", "newsletter")
_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
_times = st.integers(min_value=0, max_value=6 * 365 * 24).map(lambda hours: _EPOCH + timedelta(hours=hours))


@st.composite
def _phones(draw: st.DrawFn) -> Phone:
    number = normalize_phone(draw(st.sampled_from(_RAWS)), default_region="DE")
    if draw(st.booleans()):
        presence = MessengerPresence(present=draw(st.booleans()), source="test", checked_at=draw(_times))
        number = number.model_copy(update={"messenger": presence})
    return number


@st.composite
def _consents(draw: st.DrawFn) -> ConsentRecord:
    granted = draw(_times)
    withdrawn = draw(st.none() | st.integers(0, 1000).map(lambda days: granted + timedelta(days=days)))
    return consent(
        purpose=draw(st.sampled_from(_PURPOSES)),
        granted_at=granted,
        withdrawn_at=withdrawn,
        withdrawal_channel=None if withdrawn is None else "email",
        notice_version=draw(st.sampled_from(["2", "3", "4"])),
    )


@st.composite
def _entries(draw: st.DrawFn) -> DirectoryEntry:
    bases = st.builds(
        LegalBasis,
        article=st.sampled_from(["6(1)(a)", "6(1)(b)", "6(1)(c)", "6(1)(d)", "6(1)(e)", "6(1)(f)"]),
        purpose=st.sampled_from(_PURPOSES),
        justification=st.just("synthetic"),
        recorded_at=st.none() | _times,
    )
    objections = st.builds(Objection, purpose=st.sampled_from(_PURPOSES), objected_at=_times)
    labels = st.builds(Label, name=st.sampled_from(["VIP", "vip", "paid", "Payment pending"]))
    fields: dict[str, Any] = {
        "phones": tuple(draw(st.lists(_phones(), max_size=4))),
        "consents": tuple(draw(st.lists(_consents(), max_size=3))),
        "legal_bases": tuple(draw(st.lists(bases, max_size=2))),
        "restricted_at": draw(st.none() | _times),
        "objections": tuple(draw(st.lists(objections, max_size=2))),
        "birth_date": draw(st.none() | st.dates(date(1900, 1, 1), date(2026, 12, 31))),
        "labels": tuple(draw(st.lists(labels, max_size=2))),
    }
    if draw(st.booleans()):  # a tidy contact, so that allowed decisions are common too
        fields |= {"restricted_at": None, "objections": (), "labels": (), "birth_date": None}
        fields["legal_bases"] = tuple(basis("6(1)(b)", purpose=purpose) for purpose in _PURPOSES)
        fields["phones"] = (*fields["phones"], phone(MOBILE, checked_at=_EPOCH))
    return entry(**fields)


_policies = st.builds(
    MessengerPolicy,
    purpose=st.sampled_from(_PURPOSES),
    messenger_max_age=st.none() | st.integers(1, 1000).map(lambda days: timedelta(days=days)),
    consent_refresh=st.none() | st.integers(1, 1000).map(lambda days: timedelta(days=days)),
    minimum_age=st.integers(0, 120),
    excluded_labels=st.sampled_from([frozenset(), frozenset({"vip"}), frozenset({"PAID", "x"})]),
    renewed_notices=st.frozensets(
        st.builds(
            NoticeRenewal,
            st.sampled_from(["notice-messenger", "terms"]),
            st.sampled_from(["3", "4"]),
            st.sampled_from([_EPOCH + timedelta(days=days) for days in (400, 800, 1200, 1600)]) | _times,
        ),
        max_size=2,
    ),
)


@given(contact=_entries(), policy=_policies, now=_times)
def test_decide_property(contact, policy, now):
    """For any contact, `decide` never raises and allows only what the rules allow, naming each reason.

    Only valid, mobile, messenger-using numbers, of contacts with a legal basis for the purpose, no
    restriction and no objection; each of those that fails is named among the reasons.
    """
    decision = policy.decide(contact, now=now)
    assert decision.allowed == bool(decision.numbers)
    assert len(decision.per_number) == len(contact.phones)
    if decision.allowed:
        assert decision.reasons == ()
    else:
        assert decision.reasons
        assert set(decision.reasons) <= set(REASONS)
    assert len(set(decision.numbers)) == len(decision.numbers)
    for number, phone_ in zip(decision.per_number, contact.phones, strict=True):
        assert number.e164 == phone_.e164
        if number.allowed:
            assert number.reasons == ()
            assert phone_.e164 is not None
            assert phone_.kind in {"mobile", "fixed_or_mobile"}
            assert phone_.messenger is not None
            assert phone_.messenger.present
        else:
            assert number.reasons
    assert decision.numbers == tuple(dict.fromkeys(n.e164 for n in decision.per_number if n.allowed))
    assert set(decision.numbers) <= set(contact.e164_numbers())
    everything = AnyOf(policy, UnsafeAllowAllValidNumbers()).decide(contact, now=now)
    assert everything.numbers == contact.e164_numbers()
    # The rights and the legal basis, as of ``now``, each decide on their own and are named as the reason.
    restricted = contact.restricted_at is not None and contact.restricted_at <= now
    objected = any(o.purpose == policy.purpose and o.objected_at <= now for o in contact.objections)
    assert ("restricted" in decision.reasons) == restricted
    assert ("objected" in decision.reasons) == objected
    consent_holds = any(
        c.purpose == policy.purpose
        and c.granted_at <= now
        and (c.withdrawn_at is None or c.withdrawn_at > now)
        and (policy.consent_refresh is None or now - c.granted_at <= policy.consent_refresh)
        and not any(  # a renewing version of the notice applies: the consent needs asking again
            r.notice_id == c.notice_id
            and r.version != c.notice_version
            and c.granted_at < r.valid_from <= now
            for r in policy.renewed_notices
        )
        for c in contact.consents
    )
    basis_holds = any(
        b.purpose == policy.purpose
        and b.article in ("6(1)(b)", "6(1)(f)")  # contract or legitimate interest: docs/policy.md
        and (b.recorded_at is None or b.recorded_at <= now)
        for b in contact.legal_bases
    )
    basis_reasons = {"no_legal_basis", "consent_withdrawn", "consent_expired"}
    assert basis_reasons.isdisjoint(decision.reasons) == (consent_holds or basis_holds)
    if decision.allowed:
        assert not restricted
        assert not objected
        assert consent_holds or basis_holds


# Times on a grid of days, so that a consent, a renewal's valid_from and now often meet or touch.
_DAYS = st.sampled_from([_EPOCH + timedelta(days=days) for days in range(9)])
_LATER_DAYS = st.sampled_from([_EPOCH + timedelta(days=days) for days in range(8, 0, -1)])  # not day 0
_RENEWAL = st.builds(
    NoticeRenewal, st.sampled_from(["notice-messenger", "terms"]), st.sampled_from(["4", "3"]), _LATER_DAYS
)


@st.composite
def _renewal_consents(draw: st.DrawFn) -> ConsentRecord:
    granted = draw(_DAYS)
    withdrawn = draw(st.none() | st.sampled_from([granted + timedelta(days=days) for days in range(9)]))
    return consent(
        granted_at=granted,
        withdrawn_at=withdrawn,
        withdrawal_channel=None if withdrawn is None else "email",
        notice_id=draw(st.sampled_from(["notice-messenger", "notice-messenger", "terms"])),
        notice_version=draw(st.sampled_from(["3", "4"])),
    )


@given(
    consents=st.lists(_renewal_consents(), min_size=1, max_size=3) | st.just([]),
    renewals=st.frozensets(_RENEWAL, min_size=1, max_size=3) | st.just(frozenset()),
    refresh=st.none() | st.integers(1, 8).map(lambda days: timedelta(days=days)),
    now=_LATER_DAYS | _DAYS,
)
def test_a_renewed_consent_never_counts_and_nothing_else_stops_counting(consents, renewals, refresh, now):
    """Consent holds exactly when an active, fresh consent exists that no renewing version applies to.

    A renewal applies to a consent naming the same notice with another version, granted before the
    renewing version's valid_from, from that moment on; a renewal never touches any other consent.
    """
    policy = MessengerPolicy(consent_refresh=refresh, renewed_notices=renewals)
    active = [c for c in consents if c.granted_at <= now and (c.withdrawn_at is None or c.withdrawn_at > now)]
    holds = any(
        (refresh is None or now - c.granted_at <= refresh)
        and not any(
            r.notice_id == c.notice_id
            and r.version != c.notice_version
            and c.granted_at < r.valid_from <= now
            for r in renewals
        )
        for c in active
    )
    granted = [c for c in consents if c.granted_at <= now]
    if holds:
        expected = set()
    elif active:
        expected = {"consent_expired"}
    else:
        expected = {"consent_withdrawn"} if granted else {"no_legal_basis"}
    basis_reasons = {"no_legal_basis", "consent_withdrawn", "consent_expired"}
    assert set(reasons_of(entry(consents=tuple(consents)), policy, now=now)) & basis_reasons == expected
