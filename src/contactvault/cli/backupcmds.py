"""``contactvault backup``, ``restore`` and ``migrate``: verified copies of the vault.

``backup DEST`` writes a consistent copy of the vault (SQLite's online backup) to a new file, mode 0600,
and checks the copy before it appears (every record decrypted with the vault's keys). ``restore SRC DEST``
checks a backup with the passphrase (or ``--recovery-key-file``) and copies it to a NEW path; it never
overwrites a file and never writes the backup. A backup older than the vault this client last saw is refused
(an older copy put back); ``--accept-older`` restores it on purpose, logs that in the restored vault and makes
it this client's new baseline. ``docs/vault-over-the-years.md`` says how a business backs
up: what, where, how often, and how to test a restore. ``migrate SRC DST`` copies a vault between an SQLite
file and PostgreSQL (``docs/team.md``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from contactvault.cli._app import VaultAccess, echo_json, json_option, read_secret_file, vault_options
from contactvault.cli._errors import EXIT_BAD_INPUT, CommandError, guarded
from contactvault.vault import BackupReport, Vault, VerifyReport
from contactvault.vault.backends import describe, is_url

__all__ = ["COMMANDS", "backup_command", "migrate_command", "restore_command"]


def _checked(check: VerifyReport) -> dict[str, object]:
    """What the check of a copy found, as ``--json`` prints it."""
    return {
        "verified": True,
        "contacts": check.contacts,
        "erased": check.erased,
        "disclosures": check.disclosures,
    }


def _said(check: VerifyReport) -> str:
    """What the check of a copy found, in words."""
    return (
        f"verified, {check.contacts} contacts, {check.erased} erased, {check.disclosures} disclosure records"
    )


def _report(report: BackupReport, what: str, as_json: bool) -> None:
    if as_json:
        accepted = {} if report.accepted_older is None else {"accepted_older": report.accepted_older}
        echo_json({"path": str(report.path), "size": report.size, **_checked(report.check), **accepted})
        return
    click.echo(f"{what} {report.path.name} ({report.size} bytes): {_said(report.check)}.")
    if report.accepted_older is not None:
        click.echo(
            f"The backup is older than the vault this client saw (generation {report.check.generation}; "
            f"seen: {report.accepted_older}): accepted on purpose, logged in the restored vault, which is "
            "now this client's baseline."
        )


@click.command("backup")
@click.argument("dest", type=click.Path(path_type=Path, dir_okay=False))
@json_option
@vault_options
@guarded
def backup_command(dest: Path, as_json: bool, access: VaultAccess) -> None:
    """Write a verified copy of the vault to DEST (a new file, mode 0600); it opens with the same passphrase.

    DEST must not exist: a backup never overwrites. Keep backups away from the vault's disk, and test a
    restore now and then (`contactvault restore`).
    """
    if dest.exists() or dest.is_symlink():
        raise CommandError(f"{dest.name} already exists; a backup never overwrites a file")
    with access.open() as vault:
        report = vault.backup(dest)
    _report(report, "Wrote", as_json)
    if not as_json:
        click.echo("It opens with the vault's passphrase (and recovery key, if any). Keep it somewhere else.")


@click.command("restore")
@click.argument("source", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("dest", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--recovery-key-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Open the backup with the recovery key in this file instead of the passphrase.",
)
@click.option(
    "--accept-older",
    is_flag=True,
    help="Restore the backup even if it is older than the vault this client has seen (a deliberate "
    "restore): the restore is logged in it, and it becomes this client's new baseline.",
)
@json_option
@vault_options
@guarded
def restore_command(
    source: Path,
    dest: Path,
    recovery_key_file: Path | None,
    accept_older: bool,
    as_json: bool,
    access: VaultAccess,
) -> None:
    """Check the backup SOURCE and copy it to DEST, a NEW file; SOURCE is only read.

    The copy is opened with the passphrase (--passphrase-file, the environment, or a prompt) or the
    recovery key, and verified before it appears at DEST. Point --vault at DEST to use it. A backup older
    than the vault this client has seen is refused (exit 3) unless --accept-older is given.
    """
    if not source.is_file():
        raise CommandError(f"no backup at {source.name}", EXIT_BAD_INPUT)
    if dest.exists() or dest.is_symlink():
        raise CommandError(f"{dest.name} already exists; a restore never overwrites a file")
    if recovery_key_file is not None:
        key = read_secret_file(recovery_key_file, "recovery key file")
        report = Vault.restore(source, dest, recovery_key=key, accept_older=accept_older)
    else:
        unlock = dataclasses.replace(access, location=source).unlock_args()
        report = Vault.restore(
            source,
            dest,
            unlock.passphrase,
            user=unlock.user,
            service_key=unlock.service_key,
            accept_older=accept_older,
        )
    _report(report, "Restored", as_json)


@click.command("migrate")
@click.argument("source", metavar="SRC")
@click.argument("target", metavar="DST")
@json_option
@click.option(
    "--passphrase-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Read SRC's passphrase from the first line of this file (or set CONTACTVAULT_PASSPHRASE_FILE). "
    "Without either, it is asked for without echo.",
)
@guarded
def migrate_command(source: str, target: str, as_json: bool, passphrase_file: Path | None) -> None:
    """Copy the vault SRC into a NEW vault DST, a file or a postgresql:// URL, and verify the copy.

    The sealed rows are copied as they are (nothing is decrypted to copy them); the copy opens with SRC's
    passphrase and is checked record by record before the command reports success. SRC is only read.
    DST must not hold a vault yet. Example: contactvault migrate vault.db postgresql://app@db/crm
    """
    access = VaultAccess(source if is_url(source) else Path(source), passphrase_file)
    if not is_url(target) and (Path(target).exists() or Path(target).is_symlink()):
        raise CommandError(f"{Path(target).name} already exists; migrate never overwrites a vault")
    with access.open() as vault:
        report = vault.migrate_to(target)
    if as_json:
        echo_json({"source": report.source, "target": report.target, **_checked(report.check)})
        return
    click.echo(
        f"Copied {report.source} to {describe(target)}: {_said(report.check)}. "
        "It opens with the same passphrase."
    )


COMMANDS: list[click.Command] = [backup_command, restore_command, migrate_command]
