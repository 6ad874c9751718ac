"""The audit's result: entries with findings, counts per code, a fix list, JSON, and the diff of two audits.

An `AuditReport` is plain data. It is built by :func:`contactvault.audit.audit_phonebook`, written as
JSON with :meth:`AuditReport.to_json` (schema ``contactvault.audit/1``, documented in ``docs/audit.md``)
and read back with :meth:`AuditReport.from_json`, so that next month's audit can be compared with this
one (:meth:`AuditReport.diff`). The text, Markdown and HTML renderings live in
:mod:`contactvault.audit.render`.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal, cast, get_args

from contactvault.audit.masking import NumberMask

__all__ = [
    "FINDING_CODES",
    "SCHEMA",
    "SEVERITY",
    "AuditDiff",
    "AuditEntry",
    "AuditReport",
    "Finding",
    "FindingCode",
    "Unreadable",
    "entry_key",
]

SCHEMA: Final = "contactvault.audit/1"
"""The JSON schema name and version of `AuditReport.to_json`; raised when a field changes meaning."""

FindingCode = Literal[
    "unknown_contact",
    "no_legal_basis",
    "consent_withdrawn",
    "consent_expired",
    "restricted",
    "objected",
    "minor",
    "label_excluded",
    "not_on_messenger",
    "extra_fields",
    "label_in_name",
    "invalid_number",
    "duplicate",
    "erased_contact",
    "number_removed",
]
"""What is wrong with an entry of the phone's address book. The codes are stable: scripts rely on them.

- ``unknown_contact``: a number (or a numberless entry) that is not in the vault.
- ``no_legal_basis``, ``consent_withdrawn``, ``consent_expired``, ``restricted``, ``objected``, ``minor``,
  ``label_excluded``: the vault's contact holds the number, but the policy refuses it for this reason.
- ``not_on_messenger``: the number is not a mobile number, or the contact is not known to use the
  messenger (or that check is too old).
- ``extra_fields``: the entry carries properties beyond name and number (named in ``fields``).
- ``label_in_name``: a CRM label ("bezahlt", "payment pending") is part of the display name.
- ``invalid_number``: a number that is not a valid telephone number.
- ``duplicate``: another entry holds the same number.
- ``erased_contact``: the card came from this vault (the disclosure log shows its UID handed out), and no
  vault contact holds its number under that UID any more: the contact was erased (on request, Art. 17, or
  by the retention schedule, Art. 5(1)(e)). It should have gone; the next sync removes it. Reported
  instead of ``unknown_contact`` for such a card's numbers that no vault contact holds.
- ``number_removed``: the card came from this vault and its contact still exists, but no longer holds
  this number (the retention schedule stripped it, or it was edited, in the vault or on the phone). It
  should have gone; the next sync removes or corrects it. Reported instead of ``unknown_contact``.

A card whose UID the log shows handed out by this vault is never ``unknown_contact``. A withdrawal made by
an opt-out reply in the messenger (the consent's withdrawal channel is ``messenger``) is
``consent_withdrawn`` with the detail ``opt_out``.

New codes are appended (no code is renamed, removed or moved); `SEVERITY` says how serious each is.
"""

FINDING_CODES: Final[tuple[FindingCode, ...]] = get_args(FindingCode)
"""Every finding code: the first thirteen from the most to the least serious, then the codes added since,
in the order they were added. `AuditReport.fixes` orders them by `SEVERITY`."""

Severity = Literal["high", "medium", "low"]

SEVERITY: Final[dict[FindingCode, Severity]] = {
    "unknown_contact": "high",
    "no_legal_basis": "high",
    "consent_withdrawn": "high",
    "consent_expired": "high",
    "restricted": "high",
    "objected": "high",
    "minor": "high",
    "label_excluded": "high",
    "not_on_messenger": "medium",
    "extra_fields": "medium",
    "label_in_name": "medium",
    "invalid_number": "low",
    "duplicate": "low",
    "erased_contact": "high",
    "number_removed": "high",
}
"""How serious each code is: ``high`` (a disclosure without a legal basis), ``medium`` (more than the
messenger needs), ``low`` (housekeeping)."""

_KNOWN: Final = frozenset(FINDING_CODES)
_RANK: Final[dict[Severity, int]] = {"high": 0, "medium": 1, "low": 2}
_BY_SEVERITY: Final[tuple[FindingCode, ...]] = tuple(sorted(FINDING_CODES, key=lambda c: _RANK[SEVERITY[c]]))
"""Every code, most serious first (within a severity, in `FINDING_CODES` order)."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem with one entry.

    Attributes:
        code: What is wrong (`FindingCode`).
        number: The number concerned, E.164 where it has that form, else as typed; ``None`` for findings
            about the whole entry. Left out of ``repr()``.
        fields: For ``extra_fields``, the property names beyond name and number, in the card's order.
        detail: For ``label_in_name``, the label found; for ``duplicate``, the lines of the other entries
            holding the number (``"line 12, line 40"``); for ``consent_withdrawn``, ``"opt_out"`` when the
            consent was withdrawn in the messenger (an opt-out reply), else empty. Left out of
            ``repr()``.
    """

    code: FindingCode
    number: str | None = field(default=None, repr=False)
    fields: tuple[str, ...] = ()
    detail: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if self.code not in _KNOWN:
            raise ValueError("unknown finding code")

    def identity(self) -> tuple[str, str, tuple[str, ...], str]:
        """What makes two findings of one entry the same finding in two audits."""
        return (self.code, self.number or "", self.fields, self.detail)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One entry of the phone's address book, as audited.

    Attributes:
        key: The entry's identity across audits: its UID, else a hash of its numbers, else of its name.
        line: The line the card starts at in its file (``None`` for entries from a CardDAV server or a
            book).
        source: The file (its name, never its path) or collection the entry came from.
        display_name: The name the phone shows. Left out of ``repr()``.
        numbers: Its numbers, E.164 where they have that form, else as typed. Left out of ``repr()``.
        contacts: How many vault contacts hold one of its numbers.
        findings: What is wrong with it; empty for an entry without findings.
    """

    key: str
    line: int | None
    source: str
    display_name: str = field(repr=False)
    numbers: tuple[str, ...] = field(repr=False)
    contacts: int
    findings: tuple[Finding, ...]

    def codes(self) -> tuple[FindingCode, ...]:
        """The entry's finding codes, each once, in `FINDING_CODES` order."""
        present = {f.code for f in self.findings}
        return tuple(code for code in FINDING_CODES if code in present)


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A card of the source that could not be read: where, and why (never a value from the card)."""

    source: str
    line: int
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class AuditDiff:
    """What changed between two audits of the same address book.

    Attributes:
        new: Findings of this audit that the previous one did not have, with their entries.
        resolved: Findings of the previous audit that this one no longer has, with their entries.
    """

    new: tuple[tuple[AuditEntry, Finding], ...]
    resolved: tuple[tuple[AuditEntry, Finding], ...]

    def counts(self) -> dict[str, dict[FindingCode, int]]:
        """New and resolved findings per code (codes without any left out)."""
        return {
            "new": dict(Counter(f.code for _, f in self.new)),
            "resolved": dict(Counter(f.code for _, f in self.resolved)),
        }

    def __bool__(self) -> bool:
        return bool(self.new or self.resolved)


def entry_key(uid: str | None, numbers: tuple[str, ...], display_name: str) -> str:
    """An entry's identity across audits: ``uid:<UID>``, else a hash of its numbers, else of its name.

    The hash is SHA-256 truncated to 16 hex digits; it is pseudonymous, not anonymous (a number can be
    found by trying numbers), which is why masked renderings leave keys out.
    """
    if uid:
        return f"uid:{uid}"
    basis = "tel:" + ",".join(sorted(numbers)) if numbers else "name:" + display_name.casefold()
    return "sha256:" + hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class AuditReport:
    """The result of an audit: every entry (with or without findings), counts, fixes, and its context.

    Attributes:
        created_at: When the audit ran (timezone-aware).
        source: What was audited: a file or folder name, a CardDAV collection URL without credentials, or
            ``"messenger book"``.
        region: The default region numbers without a country code were read with.
        vault: Whether a vault was compared (``False``: only what the entries expose was checked).
        policy: The digest of the policy applied (``None`` without a vault).
        entries: Every entry read, in the source's order.
        unreadable: Cards that could not be read at all (they are not silently lost).
        label_terms: How many CRM label terms names were checked against.
    """

    created_at: datetime
    source: str
    region: str | None
    vault: bool
    policy: str | None
    entries: tuple[AuditEntry, ...]
    unreadable: tuple[Unreadable, ...] = ()
    label_terms: int = 0

    @property
    def findings(self) -> tuple[tuple[AuditEntry, Finding], ...]:
        """Every finding with its entry, in the source's order."""
        return tuple((entry, f) for entry in self.entries for f in entry.findings)

    @property
    def flagged(self) -> tuple[AuditEntry, ...]:
        """The entries with at least one finding."""
        return tuple(entry for entry in self.entries if entry.findings)

    def counts(self) -> dict[FindingCode, int]:
        """Entries with each code (an entry with two numbers refused for one reason counts once)."""
        tally: Counter[FindingCode] = Counter()
        for entry in self.entries:
            tally.update(entry.codes())
        return {code: tally.get(code, 0) for code in FINDING_CODES}

    def fixes(self) -> list[tuple[FindingCode, int]]:
        """The codes that occur, most serious first, with how many entries have each: the fix list."""
        counts = self.counts()
        return [(code, counts[code]) for code in _BY_SEVERITY if counts[code]]

    @property
    def clean(self) -> bool:
        """Whether no entry has a finding and every card could be read."""
        return not self.flagged and not self.unreadable

    def diff(self, previous: AuditReport) -> AuditDiff:
        """New and resolved findings since ``previous`` (entries matched by `AuditEntry.key`).

        Entries that share a key (two cards without a UID holding the same numbers) are matched in the
        order they appear.

        ``previous`` may come from :meth:`from_json`; a report written with masked numbers has no keys
        and cannot be compared (``ValueError``).
        """
        if any(not e.key for e in previous.entries) or any(not e.key for e in self.entries):
            raise ValueError("a report written with masked numbers has no entry keys and cannot be diffed")

        def index(report: AuditReport) -> dict[tuple[str, int, tuple[str, str, tuple[str, ...], str]], Any]:
            seen: Counter[str] = Counter()  # entries without a UID may share a key: the nth with the nth
            found = {}
            for e in report.entries:
                seen[e.key] += 1
                for f in e.findings:
                    found[(e.key, seen[e.key], f.identity())] = (e, f)
            return found

        now, before = index(self), index(previous)
        return AuditDiff(
            new=tuple(pair for k, pair in now.items() if k not in before),
            resolved=tuple(pair for k, pair in before.items() if k not in now),
        )

    # --- JSON ----------------------------------------------------------------------------------------

    def to_dict(self, *, mask_numbers: bool = False, all_entries: bool = False) -> dict[str, Any]:
        """The report as JSON-ready data (schema `SCHEMA`); see ``docs/audit.md`` for every field.

        Only entries with findings are listed unless ``all_entries``. With ``mask_numbers``, numbers show
        only their country code and last two digits (also numbers inside names, details and file names),
        and entry keys are left out.
        """
        mask = NumberMask(self.entries) if mask_numbers else None

        def number(value: str | None) -> str | None:
            return mask.number(value) if value is not None and mask is not None else value

        def text(value: str) -> str:
            return mask.text(value) if mask is not None else value

        listed = self.entries if all_entries else self.flagged
        return {
            "schema": SCHEMA,
            "created_at": self.created_at.isoformat(),
            "source": text(self.source),
            "region": self.region,
            "vault": self.vault,
            "policy": self.policy,
            "masked": mask_numbers,
            "label_terms": self.label_terms,
            "entries_total": len(self.entries),
            "entries_with_findings": len(self.flagged),
            "counts": self.counts(),
            "fixes": [{"code": code, "entries": n, "severity": SEVERITY[code]} for code, n in self.fixes()],
            "unreadable": [
                {"source": text(u.source), "line": u.line, "code": u.code, "message": text(u.message)}
                for u in self.unreadable
            ],
            "entries": [
                {
                    "key": None if mask_numbers else e.key,
                    "line": e.line,
                    "source": text(e.source),
                    "display_name": text(e.display_name),
                    "numbers": [number(n) for n in e.numbers],
                    "contacts": e.contacts,
                    "findings": [
                        {
                            "code": f.code,
                            "severity": SEVERITY[f.code],
                            "number": number(f.number),
                            "fields": list(f.fields),
                            "detail": text(f.detail),
                        }
                        for f in e.findings
                    ],
                }
                for e in listed
            ],
        }

    def to_json(
        self, *, mask_numbers: bool = False, all_entries: bool = False, indent: int | None = 2
    ) -> str:
        """The report as JSON text (schema `SCHEMA`); options as in :meth:`to_dict`."""
        data = self.to_dict(mask_numbers=mask_numbers, all_entries=all_entries)
        return json.dumps(data, ensure_ascii=False, indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> AuditReport:
        """Read a report written by :meth:`to_json` (``ValueError`` naming the problem if it is not one).

        Entries without findings are only present if it was written with ``all_entries``.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not JSON (line {exc.lineno}, column {exc.colno})") from None
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise ValueError(f"not a contactvault audit report (schema {SCHEMA} expected)")
        doc = _Fields(data, "report")
        entries = []
        for index, raw in enumerate(doc.items("entries")):
            e = _Fields(raw, f"entries[{index}]")
            findings = []
            for number, found in enumerate(e.items("findings")):
                f = _Fields(found, f"entries[{index}].findings[{number}]")
                findings.append(
                    Finding(
                        code=cast("FindingCode", f.text("code")),
                        number=f.optional_text("number"),
                        fields=f.texts("fields"),
                        detail=f.text("detail"),
                    )
                )
            entries.append(
                AuditEntry(
                    key=e.optional_text("key") or "",
                    line=e.number("line", optional=True),
                    source=e.text("source"),
                    display_name=e.text("display_name"),
                    numbers=e.texts("numbers"),
                    contacts=e.number("contacts") or 0,
                    findings=tuple(findings),
                )
            )
        unreadable = []
        for index, raw in enumerate(doc.items("unreadable")):
            u = _Fields(raw, f"unreadable[{index}]")
            unreadable.append(
                Unreadable(u.text("source"), u.number("line") or 0, u.text("code"), u.text("message"))
            )
        try:
            created = datetime.fromisoformat(doc.text("created_at"))
        except ValueError:
            raise ValueError("malformed audit report: created_at is not an ISO 8601 time") from None
        if created.tzinfo is None:
            raise ValueError("malformed audit report: created_at has no offset")
        vault = data.get("vault")
        if not isinstance(vault, bool):
            raise _malformed("vault must be true or false")
        return cls(
            created_at=created,
            source=doc.text("source"),
            region=doc.optional_text("region"),
            vault=vault,
            policy=doc.optional_text("policy"),
            entries=tuple(entries),
            unreadable=tuple(unreadable),
            label_terms=doc.number("label_terms", optional=True) or 0,
        )


class _Fields:
    """Typed access to one object of a JSON report; a wrong or missing field is a ``ValueError`` naming it."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, dict):
            raise _malformed(f"{where} is not an object")
        self._data = data
        self._where = where

    def _get(self, name: str, optional: bool) -> object:
        if name not in self._data and not optional:
            raise _malformed(f"{self._where}.{name} is missing")
        return self._data.get(name)

    def _wrong(self, name: str, what: str) -> ValueError:
        return _malformed(f"{self._where}.{name} must be {what}")

    def text(self, name: str) -> str:
        value = self._get(name, False)
        if not isinstance(value, str):
            raise self._wrong(name, "a string")
        return value

    def optional_text(self, name: str) -> str | None:
        return None if self._get(name, True) is None else self.text(name)

    def number(self, name: str, *, optional: bool = False) -> int | None:
        value = self._get(name, optional)
        if value is None and optional:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self._wrong(name, "a whole number, not negative")
        return value

    def texts(self, name: str) -> tuple[str, ...]:
        value = self._get(name, False)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._wrong(name, "a list of strings")
        return tuple(value)

    def items(self, name: str) -> list[object]:
        value = self._get(name, False)
        if not isinstance(value, list):
            raise self._wrong(name, "a list")
        return value


def _malformed(problem: str) -> ValueError:
    return ValueError(f"malformed audit report: {problem}")
