"""What every subcommand shares: the vault and its passphrase, common options, output.

Each subcommand is one function that takes its options as arguments; nothing is kept between commands
and nothing is global. A command that needs the vault declares ``@vault_options`` and gets a `VaultAccess`
(the vault's path, who opens it and where their passphrase or key comes from); ``with access.open() as
vault:`` opens it. A command that opens the vault twice reads the secret once (``unlock =
access.unlock_args()``) and passes it to each ``access.open(unlock)``.

The passphrase is never a command-line argument (it would end up in the shell history and in ``ps``): it
comes from ``--passphrase-file FILE``, the file named by ``CONTACTVAULT_PASSPHRASE_FILE``, or an
interactive prompt without echo, in that order. ``--user NAME`` (``CONTACTVAULT_USER``) says whose key
slot it opens, in a vault with several users. A service opens with its key instead, and is asked nothing:
``--service-key-file FILE`` (``CONTACTVAULT_SERVICE_KEY_FILE``; refused unless only its owner may read
and write it) or the key itself in ``CONTACTVAULT_SERVICE_KEY``.

It is asked for only when standard input is a terminal (`interactive`): without one, the command stops
with exit code 2 and says which option to give, before anything is opened.

How a command ends (exit codes, one-line errors, usage errors without values, Ctrl-C) is in
`contactvault.cli._errors`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import stat
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

import click
from pydantic import ValidationError

from contactvault.cli._ahead import (
    PASSPHRASE_FILE_ENV,
    SERVICE_KEY_ENV,
    SERVICE_KEY_FILE_ENV,
    USER_ENV,
    VAULT_ENV,
    first_line,
)
from contactvault.cli._errors import EXIT_BAD_INPUT, CommandError, track
from contactvault.errors import ContactNotFound, FolderNotFound, UnknownUser, VaultNotFound
from contactvault.i18n import LANGS
from contactvault.phones import check_region
from contactvault.vault import DEFAULT_LOCK_TIMEOUT, Vault, default_vault_path
from contactvault.vault.backends import Location, describe, is_url
from contactvault.vault.header import check_name

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "ACCEPT_KDF_CHANGE_ENV",
    "LOCK_TIMEOUT_ENV",
    "PASSPHRASE_FILE_ENV",
    "SERVICE_KEY_ENV",
    "SERVICE_KEY_FILE_ENV",
    "USER_ENV",
    "Unlock",
    "VaultAccess",
    "ask_secret",
    "check_folder",
    "check_user_name",
    "confirm",
    "echo_json",
    "interactive",
    "invalid_as_usage",
    "json_option",
    "lang_option",
    "live_ids",
    "mask_name",
    "need_terminal",
    "new_passphrase",
    "parse_moment",
    "parse_region",
    "read_secret_file",
    "region_option",
    "report_change",
    "resolve_contact",
    "reveal_option",
    "short_id",
    "stdout",
    "vault_options",
]

LOCK_TIMEOUT_ENV: Final = "CONTACTVAULT_LOCK_TIMEOUT"
"""The environment variable with the seconds a command's writes wait for another writer (default 15)."""

ACCEPT_KDF_CHANGE_ENV: Final = "CONTACTVAULT_ACCEPT_KDF_CHANGE"
"""Set to 1 to open a key slot whose KDF cost went up since this computer last opened it."""

_F = TypeVar("_F", bound=Callable[..., Any])


def stdout() -> Console:
    """The console for results (no colour codes when piped); rich is imported when it is first used."""
    from rich.console import Console  # noqa: PLC0415  (`list` prints no rich text: it starts without it)

    return Console(highlight=False, soft_wrap=False)


def echo_json(data: object) -> None:
    """Print ``data`` as JSON (UTF-8, indented): what ``--json`` prints."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


# --- the vault and its passphrase --------------------------------------------------------------------------


def read_secret_file(path: Path, what: str) -> str:
    """The first line of a passphrase or password file; ``CommandError`` (exit 5) naming the file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CommandError(
            f"{what} {path.name}: {exc.strerror or 'cannot be read'}", EXIT_BAD_INPUT
        ) from None
    return _first_line(data, path, what)


def _first_line(data: bytes, path: Path, what: str) -> str:
    try:
        line = first_line(data)
    except UnicodeDecodeError:
        raise CommandError(f"{what} {path.name}: not UTF-8 text", EXIT_BAD_INPUT) from None
    if not line:
        raise CommandError(f"{what} {path.name}: the first line is empty", EXIT_BAD_INPUT)
    return line


def read_key_file(path: Path) -> str:
    """A service key file's first line; refused (exit 5) if group or others may read or write it.

    As ssh refuses a private key others can read: the key opens the vault without anything typed. The
    mode is checked on the file that is read (no window between the check and the read).
    """
    what = "service key file"
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise CommandError(f"{what} {path}: {exc.strerror or 'cannot be read'}", EXIT_BAD_INPUT) from None
    with os.fdopen(descriptor, "rb") as stream:
        mode = stat.S_IMODE(os.fstat(descriptor).st_mode)
        if os.name == "posix" and mode & 0o077:
            raise CommandError(
                f"{what} {path} may be read or written by others (mode {mode:04o}); it must be private "
                f"to its owner: run chmod 600 {path}",
                EXIT_BAD_INPUT,
            )
        data = stream.read(4096)
    return _first_line(data, path, what).strip()


def interactive() -> bool:
    """Whether a person can be asked: standard input is a terminal.

    Prompts are only shown then. Without a terminal, Python's ``getpass`` warns that it cannot hide the
    input and reads whatever the standard input holds; contactvault stops instead (see `ask_secret`).
    Tests that type their answers through click's test runner replace this function.
    """
    stream = sys.stdin
    return stream is not None and stream.isatty()


def need_terminal(missing: str) -> None:
    """Unless a person can be asked (`interactive`), a ``CommandError`` (exit 2): ``missing``, and why.

    Every command checks through this function before it prompts, so there is one rule (and one place
    for tests to replace).
    """
    if not interactive():
        raise CommandError(f"{missing} (there is no terminal to ask on)")


def ask_secret(prompt: str, *, twice: bool, missing: str, what: str) -> str:
    """A passphrase or password typed at a prompt without echo (``twice``: typed again to confirm).

    Without a terminal a ``CommandError`` (exit 2) says ``missing`` and that there is no terminal to ask
    on (`need_terminal`); an empty answer is refused, naming ``what``.
    """
    need_terminal(missing)
    value: str = click.prompt(prompt, hide_input=True, confirmation_prompt=twice, err=True)
    if not value:
        raise CommandError(f"{what} must not be empty")
    return value


def new_passphrase(file: Path | None, prompt: str = "New passphrase") -> str:
    """A new passphrase: the first line of ``file`` (``--new-passphrase-file``), or asked twice."""
    if file is not None:
        return read_secret_file(file, "passphrase file")
    return ask_secret(
        prompt, twice=True, missing="no new passphrase: give --new-passphrase-file", what="the passphrase"
    )


def check_user_name(name: str) -> str:
    """``name`` if it can name a user or service; otherwise a ``CommandError`` (exit 2) saying what can."""
    try:
        return check_name(name)
    except ValueError as exc:
        raise CommandError(str(exc)) from None


def accept_kdf_change() -> bool:
    """Whether ``CONTACTVAULT_ACCEPT_KDF_CHANGE`` is set (1, yes, true; empty, 0, no, false: not set)."""
    text = os.environ.get(ACCEPT_KDF_CHANGE_ENV, "").strip().lower()
    if text in {"1", "yes", "true"}:
        return True
    if text not in {"", "0", "no", "false"}:
        raise CommandError(f"{ACCEPT_KDF_CHANGE_ENV} must be 1 (or 0)")
    return False


@dataclass(frozen=True, slots=True)
class Unlock:
    """What opens the vault, read once: a person's passphrase (and name), or a service's key.

    Made by `VaultAccess.unlock_args`; a command that opens the vault twice passes it to each
    `VaultAccess.open`, so that nothing is asked twice.
    """

    passphrase: str | None = field(repr=False)
    service_key: str | None = field(repr=False)
    user: str | None
    accept_kdf_change: bool = False

    def open(self, location: Location) -> Vault:
        """``Vault.open`` with these arguments (and the lock timeout of ``CONTACTVAULT_LOCK_TIMEOUT``)."""
        if self.service_key is not None:
            vault = Vault.open(location, service_key=self.service_key, lock_timeout=lock_timeout())
            if self.user is not None and vault.user != self.user:
                vault.close()
                raise UnknownUser(f"the service key is not the key of {self.user!r}")
            return vault
        return Vault.open(
            location,
            self.passphrase,
            user=self.user,
            accept_kdf_change=self.accept_kdf_change,
            lock_timeout=lock_timeout(),
        )


@dataclass(frozen=True, slots=True)
class VaultAccess:
    """Where the vault is, who opens it, where their passphrase or key comes from (see the module docstring).

    ``location`` is a vault file or a ``postgresql://`` URL; ``user`` the key slot to open (``None``: the
    only person's); ``service_key_file`` a service's key file.
    """

    location: Location
    passphrase_file: Path | None
    user: str | None = None
    service_key_file: Path | None = None

    @property
    def is_file(self) -> bool:
        """Whether the vault is a file (not a PostgreSQL URL)."""
        return not is_url(self.location)

    @property
    def path(self) -> Path:
        """The vault file; a ``CommandError`` for a PostgreSQL vault, which this command cannot use."""
        if not self.is_file:
            raise CommandError("this command works on a vault file, not on a PostgreSQL vault")
        return Path(self.location)

    @property
    def name(self) -> str:
        """The vault's name in messages: the file's name, or the URL without its password."""
        return describe(self.location)

    def exists(self) -> bool:
        """Whether the vault file exists (a PostgreSQL vault is looked for when it is opened)."""
        return not self.is_file or self.path.exists()

    def passphrase(self, *, new: bool = False, prompt: str = "Passphrase") -> str:
        """The passphrase: from the file, the environment variable's file, or a prompt without echo.

        ``new`` asks twice at the prompt (for ``init`` and ``passwd``). Without a terminal to ask on, a
        ``CommandError`` (exit 2) names the option to give instead.
        """
        if self.passphrase_file is not None:
            return read_secret_file(self.passphrase_file, "passphrase file")
        named = os.environ.get(PASSPHRASE_FILE_ENV)
        if named:
            return read_secret_file(Path(named), f"{PASSPHRASE_FILE_ENV}:")
        return ask_secret(
            prompt,
            twice=new,
            missing=f"no passphrase: give --passphrase-file or set {PASSPHRASE_FILE_ENV}",
            what="the passphrase",
        )

    def service_key(self) -> str | None:
        """A service's key: ``--service-key-file`` (or its variable), else ``CONTACTVAULT_SERVICE_KEY``."""
        if self.service_key_file is not None:
            return read_key_file(self.service_key_file)
        return os.environ.get(SERVICE_KEY_ENV, "").strip() or None

    def unlock_args(self) -> Unlock:
        """What opens the vault, read now: the one place every command gets it from.

        The service key if one is given (then nothing is asked), else the passphrase (from its file, or
        asked at the prompt).
        """
        key = self.service_key()
        if key is not None and self.passphrase_file is not None:
            raise CommandError("give --passphrase-file or a service key, not both")
        return Unlock(
            passphrase=self.passphrase() if key is None else None,
            service_key=key,
            user=self.user,
            accept_kdf_change=accept_kdf_change(),
        )

    @contextlib.contextmanager
    def open(self, unlock: Unlock | None = None) -> Iterator[Vault]:
        """Open the vault (``VaultNotFound`` first, before asking for a passphrase).

        ``unlock`` is what `unlock_args` read before (for a command that opens the vault twice); otherwise
        it is read here. The vault is remembered for the running command (`track`).
        """
        self.require()
        how = unlock if unlock is not None else self.unlock_args()
        with how.open(self.location) as vault:
            yield track(vault)

    def require(self) -> None:
        """Raise ``VaultNotFound`` if there is no vault file (checked before a passphrase is asked for)."""
        if not self.exists():
            raise VaultNotFound(
                f"no vault at {self.name}: create one with `contactvault init` or pass --vault"
            )


def lock_timeout() -> float:
    """Seconds a write waits for another writer: ``CONTACTVAULT_LOCK_TIMEOUT``, else the library's default."""
    text = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_LOCK_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:  # up to an hour
        raise CommandError(f"{LOCK_TIMEOUT_ENV} must be a number of seconds from 0 to 3600")
    return value


class _VaultLocation(click.Path):
    """``--vault``: a ``postgresql://`` URL as it is, anything else a file path (not a folder)."""

    def __init__(self) -> None:
        super().__init__(path_type=Path, dir_okay=False)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:  # noqa: ANN401
        if isinstance(value, str) and is_url(value):
            return value
        return super().convert(value, param, ctx)


def vault_options(func: _F) -> _F:
    """Add the vault options; the command receives ``access: VaultAccess``.

    They are ``--vault``, ``--passphrase-file``, ``--user`` and ``--service-key-file``.
    """

    @click.option(
        "--vault",
        "vault_path",
        type=_VaultLocation(),
        envvar=VAULT_ENV,
        metavar="PATH|URL",
        help="The vault file, or a postgresql:// URL (default: vault.db in the user data folder; "
        "env CONTACTVAULT_VAULT).",
    )
    @click.option(
        "--passphrase-file",
        type=click.Path(path_type=Path, dir_okay=False),
        help=f"Read the passphrase from the first line of this file (or set {PASSPHRASE_FILE_ENV}). "
        "Without either, it is asked for without echo.",
    )
    @click.option(
        "--user",
        "user",
        envvar=USER_ENV,
        metavar="NAME",
        help=f"Whose key slot the passphrase opens, in a vault with several users (env {USER_ENV}).",
    )
    @click.option(
        "--service-key-file",
        type=click.Path(path_type=Path, dir_okay=False),
        envvar=SERVICE_KEY_FILE_ENV,
        help=f"Open as a service, with the key in the first line of this file (mode 0600; env "
        f"{SERVICE_KEY_FILE_ENV}, or the key itself in {SERVICE_KEY_ENV}): no passphrase is asked.",
    )
    @functools.wraps(func)
    def wrapper(
        *args: Any,  # noqa: ANN401
        vault_path: Location | None,
        passphrase_file: Path | None,
        user: str | None,
        service_key_file: Path | None,
        **kwargs: Any,  # noqa: ANN401
    ) -> Any:  # noqa: ANN401
        location = vault_path or default_vault_path()
        access = VaultAccess(location, passphrase_file, user or None, service_key_file)
        return func(*args, access=access, **kwargs)

    return wrapper  # type: ignore[return-value]


def resolve_contact(vault: Vault, reference: str, *, region: str | None) -> uuid.UUID:
    """A contact from its id (or the first 8 or more hex digits of it) or one of its phone numbers.

    Raises ``CommandError`` if the reference matches several contacts (their ids listed, nothing else),
    and ``ContactNotFound`` if it matches none.
    """
    text = reference.strip()
    compact = text.replace("-", "").lower()
    matches: list[uuid.UUID] = []
    if len(compact) >= 8 and all(ch in "0123456789abcdef" for ch in compact):
        if len(compact) == 32:
            return uuid.UUID(compact)
        matches = [cid for cid in live_ids(vault) if cid.hex.startswith(compact)]
    if not matches and not compact.isalpha():  # a number written without spaces is also all hex digits
        matches = [contact.id for contact in vault.find_by_phone(text, region=region)]
    if not matches:
        raise ContactNotFound("no contact has that id or number")
    if len(matches) > 1:
        ids = ", ".join(str(m)[:8] for m in sorted(matches)[:10])
        raise CommandError(f"several contacts match ({ids}); give the id")
    return matches[0]


def live_ids(vault: Vault) -> Iterator[uuid.UUID]:
    """The ids of the vault's live contacts (not erased, not merged), in the order they were added.

    The same ids as ``[entry.id for entry in vault]``, read from the stored rows without decrypting any
    record: a command that resolves an id prefix then opens only the one contact it names, which is
    authenticated as every record is. The set of rows was checked against the row-set state when the
    vault was opened, and the state is read again first (as every read does, for the rollback watch).
    """
    core = vault._core  # the vault has no public list of ids yet (tests/test_cli_list.py pins this)
    core.watched()
    for row in core.storage.rows():
        if row.data_key is not None:
            yield uuid.UUID(bytes=row.id)


def check_folder(path: Path | None) -> None:
    """``FolderNotFound`` (exit 6) if ``path``'s folder does not exist: said before any work is done.

    Writing checks it too (`contactvault.export.minimal.write_atomically`); a command that writes a file
    at its end checks first, so that it does not read the vault or a source only to fail then.
    """
    if path is not None and not path.parent.is_dir():
        raise FolderNotFound(path.parent)


def mask_name(name: str) -> str:
    """A name as listings show it unless ``--reveal``: each word's first letter and a dot (``J. M.``)."""
    initials = []
    for word in name.split():
        for ch in word:  # the word's first letter or digit; a word without one gives none
            if ch.isalnum():
                initials.append(f"{ch.upper()}.")
                break
    return " ".join(initials) or "•••"


def region_option(func: _F) -> _F:
    """Add ``--region`` for a CONTACT given as a number without its country code."""
    return click.option(
        "--region",
        help="Region for a number without a country code, e.g. DE (default: international numbers only).",
    )(func)


def parse_region(value: str | None) -> str | None:
    """``None`` for no value or ``none``; otherwise the checked region code (``InvalidRegion``: exit 2)."""
    if value is None or value.lower() == "none":
        return None
    return check_region(value)


def lang_option(help_text: str = "The document's language.") -> Callable[[_F], _F]:
    """Add ``--lang`` (one of `contactvault.i18n.LANGS`, English by default)."""
    return click.option("--lang", type=click.Choice(LANGS), default="en", show_default=True, help=help_text)


# --- options and output every change command shares ---------------------------------------------------


def json_option(func: _F) -> _F:
    """Add ``--json``: the command receives ``as_json``."""
    return click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")(func)


def reveal_option(func: _F) -> _F:
    """Add ``--reveal``: names, numbers and labels in full instead of masked."""
    return click.option(
        "--reveal", is_flag=True, help="Show names, numbers and labels in full (they are masked otherwise)."
    )(func)


def short_id(contact_id: uuid.UUID) -> str:
    """The first eight hex digits of a contact id: what commands print and accept."""
    return contact_id.hex[:8]


def report_change(
    contact_id: uuid.UUID, action: str, message: str, *, changed: bool, version: int, as_json: bool
) -> None:
    """The confirmation of a change: one line with the short id, or JSON; never a personal value."""
    if as_json:
        echo_json({"id": str(contact_id), "action": action, "changed": changed, "version": version})
    else:
        click.echo(f"{short_id(contact_id)}: {message}")


def _validation_message(exc: ValidationError, options: Mapping[str, str]) -> str:
    """The first problem, naming the option (or field) and never the value."""
    first = exc.errors(include_url=False, include_input=False, include_context=False)[0]
    message = first["msg"].removeprefix("Value error, ")
    fields = [str(part) for part in first["loc"] if isinstance(part, str)]
    if not fields:
        return message
    option = options.get(fields[0]) or options.get(fields[-1]) or f"field {fields[-1]}"
    return f"invalid {option}: {message}"


@contextlib.contextmanager
def invalid_as_usage(options: Mapping[str, str]) -> Iterator[None]:
    """Turn a validation error into a one-line ``CommandError`` naming the option, never the value.

    A pydantic ``ValidationError`` names its field, mapped to the option through ``options``; a plain
    ``ValueError`` (raised by contactvault with a message that names the option) is passed on as it is.
    """
    try:
        yield
    except ValidationError as exc:
        raise CommandError(_validation_message(exc, options)) from None
    except ContactNotFound:
        raise
    except ValueError as exc:
        raise CommandError(str(exc)) from None


def parse_moment(value: str, option: str) -> datetime:
    """An aware time from ISO 8601 text; a naive time or text that is not one is a usage error."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option} must be an ISO 8601 time such as 2024-03-01T09:30:00+01:00") from None
    if moment.tzinfo is None:
        raise CommandError(f"{option} needs a time zone, e.g. 2024-03-01T09:30:00+01:00 or ...Z")
    return moment


def confirm(question: str) -> bool:
    """Ask a yes/no question on the terminal (no by default); without a terminal, ``--yes`` is needed.

    Commands ask before they open the vault for the change, so that the vault is free meanwhile.
    """
    need_terminal("the command asks before it changes anything: give --yes")
    return click.confirm(question, default=False, err=True)
