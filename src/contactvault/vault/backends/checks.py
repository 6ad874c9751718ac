"""Looking at a vault file before SQLite opens it: is it a vault, whole, and on a local disk?

`probe` reads the first bytes itself, so that a file that is not a vault, or a vault truncated or damaged
in its first page, is refused before SQLite could write anything to it. `check_local` refuses a file on a
network file system, where SQLite's WAL is unsafe.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from contactvault.errors import UnsupportedFormat, VaultCorrupted, VaultError

__all__ = ["APPLICATION_ID", "NETWORK_FILE_SYSTEMS", "check_local", "file_system_type", "probe"]

APPLICATION_ID = 0x43564C54  # "CVLT": lets file(1) and tools tell a vault from any SQLite file.
"""SQLite ``application_id`` of a vault. Informative only: the header, not this, decides what a file is."""

_SQLITE_MAGIC = b"SQLite format 3\x00"
_HEADER_SIZE = 100


def _classify_without_mark(path: Path) -> VaultError:
    """An SQLite file without the vault's mark: a vault whose first page is damaged, or another database.

    Read through an immutable, read-only connection, which never writes and takes no lock.
    """
    uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
    try:
        db = sqlite3.connect(uri, uri=True)
        try:
            db.text_factory = lambda raw: raw.decode("utf-8", "replace")
            names = {
                str(name).lower()
                for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
        finally:
            db.close()
    except sqlite3.Error:
        names = set()
    if {"header", "state", "contacts"} <= names:
        return VaultCorrupted(f"{path.name}: the vault's SQLite file header is damaged")
    return UnsupportedFormat(f"{path.name} is an SQLite database but not a contactvault vault")


def probe(path: Path) -> None:
    """Refuse, without writing, a file that is not a vault or is visibly damaged; else return.

    An empty file, or one that does not start like an SQLite database, is not a vault
    (``UnsupportedFormat``), unless it still carries the vault's ``application_id`` (then the vault's
    first bytes are damaged). A vault shorter than its first page, or whose size is no whole number of
    pages, was truncated (``VaultCorrupted``). An SQLite file without the vault's mark is another database,
    or a vault whose first page was damaged if its tables are there.
    """
    try:
        with path.open("rb") as stream:
            head = stream.read(_HEADER_SIZE)
        size = path.stat().st_size
    except OSError as exc:
        raise VaultError(f"cannot read {path.name}: {exc.strerror or 'error'}") from None
    marked = len(head) >= 72 and int.from_bytes(head[68:72], "big") == APPLICATION_ID
    if not head.startswith(_SQLITE_MAGIC):
        if marked:
            raise VaultCorrupted(f"{path.name}: the vault's SQLite file header is damaged")
        what = "an empty file" if not head else "not an SQLite database"
        raise UnsupportedFormat(f"{path.name} is not a contactvault vault ({what})")
    if len(head) < _HEADER_SIZE:
        raise VaultCorrupted(f"{path.name}: the vault file is truncated ({size} bytes)")
    if not marked:
        raise _classify_without_mark(path)
    if head[18] != 2 or head[19] != 2:  # every vault is in WAL mode: SQLite's write and read versions are 2
        raise VaultCorrupted(f"{path.name}: the SQLite file header is damaged (not a WAL database)")
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1) or size < page_size or size % page_size:
        raise VaultCorrupted(f"{path.name}: the vault file is truncated or its page size is damaged")


NETWORK_FILE_SYSTEMS = frozenset(
    {
        "nfs", "nfs4", "cifs", "smb", "smb2", "smb3", "smbfs", "ncpfs", "afs", "9p", "ceph", "glusterfs",
        "lustre", "gpfs", "ocfs2", "gfs2", "davfs", "fuse.sshfs", "sshfs", "fuse.glusterfs", "fuse.rclone",
        "fuse.s3fs", "fuse.davfs2", "fuse.cephfs", "fuse.gcsfuse", "fuse.smbnetfs", "vboxsf", "prl_fs",
    }
)  # fmt: skip
"""File-system types where several machines may open one file: SQLite's WAL (shared memory) is unsafe."""

_MOUNTINFO = Path("/proc/self/mountinfo")


def file_system_type(path: Path, mountinfo: str | None = None) -> str | None:
    """The type of the file system ``path`` is on, from Linux's mount table; ``None`` where unknown.

    ``mountinfo`` is the text of ``/proc/self/mountinfo`` (read when not given); the mount whose mount point
    is the longest prefix of the resolved path wins.
    """
    if mountinfo is None:
        try:
            mountinfo = _MOUNTINFO.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
    target = str(path.resolve())
    best, kind = -1, None
    for line in mountinfo.splitlines():
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if not sep or len(fields) < 5 or not tail:
            continue
        point = fields[4].replace("\\040", " ").replace("\\011", "\t").replace("\\134", "\\")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= best:
            best, kind = len(point), tail[0]
    return kind


def check_local(path: Path) -> None:
    """Refuse a vault on a network file system: SQLite's WAL needs every process on one machine.

    Two machines writing one WAL vault through NFS or SMB would corrupt it (their shared-memory index is
    not shared). Such a vault belongs in PostgreSQL (``docs/team.md``).
    """
    kind = file_system_type(path)
    if kind is not None and kind.lower() in NETWORK_FILE_SYSTEMS:
        raise VaultError(
            f"{path.name} is on a network file system ({kind}): an SQLite vault needs every process that "
            "opens it on one machine (its WAL index is shared memory), so it is refused there. Keep the "
            "vault on a local disk, or put it in PostgreSQL (see docs/team.md)"
        )
