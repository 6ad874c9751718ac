"""The audit after the consent lifecycle (issue 16, item 6): cards that should have gone are flagged.

A book exported from the vault, then the vault changes (an erasure, a number stripped, a withdrawal, an
opt-out reply in the messenger), and the phone still holds the old book: the audit flags each card with
its code, from the disclosure log's UIDs (the vault keeps no number of an erased contact).
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contactvault import Contact, KdfParams, Vault, normalize_phone
from contactvault.audit import FINDING_CODES, SEVERITY, AuditReport, Finding, audit_phonebook
from contactvault.audit.render import render
from contactvault.cli import main
from contactvault.export.minimal import write_vcard
from contactvault.models import MessengerPresence
from contactvault.sync import export_book, messenger_book
from contactvault.sync.policy import Policy
from tests.conftest import consent, vcf

FAST = KdfParams.insecure_fast_for_tests()
POLICY = Policy.default()
NOW = datetime.now(UTC)
NAMES = ("Anna Beispiel", "Bernd Müller", "Çelik, Ayşe", "Zoë O'Brien", "Jürgen Weiß", "Łukasz Nowak")
UNKNOWN_MOBILE = "+4915155509999"


def _number(i: int) -> str:
    return f"+491515550{1200 + i}"


def _phone(number: str):
    presence = MessengerPresence(present=True, source="manual", checked_at=NOW - timedelta(days=1))
    return normalize_phone(number, default_region="DE").model_copy(update={"messenger": presence})


def _contact(i: int) -> Contact:
    return Contact(display_name=NAMES[i], phones=(_phone(_number(i)),), consents=(consent(),))


def _make_vault(path: Path) -> Vault:
    vault = Vault.create(path, "pw", kdf=FAST)
    vault.add_many(_contact(i) for i in range(len(NAMES)))
    return vault


@pytest.fixture
def vault(tmp_path):
    """A vault with six contacts the default policy allows."""
    with _make_vault(tmp_path / "v.db") as opened:
        yield opened


def _ids(vault: Vault) -> dict[str, object]:
    return {e.display_name: e.id for e in vault}


def _exported(vault: Vault, path: Path) -> Path:
    """The book as the phone got it: exported (and so recorded in the disclosure log)."""
    export_book(vault, messenger_book(vault, POLICY), path)
    return path


def _codes(report: AuditReport) -> dict[str, set[str]]:
    """Display name -> the codes of its entry's findings."""
    return {e.display_name: set(e.codes()) for e in report.entries}


def _strip_number(vault: Vault, contact_id: object) -> None:
    stored = vault.get(contact_id)  # type: ignore[arg-type]
    vault.update(stored.model_copy(update={"phones": ()}))


# --- each change of the vault, and its code ------------------------------------------------------------


def test_an_erased_contacts_card_is_erased_contact_not_unknown(vault, tmp_path):
    """The vault keeps no number of an erased contact; the card's UID in the log tells where it came from."""
    path = _exported(vault, tmp_path / "book.vcf")
    vault.erase(_ids(vault)[NAMES[0]])
    report = audit_phonebook(path, vault=vault, default_region="DE")
    flagged = {e.display_name: e.findings for e in report.flagged}
    assert flagged == {NAMES[0]: (Finding("erased_contact", _number(0)),)}
    assert report.counts()["unknown_contact"] == 0
    assert next(e for e in report.entries if e.findings).contacts == 0


def test_a_number_the_vault_stripped_is_number_removed(vault, tmp_path):
    """The contact still exists but no longer holds the number (the retention schedule strips it so)."""
    path = _exported(vault, tmp_path / "book.vcf")
    _strip_number(vault, _ids(vault)[NAMES[1]])
    report = audit_phonebook(path, vault=vault, default_region="DE")
    assert {e.display_name: e.findings for e in report.flagged} == {
        NAMES[1]: (Finding("number_removed", _number(1)),)
    }


def test_a_number_replaced_in_the_vault_is_number_removed(vault, tmp_path):
    """An edit that replaces the number: the old card's number is no longer the contact's."""
    path = _exported(vault, tmp_path / "book.vcf")
    cid = _ids(vault)[NAMES[2]]
    stored = vault.get(cid)
    vault.update(stored.model_copy(update={"phones": (_phone("+4915155508888"),)}))
    report = audit_phonebook(path, vault=vault, default_region="DE")
    assert _codes(report)[NAMES[2]] == {"number_removed"}
    assert sum(report.counts().values()) == 1


def test_a_number_edited_on_the_phone_is_number_removed(vault, tmp_path):
    """A card from the vault whose number was changed on the phone: its contact does not hold that number."""
    path = _exported(vault, tmp_path / "book.vcf")
    text = path.read_text("utf-8").replace(_number(3), UNKNOWN_MOBILE)
    path.write_text(text, "utf-8")
    report = audit_phonebook(path, vault=vault, default_region="DE")
    assert {e.display_name: e.findings for e in report.flagged} == {
        NAMES[3]: (Finding("number_removed", UNKNOWN_MOBILE),)
    }


def test_an_erased_contacts_card_whose_number_another_contact_holds_must_still_go(vault, tmp_path):
    """The number is now another (allowed) contact's: the erased contact's card is flagged as a whole."""
    path = _exported(vault, tmp_path / "book.vcf")
    ids = _ids(vault)
    vault.add(Contact(display_name="Nachfolger", phones=(_phone(_number(4)),), consents=(consent(),)))
    vault.erase(ids[NAMES[4]])
    report = audit_phonebook(path, vault=vault, default_region="DE")
    assert {e.display_name: e.findings for e in report.flagged} == {NAMES[4]: (Finding("erased_contact"),)}


def test_merged_contacts_cards_are_not_flagged(vault, tmp_path):
    """A merge keeps every number and the merged-away ids: their cards' UIDs are still current."""
    path = _exported(vault, tmp_path / "book.vcf")
    ids = _ids(vault)
    vault.merge([ids[NAMES[0]], ids[NAMES[1]]])
    report = audit_phonebook(path, vault=vault, default_region="DE")
    assert report.counts()["erased_contact"] == report.counts()["number_removed"] == 0
    assert report.counts()["unknown_contact"] == 0


@pytest.mark.parametrize(("channel", "detail"), [("messenger", "opt_out"), ("email", "")])
def test_a_withdrawal_by_opt_out_reply_says_so(vault, tmp_path, channel, detail):
    """An opt-out reply is a withdrawal in the messenger: consent_withdrawn, with the detail opt_out."""
    path = _exported(vault, tmp_path / "book.vcf")
    vault.withdraw_consent(_ids(vault)[NAMES[5]], "messenger", channel=channel)
    report = audit_phonebook(path, vault=vault, default_region="DE")
    assert {e.display_name: e.findings for e in report.flagged} == {
        NAMES[5]: (Finding("consent_withdrawn", _number(5), detail=detail),)
    }
    for lang, words in (("en", "opt-out reply"), ("de", "Abmeldung")):
        shown = render(report, "text", lang=lang, mask_numbers=True)
        assert (words in shown) == bool(detail)


def test_a_foreign_card_is_still_unknown_contact(vault, tmp_path):
    """A card whose UID the log does not know is judged by its number alone, as before."""
    path = _exported(vault, tmp_path / "book.vcf")
    card = vcf(
        "BEGIN:VCARD",
        "VERSION:3.0",
        "UID:not-from-the-vault",
        "FN:Fremd",
        f"TEL:{UNKNOWN_MOBILE}",
        "END:VCARD",
    )
    path.write_bytes(path.read_bytes() + card)
    vault.erase(_ids(vault)[NAMES[0]])
    report = audit_phonebook(path, vault=vault, default_region="DE")
    assert _codes(report)["Fremd"] == {"unknown_contact"}
    assert _codes(report)[NAMES[0]] == {"erased_contact"}


def test_without_a_disclosure_the_uid_means_nothing(vault, tmp_path):
    """A book written without recording it (not from this vault's log) is judged by numbers only."""
    path = tmp_path / "book.vcf"
    write_vcard(messenger_book(vault, POLICY), path)
    vault.erase(_ids(vault)[NAMES[0]])
    report = audit_phonebook(path, vault=vault, default_region="DE")
    assert _codes(report)[NAMES[0]] == {"unknown_contact"}


# --- the report: severity, order, JSON, renderings, CLI -------------------------------------------------


def test_new_codes_are_appended_high_and_listed_first_among_fixes(vault, tmp_path):
    assert FINDING_CODES[-2:] == ("erased_contact", "number_removed")
    assert SEVERITY["erased_contact"] == SEVERITY["number_removed"] == "high"
    path = _exported(vault, tmp_path / "book.vcf")
    text = path.read_text("utf-8").replace(f"FN:{NAMES[3]}", f"FN:{NAMES[3]} bezahlt")
    path.write_text(
        text + vcf("BEGIN:VCARD", "FN:Neu", f"TEL:{UNKNOWN_MOBILE}", "END:VCARD").decode(), "utf-8"
    )
    ids = _ids(vault)
    vault.erase(ids[NAMES[0]])
    _strip_number(vault, ids[NAMES[1]])
    report = audit_phonebook(path, vault=vault, default_region="DE")
    assert [code for code, _ in report.fixes()] == [
        "unknown_contact",
        "erased_contact",
        "number_removed",
        "label_in_name",
    ]
    again = AuditReport.from_json(report.to_json())
    assert again.counts() == report.counts()
    data = json.loads(report.to_json())
    assert data["counts"]["erased_contact"] == data["counts"]["number_removed"] == 1
    assert {"code": "erased_contact", "entries": 1, "severity": "high"} in data["fixes"]


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
@pytest.mark.parametrize(
    ("lang", "words"),
    [("en", ("its contact was erased", "no longer has this number")), ("de", ("gelöscht", "nicht mehr"))],
)
def test_the_renderings_explain_the_new_codes(vault, tmp_path, fmt, lang, words):
    path = _exported(vault, tmp_path / "book.vcf")
    ids = _ids(vault)
    vault.erase(ids[NAMES[0]])
    _strip_number(vault, ids[NAMES[1]])
    shown = render(audit_phonebook(path, vault=vault, default_region="DE"), fmt, lang=lang)
    shown = " ".join(shown.split())  # the text rendering wraps
    assert "erased_contact" in shown
    assert "number_removed" in shown
    for word in words:
        assert word in shown


def test_cli_audit_shows_and_fails_on_the_new_codes(tmp_path):
    """`contactvault audit --fail-on erased_contact` exits 1 on such a card; JSON names the codes."""
    vault_path = tmp_path / "v.db"
    with _make_vault(vault_path) as vault:
        path = _exported(vault, tmp_path / "book.vcf")
        ids = _ids(vault)
        vault.erase(ids[NAMES[0]])
        _strip_number(vault, ids[NAMES[1]])
    secret = tmp_path / "passphrase.txt"
    secret.write_text("pw\n", encoding="utf-8")
    runner = CliRunner()
    base = [
        "audit",
        str(path),
        "--region",
        "DE",
        "--vault",
        str(vault_path),
        "--passphrase-file",
        str(secret),
    ]
    shown = runner.invoke(main, [*base, "--fail-on", "erased_contact"])
    assert shown.exit_code == 1, shown.output
    assert "erased_contact" in shown.output
    assert "number_removed" in shown.output
    data = json.loads(runner.invoke(main, [*base, "--format", "json"]).output)
    assert {f["code"] for e in data["entries"] for f in e["findings"]} == {"erased_contact", "number_removed"}
    clean = runner.invoke(main, [*base, "--fail-on", "consent_withdrawn,unknown_contact"])
    assert clean.exit_code == 0, clean.output


# --- never: a card this vault handed out is never unknown_contact ---------------------------------------

_CHANGES = ("keep", "erase", "strip", "withdraw", "opt_out")
_EXPECTED = {
    "keep": set(),
    "erase": {"erased_contact"},
    "strip": {"number_removed"},
    "withdraw": {"consent_withdrawn"},
    "opt_out": {"consent_withdrawn"},
}


def _apply(vault: Vault, cid: object, change: str) -> None:
    if change == "erase":
        vault.erase(cid)  # type: ignore[arg-type]
    elif change == "strip":
        _strip_number(vault, cid)
    elif change in ("withdraw", "opt_out"):
        channel = "messenger" if change == "opt_out" else "written"
        vault.withdraw_consent(cid, "messenger", channel=channel)  # type: ignore[arg-type]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    changes=st.lists(st.sampled_from(_CHANGES), min_size=len(NAMES), max_size=len(NAMES)),
    junk=st.lists(
        st.tuples(st.sampled_from(["own", "foreign", "none"]), st.text(max_size=12), st.booleans()),
        max_size=4,
    ),
)
def test_a_card_the_vault_handed_out_is_never_unknown_contact(changes, junk):
    """Any mix of erasures, strips, withdrawals and opt-outs, plus junk cards: each card gets its code.

    Some junk cards carry a UID the vault handed out, with a number typed anyhow. The audit never raises,
    never says unknown_contact for a card whose UID the log knows, and gives each changed card exactly its
    code.
    """
    with tempfile.TemporaryDirectory() as folder, _make_vault(Path(folder) / "v.db") as vault:
        path = _exported(vault, Path(folder) / "book.vcf")
        book = dict(messenger_book(vault, POLICY).cards())
        uid_of = {entry.display_name: uid for uid, entry in book.items()}
        ids = _ids(vault)
        for name, change in zip(NAMES, changes, strict=True):
            _apply(vault, ids[name], change)
        extra = b""
        for i, (kind, number, mobile) in enumerate(junk):
            uid = {"own": f"UID:{uid_of[NAMES[i]]}", "foreign": "UID:foreign", "none": "NOTE:x"}[kind]
            tel = UNKNOWN_MOBILE if mobile else number.replace("\r", "").replace("\n", "")
            extra += vcf("BEGIN:VCARD", "VERSION:3.0", uid, f"FN:Junk {i}", f"TEL:{tel}", "END:VCARD")
        path.write_bytes(path.read_bytes() + extra)
        report = audit_phonebook(path, vault=vault, default_region="DE")
    disclosed = set(book)
    for entry in report.entries:
        if entry.key.removeprefix("uid:") in disclosed:
            assert "unknown_contact" not in entry.codes()
    for name, change in zip(NAMES, changes, strict=True):
        assert _codes(report)[name] == _EXPECTED[change]
