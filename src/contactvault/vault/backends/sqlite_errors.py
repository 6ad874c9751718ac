"""SQLite's errors as contactvault's: damage is ``VaultCorrupted``, a writer kept waiting ``VaultLocked``.

Messages name what was being done and SQLite's error code, never a value from the file.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

from contactvault.errors import ConflictError, VaultCorrupted, VaultError, VaultLocked

__all__ = ["primary_code", "sqlite_errors"]


def primary_code(exc: sqlite3.Error) -> int | None:
    """SQLite's primary result code of ``exc`` (its extended code's low byte), if it has one."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def _error(exc: sqlite3.Error, doing: str) -> VaultError:
    code = getattr(exc, "sqlite_errorcode", None)
    primary = primary_code(exc)
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return VaultLocked(f"the vault is busy ({doing}); another process is using it")
    if primary in (
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_READONLY,
    ):
        return VaultError(f"cannot {doing}: SQLite reports {_code_name(code)}")
    return VaultCorrupted(f"the vault file is damaged ({doing}: SQLite reports {_code_name(code)})")


_PRIMARY_NAMES = {
    getattr(sqlite3, name): name
    for name in (
        "SQLITE_ERROR", "SQLITE_PERM", "SQLITE_ABORT", "SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_NOMEM",
        "SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_CORRUPT", "SQLITE_FULL", "SQLITE_CANTOPEN",
        "SQLITE_PROTOCOL", "SQLITE_SCHEMA", "SQLITE_TOOBIG", "SQLITE_CONSTRAINT", "SQLITE_MISMATCH",
        "SQLITE_MISUSE", "SQLITE_NOLFS", "SQLITE_AUTH", "SQLITE_RANGE", "SQLITE_NOTADB",
    )
    if hasattr(sqlite3, name)
}  # fmt: skip


def _code_name(code: int | None) -> str:
    if code is None:
        return "an error"
    return _PRIMARY_NAMES.get(code & 0xFF, f"error {code}")


@contextlib.contextmanager
def sqlite_errors(doing: str) -> Iterator[None]:
    """Turn the ``sqlite3`` errors raised inside into contactvault errors that say what was ``doing``."""
    try:
        yield
    except sqlite3.ProgrammingError:
        raise  # a misuse (closed cursor, wrong thread), not a damaged file
    except sqlite3.IntegrityError as exc:
        raise ConflictError(f"cannot {doing}: a contact id is already in the vault") from exc
    except sqlite3.Error as exc:
        raise _error(exc, doing) from None
    except UnicodeDecodeError:  # SQLite's message quoted a damaged name from the schema
        raise VaultCorrupted(f"the vault file is damaged ({doing}: unreadable schema)") from None
