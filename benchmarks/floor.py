"""What one contact costs the vault, step by step, against what three targets of issue 17 leave.

Three targets of issue 17 are not met (docs/performance.md): ``Vault.add_many`` at most 2x plain SQLite
inserting the same rows, the cold book (fresh open, ``messenger_book``, ``to_vcard``) under 2 s for
100,000 contacts, and ``contactvault import`` 2.5x faster than vobject's parse alone. This script times,
on the same eligible contacts as ``pipeline.py`` (``book.py``'s),
each step that the vault's promises make it do for every contact, one step at a time over all the
contacts (best of the runs, the cyclic collector paused: the floor is a lower bound), and sets their
sum against the time the target leaves per contact:

- **storing**: validating the contact afresh (it is a ``model_copy``: nobody validated it), sealing it
  (the directory's and the payload's JSON, two deflates and paddings, three AES-GCM seals with their
  nonces, the data key wrapped), its blind-index tags, and its share of the row-set state; against twice
  plain SQLite (``model_dump_json`` and two inserts: ``vault.py``'s anchor), measured in the same run,
  beside ``add_many`` itself. What is not counted (SQLite's own inserts, the log) only adds to the floor.
- **reading, the cold book**: decrypting a directory record (the data key unwrapped, the directory key
  derived, AES-GCM, inflating) and validating the entry, with the open's row-set check (every row, index
  entry and log record hashed) divided per contact; against 2 s per 100,000 contacts on two cores, that
  is 40 µs of CPU per contact with both cores busy all the time; deciding and the decision's span too.
  The name, the UIDs, the cards and the vCard are not counted: they only add to the floor.
- **importing**: ``import_vcards`` of the same cards in one process (reading, normalising, validating:
  phone cache cold) and storing them (the floor above), split evenly over two cores with nothing lost
  between them; against 2.5x faster than ``vobject.readComponents`` alone over the same file (timed
  first, while this process holds few objects, as in a fresh interpreter).

When the steps alone exceed the budget, no arrangement of them in Python meets the target: only doing
less per contact would (docs/performance.md says what that would take).

Usage::

    python benchmarks/floor.py                 # 20,000 contacts, best of 3: about two minutes
    python benchmarks/floor.py --quick         # 300 contacts, one run: a smoke test
    python benchmarks/floor.py --contacts 100000 --repeats 2 --out /tmp/bench

It prints a table and writes ``<out>/floor-<UTC timestamp>.json`` and ``<out>/floor-latest.json``.
"""

from __future__ import annotations

import functools
import io
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import vobject

import book as bookbench
import common
import generate
import vault as vaultbench
from common import Json
from contactvault import Contact, Policy, Vault, crypto, import_vcards
from contactvault.importers._gc import paused_gc
from contactvault.phones import parse_number
from contactvault.sync.validity import decision_window as window
from contactvault.vault import records as recordsmod
from contactvault.vault import state
from contactvault.vault.core import Write, _account, validated

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_CONTACTS = 20_000
QUICK_CONTACTS = 300
DEFAULT_REPEATS = 3
BOOK_BUDGET = 2.0 * 2 / 100_000
"""CPU seconds per contact that a cold book under 2 s per 100,000 contacts leaves on two cores."""


def _best(action: Callable[[], object], repeats: int) -> float:
    """The best of ``repeats`` runs of ``action``, in seconds, the cyclic collector paused."""
    seconds = []
    for _ in range(repeats):
        with paused_gc():
            seconds.append(common.timed(action)[0])
    return min(seconds)


def _accounted(writes: list[Write], delta: state.Delta) -> None:
    for write in writes:
        _account(write, delta)


def _sealed(
    records: recordsmod.Records,
    wrap: crypto.Aead,
    contacts: list[Contact],
    keys: list[bytes],
    packed: list[tuple[bytes, bytes]],
) -> None:
    """What ``Records.seal`` does with a contact's packed records: its keys, the three seals, their data."""
    kinds = recordsmod.RecordKind
    for contact, data_key, (directory, payload) in zip(contacts, keys, packed, strict=True):
        cid = contact.id.bytes
        directory_key, payload_key = crypto.contact_keys(data_key)
        crypto.seal(directory_key, directory, records._ad(cid, kinds.DIRECTORY, 1))
        crypto.seal(wrap, data_key, records._ad(cid, kinds.DATA_KEY, 1))
        crypto.seal(payload_key, payload, records._ad(cid, kinds.PAYLOAD, 1))


def _vobject_parse(path: Path) -> int:
    with path.open(encoding="utf-8") as stream:
        return sum(1 for _ in vobject.readComponents(stream))


def measure(folder: Path, count: int, seed: int, repeats: int) -> Json:
    """Every step, per contact (seconds), on ``count`` cards made eligible contacts; the anchors beside them.

    vobject's parse, the import, ``add_many`` and plain SQLite are timed once each (seconds long, as
    ``pipeline.py`` times them, the collector not paused); each step the best of ``repeats``.
    """
    cards = generate.write(folder / "cards.vcf", count, seed)
    parse = common.timed(functools.partial(_vobject_parse, cards))[0] / count  # first: a small heap
    parse_number.cache_clear()
    imported, result = common.timed(lambda: import_vcards(cards, default_region=bookbench.REGION, workers=0))
    now = datetime.now(UTC)
    contacts = [bookbench.eligible(contact, now) for contact in result.contacts]
    facts: Json = {"cards": count, "contacts": len(contacts), "import_errors": len(result.errors)}
    vault = Vault.create(folder / "vault.db", bookbench.PASSPHRASE)
    try:
        core = vault._core
        records, user = core.records, core.actor
        fresh = [validated(c, version=1, by=user) for c in contacts]
        keys = [crypto.random_bytes() for _ in contacts]
        writes = [core.insertion(c) for c in fresh]

        def directory() -> list[bytes]:
            return [recordsmod.directory_json(c) for c in fresh]

        def payload() -> list[bytes]:
            return [recordsmod.payload_json(c) for c in fresh]

        dumps, payloads = directory(), payload()

        def deflated() -> list[tuple[bytes, bytes]]:
            return [(recordsmod.pack(d), recordsmod.pack(p)) for d, p in zip(dumps, payloads, strict=True)]

        packed = deflated()
        store: dict[str, Callable[[], object]] = {
            "validate (dump, attribution, pydantic)": lambda: [
                validated(c, version=1, by=user) for c in contacts
            ],
            "directory JSON": directory,
            "payload JSON": payload,
            "deflate and pad both": deflated,
            "two keys derived, three AES-GCM seals": lambda: _sealed(
                records, core.keys.wrap, fresh, keys, packed
            ),
            "blind-index tags": lambda: [records.tags(c) for c in fresh],
            "row-set state": lambda: _accounted(writes, state.Delta(core.keys)),
        }
        steps = {name: _best(action, repeats) / count for name, action in store.items()}
        whole = _best(lambda: [records.seal(c, k) for c, k in zip(fresh, keys, strict=True)], repeats) / count
        added = common.timed(lambda: vault.add_many(contacts))[0] / count  # as pipeline.py times it
    finally:
        vault.close()
    plain_db = vaultbench._plain_connect(folder / "plain.db")
    plain_db.executescript(f"BEGIN; {vaultbench._PLAIN_SCHEMA} COMMIT;")
    plain = common.timed(lambda: vaultbench._plain_insert(plain_db, contacts))[0] / count
    plain_db.close()

    with Vault.open(folder / "vault.db", bookbench.PASSPHRASE) as opened:
        core = opened._core
        records = core.records
        rows = [row for row in core.storage.rows() if row.data_key is not None]
        plains = [records.opened(row) for row in rows]
        entries = [records.kept_entry(r.id, r.version, p) for r, p in zip(rows, plains, strict=True)]
        policy = Policy.from_vault(opened)
        decide = policy.decide
        read = {
            "the open's row-set check (per contact)": _best(core.check, repeats) / len(rows),
            "decrypt a directory record": _best(lambda: [records.opened(r) for r in rows], repeats)
            / len(rows),
            "validate the entry": _best(
                lambda: [records.kept_entry(r.id, r.version, p) for r, p in zip(rows, plains, strict=True)],
                repeats,
            )
            / len(rows),
            "decide (Policy.from_vault)": _best(lambda: [decide(e, now=now) for e in entries], repeats)
            / len(rows),
            "the decision's span": _best(lambda: [window(policy, e, now) for e in entries], repeats)
            / len(rows),
        }
    store_floor = sum(steps.values())
    cpu = imported / count + store_floor
    return {
        "facts": facts,
        "import": {
            "vobject_parse": parse,
            "import_vcards_one_process": imported / count,
            "store_floor": store_floor,
            "floor": cpu / 2,
            "budget": parse / 2.5,
            "floor_over_budget": cpu / 2 / (parse / 2.5),
        },
        "store": {
            "steps": steps,
            "floor": store_floor,
            "seal_whole": whole,
            "add_many": added,
            "plain_sqlite": plain,
            "budget": 2 * plain,
            "floor_over_budget": store_floor / (2 * plain),
        },
        "read": {
            "steps": read,
            "floor": sum(read.values()),
            "budget": BOOK_BUDGET,
            "floor_over_budget": sum(read.values()) / BOOK_BUDGET,
        },
    }


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} µs"


def _share(part: Json) -> str:
    return f"floor {common.number(part, 'floor_over_budget'):.2f}x of it"


def report_lines(result: Json) -> list[str]:
    """The table of the three parts: each step, the floor, the budget and what the floor takes of it."""
    store, read, imported = result["store"], result["read"], result["import"]
    if not isinstance(store, dict) or not isinstance(read, dict) or not isinstance(imported, dict):
        raise TypeError("a malformed result")
    ratio = common.number(store, "add_many") / common.number(store, "plain_sqlite")
    rows: list[list[str]] = [["storing (Vault.add_many), per contact", "", ""]]
    rows += [[f"  {name}", _us(seconds), ""] for name, seconds in store["steps"].items()]
    rows += [
        ["  the steps above: floor", _us(store["floor"]), ""],
        ["  (Records.seal whole: JSON, deflate, seals)", _us(store["seal_whole"]), ""],
        ["  Vault.add_many, measured", _us(store["add_many"]), f"{ratio:.2f}x plain"],
        ["  plain SQLite, the same rows", _us(store["plain_sqlite"]), ""],
        ["  target: at most 2x plain SQLite", _us(store["budget"]), _share(store)],
        ["reading (the cold book), per contact", "", ""],
    ]
    rows += [[f"  {name}", _us(seconds), ""] for name, seconds in read["steps"].items()]
    rows += [
        ["  the steps above: floor", _us(read["floor"]), ""],
        ["  target: 2 s per 100,000, two cores", _us(read["budget"]), _share(read)],
        ["importing (contactvault import), per card", "", ""],
        ["  import_vcards, one process", _us(imported["import_vcards_one_process"]), ""],
        ["  storing: the floor above", _us(imported["store_floor"]), ""],
        ["  both, split evenly over two cores: floor", _us(imported["floor"]), ""],
        ["  vobject.readComponents alone", _us(imported["vobject_parse"]), ""],
        ["  target: 2.5x faster than vobject's parse", _us(imported["budget"]), _share(imported)],
    ]
    return [common.table(["step", "time", "against"], rows, [False, True, True])]


def main(argv: Sequence[str] | None = None) -> int:
    """Measure the steps, print the table, write the JSON."""
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="backslashreplace")  # "µs" on a terminal that cannot show it
    args = common.contacts_options(
        __doc__,
        argv,
        contacts=(DEFAULT_CONTACTS, QUICK_CONTACTS, "eligible contacts"),
        repeats=(DEFAULT_REPEATS, "runs of each step"),
        once="one run",
        seed="generator seed",
        out=RESULTS,
    )
    env = common.environment(["cryptography", "pydantic", "phonenumbers"])
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="contactvault-floor-bench-") as tmp:
        print(
            f"{args.contacts:,} eligible contacts (seed {args.seed}), best of {args.repeats} ...", flush=True
        )
        result = measure(Path(tmp), args.contacts, args.seed, args.repeats)
    report: Json = {
        "schema": 1,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        **env,
        "parameters": {
            "contacts": args.contacts,
            "seed": args.seed,
            "repeats": args.repeats,
            "quick": args.quick,
        },
        **result,
        "seconds": time.perf_counter() - started,
    }
    print("\n".join(report_lines(result)))
    path = common.write_report(report, args.out, "floor", "floor-latest.json")
    print(f"\nwrote {path} and {path.with_name('floor-latest.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
