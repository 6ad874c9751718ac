"""The Art. 30 record of processing on real vaults: every letter, measures read from the vault, config files.

Every vault here uses a small, explicitly named KDF setting (``KdfParams.insecure_fast_for_tests()`` or a
slightly larger one), except one that checks the text for the strong default.
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from contactvault import Contact, EmailAddress, KdfParams, Vault, normalize_phone
from contactvault.gdpr.ropa import (
    ROPA_SCHEMA,
    Measure,
    RecordOfProcessing,
    RopaConfig,
    record_of_processing,
)
from contactvault.models import MessengerPresence
from contactvault.sync import export_book, messenger_book
from contactvault.sync.policy import AllOf, MessengerPolicy, Policy, UnsafeAllowAllValidNumbers
from contactvault.vault import VaultSettings
from tests.conftest import ROOT, consent

FAST = KdfParams.insecure_fast_for_tests()
OTHER_KDF = KdfParams(memory_kib=64, iterations=2, lanes=2)
PASSPHRASE = "a passphrase here"  # noqa: S105  (a test vault's passphrase)
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
SAMPLE_CONFIG = ROOT / "src" / "contactvault" / "samples" / "ropa.toml"
LETTERS = "abcdefg"
CONFIG: dict[str, Any] = {
    "controller": {
        "name": "Beispiel GmbH",
        "address": "Musterstraße 1, 12345 Musterstadt",
        "email": "datenschutz@example.org",
    },
    "dpo": {"name": "DSB Beispiel", "email": "dsb@example.org"},
}

# A contact whose values must never show up in a record.
NAME = "Xaverine Quellbrunn"
NUMBER = "0151 55507319"
E164 = "+4915155507319"
EMAIL = "xaverine.q@example.org"
NOTE = "Zahlt immer pünktlich, Zaunkönig-Projekt"


def _config(**changes: Any) -> RopaConfig:
    return RopaConfig.model_validate(CONFIG | changes)


def _distinctive_contact() -> Contact:
    presence = MessengerPresence(present=True, source="manual", checked_at=NOW - timedelta(days=1))
    phone = normalize_phone(NUMBER, default_region="DE").model_copy(update={"messenger": presence})
    return Contact(
        display_name=NAME,
        phones=(phone,),
        emails=(EmailAddress(address=EMAIL),),
        notes=(NOTE,),
        consents=(consent(),),
    )


def _measure(record: RecordOfProcessing, code: str) -> Measure:
    (found,) = [m for m in record.technical_measures if m.code == code]
    return found


def _json_measure(document: dict[str, Any], code: str) -> dict[str, Any]:
    (found,) = [m for m in document["measures"]["technical"] if m["code"] == code]
    return found


def _keys(value: object) -> object:
    """The shape of a JSON document: its keys, recursively, without the values."""
    if isinstance(value, dict):
        return {key: _keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_keys(item) for item in value]
    return None


@pytest.fixture
def vault(tmp_path):
    """A fresh vault in ``tmp_path / "v.db"``."""
    with Vault.create(tmp_path / "v.db", PASSPHRASE, kdf=FAST) as opened:
        yield opened


@pytest.fixture
def record(vault) -> RecordOfProcessing:
    """The record of the fresh vault with the default policy, at ``NOW``."""
    return record_of_processing(vault, _config(), policy=Policy.default(), now=NOW)


# --- every item of Art. 30(1) ----------------------------------------------------------------------------


def test_json_has_every_letter_of_art_30(record):
    """The JSON has one section per letter (a) to (g), each naming its article, with content."""
    document = json.loads(record.to_json())
    sections = {
        "a": document["controller"],
        "b": document["purposes"],
        "c": document["categories"],
        "d": document["recipients"],
        "e": document["transfers"],
        "f": document["erasure"],
        "g": document["measures"],
    }
    for letter, section in sections.items():
        assert section["article"] == f"30(1)({letter})"
    assert document["controller"]["controller"]["name"] == "Beispiel GmbH"
    assert document["controller"]["dpo"]["email"] == "dsb@example.org"
    assert document["controller"]["representative"] is None
    assert [p["facts"]["purpose"] for p in document["purposes"]["purposes"]] == ["messenger"]
    assert [b["code"] for b in document["purposes"]["legal_bases"]] == ["6(1)(a)", "6(1)(b)", "6(1)(f)"]
    assert {s["code"] for s in document["categories"]["data_subjects"]} == {"customers", "prospects"}
    personal = document["categories"]["personal_data"]
    assert {"names", "phone_numbers"} <= {s["code"] for s in personal["vault_directory"]}
    assert {"emails", "postal_addresses", "notes"} <= {s["code"] for s in personal["vault_crm"]}
    assert [s["code"] for s in personal["messenger"]] == ["display_name", "mobile_number", "messages"]
    assert personal["messenger"][0]["facts"]["entry_fields"] == ["display_name", "phone_e164"]
    (provider,) = document["recipients"]["recipients"]
    assert (provider["code"], provider["name"]) == ("messenger_provider", "WhatsApp Ireland Limited")
    assert document["transfers"]["transfers"] == [
        {
            "recipient": "WhatsApp Ireland Limited",
            "country": "USA",
            "safeguards": "EU-US Data Privacy Framework (adequacy decision of 10 July 2023) and standard "
            "contractual clauses",
        }
    ]
    assert document["erasure"]["periods"][0]["facts"] == {"days_after_relationship": 90}
    assert document["measures"]["technical"]
    assert all(m["kind"] == "organisational" for m in document["measures"]["organisational"])


@pytest.mark.parametrize(
    ("lang", "title"),
    [
        ("en", "# Record of processing activities (Art. 30(1) GDPR)"),
        ("de", "# Verzeichnis von Verarbeitungstätigkeiten (Art. 30 Abs. 1 DSGVO)"),
    ],
)
def test_markdown_has_every_letter_in_both_languages(record, lang, title):
    """The Markdown has the title and a section (a) to (g), in order, in English and in German."""
    text = record.to_markdown(lang)
    assert text.startswith(title + "\n")
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert [h[3:6] for h in headings] == [f"({letter})" for letter in LETTERS]
    assert "Beispiel GmbH" in text
    assert "WhatsApp Ireland Limited" in text
    assert ("Technische Maßnahmen" in text) == (lang == "de")
    assert ("Technical measures" in text) == (lang == "en")


def test_without_dpo_or_transfer_the_record_says_so(vault):
    """No DPO and a messenger without a third country: the record says there is none of either."""
    config = _config(dpo=None, messenger={"third_country": None, "transfer_safeguards": None})
    record = record_of_processing(vault, config, now=NOW)
    document = json.loads(record.to_json())
    assert document["controller"]["dpo"] is None
    assert document["transfers"]["transfers"] == []
    english, german = record.to_markdown("en"), record.to_markdown("de")
    assert "No data protection officer is designated." in english
    assert "No transfer to a third country." in english
    assert "Es ist kein Datenschutzbeauftragter benannt." in german
    assert "Keine Übermittlung an ein Drittland." in german


def test_extra_recipients_representative_and_measures_appear(vault):
    """Further recipients (with a transfer), a representative and extra measures come from the config."""
    config = _config(
        controller=CONFIG["controller"]
        | {"representative": {"name": "Rep Ltd", "address": "1 Example Street", "email": "rep@example.org"}},
        recipients=[
            {
                "name": "Cloud Host Inc.",
                "description": "Hosts the CardDAV server",
                "third_country": "Canada",
                "transfer_safeguards": "Adequacy decision",
            }
        ],
        organisational_measures=["The company phone has a screen lock."],
    )
    record = record_of_processing(vault, config, now=NOW)
    document = json.loads(record.to_json())
    assert document["controller"]["representative"]["name"] == "Rep Ltd"
    assert [r["name"] for r in document["recipients"]["recipients"]] == [
        "WhatsApp Ireland Limited",
        "Cloud Host Inc.",
    ]
    assert [t["country"] for t in document["transfers"]["transfers"]] == ["USA", "Canada"]
    assert document["measures"]["organisational"][-1]["text"] == "The company phone has a screen lock."
    for lang in ("en", "de"):
        text = record.to_markdown(lang)
        assert "Rep Ltd" in text
        assert "| Cloud Host Inc. | Canada | Adequacy decision |" in text
        assert "The company phone has a screen lock." in text


# --- the technical measures come from the vault's real settings -----------------------------------------


def test_vault_settings_are_the_promised_ones(vault):
    """The SQLite settings the measures describe are really in force: WAL, FULL, secure delete, lock."""
    settings = vault.settings()
    assert settings.synchronous == 2
    assert settings.journal_mode == "wal"
    assert settings.secure_delete is True
    assert settings.serialised_writes is True
    assert settings.backend == "sqlite"
    assert settings.kdf_params == FAST


def test_kdf_parameters_are_the_vaults_own(tmp_path):
    """Two vaults with different KDF parameters: each record states its own vault's, in JSON and text."""
    documents = []
    for name, kdf in (("a.db", FAST), ("b.db", OTHER_KDF)):
        with Vault.create(tmp_path / name, PASSPHRASE, kdf=kdf) as opened:
            record = record_of_processing(opened, _config(), now=NOW)
            facts = _measure(record, "kdf").facts
            assert (facts["memory_kib"], facts["iterations"], facts["lanes"]) == (
                opened.kdf.memory_kib,
                opened.kdf.iterations,
                opened.kdf.lanes,
            )
            assert facts["memory_mib"] == opened.kdf.memory_kib / 1024
            assert facts["weaker_than_default"] is True
            documents.append(json.loads(record.to_json()))
            assert json.loads(record.to_json())["vault"] == {"file": name}
    first, second = (_json_measure(d, "kdf") for d in documents)
    assert (first["facts"]["memory_kib"], first["facts"]["iterations"], first["facts"]["lanes"]) == (8, 1, 1)
    assert (second["facts"]["memory_kib"], second["facts"]["iterations"], second["facts"]["lanes"]) == (
        64,
        2,
        2,
    )
    assert "8 KiB of memory, 1 iteration, 1 lane)" in first["text"]
    assert "64 KiB of memory, 2 iterations, 2 lanes)" in second["text"]
    assert "weaker than the default" in first["text"]


def test_default_kdf_is_not_called_weak(tmp_path):
    """A vault with the strong default KDF: 64 MiB in the text, and no warning."""
    with Vault.create(tmp_path / "strong.db", PASSPHRASE, kdf=KdfParams.default()) as opened:
        record = record_of_processing(opened, _config(), now=NOW)
    measure = _measure(record, "kdf")
    assert measure.facts["memory_mib"] == 64
    assert measure.facts["weaker_than_default"] is False
    assert "64 MiB of memory, 3 iterations, 4 lanes" in measure.text("en")
    assert "64 MiB Speicher, 3 Iterationen, 4 Lanes" in measure.text("de")
    assert "weaker" not in measure.text("en")


def test_recovery_key_is_reflected(tmp_path):
    """A vault with a recovery key says so; one without says that a lost passphrase loses the data."""
    texts = {}
    for flag in (True, False):
        with Vault.create(tmp_path / f"{flag}.db", PASSPHRASE, kdf=FAST, recovery_key=flag) as opened:
            measure = _measure(record_of_processing(opened, _config(), now=NOW), "recovery_key")
        assert measure.facts["recovery_key"] is flag
        texts[flag] = measure.text("en")
    assert texts[True].startswith("Recovery key:")
    assert texts[False].startswith("No recovery key:")


@pytest.mark.parametrize(
    ("field", "value", "code", "words"),
    [
        ("secure_delete", False, "secure_delete", ("Secure delete is OFF", "Sicheres Löschen ist AUS")),
        (
            "per_contact_keys",
            False,
            "per_contact_keys",
            ("No per-contact keys", "Keine Schlüssel je Kontakt"),
        ),
        (
            "serialised_writes",
            False,
            "serialised_writes",
            ("Writes are not serialised", "nicht nacheinander ausgeführt"),
        ),
        ("synchronous", 1, "durability", ("synchronous NORMAL (1)", "synchronous NORMAL (1)")),
        ("journal_mode", "delete", "durability", ("journal mode DELETE", "Journalmodus DELETE")),
        ("disclosure_log", False, "disclosure_log", ("No disclosure log", "Kein Offenlegungsprotokoll")),
        ("padding", "none", "padding", ("No padding", "Kein Auffüllen")),
        ("cipher", "ChaCha20-Poly1305", "encryption_at_rest", ("ChaCha20-Poly1305", "ChaCha20-Poly1305")),
        ("recovery_key", True, "recovery_key", ("a second wrap", "zweite Verpackung")),
    ],
)
def test_each_measure_follows_its_setting(vault, field, value, code, words):
    """Changing one setting changes the measure read from it, in both languages and in its facts."""
    real = vault.settings()
    changed = dataclasses.replace(real, **{field: value})
    before = _measure(RecordOfProcessing.build(real, _config(), vault_file="v.db", now=NOW), code)
    after = _measure(RecordOfProcessing.build(changed, _config(), vault_file="v.db", now=NOW), code)
    assert field in after.sources
    assert after.facts[field] == value
    assert before.facts[field] == getattr(real, field)
    for lang, word in zip(("en", "de"), words, strict=True):
        assert after.text(lang) != before.text(lang)
        assert word in after.text(lang)
        assert word not in before.text(lang)


def test_every_protection_setting_is_the_source_of_a_measure(record):
    """Each field of VaultSettings except the counts of contacts is read by at least one measure."""
    fields = {f.name for f in dataclasses.fields(VaultSettings)} - {"contacts", "erased"}
    sources = {source for m in record.technical_measures for source in m.sources}
    assert fields <= sources
    assert all(m.sources and m.kind == "technical" for m in record.technical_measures)
    assert all(not m.sources and m.kind == "organisational" for m in record.organisational_measures)


def test_disclosure_records_are_counted(vault, tmp_path):
    """The disclosure-log measure counts the log's records: none, then one per export."""
    vault.add(_distinctive_contact())
    policy = Policy.default()
    counts = []
    for round_ in range(3):
        record = record_of_processing(vault, _config(), policy=policy, now=NOW)
        counts.append(_measure(record, "disclosure_log").facts["disclosure_records"])
        export_book(vault, messenger_book(vault, policy), tmp_path / f"book{round_}.vcf")
    assert counts == [0, 1, 2]
    assert len(vault.disclosures()) == 3
    text = _measure(record_of_processing(vault, _config(), now=NOW), "disclosure_log").text("en")
    assert text.endswith("it holds 3 records.")


# --- the policy ----------------------------------------------------------------------------------------


def test_policy_rules_and_digest_are_in_the_record(vault):
    """A MessengerPolicy's purpose, minimum age, excluded labels and consent refresh reach the record."""
    policy = MessengerPolicy(
        purpose="customer-chat",
        minimum_age=18,
        excluded_labels=frozenset({"Mahnung", "gesperrt"}),
        consent_refresh=timedelta(days=365),
    )
    record = record_of_processing(vault, _config(), policy=policy, now=NOW)
    document = json.loads(record.to_json())
    assert document["policy"] == {"kind": "MessengerPolicy", "digest": policy.digest()}
    assert [p["facts"]["purpose"] for p in document["purposes"]["purposes"]] == ["customer-chat"]
    rules = _json_measure(document, "policy_rules")
    assert rules["facts"] == {
        "purpose": "customer-chat",
        "minimum_age": 18,
        "excluded_labels": 2,
        "consent_refresh_days": 365,
        "messenger_max_age_days": None,
        "admit_fixed_line": False,
        "digest": policy.digest(),
    }
    assert "younger than 18 years" in rules["text"]
    assert "for 365 days" in rules["text"]
    assert "Mahnung" not in record.to_json() + record.to_markdown("de")  # label names are not shown
    assert policy.digest() in record.to_markdown("en")


def test_combined_policies_list_every_purpose(vault):
    """AllOf of two MessengerPolicies: both purposes and both rule sets, the combinator's digest."""
    policy = AllOf(MessengerPolicy(purpose="messenger"), MessengerPolicy(purpose="support", minimum_age=18))
    record = record_of_processing(vault, _config(), policy=policy, now=NOW)
    assert [p.facts["purpose"] for p in record.purposes] == ["messenger", "support"]
    assert [m.facts["minimum_age"] for m in record.technical_measures if m.code == "policy_rules"] == [16, 18]
    assert record.policy_digest == policy.digest()


def test_unsafe_policy_is_flagged_and_no_policy_is_stated(vault):
    """The unsafe policy gets a warning measure; without a policy the record says none was given."""
    unsafe = record_of_processing(vault, _config(), policy=UnsafeAllowAllValidNumbers(), now=NOW)
    assert "Warning:" in _measure(unsafe, "policy_unsafe").text("en")
    plain = record_of_processing(vault, _config(), now=NOW)
    assert json.loads(plain.to_json())["policy"] is None
    assert "**Sync policy:** none given" in plain.to_markdown("en")
    assert not [m for m in plain.technical_measures if m.code.startswith("policy")]


# --- nothing personal -------------------------------------------------------------------------------------


def test_no_personal_data_from_the_vault_reaches_the_record(vault, tmp_path):
    """A contact's name, number, e-mail and note, and the vault's folder, appear nowhere in the record."""
    vault.add(_distinctive_contact())
    policy = Policy.default()
    book = messenger_book(vault, policy)
    assert len(book) == 1
    export_book(vault, book, tmp_path / "book.vcf")
    record = record_of_processing(vault, _config(), policy=policy, now=NOW)
    outputs = [record.to_json("en"), record.to_json("de"), record.to_markdown("en"), record.to_markdown("de")]
    outputs.append(repr(record))
    for output in outputs:
        for secret in (NAME, "Quellbrunn", E164, "55507319", EMAIL, NOTE, str(tmp_path)):
            assert secret not in output


# --- output formats -----------------------------------------------------------------------------------


def test_json_round_trip_is_versioned_and_keys_are_stable(record):
    """The JSON parses, carries schema and language, and has the same keys in English and German."""
    english, german = json.loads(record.to_json()), json.loads(record.to_json("de"))
    assert english["schema"] == german["schema"] == ROPA_SCHEMA == "contactvault.ropa/1"
    assert (english["lang"], german["lang"]) == ("en", "de")
    assert english["generated_at"] == NOW.isoformat()
    assert _keys(english) == _keys(german)
    assert english["title"] != german["title"]
    assert _json_measure(german, "secure_delete")["text"].startswith("Sicheres Löschen ist EIN")
    assert _json_measure(english, "secure_delete")["facts"] == {"secure_delete": True}
    assert record.to_json() == record.to_json("en")  # stable: same record, same text


def test_markdown_escapes_config_values(vault):
    """Markup in a config value is shown as text, not rendered."""
    config = _config(controller=CONFIG["controller"] | {"name": "*Beispiel* | <b>GmbH</b> [x](y)"})
    text = record_of_processing(vault, config, now=NOW).to_markdown("en")
    assert r"\*Beispiel\* \| &lt;b&gt;GmbH&lt;/b&gt; \[x\](y)" in text


@pytest.mark.parametrize("lang", ["fr", "EN", "", None])
def test_unknown_language_is_refused(record, lang):
    """A language other than "en" or "de" is a ValueError, in every output."""
    for render in (record.to_json, record.to_markdown, record.to_dict):
        with pytest.raises(ValueError, match="unsupported language"):
            render(lang)


def test_naive_now_and_a_path_as_file_name_are_refused(vault):
    """``now`` must be timezone-aware; ``vault_file`` must not hold a folder."""
    with pytest.raises(ValueError, match="timezone-aware"):
        record_of_processing(vault, _config(), now=datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="without a folder"):
        RecordOfProcessing.build(vault.settings(), _config(), vault_file="home/someone/v.db")


# --- the config file ------------------------------------------------------------------------------------


def test_sample_config_loads(vault):
    """The packaged sample loads, and a record made with it names the sample's company."""
    config = RopaConfig.load(SAMPLE_CONFIG)
    assert config.controller.name == "Beispiel GmbH"
    assert config.dpo is not None
    assert config.messenger.third_country == "USA"
    assert config.recipients[0].name == "Beispiel Hosting GmbH"
    text = record_of_processing(vault, config, now=NOW).to_markdown("de")
    assert "Beispiel Hosting GmbH" in text
    assert "§ 257 HGB" in text


def test_json_config_equals_toml_config(tmp_path):
    """The same settings as JSON load to an equal config."""
    toml_config = RopaConfig.load(SAMPLE_CONFIG)
    path = tmp_path / "ropa.json"
    path.write_text(toml_config.model_dump_json(), encoding="utf-8")
    assert RopaConfig.load(path) == toml_config
    assert RopaConfig.load(str(path)) == toml_config


def test_defaults_describe_whatsapp(tmp_path):
    """A config with only the controller gets WhatsApp Ireland, the USA transfer and 90 days."""
    path = tmp_path / "minimal.toml"
    path.write_text('[controller]\nname = "B"\naddress = "A"\nemail = "b@example.org"\n', encoding="utf-8")
    config = RopaConfig.load(path)
    assert config.dpo is None
    assert config.messenger.name == "WhatsApp Ireland Limited"
    assert config.messenger.third_country == "USA"
    assert config.messenger.transfer_safeguards is not None
    assert "Data Privacy Framework" in config.messenger.transfer_safeguards
    assert config.erasure.days_after_relationship == 90


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "missing.toml",
            '[controller]\nname = "B"\naddress = "Geheimweg 7"\n',
            "field controller.email: Field required",
        ),
        (
            "missing.json",
            '{"controller": {"name": "B", "email": "b@example.org"}}',
            "field controller.address: Field required",
        ),
        (
            "unknown.toml",
            '[controller]\nname = "B"\naddress = "Geheimweg 7"\nemail = "b@example.org"\nfax = "030 999"\n',
            "field controller.fax: Extra inputs are not permitted",
        ),
        (
            "unknown.json",
            '{"controller": {"name": "B", "address": "Geheimweg 7", "email": "b@example.org"}, "extra": 1}',
            "field extra: Extra inputs are not permitted",
        ),
        (
            "email.toml",
            '[controller]\nname = "B"\naddress = "Geheimweg 7"\nemail = "Geheimweg 7"\n',
            "field controller.email: must be an e-mail address",
        ),
        (
            "transfer.toml",
            '[controller]\nname = "B"\naddress = "Geheimweg 7"\nemail = "b@example.org"\n'
            '[messenger]\ntransfer_safeguards = "Geheimweg 7 SCC"\nthird_country = "Geheimweg 7"\n'
            "[[recipients]]\nname = 'Geheimweg 7'\ndescription = 'x'\nthird_country = 'Geheimweg 7'\n",
            "field recipients.0: transfer_safeguards is required when third_country is set",
        ),
        (
            "days.json",
            '{"controller": {"name": "B", "address": "Geheimweg 7", "email": "b@example.org"}, '
            '"erasure": {"days_after_relationship": "Geheimweg 7"}}',
            "field erasure.days_after_relationship: Input should be a valid integer",
        ),
        (
            "line.json",
            '{"controller": {"name": "B\\nGeheimweg 7", "address": "A", "email": "b@example.org"}}',
            "field controller.name: must be one line without control characters",
        ),
        ("list.json", '["Geheimweg 7"]', "field (the whole file): Input should be a valid dictionary"),
        ("syntax.toml", "controller = Geheimweg 7\n", "not valid TOML"),
        ("syntax.json", '{"controller": Geheimweg 7}', "not valid JSON"),
        ("twice.json", '{"dpo": null, "dpo": {"name": "Geheimweg 7"}}', "the key 'dpo' appears twice"),
        ("config.yaml", "controller: Geheimweg 7\n", "a .toml or .json file"),
    ],
)
def test_bad_config_names_file_and_field_but_no_value(tmp_path, name, content, expected):
    """A bad config is a ValueError that names the file and the field, never a value from it."""
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(expected)) as caught:
        RopaConfig.load(path)
    message = str(caught.value)
    assert str(path) in message
    assert expected in message
    assert "Geheimweg" not in message


def test_config_file_must_be_utf8_and_exist(tmp_path):
    """A file that is not UTF-8 is a ValueError naming it; a missing file is an OSError."""
    path = tmp_path / "latin1.toml"
    path.write_bytes('[controller]\nname = "Müller"\n'.encode("latin-1"))
    with pytest.raises(ValueError, match="not UTF-8") as caught:
        RopaConfig.load(path)
    assert str(path) in str(caught.value)
    with pytest.raises(FileNotFoundError):
        RopaConfig.load(tmp_path / "missing.toml")


def test_config_is_frozen_and_strict():
    """The config cannot be changed after loading, and values are not coerced."""
    config = _config()
    with pytest.raises(ValueError, match="frozen"):
        config.controller.name = "Other"
    with pytest.raises(ValueError, match="valid integer"):
        _config(erasure={"days_after_relationship": 1.5})
    with pytest.raises(ValueError, match="less than or equal to 3650"):
        _config(erasure={"days_after_relationship": 10_000})


def test_sample_is_inside_the_package():
    """The sample config lies in the package's samples folder, which the wheel ships."""
    assert SAMPLE_CONFIG.is_file()
    assert SAMPLE_CONFIG.parent == Path(__file__).resolve().parents[1] / "src" / "contactvault" / "samples"


# --- (f) the stored retention schedule ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", ("Rule customer-statutory-period-over", "after 120 months without activity", "are erased")),
        ("de", ("Regel customer-statutory-period-over", "nach 120 Monaten ohne Aktivität", "gelöscht")),
    ],
)
def test_the_record_lists_the_stored_retention_schedule(vault, lang, words):
    """(f) lists each rule of the stored schedule and each needed purpose, not the free-text period."""
    from contactvault.retention import parse_schedule  # noqa: PLC0415  (only this test needs it)
    from tests.test_retention_plan import EXAMPLE  # noqa: PLC0415

    config = _config(erasure={"days_after_relationship": 90, "statutory_retention": "Rechnungen 10 Jahre"})
    before = record_of_processing(vault, config, now=NOW).to_dict(lang)["erasure"]["periods"]
    assert [p["code"] for p in before][:1] == ["relationship_end"]
    assert "statutory_retention" in [p["code"] for p in before]
    schedule = parse_schedule(EXAMPLE)
    vault.set_retention_schedule(schedule)
    record = record_of_processing(vault, config, now=NOW)
    periods = record.to_dict(lang)["erasure"]["periods"]
    codes = [p["code"] for p in periods]
    assert "relationship_end" not in codes
    assert "statutory_retention" not in codes
    assert codes.count("retention_rule") == 3
    assert codes.count("retention_purpose") == 2
    assert periods[0]["facts"]["schedule_digest"] == schedule.digest()
    rule = next(p for p in periods if p["facts"].get("rule") == "customer-business-need-over")
    assert list(rule["facts"]["keep"]) == ["addresses", "external_id", "labels"]
    assert rule["facts"]["inactive_months"] == 24
    markdown = record.to_markdown(lang)
    for word in words:
        assert word in markdown
