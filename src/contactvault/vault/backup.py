"""Backup, restore and migrate: a consistent, verified copy of a vault, put in place whole or not at all.

``backup`` uses SQLite's online backup from the open vault's own connection (committed data only, whatever
was written a moment before) into a 0600 temporary file beside the destination, then checks the copy with
the open vault's keys as ``verify`` does (every record decrypted, the row-set digest, the log's chain) and
only then links it into place. ``restore`` copies a backup file byte for byte (it never opens the source
with SQLite, so the source is never written), opens the copy with the passphrase, verifies it, and puts it
at a NEW path. Neither ever overwrites a file. ``migrate`` copies the sealed rows as they are (no blob
opened) into a new vault on the other backend, an SQLite file or a PostgreSQL schema, and verifies the copy
with the vault's keys.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from contactvault.errors import FolderNotFound, VaultError, VaultExists, VaultNotFound
from contactvault.files import fsync_dir, fsync_file, place
from contactvault.vault import keys as slots
from contactvault.vault.backends import Location, create, describe, is_url
from contactvault.vault.backends.base import Backend, copy_rows
from contactvault.vault.backends.checks import probe
from contactvault.vault.backends.sqlite import SqliteBackend
from contactvault.vault.core import Core
from contactvault.vault.header import Header
from contactvault.vault.results import VerifyReport
from contactvault.vault.verify import verify

__all__ = ["BackupReport", "MigrationReport", "OpenCopy", "backup", "migrate", "restore"]

DEFAULT_WAIT = 15.0
"""Seconds the new vault's writes wait for another writer (nobody else knows of it yet)."""

OpenCopy = Callable[[Path], VerifyReport]
"""Opens a restored copy (its path) with the passphrase or recovery key, verifies it, closes it."""


@dataclass(frozen=True, slots=True)
class BackupReport:
    """What a backup or a restore wrote, and what the check of the written copy found.

    Attributes:
        path: The new file.
        size: Its size in bytes.
        check: What was checked in it (its contacts, erased contacts, index entries and log records).
        accepted_older: For a restore with ``accept_older`` of a backup older than the vault this client
            had seen: the generation it had seen, which the restored vault replaced as the baseline (and
            logged). ``None`` otherwise.
    """

    path: Path
    size: int
    check: VerifyReport
    accepted_older: int | None = None


@dataclass(frozen=True, slots=True)
class MigrationReport:
    """What ``migrate`` copied, and what the check of the copy found.

    Attributes:
        source: The vault copied (its name: a file name, or a URL without its password).
        target: The new vault.
        check: What was checked in the copy (its contacts, erased contacts, index entries and log records).
    """

    source: str
    target: str
    check: VerifyReport


def _new_file_beside(dest: Path) -> Path:
    """A new, empty 0600 temporary file in ``dest``'s folder; refuses if ``dest`` exists."""
    if dest.exists() or dest.is_symlink():
        raise VaultExists(f"{dest.name} already exists; a backup or restore never overwrites a file")
    if not dest.parent.is_dir():
        raise FolderNotFound(dest.parent)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.tmp")
    os.close(os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
    return tmp


def _cleanup(tmp: Path) -> None:
    for leftover in (tmp, *(tmp.with_name(tmp.name + end) for end in ("-wal", "-shm", "-journal"))):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()


def _place(tmp: Path, dest: Path) -> None:
    try:
        place(tmp, dest)
    except FileExistsError:
        raise VaultExists(f"{dest.name} already exists; a backup or restore never overwrites it") from None


def _checked(tmp: Path, core: Core) -> VerifyReport:
    """Open the copy with the original's keys and verify all of it."""
    return _verified(SqliteBackend.open(tmp, lock_timeout=0.0), core)


def _verified(storage: Backend, core: Core) -> VerifyReport:
    """Verify the copy ``storage`` with the original's keys (the same header, every record); close it."""
    copy = Core(storage, Header.unpack(storage.read_single("header")), core.master, core.keys)
    try:
        if copy.header.vault_id != core.vault_id:
            raise VaultError("the copy's header differs from the vault's; nothing was written")
        slots.check_mac(copy.header, copy.keys)
        return verify(copy)
    finally:
        storage.close()


def _copied(source: Backend, target: Location) -> Backend:
    """A new vault at ``target`` holding ``source``'s sealed rows as they are, from one snapshot; open."""
    with source.snapshot():
        header, state = source.read_single("header"), source.read_single("state")
    copy = create(target, header, state, lock_timeout=DEFAULT_WAIT)
    try:
        copy_rows(source, copy)
    except BaseException:
        copy.close()
        raise
    return copy


def _copy(core: Core, tmp: Path) -> None:
    """Copy the open vault into the empty file ``tmp``: SQLite's online backup, or row by row."""
    source = core.storage
    if isinstance(source, SqliteBackend):
        source.copy_to(tmp)
        return
    tmp.unlink()  # another backend (PostgreSQL): its rows into a new vault file of that name
    _copied(source, tmp).close()


def backup(core: Core, dest: Path) -> BackupReport:
    """Write a verified copy of the open vault to ``dest`` (a new file, mode 0600)."""
    tmp = _new_file_beside(dest)
    try:
        _copy(core, tmp)
        fsync_file(tmp)
        report = _checked(tmp, core)
        _place(tmp, dest)
        fsync_dir(dest.parent)
    finally:
        _cleanup(tmp)
    return BackupReport(path=dest, size=dest.stat().st_size, check=report)


def migrate(core: Core, target: Location) -> MigrationReport:
    """Copy the open vault into a NEW vault at ``target`` (a file or a ``postgresql://`` URL), verified.

    The sealed rows are copied as they are, from one snapshot; no blob is decrypted to copy it. The copy
    is then opened with the vault's keys and checked as ``verify`` does. A file target appears whole or
    not at all; a PostgreSQL target whose check fails is left in its schema, for a person to look at or
    drop, and the check's error is raised.
    """
    if not is_url(target):
        report = backup(core, Path(target))
        return MigrationReport(core.storage.location, describe(target), report.check)
    copy = _copied(core.storage, target)
    return MigrationReport(core.storage.location, copy.location, _verified(copy, core))


def restore(source: Path, dest: Path, open_copy: OpenCopy) -> BackupReport:
    """Copy the backup ``source`` to the new path ``dest``, after opening and verifying the copy.

    ``open_copy`` opens the copy (a path) with the passphrase or recovery key and returns its verify
    report; it raises ``WrongPassphrase`` and friends as ``Vault.open`` does.
    """
    if not source.is_file():
        raise VaultNotFound(f"no backup at {source.name}")
    probe(source)
    wal = source.with_name(source.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise VaultError(
            f"{source.name} has a -wal file with changes that are not in the file yet (it is open, or was "
            "not closed cleanly): make the backup with `contactvault backup` instead of copying the file"
        )
    tmp = _new_file_beside(dest)
    try:
        with source.open("rb") as src, tmp.open("r+b") as out:
            shutil.copyfileobj(src, out)
            out.flush()
            os.fsync(out.fileno())
        report = open_copy(tmp)
        _place(tmp, dest)
        fsync_dir(dest.parent)
    finally:
        _cleanup(tmp)
    return BackupReport(path=dest, size=dest.stat().st_size, check=report)
