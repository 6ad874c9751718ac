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
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, get_args

__all__ = ["GENESIS", "Disclosure", "DisclosureKind", "replay"]

DisclosureKind = Literal["export", "sync"]
"""An export (a file written) or a sync (a target updated)."""

GENESIS: Final = "0" * 64
"""The ``previous`` hash of the first record."""


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

    def to_json(self) -> bytes:
        """The record's canonical JSON (sorted keys), as sealed in the vault."""
        return json.dumps(
            {
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
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> Disclosure:
        """Parse a record; ``ValueError`` if it is malformed."""
        raw = json.loads(data)
        if not isinstance(raw, dict):
            raise ValueError("a disclosure record is a JSON object")  # noqa: TRY004  (malformed data: one error type)
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
            )
        except (KeyError, TypeError) as exc:
            raise ValueError("a disclosure record is missing a field") from exc
        if record.kind not in get_args(DisclosureKind) or record.at.tzinfo is None:
            raise ValueError("a disclosure record has an unknown kind or a naive time")
        return record


def replay(records: Iterable[Disclosure], target: str, until: datetime | None = None) -> dict[str, str]:
    """What ``target`` held after the records up to ``until`` (all if ``None``): UID -> entry hash."""
    held: dict[str, str] = {}
    for record in records:
        if record.target != target:
            continue
        if until is not None and record.at > until:
            continue  # not break: a clock set back must not hide later records
        for uid in record.removed:
            held.pop(uid, None)
        held.update(record.added)
        held.update(record.renamed)
    return held
