"""A real Radicale CardDAV server on 127.0.0.1 for the sync tests: the ``radicale`` fixture.

Radicale runs as a child process (``python -m radicale``) with the flags of the design notes: htpasswd
authentication (plain passwords in a temporary file, never ``--auth-type none``, which would switch off the
owner check), ``--rights-type owner_only``, a temporary storage folder, no web interface. ``stop()`` and
``start()`` restart it on the same port and folder, to test a server that goes away in the middle of a sync.

Use it from a test module with ``from tests.radicale_server import radicale  # noqa: F401``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

STARTUP_TIMEOUT = 20.0
"""Seconds to wait for Radicale to answer after starting it."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RadicaleServer:
    """One Radicale process and its account: ``url`` is the user's home, ``http://127.0.0.1:PORT/<user>/``."""

    folder: Path
    username: str = "vaultuser"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18), repr=False)
    port: int = field(default_factory=_free_port)
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        """The server's root, ``http://127.0.0.1:PORT/``."""
        return f"http://127.0.0.1:{self.port}/"

    @property
    def url(self) -> str:
        """The user's home collection (principal and address book home), ``http://127.0.0.1:PORT/<user>/``."""
        return f"{self.base_url}{self.username}/"

    @property
    def storage(self) -> Path:
        """Radicale's storage folder."""
        return self.folder / "collections"

    @property
    def log(self) -> Path:
        """Radicale's log (warnings and errors)."""
        return self.folder / "radicale.log"

    @property
    def running(self) -> bool:
        """Whether the process is running."""
        return self._process is not None and self._process.poll() is None

    def client(self) -> httpx.Client:
        """An httpx client with this account's credentials, for looking at the server directly."""
        return httpx.Client(auth=(self.username, self.password), timeout=10.0)

    def start(self) -> None:
        """Start Radicale (again) on the same port and storage folder; return once it answers."""
        if self.running:
            return
        users = self.folder / "users"
        users.write_text(f"{self.username}:{self.password}\n", encoding="utf-8")
        users.chmod(0o600)
        command = [
            sys.executable, "-m", "radicale", "--config", "",
            "--server-hosts", f"127.0.0.1:{self.port}",
            "--auth-type", "htpasswd",
            "--auth-htpasswd-filename", str(users),
            "--auth-htpasswd-encryption", "plain",
            "--rights-type", "owner_only",
            "--storage-filesystem-folder", str(self.storage),
            "--web-type", "none",
            "--logging-level", "warning",
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("RADICALE")}
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(  # noqa: S603  (our own interpreter, fixed arguments)
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if not self.running:
                self._process = None
                raise RuntimeError(f"Radicale exited at start; see {self.log}")
            try:
                httpx.request("OPTIONS", self.base_url, timeout=1.0)
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"Radicale did not answer within {STARTUP_TIMEOUT} s") from None
                time.sleep(0.05)
            else:
                return

    def stop(self) -> None:
        """Stop Radicale (terminate, then kill if it does not exit); the storage folder stays."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@pytest.fixture
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RadicaleServer]:
    """A running Radicale with one account, fresh for each test; always stopped afterwards."""
    server = RadicaleServer(folder=tmp_path_factory.mktemp("radicale"))
    try:
        server.start()
        yield server
    finally:
        with contextlib.suppress(OSError):
            server.stop()
