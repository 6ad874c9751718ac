"""The commands ``retention set``, ``show``, ``plan`` and ``apply`` (issue 16, storage limitation).

- ``retention set FILE`` stores a schedule (TOML or JSON, see ``contactvault.retention.schedule``) in the
  vault's log; the newest stored is in force.
- ``retention show`` prints the schedule in force.
- ``retention plan`` is the dry run: who (a short id; the name only with ``--reveal``), which rule, why,
  from when, which fields.
- ``retention apply`` applies the plan after a confirmation (asked with the vault closed; the plan is
  made again and must be unchanged), prints one receipt per contact and writes them to ``--receipts``.

None of them prints a number, an e-mail address or another CRM value; a name only with ``--reveal``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import click

from contactvault.cli._app import (
    VaultAccess,
    confirm,
    echo_json,
    json_option,
    lang_option,
    mask_name,
    need_terminal,
    parse_moment,
    reveal_option,
    short_id,
    vault_options,
)
from contactvault.cli._errors import EXIT_BAD_INPUT, CommandError, guarded, note_written
from contactvault.export.minimal import write_atomically
from contactvault.i18n import Lang
from contactvault.retention import RetentionPlan, RetentionReceipt, Rule, Schedule, read_schedule
from contactvault.vault import Vault

__all__ = ["COMMANDS", "retention_group"]


@click.group("retention", short_help="The retention schedule: store it, plan and apply it (Art. 5(1)(e)).")
def retention_group() -> None:
    """Storage limitation: a retention schedule stored in the vault, its dry run, and its application."""


def _now(value: str | None) -> datetime:
    return parse_moment(value, "--now") if value is not None else datetime.now(UTC)


def _rule_line(rule: Rule) -> str:
    """One rule in words: which contacts, after how long, what happens (no personal data in a rule)."""
    selector = rule.contacts
    parts = []
    if selector.no_basis is not None:
        parts.append("no legal basis for any purpose" if selector.no_basis else "some legal basis holds")
    if selector.no_basis_for is not None:
        parts.append(f"no legal basis for {selector.no_basis_for}")
    if selector.label is not None:
        parts.append(f"label {selector.label!r}")
    parts.append("restricted" if selector.restricted else "not restricted")
    what = "erase" if rule.action == "erase" else f"strip all but {', '.join(rule.keep) or 'the name'}"
    return f"{rule.name}: {'; '.join(parts)}; no activity for {rule.inactive_months} months -> {what}"


def _schedule_lines(schedule: Schedule) -> list[str]:
    lines = []
    for purpose, needs in schedule.purposes.items():
        extra = []
        if needs.consent_refresh_months is not None:
            extra.append(f"a consent counts {needs.consent_refresh_months} months")
        if needs.needed_months is not None:
            extra.append(f"needed {needs.needed_months} months after the last activity")
        suffix = f" ({'; '.join(extra)})" if extra else ""
        lines.append(f"  purpose {purpose}: needs {', '.join(needs.needs) or 'the name only'}{suffix}")
    lines += [f"  rule {_rule_line(rule)}" for rule in schedule.rules]
    return lines


@retention_group.command("set")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@json_option
@vault_options
@guarded
def set_command(file: Path, as_json: bool, access: VaultAccess) -> None:
    """Store the retention schedule FILE (.toml or .json) in the vault; the newest stored is in force."""
    try:
        schedule = read_schedule(file)
    except ValueError as exc:
        raise CommandError(str(exc), EXIT_BAD_INPUT) from None
    with access.open() as vault:
        stored = vault.set_retention_schedule(schedule)
    if as_json:
        echo_json({"stored": stored, "digest": schedule.digest(), "rules": len(schedule.rules)})
        return
    state = "Stored" if stored else "Unchanged: the vault already holds"
    click.echo(f"{state} the retention schedule {schedule.digest()[:16]} ({len(schedule.rules)} rules).")
    for line in _schedule_lines(schedule):
        click.echo(line)


@retention_group.command("show")
@json_option
@vault_options
@guarded
def show_command(as_json: bool, access: VaultAccess) -> None:
    """Print the retention schedule in force."""
    with access.open() as vault:
        stored = vault.stored_retention_schedule()
    if stored is None:
        if as_json:
            echo_json(None)
        else:
            click.echo("No retention schedule is stored (store one with `contactvault retention set FILE`).")
        return
    schedule = stored.schedule
    if as_json:
        echo_json(
            {
                "schedule": schedule.to_document(),
                "digest": schedule.digest(),
                "stored_at": stored.stored_at.isoformat(),
                "stored_by": stored.stored_by,
                "versions": stored.versions,
            }
        )
        return
    click.echo(
        f"Retention schedule {schedule.digest()[:16]}, stored {stored.stored_at:%Y-%m-%d %H:%M} by "
        f"{stored.stored_by} (version {stored.versions} of the schedule)"
    )
    for line in _schedule_lines(schedule):
        click.echo(line)


def _plan(vault: Vault, now: datetime) -> RetentionPlan:
    try:
        return vault.retention_plan(now)
    except ValueError as exc:
        raise CommandError(str(exc)) from None


def _names(vault: Vault, plan: RetentionPlan, reveal: bool) -> dict[uuid.UUID, str]:
    """Each selected contact as shown: the short id, and with ``reveal`` its name (masked otherwise)."""
    shown = {}
    for item in plan.items:
        name = vault.directory_entry(item.contact_id).display_name
        shown[item.contact_id] = f"{short_id(item.contact_id)} {name if reveal else mask_name(name)}"
    return shown


def _plan_lines(plan: RetentionPlan, shown: dict[uuid.UUID, str]) -> list[str]:
    if not plan.items:
        return [f"Nothing to do at {plan.now.isoformat(timespec='seconds')}."]
    lines = [f"{len(plan.items)} contacts at {plan.now.isoformat(timespec='seconds')}:"]
    for item in plan.items:
        what = "erase" if item.action == "erase" else f"strip {', '.join(item.removes)}"
        lines.append(
            f"  {shown[item.contact_id]}: {what} (rule {item.rule}; {', '.join(item.reasons)}; since "
            f"{item.since:%Y-%m-%d}; last activity {item.last_activity:%Y-%m-%d})"
        )
    return lines


@retention_group.command("plan")
@click.option("--now", "now_text", help="Plan for this moment (ISO 8601 with a time zone); default: now.")
@reveal_option
@json_option
@vault_options
@guarded
def plan_command(now_text: str | None, reveal: bool, as_json: bool, access: VaultAccess) -> None:
    """The dry run: who the stored schedule erases or strips, by which rule, why, from when, which fields."""
    now = _now(now_text)
    with access.open() as vault:
        plan = _plan(vault, now)
        shown = _names(vault, plan, reveal) if not as_json else {}
    if as_json:
        echo_json(plan.to_dict())
        return
    for line in _plan_lines(plan, shown):
        click.echo(line)


def _write_receipts(folder: Path, receipts: list[RetentionReceipt], lang: Lang) -> None:
    for receipt in receipts:
        stem = f"retention-{receipt.contact_id}"
        write_atomically(folder / f"{stem}.json", receipt.to_json().encode("utf-8"))
        write_atomically(folder / f"{stem}.md", receipt.to_markdown(lang).encode("utf-8"))
        note_written()
    click.echo(f"Wrote {len(receipts)} receipts into {folder.name or folder}.", err=True)


@retention_group.command("apply")
@click.option("--now", "now_text", help="Apply the plan for this moment (ISO 8601 with a time zone).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--receipts",
    "folder",
    type=click.Path(path_type=Path, file_okay=False),
    help="Also write each receipt into this existing folder, as JSON and Markdown (mode 0600).",
)
@lang_option("The language of the receipts' Markdown.")
@json_option
@vault_options
@guarded
def apply_command(
    now_text: str | None,
    yes: bool,
    folder: Path | None,
    lang: str,
    as_json: bool,
    access: VaultAccess,
) -> None:
    """Apply the stored schedule: erase or strip the contacts of the plan, one receipt per contact.

    Erased contacts are crypto-shredded as `erase` does; a stripped contact's remaining fields are sealed
    under a new key, so the removed values cannot be decrypted again. Without --yes, the plan is shown
    and a confirmation asked with the vault closed; the plan is then made again and must be unchanged.
    """
    now = _now(now_text)
    if now > datetime.now(UTC):
        raise CommandError(
            "--now is in the future: a plan for a later time is a preview (retention plan --now); "
            "apply erases only what is due now"
        )
    language = cast("Lang", lang)
    if folder is not None and not folder.is_dir():
        raise CommandError(f"{folder.name or folder}: no such folder for --receipts")
    if not yes:
        need_terminal("the command asks before it changes anything: give --yes")
    access.require()
    unlock = access.unlock_args()
    with access.open(unlock) as vault:
        plan = _plan(vault, now)
        if yes or not plan.items:
            receipts = vault.apply_retention(plan)
        else:
            lines = _plan_lines(plan, _names(vault, plan, reveal=False))
    if not yes and plan.items:
        for line in lines:
            click.echo(line, err=True)
        if not confirm(f"Apply the retention schedule to {len(plan.items)} contacts? This cannot be undone"):
            click.echo("Nothing was changed.", err=True)
            return
        with access.open(unlock) as vault:
            receipts = vault.apply_retention(plan)  # ConflictError if the plan changed meanwhile
    if folder is not None and receipts:
        _write_receipts(folder, receipts, language)
    if as_json:
        echo_json(_apply_json(plan, receipts))
        return
    if not receipts:
        click.echo(f"Nothing to do at {plan.now.isoformat(timespec='seconds')}.")
        return
    for receipt in receipts:
        item = receipt.item
        what = "erased" if item.action == "erase" else f"stripped {', '.join(item.removes)}"
        click.echo(f"{short_id(item.contact_id)}: {what} (rule {item.rule}; version {receipt.version})")


def _apply_json(plan: RetentionPlan, receipts: list[RetentionReceipt]) -> dict[str, Any]:
    return {
        "now": plan.now.isoformat(),
        "schedule": plan.schedule_digest,
        "receipts": [r.to_dict() for r in receipts],
    }


COMMANDS: list[click.Command] = [retention_group]
