"""The receipt of one contact's retention step (erase or strip), in JSON and in English or German Markdown.

``Vault.apply_retention`` returns one `RetentionReceipt` per contact. A receipt is kept as proof after the
step, so it holds no name, number or other value of the contact: its id, the rule, the reasons, the
dates, the names of the fields removed, and what the vault did to make them unreadable.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from contactvault.i18n import Lang, Words, check_lang
from contactvault.retention.plan import PlanItem
from contactvault.retention.schedule import STRIPPABLE

__all__ = ["RECEIPT_SCHEMA", "RetentionReceipt"]

RECEIPT_SCHEMA: Final = "contactvault.retention-receipt/1"
"""The ``schema`` value of :meth:`RetentionReceipt.to_dict`."""

_WORDS: Final = Words(
    {
        "title": ("Retention receipt", "Nachweis der Löschung nach Aufbewahrungsplan"),
        "contact": ("Contact id", "Kontakt-ID"),
        "rule": ("Rule", "Regel"),
        "action": ("Action", "Maßnahme"),
        "action.erase": ("erased (the whole contact)", "gelöscht (der ganze Kontakt)"),
        "action.strip": ("stripped (fields removed)", "reduziert (Felder entfernt)"),
        "reasons": ("Why", "Warum"),
        "since": ("Selected since", "Ausgewählt seit"),
        "last_activity": ("Last activity", "Letzte Aktivität"),
        "applied_at": ("Applied at", "Ausgeführt am"),
        "version": ("Record version now", "Version des Datensatzes jetzt"),
        "schedule": ("Schedule (digest)", "Aufbewahrungsplan (Prüfsumme)"),
        "removed": ("Fields removed", "Entfernte Felder"),
        "kept": ("Fields kept", "Behaltene Felder"),
        "done": ("What the vault did", "Was der Tresor getan hat"),
        "steps": ("What remains to do", "Was noch zu tun ist"),
        "reason.no_basis": ("no legal basis for any purpose", "keine Rechtsgrundlage für irgendeinen Zweck"),
        "reason.has_basis": ("a legal basis holds", "eine Rechtsgrundlage besteht"),
        "reason.no_basis_for_purpose": (
            "no legal basis for the rule's purpose",
            "keine Rechtsgrundlage für den Zweck der Regel",
        ),
        "reason.label": ("has the rule's label", "trägt das Label der Regel"),
        "reason.restricted": ("processing restricted (Art. 18)", "Verarbeitung eingeschränkt (Art. 18)"),
        "reason.inactive": ("no activity for the rule's period", "keine Aktivität im Zeitraum der Regel"),
        "done.erase_key": (
            "The contact's data key was destroyed: its directory and CRM payload can no longer be decrypted; "
            "a sealed tombstone keeps its id and the time.",
            "Der Datenschlüssel des Kontakts wurde vernichtet: Verzeichnis und CRM-Daten lassen sich nicht "
            "mehr entschlüsseln; ein versiegelter Löschvermerk behält seine ID und den Zeitpunkt.",
        ),
        "done.strip_key": (
            "The remaining fields were sealed under a new data key and the old one destroyed: the removed "
            "values can no longer be decrypted.",
            "Die verbleibenden Felder wurden unter einem neuen Datenschlüssel versiegelt und der alte "
            "vernichtet: die entfernten Werte lassen sich nicht mehr entschlüsseln.",
        ),
        "done.index": ("Blind-index entries removed: {n}.", "Entfernte Einträge im Suchindex: {n}."),
        "done.secure_delete": (
            "SQLite's secure delete overwrote the freed pages with zeros.",
            "SQLites Secure Delete hat die freigegebenen Seiten mit Nullen überschrieben.",
        ),
        "done.wal": (
            "The write-ahead log was checkpointed and truncated.",
            "Das Write-Ahead-Log wurde übernommen und geleert.",
        ),
        "done.wal_pending": (
            "The write-ahead log could not be truncated yet (another reader); the next checkpoint does it.",
            "Das Write-Ahead-Log konnte noch nicht geleert werden (ein anderer Leser); der nächste "
            "Checkpoint erledigt es.",
        ),
        "step.sync": (
            "Sync the messenger book again: the next sync removes the contact's card from the targets and "
            "phones (`contactvault sync`); then check the phone's address book (`contactvault audit`).",
            "Das Messenger-Adressbuch erneut synchronisieren: die nächste Synchronisierung entfernt die "
            "Karte des Kontakts von Zielen und Telefonen (`contactvault sync`); danach das Adressbuch des "
            "Telefons prüfen (`contactvault audit`).",
        ),
        "step.copies": (
            "Delete copies made outside contactvault (exports, reports, backups made before) or let them "
            "expire with their own retention period.",
            "Kopien außerhalb von contactvault löschen (Exporte, Berichte, frühere Sicherungen) oder mit "
            "ihrer eigenen Frist ablaufen lassen.",
        ),
        "done.postgres": (
            "PostgreSQL keeps the old row versions in its files, WAL and backups until they are overwritten; "
            "they hold only sealed bytes under the destroyed data key.",
            "PostgreSQL behält die alten Zeilenversionen in seinen Dateien, im WAL und in Sicherungen, bis "
            "sie überschrieben sind; sie enthalten nur versiegelte Bytes unter dem vernichteten "
            "Datenschlüssel.",
        ),
        "none": ("(none)", "(keine)"),
    }
)


@dataclass(frozen=True, slots=True)
class RetentionReceipt:
    """Proof of one contact's retention step: the plan item applied and what the vault did.

    Attributes:
        item: The plan item applied (contact, rule, reasons, since, fields removed).
        applied_at: When the vault applied it.
        version: The contact's record version after the step (the tombstone's for an erase).
        schedule_digest: The digest of the schedule the plan came from.
        index_entries: How many blind-index entries (keyed hashes of numbers and keys) were removed.
        secure_delete: Whether SQLite's secure delete was on (freed pages overwritten with zeros).
        wal_truncated: Whether the WAL was checkpointed and truncated after the application.
        backend: ``"sqlite"`` or ``"postgresql"``.
    """

    item: PlanItem
    applied_at: datetime
    version: int
    schedule_digest: str
    index_entries: int = 0
    secure_delete: bool = False
    wal_truncated: bool = False
    backend: str = "sqlite"

    @property
    def contact_id(self) -> uuid.UUID:
        """The contact."""
        return self.item.contact_id

    def kept(self) -> tuple[str, ...]:
        """For a strip, the strippable fields kept; ``()`` for an erase."""
        if self.item.action == "erase":
            return ()
        return tuple(f for f in STRIPPABLE if f not in self.item.removes)

    def to_dict(self) -> dict[str, Any]:
        """The receipt as JSON data: the plan item's keys, then what was done."""
        return {
            "schema": RECEIPT_SCHEMA,
            **self.item.to_dict(),
            "applied_at": self.applied_at.isoformat(),
            "new_version": self.version,
            "schedule": self.schedule_digest,
            "kept": list(self.kept()),
            "index_entries": self.index_entries,
            "secure_delete": self.secure_delete,
            "wal_truncated": self.wal_truncated,
            "backend": self.backend,
        }

    def to_json(self) -> str:
        """The receipt as indented JSON text, ending with a newline."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n"

    def to_markdown(self, lang: Lang = "en") -> str:
        """The receipt as Markdown in English (``"en"``) or German (``"de"``).

        Raises:
            ValueError: ``lang`` is not supported.
        """
        lang = check_lang(lang)
        item = self.item

        def w(key: str) -> str:
            return _WORDS(key, lang)

        def fields(names: tuple[str, ...]) -> str:
            return ", ".join(f"`{n}`" for n in names) or w("none")

        out = [
            f"# {w('title')}",
            "",
            f"- **{w('contact')}:** `{item.contact_id}`",
            f"- **{w('rule')}:** `{item.rule}`",
            f"- **{w('action')}:** {w('action.' + item.action)}",
            f"- **{w('reasons')}:** {'; '.join(w('reason.' + r) for r in item.reasons)}",
            f"- **{w('last_activity')}:** {item.last_activity.isoformat(timespec='seconds')}",
            f"- **{w('since')}:** {item.since.isoformat(timespec='seconds')}",
            f"- **{w('applied_at')}:** {self.applied_at.isoformat(timespec='seconds')}",
            f"- **{w('version')}:** {self.version}",
            f"- **{w('schedule')}:** `{self.schedule_digest[:16]}`",
        ]
        if item.action == "strip":
            out += [
                f"- **{w('removed')}:** {fields(item.removes)}",
                f"- **{w('kept')}:** {fields(self.kept())}",
            ]
        done = [w("done.erase_key" if item.action == "erase" else "done.strip_key")]
        done.append(w("done.index").format(n=self.index_entries))
        if self.secure_delete:
            done.append(w("done.secure_delete"))
        if self.backend == "postgresql":
            done.append(w("done.postgres"))
        else:
            done.append(w("done.wal" if self.wal_truncated else "done.wal_pending"))
        out += ["", f"## {w('done')}", "", *(f"- {line}" for line in done)]
        out += ["", f"## {w('steps')}", "", f"- [ ] {w('step.sync')}", f"- [ ] {w('step.copies')}", ""]
        return "\n".join(out)
