"""What every subcommand shares: exit codes, errors as one line, the vault and its passphrase, output.

Each subcommand is one function that takes its options as arguments; nothing is kept between commands
and nothing is global. A command that needs the vault declares ``@vault_options`` and gets a `VaultAccess`
(the vault's path and where its passphrase comes from); ``with access.open() as vault:`` opens it.

The passphrase is never a command-line argument (it would end up in the shell history and in ``ps``): it
comes from ``--passphrase-file FILE``, the file named by ``CONTACTVAULT_PASSPHRASE_FILE``, or an
interactive prompt without echo, in that order.

Errors become one line on stderr and an exit code (`EXIT_CODES`); ``contactvault --debug ...`` shows
the traceback of an unexpected error. No message contains a name, a number or a passphrase.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

import click
from rich.console import Console

from contactvault.errors import (
    ConflictError,
    ContactNotFound,
    ContactVaultError,
    ImportFailed,
    InvalidRegion,
    KdfLimitExceeded,
    SyncError,
    UnsupportedFormat,
    VaultCorrupted,
    VaultExists,
    VaultLocked,
    VaultNotFound,
    WrongPassphrase,
)
from contactvault.i18n import LANGS
from contactvault.phones import check_region
from contactvault.vault import Vault, default_vault_path

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_CODES",
    "EXIT_FINDINGS",
    "EXIT_INTERNAL",
    "EXIT_LOCKED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_SYNC",
    "EXIT_USAGE",
    "EXIT_VAULT",
    "PASSPHRASE_FILE_ENV",
    "CommandError",
    "VaultAccess",
    "echo_json",
    "guarded",
    "lang_option",
    "mask_name",
    "parse_region",
    "read_secret_file",
    "region_option",
    "resolve_contact",
    "stderr",
    "stdout",
    "vault_options",
]

EXIT_OK: Final = 0
EXIT_FINDINGS: Final = 1
EXIT_USAGE: Final = 2
EXIT_VAULT: Final = 3
EXIT_LOCKED: Final = 4
EXIT_BAD_INPUT: Final = 5
EXIT_NOT_FOUND: Final = 6
EXIT_SYNC: Final = 7
EXIT_INTERNAL: Final = 70  # EX_SOFTWARE from sysexits.h: a bug in contactvault

EXIT_CODES: Final[dict[int, str]] = {
    EXIT_OK: "done",
    EXIT_FINDINGS: "done, with findings: the audit found a code named by --fail-on, or import --strict "
    "could not import every card",
    EXIT_USAGE: "usage error: a missing or invalid option or argument, an ambiguous contact, a stale "
    "copy, a vault that already exists, a demo --folder that is not empty",
    EXIT_VAULT: "the vault cannot be opened: wrong passphrase, damaged or tampered file, unknown format",
    EXIT_LOCKED: "the vault is open in another process",
    EXIT_BAD_INPUT: "an input file cannot be read: not an address book, an unknown CSV layout, a bad "
    "config or passphrase file",
    EXIT_NOT_FOUND: "no such vault, or no such contact (or it was erased)",
    EXIT_SYNC: "a sync target failed (server unreachable, credentials refused, a conflict)",
    EXIT_INTERNAL: "an unexpected error inside contactvault (--debug shows the traceback; please report it)",
}
"""Every exit code of the ``contactvault`` command and what it means (``docs/cli.md`` lists them too)."""

PASSPHRASE_FILE_ENV: Final = "CONTACTVAULT_PASSPHRASE_FILE"  # noqa: S105  (a variable name)
"""The environment variable naming a file whose first line is the passphrase."""

_F = TypeVar("_F", bound=Callable[..., Any])


class CommandError(ContactVaultError):
    """An error a command reports as one line, with its exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def stdout() -> Console:
    """The console for results (no colour codes when piped)."""
    return Console(highlight=False, soft_wrap=False)


def stderr() -> Console:
    """The console for progress and errors."""
    return Console(stderr=True, highlight=False, soft_wrap=True)  # an error stays one line in logs


def echo_json(data: object) -> None:
    """Print ``data`` as JSON (UTF-8, indented): what ``--json`` prints."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


_ERRORS: Final[tuple[tuple[type[BaseException], int], ...]] = (
    (CommandError, EXIT_USAGE),  # its own code, see below
    (WrongPassphrase, EXIT_VAULT),
    (VaultCorrupted, EXIT_VAULT),
    (UnsupportedFormat, EXIT_VAULT),
    (KdfLimitExceeded, EXIT_VAULT),
    (VaultLocked, EXIT_LOCKED),
    (VaultNotFound, EXIT_NOT_FOUND),
    (ContactNotFound, EXIT_NOT_FOUND),
    (VaultExists, EXIT_USAGE),
    (ConflictError, EXIT_USAGE),
    (InvalidRegion, EXIT_USAGE),
    (ImportFailed, EXIT_BAD_INPUT),
    (SyncError, EXIT_SYNC),
    (ContactVaultError, EXIT_USAGE),
)


def _message(exc: BaseException) -> str:
    if isinstance(exc, ContactNotFound):  # a KeyError: str() would add quotes
        return exc.args[0] if exc.args and isinstance(exc.args[0], str) else "no such contact"
    return str(exc)


def guarded(func: _F) -> _F:
    """Turn expected errors into one line and an exit code; unexpected ones too, unless --debug."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401  (click passes anything)
        ctx = click.get_current_context()
        try:
            return func(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except ContactVaultError as exc:
            code = (
                exc.code
                if isinstance(exc, CommandError)
                else next(c for t, c in _ERRORS if isinstance(exc, t))
            )
            _fail(_message(exc), code)
        except OSError as exc:  # a file that cannot be read or written: its name and the reason
            where = f"{Path(exc.filename).name}: " if exc.filename else ""
            _fail(f"{where}{exc.strerror or type(exc).__name__}", EXIT_BAD_INPUT)
        except Exception as exc:  # noqa: BLE001  (users get one line, not a traceback; --debug shows it)
            if ctx.find_root().params.get("debug"):
                traceback.print_exc()
            message = f"unexpected {type(exc).__name__}; run with --debug for details, and please report it"
            _fail(message, EXIT_INTERNAL)
        return None

    return wrapper  # type: ignore[return-value]


def _fail(message: str, code: int) -> None:
    stderr().print(f"[red]error:[/red] {message}", markup=True)
    sys.exit(code)


# --- the vault and its passphrase --------------------------------------------------------------------------


def read_secret_file(path: Path, what: str) -> str:
    """The first line of a passphrase or password file; ``CommandError`` (exit 5) naming the file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CommandError(
            f"{what} {path.name}: {exc.strerror or 'cannot be read'}", EXIT_BAD_INPUT
        ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CommandError(f"{what} {path.name}: not UTF-8 text", EXIT_BAD_INPUT) from None
    line = text.splitlines()[0] if text.splitlines() else ""
    if not line:
        raise CommandError(f"{what} {path.name}: the first line is empty", EXIT_BAD_INPUT)
    return line


@dataclass(frozen=True, slots=True)
class VaultAccess:
    """Where the vault is and where its passphrase comes from; see the module docstring."""

    path: Path
    passphrase_file: Path | None

    def passphrase(self, *, new: bool = False, prompt: str = "Passphrase") -> str:
        """The passphrase: from the file, the environment variable's file, or a prompt without echo.

        ``new`` asks twice at the prompt (for ``init`` and ``passwd``).
        """
        if self.passphrase_file is not None:
            return read_secret_file(self.passphrase_file, "passphrase file")
        named = os.environ.get(PASSPHRASE_FILE_ENV)
        if named:
            return read_secret_file(Path(named), f"{PASSPHRASE_FILE_ENV}:")
        value: str = click.prompt(prompt, hide_input=True, confirmation_prompt=new, err=True)
        if not value:
            raise CommandError("the passphrase must not be empty")
        return value

    @contextlib.contextmanager
    def open(self, passphrase: str | None = None) -> Iterator[Vault]:
        """Open the vault (``VaultNotFound`` first, before asking for a passphrase).

        ``passphrase`` is one already read (by ``passwd``, which needs it twice); otherwise it is read here.
        """
        self.require()
        with Vault.open(self.path, passphrase if passphrase is not None else self.passphrase()) as vault:
            yield vault

    def require(self) -> None:
        """Raise ``VaultNotFound`` if there is no vault file (checked before a passphrase is asked for)."""
        if not self.path.exists():
            raise VaultNotFound(
                f"no vault at {self.path.name}: create one with `contactvault init` or pass --vault"
            )


def vault_options(func: _F) -> _F:
    """Add ``--vault`` and ``--passphrase-file``; the command receives ``access: VaultAccess``."""

    @click.option(
        "--vault",
        "vault_path",
        type=click.Path(path_type=Path, dir_okay=False),
        envvar="CONTACTVAULT_VAULT",
        help="The vault file (default: vault.db in the user data folder; env CONTACTVAULT_VAULT).",
    )
    @click.option(
        "--passphrase-file",
        type=click.Path(path_type=Path, dir_okay=False),
        help=f"Read the passphrase from the first line of this file (or set {PASSPHRASE_FILE_ENV}). "
        "Without either, it is asked for without echo.",
    )
    @functools.wraps(func)
    def wrapper(*args: Any, vault_path: Path | None, passphrase_file: Path | None, **kwargs: Any) -> Any:  # noqa: ANN401
        access = VaultAccess(vault_path or default_vault_path(), passphrase_file)
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
        matches = [entry.id for entry in vault if entry.id.hex.startswith(compact)]
    if not matches and not compact.isalpha():  # a number written without spaces is also all hex digits
        matches = [contact.id for contact in vault.find_by_phone(text, region=region)]
    if not matches:
        raise ContactNotFound("no contact has that id or number")
    if len(matches) > 1:
        ids = ", ".join(str(m)[:8] for m in sorted(matches)[:10])
        raise CommandError(f"several contacts match ({ids}); give the id")
    return matches[0]


def mask_name(name: str) -> str:
    """A name as listings show it unless ``--reveal``: each word's first letter and a dot (``J. M.``)."""
    letters = (next((ch for ch in word if ch.isalnum()), "") for word in name.split())
    return " ".join(f"{letter.upper()}." for letter in letters if letter) or "•••"


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
