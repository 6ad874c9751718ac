"""``contactvault add``, ``edit``, ``duplicates`` and ``merge``: keeping the contacts themselves right.

``add`` stores one contact typed on the command line; ``edit`` changes one, by options or, with
``--editor``, as a vCard form in ``$VISUAL``/``$EDITOR`` (checked on save; a form that cannot be read is
reopened with the problem on top). ``duplicates`` lists contacts that share a number, ``merge`` joins them
(after a confirmation asked before the vault is opened for the change). Every change goes through the
contact model's validation and prints one line with the short id, never a name or a number.
"""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, TypedDict, TypeVar

import click
from rich.table import Table
from rich.text import Text

from contactvault.cli._app import (
    VaultAccess,
    confirm,
    echo_json,
    invalid_as_usage,
    json_option,
    mask_name,
    parse_region,
    region_option,
    report_change,
    resolve_contact,
    reveal_option,
    short_id,
    stdout,
    vault_options,
)
from contactvault.cli._errors import CommandError, guarded
from contactvault.editing import Edits, apply_edits, contact_form, form_changes, new_contact
from contactvault.errors import ConflictError
from contactvault.phones import mask_number

__all__ = ["COMMANDS", "add_command", "duplicates_command", "edit_command", "merge_command"]

_F = TypeVar("_F", bound=Callable[..., Any])

_OPTIONS: Final = {
    "display_name": "--name",
    "name": "--given/--family",
    "given": "--given",
    "family": "--family",
    "phones": "--tel",
    "emails": "--email",
    "notes": "--note",
    "birthday": "--birthday",
    "organisation": "--organisation",
    "addresses": "--street/--postal-code/--city/--country",
    "external_id": "--external-id",
    "labels": "--label",
    "address": "--email",
    "raw": "--tel",
    "street": "--street",
    "postal_code": "--postal-code",
    "locality": "--city",
    "country": "--country",
}
"""Which option a model field comes from, for one-line validation errors."""


class _Fields(TypedDict):
    """The single-valued fields ``add`` and ``edit`` share, as `_field_options` hands them over."""

    given: str | None
    family: str | None
    birthday: str | None
    organisation: str | None
    street: str | None
    postal_code: str | None
    locality: str | None
    country: str | None
    external_id: str | None


def _field_options(func: _F) -> _F:
    """The options ``add`` and ``edit`` share; the command receives them together as ``fields``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401  (click passes anything)
        fields = _Fields(**{name: kwargs.pop(name) for name in _Fields.__annotations__})  # type: ignore[typeddict-item]
        return func(*args, fields=fields, **kwargs)

    for option in reversed(
        (
            click.option("--given", help="The given name (the N field's given part)."),
            click.option("--family", help="The family name (the N field's family part)."),
            click.option("--birthday", help="1980-04-12, or --04-12 without the year ('' removes it)."),
            click.option("--organisation", help="The organisation (company)."),
            click.option("--street", help="Street and number of the (first) postal address."),
            click.option("--postal-code", help="Its postal code."),
            click.option("--city", "locality", help="Its city or town."),
            click.option("--country", help="Its country."),
            click.option(
                "--external-id", help="Your own key for this contact (unique in the vault; '' removes it)."
            ),
        )
    ):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]


def _changed_line(contact_id: uuid.UUID, message: str, *, changed: bool, version: int, as_json: bool) -> None:
    report_change(contact_id, "edited", message, changed=changed, version=version, as_json=as_json)


# --- add -------------------------------------------------------------------------------------------------


@click.command("add")
@click.option("--name", "display_name", required=True, help="The display name.")
@click.option("--tel", "phones", multiple=True, help="A phone number (repeatable); see --region.")
@click.option("--email", "emails", multiple=True, help="An e-mail address (repeatable).")
@click.option("--note", "notes", multiple=True, help="A note (repeatable).")
@click.option("--label", "labels", multiple=True, help="A label such as VIP (repeatable).")
@_field_options
@region_option
@json_option
@vault_options
@guarded
def add_command(
    display_name: str,
    phones: tuple[str, ...],
    emails: tuple[str, ...],
    notes: tuple[str, ...],
    labels: tuple[str, ...],
    fields: _Fields,
    region: str | None,
    as_json: bool,
    access: VaultAccess,
) -> None:
    """Add one contact (the customer who just called): a name, numbers, e-mail addresses and more.

    A number without its country code needs --region. The contact is checked like an imported one; if
    it shares a number with a stored contact, `contactvault duplicates` shows them side by side.
    """
    default_region = parse_region(region)
    fields["external_id"] = fields["external_id"] or None  # '' is no key when adding
    edits = Edits(
        display_name=display_name,
        add_phones=phones,
        add_emails=emails,
        notes=notes or None,
        labels=labels,
        **fields,
    )
    with invalid_as_usage(_OPTIONS):
        contact = new_contact(edits, region=default_region)
    with access.open() as vault:
        contact_id = vault.add(contact)
        shared = {
            other.id
            for number in contact.e164_numbers()
            for other in vault.find_by_phone(number)
            if other.id != contact_id
        }
    invalid = sum(1 for p in contact.phones if p.e164 is None)
    if as_json:
        echo_json(
            {"id": str(contact_id), "action": "added", "shares_a_number_with": sorted(str(i) for i in shared)}
        )
        return
    click.echo(f"{short_id(contact_id)}: added ({len(contact.phones)} numbers, {len(contact.emails)} e-mail)")
    if invalid:
        click.echo(f"  {invalid} number(s) could not be normalised and were kept as typed (see --region).")
    if shared:
        ids = ", ".join(short_id(i) for i in sorted(shared))
        click.echo(f"  it shares a number with {ids}: `contactvault duplicates` lists them to merge.")


# --- edit ------------------------------------------------------------------------------------------------


def _editor_command() -> list[str]:
    """The user's editor ($VISUAL, then $EDITOR, then a common one on PATH) as an argument list."""
    for variable in ("VISUAL", "EDITOR"):
        value = os.environ.get(variable, "").strip()
        if value:
            return shlex.split(value)
    for name in ("nano", "vi"):
        found = shutil.which(name)
        if found:
            return [found]
    raise CommandError("no editor: set the EDITOR environment variable (for example EDITOR=nano)")


def _run_editor(text: str) -> str:
    """Let the person edit ``text`` in their editor; the file lives in a private folder, deleted after."""
    command = _editor_command()
    folder = Path(tempfile.mkdtemp(prefix="contactvault-edit-"))  # 0700
    path = folder / "contact.vcf"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        try:
            finished = subprocess.run([*command, str(path)], check=False)  # noqa: S603  (the user's own editor)
        except OSError:
            raise CommandError(
                "the editor could not be started (check EDITOR); nothing was changed"
            ) from None
        if finished.returncode != 0:
            raise CommandError("the editor exited with an error; nothing was changed")
        return path.read_text(encoding="utf-8", errors="replace")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _edit_in_editor(stored: Any, region: str | None) -> dict[str, Any] | None:  # noqa: ANN401
    """The changes made in the editor form, or ``None`` if the person changed nothing or cancelled."""
    original = contact_form(stored)
    shown = original
    last_error: str | None = None
    while True:
        edited = _run_editor(shown)
        body = "\n".join(line for line in edited.splitlines() if not line.startswith("#")).strip()
        if not body:
            return None  # an empty file cancels
        if edited == shown and last_error is None:
            return None
        try:
            return form_changes(stored, original, edited, region=region)
        except ValueError as exc:
            message = str(exc)
            if edited == shown:  # saved again without a change: give up rather than loop
                raise CommandError(f"{message}; nothing was changed") from None
            last_error = message
            click.echo(f"error: {message}; the form is opened again", err=True)
            # The problem goes below the card, so that the line numbers it names stay where they were.
            kept = "\n".join(line for line in edited.splitlines() if not line.startswith("# error:"))
            shown = f"{kept}\n# error: {message}\n"


@click.command("edit")
@click.argument("contact")
@click.option("--name", "display_name", help="A new display name.")
@click.option("--add-tel", multiple=True, help="Add a phone number (repeatable).")
@click.option("--remove-tel", multiple=True, help="Remove a phone number, in any format (repeatable).")
@click.option("--add-email", multiple=True, help="Add an e-mail address (repeatable).")
@click.option("--remove-email", multiple=True, help="Remove an e-mail address (repeatable).")
@click.option("--note", "notes", multiple=True, help="Replace every note with this one (repeatable).")
@click.option("--add-note", multiple=True, help="Add a note (repeatable).")
@_field_options
@click.option("--editor", is_flag=True, help="Edit the contact as a vCard form in $VISUAL or $EDITOR.")
@region_option
@json_option
@vault_options
@guarded
def edit_command(
    contact: str,
    display_name: str | None,
    add_tel: tuple[str, ...],
    remove_tel: tuple[str, ...],
    add_email: tuple[str, ...],
    remove_email: tuple[str, ...],
    notes: tuple[str, ...],
    add_note: tuple[str, ...],
    fields: _Fields,
    editor: bool,
    region: str | None,
    as_json: bool,
    access: VaultAccess,
) -> None:
    """Change CONTACT (its id, or one of its numbers): its name, numbers, e-mail, address, notes, birthday.

    With --editor the contact opens as a vCard form in your editor, the vault stays free meanwhile, and
    the change is stored only if nobody changed the contact in between. Consents, labels and rights have
    their own commands.
    """
    default_region = parse_region(region)
    edits = Edits(
        display_name=display_name,
        add_phones=add_tel,
        remove_phones=remove_tel,
        add_emails=add_email,
        remove_emails=remove_email,
        notes=notes or None,
        add_notes=add_note,
        **fields,
    )
    if editor == (not edits.is_empty()):
        raise CommandError("give either --editor or the fields to change (see contactvault edit --help)")
    unlock = access.unlock_args()
    with access.open(unlock) as vault:
        contact_id = resolve_contact(vault, contact, region=default_region)
        stored = vault.get(contact_id)
        if not editor:
            with invalid_as_usage(_OPTIONS):
                changed = apply_edits(stored, edits, region=default_region)
                after = vault.update(changed) if changed != stored else stored
            changed_now = after is not stored
            message = "contact updated" if changed_now else "nothing changed (the contact already says that)"
            _changed_line(contact_id, message, changed=changed_now, version=after.version, as_json=as_json)
            return
    # The editor may stay open for minutes: the vault is closed meanwhile, and the change is checked
    # against the version that was read (ConflictError if someone changed the contact in between).
    changes = _edit_in_editor(stored, default_region)
    if not changes:
        _changed_line(contact_id, "nothing changed", changed=False, version=stored.version, as_json=as_json)
        return
    with access.open(unlock) as vault:
        try:
            after = vault.update(stored.model_copy(update=changes))
        except ConflictError:
            raise CommandError(
                "the contact was changed meanwhile; nothing was stored, edit it again"
            ) from None
    names = ", ".join(sorted(changes))
    _changed_line(contact_id, f"updated ({names})", changed=True, version=after.version, as_json=as_json)


# --- duplicates and merge --------------------------------------------------------------------------------


@click.command("duplicates")
@reveal_option
@json_option
@vault_options
@guarded
def duplicates_command(reveal: bool, as_json: bool, access: VaultAccess) -> None:
    """List groups of contacts that share a phone number: likely one person, to merge with `merge`.

    Reads the directory only. Names and numbers are masked unless --reveal.
    """
    with access.open() as vault:
        groups = vault.duplicates()
        names = {entry.id: entry.display_name for entry in vault}
    rows: list[dict[str, Any]] = [
        {
            "number": group.e164 if reveal else mask_number(group.e164),
            "contacts": [
                {"id": str(i), "name": names[i] if reveal else mask_name(names[i])} for i in group.contact_ids
            ],
        }
        for group in groups
    ]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("No contacts share a number.")
        return
    table = Table(title=f"{len(rows)} number(s) shared by several contacts")
    table.add_column("number", no_wrap=True)
    table.add_column("contacts")
    table.add_column("merge with")
    for row, group in zip(rows, groups, strict=True):
        members = "\n".join(f"{c['id'][:8]}  {c['name']}" for c in row["contacts"])
        command = "contactvault merge " + " ".join(short_id(i) for i in group.contact_ids)
        table.add_row(Text(row["number"]), Text(members), Text(command))
    stdout().print(table)


@click.command("merge")
@click.argument("contacts", nargs=-1, required=True)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@region_option
@json_option
@vault_options
@guarded
def merge_command(
    contacts: tuple[str, ...], yes: bool, region: str | None, as_json: bool, access: VaultAccess
) -> None:
    """Merge CONTACTS (ids or numbers; the first one stays) into one contact.

    Numbers, e-mail, addresses, notes, labels, consents and legal bases of all are kept; the merged-away
    ids are recorded, so the disclosure log and the Art. 15 report still find them, and their keys are
    destroyed as `erase` does.
    """
    if len(contacts) < 2:
        raise CommandError("give at least two contacts to merge")
    default_region = parse_region(region)
    unlock = access.unlock_args()
    with access.open(unlock) as vault:
        ids = [resolve_contact(vault, ref, region=default_region) for ref in contacts]
        if len(set(ids)) < 2:
            raise CommandError("those name fewer than two different contacts")
        entries = [vault.directory_entry(i) for i in ids]
    versions = {e.id: e.version for e in entries}
    if not yes:
        shown = "; ".join(f"{short_id(e.id)} ({mask_name(e.display_name)})" for e in entries)
        if not confirm(f"Merge {shown} into {short_id(ids[0])}?"):
            click.echo("Nothing was merged.", err=True)
            return
    with access.open(unlock) as vault:
        if any(vault.directory_entry(i).version != v for i, v in versions.items()):
            raise CommandError("a contact changed meanwhile; nothing was merged, run merge again")
        merged = vault.merge(ids)
    if as_json:
        echo_json({"id": str(merged.id), "merged_from": [str(i) for i in ids[1:]], "version": merged.version})
        return
    away = ", ".join(short_id(i) for i in ids[1:])
    click.echo(f"{short_id(merged.id)}: merged {away} into it ({len(merged.phones)} numbers).")


COMMANDS: list[click.Command] = [add_command, edit_command, duplicates_command, merge_command]
