"""Storage limitation (GDPR Art. 5(1)(e)): the retention schedule, its plan, and the receipts of its steps.

A `Schedule` (read from TOML or JSON with `read_schedule`) names the purposes still needed and the rules
that erase or strip contacts after a period without activity; `plan` computes, as a pure function of the
directory entries, the schedule and ``now``, which contacts a schedule selects, why and from when
(:mod:`.plan` defines every term); `RetentionReceipt` is the proof of one contact's step.

The package holds no storage and opens no vault: the vault stores the schedule in its log and applies the
plan (``Vault.set_retention_schedule``, ``Vault.retention_plan``, ``Vault.apply_retention``).
"""

from __future__ import annotations

from contactvault.retention.plan import (
    PLAN_SCHEMA,
    PlanItem,
    Reason,
    RetentionPlan,
    Stripped,
    add_months,
    basis_holds,
    last_activity,
    plan,
    protected_purposes,
)
from contactvault.retention.receipts import RECEIPT_SCHEMA, RetentionReceipt
from contactvault.retention.schedule import (
    ALWAYS_KEPT,
    MAX_SCHEDULE_BYTES,
    SCHEDULE_SCHEMA,
    STRIPPABLE,
    Action,
    PurposeNeeds,
    Rule,
    Schedule,
    Selector,
    StripField,
    parse_schedule,
    read_schedule,
)

__all__ = [
    "ALWAYS_KEPT",
    "MAX_SCHEDULE_BYTES",
    "PLAN_SCHEMA",
    "RECEIPT_SCHEMA",
    "SCHEDULE_SCHEMA",
    "STRIPPABLE",
    "Action",
    "PlanItem",
    "PurposeNeeds",
    "Reason",
    "RetentionPlan",
    "RetentionReceipt",
    "Rule",
    "Schedule",
    "Selector",
    "StripField",
    "Stripped",
    "add_months",
    "basis_holds",
    "last_activity",
    "parse_schedule",
    "plan",
    "protected_purposes",
    "read_schedule",
]
