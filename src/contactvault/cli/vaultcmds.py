"""The vault commands: init, list, show, passwd and verify.

A contact is named by its id, the first 8 or more hex digits of it, or one of its phone numbers
(``--region`` reads a number without a country code). Names and numbers are masked in every output unless
``--reveal`` is given: a name shows its initials, a number its country code and last two digits. ``list``
and ``show`` read the directory compartment only; ``show --reveal --full`` also decrypts the CRM payload.

The commands that record consents and rights are in `contactvault.cli.rights`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final, TypeVar, get_args

import click

from contactvault.cli._app import (
    VaultAccess,
    check_user_name,
    echo_json,
    json_option,
    mask_name,
    need_terminal,
    new_passphrase,
    parse_region,
    read_secret_file,
    region_option,
    resolve_contact,
    reveal_option,
    vault_options,
)
from contactvault.cli._errors import CommandError, guarded, note_written, track
from contactvault.cli._lines import NAME_WIDTH, fit, masked, write_lines, write_styled
from contactvault.errors import VaultExists, VaultNotFound
from contactvault.files import make_private_dir
from contactvault.models import (
    DIRECTORY_FIELDS,
    ConsentChannel,
    Contact,
    DirectoryEntry,
    GdprBasis,
    Phone,
)
from contactvault.phones import mask_number
from contactvault.vault import Vault, VerifyReport, default_vault_path
from contactvault.vault.header import OWNER

__all__ = [
    "COMMANDS",
    "init_command",
    "list_command",
    "passwd_command",
    "print_recovery_key",
    "show_command",
    "verify_command",
]

_F = TypeVar("_F", bound=Callable[..., Any])

_CHANNELS: Final = get_args(ConsentChannel)
_ARTICLES: Final = get_args(GdprBasis)
_PAYLOAD_FIELDS: Final = tuple(name for name in Contact.model_fields if name not in DIRECTORY_FIELDS)
_FUTURE_SLACK: Final = timedelta(minutes=5)
"""How far ``--at`` may lie ahead of this computer's clock (clocks differ a little)."""
_HIDDEN: Final = "hidden (--reveal shows it)"


# --- shared options and helpers ---------------------------------------------------------------------------


def _number(phone: Phone, reveal: bool) -> str:
    """The E.164 form (or the number as typed, if it has none), masked unless ``reveal``."""
    value = phone.e164 if phone.e164 is not None else phone.raw
    return value if reveal else mask_number(value)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds")


# --- init --------------------------------------------------------------------------------------------------


@click.command("init")
@click.option(
    "--recovery-key",
    is_flag=True,
    help="Also create a recovery key (shown once) that opens the vault without the passphrase.",
)
@json_option
@vault_options
@guarded
def init_command(recovery_key: bool, as_json: bool, access: VaultAccess) -> None:
    """Create a new, empty vault (asks for the new passphrase twice unless a passphrase file is given).

    Its first user is --user NAME ("owner" without it); `contactvault user add` adds more. An existing
    file is never overwritten. The default location's folders are created with mode 0700.
    """
    if access.service_key_file is not None:
        raise CommandError("a new vault's first user is a person with a passphrase, not a service key")
    user = access.user or OWNER
    check_user_name(user)
    default = False
    if access.is_file:
        path = access.path
        if path.exists() or path.is_symlink():
            raise VaultExists(f"{path.name} already exists; contactvault never overwrites a vault")
        default = path == default_vault_path()
        if not default and not path.parent.is_dir():  # said before the passphrase is asked for
            raise VaultNotFound(f"the folder for {path.name} does not exist")
    passphrase = access.passphrase(new=True, prompt="New passphrase")
    if default:  # each missing folder on the way (~/.local, ~/.local/share, ...) private, whatever the umask
        make_private_dir(access.path.parent)
    with Vault.create(access.location, passphrase, user=user, recovery_key=recovery_key) as vault:
        track(vault)
        note_written()  # the new vault file itself
        key = vault.recovery_key
        kdf = vault.kdf
    if as_json:
        echo_json(
            {
                "path": str(access.location) if access.is_file else access.name,
                "kdf": {
                    "name": "Argon2id",
                    "memory_kib": kdf.memory_kib,
                    "iterations": kdf.iterations,
                    "lanes": kdf.lanes,
                },
                "user": user,
                "recovery_key": key,
            }
        )
        return
    where = access.location if access.is_file else access.name
    named = f", first user {user}" if user != OWNER else ""
    click.echo(
        f"Created {where} (Argon2id: {kdf.memory_kib // 1024} MiB, {kdf.iterations} iterations, "
        f"{kdf.lanes} lanes{named})."
    )
    if key is not None:
        print_recovery_key(key)


def print_recovery_key(key: str) -> None:
    """Show a new recovery key once, with what it does and how to use it (``init``, ``rekey``)."""
    click.echo(
        "Recovery key, shown this once. It opens the vault without the passphrase: write it down or "
        "print it, keep it offline and never beside the vault."
    )
    click.echo(f"  {key}")
    click.echo(
        "If the passphrase is ever lost: put the key in a file and run `contactvault passwd "
        "--recovery-key-file FILE` to set a new one (or `contactvault restore --recovery-key-file FILE`)."
    )


# --- list and show ------------------------------------------------------------------------------------------


def _list_row(entry: DirectoryEntry, reveal: bool) -> dict[str, Any]:
    active = sum(1 for c in entry.consents if not c.withdrawn)
    return {
        "id": str(entry.id),
        "name": entry.display_name if reveal else mask_name(entry.display_name),
        "numbers": [_number(p, reveal) for p in entry.phones],
        "consents_active": active,
        "consents": len(entry.consents),
        "labels": len(entry.labels),
        "restricted": entry.restricted_at is not None,
    }


_LIST_HEADER: Final = f"{'id':<8}  {{name}}  consents  labels  restricted  numbers"


def _list_line(entry: DirectoryEntry, reveal: bool) -> str:
    """One contact as one line of ``list``: id, name (fixed width), counts, restriction, then every number."""
    if reveal:
        name = entry.display_name
        numbers = ", ".join(p.raw if p.e164 is None else p.e164 for p in entry.phones)
    else:
        name = mask_name(entry.display_name)
        numbers = ", ".join(masked(p.raw if p.e164 is None else p.e164) for p in entry.phones)
    consents = entry.consents
    active = sum(1 for c in consents if not c.withdrawn) if consents else 0
    restricted = "yes" if entry.restricted_at is not None else ""
    short = f"{entry.id.int >> 96:08x}"  # id.hex[:8]: the top 32 of its 128 bits
    line = f"{short}  {fit(name, NAME_WIDTH[reveal])}  {active:>8}  {len(entry.labels):>6}  "
    return f"{line}{restricted:<10}  {numbers}".rstrip()


@click.command("list")
@reveal_option
@json_option
@vault_options
@guarded
def list_command(reveal: bool, as_json: bool, access: VaultAccess) -> None:
    """List every contact: short id, name, numbers, active consents, labels, restriction.

    One line per contact, written a hundred at a time as they are made (no table of every contact is
    built first), in fixed columns: the short id, the name (cut with … when it is longer than the column), the
    active consents, the labels, whether processing is restricted, and then every number. The last line
    counts the contacts. Piped, the lines are the same, without styling. --json prints everything in full.

    Names show their initials and numbers their country code and last two digits unless --reveal.
    Only the directory is read; no CRM payload (e-mail, addresses, notes) is decrypted.
    """
    with access.open() as vault:
        if as_json:
            rows = [_list_row(entry, reveal) for entry in vault]
        else:
            _print_list(vault, reveal)
            return
    echo_json(rows)


def _print_list(vault: Vault, reveal: bool) -> None:
    """``list``'s lines, written in chunks as the directory is read; the header first, the count last.

    The header (bold) and the count (dim) are what rich's console prints (`write_styled`).
    """
    entries = iter(vault)
    first = next(entries, None)
    if first is None:
        write_styled("No contacts.")
        return
    write_styled(_LIST_HEADER.format(name=fit("name", NAME_WIDTH[reveal])), "bold")
    count = write_lines(_list_line(entry, reveal) for entry in itertools.chain((first,), entries))
    write_styled(f"{count} contact{'s' if count != 1 else ''}", "dim")


def _phone_dict(phone: Phone, reveal: bool) -> dict[str, Any]:
    presence = phone.messenger
    return {
        "number": _number(phone, reveal),
        "normalised": phone.valid,
        "kind": phone.kind,
        "problem": phone.problem,
        "messenger": None
        if presence is None
        else {
            "present": presence.present,
            "source": presence.source,
            "checked_at": _iso(presence.checked_at),
        },
    }


def _entry_dict(entry: DirectoryEntry, reveal: bool) -> dict[str, Any]:
    """The directory fields as ``show --json`` prints them; hidden values are ``null``."""
    return {
        "id": str(entry.id),
        "version": entry.version,
        "display_name": entry.display_name if reveal else mask_name(entry.display_name),
        "name": entry.name.model_dump() if reveal else None,
        "birth_date": (entry.birth_date.isoformat() if entry.birth_date else None) if reveal else None,
        "birth_date_known": entry.birth_date is not None,
        "created_at": _iso(entry.created_at),
        "updated_at": _iso(entry.updated_at),
        "phones": [_phone_dict(p, reveal) for p in entry.phones],
        "consents": [
            {
                "purpose": c.purpose,
                "active": not c.withdrawn,
                "granted_at": _iso(c.granted_at),
                "channel": c.channel,
                "notice_id": c.notice_id,
                "notice_version": c.notice_version,
                "recorded_by": c.recorded_by if reveal else None,
                "evidence_ref": c.evidence_ref if reveal else None,
                "withdrawn_at": _iso(c.withdrawn_at),
                "withdrawal_channel": c.withdrawal_channel,
                "withdrawn_by": c.withdrawn_by if reveal else None,
            }
            for c in entry.consents
        ],
        "legal_bases": [
            {
                "article": b.article,
                "purpose": b.purpose,
                "recorded_at": _iso(b.recorded_at),
                "justification": b.justification if reveal else None,
                "recorded_by": b.recorded_by if reveal else None,
            }
            for b in entry.legal_bases
        ],
        "restricted_at": _iso(entry.restricted_at),
        "objections": [
            {
                "purpose": o.purpose,
                "objected_at": _iso(o.objected_at),
                "recorded_by": o.recorded_by if reveal else None,
            }
            for o in entry.objections
        ],
        "labels": [{"name": lb.name, "colour": lb.colour} for lb in entry.labels] if reveal else None,
        "label_count": len(entry.labels),
    }


def _crm_item(item: object) -> str:
    """One CRM value as one line: a structured one (an address, a source) as its filled-in parts."""
    if isinstance(item, dict) and set(item) == {"year", "month", "day"}:  # a birthday, maybe without year
        year = f"{item['year']:04d}" if item["year"] is not None else "-"
        return f"{year}-{item['month']:02d}-{item['day']:02d}"
    if isinstance(item, dict):
        parts = (f"{v}" for k, v in item.items() if k not in {"types", "preferred"} and v not in (None, ""))
        return ", ".join(parts)
    return "" if item is None else str(item)


def _show_text(data: dict[str, Any], crm: dict[str, Any] | None) -> None:
    """Print ``show``'s result as plain lines (no markup: values are printed as they are)."""
    echo = click.echo
    echo(f"Contact {data['id']} (version {data['version']})")
    echo(f"  name:        {data['display_name']}")
    if data["name"] is not None:
        parts = ", ".join(f"{k} {v}" for k, v in data["name"].items() if v)
        echo(f"  name parts:  {parts or '-'}")
    if data["birth_date_known"]:
        echo(f"  birth date:  {data['birth_date'] or _HIDDEN}")
    echo(f"  created:     {data['created_at']}")
    echo(f"  updated:     {data['updated_at']}")
    echo(f"Numbers ({len(data['phones'])}):")
    for p in data["phones"]:
        state = p["kind"] if p["normalised"] else f"not normalised: {p['problem']}"
        m = p["messenger"]
        seen = (
            "unknown"
            if m is None
            else f"{'yes' if m['present'] else 'no'} ({m['source']}, {m['checked_at']})"
        )
        echo(f"  {p['number']}  {state}  messenger: {seen}")
    echo(f"Consents ({len(data['consents'])}):")
    for c in data["consents"]:
        state = "active" if c["active"] else f"withdrawn {c['withdrawn_at']} ({c['withdrawal_channel']})"
        line = (
            f"  {c['purpose']}: granted {c['granted_at']} ({c['channel']}), notice {c['notice_id']} "
            f"v{c['notice_version']}, {state}"
        )
        if c["recorded_by"] is not None:
            line += f"; recorded by {c['recorded_by']}"
        if c["withdrawn_by"] is not None:
            line += f"; withdrawal recorded by {c['withdrawn_by']}"
        if c["evidence_ref"]:
            line += f"; evidence {c['evidence_ref']}"
        echo(line)
    echo(f"Legal bases ({len(data['legal_bases'])}):")
    for b in data["legal_bases"]:
        line = f"  Art. {b['article']} for {b['purpose']}, recorded {b['recorded_at'] or '-'}"
        if b["recorded_by"] is not None:
            line += f" by {b['recorded_by']}"
        if b["justification"] is not None:
            line += f": {b['justification']}"
        echo(line)
    echo(f"Restricted (Art. 18): {data['restricted_at'] or 'no'}")
    echo(f"Objections (Art. 21) ({len(data['objections'])}):")
    for o in data["objections"]:
        echo(
            f"  {o['purpose']}: {o['objected_at']}"
            + (f", recorded by {o['recorded_by']}" if o["recorded_by"] else "")
        )
    if data["labels"] is None:
        echo(f"Labels: {data['label_count']}" + (f", {_HIDDEN}" if data["label_count"] else ""))
    else:
        echo(f"Labels: {', '.join(lb['name'] for lb in data['labels']) or '-'}")
    if crm is not None:
        echo("CRM fields:")
        for name, value in crm.items():
            for item in value if isinstance(value, list) else [value]:
                shown = _crm_item(item)
                if shown:
                    echo(f"  {name}: {shown}")


@click.command("show")
@click.argument("contact")
@region_option
@reveal_option
@click.option(
    "--full", is_flag=True, help="With --reveal: also the CRM fields (e-mail, addresses, notes...)."
)
@json_option
@vault_options
@guarded
def show_command(
    contact: str, region: str | None, reveal: bool, full: bool, as_json: bool, access: VaultAccess
) -> None:
    """Show one contact: numbers, consents, legal bases, restriction, objections, labels, messenger.

    CONTACT is its id, the first 8 or more hex digits of it, or one of its numbers. Names and numbers are
    masked unless --reveal; --reveal --full also decrypts the CRM fields.
    """
    if full and not reveal:
        raise CommandError("--full shows the CRM fields in full and needs --reveal")
    default_region = parse_region(region)
    crm: dict[str, Any] | None = None
    with access.open() as vault:
        contact_id = resolve_contact(vault, contact, region=default_region)
        entry = vault.directory_entry(contact_id)
        if full:
            # The import's bookkeeping (digests of what the card said) is no CRM field a person reads.
            crm = vault.get(contact_id).model_dump(mode="json", include=set(_PAYLOAD_FIELDS))
            if crm.get("source"):
                crm["source"].pop("imported", None)
    data = _entry_dict(entry, reveal)
    if as_json:
        echo_json(data if crm is None else {**data, "crm": crm})
    else:
        _show_text(data, crm)


# --- passwd and verify -------------------------------------------------------------------------------------


@click.command("passwd")
@click.argument("name", required=False)
@click.option(
    "--new-passphrase-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Read the new passphrase from the first line of this file (default: asked twice, without echo).",
)
@click.option(
    "--recovery-key-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Open the vault with the recovery key in this file (the one `init --recovery-key` showed) "
    "instead of the current passphrase: for a passphrase that is lost.",
)
@vault_options
@guarded
def passwd_command(
    name: str | None, new_passphrase_file: Path | None, recovery_key_file: Path | None, access: VaultAccess
) -> None:
    """Change your passphrase, or user NAME's (the recovery key, if any, keeps working).

    `contactvault passwd` and `contactvault user passwd` are the same command. You unlock as every
    command does (--passphrase-file, CONTACTVAULT_PASSPHRASE_FILE or a prompt; --user in a vault with
    several users), or with the recovery key from --recovery-key-file when the passphrase is lost; the
    new one comes from --new-passphrase-file or a prompt (twice). None of them is ever a command-line
    argument.
    """
    access.require()
    if new_passphrase_file is None:  # said before anything is read or opened
        need_terminal("no new passphrase: give --new-passphrase-file")
    current: str | None = None
    if recovery_key_file is not None:
        key = read_secret_file(recovery_key_file, "recovery key file")
        opened = track(Vault.open_with_recovery_key(access.location, key))
        target = name or access.user
    else:
        unlock = access.unlock_args()
        opened = track(unlock.open(access.location))
        current, target = unlock.passphrase, name
    with opened as vault:
        people = [u.name for u in vault.users() if u.kind == "person"]
        if target is None and recovery_key_file is not None:
            if len(people) != 1:
                raise CommandError(
                    "opened with the recovery key: name the person whose passphrase to set "
                    "(contactvault user passwd NAME --recovery-key-file FILE)"
                )
            target = people[0]
        by = vault.user
        whose = target or by
        new = new_passphrase(new_passphrase_file)
        if whose == by and new == current:
            raise CommandError("the new passphrase is the same as the current one")
        vault.change_passphrase(new, user=whose)
        recovery = vault.has_recovery_key
        several = sum(1 for u in vault.users() if u.kind != "recovery key") > 1
    of = f" of {whose}" if several else ""
    how = " with the recovery key" if recovery_key_file is not None else f" by {by}" if whose != by else ""
    kept = "; the recovery key keeps working" if recovery else ""
    click.echo(f"Passphrase{of} changed for {access.name}{how}{kept}.")


_CHECKED: Final = (
    "SQLite page structure",
    "header MAC",
    "row-set digest (no row deleted, added, swapped or rolled back)",
    "disclosure log (seals, order, hash chain)",
    "every sealed record, CRM payloads included",
    "blind index against every contact's numbers, UIDs, external id and card (each UID and key once)",
)


@click.command("verify")
@json_option
@vault_options
@guarded
def verify_command(as_json: bool, access: VaultAccess) -> None:
    """Check the whole vault, decrypting every record once; a damaged vault exits with 3."""
    with access.open() as vault:
        report = vault.verify()
    if as_json:
        echo_json(
            {
                "ok": True,
                "contacts": report.contacts,
                "erased": report.erased,
                "index_entries": report.index_entries,
                "generation": report.generation,
                "seen_generation": report.seen_generation,
                "checked": list(_CHECKED),
            }
        )
        return
    click.echo(f"{access.name}: OK")
    for item in _CHECKED:
        click.echo(f"  checked: {item}")
    click.echo(
        f"  {report.contacts} contacts, {report.erased} erased, {report.index_entries} blind index entries"
    )
    click.echo(f"  state generation {report.generation}; {_seen(report)}")


def _seen(report: VerifyReport) -> str:
    """What this client's memory of the vault (rollback detection) holds, in words."""
    if report.seen_generation is None or report.seen_at is None:
        return "not in this client's memory"
    return f"this client's memory: generation {report.seen_generation}, seen on {report.seen_at:%Y-%m-%d}"


COMMANDS: list[click.Command] = [
    init_command,
    list_command,
    show_command,
    passwd_command,
    verify_command,
]
