"""The retention schedule and its plan, storage-free: the issue's examples, the rule that matters, junk."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contactvault.models import ConsentRecord, Contact, DirectoryEntry, Label, LegalBasis
from contactvault.retention import (
    ALWAYS_KEPT,
    STRIPPABLE,
    PurposeNeeds,
    Rule,
    Schedule,
    Selector,
    add_months,
    parse_schedule,
    plan,
)

T0 = datetime(2015, 1, 1, tzinfo=UTC)

EXAMPLE = """
version = 1

[purposes.messenger]
needs = ["phones"]
consent_refresh_months = 24

[purposes.invoicing]
needs = ["addresses", "external_id"]
needed_months = 120

[[rules]]
name = "no-basis-36-months"
action = "erase"
inactive_months = 36
contacts = { no_basis = true }

[[rules]]
name = "customer-business-need-over"
action = "strip"
inactive_months = 24
keep = ["addresses", "external_id", "labels"]
contacts = { label = "customer" }

[[rules]]
name = "customer-statutory-period-over"
action = "erase"
inactive_months = 120
contacts = { label = "customer" }
"""


def entry(**fields) -> DirectoryEntry:
    base = {
        "id": uuid.uuid4(),
        "version": 1,
        "display_name": "Anna Beispiel",
        "created_at": T0,
        "updated_at": T0,
    }
    return DirectoryEntry(**(base | fields))


def consent(purpose="messenger", granted=T0, withdrawn=None) -> ConsentRecord:
    return ConsentRecord(
        purpose=purpose,
        granted_at=granted,
        channel="written",
        notice_id="n",
        notice_version="1",
        recorded_by="owner",
        withdrawn_at=withdrawn,
        withdrawal_channel=None if withdrawn is None else "email",
    )


def invoicing(recorded=T0) -> LegalBasis:
    return LegalBasis(article="6(1)(c)", purpose="invoicing", justification="§147 AO", recorded_at=recorded)


def months(n: int) -> datetime:
    return add_months(T0, n)


# --- the two examples -----------------------------------------------------------------------------


def test_no_basis_and_no_contact_for_36_months_is_erased_from_then():
    """No legal basis and no contact for 36 months: erase; not at 35 months, from 36 on, with its date."""
    schedule = parse_schedule(EXAMPLE)
    lapsed = entry(consents=(consent(withdrawn=months(2)),))
    assert plan([lapsed], schedule, now=months(37)).items == ()  # withdrawn at 2: inactive from 38
    item = plan([lapsed], schedule, now=months(38)).items[0]
    assert (item.rule, item.action, item.reasons) == ("no-basis-36-months", "erase", ("no_basis", "inactive"))
    assert item.since == months(38)
    assert item.last_activity == months(2)
    assert item.removes == ()


def test_customer_is_stripped_after_the_business_need_and_erased_after_the_statutory_period():
    """A customer with invoices keeps name and address for 10 years, the rest goes after 2 years."""
    schedule = parse_schedule(EXAMPLE)
    customer = entry(labels=(Label(name="Customer"),), legal_bases=(invoicing(),))
    assert plan([customer], schedule, now=months(23)).items == ()
    strip = plan([customer], schedule, now=months(24)).items[0]
    assert (strip.rule, strip.action) == ("customer-business-need-over", "strip")
    assert "addresses" not in strip.removes
    assert "external_id" not in strip.removes
    assert {"phones", "emails", "notes", "birthday"} <= set(strip.removes)
    # the strip applied: not planned again while nothing happens
    done = {customer.id: [(months(24), strip.removes)]}
    assert plan([customer], schedule, now=months(60), stripped=done).items == ()
    erase = plan([customer], schedule, now=months(120), stripped=done).items[0]
    assert (erase.rule, erase.action, erase.since) == ("customer-statutory-period-over", "erase", months(120))


# --- the rule that matters --------------------------------------------------------------------------------


def test_a_valid_consent_for_a_needed_purpose_blocks_erasure_and_protects_its_fields():
    """An unexpired consent for the messenger: no erase at all, and a strip keeps the phones."""
    schedule = parse_schedule(EXAMPLE)
    fan = entry(labels=(Label(name="customer"),), consents=(consent(granted=months(0)),))
    at = months(23)  # the consent counts 24 months; inactive for 23 months
    relaxed = schedule.model_copy(
        update={"rules": tuple(r.model_copy(update={"inactive_months": 0}) for r in schedule.rules)}
    )
    items = plan([fan], relaxed, now=at).items
    assert [i.action for i in items] == ["strip"]
    assert "phones" not in items[0].removes
    # once the consent has expired, the phones go too
    later = plan([fan], relaxed, now=months(25)).items
    assert later[0].action == "erase"


def test_a_purpose_the_schedule_does_not_list_protects_nothing():
    """A consent for a purpose the business no longer needs (not listed) does not keep the contact."""
    schedule = Schedule(rules=(Rule(name="all", action="erase", inactive_months=12),))
    subscriber = entry(consents=(consent(purpose="newsletter"),))
    assert [i.action for i in plan([subscriber], schedule, now=months(12)).items] == ["erase"]
    needed = Schedule(purposes={"newsletter": PurposeNeeds()}, rules=schedule.rules)
    assert plan([subscriber], needed, now=months(12)).items == ()


def test_restricted_contacts_are_selected_only_by_a_rule_that_says_so():
    """Art. 18: a restricted contact is kept unless a rule names restricted contacts."""
    held = entry(restricted_at=months(1))
    anyone = Schedule(rules=(Rule(name="all", action="erase", inactive_months=12),))
    assert plan([held], anyone, now=months(40)).items == ()
    named = Schedule(
        rules=(Rule(name="r", action="erase", inactive_months=12, contacts=Selector(restricted=True)),)
    )
    item = plan([held], named, now=months(40)).items[0]
    assert item.reasons == ("restricted", "inactive")
    assert item.since == months(13)


def test_erase_wins_over_strip_and_unknown_future_is_ignored():
    """The first erase rule wins over strips; a contact created after now is not looked at."""
    schedule = Schedule(
        rules=(
            Rule(name="strip", action="strip", inactive_months=1, keep=("addresses",)),
            Rule(name="erase", action="erase", inactive_months=2),
        )
    )
    assert plan([entry()], schedule, now=months(3)).items[0].rule == "erase"
    assert plan([entry(created_at=months(5), updated_at=months(5))], schedule, now=months(3)).items == ()


def test_add_months_clamps_to_the_end_of_the_month():
    """31 January plus one month is the last day of February; a year of months is a year."""
    assert add_months(datetime(2024, 1, 31, tzinfo=UTC), 1) == datetime(2024, 2, 29, tzinfo=UTC)
    assert add_months(datetime(2023, 1, 31, tzinfo=UTC), 1) == datetime(2023, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2023, 11, 15, tzinfo=UTC), 14) == datetime(2025, 1, 15, tzinfo=UTC)


def test_the_plan_is_json_with_a_stable_schema():
    """The plan's JSON names the schema, the moment, the schedule's digest and each item's fields."""
    schedule = parse_schedule(EXAMPLE)
    document = json.loads(plan([entry()], schedule, now=months(40)).to_json())
    assert document["schema"] == "contactvault.retention-plan/1"
    assert document["schedule"] == schedule.digest()
    assert set(document["items"][0]) == {
        "contact", "version", "rule", "action", "reasons", "since", "last_activity", "removes",
    }  # fmt: skip


# --- Hypothesis: random consent histories and random schedules ------------------------------------------

PURPOSES = ("messenger", "invoicing", "newsletter")
_moments = st.integers(0, 200).map(lambda m: add_months(T0, m) + timedelta(hours=1))


@st.composite
def histories(draw: st.DrawFn) -> DirectoryEntry:
    created = draw(_moments)
    consents = []
    for _ in range(draw(st.integers(0, 3))):
        granted = created + timedelta(days=draw(st.integers(0, 4000)))
        later = draw(st.one_of(st.none(), st.integers(0, 3000)))
        withdrawn = None if later is None else granted + timedelta(days=later)
        consents.append(consent(draw(st.sampled_from(PURPOSES)), granted, withdrawn))
    bases = [
        LegalBasis(
            article=draw(st.sampled_from(("6(1)(a)", "6(1)(b)", "6(1)(c)", "6(1)(f)"))),
            purpose=draw(st.sampled_from(PURPOSES)),
            justification="contract",
            recorded_at=draw(
                st.one_of(st.none(), st.just(created + timedelta(days=draw(st.integers(0, 4000)))))
            ),
        )
        for _ in range(draw(st.integers(0, 2)))
    ]
    return entry(
        created_at=created,
        updated_at=created + timedelta(days=draw(st.integers(0, 3000))),
        consents=tuple(consents),
        legal_bases=tuple(bases),
        labels=tuple(Label(name=n) for n in draw(st.sets(st.sampled_from(("customer", "VIP"))))),
        restricted_at=draw(st.sampled_from((None, None, None, created + timedelta(days=5)))),
    )


_fields = st.sets(st.sampled_from(STRIPPABLE), max_size=4).map(lambda s: tuple(sorted(s)))
_months_or_none = st.one_of(st.none(), st.integers(1, 150))


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    purposes = {
        p: PurposeNeeds(
            needs=draw(_fields),
            consent_refresh_months=draw(_months_or_none),
            needed_months=draw(_months_or_none),
        )
        for p in draw(st.sets(st.sampled_from(PURPOSES)))
    }
    rules = []
    for i in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(("erase", "strip")))
        selector = Selector(
            no_basis=draw(st.sampled_from((None, None, None, True, False))),
            no_basis_for=draw(st.sampled_from((None, None, None, *PURPOSES))),
            label=draw(st.sampled_from((None, None, "Customer", "vip"))),
            restricted=draw(st.sampled_from((False, False, False, True))),
        )
        keep = draw(_fields) if action == "strip" else ()
        rules.append(
            Rule(
                name=f"r{i}",
                action=action,
                inactive_months=draw(st.integers(0, 60)),
                contacts=selector,
                keep=keep,
            )
        )
    if any(r.contacts.label is not None for r in rules):  # a strip then keeps the labels (see Schedule)
        rules = [
            r.model_copy(update={"keep": tuple(sorted({*r.keep, "labels"}))}) if r.action == "strip" else r
            for r in rules
        ]
    return Schedule.model_validate({"purposes": purposes, "rules": [r.model_dump() for r in rules]})


def _valid(e: DirectoryEntry, purpose: str, now: datetime, refresh: int | None) -> bool:
    """The oracle: a basis for ``purpose`` holds at ``now`` (written out again, plainly)."""
    for c in e.consents:
        if c.purpose != purpose or c.granted_at > now:
            continue
        if c.withdrawn_at is not None and c.withdrawn_at <= now:
            continue
        if refresh is None or now <= add_months(c.granted_at, refresh):
            return True
    return any(
        b.purpose == purpose and b.article != "6(1)(a)" and (b.recorded_at is None or b.recorded_at <= now)
        for b in e.legal_bases
    )


def _last(e: DirectoryEntry, now: datetime) -> datetime:
    times = [e.created_at, e.updated_at, e.restricted_at]
    times += [t for c in e.consents for t in (c.granted_at, c.withdrawn_at)]
    times += [b.recorded_at for b in e.legal_bases]
    return max(t for t in times if t is not None and t <= now)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(histories(), max_size=5), schedules(), st.integers(0, 400).map(lambda m: add_months(T0, m)))
def test_the_plan_never_selects_what_a_needed_purpose_with_a_valid_basis_needs(entries, schedule, now):
    """Random histories and schedules: no erase, no strip of a needed field, under a valid basis."""
    by_id = {e.id: e for e in entries}
    for item in plan(entries, schedule, now=now).items:
        e = by_id[item.contact_id]
        last = _last(e, now)
        assert item.since <= now
        assert item.last_activity == last
        for purpose, needs in schedule.purposes.items():
            if not _valid(e, purpose, now, needs.consent_refresh_months):
                continue
            if needs.needed_months is not None and now >= add_months(last, needs.needed_months):
                continue  # the purpose is no longer needed
            assert item.action != "erase", (purpose, item)
            assert not set(item.removes) & set(needs.needs), (purpose, item)
        if item.action == "strip":
            assert item.removes
        if e.restricted_at is not None and e.restricted_at <= now:
            assert schedule.rule(item.rule).contacts.restricted


# --- junk schedule files --------------------------------------------------------------------------------

_toml_bits = st.sampled_from(
    (
        "[[rules]]\n", 'name = "r"\n', 'action = "erase"\n', 'action = "strip"\n', "inactive_months = 3\n",
        "inactive_months = -1\n", "keep = [\"phones\", \"phones\"]\n", "[purposes.messenger]\n",
        "needs = [\"emails\"]\n", "contacts = { label = \"\" }\n", "version = 2\n", "x = [[[[\n", "= =\n",
        "contacts = { no_basis = \"yes\" }\n", 'name = "Anna Müller +4915155501234"\n', "rules = 3\n",
    )
)  # fmt: skip
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300)
@given(st.one_of(st.text(max_size=300), st.lists(_toml_bits, max_size=12).map("".join)))
def test_a_junk_toml_schedule_raises_only_the_documented_error(text):
    """Any text as a TOML schedule gives a schedule or a ValueError naming the file, never anything else."""
    try:
        parse_schedule(text, name="junk.toml")
    except ValueError as exc:
        message = str(exc)
    else:
        return
    assert message.startswith("junk.toml: ")
    assert "Anna" not in message
    assert "4915155501234" not in message


@settings(max_examples=300)
@given(st.one_of(_json_values.map(json.dumps), st.binary(max_size=200)))
def test_a_junk_json_schedule_raises_only_the_documented_error(data):
    """Any JSON value or bytes as a JSON schedule gives a schedule or a ValueError naming the file."""
    try:
        parse_schedule(data, name="junk.json", kind="json")
    except ValueError as exc:
        message = str(exc)
    else:
        return
    assert message.startswith("junk.json: ")


def test_errors_name_the_rule_and_key_never_the_value(tmp_path):
    """A bad rule is named by its number, its name and its line; the bad value is not repeated."""
    bad = EXAMPLE.replace('"external_id", "labels"]', '"external_id", "Anna Müller"]')
    with pytest.raises(
        ValueError, match=r"rule 2 \(customer-business-need-over\) at line 18: key keep.2"
    ) as info:
        parse_schedule(bad, name="retention.toml")
    assert "Anna" not in str(info.value)
    with pytest.raises(ValueError, match="not valid TOML"):
        parse_schedule("[[rules]\n", name="retention.toml")
    deep = "[" * 100_000
    with pytest.raises(ValueError, match=r"retention\.json: "):
        parse_schedule(deep, name="retention.json", kind="json")
    document = parse_schedule(EXAMPLE).to_document()
    assert Schedule.from_document(document) == parse_schedule(json.dumps(document), kind="json")


def test_every_field_of_a_contact_is_strippable_or_always_kept():
    """A field added to `Contact` must be placed: strippable by a rule, or always kept by a strip."""
    fields = set(Contact.model_fields) - {"version"}  # the vault sets the version
    assert set(STRIPPABLE) | set(ALWAYS_KEPT) == fields
    assert not set(STRIPPABLE) & set(ALWAYS_KEPT)
