"""Editing one contact by hand: field edits (``contactvault add`` and ``edit``) and the editor form.

``Edits`` says what a person asked to change, option by option; ``new_contact`` and ``apply_edits`` turn
it into a contact, and every problem is a ``ValueError`` naming the option, never the value typed.

The editor form (``contactvault edit --editor``) is the contact as a vCard 4.0 card under a few comment
lines, the way khard lets a person edit a card in ``$EDITOR``. What the person changed is found by reading
the original form and the edited one with the importer and comparing the two field by field
(`form_changes`): only fields the person touched change, so nothing is lost to a round trip through the
vCard format. Consents, legal bases, labels, messenger presence and restrictions are not in the form:
they have their own commands, which keep their history.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from pydantic import ValidationError

from contactvault.errors import ImportFailed
from contactvault.export.vcard import contact_to_vcard
from contactvault.importers._values import parse_birthday
from contactvault.importers.matching import FILE_FIELDS, carry_presence
from contactvault.importers.vcard import import_vcards
from contactvault.models import Birthday, Contact, EmailAddress, Label, NameParts, PostalAddress
from contactvault.phones import normalize_phone, parse_number

__all__ = ["FORM_HEADER", "Edits", "apply_edits", "contact_form", "form_changes", "new_contact"]

FORM_HEADER: Final = (
    "# contactvault: edit the card below, save and close the editor. Lines starting with # are ignored.\n"
    "# Name (FN, N), numbers (TEL), e-mail (EMAIL), addresses (ADR), birthday (BDAY), organisation (ORG),\n"
    "# title, notes (NOTE), URLs and other properties can be changed. Consents, legal bases, labels and the\n"
    "# messenger presence have their own commands and are not in this form. Save an empty file to cancel.\n"
)
"""The comment lines above the card in the editor form."""


@dataclass(frozen=True, slots=True)
class Edits:
    """What a person asked to change in one contact, option by option (``None``: leave as it is).

    ``birthday`` and ``external_id`` take ``""`` to remove the value. ``notes`` replaces every note,
    ``add_notes`` appends. The address options change the first postal address (made if there is none).
    """

    display_name: str | None = None
    given: str | None = None
    family: str | None = None
    add_phones: tuple[str, ...] = ()
    remove_phones: tuple[str, ...] = ()
    add_emails: tuple[str, ...] = ()
    remove_emails: tuple[str, ...] = ()
    notes: tuple[str, ...] | None = None
    add_notes: tuple[str, ...] = ()
    birthday: str | None = None
    organisation: str | None = None
    street: str | None = None
    postal_code: str | None = None
    locality: str | None = None
    country: str | None = None
    external_id: str | None = None
    labels: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        """Whether nothing is asked for."""
        return self == Edits()


def _birthday(text: str) -> Birthday | None:
    if not text:
        return None
    fields = parse_birthday(text)
    if fields is None:
        raise ValueError("--birthday: not a date (use 1980-04-12, or --04-12 without the year)")
    return Birthday.model_validate(fields)


def _address(addresses: tuple[PostalAddress, ...], edits: Edits) -> tuple[PostalAddress, ...]:
    parts = {
        "street": edits.street,
        "postal_code": edits.postal_code,
        "locality": edits.locality,
        "country": edits.country,
    }
    changed = {k: v for k, v in parts.items() if v is not None}
    if not changed:
        return addresses
    first = addresses[0] if addresses else PostalAddress()
    updated = first.model_copy(update=changed)
    rest = addresses[1:] if addresses else ()
    return rest if updated.is_empty() else (updated, *rest)


def _e164_or_raw(raw: str, region: str | None) -> str:
    info = parse_number(raw, region)
    return info.e164 if info.e164 is not None else raw.strip()


def apply_edits(contact: Contact, edits: Edits, *, region: str | None) -> Contact:
    """``contact`` with ``edits`` applied (not yet validated: the vault validates what it stores).

    Raises ``ValueError`` naming the option, for a number or e-mail address to remove that the contact
    does not have, or a birthday that is not a date.
    """
    update: dict[str, Any] = {}
    if edits.display_name is not None:
        update["display_name"] = edits.display_name
    if edits.given is not None or edits.family is not None:
        parts = {"given": edits.given, "family": edits.family}
        update["name"] = contact.name.model_copy(update={k: v for k, v in parts.items() if v is not None})
    phones = list(contact.phones)
    for raw in edits.remove_phones:
        wanted = _e164_or_raw(raw, region)
        kept = [p for p in phones if (p.e164 or p.raw.strip()) != wanted]
        if len(kept) == len(phones):
            raise ValueError("--remove-tel: the contact has no such number")
        phones = kept
    phones += [normalize_phone(raw, default_region=region, types=("cell",)) for raw in edits.add_phones]
    if phones != list(contact.phones):
        update["phones"] = tuple(phones)
    emails = list(contact.emails)
    for address in edits.remove_emails:
        kept_emails = [e for e in emails if e.address.casefold() != address.strip().casefold()]
        if len(kept_emails) == len(emails):
            raise ValueError("--remove-email: the contact has no such e-mail address")
        emails = kept_emails
    emails += [EmailAddress(address=address.strip()) for address in edits.add_emails]
    if emails != list(contact.emails):
        update["emails"] = tuple(emails)
    notes = edits.notes if edits.notes is not None else contact.notes
    if edits.notes is not None or edits.add_notes:
        update["notes"] = (*notes, *edits.add_notes)
    if edits.birthday is not None:
        update["birthday"] = _birthday(edits.birthday.strip())
    if edits.organisation is not None:
        update["organisation"] = edits.organisation
    addresses = _address(contact.addresses, edits)
    if addresses != contact.addresses:
        update["addresses"] = addresses
    if edits.external_id is not None:
        update["external_id"] = edits.external_id or None
    if edits.labels:
        known = {lb.name.casefold() for lb in contact.labels}
        new = [Label(name=n) for n in dict.fromkeys(edits.labels) if n.casefold() not in known]
        update["labels"] = (*contact.labels, *new)
    return contact.model_copy(update=update) if update else contact


def new_contact(edits: Edits, *, region: str | None) -> Contact:
    """A new contact from ``edits`` (``display_name`` is required), validated.

    Raises ``ValueError`` (a ``ValidationError`` for a field that is not valid) naming the field.
    """
    if not edits.display_name:
        raise ValueError("--name is required")
    draft = Contact(display_name=edits.display_name, name=NameParts(), source=None)
    return Contact.model_validate(apply_edits(draft, edits, region=region).model_dump())


# --- the editor form -------------------------------------------------------------------------------------


def contact_form(contact: Contact) -> str:
    """The text a person edits: `FORM_HEADER` and the contact as a vCard 4.0 card, without its labels."""
    return FORM_HEADER + contact_to_vcard(contact.model_copy(update={"labels": ()}), "4.0")


def _read_form(text: str, region: str | None) -> Contact:
    """The one card of a form as a contact; ``ValueError`` naming the line of the problem."""
    # Comment lines become empty lines, so that a problem's line number is the one the person sees.
    body = "\n".join("" if line.startswith("#") else line for line in text.split("\n"))
    try:
        result = import_vcards(body.encode("utf-8"), default_region=region)
    except ImportFailed:
        raise ValueError("the form holds no card (BEGIN:VCARD ... END:VCARD)") from None
    if result.errors:
        raise ValueError(f"the card cannot be read: {result.errors[0].message}")
    if len(result.contacts) != 1:
        raise ValueError("the form must hold exactly one card")
    return result.contacts[0]


def form_changes(stored: Contact, original: str, edited: str, *, region: str | None) -> dict[str, Any]:
    """The changes the person made to the form: each field that reads differently after the edit.

    ``original`` is the form as given (``contact_form(stored)``), ``edited`` as saved. Only the fields the
    importer reads differently are changed; a number keeps its messenger presence. Raises ``ValueError``
    for a form that cannot be read (naming the line or what is wrong, never a value), including one whose
    result is not a valid contact.
    """
    before = _read_form(original, region)
    after = _read_form(edited, region)
    changes: dict[str, Any] = {}
    for name in FILE_FIELDS:
        value = getattr(after, name)
        if value == getattr(before, name):
            continue
        changes[name] = carry_presence(value, stored.phones) if name == "phones" else value
    try:
        Contact.model_validate(stored.model_copy(update=changes).model_dump())
    except ValidationError as exc:
        fields = sorted({str(e["loc"][0]) for e in exc.errors(include_input=False) if e["loc"]})
        raise ValueError(f"the card is not a valid contact ({', '.join(fields) or 'its fields'})") from None
    return changes
