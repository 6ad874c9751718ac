"""A child process for the concurrency tests: several of them use one vault (a file or PostgreSQL) at once.

Run as ``python -m tests.concurrency_child MODE LOCATION ...`` from the project folder, with the passphrase in
the environment variable ``CONTACTVAULT_TEST_PASSPHRASE`` (never on the command line). Every mode opens the
vault, prints ``ready`` and waits for a line ``go`` on standard input, so that the parent starts all children
at the same moment:

- ``modify LOCATION COUNT CONTACTS SEED``: ``COUNT`` increments through ``Vault.modify``, each of the counter
  (the first note) of one of the ``CONTACTS`` shared contacts (:func:`counter_id`), chosen by ``SEED``; prints
  ``done ESCAPED``, the number of ``ConflictError`` that escaped ``modify`` (the test wants 0).
- ``record LOCATION COUNT NAME``: ``COUNT`` disclosure records for the target ``file:/books/NAME.vcf``;
  prints ``done``.
- ``park LOCATION COUNT``: one ``add_many`` of ``COUNT`` new contacts (batch :data:`PARK_BATCH`); inside it,
  once 1,000 are stored (the transaction still open), prints ``mid`` and reads a line: ``commit`` lets the
  transaction finish (then ``committed``); anything else, or the end of the input, leaves at once with
  ``os._exit`` (no commit). The parent may also kill it there.
"""

from __future__ import annotations

import os
import random
import sys
import uuid
from typing import NoReturn

from contactvault import ConflictError, Contact, MessengerBook, MessengerEntry, Phone, Vault
from contactvault.phones import parse_number

PASSPHRASE_VARIABLE = "CONTACTVAULT_TEST_PASSPHRASE"  # noqa: S105  (a name, not a passphrase)
PARK_BATCH = 7
"""The batch number of the contacts a parked child adds."""


def counter_id(index: int) -> uuid.UUID:
    """The id of shared counter contact ``index``: the same in every process."""
    return uuid.UUID(int=(0xC0C0 << 96) | index)


def batch_id(batch: int, index: int) -> uuid.UUID:
    """The id of contact ``index`` of ``batch``."""
    return uuid.UUID(int=(0xBA7C << 96) | (batch << 32) | index)


def _number(index: int) -> str:
    e164 = parse_number(f"+4915155{index % 1_000_000:06d}", None).e164
    if e164 is None:  # pragma: no cover - the range is valid
        raise ValueError("bad test number")
    return e164


def _phone(index: int) -> Phone:
    raw = _number(index)
    info = parse_number(raw, None)
    return Phone(raw=raw, e164=info.e164, region=info.region, kind=info.kind, problem=info.problem)


def counters(count: int) -> list[Contact]:
    """The shared counter contacts, each with its counter at 0."""
    return [
        Contact(id=counter_id(i), display_name=f"Zähler {i}", phones=(_phone(i),), notes=("0",))
        for i in range(count)
    ]


def batch(batch_no: int, count: int) -> list[Contact]:
    """``count`` new contacts of batch ``batch_no``."""
    return [
        Contact(
            id=batch_id(batch_no, i),
            display_name=f"Person {batch_no}-{i}",
            phones=(_phone(i),),
        )
        for i in range(count)
    ]


def count_of(contact: Contact) -> int:
    """The counter a contact holds in its first note."""
    return int(contact.notes[0])


def _incremented(contact: Contact) -> Contact:
    return contact.model_copy(update={"notes": (str(count_of(contact) + 1), *contact.notes[1:])})


def book(name: str) -> MessengerBook:
    """A one-entry book (the log records keyed hashes of its UID, name and number)."""
    entry = MessengerEntry(display_name=f"Buch {name}", phone_e164=_number(1))
    return MessengerBook([(f"uid-{name}", entry)], policy_digest="test")


def _wait_for_go() -> None:
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        raise SystemExit(2)


def _modify(vault: Vault, count: int, contacts: int, seed: int) -> None:
    rng = random.Random(seed)
    escaped = 0
    for _ in range(count):
        try:
            vault.modify(counter_id(rng.randrange(contacts)), _incremented)
        except ConflictError:
            escaped += 1
    print(f"done {escaped}", flush=True)


def _record(vault: Vault, count: int, name: str) -> None:
    for _ in range(count):
        vault.record_disclosure(f"file:/books/{name}.vcf", book(name), kind="export", policy_digest="test")
    print("done", flush=True)


def _park(vault: Vault, count: int) -> None:
    def progress(stored: int) -> None:
        if stored == 1_000:
            print("mid", flush=True)
            if sys.stdin.readline().strip() != "commit":
                _leave()

    vault.add_many(batch(PARK_BATCH, count), progress=progress)
    print("committed", flush=True)


def _leave() -> NoReturn:
    os._exit(3)  # no __exit__, no COMMIT: the open transaction stays uncommitted


def main(argv: list[str]) -> None:
    """Run one mode (see the module docstring)."""
    mode, location, *rest = argv
    passphrase = os.environ[PASSPHRASE_VARIABLE]
    with Vault.open(location, passphrase, lock_timeout=120) as vault:
        _wait_for_go()
        if mode == "modify":
            _modify(vault, int(rest[0]), int(rest[1]), int(rest[2]))
        elif mode == "record":
            _record(vault, int(rest[0]), rest[1])
        elif mode == "park":
            _park(vault, int(rest[0]))
        else:
            raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv[1:])
