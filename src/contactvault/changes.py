"""What each GDPR operation changes in a contact, as pure functions: a contact in, a new contact out.

The vault applies them through ``Vault.modify`` (which validates the result and stores it one version
later); they are here, apart from storage, so that each rule reads on its own and can be tested without a
vault. A function that has nothing to change returns the contact it was given, and the vault then writes
nothing. History is never rewritten: a withdrawal marks consents as withdrawn, it does not delete them.
"""

from __future__ import annotations

from datetime import datetime

from contactvault.models import (
    ConsentChannel,
    ConsentRecord,
    Contact,
    Label,
    LegalBasis,
    MessengerPresence,
    Objection,
)

__all__ = [
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
    contact: Contact, purpose: str, *, channel: ConsentChannel, at: datetime, by: str | None = None
) -> Contact:
    """Every active consent for ``purpose`` marked withdrawn at ``at`` (GDPR Art. 7(3)), by ``by``.

    The records stay, with their withdrawal time and channel; an earlier withdrawal is never overwritten.
    ``ValueError`` if there is no active consent for the purpose.
    """
    active = [r for r in contact.consents if r.purpose == purpose and not r.withdrawn]
    if not active:
        raise ValueError("no active consent for that purpose")
    consents = tuple(
        ConsentRecord.model_validate(
            {**r.model_dump(), "withdrawn_at": at, "withdrawal_channel": channel, "withdrawn_by": by}
        )
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
