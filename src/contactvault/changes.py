"""What each GDPR operation changes in a contact, as pure functions: a contact in, a new contact out.

The vault applies them through ``Vault.modify`` (which validates the result and stores it one version
later); they are here, apart from storage, so that each rule reads on its own and can be tested without a
vault. A function that has nothing to change returns the contact it was given, and the vault then writes
nothing. History is never rewritten: a withdrawal marks consents as withdrawn, it does not delete them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from contactvault.models import (
    ConsentChannel,
    ConsentRecord,
    Contact,
    Label,
    LegalBasis,
    MessengerPresence,
    Objection,
)
from contactvault.models.directory import DirectoryEntry

__all__ = [
    "attributed",
    "with_consent",
    "with_consent_withdrawn",
    "with_label",
    "with_legal_basis",
    "with_messenger_presence",
    "with_objection",
    "with_restriction",
    "without_label",
    "without_restriction",
]


def with_consent(contact: Contact, consent: ConsentRecord) -> Contact:
    """``contact`` with one more consent (GDPR Art. 7(1)); earlier consents and withdrawals stay."""
    if not isinstance(consent, ConsentRecord):
        raise TypeError("a consent is a ConsentRecord")
    return contact.model_copy(update={"consents": (*contact.consents, consent)})


def with_consent_withdrawn(
    contact: Contact, purpose: str, *, channel: ConsentChannel, at: datetime
) -> Contact:
    """Every active consent for ``purpose`` marked withdrawn at ``at`` (GDPR Art. 7(3)).

    The records stay, with their withdrawal time and channel; an earlier withdrawal is never overwritten.
    ``ValueError`` if there is no active consent for the purpose.
    """
    active = [r for r in contact.consents if r.purpose == purpose and not r.withdrawn]
    if not active:
        raise ValueError("no active consent for that purpose")
    consents = tuple(
        ConsentRecord.model_validate({**r.model_dump(), "withdrawn_at": at, "withdrawal_channel": channel})
        if r in active
        else r
        for r in contact.consents
    )
    return contact.model_copy(update={"consents": consents})


def with_legal_basis(contact: Contact, basis: LegalBasis, *, at: datetime) -> Contact:
    """``contact`` with one more legal basis (GDPR Art. 6(1)), stamped ``at`` unless it has a time."""
    if not isinstance(basis, LegalBasis):
        raise TypeError("a legal basis is a LegalBasis")
    stamped = basis if basis.recorded_at is not None else basis.model_copy(update={"recorded_at": at})
    return contact.model_copy(update={"legal_bases": (*contact.legal_bases, stamped)})


def with_messenger_presence(contact: Contact, e164: str | None, presence: MessengerPresence) -> Contact:
    """The number ``e164`` marked with ``presence``; ``ValueError`` if the contact has no such number."""
    if e164 is None or e164 not in contact.e164_numbers():
        raise ValueError("the contact has no such number")
    phones = tuple(
        p.model_copy(update={"messenger": presence}) if p.e164 == e164 else p for p in contact.phones
    )
    return contact.model_copy(update={"phones": phones})


def with_label(contact: Contact, label: Label) -> Contact:
    """``contact`` with ``label`` (a label of the same name, compared without case, is not added twice)."""
    if any(lb.name.casefold() == label.name.casefold() for lb in contact.labels):
        return contact
    return contact.model_copy(update={"labels": (*contact.labels, label)})


def without_label(contact: Contact, name: str) -> Contact:
    """``contact`` without the label ``name`` (compared without case); unchanged if it has none."""
    kept = tuple(lb for lb in contact.labels if lb.name.casefold() != name.casefold())
    return contact if kept == contact.labels else contact.model_copy(update={"labels": kept})


def with_restriction(contact: Contact, at: datetime) -> Contact:
    """Processing restricted from ``at`` (GDPR Art. 18); a restriction in force is kept as it is."""
    return contact if contact.restricted_at else contact.model_copy(update={"restricted_at": at})


def without_restriction(contact: Contact) -> Contact:
    """The restriction lifted (GDPR Art. 18(3)); unchanged if there is none."""
    return contact.model_copy(update={"restricted_at": None}) if contact.restricted_at else contact


def with_objection(contact: Contact, objection: Objection) -> Contact:
    """``contact`` with one more objection (GDPR Art. 21)."""
    return contact.model_copy(update={"objections": (*contact.objections, objection)})


# What makes a record the same record, whoever is said to have recorded it.
_SAME: dict[str, tuple[str, ...]] = {
    "consents": ("purpose", "granted_at", "channel", "notice_id", "notice_version", "evidence_ref"),
    "legal_bases": ("article", "purpose", "justification", "recorded_at"),
    "objections": ("purpose", "objected_at"),
}


def attributed(fields: dict[str, Any], before: Iterable[Contact | DirectoryEntry], by: str) -> dict[str, Any]:
    """``fields`` (a contact's ``model_dump()``) with who recorded each consent, basis and objection.

    A record already stored (the same in one of ``before``, the stored versions the change starts from)
    keeps the name stored with it; a new one is recorded ``by`` the user whose key slot opened the vault,
    and so is a withdrawal made now (``withdrawn_by``). Whatever a caller typed there is replaced: who did
    it is never the caller's to say (GDPR Art. 5(2)).
    """
    known: dict[str, dict[tuple[object, ...], dict[str, Any]]] = {name: {} for name in _SAME}
    for old in before:
        for name, same in _SAME.items():
            for record in getattr(old, name):
                dumped = record.model_dump()
                known[name].setdefault(tuple(dumped[k] for k in same), dumped)
    out = dict(fields)
    for name, same in _SAME.items():
        records = []
        for given in fields.get(name, ()):
            was = known[name].get(tuple(given.get(k) for k in same))
            record = {**given, "recorded_by": was["recorded_by"] if was is not None else by}
            if name == "consents" and record.get("withdrawn_at") is None:
                record["withdrawn_by"] = None
            elif name == "consents":  # a withdrawal stored before keeps its name; one made now is by ``by``
                kept = was is not None and was.get("withdrawn_at") == record["withdrawn_at"]
                record["withdrawn_by"] = was["withdrawn_by"] if was is not None and kept else by
            records.append(record)
        out[name] = records
    return out
