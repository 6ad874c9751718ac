"""The audit of a phone's address book against the vault and the policy (contactvault.audit)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from contactvault import Contact, KdfParams, Vault, normalize_phone
from contactvault.audit import (
    FINDING_CODES,
    SCHEMA,
    AuditReport,
    Finding,
    audit_phonebook,
)
from contactvault.audit.render import FORMATS, render
from contactvault.book import MessengerBook
from contactvault.errors import ImportFailed, InvalidRegion
from contactvault.export.minimal import write_vcard
from contactvault.models import Birthday, Label, MessengerPresence
from contactvault.sync import export_book, messenger_book, sync_book
from contactvault.sync.policy import MessengerPolicy, Policy
from contactvault.sync.targets import CardDAVTarget
from tests.conftest import consent, vcf

if TYPE_CHECKING:
    from tests.radicale_server import RadicaleServer

pytest_plugins = ("tests.radicale_server",)  # the `radicale` fixture

FAST = KdfParams.insecure_fast_for_tests()
POLICY = Policy.default()
NOW = datetime.now(UTC)
NAMES = ("Anna Beispiel", "Bernd Müller", "Çelik, Ayşe", "Zoë O'Brien", "Jürgen Weiß", "Łukasz Nowak")
UNKNOWN_MOBILE = "+4915155509999"


def _number(i: int) -> str:
    return f"+491515550{1200 + i}"


def _contact(i: int, **changes: object) -> Contact:
    presence = MessengerPresence(present=True, source="manual", checked_at=NOW - timedelta(days=1))
    phone = normalize_phone(_number(i), default_region="DE").model_copy(update={"messenger": presence})
    fields: dict[str, object] = {
        "display_name": NAMES[i],
        "phones": (phone,),
        "consents": (consent(),),
        "labels": (Label(name="bezahlt"),),
    }
    fields.update(changes)
    return Contact.model_validate(fields)


@pytest.fixture
def vault(tmp_path):
    """A vault with six contacts the default policy allows, each labelled "bezahlt" in the CRM."""
    with Vault.create(tmp_path / "v.db", "pw", kdf=FAST) as opened:
        opened.add_many(_contact(i) for i in range(len(NAMES)))
        yield opened


def _exported(vault: Vault, path: Path) -> Path:
    export_book(vault, messenger_book(vault, POLICY), path)
    return path


def _text(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def _save(path: Path, text: str) -> None:
    path.write_bytes(text.encode("utf-8"))


def _found(report: AuditReport) -> set[tuple[str, str]]:
    """(display name, code) of every finding."""
    return {(entry.display_name, f.code) for entry, f in report.findings}


def _insert(text: str, card: int, line: str) -> str:
    """Put ``line`` before the END:VCARD of the ``card``-th card (0-based)."""
    parts = text.split("END:VCARD\r\n")
    parts[card] += line + "\r\n"
    return "END:VCARD\r\n".join(parts)


def _card_of(text: str, name: str) -> int:
    return next(i for i, part in enumerate(text.split("END:VCARD\r\n")) if f"FN:{name}\r\n" in part)


# --- the promise: a book contactvault exported is clean; each injected leak is found, nothing else -----


def test_own_export_has_no_findings(vault, tmp_path):
    """The book contactvault itself exported, audited against the same vault and policy, is clean."""
    report = audit_phonebook(_exported(vault, tmp_path / "book.vcf"), vault=vault, default_region="DE")
    assert len(report.entries) == len(NAMES)
    assert report.clean
    assert report.findings == ()
    assert report.policy == POLICY.digest()
    assert all(entry.contacts == 1 for entry in report.entries)


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_own_export_in_either_vcard_version_is_clean(vault, tmp_path, version):
    """Books in vCard 4.0 (tel: URIs) audit as clean as 3.0 ones."""
    path = tmp_path / "book.vcf"
    write_vcard(messenger_book(vault, POLICY), path, version)  # type: ignore[arg-type]
    assert audit_phonebook(path, vault=vault, default_region="DE").clean


def test_own_book_audited_directly_is_clean(vault):
    """A MessengerBook is a source too: the book itself has no findings."""
    report = audit_phonebook(messenger_book(vault, POLICY), vault=vault, default_region="DE")
    assert report.source == "messenger book"
    assert report.clean
    assert len(report.entries) == len(NAMES)


def test_injected_leaks_are_each_found_and_nothing_else(vault, tmp_path):
    """Each injected leak is found on exactly its entry, with exactly its code, and nothing else is.

    The leaks: an EMAIL, a birthday, a withdrawn consent, a label in a name, a number not on the
    messenger, and an unknown contact.
    """
    path = _exported(vault, tmp_path / "book.vcf")
    text = _text(path)
    text = _insert(text, _card_of(text, NAMES[0]), "EMAIL;TYPE=INTERNET:anna@example.org")
    text = _insert(text, _card_of(text, NAMES[1]), "BDAY:1980-04-01")
    text = text.replace(f"FN:{NAMES[3]}\r\n", f"FN:{NAMES[3]} - bezahlt\r\n")
    text += vcf("BEGIN:VCARD", "FN:Unbekannt Neu", f"TEL;TYPE=CELL:{UNKNOWN_MOBILE}", "END:VCARD").decode()
    _save(path, text)
    ids = {e.display_name: e.id for e in vault}
    vault.withdraw_consent(ids[NAMES[2]], "messenger", channel="email")
    vault.set_messenger_presence(ids[NAMES[4]], _number(4), False, source="manual")

    report = audit_phonebook(path, vault=vault, default_region="DE")

    assert _found(report) == {
        (NAMES[0], "extra_fields"),
        (NAMES[1], "extra_fields"),
        (NAMES[2], "consent_withdrawn"),
        (f"{NAMES[3]} - bezahlt", "label_in_name"),
        (NAMES[4], "not_on_messenger"),
        ("Unbekannt Neu", "unknown_contact"),
    }
    by_name = {e.display_name: e for e in report.entries}
    assert by_name[NAMES[0]].findings == (Finding("extra_fields", fields=("EMAIL",)),)
    assert by_name[NAMES[1]].findings == (Finding("extra_fields", fields=("BDAY",)),)
    assert by_name[f"{NAMES[3]} - bezahlt"].findings[0].detail == "bezahlt"
    assert by_name["Unbekannt Neu"].findings == (Finding("unknown_contact", UNKNOWN_MOBILE),)
    assert by_name["Unbekannt Neu"].contacts == 0
    counts = report.counts()
    assert sum(counts.values()) == 6
    assert [code for code, _ in report.fixes()] == [
        "unknown_contact",
        "consent_withdrawn",
        "not_on_messenger",
        "extra_fields",
        "label_in_name",
    ]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ("restrict", "restricted"),
        ("object", "objected"),
        ("minor", "minor"),
        ("no_basis", "no_legal_basis"),
        ("expired", "consent_expired"),
        ("excluded", "label_excluded"),
        ("landline", "not_on_messenger"),
    ],
)
def test_each_policy_reason_becomes_its_code(tmp_path, change, code):
    """Every reason the policy can give maps to its finding code, alone."""
    policy = MessengerPolicy(consent_refresh=timedelta(days=30), excluded_labels={"gesperrt"})
    with Vault.create(tmp_path / "v.db", "pw", kdf=FAST) as vault:
        fresh = consent(granted_at=NOW - timedelta(days=2))
        contact_id = vault.add(_contact(0, consents=(fresh,), labels=()))
        path = tmp_path / "book.vcf"
        export_book(vault, messenger_book(vault, policy), path)
        if change == "restrict":
            vault.restrict(contact_id)
        elif change == "object":
            vault.object(contact_id, "messenger")
        elif change == "minor":
            stored = vault.get(contact_id)
            vault.update(stored.model_copy(update={"birthday": Birthday(year=NOW.year - 10, month=1, day=1)}))
        elif change == "no_basis":
            stored = vault.get(contact_id)
            vault.update(stored.model_copy(update={"consents": ()}))
        elif change == "expired":
            stored = vault.get(contact_id)
            old = consent(granted_at=NOW - timedelta(days=90))
            vault.update(stored.model_copy(update={"consents": (old,)}))
        elif change == "excluded":
            vault.add_label(contact_id, "gesperrt")
        else:
            landline = normalize_phone("+49 30 1234567", default_region="DE")
            stored = vault.get(contact_id)
            vault.update(stored.model_copy(update={"phones": (*stored.phones, landline)}))
            text = _text(path)
            _save(path, _insert(text, 0, "TEL;TYPE=WORK:+49 30 1234567"))
        report = audit_phonebook(path, vault=vault, policy=policy, default_region="DE")
    assert {f.code for _, f in report.findings} == {code}


# --- without a vault -----------------------------------------------------------------------------------


def test_without_a_vault_only_exposure_is_reported(tmp_path):
    """Fields, non-mobile numbers, invalid numbers, duplicates and label words; nothing about consent."""
    data = vcf(
        "BEGIN:VCARD",
        "VERSION:3.0",
        "FN:Anna Beispiel",
        "TEL;TYPE=CELL:0151 55501200",
        "EMAIL:anna@example.org",
        "NOTE:Kundin seit 2019",
        "END:VCARD",
        "BEGIN:VCARD",
        "VERSION:3.0",
        "FN:Praxis Dr. Weiß",
        "TEL;TYPE=WORK:030 1234567",
        "END:VCARD",
        "BEGIN:VCARD",
        "VERSION:3.0",
        "FN:Bernd (payment pending)",
        "TEL:+49 151 55501200",
        "END:VCARD",
        "BEGIN:VCARD",
        "VERSION:3.0",
        "FN:Falsch",
        "TEL:12",
        "END:VCARD",
    )
    report = audit_phonebook(data, default_region="DE")
    assert not report.vault
    assert report.policy is None
    assert _found(report) == {
        ("Anna Beispiel", "extra_fields"),
        ("Anna Beispiel", "duplicate"),
        ("Praxis Dr. Weiß", "not_on_messenger"),
        ("Bernd (payment pending)", "label_in_name"),
        ("Bernd (payment pending)", "duplicate"),
        ("Falsch", "invalid_number"),
    }
    anna = report.entries[0]
    assert next(f for f in anna.findings if f.code == "extra_fields").fields == ("EMAIL", "NOTE")
    assert next(f for f in anna.findings if f.code == "duplicate").detail == "<bytes> line 13"


def test_a_fixed_line_is_fine_when_the_policy_admits_it():
    data = vcf("BEGIN:VCARD", "VERSION:3.0", "FN:Praxis", "TEL:030 1234567", "END:VCARD")
    report = audit_phonebook(data, policy=MessengerPolicy(admit_fixed_line=True), default_region="DE")
    assert report.clean


def test_label_terms_can_be_replaced_and_own_categories_count():
    data = vcf(
        "BEGIN:VCARD",
        "VERSION:3.0",
        "FN:Anna Stammgast",
        "TEL:+49 151 55501200",
        "END:VCARD",
        "BEGIN:VCARD",
        "VERSION:3.0",
        "FN:Bernd Gold",
        "TEL:+49 151 55501201",
        "CATEGORIES:Gold",
        "END:VCARD",
    )
    report = audit_phonebook(data, default_region="DE", label_terms=["stammgast"])
    assert _found(report) == {
        ("Anna Stammgast", "label_in_name"),
        ("Bernd Gold", "label_in_name"),
        ("Bernd Gold", "extra_fields"),
    }
    assert audit_phonebook(data, default_region="DE", label_terms=[]).counts()["label_in_name"] == 1


def test_label_terms_are_whole_words():
    """The names Paidi and Leadbetter do not hold the labels "paid" and "lead"."""
    data = vcf("BEGIN:VCARD", "VERSION:3.0", "FN:Paidi Leadbetter", "TEL:+49 151 55501200", "END:VCARD")
    assert audit_phonebook(data, default_region="DE").clean


def test_a_card_with_photo_and_apple_labels():
    """A PHOTO is named; an X-ABLabel of a number belongs to the number; one of a date is a field."""
    data = vcf(
        "BEGIN:VCARD",
        "VERSION:3.0",
        "PRODID:-//Apple Inc.//iPhone OS 17.0//EN",
        "N:Beispiel;Anna;;;",
        "FN:Anna Beispiel",
        "item1.TEL:+49 151 55501200",
        "item1.X-ABLabel:_$!<Mobile>!$_",
        "item2.X-ABDATE:2019-05-01",
        "item2.X-ABLabel:_$!<Anniversary>!$_",
        "PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRg==",
        "END:VCARD",
    )
    report = audit_phonebook(data, default_region="DE")
    (entry,) = report.entries
    assert entry.findings == (Finding("extra_fields", fields=("X-ABDATE", "X-ABLABEL", "PHOTO")),)


# --- sources ---------------------------------------------------------------------------------------------


def test_a_folder_of_vcf_files(vault, tmp_path):
    folder = tmp_path / "phone"
    folder.mkdir()
    book = _text(_exported(vault, tmp_path / "book.vcf"))
    cards = [c + "END:VCARD\r\n" for c in book.split("END:VCARD\r\n") if c.strip()]
    for i, text in enumerate(cards):
        _save(folder / f"{i}.vcf", text)
    (folder / "notes.txt").write_text("not an address book", encoding="utf-8")
    report = audit_phonebook(folder, vault=vault, default_region="DE")
    assert report.source == "phone"
    assert len(report.entries) == len(NAMES)
    assert report.clean
    assert {e.source for e in report.entries} == {f"{i}.vcf" for i in range(len(cards))}


def test_a_google_csv_export(vault, tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text(
        "First Name,Last Name,Labels,E-mail 1 - Value,Phone 1 - Label,Phone 1 - Value\r\n"
        f"Anna,Beispiel,,anna@example.org,Mobile,{_number(0)}\r\n"
        f"Neu,Kunde,,,Mobile,{UNKNOWN_MOBILE}\r\n",
        encoding="utf-8",
    )
    report = audit_phonebook(path, vault=vault, default_region="DE")
    assert {(e.line, f.code) for e, f in report.findings} == {(2, "extra_fields"), (3, "unknown_contact")}


def test_unreadable_cards_are_listed_not_lost():
    data = vcf(
        "BEGIN:VCARD",
        "VERSION:2.1",
        "FN;ENCODING=QUOTED-PRINTABLE:Anna=ZZ",
        "TEL:+49 151 55501200",
        "END:VCARD",
        "BEGIN:VCARD",
        "VERSION:3.0",
        "FN:Bernd",
        "TEL:+49 151 55501201",
        "END:VCARD",
        "BEGIN:VCARD",
        "FN:never closed",
    )
    report = audit_phonebook(data, default_region="DE")
    assert len(report.entries) == 1
    assert [(u.line, u.code) for u in report.unreadable] == [(3, "bad_quoted_printable"), (11, "not_closed")]
    assert not report.clean
    assert "Anna" not in " ".join(u.message for u in report.unreadable)


def test_bad_arguments_fail_clearly(tmp_path):
    with pytest.raises(InvalidRegion):
        audit_phonebook(vcf("BEGIN:VCARD", "FN:A", "END:VCARD"), default_region="XX")
    with pytest.raises(ImportFailed, match=r"missing\.vcf"):
        audit_phonebook(tmp_path / "missing.vcf", default_region="DE")
    with pytest.raises(ImportFailed, match="not a vCard"):
        audit_phonebook(b"hello", default_region="DE")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ImportFailed, match=r"no \.vcf"):
        audit_phonebook(empty, default_region="DE")
    with pytest.raises(ValueError, match="timezone"):
        audit_phonebook(b"BEGIN:VCARD\nEND:VCARD\n", default_region="DE", now=datetime(2026, 1, 1))


def test_corpus_exports_audit_without_errors(corpus):
    """Every real export in the corpus is read; each entry's extra fields are named."""
    files = sorted(corpus.rglob("*.vcf"))
    assert files
    for path in files:
        report = audit_phonebook(path, default_region="US")
        assert report.entries, path.name
        for entry in report.entries:
            extra = next((f for f in entry.findings if f.code == "extra_fields"), None)
            if extra is not None:
                assert not {"FN", "N", "TEL", "BEGIN", "END", "VERSION"} & set(extra.fields)
    iphone = audit_phonebook(corpus / "ez-vcard" / "John_Doe_IPHONE.vcf", default_region="US")
    (entry,) = iphone.entries
    fields = next(f for f in entry.findings if f.code == "extra_fields").fields
    assert {"EMAIL", "ADR", "BDAY", "ORG", "PHOTO", "URL"} <= set(fields)


def test_a_carddav_address_book(vault, radicale: RadicaleServer):
    """The audit reads a CardDAV address book (read only) and finds what was added there by hand."""
    with CardDAVTarget(radicale.url, radicale.username, radicale.password) as target:
        sync_book(vault, messenger_book(vault, POLICY), target)
        assert audit_phonebook(target, vault=vault, default_region="DE").clean
        card = vcf(
            "BEGIN:VCARD", "VERSION:3.0", "UID:by-hand", "FN:Von Hand", f"TEL:{UNKNOWN_MOBILE}", "END:VCARD"
        )
        with radicale.client() as client:
            url = target.collection_url
            assert url is not None
            response = client.put(url + "by-hand.vcf", content=card, headers={"Content-Type": "text/vcard"})
            assert response.is_success
        report = audit_phonebook(target, vault=vault, default_region="DE")
    assert _found(report) == {("Von Hand", "unknown_contact")}
    assert report.source == target.name.removeprefix("carddav:")
    assert next(e for e in report.entries if e.findings).key == "uid:by-hand"


# --- JSON and diff ---------------------------------------------------------------------------------------


def test_json_round_trip_and_schema(vault, tmp_path):
    path = _exported(vault, tmp_path / "book.vcf")
    _save(path, _text(path).replace("FN:Anna", "FN:Anna VIP"))
    report = audit_phonebook(path, vault=vault, default_region="DE")
    data = json.loads(report.to_json())
    assert data["schema"] == SCHEMA
    assert set(data["counts"]) == set(FINDING_CODES)
    assert data["entries_total"] == len(NAMES)
    assert data["entries_with_findings"] == 1
    assert data["fixes"] == [{"code": "label_in_name", "entries": 1, "severity": "medium"}]
    again = AuditReport.from_json(report.to_json())
    assert again.findings
    assert again.findings[0][1] == report.findings[0][1]
    assert again.counts() == report.counts()


def test_masked_json_holds_no_full_number(vault, tmp_path):
    path = _exported(vault, tmp_path / "book.vcf")
    text = _text(path)
    _save(path, _insert(text, 0, "EMAIL:x@example.org"))
    report = audit_phonebook(path, vault=vault, default_region="DE")
    masked = report.to_json(mask_numbers=True, all_entries=True)
    for i in range(len(NAMES)):
        assert _number(i) not in masked
        assert _number(i)[3:] not in masked
    assert json.loads(masked)["entries"][0]["key"] is None
    with pytest.raises(ValueError, match="masked"):
        report.diff(AuditReport.from_json(masked))


def test_from_json_rejects_other_documents():
    with pytest.raises(ValueError, match="audit report"):
        AuditReport.from_json('{"schema": "other/1"}')
    with pytest.raises(ValueError, match="malformed"):
        AuditReport.from_json(json.dumps({"schema": SCHEMA}))
    with pytest.raises(ValueError, match="JSON"):
        AuditReport.from_json("not json")


def test_diff_shows_new_and_resolved_findings(vault, tmp_path):
    """A repeat audit: what was fixed since last time and what is new (the regular check)."""
    path = _exported(vault, tmp_path / "book.vcf")
    clean = _text(path)
    _save(path, _insert(clean, 0, "EMAIL:x@example.org"))
    first = audit_phonebook(path, vault=vault, default_region="DE")
    previous = AuditReport.from_json(first.to_json())
    _save(path, _insert(clean, 1, "NOTE:ruft oft an"))
    second = audit_phonebook(path, vault=vault, default_region="DE")
    diff = second.diff(previous)
    assert [(e.line, f.code, f.fields) for e, f in diff.new] == [(8, "extra_fields", ("NOTE",))]
    assert [(e.line, f.code, f.fields) for e, f in diff.resolved] == [(1, "extra_fields", ("EMAIL",))]
    assert diff.counts() == {"new": {"extra_fields": 1}, "resolved": {"extra_fields": 1}}
    assert not second.diff(second)


# --- never raises, never loses ----------------------------------------------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400) | st.text(max_size=400).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_junk_never_raises_anything_but_import_failed(data):
    try:
        report = audit_phonebook(b"BEGIN:VCARD\r\n" + data, default_region="DE")
    except ImportFailed:
        return
    assert len(report.entries) + len(report.unreadable) >= 1


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30),
            st.integers(0, 9999),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_every_card_is_an_entry_or_unreadable(cards):
    """Never loses a card: each BEGIN:VCARD becomes an entry or an unreadable record."""
    text = "".join(
        vcf("BEGIN:VCARD", "VERSION:3.0", f"FN:{name}", f"TEL:+49 151 5550{n:04d}", "END:VCARD").decode()
        for name, n in cards
    )
    report = audit_phonebook(text.encode("utf-8"), default_region="DE")
    assert len(report.entries) + len(report.unreadable) == len(cards)


def test_an_empty_book_is_clean():
    assert audit_phonebook(MessengerBook([]), default_region="DE").clean


def test_a_helper_process_reads_the_same_entries(vault, tmp_path):
    """workers=1 reads the cards in a helper process; the report is the same as without it."""
    path = _exported(vault, tmp_path / "book.vcf")
    _save(path, _insert(_text(path), 0, "NOTE:x") + "BEGIN:VCARD\r\nFN:broken\r\n")
    here = audit_phonebook(path, vault=vault, default_region="DE", now=NOW)
    helped = audit_phonebook(path, vault=vault, default_region="DE", now=NOW, workers=1)
    assert helped == here
    assert helped.unreadable
    with pytest.raises(ImportFailed, match=r"missing\.vcf"):
        audit_phonebook(tmp_path / "missing.vcf", default_region="DE", workers=1)
    with pytest.raises(ValueError, match="workers"):
        audit_phonebook(path, default_region="DE", workers=2)


_JUNK = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.text(max_size=5)
    | st.lists(st.text(max_size=3), max_size=2)
    | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
)
_TEXT = st.text(max_size=12)
_TEXTS = st.lists(st.text(max_size=12), max_size=3)


_FINDING = st.fixed_dictionaries(
    {
        "code": st.sampled_from(FINDING_CODES),
        "number": st.none() | _TEXT,
        "fields": _TEXTS,
        "detail": _TEXT,
    }
)
_ENTRY = st.fixed_dictionaries(
    {
        "key": st.none() | _TEXT,
        "line": st.none() | st.integers(0, 10**6),
        "source": _TEXT,
        "display_name": _TEXT,
        "numbers": _TEXTS,
        "contacts": st.integers(0, 5),
        "findings": st.lists(_FINDING, max_size=3),
    }
)
_VALID_REPORT = st.fixed_dictionaries(
    {
        "schema": st.just(SCHEMA),
        "created_at": st.just("2026-01-01T00:00:00+00:00"),
        "source": _TEXT,
        "region": st.none() | st.just("DE"),
        "vault": st.booleans(),
        "policy": st.none() | _TEXT,
        "entries": st.lists(_ENTRY, max_size=3),
        "unreadable": st.just([]),
    }
)


def _objects(node: object) -> list[dict[str, object]]:
    """Every JSON object inside ``node``, ``node`` included."""
    if isinstance(node, dict):
        return [node, *(o for value in node.values() for o in _objects(value))]
    if isinstance(node, list):
        return [o for value in node for o in _objects(value)]
    return []


@st.composite
def _crafted_reports(draw: st.DrawFn) -> dict[str, object]:
    """A valid report document with, mostly, one field of one object replaced by any JSON value."""
    document = draw(_VALID_REPORT)
    if draw(st.integers(0, 4)):
        target = draw(st.sampled_from(_objects(document)))
        key = draw(st.sampled_from(sorted(target)))
        if key != "schema":
            target[key] = draw(_JUNK)
    return document


@settings(max_examples=300, deadline=None)
@given(_crafted_reports())
def test_a_crafted_previous_report_is_read_or_refused_with_a_value_error(document):
    """A JSON report from elsewhere is read into a report that renders, or refused with ValueError."""
    try:
        report = AuditReport.from_json(json.dumps(document))
    except ValueError:
        event("refused")
        return
    event("read")
    for fmt in FORMATS:
        assert render(report, fmt)
    if all(entry.key for entry in report.entries):
        assert report.diff(report).new == ()
