"""The parts of the record of processing (:mod:`contactvault.gdpr.ropa`) and its fixed statements.

A `Statement` is one item of the record in English and German with the facts it was made from; a
`Measure` is a technical or organisational measure; a `Recipient` and a `Transfer` are items (d) and (e);
an `Actor` is a user (or service) the vault's log names, with how many records it made.
The fixed statements of items (b) and (c) and the standard organisational measures are here too, and the
recipients and transfers the config names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final, Literal

from contactvault.gdpr._ropa_config import RopaConfig
from contactvault.i18n import Lang, check_lang
from contactvault.models import MessengerEntry

__all__ = [
    "DATA_SUBJECTS",
    "LEGAL_BASES",
    "ORGANISATIONAL",
    "VAULT_CRM",
    "VAULT_DIRECTORY",
    "Actor",
    "Fact",
    "Measure",
    "MeasureKind",
    "Recipient",
    "Statement",
    "Transfer",
    "actors_of",
    "messenger_data",
    "purposes_of",
    "recipients_of",
    "transfers_of",
]

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


@dataclass(frozen=True, slots=True)
class Actor:
    """A user of the vault (a person, a service, the recovery key) that its log names (Art. 5(2), 32).

    Attributes:
        name: The name of the key slot that opened the vault when the records were made.
        records: How many records of the log name it: changes (consents, erasures, imports, ...) and
            disclosures (exports and syncs).
        first: When its first record was made.
        last: When its last record was made.
    """

    name: str
    records: int
    first: datetime
    last: datetime

    def _json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "records": self.records,
            "first": self.first.isoformat(),
            "last": self.last.isoformat(),
        }


def actors_of(records: Iterable[tuple[str | None, datetime]]) -> tuple[Actor, ...]:
    """The distinct actors of ``(by, at)`` pairs (log records, oldest first), in the order they first acted.

    Records without a name (disclosures made before the log kept it) are left out.
    """
    seen: dict[str, Actor] = {}
    for by, at in records:
        if by is None:
            continue
        known = seen.get(by)
        if known is None:
            seen[by] = Actor(by, 1, at, at)
        else:
            seen[by] = Actor(by, known.records + 1, min(known.first, at), max(known.last, at))
    return tuple(seen.values())


def purposes_of(purposes: Sequence[str]) -> tuple[Statement, ...]:
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


LEGAL_BASES: Final = (
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

DATA_SUBJECTS: Final = (
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

VAULT_DIRECTORY: Final = (
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

VAULT_CRM: Final = (
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


def messenger_data() -> tuple[Statement, ...]:
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


ORGANISATIONAL: Final = (
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


# --- (d), (e) recipients ------------------------------------------------------------------------------


def recipients_of(config: RopaConfig) -> tuple[Recipient, ...]:
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


def transfers_of(recipients: Iterable[Recipient]) -> tuple[Transfer, ...]:
    return tuple(
        Transfer(recipient=r.name, country=r.third_country, safeguards=r.transfer_safeguards)
        for r in recipients
        if r.third_country is not None and r.transfer_safeguards is not None
    )
