"""The SQLite vault in shared mode: what the file system and the file itself must be for several processes.

A vault on a network file system is refused (SQLite's WAL index is shared memory, which NFS or SMB does not
share between machines); files written by earlier versions (opened under an exclusive lock) open as they
are; the WAL cannot grow without bound while readers keep reading; the companion files stay private.
"""

from __future__ import annotations

import sqlite3
import stat
import threading
from pathlib import Path

import pytest

from contactvault import Contact, KdfParams, Vault, VaultError
from contactvault.vault.backends import checks
from contactvault.vault.backends.sqlite import WAL_LIMIT
from tests.concurrency_child import counters

FAST = KdfParams.insecure_fast_for_tests()
PASSPHRASE = "geteilte Datei"  # noqa: S105 - a test passphrase

_MOUNTINFO = """\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
30 22 0:26 / /proc rw,nosuid - proc proc rw
41 22 0:40 / /mnt/office rw,relatime - nfs4 server:/export rw,vers=4.2
42 41 8:2 / /mnt/office/local rw - ext4 /dev/sdb1 rw
43 22 0:41 / /mnt/my\\040share rw - cifs //host/share rw
"""


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/home/anna/vault.db", "ext4"),
        ("/mnt/office/vault.db", "nfs4"),
        ("/mnt/office", "nfs4"),
        ("/mnt/office/local/vault.db", "ext4"),  # a local disk mounted inside the share
        ("/mnt/officer/vault.db", "ext4"),  # a sibling whose name starts alike is not inside
        ("/mnt/my share/vault.db", "cifs"),  # mountinfo escapes a space as \\040
    ],
)
def test_the_file_system_is_read_from_the_mount_table(path, kind, monkeypatch):
    """The longest mount point that contains the file decides its file system type."""
    monkeypatch.setattr(Path, "resolve", lambda self, strict=False: self)
    assert checks.file_system_type(Path(path), _MOUNTINFO) == kind


@pytest.mark.parametrize("kind", ["nfs4", "cifs", "fuse.sshfs", "smb3"])
def test_a_vault_on_a_network_file_system_is_refused_untouched(tmp_path, monkeypatch, kind):
    """Open and create refuse a vault on a network file system, saying why; the file is not written."""
    path = tmp_path / "vault.db"
    Vault.create(path, PASSPHRASE, kdf=FAST).close()
    before = path.read_bytes()
    monkeypatch.setattr(checks, "file_system_type", lambda _path: kind)
    with pytest.raises(VaultError, match="network file system") as raised:
        Vault.open(path, PASSPHRASE)
    assert kind in str(raised.value)
    assert "PostgreSQL" in str(raised.value)
    assert path.read_bytes() == before
    with pytest.raises(VaultError, match="network file system"):
        Vault.create(tmp_path / "new.db", PASSPHRASE, kdf=FAST)
    assert not (tmp_path / "new.db").exists()


def test_a_local_file_system_is_accepted(tmp_path, monkeypatch):
    """An unknown or local file system type is no reason to refuse."""
    monkeypatch.setattr(checks, "file_system_type", lambda _path: None)
    Vault.create(tmp_path / "vault.db", PASSPHRASE, kdf=FAST).close()
    monkeypatch.setattr(checks, "file_system_type", lambda _path: "xfs")
    Vault.open(tmp_path / "vault.db", PASSPHRASE).close()


def test_a_file_last_used_under_the_old_exclusive_lock_opens_shared(tmp_path):
    """A vault written while vaults took SQLite's exclusive lock opens as it is, twice at once."""
    path = tmp_path / "old.db"
    with Vault.create(path, PASSPHRASE, kdf=FAST) as vault:
        vault.add_many(counters(3))
    old = sqlite3.connect(path, isolation_level=None)
    old.execute("PRAGMA locking_mode = EXCLUSIVE")
    old.execute("BEGIN EXCLUSIVE")
    old.execute("COMMIT")
    old.close()
    assert not Path(f"{path}-shm").exists()
    with Vault.open(path, PASSPHRASE) as first, Vault.open(path, PASSPHRASE) as second:
        assert len(first) == len(second) == 3
        first.verify()
        assert first.settings().journal_mode == "wal"


def test_companion_files_are_private_and_settings_are_shared(tmp_path):
    """``-wal`` and ``-shm`` get the vault file's mode 0600; the lock mode is normal (shared)."""
    path = tmp_path / "vault.db"
    with Vault.create(path, PASSPHRASE, kdf=FAST) as vault:
        vault.add_many(counters(2))
        settings = vault._core.storage.settings()
        for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            assert stat.S_IMODE(name.stat().st_mode) == 0o600, name.name
    assert settings["locking_mode"] == "normal"
    assert settings["journal_mode"] == "wal"
    assert settings["synchronous"] == 2
    assert settings["busy_timeout"] > 0


def test_the_wal_stays_bounded_while_readers_keep_reading(tmp_path):
    """A reader that never stops, and a writer with many commits: the WAL file stays near its limit."""
    path = tmp_path / "vault.db"
    stop = threading.Event()
    largest = 0
    with Vault.create(path, PASSPHRASE, kdf=FAST) as vault, Vault.open(path, PASSPHRASE) as reader:
        ids = vault.add_many(counters(50))

        def read() -> None:
            while not stop.is_set():
                sum(1 for _ in reader)

        thread = threading.Thread(target=read)
        thread.start()
        try:
            note = "x" * 1500
            for round_no in range(1200):
                vault.modify(
                    ids[round_no % 50], lambda c, n=round_no: c.model_copy(update={"notes": (f"{n}{note}",)})
                )
                largest = max(largest, Path(f"{path}-wal").stat().st_size)
        finally:
            stop.set()
            thread.join()
    written = 1200 * 2 * 8192  # at least two pages per commit
    assert written > 2 * WAL_LIMIT  # without checkpoints the WAL would pass the limit
    assert largest < 2 * WAL_LIMIT


def test_contacts_written_by_one_vault_object_are_read_by_another_at_once(tmp_path):
    """No stale cache: every read goes to the file, so a write elsewhere is seen by the next call."""
    path = tmp_path / "vault.db"
    with Vault.create(path, PASSPHRASE, kdf=FAST) as writer, Vault.open(path, PASSPHRASE) as reader:
        assert len(reader) == 0
        (cid,) = writer.add_many([Contact(display_name="Neu Hier")])
        assert cid in reader
        assert reader.get(cid).display_name == "Neu Hier"
        writer.erase(cid)
        assert cid not in reader
        assert len(reader) == 0
