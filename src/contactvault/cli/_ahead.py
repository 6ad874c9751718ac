"""The vault's key derivation started as a command starts, before its modules load.

A command that opens the vault spends 0.1-0.3 s in Argon2id and about as long importing what it needs
(pydantic's models, phone numbers, the vault). The two can run at once, on two cores: the root group
(`contactvault.cli`) calls `begin` with the command's words before it imports the command's module.
`begin` reads the vault options from those words as click will (``--vault``, ``--passphrase-file``,
``--user``, their ``=`` forms and environment variables; the last one given wins) and, when the
passphrase comes from a file and the vault is a file, starts the derivation in a child process through
``contactvault.vault.ahead`` (which checks the slot against the client's memory of its KDF settings
first). When the command opens the vault, the open takes the key if it is the one it needs, and derives
it otherwise: a wrong guess here costs time on the other core, never a different result.

Nothing starts for a service key (no Argon2id), a prompt (the person typing is slower than any import),
a PostgreSQL vault, ``--help``, or a command that does not open an existing vault with a passphrase.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Final

__all__ = [
    "OPENING",
    "PASSPHRASE_FILE_ENV",
    "SERVICE_KEY_ENV",
    "SERVICE_KEY_FILE_ENV",
    "USER_ENV",
    "VAULT_ENV",
    "begin",
    "first_line",
]

VAULT_ENV: Final = "CONTACTVAULT_VAULT"
"""The environment variable naming the vault (``--vault``): a file or a ``postgresql://`` URL."""

PASSPHRASE_FILE_ENV: Final = "CONTACTVAULT_PASSPHRASE_FILE"  # noqa: S105  (a variable name)
"""The environment variable naming a file whose first line is the passphrase."""

USER_ENV: Final = "CONTACTVAULT_USER"
"""The environment variable naming the user who opens the vault (``--user``)."""

SERVICE_KEY_ENV: Final = "CONTACTVAULT_SERVICE_KEY"
"""The environment variable holding a service's key itself (``cvsk-...``)."""

SERVICE_KEY_FILE_ENV: Final = "CONTACTVAULT_SERVICE_KEY_FILE"
"""The environment variable naming a file (mode 0600) whose first line is a service's key."""


OPENING: Final = frozenset({
    "access", "add", "audit", "backup", "basis", "book", "consent", "duplicates", "edit", "erase",
    "export", "import", "label", "list", "log", "merge", "messenger", "migrate", "notice", "object",
    "passwd", "rekey", "restrict", "retention", "ropa", "show", "sync", "user", "verify",
})  # fmt: skip
"""The commands that open an existing vault (not ``init``, ``restore`` or ``demo``)."""

_OPTIONS: Final = {"--vault": "vault", "--passphrase-file": "passphrase", "--user": "user"}
_SERVICE: Final = ("--service-key-file",)
_ENVIRONMENT: Final = {"vault": VAULT_ENV, "passphrase": PASSPHRASE_FILE_ENV, "user": USER_ENV}
_SERVICE_ENVIRONMENT: Final = (SERVICE_KEY_ENV, SERVICE_KEY_FILE_ENV)


def first_line(data: bytes) -> str:
    """A secret file's first line (``""`` if there is none); ``UnicodeDecodeError`` if not UTF-8."""
    lines = data.decode("utf-8").splitlines()
    return lines[0] if lines else ""


def _options(words: Sequence[str]) -> dict[str, str] | None:
    """The vault options among ``words`` (the last of each wins); ``None`` if nothing should start."""
    found: dict[str, str] = {}
    at = 0
    while at < len(words):
        word = words[at]
        at += 1
        if word == "--":
            break
        name, equals, value = word.partition("=")
        if name in ("-h", "--help") or name in _SERVICE:
            return None
        key = _OPTIONS.get(name)
        if key is None:
            continue
        if not equals:
            if at >= len(words):
                return None
            value = words[at]
            at += 1
        found[key] = value
    return found


def begin(command: str, words: Sequence[str]) -> bool:
    """Start the key derivation that ``contactvault <command> <words>`` will need; whether it started."""
    if command not in OPENING or any(os.environ.get(name, "").strip() for name in _SERVICE_ENVIRONMENT):
        return False
    found = _options(words)
    if found is None:
        return False
    for key, variable in _ENVIRONMENT.items():
        if key not in found and os.environ.get(variable):
            found[key] = os.environ[variable]
    named = found.get("passphrase")
    if not named:
        return False
    try:
        passphrase = first_line(Path(named).read_bytes())
    except (OSError, UnicodeDecodeError):
        return False
    from contactvault.vault import ahead  # noqa: PLC0415  (the light part of the vault; see its docstring)
    from contactvault.vault.backends import default_vault_path, is_url  # noqa: PLC0415

    location = found.get("vault") or default_vault_path()
    if is_url(location):
        return False
    return bool(passphrase) and ahead.start(Path(location), passphrase, found.get("user") or None)
