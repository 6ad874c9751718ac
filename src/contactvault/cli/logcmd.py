"""``contactvault log``: the vault's log on the command line (GDPR Art. 5(2), 30(1)(d)).

Without options it lists every record, each with who made it (the user whose key slot opened the vault):
a disclosure says when, which target, export or sync, how many entries were added, removed and renamed,
how many the target held afterwards, and the policy's digest; an activity says what was done (a consent,
an erasure, an import, ...), to how many contacts, and a short detail (a purpose). ``--by`` keeps one
user's records. ``--contact`` lists the disclosures and the activities of one person (under its id and
every id merged into it); ``--at`` answers "what could the messenger see on that day?" for a target
(``--target``, or every target); ``--verify`` checks every seal and the hash chain. Numbers are masked
and names initialled unless ``--reveal``; ``--json`` on all.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from contactvault.cli._app import (
    VaultAccess,
    echo_json,
    json_option,
    mask_name,
    parse_region,
    region_option,
    resolve_contact,
    reveal_option,
    short_id,
    stdout,
    vault_options,
)
from contactvault.cli._errors import CommandError, guarded
from contactvault.phones import mask_number
from contactvault.vault import Activity, Disclosure, LogRecord, Vault

__all__ = ["COMMANDS", "log_command"]


def _when(value: str) -> datetime:
    """``--at``: an ISO date (the end of that day, UTC) or an ISO time with its time zone."""
    try:
        if len(value.strip()) == 10:
            day = datetime.fromisoformat(value.strip()).date()
            return datetime.combine(day, time.max, tzinfo=UTC)
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise CommandError(
            "--at must be a date (2025-03-31) or a time with a zone (2025-03-31T18:00+02:00)"
        ) from None
    if moment.tzinfo is None:
        raise CommandError("--at needs a time zone, e.g. 2025-03-31T18:00+02:00 or ...Z (or give a date)")
    return moment


def _targets(records: list[Disclosure], wanted: str | None) -> list[str]:
    """The log's targets named by ``--target``: one that is equal, else the only one containing it."""
    known = list(dict.fromkeys(r.target for r in records))
    if wanted is None:
        return known
    if wanted in known:
        return [wanted]
    matching = [t for t in known if wanted in t]
    if len(matching) == 1:
        return matching
    listed = "; ".join(known) if known else "none yet"
    reason = "several targets match it" if matching else "no target in the log matches it"
    raise CommandError(f"--target: {reason} (targets in the log: {listed})")


def _utc(moment: datetime) -> str:
    """A time for a table: UTC, to the minute."""
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M}"


def _record_row(record: LogRecord) -> dict[str, Any]:
    if isinstance(record, Activity):
        return {
            "seq": record.seq,
            "at": record.at.isoformat(timespec="seconds"),
            "kind": record.kind,
            "by": record.by,
            "action": record.action,
            "contacts": record.count,
            "detail": record.detail,
        }
    return {
        "seq": record.seq,
        "at": record.at.isoformat(timespec="seconds"),
        "target": record.target,
        "kind": record.kind,
        "by": record.by,
        "added": len(record.added),
        "removed": len(record.removed),
        "renamed": len(record.renamed),
        "held": record.held,
        "policy": record.policy,
    }


def _contacts(count: int) -> str:
    return f"{count} contact{'' if count == 1 else 's'}"


def _list_records(records: list[LogRecord], as_json: bool) -> None:
    rows = [_record_row(r) for r in records]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("The log is empty: nothing was changed, exported or synced yet.")
        return
    table = Table(title=f"The vault's log: {len(rows)} record(s), times in UTC")
    table.add_column("#", justify="right")
    table.add_column("time (UTC)", no_wrap=True)
    table.add_column("by", overflow="fold")
    table.add_column("what")
    table.add_column("target or detail", overflow="fold")
    table.add_column("changes", no_wrap=True)
    table.add_column("held", justify="right")
    table.add_column("policy", no_wrap=True)
    for record, row in zip(records, rows, strict=True):
        who = Text(row["by"] if row["by"] is not None else "-")
        if isinstance(record, Activity):
            cells = (row["action"], Text(row["detail"]), _contacts(row["contacts"]), "", "")
        else:
            changes = f"+{row['added']} -{row['removed']} ~{row['renamed']}"
            cells = (row["kind"], Text(row["target"]), changes, str(row["held"]), row["policy"][:8])
        table.add_row(str(row["seq"]), _utc(record.at), who, *cells)
    stdout().print(table)


def _contact_log(vault: Vault, reference: str, region: str | None, reveal: bool, as_json: bool) -> None:
    contact_id = resolve_contact(vault, reference, region=region)
    found = vault.disclosures_of(contact_id)
    done = [_record_row(record) for record in vault.activity_of(contact_id)]
    rows: list[dict[str, Any]] = [
        {
            "seq": d.seq,
            "at": d.at.isoformat(timespec="seconds"),
            "target": d.target,
            "kind": d.kind,
            "change": d.change,
            "number": d.number if reveal else mask_number(d.number),
            "under_id": str(d.contact_id) if d.contact_id is not None else None,
        }
        for d in found
    ]
    if as_json:
        echo_json({"contact": str(contact_id), "disclosures": rows, "activity": done})
        return
    _activity_table(contact_id, done)
    if not rows:
        click.echo(f"{short_id(contact_id)}: no disclosure of this contact's numbers in the log.")
        return
    table = Table(title=f"Disclosures of {short_id(contact_id)}, times in UTC")
    table.add_column("#", justify="right")
    table.add_column("time (UTC)", no_wrap=True)
    table.add_column("target", overflow="fold")
    table.add_column("kind")
    table.add_column("change")
    table.add_column("number", no_wrap=True)
    for d, row in zip(found, rows, strict=True):
        table.add_row(
            str(row["seq"]), _utc(d.at), Text(row["target"]), row["kind"], row["change"], Text(row["number"])
        )
    stdout().print(table)


def _activity_table(contact_id: uuid.UUID, rows: list[dict[str, Any]]) -> None:
    """Who did what to the contact: its activity records."""
    if not rows:
        click.echo(f"{short_id(contact_id)}: no activity concerning this contact in the log.")
        return
    table = Table(title=f"Activity concerning {short_id(contact_id)}, times in UTC")
    table.add_column("#", justify="right")
    table.add_column("time (UTC)", no_wrap=True)
    table.add_column("by", overflow="fold")
    table.add_column("what")
    table.add_column("detail", overflow="fold")
    table.add_column("contacts", justify="right")
    for row in rows:
        at = datetime.fromisoformat(row["at"])
        cells = (Text(row["by"]), row["action"], Text(row["detail"]), str(row["contacts"]))
        table.add_row(str(row["seq"]), _utc(at), *cells)
    stdout().print(table)


def _visible(
    vault: Vault, records: list[Disclosure], target: str | None, at: datetime, reveal: bool, as_json: bool
) -> None:
    names = {entry.id: entry.display_name for entry in vault}
    out: list[dict[str, Any]] = []
    for name in _targets(records, target):
        entries = [
            {
                "uid": held.uid,
                "contact": str(held.contact_id) if held.contact_id is not None else None,
                "name": None
                if held.contact_id is None
                else (names[held.contact_id] if reveal else mask_name(names[held.contact_id])),
                "number": None
                if held.number is None
                else (held.number if reveal else mask_number(held.number)),
            }
            for held in vault.held_at(name, at)
        ]
        out.append({"target": name, "at": at.isoformat(timespec="seconds"), "entries": entries})
    if as_json:
        echo_json(out)
        return
    if not out:
        click.echo("The disclosure log is empty: no target could see anything.")
    for item in out:
        count = len(item["entries"])
        click.echo(f"{item['target']} at {item['at']}: {count} entr{'y' if count == 1 else 'ies'}")
        if not count:
            continue
        table = Table()
        table.add_column("contact")
        table.add_column("name", overflow="fold")
        table.add_column("number", no_wrap=True)
        for entry in item["entries"]:
            if entry["contact"] is None:
                table.add_row("(gone)", "no longer in the vault (erased, or the number removed)", "")
            else:
                table.add_row(entry["contact"][:8], Text(entry["name"]), Text(entry["number"]))
        stdout().print(table)


@click.command("log")
@click.option(
    "--contact", "contact", help="Only the disclosures and activity of this contact (its id or a number)."
)
@click.option("--by", "by", help="Only the records of this user (the name of a key slot).")
@click.option(
    "--at", "at", help="What the target(s) could see then: a date (end of day, UTC) or an ISO time."
)
@click.option("--target", help="With --at: the target (as the log names it, or a unique part of it).")
@click.option("--verify", "check", is_flag=True, help="Check every record's seal and the hash chain.")
@reveal_option
@region_option
@json_option
@vault_options
@guarded
def log_command(
    contact: str | None,
    by: str | None,
    at: str | None,
    target: str | None,
    check: bool,
    reveal: bool,
    region: str | None,
    as_json: bool,
    access: VaultAccess,
) -> None:
    """Show the vault's log: who changed, exported or synced what, one person's records, or what a target saw.

    Nothing is changed. The log holds keyed hashes, never names or numbers; this command shows the names
    and numbers of contacts still in the vault (masked unless --reveal).
    """
    if target is not None and at is None:
        raise CommandError("--target goes with --at")
    if contact is not None and at is not None:
        raise CommandError("give --contact or --at, not both")
    if by is not None and (contact is not None or at is not None or check):
        raise CommandError("--by goes alone (with --json)")
    moment = _when(at) if at is not None else None
    default_region = parse_region(region)
    with access.open() as vault:
        records = vault.activity()  # every seal, the order and the hash chain are checked here
        if check:
            state = vault.verify()
            payload = {"ok": True, "records": len(records), "checked": state.disclosures}
            if as_json:
                echo_json(payload)
            else:
                click.echo(f"{access.name}: log OK ({len(records)} records, seals and hash chain)")
            return
        if contact is not None:
            _contact_log(vault, contact, default_region, reveal, as_json)
        elif moment is not None:
            disclosures = [r for r in records if isinstance(r, Disclosure)]
            _visible(vault, disclosures, target, moment, reveal, as_json)
        else:
            _list_records([r for r in records if by is None or r.by == by], as_json)


COMMANDS: list[click.Command] = [log_command]
