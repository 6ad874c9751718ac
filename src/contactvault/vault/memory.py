"""What this client remembers of each vault: the newest row-set state it has seen, and the KDF settings.

Every copy of a vault is authentic: an older copy of the whole vault (a file put back, a cloud sync going
back, a PostgreSQL database restored by its administrator) passes every check inside it, its rows and its
authenticated state agreeing with each other. Only a memory outside the vault tells it from the newest one.
This module is that memory, kept by the client, per vault (its random id) and per client:

- the newest **generation** of the row-set state (``state.RowSet``; every write adds one) this client has
  seen, with the SHA-256 of the state's bytes at that generation and when it was first seen. An open, a
  read, a write or ``verify`` that finds an older generation raises ``VaultCorrupted``, and so does one
  that finds another state at the same generation (two copies that went their own ways: a fork);
- each key slot's **KDF settings** as last seen in the authenticated header (``kdf_for``, ``remember_kdf``),
  so that a header whose KDF cost went up unnoticed is refused before anything is derived
  (``kdf_guard``).

It lives in ``platformdirs.user_state_path("contactvault")/seen/<vault id hex>.json``, or under the folder
named by ``CONTACTVAULT_STATE_DIR`` (``$CONTACTVAULT_STATE_DIR/seen/``): a folder of mode 0700, files of mode
0600, each written atomically (a temporary file, fsync, rename, fsync of the folder). Several processes (web
workers) share it: every change takes an exclusive ``flock`` on ``<vault id hex>.lock``, reads the file,
merges (the higher generation wins: a stored generation is never lowered, except by ``ClientMemory.accept``
after a deliberate restore) and writes it back.

The file holds no secret and no MAC: anybody who can write the client's state folder can delete or edit it,
and with it the memory, whatever key would sign it (the key would sit beside it). It protects against a
server, a database administrator, a cloud sync or a backup rolling the vault back, not against someone with
write access to this client's home; and a first open on a new machine (or after the file is deleted) has
nothing to compare with. A damaged file fails closed: ``VaultError`` naming the file, which the user may
delete to reset it.

An open vault keeps the newest state it has seen in memory (``Watch``, one per ``Vault`` object, shared by
its threads): every read operation reads the state once and compares, every commit checks the stored state
it builds on, so a process that keeps the vault open notices when it goes backwards. A state that looks
older is read once more on a connection of its own before it is refused, so that a read inside an older
snapshot (an iteration still running) is never taken for a rollback. The memory file is written at open, at
close, and after commits at most once a second (``PERSIST_EVERY``), not once per commit: a process that is
killed may lose the last second of what it saw, so an older copy from within that second would pass the
next open unnoticed. The file is read at the same pace, so that one worker learns what another saw.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import platformdirs

from contactvault.crypto import KdfParams
from contactvault.errors import KdfLimitExceeded, VaultCorrupted, VaultError
from contactvault.files import fsync_dir, make_private_dir
from contactvault.vault.header import Header, Slot
from contactvault.vault.state import RowSet

if TYPE_CHECKING:
    from contactvault.vault.core import Core

if sys.platform != "win32":
    import fcntl

__all__ = [
    "PERSIST_EVERY",
    "STATE_DIR_VARIABLE",
    "ClientMemory",
    "RolledBack",
    "Seen",
    "Watch",
    "accepted",
    "accepting_older",
    "closing",
    "consulted",
    "kdf_guard",
    "newest",
    "opened",
    "state_folder",
]

STATE_DIR_VARIABLE: Final = "CONTACTVAULT_STATE_DIR"
"""The environment variable that names the client's state folder instead of the platform's."""

PERSIST_EVERY: Final = 1.0
"""Seconds between writes of the memory file after commits (and reads of what other processes wrote)."""

_FORMAT: Final = 1
_ACCEPT_OLDER: ContextVar[bool] = ContextVar("contactvault_accept_older", default=False)


def state_folder() -> Path:
    """This client's state folder: ``$CONTACTVAULT_STATE_DIR`` if set, else the platform's."""
    configured = os.environ.get(STATE_DIR_VARIABLE)
    if configured:
        return Path(configured)
    return platformdirs.user_state_path("contactvault", appauthor=False)


@dataclass(frozen=True, slots=True)
class Seen:
    """A row-set state a client has seen: its generation, the SHA-256 of its bytes, and when first seen."""

    generation: int
    state_hash: str
    at: datetime

    @classmethod
    def of(cls, generation: int, state: bytes, at: datetime | None = None) -> Seen:
        """The state ``state`` (its stored bytes, MAC included) at ``generation``, seen ``at`` (now)."""
        return cls(generation, hashlib.sha256(state).hexdigest(), at if at is not None else datetime.now(UTC))

    def conflict(self, found: Seen, location: str, memory_file: Path | None = None) -> str | None:
        """Why ``found`` cannot come after this state (older, or another one at its generation); or None.

        The message says what to do if it was done on purpose, naming ``memory_file`` if given.
        """
        when = f"{self.at:%Y-%m-%d}"
        deliberate = (
            "If you restored a backup on purpose, use `contactvault restore --accept-older` "
            "(Vault.restore(..., accept_older=True))"
        )
        if memory_file is not None:
            deliberate += (
                "; if this copy was put back where it is on purpose (a database restored by its "
                f"administrator), delete {memory_file} so that this client forgets what it saw"
            )
        if found.generation < self.generation:
            return (
                f"{location}: this vault's state is at generation {found.generation}, older than generation "
                f"{self.generation} this client saw on {when}: an older copy of the vault was put back (a "
                f"restore, a server or database rolled back). {deliberate}"
            )
        if found.generation == self.generation and found.state_hash != self.state_hash:
            return (
                f"{location}: this vault's state at generation {found.generation} is not the one this client "
                f"saw at that generation on {when}: two copies of the vault went their own ways (an older "
                f"copy was put back and written to, or a copy is used beside the original). {deliberate}"
            )
        return None


class RolledBack(VaultCorrupted):
    """The vault's state ``found`` is older than ``seen``, one this client saw, or another at its generation.

    A ``VaultCorrupted``: what an open, a read, a write or ``verify`` raises for an older copy put back.
    """

    def __init__(self, message: str, found: Seen, seen: Seen) -> None:
        super().__init__(message)
        self.found = found
        self.seen = seen

    @property
    def forked(self) -> bool:
        """Whether the state is another one at the same generation, rather than an older one."""
        return self.found.generation == self.seen.generation

    def __reduce__(self) -> tuple[type[RolledBack], tuple[str, Seen, Seen]]:
        return (type(self), (str(self), self.found, self.seen))


@dataclass(frozen=True, slots=True)
class _Entry:
    """One vault's memory file: the newest state seen, and each key slot's KDF settings."""

    state: Seen | None = None
    kdf: dict[str, KdfParams] = field(default_factory=dict)


class ClientMemory:
    """This client's memory of vaults, in ``folder/seen/`` (``state_folder()`` unless given).

    Safe to use from several threads and processes at once: every change is a locked read, merge and
    atomic write. Nothing in it is secret. A damaged or unreadable file raises ``VaultError`` naming it.
    """

    def __init__(self, folder: str | Path | None = None) -> None:
        """The memory kept under ``folder`` (``state_folder()``, read now, if ``None``)."""
        self.folder = Path(folder) if folder is not None else state_folder()

    @property
    def seen_folder(self) -> Path:
        """The folder of the memory files (mode 0700 when this creates it)."""
        return self.folder / "seen"

    def path(self, vault_id: bytes) -> Path:
        """The memory file of one vault."""
        return self.seen_folder / f"{vault_id.hex()}.json"

    def seen(self, vault_id: bytes) -> Seen | None:
        """The newest state this client has seen of the vault, or ``None`` (never opened here)."""
        return self._read(vault_id).state

    def remember(self, vault_id: bytes, seen: Seen) -> Seen:
        """Remember ``seen`` unless a newer generation is stored (never lowered); returns what is stored."""
        entry = self._update(vault_id, lambda entry: _merged(entry, seen))
        return entry.state or seen

    def accept(self, vault_id: bytes, seen: Seen) -> None:
        """Make ``seen`` the baseline even if older than what is stored: after a deliberate restore only."""
        self._update(vault_id, lambda entry: replace(entry, state=seen))

    def kdf_for(self, vault_id: bytes, slot: str) -> KdfParams | None:
        """The KDF settings of key slot ``slot`` as this client last saw them, or ``None``."""
        return self._read(vault_id).kdf.get(slot)

    def remember_kdf(self, vault_id: bytes, slot: str, params: KdfParams) -> None:
        """Remember key slot ``slot``'s KDF settings, read from a header whose MAC was checked."""
        self._update(vault_id, lambda entry: replace(entry, kdf={**entry.kdf, slot: params}))

    # --- the file -------------------------------------------------------------------------------------------

    def _damaged(self, path: Path, why: str) -> VaultError:
        return VaultError(
            f"this client's memory of the vault, {path}, is {why}. It holds no secret: delete it to reset "
            "it (the next open then trusts the vault as it finds it, as on a new machine; see "
            "docs/threat-model.md)"
        )

    def _read(self, vault_id: bytes) -> _Entry:
        path = self.path(vault_id)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return _Entry()
        except OSError as exc:
            raise self._damaged(path, f"unreadable ({exc.strerror or exc})") from None
        try:
            return _parse(data, vault_id)
        except (ValueError, TypeError, KeyError, AttributeError, KdfLimitExceeded):
            raise self._damaged(path, "damaged (not a memory file this version wrote)") from None

    def _update(self, vault_id: bytes, change: Callable[[_Entry], _Entry]) -> _Entry:
        """Under the vault's lock file: read, ``change``, and write if anything changed."""
        folder = self.seen_folder
        try:
            make_private_dir(folder)
            descriptor = _lock(folder / f"{vault_id.hex()}.lock")
        except OSError as exc:
            raise VaultError(
                f"cannot use {folder} for this client's memory of vaults ({exc.strerror or exc}); set "
                f"{STATE_DIR_VARIABLE} to a folder this user can write"
            ) from None
        try:
            entry = self._read(vault_id)
            new = change(entry)
            if new != entry:
                self._write(vault_id, new)
            return new
        finally:
            os.close(descriptor)  # releases the lock

    def _write(self, vault_id: bytes, entry: _Entry) -> None:
        path = self.path(vault_id)
        data = json.dumps(_dumped(entry, vault_id), indent=1, sort_keys=True).encode("utf-8")
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            descriptor = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600
            )
            with os.fdopen(descriptor, "wb") as out:
                if sys.platform != "win32":
                    os.fchmod(out.fileno(), 0o600)  # exactly 0600, whatever the umask
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
            fsync_dir(path.parent)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise VaultError(
                f"cannot write this client's memory of the vault to {path} ({exc.strerror or exc})"
            ) from None


def _lock(path: Path) -> int:
    """A descriptor of the file ``path`` (created 0600), locked against other processes until closed."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if sys.platform == "win32":  # pragma: no cover - one byte locked, retried by msvcrt
            import msvcrt  # noqa: PLC0415

            msvcrt.locking(descriptor, msvcrt.LK_LOCK, 1)
        else:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def _merged(entry: _Entry, seen: Seen) -> _Entry:
    if entry.state is None or seen.generation > entry.state.generation:
        return replace(entry, state=seen)
    return entry


def _dumped(entry: _Entry, vault_id: bytes) -> dict[str, Any]:
    state = entry.state
    return {
        "format": _FORMAT,
        "vault_id": vault_id.hex(),
        "state": None
        if state is None
        else {"generation": state.generation, "sha256": state.state_hash, "seen_at": state.at.isoformat()},
        "kdf": {name: [p.memory_kib, p.iterations, p.lanes] for name, p in sorted(entry.kdf.items())},
    }


def _parse(data: bytes, vault_id: bytes) -> _Entry:
    """A memory file's entry; ``ValueError`` (or ``TypeError``, ``KeyError``) for anything unexpected."""
    raw = json.loads(data)
    if not isinstance(raw, dict) or raw.get("format") != _FORMAT or raw.get("vault_id") != vault_id.hex():
        raise ValueError("not this vault's memory file")
    state: Seen | None = None
    if raw["state"] is not None:
        generation, digest = raw["state"]["generation"], raw["state"]["sha256"]
        at = datetime.fromisoformat(raw["state"]["seen_at"])
        if type(generation) is not int or generation < 0 or at.tzinfo is None:
            raise ValueError("a malformed state")
        if not isinstance(digest, str) or len(digest) != 64 or bytes.fromhex(digest).hex() != digest:
            raise ValueError("a malformed state hash")
        state = Seen(generation, digest, at)
    kdf: dict[str, KdfParams] = {}
    for name, values in raw["kdf"].items():
        if not isinstance(values, list) or len(values) != 3:
            raise ValueError("malformed KDF settings")
        kdf[name] = KdfParams(memory_kib=values[0], iterations=values[1], lanes=values[2])
    return _Entry(state, kdf)


# --- an open vault ------------------------------------------------------------------------------------------


class Watch:
    """One open vault's watch for an older state: the newest this ``Vault`` object has seen, and the memory.

    ``Core.watch`` holds it; ``Core`` tells it of every state it reads (``read``) and commits (``written``).
    Thread-safe. ``accepted`` is the state this client had seen when an older one was accepted on purpose
    (a restore): such a watch compares with what it has seen since, and never writes the memory file (the
    restore makes the new baseline once the copy is in place).
    """

    def __init__(
        self, memory: ClientMemory, core: Core, start: Seen, *, accepted: Seen | None = None
    ) -> None:
        """Watch ``core``'s vault from the state ``start`` on."""
        self.memory = memory
        self.vault_id = core.vault_id
        self.location = core.storage.location
        self.memory_file = memory.path(self.vault_id)
        self.accepted = accepted
        self._lock = threading.Lock()
        self._writing = threading.Lock()
        self._highest = start
        self._stored: Seen | None = None  # what this watch last wrote or read in the memory file
        self._synced = time.monotonic()

    @property
    def highest(self) -> Seen:
        """The newest state seen."""
        with self._lock:
            return self._highest

    def start(self) -> None:
        """At open: write the state to the memory file (``VaultError`` if it cannot)."""
        self._sync(force=True)

    def read(self, core: Core, generation: int, raw: bytes) -> None:
        """A state read from the vault (its MAC checked): ``VaultCorrupted`` if older than one seen before."""
        with self._lock:
            reference = self._highest
        self._advance(self._checked(core, reference, Seen.of(generation, raw)))
        self._sync(force=False)

    def written(self, core: Core, generation: int, raw: bytes) -> None:
        """A state this process committed; the memory file is written if due."""
        self._advance(Seen.of(generation, raw))
        try:
            self._sync(force=False)
        except VaultError as exc:  # the commit is done: say so, do not pretend it failed
            warnings.warn(str(exc), RuntimeWarning, stacklevel=3)

    def close(self, core: Core) -> None:
        """The vault is closing: write what was seen since the last write."""
        try:
            self._sync(force=True)
        except VaultError as exc:
            warnings.warn(str(exc), RuntimeWarning, stacklevel=3)

    def consult(self, core: Core, generation: int, raw: bytes) -> Seen | None:
        """``verify``: compare with what this object and the memory file saw; returns the file's state."""
        held = self.accepted if self.accepted is not None else self.memory.seen(self.vault_id)
        found = Seen.of(generation, raw)
        with self._lock:
            references = [self._highest]
        if held is not None and self.accepted is None:
            references.append(held)
        for reference in references:
            found = self._checked(core, reference, found)
        self._advance(found)
        self._sync(force=True)
        return held

    def _checked(self, core: Core, reference: Seen, found: Seen) -> Seen:
        """``found``, or the state as committed now if ``found`` was read in an older snapshot; else raise."""
        if reference.conflict(found, self.location, self.memory_file) is None:
            return found
        generation, raw = core.fresh_state()  # on a connection of its own: not an older snapshot
        latest = Seen.of(generation, raw)
        why = reference.conflict(latest, self.location, self.memory_file)
        if why is not None:
            raise RolledBack(why, latest, reference)
        return latest

    def _advance(self, found: Seen) -> None:
        with self._lock:
            if found.generation > self._highest.generation:
                self._highest = found

    def _sync(self, *, force: bool) -> None:
        """Write the newest state seen to the memory file, and learn what other processes wrote there.

        Due once every ``PERSIST_EVERY`` seconds, or now if ``force``. Never for an accepting watch.
        """
        if self.accepted is not None:
            return
        with self._lock:
            if not force and time.monotonic() - self._synced < PERSIST_EVERY:
                return
            highest = self._highest
        if not self._writing.acquire(blocking=force):
            return  # another thread of this process is at it right now
        try:
            known = self._stored
            if known is None or (known.generation, known.state_hash) != (
                highest.generation,
                highest.state_hash,
            ):
                stored = self.memory.remember(self.vault_id, highest)
            else:
                stored = self.memory.seen(self.vault_id) or highest
            self._stored = stored
            self._advance(stored)  # what other processes of this client saw since
            with self._lock:
                self._synced = time.monotonic()
        finally:
            self._writing.release()


def opened(core: Core, found: RowSet | None = None) -> None:
    """At open: compare the vault's state with this client's memory of it, remember it, and watch it.

    ``found``, if given, is the state ``Core.check`` just verified. The memory is read first, then the
    state once more, so that a newer state another process committed (and remembered) meanwhile is never
    taken for an older one. ``RolledBack`` (a ``VaultCorrupted``) if the state is older than what this
    client saw, or another one at the same generation, unless inside ``accepting_older()``; ``VaultError``
    if the memory file is damaged or cannot be written.
    """
    memory = ClientMemory()
    location = core.storage.location
    held = memory.seen(core.vault_id)
    state, raw = core.read_state()
    latest = Seen.of(state.generation, raw)
    if found is not None and state.generation < found.generation:
        raise VaultCorrupted(f"{location}: the vault's state went back while it was being opened")
    why = held.conflict(latest, location, memory.path(core.vault_id)) if held is not None else None
    if why is not None and held is not None and not _ACCEPT_OLDER.get():
        raise RolledBack(why, latest, held)
    accepted = held if why is not None else None
    start = held if held is not None and accepted is None and held.generation >= latest.generation else latest
    watch = Watch(memory, core, start, accepted=accepted)
    core.watch = watch
    watch.start()


def consulted(core: Core, generation: int, raw: bytes) -> tuple[bool, Seen | None]:
    """``verify``: whether the memory was consulted (not for a copy a backup checks), and what it held.

    ``VaultCorrupted`` as at open if the state ``raw`` at ``generation`` is older than what was seen.
    """
    watch = core.watch
    if not isinstance(watch, Watch):
        return False, None
    return True, watch.consult(core, generation, raw)


def accepted(core: Core) -> tuple[Seen, Seen] | None:
    """After an open inside ``accepting_older()``: (what this client had seen, the state now), if older."""
    watch = core.watch
    if not isinstance(watch, Watch) or watch.accepted is None:
        return None
    return watch.accepted, watch.highest


def newest(core: Core) -> Seen:
    """The newest state ``core``'s watch has seen (``VaultError`` if it has none: not opened by ``Vault``)."""
    watch = core.watch
    if not isinstance(watch, Watch):
        raise VaultError("this vault object does not watch its state")
    return watch.highest


def closing(core: Core) -> None:
    """Before ``Vault.close``: a vault this object created (so not watched yet) is remembered as it is now.

    Best effort: a memory that cannot be written is a ``RuntimeWarning`` here, not an error of ``close``.
    """
    if core.watch is not None or core.storage.closed:
        return
    try:
        opened(core)
    except VaultError as exc:
        warnings.warn(str(exc), RuntimeWarning, stacklevel=3)


@contextlib.contextmanager
def accepting_older(accept: bool = True) -> Iterator[None]:
    """Inside: an open that finds an older state than this client saw takes it instead of refusing it.

    For ``Vault.restore(..., accept_older=True)`` only: the vault opened this way never writes the memory
    file; the restore makes the restored state the new baseline (``ClientMemory.accept``) once it is in place.
    """
    token = _ACCEPT_OLDER.set(accept)
    try:
        yield
    finally:
        _ACCEPT_OLDER.reset(token)


def _costlier(new: KdfParams, seen: KdfParams) -> bool:
    return new.memory_kib > seen.memory_kib or new.iterations > seen.iterations or new.lanes > seen.lanes


def kdf_guard(header: Header, name: str, slot: Slot | None) -> None:
    """Refuse, before deriving anything, a person's slot whose KDF cost went up since this client saw it.

    Also a slot this client opened before that is gone from the header (``VaultCorrupted``: removed, or
    the header edited), rather than "no such user".

    A header edited to ask for the caps (1 GiB, 64 iterations) costs half a minute and a gigabyte before
    "wrong passphrase"; the client's memory (``contactvault.vault.memory``) knows what it was. A change
    made on purpose elsewhere (``change_passphrase(..., kdf=...)``) is taken with ``accept_kdf_change``.
    """
    seen = ClientMemory().kdf_for(header.vault_id, name)
    if slot is None and seen is not None:
        raise VaultCorrupted(
            f"the key slot of user {name!r}, which this client opened before, is not in the vault header: "
            "removed by another user, or the header was edited"
        )
    if slot is None or slot.kdf is None:
        return
    if seen is not None and _costlier(slot.kdf, seen):
        raise KdfLimitExceeded(
            f"the key slot of user {slot.name!r} asks for a costlier KDF than this client saw before "
            f"({seen.memory_kib} KiB, {seen.iterations} iterations, {seen.lanes} lanes; now "
            f"{slot.kdf.memory_kib} KiB, {slot.kdf.iterations} iterations, {slot.kdf.lanes} lanes): refused "
            "without computing it. If that user changed it on purpose, open with accept_kdf_change "
            "(CONTACTVAULT_ACCEPT_KDF_CHANGE=1)"
        )
