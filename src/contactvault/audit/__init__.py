"""The audit of a phone's address book: what can the messenger see, and what should not be there?

``audit_phonebook(source, vault=..., default_region="DE")`` reads a phone's export (a ``.vcf`` file, a
folder of them, a CSV, a CardDAV address book or a `MessengerBook`), compares every entry with the vault
and the policy, and returns an `AuditReport` with findings under stable codes (`FINDING_CODES`). Reports
render as text, JSON, Markdown and self-contained HTML, in English or German
(:mod:`contactvault.audit.render`), and two reports diff (`AuditReport.diff`).
"""

from contactvault.audit.engine import DEFAULT_LABEL_TERMS, AuditSource, audit_phonebook
from contactvault.audit.report import (
    FINDING_CODES,
    SCHEMA,
    SEVERITY,
    AuditDiff,
    AuditEntry,
    AuditReport,
    Finding,
    FindingCode,
    Unreadable,
)

__all__ = [
    "DEFAULT_LABEL_TERMS",
    "FINDING_CODES",
    "SCHEMA",
    "SEVERITY",
    "AuditDiff",
    "AuditEntry",
    "AuditReport",
    "AuditSource",
    "Finding",
    "FindingCode",
    "Unreadable",
    "audit_phonebook",
]
