"""Erasure (GDPR Art. 17) and its receipt, with the manual steps that no API can do.

:func:`erase_contact` erases the contact (crypto-shredding, see ``Vault.erase``) and returns an
:class:`ErasureReceipt`: what was destroyed, what remains, and a checklist of the manual steps no API can
do (the copies on phones and in the messenger app). The receipt is kept as proof after the erasure, so it
holds **no** name, full number or CRM value: only the contact id, masked numbers, targets and dates. It is
written as versioned JSON and as Markdown in English or German.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from contactvault.gdpr._document import check_now, distinct, json_text, md_code, when
from contactvault.gdpr._request_texts import (
    DEFAULT_MESSENGER,
    DESTROYED,
    REMAINS,
    SECURE_DELETE,
    WAL_PENDING,
    target_type,
    tr,
    yes_no,
)
from contactvault.i18n import Lang, check_lang, pick
from contactvault.markdown import table
from contactvault.phones import mask_number
from contactvault.vault import ContactDisclosure, Vault

__all__ = ["ERASURE_SCHEMA", "ErasureReceipt", "ManualStep", "StepCode", "TargetDisclosures", "erase_contact"]

ERASURE_SCHEMA: Final = "contactvault.erasure/1"
"""The ``schema`` value of :meth:`ErasureReceipt.to_json`."""

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
    kind = target_type(step.target or "")
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
        destroyed = {code: (en, de) for code, en, de in (*DESTROYED, SECURE_DELETE)}
        remains = {code: (en, de) for code, en, de in (*REMAINS, WAL_PENDING)}
        return {
            "schema": ERASURE_SCHEMA,
            "contact_id": str(self.contact_id),
            "erased_at": self.erased_at.isoformat(),
            "tombstone_version": self.version,
            "issued_at": self.issued_at.isoformat(),
            "lang": lang,
            "masked_numbers": list(self.numbers),
            "label_count": self.label_count,
            "destroyed": [{"item": c, "text": pick(destroyed[c], lang)} for c in self.destroyed],
            "remains": [{"item": c, "text": pick(remains[c], lang)} for c in self.remains],
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
        return json_text(self.to_dict())

    def to_markdown(self, lang: Lang | None = None) -> str:
        """The receipt as Markdown, in ``lang`` (default: the receipt's language), with a task list.

        Raises:
            ValueError: ``lang`` is not a supported language.
        """
        lang = self.lang if lang is None else check_lang(lang)
        destroyed = {code: (en, de) for code, en, de in (*DESTROYED, SECURE_DELETE)}
        remains = {code: (en, de) for code, en, de in (*REMAINS, WAL_PENDING)}
        out = [
            f"# {tr('erasure_title', lang)}",
            "",
            f"- **{tr('contact_id', lang)}:** {md_code(str(self.contact_id))}",
            f"- **{tr('erased_at', lang)}:** {when(self.erased_at)}",
            f"- **{tr('tombstone_version', lang)}:** {self.version}",
            f"- **{tr('issued_at', lang)}:** {when(self.issued_at)}",
            f"- **{tr('masked_numbers', lang)}:** {_numbers_text(self.numbers, md_code, lang)}",
            f"- **{tr('label_count', lang)}:** {self.label_count}",
            "",
            f"## {tr('destroyed', lang)}",
            "",
            *(f"- {pick(destroyed[c], lang)}" for c in self.destroyed),
            "",
            f"## {tr('remains', lang)}",
            "",
            *(f"- {pick(remains[c], lang)}" for c in self.remains),
            "",
            f"## {tr('before_erasure', lang)}",
            "",
        ]
        if self.targets:
            header = [tr(k, lang) for k in ("target", "kinds", "first", "last", "held", "masked_numbers")]
            rows = (
                [
                    md_code(t.target),
                    ", ".join(tr(f"kind.{k}", lang) for k in t.kinds),
                    when(t.first_at),
                    when(t.last_at),
                    yes_no(t.held, lang),
                    ", ".join(md_code(n) for n in t.numbers),
                ]
                for t in self.targets
            )
            out += [*table(header, rows), ""]
        else:
            out += [f"_{tr('none', lang)}_", ""]
        out += [f"## {tr('manual_steps', lang)}", "", tr("manual_intro", lang), ""]
        out += [f"- [ ] {_step_text(s, lang, md_code)}" for s in self.steps]
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
                kinds=distinct(d.kind for d in records),
                first_at=min(d.at for d in records),
                last_at=max(d.at for d in records),
                held=any(state.values()),
                numbers=distinct(mask_number(d.number) for d in records),
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
        check_now(now)
    entry = vault.directory_entry(contact_id)
    disclosures = vault.disclosures_of(entry.id)
    numbers = distinct(mask_number(p.e164 or p.raw) for p in entry.phones)
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
        SECURE_DELETE[0]: erasure.secure_delete,
    }
    destroyed = tuple(code for code, _, _ in (*DESTROYED, SECURE_DELETE) if done[code])
    return ErasureReceipt(
        contact_id=erasure.contact_id,
        erased_at=erasure.erased_at,
        version=erasure.version,
        issued_at=now if now is not None else erasure.erased_at,
        lang=lang,
        numbers=numbers,
        label_count=label_count,
        destroyed=destroyed,
        remains=tuple(code for code, _, _ in REMAINS) + (() if erasure.wal_truncated else (WAL_PENDING[0],)),
        targets=targets,
        steps=tuple(steps),
    )
