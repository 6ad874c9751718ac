"""Data-subject requests on a real vault: the Art. 15 access report, the Art. 20 export, Art. 17 erasure.

Every vault here uses ``KdfParams.insecure_fast_for_tests()``.
"""

from __future__ import annotations

import html
import json
import stat
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import get_args

import pytest
import vobject
from hypothesis import event, given, settings
from hypothesis import strategies as st

from contactvault import (
    Birthday,
    Contact,
    ContactErased,
    ContactNotFound,
    ContactSource,
    CustomField,
    EmailAddress,
    KdfParams,
    Label,
    LegalBasis,
    NameParts,
    Objection,
    PostalAddress,
    Vault,
    import_vcards,
    normalize_phone,
)
from contactvault.gdpr._request_texts import tr as request_words
from contactvault.gdpr.requests import (
    ACCESS_SCHEMA,
    ERASURE_SCHEMA,
    PORTABLE_SCHEMA,
    AccessReport,
    ErasureReceipt,
    ManualStep,
    access_report,
    erase_contact,
    portable_export,
)
from contactvault.models import MessengerPresence
from contactvault.phones import mask_number
from contactvault.sync import export_book, messenger_book, sync_book
from contactvault.sync.policy import Policy
from contactvault.sync.targets.file import VCardFileTarget
from contactvault.vault.disclosures import ActivityAction
from tests.conftest import CONSENT_GRANTED, consent, disclosed_pair
from tests.strategies import full_contacts

FAST = KdfParams.insecure_fast_for_tests()
PASSPHRASE = "a passphrase here"  # noqa: S105  (a test vault's passphrase)
POLICY = Policy.default()
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
CARDDAV = "carddav:https://dav.example.org/shop/contactvault/"


def _presence() -> MessengerPresence:
    return MessengerPresence(present=True, source="manual", checked_at=datetime.now(UTC) - timedelta(days=1))


def _full_contact() -> Contact:
    """A contact with every field filled in, a messenger number and a withdrawn second consent."""
    mobile = normalize_phone("0151 55507319", default_region="DE", types=("cell",), preferred=True)
    return Contact(
        display_name="Xaverine Quellbrunn",
        name=NameParts(given="Xaverine", family="Quellbrunn", additional="Liselotte", prefixes="Dr."),
        nickname="Xavi-QB",
        phones=(
            mobile.model_copy(update={"messenger": _presence()}),
            normalize_phone("030 55508812", default_region="DE", types=("work",), label="Werkstatt"),
        ),
        emails=(EmailAddress(address="xaverine.q@example.org", label="privat", types=("home",)),),
        addresses=(
            PostalAddress(
                street="Lindenallee 17",
                locality="Quedlinburg",
                postal_code="06484",
                country="Deutschland",
                label="Lieferadresse",
            ),
        ),
        birthday=Birthday(year=1981, month=4, day=12),
        organisation="Quellbrunn Töpferei",
        department="Brennofen",
        title="Meisterin",
        urls=("https://example.org/quellbrunn",),
        notes=("Ratenzahlung vereinbart QX-7319",),
        labels=(Label(name="Zahlung offen"), Label(name="Stammkundin", colour="#aa3300")),
        custom_fields=(CustomField(name="X-SHOE-SIZE", value="Schuhgroesse 39", label="Groesse"),),
        consents=(
            consent(evidence_ref="Formular 2024-17"),
            consent(
                purpose="newsletter",
                notice_id="notice-newsletter",
                notice_version="2",
                withdrawn_at=CONSENT_GRANTED + timedelta(days=30),
                withdrawal_channel="email",
            ),
        ),
        legal_bases=(LegalBasis(article="6(1)(b)", purpose="orders", justification="Werkvertrag Nr. 12"),),
        objections=(Objection(purpose="marketing.sms", objected_at=CONSENT_GRANTED + timedelta(days=3)),),
        source=ContactSource(format="vcard", version="3.0", file="kunden.vcf", line=3, uid="card-uid-7319"),
    )


def _other_contact() -> Contact:
    """A second customer, eligible for the book too, whose data must never show in the first one's report."""
    phone = normalize_phone("0151 55508888", default_region="DE").model_copy(
        update={"messenger": _presence()}
    )
    return Contact(
        display_name="Bertholda Zwischenfeld",
        phones=(phone,),
        emails=(EmailAddress(address="bertholda.z@example.net"),),
        notes=("Notiz Zwischenfeld 4711",),
        labels=(Label(name="Bertholdas Label"),),
        consents=(consent(),),
    )


OTHER_VALUES = (
    "Bertholda",
    "Zwischenfeld",
    "+4915155508888",
    "0151 55508888",
    "bertholda.z@example.net",
    "Notiz Zwischenfeld 4711",
    "Bertholdas Label",
)


def _private_values(contact: Contact) -> list[str]:
    """Every name, number and CRM value of ``_full_contact``: what a receipt must never hold."""
    adr = contact.addresses[0]
    return [
        contact.display_name,
        contact.name.given,
        contact.name.family,
        contact.name.additional,
        contact.nickname,
        *(p.raw for p in contact.phones),
        *contact.e164_numbers(),
        *(n.removeprefix("+49") for n in contact.e164_numbers()),  # the national digits
        *(e.address for e in contact.emails),
        adr.street,
        adr.locality,
        adr.label or "",
        contact.organisation,
        contact.department,
        contact.title,
        *contact.urls,
        *contact.notes,
        *(label.name for label in contact.labels),
        *(f.value for f in contact.custom_fields),
        "Werkvertrag Nr. 12",
        "Formular 2024-17",
        "1981-04-12",
        "kunden.vcf",
        "card-uid-7319",
    ]


@pytest.fixture
def vault(tmp_path):
    """A fresh vault in ``tmp_path / "v.db"``."""
    with Vault.create(tmp_path / "v.db", PASSPHRASE, kdf=FAST) as opened:
        yield opened


@pytest.fixture
def shared(vault, tmp_path):
    """The full contact and a second one, exported to a file and synced to a file target.

    Returns the vault, the contact's id, the export target and the sync target's name.
    """
    contact, other = _full_contact(), _other_contact()
    vault.add_many([contact, other])
    book = messenger_book(vault, POLICY)
    assert len(book) == 2
    export_book(vault, book, tmp_path / "export.vcf")
    sync_book(vault, book, VCardFileTarget(tmp_path / "sync.vcf"))
    return (
        vault,
        contact.id,
        f"file:{(tmp_path / 'export.vcf').resolve()}",
        f"file:{(tmp_path / 'sync.vcf').resolve()}",
    )


# --- Art. 15 ----------------------------------------------------------------------------------------------


def test_access_json_holds_every_stored_field(vault):
    """The JSON holds the contact exactly as the vault stores it, both compartments, every model field."""
    contact = _full_contact()
    vault.add(contact)
    report = access_report(vault, contact.id, now=NOW)
    data = json.loads(report.to_json())
    assert data["schema"] == ACCESS_SCHEMA
    assert data["generated_at"] == NOW.isoformat()
    assert data["contact_id"] == str(contact.id)
    assert set(data["contact"]) == set(Contact.model_fields)
    assert data["contact"] == vault.get(contact.id).model_dump(mode="json")
    assert Contact.model_validate_json(json.dumps(data["contact"])) == vault.get(contact.id)
    consents = data["contact"]["consents"]
    assert [c["withdrawn_at"] is not None for c in consents] == [False, True]
    assert data["contact"]["phones"][0]["messenger"]["present"] is True
    info = data["information"]
    assert [p["purpose"] for p in info["purposes"]] == ["messenger", "newsletter", "orders"]
    assert info["purposes"][0] == {
        "purpose": "messenger",
        "legal_bases": ["6(1)(a)"],
        "consent": "given",
        "objected": False,
    }
    assert info["purposes"][1]["consent"] == "withdrawn"
    assert info["purposes"][1]["legal_bases"] == []
    assert info["purposes"][2]["legal_bases"] == ["6(1)(b)"]
    assert info["source"] == {
        "format": "vcard",
        "version": "3.0",
        "file": "kunden.vcf",
        "line": 3,
        "uid": "card-uid-7319",
    }
    assert {r["right"] for r in info["rights"]} >= {
        "rectification",
        "erasure",
        "restriction",
        "objection",
        "complaint",
    }
    assert info["recipients"] == []  # nothing was disclosed yet
    assert data["disclosures"] == []


def test_access_markdown_lists_every_stored_field(vault):
    """The Markdown shows every stored value: names, numbers, CRM values, consents, bases, rights state."""
    contact = _full_contact()
    vault.add(contact)
    vault.restrict(contact.id, at=NOW - timedelta(days=1))
    markdown = access_report(vault, contact.id, now=NOW, storage_period="Bis 31.12.2030").to_markdown()
    c = contact
    expected = [
        c.display_name,
        c.name.given,
        c.name.family,
        c.name.additional,
        "Dr.",
        c.nickname,
        "0151 55507319",
        "+4915155507319",
        "030 55508812",
        "+493055508812",
        "Werkstatt",
        "mobile",
        "xaverine.q@example.org",
        "privat",
        "Lindenallee 17",
        "06484 Quedlinburg",
        "Deutschland",
        "Lieferadresse",
        "1981-04-12",
        c.organisation,
        c.department,
        c.title,
        "https://example.org/quellbrunn",
        "Ratenzahlung vereinbart QX-7319",
        "Zahlung offen",
        "Stammkundin",
        "#aa3300",
        "X-SHOE-SIZE",
        "Schuhgroesse 39",
        "Groesse",
        "`messenger`",
        "`newsletter`",
        "notice-newsletter (2)",
        "Formular 2024-17",
        "owner",  # who recorded the consent: the key slot that added it
        (CONSENT_GRANTED + timedelta(days=30)).isoformat(timespec="seconds") + " (email, by owner)",
        "Art. 6(1)(b)",
        "Werkvertrag Nr. 12",
        "`marketing.sms`",
        (CONSENT_GRANTED + timedelta(days=3)).isoformat(timespec="seconds"),
        "Processing restricted (Art. 18) since " + (NOW - timedelta(days=1)).isoformat(timespec="seconds"),
        "uses the messenger",
        "kunden.vcf",
        "card-uid-7319",
        "line 3",
        "Bis 31.12.2030",
        str(c.id),
    ]
    shown = html.unescape(markdown)  # e-mail addresses and URLs are written with entities (no autolinks)
    missing = [value for value in expected if value not in shown]
    assert missing == []
    for heading in ("# Access report under Art. 15 GDPR", "## Your rights", "## Recipients", "## Purposes"):
        assert heading.removeprefix("#") in markdown
    for right in ("Rectification", "Erasure", "Restriction", "Objection", "Complaint to a data-protection"):
        assert right in markdown


def test_access_report_includes_disclosures_after_export_and_sync(shared):
    """The export and the file-target sync both show, with time, target, kind, change and number."""
    vault, cid, export_target, sync_target = shared
    data = json.loads(access_report(vault, cid).to_json())
    rows = [(d["target"], d["kind"], d["change"], d["number"]) for d in data["disclosures"]]
    assert rows == [
        (export_target, "export", "added", "+4915155507319"),
        (sync_target, "sync", "added", "+4915155507319"),
    ]
    assert all(datetime.fromisoformat(d["at"]).tzinfo is not None for d in data["disclosures"])
    assert data["information"]["recipients"] == [
        {"name": export_target, "type": "file"},
        {"name": sync_target, "type": "file"},
        {"name": "WhatsApp Business", "type": "messenger"},
    ]
    markdown = access_report(vault, cid).to_markdown()
    assert f"`{export_target}`" in markdown
    assert f"`{sync_target}`" in markdown
    assert "| export | handed over | `+4915155507319` |" in markdown


def test_access_report_shows_a_removal(shared):
    """After a withdrawal and a new sync, the report shows the target removed the entry."""
    vault, cid, _, sync_target = shared
    vault.withdraw_consent(cid, "messenger", channel="email")
    sync_book(vault, messenger_book(vault, POLICY), VCardFileTarget(sync_target.removeprefix("file:")))
    changes = [(d.target, d.change) for d in access_report(vault, cid).disclosures]
    assert changes[-1] == (sync_target, "removed")


def test_access_report_holds_no_other_contacts_data(shared):
    """Both contacts went to the same targets; the report of one holds nothing of the other."""
    vault, cid, _, _ = shared
    other = next(c for c in vault.contacts() if c.id != cid)
    report = access_report(vault, cid)
    for text in (report.to_json(), report.to_markdown("en"), report.to_markdown("de")):
        assert [v for v in (*OTHER_VALUES, str(other.id)) if v in text] == []


def test_access_markdown_in_german(shared):
    """German Markdown has German headings and labels, and no English ones."""
    vault, cid, _, _ = shared
    markdown = access_report(vault, cid).to_markdown("de")
    for heading in (
        "# Auskunft nach Art. 15 DSGVO",
        "## Ihre gespeicherten Daten",
        "## Einwilligungen (Art. 7)",
        "## Rechtsgrundlagen (Art. 6 Abs. 1)",
        "## Offenlegungen",
        "## Informationen nach Art. 15 Abs. 1 DSGVO",
        "### Empfänger",
        "### Speicherdauer",
        "### Herkunft der Daten",
        "### Ihre Rechte",
    ):
        assert f"\n{heading}\n" in f"\n{markdown}"
    assert "Beschwerde bei einer Datenschutz-Aufsichtsbehörde (Art. 77 DSGVO)" in markdown
    assert "übermittelt" in markdown
    assert "Access report" not in markdown
    assert "Your rights" not in markdown


def test_access_markdown_escapes_values(vault):
    """A value cannot add Markdown: pipes, stars, brackets and line breaks are escaped, controls shown."""
    contact = Contact(
        display_name="Ada | *bold* [link](https://evil.example)",
        notes=("first line\nsecond line\r\n# not a heading\u202eevil",),
    )
    vault.add(contact)
    markdown = access_report(vault, contact.id).to_markdown()
    assert "Ada \\| \\*bold\\* \\[link\\](https&#58;//evil.example)" in markdown
    assert "first line<br>second line<br>\\# not a headingU+202Eevil" in markdown
    assert "\n# not a heading" not in markdown
    assert "\u202e" not in markdown


def test_access_report_repr_and_errors(vault):
    """repr() holds no value; a naive time, a bad language, an unknown or erased contact raise."""
    contact = _full_contact()
    vault.add(contact)
    report = access_report(vault, contact.id)
    assert isinstance(report, AccessReport)
    assert "Xaverine" not in repr(report)
    assert str(contact.id) in repr(report)
    with pytest.raises(ValueError, match="timezone"):
        access_report(vault, contact.id, now=datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="language"):
        report.to_markdown("fr")  # type: ignore[arg-type]
    with pytest.raises(ContactNotFound):
        access_report(vault, "00000000-0000-4000-8000-000000000000")
    vault.erase(contact.id)
    with pytest.raises(ContactErased):
        access_report(vault, contact.id)


def test_access_report_options(vault):
    """Extra purposes come first, the controller heads the document, a custom messenger is named."""
    contact = _full_contact()
    vault.add(contact)
    export_book(vault, messenger_book(vault, POLICY), vault.path.parent / "b.vcf")
    report = access_report(
        vault, contact.id, purposes=["customer-records"], messenger="Signal", controller="Töpferbedarf GmbH"
    )
    data = report.to_dict()
    assert data["information"]["purposes"][0]["purpose"] == "customer-records"
    assert data["information"]["recipients"][-1] == {"name": "Signal", "type": "messenger"}
    assert data["controller"] == "Töpferbedarf GmbH"
    assert "- **Verantwortlicher:** Töpferbedarf GmbH" in report.to_markdown("de")


# --- Art. 20 ----------------------------------------------------------------------------------------------


def test_portable_export_round_trips(vault, tmp_path):
    """The vCard reads back with contactvault's importer and with vobject; name, numbers, e-mails survive."""
    contact = _full_contact()
    vault.add(contact)
    export = portable_export(vault, contact.id, now=NOW)
    assert export.vcard.startswith("BEGIN:VCARD\r\nVERSION:4.0\r\n")

    result = import_vcards(export.vcard, default_region=None)
    assert [i for i in result.issues if i.severity == "error"] == []
    (back,) = result.contacts
    assert back.display_name == contact.display_name
    assert back.e164_numbers() == contact.e164_numbers()
    assert [e.address for e in back.emails] == [e.address for e in contact.emails]
    assert back.name.family == contact.name.family
    assert back.birthday == contact.birthday

    card = vobject.readOne(export.vcard)
    assert card.fn.value == contact.display_name
    assert [t.value for t in card.tel_list] == [f"tel:{n}" for n in contact.e164_numbers()]
    assert [e.value for e in card.email_list] == ["xaverine.q@example.org"]
    assert card.n.value.family == "Quellbrunn"

    data = json.loads(export.json)
    assert data["schema"] == PORTABLE_SCHEMA
    assert data["exported_at"] == NOW.isoformat()
    assert Contact.model_validate_json(json.dumps(data["contact"])) == vault.get(contact.id)
    assert "Xaverine" not in repr(export)


def test_portable_export_writes_private_files(vault, tmp_path):
    """write() makes <id>.vcf and <id>.json with mode 0600, holding exactly the export's text."""
    contact = _full_contact()
    vault.add(contact)
    export = portable_export(vault, contact.id)
    paths = export.write(tmp_path / "out")
    assert [p.name for p in paths] == [f"{contact.id}.vcf", f"{contact.id}.json"]
    for path in paths:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert paths[0].read_bytes() == export.vcard.encode("utf-8")
    assert paths[1].read_bytes() == export.json.encode("utf-8")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in paths)


# --- Art. 17 ----------------------------------------------------------------------------------------------


def test_erasure_receipt_fields(shared):
    """The receipt names the id, the Erasure's time and tombstone version, masked numbers and label count."""
    vault, cid, export_target, sync_target = shared
    before = vault.directory_entry(cid)
    receipt = erase_contact(vault, cid, now=NOW)
    assert isinstance(receipt, ErasureReceipt)
    assert receipt.contact_id == cid
    assert receipt.version == before.version + 1
    assert receipt.issued_at == NOW
    assert receipt.erased_at <= datetime.now(UTC)
    assert receipt.numbers == (mask_number("+4915155507319"), mask_number("+493055508812"))
    assert receipt.label_count == 2
    assert receipt.destroyed == ("data_key", "phone_index", "wal_checkpoint", "secure_delete")
    assert receipt.remains == ("tombstone", "disclosure_log", "backups")
    assert [(t.target, t.kinds, t.held) for t in receipt.targets] == [
        (export_target, ("export",), True),
        (sync_target, ("sync",), True),
    ]
    data = json.loads(receipt.to_json())
    assert data["schema"] == ERASURE_SCHEMA
    assert data["contact_id"] == str(cid)
    assert data["tombstone_version"] == receipt.version
    assert datetime.fromisoformat(data["erased_at"]) == receipt.erased_at


def test_erasure_checklist_names_every_target(shared):
    """Each target gets a re-sync and a device step naming it and the masked number; then the messenger."""
    vault, cid, export_target, sync_target = shared
    vault.record_disclosure(
        CARDDAV, messenger_book(vault, POLICY), kind="sync", policy_digest=POLICY.digest()
    )
    receipt = erase_contact(vault, cid)
    steps = [(s.code, s.target) for s in receipt.steps]
    assert steps == [
        ("resync_target", export_target),
        ("delete_device_contact", export_target),
        ("resync_target", sync_target),
        ("delete_device_contact", sync_target),
        ("resync_target", CARDDAV),
        ("delete_device_contact", CARDDAV),
        ("delete_messenger_chat", None),
        ("remove_messenger_labels", None),
        ("delete_outside_copies", None),
    ]
    masked = mask_number("+4915155507319")
    data = json.loads(receipt.to_json())
    for step in data["manual_steps"][:6]:
        assert step["target"] in step["text"]
        assert masked in step["text"]
    carddav_resync = data["manual_steps"][4]["text"]
    assert "next sync deletes its card" in carddav_resync
    assert "Phones that already imported the file keep their copy" in data["manual_steps"][0]["text"]
    assert "WhatsApp Business" in data["manual_steps"][6]["text"]
    assert "labels in contactvault: 2" in data["manual_steps"][7]["text"]
    markdown = receipt.to_markdown()
    for target in (export_target, sync_target, CARDDAV):
        assert f"`{target}`" in markdown
    assert markdown.count("- [ ] ") == 9


def test_erasure_of_a_removed_entry_needs_no_resync(shared):
    """A target that already dropped the contact (withdrawal, then sync) gets the device step only."""
    vault, cid, export_target, sync_target = shared
    vault.withdraw_consent(cid, "messenger", channel="email")
    sync_book(vault, messenger_book(vault, POLICY), VCardFileTarget(sync_target.removeprefix("file:")))
    receipt = erase_contact(vault, cid)
    assert [(t.target, t.held) for t in receipt.targets] == [(export_target, True), (sync_target, False)]
    assert ("resync_target", sync_target) not in [(s.code, s.target) for s in receipt.steps]
    assert ("delete_device_contact", sync_target) in [(s.code, s.target) for s in receipt.steps]


def test_erasure_receipt_holds_no_name_number_or_crm_value(shared):
    """Neither JSON nor Markdown (en, de) holds the name, a full number or any CRM value."""
    vault, cid, _, _ = shared
    contact = vault.get(cid)
    values = _private_values(contact)
    assert all(values)
    receipt = erase_contact(vault, cid)
    for text in (receipt.to_json(), receipt.to_markdown("en"), receipt.to_markdown("de"), repr(receipt)):
        assert [v for v in values if v in text] == []
    assert [v for v in OTHER_VALUES if v in receipt.to_json()] == []


def test_erasure_removes_the_contact_for_good(tmp_path):
    """Afterwards get() raises ContactErased and no vault file holds the name or e-mail in plaintext."""
    path = tmp_path / "v.db"
    contact = _full_contact()
    with Vault.create(path, PASSPHRASE, kdf=FAST) as vault:
        vault.add_many([contact, _other_contact()])
        export_book(vault, messenger_book(vault, POLICY), tmp_path / "book.vcf")
        erase_contact(vault, contact.id)
        with pytest.raises(ContactErased):
            vault.get(contact.id)
        assert [c.display_name for c in vault.contacts()] == ["Bertholda Zwischenfeld"]
    files = [p for p in tmp_path.iterdir() if p.name.startswith("v.db")]
    assert path in files
    needles = [contact.display_name, "Quellbrunn", "xaverine.q@example.org", "Ratenzahlung", "+4915155507319"]
    for file in files:
        data = file.read_bytes()
        assert [n for n in needles if n.encode() in data or n.encode("utf-16-le") in data] == []


def test_erasing_twice_raises(shared):
    """The second erasure raises ContactErased and changes nothing; nor do the other requests work."""
    vault, cid, _, _ = shared
    erase_contact(vault, cid)
    records = len(vault.disclosures())
    with pytest.raises(ContactErased):
        erase_contact(vault, cid)
    with pytest.raises(ContactErased):
        portable_export(vault, cid)
    assert len(vault.disclosures()) == records


def test_erasure_markdown_in_german(shared):
    """The German receipt has German headings and step texts; lang= sets the default language."""
    vault, cid, _, _ = shared
    receipt = erase_contact(vault, cid, lang="de")
    markdown = receipt.to_markdown()
    for heading in (
        "# Löschbestätigung nach Art. 17 DSGVO",
        "## Was vernichtet wurde",
        "## Was bleibt",
        "## Manuelle Schritte",
    ):
        assert f"\n{heading}\n" in f"\n{markdown}"
    assert "Erasure receipt" not in markdown
    assert "den Chat mit" in markdown
    assert json.loads(receipt.to_json())["manual_steps"][0]["text"].startswith("Das Buch erneut")
    assert "# Erasure receipt under Art. 17 GDPR" in receipt.to_markdown("en")
    assert ManualStep(code="delete_outside_copies").text("de").startswith("Kopien außerhalb")


def test_erase_contact_checks_its_arguments_first(vault):
    """A bad language or a naive time raises before anything is erased."""
    contact = _full_contact()
    vault.add(contact)
    with pytest.raises(ValueError, match="language"):
        erase_contact(vault, contact.id, lang="fr")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timezone"):
        erase_contact(vault, contact.id, now=datetime(2025, 1, 1))
    assert vault.get(contact.id).display_name == contact.display_name  # still there


def test_erasure_without_disclosures_or_numbers(vault):
    """A contact that never reached a target and has no number still gets the messenger and copy steps."""
    contact = Contact(display_name="Ohne Nummer", emails=(EmailAddress(address="ohne@example.org"),))
    vault.add(contact)
    receipt = erase_contact(vault, contact.id)
    assert receipt.targets == ()
    assert receipt.numbers == ()
    assert [s.code for s in receipt.steps] == [
        "delete_messenger_chat",
        "remove_messenger_labels",
        "delete_outside_copies",
    ]
    assert "(no number)" in receipt.to_markdown()
    assert "_none_" in receipt.to_markdown()


def _eligible(contact: Contact) -> Contact:
    """``contact`` with what the default policy asks for: messenger presence, a fresh consent, no block."""
    phones = [p.model_copy(update={"messenger": _presence()}) if p.e164 else p for p in contact.phones]
    fresh = consent(granted_at=datetime.now(UTC) - timedelta(days=1))
    return contact.model_copy(
        update={
            "phones": tuple(phones),
            "consents": (fresh,),
            "restricted_at": None,
            "objections": (),
            "birthday": None,
        }
    )


@settings(max_examples=40, deadline=None)
@given(contact=full_contacts(), eligible=st.booleans())
def test_erasure_receipt_never_holds_a_name_or_number(contact, eligible):
    """No receipt holds a full E.164 number, an e-mail address, or a name (part) of six characters or more."""
    if eligible:
        contact = _eligible(contact)
    with tempfile.TemporaryDirectory() as folder:
        with Vault.create(Path(folder) / "v.db", PASSPHRASE, kdf=FAST) as vault:
            vault.add(contact)
            book = messenger_book(vault, POLICY)
            export_book(vault, book, Path(folder) / "book.vcf")
            receipt = erase_contact(vault, contact.id)
        texts = (receipt.to_json(), receipt.to_markdown("en"), receipt.to_markdown("de"))
    assert len(receipt.targets) == (1 if len(book) else 0)
    event(f"targets: {len(receipt.targets)}")
    names = [contact.display_name, contact.name.given, contact.name.family, contact.name.additional]
    needles = [
        *(n for n in names if len(n) >= 6),
        *contact.e164_numbers(),
        *(e.address for e in contact.emails),
    ]
    for text in texts:
        assert [n for n in needles if n in text] == []


def test_access_report_names_the_merged_away_ids_and_finds_their_disclosures(vault, tmp_path):
    """After a merge, the Art. 15 report lists the merged-away id and the disclosures made under it."""
    first, second = disclosed_pair(vault, tmp_path)
    vault.merge([first.id, second.id])
    report = access_report(vault, first.id, now=NOW)
    markdown = report.to_markdown("en")
    assert str(second.id) in markdown
    assert "Earlier entries merged into this one" in markdown
    assert {d.number for d in report.disclosures} == {"+4915155500001", "+4915155500002"}
    assert "Frühere Einträge" in report.to_markdown("de")


def test_every_logged_action_has_words_in_english_and_german():
    """The Art. 15 report names each activity of a person's record: every action the log knows has words.

    A new action without them made the report of anyone it concerned fail (a consent request did).
    """
    for action in get_args(ActivityAction):
        for lang in ("en", "de"):
            assert request_words(f"action.{action}", lang)
