"""The words of the audit report's renderings, in English and German, in one place.

Every label, heading and sentence the text, Markdown and HTML renderings show (:func:`t`), and per finding
code what it means (:func:`code_description`) and what to do about it (:func:`fix_instruction`).
"""

from __future__ import annotations

from typing import Final

from contactvault.audit.report import FindingCode
from contactvault.i18n import Lang, check_lang

__all__ = ["code_description", "fix_instruction", "t"]

_TEXT: Final[dict[str, tuple[str, str]]] = {
    "title": ("Audit of the messenger address book", "Prüfung des Messenger-Adressbuchs"),
    "source": ("Source", "Quelle"),
    "created": ("Created", "Erstellt"),
    "region": ("Default region", "Standardregion"),
    "vault": ("Vault compared", "Mit Tresor abgeglichen"),
    "policy": ("Policy", "Richtlinie"),
    "entries": ("Entries", "Einträge"),
    "numbers_shown": ("Numbers", "Nummern"),
    "masked": ("masked", "maskiert"),
    "unmasked": ("shown in full", "vollständig angezeigt"),
    "yes": ("yes", "ja"),
    "no": ("no", "nein"),
    "none": ("\u2013", "\u2013"),
    "totals": ("{total} total, {flagged} with findings", "{total} insgesamt, {flagged} mit Befunden"),
    "no_vault_note": (
        "No vault was compared: only what the entries expose was checked (fields, kinds of numbers, "
        "duplicates, labels in names), not the legal bases.",
        "Es wurde kein Tresor abgeglichen: geprüft wurde nur, was die Einträge preisgeben (Felder, Art "
        "der Nummern, Dubletten, Labels in Namen), nicht die Rechtsgrundlagen.",
    ),
    "summary": ("Findings per code", "Befunde je Code"),
    "flagged": ("Entries with findings", "Einträge mit Befunden"),
    "fixes": ("What to do (most serious first)", "Was zu tun ist (Schwerwiegendstes zuerst)"),
    "unreadable": ("Unreadable cards", "Nicht lesbare Karten"),
    "clean": (
        "No findings: every entry was read and none has a finding.",
        "Keine Befunde: jeder Eintrag wurde gelesen, keiner hat einen Befund.",
    ),
    "no_findings": ("No entry has a finding.", "Kein Eintrag hat einen Befund."),
    "col_code": ("Code", "Code"),
    "col_severity": ("Severity", "Schweregrad"),
    "col_entries": ("Entries", "Einträge"),
    "col_description": ("Description", "Beschreibung"),
    "col_line": ("Line", "Zeile"),
    "col_where": ("File:line", "Datei:Zeile"),
    "col_name": ("Name", "Name"),
    "col_numbers": ("Numbers", "Nummern"),
    "col_number": ("Number", "Nummer"),
    "col_detail": ("Detail", "Angabe"),
    "col_findings": ("Findings", "Befunde"),
    "col_fix": ("What to do", "Maßnahme"),
    "col_file": ("File", "Datei"),
    "col_reason": ("Reason", "Grund"),
    "no_name": ("(no name)", "(ohne Namen)"),
    "entry_one": ("1 entry", "1 Eintrag"),
    "entry_many": ("{n} entries", "{n} Einträge"),
    "label": ('label "{label}"', "Label „{label}“"),
    "also": ("also {where}", "auch {where}"),
    "not_mobile": ("not a mobile number", "keine Mobilnummer"),
    "opt_out": ("opt-out reply in the messenger", "Abmeldung per Antwort im Messenger"),
    "chart": ("Findings per code (entries)", "Befunde je Code (Einträge)"),
    "chart_empty": ("No findings", "Keine Befunde"),
    "legend": ("Severity", "Schweregrad"),
    "diff_title": ("Changes since the previous audit", "Änderungen seit der letzten Prüfung"),
    "diff_counts": ("{new} new, {resolved} resolved", "{new} neu, {resolved} behoben"),
    "diff_new": ("New findings", "Neue Befunde"),
    "diff_resolved": ("Resolved findings", "Behobene Befunde"),
    "diff_none": ("No changes since the previous audit.", "Keine Änderungen seit der letzten Prüfung."),
    "footer": ("Written by contactvault.", "Erstellt von contactvault."),
    "high": ("high", "hoch"),
    "medium": ("medium", "mittel"),
    "low": ("low", "niedrig"),
}

_DESCRIPTIONS: Final[dict[FindingCode, tuple[str, str]]] = {
    "unknown_contact": (
        "A number (or an entry without a number) that no vault contact holds: no legal basis is recorded.",
        "Eine Nummer (oder ein Eintrag ohne Nummer), die kein Kontakt im Tresor hat: es ist keine "
        "Rechtsgrundlage erfasst.",
    ),
    "no_legal_basis": (
        "The vault's contact has no consent and no other legal basis for the messenger (Art. 6(1)).",
        "Der Kontakt im Tresor hat weder eine Einwilligung noch eine andere Rechtsgrundlage für den "
        "Messenger (Art. 6 Abs. 1 DSGVO).",
    ),
    "consent_withdrawn": (
        "The contact withdrew the consent (Art. 7(3)).",
        "Der Kontakt hat seine Einwilligung widerrufen (Art. 7 Abs. 3 DSGVO).",
    ),
    "consent_expired": (
        "The consent is older than the policy allows and must be renewed.",
        "Die Einwilligung ist älter, als die Richtlinie erlaubt, und muss erneuert werden.",
    ),
    "restricted": (
        "Processing of the contact's data is restricted (Art. 18).",
        "Die Verarbeitung der Daten des Kontakts ist eingeschränkt (Art. 18 DSGVO).",
    ),
    "objected": (
        "The contact objected to the use for the messenger (Art. 21).",
        "Der Kontakt hat der Nutzung für den Messenger widersprochen (Art. 21 DSGVO).",
    ),
    "minor": (
        "The contact is younger than the policy's minimum age (Art. 8).",
        "Der Kontakt ist jünger als das Mindestalter der Richtlinie (Art. 8 DSGVO).",
    ),
    "label_excluded": (
        "The contact carries a label the policy excludes from the messenger.",
        "Der Kontakt trägt ein Label, das die Richtlinie vom Messenger ausschließt.",
    ),
    "not_on_messenger": (
        "Not a mobile number, or the contact is not known to use the messenger (or that check is too old).",
        "Keine Mobilnummer, oder es ist nicht bekannt, dass der Kontakt den Messenger nutzt (oder diese "
        "Prüfung ist zu alt).",
    ),
    "extra_fields": (
        "The entry holds more than name and number (e-mail, address, birthday, notes, photo …).",
        "Der Eintrag enthält mehr als Name und Nummer (E-Mail, Adresse, Geburtstag, Notizen, Foto …).",
    ),
    "label_in_name": (
        "A CRM label is part of the name the messenger shows.",
        "Ein CRM-Label steht in dem Namen, den der Messenger anzeigt.",
    ),
    "invalid_number": (
        "A number that is not a valid telephone number.",
        "Eine Nummer, die keine gültige Telefonnummer ist.",
    ),
    "duplicate": (
        "Another entry holds the same number.",
        "Ein anderer Eintrag hat dieselbe Nummer.",
    ),
    "erased_contact": (
        "The card came from the vault, and its contact was erased (on request, Art. 17, or by the "
        "retention schedule): it should have gone.",
        "Die Karte stammt aus dem Tresor, und ihr Kontakt wurde gelöscht (auf Antrag, Art. 17 DSGVO, oder "
        "nach dem Löschplan): sie hätte entfernt werden müssen.",
    ),
    "number_removed": (
        "The card came from the vault, but its contact no longer has this number (removed by the "
        "retention schedule or an edit): it should have gone.",
        "Die Karte stammt aus dem Tresor, aber ihr Kontakt hat diese Nummer nicht mehr (entfernt nach dem "
        "Löschplan oder durch eine Änderung): sie hätte entfernt werden müssen.",
    ),
}

_FIXES: Final[dict[FindingCode, tuple[str, str]]] = {
    "unknown_contact": (
        "Add the contact to the vault with a legal basis, or delete it from the phone.",
        "Den Kontakt mit einer Rechtsgrundlage in den Tresor aufnehmen oder ihn vom Telefon löschen.",
    ),
    "no_legal_basis": (
        "Record the contact's consent or another legal basis in the vault, or delete the contact from the "
        "phone.",
        "Die Einwilligung des Kontakts oder eine andere Rechtsgrundlage im Tresor erfassen oder den Kontakt "
        "vom Telefon löschen.",
    ),
    "consent_withdrawn": (
        "Delete the contact from the phone and the messenger; consent was withdrawn (Art. 7(3)).",
        "Den Kontakt vom Telefon und aus dem Messenger löschen; die Einwilligung wurde widerrufen "
        "(Art. 7 Abs. 3 DSGVO).",
    ),
    "consent_expired": (
        "Ask the contact to renew the consent and record it in the vault; until then, delete the contact "
        "from the phone.",
        "Den Kontakt um eine erneute Einwilligung bitten und sie im Tresor erfassen; bis dahin den Kontakt "
        "vom Telefon löschen.",
    ),
    "restricted": (
        "Delete the contact from the phone and the messenger while processing is restricted (Art. 18).",
        "Den Kontakt vom Telefon und aus dem Messenger löschen, solange die Verarbeitung eingeschränkt ist "
        "(Art. 18 DSGVO).",
    ),
    "objected": (
        "Delete the contact from the phone and the messenger; the contact objected (Art. 21).",
        "Den Kontakt vom Telefon und aus dem Messenger löschen; der Kontakt hat widersprochen "
        "(Art. 21 DSGVO).",
    ),
    "minor": (
        "Delete the contact from the phone and the messenger; the contact is below the policy's minimum "
        "age (Art. 8).",
        "Den Kontakt vom Telefon und aus dem Messenger löschen; er ist jünger als das Mindestalter der "
        "Richtlinie (Art. 8 DSGVO).",
    ),
    "label_excluded": (
        "Delete the contact from the phone, or remove the excluding label in the vault if it no longer "
        "applies.",
        "Den Kontakt vom Telefon löschen oder das ausschließende Label im Tresor entfernen, wenn es nicht "
        "mehr zutrifft.",
    ),
    "not_on_messenger": (
        "Delete the number from the phone's contacts, or record in the vault that the contact uses the "
        "messenger (checked recently).",
        "Die Nummer aus den Kontakten des Telefons löschen oder im Tresor erfassen, dass der Kontakt den "
        "Messenger nutzt (kürzlich geprüft).",
    ),
    "extra_fields": (
        "Remove these fields from the phone's contacts, or replace the phone's address book by "
        "contactvault's minimal book (name and number only).",
        "Diese Felder aus den Kontakten des Telefons entfernen oder das Adressbuch des Telefons durch das "
        "minimale Adressbuch von contactvault ersetzen (nur Name und Nummer).",
    ),
    "label_in_name": (
        "Remove the CRM label from the name; use the vault's labels instead.",
        "Das CRM-Label aus dem Namen entfernen; stattdessen die Labels des Tresors verwenden.",
    ),
    "invalid_number": (
        "Correct the number, or delete it from the entry.",
        "Die Nummer korrigieren oder aus dem Eintrag löschen.",
    ),
    "duplicate": (
        "Merge the entries holding the same number into one.",
        "Die Einträge mit derselben Nummer zu einem zusammenführen.",
    ),
    "erased_contact": (
        "Sync the phone's address book now (the sync removes the card), or delete the contact from the "
        "phone and the messenger; the vault erased it (Art. 17).",
        "Das Adressbuch des Telefons jetzt synchronisieren (die Synchronisierung entfernt die Karte) oder "
        "den Kontakt vom Telefon und aus dem Messenger löschen; der Tresor hat ihn gelöscht "
        "(Art. 17 DSGVO).",
    ),
    "number_removed": (
        "Sync the phone's address book now (the sync removes or corrects the card), or delete the number "
        "from the phone's contacts; the vault no longer holds it for this contact.",
        "Das Adressbuch des Telefons jetzt synchronisieren (die Synchronisierung entfernt oder berichtigt "
        "die Karte) oder die Nummer aus den Kontakten des Telefons löschen; der Tresor hat sie für diesen "
        "Kontakt nicht mehr.",
    ),
}


def t(key: str, lang: Lang, **values: object) -> str:
    english, german = _TEXT[key]
    text = german if lang == "de" else english
    return text.format(**values) if values else text


def code_description(code: FindingCode, *, lang: Lang = "en") -> str:
    """One line saying what a finding code means, in ``lang``.

    Args:
        code: A finding code (one of `FINDING_CODES`).
        lang: ``"en"`` or ``"de"``.

    Returns:
        The description, one sentence.

    Raises:
        ValueError: ``code`` or ``lang`` is not known.
    """
    return _per_code(_DESCRIPTIONS, code, lang)


def fix_instruction(code: FindingCode, *, lang: Lang = "en") -> str:
    """What to do about the entries with a finding code, in ``lang``.

    Args:
        code: A finding code (one of `FINDING_CODES`).
        lang: ``"en"`` or ``"de"``.

    Returns:
        The instruction, one or two sentences.

    Raises:
        ValueError: ``code`` or ``lang`` is not known.
    """
    return _per_code(_FIXES, code, lang)


def _per_code(table: dict[FindingCode, tuple[str, str]], code: FindingCode, lang: Lang) -> str:
    """The English or German text of ``code`` in ``table``; ``ValueError`` for an unknown code or language."""
    language = check_lang(lang)
    if code not in table:
        raise ValueError("unknown finding code")
    english, german = table[code]
    return german if language == "de" else english
