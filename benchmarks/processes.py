"""Run a command to its end and measure it: wall seconds, peak RSS, exit code, output.

Output goes to a pipe, or to a pseudo-terminal of a given size (what a person's terminal is to the
program). ``pipeline.py`` uses it for every stage it runs as a process of its own.
"""

from __future__ import annotations

import fcntl
import io
import os
import pty
import struct
import subprocess
import sys
import tempfile
import termios
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LAUNCHER", "Ran", "checked", "run"]

TERMINAL = (40, 120)
"""Rows and columns of the pseudo-terminal."""


@dataclass(frozen=True, slots=True)
class Ran:
    """One finished process: wall seconds, peak RSS (bytes), exit code, stdout, stderr."""

    seconds: float
    rss: int
    code: int
    out: bytes
    err: bytes


LAUNCHER = """
import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - start
code = os.waitstatus_to_exitcode(status)
with open(sys.argv[1], "w") as out:
    out.write(f"{seconds!r} {usage.ru_maxrss * 1024} {code}")
sys.exit(code if code >= 0 else 128 - code)
"""
"""Runs a command and writes its wall seconds, peak RSS and exit code to a file (``argv[1]``).

A process's ``ru_maxrss`` counts the memory of the process that started it up to the ``exec``, so the
measured command is started by this small interpreter (``-I -S``: about 10 MiB), not by the benchmark
(which holds the KDF's 64 MiB). The clock runs from the ``fork`` to the end: the launcher's own start-up
is not counted."""


def _drain(stream: io.BufferedReader, into: list[bytes]) -> threading.Thread:
    thread = threading.Thread(target=lambda: into.extend(iter(lambda: stream.read(65536), b"")), daemon=True)
    thread.start()
    return thread


def _launched(argv: Sequence[str], figures: Path) -> list[str]:
    return [sys.executable, "-I", "-S", "-c", LAUNCHER, str(figures), *argv]


def _ran(figures: Path, out: bytes, err: bytes) -> Ran:
    written = figures.read_text(encoding="utf-8").split()
    figures.unlink()
    if len(written) != 3:  # the launcher itself failed: no figures, and an exit code that says so
        return Ran(float("nan"), 0, 127, out, err or b"the launcher wrote no figures")
    seconds, rss, code = written
    return Ran(float(seconds), int(rss), int(code), out, err)


def run(argv: Sequence[str], env: dict[str, str], *, tty: bool = False) -> Ran:
    """Run ``argv`` to the end, its output to a pipe (or a pseudo-terminal), stdin closed; wall time, RSS."""
    with tempfile.NamedTemporaryFile(prefix="pipeline-run-", delete=False) as handle:
        figures = Path(handle.name)
    if tty:
        return _run_tty(_launched(argv, figures), env, figures)
    proc = subprocess.Popen(
        _launched(argv, figures), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=env,
    )  # fmt: skip
    out: list[bytes] = []
    err: list[bytes] = []
    readers = [_drain(proc.stdout, out), _drain(proc.stderr, err)]  # type: ignore[arg-type]
    proc.wait()
    for reader in readers:
        reader.join()
    return _ran(figures, b"".join(out), b"".join(err))


def _run_tty(argv: Sequence[str], env: dict[str, str], figures: Path) -> Ran:
    """``argv`` with a pseudo-terminal of ``TERMINAL`` size as stdin, stdout and stderr."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: set the window size before the program can ask for it
        try:
            fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", *TERMINAL, 0, 0))
            os.execvpe(argv[0], list(argv), {**env, "TERM": "xterm-256color"})  # noqa: S606
        finally:
            os._exit(127)
    out: list[bytes] = []
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        out.append(data)
    os.waitpid(pid, 0)
    os.close(fd)
    return _ran(figures, b"".join(out), b"")


def checked(what: str, ran: Ran) -> Ran:
    """``ran`` if it exited 0; else ``RuntimeError`` with the end of its stderr."""
    if ran.code != 0:
        tail = (ran.err or ran.out).decode("utf-8", "replace").strip().splitlines()[-5:]
        raise RuntimeError(f"{what} exited {ran.code}: {' | '.join(tail)}")
    return ran
