"""What may be read without a contact's CRM payload, and the one thing that may leave for a messenger.

``DirectoryEntry`` is a contact's directory compartment: what listing contacts and the sync policy may
see. ``MessengerEntry`` is the only type that may ever leave for a messenger: a display name and an E.164
number, nothing else. The models follow the rules of :mod:`contactvault.models`.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date
from typing import Annotated, Self, final

from pydantic import AwareDatetime, Field, field_validator

from contactvault.models._base import (
    BIDI_CONTROLS,
    E164_PATTERN,
    Digest,
    ExternalId,
    Model,
    Uid,
    check_external_id,
    has_control_chars,
    lax_tuple,
)
from contactvault.models.contact import Birthday, Contact, Label, NameParts, Phone
from contactvault.models.rights import ConsentRecord, LegalBasis, Objection

__all__ = ["DIRECTORY_FIELDS", "DirectoryEntry", "MessengerEntry", "birth_date", "combined_digest"]

DIRECTORY_FIELDS: frozenset[str] = frozenset(
    {
        "id",
        "version",
        "display_name",
        "name",
        "phones",
        "labels",
        "consents",
        "legal_bases",
        "restricted_at",
        "objections",
        "created_at",
        "updated_at",
        "external_id",
        "merged_from",
        "merged_uids",
        "merged_cards",
    }
)
"""The fields of ``Contact`` that the vault keeps in the directory compartment (all the sync policy
needs); every other field is CRM payload, sealed under the contact's own data key."""


class DirectoryEntry(Model):
    """The directory compartment of one contact: what listing contacts and the sync policy may see.

    It holds the display name and name parts, the numbers (with their messenger presence), labels, the
    consent and legal-basis history, restriction and objections, the date of birth when its year is
    known (for the rule on minors), and the keys a re-import matches on (the caller's external id, the
    source card's UID, the ids, UIDs and cards merged into the contact). It does **not** hold e-mail
    addresses, postal addresses, notes, the organisation, URLs, custom fields or the rest of the source:
    those stay in the sealed CRM payload, which listing and building a messenger book never decrypt.
    """

    id: uuid.UUID
    version: Annotated[int, Field(ge=1)]
    display_name: Annotated[str, Field(min_length=1, max_length=1_000, repr=False)]
    name: NameParts = Field(default_factory=NameParts)
    phones: Annotated[tuple[Phone, ...], lax_tuple()] = ()
    labels: Annotated[tuple[Label, ...], lax_tuple()] = ()
    consents: Annotated[tuple[ConsentRecord, ...], lax_tuple()] = ()
    legal_bases: Annotated[tuple[LegalBasis, ...], lax_tuple()] = ()
    restricted_at: AwareDatetime | None = None
    objections: Annotated[tuple[Objection, ...], lax_tuple()] = ()
    birth_date: date | None = Field(default=None, repr=False)
    created_at: AwareDatetime
    updated_at: AwareDatetime
    external_id: ExternalId = None
    merged_from: Annotated[tuple[uuid.UUID, ...], lax_tuple()] = ()
    merged_uids: Annotated[tuple[Uid, ...], lax_tuple()] = ()
    merged_cards: Annotated[tuple[Digest, ...], lax_tuple()] = ()
    source_uid: Uid | None = None
    """The UID of the card the contact was imported from (the rest of its source stays in the payload)."""
    import_digest: Annotated[str | None, Field(pattern=r"^[0-9a-f]{32}$")] = None
    """A digest of what the source card said at its last import (``importers.matching.combined_digest``):
    a re-import of an unchanged card is recognised without decrypting the CRM payload."""
    keys_indexed: bool = False
    """Whether the vault indexed this entry's UIDs, external id and card (always now; an entry written by
    an earlier version has its numbers indexed only, until it is written again)."""

    _external_id = field_validator("external_id")(check_external_id)

    @classmethod
    def of(cls, contact: Contact, version: int) -> Self:
        """The directory part of ``contact``, at ``version``."""
        fields = {name: getattr(contact, name) for name in DIRECTORY_FIELDS}
        fields["version"] = version
        source = contact.source
        source_uid = source.uid if source is not None and source.uid else None
        digest = combined_digest(source.imported) if source is not None and source.imported else None
        return cls(
            **fields,
            birth_date=birth_date(contact.birthday),
            source_uid=source_uid,
            import_digest=digest,
            keys_indexed=True,
        )

    def e164_numbers(self) -> tuple[str, ...]:
        """The contact's normalised numbers, in order, without repeats."""
        return tuple(dict.fromkeys(p.e164 for p in self.phones if p.e164 is not None))

    def uids(self) -> tuple[str, ...]:
        """The vCard UIDs this contact answers to (see ``Contact.uids``)."""
        first = (self.source_uid,) if self.source_uid else ()
        return tuple(dict.fromkeys((*first, *self.merged_uids)))


def combined_digest(digests: tuple[tuple[str, str], ...]) -> str:
    """One digest of a card's field digests (``ContactSource.imported``): ``DirectoryEntry.import_digest``."""
    text = ";".join(f"{name}={digest}" for name, digest in digests)
    return hashlib.blake2b(text.encode("ascii"), digest_size=16).hexdigest()


def birth_date(birthday: Birthday | None) -> date | None:
    """The date of birth of a birthday whose year is known (``DirectoryEntry.birth_date``), else ``None``."""
    if birthday is None or birthday.year is None:
        return None
    try:
        return date(birthday.year, birthday.month, birthday.day)
    except ValueError:  # 29 February of a year that had none
        return None


@final
class MessengerEntry(Model):
    """The only thing that may ever leave for a messenger: a display name and an E.164 number.

    Exactly these two fields, frozen, strict, no extra fields, and not meant to be subclassed. There is no
    way to attach an e-mail address, a note, a label or any other CRM value to it.
    """

    display_name: Annotated[str, Field(min_length=1, max_length=256, repr=False)]
    phone_e164: Annotated[str, Field(pattern=E164_PATTERN, repr=False)]

    @field_validator("display_name")
    @classmethod
    def _clean(cls, value: str) -> str:
        if not value.strip() or value != value.strip():
            raise ValueError("display name is empty or has surrounding white space")
        if has_control_chars(value):
            raise ValueError("display name contains control characters or line breaks")
        if not BIDI_CONTROLS.isdisjoint(value):
            raise ValueError("display name contains bidirectional control characters")
        return value
