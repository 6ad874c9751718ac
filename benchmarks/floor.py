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
- **importing**: what ``contactvault import`` must do with every card of the file, each step once (the
  phone cache cold, as in a new import): this process cutting the file into cards (``split_cards``), a
  helper parsing, normalising and validating them with their field digests (``build_batch``, as the
  helpers do), sealing each and working out its blind-index tags (``Core.insertion``), and writing the
  rows (``log.commit``: SQLite, the index, the row-set state, the log). Their sum, split evenly over two
  cores with nothing lost between them, against 2.5x faster than ``vobject.readComponents`` alone over
  the same file (timed first, while this process holds few objects, as in a fresh interpreter). Beside
  the floor, two arrangements are run whole on the same file into a new vault: the import as built
  (helpers parse, this process validates each contact again from its JSON and seals), and helpers that
  parse **and** seal, handing this process rows ready to write. The second is a measurement only, made
  the cheapest way (``fork``: the helpers inherit the open vault's keys) and never how the product
  works: it says what that design step would bring.

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
import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import vobject

import book as bookbench
import common
import generate
import vault as vaultbench
from common import Json
from contactvault import Contact, Policy, Vault, crypto
from contactvault.importers._gc import paused_gc
from contactvault.importers._vcard_cards import split_cards
from contactvault.importers._vcard_pool import Chunk, _chunks
from contactvault.importers.source import iter_blocks
from contactvault.importers.vcard import DEFAULT_BATCH_SIZE, build_batch, iter_vcards
from contactvault.phones import parse_number
from contactvault.sync.validity import decision_window as window
from contactvault.vault import log, state
from contactvault.vault import records as recordsmod
from contactvault.vault.core import Core, Write, _account, validated

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_CONTACTS = 20_000
QUICK_CONTACTS = 300
DEFAULT_REPEATS = 3
T = TypeVar("T")
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
    kinds = crypto.RecordKind
    for contact, data_key, (directory, payload) in zip(contacts, keys, packed, strict=True):
        cid = contact.id.bytes
        directory_key, payload_key = crypto.contact_keys(data_key)
        crypto.seal(directory_key, directory, records._ad(cid, kinds.DIRECTORY, 1))
        crypto.seal(wrap, data_key, records._ad(cid, kinds.DATA_KEY, 1))
        crypto.seal(payload_key, payload, records._ad(cid, kinds.PAYLOAD, 1))


def _vobject_parse(path: Path) -> int:
    with path.open(encoding="utf-8") as stream:
        return sum(1 for _ in vobject.readComponents(stream))


def _once(action: Callable[[], T]) -> tuple[float, T]:
    """One run of ``action`` (what can run only once: a cold cache, a write), the cyclic collector paused."""
    with paused_gc():
        return common.timed(action)


def _per_card(seconds: float, cards: int) -> float:
    return seconds / max(cards, 1)


def _at_version_one(contacts: list[Contact]) -> list[Contact]:
    """What the build made (validated as it was built), at version 1, as a new vault stores it."""
    return [contact.model_copy(update={"version": 1}) for contact in contacts]


def _insertions(core: Core, fresh: list[Contact]) -> list[Write]:
    """The writes that store ``fresh``: each contact sealed under a new data key, its tags worked out."""
    return [core.insertion(contact) for contact in fresh]


_SEALER: Core | None = None
"""The open vault of the fork-based arrangement, set before its helpers fork (they inherit it)."""


def _parse_and_seal(job: tuple[Chunk, int, str, datetime]) -> list[tuple[uuid.UUID, Write]]:
    """A helper of the fork-based arrangement: one chunk parsed, validated once (by the importer), sealed."""
    chunk, count, name, now = job
    core = _SEALER
    if core is None:  # pragma: no cover - set before the helpers fork
        raise RuntimeError("no vault to seal with")
    with paused_gc():
        fresh = _at_version_one(
            build_batch(chunk, count, name, bookbench.REGION, now, baselines=True).contacts
        )
        return [(contact.id, write) for contact, write in zip(fresh, _insertions(core, fresh), strict=True)]


def _sealing_helpers(cards: Path, vault: Vault) -> int:
    """The import with two forked helpers that parse and seal; this process splits and writes. Contacts."""
    global _SEALER  # noqa: PLW0603  (the helpers inherit it when they fork)
    _SEALER = core = vault._core
    name, now = str(cards), datetime.now(UTC)
    added: list[uuid.UUID] = []
    try:
        with multiprocessing.get_context("fork").Pool(2) as pool:
            chunks = _chunks(split_cards(iter_blocks(cards), name), DEFAULT_BATCH_SIZE)
            jobs = ((chunk, count, name, now) for chunk, count in chunks)

            def writes() -> Iterator[Write]:
                for sealed in pool.imap(_parse_and_seal, jobs):
                    for contact_id, write in sealed:
                        added.append(contact_id)
                        yield write

            log.commit(core, writes(), "import", contacts=iter(added), detail=lambda: f"{len(added)} added")
    finally:
        _SEALER = None
    return len(added)


def _as_built(cards: Path, vault: Vault) -> int:
    """The import as ``contactvault import`` runs it, two helpers: contacts added."""
    batches = iter_vcards(cards, default_region=bookbench.REGION, workers=2, baselines=True)
    return len(vault.import_contacts(contact for batch in batches for contact in batch.contacts).added)


def _whole(
    folder: Path, name: str, arrangement: Callable[[Path, Vault], int], cards: Path
) -> tuple[float, float, int]:
    """Wall and CPU seconds (this process and its helpers) of one arrangement, into a new vault; contacts."""
    with Vault.create(folder / name, bookbench.PASSPHRASE) as vault:
        before, started = os.times(), time.perf_counter()
        added = arrangement(cards, vault)
        wall, after = time.perf_counter() - started, os.times()
    cpu = sum(after[:4]) - sum(before[:4])  # user and system, this process and its waited-for helpers
    return wall, cpu, added


def _importing(
    folder: Path, cards: Path, count: int, parse: float, repeats: int
) -> tuple[Json, list[Contact], int]:
    """The import's steps per card and its two arrangements measured whole; its contacts and errors."""
    name, now = str(cards), datetime.now(UTC)
    parse_number.cache_clear()
    split, items = _once(lambda: list(split_cards(iter_blocks(cards), name)))
    chunks = list(_chunks(iter(items), DEFAULT_BATCH_SIZE))
    built, batches = _once(
        lambda: [build_batch(c, n, name, bookbench.REGION, now, baselines=True) for c, n in chunks]
    )
    contacts = [contact for batch in batches for contact in batch.contacts]
    with Vault.create(folder / "import.db", bookbench.PASSPHRASE) as vault:
        core = vault._core
        fresh = _at_version_one(contacts)
        sealing = _best(lambda: _insertions(core, fresh), repeats)
        writes, ids = _insertions(core, fresh), [contact.id for contact in fresh]
        written = _once(lambda: log.commit(core, writes, "import", contacts=ids, detail="floor"))[0]
    steps = {
        "split into cards (this process)": split,
        "parse, normalise, validate, digests": built,
        "seal and tag (Core.insertion)": sealing,
        "write the rows (SQLite, state, log)": written,
    }
    steps = {step: _per_card(seconds, count) for step, seconds in steps.items()}
    floor, budget = sum(steps.values()) / 2, parse / 2.5
    measured = {
        "as_built": _whole(folder, "as-built.db", _as_built, cards),
        "sealing_helpers": _whole(folder, "sealing.db", _sealing_helpers, cards),
    }
    errors = sum(1 for batch in batches for issue in batch.issues if issue.severity == "error")
    part: Json = {
        "steps": steps,
        "floor": floor,
        "vobject_parse": parse,
        "budget": budget,
        "floor_over_budget": floor / budget,
        **{
            key: {
                "wall": _per_card(wall, count),
                "cpu": _per_card(cpu, count),
                "vobject_ratio": parse * count / wall,
                "contacts": added,
            }
            for key, (wall, cpu, added) in measured.items()
        },
    }
    return part, contacts, errors


def measure(folder: Path, count: int, seed: int, repeats: int) -> Json:
    """Every step, per contact (seconds), on ``count`` cards made eligible contacts; the anchors beside them.

    vobject's parse, the import's arrangements, ``add_many`` and plain SQLite are timed once each (seconds
    long, as ``pipeline.py`` times them, the collector not paused); each step the best of ``repeats``, or
    once where it can run only once (the import's reading and writing).
    """
    cards = generate.write(folder / "cards.vcf", count, seed)
    parse = common.timed(functools.partial(_vobject_parse, cards))[0] / count  # first: a small heap
    importing, imported, errors = _importing(folder, cards, count, parse, repeats)
    now = datetime.now(UTC)
    contacts = [bookbench.eligible(contact, now) for contact in imported]
    facts: Json = {"cards": count, "contacts": len(contacts), "import_errors": errors}
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
    return {
        "facts": facts,
        "import": importing,
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
    ]
    rows += [[f"  {name}", _us(seconds), ""] for name, seconds in imported["steps"].items()]
    rows += [
        ["  the steps above, split over two cores: floor", _us(imported["floor"]), ""],
        ["  vobject.readComponents alone", _us(imported["vobject_parse"]), ""],
        ["  target: 2.5x faster than vobject's parse", _us(imported["budget"]), _share(imported)],
    ]
    for key, label in (
        ("as_built", "as built (helpers parse), measured"),
        ("sealing_helpers", "helpers that also seal (fork), measured"),
    ):
        whole = imported[key]
        if not isinstance(whole, dict):
            raise TypeError("a malformed result")
        ratio = common.number(whole, "vobject_ratio")
        cpu = common.number(whole, "cpu")
        rows.append([f"  {label}", _us(common.number(whole, "wall")), f"{ratio:.2f}x vobject"])
        rows.append(["    its CPU, all processes", _us(cpu), ""])
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
