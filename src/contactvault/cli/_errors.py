"""How a command ends: exit codes, errors as one line, interruptions, and usage errors without values.

Errors become one line on stderr and an exit code (`EXIT_CODES`); ``contactvault --debug ...`` shows the
traceback of an unexpected error. No message contains a name, a number or a passphrase. Usage errors (a
missing or invalid option, an unknown option, an extra argument) are one line too: `CommandLine`, the root
group, prints them through `usage_message`, which names the option and what it expects and never repeats
the value that was typed. All text is printed as plain text, never as rich markup, so brackets in a
message (a pattern such as ``^[a-z0-9]*$``) survive.

Ctrl-C (or a prompt closed with Ctrl-D) ends a command with exit code 130 and one line saying whether it
had changed anything: `track` remembers each vault a command opened in the click context, and `guarded`
reads their `Vault.changes` counters.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import gc
import os
import sys
import traceback
from collections.abc import Callable, MutableMapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NoReturn, TypeVar

import click

from contactvault.errors import (
    CodeRefused,
    ConflictError,
    ContactNotFound,
    ContactVaultError,
    FolderNotFound,
    ImportFailed,
    InvalidRegion,
    KdfLimitExceeded,
    NoticeError,
    SyncError,
    UnknownUser,
    UnsupportedFormat,
    VaultCorrupted,
    VaultError,
    VaultExists,
    VaultLocked,
    VaultNotFound,
    WebhookError,
    WrongPassphrase,
)

if TYPE_CHECKING:
    from rich.console import Console

    from contactvault.vault import Vault

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_CODES",
    "EXIT_FINDINGS",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_LOCKED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_SYNC",
    "EXIT_USAGE",
    "EXIT_VAULT",
    "PLUGINS_ENV",
    "CommandError",
    "CommandLine",
    "InvalidValue",
    "guarded",
    "is_the_command",
    "note_written",
    "stderr",
    "track",
    "usage_message",
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
EXIT_INTERRUPTED: Final = 130  # 128 + SIGINT, as shells report a command ended by Ctrl-C

EXIT_CODES: Final[dict[int, str]] = {
    EXIT_OK: "done",
    EXIT_FINDINGS: "done, with findings: the audit found a code named by --fail-on, import --strict "
    "could not import every card, or consent import rejected a row (and recorded nothing)",
    EXIT_USAGE: "usage error: a missing or invalid option or argument, no terminal to ask on (for a "
    "passphrase, a password or a confirmation), an ambiguous contact, a contact that changed while a "
    "command asked or an editor was open (erase, merge, edit), a stale copy, an external id or vCard UID "
    "already in the vault, a vault, backup or restore target that already exists, a demo --folder that is "
    "not empty",
    EXIT_VAULT: "the vault (or a backup) cannot be opened, read or written: wrong passphrase, damaged or "
    "tampered file, not a vault, a full disk or an I/O error",
    EXIT_LOCKED: "another process kept the vault busy with a write for longer than the lock timeout "
    "(CONTACTVAULT_LOCK_TIMEOUT, default 15 s)",
    EXIT_BAD_INPUT: "an input file cannot be read: not an address book, an unknown CSV layout, a bad "
    "config or passphrase file",
    EXIT_NOT_FOUND: "no such vault, no such contact (or it was erased or merged into another), or no such "
    "folder to write a file into",
    EXIT_SYNC: "a sync target failed (server unreachable, credentials refused, a conflict)",
    EXIT_INTERNAL: "an unexpected error inside contactvault (--debug shows the traceback; please report it)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C, or a prompt closed with Ctrl-D): the changes already made are "
    "kept, the one in progress was not stored",
}
"""Every exit code of the ``contactvault`` command and what it means (``docs/cli.md`` lists them too)."""


_F = TypeVar("_F", bound=Callable[..., Any])


def stderr() -> Console:
    """The console for progress and errors (rich is imported when a command first prints with it)."""
    from rich.console import Console  # noqa: PLC0415  (`list` prints no rich text: it starts without it)

    return Console(stderr=True, highlight=False, soft_wrap=True)  # an error stays one line in logs


class CommandError(ContactVaultError):
    """An error a command reports as one line, with its exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


_ERRORS: Final[tuple[tuple[type[BaseException], int], ...]] = (
    (CommandError, EXIT_USAGE),  # its own code, see below
    (WrongPassphrase, EXIT_VAULT),
    (UnknownUser, EXIT_VAULT),
    (VaultCorrupted, EXIT_VAULT),
    (UnsupportedFormat, EXIT_VAULT),
    (KdfLimitExceeded, EXIT_VAULT),
    (VaultLocked, EXIT_LOCKED),
    (VaultNotFound, EXIT_NOT_FOUND),
    (ContactNotFound, EXIT_NOT_FOUND),
    (FolderNotFound, EXIT_NOT_FOUND),
    (VaultExists, EXIT_USAGE),
    (ConflictError, EXIT_USAGE),
    (InvalidRegion, EXIT_USAGE),
    (ImportFailed, EXIT_BAD_INPUT),
    (WebhookError, EXIT_BAD_INPUT),
    (NoticeError, EXIT_USAGE),
    (CodeRefused, EXIT_USAGE),
    (SyncError, EXIT_SYNC),
    (VaultError, EXIT_VAULT),  # the vault cannot be read or written: a full disk, an I/O error
    (ContactVaultError, EXIT_USAGE),
)


def _message(exc: BaseException) -> str:
    if isinstance(exc, ContactNotFound):  # a KeyError: str() would add quotes
        return exc.args[0] if exc.args and isinstance(exc.args[0], str) else "no such contact"
    return str(exc)


def guarded(func: _F) -> _F:
    """Turn expected errors into one line and an exit code; unexpected ones too, unless --debug.

    Ctrl-C (``KeyboardInterrupt``) and a prompt given up (``click.Abort``) end with exit code 130 and a
    line that says whether this command had committed a change to a vault (see `track`).
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401  (click passes anything)
        ctx = click.get_current_context()
        try:
            return func(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException):
            raise
        except (KeyboardInterrupt, click.Abort):
            _interrupted(ctx.meta)
        except ContactVaultError as exc:
            code = (
                exc.code
                if isinstance(exc, CommandError)
                else next(c for t, c in _ERRORS if isinstance(exc, t))
            )
            _fail(_message(exc), code)
        except BrokenPipeError:  # the reader went away (`| head`): not an error of the command
            _quiet_stdout()
            sys.exit(EXIT_OK)
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


def _quiet_stdout() -> None:
    """Point standard output at /dev/null, so that Python's flush at exit finds no broken pipe."""
    with contextlib.suppress(OSError, ValueError):  # no real file behind stdout (a test runner)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _fail(message: str, code: int) -> NoReturn:
    """Print ``error: message`` as one line on stderr (plain text: brackets stay) and exit with ``code``."""
    from rich.text import Text  # noqa: PLC0415  (an error: rich is imported only when one is printed)

    stderr().print(Text.assemble(("error:", "red"), " ", message))
    sys.exit(code)


# --- interruptions -----------------------------------------------------------------------------------------

_VAULTS: Final = "contactvault.vaults"
"""The key in ``click.Context.meta`` (one dict per invocation) under which `track` lists opened vaults."""
_WRITTEN: Final = "contactvault.written"
"""The key under which `note_written` marks that a command wrote outside a vault transaction."""

INTERRUPTED_UNCHANGED: Final = "interrupted; nothing was changed"
INTERRUPTED_KEPT: Final = "interrupted; the changes already made are kept, the one in progress was not stored"


def track(vault: Vault) -> Vault:
    """Remember that the running command opened ``vault``; returns it.

    On Ctrl-C, `guarded` asks each remembered vault how many write transactions it committed
    (`Vault.changes`) to say whether anything was changed. Outside a click command this does nothing.
    """
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.meta.setdefault(_VAULTS, []).append(vault)
    return vault


def note_written() -> None:
    """Remember that the running command changed something outside a vault transaction.

    A new vault, a file written: on Ctrl-C afterwards, the command does not claim that nothing changed.
    """
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.meta[_WRITTEN] = True


def _changed(meta: MutableMapping[str, Any]) -> bool:
    vaults: Sequence[Vault] = meta.get(_VAULTS, ())
    return bool(meta.get(_WRITTEN)) or any(vault.changes for vault in vaults)


def _interrupted(meta: MutableMapping[str, Any] | None) -> NoReturn:
    """One line on stderr, exit code 130: whether the command had changed anything before Ctrl-C."""
    message = INTERRUPTED_KEPT if meta is not None and _changed(meta) else INTERRUPTED_UNCHANGED
    stream = sys.stderr
    if stream is not None and stream.isatty():
        click.echo(err=True)  # the terminal shows ^C without a line end
    click.echo(message, err=True)
    sys.exit(EXIT_INTERRUPTED)


# --- usage errors ------------------------------------------------------------------------------------------


class InvalidValue(click.BadParameter):
    """A value a callback refuses; its message says what is expected and never repeats the value.

    `usage_message` prints the message of this error only: any other ``BadParameter`` message may hold
    the value that was typed (click's own messages do), so it is replaced by what the option expects.
    """


def _name(param: click.Parameter) -> str:
    """An option by its long name (``--channel``), an argument by its metavar (``CONTACT``)."""
    if isinstance(param, click.Option):
        name = max(param.opts, key=len)
        envvar = param.envvar if isinstance(param.envvar, str) else None
        return f"{name} (or {envvar})" if envvar and os.environ.get(envvar) else name
    return param.human_readable_name


def _range(kind: click.IntRange | click.FloatRange) -> str:
    bounds = []
    if kind.min is not None:
        bounds.append(f"{'greater than' if kind.min_open else 'at least'} {kind.min}")
    if kind.max is not None:
        bounds.append(f"{'less than' if kind.max_open else 'at most'} {kind.max}")
    number = "a whole number" if isinstance(kind, click.IntRange) else "a number"
    return f"expected {number} that is {' and '.join(bounds)}" if bounds else f"expected {number}"


def _path(kind: click.Path, message: str) -> str:
    """What a path option expects; click's message is read for the reason only (it holds the path)."""
    what = "file" if not kind.dir_okay else "folder" if not kind.file_okay else "file or folder"
    reasons = (
        ("does not exist.", f"no such {what}"),
        ("is a directory.", "expected a file, not a folder"),
        ("is a file.", "expected a folder, not a file"),
        ("is not readable.", f"the {what} cannot be read"),
        ("is not writable.", f"the {what} cannot be written"),
    )
    return next((reason for end, reason in reasons if message.endswith(end)), f"expected a {what}")


_SIMPLE_TYPES: Final[tuple[tuple[type[click.ParamType[Any]], str], ...]] = (
    (click.types.IntParamType, "expected a whole number"),
    (click.types.FloatParamType, "expected a number"),
    (click.types.BoolParamType, "expected true or false"),
    (click.types.UUIDParameterType, "expected a UUID"),
)


def _expected(param: click.Parameter, message: str) -> str:
    """What ``param`` accepts, from its type alone (never from the value typed)."""
    kind = param.type
    if isinstance(kind, click.Choice):
        return "expected one of " + ", ".join(map(str, kind.choices))
    if isinstance(kind, click.IntRange | click.FloatRange):  # before their base types below
        return _range(kind)
    if isinstance(kind, click.Path):
        return _path(kind, message)
    return next((text for base, text in _SIMPLE_TYPES if isinstance(kind, base)), "not accepted")


def _extra(message: str) -> str | None:
    """Click's usage errors without a class of their own, known by their fixed start; the rest is None."""
    known = (
        ("Got unexpected extra arguments", "unexpected extra arguments"),
        ("Got unexpected extra argument", "unexpected extra argument"),
        ("No such command", "no such command"),
        ("Missing command", "missing command"),
    )
    return next((text for start, text in known if message.startswith(start)), None)


def _bad_parameter(exc: click.BadParameter) -> str:
    """A missing or refused value: the option or argument, and what it expects."""
    param = exc.param
    if param is None:
        missing = isinstance(exc, click.MissingParameter)
        return "a required option or argument is missing" if missing else "a value is not accepted"
    if isinstance(exc, click.MissingParameter):
        expects = _expected(param, "")
        detail = f": {expects}" if expects.startswith("expected one of") else ""
        return f"missing {param.param_type_name} {_name(param)}{detail}"
    reason = exc.message if isinstance(exc, InvalidValue) else _expected(param, exc.message)
    return f"invalid value for {_name(param)}: {reason}"


def usage_message(exc: click.UsageError, command_path: str = "contactvault") -> str:
    """A usage error as one line: the option or argument and what it expects, never the value typed.

    Unknown options, commands and extra arguments are not repeated either (``--0171...`` may be a
    number typed as an option); a close option or command name of our own may be suggested. The line
    ends with the command whose ``--help`` explains it: the error's, or ``command_path`` for an error
    click raises without its context (an option without its value).
    """
    see = f" (see {exc.ctx.command_path if exc.ctx is not None else command_path} --help)"
    possibilities: Sequence[str] = getattr(exc, "possibilities", None) or ()
    suggestion = f"; did you mean {' or '.join(sorted(possibilities))}?" if possibilities else ""
    if isinstance(exc, click.BadParameter):
        what = _bad_parameter(exc)
    elif isinstance(exc, click.NoSuchOption):
        what = f"no such option{suggestion}"
    elif isinstance(exc, click.BadOptionUsage):
        name = exc.option_name if exc.option_name.startswith("-") else "an option"
        needs = "takes no value" if "does not take a value" in exc.message else "needs a value"
        what = f"option {name} {needs}"
    else:
        known = _extra(exc.message)
        what = f"no such command{suggestion}" if known == "no such command" else known or "invalid usage"
    return f"{what}{see}"


_NO_ARGS_IS_HELP: Final[type[click.UsageError] | tuple[()]] = getattr(
    click.exceptions, "NoArgsIsHelpError", ()
)
"""Click 8.2 and later raise it for a group called without a command (8.1 prints the help itself)."""


def _end_without_sweep() -> None:
    """At the process's exit, spare the interpreter its last collection of cyclic garbage (``gc.freeze``).

    Every object then alive stays out of the collections Python runs while it shuts down: their memory
    goes back with the process, as it would anyway, and the command ends some 60 ms sooner (about as
    long as the collections take after ``list`` of 10,000 contacts). Standard output and error are still
    flushed, and ``atexit`` functions still run; nothing contactvault opens waits for a collection to be
    closed (a vault is closed by its ``with``). Only at the exit: frozen while the command runs, its
    objects would keep `contactvault.importers._gc.paused_gc` from moving what an import batch made to
    the old generation. Only for a process that is the command (a test runner's interpreter, which calls
    ``main`` with its arguments, is left as it is).
    """
    if not _ENDING:
        _ENDING.append(True)
        atexit.register(gc.freeze)


_ENDING: Final[list[bool]] = []
"""Whether `_end_without_sweep` ran in this process (once is enough)."""


def is_the_command() -> bool:
    """Whether this process runs as the ``contactvault`` command (``main`` called without arguments).

    Not for a program that imports contactvault, nor one that calls ``main`` with its arguments (a test
    runner): what changes the process (`_end_without_sweep`, `_without_pydantic_plugins`, a key
    derivation forked ahead) is only done for the command.
    """
    return bool(_ENDING)


PLUGINS_ENV: Final = "PYDANTIC_DISABLE_PLUGINS"
"""pydantic's switch for its plugins; the command sets it to ``__all__`` unless it is set already."""


def _without_pydantic_plugins() -> None:
    """Keep pydantic plugins out of the command: no installed plugin sees the data it validates.

    A pydantic plugin (found through the ``pydantic`` entry points of every installed distribution)
    is called for every value every model validates: here, names and numbers just decrypted. An
    observability plugin installed for another program in the same environment would record them. The
    command sets ``PYDANTIC_DISABLE_PLUGINS=__all__`` before it builds any model (the command modules,
    and with them the models, load after this), so pydantic neither looks the entry points up nor
    calls a plugin; its child processes (import workers, an editor) inherit it. A value set already
    (an empty one turns plugins back on) is kept. Only for a process that is the command: a program
    that imports contactvault, or calls ``main`` with its arguments, keeps pydantic's own behaviour.
    """
    os.environ.setdefault(PLUGINS_ENV, "__all__")


class CommandLine(click.Group):
    """The root group of ``contactvault``: every usage error and interruption becomes one line.

    Click's standalone mode prints three lines for a usage error (usage, a hint, the error, often with
    the value typed) and ``Aborted!`` with exit code 1 for Ctrl-C. Here the command runs in
    non-standalone mode and this class prints instead: `usage_message` with exit code 2, other click
    errors as their one-line message, an interruption outside a command as exit code 130. Help shown
    for a command given without arguments stays click's.
    """

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,  # noqa: ANN401  (forwarded to click)
    ) -> Any:  # noqa: ANN401
        """Run the command line; with ``standalone_mode`` (the default), exit with its exit code.

        Run as the ``contactvault`` command (``args`` read from ``sys.argv``), the process loads no
        pydantic plugin (`_without_pydantic_plugins`) and ends without a last sweep of its objects
        (`_end_without_sweep`).
        """
        if args is None and standalone_mode:
            _without_pydantic_plugins()
            _end_without_sweep()
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _NO_ARGS_IS_HELP as exc:  # a group called without its command: its help, as click shows it
            exc.show()
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            words = sys.argv[1:] if args is None else args
            _fail(usage_message(exc, self._command_path(prog_name or self.name, words)), EXIT_USAGE)
        except click.ClickException as exc:
            _fail(" ".join(exc.format_message().split()), exc.exit_code)
        except click.Abort:  # Ctrl-C while the command line was read: no command ran
            _interrupted(None)
        # Click returns the code of an explicit ctx.exit(code) here; a command's own result means 0.
        sys.exit(result if type(result) is int else 0)

    def _command_path(self, name: str | None, words: Sequence[str]) -> str:
        """The command that ``words`` call (``contactvault sync carddav``): the leading command names.

        Options are skipped: neither this group nor its subgroups have options that take a value.
        """
        path = [name or "contactvault"]
        group: click.Command = self
        for word in words:
            if word.startswith("-"):
                continue
            command = group.commands.get(word) if isinstance(group, click.Group) else None
            if command is None:
                break
            path.append(word)
            group = command
        return " ".join(path)
