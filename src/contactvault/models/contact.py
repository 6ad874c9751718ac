"""The contact itself: its name, numbers, e-mail and postal addresses, birthday, labels and source.

``Contact`` is a customer's full record; the vault keeps part of it in the directory compartment and seals
the rest as CRM payload (see :mod:`contactvault.models.directory`). The models follow the rules of
:mod:`contactvault.models`.
"""

from __future__ import annotations

import calendar
import uuid
import weakref
from datetime import date, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import AwareDatetime, Field, field_validator, model_validator

from contactvault.models._base import (
    E164_PATTERN,
    Digest,
    ExternalId,
    FieldName,
    Model,
    Short,
    Text,
    Uid,
    check_external_id,
    has_control_chars,
    lax_tuple,
    utc_now,
)
from contactvault.models.rights import ConsentRecord, LegalBasis, MessengerPresence, Objection

__all__ = [
    "Birthday",
    "Contact",
    "ContactSource",
    "CustomField",
    "EmailAddress",
    "Label",
    "NameParts",
    "Phone",
    "PhoneKind",
    "PhoneProblem",
    "PostalAddress",
    "SourceFormat",
    "checked_whole",
]

PhoneKind = Literal[
    "mobile",
    "fixed",
    "fixed_or_mobile",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "voip",
    "personal",
    "pager",
    "uan",
    "voicemail",
    "unknown",
]
"""What kind of line a number is, as phonenumbers classifies it (``unknown`` for invalid numbers)."""

PhoneProblem = Literal["invalid_number", "not_a_number", "no_country_code"]
"""Why a number has no E.164 form: not valid for its region, not a phone number at all, or a national
number read without a default region."""

SourceFormat = Literal["vcard", "google_csv", "outlook_csv", "manual"]
"""Where a contact came from."""


class NameParts(Model):
    """The structured name of a contact (vCard ``N``); every part may be empty."""

    family: Short = Field(default="", repr=False)
    given: Short = Field(default="", repr=False)
    additional: Short = Field(default="", repr=False)
    prefixes: Short = Field(default="", repr=False)
    suffixes: Short = Field(default="", repr=False)

    def is_empty(self) -> bool:
        """Whether no part of the name is filled in."""
        return not any((self.family, self.given, self.additional, self.prefixes, self.suffixes))

    def formatted(self) -> str:
        """The parts joined in the usual western order: prefixes, given, additional, family, suffixes."""
        parts = (self.prefixes, self.given, self.additional, self.family, self.suffixes)
        return " ".join(p.strip() for p in parts if p.strip())


class Phone(Model):
    """One telephone number of a contact.

    The number as typed (``raw``) is always kept. ``e164`` holds the normalised form, or ``None`` when the
    number could not be normalised; ``problem`` then says why. An invalid number is kept, never dropped.
    """

    raw: Annotated[str, Field(min_length=1, max_length=200, repr=False)]
    e164: Annotated[str | None, Field(pattern=E164_PATTERN, repr=False)] = None
    region: Annotated[str | None, Field(pattern=r"^([A-Z]{2}|001)$")] = None
    kind: PhoneKind = "unknown"
    extension: Annotated[str | None, Field(max_length=40, repr=False)] = None
    label: Annotated[str | None, Field(max_length=200, repr=False)] = None
    types: Annotated[tuple[str, ...], lax_tuple(50)] = ()
    preferred: bool = False
    problem: PhoneProblem | None = None
    messenger: MessengerPresence | None = None

    @model_validator(mode="after")
    def _e164_xor_problem(self) -> Self:
        if (self.e164 is None) == (self.problem is None):
            raise ValueError("a phone has either an E.164 form or a problem, not both and not neither")
        return self

    @property
    def valid(self) -> bool:
        """Whether the number has an E.164 form."""
        return self.e164 is not None


class EmailAddress(Model):
    """One e-mail address, with its vCard types and label."""

    address: Annotated[str, Field(min_length=1, max_length=1_000, repr=False)]
    label: Annotated[str | None, Field(max_length=200, repr=False)] = None
    types: Annotated[tuple[str, ...], lax_tuple(50)] = ()
    preferred: bool = False


class PostalAddress(Model):
    """One postal address (vCard ``ADR``); every part may be empty."""

    po_box: Short = Field(default="", repr=False)
    extended: Short = Field(default="", repr=False)
    street: Short = Field(default="", repr=False)
    locality: Short = Field(default="", repr=False)
    region: Short = Field(default="", repr=False)
    postal_code: Short = Field(default="", repr=False)
    country: Short = Field(default="", repr=False)
    label: Annotated[str | None, Field(max_length=200, repr=False)] = None
    types: Annotated[tuple[str, ...], lax_tuple(50)] = ()
    preferred: bool = False

    def is_empty(self) -> bool:
        """Whether no part of the address is filled in."""
        parts = (self.po_box, self.extended, self.street, self.locality, self.region)
        return not any((*parts, self.postal_code, self.country))


class Birthday(Model):
    """A birthday; the year may be unknown (vCard ``--0412``, Apple's year 1604)."""

    year: Annotated[int | None, Field(ge=1, le=9999, repr=False)] = None
    month: Annotated[int, Field(ge=1, le=12, repr=False)]
    day: Annotated[int, Field(ge=1, le=31, repr=False)]

    @model_validator(mode="after")
    def _real_date(self) -> Self:
        # Without a year, 29 February is a real birthday; check against a leap year.
        year = self.year if self.year is not None else 2000
        if self.day > calendar.monthrange(year, self.month)[1]:
            raise ValueError("day is out of range for the month")
        return self

    def iso(self) -> str:
        """ISO 8601 form: ``1980-03-22``, or ``--03-22`` without a year."""
        if self.year is None:
            return f"--{self.month:02d}-{self.day:02d}"
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"


class Label(Model):
    """A label (category, group) such as "VIP" or "payment pending", with an optional colour."""

    name: Annotated[str, Field(min_length=1, max_length=200, repr=False)]
    colour: Annotated[str | None, Field(pattern=r"^#[0-9a-fA-F]{6}$")] = None


class CustomField(Model):
    """A property the model has no field for (vCard ``X-...``, ``ROLE``, a CSV custom field), kept as text."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    value: Annotated[str, Field(max_length=100_000, repr=False)]
    label: Annotated[str | None, Field(max_length=200, repr=False)] = None


class ContactSource(Model):
    """Where a contact came from: the format, the file's name (never its path), the line, the card's UID."""

    format: SourceFormat
    version: Annotated[str | None, Field(max_length=20)] = None
    # repr=False: phones name single-contact exports after the person ("Anna Muster.vcf").
    file: Annotated[str | None, Field(max_length=255, repr=False)] = None
    line: Annotated[int | None, Field(ge=1)] = None
    uid: Annotated[str | None, Field(max_length=1_000)] = None
    imported: Annotated[tuple[tuple[FieldName, Digest], ...], lax_tuple(50)] = ()
    """What the card said when it was last imported: a digest per field (``importers.matching``). A
    re-import applies a field only where the card changed it since, so an edit made in the vault stays
    until the phone changes that field too."""


class Contact(Model):
    """A customer's full record.

    Only ``display_name`` and the E.164 form of a phone number may ever reach a messenger, and only through
    ``MessengerEntry``; everything else here stays in the vault. Photos, keys, logos and sounds are not
    part of the model: the importers drop them before they are stored anywhere.
    """

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    version: Annotated[int, Field(ge=0)] = 0
    """The stored version this copy was read at (0: never stored). ``Vault.update`` refuses stale copies."""
    display_name: Annotated[str, Field(min_length=1, max_length=1_000, repr=False)]
    name: NameParts = Field(default_factory=NameParts)
    nickname: Short = Field(default="", repr=False)
    phones: Annotated[tuple[Phone, ...], lax_tuple()] = ()
    emails: Annotated[tuple[EmailAddress, ...], lax_tuple()] = ()
    addresses: Annotated[tuple[PostalAddress, ...], lax_tuple()] = ()
    birthday: Birthday | None = Field(default=None, repr=False)
    organisation: Short = Field(default="", repr=False)
    department: Short = Field(default="", repr=False)
    title: Short = Field(default="", repr=False)
    urls: Annotated[tuple[Text, ...], lax_tuple(personal=True)] = ()
    notes: Annotated[tuple[Text, ...], lax_tuple(personal=True)] = ()
    labels: Annotated[tuple[Label, ...], lax_tuple()] = ()
    custom_fields: Annotated[tuple[CustomField, ...], lax_tuple()] = ()
    consents: Annotated[tuple[ConsentRecord, ...], lax_tuple()] = ()
    legal_bases: Annotated[tuple[LegalBasis, ...], lax_tuple()] = ()
    restricted_at: AwareDatetime | None = None
    """When processing was restricted (GDPR Art. 18); ``None`` if it is not."""
    objections: Annotated[tuple[Objection, ...], lax_tuple()] = ()
    created_at: AwareDatetime = Field(default_factory=utc_now)
    updated_at: AwareDatetime = Field(default_factory=utc_now)
    source: ContactSource | None = None
    external_id: ExternalId = None
    """The caller's own key for this contact (a CRM's customer number, a shop's account id): unique in a
    vault and found without decrypting any CRM payload (``Vault.find_by_external_id``). Import matching
    tries it first."""
    merged_from: Annotated[tuple[uuid.UUID, ...], lax_tuple()] = ()
    """The ids of contacts merged into this one (``Vault.merge``): the disclosure log and the Art. 15
    report still find what was disclosed under them."""
    merged_uids: Annotated[tuple[Uid, ...], lax_tuple()] = ()
    """The vCard UIDs of cards merged into this contact: a re-import recognises them."""
    merged_cards: Annotated[tuple[Digest, ...], lax_tuple()] = ()
    """Keyed fingerprints (name and numbers) of the contacts merged into this one, so that a re-import
    recognises their cards even without a UID. Opaque: written by ``Vault.merge``."""

    @field_validator("display_name")
    @classmethod
    def _clean_display_name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("display name is empty")
        if has_control_chars(value):
            raise ValueError("display name contains control characters or line breaks")
        return value

    _external_id = field_validator("external_id")(check_external_id)

    @model_validator(mode="after")
    def _times_ordered(self) -> Self:
        if self.updated_at < self.created_at:
            raise ValueError("updated_at is before created_at")
        if self.id in self.merged_from:
            raise ValueError("a contact cannot be merged from itself")
        return self

    def e164_numbers(self) -> tuple[str, ...]:
        """The contact's normalised numbers, in order, without repeats."""
        return tuple(dict.fromkeys(p.e164 for p in self.phones if p.e164 is not None))

    def uids(self) -> tuple[str, ...]:
        """The vCard UIDs this contact answers to: its source card's, then those merged into it."""
        first = (self.source.uid,) if self.source is not None and self.source.uid else ()
        return tuple(dict.fromkeys((*first, *self.merged_uids)))

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Self:  # noqa: ANN401  (pydantic's own signature)
        """Validate ``obj`` (see pydantic); noted as checked whole if it held no model object."""
        contact = super().model_validate(obj, **kwargs)
        if not kwargs and type(obj) is dict and _plain(obj):
            _CHECKED[id(contact)] = contact
        return contact

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, **kwargs: Any) -> Self:  # noqa: ANN401
        """Validate JSON (see pydantic); noted as checked whole (JSON holds no model object)."""
        contact = super().model_validate_json(json_data, **kwargs)
        if not kwargs:
            _CHECKED[id(contact)] = contact
        return contact


# Contacts validated whole in this process, by id (weakly: an entry goes with its contact). pydantic does not
# validate again a model object found inside the data (a ``Phone`` made by ``model_copy(update=...)`` or
# ``model_construct()`` is taken as it is), nor a ``model_copy``; so only a contact validated from plain data
# (dicts, lists, tuples and plain values) or from JSON is noted, and only the very object validation made.
_CHECKED: weakref.WeakValueDictionary[int, Contact] = weakref.WeakValueDictionary()
_PLAIN: frozenset[type] = frozenset({str, int, float, bool, type(None), datetime, date, uuid.UUID})
_VALIDATE_PYTHON = Contact.__pydantic_validator__.validate_python


def _plain(data: object) -> bool:
    """Whether ``data`` holds nothing but dicts, lists, tuples and plain values: no model object anywhere."""
    stack: list[Any] = [data]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            stack.extend(item.values())
        elif kind is list or kind is tuple:
            stack.extend(item)
        elif kind not in _PLAIN:
            return False
    return True


def validate_dumped(fields: dict[str, Any]) -> Contact:
    """``Contact.model_validate(fields)``, noted as checked whole, for ``fields`` from a ``model_dump()``.

    A dump holds plain values only (it turns every model into a dict), and so does a dump whose values
    were replaced by other plain values (``changes.attributed``): ``_plain`` would walk it for nothing.
    Only for such data: a model object put inside it would be taken by pydantic without being validated.
    """
    contact: Contact = _VALIDATE_PYTHON(fields)
    _CHECKED[id(contact)] = contact
    return contact


def checked_whole(contact: Contact) -> bool:
    """Whether ``contact`` is a ``Contact`` that this process validated whole, as it is now.

    True only for the very object that ``Contact.model_validate`` made from plain data (dicts, lists,
    tuples and plain values: no model object inside, which pydantic would take without validating it) or
    ``Contact.model_validate_json`` made, with no other argument. A ``model_copy`` (validated by nobody),
    ``model_construct()``, a copy, an unpickled contact, a subclass or a contact built with ``Contact(...)``
    is not (the vault validates those again). Models are frozen; one changed behind pydantic's back (with
    ``object.__setattr__``) is not noticed.
    """
    return type(contact) is Contact and _CHECKED.get(id(contact)) is contact
