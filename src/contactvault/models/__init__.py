"""The contact model: strict, frozen pydantic v2 models.

Every model here forbids unknown fields (pydantic's default would silently drop them), is frozen (a change
is a new object, so nothing is edited behind the vault's back), validates strictly (no silent ``int`` to
``str`` coercion) and hides input values in validation errors, so that an error message never repeats a
name or a number. ``repr()`` shows identifiers and counts only; personal values are left out.

Collections are tuples. Fields that hold collections also accept a list and turn it into a tuple, so that
``Contact(display_name="Ada", phones=[phone])`` works as one would expect.

``MessengerEntry`` is special: it is the only type that may ever leave for a messenger, and it holds
exactly a display name and an E.164 number, nothing else.

The models live in four modules, read in this order: ``_base`` (the shared base class and field types),
``rights`` (consents, legal bases, objections, messenger presence), ``contact`` (the full record) and
``directory`` (the directory compartment and ``MessengerEntry``). Import them from here.
"""

from contactvault.models._base import E164_PATTERN, is_e164
from contactvault.models.contact import (
    Birthday,
    Contact,
    ContactSource,
    CustomField,
    EmailAddress,
    Label,
    NameParts,
    Phone,
    PhoneKind,
    PhoneProblem,
    PostalAddress,
    SourceFormat,
)
from contactvault.models.directory import DIRECTORY_FIELDS, DirectoryEntry, MessengerEntry, combined_digest
from contactvault.models.rights import (
    ConsentChannel,
    ConsentRecord,
    GdprBasis,
    LegalBasis,
    MessengerPresence,
    Objection,
)

__all__ = [
    "DIRECTORY_FIELDS",
    "E164_PATTERN",
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
    "is_e164",
]
