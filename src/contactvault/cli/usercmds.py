"""The users of a vault: ``user add``, ``user list``, ``user remove``, ``user passwd``, and ``rekey``.

Every user has a key slot of their own: a person opens it with their own passphrase (``--user NAME``), a
service (a web app, a nightly job) with a random key from a file or an environment variable. Adding a
user needs an existing one to unlock the vault; the log names who added or removed whom. Removing a user
deletes their slot, so their passphrase or key no longer opens the vault; ``rekey`` then replaces the
master key they may have kept. ``user passwd`` is ``contactvault passwd`` (`contactvault.cli.vaultcmds`):
one command under two names. ``docs/cli-users.md`` is the reference.

No command prints a passphrase; a service's new key is written to a new file of mode 0600, or printed
once to standard output with ``--key-file -`` (for a secret store), never otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Final

import click
from rich.table import Table
from rich.text import Text

from contactvault.cli._app import (
    VaultAccess,
    check_folder,
    check_user_name,
    confirm,
    echo_json,
    invalid_as_usage,
    json_option,
    need_terminal,
    new_passphrase,
    stdout,
    vault_options,
)
from contactvault.cli._errors import EXIT_BAD_INPUT, CommandError, guarded, note_written
from contactvault.cli.vaultcmds import passwd_command, print_recovery_key
from contactvault.crypto import KdfParams
from contactvault.errors import UnknownUser
from contactvault.vault import Vault
from contactvault.vault.users import UserInfo

__all__ = [
    "COMMANDS",
    "rekey_command",
    "user_add_command",
    "user_group",
    "user_list_command",
    "user_remove_command",
]

_RECOVERY: Final = "recovery key"
_REKEY_ADVICE: Final = "they may have kept the master key or a copy of the file: run `contactvault rekey` now"


@click.group("user", short_help="Add, list and remove the vault's users; set a passphrase.")
def user_group() -> None:
    """Add, list and remove the vault's users (people and services), and set a user's passphrase.

    Each user has a key slot of their own: a person opens the vault with their own passphrase (--user
    NAME), a service with a random key from a file (--service-key-file) or CONTACTVAULT_SERVICE_KEY.
    """


user_group.add_command(passwd_command)


# --- user add -----------------------------------------------------------------------------------------------


def _new_key_file(path: Path) -> int:
    """Create ``path`` new, mode 0600 whatever the umask, before the key exists; its descriptor."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:
        raise CommandError(f"{path.name} already exists; the service key goes into a new file") from None
    if hasattr(os, "fchmod"):
        os.fchmod(descriptor, 0o600)  # exactly 0600, whatever the umask
    note_written()
    return descriptor


def _write_key(descriptor: int, key: str, path: Path, name: str) -> None:
    """Write the key into the new file and flush it to disk; if that fails, say how to start over."""
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(key + "\n")
            stream.flush()
            os.fsync(stream.fileno())
    except OSError as exc:
        raise CommandError(
            f"the service {name} was added, but its key could not be written to {path.name} "
            f"({exc.strerror or 'write error'}): remove it with `contactvault user remove {name}` and add "
            "it again",
            EXIT_BAD_INPUT,
        ) from None


def _add_service(vault: Vault, name: str, key_file: Path | None) -> str:
    """Add the service; its key goes into ``key_file`` (created first, removed if the adding fails)."""
    descriptor = _new_key_file(key_file) if key_file is not None else None
    try:
        with invalid_as_usage({}):
            key = vault.add_service(name)
    except BaseException:
        if descriptor is not None and key_file is not None:
            os.close(descriptor)
            key_file.unlink(missing_ok=True)
        raise
    if descriptor is not None and key_file is not None:
        _write_key(descriptor, key, key_file, name)
    return key


@user_group.command("add")
@click.argument("name")
@click.option(
    "--new-passphrase-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Read the new person's passphrase from the first line of this file (default: asked twice, "
    "without echo).",
)
@click.option(
    "--service",
    is_flag=True,
    help="Add a service (a web app, a nightly job) that opens with a random key instead of a "
    "passphrase; needs --key-file.",
)
@click.option(
    "--key-file",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    help="With --service: write the new key to this new file (mode 0600). `-` prints it once to "
    "standard output instead, for a secret store.",
)
@json_option
@vault_options
@guarded
def user_add_command(
    name: str,
    new_passphrase_file: Path | None,
    service: bool,
    key_file: Path | None,
    as_json: bool,
    access: VaultAccess,
) -> None:
    """Add user NAME: a person with their own passphrase, or with --service a service with a key.

    You unlock the vault as every command does (--user, --passphrase-file, ...); then the new person's
    passphrase is asked twice without echo, or read from --new-passphrase-file. A service's random key
    is written to --key-file (a new file, mode 0600) and shown nowhere else.
    """
    check_user_name(name)
    to_stdout = key_file is not None and str(key_file) == "-"
    if service:
        if key_file is None:
            raise CommandError("--service needs --key-file FILE (or --key-file - to print the key once)")
        if new_passphrase_file is not None:
            raise CommandError("a service has no passphrase: leave out --new-passphrase-file")
    elif key_file is not None:
        raise CommandError("--key-file is for a service: add --service")
    elif new_passphrase_file is None:  # said before anything is read or opened
        need_terminal(f"no passphrase for {name}: give --new-passphrase-file")
    access.require()
    target = None if to_stdout or key_file is None else key_file
    if target is not None:
        check_folder(target)
        if target.exists() or target.is_symlink():
            raise CommandError(f"{target.name} already exists; the service key goes into a new file")
    key: str | None = None
    with access.open() as vault:
        by = vault.user
        if service:
            key = _add_service(vault, name, target)
        else:
            passphrase = new_passphrase(new_passphrase_file, f"Passphrase for {name}")
            with invalid_as_usage({}):
                vault.add_user(name, passphrase)
    kind = "service" if service else "person"
    if as_json:
        echo_json(
            {
                "user": name,
                "kind": kind,
                "added_by": by,
                "key_file": str(target) if target is not None else None,
                "service_key": key if to_stdout else None,
            }
        )
        return
    if not service:
        click.echo(
            f"{by} added {name} to {access.name}; they open it with --user {name} and their own passphrase."
        )
        return
    if to_stdout:
        click.echo(key)
        click.echo(f"{by} added the service {name} to {access.name}; its key is above, shown once.", err=True)
        return
    click.echo(
        f"{by} added the service {name} to {access.name}; its key is in {target} (mode 0600): the service "
        f"opens the vault with --service-key-file {target} or CONTACTVAULT_SERVICE_KEY_FILE."
    )


# --- user list ---------------------------------------------------------------------------------------------


def _kdf_text(kdf: KdfParams | None) -> str:
    if kdf is None:
        return ""
    memory = f"{kdf.memory_kib // 1024} MiB" if kdf.memory_kib >= 1024 else f"{kdf.memory_kib} KiB"
    return f"{memory}, {kdf.iterations} iterations, {kdf.lanes} lanes"


def _user_row(user: UserInfo) -> dict[str, Any]:
    kdf = user.kdf
    return {
        "name": user.name,
        "kind": user.kind,
        "kdf": None
        if kdf is None
        else {"memory_kib": kdf.memory_kib, "iterations": kdf.iterations, "lanes": kdf.lanes},
        "you": user.you,
        "carried_over": user.carried_over,
    }


@user_group.command("list")
@json_option
@vault_options
@guarded
def user_list_command(as_json: bool, access: VaultAccess) -> None:
    """List the vault's users: name, kind (person, service, recovery key), KDF, and which one is you.

    "carried over" marks a person from a vault made by an older version who has not opened it since
    (they get a key pair of their own at their next open; `rekey` waits for that).
    """
    with access.open() as vault:
        users = vault.users()
    if as_json:
        echo_json([_user_row(user) for user in users])
        return
    table = Table(title=f"{len(users)} key slot{'s' if len(users) != 1 else ''}")
    for column in ("user", "kind", "Argon2id", "", "note"):
        table.add_column(column, no_wrap=column != "note")
    for user in users:
        table.add_row(
            Text(user.name),
            user.kind,
            _kdf_text(user.kdf),
            "you" if user.you else "",
            "carried over: opens once to get a key pair" if user.carried_over else "",
        )
    stdout().print(table)


# --- user remove -------------------------------------------------------------------------------------------


def _kind_of(users: list[UserInfo], name: str) -> str:
    for user in users:
        if user.name == name and user.kind != _RECOVERY:
            return user.kind
    raise UnknownUser(f"this vault has no user {name!r}")


@user_group.command("remove")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (needed without a terminal).")
@json_option
@vault_options
@guarded
def user_remove_command(name: str, yes: bool, as_json: bool, access: VaultAccess) -> None:
    """Remove user NAME (a person or a service): their passphrase or key no longer opens the vault.

    Asks first on a terminal (without one, --yes is needed). It does not take back the master key they
    knew, nor a copy of the file they kept: run `contactvault rekey` afterwards.
    """
    if not yes:
        need_terminal("the command asks before it changes anything: give --yes")
    access.require()
    unlock = access.unlock_args()  # read once: without --yes the vault is opened twice
    if not yes:  # the vault is closed while the person answers
        with access.open(unlock) as vault:
            kind = _kind_of(vault.users(), name)
        if not confirm(f"Remove the {kind} {name} from {access.name}?"):
            click.echo("Nothing was removed.", err=True)
            return
    with access.open(unlock) as vault:
        kind = _kind_of(vault.users(), name)
        by = vault.user
        with invalid_as_usage({}):
            vault.remove_user(name)
    if as_json:
        echo_json({"removed": name, "kind": kind, "removed_by": by, "rekey_needed": True})
        return
    secret = "key" if kind == "service" else "passphrase"
    click.echo(
        f"{by} removed the {kind} {name} from {access.name}: their {secret} no longer opens this vault."
    )
    click.echo(f"But {_REKEY_ADVICE}.")


# --- rekey -------------------------------------------------------------------------------------------------


@click.command("rekey")
@json_option
@vault_options
@guarded
def rekey_command(as_json: bool, access: VaultAccess) -> None:
    """Replace the vault's master key: run it after removing a user.

    Every contact's data key is re-wrapped under a new master key, sealed to each remaining user (no
    contact is re-encrypted). A recovery key is replaced too: the new one is shown once, the old one no
    longer opens the vault. Other programs that have the vault open carry on.
    """
    with access.open() as vault:
        report = vault.rekey()
        by = vault.user
    if as_json:
        echo_json(
            {
                "contacts": report.contacts,
                "users": list(report.users),
                "rekeyed_by": by,
                "recovery_key": report.recovery_key,
            }
        )
        return
    click.echo(
        f"{by} re-keyed {access.name}: a new master key, {report.contacts} data key"
        f"{'s' if report.contacts != 1 else ''} re-wrapped under it (no contact re-encrypted)."
    )
    click.echo(f"Users who can open it: {', '.join(report.users)}.")
    click.echo(
        "The old master key unwraps no contact's data key in this vault now (the index, book, log and "
        "tombstone keys are kept: docs/threat-model.md); a copy of the file made before still opens "
        "with the passphrases it had."
    )
    if report.recovery_key is not None:
        click.echo("The old recovery key no longer opens this vault. A new one:")
        print_recovery_key(report.recovery_key)


COMMANDS: list[click.Command] = [user_group, rekey_command]
