"""The portable export (GDPR Art. 20): a contact's data as a full vCard 4.0 and as JSON, to take along.

:func:`portable_export` returns a :class:`PortableExport`; :meth:`PortableExport.write` writes its two
files, named after the contact's id, never after the person.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from contactvault.export.minimal import write_atomically
from contactvault.export.vcard import contact_to_vcard
from contactvault.files import make_private_dir
from contactvault.gdpr._document import check_now, json_text
from contactvault.vault import Vault

__all__ = ["PORTABLE_SCHEMA", "PortableExport", "portable_export"]

PORTABLE_SCHEMA: Final = "contactvault.portable/1"
"""The ``schema`` value of :attr:`PortableExport.json`."""


@dataclass(frozen=True, slots=True, repr=False)
class PortableExport:
    """A contact's data in machine-readable formats (GDPR Art. 20), for the data subject to take along.

    ``repr()`` shows the id only.

    Attributes:
        contact_id: The contact's id; the files are named after it, never after the person.
        vcard: The full contact as a vCard 4.0 (every field vCard can carry).
        json: The full contact as JSON, ``{"schema": "contactvault.portable/1", "exported_at": ...,
            "contact": {...}}``, with every field of the model.
    """

    contact_id: uuid.UUID
    vcard: str
    json: str

    def __repr__(self) -> str:
        return f"PortableExport(contact_id={self.contact_id})"

    def write(self, folder: str | Path) -> list[Path]:
        """Write ``<id>.vcf`` and ``<id>.json`` into ``folder``, each atomically with mode 0600.

        The folder is created if it does not exist, and so is each missing parent: every one with mode
        0700, whatever the umask (an existing folder is left as it is). Existing files of the same names
        are replaced.

        Returns:
            The two paths, the vCard first.
        """
        target = make_private_dir(folder)
        return [
            write_atomically(target / f"{self.contact_id}.vcf", self.vcard.encode("utf-8")),
            write_atomically(target / f"{self.contact_id}.json", self.json.encode("utf-8")),
        ]


def portable_export(
    vault: Vault, contact_id: uuid.UUID | str, *, now: datetime | None = None
) -> PortableExport:
    """The Art. 20 portable export of one contact: a full vCard 4.0 and JSON.

    Decrypts the contact's CRM payload; writes nothing (see :meth:`PortableExport.write`) and records no
    disclosure: the export goes to the data subject, not to a messenger.

    Args:
        vault: The open vault.
        contact_id: The contact's id.
        now: The ``exported_at`` time in the JSON, timezone-aware (default: the current UTC time).

    Returns:
        The export.

    Raises:
        ContactNotFound: No contact with that id.
        ContactErased: The contact was erased.
        ValueError: ``now`` is not timezone-aware.
    """
    moment = check_now(now)
    contact = vault.get(contact_id)
    document = {
        "schema": PORTABLE_SCHEMA,
        "exported_at": moment.isoformat(),
        "contact": contact.model_dump(mode="json"),
    }
    return PortableExport(
        contact_id=contact.id, vcard=contact_to_vcard(contact, "4.0"), json=json_text(document)
    )
