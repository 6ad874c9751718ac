"""One passphrase key derivation started ahead, in a child process, for the open that follows.

A command that opens the vault spends 0.1-0.3 s in Argon2id and about as long importing its modules.
``start`` forks this process: the child derives ``crypto.derive_kek(passphrase, salt, params)``, writes
the 32-byte key into a pipe and ends, on another core, while this process goes on. ``take`` gives the
key to the open that needs exactly that derivation (same passphrase, salt and parameters; waiting for
the child if it is still at work) and ``None`` to any other, which then derives as always: a key from
here is the key the open would have derived. One derivation is kept ahead at a time; ``forget`` (or
another ``start``) stops the child and drops it.

A thread would not do: Argon2id in ``cryptography`` holds the GIL. So this runs on Linux only, and only
while this process runs a single thread (a fork of a process with threads may hang in the child);
elsewhere ``start`` starts nothing. The child is a copy of this process: it holds nothing this process
does not, leaves through ``os._exit`` (none of this process's clean-up, no buffered output written
twice), holds none of this process's descriptors but its end of the pipe (standard input, output
and error on ``/dev/null``), and its key passes only through that pipe.

The caller checks the parameters before ``start``: the caps are checked by ``KdfParams``, the client's
memory of a slot's settings by the vault's guard (``contactvault.vault.ahead`` does both); this module
starts what it is given. ``contactvault.vault.keys`` takes the key when a person's passphrase opens a
vault; ``contactvault.cli`` starts it as a command starts.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import signal
import sys
import threading

from contactvault import crypto
from contactvault.crypto import KEY_SIZE, KdfParams

__all__ = ["forget", "start", "take"]


def _bytes(passphrase: str | bytes) -> bytes:
    return passphrase if isinstance(passphrase, bytes) else passphrase.encode("utf-8", "surrogatepass")


class _Child:
    """The derivation started ahead: its inputs, its process and the pipe its key comes through."""

    def __init__(self, inputs: tuple[bytes, bytes, KdfParams], pid: int, reader: int) -> None:
        self.inputs = inputs
        self.pid = pid
        self.reader = reader

    def matches(self, passphrase: str | bytes, salt: bytes, params: KdfParams) -> bool:
        started, started_salt, started_params = self.inputs
        return (
            started_salt == salt
            and started_params == params
            and hmac.compare_digest(started, _bytes(passphrase))
        )

    def key(self) -> bytes | None:
        """The child's key (waiting for it), or ``None`` if it failed; the child is waited for."""
        key = bytearray()
        with contextlib.suppress(OSError):
            while chunk := os.read(self.reader, KEY_SIZE + 1 - len(key)):
                key += chunk
        self.end()
        return bytes(key) if len(key) == KEY_SIZE else None

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)
        self.end()

    def end(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.reader)
        with contextlib.suppress(OSError):
            os.waitpid(self.pid, 0)


_lock = threading.Lock()
_current: list[_Child] = []  # at most one


def _taken() -> _Child | None:
    with _lock:
        return _current.pop() if _current else None


def _keep_only(writer: int) -> None:
    """In the child: standard input, output and error on ``/dev/null``, all else closed but ``writer``.

    The child holds none of the command's files, pipes or sockets: a reader of the command's output sees
    its end when the command ends (even killed), not when the derivation does.
    """
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    for name in os.listdir("/proc/self/fd"):  # Linux (``start``): the descriptors open now
        fd = int(name)
        if fd > 2 and fd != writer:
            with contextlib.suppress(OSError):  # the listing's own, closed already
                os.close(fd)


def start(passphrase: str | bytes, salt: bytes, params: KdfParams) -> bool:
    """Start ``crypto.derive_kek(passphrase, salt, params)`` in a child process; whether it started."""
    if sys.platform != "linux" or threading.active_count() != 1:
        return False
    forget()
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: derive, write the key, end without any of this process's clean-up
        status = 1
        try:
            _keep_only(writer)
            os.write(writer, crypto.derive_kek(passphrase, salt, params))  # 32 bytes: one write
            status = 0
        finally:
            os._exit(status)
    os.close(writer)
    with _lock:
        _current.append(_Child((_bytes(passphrase), salt, params), pid, reader))
    return True


def take(passphrase: str | bytes, salt: bytes, params: KdfParams) -> bytes | None:
    """The key started ahead for exactly these inputs (once), else ``None``; the child is dropped."""
    child = _taken()
    if child is None:
        return None
    if not child.matches(passphrase, salt, params):
        child.stop()
        return None
    return child.key()


def forget() -> None:
    """Stop and drop a derivation started ahead that no open took (at the end of a command)."""
    child = _taken()
    if child is not None:
        child.stop()
