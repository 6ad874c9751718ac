"""A person's key derivation started ahead of the open, while a command line loads what it needs.

Argon2id takes 0.1-0.3 s; a command such as ``contactvault list`` spends about as long importing its
modules before it opens the vault. ``start`` reads the vault file's header, finds the
slot the passphrase would open, lets the client's memory of its KDF settings see it (``memory.kdf_guard``:
a slot whose cost went up is never derived, here as in the open) and starts that derivation
in a child process (``contactvault.kdf_ahead``). The open that follows takes that key if it needs the
very same derivation (same passphrase, salt and settings) and derives as always otherwise (another header
by then, another user, a wrong guess): the open itself, its checks and their order are unchanged.

This module imports only the light part of the vault (the header, the key slots, the client's memory and
the SQLite backend), so that it can run before the rest is loaded.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from contactvault import kdf_ahead
from contactvault.errors import ContactVaultError
from contactvault.vault import keys as slots
from contactvault.vault.backends.sqlite import SqliteBackend
from contactvault.vault.header import Header
from contactvault.vault.memory import kdf_guard

__all__ = ["start"]


def start(path: Path, passphrase: str, user: str | None) -> bool:
    """Start deriving the key ``passphrase`` would open in the vault file at ``path``; whether it started.

    Best effort and silent: a missing or damaged file, an unknown user, a passphrase that is not one, or a
    slot the guard refuses start nothing, and the open reports them as it always does.
    """
    try:
        slots.check_passphrase(passphrase)
        storage = SqliteBackend.open(path, lock_timeout=0.0)
        try:
            raw = storage.read_single("header")
        finally:
            storage.close()
        slot, kdf = slots.opening_slot(Header.unpack(raw), user, kdf_guard)
    except (ContactVaultError, OSError, ValueError, sqlite3.Error):
        return False
    return kdf_ahead.start(passphrase, slot.salt, kdf)
