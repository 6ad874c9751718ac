"""A child process for the vault's locking and crash tests, and the deterministic contacts both sides share.

Run by the tests as ``python tests/vault_child.py MODE PATH [COUNT]``, with the passphrase in the environment
variable ``CONTACTVAULT_TEST_PASSPHRASE`` (never on the command line):

- ``hold PATH COUNT``: open the vault, add ``COUNT`` contacts (:func:`contact_id` with batch
  :data:`HOLD_BATCH`), print ``ready`` and keep the vault open until standard input is closed.
- ``crash PATH``: import everything, print ``warm`` and read one command from standard input, in which
  ``C`` is the number of operations already committed. The child opens the vault, prints ``open``, and runs
  :func:`apply_op` for ``C`` and the next operations, printing ``done N`` (``N`` operations committed in
  all) after each committed transaction. What it does then depends on the command:

  - ``run C``: it goes on until it is killed (or, as a safety net, for :data:`MAX_SECONDS`).
  - ``park C K N``: after ``K`` operations it starts one more ``add_many`` of :data:`PARK_SIZE` contacts
    (batch :data:`PARK_BATCH`, not one of the operations: it is never meant to commit) and, when
    ``add_many`` reports ``N`` contacts stored (``N`` below :data:`PARK_SIZE`, so its transaction is still
    open), prints ``mid N`` from inside the progress callback and waits there to be killed.
  - ``stop C K``: after ``K`` operations it prints ``idle`` and waits to be killed.

  A parked or stopped child whose standard input is closed leaves at once with ``os._exit``, so a parked
  transaction is never committed, not even when the parent gives up on it.

The crash test imports this module too: :func:`expected_state` tells which contacts must be in the vault
after ``N`` operations, so that the parent can tell a whole transaction from half of one.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path
from typing import NoReturn

from contactvault import Contact, Phone, Vault
from contactvault.phones import parse_number

PASSPHRASE_VARIABLE = "CONTACTVAULT_TEST_PASSPHRASE"  # noqa: S105  (a name, not a passphrase)
BATCH_SIZE = 100
"""Contacts stored by one ``add_many`` transaction of the crash child."""
OPS_PER_BATCH = 3
"""Operation ``j`` works on batch ``j // 3``: 0 adds it, 1 updates its first contact, 2 erases its second."""
HOLD_BATCH = 1_000_000
"""The batch number of the contacts the ``hold`` child adds (far from the crash test's batches)."""
PARK_BATCH = 2_000_000
"""The batch number of the contacts a parked crash child adds: a transaction that is always killed."""
PARK_SIZE = 3_500
"""Contacts in the parked ``add_many``: it calls ``progress`` at 1,000, 2,000 and 3,000, before its commit."""
PARK_EXIT = 3
"""The exit status of a parked or stopped child whose parent closed its standard input instead of a kill."""
MAX_SECONDS = 60.0
"""The crash child stops on its own after this long, should its parent never kill it."""


def contact_id(batch: int, index: int) -> uuid.UUID:
    """The id of contact ``index`` of batch ``batch``: the same in every process."""
    return uuid.UUID(int=(0xC0DE << 96) | (batch << 32) | index)


def _phone(serial: int) -> Phone:
    raw = f"+49 151 5550{serial % 10_000:04d}"
    info = parse_number(raw, "DE")
    return Phone(raw=raw, e164=info.e164, region=info.region, kind=info.kind, problem=info.problem)


def _contact(batch: int, index: int, size: int) -> Contact:
    return Contact(
        id=contact_id(batch, index),
        display_name=f"Testkunde {batch}-{index}",
        phones=(_phone(batch * size + index),),
        notes=(f"Synthetischer Eintrag {batch}-{index}",),
    )


def batch_contacts(batch: int, size: int = BATCH_SIZE) -> list[Contact]:
    """The synthetic contacts of one batch, each with a made-up name and a German mobile number."""
    return [_contact(batch, i, size) for i in range(size)]


def updated_notes(batch: int) -> tuple[str, ...]:
    """The notes of the first contact of batch ``batch`` after its update (operation ``3 * batch + 1``)."""
    return (f"Nach Rückruf geändert {batch}",)


def apply_op(vault: Vault, op: int) -> None:
    """Run operation ``op`` (numbered from 0) as one transaction: add a batch, update or erase a contact."""
    batch, phase = divmod(op, OPS_PER_BATCH)
    if phase == 0:
        vault.add_many(batch_contacts(batch))
    elif phase == 1:
        current = vault.get(contact_id(batch, 0))
        vault.update(current.model_copy(update={"notes": updated_notes(batch)}))
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


def _wait_for_the_kill() -> NoReturn:
    """Block until the parent kills us; if it closes our standard input instead, leave without cleaning up."""
    sys.stdin.readline()
    os._exit(PARK_EXIT)  # no __exit__, no COMMIT: whatever transaction is open stays uncommitted


def _park(vault: Vault, at: int) -> NoReturn:
    """Start an ``add_many`` that is never meant to commit; wait inside it once ``at`` contacts are stored."""
    if not 0 < at < PARK_SIZE:
        raise ValueError(f"cannot park at {at}: progress({PARK_SIZE}) may come after the commit")

    def progress(stored: int) -> None:
        if stored == at:
            print(f"mid {stored}", flush=True)
            _wait_for_the_kill()

    # Made as add_many asks for them: the contacts after the parking point are never needed.
    vault.add_many((_contact(PARK_BATCH, i, PARK_SIZE) for i in range(PARK_SIZE)), progress=progress)
    print("committed", flush=True)  # add_many never called progress(at): the parent fails the test
    raise SystemExit(PARK_EXIT)


def _crash(path: Path, passphrase: str) -> None:
    print("warm", flush=True)
    command = sys.stdin.readline().split()
    if not command:
        return  # the parent had no more use for us
    kind, (op, *args) = command[0], map(int, command[1:])
    deadline = time.monotonic() + MAX_SECONDS
    with Vault.open(path, passphrase, lock_timeout=10) as vault:
        print("open", flush=True)
        stop = op + args[0] if kind in ("park", "stop") else None
        while op != stop and time.monotonic() < deadline:
            apply_op(vault, op)
            op += 1
            print(f"done {op}", flush=True)
        if kind == "park":
            _park(vault, args[1])
        elif kind == "stop":
            print("idle", flush=True)
            _wait_for_the_kill()


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
