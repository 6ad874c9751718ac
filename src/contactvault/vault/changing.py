"""Changing a stored contact: ``modify``, the one path, and the GDPR changes written as one ``modify`` each.

`ContactChanges` is part of ``Vault`` (a base class), kept apart so that each file stays short. Every change
of a stored contact (a consent, a legal basis, a label, messenger presence, a restriction, an objection,
an edit) is a ``modify`` with a pure function of ``contactvault.changes``: the contact is read, changed,
validated again and written one version later; when another process changed it in between, it is read
again and the change applied to the fresh copy.

Each change that writes appends an ``Activity`` to the vault's log in the same transaction, by the key
slot that opened the vault (``Core.actor``): the GDPR changes as what they are (``"consent"``,
``"restriction"``, ...), any other ``modify`` or ``update`` as an ``"edit"``. A change that changes
nothing writes and logs nothing.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Final

from contactvault import changes
from contactvault.errors import ConflictError
from contactvault.models import (
    ConsentChannel,
    ConsentRecord,
    Contact,
    Label,
    LegalBasis,
    MessengerPresence,
    Objection,
)
from contactvault.phones import check_region, parse_number
from contactvault.vault import log
from contactvault.vault.backends.base import Row
from contactvault.vault.core import Core, Write, validated
from contactvault.vault.core import contact_id as _cid
from contactvault.vault.disclosures import ActivityAction, LogRecord

__all__ = ["MODIFY_ATTEMPTS", "ContactChanges"]

MODIFY_ATTEMPTS: Final = 10
"""How many times ``modify`` reads and applies a change again when another writer got there first."""


def _now() -> datetime:
    return datetime.now(UTC)


class ContactChanges:
    """``modify``, ``update`` and the GDPR changes (see the module docstring); a base class of ``Vault``."""

    _core: Core

    def modify(
        self,
        contact_id: uuid.UUID | str,
        change: Callable[[Contact], Contact],
        *,
        attempts: int = MODIFY_ATTEMPTS,
    ) -> Contact:
        """Apply ``change`` to the stored contact and store the result one version later; return it.

        ``change`` gets the current contact and returns a changed copy (see ``contactvault.changes``), or
        the same contact when there is nothing to change (then nothing is written). The result is validated
        again before it is stored. Every operation below (consents, labels, rights) is a ``modify``.

        If another writer (a process or a thread) changed the contact between the read and the write, the
        contact is read again and ``change`` applied to the fresh copy, after a short random pause. The
        last of the ``attempts`` reads, changes and writes the contact while it holds the write lock, so it
        cannot meet a newer version: a ``modify`` lands, however busy the vault (``ConflictError`` only for
        a UID or external id that another contact holds). So ``change`` may be called more than once: it
        must be a quick function of the contact it gets, without side effects, and must not use the vault.

        The change is logged as an ``"edit"`` by the key slot that opened the vault, in the same transaction.
        """
        return self._modify(contact_id, change, "edit", attempts=attempts)

    def _modify(
        self,
        contact_id: uuid.UUID | str,
        change: Callable[[Contact], Contact],
        action: ActivityAction,
        detail: str = "",
        *,
        attempts: int = MODIFY_ATTEMPTS,
        data: dict[str, Any] | None = None,
        guard: Callable[[list[LogRecord]], None] | None = None,
    ) -> Contact:
        """``modify``, logged as ``action`` with ``detail`` (a purpose, never personal data).

        ``data`` and ``guard`` go to the activity record (``log.activity``): its document, and a check of
        the log made inside the transaction that refuses the change by raising.
        """
        cid = _cid(contact_id)
        last = max(attempts, 1)
        for attempt in range(1, last + 1):
            try:
                return self._modify_once(
                    cid, change, action, detail, locked=attempt == last, data=data, guard=guard
                )
            except ConflictError as exc:
                if not exc.stale or attempt >= last:
                    raise
            time.sleep(random.uniform(0, 0.001 * 2**attempt))  # noqa: S311 (jitter, not a secret)
        raise AssertionError("unreachable")  # pragma: no cover

    def _modify_once(
        self,
        cid: uuid.UUID,
        change: Callable[[Contact], Contact],
        action: ActivityAction,
        detail: str,
        *,
        locked: bool,
        data: dict[str, Any] | None = None,
        guard: Callable[[list[LogRecord]], None] | None = None,
    ) -> Contact:
        """Read, change and write the contact once, with its activity record.

        Not ``locked``, the write is made before the write lock is taken, and fails as stale if another
        writer got there in between. ``locked``, the commit reads, changes and writes inside its
        transaction, where nobody can write in between. Either way the record is made inside the commit.
        """
        core = self._core
        result: list[Contact] = []

        def rewrite() -> Iterator[Write]:
            row = core.live_row(cid)
            current = core.records.contact(row)
            changed = _changed(current, change)
            if changed is None:
                result.append(current)
                return
            fresh = validated(
                changed, version=row.version + 1, by=core.actor, before=(current,), updated_at=_now()
            )
            result.append(fresh)
            yield core.replacement(row, fresh)

        writes = rewrite() if locked else list(rewrite())  # a generator is consumed inside the commit
        if locked or writes:
            log.commit(core, writes, action, contacts=(cid,), detail=detail, data=data, guard=guard)
        return result[0]

    def update(self, contact: Contact) -> Contact:
        """Store a changed contact and return it at its new version, logged as an ``"edit"``.

        ``contact.version`` must be the version it was read at; if the stored contact has changed since,
        ``ConflictError`` is raised and nothing is written (the last writer never silently wins).
        """
        if not isinstance(contact, Contact):
            raise TypeError("update() takes a Contact")
        row = self._core.live_row(contact.id)
        if contact.version != row.version:
            raise ConflictError(
                f"contact {contact.id} changed since it was read (version {contact.version}, "
                f"stored {row.version}); read it again and apply the change to the fresh copy",
                contact.id,
                stale=True,
            )
        return self._store(row, contact)

    def _store(self, old: Row, contact: Contact) -> Contact:
        core = self._core
        stored = core.records.directory(old)
        fresh = validated(
            contact, version=old.version + 1, by=core.actor, before=(stored,), updated_at=_now()
        )
        log.commit(self._core, [self._core.replacement(old, fresh)], "edit", contacts=(contact.id,))
        return fresh

    # --- consent and rights: each one a ``modify`` with a function of ``contactvault.changes`` -----------

    def grant_consent(self, contact_id: uuid.UUID | str, consent: ConsentRecord) -> Contact:
        """Record a consent (GDPR Art. 7(1)); earlier consents and withdrawals are kept.

        The vault stores the consent with ``recorded_by`` (and ``withdrawn_by``, for a consent given as
        already withdrawn) set to the user whose key slot opened it, whatever ``consent`` says: the caller
        cannot name someone else (as for every write: ``changes.attributed``). Logged as a ``"consent"``.
        """
        if not isinstance(consent, ConsentRecord):
            raise TypeError("grant_consent() takes a ConsentRecord")
        return self._modify(
            contact_id, lambda c: changes.with_consent(c, consent), "consent", consent.purpose
        )

    def withdraw_consent(
        self,
        contact_id: uuid.UUID | str,
        purpose: str,
        *,
        channel: ConsentChannel,
        at: datetime | None = None,
    ) -> Contact:
        """Withdraw every active consent for ``purpose`` (GDPR Art. 7(3)); the records stay, marked.

        ``withdrawn_by`` is the user whose key slot opened the vault; logged as a ``"withdrawal"``.
        ``ValueError`` if there is no active consent for the purpose.
        """
        when = at if at is not None else _now()
        return self._modify(
            contact_id,
            lambda c: changes.with_consent_withdrawn(c, purpose, channel=channel, at=when),
            "withdrawal",
            purpose,
        )

    def add_legal_basis(self, contact_id: uuid.UUID | str, basis: LegalBasis) -> Contact:
        """Record a legal basis (GDPR Art. 6(1)) for a purpose; earlier ones are kept.

        ``recorded_by`` is set to the user whose key slot opened the vault; logged as a ``"legal_basis"``.
        """
        if not isinstance(basis, LegalBasis):
            raise TypeError("add_legal_basis() takes a LegalBasis")
        when = _now()
        detail = f"{basis.purpose}: Art. {basis.article}"
        return self._modify(
            contact_id, lambda c: changes.with_legal_basis(c, basis, at=when), "legal_basis", detail
        )

    def set_messenger_presence(
        self,
        contact_id: uuid.UUID | str,
        number: str,
        present: bool,
        *,
        source: str,
        at: datetime | None = None,
        region: str | None = None,
    ) -> Contact:
        """Record whether a number of the contact uses the messenger, who or what said so, and when.

        ``number`` may be in any format; it is matched by its E.164 form. ``ValueError`` if the contact has
        no such number.
        """
        e164 = parse_number(number, check_region(region)).e164
        presence = MessengerPresence(present=present, source=source, checked_at=at or _now())
        return self._modify(
            contact_id,
            lambda c: changes.with_messenger_presence(c, e164, presence),
            "presence",
            "present" if present else "not present",
        )

    def add_label(self, contact_id: uuid.UUID | str, label: Label | str) -> Contact:
        """Attach a label (a name already there, compared without case, is not added twice).

        Logged as a ``"label"`` ``"added"``; the log does not keep the label's name.
        """
        new = label if isinstance(label, Label) else Label(name=label)
        return self._modify(contact_id, lambda c: changes.with_label(c, new), "label", "added")

    def remove_label(self, contact_id: uuid.UUID | str, name: str) -> Contact:
        """Remove a label by name (without regard to case); nothing happens if it is not there."""
        return self._modify(contact_id, lambda c: changes.without_label(c, name), "label", "removed")

    def restrict(self, contact_id: uuid.UUID | str, *, at: datetime | None = None) -> Contact:
        """Restrict processing (GDPR Art. 18): the sync policy then keeps the contact off the messenger."""
        when = at if at is not None else _now()
        return self._modify(
            contact_id, lambda c: changes.with_restriction(c, when), "restriction", "restricted"
        )

    def lift_restriction(self, contact_id: uuid.UUID | str) -> Contact:
        """Lift a restriction of processing (GDPR Art. 18(3))."""
        return self._modify(contact_id, changes.without_restriction, "restriction", "lifted")

    def object(self, contact_id: uuid.UUID | str, purpose: str, *, at: datetime | None = None) -> Contact:
        """Record an objection to processing for ``purpose`` (GDPR Art. 21), by the slot's user."""
        objection = Objection(purpose=purpose, objected_at=at if at is not None else _now())
        return self._modify(contact_id, lambda c: changes.with_objection(c, objection), "objection", purpose)


def _changed(current: Contact, change: Callable[[Contact], Contact]) -> Contact | None:
    """``change`` applied to ``current``; ``None`` when it changes nothing (then nothing is written)."""
    changed = change(current)
    if changed is current or changed == current:
        return None
    if changed.id != current.id:
        raise ValueError("a change cannot give the contact another id")
    return changed
