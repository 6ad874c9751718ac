"""What the tests of a vault with several users share: passphrases, a vault on either backend, its header.

Used by test_users.py and test_rekey.py (whose ``where`` and ``backend`` fixtures are in conftest.py).
"""

from __future__ import annotations

from pathlib import Path

from contactvault import KdfParams, Vault
from contactvault.vault.backends import open_backend
from contactvault.vault.header import Header

OWNER_PW = "Kassenbuch und Quittungen"
ALICE_PW = "Alice liest die Post"
BOB_PW = "Bob bucht die Termine"
FAST = KdfParams.insecure_fast_for_tests()


def make_team(where: Path | str, *, recovery: bool = False) -> str | None:
    """The owner, alice and bob (persons) in a new vault; returns the recovery key if asked for."""
    with Vault.create(where, OWNER_PW, kdf=FAST, recovery_key=recovery) as vault:
        vault.add_user("alice", ALICE_PW, kdf=FAST)
        vault.add_user("bob", BOB_PW, kdf=FAST)
        return vault.recovery_key


def stored_header(where: Path | str) -> Header:
    """The vault's header as stored, parsed (its MAC not checked)."""
    storage = open_backend(where, lock_timeout=5)
    try:
        return Header.unpack(storage.read_single("header"))
    finally:
        storage.close()
