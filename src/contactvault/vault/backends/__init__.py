"""Where a vault's bytes live: an SQLite file (the default) or a schema in a PostgreSQL database.

``base`` holds the protocol both keep; ``sqlite`` and ``postgres`` implement it. ``create`` and ``open``
choose by the location: a ``postgresql://`` (or ``postgres://``) URL is a PostgreSQL vault, anything else a
file path. The PostgreSQL backend needs the optional extra ``contactvault[postgres]`` (psycopg 3).
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import platformdirs

from contactvault.errors import VaultError
from contactvault.vault.backends.base import Backend
from contactvault.vault.backends.sqlite import SqliteBackend
from contactvault.vault.backends.urls import parse_url

__all__ = ["Location", "create", "default_vault_path", "describe", "is_url", "open_backend"]

Location = str | Path
"""A vault file's path, or a ``postgresql://`` URL."""

_SCHEMES = ("postgresql://", "postgres://")


def default_vault_path() -> Path:
    """Where a vault lives when no path is given: ``vault.db`` in the platform's user data folder."""
    return platformdirs.user_data_path("contactvault", appauthor=False) / "vault.db"


def is_url(location: Location) -> bool:
    """Whether ``location`` names a PostgreSQL vault rather than a file."""
    return isinstance(location, str) and location.lower().startswith(_SCHEMES)


def describe(location: Location) -> str:
    """What to call ``location`` in a message: a file's name, or the URL without its password."""
    if not is_url(location):
        return Path(location).name
    try:
        return parse_url(str(location))[2]
    except VaultError:
        return "a postgresql:// URL that is not valid"


def _postgres() -> ModuleType:
    """The PostgreSQL backend's module, imported only when a URL asks for it (psycopg is optional)."""
    try:
        from contactvault.vault.backends import postgres  # noqa: PLC0415
    except ImportError as exc:
        if exc.name is not None and exc.name.split(".")[0] in ("psycopg", "psycopg_pool"):
            raise VaultError(
                "a postgresql:// vault needs the PostgreSQL extra: pip install 'contactvault[postgres]'"
            ) from None
        raise
    return postgres


def open_backend(location: Location, *, lock_timeout: float) -> Backend:
    """Open the vault at ``location`` (a path or a ``postgresql://`` URL); never creates one."""
    if is_url(location):
        backend: Backend = _postgres().PostgresBackend.open(str(location), lock_timeout=lock_timeout)
        return backend
    return SqliteBackend.open(Path(location), lock_timeout=lock_timeout)


def create(location: Location, header: bytes, state: bytes, *, lock_timeout: float) -> Backend:
    """Create a vault holding ``header`` and ``state`` at ``location``; it appears whole or not at all."""
    if is_url(location):
        backend: Backend = _postgres().PostgresBackend.create(
            str(location), header, state, lock_timeout=lock_timeout
        )
        return backend
    return SqliteBackend.create(Path(location), header, state, lock_timeout=lock_timeout)
