"""What the data-subject documents (Art. 15, 17, 20) share: their words and fixed texts, in two languages.

The labels and headings of the access report and the erasure receipt (:data:`tr`), the default storage
period, the rights of Art. 15(1)(e) to (h), what an erasure destroys and what remains, the messenger named
by default, and what kind of target a disclosure went to.
"""

from __future__ import annotations

from typing import Final, Literal

from contactvault.i18n import Lang, Words

__all__ = [
    "DEFAULT_MESSENGER",
    "DEFAULT_STORAGE_PERIOD",
    "DESTROYED",
    "REMAINS",
    "RIGHTS",
    "SECURE_DELETE",
    "WAL_PENDING",
    "target_type",
    "tr",
    "yes_no",
]

DEFAULT_MESSENGER: Final = "WhatsApp Business"
"""The messenger named as a recipient and in the manual erasure steps unless another is given."""

tr: Final = Words(
    {  # key -> (English, German)
        "access_title": ("Access report under Art. 15 GDPR", "Auskunft nach Art. 15 DSGVO"),
        "erasure_title": ("Erasure receipt under Art. 17 GDPR", "Löschbestätigung nach Art. 17 DSGVO"),
        "controller": ("Controller", "Verantwortlicher"),
        "contact_id": ("Contact id", "Kontakt-ID"),
        "external_id": ("Our own key for your record", "Unser eigener Schlüssel zu Ihrem Datensatz"),
        "merged_from": (
            "Earlier entries merged into this one (their ids)",
            "Frühere Einträge, die hier zusammengeführt wurden (ihre IDs)",
        ),
        "generated_at": ("Generated at", "Erstellt am"),
        "stored_data": ("Your stored data", "Ihre gespeicherten Daten"),
        "stored_intro": (
            "Every field stored about you, from both parts of the encrypted record (directory and CRM data).",
            "Alle über Sie gespeicherten Felder, aus beiden Teilen des verschlüsselten Datensatzes "
            "(Verzeichnis und CRM-Daten).",
        ),
        "field": ("Field", "Feld"),
        "value": ("Value", "Wert"),
        "display_name": ("Display name", "Anzeigename"),
        "name.prefixes": ("Name prefixes", "Namenszusatz (vorangestellt)"),
        "name.given": ("Given name", "Vorname"),
        "name.additional": ("Additional names", "Weitere Vornamen"),
        "name.family": ("Family name", "Nachname"),
        "name.suffixes": ("Name suffixes", "Namenszusatz (nachgestellt)"),
        "nickname": ("Nickname", "Spitzname"),
        "birthday": ("Birthday", "Geburtstag"),
        "organisation": ("Organisation", "Organisation"),
        "department": ("Department", "Abteilung"),
        "title": ("Job title", "Position"),
        "created_at": ("Record created", "Datensatz angelegt"),
        "updated_at": ("Record last changed", "Datensatz zuletzt geändert"),
        "version": ("Record version", "Version des Datensatzes"),
        "phones": ("Phone numbers", "Telefonnummern"),
        "number": ("Number as entered", "Nummer wie erfasst"),
        "e164": ("International form", "Internationale Form"),
        "kind": ("Kind", "Art"),
        "label": ("Label", "Bezeichnung"),
        "types": ("Types", "Typen"),
        "preferred": ("Preferred", "Bevorzugt"),
        "messenger": ("Messenger", "Messenger"),
        "details": ("Details", "Details"),
        "uses_messenger": ("uses the messenger", "nutzt den Messenger"),
        "no_messenger": ("does not use the messenger", "nutzt den Messenger nicht"),
        "checked": ("checked", "geprüft"),
        "source_word": ("source", "Quelle"),
        "region": ("region", "Region"),
        "extension": ("extension", "Durchwahl"),
        "problem": ("not normalised", "nicht normalisiert"),
        "emails": ("E-mail addresses", "E-Mail-Adressen"),
        "address": ("Address", "Adresse"),
        "addresses": ("Postal addresses", "Postanschriften"),
        "urls": ("Web addresses", "Webadressen"),
        "notes": ("Notes", "Notizen"),
        "labels": ("Labels", "Label (Kategorien)"),
        "colour": ("Colour", "Farbe"),
        "custom_fields": ("Other fields", "Weitere Felder"),
        "name": ("Name", "Name"),
        "other_fields": ("Further stored fields", "Weitere gespeicherte Angaben"),
        "consents": ("Consent history (Art. 7)", "Einwilligungen (Art. 7)"),
        "purpose": ("Purpose", "Zweck"),
        "granted_at": ("Granted", "Erteilt"),
        "channel": ("Channel", "Weg"),
        "notice": ("Notice (version)", "Hinweistext (Version)"),
        "notices": ("Privacy notices agreed to", "Datenschutzhinweise, denen zugestimmt wurde"),
        "notices_intro": (
            "The exact text of each notice version a consent above names, as stored when it was issued.",
            "Der genaue Text jeder oben in einer Einwilligung genannten Hinweisversion, wie er bei ihrer "
            "Ausgabe gespeichert wurde.",
        ),
        "notice_version": ("version", "Version"),
        "notice_sha256": ("SHA-256 of the text", "SHA-256 des Textes"),
        "notice_language": ("Language", "Sprache"),
        "notice_valid_from": ("Valid from", "Gültig ab"),
        "notice_missing": (
            "This version is not stored in the vault, so its text cannot be shown here.",
            "Diese Version ist im Tresor nicht gespeichert; ihr Text kann hier nicht gezeigt werden.",
        ),
        "evidence": ("Evidence", "Nachweis"),
        "recorded_by": ("Recorded by", "Erfasst von"),
        "withdrawn_at": ("Withdrawn", "Widerrufen"),
        "legal_bases": ("Legal bases (Art. 6(1))", "Rechtsgrundlagen (Art. 6 Abs. 1)"),
        "article": ("Article", "Artikel"),
        "justification": ("Justification", "Begründung"),
        "recorded_at": ("Recorded", "Erfasst"),
        "rights_state": ("Restriction and objections", "Einschränkung und Widersprüche"),
        "restricted": ("Processing restricted (Art. 18) since", "Verarbeitung eingeschränkt (Art. 18) seit"),
        "not_restricted": (
            "Processing is not restricted (Art. 18).",
            "Die Verarbeitung ist nicht eingeschränkt.",
        ),
        "objections": ("Objections (Art. 21)", "Widersprüche (Art. 21)"),
        "objected_at": ("Objected", "Widersprochen"),
        "disclosures": ("Disclosures", "Offenlegungen"),
        "disclosures_intro": (
            "Every time one of your numbers, with the display name, was handed to an address book a "
            "messenger reads, from the disclosure log.",
            "Jede Übermittlung einer Ihrer Nummern samt Anzeigename an ein Adressbuch, das ein Messenger "
            "liest, laut Offenlegungsprotokoll.",
        ),
        "when": ("When", "Wann"),
        "target": ("Target", "Ziel"),
        "change": ("Change", "Änderung"),
        "change.added": ("handed over", "übermittelt"),
        "change.renamed": ("name changed", "Name geändert"),
        "change.removed": ("removed", "entfernt"),
        "kind.export": ("export", "Export"),
        "kind.sync": ("sync", "Synchronisierung"),
        "by": ("By", "Von"),
        "activity": ("Who did what with your record", "Wer was mit Ihrem Datensatz getan hat"),
        "activity_intro": (
            "Every change of your record in the vault, from the vault's log: when, what, and which of the "
            "controller's users (or services) made it. Disclosures are listed above.",
            "Jede Änderung Ihres Datensatzes im Tresor, laut dessen Protokoll: wann, was, und welcher "
            "Benutzer (oder Dienst) des Verantwortlichen sie vorgenommen hat. Offenlegungen stehen oben.",
        ),
        "action": ("What", "Was"),
        "detail": ("Detail", "Detail"),
        "action.consent": ("consent recorded", "Einwilligung erfasst"),
        "action.withdrawal": ("consent withdrawn", "Einwilligung widerrufen"),
        "action.legal_basis": ("legal basis recorded", "Rechtsgrundlage erfasst"),
        "action.label": ("label changed", "Label geändert"),
        "action.restriction": (
            "restriction of processing changed",
            "Einschränkung der Verarbeitung geändert",
        ),
        "action.objection": ("objection recorded", "Widerspruch erfasst"),
        "action.erasure": ("erased", "gelöscht"),
        "action.merge": ("merged with a duplicate record", "mit einem doppelten Datensatz zusammengeführt"),
        "action.import": ("imported from an address book", "aus einem Adressbuch importiert"),
        "action.edit": ("edited", "bearbeitet"),
        "action.presence": ("messenger use recorded", "Messenger-Nutzung erfasst"),
        "action.restore": ("vault restored from a backup", "Tresor aus einer Sicherung wiederhergestellt"),
        "action.rekey": ("vault re-keyed", "Tresor neu verschlüsselt"),
        "action.rekey_undone": ("re-key undone", "Neuverschlüsselung zurückgenommen"),
        "action.user_added": ("user added", "Benutzer hinzugefügt"),
        "action.user_removed": ("user removed", "Benutzer entfernt"),
        "action.passphrase_changed": ("passphrase changed", "Passphrase geändert"),
        "action.notice": ("privacy notice version stored", "Version eines Datenschutzhinweises gespeichert"),
        "action.consent_refresh": (
            "refresh period of consents set",
            "Gültigkeitsdauer von Einwilligungen festgelegt",
        ),
        "action.consent_request": (
            "asked for consent (a message with a reply code)",
            "um Einwilligung gebeten (Nachricht mit Antwortcode)",
        ),
        "action.retention_schedule": ("retention schedule stored", "Löschkonzept gespeichert"),
        "action.retention": (
            "erased or reduced under the retention schedule",
            "nach dem Löschkonzept gelöscht oder reduziert",
        ),
        "information": ("Information under Art. 15(1) GDPR", "Informationen nach Art. 15 Abs. 1 DSGVO"),
        "purposes": ("Purposes", "Zwecke der Verarbeitung"),
        "consent_given": ("consent given", "Einwilligung erteilt"),
        "consent_withdrawn": ("consent withdrawn", "Einwilligung widerrufen"),
        "objected": ("objected to", "Widerspruch eingelegt"),
        "recipients": ("Recipients", "Empfänger"),
        "recipient.file": ("address book file for phones", "Adressbuchdatei für Telefone"),
        "recipient.carddav": ("address book server (CardDAV)", "Adressbuch-Server (CardDAV)"),
        "recipient.other": ("address book target", "Adressbuch-Ziel"),
        "recipient.messenger": (
            "messenger provider (reads the phone's address book)",
            "Messenger-Anbieter (liest das Adressbuch des Telefons)",
        ),
        "storage_period": ("Storage period", "Speicherdauer"),
        "source": ("Source of the data", "Herkunft der Daten"),
        "rights": ("Your rights", "Ihre Rechte"),
        "none": ("none", "keine"),
        "yes": ("yes", "ja"),
        "no": ("no", "nein"),
        # the erasure receipt
        "erased_at": ("Erased at", "Gelöscht am"),
        "tombstone_version": ("Tombstone version", "Version des Löschvermerks"),
        "issued_at": ("Receipt issued at", "Bestätigung ausgestellt am"),
        "masked_numbers": ("Numbers (masked)", "Nummern (maskiert)"),
        "label_count": ("Labels in contactvault", "Label in contactvault"),
        "destroyed": ("What was destroyed", "Was vernichtet wurde"),
        "remains": ("What remains", "Was bleibt"),
        "before_erasure": ("Disclosures before the erasure", "Offenlegungen vor der Löschung"),
        "kinds": ("Kind", "Art"),
        "first": ("First", "Erstmals"),
        "last": ("Last", "Zuletzt"),
        "held": ("Still held", "Noch vorhanden"),
        "manual_steps": ("Manual steps", "Manuelle Schritte"),
        "manual_intro": (
            "No software can do these steps; tick each one off when it is done.",
            "Diese Schritte kann keine Software erledigen; haken Sie jeden ab, wenn er erledigt ist.",
        ),
    }
)
"""The labels, headings and short texts of the access report and the erasure receipt: ``tr(key, lang)``."""

DEFAULT_STORAGE_PERIOD: Final = (
    "As long as the customer relationship lasts, then until the statutory retention periods end; data "
    "processed on the basis of consent until the consent is withdrawn.",
    "Für die Dauer der Kundenbeziehung, danach bis zum Ablauf der gesetzlichen Aufbewahrungsfristen; auf "
    "Einwilligung gestützte Daten bis zum Widerruf der Einwilligung.",
)

RIGHTS: Final[tuple[tuple[str, str, str, str], ...]] = (  # code, article, English, German
    ("access", "15", "Access to your data (this report)", "Auskunft über Ihre Daten (dieses Dokument)"),
    ("rectification", "16", "Rectification of inaccurate data", "Berichtigung unrichtiger Daten"),
    ("erasure", "17", "Erasure of your data", "Löschung Ihrer Daten"),
    ("restriction", "18", "Restriction of processing", "Einschränkung der Verarbeitung"),
    (
        "portability",
        "20",
        "Your data in a machine-readable format (vCard, JSON)",
        "Herausgabe Ihrer Daten in maschinenlesbarem Format (vCard, JSON)",
    ),
    ("objection", "21", "Objection to processing", "Widerspruch gegen die Verarbeitung"),
    (
        "withdraw_consent",
        "7(3)",
        "Withdrawal of a consent at any time, for the future",
        "Widerruf einer Einwilligung jederzeit, mit Wirkung für die Zukunft",
    ),
    (
        "complaint",
        "77",
        "Complaint to a data-protection supervisory authority",
        "Beschwerde bei einer Datenschutz-Aufsichtsbehörde",
    ),
)

DESTROYED: Final[tuple[tuple[str, str, str], ...]] = (  # code, English, German
    (
        "data_key",
        "The contact's own data key: both sealed compartments (directory and CRM data) are unreadable "
        "for good, and were deleted.",
        "Der eigene Datenschlüssel des Kontakts: beide versiegelten Teile (Verzeichnis und CRM-Daten) sind "
        "für immer unlesbar und wurden gelöscht.",
    ),
    (
        "phone_index",
        "The blind-index entries (keyed hashes of the numbers, the card's UID and the external id) were "
        "removed.",
        "Die Einträge im blinden Index (verschlüsselte Hashes der Nummern, der UID der Karte und der "
        "externen ID) wurden entfernt.",
    ),
    (
        "wal_checkpoint",
        "SQLite's write-ahead log was checkpointed and truncated, so no copy of the key stays in the "
        "-wal file.",
        "Das Write-Ahead-Log von SQLite wurde übernommen und geleert, damit keine Kopie des Schlüssels in "
        "der -wal-Datei bleibt.",
    ),
)

SECURE_DELETE: Final = (
    "secure_delete",
    "SQLite's secure delete overwrote the freed pages with zeros.",
    "Die sichere Löschfunktion von SQLite hat die freigegebenen Seiten mit Nullen überschrieben.",
)

WAL_PENDING: Final = (
    "wal_pending",
    "SQLite could not finish the checkpoint of its write-ahead log (another program was reading the "
    "vault): until the next checkpoint, the -wal file may still hold a copy of the destroyed key.",
    "SQLite konnte das Write-Ahead-Log nicht vollständig übernehmen (ein anderes Programm las den "
    "Tresor): bis zur nächsten Übernahme kann die -wal-Datei noch eine Kopie des vernichteten Schlüssels "
    "enthalten.",
)

REMAINS: Final[tuple[tuple[str, str, str], ...]] = (  # code, English, German
    (
        "tombstone",
        "A sealed tombstone with the contact id, the erasure time and its version, so that the id is known "
        "as erased.",
        "Ein versiegelter Löschvermerk mit der Kontakt-ID, dem Löschzeitpunkt und seiner Version, damit "
        "die ID als gelöscht erkannt wird.",
    ),
    (
        "disclosure_log",
        "The disclosure-log records (Art. 5(2) accountability). They hold only keyed hashes, never a name "
        "or a number, and can no longer be linked to the contact.",
        "Die Einträge des Offenlegungsprotokolls (Rechenschaftspflicht, Art. 5 Abs. 2). Sie enthalten nur "
        "verschlüsselte Hashes, nie einen Namen oder eine Nummer, und lassen sich dem Kontakt nicht mehr "
        "zuordnen.",
    ),
    (
        "backups",
        "Backups of the vault file made before the erasure still hold the contact: erase cannot reach "
        "them (see the manual steps).",
        "Sicherungen der Tresordatei von vor der Löschung enthalten den Kontakt noch: die Löschung "
        "erreicht sie nicht (siehe manuelle Schritte).",
    ),
)


def target_type(target: str) -> Literal["file", "carddav", "other"]:
    """What kind of target a disclosure went to, from its name (``file:...``, ``carddav:...``)."""
    if target.startswith("file:"):
        return "file"
    if target.startswith("carddav:"):
        return "carddav"
    return "other"


def yes_no(value: bool, lang: Lang) -> str:
    """``yes`` or ``no`` in ``lang``."""
    return tr("yes" if value else "no", lang)
