"""`consent due` (issue 16, item 4): whose consent expires, exactly as the sync policy counts it."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import given
from hypothesis import strategies as st

from contactvault import Contact, KdfParams, Vault
from contactvault.cli import main
from contactvault.consent import Due, due
from contactvault.consent.freshness import NoticeRenewal, renewal_due
from contactvault.models import ConsentRecord, DirectoryEntry, LegalBasis
from contactvault.sync.policy import MessengerPolicy
from tests.conftest import consent

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
REFRESH = timedelta(days=730)
SECOND = timedelta(seconds=1)
BASIS_REASONS = frozenset({"no_legal_basis", "consent_withdrawn", "consent_expired"})


def entry(*consents: ConsentRecord, **changes: Any) -> DirectoryEntry:
    fields: dict[str, Any] = {
        "id": uuid.uuid4(),
        "version": 1,
        "display_name": "Test Person",
        "consents": consents,
        "created_at": NOW - timedelta(days=2000),
        "updated_at": NOW - timedelta(days=2000),
    }
    return DirectoryEntry(**(fields | changes))


def granted(at: datetime, **changes: Any) -> ConsentRecord:
    return consent(granted_at=at, **changes)


def withdrawn(at: datetime, when: datetime) -> ConsentRecord:
    return consent(granted_at=at, withdrawn_at=when, withdrawal_channel="email")


def run_due(*entries: DirectoryEntry, within: timedelta = timedelta(0), **kw: Any) -> list[Due]:
    args: dict[str, Any] = {"purpose": "messenger", "refresh": REFRESH, "now": NOW, "within": within}
    return due(entries, **(args | kw))


# --- the pure function -----------------------------------------------------------------------------------


def test_exactly_at_refresh_is_due_not_expired_and_a_second_later_expired():
    at_boundary = entry(granted(NOW - REFRESH))
    past = entry(granted(NOW - REFRESH - SECOND))
    fresh = entry(granted(NOW - REFRESH + SECOND))
    result = run_due(at_boundary, past, fresh)
    assert [(d.contact_id, d.expired) for d in result] == [(past.id, True), (at_boundary.id, False)]
    assert result[1].expires_at == NOW
    assert result[0].expires_at == NOW - SECOND
    assert result[0].granted_at == NOW - REFRESH - SECOND
    assert result[0].purpose == "messenger"


def test_within_window_boundaries():
    within = timedelta(days=30)
    edge = entry(granted(NOW - REFRESH + within))  # expires at now + within exactly: listed
    beyond = entry(granted(NOW - REFRESH + within + SECOND))
    result = run_due(edge, beyond, within=within)
    assert [(d.contact_id, d.expired, d.expires_at) for d in result] == [(edge.id, False, NOW + within)]


def test_withdrawn_and_never_given_are_not_listed_but_a_later_withdrawal_is_not_known_yet():
    old = NOW - REFRESH - timedelta(days=1)
    gone = entry(withdrawn(old, NOW - timedelta(days=1)))
    never = entry()
    later = entry(withdrawn(old, NOW + timedelta(days=1)))
    assert [d.contact_id for d in run_due(gone, never, later)] == [later.id]


def test_a_consent_granted_after_now_is_not_known_yet():
    old = NOW - REFRESH - timedelta(days=1)
    renewed_later = entry(granted(old), granted(NOW + timedelta(hours=1)))
    only_future = entry(granted(NOW + timedelta(hours=1)))
    result = run_due(renewed_later, only_future)
    assert [(d.contact_id, d.granted_at, d.expired) for d in result] == [(renewed_later.id, old, True)]


def test_the_newest_active_consent_counts():
    old = NOW - REFRESH - timedelta(days=100)
    renewed = entry(granted(old), granted(NOW - timedelta(days=10)))
    assert run_due(renewed, within=timedelta(days=30)) == []
    newer_withdrawn = entry(granted(old), withdrawn(NOW - timedelta(days=10), NOW - timedelta(days=5)))
    [item] = run_due(newer_withdrawn)
    assert item.granted_at == old
    assert item.expired


def test_other_purposes_are_ignored():
    other = entry(granted(NOW - REFRESH - timedelta(days=1), purpose="marketing"))
    assert run_due(other) == []
    assert [d.contact_id for d in run_due(other, purpose="marketing")] == [other.id]


def test_sorted_by_expiry_then_contact_id():
    same = NOW - REFRESH - timedelta(days=3)
    ids = sorted(uuid.uuid4() for _ in range(3))
    entries = [
        entry(granted(NOW - REFRESH + timedelta(days=5)), id=ids[0]),
        entry(granted(same), id=ids[2]),
        entry(granted(same), id=ids[1]),
        entry(granted(NOW - REFRESH - timedelta(days=9)), id=uuid.uuid4()),
    ]
    result = run_due(*entries, within=timedelta(days=10))
    assert [d.expires_at for d in result] == sorted(d.expires_at for d in result)
    assert [d.contact_id for d in result[1:]] == [ids[1], ids[2], ids[0]]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"refresh": timedelta(0)}, "refresh must be positive"),
        ({"refresh": -SECOND}, "refresh must be positive"),
        ({"within": -SECOND}, "within must not be negative"),
        ({"now": datetime(2026, 6, 1, 12, 0)}, "now must be timezone-aware"),
        ({"purpose": "Messenger"}, "purpose must match"),
        ({"purpose": ""}, "purpose must match"),
        ({"purpose": "a" * 101}, "purpose must match"),
    ],
)
def test_bad_arguments_are_value_errors(changes, message):
    with pytest.raises(ValueError, match=message):
        run_due(**changes)


def test_wrong_types_are_type_errors():
    with pytest.raises(TypeError):
        run_due(refresh=730)
    with pytest.raises(TypeError):
        run_due(purpose=None)


# --- consistency with the policy -------------------------------------------------------------------------

_ZONES = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))])
# Offsets from the refresh boundary: exactly on it, a second either side, or anywhere in a few days.
_NEAR = st.one_of(
    st.sampled_from([timedelta(0), SECOND, -SECOND]),
    st.timedeltas(min_value=timedelta(days=-5), max_value=timedelta(days=5)),
)


@st.composite
def _consent(draw: st.DrawFn, refresh: timedelta) -> ConsentRecord:
    zone = draw(_ZONES)
    at = (NOW - refresh + draw(_NEAR)).astimezone(zone)
    purpose = draw(st.sampled_from(["messenger", "messenger", "marketing"]))
    if draw(st.booleans()):
        return consent(granted_at=at, purpose=purpose)
    when = at + draw(st.sampled_from([timedelta(0), NOW - at, NOW - at + SECOND, timedelta(days=3)]))
    when = max(when, at)
    return consent(granted_at=at, purpose=purpose, withdrawn_at=when, withdrawal_channel="email")


@st.composite
def _histories(draw: st.DrawFn) -> tuple[timedelta, list[DirectoryEntry]]:
    refresh = draw(st.timedeltas(min_value=timedelta(hours=1), max_value=timedelta(days=800)))
    entries = [
        entry(*draw(st.lists(_consent(refresh), max_size=4)))
        for _ in range(draw(st.integers(min_value=0, max_value=5)))
    ]
    return refresh, entries


@given(
    _histories(),
    st.sampled_from([timedelta(0), SECOND, timedelta(days=1), timedelta(days=30)]),
)
def test_expired_is_exactly_the_policys_consent_expired(history, within):
    refresh, entries = history
    policy = MessengerPolicy(purpose="messenger", consent_refresh=refresh)
    listed = {
        d.contact_id: d for d in due(entries, purpose="messenger", refresh=refresh, now=NOW, within=within)
    }
    for contact in entries:
        reasons = set(policy.decide(contact, now=NOW).reasons) & BASIS_REASONS
        item = listed.get(contact.id)
        assert (item is not None and item.expired) == (reasons == {"consent_expired"})
        if item is not None and not item.expired:
            assert reasons == set()  # the consent still counts
        # Listed exactly when the newest active consent expires within the window (an oracle of its own).
        active = [
            c.granted_at
            for c in contact.consents
            if c.purpose == "messenger"
            and c.granted_at <= NOW
            and (c.withdrawn_at is None or c.withdrawn_at > NOW)
        ]
        assert (item is not None) == (bool(active) and max(active) + refresh <= NOW + within)
    order = [(d.expires_at, d.contact_id) for d in listed.values()]
    assert order == sorted(order)


# --- notice renewals ----------------------------------------------------------------------------------------

V4 = NoticeRenewal("notice-messenger", "4", NOW)  # the conftest consent names notice-messenger version 3


def test_a_renewing_version_ends_older_consents_to_other_versions_at_its_valid_from():
    old = entry(granted(NOW - timedelta(days=10)))
    item = run_due(old, refresh=None, renewals=[V4])
    assert [(d.reason, d.expires_at, d.expired) for d in item] == [("notice_renewed", NOW, True)]
    just_before = run_due(old, refresh=None, renewals=[NoticeRenewal("notice-messenger", "4", NOW + SECOND)])
    assert just_before == []  # it still counts at NOW and ends after the window
    within = run_due(
        old,
        refresh=None,
        renewals=[NoticeRenewal("notice-messenger", "4", NOW + SECOND)],
        within=SECOND,
    )
    assert [(d.reason, d.expired) for d in within] == [("notice_renewed", False)]


def test_a_renewal_spares_the_same_version_later_consents_and_other_notices():
    same_version = entry(granted(NOW - timedelta(days=10), notice_version="4"))
    granted_at_valid_from = entry(granted(NOW))
    other_notice = entry(granted(NOW - timedelta(days=10), notice_id="terms"))
    assert run_due(same_version, granted_at_valid_from, other_notice, refresh=None, renewals=[V4]) == []
    assert renewal_due(consent(granted_at=NOW - SECOND), [V4], NOW) == NOW
    assert renewal_due(consent(granted_at=NOW), [V4], NOW) is None
    assert renewal_due(consent(granted_at=NOW - SECOND), [V4], NOW - SECOND) is None  # not yet valid


def test_a_newer_consent_to_the_new_version_carries_the_contact():
    renewed = entry(granted(NOW - timedelta(days=100)), granted(NOW - timedelta(days=5), notice_version="4"))
    assert run_due(renewed, refresh=None, renewals=[V4]) == []
    item = run_due(renewed, renewals=[V4], within=REFRESH)  # the new consent ends by its refresh period
    assert [(d.reason, d.granted_at) for d in item] == [("refresh", NOW - timedelta(days=5))]


def test_the_earlier_of_refresh_and_renewal_ends_a_consent():
    contact = entry(granted(NOW - REFRESH - timedelta(days=3)))
    late_renewal = NoticeRenewal("notice-messenger", "4", NOW - timedelta(days=1))
    assert [d.reason for d in run_due(contact, renewals=[late_renewal])] == ["refresh"]
    early = NoticeRenewal("notice-messenger", "4", NOW - timedelta(days=5))
    assert [(d.reason, d.expires_at) for d in run_due(contact, renewals=[early])] == [
        ("notice_renewed", early.valid_from)
    ]


def test_without_refresh_or_renewal_nothing_is_due():
    assert run_due(entry(granted(NOW - timedelta(days=5000))), refresh=None) == []


def test_renewals_must_be_notice_renewals():
    with pytest.raises(TypeError):
        run_due(renewals=[("notice-messenger", "4", NOW)])
    with pytest.raises(ValueError, match="timezone-aware"):
        NoticeRenewal("notice-messenger", "4", datetime(2026, 1, 1))


_RENEWALS = st.lists(
    st.builds(
        NoticeRenewal,
        st.sampled_from(["notice-messenger", "terms"]),
        st.sampled_from(["2", "3", "4"]),
        st.sampled_from([NOW - timedelta(days=3), NOW, NOW + SECOND, NOW + timedelta(days=2)]),
    ),
    max_size=3,
)


@st.composite
def _renewal_histories(draw: st.DrawFn) -> tuple[timedelta | None, list[DirectoryEntry]]:
    refresh, entries = draw(_histories())
    versioned = [
        entry(
            *(
                c.model_copy(update={"notice_version": draw(st.sampled_from(["2", "3", "4"]))})
                for c in contact.consents
            )
        )
        for contact in entries
    ]
    return (None if draw(st.booleans()) else refresh), versioned


@given(
    _renewal_histories(),
    _RENEWALS,
    st.sampled_from([timedelta(0), SECOND, timedelta(days=1), timedelta(days=30)]),
)
def test_with_renewals_expired_is_exactly_the_policys_consent_expired(history, renewals, within):
    """As above, with notice renewals and with or without a refresh period: the policy and `due` agree."""
    refresh, entries = history
    policy = MessengerPolicy(consent_refresh=refresh, renewed_notices=frozenset(renewals))
    listed = {
        d.contact_id: d
        for d in due(entries, purpose="messenger", refresh=refresh, now=NOW, within=within, renewals=renewals)
    }
    horizon = NOW + within
    for contact in entries:
        reasons = set(policy.decide(contact, now=NOW).reasons) & BASIS_REASONS
        item = listed.get(contact.id)
        assert (item is not None and item.expired) == (reasons == {"consent_expired"})
        if item is not None and not item.expired:
            assert reasons == set()
        active = [
            c
            for c in contact.consents
            if c.purpose == "messenger"
            and c.granted_at <= NOW
            and (c.withdrawn_at is None or c.withdrawn_at > NOW)
        ]

        def ends_in_window(c: ConsentRecord) -> bool:
            by_refresh = refresh is not None and c.granted_at + refresh <= horizon
            by_notice = any(
                r.notice_id == c.notice_id
                and r.version != c.notice_version
                and c.granted_at < r.valid_from <= horizon
                for r in renewals
            )
            return by_refresh or by_notice

        # Listed exactly when every active consent ends within the window (an oracle of its own).
        assert (item is not None) == (bool(active) and all(ends_in_window(c) for c in active))
        if item is not None and item.reason == "notice_renewed":
            assert item.expires_at in {r.valid_from for r in renewals}
    order = [(d.expires_at, d.contact_id) for d in listed.values()]
    assert order == sorted(order)


def test_another_legal_basis_does_not_hide_an_expired_consent():
    """`due` looks at consents only: the policy lets a contract carry the contact, `due` still lists it."""
    contact = entry(
        granted(NOW - REFRESH - SECOND),
        legal_bases=(LegalBasis(article="6(1)(b)", purpose="messenger", justification="contract 17"),),
    )
    assert [d.expired for d in run_due(contact)] == [True]
    assert not set(MessengerPolicy(consent_refresh=REFRESH).decide(contact, now=NOW).reasons) & BASIS_REASONS


# --- the command line -----------------------------------------------------------------------------------

PASSPHRASE = "a passphrase here"  # noqa: S105  (a test vault)
NAMES = ("Anna Beispiel", "Bernd Müller", "Carla Dorn", "Dieter Ernst")


@pytest.fixture
def cli_vault(tmp_path: Path) -> tuple[list[str], list[uuid.UUID]]:
    now = datetime.now(UTC)
    histories = [
        (consent(granted_at=now - timedelta(days=800)),),  # expired with --refresh 730
        (consent(granted_at=now - timedelta(days=720)),),  # due in 10 days
        (consent(granted_at=now - timedelta(days=10)),),  # fresh
        (
            consent(
                granted_at=now - timedelta(days=800),
                withdrawn_at=now - timedelta(days=5),
                withdrawal_channel="email",
            ),
        ),  # withdrew: not listed
    ]
    contacts = [Contact(display_name=n, consents=h) for n, h in zip(NAMES, histories, strict=True)]
    path = tmp_path / "vault.db"
    with Vault.create(path, PASSPHRASE, kdf=KdfParams.insecure_fast_for_tests()) as vault:
        ids = vault.add_many(contacts)
    secret = tmp_path / "passphrase.txt"
    secret.write_text(PASSPHRASE + "\n", encoding="utf-8")
    return ["--vault", str(path), "--passphrase-file", str(secret)], ids


def cli(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output
    return result


def test_cli_json(cli_vault):
    options, ids = cli_vault
    result = cli("consent", "due", "--refresh", "730", "--json", *options)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["contact"], r["purpose"], r["expired"]) for r in rows] == [
        (ids[0].hex[:8], "messenger", True),
        (ids[1].hex[:8], "messenger", False),
    ]
    assert set(rows[0]) == {"contact", "purpose", "granted_at", "expires_at", "expired", "reason"}
    assert {r["reason"] for r in rows} == {"refresh"}
    granted_at = datetime.fromisoformat(rows[1]["granted_at"])
    assert datetime.fromisoformat(rows[1]["expires_at"]) == granted_at + timedelta(days=730)
    narrow = json.loads(cli("consent", "due", "--refresh", "730", "--within", "5", "--json", *options).output)
    assert [r["contact"] for r in narrow] == [ids[0].hex[:8]]


def test_cli_table_masks_names_unless_revealed(cli_vault):
    options, ids = cli_vault
    result = cli("consent", "due", "--refresh", "730", *options)
    assert result.exit_code == 0, result.output
    assert ids[0].hex[:8] in result.output
    assert ids[1].hex[:8] in result.output
    assert ids[2].hex[:8] not in result.output
    assert ids[3].hex[:8] not in result.output
    assert "expired" in result.output
    assert "due in 10 days" in result.output
    assert "A. B." in result.output
    for name in NAMES:
        for word in name.split():
            assert word not in result.output
    revealed = cli("consent", "due", "--refresh", "730", "--reveal", *options)
    assert "Anna" in revealed.output  # the name column may wrap
    assert "Beispiel" in revealed.output
    assert "Carla" not in revealed.output


def test_cli_nothing_due(cli_vault):
    options, _ = cli_vault
    result = cli("consent", "due", "--refresh", "3000", "--within", "0", *options)
    assert result.exit_code == 0, result.output
    assert "No consent for messenger has expired or expires within 0 days." in result.output
    assert json.loads(cli("consent", "due", "--refresh", "3000", "--json", *options).output) == []


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ([], "--refresh"),
        (["--refresh", "0"], "--refresh"),
        (["--refresh", "24m"], "--refresh"),
        (["--refresh", "730", "--within", "-1"], "--within"),
        (["--refresh", "730", "--purpose", "Not A Purpose"], "--purpose"),
    ],
)
def test_cli_bad_options_are_one_line_usage_errors(cli_vault, args, words):
    options, _ = cli_vault
    result = cli("consent", "due", *args, *options)
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert words in result.output
    assert "Not A Purpose" not in result.output
