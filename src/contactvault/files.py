"""Folders contactvault creates: private (mode 0700) whatever the umask.

``Path.mkdir(parents=True, mode=0o700)`` applies the mode to the last folder only: every parent it creates
gets ``0o777`` minus the umask, so under ``umask 000`` a new ``~/.local/share`` would be writable by
everybody. `make_private_dir` creates each missing folder itself, with mode 0700, and sets exactly 0700 on
what it created (a umask such as ``0277`` would otherwise leave a folder nobody can write into). Folders
that already existed are never changed: their modes are their owner's choice.

This module imports nothing of the project, so every room of the house may use it.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path
from typing import Final

__all__ = ["PRIVATE_DIR_MODE", "fsync_dir", "fsync_file", "make_private_dir", "place"]

PRIVATE_DIR_MODE: Final = 0o700
"""The mode of every folder contactvault creates: the owner only."""


def make_private_dir(path: str | Path) -> Path:
    """Create the folder ``path`` and each missing parent with mode 0700, whatever the umask.

    Only folders this call creates get their mode set; existing ones, ``path`` included, are left as
    they are. A folder that another process creates at the same moment counts as existing.

    Args:
        path: The folder, as the caller names it.

    Returns:
        ``path`` as a ``Path``, exactly as given (not resolved).

    Raises:
        NotADirectoryError: ``path`` or one of its parents exists but is not a folder.
        OSError: A folder cannot be created (permissions, a read-only file system, ...).
    """
    target = Path(path)
    missing: list[Path] = []
    current = target
    while not current.is_dir():
        if current.exists() or current.is_symlink():  # a file, or a link to nowhere: never replaced
            raise NotADirectoryError(f"{current} exists but is not a folder")
        missing.append(current)
        if current.parent == current:  # a root that does not exist: mkdir below says why
            break
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            if not folder.is_dir():
                raise NotADirectoryError(f"{folder} exists but is not a folder") from None
            continue  # created by somebody else meanwhile: not ours to change
        _set_private(folder)
    return target


def _set_private(folder: Path) -> None:
    """Set mode 0700 on a folder this process just created (the umask may have taken bits away)."""
    if sys.platform == "win32":  # only the read-only bit exists there
        return
    # Opened without following a link: had the new folder been swapped for a link meanwhile, the mode of
    # the link's target must not change.
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        os.fchmod(descriptor, PRIVATE_DIR_MODE)
    finally:
        os.close(descriptor)


_NO_HARD_LINKS = frozenset(
    code for code in (errno.EPERM, errno.EOPNOTSUPP, getattr(errno, "ENOTSUP", None), errno.EXDEV) if code
)


def place(tmp: Path, path: Path) -> None:
    """Put the finished file at ``path``, never overwriting anything that appeared there meanwhile.

    ``FileExistsError`` if ``path`` exists.
    """
    try:
        os.link(tmp, path)  # atomic, and fails if path exists
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
        # A file system without hard links (FAT, some network shares): rename after a check. Not atomic
        # against a file appearing in between; documented in docs/format.md.
        if path.exists():
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), path.name) from None
        os.rename(tmp, path)  # Windows refuses to rename over a file: FileExistsError


def fsync_file(path: Path) -> None:
    """Flush a file's content to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(directory: Path) -> None:
    """Flush a folder's entries (a new or renamed file's name) to disk."""
    if sys.platform == "win32":  # pragma: no cover - directories cannot be fsynced on Windows
        return
    fsync_file(directory)
