"""Who did what (issue 15, item 2): every change and disclosure names the user whose slot opened the vault.

``recorded_by`` of a consent (and of a legal basis, an objection, a withdrawal) is that user whatever the
caller passes; every change appends an ``Activity`` to the vault's log in its own transaction, and every
export or sync a ``Disclosure`` naming the user. ``contactvault log``, the Art. 15 report and the Art. 30
record show them. The log names contacts only by keyed hashes of their ids: never an id, name or number.

Each test runs on both backends (an SQLite file and a PostgreSQL schema), like ``tests/test_vault.py``.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg import sql

from contactvault import (
    Contact,
    KdfParams,
    LegalBasis,
    Policy,
    Vault,
    VaultCorrupted,
    crypto,
    import_vcards,
    normalize_phone,
)
from contactvault.cli import main
from contactvault.gdpr.requests import access_report
from contactvault.gdpr.ropa import RopaConfig, record_of_processing
from contactvault.sync import export_book, messenger_book
from contactvault.vault import Activity, Disclosure
from contactvault.vault import log as vault_log
from contactvault.vault.records import unpack
from tests.conftest import ROOT, consent, vcf

FAST = KdfParams.insecure_fast_for_tests()
PASSPHRASE = "correct horse battery staple"  # noqa: S105  (a test vault's passphrase)

AsUser = Callable[[Vault, str], Vault]


def _as_user(vault: Vault, name: str) -> Vault:
    """``vault``, acting as the user ``name``: the one place that says who opened a test's vault.

    Until the key slots of issue 15 item 1 land, the actor is set on the open vault's core; then this
    becomes: add a slot for ``name`` and open the vault with it.
    """
    vault._core.actor = name
    return vault


@pytest.fixture
def as_user() -> AsUser:
    """Switch an open vault to act as a named user (see ``_as_user``)."""
    return _as_user


@pytest.fixture
def path(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Path | str:
    """Where a test's vault goes: a file in ``tmp_path``, or the URL of a fresh schema."""
    if backend == "sqlite":
        return tmp_path / "contacts.db"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def vault(path: Path | str):
    """A new, empty vault with the fast test KDF, closed after the test."""
    with Vault.create(path, PASSPHRASE, kdf=FAST) as opened:
        yield opened


def _person(name: str, number: str) -> Contact:
    return Contact(display_name=name, phones=(normalize_phone(number, default_region="DE"),))


def _activities(vault: Vault) -> list[Activity]:
    return [record for record in vault.activity() if isinstance(record, Activity)]


def _new_records(vault: Vault, before: int) -> list[Activity | Disclosure]:
    return vault.activity()[before:]


def _hash(vault: Vault, contact_id: uuid.UUID) -> str:
    return vault_log.contact_hash(vault._core, contact_id)


# --- recorded_by from the slot ------------------------------------------------------------------------------


def test_consent_is_recorded_by_the_slots_user_not_the_callers_name(vault, as_user):
    """The caller says "mallory"; the vault stores and logs "alice", who opened it."""
    (anna,) = vault.add_many([_person("Anna Beispiel", "+4915155500001")])
    as_user(vault, "alice")
    stored = vault.grant_consent(anna, consent(recorded_by="mallory"))
    assert [c.recorded_by for c in stored.consents] == ["alice"]
    assert vault.get(anna).consents[0].recorded_by == "alice"
    last = vault.activity()[-1]
    assert isinstance(last, Activity)
    assert (last.by, last.action, last.detail, last.count) == ("alice", "consent", "messenger", 1)
    assert last.contacts == (_hash(vault, anna),)


def test_withdrawal_basis_and_objection_name_the_slots_user(vault, as_user):
    """A withdrawal, a legal basis and an objection are recorded by the user who opened the vault."""
    (anna,) = vault.add_many([_person("Anna Beispiel", "+4915155500001")])
    vault.grant_consent(anna, consent())
    as_user(vault, "bob")
    vault.withdraw_consent(anna, "messenger", channel="email")
    basis = LegalBasis(article="6(1)(b)", purpose="invoicing", justification="order 17", recorded_by="eve")
    vault.add_legal_basis(anna, basis)
    after = vault.object(anna, "newsletter")
    assert (after.consents[0].recorded_by, after.consents[0].withdrawn_by) == ("owner", "bob")
    assert [b.recorded_by for b in after.legal_bases] == ["bob"]
    assert [o.recorded_by for o in after.objections] == ["bob"]
    done = [(a.by, a.action, a.detail) for a in _activities(vault)]
    assert done[-4:] == [
        ("owner", "consent", "messenger"),
        ("bob", "withdrawal", "messenger"),
        ("bob", "legal_basis", "invoicing: Art. 6(1)(b)"),
        ("bob", "objection", "newsletter"),
    ]


def test_a_consent_given_as_withdrawn_names_the_slots_user_for_both(vault, as_user):
    """A historical consent entered already withdrawn: recorded and withdrawn by the user entering it."""
    (anna,) = vault.add_many([_person("Anna Beispiel", "+4915155500001")])
    as_user(vault, "alice")
    given_then_withdrawn = consent(
        recorded_by="mallory", withdrawn_at=datetime(2025, 1, 1, tzinfo=UTC), withdrawal_channel="email"
    )
    (stored,) = vault.grant_consent(anna, given_then_withdrawn).consents
    assert (stored.recorded_by, stored.withdrawn_by) == ("alice", "alice")


def test_a_real_user_slot_records_its_own_name(path, tmp_path):
    """Opened with alice's own slot and passphrase, the vault records alice, in the consent and the log."""
    with Vault.create(path, PASSPHRASE, kdf=FAST) as created:
        (anna,) = created.add_many([_person("Anna Beispiel", "+4915155500001")])
        created.add_user("alice", "alice's own passphrase", kdf=FAST)
    with Vault.open(path, "alice's own passphrase", user="alice") as alice:
        alice.grant_consent(anna, consent(recorded_by="mallory"))
        export_book(alice, messenger_book(alice, Policy.default()), tmp_path / "book.vcf")
    with Vault.open(path, PASSPHRASE, user="owner") as owner:
        assert owner.get(anna).consents[0].recorded_by == "alice"
        records = owner.activity()
        owner.verify()
    shown = [(r.by, r.action if isinstance(r, Activity) else r.kind) for r in records]
    assert shown == [("owner", "import"), ("owner", "user_added"), ("alice", "consent"), ("alice", "export")]


def test_the_log_record_cannot_name_another_user(vault, as_user):
    """``log.activity`` takes no name: the record names ``core.actor``, set when the vault was opened."""
    (anna,) = vault.add_many([_person("Anna Beispiel", "+4915155500001")])
    as_user(vault, "alice")
    with pytest.raises(TypeError):
        vault_log.activity(vault._core, "edit", by="mallory")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="unknown activity"):
        vault_log.activity(vault._core, "dance")
    vault.add_label(anna, "vip")
    assert {r.by for r in vault.activity()} == {"owner", "alice"}


def test_the_consent_command_has_no_recorded_by_option(tmp_path):
    """`consent grant --recorded-by` is gone: a usage error, and nothing is written."""
    folder = tmp_path
    path = folder / "v.db"
    with Vault.create(path, PASSPHRASE, kdf=FAST) as created:
        (anna,) = created.add_many([_person("Anna Beispiel", "+4915155500001")])
    secret = folder / "pass.txt"
    secret.write_text(PASSPHRASE + "\n", encoding="utf-8")
    options = ["--vault", str(path), "--passphrase-file", str(secret)]
    args = ["consent", "grant", str(anna), "--purpose", "messenger", "--channel", "written"]
    args += ["--notice-id", "n", "--notice-version", "1", "--recorded-by", "mallory", *options]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "no such option" in result.output
    assert "mallory" not in result.output
    with Vault.open(path, PASSPHRASE) as opened:
        assert opened.get(anna).consents == ()


# --- every change logs who made it --------------------------------------------------------------------------


def test_every_change_appends_one_activity_by_the_user(vault, as_user, tmp_path):
    """Labels, restriction, objection, presence, edits, merge, erase, export: one record each, by alice."""
    as_user(vault, "alice")
    anna, berta, cem = vault.add_many(
        [
            _person("Anna Beispiel", "+4915155500001"),
            _person("Berta Muster", "+4915155500002"),
            _person("A. Beispiel", "+4915155500003"),
        ]
    )
    steps: list[tuple[str, Callable[[], object], str, int]] = [
        ("label", lambda: vault.add_label(anna, "VIPKUNDE"), "added", 1),
        ("label", lambda: vault.remove_label(anna, "vipkunde"), "removed", 1),
        ("restriction", lambda: vault.restrict(berta), "restricted", 1),
        ("restriction", lambda: vault.lift_restriction(berta), "lifted", 1),
        ("objection", lambda: vault.object(berta, "newsletter"), "newsletter", 1),
        (
            "presence",
            lambda: vault.set_messenger_presence(anna, "+4915155500001", True, source="t"),
            "present",
            1,
        ),
        ("consent", lambda: vault.grant_consent(anna, consent()), "messenger", 1),
        ("edit", lambda: vault.modify(anna, lambda c: c.model_copy(update={"nickname": "Anni"})), "", 1),
        ("edit", lambda: vault.update(vault.get(anna).model_copy(update={"title": "Dr."})), "", 1),
        ("merge", lambda: vault.merge([anna, cem]), "", 2),
        ("erasure", lambda: vault.erase(berta), "", 1),
    ]
    for action, step, detail, count in steps:
        before = len(vault.activity())
        step()
        (record,) = _new_records(vault, before)
        assert isinstance(record, Activity), action
        assert (record.by, record.action, record.detail, record.count) == ("alice", action, detail, count)
    merge_record = next(a for a in _activities(vault) if a.action == "merge")
    assert set(merge_record.contacts) == {_hash(vault, anna), _hash(vault, cem)}
    before = len(vault.activity())
    export_book(vault, messenger_book(vault, Policy.default()), tmp_path / "book.vcf")
    (disclosure,) = _new_records(vault, before)
    assert isinstance(disclosure, Disclosure)
    assert (disclosure.by, disclosure.kind) == ("alice", "export")
    assert vault.disclosures() == [disclosure]
    assert vault.verify().disclosures == len(vault.activity())


def test_add_many_and_import_log_one_record_each(vault, as_user, tmp_path):
    """An add_many and an import log one record each, naming all their contacts; a re-import logs nothing."""
    as_user(vault, "nightly-import")
    ids = vault.add_many(
        [_person("Anna Beispiel", "+4915155500001"), _person("Berta Muster", "+4915155500002")]
    )
    card = tmp_path / "phone.vcf"
    card.write_bytes(
        vcf(
            *("BEGIN:VCARD", "VERSION:3.0", "UID:uid-1", "FN:Cem Yilmaz", "TEL:+4915155500003", "END:VCARD"),
            *("BEGIN:VCARD", "VERSION:3.0", "UID:uid-2", "FN:Dora Lang", "TEL:+4915155500004", "END:VCARD"),
        )
    )
    report = vault.import_contacts(import_vcards(card, default_region="DE"))
    added, imported = _activities(vault)
    assert (added.action, added.detail, added.count, added.by) == ("import", "added", 2, "nightly-import")
    assert set(added.contacts) == {_hash(vault, cid) for cid in ids}
    assert (imported.action, imported.detail, imported.count) == ("import", "2 added, 0 updated", 2)
    assert set(imported.contacts) == {_hash(vault, cid) for cid in report.added}
    before = len(vault.activity())
    again = vault.import_contacts(import_vcards(card, default_region="DE"))
    assert again.added == again.updated == ()
    assert len(vault.activity()) == before  # nothing written, nothing logged
    vault.add_many([])
    assert len(vault.activity()) == before


def test_a_change_that_changes_nothing_logs_nothing(vault, as_user):
    """A label already there, a label not there, a lifted restriction: no write, no record, on every path."""
    (anna,) = vault.add_many([_person("Anna Beispiel", "+4915155500001")])
    vault.add_label(anna, "vip")
    as_user(vault, "alice")
    before = vault.activity()
    generation = vault.changes
    vault.add_label(anna, "VIP")
    vault.remove_label(anna, "other")
    vault.lift_restriction(anna)
    vault.modify(anna, lambda c: c, attempts=1)  # the locked try: its empty transaction is rolled back
    assert vault.activity() == before
    assert vault.changes == generation
    vault.modify(anna, lambda c: c.model_copy(update={"nickname": "Anni"}), attempts=1)
    (record,) = _new_records(vault, len(before))
    assert isinstance(record, Activity)
    assert (record.by, record.action) == ("alice", "edit")


def test_activity_of_finds_a_persons_records_under_merged_ids(vault, as_user):
    """Records made under a merged-away id are found for the survivor; other people's are not."""
    anna, other, stranger = vault.add_many(
        [
            _person("Anna Beispiel", "+4915155500001"),
            _person("A. Beispiel", "+4915155500002"),
            _person("Berta Muster", "+4915155500003"),
        ]
    )
    as_user(vault, "alice")
    vault.grant_consent(other, consent())
    vault.restrict(stranger)
    vault.merge([anna, other])
    found = [(a.action, a.by) for a in vault.activity_of(anna)]
    assert found == [("import", "owner"), ("consent", "alice"), ("merge", "alice")]
    assert [a.action for a in vault.activity_of(stranger)] == ["import", "restriction"]


# --- tamper evidence ----------------------------------------------------------------------------------------


def _replace_log_record(
    location: Path | str, seq: int, record: bytes, request: pytest.FixtureRequest
) -> None:
    """Overwrite the sealed log record ``seq`` behind the vault's back (the vault is closed)."""
    if isinstance(location, Path):
        with sqlite3.connect(location) as db:
            db.execute("UPDATE disclosures SET record = ? WHERE seq = ?", (record, seq))
        return
    schema = location.rpartition("schema=")[2]
    with request.getfixturevalue("pg_server").connect() as db:
        statement = sql.SQL("UPDATE {s}.disclosures SET record = %s WHERE seq = %s")
        db.execute(statement.format(s=sql.Identifier(schema)), (record, seq))


def test_the_chain_verifies_and_a_flipped_byte_in_an_activity_is_caught(path, as_user, request):
    """verify() passes with activities in the chain; one byte of an activity's ciphertext flipped fails."""
    with Vault.create(path, PASSPHRASE, kdf=FAST) as created:
        (anna,) = created.add_many([_person("Anna Beispiel", "+4915155500001")])
        as_user(created, "alice")
        created.grant_consent(anna, consent())
        created.erase(anna)
        assert created.verify().disclosures == 3
        (sealed,) = [r for s, r in created._core.storage.log_records() if s == 2]
    flipped = bytearray(sealed)
    flipped[len(flipped) // 2] ^= 0x01  # inside the ciphertext, not the tag the row-set digest covers
    _replace_log_record(path, 2, bytes(flipped), request)
    with Vault.open(path, PASSPHRASE) as opened:
        with pytest.raises(VaultCorrupted):
            opened.activity()
        with pytest.raises(VaultCorrupted):
            opened.verify()
        with pytest.raises(VaultCorrupted):
            opened.disclosures()


def test_old_records_without_by_still_parse():
    """A disclosure record written before ``by`` existed parses, with ``by`` None; its JSON is unchanged."""
    old = (
        b'{"added":{},"at":"2025-06-01T08:00:00+00:00","held":0,"kind":"sync","policy":"x",'
        b'"previous":"' + b"0" * 64 + b'","removed":[],"renamed":{},"seq":1,"target":"file:/b.vcf"}'
    )
    record = Disclosure.from_json(old)
    assert record.by is None
    assert record.to_json() == old


# --- shown everywhere ---------------------------------------------------------------------------------------


def test_contactvault_log_shows_who_did_what(path, as_user, tmp_path):
    """`contactvault log --json` lists the activities with their user; --by and --contact narrow it."""
    with Vault.create(path, PASSPHRASE, kdf=FAST) as created:
        anna, berta = created.add_many(
            [_person("Anna Beispiel", "+4915155500001"), _person("Berta Muster", "+4915155500002")]
        )
        as_user(created, "alice")
        created.grant_consent(anna, consent(recorded_by="mallory"))
        created.set_messenger_presence(anna, "+4915155500001", True, source="t")
        export_book(created, messenger_book(created, Policy.default()), tmp_path / "book.vcf")
        as_user(created, "bob")
        created.erase(berta)
    secret = tmp_path / "pass.txt"
    secret.write_text(PASSPHRASE + "\n", encoding="utf-8")
    options = ["--vault", str(path), "--passphrase-file", str(secret)]

    def run(*args: str) -> object:
        result = CliRunner().invoke(main, [*args, *options])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    rows = run("log", "--json")
    assert [(r["kind"], r.get("action"), r["by"]) for r in rows] == [
        ("activity", "import", "owner"),
        ("activity", "consent", "alice"),
        ("activity", "presence", "alice"),
        ("export", None, "alice"),
        ("activity", "erasure", "bob"),
    ]
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0]["contacts"] == 2
    assert [r["seq"] for r in run("log", "--by", "alice", "--json")] == [2, 3, 4]
    person = run("log", "--contact", str(anna), "--json")
    assert [(a["action"], a["by"]) for a in person["activity"]] == [
        ("import", "owner"),
        ("consent", "alice"),
        ("presence", "alice"),
    ]
    assert [d["change"] for d in person["disclosures"]] == ["added"]
    assert run("log", "--verify", "--json") == {"ok": True, "records": 5, "checked": 5}
    table = CliRunner().invoke(main, ["log", *options]).output
    assert "alice" in table
    assert "bob" in table
    assert "Anna" not in table
    assert "+4915155500001" not in table


def test_access_report_shows_who_did_what(vault, as_user, tmp_path):
    """The Art. 15 report lists the person's activity records and who recorded each consent and export."""
    (anna, berta) = vault.add_many(
        [_person("Anna Beispiel", "+4915155500001"), _person("Berta Muster", "+4915155500002")]
    )
    as_user(vault, "alice")
    vault.grant_consent(anna, consent(recorded_by="mallory"))
    vault.set_messenger_presence(anna, "+4915155500001", True, source="t")
    vault.restrict(berta)  # someone else's record: not in Anna's report
    export_book(vault, messenger_book(vault, Policy.default()), tmp_path / "book.vcf")
    report = access_report(vault, anna)
    data = report.to_dict()
    assert [(a["action"], a["by"]) for a in data["activity"]] == [
        ("import", "owner"),
        ("consent", "alice"),
        ("presence", "alice"),
    ]
    assert [d["by"] for d in data["disclosures"]] == ["alice"]
    assert data["contact"]["consents"][0]["recorded_by"] == "alice"
    english, german = report.to_markdown("en"), report.to_markdown("de")
    assert "## Who did what with your record" in english
    assert "| alice | consent recorded | messenger |" in english
    assert "Einwilligung erfasst" in german
    assert "mallory" not in english
    assert "restriction" not in json.dumps(data["activity"])


@pytest.mark.parametrize("backend", ["sqlite"])  # record_of_processing names a vault *file* (see below)
def test_art_30_record_lists_the_actors(vault, as_user):
    """The Art. 30 record names each user of the log with the number of records it made.

    SQLite only: ``record_of_processing`` refuses a vault in PostgreSQL today (its ``vault_file`` must be
    a file name, and a PostgreSQL vault's location is a URL); the actors come from the log either way.
    """
    (anna,) = vault.add_many([_person("Anna Beispiel", "+4915155500001")])
    as_user(vault, "alice")
    vault.grant_consent(anna, consent())
    vault.add_label(anna, "vip")
    as_user(vault, "nightly-import")
    vault.restrict(anna)
    config = RopaConfig.load(ROOT / "src" / "contactvault" / "samples" / "ropa.toml")
    record = record_of_processing(vault, config)
    actors = record.to_dict()["measures"]["actors"]
    assert [(a["name"], a["records"]) for a in actors] == [("owner", 1), ("alice", 2), ("nightly-import", 1)]
    markdown = record.to_markdown("de")
    assert "Wer im Tresor gehandelt hat" in markdown
    assert "| alice | 2 |" in markdown
    assert "Anna" not in markdown


# --- the log holds no contact's id, name or number ----------------------------------------------------------

_NAMES = st.text("ABCDEFGHJKLMNPQRSTUVWXYZÄÖÜ", min_size=10, max_size=20)
_SUBSCRIBERS = st.integers(10_000_000, 99_999_999)


@settings(max_examples=25, deadline=None)
@given(
    names=st.lists(_NAMES, min_size=2, max_size=3, unique=True),
    subscribers=st.lists(_SUBSCRIBERS, min_size=3, max_size=3, unique=True),
    label=_NAMES,
    purpose=st.text("abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=12),
)
def test_activity_records_hold_no_id_name_or_number(names, subscribers, label, purpose):
    """Every activity record, opened with the log key, holds none of the contacts' ids, names or numbers."""
    with (
        tempfile.TemporaryDirectory() as folder,
        Vault.create(Path(folder) / "v.db", "pw", kdf=FAST) as vault,
    ):
        people = [_person(name, f"+49151{n}") for name, n in zip(names, subscribers, strict=False)]
        ids = vault.add_many(people)
        _as_user(vault, "alice")
        for cid in ids:
            vault.grant_consent(cid, consent(purpose=purpose, evidence_ref=label))
            vault.add_label(cid, label)
            vault.object(cid, purpose)
        vault.set_messenger_presence(ids[0], people[0].phones[0].raw, True, source=label)
        vault.update(vault.get(ids[1]).model_copy(update={"nickname": label}))
        vault.merge(ids[:2])
        vault.erase(ids[0])
        core = vault._core
        aead = crypto.Aead(core.keys.log)
        opened = [
            unpack(crypto.open_sealed(aead, sealed, vault_log._ad(core, seq)))
            for seq, sealed in core.storage.log_records()
        ]
    texts = [raw.decode("utf-8") for raw in opened]
    assert all(json.loads(text)["kind"] == "activity" for text in texts)
    secrets = [label, *names]
    for cid in ids:
        secrets += [str(cid), cid.hex]
    for person in people:
        phone = person.phones[0]
        secrets += [phone.raw, phone.e164 or phone.raw, (phone.e164 or phone.raw).lstrip("+")]
    for text in texts:
        escaped = json.dumps(json.loads(text), ensure_ascii=False)
        for secret in secrets:
            assert secret not in text
            assert secret not in escaped
