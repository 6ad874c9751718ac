"""The disclosure log's records: what was handed to which target, and when (GDPR Art. 5(2) and 30(1)(d)).

Every export and every sync appends one :class:`Disclosure` to the vault (``Vault.record_disclosure``,
called by ``contactvault.sync.export_book`` and ``sync_book``): the time, the target (a description
without credentials), the digest of the policy that chose the entries, and what changed at the target: the
UIDs added, removed and renamed, each added or renamed UID with a keyed hash of the entry (its name and
number), so that a later rename is visible without the log holding a name or a number.

The vault seals each record under its log key and chains it to the one before (the SHA-256 of the previous
sealed record; ``contactvault.vault.log``); every record is also part of the vault's row-set digest.
Editing, deleting, reordering or replaying a record makes ``Vault.verify()`` (and opening) fail with
``VaultCorrupted``.

Replaying the records of one target up to a moment gives what it held then: ``Vault.visible_at``.

The same log, in the same hash chain, holds an :class:`Activity` for every other change: a consent, a
withdrawal, a legal basis, a label, a restriction, an objection, an erasure, a merge, an import, an edit,
and the vault's own events (a restore, a re-key, a user added or removed). Each record names who did it
(``by``: the key slot that opened the vault, never typed by the caller) and the contacts concerned only by
a keyed hash of their ids (``contacts``). A record's JSON says which type it is by its ``kind``
(``"activity"``, or a disclosure's ``"export"``/``"sync"``), so records written before activities existed
still parse; a disclosure's ``by`` is ``None`` in them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal, get_args

__all__ = [
    "ACTIVITY_ACTIONS",
    "GENESIS",
    "MAX_DATA_BYTES",
    "Activity",
    "ActivityAction",
    "Disclosure",
    "DisclosureKind",
    "LogRecord",
    "parse",
    "replay",
]

DisclosureKind = Literal["export", "sync"]
"""An export (a file written) or a sync (a target updated)."""

ActivityAction = Literal[
    "consent",
    "withdrawal",
    "legal_basis",
    "label",
    "restriction",
    "objection",
    "erasure",
    "merge",
    "import",
    "edit",
    "presence",
    "restore",
    "rekey",
    "user_added",
    "user_removed",
    "passphrase_changed",
    "rekey_undone",
    "notice",
    "consent_refresh",
    "consent_request",
    "retention_schedule",
    "retention",
]
"""What an :class:`Activity` records: a change of contacts, or an event of the vault itself."""

ACTIVITY_ACTIONS: Final[frozenset[str]] = frozenset(get_args(ActivityAction))
"""Every :data:`ActivityAction`."""

GENESIS: Final = "0" * 64
"""The ``previous`` hash of the first record."""

_MAX_TEXT: Final = 200
"""The longest ``by`` or ``detail`` an activity holds (characters)."""

MAX_DATA_BYTES: Final = 1_000_000
"""The largest ``data`` an activity holds, as canonical JSON (bytes): a privacy notice's text fits."""


def _line(value: str, what: str, *, empty: bool = False) -> str:
    if (not value and not empty) or len(value) > _MAX_TEXT or any(not ch.isprintable() for ch in value):
        raise ValueError(f"{what} is a line of printable text of at most {_MAX_TEXT} characters")
    return value


@dataclass(frozen=True, slots=True)
class Disclosure:
    """One record of the disclosure log.

    ``added`` and ``renamed`` map each UID to the keyed hash of the entry the target received; ``removed``
    lists the UIDs the target no longer holds; ``held`` is how many it holds afterwards. No name, number or
    contact id is stored here.
    """

    seq: int
    at: datetime
    target: str
    kind: DisclosureKind
    policy: str
    added: dict[str, str]
    removed: tuple[str, ...]
    renamed: dict[str, str]
    held: int
    previous: str
    by: str | None = None
    """Who recorded it (the key slot that opened the vault); ``None`` in records made before it was kept."""

    def to_json(self) -> bytes:
        """The record's canonical JSON (sorted keys), as sealed in the vault."""
        fields: dict[str, object] = {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "target": self.target,
            "kind": self.kind,
            "policy": self.policy,
            "added": self.added,
            "removed": list(self.removed),
            "renamed": self.renamed,
            "held": self.held,
            "previous": self.previous,
        }
        if self.by is not None:
            fields["by"] = self.by
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> Disclosure:
        """Parse a record; ``ValueError`` if it is malformed."""
        return cls._from_raw(_object(data))

    @classmethod
    def _from_raw(cls, raw: dict[str, Any]) -> Disclosure:
        try:
            record = cls(
                seq=int(raw["seq"]),
                at=datetime.fromisoformat(str(raw["at"])),
                target=str(raw["target"]),
                kind=raw["kind"],
                policy=str(raw["policy"]),
                added={str(k): str(v) for k, v in dict(raw["added"]).items()},
                removed=tuple(str(u) for u in raw["removed"]),
                renamed={str(k): str(v) for k, v in dict(raw["renamed"]).items()},
                held=int(raw["held"]),
                previous=str(raw["previous"]),
                by=None if raw.get("by") is None else str(raw["by"]),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError("a disclosure record is missing a field") from exc
        if record.kind not in get_args(DisclosureKind) or record.at.tzinfo is None:
            raise ValueError("a disclosure record has an unknown kind or a naive time")
        return record


@dataclass(frozen=True, slots=True)
class Activity:
    """One record of the log that is not a disclosure: who changed what, and when.

    ``by`` is the name of the key slot that opened the vault (a person, a service, ``"recovery key"``, or
    ``"owner"`` for a vault with one slot); ``action`` what was done; ``contacts`` the keyed hashes of the
    ids of the contacts concerned (never an id, name or number; ``Vault.activity_of`` finds a contact's
    records by hashing its ids again), ``count`` how many there are; ``detail`` a short text about the
    action, never personal data (a purpose, a legal basis, "added" or "removed"); ``previous`` the hash
    chain, as in a :class:`Disclosure`.

    ``data`` is the record's document, for the steps whose record is the evidence itself (a JSON object,
    ``None`` for the others): a privacy notice's text and hash (``notice``), the keyed hashes of the reply
    codes sent (``consent_request``), the code and message a consent was taken from (``consent``), the
    retention schedule (``retention_schedule``). It never holds a name, a number or a contact id; contacts
    appear in it only as the same keyed hashes as in ``contacts``. Because the log is append-only and
    hash-chained, a document once recorded never changes: a new version is a new record.
    """

    seq: int
    at: datetime
    by: str
    action: ActivityAction
    contacts: tuple[str, ...]
    count: int
    detail: str
    previous: str
    data: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        _line(self.by, "who did it (by)")
        _line(self.detail, "an activity's detail", empty=True)
        if self.action not in ACTIVITY_ACTIONS:
            raise ValueError(f"unknown activity {self.action!r}")
        if self.at.tzinfo is None:
            raise ValueError("the time of an activity must be timezone-aware")
        if self.count < 0:
            raise ValueError("an activity's count cannot be negative")
        if self.data is not None:
            if not isinstance(self.data, dict):
                raise ValueError("an activity's data is a JSON object")
            if len(_canonical(self.data)) > MAX_DATA_BYTES:
                raise ValueError(f"an activity's data is at most {MAX_DATA_BYTES} bytes of JSON")

    @property
    def kind(self) -> Literal["activity"]:
        """``"activity"``: what tells this record from a :class:`Disclosure` (an export or a sync)."""
        return "activity"

    def to_json(self) -> bytes:
        """The record's canonical JSON (sorted keys), as sealed in the vault."""
        fields: dict[str, object] = {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "kind": self.kind,
            "by": self.by,
            "action": self.action,
            "contacts": list(self.contacts),
            "count": self.count,
            "detail": self.detail,
            "previous": self.previous,
        }
        if self.data is not None:  # records without a document keep the bytes they always had
            fields["data"] = self.data
        return _canonical(fields)

    @classmethod
    def from_json(cls, data: bytes) -> Activity:
        """Parse a record; ``ValueError`` if it is malformed or not an activity."""
        return cls._from_raw(_object(data))

    @classmethod
    def _from_raw(cls, raw: dict[str, Any]) -> Activity:
        if raw.get("kind") != "activity":
            raise ValueError("not an activity record")
        contacts = raw.get("contacts")
        if not isinstance(contacts, list):
            raise ValueError("an activity record's contacts are a list")  # noqa: TRY004  (one error type)
        data = raw.get("data")
        if data is not None and not isinstance(data, dict):
            raise ValueError("an activity record's data is a JSON object")
        try:
            return cls(
                seq=int(raw["seq"]),
                at=datetime.fromisoformat(str(raw["at"])),
                by=str(raw["by"]),
                action=raw["action"],  # checked in __post_init__
                contacts=tuple(str(h) for h in contacts),
                count=int(raw["count"]),
                detail=str(raw["detail"]),
                previous=str(raw["previous"]),
                data=data,
            )
        except (KeyError, TypeError) as exc:
            raise ValueError("an activity record is missing a field") from exc


LogRecord = Disclosure | Activity
"""A record of the vault's log: a disclosure (export, sync) or another activity."""


def _canonical(fields: dict[str, Any]) -> bytes:
    """Canonical JSON (sorted keys, no spaces): what a record is sealed as."""
    try:
        return json.dumps(fields, sort_keys=True, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ValueError("a log record holds JSON values only") from exc


def _object(data: bytes) -> dict[str, Any]:
    raw = json.loads(data)
    if not isinstance(raw, dict):
        raise ValueError("a log record is a JSON object")  # noqa: TRY004  (malformed data: one error type)
    return raw


def parse(data: bytes) -> LogRecord:
    """A log record from its JSON, by its ``kind``; ``ValueError`` if it is malformed."""
    raw = _object(data)
    if raw.get("kind") == "activity":
        return Activity._from_raw(raw)
    return Disclosure._from_raw(raw)


def replay(
    records: Iterable[LogRecord],
    target: str,
    until: datetime | None = None,
    *,
    held: dict[str, str] | None = None,
) -> dict[str, str]:
    """What ``target`` held after the records up to ``until`` (all if ``None``): UID -> entry hash.

    Activity records are passed over: only disclosures change what a target holds. ``held`` is what it
    held before ``records`` (default: nothing); it is copied, never changed.
    """
    held = {} if held is None else dict(held)
    for record in records:
        if not isinstance(record, Disclosure) or record.target != target:
            continue
        if until is not None and record.at > until:
            continue  # not break: a clock set back must not hide later records
        for uid in record.removed:
            held.pop(uid, None)
        held.update(record.added)
        held.update(record.renamed)
    return held
