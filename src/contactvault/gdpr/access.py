"""The access report (GDPR Art. 15): every stored field of one contact and what was done with it.

:func:`access_report` reads one contact (both compartments) and its disclosures and returns an
:class:`AccessReport`: every stored field, the consent history, legal bases, objections, restriction,
messenger presence, labels, the exact text of every privacy notice version its consents name (with its
SHA-256, as stored in the vault; a version not stored is said to be missing), every disclosure of the
contact from the log, who did what with the record
(the log's activity records that concern it: when, what, which user), and the information items of
Art. 15(1) (purposes, recipients, storage period, rights, source). It is written **for the data subject**,
so it holds their data in full, and nothing about anybody else. It is written as versioned JSON and as
Markdown in English or German.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from contactvault.gdpr._document import check_now, distinct, json_text, md, md_code, when
from contactvault.gdpr._request_texts import (
    DEFAULT_MESSENGER,
    DEFAULT_STORAGE_PERIOD,
    RIGHTS,
    target_type,
    tr,
    yes_no,
)
from contactvault.i18n import Lang, check_lang, pick
from contactvault.markdown import table, visible
from contactvault.models import ConsentRecord, Contact, ContactSource, Phone
from contactvault.vault import Activity, ContactDisclosure, Vault
from contactvault.vault.notices import Notice

__all__ = ["ACCESS_SCHEMA", "AccessReport", "access_report"]

ACCESS_SCHEMA: Final = "contactvault.access/1"
"""The ``schema`` value of :meth:`AccessReport.to_json`."""


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
        notices: The stored notice versions the contact's consents name, in the order first named.
        recipients: The distinct disclosure targets, in the order they first received an entry.
        messenger: The messenger provider, a recipient whenever a number reached a target.
        storage_period: The storage period as the controller states it (``None``: a default text).
        controller: The controller's name and contact details, if given.
        activity: The log's activity records concerning the contact (under its id or one merged into
            it), oldest first: when, what, and who (the key slot's user). The report shows when, who, what
            and the detail, not how many other contacts a record concerned.
    """

    contact: Contact
    disclosures: tuple[ContactDisclosure, ...]
    generated_at: datetime
    purposes: tuple[str, ...]
    recipients: tuple[str, ...]
    messenger: str
    storage_period: str | None = None
    controller: str | None = None
    activity: tuple[Activity, ...] = ()
    notices: tuple[Notice, ...] = ()

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
            bases = distinct(
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

    def _notice_items(self) -> list[tuple[str, str, Notice | None]]:
        """Each notice version the consents name, once, in order: (id, version, the stored one or None)."""
        stored = {(n.notice_id, n.version): n for n in self.notices}
        named = dict.fromkeys((c.notice_id, c.notice_version) for c in self.contact.consents)
        return [(i, v, stored.get((i, v))) for i, v in named]

    def _recipient_items(self) -> list[dict[str, str]]:
        items = [{"name": t, "type": target_type(t)} for t in self.recipients]
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
                    "by": d.by,
                }
                for d in self.disclosures
            ],
            "activity": [
                {"at": a.at.isoformat(), "by": a.by, "action": a.action, "detail": a.detail}
                for a in self.activity
            ],
            "notices": [
                {"notice_id": i, "version": v, "stored": False}
                if n is None
                else {
                    "notice_id": i,
                    "version": v,
                    "stored": True,
                    "language": n.language,
                    "valid_from": n.valid_from.isoformat(),
                    "sha256": n.sha256,
                    "text": n.text,
                }
                for i, v, n in self._notice_items()
            ],
            "information": {
                "purposes": self._purpose_items(),
                "recipients": self._recipient_items(),
                "storage_period": self.storage_period or DEFAULT_STORAGE_PERIOD[0],
                "source": None
                if contact.source is None
                else contact.source.model_dump(mode="json", exclude={"imported"}),
                "rights": [{"right": code, "article": art, "description": en} for code, art, en, _ in RIGHTS],
            },
        }

    def to_json(self) -> str:
        """The report as JSON (``"schema": "contactvault.access/1"``, English keys, UTF-8 text)."""
        return json_text(self.to_dict())

    def to_markdown(self, lang: Lang = "en") -> str:
        """The report as a Markdown document, in English (``"en"``) or German (``"de"``).

        Every value is escaped, so a note or a name cannot add markup; line breaks show as ``<br>``.

        Raises:
            ValueError: ``lang`` is not a supported language.
        """
        lang = check_lang(lang)
        c = self.contact
        out = [f"# {tr('access_title', lang)}", ""]
        if self.controller:
            out.append(f"- **{tr('controller', lang)}:** {md(self.controller)}")
        out += [
            f"- **{tr('contact_id', lang)}:** {md_code(str(c.id))}",
            f"- **{tr('generated_at', lang)}:** {when(self.generated_at)}",
            "",
        ]
        out += _stored_data(c, lang)
        out += _consents_md(c, lang)
        out += self._notices_md(lang)
        out += _rights_state_md(c, lang)
        out += [f"## {tr('disclosures', lang)}", "", tr("disclosures_intro", lang), ""]
        if self.disclosures:
            header = [tr(k, lang) for k in ("when", "target", "kind", "change", "e164", "by")]
            rows = (
                [
                    when(d.at),
                    md_code(d.target),
                    tr(f"kind.{d.kind}", lang),
                    tr(f"change.{d.change}", lang),
                    md_code(d.number),
                    md(d.by or ""),
                ]
                for d in self.disclosures
            )
            out += [*table(header, rows), ""]
        else:
            out += [f"_{tr('none', lang)}_", ""]
        out += [f"## {tr('activity', lang)}", "", tr("activity_intro", lang), ""]
        if self.activity:
            header = [tr(k, lang) for k in ("when", "by", "action", "detail")]
            done = (
                [when(a.at), md(a.by), tr(f"action.{a.action}", lang), md(a.detail)] for a in self.activity
            )
            out += [*table(header, done), ""]
        else:
            out += [f"_{tr('none', lang)}_", ""]
        out += self._information_md(lang)
        return "\n".join(out)

    def _notices_md(self, lang: Lang) -> list[str]:
        items = self._notice_items()
        if not items:
            return []
        out = [f"## {tr('notices', lang)}", "", tr("notices_intro", lang), ""]
        for notice_id, version, notice in items:
            out += [f"### {md(notice_id)}, {tr('notice_version', lang)} {md(version)}", ""]
            if notice is None:
                out += [f"_{tr('notice_missing', lang)}_", ""]
                continue
            out += [
                f"- **{tr('notice_sha256', lang)}:** {md_code(notice.sha256)}",
                f"- **{tr('notice_language', lang)}:** {md(notice.language)}",
                f"- **{tr('notice_valid_from', lang)}:** {when(notice.valid_from)}",
                "",
                *_fenced(notice.text),
                "",
            ]
        return out

    def _information_md(self, lang: Lang) -> list[str]:
        out = [f"## {tr('information', lang)}", "", f"### {tr('purposes', lang)}", ""]
        for item in self._purpose_items():
            notes = [f"Art. {a} {'DSGVO' if lang == 'de' else 'GDPR'}" for a in item["legal_bases"]]
            if item["consent"] is not None:
                notes.append(tr(f"consent_{item['consent']}", lang))
            if item["objected"]:
                notes.append(tr("objected", lang))
            out.append(f"- {md_code(item['purpose'])}" + (f": {'; '.join(notes)}" if notes else ""))
        if not self.purposes:
            out.append(f"- _{tr('none', lang)}_")
        out += ["", f"### {tr('recipients', lang)}", ""]
        for recipient in self._recipient_items():
            name = recipient["name"]
            shown = md(name) if recipient["type"] == "messenger" else md_code(name)
            out.append(f"- {shown}: {tr('recipient.' + recipient['type'], lang)}")
        if not self.recipients:
            out.append(f"- _{tr('none', lang)}_")
        period = self.storage_period or pick(DEFAULT_STORAGE_PERIOD, lang)
        out += ["", f"### {tr('storage_period', lang)}", "", md(period), ""]
        out += [f"### {tr('source', lang)}", "", _source_md(self.contact.source, lang), ""]
        out += [f"### {tr('rights', lang)}", ""]
        law = "DSGVO" if lang == "de" else "GDPR"
        out += [f"- {de if lang == 'de' else en} (Art. {art} {law})" for _, art, en, de in RIGHTS]
        out.append("")
        return out


def _fenced(text: str) -> list[str]:
    """A text as a fenced code block: shown as it is, with a fence longer than any run of backticks in it.

    Control characters other than a tab show as ``U+XXXX`` (``visible``), so nothing in the text can
    end the block or hide a character.
    """
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    rows = text.replace("\r\n", "\n").removesuffix("\n").split("\n")
    lines = ["\t".join(visible(part) for part in row.split("\t")) for row in rows]
    return [f"{fence}text", *lines, fence]


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
        parts.append(("Datei " if lang == "de" else "file ") + md_code(source.file))
    if source.line is not None:
        parts.append(("Zeile " if lang == "de" else "line ") + str(source.line))
    if source.uid:
        parts.append("UID " + md_code(source.uid))
    lead = "Importiert aus einem Adressbuch: " if lang == "de" else "Imported from an address book: "
    return lead + ", ".join(parts)


def _phone_details(phone: Phone, lang: Lang) -> str:
    details: list[str] = []
    if phone.region:
        details.append(f"{tr('region', lang)} {phone.region}")
    if phone.extension:
        details.append(f"{tr('extension', lang)} {md(phone.extension)}")
    if phone.problem:
        details.append(f"{tr('problem', lang)} ({phone.problem})")
    return "; ".join(details)


def _presence(phone: Phone, lang: Lang) -> str:
    presence = phone.messenger
    if presence is None:
        return ""
    state = tr("uses_messenger" if presence.present else "no_messenger", lang)
    return (
        f"{state} ({tr('checked', lang)} {when(presence.checked_at)}, "
        f"{tr('source_word', lang)} {md(presence.source)})"
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
    out = [f"## {tr('stored_data', lang)}", "", tr("stored_intro", lang), ""]
    simple: list[tuple[str, str]] = [("display_name", md(c.display_name))]
    for part in ("prefixes", "given", "additional", "family", "suffixes"):
        value = getattr(c.name, part)
        if value:
            simple.append((f"name.{part}", md(value)))
    simple += [
        (k, md(getattr(c, k))) for k in ("nickname", "organisation", "department", "title") if getattr(c, k)
    ]
    if c.birthday is not None:
        simple.append(("birthday", c.birthday.iso()))
    if c.external_id is not None:
        simple.append(("external_id", md_code(c.external_id)))
    if c.merged_from:
        simple.append(("merged_from", ", ".join(md_code(str(i)) for i in c.merged_from)))
    simple += [
        ("created_at", when(c.created_at)),
        ("updated_at", when(c.updated_at)),
        ("version", str(c.version)),
    ]
    out += [*table([tr("field", lang), tr("value", lang)], ([tr(k, lang), v] for k, v in simple)), ""]

    def section(key: str, header: Sequence[str], rows: list[list[str]]) -> None:
        if rows:
            out.extend([f"### {tr(key, lang)}", "", *table([tr(h, lang) for h in header], rows), ""])

    section(
        "phones",
        ("number", "e164", "kind", "label", "types", "preferred", "messenger", "details"),
        [
            [
                md(p.raw),
                md_code(p.e164) if p.e164 else "",
                p.kind,
                md(p.label or ""),
                md(", ".join(p.types)),
                yes_no(p.preferred, lang),
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
            [md(e.address), md(e.label or ""), md(", ".join(e.types)), yes_no(e.preferred, lang)]
            for e in c.emails
        ],
    )
    section(
        "addresses",
        ("address", "label", "types", "preferred"),
        [
            [
                md(
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
                md(a.label or ""),
                md(", ".join(a.types)),
                yes_no(a.preferred, lang),
            ]
            for a in c.addresses
        ],
    )
    section("urls", ("value",), [[md(u)] for u in c.urls])
    section("notes", ("value",), [[md(n)] for n in c.notes])
    section("labels", ("name", "colour"), [[md(label.name), label.colour or ""] for label in c.labels])
    section(
        "custom_fields",
        ("name", "value", "label"),
        [[md(f.name), md(f.value), md(f.label or "")] for f in c.custom_fields],
    )
    dump = c.model_dump(mode="json")
    section(
        "other_fields",
        ("field", "value"),
        [
            [md(k), md(json.dumps(dump[k], ensure_ascii=False))]
            for k in type(c).model_fields
            if k not in _RENDERED
        ],
    )
    return out


def _consents_md(c: Contact, lang: Lang) -> list[str]:
    out = [f"## {tr('consents', lang)}", ""]
    if c.consents:
        header = [
            tr(k, lang)
            for k in ("purpose", "granted_at", "channel", "notice", "evidence", "recorded_by", "withdrawn_at")
        ]
        rows = (
            [
                md_code(r.purpose),
                when(r.granted_at),
                r.channel,
                f"{md(r.notice_id)} ({md(r.notice_version)})",
                md(r.evidence_ref or ""),
                md(r.recorded_by),
                _withdrawal(r, lang),
            ]
            for r in c.consents
        )
        out += table(header, rows)
    else:
        out.append(f"_{tr('none', lang)}_")
    out += ["", f"## {tr('legal_bases', lang)}", ""]
    if c.legal_bases:
        header = [tr(k, lang) for k in ("article", "purpose", "justification", "recorded_at", "recorded_by")]
        rows = (
            [
                f"Art. {b.article}",
                md_code(b.purpose),
                md(b.justification),
                when(b.recorded_at),
                md(b.recorded_by or ""),
            ]
            for b in c.legal_bases
        )
        out += table(header, rows)
    else:
        out.append(f"_{tr('none', lang)}_")
    out.append("")
    return out


def _withdrawal(r: ConsentRecord, lang: Lang) -> str:
    if r.withdrawn_at is None:
        return ""
    by = f", {tr('by', lang).lower()} {md(r.withdrawn_by)}" if r.withdrawn_by else ""
    return f"{when(r.withdrawn_at)} ({r.withdrawal_channel}{by})"


def _rights_state_md(c: Contact, lang: Lang) -> list[str]:
    out = [f"## {tr('rights_state', lang)}", ""]
    if c.restricted_at is not None:
        out.append(f"{tr('restricted', lang)} {when(c.restricted_at)}.")
    else:
        out.append(tr("not_restricted", lang))
    out.append("")
    if c.objections:
        out += [f"### {tr('objections', lang)}", ""]
        out += table(
            [tr("purpose", lang), tr("objected_at", lang), tr("recorded_by", lang)],
            ([md_code(o.purpose), when(o.objected_at), md(o.recorded_by or "")] for o in c.objections),
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

    Decrypts the contact's CRM payload (an access request is a reason to) and reads the vault's log (its
    disclosures and the activity records concerning the contact). Nothing is written to the vault.

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
    moment = check_now(now)
    contact = vault.get(contact_id)
    disclosures = tuple(vault.disclosures_of(contact.id))
    stated = distinct(
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
        recipients=distinct(d.target for d in disclosures),
        messenger=messenger,
        storage_period=storage_period,
        controller=controller,
        activity=tuple(vault.activity_of(contact.id)),
        notices=_named_notices(vault, contact),
    )


def _named_notices(vault: Vault, contact: Contact) -> tuple[Notice, ...]:
    """The stored notice versions the contact's consents name, in the order first named."""
    stored = {(n.notice_id, n.version): n for n in vault.notices()}
    named = dict.fromkeys((c.notice_id, c.notice_version) for c in contact.consents)
    return tuple(stored[key] for key in named if key in stored)
