"""The commands notice add/list/show, consent refresh and consent import (issue 16).

- ``notice add --id ID --version V [--language en] [--valid-from ISO] [--renews] FILE|-`` stores a privacy
  notice's text (UTF-8, exactly as in the file: its SHA-256 is the file's) as a sealed, immutable record;
  it prints the id, version and SHA-256, never the text. The same version again with the same text
  changes nothing; with another text it is refused (exit 2).
- ``notice list [--json]`` lists the stored versions (no texts); ``notice show ID VERSION [--json]``
  prints one version's exact text.
- ``consent refresh [PURPOSE] [--months N | --days N | --off] [--json]`` stores how long a consent for
  PURPOSE counts (the policy of ``book``, ``export`` and ``sync`` uses it); without an option it shows
  the stored periods.
- ``consent import FILE.csv|- [--region DE] [--timezone ZONE] [--json]`` records consents from a form
  export, all or nothing: any rejected row means nothing is recorded, exit code 1, and a report of each
  rejected row (line, column, reason; never a value).
"""

from __future__ import annotations

import sys
from datetime import UTC, timedelta, tzinfo
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
from rich.table import Table

from contactvault.cli._app import (
    VaultAccess,
    echo_json,
    json_option,
    parse_moment,
    parse_region,
    stdout,
    vault_options,
)
from contactvault.cli._errors import EXIT_FINDINGS, CommandError, guarded
from contactvault.cli.rights import consent_group
from contactvault.consent.bulk import BulkConsents, parse_consents, read_consents
from contactvault.errors import NoticeError
from contactvault.vault.notices import ConsentImport, Notice

__all__ = ["COMMANDS", "notice_group"]

_DAYS_PER_MONTH: Final = 365.2425 / 12  # the Gregorian calendar's average month
_MAX_DAYS: Final = 36_500  # a hundred years: more is a typo
_MAX_MONTHS: Final = 1_200


def _read_text(file: str) -> str:
    """The notice text of FILE (``-``: standard input), UTF-8 exactly as given; a bad file is one line."""
    name = "standard input" if file == "-" else Path(file).name
    try:
        data = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {name}: {exc.strerror or 'unreadable'}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CommandError(f"{name} is not UTF-8 text (byte {exc.start + 1})") from None


def _notice_json(notice: Notice, *, text: bool = False) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "notice_id": notice.notice_id,
        "version": notice.version,
        "language": notice.language,
        "valid_from": notice.valid_from.isoformat(),
        "sha256": notice.sha256,
        "renews": notice.renews,
        "recorded_at": notice.recorded_at.isoformat(),
        "recorded_by": notice.recorded_by,
        "seq": notice.seq,
    }
    if text:
        fields["text"] = notice.text
    return fields


@click.group("notice", short_help="Store privacy notices (versioned, immutable); list and show them.")
def notice_group() -> None:
    """Privacy notices: each version's exact text is stored sealed in the vault and never changes.

    A consent names a stored notice version (`consent grant --notice-id ID --notice-version V`); the
    Art. 15 report prints the text the person agreed to.
    """


@notice_group.command("add")
@click.argument("file", metavar="FILE|-")
@click.option("--id", "notice_id", required=True, help="The notice's id, as consents name it.")
@click.option("--version", "version", required=True, help="The version, as consents name it.")
@click.option(
    "--language",
    default="en",
    show_default=True,
    help="The text's language: a two-letter ISO 639-1 code (en, de, ...).",
)
@click.option("--valid-from", help="When this version applies, ISO 8601 with a time zone (default: now).")
@click.option(
    "--renews",
    is_flag=True,
    help="Consents to other versions of this notice, given before --valid-from, need asking again: "
    "they count as expired from then on.",
)
@json_option
@vault_options
@guarded
def notice_add_command(
    file: str,
    notice_id: str,
    version: str,
    language: str,
    valid_from: str | None,
    renews: bool,
    as_json: bool,
    access: VaultAccess,
) -> None:
    """Store the text of FILE (UTF-8; - reads standard input) as version --version of notice --id.

    Prints the id, version and SHA-256 of the text (the same as `sha256sum FILE`), never the text. A
    stored version never changes: the same text again changes nothing, another text is refused.
    """
    start = None if valid_from is None else parse_moment(valid_from, "--valid-from")
    text = _read_text(file)
    with access.open() as vault:
        known = {(n.notice_id, n.version) for n in vault.notices()}
        try:
            notice = vault.add_notice(
                notice_id, version, text, language=language, valid_from=start, renews=renews
            )
        except NoticeError:
            raise
        except ValueError as exc:
            raise CommandError(_option_message(str(exc))) from None
    stored = (notice_id, version) not in known
    if as_json:
        echo_json({**_notice_json(notice), "stored": stored})
        return
    state = "stored" if stored else "already stored with this text; nothing changed"
    click.echo(f"notice {notice.notice_id} version {notice.version}: {state}")
    click.echo(f"sha256 {notice.sha256}")


def _option_message(message: str) -> str:
    """The API's message, with the option it is about named (``a notice id`` -> ``--id``)."""
    for words, option in (
        ("notice id", "--id"),
        ("notice version", "--version"),
        ("notice language", "--language"),
        ("notice text", "FILE"),
        ("valid_from", "--valid-from"),
    ):
        if words in message:
            return f"invalid {option}: {message}"
    return message


@notice_group.command("list")
@json_option
@vault_options
@guarded
def notice_list_command(as_json: bool, access: VaultAccess) -> None:
    """List the stored notice versions, oldest first (without their texts)."""
    with access.open() as vault:
        notices = vault.notices()
    if as_json:
        echo_json([_notice_json(n) for n in notices])
        return
    console = stdout()
    if not notices:
        console.print("No notice is stored: add one with `contactvault notice add`.")
        return
    table = Table(title=f"{len(notices)} notice version{'s' if len(notices) != 1 else ''}")
    for column in ("id", "version", "lang", "valid from", "renews", "sha256"):
        table.add_column(column)
    for n in notices:
        table.add_row(
            n.notice_id,
            n.version,
            n.language,
            n.valid_from.date().isoformat(),
            "yes" if n.renews else "",
            n.sha256[:16],
        )
    console.print(table)


@notice_group.command("show")
@click.argument("notice_id", metavar="ID")
@click.argument("version")
@json_option
@vault_options
@guarded
def notice_show_command(notice_id: str, version: str, as_json: bool, access: VaultAccess) -> None:
    """Print the exact text of version VERSION of notice ID (with --json: and what is stored about it)."""
    with access.open() as vault:
        notice = vault.notice(notice_id, version)
    if as_json:
        echo_json(_notice_json(notice, text=True))
        return
    click.echo(notice.text, nl=not notice.text.endswith("\n"))


# --- consent refresh ---------------------------------------------------------------------------------------


def _days(period: timedelta | None) -> int | float | None:
    if period is None:
        return None
    days = period / timedelta(days=1)
    return int(days) if days.is_integer() else days


def _shown(period: timedelta | None) -> str:
    days = _days(period)
    return "off" if days is None else f"{days} day{'s' if days != 1 else ''}"


@consent_group.command("refresh")
@click.argument("purpose", required=False)
@click.option(
    "--months",
    type=click.IntRange(1, _MAX_MONTHS),
    help="How long a consent counts, in months (a month is 365.2425/12 days, rounded to whole days: "
    "24 months are 730 days).",
)
@click.option("--days", type=click.IntRange(1, _MAX_DAYS), help="How long a consent counts, in days.")
@click.option("--off", is_flag=True, help="No refresh period for PURPOSE: consents count until withdrawn.")
@json_option
@vault_options
@guarded
def consent_refresh_command(
    purpose: str | None,
    months: int | None,
    days: int | None,
    off: bool,
    as_json: bool,
    access: VaultAccess,
) -> None:
    """Store how long a consent for PURPOSE counts; without an option, show the stored periods.

    The policy of `book`, `export` and `sync` (purpose messenger) and `consent due` use the stored
    period: a consent older than that leaves the messenger book at the next export or sync (reason
    consent_expired). The newest setting wins; each is recorded in the vault's log.
    """
    chosen = [name for name, given in (("--months", months), ("--days", days), ("--off", off)) if given]
    if len(chosen) > 1:
        raise CommandError(f"give one of --months, --days and --off, not {' and '.join(chosen)}")
    if not chosen:
        _show_refresh(purpose, as_json, access)
        return
    if purpose is None:
        raise CommandError(f"{chosen[0]} needs a PURPOSE, e.g. `consent refresh messenger {chosen[0]} ...`")
    if months is not None:
        period: timedelta | None = timedelta(days=round(months * _DAYS_PER_MONTH))
    else:
        period = None if off else timedelta(days=days or 0)
    with access.open() as vault:
        try:
            changed = vault.set_consent_refresh(purpose, period)
        except ValueError:
            raise CommandError(
                "invalid PURPOSE: lower-case letters, digits, _ . -, starting with a letter or digit, "
                "at most 100 characters"
            ) from None
    if as_json:
        echo_json({"purpose": purpose, "days": _days(period), "changed": changed})
        return
    note = "" if changed else " (already so; nothing changed)"
    click.echo(f"refresh period for {purpose}: {_shown(period)}{note}")


def _show_refresh(purpose: str | None, as_json: bool, access: VaultAccess) -> None:
    with access.open() as vault:
        periods = vault.consent_refreshes()
    if purpose is not None:
        periods = {purpose: periods.get(purpose)}
    if as_json:
        echo_json([{"purpose": p, "days": _days(d)} for p, d in sorted(periods.items())])
        return
    if not periods:
        click.echo(
            "No refresh period is stored: set one with `contactvault consent refresh PURPOSE --months N`."
        )
        return
    for name, period in sorted(periods.items()):
        click.echo(f"{name}: {_shown(period)}")


# --- consent import ----------------------------------------------------------------------------------------


def _zone(name: str) -> tzinfo:
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CommandError("invalid --timezone: an IANA time zone such as Europe/Berlin, or UTC") from None


def _read_bulk(file: str, region: str | None, zone: tzinfo) -> BulkConsents:
    if file == "-":
        return parse_consents(sys.stdin.buffer.read(), default_region=region, timezone=zone)
    return read_consents(Path(file), default_region=region, timezone=zone)


def _import_json(result: ConsentImport, rows: int) -> dict[str, Any]:
    return {
        "ok": result.ok,
        "rows": rows,
        "recorded": result.recorded,
        "already": result.already,
        "contacts": result.contacts,
        "rejected_lines": list(result.rejected_lines),
        "rejected": [{"line": r.line, "column": r.field, "reason": r.reason} for r in result.rejected],
    }


@consent_group.command("import")
@click.argument("file", metavar="FILE.csv|-")
@click.option(
    "--region",
    help="Region for numbers without a country code, e.g. DE (default: international numbers only).",
)
@click.option(
    "--timezone",
    "zone_name",
    default="UTC",
    show_default=True,
    help="Where a date without a time starts (00:00 there), e.g. Europe/Berlin.",
)
@json_option
@vault_options
@guarded
def consent_import_command(
    file: str, region: str | None, zone_name: str, as_json: bool, access: VaultAccess
) -> None:
    """Record the consents of a form export (CSV), all or nothing.

    Header: phone,purpose,granted_at,channel,notice_id,notice_version,evidence (contact, a short id, may
    stand instead of phone). Each row must name exactly one contact and a notice version stored in the
    vault (`notice add`). If any row is rejected, nothing is recorded, the exit code is 1, and each
    rejected row is listed with its line, column and reason (never a value). Otherwise every consent is
    recorded in one step, by the user who opened the vault; a consent the contact already holds (the same
    purpose, time and notice version) is not recorded twice.
    """
    default_region = parse_region(region)
    zone = _zone(zone_name)
    access.require()  # before the file is read
    bulk = _read_bulk(file, default_region, zone)
    rows = len(bulk.rows) + len(bulk.rejected_lines)
    with access.open() as vault:
        result = vault.import_consents(bulk)
    if as_json:
        echo_json(_import_json(result, rows))
    elif result.ok:
        click.echo(
            f"Recorded {result.recorded} consent{'s' if result.recorded != 1 else ''} for "
            f"{result.contacts} contact{'s' if result.contacts != 1 else ''}"
            + (f" ({result.already} already recorded)." if result.already else ".")
        )
    else:
        lines = result.rejected_lines
        click.echo(
            f"Nothing recorded: {len(lines)} of {rows} rows rejected "
            f"(line{'s' if len(lines) != 1 else ''} {', '.join(str(n) for n in lines)})."
        )
        for r in result.rejected:
            click.echo(f"line {r.line}, {r.field}: {r.reason}")
    if not result.ok:
        sys.exit(EXIT_FINDINGS)


COMMANDS: list[click.Command] = [notice_group]
