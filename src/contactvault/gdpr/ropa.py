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
- (f) the time limits for erasure: the vault's stored retention schedule, rule by rule, when it holds one
  (``Vault.retention_schedule``); otherwise the config's period;
- (g) the technical measures, each one **derived from the vault's real settings** (`Vault.settings`, read
  from the header and the open SQLite connection) and from the policy's rules, who acted on the vault
  (the users and services its log names, with how many records each made, first and last), and a short
  list of organisational measures for the controller to confirm.

The record holds no personal data from the vault: it reads the vault's settings, counts and the names of
its users (the controller's staff and services, as their key slots name them), never a contact. The
vault is named by its file name only (no folder, which often holds a user name). The controller's and the
DPO's contact details come from the config, which is the controller's own text.

The record is written as versioned JSON (``"schema": "contactvault.ropa/1"``, English keys, free text in
the requested language) and as Markdown in English or German.

The config is :mod:`~contactvault.gdpr._ropa_config`, the record's parts and fixed statements
:mod:`~contactvault.gdpr._ropa_parts`, the measures and erasure periods read from the vault and the policy
:mod:`~contactvault.gdpr._ropa_measures`; this module builds and writes the record, and every public name
is imported from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Self

from contactvault.gdpr._document import check_now, json_text, when
from contactvault.gdpr._ropa_config import (
    ContactDetails,
    Controller,
    DataProtectionOfficer,
    ErasurePeriods,
    ExtraRecipient,
    MessengerProvider,
    RopaConfig,
)
from contactvault.gdpr._ropa_measures import (
    FROM_SETTINGS,
    erasure_periods,
    messenger_policies,
    minimal_book,
    policy_measures,
)
from contactvault.gdpr._ropa_parts import (
    DATA_SUBJECTS,
    LEGAL_BASES,
    ORGANISATIONAL,
    VAULT_CRM,
    VAULT_DIRECTORY,
    Actor,
    Fact,
    Measure,
    MeasureKind,
    Recipient,
    Statement,
    Transfer,
    actors_of,
    messenger_data,
    purposes_of,
    recipients_of,
    transfers_of,
)
from contactvault.i18n import Lang, Words, check_lang
from contactvault.markdown import inline
from contactvault.retention import Schedule
from contactvault.sync.policy import Policy
from contactvault.vault import Vault, VaultSettings

__all__ = [
    "ROPA_SCHEMA",
    "Actor",
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


_t: Final = Words(
    {  # key -> (English, German)
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
        "dpo_none": (
            "No data protection officer is designated.",
            "Es ist kein Datenschutzbeauftragter benannt.",
        ),
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
        "actors": (
            "Who acted on the vault (from its log)",
            "Wer im Tresor gehandelt hat (laut Protokoll)",
        ),
        "actors_intro": (
            "Each user or service whose key slot opened the vault for a change, an export or a sync, "
            "with the number of log records it made.",
            "Jeder Benutzer oder Dienst, dessen Schlüsselplatz den Tresor für eine Änderung, einen Export "
            "oder eine Synchronisierung geöffnet hat, mit der Zahl seiner Protokolleinträge.",
        ),
        "actors_none": ("The log holds no record yet.", "Das Protokoll enthält noch keinen Eintrag."),
        "user": ("User", "Benutzer"),
        "records": ("Records", "Einträge"),
        "first": ("First", "Erstmals"),
        "last": ("Last", "Zuletzt"),
    }
)
"""The headings and labels of the record: ``_t(key, lang)``."""


# --- Markdown helpers ---------------------------------------------------------------------------------


def _md(value: object) -> str:
    """Any value as inert Markdown text (config values are one line already; controls are refused)."""
    return inline(str(value))


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
        actors: (g) Who acted on the vault: the users and services the vault's log names, in the order
            they first acted, with how many records each made.
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
    actors: tuple[Actor, ...] = ()

    @classmethod
    def build(
        cls,
        settings: VaultSettings,
        config: RopaConfig,
        *,
        vault_file: str,
        policy: Policy | None = None,
        now: datetime | None = None,
        actors: Iterable[Actor] = (),
        retention: Schedule | None = None,
    ) -> Self:
        """Build the record from a vault's settings, the config and (optionally) the sync policy.

        Args:
            settings: The protections in force, as `Vault.settings` reads them.
            config: The controller, DPO, recipients and erasure periods.
            vault_file: The vault's file name (no folder).
            policy: The sync policy used for the messenger book, if any: its purpose codes, rules and
                digest go into the record.
            now: When the record is made, timezone-aware; the current UTC time if ``None``.
            actors: Who acted on the vault (``actors_of`` the log's records).
            retention: The vault's stored retention schedule, if any: (f) then lists its rules instead
                of the config's free-text period.

        Returns:
            The record.

        Raises:
            ValueError: If ``now`` is naive or ``vault_file`` holds a folder.
        """
        if not vault_file or Path(vault_file).name != vault_file:
            raise ValueError("vault_file is a file name without a folder")
        members = tuple(messenger_policies(policy)) if policy is not None else ()
        purposes = tuple(dict.fromkeys(p.purpose for p in members)) or (_DEFAULT_PURPOSE,)
        technical = (
            *(measure(settings) for measure in FROM_SETTINGS),
            minimal_book(),
            *policy_measures(policy),
        )
        extra = tuple(
            Measure("custom", text, text, kind="organisational") for text in config.organisational_measures
        )
        recipients = recipients_of(config)
        return cls(
            generated_at=check_now(now),
            vault_file=vault_file,
            controller=config.controller,
            dpo=config.dpo,
            purposes=purposes_of(purposes),
            legal_bases=LEGAL_BASES,
            data_subjects=DATA_SUBJECTS,
            vault_directory=VAULT_DIRECTORY,
            vault_crm=VAULT_CRM,
            messenger_data=messenger_data(),
            recipients=recipients,
            transfers=transfers_of(recipients),
            erasure=erasure_periods(config, settings, policy, retention),
            technical_measures=technical,
            organisational_measures=(*ORGANISATIONAL, *extra),
            policy_kind=None if policy is None else type(policy).__name__,
            policy_digest=None if policy is None else policy.digest(),
            actors=tuple(actors),
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
                "actors": [a._json() for a in self.actors],
            },
        }

    def to_json(self, lang: Lang = "en") -> str:
        """The record as JSON (``"schema": "contactvault.ropa/1"``), keys in English, text in ``lang``.

        Raises:
            ValueError: If ``lang`` is not a supported language.
        """
        return json_text(self.to_dict(lang))

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
            f"- **{_t('generated_at', lang)}:** {when(self.generated_at)}",
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
        out += ["", *self._actors_md(lang)]
        out += [f"### {_t('organisational', lang)}", "", *_items_md(self.organisational_measures, lang)]
        return "\n".join(out) + "\n"

    def _actors_md(self, lang: Lang) -> list[str]:
        out = [f"### {_t('actors', lang)}", "", _t("actors_intro", lang), ""]
        if not self.actors:
            return [*out, _t("actors_none", lang), ""]
        header = [_t(k, lang) for k in ("user", "records", "first", "last")]
        out += ["| " + " | ".join(header) + " |", "|---|---:|---|---|"]
        out += [f"| {_md(a.name)} | {a.records} | {when(a.first)} | {when(a.last)} |" for a in self.actors]
        return [*out, ""]

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

    Reads ``vault.settings()`` (header, SQLite connection and counts), the vault's file name, its stored
    retention schedule, and who made the records of its log (``Vault.activity``: their names and times
    only); never a contact, and never the folder the vault lies in.

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
    actors = actors_of((record.by, record.at) for record in vault.activity())
    return RecordOfProcessing.build(
        vault.settings(),
        config,
        vault_file=vault.location,
        policy=policy,
        now=now,
        actors=actors,
        retention=vault.retention_schedule(),
    )
