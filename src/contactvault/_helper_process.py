"""A helper process: a subprocess of this interpreter that talks in length-prefixed frames over its pipes.

The parallel vCard reader (:mod:`contactvault.importers._vcard_pool`) and the parallel messenger book
(:mod:`contactvault.sync._book_pool`) start theirs with this class. A helper runs ``python -P -m MODULE``
(the same interpreter, this process's copy of contactvault first on its path): it imports its own
modules and nothing else, never the caller's ``__main__``. It needs no ``fork``, no semaphore and no
shared memory: it inherits neither this process's threads nor its memory (the vault's keys). Its
standard error is discarded (a message could quote personal data). Should this process die, the
helper's standard input ends and it exits.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import BinaryIO, Final, cast

from contactvault.importers._frames import HEADER, write_frame

__all__ = ["Broken", "Helper", "helper_command"]

_PIPE_BYTES: Final = 1 << 20
"""The pipes to and from a helper are enlarged to this (Linux), so that a chunk is written without waiting."""

_READ_BYTES: Final = 1 << 20
"""The most read from a helper's output at once."""

ANSWER_SECONDS: float = 120.0
"""A helper that sends nothing for this long while its parent waits for a reply is taken for broken.

A chunk takes a helper well under a second; a helper that stopped (a deadlock, a stopped process) would
otherwise keep its parent waiting forever. The parent then stops it and does its work itself.
"""


def helper_command(module: str) -> list[str]:
    """The command that starts one helper process: this interpreter, ``module``, no script path."""
    return [sys.executable, "-P", "-m", module]


class Broken(Exception):
    """A helper that exited, or sent what is not a reply."""


class Helper:
    """One helper process and its two pipes."""

    def __init__(self, command: list[str]) -> None:
        """Start ``command`` (``helper_command``'s) with pipes for its standard input and output."""
        package_root = str(Path(__file__).resolve().parents[1])  # src/, which holds contactvault/
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        self.process = subprocess.Popen(  # noqa: S603  (this interpreter, a fixed module)
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self.stdin = cast("BinaryIO", self.process.stdin)
        self.stdout = cast("BinaryIO", self.process.stdout)
        # Replies are read from the pipe's descriptor into a buffer of this object's own (never through
        # ``stdout``'s), so that whether a whole frame is there is known without waiting.
        self._output = self.stdout.fileno()
        self._buffer = bytearray()
        self._ended_output = False
        with contextlib.suppress(ImportError, AttributeError, OSError):  # not Linux, or over the limit
            import fcntl  # noqa: PLC0415  (POSIX only)

            for pipe in (self.stdin, self.stdout):
                fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)

    def send(self, frame: bytes) -> None:
        """Write ``frame`` to the helper (``Broken`` if it is gone)."""
        try:
            write_frame(self.stdin, [frame])
        except (OSError, ValueError) as exc:  # BrokenPipeError, or a pipe already closed
            raise Broken(self._ended()) from exc

    def receive(self) -> bytes:
        """The helper's next frame, waiting at most ``ANSWER_SECONDS`` for it to arrive whole.

        ``Broken`` if the helper ended instead, sent a cut-short frame, or stopped answering.
        """
        deadline = time.monotonic() + ANSWER_SECONDS
        while (size := self._whole()) is None:
            if self._ended_output:
                raise Broken(self._ended())
            left = deadline - time.monotonic()
            if left <= 0:
                raise Broken("a helper process stopped answering")
            self._read(left)
        frame = bytes(self._buffer[HEADER.size : HEADER.size + size])
        del self._buffer[: HEADER.size + size]
        return frame

    def ready(self) -> bool:
        """Whether a whole frame has arrived (or the helper's output ended), without waiting."""
        self._read(0)
        return self._ended_output or self._whole() is not None

    def _whole(self) -> int | None:
        """The size of the frame at the start of the buffer, if all of it is there."""
        if len(self._buffer) < HEADER.size:
            return None
        (size,) = HEADER.unpack_from(self._buffer)
        return size if len(self._buffer) >= HEADER.size + size else None

    def _read(self, timeout: float) -> None:
        """Add what the helper wrote to the buffer, waiting up to ``timeout`` seconds for something."""
        if self._ended_output:
            return
        try:
            readable = bool(select.select([self._output], [], [], timeout)[0])
        except (OSError, ValueError):  # no select() on pipes (Windows): only a wait reads, however long
            readable = timeout > 0
        if readable:
            try:
                data = os.read(self._output, _READ_BYTES)
            except OSError:  # the pipe broke: as good as its end (receive() says the helper ended)
                data = b""
            if data:
                self._buffer += data
            else:
                self._ended_output = True

    def _ended(self) -> str:
        try:
            status = self.process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            return "a helper process stopped answering"
        return f"a helper process exited with status {status}"

    def stop(self, *, kill: bool) -> None:
        """Close its input (it exits when it has read everything) or kill it; wait for it either way."""
        if kill:
            self.process.kill()
        with contextlib.suppress(OSError):
            self.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.stdout.close()
