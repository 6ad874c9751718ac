"""Data-subject requests: the access report (Art. 15), the portable export (Art. 20), erasure (Art. 17).

Each request is one function that reads (or, for erasure, changes) the vault and returns a small document
object:

- :func:`access_report` returns an :class:`AccessReport`: every stored field of one contact (both
  compartments), the consent history, legal bases, objections, restriction, messenger presence, labels,
  every disclosure of the contact from the log, and the information items of Art. 15(1) (purposes,
  recipients, storage period, rights, source). It is written **for the data subject**, so it holds their
  data in full, and nothing about anybody else.
- :func:`portable_export` returns a :class:`PortableExport`: the contact as a full vCard 4.0 and as JSON,
  both machine-readable, for the data subject to take elsewhere.
- :func:`erase_contact` erases the contact (crypto-shredding, see ``Vault.erase``) and returns an
  :class:`ErasureReceipt`: what was destroyed, what remains, and a checklist of the manual steps no API can
  do (the copies on phones and in the messenger app). The receipt is kept as proof after the erasure, so it
  holds **no** name, full number or CRM value: only the contact id, masked numbers, targets and dates.

The documents are written as versioned JSON (English keys; ``schema`` names the format and its version)
and as Markdown in English or German.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

from contactvault.export.minimal import write_atomically
from contactvault.export.vcard import contact_to_vcard
from contactvault.files import make_private_dir
from contactvault.i18n import Lang, check_lang
from contactvault.markdown import LINE_BREAK, inline, table, visible
from contactvault.models import Contact, ContactSource, Phone
from contactvault.phones import mask_number
from contactvault.vault import ContactDisclosure, Vault

__all__ = [
    "ACCESS_SCHEMA",
    "DEFAULT_MESSENGER",
    "ERASURE_SCHEMA",
    "PORTABLE_SCHEMA",
    "AccessReport",
    "ErasureReceipt",
    "ManualStep",
    "PortableExport",
    "StepCode",
    "TargetDisclosures",
    "access_report",
    "erase_contact",
    "portable_export",
]

ACCESS_SCHEMA: Final = "contactvault.access/1"
"""The ``schema`` value of :meth:`AccessReport.to_json`."""

PORTABLE_SCHEMA: Final = "contactvault.portable/1"
"""The ``schema`` value of :attr:`PortableExport.json`."""

ERASURE_SCHEMA: Final = "contactvault.erasure/1"
"""The ``schema`` value of :meth:`ErasureReceipt.to_json`."""

DEFAULT_MESSENGER: Final = "WhatsApp Business"
"""The messenger named as a recipient and in the manual erasure steps unless another is given."""

StepCode = Literal[
    "resync_target",
    "delete_device_contact",
    "delete_messenger_chat",
    "remove_messenger_labels",
    "delete_outside_copies",
]
"""The kinds of manual step an erasure receipt lists, in the order they should be done:

- ``resync_target``: sync (or export) the book to a target that still holds the contact's card, so that
  the target drops it.
- ``delete_device_contact``: delete the contact on every phone that took its address book from a target.
- ``delete_messenger_chat``: delete the chat and the contact in the messenger app.
- ``remove_messenger_labels``: remove the labels assigned to the chat in the messenger app.
- ``delete_outside_copies``: delete exports, reports and backups made outside contactvault.
"""

# --- language ----------------------------------------------------------------------------------------

_TEXT: Final[dict[str, tuple[str, str]]] = {  # key -> (English, German)
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

_DEFAULT_STORAGE_PERIOD: Final = (
    "As long as the customer relationship lasts, then until the statutory retention periods end; data "
    "processed on the basis of consent until the consent is withdrawn.",
    "Für die Dauer der Kundenbeziehung, danach bis zum Ablauf der gesetzlichen Aufbewahrungsfristen; auf "
    "Einwilligung gestützte Daten bis zum Widerruf der Einwilligung.",
)

_RIGHTS: Final[tuple[tuple[str, str, str, str], ...]] = (  # code, article, English, German
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

_DESTROYED: Final[tuple[tuple[str, str, str], ...]] = (  # code, English, German
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

_SECURE_DELETE: Final = (
    "secure_delete",
    "SQLite's secure delete overwrote the freed pages with zeros.",
    "Die sichere Löschfunktion von SQLite hat die freigegebenen Seiten mit Nullen überschrieben.",
)

_WAL_PENDING: Final = (
    "wal_pending",
    "SQLite could not finish the checkpoint of its write-ahead log (another program was reading the "
    "vault): until the next checkpoint, the -wal file may still hold a copy of the destroyed key.",
    "SQLite konnte das Write-Ahead-Log nicht vollständig übernehmen (ein anderes Programm las den "
    "Tresor): bis zur nächsten Übernahme kann die -wal-Datei noch eine Kopie des vernichteten Schlüssels "
    "enthalten.",
)

_REMAINS: Final[tuple[tuple[str, str, str], ...]] = (  # code, English, German
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


def _t(key: str, lang: Lang) -> str:
    english, german = _TEXT[key]
    return german if lang == "de" else english


def _pick(pair: tuple[str, str], lang: Lang) -> str:
    return pair[1] if lang == "de" else pair[0]


# --- Markdown helpers -----------------------------------------------------------------------------------


# CommonMark lets a backslash escape any ASCII punctuation; these are the ones that can start markup inside
# a list item or a table cell (the pipe ends a cell even inside a code span, so it is always escaped).
def _md(value: object) -> str:
    """Any value as inert Markdown text: markup escaped, line breaks as ``<br>``, controls made visible."""
    return "<br>".join(inline(visible(line)) for line in LINE_BREAK.split(str(value)))


def _code(value: str) -> str:
    """A value as a code span, fenced by more backticks than it holds; pipes escaped for tables."""
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    inner = visible(value.replace("|", "\\|"))
    return f"{fence}{pad}{inner}{pad}{fence}"


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat(timespec="seconds")


def _check_now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now


def _dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _target_type(target: str) -> Literal["file", "carddav", "other"]:
    if target.startswith("file:"):
        return "file"
    if target.startswith("carddav:"):
        return "carddav"
    return "other"


def _distinct(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


# --- Art. 15: the access report -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, repr=False)
class AccessReport:
    """The answer to an access request (GDPR Art. 15) for one contact.

    It holds the data subject's data in full (that is its point) and nothing about other contacts: the
    disclosures are those of this contact's numbers only. ``repr()`` shows the id and counts, never a value.

    Attributes:
        contact: The full contact, both compartments (directory and CRM payload).
        disclosures: Every disclosure of the contact's current numbers, oldest first.
        generated_at: When the report was made.
        purposes: The purposes of processing: those given by the caller, then those the contact's consents
            and legal bases name, without repeats.
        recipients: The distinct disclosure targets, in the order they first received an entry.
        messenger: The messenger provider, a recipient whenever a number reached a target.
        storage_period: The storage period as the controller states it (``None``: a default text).
        controller: The controller's name and contact details, if given.
    """

    contact: Contact
    disclosures: tuple[ContactDisclosure, ...]
    generated_at: datetime
    purposes: tuple[str, ...]
    recipients: tuple[str, ...]
    messenger: str
    storage_period: str | None = None
    controller: str | None = None

    def __repr__(self) -> str:
        return (
            f"AccessReport(contact_id={self.contact.id}, disclosures={len(self.disclosures)}, "
            f"recipients={len(self.recipients)})"
        )

    def _purpose_items(self) -> list[dict[str, Any]]:
        contact = self.contact
        items: list[dict[str, Any]] = []
        for purpose in self.purposes:
            consents = [c for c in contact.consents if c.purpose == purpose]
            consent = None
            if consents:
                consent = "withdrawn" if all(c.withdrawn for c in consents) else "given"
            bases = _distinct(
                [
                    *(["6(1)(a)"] if consent == "given" else []),
                    *(b.article for b in contact.legal_bases if b.purpose == purpose),
                ]
            )
            items.append(
                {
                    "purpose": purpose,
                    "legal_bases": list(bases),
                    "consent": consent,
                    "objected": any(o.purpose == purpose for o in contact.objections),
                }
            )
        return items

    def _recipient_items(self) -> list[dict[str, str]]:
        items = [{"name": t, "type": _target_type(t)} for t in self.recipients]
        if self.recipients:
            items.append({"name": self.messenger, "type": "messenger"})
        return items

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON data (English keys); :meth:`to_json` writes it."""
        contact = self.contact
        return {
            "schema": ACCESS_SCHEMA,
            "generated_at": self.generated_at.isoformat(),
            "controller": self.controller,
            "contact_id": str(contact.id),
            "contact": contact.model_dump(mode="json"),
            "disclosures": [
                {
                    "at": d.at.isoformat(),
                    "target": d.target,
                    "kind": d.kind,
                    "change": d.change,
                    "number": d.number,
                }
                for d in self.disclosures
            ],
            "information": {
                "purposes": self._purpose_items(),
                "recipients": self._recipient_items(),
                "storage_period": self.storage_period or _DEFAULT_STORAGE_PERIOD[0],
                "source": None
                if contact.source is None
                else contact.source.model_dump(mode="json", exclude={"imported"}),
                "rights": [
                    {"right": code, "article": art, "description": en} for code, art, en, _ in _RIGHTS
                ],
            },
        }

    def to_json(self) -> str:
        """The report as JSON (``"schema": "contactvault.access/1"``, English keys, UTF-8 text)."""
        return _dumps(self.to_dict())

    def to_markdown(self, lang: Lang = "en") -> str:
        """The report as a Markdown document, in English (``"en"``) or German (``"de"``).

        Every value is escaped, so a note or a name cannot add markup; line breaks show as ``<br>``.

        Raises:
            ValueError: ``lang`` is not a supported language.
        """
        lang = check_lang(lang)
        c = self.contact
        out = [f"# {_t('access_title', lang)}", ""]
        if self.controller:
            out.append(f"- **{_t('controller', lang)}:** {_md(self.controller)}")
        out += [
            f"- **{_t('contact_id', lang)}:** {_code(str(c.id))}",
            f"- **{_t('generated_at', lang)}:** {_when(self.generated_at)}",
            "",
        ]
        out += _stored_data(c, lang)
        out += _consents_md(c, lang)
        out += _rights_state_md(c, lang)
        out += [f"## {_t('disclosures', lang)}", "", _t("disclosures_intro", lang), ""]
        if self.disclosures:
            header = [_t(k, lang) for k in ("when", "target", "kind", "change", "e164")]
            rows = (
                [
                    _when(d.at),
                    _code(d.target),
                    _t(f"kind.{d.kind}", lang),
                    _t(f"change.{d.change}", lang),
                    _code(d.number),
                ]
                for d in self.disclosures
            )
            out += [*table(header, rows), ""]
        else:
            out += [f"_{_t('none', lang)}_", ""]
        out += self._information_md(lang)
        return "\n".join(out)

    def _information_md(self, lang: Lang) -> list[str]:
        out = [f"## {_t('information', lang)}", "", f"### {_t('purposes', lang)}", ""]
        for item in self._purpose_items():
            notes = [f"Art. {a} {'DSGVO' if lang == 'de' else 'GDPR'}" for a in item["legal_bases"]]
            if item["consent"] is not None:
                notes.append(_t(f"consent_{item['consent']}", lang))
            if item["objected"]:
                notes.append(_t("objected", lang))
            out.append(f"- {_code(item['purpose'])}" + (f": {'; '.join(notes)}" if notes else ""))
        if not self.purposes:
            out.append(f"- _{_t('none', lang)}_")
        out += ["", f"### {_t('recipients', lang)}", ""]
        for recipient in self._recipient_items():
            name = recipient["name"]
            shown = _md(name) if recipient["type"] == "messenger" else _code(name)
            out.append(f"- {shown}: {_t('recipient.' + recipient['type'], lang)}")
        if not self.recipients:
            out.append(f"- _{_t('none', lang)}_")
        period = self.storage_period or _pick(_DEFAULT_STORAGE_PERIOD, lang)
        out += ["", f"### {_t('storage_period', lang)}", "", _md(period), ""]
        out += [f"### {_t('source', lang)}", "", _source_md(self.contact.source, lang), ""]
        out += [f"### {_t('rights', lang)}", ""]
        law = "DSGVO" if lang == "de" else "GDPR"
        out += [f"- {de if lang == 'de' else en} (Art. {art} {law})" for _, art, en, de in _RIGHTS]
        out.append("")
        return out


def _source_md(source: ContactSource | None, lang: Lang) -> str:
    if source is None or source.format == "manual":
        return (
            "Von Hand erfasst oder ohne vermerkte Herkunft."
            if lang == "de"
            else "Entered by hand, or no source was recorded."
        )
    formats = {"vcard": "vCard", "google_csv": "Google Contacts CSV", "outlook_csv": "Outlook CSV"}
    parts = [formats.get(source.format, source.format) + (f" {source.version}" if source.version else "")]
    if source.file:
        parts.append(("Datei " if lang == "de" else "file ") + _code(source.file))
    if source.line is not None:
        parts.append(("Zeile " if lang == "de" else "line ") + str(source.line))
    if source.uid:
        parts.append("UID " + _code(source.uid))
    lead = "Importiert aus einem Adressbuch: " if lang == "de" else "Imported from an address book: "
    return lead + ", ".join(parts)


def _yes_no(value: bool, lang: Lang) -> str:
    return _t("yes" if value else "no", lang)


def _phone_details(phone: Phone, lang: Lang) -> str:
    details: list[str] = []
    if phone.region:
        details.append(f"{_t('region', lang)} {phone.region}")
    if phone.extension:
        details.append(f"{_t('extension', lang)} {_md(phone.extension)}")
    if phone.problem:
        details.append(f"{_t('problem', lang)} ({phone.problem})")
    return "; ".join(details)


def _presence(phone: Phone, lang: Lang) -> str:
    presence = phone.messenger
    if presence is None:
        return ""
    state = _t("uses_messenger" if presence.present else "no_messenger", lang)
    return (
        f"{state} ({_t('checked', lang)} {_when(presence.checked_at)}, "
        f"{_t('source_word', lang)} {_md(presence.source)})"
    )


# The fields the Markdown renders on purpose; any other field of Contact (a newer model) is still listed,
# generically, under "further stored fields", so that the report never leaves a stored field out.
_RENDERED: Final = frozenset(
    {
        "id",
        "version",
        "display_name",
        "name",
        "nickname",
        "phones",
        "emails",
        "addresses",
        "birthday",
        "organisation",
        "department",
        "title",
        "urls",
        "notes",
        "labels",
        "custom_fields",
        "consents",
        "legal_bases",
        "restricted_at",
        "objections",
        "created_at",
        "updated_at",
        "source",
        "external_id",
        "merged_from",
    }
)


def _stored_data(c: Contact, lang: Lang) -> list[str]:
    out = [f"## {_t('stored_data', lang)}", "", _t("stored_intro", lang), ""]
    simple: list[tuple[str, str]] = [("display_name", _md(c.display_name))]
    for part in ("prefixes", "given", "additional", "family", "suffixes"):
        value = getattr(c.name, part)
        if value:
            simple.append((f"name.{part}", _md(value)))
    simple += [
        (k, _md(getattr(c, k))) for k in ("nickname", "organisation", "department", "title") if getattr(c, k)
    ]
    if c.birthday is not None:
        simple.append(("birthday", c.birthday.iso()))
    if c.external_id is not None:
        simple.append(("external_id", _code(c.external_id)))
    if c.merged_from:
        simple.append(("merged_from", ", ".join(_code(str(i)) for i in c.merged_from)))
    simple += [
        ("created_at", _when(c.created_at)),
        ("updated_at", _when(c.updated_at)),
        ("version", str(c.version)),
    ]
    out += [*table([_t("field", lang), _t("value", lang)], ([_t(k, lang), v] for k, v in simple)), ""]

    def section(key: str, header: Sequence[str], rows: list[list[str]]) -> None:
        if rows:
            out.extend([f"### {_t(key, lang)}", "", *table([_t(h, lang) for h in header], rows), ""])

    section(
        "phones",
        ("number", "e164", "kind", "label", "types", "preferred", "messenger", "details"),
        [
            [
                _md(p.raw),
                _code(p.e164) if p.e164 else "",
                p.kind,
                _md(p.label or ""),
                _md(", ".join(p.types)),
                _yes_no(p.preferred, lang),
                _presence(p, lang),
                _phone_details(p, lang),
            ]
            for p in c.phones
        ],
    )
    section(
        "emails",
        ("address", "label", "types", "preferred"),
        [
            [_md(e.address), _md(e.label or ""), _md(", ".join(e.types)), _yes_no(e.preferred, lang)]
            for e in c.emails
        ],
    )
    section(
        "addresses",
        ("address", "label", "types", "preferred"),
        [
            [
                _md(
                    ", ".join(
                        part
                        for part in (
                            a.po_box,
                            a.extended,
                            a.street,
                            f"{a.postal_code} {a.locality}".strip(),
                            a.region,
                            a.country,
                        )
                        if part
                    )
                ),
                _md(a.label or ""),
                _md(", ".join(a.types)),
                _yes_no(a.preferred, lang),
            ]
            for a in c.addresses
        ],
    )
    section("urls", ("value",), [[_md(u)] for u in c.urls])
    section("notes", ("value",), [[_md(n)] for n in c.notes])
    section("labels", ("name", "colour"), [[_md(label.name), label.colour or ""] for label in c.labels])
    section(
        "custom_fields",
        ("name", "value", "label"),
        [[_md(f.name), _md(f.value), _md(f.label or "")] for f in c.custom_fields],
    )
    dump = c.model_dump(mode="json")
    section(
        "other_fields",
        ("field", "value"),
        [
            [_md(k), _md(json.dumps(dump[k], ensure_ascii=False))]
            for k in type(c).model_fields
            if k not in _RENDERED
        ],
    )
    return out


def _consents_md(c: Contact, lang: Lang) -> list[str]:
    out = [f"## {_t('consents', lang)}", ""]
    if c.consents:
        header = [
            _t(k, lang)
            for k in ("purpose", "granted_at", "channel", "notice", "evidence", "recorded_by", "withdrawn_at")
        ]
        rows = (
            [
                _code(r.purpose),
                _when(r.granted_at),
                r.channel,
                f"{_md(r.notice_id)} ({_md(r.notice_version)})",
                _md(r.evidence_ref or ""),
                _md(r.recorded_by),
                f"{_when(r.withdrawn_at)} ({r.withdrawal_channel})" if r.withdrawn_at else "",
            ]
            for r in c.consents
        )
        out += table(header, rows)
    else:
        out.append(f"_{_t('none', lang)}_")
    out += ["", f"## {_t('legal_bases', lang)}", ""]
    if c.legal_bases:
        header = [_t(k, lang) for k in ("article", "purpose", "justification", "recorded_at")]
        rows = (
            [f"Art. {b.article}", _code(b.purpose), _md(b.justification), _when(b.recorded_at)]
            for b in c.legal_bases
        )
        out += table(header, rows)
    else:
        out.append(f"_{_t('none', lang)}_")
    out.append("")
    return out


def _rights_state_md(c: Contact, lang: Lang) -> list[str]:
    out = [f"## {_t('rights_state', lang)}", ""]
    if c.restricted_at is not None:
        out.append(f"{_t('restricted', lang)} {_when(c.restricted_at)}.")
    else:
        out.append(_t("not_restricted", lang))
    out.append("")
    if c.objections:
        out += [f"### {_t('objections', lang)}", ""]
        out += table(
            [_t("purpose", lang), _t("objected_at", lang)],
            ([_code(o.purpose), _when(o.objected_at)] for o in c.objections),
        )
        out.append("")
    return out


def access_report(
    vault: Vault,
    contact_id: uuid.UUID | str,
    *,
    now: datetime | None = None,
    purposes: Sequence[str] = (),
    storage_period: str | None = None,
    messenger: str = DEFAULT_MESSENGER,
    controller: str | None = None,
) -> AccessReport:
    """Build the Art. 15 access report of one contact.

    Decrypts the contact's CRM payload (an access request is a reason to) and reads the disclosure log.
    Nothing is written to the vault.

    Args:
        vault: The open vault.
        contact_id: The contact's id.
        now: The report's time, timezone-aware (default: the current UTC time).
        purposes: Purposes of processing to name besides those the contact's consents and legal bases
            name (e.g. ``"customer-records"``).
        storage_period: The storage period, or the criteria for it, as the controller states it
            (Art. 15(1)(d)); ``None`` gives a general default text.
        messenger: The messenger provider named as a recipient once a number has reached a target.
        controller: The controller's name and contact details, shown at the top of the Markdown.

    Returns:
        The report; write it with :meth:`AccessReport.to_json` or :meth:`AccessReport.to_markdown`.

    Raises:
        ContactNotFound: No contact with that id.
        ContactErased: The contact was erased; there is nothing left to report.
        ValueError: ``now`` is not timezone-aware.
    """
    moment = _check_now(now)
    contact = vault.get(contact_id)
    disclosures = tuple(vault.disclosures_of(contact.id))
    stated = _distinct(
        [
            *purposes,
            *(r.purpose for r in contact.consents),
            *(b.purpose for b in contact.legal_bases),
        ]
    )
    return AccessReport(
        contact=contact,
        disclosures=disclosures,
        generated_at=moment,
        purposes=stated,
        recipients=_distinct(d.target for d in disclosures),
        messenger=messenger,
        storage_period=storage_period,
        controller=controller,
    )


# --- Art. 20: the portable export -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, repr=False)
class PortableExport:
    """A contact's data in machine-readable formats (GDPR Art. 20), for the data subject to take along.

    ``repr()`` shows the id only.

    Attributes:
        contact_id: The contact's id; the files are named after it, never after the person.
        vcard: The full contact as a vCard 4.0 (every field vCard can carry).
        json: The full contact as JSON, ``{"schema": "contactvault.portable/1", "exported_at": ...,
            "contact": {...}}``, with every field of the model.
    """

    contact_id: uuid.UUID
    vcard: str
    json: str

    def __repr__(self) -> str:
        return f"PortableExport(contact_id={self.contact_id})"

    def write(self, folder: str | Path) -> list[Path]:
        """Write ``<id>.vcf`` and ``<id>.json`` into ``folder``, each atomically with mode 0600.

        The folder is created if it does not exist, and so is each missing parent: every one with mode
        0700, whatever the umask (an existing folder is left as it is). Existing files of the same names
        are replaced.

        Returns:
            The two paths, the vCard first.
        """
        target = make_private_dir(folder)
        return [
            write_atomically(target / f"{self.contact_id}.vcf", self.vcard.encode("utf-8")),
            write_atomically(target / f"{self.contact_id}.json", self.json.encode("utf-8")),
        ]


def portable_export(
    vault: Vault, contact_id: uuid.UUID | str, *, now: datetime | None = None
) -> PortableExport:
    """The Art. 20 portable export of one contact: a full vCard 4.0 and JSON.

    Decrypts the contact's CRM payload; writes nothing (see :meth:`PortableExport.write`) and records no
    disclosure: the export goes to the data subject, not to a messenger.

    Args:
        vault: The open vault.
        contact_id: The contact's id.
        now: The ``exported_at`` time in the JSON, timezone-aware (default: the current UTC time).

    Returns:
        The export.

    Raises:
        ContactNotFound: No contact with that id.
        ContactErased: The contact was erased.
        ValueError: ``now`` is not timezone-aware.
    """
    moment = _check_now(now)
    contact = vault.get(contact_id)
    document = {
        "schema": PORTABLE_SCHEMA,
        "exported_at": moment.isoformat(),
        "contact": contact.model_dump(mode="json"),
    }
    return PortableExport(
        contact_id=contact.id, vcard=contact_to_vcard(contact, "4.0"), json=_dumps(document)
    )


# --- Art. 17: erasure and its receipt -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TargetDisclosures:
    """What one target received of an erased contact, from the disclosure log (no name, no full number).

    Attributes:
        target: The target (``file:...``, ``carddav:...``), without credentials.
        kinds: ``"export"`` and/or ``"sync"``.
        first_at: The first disclosure to this target.
        last_at: The last record that changed the contact's entries there.
        held: Whether the target still held an entry of the contact at the erasure (added or renamed and
            not removed later).
        numbers: The masked numbers the target received.
    """

    target: str
    kinds: tuple[str, ...]
    first_at: datetime
    last_at: datetime
    held: bool
    numbers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ManualStep:
    """One step of the erasure checklist that no API can do.

    Attributes:
        code: What to do (see `StepCode`).
        target: The target the step is about, for ``resync_target`` and ``delete_device_contact``.
        numbers: The masked numbers that identify the entry (``+49 ••••••••• 78``).
        messenger: The messenger app, for the messenger steps.
        label_count: How many labels the contact had in contactvault (``remove_messenger_labels``); the
            names are CRM values and are not kept.
    """

    code: StepCode
    target: str | None = None
    numbers: tuple[str, ...] = ()
    messenger: str | None = None
    label_count: int = 0

    def text(self, lang: Lang = "en") -> str:
        """The step as a sentence in ``lang``, with the target and numbers as plain (unescaped) text."""
        return _step_text(self, check_lang(lang), lambda s: s)


def _numbers_text(numbers: Sequence[str], wrap: Callable[[str], str], lang: Lang) -> str:
    if not numbers:
        return "(ohne Nummer)" if lang == "de" else "(no number)"
    return ", ".join(wrap(n) for n in numbers)


def _step_text(step: ManualStep, lang: Lang, wrap: Callable[[str], str]) -> str:  # noqa: PLR0911
    de = lang == "de"
    nums = _numbers_text(step.numbers, wrap, lang)
    target = wrap(step.target or "")
    kind = _target_type(step.target or "")
    app = step.messenger or DEFAULT_MESSENGER
    if step.code == "resync_target" and kind == "carddav":
        if de:
            return (
                f"Das Buch erneut nach {target} synchronisieren (`sync_book`): der gelöschte Kontakt "
                f"ist in keinem Buch mehr, also löscht die nächste Synchronisierung seine Karte {nums} vom "
                "Server; Telefone, die von dort synchronisieren, entfernen sie bei ihrem nächsten Abgleich."
            )
        return (
            f"Sync the book to {target} again (`sync_book`): the erased contact is in no book any "
            f"more, so the next sync deletes its card {nums} from the server; phones that sync from it drop "
            "the card at their next sync."
        )
    if step.code == "resync_target" and kind == "file":
        if de:
            return (
                f"Das Buch erneut nach {target} synchronisieren oder exportieren (`sync_book` mit "
                f"`VCardFileTarget` oder `export_book`): die Datei wird ohne die Karte {nums} neu "
                "geschrieben. Telefone, die die Datei schon importiert haben, behalten ihre Kopie (nächster "
                "Schritt)."
            )
        return (
            f"Sync or export the book to {target} again (`sync_book` with a `VCardFileTarget`, or "
            f"`export_book`): the file is rewritten without the card {nums}. Phones that already "
            "imported the file keep their copy (next step)."
        )
    if step.code == "resync_target":
        if de:
            return f"Das Buch erneut nach {target} synchronisieren, damit das Ziel die Karte {nums} entfernt."
        return f"Sync the book to {target} again, so that the target drops the card {nums}."
    if step.code == "delete_device_contact":
        if kind == "file":
            if de:
                return (
                    f"Den Kontakt {nums} auf jedem Telefon löschen, das {target} importiert hat: ein "
                    "importierter Kontakt ist eine Kopie, die neue Datei entfernt ihn nicht."
                )
            return (
                f"Delete the contact {nums} on every phone that imported {target}: an imported contact is "
                "a copy, and rewriting the file does not remove it."
            )
        if de:
            return (
                f"Auf jedem Telefon, das sein Adressbuch von {target} bezieht, prüfen, dass der Kontakt "
                f"{nums} verschwunden ist, und ihn sonst von Hand löschen (etwa wenn er in ein lokales "
                "Adressbuch oder ein anderes Konto kopiert wurde)."
            )
        return (
            f"On every phone that takes its address book from {target}, check that the contact {nums} is "
            "gone, and delete it by hand if not (for example if it was copied to a local address book or "
            "another account)."
        )
    if step.code == "delete_messenger_chat":
        if de:
            return (
                f"In {wrap(app)} den Chat mit {nums} und den dort gespeicherten Kontakt löschen "
                "(einschließlich Medien, Notizen und angehefteter Nachrichten in der App)."
            )
        return (
            f"In {wrap(app)}, delete the chat with {nums} and the contact stored there (including media, "
            "notes and pinned messages in the app)."
        )
    if step.code == "remove_messenger_labels":
        if de:
            return (
                f"In {wrap(app)} die Label des Chats mit {nums} entfernen (Anzahl der Label in contactvault: "
                f"{step.label_count}; in der App vergebene Label sind davon unabhängig)."
            )
        return (
            f"In {wrap(app)}, remove the labels assigned to the chat with {nums} (labels in contactvault: "
            f"{step.label_count}; labels set in the app are separate)."
        )
    if de:
        return (
            "Kopien außerhalb von contactvault löschen: Exporte (auch die Datenübertragbarkeit nach Art. 20 "
            "und Auskünfte nach Art. 15), CSV- und vCard-Dateien, E-Mail-Anhänge und Sicherungen der "
            "Tresordatei von vor der Löschung (oder sie nach ihrer Aufbewahrungsfrist löschen lassen)."
        )
    return (
        "Delete copies made outside contactvault: exports (including Art. 20 portable exports and Art. 15 "
        "access reports), CSV and vCard files, e-mail attachments, and backups of the vault file made "
        "before the erasure (or let them expire with their retention period)."
    )


@dataclass(frozen=True, slots=True)
class ErasureReceipt:
    """Proof of an erasure (GDPR Art. 17), with the manual steps that remain.

    It is meant to be kept after the erasure, so it holds no name, no full number and no CRM value: the
    contact id, masked numbers, targets and dates only.

    Attributes:
        contact_id: The erased contact's id.
        erased_at: When the vault erased it.
        version: The version of the tombstone the vault wrote.
        issued_at: When the receipt was made.
        lang: The language of the step texts in the JSON, and of the Markdown by default.
        numbers: The contact's numbers, masked.
        label_count: How many labels the contact had.
        destroyed: Codes of what was destroyed (``data_key``, ``phone_index``, ``wal_checkpoint``, and
            ``secure_delete`` when SQLite's secure delete was on).
        remains: Codes of what remains (``tombstone``, ``disclosure_log``, ``backups``, and
            ``wal_pending`` when SQLite could not finish the WAL checkpoint).
        targets: Per target, what it received of the contact before the erasure.
        steps: The manual steps, in order.
    """

    contact_id: uuid.UUID
    erased_at: datetime
    version: int
    issued_at: datetime
    lang: Lang
    numbers: tuple[str, ...]
    label_count: int
    destroyed: tuple[str, ...]
    remains: tuple[str, ...]
    targets: tuple[TargetDisclosures, ...]
    steps: tuple[ManualStep, ...]

    def to_dict(self) -> dict[str, Any]:
        """The receipt as plain JSON data (English keys); :meth:`to_json` writes it."""
        lang = self.lang
        destroyed = {code: (en, de) for code, en, de in (*_DESTROYED, _SECURE_DELETE)}
        remains = {code: (en, de) for code, en, de in (*_REMAINS, _WAL_PENDING)}
        return {
            "schema": ERASURE_SCHEMA,
            "contact_id": str(self.contact_id),
            "erased_at": self.erased_at.isoformat(),
            "tombstone_version": self.version,
            "issued_at": self.issued_at.isoformat(),
            "lang": lang,
            "masked_numbers": list(self.numbers),
            "label_count": self.label_count,
            "destroyed": [{"item": c, "text": _pick(destroyed[c], lang)} for c in self.destroyed],
            "remains": [{"item": c, "text": _pick(remains[c], lang)} for c in self.remains],
            "disclosed_to": [
                {
                    "target": t.target,
                    "kinds": list(t.kinds),
                    "first_at": t.first_at.isoformat(),
                    "last_at": t.last_at.isoformat(),
                    "held_at_erasure": t.held,
                    "masked_numbers": list(t.numbers),
                }
                for t in self.targets
            ],
            "manual_steps": [
                {
                    "step": s.code,
                    "target": s.target,
                    "masked_numbers": list(s.numbers),
                    "text": _step_text(s, lang, lambda v: v),
                }
                for s in self.steps
            ],
        }

    def to_json(self) -> str:
        """The receipt as JSON (``"schema": "contactvault.erasure/1"``, English keys)."""
        return _dumps(self.to_dict())

    def to_markdown(self, lang: Lang | None = None) -> str:
        """The receipt as Markdown, in ``lang`` (default: the receipt's language), with a task list.

        Raises:
            ValueError: ``lang`` is not a supported language.
        """
        lang = self.lang if lang is None else check_lang(lang)
        destroyed = {code: (en, de) for code, en, de in (*_DESTROYED, _SECURE_DELETE)}
        remains = {code: (en, de) for code, en, de in (*_REMAINS, _WAL_PENDING)}
        out = [
            f"# {_t('erasure_title', lang)}",
            "",
            f"- **{_t('contact_id', lang)}:** {_code(str(self.contact_id))}",
            f"- **{_t('erased_at', lang)}:** {_when(self.erased_at)}",
            f"- **{_t('tombstone_version', lang)}:** {self.version}",
            f"- **{_t('issued_at', lang)}:** {_when(self.issued_at)}",
            f"- **{_t('masked_numbers', lang)}:** {_numbers_text(self.numbers, _code, lang)}",
            f"- **{_t('label_count', lang)}:** {self.label_count}",
            "",
            f"## {_t('destroyed', lang)}",
            "",
            *(f"- {_pick(destroyed[c], lang)}" for c in self.destroyed),
            "",
            f"## {_t('remains', lang)}",
            "",
            *(f"- {_pick(remains[c], lang)}" for c in self.remains),
            "",
            f"## {_t('before_erasure', lang)}",
            "",
        ]
        if self.targets:
            header = [_t(k, lang) for k in ("target", "kinds", "first", "last", "held", "masked_numbers")]
            rows = (
                [
                    _code(t.target),
                    ", ".join(_t(f"kind.{k}", lang) for k in t.kinds),
                    _when(t.first_at),
                    _when(t.last_at),
                    _yes_no(t.held, lang),
                    ", ".join(_code(n) for n in t.numbers),
                ]
                for t in self.targets
            )
            out += [*table(header, rows), ""]
        else:
            out += [f"_{_t('none', lang)}_", ""]
        out += [f"## {_t('manual_steps', lang)}", "", _t("manual_intro", lang), ""]
        out += [f"- [ ] {_step_text(s, lang, _code)}" for s in self.steps]
        out.append("")
        return "\n".join(out)


def _target_summaries(disclosures: Sequence[ContactDisclosure]) -> tuple[TargetDisclosures, ...]:
    by_target: dict[str, list[ContactDisclosure]] = {}
    for d in disclosures:
        by_target.setdefault(d.target, []).append(d)
    summaries: list[TargetDisclosures] = []
    for target, records in by_target.items():
        state: dict[str, bool] = {}  # entry UID -> held after the records so far
        for d in sorted(records, key=lambda r: r.seq):
            state[d.uid] = d.change != "removed"
        summaries.append(
            TargetDisclosures(
                target=target,
                kinds=_distinct(d.kind for d in records),
                first_at=min(d.at for d in records),
                last_at=max(d.at for d in records),
                held=any(state.values()),
                numbers=_distinct(mask_number(d.number) for d in records),
            )
        )
    return tuple(summaries)


def erase_contact(
    vault: Vault,
    contact_id: uuid.UUID | str,
    *,
    lang: Lang = "en",
    now: datetime | None = None,
    messenger: str = DEFAULT_MESSENGER,
) -> ErasureReceipt:
    """Erase a contact (GDPR Art. 17) and return the receipt with the manual steps that remain.

    Before erasing, the contact's directory entry (not its CRM payload) and its disclosures are read, to
    learn which targets received its entries and whether they still hold them; then ``Vault.erase``
    destroys the contact's data key (both compartments become unreadable), removes its phone-index entries
    and checkpoints the WAL. The receipt keeps the contact id, masked numbers, the targets and dates, never
    the name, a full number or a CRM value.

    Args:
        vault: The open vault.
        contact_id: The contact's id.
        lang: The language of the step texts in the receipt's JSON and of its Markdown by default.
        now: The receipt's issue time, timezone-aware (default: the erasure time).
        messenger: The messenger app named in the manual steps.

    Returns:
        The receipt.

    Raises:
        ContactNotFound: No contact with that id.
        ContactErased: The contact was already erased; nothing is changed.
        ValueError: ``lang`` is not supported, or ``now`` is not timezone-aware.
    """
    lang = check_lang(lang)
    if now is not None:
        _check_now(now)
    entry = vault.directory_entry(contact_id)
    disclosures = vault.disclosures_of(entry.id)
    numbers = _distinct(mask_number(p.e164 or p.raw) for p in entry.phones)
    label_count = len(entry.labels)
    targets = _target_summaries(disclosures)

    erasure = vault.erase(entry.id)

    steps: list[ManualStep] = []
    for t in targets:  # per target: first make the target drop the card, then clean the phones
        if t.held:
            steps.append(ManualStep(code="resync_target", target=t.target, numbers=t.numbers))
        steps.append(ManualStep(code="delete_device_contact", target=t.target, numbers=t.numbers))
    steps += [
        ManualStep(code="delete_messenger_chat", numbers=numbers, messenger=messenger),
        ManualStep(
            code="remove_messenger_labels", numbers=numbers, messenger=messenger, label_count=label_count
        ),
        ManualStep(code="delete_outside_copies"),
    ]
    # Only what the vault reports as done: a checkpoint SQLite could not finish is not claimed.
    done = {
        "data_key": True,
        "phone_index": erasure.index_entries > 0,
        "wal_checkpoint": erasure.wal_truncated,
        _SECURE_DELETE[0]: erasure.secure_delete,
    }
    destroyed = tuple(code for code, _, _ in (*_DESTROYED, _SECURE_DELETE) if done[code])
    return ErasureReceipt(
        contact_id=erasure.contact_id,
        erased_at=erasure.erased_at,
        version=erasure.version,
        issued_at=now if now is not None else erasure.erased_at,
        lang=lang,
        numbers=numbers,
        label_count=label_count,
        destroyed=destroyed,
        remains=tuple(code for code, _, _ in _REMAINS)
        + (() if erasure.wal_truncated else (_WAL_PENDING[0],)),
        targets=targets,
        steps=tuple(steps),
    )
