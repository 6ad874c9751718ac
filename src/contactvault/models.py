"""The contact model: strict, frozen pydantic v2 models.

Every model here forbids unknown fields (pydantic's default would silently drop them), is frozen (a change
is a new object, so nothing is edited behind the vault's back), validates strictly (no silent ``int`` to
``str`` coercion) and hides input values in validation errors, so that an error message never repeats a
name or a number. ``repr()`` shows identifiers and counts only; personal values are left out.

Collections are tuples. Fields that hold collections also accept a list and turn it into a tuple, so that
``Contact(display_name="Ada", phones=[phone])`` works as one would expect.

``MessengerEntry`` is special: it is the only type that may ever leave for a messenger, and it holds
exactly a display name and an E.164 number, nothing else.
"""

from __future__ import annotations

import calendar
import hashlib
import re
import unicodedata
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, Self, final

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

__all__ = [
    "Birthday",
    "ConsentChannel",
    "ConsentRecord",
    "Contact",
    "ContactSource",
    "CustomField",
    "DirectoryEntry",
    "EmailAddress",
    "GdprBasis",
    "Label",
    "LegalBasis",
    "MessengerEntry",
    "MessengerPresence",
    "NameParts",
    "Objection",
    "Phone",
    "PhoneKind",
    "PhoneProblem",
    "PostalAddress",
    "SourceFormat",
    "combined_digest",
]

E164_PATTERN = r"^\+[1-9][0-9]{1,14}$"
"""An E.164 number: a plus, a country code that does not start with 0, at most 15 digits in all."""

_E164 = re.compile(E164_PATTERN)

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

ConsentChannel = Literal["written", "email", "web_form", "in_person", "phone", "messenger", "other"]
"""How a consent was given or withdrawn."""

GdprBasis = Literal[
    "6(1)(a)",  # consent
    "6(1)(b)",  # contract
    "6(1)(c)",  # legal obligation
    "6(1)(d)",  # vital interests
    "6(1)(e)",  # public task
    "6(1)(f)",  # legitimate interests
]
"""The legal bases of GDPR Art. 6(1), points a to f."""

SourceFormat = Literal["vcard", "google_csv", "outlook_csv", "manual"]
"""Where a contact came from."""

_Text = Annotated[str, Field(max_length=100_000)]
_Short = Annotated[str, Field(max_length=1_000)]
_Purpose = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9_.-]*$")]
_Uid = Annotated[str, Field(min_length=1, max_length=1_000)]
_Digest = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
_FieldName = Annotated[str, Field(pattern=r"^[a-z_]{1,40}$")]
_ExternalId = Annotated[str | None, Field(min_length=1, max_length=200, repr=False)]


def _check_external_id(value: str | None) -> str | None:
    """A key a CRM stores and compares byte for byte: printable, no surrounding white space."""
    if value is not None and (value != value.strip() or not value.isprintable()):
        raise ValueError("an external id is printable text without surrounding white space")
    return value


def _lax_tuple(max_length: int = 10_000, *, personal: bool = False) -> Any:  # noqa: ANN401  (Field's own type)
    """Field settings for a tuple that also accepts a list (turned into a tuple), items staying strict.

    ``personal`` keeps the items out of ``repr()``.
    """
    return Field(strict=False, max_length=max_length, repr=not personal)


def _redacted(exc: ValidationError) -> ValidationError:
    """``exc`` without the rejected input: ``errors()``, ``json()``, ``str()`` and ``repr()`` carry none.

    pydantic's ``hide_input_in_errors`` keeps the input out of ``str()`` only; ``errors()`` and
    ``json()`` would still hand it to whoever logs them. The type, location and message stay; a parsing
    message loses its detail, which may quote a character of the input (``found `x` at 1``).
    """
    line_errors: list[Any] = []
    for error in exc.errors(include_url=False, include_context=False, include_input=False):
        message = error["msg"]
        if error["type"].endswith("_parsing"):
            message = message.split(",", 1)[0]
        line_errors.append(
            {
                "type": PydanticCustomError(error["type"], message),
                "loc": error["loc"],
                "input": None,
            }
        )
    return ValidationError.from_exception_data(exc.title, line_errors, hide_input=True)


class _Model(BaseModel):
    """Shared configuration: strict, frozen, no unknown fields, no input values in errors."""

    model_config = ConfigDict(
        strict=True,
        frozen=True,
        extra="forbid",
        hide_input_in_errors=True,
    )

    def __init__(self, /, **data: Any) -> None:  # noqa: ANN401  (pydantic's own signature)
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _redacted(exc) from None

    # Marked like pydantic's own __init__, so that validation (from JSON too) never routes through this
    # wrapper: it only catches what a direct construction raises.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Self:  # noqa: ANN401  (pydantic's own signature)
        """Validate ``obj`` (see pydantic); a ``ValidationError`` carries no input value."""
        try:
            return super().model_validate(obj, **kwargs)
        except ValidationError as exc:
            raise _redacted(exc) from None

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, **kwargs: Any) -> Self:  # noqa: ANN401
        """Validate JSON (see pydantic); a ``ValidationError`` carries no input value."""
        try:
            return super().model_validate_json(json_data, **kwargs)
        except ValidationError as exc:
            raise _redacted(exc) from None

    @classmethod
    def model_validate_strings(cls, obj: Any, **kwargs: Any) -> Self:  # noqa: ANN401
        """Validate string data (see pydantic); a ``ValidationError`` carries no input value."""
        try:
            return super().model_validate_strings(obj, **kwargs)
        except ValidationError as exc:
            raise _redacted(exc) from None

    def __setattr__(self, name: str, value: object) -> None:
        raise _frozen_error(self)

    def __delattr__(self, name: str) -> None:
        raise _frozen_error(self)


_BREAKING = frozenset({"Cc", "Zl", "Zp"})  # control characters, line and paragraph separators
# Bidirectional embeddings, overrides and isolates: they can make a name display as something else.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _has_control_chars(text: str) -> bool:
    """Whether the text holds a control character or a line or paragraph separator."""
    # isprintable() is a fast C check that is False for all of these (and for a few harmless others).
    return not text.isprintable() and any(unicodedata.category(ch) in _BREAKING for ch in text)


def _frozen_error(model: BaseModel) -> TypeError:
    # pydantic's own frozen-instance error repeats the new value; this one never does.
    return TypeError(f"{type(model).__name__} is frozen: build a new one instead")


def _now() -> datetime:
    return datetime.now(UTC)


class NameParts(_Model):
    """The structured name of a contact (vCard ``N``); every part may be empty."""

    family: _Short = Field(default="", repr=False)
    given: _Short = Field(default="", repr=False)
    additional: _Short = Field(default="", repr=False)
    prefixes: _Short = Field(default="", repr=False)
    suffixes: _Short = Field(default="", repr=False)

    def is_empty(self) -> bool:
        """Whether no part of the name is filled in."""
        return not any((self.family, self.given, self.additional, self.prefixes, self.suffixes))

    def formatted(self) -> str:
        """The parts joined in the usual western order: prefixes, given, additional, family, suffixes."""
        parts = (self.prefixes, self.given, self.additional, self.family, self.suffixes)
        return " ".join(p.strip() for p in parts if p.strip())


class MessengerPresence(_Model):
    """Whether a number is known to use a messenger, who said so, and when it was checked."""

    present: bool
    source: Annotated[str, Field(min_length=1, max_length=200)]
    checked_at: AwareDatetime


class Phone(_Model):
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
    types: Annotated[tuple[str, ...], _lax_tuple(50)] = ()
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


class EmailAddress(_Model):
    """One e-mail address, with its vCard types and label."""

    address: Annotated[str, Field(min_length=1, max_length=1_000, repr=False)]
    label: Annotated[str | None, Field(max_length=200, repr=False)] = None
    types: Annotated[tuple[str, ...], _lax_tuple(50)] = ()
    preferred: bool = False


class PostalAddress(_Model):
    """One postal address (vCard ``ADR``); every part may be empty."""

    po_box: _Short = Field(default="", repr=False)
    extended: _Short = Field(default="", repr=False)
    street: _Short = Field(default="", repr=False)
    locality: _Short = Field(default="", repr=False)
    region: _Short = Field(default="", repr=False)
    postal_code: _Short = Field(default="", repr=False)
    country: _Short = Field(default="", repr=False)
    label: Annotated[str | None, Field(max_length=200, repr=False)] = None
    types: Annotated[tuple[str, ...], _lax_tuple(50)] = ()
    preferred: bool = False

    def is_empty(self) -> bool:
        """Whether no part of the address is filled in."""
        parts = (self.po_box, self.extended, self.street, self.locality, self.region)
        return not any((*parts, self.postal_code, self.country))


class Birthday(_Model):
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


class Label(_Model):
    """A label (category, group) such as "VIP" or "payment pending", with an optional colour."""

    name: Annotated[str, Field(min_length=1, max_length=200, repr=False)]
    colour: Annotated[str | None, Field(pattern=r"^#[0-9a-fA-F]{6}$")] = None


class CustomField(_Model):
    """A property the model has no field for (vCard ``X-...``, ``ROLE``, a CSV custom field), kept as text."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    value: Annotated[str, Field(max_length=100_000, repr=False)]
    label: Annotated[str | None, Field(max_length=200, repr=False)] = None


class ConsentRecord(_Model):
    """A consent for one purpose (GDPR Art. 7(1)): who gave it, when, how, to which notice, on what evidence.

    A withdrawal (Art. 7(3)) sets ``withdrawn_at`` and ``withdrawal_channel``; the record itself is kept,
    so the history stays demonstrable.
    """

    purpose: _Purpose
    granted_at: AwareDatetime
    channel: ConsentChannel
    notice_id: Annotated[str, Field(min_length=1, max_length=200)]
    notice_version: Annotated[str, Field(min_length=1, max_length=50)]
    evidence_ref: Annotated[str | None, Field(max_length=1_000, repr=False)] = None
    recorded_by: Annotated[str, Field(min_length=1, max_length=200, repr=False)]
    withdrawn_at: AwareDatetime | None = None
    withdrawal_channel: ConsentChannel | None = None

    @model_validator(mode="after")
    def _withdrawal_consistent(self) -> Self:
        if (self.withdrawn_at is None) != (self.withdrawal_channel is None):
            raise ValueError("withdrawn_at and withdrawal_channel go together")
        if self.withdrawn_at is not None and self.withdrawn_at < self.granted_at:
            raise ValueError("a consent cannot be withdrawn before it was granted")
        return self

    @property
    def withdrawn(self) -> bool:
        """Whether the consent has been withdrawn."""
        return self.withdrawn_at is not None


class LegalBasis(_Model):
    """A legal basis under GDPR Art. 6(1) for one purpose.

    Every basis but consent (point a, which lives in ``ConsentRecord``) needs a written justification:
    the contract, the legal obligation or the balancing of interests it rests on.
    """

    article: GdprBasis
    purpose: _Purpose
    justification: Annotated[str, Field(max_length=10_000, repr=False)] = ""
    recorded_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _justified(self) -> Self:
        if self.article != "6(1)(a)" and not self.justification.strip():
            raise ValueError("a legal basis other than consent needs a justification")
        return self


class Objection(_Model):
    """An objection to processing for one purpose (GDPR Art. 21): the purpose and when it was made."""

    purpose: _Purpose
    objected_at: AwareDatetime


class ContactSource(_Model):
    """Where a contact came from: the format, the file's name (never its path), the line, the card's UID."""

    format: SourceFormat
    version: Annotated[str | None, Field(max_length=20)] = None
    # repr=False: phones name single-contact exports after the person ("Anna Muster.vcf").
    file: Annotated[str | None, Field(max_length=255, repr=False)] = None
    line: Annotated[int | None, Field(ge=1)] = None
    uid: Annotated[str | None, Field(max_length=1_000)] = None
    imported: Annotated[tuple[tuple[_FieldName, _Digest], ...], _lax_tuple(50)] = ()
    """What the card said when it was last imported: a digest per field (``importers.matching``). A
    re-import applies a field only where the card changed it since, so an edit made in the vault stays
    until the phone changes that field too."""


class Contact(_Model):
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
    nickname: _Short = Field(default="", repr=False)
    phones: Annotated[tuple[Phone, ...], _lax_tuple()] = ()
    emails: Annotated[tuple[EmailAddress, ...], _lax_tuple()] = ()
    addresses: Annotated[tuple[PostalAddress, ...], _lax_tuple()] = ()
    birthday: Birthday | None = Field(default=None, repr=False)
    organisation: _Short = Field(default="", repr=False)
    department: _Short = Field(default="", repr=False)
    title: _Short = Field(default="", repr=False)
    urls: Annotated[tuple[_Text, ...], _lax_tuple(personal=True)] = ()
    notes: Annotated[tuple[_Text, ...], _lax_tuple(personal=True)] = ()
    labels: Annotated[tuple[Label, ...], _lax_tuple()] = ()
    custom_fields: Annotated[tuple[CustomField, ...], _lax_tuple()] = ()
    consents: Annotated[tuple[ConsentRecord, ...], _lax_tuple()] = ()
    legal_bases: Annotated[tuple[LegalBasis, ...], _lax_tuple()] = ()
    restricted_at: AwareDatetime | None = None
    """When processing was restricted (GDPR Art. 18); ``None`` if it is not."""
    objections: Annotated[tuple[Objection, ...], _lax_tuple()] = ()
    created_at: AwareDatetime = Field(default_factory=_now)
    updated_at: AwareDatetime = Field(default_factory=_now)
    source: ContactSource | None = None
    external_id: _ExternalId = None
    """The caller's own key for this contact (a CRM's customer number, a shop's account id): unique in a
    vault and found without decrypting any CRM payload (``Vault.find_by_external_id``). Import matching
    tries it first."""
    merged_from: Annotated[tuple[uuid.UUID, ...], _lax_tuple()] = ()
    """The ids of contacts merged into this one (``Vault.merge``): the disclosure log and the Art. 15
    report still find what was disclosed under them."""
    merged_uids: Annotated[tuple[_Uid, ...], _lax_tuple()] = ()
    """The vCard UIDs of cards merged into this contact: a re-import recognises them."""
    merged_cards: Annotated[tuple[_Digest, ...], _lax_tuple()] = ()
    """Keyed fingerprints (name and numbers) of the contacts merged into this one, so that a re-import
    recognises their cards even without a UID. Opaque: written by ``Vault.merge``."""

    @field_validator("display_name")
    @classmethod
    def _clean_display_name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("display name is empty")
        if _has_control_chars(value):
            raise ValueError("display name contains control characters or line breaks")
        return value

    _external_id = field_validator("external_id")(_check_external_id)

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


class DirectoryEntry(_Model):
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
    phones: Annotated[tuple[Phone, ...], _lax_tuple()] = ()
    labels: Annotated[tuple[Label, ...], _lax_tuple()] = ()
    consents: Annotated[tuple[ConsentRecord, ...], _lax_tuple()] = ()
    legal_bases: Annotated[tuple[LegalBasis, ...], _lax_tuple()] = ()
    restricted_at: AwareDatetime | None = None
    objections: Annotated[tuple[Objection, ...], _lax_tuple()] = ()
    birth_date: date | None = Field(default=None, repr=False)
    created_at: AwareDatetime
    updated_at: AwareDatetime
    external_id: _ExternalId = None
    merged_from: Annotated[tuple[uuid.UUID, ...], _lax_tuple()] = ()
    merged_uids: Annotated[tuple[_Uid, ...], _lax_tuple()] = ()
    merged_cards: Annotated[tuple[_Digest, ...], _lax_tuple()] = ()
    source_uid: _Uid | None = None
    """The UID of the card the contact was imported from (the rest of its source stays in the payload)."""
    import_digest: Annotated[str | None, Field(pattern=r"^[0-9a-f]{32}$")] = None
    """A digest of what the source card said at its last import (``importers.matching.combined_digest``):
    a re-import of an unchanged card is recognised without decrypting the CRM payload."""
    keys_indexed: bool = False
    """Whether the vault indexed this entry's UIDs, external id and card (always now; an entry written by
    an earlier version has its numbers indexed only, until it is written again)."""

    _external_id = field_validator("external_id")(_check_external_id)

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
            birth_date=_birth_date(contact.birthday),
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


def _birth_date(birthday: Birthday | None) -> date | None:
    if birthday is None or birthday.year is None:
        return None
    try:
        return date(birthday.year, birthday.month, birthday.day)
    except ValueError:  # 29 February of a year that had none
        return None


@final
class MessengerEntry(_Model):
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
        if _has_control_chars(value):
            raise ValueError("display name contains control characters or line breaks")
        if not _BIDI_CONTROLS.isdisjoint(value):
            raise ValueError("display name contains bidirectional control characters")
        return value


def is_e164(value: str) -> bool:
    """Whether ``value`` has the shape of an E.164 number (``+`` and 2 to 15 digits)."""
    return _E164.fullmatch(value) is not None
