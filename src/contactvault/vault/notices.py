"""Privacy notices as versioned, immutable vault records; consent refresh periods (issue 16, items 1, 4).

Each notice version and each refresh period is an activity record of the log, with its document: sealed,
hash-chained, part of the row-set digest, so a stored version can be neither edited nor dropped unnoticed.

Notices (``Vault.add_notice``, ``notice``, ``notices``):

- A notice is named by an id and a version, as a `ConsentRecord` names them (``notice_id``, 1 to 200
  characters; ``notice_version``, 1 to 50), printable and without surrounding white space: they are keys
  compared character for character. Its language is a two-letter ISO 639-1 code in lower case (``en``,
  ``de``, ``fr``, ...); the reports of the vault speak English and German, a notice may be in any language.
  Its text is non-empty UTF-8 of at most 500,000 bytes (``MAX_TEXT_BYTES``; text with many non-ASCII
  characters less, as the sealed record escapes them). ``valid_from`` (when the version applies) defaults to
  the time it is recorded.
- A stored version never changes. Storing the same id and version again with the same text, language,
  ``valid_from`` (if given) and ``renews`` returns the stored `Notice` and writes nothing; anything else
  raises ``NoticeError``. The check runs again inside the write transaction (the log's ``guard``), so two
  processes cannot both store one version.
- ``renews=True`` marks older consents as needing renewal: every consent that names the same notice id with
  another version and was granted before the new version's ``valid_from``. From ``valid_from`` on, the
  vault's policy (``Policy.from_vault``) counts such a consent as expired (``consent_expired``: the
  contact leaves the messenger book at the next export or sync unless a newer consent or another legal
  basis holds), and ``contactvault consent due`` lists it with the reason ``notice_renewed``.

``Vault.grant_consent`` does not require the notice version to be stored (an application may keep its
notices elsewhere); the CLI's ``consent grant`` does, and so does ``Vault.import_consents``, which records
a form export (``contactvault.consent.bulk``) all or nothing, in one transaction (``consent import``).

Refresh periods (``Vault.set_consent_refresh``, ``consent_refresh``, ``consent_refreshes``): a period per
purpose after which a consent no longer counts; the newest record for a purpose wins, ``None`` switches it
off. ``Policy.from_vault(vault, purpose)`` (``contactvault.sync``; the vault is below sync and builds no
policy itself) takes them and the notice renewals: the policy of the CLI's ``book``, ``export`` and ``sync``.

`Notices` is a base class of ``Vault``.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from contactvault import changes
from contactvault.consent.freshness import NoticeRenewal
from contactvault.errors import NoticeError, VaultCorrupted
from contactvault.models import ConsentRecord
from contactvault.vault import log
from contactvault.vault.core import Core, Write, validated
from contactvault.vault.disclosures import Activity, LogRecord

if TYPE_CHECKING:  # the CSV reader is loaded only by an import of consents
    from contactvault.consent.bulk import BulkConsents, ConsentRow, RejectedRow

__all__ = ["MAX_TEXT_BYTES", "ConsentImport", "Notice", "Notices"]

MAX_TEXT_BYTES: Final = 500_000
"""The longest notice text, in bytes of UTF-8."""

_MAX_STORED: Final = 950_000  # the text as JSON in the record (non-ASCII escaped), below the log's 1 MB
_MAX_ID: Final = 200  # as ConsentRecord.notice_id
_MAX_VERSION: Final = 50  # as ConsentRecord.notice_version
_LANGUAGE: Final = re.compile(r"[a-z]{2}")
_PURPOSE: Final = re.compile(r"[a-z0-9][a-z0-9_.-]*")  # as the models' Purpose
_MAX_PURPOSE: Final = 100
_US: Final = timedelta(microseconds=1)
_MAX_US: Final = timedelta.max // _US


@dataclass(frozen=True, slots=True)
class Notice:
    """One stored version of a privacy notice.

    Attributes:
        notice_id: The notice's id (as a consent's ``notice_id``).
        version: The version (as a consent's ``notice_version``).
        language: Two lower-case letters (ISO 639-1).
        valid_from: When this version applies, timezone-aware.
        sha256: SHA-256 of the text's UTF-8 bytes, 64 lower-case hex digits.
        text: The exact text.
        renews: Whether this version marks consents to other versions, granted before ``valid_from``,
            as needing renewal.
        recorded_at: When it was stored.
        recorded_by: Who stored it (the key slot that opened the vault).
        seq: The log record that holds it.
    """

    notice_id: str
    version: str
    language: str
    valid_from: datetime
    sha256: str
    text: str = field(repr=False)
    renews: bool
    recorded_at: datetime
    recorded_by: str
    seq: int

    @property
    def renewal(self) -> NoticeRenewal:
        """This version as the policy's `NoticeRenewal` (meaningful when ``renews`` is true)."""
        return NoticeRenewal(self.notice_id, self.version, self.valid_from)


@dataclass(frozen=True, slots=True)
class ConsentImport:
    """What ``Vault.import_consents`` did: all rows recorded, or none and why.

    Attributes:
        recorded: Consents recorded (0 when any row was rejected).
        already: Rows whose consent the contact already holds (the same purpose, time and notice version,
            withdrawn since or not), so not recorded again: importing a file twice records it once, and
            never brings a withdrawn consent back.
        contacts: Contacts whose record changed.
        rejected: Every problem, in line order (the file's own and the vault's); empty when it worked.
    """

    recorded: int
    already: int
    contacts: int
    rejected: tuple[RejectedRow, ...]

    @property
    def ok(self) -> bool:
        """Whether every row was accepted (and so recorded, or already there)."""
        return not self.rejected

    @property
    def rejected_lines(self) -> tuple[int, ...]:
        """The lines of the rejected rows, each once, in order."""
        return tuple(dict.fromkeys(r.line for r in self.rejected))


def _same_consent(a: ConsentRecord, b: ConsentRecord) -> bool:
    """The same consent given once: purpose, time, notice version (a withdrawal since changes nothing)."""
    return (a.purpose, a.granted_at, a.notice_id, a.notice_version) == (
        b.purpose,
        b.granted_at,
        b.notice_id,
        b.notice_version,
    )


class _AlreadyStored(Exception):  # not an error: the same version with the same text, stored meanwhile
    """Raised inside the transaction when another process stored the identical version first."""


def _key(value: object, what: str, longest: int) -> str:
    if not isinstance(value, str):
        raise TypeError(f"a notice {what} must be a string")
    if not value or len(value) > longest or value != value.strip() or not value.isprintable():
        raise ValueError(
            f"a notice {what} is 1 to {longest} printable characters without surrounding white space"
        )
    return value


def _text(text: object) -> str:
    if not isinstance(text, str):
        raise TypeError("a notice text must be a string")
    if not text.strip():
        raise ValueError("a notice text must not be empty")
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValueError("a notice text must be valid Unicode (it holds a lone surrogate)") from None
    if size > MAX_TEXT_BYTES or len(json.dumps(text)) > _MAX_STORED:
        raise ValueError(
            f"a notice text is at most {MAX_TEXT_BYTES:,} bytes of UTF-8 "
            "(less when most characters are not ASCII)"
        )
    return text


def _language(language: object) -> str:
    if not isinstance(language, str) or _LANGUAGE.fullmatch(language) is None:
        raise ValueError("a notice language is a two-letter ISO 639-1 code in lower case (en, de, ...)")
    return language


def _aware(moment: object, what: str) -> datetime:
    if not isinstance(moment, datetime):
        raise TypeError(f"{what} must be a datetime")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")
    return moment


def _purpose(purpose: object) -> str:
    if not isinstance(purpose, str):
        raise TypeError("purpose must be a string")
    if len(purpose) > _MAX_PURPOSE or _PURPOSE.fullmatch(purpose) is None:
        raise ValueError("purpose must match ^[a-z0-9][a-z0-9_.-]*$ and have at most 100 characters")
    return purpose


def _named(notice_id: str, version: str) -> str:
    """How an error names a notice version (its id and version: never its text)."""
    return f"notice {notice_id!r} version {version!r}"


def _notice(record: Activity) -> Notice:
    data: dict[str, Any] = record.data or {}
    try:
        return Notice(
            notice_id=str(data["notice_id"]),
            version=str(data["version"]),
            language=str(data["language"]),
            valid_from=_aware(datetime.fromisoformat(str(data["valid_from"])), "valid_from"),
            sha256=str(data["sha256"]),
            text=str(data["text"]),
            renews=bool(data["renews"]),
            recorded_at=record.at,
            recorded_by=record.by,
            seq=record.seq,
        )
    except (KeyError, TypeError, ValueError):
        raise VaultCorrupted("a notice record of the vault's log is malformed") from None


def _stored(records: list[LogRecord]) -> list[Notice]:
    return [_notice(r) for r in records if isinstance(r, Activity) and r.action == "notice"]


def _refresh(record: Activity) -> tuple[str, timedelta | None]:
    data: dict[str, Any] = record.data or {}
    purpose, period = data.get("purpose"), data.get("period_us")
    if not isinstance(purpose, str) or "period_us" not in data:
        raise VaultCorrupted("a consent refresh record of the vault's log is malformed")
    if period is None:
        return purpose, None
    if not isinstance(period, int) or isinstance(period, bool) or not 0 < period <= _MAX_US:
        raise VaultCorrupted("a consent refresh record of the vault's log is malformed")
    return purpose, period * _US


def _describe(period: timedelta | None) -> str:
    if period is None:
        return "off"
    if period % timedelta(days=1) == timedelta(0):
        return f"{period.days} days"
    return f"{period.total_seconds():g} seconds"


class Notices:
    """See the module docstring; a base class of ``Vault``."""

    _core: Core

    def add_notice(
        self,
        notice_id: str,
        version: str,
        text: str,
        *,
        language: str,
        valid_from: datetime | None = None,
        renews: bool = False,
    ) -> Notice:
        """Store a version of a privacy notice; a stored version never changes (see the module's rules).

        Args:
            notice_id: The notice's id, as consents name it (1 to 200 printable characters).
            version: The version (1 to 50 printable characters).
            text: The exact text (non-empty; at most ``MAX_TEXT_BYTES`` of UTF-8).
            language: A two-letter ISO 639-1 code in lower case.
            valid_from: When the version applies (timezone-aware); the time it is stored if ``None``.
            renews: Mark consents to other versions of the notice, granted before ``valid_from``, as
                needing renewal.

        Returns:
            The stored notice (the one stored before, if the same version with the same text was).

        Raises:
            NoticeError: If the version is stored with another text, language, ``valid_from`` or
                ``renews``. Nothing is written.
            ValueError: If an argument is out of range.
            TypeError: If an argument has the wrong type.
        """
        _key(notice_id, "id", _MAX_ID)
        _key(version, "version", _MAX_VERSION)
        _text(text)
        _language(language)
        if valid_from is not None:
            _aware(valid_from, "valid_from")
        if not isinstance(renews, bool):
            raise TypeError("renews must be a bool")
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()

        def same(stored: Notice) -> bool:
            return (
                stored.sha256 == digest
                and stored.text == text
                and stored.language == language
                and stored.renews == renews
                and (valid_from is None or stored.valid_from == valid_from)
            )

        def existing(records: list[LogRecord]) -> Notice | None:
            for stored in _stored(records):
                if stored.notice_id == notice_id and stored.version == version:
                    if same(stored):
                        return stored
                    raise NoticeError(
                        f"{_named(notice_id, version)} is stored with another text, language, "
                        "valid-from or renewal: a stored version never changes (add a new version)"
                    )
            return None

        found = existing(log.read(self._core)[0])
        if found is not None:
            return found

        def guard(records: list[LogRecord]) -> None:
            if existing(records) is not None:
                raise _AlreadyStored

        now = datetime.now(UTC)
        start = valid_from if valid_from is not None else now
        data = {
            "notice_id": notice_id,
            "version": version,
            "language": language,
            "valid_from": start.isoformat(),
            "sha256": digest,
            "text": text,
            "renews": renews,
        }
        detail = f"{notice_id} {version}"[:200]
        try:
            seq = log.note(self._core, "notice", detail=detail, data=data, guard=guard, at=now)
        except _AlreadyStored:
            return self.notice(notice_id, version)
        return Notice(notice_id, version, language, start, digest, text, renews, now, self._core.actor, seq)

    def notice(self, notice_id: str, version: str) -> Notice:
        """The stored version ``version`` of notice ``notice_id``; ``NoticeError`` if it is not stored."""
        for stored in self.notices():
            if stored.notice_id == notice_id and stored.version == version:
                return stored
        raise NoticeError(f"{_named(str(notice_id), str(version))} is not stored in the vault")

    def notices(self) -> list[Notice]:
        """Every stored notice version, oldest first."""
        return _stored(log.read(self._core)[0])

    def notice_renewals(self) -> frozenset[NoticeRenewal]:
        """The stored versions that renew their notice (``renews=True``), as the policy takes them."""
        return frozenset(n.renewal for n in self.notices() if n.renews)

    def set_consent_refresh(self, purpose: str, period: timedelta | None) -> bool:
        """Store how long a consent for ``purpose`` counts (``None``: no limit); the newest record wins.

        Recorded as a ``"consent_refresh"`` activity; the period already in force writes nothing. Returns
        whether a record was written. ``ValueError`` for a purpose that does not match
        ``^[a-z0-9][a-z0-9_.-]*$`` or a period that is not positive; ``TypeError`` for one that is not a
        ``timedelta``. Sub-microsecond parts do not exist in a ``timedelta``: the period is kept exactly.
        """
        _purpose(purpose)
        if period is not None:
            if not isinstance(period, timedelta):
                raise TypeError("a refresh period must be a timedelta or None")
            if period <= timedelta(0):
                raise ValueError("a refresh period must be positive")
        if self.consent_refreshes().get(purpose) == period:  # none stored is the same as switched off
            return False
        period_us = None if period is None else period // _US
        data = {"purpose": purpose, "period_us": period_us}
        detail = f"{purpose}: {_describe(period)}"
        log.note(self._core, "consent_refresh", detail=detail, data=data)
        return True

    def consent_refreshes(self) -> dict[str, timedelta | None]:
        """Every purpose with a stored refresh period: the newest record of each (``None``: switched off)."""
        periods: dict[str, timedelta | None] = {}
        for record in log.activities(self._core, "consent_refresh"):
            purpose, period = _refresh(record)
            periods[purpose] = period
        return periods

    def consent_refresh(self, purpose: str) -> timedelta | None:
        """The stored refresh period of ``purpose``; ``None`` if none is stored or it is switched off."""
        return self.consent_refreshes().get(_purpose(purpose))

    def import_consents(self, bulk: BulkConsents) -> ConsentImport:
        """Record the consents of a consent CSV (``contactvault.consent.bulk``): all of them, or none.

        Each row's person is resolved to exactly one live contact: by its number (``phone``), or by its
        id or the first 8 or more hex digits of it (``contact``); the notice version a row names must be
        stored in the vault (`add_notice`). A row that fails is rejected with its line, column and reason
        (never a value): ``no contact has this number``, ``several contacts have this number``, ``no
        contact has this id``, ``several contacts match this id``, ``this notice version is not stored in
        the vault``, or ``duplicate of line N`` (two rows with the same contact, purpose and time). When
        ``bulk`` or the vault rejects any row, nothing is recorded.

        Otherwise every consent is recorded in ONE transaction and ONE ``"consent"`` activity naming every
        contact changed: each contact's record is read, given its consents (in line order), validated and
        written one version later inside the transaction, so a contact changed, erased or merged meanwhile
        is seen (``ContactErased``, ``ContactMerged``: nothing written). ``recorded_by`` is the user whose
        key slot opened the vault. A consent the contact already holds (the same purpose, time and notice
        version, withdrawn since or not) is not recorded again (``already``).
        """
        from contactvault.consent.bulk import BulkConsents, RejectedRow  # noqa: PLC0415 (loaded on use)

        if not isinstance(bulk, BulkConsents):
            raise TypeError("import_consents() takes the BulkConsents that read_consents returns")
        core = self._core
        stored = {(n.notice_id, n.version) for n in self.notices()}
        by_number: dict[str, list[uuid.UUID]] = {}
        ids: list[uuid.UUID] = []
        for entry in core.entries():
            ids.append(entry.id)
            for number in entry.e164_numbers():
                by_number.setdefault(number, []).append(entry.id)
        rejected = list(bulk.rejected)
        targets: list[tuple[uuid.UUID, ConsentRow]] = []
        first: dict[tuple[uuid.UUID, str, datetime], int] = {}
        for row in bulk.rows:
            cid = _resolve(row, by_number, ids, rejected)
            consent = row.consent
            if (consent.notice_id, consent.notice_version) not in stored:
                rejected.append(
                    RejectedRow(
                        row.line,
                        "notice_version",
                        "this notice version is not stored in the vault (contactvault notice add)",
                    )
                )
                continue
            if cid is None:
                continue
            key = (cid, consent.purpose, consent.granted_at)
            if key in first:
                rejected.append(
                    RejectedRow(row.line, "row", f"duplicate of line {first[key]} (the same contact)")
                )
                continue
            first[key] = row.line
            targets.append((cid, row))
        if rejected:
            rejected.sort(key=lambda r: r.line)
            return ConsentImport(0, 0, 0, tuple(rejected))
        return self._record_consents(targets)

    def _record_consents(self, targets: list[tuple[uuid.UUID, ConsentRow]]) -> ConsentImport:
        """Write the resolved consents in one transaction (see `import_consents`)."""
        core = self._core
        grouped: dict[uuid.UUID, list[ConsentRecord]] = {}
        for cid, row in targets:
            grouped.setdefault(cid, []).append(row.consent)
        counts = {"recorded": 0, "already": 0}
        changed: list[uuid.UUID] = []

        def rewrite() -> Iterator[Write]:
            for cid, consents in grouped.items():
                row = core.live_row(cid)
                current = core.records.contact(row)
                after = current
                for consent in consents:
                    if any(_same_consent(consent, held) for held in after.consents):
                        counts["already"] += 1
                        continue
                    after = changes.with_consent(after, consent)
                    counts["recorded"] += 1
                if after is current:
                    continue
                fresh = validated(
                    after,
                    version=row.version + 1,
                    by=core.actor,
                    before=(current,),
                    updated_at=datetime.now(UTC),
                )
                changed.append(cid)
                yield core.replacement(row, fresh)

        def detail() -> str:
            purposes = sorted({c.purpose for consents in grouped.values() for c in consents})
            return f"{counts['recorded']} consents imported: {', '.join(purposes)}"[:200]

        log.commit(core, rewrite(), "consent", contacts=changed, detail=detail)
        return ConsentImport(counts["recorded"], counts["already"], len(changed), ())


def _resolve(
    row: ConsentRow, by_number: dict[str, list[uuid.UUID]], ids: list[uuid.UUID], rejected: list[RejectedRow]
) -> uuid.UUID | None:
    """The one live contact a row names, or ``None`` with a rejection (no value in it) appended."""
    from contactvault.consent.bulk import RejectedRow  # noqa: PLC0415 (loaded on use)

    if row.phone_e164 is not None:
        found = by_number.get(row.phone_e164, [])
        column, none, several = "phone", "no contact has this number", "several contacts have this number"
    else:
        prefix = (row.contact_ref or "").lower()
        found = [cid for cid in ids if cid.hex.startswith(prefix)]
        column, none, several = "contact", "no contact has this id", "several contacts match this id"
    if len(found) == 1:
        return found[0]
    rejected.append(RejectedRow(row.line, column, none if not found else several))
    return None
