"""A child process for the vault's locking and crash tests, and the deterministic contacts both sides share.

Run by the tests as ``python tests/vault_child.py MODE PATH [COUNT]``, with the passphrase in the environment
variable ``CONTACTVAULT_TEST_PASSPHRASE`` (never on the command line):

- ``hold PATH COUNT``: open the vault, add ``COUNT`` contacts (:func:`contact_id` with batch
  :data:`HOLD_BATCH`), print ``ready`` and keep the vault open until standard input is closed.
- ``crash PATH``: import everything, print ``warm``, read the number of operations already committed from
  standard input, open the vault, print ``open``, then run :func:`apply_op` for that number and the next
  ones, printing ``done N`` (``N`` operations committed in all) after each committed transaction, until it
  is killed (or, as a safety net, after :data:`MAX_SECONDS`).

The crash test imports this module too: :func:`expected_state` tells which contacts must be in the vault
after ``N`` operations, so that the parent can tell a whole transaction from half of one.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path

from contactvault import Contact, Phone, Vault
from contactvault.phones import parse_number

PASSPHRASE_VARIABLE = "CONTACTVAULT_TEST_PASSPHRASE"  # noqa: S105  (a name, not a passphrase)
BATCH_SIZE = 200
"""Contacts stored by one ``add_many`` transaction of the crash child."""
OPS_PER_BATCH = 3
"""Operation ``j`` works on batch ``j // 3``: 0 adds it, 1 updates its first contact, 2 erases its second."""
HOLD_BATCH = 1_000_000
"""The batch number of the contacts the ``hold`` child adds (far from the crash test's batches)."""
MAX_SECONDS = 60.0
"""The crash child stops on its own after this long, should its parent never kill it."""


def contact_id(batch: int, index: int) -> uuid.UUID:
    """The id of contact ``index`` of batch ``batch``: the same in every process."""
    return uuid.UUID(int=(0xC0DE << 96) | (batch << 32) | index)


def _phone(serial: int) -> Phone:
    raw = f"+49 151 5550{serial % 10_000:04d}"
    info = parse_number(raw, "DE")
    return Phone(raw=raw, e164=info.e164, region=info.region, kind=info.kind, problem=info.problem)


def batch_contacts(batch: int, size: int = BATCH_SIZE) -> list[Contact]:
    """The synthetic contacts of one batch, each with a made-up name and a German mobile number."""
    return [
        Contact(
            id=contact_id(batch, i),
            display_name=f"Testkunde {batch}-{i}",
            phones=[_phone(batch * size + i)],
            notes=[f"Synthetischer Eintrag {batch}-{i}"],
        )
        for i in range(size)
    ]


def apply_op(vault: Vault, op: int) -> None:
    """Run operation ``op`` (numbered from 0) as one transaction: add a batch, update or erase a contact."""
    batch, phase = divmod(op, OPS_PER_BATCH)
    if phase == 0:
        vault.add_many(batch_contacts(batch))
    elif phase == 1:
        current = vault.get(contact_id(batch, 0))
        vault.update(current.model_copy(update={"notes": (f"Nach Rückruf geändert {batch}",)}))
    else:
        vault.erase(contact_id(batch, 1))


def expected_state(ops: int) -> tuple[dict[uuid.UUID, int], int]:
    """After ``ops`` committed operations: each live contact's id and version, and how many are erased."""
    live: dict[uuid.UUID, int] = {}
    erased = 0
    for op in range(ops):
        batch, phase = divmod(op, OPS_PER_BATCH)
        if phase == 0:
            live.update((contact_id(batch, i), 1) for i in range(BATCH_SIZE))
        elif phase == 1:
            live[contact_id(batch, 0)] = 2
        else:
            del live[contact_id(batch, 1)]
            erased += 1
    return live, erased


def _hold(path: Path, passphrase: str, count: int) -> None:
    with Vault.open(path, passphrase, lock_timeout=10) as vault:
        vault.add_many(batch_contacts(HOLD_BATCH, count))
        print("ready", flush=True)
        sys.stdin.read()  # until the parent closes our standard input


def _crash(path: Path, passphrase: str) -> None:
    print("warm", flush=True)
    line = sys.stdin.readline()
    if not line.strip():
        return  # the parent had no more use for us
    op = int(line)
    deadline = time.monotonic() + MAX_SECONDS
    with Vault.open(path, passphrase, lock_timeout=10) as vault:
        print("open", flush=True)
        while time.monotonic() < deadline:
            apply_op(vault, op)
            op += 1
            print(f"done {op}", flush=True)


def main(argv: list[str]) -> int:
    """Run the mode named on the command line; the exit status is 0 unless it was used wrongly."""
    passphrase = os.environ.get(PASSPHRASE_VARIABLE, "")
    if len(argv) < 2 or not passphrase:
        print("usage: vault_child.py hold|crash PATH [COUNT]", file=sys.stderr)
        return 2
    mode, path = argv[0], Path(argv[1])
    if mode == "hold" and len(argv) == 3:
        _hold(path, passphrase, int(argv[2]))
    elif mode == "crash":
        _crash(path, passphrase)
    else:
        print(f"unknown mode {mode!r}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
