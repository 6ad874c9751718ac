"""The commands consent request, consent confirm and consent inbox (issue 16, items 2 and 3).

``consent request`` chooses contacts (by id or number, by label, by a consent missing or expiring), makes a
reply code and an opt-in message for each and prints them once, with the mobile number each message goes
to: this output is meant to be sent, and holds personal data (the numbers) as ``export`` does. The vault
keeps only keyed hashes of the codes. ``consent confirm CODE`` records the consent a code answers;
``consent inbox FILE`` takes a saved body of the messenger's webhook (codes and opt-out words). Refused
codes are one line naming the reason, never the code.
"""

from __future__ import annotations

import csv
import io
import os
import sys
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final, cast, get_args

import click

from contactvault.cli._app import (
    VaultAccess,
    echo_json,
    invalid_as_usage,
    json_option,
    lang_option,
    parse_moment,
    parse_region,
    read_secret_file,
    region_option,
    report_change,
    resolve_contact,
    short_id,
    vault_options,
)
from contactvault.cli._errors import EXIT_BAD_INPUT, CommandError, guarded
from contactvault.cli.rights import consent_group
from contactvault.consent import ConsentRequest, InboxReport, due, parse_payload, verify_signature
from contactvault.consent.codes import DEFAULT_TTL
from contactvault.consent.webhook import MAX_BODY_BYTES, Outcome
from contactvault.i18n import Lang
from contactvault.models import ConsentChannel, DirectoryEntry
from contactvault.vault import Vault

__all__ = ["COMMANDS", "WEBHOOK_SECRET_ENV"]

WEBHOOK_SECRET_ENV: Final = "CONTACTVAULT_WEBHOOK_SECRET"  # noqa: S105  (a variable name)
"""The environment variable holding the messenger app's secret (``consent inbox``)."""

_CHANNELS: Final = get_args(ConsentChannel)
_MOBILE: Final = frozenset({"mobile", "fixed_or_mobile"})
_MAX_DAYS: Final = 36_500
_FORMULA_START: Final = ("=", "+", "-", "@")
_REQUEST_OPTIONS: Final = {
    "purpose": "--purpose",
    "channel": "--channel",
    "business": "--business",
    "notice_id": "--notice-id",
    "notice_version": "--notice-version",
}


def _has_active(entry: DirectoryEntry, purpose: str) -> bool:
    return any(c.purpose == purpose and not c.withdrawn for c in entry.consents)


def _declined(entry: DirectoryEntry, purpose: str) -> bool:
    """Whether the contact said no: withdrew consent to ``purpose`` (none active), objected, or restricted."""
    withdrew = any(c.purpose == purpose and c.withdrawn for c in entry.consents)
    objected = any(o.purpose == purpose for o in entry.objections)
    return (withdrew and not _has_active(entry, purpose)) or objected or entry.restricted_at is not None


def _expiring(
    vault: Vault, entries: Iterable[DirectoryEntry], purpose: str, days: int, refresh: int | None
) -> set[uuid.UUID]:
    """The contacts whose consent to ``purpose`` has expired or expires within ``days`` (``consent due``)."""
    period = timedelta(days=refresh) if refresh is not None else vault.consent_refresh(purpose)
    if period is None:
        raise CommandError(
            f"--expiring needs the refresh period of {purpose}: none is stored in the vault; give --refresh"
        )
    found = due(entries, purpose=purpose, refresh=period, now=datetime.now(UTC), within=timedelta(days=days))
    return {item.contact_id for item in found}


def _select(
    vault: Vault,
    references: Sequence[str],
    labels: Sequence[str],
    missing: bool,
    expiring: int | None,
    purpose: str,
    refresh: int | None,
    region: str | None,
) -> tuple[list[uuid.UUID], int, int]:
    """The contacts to ask, and how many chosen were skipped: (ids, without a mobile number, declined)."""
    entries = list(vault)
    if references:
        named = {resolve_contact(vault, reference, region=region) for reference in references}
        entries = [entry for entry in entries if entry.id in named]
    if labels:
        wanted = {label.casefold() for label in labels}
        entries = [e for e in entries if any(label.name.casefold() in wanted for label in e.labels)]
    if missing or expiring is not None:
        soon = _expiring(vault, entries, purpose, expiring, refresh) if expiring is not None else set()
        entries = [e for e in entries if (missing and not _has_active(e, purpose)) or e.id in soon]
    declined = [e for e in entries if _declined(e, purpose)]
    entries = [e for e in entries if not _declined(e, purpose)]
    reachable = [e for e in entries if any(p.e164 and p.kind in _MOBILE for p in e.phones)]
    return [e.id for e in reachable], len(entries) - len(reachable), len(declined)


def _print(requests: Sequence[ConsentRequest], style: str) -> None:
    rows = [
        {
            "contact": short_id(r.contact_id),
            "to": r.to,
            "code": r.code,
            "expires_at": r.expires_at.isoformat(),
            "message": r.message,
        }
        for r in requests
    ]
    if style == "json":
        echo_json(rows)
    elif style == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=["contact", "to", "code", "expires_at", "message"])
        writer.writeheader()
        for row in rows:  # a message a spreadsheet would run as a formula gets a leading apostrophe
            text = str(row["message"])
            writer.writerow({**row, "message": "'" + text if text.startswith(_FORMULA_START) else text})
        click.echo(out.getvalue(), nl=False)
    else:
        for r in requests:
            until = r.expires_at.date().isoformat()
            click.echo(f"{short_id(r.contact_id)}  {r.to}  {r.code}  (valid until {until})")
            click.echo(f"  {r.message}")


@consent_group.command("request")
@click.option("--purpose", required=True, help="The purpose asked for, e.g. messenger.")
@click.option(
    "--notice-id", required=True, help="The privacy notice the message names (stored in the vault)."
)
@click.option("--notice-version", required=True, help="Its version (stored with `notice add`).")
@click.option("--channel", type=click.Choice(_CHANNELS), required=True, help="How the message is sent.")
@click.option("--business", required=True, help="The business's name, as the message gives it.")
@lang_option("The message's language.")
@click.option(
    "--ttl-days",
    type=click.IntRange(1, 365),
    default=DEFAULT_TTL.days,
    show_default=True,
    help="How many days a code is accepted.",
)
@click.option("--label", "labels", multiple=True, help="Only contacts with this label (repeatable: any).")
@click.option("--contact", "references", multiple=True, help="This contact: an id or a number (repeatable).")
@click.option("--missing", is_flag=True, help="Contacts without an active consent for the purpose.")
@click.option(
    "--expiring",
    type=click.IntRange(0, _MAX_DAYS),
    metavar="DAYS",
    help="Contacts whose consent has expired or expires within DAYS (the vault's refresh period).",
)
@click.option(
    "--refresh",
    type=click.IntRange(1, _MAX_DAYS),
    metavar="DAYS",
    help="The refresh period for --expiring, in days (default: the one stored for the purpose).",
)
@click.option(
    "--format",
    "style",
    type=click.Choice(["text", "csv", "json"]),
    default="text",
    show_default=True,
    help="How the messages are printed.",
)
@region_option
@vault_options
@guarded
def consent_request_command(
    purpose: str,
    notice_id: str,
    notice_version: str,
    channel: str,
    business: str,
    lang: str,
    ttl_days: int,
    labels: tuple[str, ...],
    references: tuple[str, ...],
    missing: bool,
    expiring: int | None,
    refresh: int | None,
    style: str,
    region: str | None,
    access: VaultAccess,
) -> None:
    """Ask contacts for consent: a reply code and an opt-in message each, printed once, the request logged.

    Choose contacts with --contact, --label, --missing and --expiring (at least one): --contact and
    --label narrow, --missing and --expiring together take either. Contacts who withdrew their consent to
    the purpose, objected to it or are restricted are never asked; nor are those without a mobile number
    (the message goes to one). The output holds each message, its code and the number to send it to: send
    the messages, then let it go. The vault keeps only keyed hashes of the codes; the answers come back with
    `consent confirm CODE` or `consent inbox`.
    """
    if not (labels or references or missing or expiring is not None):
        raise CommandError("choose whom to ask: --contact, --label, --missing or --expiring")
    default_region = parse_region(region)
    with access.open() as vault:
        ids, unreachable, declined = _select(
            vault, references, labels, missing, expiring, purpose, refresh, default_region
        )
        with invalid_as_usage(_REQUEST_OPTIONS):
            requests = vault.request_consent(
                ids,
                purpose=purpose,
                notice_id=notice_id,
                notice_version=notice_version,
                channel=cast("ConsentChannel", channel),
                business=business,
                language=cast("Lang", lang),
                ttl=timedelta(days=ttl_days),
            )
    _print(requests, style)
    skipped = (
        f"skipped {unreachable} without a mobile number, {declined} who withdrew, objected or are restricted"
    )
    if not requests:
        click.echo(f"Nobody to ask for {purpose} ({skipped}).", err=True)
        return
    click.echo(
        f"Asked {len(requests)} contact{'s' if len(requests) != 1 else ''} for consent to {purpose} "
        f"(log record {requests[0].request}); {skipped}. The codes are shown this once: the vault keeps "
        "only their hashes.",
        err=True,
    )


@consent_group.command("confirm")
@click.argument("code")
@click.option("--channel", type=click.Choice(_CHANNELS), required=True, help="How the reply came.")
@click.option("--evidence", help="Where the reply is kept, e.g. a letter's archive number.")
@click.option("--at", "at", help="When the person replied, ISO 8601 with a time zone (default: now).")
@click.option("--from", "sender", help="The number the reply came from: it must be the contact's.")
@json_option
@vault_options
@guarded
def consent_confirm_command(
    code: str,
    channel: str,
    evidence: str | None,
    at: str | None,
    sender: str | None,
    as_json: bool,
    access: VaultAccess,
) -> None:
    """Record the consent that the reply code CODE answers (as the person typed it).

    The consent is for the request's purpose and privacy notice, granted when the person replied; its
    evidence names the request, the code's hash and the reply's time. An unknown, used or expired code (or
    one from another number, with --from) is refused with its reason, and nothing changes.
    """
    replied_at = parse_moment(at, "--at") if at is not None else None
    options = {"channel": "--channel", "evidence_ref": "--evidence", "replied_at": "--at"}
    with access.open() as vault, invalid_as_usage(options):
        contact = vault.confirm_consent(
            code,
            channel=cast("ConsentChannel", channel),
            evidence=evidence,
            replied_at=replied_at,
            sender=sender,
        )
    purpose = contact.consents[-1].purpose
    report_change(
        contact.id,
        "consent_confirmed",
        f"consent for {purpose} recorded (reply code, {channel})",
        changed=True,
        version=contact.version,
        as_json=as_json,
    )


def _body(source: str) -> bytes:
    """The webhook body from a file or standard input (``-``), as bytes; exit 5 naming the file."""
    if source == "-":
        return sys.stdin.buffer.read(MAX_BODY_BYTES + 1)
    try:
        with Path(source).open("rb") as stream:
            return stream.read(MAX_BODY_BYTES + 1)
    except OSError as exc:
        name = Path(source).name
        raise CommandError(f"{name}: {exc.strerror or 'cannot be read'}", EXIT_BAD_INPUT) from None


def _secret(path: Path | None) -> str | None:
    if path is not None:
        return read_secret_file(path, "app secret file")
    return os.environ.get(WEBHOOK_SECRET_ENV) or None


def _report(report: InboxReport, as_json: bool) -> None:
    outcomes: tuple[Outcome, ...] = get_args(Outcome)
    if as_json:
        counted: dict[str, object] = {outcome: report.count(outcome) for outcome in outcomes}
        echo_json(
            {
                "messages": report.messages,
                **counted,
                "items": [
                    {
                        "message": item.message + 1,
                        "action": item.action,
                        "outcome": item.outcome,
                        "reason": item.reason,
                        "contact": short_id(item.contact_id) if item.contact_id else None,
                    }
                    for item in report.items
                ],
            }
        )
        return
    for item in report.items:
        what = "" if item.action == "none" else f"{item.action} "
        why = f" ({item.reason})" if item.reason else ""
        who = f" [{short_id(item.contact_id)}]" if item.contact_id else ""
        click.echo(f"message {item.message + 1}: {what}{item.outcome}{why}{who}")
    counts = ", ".join(f"{report.count(outcome)} {outcome}" for outcome in outcomes)
    click.echo(f"{report.messages} message{'s' if report.messages != 1 else ''}: {counts}")


@consent_group.command("inbox")
@click.argument("source", metavar="FILE|-")
@click.option(
    "--app-secret-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help=f"The messenger app's secret, first line of this file (or env {WEBHOOK_SECRET_ENV}).",
)
@click.option("--signature", help="The X-Hub-Signature-256 header the body came with (sha256=...).")
@click.option("--purpose", default="messenger", show_default=True, help="The purpose an opt-out withdraws.")
@json_option
@vault_options
@guarded
def consent_inbox_command(
    source: str,
    app_secret_file: Path | None,
    signature: str | None,
    purpose: str,
    as_json: bool,
    access: VaultAccess,
) -> None:
    """Take a body of the messenger's webhook (a file, or - for standard input): codes and opt-outs.

    With the app secret (--app-secret-file or the environment) the body must come with its --signature:
    a missing or wrong one refuses the whole body (exit 5), before the vault is opened. Each reply code is
    confirmed (from the sender's number, at the message's time), each opt-out word (STOP, STOPP, ...)
    withdraws the consents for --purpose of the contacts with the sender's number; a message taken before
    is reported as duplicate and changes nothing. One line per reply, never a number, a code or a text.
    """
    secret = _secret(app_secret_file)
    if signature is not None and secret is None:
        raise CommandError(f"--signature needs the app secret: --app-secret-file or {WEBHOOK_SECRET_ENV}")
    body = _body(source)
    if secret is not None:
        verify_signature(body, signature, secret)  # refused before the vault is opened
    parse_payload(body)
    with access.open() as vault, invalid_as_usage({"purpose": "--purpose"}):
        report = vault.take_webhook(body, signature=signature, app_secret=secret, purpose=purpose)
    _report(report, as_json)


COMMANDS: list[click.Command] = []  # the commands hang under `consent` (contactvault.cli.rights)
