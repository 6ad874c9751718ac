"""Data-subject requests: the access report (Art. 15), the portable export (Art. 20), erasure (Art. 17).

Each request is one function that reads (or, for erasure, changes) the vault and returns a small document
object:

- :func:`access_report` returns an :class:`AccessReport`: every stored field of one contact (both
  compartments), the consent history, legal bases, objections, restriction, messenger presence, labels,
  every disclosure of the contact from the log, and the information items of Art. 15(1) (purposes,
  recipients, storage period, rights, source). It is written **for the data subject**, so it holds their
  data in full, and nothing about anybody else.
- :func:`portable_export` returns a :class:`PortableExport`: the contact as a full vCard 4.0 and as JSON,
  both machine-readable, for the data subject to take elsewhere.
- :func:`erase_contact` erases the contact (crypto-shredding, see ``Vault.erase``) and returns an
  :class:`ErasureReceipt`: what was destroyed, what remains, and a checklist of the manual steps no API can
  do (the copies on phones and in the messenger app). The receipt is kept as proof after the erasure, so it
  holds **no** name, full number or CRM value: only the contact id, masked numbers, targets and dates.

The documents are written as versioned JSON (English keys; ``schema`` names the format and its version)
and as Markdown in English or German.

One module per document: :mod:`~contactvault.gdpr.access`, :mod:`~contactvault.gdpr.portable` and
:mod:`~contactvault.gdpr.erasure`; import them from here.
"""

from contactvault.gdpr._request_texts import DEFAULT_MESSENGER
from contactvault.gdpr.access import ACCESS_SCHEMA, AccessReport, access_report
from contactvault.gdpr.erasure import (
    ERASURE_SCHEMA,
    ErasureReceipt,
    ManualStep,
    StepCode,
    TargetDisclosures,
    erase_contact,
)
from contactvault.gdpr.portable import PORTABLE_SCHEMA, PortableExport, portable_export

__all__ = [
    "ACCESS_SCHEMA",
    "DEFAULT_MESSENGER",
    "ERASURE_SCHEMA",
    "PORTABLE_SCHEMA",
    "AccessReport",
    "ErasureReceipt",
    "ManualStep",
    "PortableExport",
    "StepCode",
    "TargetDisclosures",
    "access_report",
    "erase_contact",
    "portable_export",
]
