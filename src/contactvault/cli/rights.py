"""The consent and rights commands: consent, basis, messenger, label, restrict and object.

A contact is named by its id, the first 8 or more hex digits of it, or one of its phone numbers
(``--region`` reads a number without a country code). Every command prints one line with the id prefix
and what changed, never a name, a number or a label; ``--json`` prints the same as JSON. Invalid values (a
purpose that is not a purpose name, a label too long) are one line naming the option, never the value.
``messenger mark`` also warns on stderr when the number is not a mobile number: the default policy keeps
it out of the book.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVar, cast, get_args

import click
from pydantic import ValidationError
from rich.table import Table
from rich.text import Text

from contactvault.cli._app import (
    VaultAccess,
    echo_json,
    invalid_as_usage,
    json_option,
    mask_name,
    parse_moment,
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
from contactvault.consent import Due, due
from contactvault.models import (
    ConsentChannel,
    ConsentRecord,
    Contact,
    DirectoryEntry,
    GdprBasis,
    Label,
    LegalBasis,
    PhoneKind,
)
from contactvault.phones import mask_number, parse_number
from contactvault.sync.policy import Policy
from contactvault.vault import Vault

__all__ = [
    "COMMANDS",
    "basis_group",
    "consent_group",
    "label_group",
    "messenger_group",
    "object_command",
    "restrict_command",
]

_F = TypeVar("_F", bound=Callable[..., Any])

_CHANNELS: Final = get_args(ConsentChannel)
_ARTICLES: Final = get_args(GdprBasis)
_FUTURE_SLACK: Final = timedelta(minutes=5)
"""How far ``--at`` may lie ahead of this computer's clock (clocks differ a little)."""


def _purpose_option(func: _F) -> _F:
    return click.option(
        "--purpose", required=True, help="The purpose, e.g. messenger (lower case letters, digits, _ . -)."
    )(func)


def _moment(value: str | None, option: str) -> datetime | None:
    """An aware time from ISO 8601 text; a naive or future time is a usage error."""
    if value is None:
        return None
    moment = parse_moment(value, option)
    if moment > datetime.now(UTC) + _FUTURE_SLACK:
        raise CommandError(f"{option} lies in the future")
    return moment


def _change(
    access: VaultAccess,
    reference: str,
    region: str | None,
    change: Callable[[Vault, uuid.UUID], Contact],
    options: Mapping[str, str],
) -> tuple[uuid.UUID, bool, Contact]:
    """Open the vault, resolve the contact, apply ``change``: (id, whether it changed, the contact after)."""
    default_region = parse_region(region)
    with access.open() as vault:
        contact_id = resolve_contact(vault, reference, region=default_region)
        before = vault.directory_entry(contact_id).version
        with invalid_as_usage(options):
            after = change(vault, contact_id)
    return contact_id, after.version != before, after


# --- consent and legal bases -------------------------------------------------------------------------------

_CONSENT_OPTIONS: Final = {
    "purpose": "--purpose",
    "channel": "--channel",
    "notice_id": "--notice-id",
    "notice_version": "--notice-version",
    "evidence_ref": "--evidence",
    "granted_at": "--at",
    "withdrawn_at": "--at",
    "withdrawal_channel": "--channel",
}


@click.group("consent", short_help="Record a consent (Art. 7) or its withdrawal; list who is due.")
def consent_group() -> None:
    """Record a consent (GDPR Art. 7(1)) or its withdrawal (Art. 7(3)); history is kept.

    `consent due` lists whose consent needs asking for again.
    """


@consent_group.command("grant")
@click.argument("contact")
@_purpose_option
@click.option("--channel", type=click.Choice(_CHANNELS), required=True, help="How the consent was given.")
@click.option("--notice-id", required=True, help="The privacy notice the person was shown.")
@click.option("--notice-version", required=True, help="Its version.")
@click.option("--evidence", help="Where the evidence is, e.g. a form's archive number.")
@click.option("--at", "at", help="When it was given, ISO 8601 with a time zone (default: now).")
@region_option
@json_option
@vault_options
@guarded
def consent_grant_command(
    contact: str,
    purpose: str,
    channel: str,
    notice_id: str,
    notice_version: str,
    evidence: str | None,
    at: str | None,
    region: str | None,
    as_json: bool,
    access: VaultAccess,
) -> None:
    """Record that CONTACT consented to PURPOSE, how, and to which notice.

    The notice version must be stored in the vault (`contactvault notice add`): a consent names the
    exact text the person was shown. The consent is recorded by the user whose key slot opened the vault
    (there is no option to name someone else).
    """
    granted_at = _moment(at, "--at") or datetime.now(UTC)
    with invalid_as_usage(_CONSENT_OPTIONS):
        record = ConsentRecord(
            purpose=purpose,
            granted_at=granted_at,
            channel=cast("ConsentChannel", channel),
            notice_id=notice_id,
            notice_version=notice_version,
            recorded_by="contactvault",  # the vault replaces it with the user whose slot opened it
            evidence_ref=evidence,
        )

    def grant(vault: Vault, contact_id: uuid.UUID) -> Contact:
        vault.notice(notice_id, notice_version)  # NoticeError (naming id and version) if not stored
        return vault.grant_consent(contact_id, record)

    contact_id, changed, after = _change(access, contact, region, grant, _CONSENT_OPTIONS)
    report_change(
        contact_id,
        "consent_granted",
        f"consent for {purpose} recorded ({channel}, notice {notice_id} v{notice_version})",
        changed=changed,
        version=after.version,
        as_json=as_json,
    )


@consent_group.command("withdraw")
@click.argument("contact")
@_purpose_option
@click.option("--channel", type=click.Choice(_CHANNELS), required=True, help="How it was withdrawn.")
@click.option("--at", "at", help="When, ISO 8601 with a time zone (default: now).")
@region_option
@json_option
@vault_options
@guarded
def consent_withdraw_command(
    contact: str,
    purpose: str,
    channel: str,
    at: str | None,
    region: str | None,
    as_json: bool,
    access: VaultAccess,
) -> None:
    """Withdraw every active consent of CONTACT for PURPOSE; the records stay, marked withdrawn."""
    when = _moment(at, "--at")

    def withdraw(vault: Vault, contact_id: uuid.UUID) -> Contact:
        try:
            return vault.withdraw_consent(
                contact_id, purpose, channel=cast("ConsentChannel", channel), at=when
            )
        except ValidationError:
            raise
        except ValueError:
            raise CommandError("the contact has no active consent for that purpose") from None

    contact_id, changed, after = _change(access, contact, region, withdraw, _CONSENT_OPTIONS)
    report_change(
        contact_id,
        "consent_withdrawn",
        f"consent for {purpose} withdrawn ({channel})",
        changed=changed,
        version=after.version,
        as_json=as_json,
    )


_MAX_DAYS: Final = 36_500  # a hundred years: more is a typo


def _due_state(item: Due, now: datetime) -> str:
    """``expired``, or when the consent runs out: ``due today``, ``due in N days`` (N rounded up).

    A consent ended by a renewed notice says so: ``notice renewed``, ``renewal due in N days``.
    """
    renewed = item.reason == "notice_renewed"
    if item.expired:
        return "notice renewed" if renewed else "expired"
    days = math.ceil((item.expires_at - now) / timedelta(days=1))
    prefix = "renewal due" if renewed else "due"
    if days <= 0:
        return f"{prefix} today"
    return f"{prefix} in {days} day{'s' if days != 1 else ''}"


@consent_group.command("due")
@click.option(
    "--purpose", default="messenger", show_default=True, help="The purpose whose consents are looked at."
)
@click.option(
    "--refresh",
    type=click.IntRange(1, _MAX_DAYS),
    help="How long a consent counts, in days (e.g. 730); default: the period stored for the purpose "
    "(`consent refresh`).",
)
@click.option(
    "--within",
    type=click.IntRange(0, _MAX_DAYS),
    default=30,
    show_default=True,
    help="Also list consents that expire within this many days.",
)
@reveal_option
@json_option
@vault_options
@guarded
def consent_due_command(
    purpose: str, refresh: int | None, within: int, reveal: bool, as_json: bool, access: VaultAccess
) -> None:
    """List the contacts whose consent for PURPOSE has expired or expires within --within days.

    A consent counts for --refresh days after it was granted (default: the refresh period stored for
    PURPOSE with `consent refresh`), as in the sync policy: an expired one keeps the contact out of the
    messenger book (reason consent_expired) unless another legal basis holds. A consent to an older
    version of a notice that a newer version renews (`notice add --renews`) ends when that version
    applies (reason notice_renewed). The active consent that ends last decides; contacts who never
    consented or who withdrew are not listed. Names are masked unless --reveal; only the directory and
    the log are read.
    """
    now = datetime.now(UTC)
    given = None if refresh is None else timedelta(days=refresh)
    try:
        due((), purpose=purpose, refresh=given, now=now)  # the options are checked before the vault opens
    except ValueError:
        raise CommandError(
            "invalid --purpose: lower-case letters, digits, _ . -, starting with a letter or digit, "
            "at most 100 characters"
        ) from None
    with access.open() as vault:
        period = given if given is not None else vault.consent_refresh(purpose)
        renewals = vault.notice_renewals()
        if period is None and not renewals:
            raise CommandError(
                f"no refresh period for {purpose}: give --refresh DAYS, or store one with "
                f"`contactvault consent refresh {purpose} --months N`"
            )
        entries = {entry.id: entry for entry in vault}
    items = due(
        entries.values(),
        purpose=purpose,
        refresh=period,
        now=now,
        within=timedelta(days=within),
        renewals=renewals,
    )
    if as_json:
        echo_json(
            [
                {
                    "contact": short_id(item.contact_id),
                    "purpose": item.purpose,
                    "granted_at": item.granted_at.isoformat(),
                    "expires_at": item.expires_at.isoformat(),
                    "expired": item.expired,
                    "reason": item.reason,
                }
                for item in items
            ]
        )
        return
    console = stdout()
    if not items:
        console.print(f"No consent for {purpose} has expired or expires within {within} days.")
        return
    table = Table(title=f"{len(items)} contact{'s' if len(items) != 1 else ''} to ask again ({purpose})")
    for column in ("id", "name", "purpose", "granted", "expires", "state"):
        table.add_column(column, no_wrap=column != "name")
    for item in items:
        name = entries[item.contact_id].display_name
        table.add_row(
            short_id(item.contact_id),
            Text(name if reveal else mask_name(name)),
            item.purpose,
            item.granted_at.date().isoformat(),
            item.expires_at.date().isoformat(),
            _due_state(item, now),
        )
    console.print(table)


@click.group("basis", short_help="Record a legal basis (Art. 6(1) b to f).")
def basis_group() -> None:
    """Record a legal basis under GDPR Art. 6(1) other than consent."""


@basis_group.command("add")
@click.argument("contact")
@click.option(
    "--article",
    type=click.Choice(_ARTICLES),
    required=True,
    help="6(1)(b) contract, (c) legal obligation, (d) vital interests, (e) public task, (f) legitimate "
    "interests. Consent, 6(1)(a), is recorded with `consent grant`.",
)
@_purpose_option
@click.option(
    "--reference",
    help="What the basis rests on: the contract, the obligation, the balancing of interests (required).",
)
@region_option
@json_option
@vault_options
@guarded
def basis_add_command(
    contact: str,
    article: str,
    purpose: str,
    reference: str | None,
    region: str | None,
    as_json: bool,
    access: VaultAccess,
) -> None:
    """Record that processing CONTACT's data for PURPOSE rests on ARTICLE."""
    if article == "6(1)(a)":
        raise CommandError(
            "consent (6(1)(a)) is recorded with `contactvault consent grant`, with its channel and notice"
        )
    if not (reference or "").strip():
        raise CommandError(f"--reference is required: what {article} rests on (a contract, an assessment)")
    options = {"article": "--article", "purpose": "--purpose", "justification": "--reference"}
    with invalid_as_usage(options):
        basis = LegalBasis(
            article=cast("GdprBasis", article), purpose=purpose, justification=cast("str", reference)
        )
    contact_id, changed, after = _change(
        access, contact, region, lambda v, cid: v.add_legal_basis(cid, basis), options
    )
    report_change(
        contact_id,
        "basis_added",
        f"legal basis Art. {article} for {purpose} recorded",
        changed=changed,
        version=after.version,
        as_json=as_json,
    )


# --- messenger presence and labels -------------------------------------------------------------------------


@click.group("messenger")
def messenger_group() -> None:
    """Record whether a contact's number uses the messenger."""


@messenger_group.command("mark")
@click.argument("contact")
@click.argument("number")
@click.option("--absent", is_flag=True, help="The number does not use the messenger (default: it does).")
@click.option("--source", required=True, help="Who or what said so, e.g. manual or an app's check.")
@region_option
@json_option
@vault_options
@guarded
def messenger_mark_command(
    contact: str,
    number: str,
    absent: bool,
    source: str,
    region: str | None,
    as_json: bool,
    access: VaultAccess,
) -> None:
    """Mark CONTACT's NUMBER as using the messenger (or, with --absent, as not using it).

    A number the default policy refuses as not a mobile number gets a warning on stderr.
    """
    default_region = parse_region(region)
    e164 = parse_number(number, default_region).e164
    not_mobile: list[PhoneKind] = []  # the number's kind, if the default policy refuses it as not mobile

    def mark(vault: Vault, contact_id: uuid.UUID) -> Contact:
        try:
            after = vault.set_messenger_presence(
                contact_id, number, not absent, source=source, region=default_region
            )
        except ValidationError:
            raise
        except ValueError:
            hint = "" if default_region else " (a number without its country code needs --region)"
            raise CommandError(f"the contact has no such number{hint}") from None
        if not absent:
            not_mobile.extend(_not_mobile_kind(vault.directory_entry(contact_id), e164))
        return after

    contact_id, changed, after = _change(access, contact, region, mark, {"source": "--source"})
    number_shown = mask_number(e164 or number)
    for kind in not_mobile:
        click.echo(
            f"warning: {number_shown} is not a mobile number (kind: {kind}); the default policy keeps it "
            "out of the messenger book (reason not_mobile)",
            err=True,
        )
    state = "not on" if absent else "on"
    report_change(
        contact_id,
        "messenger_marked",
        f"{number_shown} marked as {state} the messenger ({source})",
        changed=changed,
        version=after.version,
        as_json=as_json,
    )


def _not_mobile_kind(entry: DirectoryEntry, e164: str | None) -> list[PhoneKind]:
    """The kind of the number ``e164`` if the default policy refuses it as ``not_mobile``; else nothing.

    Marking a landline as on the messenger does not bring it into the book: ``Policy.default()`` admits
    mobile numbers only. The policy itself decides, so the warning follows its rule exactly.
    """
    decision = Policy.default().decide(entry)
    pairs = zip(entry.phones, decision.per_number, strict=True)  # one decision per phone, in order
    return [phone.kind for phone, n in pairs if phone.e164 == e164 and "not_mobile" in n.reasons][:1]


@click.group("label")
def label_group() -> None:
    """Attach labels to a contact or take them off (names compared without case)."""


@label_group.command("add")
@click.argument("contact")
@click.argument("name")
@click.option("--colour", help="A colour for the label, #RRGGBB.")
@region_option
@json_option
@vault_options
@guarded
def label_add_command(
    contact: str, name: str, colour: str | None, region: str | None, as_json: bool, access: VaultAccess
) -> None:
    """Attach the label NAME to CONTACT (nothing changes if it is already there)."""
    options = {"name": "NAME", "colour": "--colour"}
    with invalid_as_usage(options):
        label = Label(name=name, colour=colour)
    contact_id, changed, after = _change(
        access, contact, region, lambda v, cid: v.add_label(cid, label), options
    )
    message = "label added" if changed else "label already there; nothing changed"
    report_change(
        contact_id,
        "label_added",
        f"{message} ({len(after.labels)} labels)",
        changed=changed,
        version=after.version,
        as_json=as_json,
    )


@label_group.command("remove")
@click.argument("contact")
@click.argument("name")
@region_option
@json_option
@vault_options
@guarded
def label_remove_command(
    contact: str, name: str, region: str | None, as_json: bool, access: VaultAccess
) -> None:
    """Take the label NAME off CONTACT (nothing changes if it is not there)."""
    contact_id, changed, after = _change(
        access, contact, region, lambda v, cid: v.remove_label(cid, name), {"name": "NAME"}
    )
    message = "label removed" if changed else "no such label; nothing changed"
    report_change(
        contact_id,
        "label_removed",
        f"{message} ({len(after.labels)} labels)",
        changed=changed,
        version=after.version,
        as_json=as_json,
    )


# --- restriction and objection -----------------------------------------------------------------------------


@click.command("restrict", short_help="Restrict processing of a contact (Art. 18), or lift it.")
@click.argument("contact")
@click.option("--lift", is_flag=True, help="Lift the restriction (Art. 18(3)) instead.")
@region_option
@json_option
@vault_options
@guarded
def restrict_command(
    contact: str, lift: bool, region: str | None, as_json: bool, access: VaultAccess
) -> None:
    """Restrict processing of CONTACT (GDPR Art. 18): the sync policy then keeps it off the messenger."""

    def apply(vault: Vault, contact_id: uuid.UUID) -> Contact:
        return vault.lift_restriction(contact_id) if lift else vault.restrict(contact_id)

    contact_id, changed, after = _change(access, contact, region, apply, {})
    if lift:
        message = "restriction lifted" if changed else "was not restricted; nothing changed"
    else:
        message = "processing restricted" if changed else "already restricted; nothing changed"
    report_change(
        contact_id,
        "restriction_lifted" if lift else "restricted",
        message,
        changed=changed,
        version=after.version,
        as_json=as_json,
    )


@click.command("object", short_help="Record an objection to a purpose (Art. 21).")
@click.argument("contact")
@_purpose_option
@region_option
@json_option
@vault_options
@guarded
def object_command(
    contact: str, purpose: str, region: str | None, as_json: bool, access: VaultAccess
) -> None:
    """Record CONTACT's objection to processing for PURPOSE (GDPR Art. 21)."""
    contact_id, changed, after = _change(
        access, contact, region, lambda v, cid: v.object(cid, purpose), {"purpose": "--purpose"}
    )
    report_change(
        contact_id,
        "objected",
        f"objection to {purpose} recorded",
        changed=changed,
        version=after.version,
        as_json=as_json,
    )


COMMANDS: list[click.Command] = [
    consent_group,
    basis_group,
    messenger_group,
    label_group,
    restrict_command,
    object_command,
]
