"""The retention schedule stored in the vault, and its plan and application (issue 16, item 5).

The schedule is an activity record of the log (``"retention_schedule"``) with the schedule as its
document: the newest record is the schedule in force, and every earlier version stays in the log.
``retention_plan`` computes ``contactvault.retention.plan`` over the directory entries (no CRM payload is
decrypted) and what earlier strips removed (read from the log). ``apply_retention`` applies exactly such a
plan, one contact per transaction, each with its ``"retention"`` record (the rule's name as detail, the
contact as a keyed hash, the plan item without the id as document), and returns one receipt per contact:

- ``erase`` writes the contact's tombstone as ``Vault.erase`` does (data key, payload, directory and index
  entries gone). The ``"retention"`` record is the erasure's only record: it says ``"action": "erase"``.
- ``strip`` seals what remains under a NEW random data key (the old wrapped key, and the payload sealed
  under it, are replaced and so destroyed) and drops the blind-index entries of removed numbers and keys.
  ``updated_at`` stays as it was: stripping is no activity of the contact.

After the writes, the backend's ``after_erase`` runs once (SQLite: secure delete is on, and the WAL is
checkpointed and truncated), so that neither the old data keys nor any removed value stays in the file.

`Retention` is a base class of ``Vault``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from contactvault import crypto
from contactvault.errors import ConflictError
from contactvault.models import Contact, DirectoryEntry
from contactvault.vault import log
from contactvault.vault.backends.base import Row
from contactvault.vault.core import Core, Write, validated
from contactvault.vault.disclosures import Activity

if TYPE_CHECKING:  # the retention package (and its TOML reader) loads when a schedule is used
    from contactvault.retention import PlanItem, RetentionPlan, RetentionReceipt, Schedule, Stripped

__all__ = ["Retention", "StoredSchedule"]


@dataclass(frozen=True, slots=True)
class StoredSchedule:
    """The retention schedule in force, and the log record that stored it.

    Attributes:
        schedule: The schedule.
        stored_at: When it was stored.
        stored_by: Who stored it (the key slot that opened the vault).
        seq: The log record's sequence number.
        versions: How many schedules were stored in all (this one the newest).
    """

    schedule: Schedule
    stored_at: datetime
    stored_by: str
    seq: int
    versions: int


def _item_document(item: PlanItem, plan_now: datetime) -> dict[str, Any]:
    """A plan item as a log record's document: everything but the contact id (the record hashes it)."""
    document = item.to_dict()
    del document["contact"]
    document["now"] = plan_now.isoformat()
    return document


def _check_now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if not isinstance(now, datetime):
        raise TypeError("now must be a datetime")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now


class Retention:
    """See the module docstring; a base class of ``Vault``."""

    _core: Core

    # --- the schedule -------------------------------------------------------------------------------------

    def set_retention_schedule(self, schedule: Schedule) -> bool:
        """Store ``schedule`` as the one in force (a ``"retention_schedule"`` record of the log).

        Returns whether it was stored: a schedule equal to the one in force is not stored again. Earlier
        versions stay in the log.
        """
        from contactvault.retention import Schedule  # noqa: PLC0415  (loaded on use)

        if not isinstance(schedule, Schedule):
            raise TypeError("set_retention_schedule() takes a Schedule")
        current = self.stored_retention_schedule()
        if current is not None and current.schedule == schedule:
            return False
        detail = f"{len(schedule.rules)} rules, digest {schedule.digest()[:16]}"
        log.note(self._core, "retention_schedule", detail=detail, data=schedule.to_document())
        return True

    def stored_retention_schedule(self) -> StoredSchedule | None:
        """The schedule in force with its record (the newest stored), or ``None`` if none was stored."""
        from contactvault.retention import Schedule  # noqa: PLC0415  (loaded on use)

        records = log.activities(self._core, "retention_schedule")
        if not records:
            return None
        newest = records[-1]
        if newest.data is None:
            raise ValueError("the newest retention schedule record holds no schedule")
        return StoredSchedule(
            schedule=Schedule.from_document(newest.data),
            stored_at=newest.at,
            stored_by=newest.by,
            seq=newest.seq,
            versions=len(records),
        )

    def retention_schedule(self) -> Schedule | None:
        """The schedule in force (the newest stored), or ``None`` if none was stored."""
        stored = self.stored_retention_schedule()
        return None if stored is None else stored.schedule

    # --- the plan -----------------------------------------------------------------------------------------

    def retention_plan(self, now: datetime | None = None) -> RetentionPlan:
        """What the stored schedule erases or strips at ``now`` (default: the current time); a dry run.

        Raises:
            ValueError: No schedule is stored, or ``now`` is naive.
        """
        at = _check_now(now)
        schedule = self.retention_schedule()
        if schedule is None:
            raise ValueError("no retention schedule is stored: store one with `contactvault retention set`")
        core = self._core
        with core.checked_once():
            entries = list(core.entries())
            from contactvault.retention import plan  # noqa: PLC0415  (loaded on use)

            return plan(entries, schedule, now=at, stripped=self._stripped(entries))

    def _stripped(self, entries: Iterable[DirectoryEntry]) -> Stripped:
        """What earlier strips removed, by contact: from the log's ``"retention"`` records."""
        by_hash: dict[str, list[tuple[datetime, tuple[str, ...]]]] = {}
        for record in log.activities(self._core, "retention"):
            found = _strip_of(record)
            if found is not None:
                for contact in record.contacts:
                    by_hash.setdefault(contact, []).append(found)
        if not by_hash:
            return {}
        ids = [entry.id for entry in entries]
        hashes = log.contact_hashes(self._core, ids)
        return {cid: by_hash[h] for cid, h in zip(ids, hashes, strict=True) if h in by_hash}

    # --- applying it --------------------------------------------------------------------------------------

    def apply_retention(self, plan_or_now: RetentionPlan | datetime | None = None) -> list[RetentionReceipt]:
        """Apply the stored schedule: erase or strip each contact of the plan; one receipt per contact.

        Given a `RetentionPlan` (one that ``retention_plan`` returned, shown to a person), the plan is made
        again at its ``now`` and must be equal: if the vault or the schedule changed meanwhile,
        ``ConflictError`` and nothing is applied. Given a time (or ``None``: now), the plan at that time
        is applied. Each contact is changed in its own transaction with its ``"retention"`` log record,
        only at the version the plan saw (``ConflictError`` if another writer changed it in between; the
        contacts before it stay applied). Then the backend's ``after_erase`` runs once.

        Returns:
            The receipts, in the plan's order: ``[r.item for r in receipts] == list(plan.items)``.

        A plan for a moment that has not come yet is refused: it would erase what the schedule still
        needs today (``retention_plan`` shows such a plan, as a preview).

        Raises:
            ValueError: No schedule is stored, the time is naive, or it is in the future.
            ConflictError: The plan given is not the plan now, or a contact changed during the run.
        """
        from contactvault.retention import RetentionPlan, RetentionReceipt  # noqa: PLC0415  (loaded on use)

        planned_for = plan_or_now.now if isinstance(plan_or_now, RetentionPlan) else plan_or_now
        if planned_for is not None and _check_now(planned_for) > datetime.now(UTC):
            raise ValueError(
                "a retention plan can only be applied for a moment that has come; a plan for a later "
                "time is a preview (retention plan --now)"
            )
        if isinstance(plan_or_now, RetentionPlan):
            current = self.retention_plan(plan_or_now.now)
            if current != plan_or_now:
                raise ConflictError(
                    "the vault or its retention schedule changed since the plan was made; nothing was "
                    "applied: make the plan again"
                )
        else:
            current = self.retention_plan(plan_or_now)
        if not current.items:
            return []
        core = self._core
        applied: list[tuple[PlanItem, datetime, int, int]] = []
        try:
            for item in current.items:
                at = datetime.now(UTC)
                version, index_entries = self._apply_item(item, current.now)
                applied.append((item, at, version, index_entries))
        finally:
            truncated = core.storage.after_erase() if applied else False
        secure = core.storage.settings().get("secure_delete") == 1
        return [
            RetentionReceipt(
                item=item,
                applied_at=at,
                version=version,
                schedule_digest=current.schedule_digest,
                index_entries=index_entries,
                secure_delete=secure,
                wal_truncated=truncated,
                backend=core.storage.kind,
            )
            for item, at, version, index_entries in applied
        ]

    def _apply_item(self, item: PlanItem, plan_now: datetime) -> tuple[int, int]:
        """Erase or strip one contact at the version the plan saw; its new version and index entries gone."""
        core = self._core
        row = core.live_row(item.contact_id)
        if row.version != item.version:
            raise ConflictError(
                f"contact {item.contact_id} changed since the plan was made; the contacts before it were "
                "applied, the rest not: make the plan again",
                item.contact_id,
                stale=True,
            )
        if item.action == "erase":
            write = core.tombstone(row, datetime.now(UTC))
        else:
            current = core.records.contact(row)
            write = _stripped_write(core, row, current, item)
        document = _item_document(item, plan_now)
        log.commit(core, [write], "retention", contacts=(item.contact_id,), detail=item.rule, data=document)
        removed = set(write.old_tags) - set(write.new_tags.all)
        return write.new.version, len(removed)


def _stripped_write(core: Core, row: Row, current: Contact, item: PlanItem) -> Write:
    """The write that replaces ``row`` by the contact without ``item.removes``, under a new data key."""
    empty: dict[str, Any] = {
        name: Contact.model_fields[name].get_default(call_default_factory=True) for name in item.removes
    }
    stripped = current.model_copy(update=empty)
    # updated_at is not passed: it stays as it was (stripping is no activity of the contact).
    fresh = validated(stripped, version=row.version + 1, by=core.actor, before=(current,))
    records = core.records
    return Write(row, records.seal(fresh, crypto.random_bytes()), core.stored_tags(row), records.tags(fresh))


def _strip_of(record: Activity) -> tuple[datetime, tuple[str, ...]] | None:
    """The plan's time and the fields removed, for a ``"retention"`` record of a strip; else ``None``."""
    data = record.data
    if not isinstance(data, dict) or data.get("action") != "strip":
        return None
    removes, at = data.get("removes"), data.get("now")
    if not isinstance(removes, list) or not isinstance(at, str):
        return None
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment, tuple(str(field) for field in removes)
