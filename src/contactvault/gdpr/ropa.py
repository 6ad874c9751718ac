"""The record of processing activities (GDPR Art. 30(1)) for customer communication via a messenger.

:func:`record_of_processing` writes the entry of the controller's record for one processing activity:
talking to customers over a messenger (such as WhatsApp Business) on the company phone, fed by a vault.
It returns a :class:`RecordOfProcessing` with every item of Art. 30(1)(a) to (g):

- (a) the controller, its representative and the data protection officer, from a :class:`RopaConfig`;
- (b) the purpose (with the sync policy's purpose code) and the legal bases the policy accepts;
- (c) the categories of data subjects and of personal data: what the vault stores (directory and CRM
  compartments) and the little that reaches the messenger;
- (d) the recipients: the messenger provider and any others the config names;
- (e) transfers to third countries with their safeguards;
- (f) the time limits for erasure;
- (g) the technical measures, each one **derived from the vault's real settings** (`Vault.settings`, read
  from the header and the open SQLite connection) and from the policy's rules, and a short list of
  organisational measures for the controller to confirm.

The record holds no personal data from the vault: it reads the vault's settings and counts, never a
contact. The vault is named by its file name only (no folder, which often holds a user name). The
controller's and the DPO's contact details come from the config, which is the controller's own text.

The record is written as versioned JSON (``"schema": "contactvault.ropa/1"``, English keys, free text in
the requested language) and as Markdown in English or German.
"""

from __future__ import annotations

import json
import re
import tomllib
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Final, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from contactvault.crypto import KdfParams
from contactvault.i18n import Lang, check_lang
from contactvault.markdown import inline
from contactvault.models import MessengerEntry
from contactvault.sync.policy import AllOf, AnyOf, MessengerPolicy, Policy, UnsafeAllowAllValidNumbers
from contactvault.vault import Vault, VaultSettings

__all__ = [
    "ROPA_SCHEMA",
    "ContactDetails",
    "Controller",
    "DataProtectionOfficer",
    "ErasurePeriods",
    "ExtraRecipient",
    "Fact",
    "Measure",
    "MeasureKind",
    "MessengerProvider",
    "Recipient",
    "RecordOfProcessing",
    "RopaConfig",
    "Statement",
    "Transfer",
    "record_of_processing",
]

ROPA_SCHEMA: Final = "contactvault.ropa/1"
"""The ``schema`` value of :meth:`RecordOfProcessing.to_json`: the format's name and version."""

_DEFAULT_PURPOSE: Final = "messenger"  # Policy.default()'s purpose, used when no policy names one


# --- the config -------------------------------------------------------------------------------------------


def _one_line(value: str) -> str:
    """Refuse blank text and control characters (line breaks included): every value is one line."""
    if not value.strip():
        raise ValueError("must not be blank")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in value):
        raise ValueError("must be one line without control characters")
    return value


def _email(value: str) -> str:
    # A plausibility check only (one @, no spaces): the address is the controller's own and is not mailed.
    if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value) is None:
        raise ValueError("must be an e-mail address")
    return value


_Line = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_one_line)]
_Email = Annotated[str, Field(min_length=3, max_length=254), AfterValidator(_email)]


class _ConfigModel(BaseModel):
    """Shared settings: strict, frozen, no unknown keys, no input values in validation errors."""

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid", hide_input_in_errors=True)


class ContactDetails(_ConfigModel):
    """A name with contact details: the controller's representative (Art. 27), for example.

    Attributes:
        name: The person's or organisation's name.
        address: The postal address, on one line.
        email: An e-mail address.
        phone: A phone number, as it should be printed; optional.
    """

    name: _Line
    address: _Line
    email: _Email
    phone: _Line | None = None


class Controller(ContactDetails):
    """The controller (Art. 4(7)): the business that decides on the processing.

    Attributes:
        representative: The representative in the Union (Art. 27), for a controller established outside
            it; ``None`` otherwise.
    """

    representative: ContactDetails | None = None


class DataProtectionOfficer(_ConfigModel):
    """The data protection officer (Art. 37 to 39), where one is designated.

    Attributes:
        name: The officer's name (or the external service's).
        email: The officer's e-mail address.
        phone: A phone number; optional.
    """

    name: _Line
    email: _Email
    phone: _Line | None = None


def _check_transfer(third_country: str | None, safeguards: str | None) -> None:
    if third_country is not None and safeguards is None:
        raise ValueError("transfer_safeguards is required when third_country is set")
    if third_country is None and safeguards is not None:
        raise ValueError("transfer_safeguards needs a third_country")


class MessengerProvider(_ConfigModel):
    """The messenger's provider: a recipient of the numbers on the company phone, and of the messages.

    The defaults describe WhatsApp Business in the EU; change them for another messenger or when the
    provider's terms change.

    Attributes:
        name: The provider's legal name.
        address: Its address, on one line.
        service: The messenger's name, as the record shows it.
        third_country: The third country data goes to (Art. 44 ff.); ``None`` if there is no transfer.
        transfer_safeguards: The safeguards of that transfer (an adequacy decision, standard contractual
            clauses, ...). Required exactly when ``third_country`` is set.
    """

    name: _Line = "WhatsApp Ireland Limited"
    address: _Line = "Dublin, Ireland"
    service: _Line = "WhatsApp Business"
    third_country: _Line | None = "USA"
    transfer_safeguards: _Line | None = (
        "EU-US Data Privacy Framework (adequacy decision of 10 July 2023) and standard contractual clauses"
    )

    @model_validator(mode="after")
    def _transfer(self) -> Self:
        _check_transfer(self.third_country, self.transfer_safeguards)
        return self


class ExtraRecipient(_ConfigModel):
    """Another recipient of the data: a hosting provider of the CardDAV server, a tax adviser, ...

    Attributes:
        name: The recipient's name or category.
        description: What it receives and why, on one line (shown as written, in every language).
        address: Its address; optional.
        third_country: A third country the data goes to; ``None`` if none.
        transfer_safeguards: The safeguards of that transfer; required exactly when ``third_country``
            is set.
    """

    name: _Line
    description: _Line
    address: _Line | None = None
    third_country: _Line | None = None
    transfer_safeguards: _Line | None = None

    @model_validator(mode="after")
    def _transfer(self) -> Self:
        _check_transfer(self.third_country, self.transfer_safeguards)
        return self


class ErasurePeriods(_ConfigModel):
    """The time limits for erasure (Art. 30(1)(f)).

    Attributes:
        days_after_relationship: A contact is erased from the vault at most this many days after the end
            of the customer relationship (0 to 3650; default 90).
        statutory_retention: Statutory retention obligations that keep some data longer (for example
            business letters), on one line; ``None`` if none are stated.
    """

    days_after_relationship: Annotated[int, Field(ge=0, le=3650)] = 90
    statutory_retention: _Line | None = None


class RopaConfig(_ConfigModel):
    """What the record needs and the vault cannot know: who the controller is, who receives the data.

    Load it from a file with :meth:`load`; ``src/contactvault/samples/ropa.toml`` is an example.

    Attributes:
        controller: The controller, with its representative if it has one.
        dpo: The data protection officer; ``None`` where none is designated ("where applicable").
        messenger: The messenger provider (default: WhatsApp Ireland Limited, transfers to the USA).
        erasure: The time limits for erasure.
        recipients: Further recipients, beyond the messenger provider.
        organisational_measures: Further organisational measures, one line each, added to the standard
            ones.
    """

    controller: Controller
    dpo: DataProtectionOfficer | None = None
    messenger: MessengerProvider = Field(default_factory=MessengerProvider)
    erasure: ErasurePeriods = Field(default_factory=ErasurePeriods)
    # A TOML or JSON array is a list: these two accept one and keep it as a tuple (the items stay strict).
    recipients: tuple[ExtraRecipient, ...] = Field(default=(), strict=False, max_length=50)
    organisational_measures: tuple[_Line, ...] = Field(default=(), strict=False, max_length=50)

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read a config from a TOML (``.toml``) or JSON (``.json``) file.

        Args:
            path: The file.

        Returns:
            The config.

        Raises:
            ValueError: If the file is not valid TOML or JSON (UTF-8), or a field is missing, unknown or
                invalid. The message names the file and the field, never a value.
            OSError: If the file cannot be read.
        """
        file = Path(path)
        suffix = file.suffix.lower()
        if suffix not in (".toml", ".json"):
            raise ValueError(f"{file}: a record-of-processing config is a .toml or .json file")
        data = file.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"{file}: not UTF-8 text") from None
        parsed = _parse_toml(file, text) if suffix == ".toml" else _parse_json(file, text)
        try:
            return cls.model_validate(parsed)
        except ValidationError as exc:
            problems = "; ".join(
                f"field {_location(error['loc'])}: {error['msg'].removeprefix('Value error, ')}"
                for error in exc.errors(include_url=False)
            )
            raise ValueError(f"{file}: invalid record-of-processing config: {problems}") from None


def _parse_toml(file: Path, text: str) -> object:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's messages name the kind of error and the position, never the offending text.
        raise ValueError(f"{file}: not valid TOML: {exc}") from None


def _parse_json(file: Path, text: str) -> object:
    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in pairs]
        for key in keys:
            if keys.count(key) > 1:
                raise ValueError(f"{file}: not valid JSON: the key {key!r} appears twice")
        return dict(pairs)

    try:
        return json.loads(text, object_pairs_hook=unique)
    except json.JSONDecodeError as exc:
        # Position only: exc.msg is fixed text, exc.doc (the file) is never shown.
        raise ValueError(
            f"{file}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None


def _location(loc: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in loc) if loc else "(the whole file)"


# --- the record's parts -----------------------------------------------------------------------------------

Fact = str | int | float | bool | None | tuple[str, ...]
"""A value a statement was made from, as it appears in the JSON ``facts``."""

MeasureKind = Literal["technical", "organisational"]
"""A technical measure is read from the vault or the policy; an organisational one is for the controller
to carry out and confirm."""


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement of the record, in English and German, with the facts it was made from.

    Attributes:
        code: A stable code naming what the statement is about (``"customers"``, ``"secure_delete"``).
        en: The statement in English.
        de: The statement in German.
        facts: The values the text was built from, by name (read-only).
    """

    code: str
    en: str
    de: str
    facts: Mapping[str, Fact] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "facts", MappingProxyType(dict(self.facts)))

    def text(self, lang: Lang = "en") -> str:
        """The statement in ``lang``.

        Raises:
            ValueError: If ``lang`` is not a supported language.
        """
        return self.de if check_lang(lang) == "de" else self.en

    def _json(self, lang: Lang) -> dict[str, Any]:
        return {"code": self.code, "text": self.text(lang), "facts": dict(self.facts)}


@dataclass(frozen=True, slots=True)
class Measure(Statement):
    """A technical or organisational measure (Art. 30(1)(g), Art. 32(1)).

    Attributes:
        kind: ``"technical"`` or ``"organisational"``.
        sources: Where a technical measure was read from: `VaultSettings` field names, ``policy.<field>``
            or a model's name. Empty for an organisational measure.
    """

    kind: MeasureKind = "technical"
    sources: tuple[str, ...] = ()

    def _json(self, lang: Lang) -> dict[str, Any]:
        return {
            "code": self.code,
            "kind": self.kind,
            "sources": list(self.sources),
            "text": self.text(lang),
            "facts": dict(self.facts),
        }


@dataclass(frozen=True, slots=True)
class Recipient:
    """A recipient or category of recipients (Art. 30(1)(d)).

    Attributes:
        code: ``"messenger_provider"`` or ``"extra"`` (from the config's ``recipients``).
        name: The recipient's name.
        address: Its address, if known.
        en: What it receives, in English.
        de: What it receives, in German.
        third_country: A third country the data goes to, if any.
        transfer_safeguards: The safeguards of that transfer, if any.
    """

    code: Literal["messenger_provider", "extra"]
    name: str
    address: str | None
    en: str
    de: str
    third_country: str | None
    transfer_safeguards: str | None

    def text(self, lang: Lang = "en") -> str:
        """What the recipient receives, in ``lang``.

        Raises:
            ValueError: If ``lang`` is not a supported language.
        """
        return self.de if check_lang(lang) == "de" else self.en


@dataclass(frozen=True, slots=True)
class Transfer:
    """A transfer to a third country (Art. 30(1)(e)).

    Attributes:
        recipient: The recipient's name.
        country: The third country.
        safeguards: The safeguards (Art. 45 to 49).
    """

    recipient: str
    country: str
    safeguards: str


# --- fixed texts (b), (c), organisational measures -------------------------------------------------------

_TEXT: Final[dict[str, tuple[str, str]]] = {  # key -> (English, German)
    "title": (
        "Record of processing activities (Art. 30(1) GDPR)",
        "Verzeichnis von Verarbeitungstätigkeiten (Art. 30 Abs. 1 DSGVO)",
    ),
    "activity": ("Processing activity", "Verarbeitungstätigkeit"),
    "activity_name": ("Customer communication via messenger", "Kundenkommunikation per Messenger"),
    "generated_at": ("Generated at", "Erstellt am"),
    "schema": ("Schema", "Schema"),
    "vault_file": ("Vault file", "Tresordatei"),
    "policy": ("Sync policy", "Synchronisierungsrichtlinie"),
    "policy_none": ("none given", "keine angegeben"),
    "digest": ("digest", "Prüfsumme"),
    "a": (
        "(a) Controller, representative and data protection officer",
        "(a) Verantwortlicher, Vertreter und Datenschutzbeauftragter",
    ),
    "controller": ("Controller", "Verantwortlicher"),
    "representative": ("Representative (Art. 27)", "Vertreter (Art. 27)"),
    "dpo": ("Data protection officer", "Datenschutzbeauftragter"),
    "dpo_none": ("No data protection officer is designated.", "Es ist kein Datenschutzbeauftragter benannt."),
    "name": ("Name", "Name"),
    "address": ("Address", "Anschrift"),
    "email": ("E-mail", "E-Mail"),
    "phone": ("Phone", "Telefon"),
    "b": ("(b) Purposes of the processing", "(b) Zwecke der Verarbeitung"),
    "legal_bases": ("Legal bases (Art. 6(1))", "Rechtsgrundlagen (Art. 6 Abs. 1)"),
    "c": (
        "(c) Categories of data subjects and of personal data",
        "(c) Kategorien betroffener Personen und personenbezogener Daten",
    ),
    "data_subjects": ("Data subjects", "Betroffene Personen"),
    "vault_directory": (
        "Stored in the vault: directory compartment (read to build the messenger book)",
        "Im Tresor gespeichert: Verzeichnisteil (wird für das Messenger-Adressbuch gelesen)",
    ),
    "vault_crm": (
        "Stored in the vault: CRM compartment (sealed per contact, never read for the messenger)",
        "Im Tresor gespeichert: CRM-Teil (je Kontakt versiegelt, nie für den Messenger gelesen)",
    ),
    "messenger_data": ("What reaches the messenger", "Was den Messenger erreicht"),
    "d": ("(d) Categories of recipients", "(d) Kategorien von Empfängern"),
    "e": ("(e) Transfers to third countries", "(e) Übermittlungen an Drittländer"),
    "transfers_none": ("No transfer to a third country.", "Keine Übermittlung an ein Drittland."),
    "third_country": ("Third country", "Drittland"),
    "safeguards": ("Safeguards", "Garantien"),
    "recipient": ("Recipient", "Empfänger"),
    "f": ("(f) Time limits for erasure", "(f) Fristen für die Löschung"),
    "g": (
        "(g) Technical and organisational measures (Art. 32(1))",
        "(g) Technische und organisatorische Maßnahmen (Art. 32 Abs. 1)",
    ),
    "technical": (
        "Technical measures (read from this vault and the sync policy)",
        "Technische Maßnahmen (aus diesem Tresor und der Synchronisierungsrichtlinie gelesen)",
    ),
    "organisational": (
        "Organisational measures (for the controller to carry out and confirm)",
        "Organisatorische Maßnahmen (vom Verantwortlichen umzusetzen und zu bestätigen)",
    ),
    "source": ("source", "Quelle"),
}


def _t(key: str, lang: Lang) -> str:
    english, german = _TEXT[key]
    return german if lang == "de" else english


def _purposes(purposes: Sequence[str]) -> tuple[Statement, ...]:
    return tuple(
        Statement(
            "customer_communication",
            f"Customer communication via messenger (purpose code {purpose!r}): answering enquiries, "
            "arranging appointments, orders and deliveries, and sending information the customer asked "
            "for, over a messenger on the company phone.",
            f"Kundenkommunikation per Messenger (Zweck-Code {purpose!r}): Anfragen beantworten, Termine, "
            "Aufträge und Lieferungen abstimmen und vom Kunden gewünschte Informationen senden, über einen "
            "Messenger auf dem Firmentelefon.",
            {"purpose": purpose},
        )
        for purpose in purposes
    )


_LEGAL_BASES: Final = (
    Statement(
        "6(1)(a)",
        "Art. 6(1)(a) GDPR, consent: recorded per contact and purpose with date, channel and the version of "
        "the notice shown (Art. 7(1)); a withdrawal takes effect at the next sync (Art. 7(3)).",
        "Art. 6 Abs. 1 lit. a DSGVO, Einwilligung: je Kontakt und Zweck mit Datum, Weg und Version des "
        "Hinweistextes erfasst (Art. 7 Abs. 1); ein Widerruf wirkt ab der nächsten Synchronisierung "
        "(Art. 7 Abs. 3).",
    ),
    Statement(
        "6(1)(b)",
        "Art. 6(1)(b) GDPR, contract: communication needed to perform a contract with the customer or to "
        "take steps at their request before one.",
        "Art. 6 Abs. 1 lit. b DSGVO, Vertrag: Kommunikation zur Erfüllung eines Vertrags mit dem Kunden "
        "oder zu vorvertraglichen Maßnahmen auf dessen Anfrage.",
    ),
    Statement(
        "6(1)(f)",
        "Art. 6(1)(f) GDPR, legitimate interests: only where the interest is documented for the contact.",
        "Art. 6 Abs. 1 lit. f DSGVO, berechtigte Interessen: nur wenn das Interesse für den Kontakt "
        "dokumentiert ist.",
    ),
)

_DATA_SUBJECTS: Final = (
    Statement(
        "customers",
        "Customers who consented to contact via the messenger, or with whom a contract (or a documented "
        "legitimate interest) exists.",
        "Kunden, die in die Kontaktaufnahme per Messenger eingewilligt haben oder mit denen ein Vertrag "
        "(oder ein dokumentiertes berechtigtes Interesse) besteht.",
    ),
    Statement(
        "prospects",
        "Prospective customers who asked to be contacted via the messenger (consent or pre-contractual "
        "steps at their request).",
        "Interessenten, die um Kontakt per Messenger gebeten haben (Einwilligung oder vorvertragliche "
        "Maßnahmen auf ihre Anfrage).",
    ),
)

_VAULT_DIRECTORY: Final = (
    Statement("names", "Display name and name parts", "Anzeigename und Namensbestandteile"),
    Statement(
        "phone_numbers",
        "Phone numbers, as entered and in E.164 form, with the line kind and whether the number uses the "
        "messenger (and when that was checked)",
        "Telefonnummern, wie erfasst und im E.164-Format, mit Art des Anschlusses und ob die Nummer den "
        "Messenger nutzt (und wann das geprüft wurde)",
    ),
    Statement(
        "labels", "Labels (categories such as customer groups)", "Label (Kategorien wie Kundengruppen)"
    ),
    Statement(
        "legal_basis_history",
        "Consent history, legal bases, restriction of processing and objections",
        "Einwilligungen mit Verlauf, Rechtsgrundlagen, Einschränkung der Verarbeitung und Widersprüche",
    ),
    Statement(
        "birth_date",
        "Date of birth, where the year is known (to keep minors out, Art. 8)",
        "Geburtsdatum, wenn das Jahr bekannt ist (um Minderjährige auszuschließen, Art. 8)",
    ),
)

_VAULT_CRM: Final = (
    Statement("emails", "E-mail addresses", "E-Mail-Adressen"),
    Statement("postal_addresses", "Postal addresses", "Postanschriften"),
    Statement("birthday", "Birthday", "Geburtstag"),
    Statement(
        "organisation", "Organisation, department and job title", "Organisation, Abteilung und Position"
    ),
    Statement("urls", "Web addresses", "Webadressen"),
    Statement("notes", "Notes", "Notizen"),
    Statement("custom_fields", "Further custom fields", "Weitere eigene Felder"),
    Statement("source", "Where the contact was imported from", "Herkunft des Kontakts (Importquelle)"),
)


def _messenger_data() -> tuple[Statement, ...]:
    fields = tuple(MessengerEntry.model_fields)
    return (
        Statement(
            "display_name",
            "Display name: the full name, a shortened form or initials, or a pseudonym, as the book's name "
            "style sets",
            "Anzeigename: voller Name, gekürzte Form oder Initialen oder ein Pseudonym, je nach "
            "Namensstil des Adressbuchs",
            {"entry_fields": fields},
        ),
        Statement(
            "mobile_number",
            "Mobile number in E.164 form (only for contacts the sync policy allows)",
            "Mobilnummer im E.164-Format (nur für Kontakte, die die Synchronisierungsrichtlinie zulässt)",
            {"entry_fields": fields},
        ),
        Statement(
            "messages",
            "Messages exchanged and their metadata: processed by the messenger provider, not by contactvault",
            "Ausgetauschte Nachrichten und ihre Metadaten: verarbeitet vom Messenger-Anbieter, nicht von "
            "contactvault",
        ),
    )


_ORGANISATIONAL: Final = (
    Measure(
        "passphrase",
        "The vault's passphrase is known only to the persons who manage customer contacts; it is not kept "
        "on the company phone or sent by messenger. A recovery key, if any, is stored offline and apart.",
        "Die Passphrase des Tresors kennen nur die Personen, die Kundenkontakte verwalten; sie wird weder "
        "auf dem Firmentelefon abgelegt noch per Messenger versandt. Ein etwaiger "
        "Wiederherstellungsschlüssel wird getrennt und offline aufbewahrt.",
        kind="organisational",
    ),
    Measure(
        "phonebook_audit",
        "The company phone's address book is checked regularly, at least monthly, with contactvault's "
        "audit_phonebook(); findings are corrected and the report is kept.",
        "Das Adressbuch des Firmentelefons wird regelmäßig, mindestens monatlich, mit audit_phonebook() von "
        "contactvault geprüft; Befunde werden behoben und der Bericht aufbewahrt.",
        kind="organisational",
    ),
    Measure(
        "consent_records",
        "Consents and withdrawals are recorded in the vault as soon as they are given, with the channel and "
        "the version of the notice shown; the messenger book is synced after every change.",
        "Einwilligungen und Widerrufe werden sofort im Tresor erfasst, mit Weg und Version des gezeigten "
        "Hinweistextes; das Messenger-Adressbuch wird nach jeder Änderung synchronisiert.",
        kind="organisational",
    ),
    Measure(
        "data_subject_requests",
        "Requests under Art. 15 to 21 are answered within one month (Art. 12(3)) with the access report, the "
        "portable export or the erasure receipt; the manual steps on the phone and in the messenger are "
        "done and ticked off.",
        "Anträge nach Art. 15 bis 21 werden binnen eines Monats beantwortet (Art. 12 Abs. 3), mit Auskunft, "
        "Datenexport oder Löschbestätigung; die manuellen Schritte auf dem Telefon und im Messenger werden "
        "erledigt und abgehakt.",
        kind="organisational",
    ),
)


# --- technical measures from the vault's settings -------------------------------------------------------

_SYNCHRONOUS: Final = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


def _memory(kib: int) -> str:
    return f"{kib // 1024} MiB" if kib % 1024 == 0 else f"{kib} KiB"


def _plural(count: int, en: tuple[str, str], de: tuple[str, str]) -> tuple[str, str]:
    one = count == 1
    return f"{count} {en[0] if one else en[1]}", f"{count} {de[0] if one else de[1]}"


def _encryption(s: VaultSettings) -> Measure:
    return Measure(
        "encryption_at_rest",
        f"Encryption at rest: every contact record and every disclosure-log record is sealed with {s.cipher} "
        f"(authenticated encryption); the vault file (format version {s.format_version}) holds ciphertext "
        "and opaque ids only.",
        f"Verschlüsselung der gespeicherten Daten: Jeder Kontaktdatensatz und jeder Eintrag des "
        f"Offenlegungsprotokolls ist mit {s.cipher} versiegelt (authentifizierte Verschlüsselung); die "
        f"Tresordatei (Formatversion {s.format_version}) enthält nur Geheimtext und nicht sprechende IDs.",
        {"cipher": s.cipher, "format_version": s.format_version},
        sources=("cipher", "format_version"),
    )


def _kdf(s: VaultSettings) -> Measure:
    p = s.kdf_params
    default = KdfParams.default()
    weak = p.memory_kib < default.memory_kib or p.iterations < default.iterations
    iterations = _plural(p.iterations, ("iteration", "iterations"), ("Iteration", "Iterationen"))
    lanes = _plural(p.lanes, ("lane", "lanes"), ("Lane", "Lanes"))
    en = (
        f"Passphrase: the key that unlocks the vault is derived from the passphrase with {s.kdf} "
        f"({_memory(p.memory_kib)} of memory, {iterations[0]}, {lanes[0]}), as stored in this vault's "
        "header."
    )
    de = (
        f"Passphrase: Der Schlüssel, der den Tresor öffnet, wird mit {s.kdf} aus der Passphrase abgeleitet "
        f"({_memory(p.memory_kib)} Speicher, {iterations[1]}, {lanes[1]}), wie im Kopf dieses Tresors "
        "gespeichert."
    )
    if weak:
        en += (
            f" These parameters are weaker than the default ({_memory(default.memory_kib)}, "
            f"{default.iterations} iterations): change the passphrase with stronger ones."
        )
        de += (
            f" Diese Parameter sind schwächer als die Voreinstellung ({_memory(default.memory_kib)}, "
            f"{default.iterations} Iterationen): Passphrase mit stärkeren Parametern neu setzen."
        )
    facts: dict[str, Fact] = {
        "kdf": s.kdf,
        "memory_kib": p.memory_kib,
        "memory_mib": p.memory_kib / 1024,
        "iterations": p.iterations,
        "lanes": p.lanes,
        "weaker_than_default": weak,
    }
    return Measure("kdf", en, de, facts, sources=("kdf", "kdf_params"))


def _key_hierarchy(s: VaultSettings) -> Measure:
    return Measure(
        "key_hierarchy",
        f"Key hierarchy: {s.key_hierarchy}. Changing the passphrase re-wraps the master key only.",
        f"Schlüsselhierarchie: {s.key_hierarchy}. Eine neue Passphrase verpackt nur den Hauptschlüssel neu.",
        {"key_hierarchy": s.key_hierarchy},
        sources=("key_hierarchy",),
    )


def _per_contact_keys(s: VaultSettings) -> Measure:
    if s.per_contact_keys:
        en = (
            "Per-contact keys: every contact is sealed under its own random data key; erasing a contact "
            "deletes that key (crypto-shredding), so no remaining copy of its records can be read again."
        )
        de = (
            "Schlüssel je Kontakt: Jeder Kontakt ist mit einem eigenen zufälligen Datenschlüssel versiegelt; "
            "beim Löschen wird dieser Schlüssel vernichtet (Crypto-Shredding), sodass keine verbliebene "
            "Kopie seiner Datensätze mehr lesbar ist."
        )
    else:
        en = (
            "No per-contact keys: contacts share their keys, so erasure cannot crypto-shred; erased records "
            "are only deleted."
        )
        de = (
            "Keine Schlüssel je Kontakt: Kontakte teilen ihre Schlüssel, daher ist kein Crypto-Shredding "
            "möglich; gelöschte Datensätze werden nur entfernt."
        )
    return Measure(
        "per_contact_keys", en, de, {"per_contact_keys": s.per_contact_keys}, sources=("per_contact_keys",)
    )


def _padding(s: VaultSettings) -> Measure:
    if s.padding.strip() and s.padding.strip().lower() != "none":
        en = (
            f"Length hiding: plaintexts are padded before sealing ({s.padding}), so the size of a record "
            "does not give away the length of its fields."
        )
        de = (
            f"Verschleierung der Länge: Klartexte werden vor dem Versiegeln aufgefüllt ({s.padding}), damit "
            "die Größe eines Datensatzes die Länge seiner Felder nicht verrät."
        )
    else:
        en = "No padding: the size of a sealed record follows the length of its fields."
        de = "Kein Auffüllen: Die Größe eines versiegelten Datensatzes folgt der Länge seiner Felder."
    return Measure("padding", en, de, {"padding": s.padding}, sources=("padding",))


def _secure_delete(s: VaultSettings) -> Measure:
    if s.secure_delete:
        en = (
            "Secure delete is ON (as read from the open SQLite connection): SQLite overwrites deleted "
            "content, so erased records do not linger in free pages of the file."
        )
        de = (
            "Sicheres Löschen ist EIN (aus der geöffneten SQLite-Verbindung gelesen): SQLite überschreibt "
            "gelöschte Inhalte, sodass gelöschte Datensätze nicht in freien Seiten der Datei verbleiben."
        )
    else:
        en = (
            "Secure delete is OFF (as read from the open SQLite connection): deleted content may remain in "
            "free pages of the file until they are reused."
        )
        de = (
            "Sicheres Löschen ist AUS (aus der geöffneten SQLite-Verbindung gelesen): Gelöschte Inhalte "
            "können in freien Seiten der Datei verbleiben, bis diese wiederverwendet werden."
        )
    return Measure("secure_delete", en, de, {"secure_delete": s.secure_delete}, sources=("secure_delete",))


def _durability(s: VaultSettings) -> Measure:
    level = _SYNCHRONOUS.get(s.synchronous, str(s.synchronous))
    mode = s.journal_mode.upper()
    en = f"Crash safety: SQLite journal mode {mode}, synchronous {level} ({s.synchronous})"
    de = f"Absturzsicherheit: SQLite-Journalmodus {mode}, synchronous {level} ({s.synchronous})"
    if s.journal_mode == "wal" and s.synchronous >= 2:
        en += "; every commit is flushed to disk, so a crash leaves either the old or the new state."
        de += (
            "; jeder Commit wird auf die Platte geschrieben, ein Absturz hinterlässt den alten oder den "
            "neuen Stand."
        )
    else:
        en += "; a crash or power loss may lose the last changes."
        de += "; ein Absturz oder Stromausfall kann die letzten Änderungen verlieren."
    facts: dict[str, Fact] = {"journal_mode": s.journal_mode, "synchronous": s.synchronous}
    return Measure("durability", en, de, facts, sources=("journal_mode", "synchronous"))


def _serialised_writes(s: VaultSettings) -> Measure:
    where = "PostgreSQL" if s.backend == "postgresql" else "SQLite"
    if s.serialised_writes:
        en = (
            f"Concurrent use ({where}): several processes may use the vault at once; writes are "
            "serialised on its authenticated state, an update from a stale read is refused, and every "
            "export or sync is recorded in one hash chain."
        )
        de = (
            f"Gleichzeitige Nutzung ({where}): Mehrere Prozesse können den Tresor zugleich nutzen; "
            "Schreibvorgänge werden an seinem authentifizierten Zustand nacheinander ausgeführt, eine "
            "Änderung auf veraltetem Stand wird abgewiesen, und jede Ausgabe und Synchronisierung steht in "
            "einer Hash-Kette."
        )
    else:
        en = "Writes are not serialised: two writers at once could lose an update."
        de = (
            "Schreibvorgänge werden nicht nacheinander ausgeführt: Zwei Schreiber zugleich könnten eine "
            "Änderung verlieren."
        )
    facts: dict[str, Fact] = {"serialised_writes": s.serialised_writes, "backend": s.backend}
    return Measure("serialised_writes", en, de, facts, sources=("serialised_writes", "backend"))


def _integrity(s: VaultSettings) -> Measure:
    return Measure(
        "integrity",
        f"Integrity: in vault format version {s.format_version} a MAC covers the header (format version and "
        "KDF parameters) and an authenticated digest covers the set of rows, so tampering and deleted or "
        "rolled-back rows are detected; Vault.verify() checks every record.",
        f"Integrität: Im Tresorformat Version {s.format_version} sichert ein MAC den Kopf "
        "(Formatversion und KDF-Parameter) und eine authentifizierte Prüfsumme die Menge der Zeilen, sodass "
        "Manipulationen sowie gelöschte oder zurückgesetzte Zeilen erkannt werden; Vault.verify() prüft "
        "jeden Datensatz.",
        {"format_version": s.format_version},
        sources=("format_version",),
    )


def _disclosure_log(s: VaultSettings) -> Measure:
    records_en, records_de = _plural(s.disclosure_records, ("record", "records"), ("Eintrag", "Einträge"))
    if s.disclosure_log:
        en = (
            "Accountability (Art. 5(2)): every export and sync of the messenger book is recorded in an "
            "authenticated, hash-chained disclosure log inside the vault (keyed hashes, no names or "
            f"numbers); it holds {records_en}."
        )
        de = (
            "Rechenschaftspflicht (Art. 5 Abs. 2): Jeder Export und jede Synchronisierung des "
            "Messenger-Adressbuchs wird in einem authentifizierten, hashverketteten Offenlegungsprotokoll im "
            f"Tresor festgehalten (verschlüsselte Hashes, keine Namen oder Nummern); es enthält {records_de}."
        )
    else:
        en = f"No disclosure log: exports and syncs are not recorded ({records_en} held)."
        de = (
            "Kein Offenlegungsprotokoll: Exporte und Synchronisierungen werden nicht festgehalten "
            f"({records_de})."
        )
    facts: dict[str, Fact] = {"disclosure_log": s.disclosure_log, "disclosure_records": s.disclosure_records}
    return Measure("disclosure_log", en, de, facts, sources=("disclosure_log", "disclosure_records"))


def _recovery_key(s: VaultSettings) -> Measure:
    if s.recovery_key:
        en = (
            "Recovery key: a second wrap of the master key lets a recovery key open the vault, so a lost "
            "passphrase does not mean lost data (availability, Art. 32(1)(c)); there is no other way in."
        )
        de = (
            "Wiederherstellungsschlüssel: Eine zweite Verpackung des Hauptschlüssels erlaubt das Öffnen mit "
            "einem Wiederherstellungsschlüssel, sodass eine vergessene Passphrase nicht zum Datenverlust "
            "führt (Verfügbarkeit, Art. 32 Abs. 1 lit. c); einen anderen Zugang gibt es nicht."
        )
    else:
        en = (
            "No recovery key: only the passphrase opens the vault; if it is lost, the data is lost "
            "(keep backups of the vault file and of the passphrase in a safe place)."
        )
        de = (
            "Kein Wiederherstellungsschlüssel: Nur die Passphrase öffnet den Tresor; geht sie verloren, sind "
            "die Daten verloren (Sicherungen der Tresordatei und der Passphrase sicher aufbewahren)."
        )
    return Measure("recovery_key", en, de, {"recovery_key": s.recovery_key}, sources=("recovery_key",))


def _minimal_book() -> Measure:
    fields = tuple(MessengerEntry.model_fields)
    listed = ", ".join(fields)
    return Measure(
        "minimal_book",
        "Data minimisation (Art. 5(1)(c)): the messenger's address book is built from the directory "
        f"compartment only, and each of its entries holds exactly these fields: {listed}. No CRM value "
        "(e-mail, address, note, label, ...) can reach it.",
        "Datenminimierung (Art. 5 Abs. 1 lit. c): Das Adressbuch für den Messenger wird nur aus dem "
        f"Verzeichnisteil gebildet, und jeder Eintrag enthält genau diese Felder: {listed}. Kein CRM-Wert "
        "(E-Mail, Anschrift, Notiz, Label, ...) kann es erreichen.",
        {"entry_fields": fields},
        sources=("MessengerEntry",),
    )


_FROM_SETTINGS: Final[tuple[Callable[[VaultSettings], Measure], ...]] = (
    _encryption,
    _kdf,
    _key_hierarchy,
    _per_contact_keys,
    _padding,
    _integrity,
    _secure_delete,
    _durability,
    _serialised_writes,
    _disclosure_log,
    _recovery_key,
)


# --- the policy ---------------------------------------------------------------------------------------


def _messenger_policies(policy: Policy) -> Iterator[MessengerPolicy]:
    """Every `MessengerPolicy` in ``policy``, in order: itself, or the members of a combinator."""
    if isinstance(policy, MessengerPolicy):
        yield policy
    elif isinstance(policy, AllOf | AnyOf):
        for member in policy.policies:
            yield from _messenger_policies(member)


def _days(span: timedelta | None) -> int | float | None:
    if span is None:
        return None
    days = span / timedelta(days=1)
    return int(days) if days.is_integer() else round(days, 3)


def _policy_rules(policy: MessengerPolicy) -> Measure:
    refresh = _days(policy.consent_refresh)
    max_age = _days(policy.messenger_max_age)
    labels = len(policy.excluded_labels)
    lines_en = "mobile numbers or landlines" if policy.admit_fixed_line else "mobile numbers"
    lines_de = "Mobil- oder Festnetznummern" if policy.admit_fixed_line else "Mobilnummern"
    checked_en = "" if max_age is None else f", checked within the last {max_age} days"
    checked_de = "" if max_age is None else f", geprüft in den letzten {max_age} Tagen"
    consent_en = (
        "A consent counts until it is withdrawn."
        if refresh is None
        else f"A consent counts for {refresh} days after it was given; then it must be renewed."
    )
    consent_de = (
        "Eine Einwilligung gilt bis zu ihrem Widerruf."
        if refresh is None
        else f"Eine Einwilligung gilt {refresh} Tage ab Erteilung; danach muss sie erneuert werden."
    )
    en = (
        f"Sync policy for purpose {policy.purpose!r}: a number reaches the messenger only with a consent for "
        "this purpose (or a contract or documented legitimate interest), while processing is not "
        "restricted and the contact has not objected, if the contact is not known to be younger than "
        f"{policy.minimum_age} years and carries no excluded label ({labels} set), and only for "
        f"{lines_en} known to use the messenger{checked_en}. {consent_en}"
    )
    de = (
        f"Synchronisierungsrichtlinie für den Zweck {policy.purpose!r}: Eine Nummer erreicht den Messenger "
        "nur mit einer Einwilligung für diesen Zweck (oder einem Vertrag oder dokumentierten berechtigten "
        "Interesse), solange die Verarbeitung nicht eingeschränkt ist und kein Widerspruch vorliegt, wenn "
        f"der Kontakt nicht bekanntermaßen jünger als {policy.minimum_age} Jahre ist und kein "
        f"ausgeschlossenes Label trägt ({labels} festgelegt), und nur für {lines_de}, die den Messenger "
        f"nutzen{checked_de}. "
        f"{consent_de}"
    )
    facts: dict[str, Fact] = {
        "purpose": policy.purpose,
        "minimum_age": policy.minimum_age,
        "excluded_labels": labels,
        "consent_refresh_days": refresh,
        "messenger_max_age_days": max_age,
        "admit_fixed_line": policy.admit_fixed_line,
        "digest": policy.digest(),
    }
    sources = tuple(
        f"policy.{name}"
        for name in (
            "purpose",
            "minimum_age",
            "excluded_labels",
            "consent_refresh",
            "messenger_max_age",
            "admit_fixed_line",
        )
    )
    return Measure("policy_rules", en, de, facts, sources=sources)


def _policy_measures(policy: Policy | None) -> tuple[Measure, ...]:
    if policy is None:
        return ()
    kind = type(policy).__name__
    rules = tuple(_policy_rules(member) for member in _messenger_policies(policy))
    if isinstance(policy, UnsafeAllowAllValidNumbers):
        warning = Measure(
            "policy_unsafe",
            "Warning: the sync policy UnsafeAllowAllValidNumbers checks no legal basis, consent, "
            "restriction, objection or age; every valid number reaches the messenger.",
            "Warnung: Die Synchronisierungsrichtlinie UnsafeAllowAllValidNumbers prüft weder Rechtsgrundlage "
            "noch Einwilligung, Einschränkung, Widerspruch oder Alter; jede gültige Nummer erreicht den "
            "Messenger.",
            {"policy": kind, "digest": policy.digest()},
            sources=("policy",),
        )
        return (warning,)
    if not rules:
        unknown = Measure(
            "policy_other",
            f"Sync policy {kind}: its rules are not described here; see its documentation.",
            f"Synchronisierungsrichtlinie {kind}: Ihre Regeln sind hier nicht beschrieben; siehe ihre "
            "Dokumentation.",
            {"policy": kind, "digest": policy.digest()},
            sources=("policy",),
        )
        return (unknown,)
    return rules


# --- (f) erasure -------------------------------------------------------------------------------------


def _erasure(config: RopaConfig, settings: VaultSettings, policy: Policy | None) -> tuple[Statement, ...]:
    days = config.erasure.days_after_relationship
    members = _messenger_policies(policy) if policy is not None else iter(())
    refresh = [r for p in members if (r := _days(p.consent_refresh)) is not None]
    out = [
        Statement(
            "relationship_end",
            f"A contact is erased from the vault at most {days} days after the end of the customer "
            "relationship, or earlier on request (Art. 17).",
            f"Ein Kontakt wird spätestens {days} Tage nach Ende der Kundenbeziehung aus dem Tresor gelöscht, "
            "auf Verlangen früher (Art. 17).",
            {"days_after_relationship": days},
        )
    ]
    expiry_en = "" if not refresh else f", a consent older than {min(refresh)} days"
    expiry_de = "" if not refresh else f", eine Einwilligung älter als {min(refresh)} Tage"
    out.append(
        Statement(
            "messenger_removal",
            f"When the legal basis ends (a consent withdrawn{expiry_en}, a restriction or an objection), the "
            "contact is left out of the next messenger book, and the next sync removes the number from the "
            "company phone; the copy the messenger provider holds is deleted by deleting the chat and the "
            "contact in the messenger app.",
            f"Endet die Rechtsgrundlage (Widerruf einer Einwilligung{expiry_de}, Einschränkung oder "
            "Widerspruch), fehlt der Kontakt im nächsten Messenger-Adressbuch, und die nächste "
            "Synchronisierung entfernt die Nummer vom Firmentelefon; die Kopie beim Messenger-Anbieter wird "
            "durch Löschen des Chats und des Kontakts in der Messenger-App gelöscht.",
            {"consent_refresh_days": min(refresh) if refresh else None},
        )
    )
    retention = config.erasure.statutory_retention
    if retention is not None:
        out.append(Statement("statutory_retention", retention, retention, {}))
    out.append(
        Statement(
            "tombstone",
            "An erased contact leaves only a sealed tombstone (its random id, the time of erasure and a "
            "version number), no personal data.",
            "Ein gelöschter Kontakt hinterlässt nur einen versiegelten Löschvermerk (seine zufällige ID, den "
            "Löschzeitpunkt und eine Versionsnummer), keine personenbezogenen Daten.",
        )
    )
    if settings.disclosure_log:
        out.append(
            Statement(
                "disclosure_log",
                "The disclosure log is kept as long as the vault, as proof of what was disclosed "
                "(Art. 5(2)); it holds keyed hashes only, which cannot be linked to an erased contact.",
                "Das Offenlegungsprotokoll wird so lange wie der Tresor aufbewahrt, als Nachweis der "
                "Offenlegungen (Art. 5 Abs. 2); es enthält nur verschlüsselte Hashes, die sich keinem "
                "gelöschten Kontakt zuordnen lassen.",
            )
        )
    return tuple(out)


# --- (d), (e) recipients ------------------------------------------------------------------------------


def _recipients(config: RopaConfig) -> tuple[Recipient, ...]:
    m = config.messenger
    provider = Recipient(
        code="messenger_provider",
        name=m.name,
        address=m.address,
        en=(
            f"Provider of the messenger {m.service}: receives, from the company phone, the display names "
            "and numbers of its address book (the minimal messenger book) and the messages exchanged."
        ),
        de=(
            f"Anbieter des Messengers {m.service}: erhält vom Firmentelefon die Anzeigenamen und Nummern "
            "seines Adressbuchs (das minimale Messenger-Adressbuch) und die ausgetauschten Nachrichten."
        ),
        third_country=m.third_country,
        transfer_safeguards=m.transfer_safeguards,
    )
    extras = tuple(
        Recipient(
            code="extra",
            name=r.name,
            address=r.address,
            en=r.description,
            de=r.description,
            third_country=r.third_country,
            transfer_safeguards=r.transfer_safeguards,
        )
        for r in config.recipients
    )
    return (provider, *extras)


def _transfers(recipients: Iterable[Recipient]) -> tuple[Transfer, ...]:
    return tuple(
        Transfer(recipient=r.name, country=r.third_country, safeguards=r.transfer_safeguards)
        for r in recipients
        if r.third_country is not None and r.transfer_safeguards is not None
    )


# --- Markdown helpers ---------------------------------------------------------------------------------


def _md(value: object) -> str:
    """Any value as inert Markdown text (config values are one line already; controls are refused)."""
    return inline(str(value))


def _check_now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now


def _details_json(details: ContactDetails | DataProtectionOfficer | None) -> dict[str, Any] | None:
    if details is None:
        return None
    return {
        "name": details.name,
        "address": getattr(details, "address", None),
        "email": details.email,
        "phone": details.phone,
    }


def _details_md(details: ContactDetails | DataProtectionOfficer, lang: Lang) -> list[str]:
    rows = [("name", details.name), ("address", getattr(details, "address", None))]
    rows += [("email", details.email), ("phone", details.phone)]
    return [f"- **{_t(key, lang)}:** {_md(value)}" for key, value in rows if value is not None]


def _items_md(items: Iterable[Statement], lang: Lang) -> list[str]:
    return [f"- {_md(item.text(lang))}" for item in items]


# --- the record ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordOfProcessing:
    """The entry of the record of processing activities (Art. 30(1)) for customer communication via messenger.

    Build it with :func:`record_of_processing` (from an open vault) or :meth:`build` (from a
    `VaultSettings`). It holds no contact's data: only the config, the vault's settings and counts, the
    vault's file name and the policy's rules and digest.

    Attributes:
        generated_at: When the record was made (timezone-aware).
        vault_file: The vault's file name, without its folder.
        controller: (a) The controller, with its representative if any.
        dpo: (a) The data protection officer, or ``None`` where none is designated.
        purposes: (b) The purposes, one per purpose code of the policy.
        legal_bases: (b) The legal bases the policy accepts for them.
        data_subjects: (c) The categories of data subjects.
        vault_directory: (c) The personal data in the vault's directory compartment.
        vault_crm: (c) The personal data in the vault's sealed CRM compartment.
        messenger_data: (c) The personal data that reaches the messenger.
        recipients: (d) The recipients, the messenger provider first.
        transfers: (e) The transfers to third countries, with their safeguards.
        erasure: (f) The time limits for erasure.
        technical_measures: (g) The technical measures, each read from a vault setting or the policy.
        organisational_measures: (g) The organisational measures, for the controller to confirm.
        policy_kind: The sync policy's class name, or ``None`` if no policy was given.
        policy_digest: The sync policy's digest (as the disclosure log records it), or ``None``.
        schema: The JSON format's name and version, :data:`ROPA_SCHEMA`.
    """

    generated_at: datetime
    vault_file: str
    controller: Controller
    dpo: DataProtectionOfficer | None
    purposes: tuple[Statement, ...]
    legal_bases: tuple[Statement, ...]
    data_subjects: tuple[Statement, ...]
    vault_directory: tuple[Statement, ...]
    vault_crm: tuple[Statement, ...]
    messenger_data: tuple[Statement, ...]
    recipients: tuple[Recipient, ...]
    transfers: tuple[Transfer, ...]
    erasure: tuple[Statement, ...]
    technical_measures: tuple[Measure, ...]
    organisational_measures: tuple[Measure, ...]
    policy_kind: str | None = None
    policy_digest: str | None = None
    schema: str = ROPA_SCHEMA

    @classmethod
    def build(
        cls,
        settings: VaultSettings,
        config: RopaConfig,
        *,
        vault_file: str,
        policy: Policy | None = None,
        now: datetime | None = None,
    ) -> Self:
        """Build the record from a vault's settings, the config and (optionally) the sync policy.

        Args:
            settings: The protections in force, as `Vault.settings` reads them.
            config: The controller, DPO, recipients and erasure periods.
            vault_file: The vault's file name (no folder).
            policy: The sync policy used for the messenger book, if any: its purpose codes, rules and
                digest go into the record.
            now: When the record is made, timezone-aware; the current UTC time if ``None``.

        Returns:
            The record.

        Raises:
            ValueError: If ``now`` is naive or ``vault_file`` holds a folder.
        """
        if not vault_file or Path(vault_file).name != vault_file:
            raise ValueError("vault_file is a file name without a folder")
        members = tuple(_messenger_policies(policy)) if policy is not None else ()
        purposes = tuple(dict.fromkeys(p.purpose for p in members)) or (_DEFAULT_PURPOSE,)
        technical = (
            *(measure(settings) for measure in _FROM_SETTINGS),
            _minimal_book(),
            *_policy_measures(policy),
        )
        extra = tuple(
            Measure("custom", text, text, kind="organisational") for text in config.organisational_measures
        )
        recipients = _recipients(config)
        return cls(
            generated_at=_check_now(now),
            vault_file=vault_file,
            controller=config.controller,
            dpo=config.dpo,
            purposes=_purposes(purposes),
            legal_bases=_LEGAL_BASES,
            data_subjects=_DATA_SUBJECTS,
            vault_directory=_VAULT_DIRECTORY,
            vault_crm=_VAULT_CRM,
            messenger_data=_messenger_data(),
            recipients=recipients,
            transfers=_transfers(recipients),
            erasure=_erasure(config, settings, policy),
            technical_measures=technical,
            organisational_measures=(*_ORGANISATIONAL, *extra),
            policy_kind=None if policy is None else type(policy).__name__,
            policy_digest=None if policy is None else policy.digest(),
        )

    def to_dict(self, lang: Lang = "en") -> dict[str, Any]:
        """The record as plain JSON data: English keys, free text in ``lang``; :meth:`to_json` writes it.

        Raises:
            ValueError: If ``lang`` is not a supported language.
        """
        lang = check_lang(lang)
        return {
            "schema": self.schema,
            "lang": lang,
            "title": _t("title", lang),
            "activity": _t("activity_name", lang),
            "generated_at": self.generated_at.isoformat(),
            "vault": {"file": self.vault_file},
            "policy": None
            if self.policy_kind is None
            else {"kind": self.policy_kind, "digest": self.policy_digest},
            "controller": {
                "article": "30(1)(a)",
                "controller": _details_json(self.controller),
                "representative": _details_json(self.controller.representative),
                "dpo": _details_json(self.dpo),
            },
            "purposes": {
                "article": "30(1)(b)",
                "purposes": [p._json(lang) for p in self.purposes],
                "legal_bases": [b._json(lang) for b in self.legal_bases],
            },
            "categories": {
                "article": "30(1)(c)",
                "data_subjects": [s._json(lang) for s in self.data_subjects],
                "personal_data": {
                    "vault_directory": [s._json(lang) for s in self.vault_directory],
                    "vault_crm": [s._json(lang) for s in self.vault_crm],
                    "messenger": [s._json(lang) for s in self.messenger_data],
                },
            },
            "recipients": {
                "article": "30(1)(d)",
                "recipients": [
                    {
                        "code": r.code,
                        "name": r.name,
                        "address": r.address,
                        "text": r.text(lang),
                        "third_country": r.third_country,
                    }
                    for r in self.recipients
                ],
            },
            "transfers": {
                "article": "30(1)(e)",
                "transfers": [
                    {"recipient": t.recipient, "country": t.country, "safeguards": t.safeguards}
                    for t in self.transfers
                ],
            },
            "erasure": {"article": "30(1)(f)", "periods": [s._json(lang) for s in self.erasure]},
            "measures": {
                "article": "30(1)(g)",
                "technical": [m._json(lang) for m in self.technical_measures],
                "organisational": [m._json(lang) for m in self.organisational_measures],
            },
        }

    def to_json(self, lang: Lang = "en") -> str:
        """The record as JSON (``"schema": "contactvault.ropa/1"``), keys in English, text in ``lang``.

        Raises:
            ValueError: If ``lang`` is not a supported language.
        """
        return json.dumps(self.to_dict(lang), ensure_ascii=False, indent=2) + "\n"

    def to_markdown(self, lang: Lang = "en") -> str:
        """The record as a Markdown document in English (``"en"``) or German (``"de"``).

        One section per item of Art. 30(1), headed ``(a)`` to ``(g)``. Config values are escaped, so
        they cannot add markup.

        Raises:
            ValueError: If ``lang`` is not a supported language.
        """
        lang = check_lang(lang)
        policy = (
            _t("policy_none", lang)
            if self.policy_kind is None
            else f"{_md(self.policy_kind)} ({_t('digest', lang)} `{self.policy_digest}`)"
        )
        out = [
            f"# {_t('title', lang)}",
            "",
            f"- **{_t('activity', lang)}:** {_t('activity_name', lang)}",
            f"- **{_t('generated_at', lang)}:** {self.generated_at.isoformat(timespec='seconds')}",
            f"- **{_t('vault_file', lang)}:** {_md(self.vault_file)}",
            f"- **{_t('policy', lang)}:** {policy}",
            f"- **{_t('schema', lang)}:** `{self.schema}`",
            "",
        ]
        out += self._controller_md(lang)
        out += [f"## {_t('b', lang)}", "", *_items_md(self.purposes, lang), ""]
        out += [f"### {_t('legal_bases', lang)}", "", *_items_md(self.legal_bases, lang), ""]
        out += [f"## {_t('c', lang)}", "", f"### {_t('data_subjects', lang)}", ""]
        out += [*_items_md(self.data_subjects, lang), ""]
        for key, items in (
            ("vault_directory", self.vault_directory),
            ("vault_crm", self.vault_crm),
            ("messenger_data", self.messenger_data),
        ):
            out += [f"### {_t(key, lang)}", "", *_items_md(items, lang), ""]
        out += self._recipients_md(lang)
        out += [f"## {_t('f', lang)}", "", *_items_md(self.erasure, lang), ""]
        out += [f"## {_t('g', lang)}", "", f"### {_t('technical', lang)}", ""]
        out += [
            f"- {_md(m.text(lang))} ({_t('source', lang)}: {', '.join(f'`{s}`' for s in m.sources)})"
            for m in self.technical_measures
        ]
        out += ["", f"### {_t('organisational', lang)}", "", *_items_md(self.organisational_measures, lang)]
        return "\n".join(out) + "\n"

    def _controller_md(self, lang: Lang) -> list[str]:
        out = [f"## {_t('a', lang)}", "", f"### {_t('controller', lang)}", ""]
        out += [*_details_md(self.controller, lang), ""]
        if self.controller.representative is not None:
            out += [f"### {_t('representative', lang)}", ""]
            out += [*_details_md(self.controller.representative, lang), ""]
        out += [f"### {_t('dpo', lang)}", ""]
        out += [*(_details_md(self.dpo, lang) if self.dpo is not None else [_t("dpo_none", lang)]), ""]
        return out

    def _recipients_md(self, lang: Lang) -> list[str]:
        out = [f"## {_t('d', lang)}", ""]
        for r in self.recipients:
            where = f" ({_md(r.address)})" if r.address else ""
            out.append(f"- **{_md(r.name)}**{where}: {_md(r.text(lang))}")
        out += ["", f"## {_t('e', lang)}", ""]
        if self.transfers:
            header = [_t("recipient", lang), _t("third_country", lang), _t("safeguards", lang)]
            out += ["| " + " | ".join(header) + " |", "|---|---|---|"]
            out += [
                f"| {_md(t.recipient)} | {_md(t.country)} | {_md(t.safeguards)} |" for t in self.transfers
            ]
        else:
            out.append(_t("transfers_none", lang))
        out.append("")
        return out


def record_of_processing(
    vault: Vault, config: RopaConfig, *, policy: Policy | None = None, now: datetime | None = None
) -> RecordOfProcessing:
    """The Art. 30(1) record for customer communication via messenger, with this vault's real measures.

    Reads ``vault.settings()`` (header, SQLite connection and counts) and the vault's file name; never a
    contact, and never the folder the vault lies in.

    Args:
        vault: An open vault.
        config: The controller, DPO, recipients and erasure periods (see :meth:`RopaConfig.load`).
        policy: The sync policy used for the messenger book, if any.
        now: When the record is made, timezone-aware; the current UTC time if ``None``.

    Returns:
        The record.

    Raises:
        ValueError: If ``now`` is naive.
        VaultClosed: If the vault is closed.
    """
    return RecordOfProcessing.build(
        vault.settings(), config, vault_file=vault.path.name, policy=policy, now=now
    )
