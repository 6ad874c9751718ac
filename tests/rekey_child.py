"""A child process for the re-key tests: it re-keys a vault and may be killed at any point of it.

Run as ``python -m tests.rekey_child LOCATION [STEP]`` from the project folder, with the passphrase in the
environment variable ``CONTACTVAULT_TEST_PASSPHRASE``. It opens the vault as ``owner``, prints ``ready`` and
re-keys it. With ``STEP`` (``marked`` or ``wrapped``), it prints the step's name when the re-key reaches it
and waits there for a line on standard input (the parent kills it, or lets it go on); it prints ``done`` at
the end.
"""

from __future__ import annotations

import os
import sys

from contactvault import Vault
from contactvault.vault.rekeying import rekey

PASSPHRASE_VARIABLE = "CONTACTVAULT_TEST_PASSPHRASE"  # noqa: S105  (a name, not a passphrase)


def main(location: str, step: str | None) -> None:
    """Open the vault, say so, and re-key it (pausing at ``step`` for the kill)."""

    def reached(name: str) -> None:
        if name == step:
            print(name, flush=True)
            sys.stdin.readline()

    with Vault.open(location, os.environ[PASSPHRASE_VARIABLE], user="owner") as vault:
        print("ready", flush=True)
        rekey(vault._core, step=reached)
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
