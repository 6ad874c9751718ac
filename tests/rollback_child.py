"""A child process for the rollback tests: it keeps one vault open, and reads or writes when told to.

Run as ``python -m tests.rollback_child LOCATION`` from the project folder, with the passphrase in the
environment variable ``CONTACTVAULT_TEST_PASSPHRASE`` (never on the command line) and the client memory in
``CONTACTVAULT_STATE_DIR`` (inherited from the test). It opens the vault, prints ``ready``, then answers each
line of standard input: ``read`` lists the contacts, ``write`` adds one. The answer is ``ok N`` (the number
of contacts it saw or holds now) or ``corrupted`` (``VaultCorrupted``, its message on standard error). The
vault stays open until standard input ends.
"""

from __future__ import annotations

import os
import sys

from contactvault import Contact, Vault, VaultCorrupted

PASSPHRASE_VARIABLE = "CONTACTVAULT_TEST_PASSPHRASE"  # noqa: S105  (a name, not a passphrase)


def main(location: str) -> None:
    """Open the vault at ``location`` and serve ``read`` and ``write`` until standard input ends."""
    with Vault.open(location, os.environ[PASSPHRASE_VARIABLE]) as vault:
        print("ready", flush=True)
        written = 0
        for line in sys.stdin:
            command = line.strip()
            try:
                if command == "read":
                    count = len(list(vault))
                elif command == "write":
                    written += 1
                    vault.add(Contact(display_name=f"Kind {written}"))
                    count = len(vault)
                else:
                    raise ValueError(f"unknown command {command!r}")
            except VaultCorrupted as exc:
                print(exc, file=sys.stderr, flush=True)
                print("corrupted", flush=True)
            else:
                print(f"ok {count}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
