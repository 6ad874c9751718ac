"""Many writers on one vault: update throughput of 4 processes against 1, on SQLite and on PostgreSQL.

A web app runs several worker processes on one vault. Each process here opens the vault once and makes
``--updates`` changes through ``Vault.modify`` (read, decrypt, change, validate, seal, write, with the
row-set state and the version check in the write transaction) on ``--contacts`` shared contacts, so that
the writers also meet each other's versions and retry. Measured in the same run, for each backend:

- one writer process doing all its updates alone (updates per second);
- four writer processes at once, started together (updates per second, all four counted);

and the ratio (the issue's target: at least 1.5x). The same script compares the backends with each other:
``add_many`` of ``--bulk`` contacts into a new vault, reading the whole directory back, and
``messenger_book`` (which decrypts and judges every directory entry), PostgreSQL against SQLite (target:
within 2x). PostgreSQL is a throwaway server started for the run (``tests/pg_server.py``: Debian's
``postgresql`` package, a Unix socket only), or the server of ``--postgres URL``; ``--no-postgres``
measures SQLite only.

Each writer setting runs ``--repeats`` times, alternating, and the best run counts.

Usage: ``python benchmarks/concurrency.py [--updates 300] [--contacts 20] [--bulk 100000] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import common
from common import Json, duration, table
from contactvault import Contact, KdfParams, Phone, Policy, Vault
from contactvault.phones import parse_number
from contactvault.sync import messenger_book

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parent.parent
KDF = KdfParams.insecure_fast_for_tests()  # the KDF is not what is measured here; vault.py times it
PASSPHRASE = "benchmark"  # noqa: S105  (a throwaway vault's passphrase)
WRITERS = 4


def _contact(index: int) -> Contact:
    raw = f"+49 151 5{index % 10_000_000:07d}"
    info = parse_number(raw, "DE")
    phone = Phone(raw=raw, e164=info.e164, region=info.region, kind=info.kind, problem=info.problem)
    return Contact(
        id=uuid.UUID(int=(0xBE7C << 96) | index),
        display_name=f"Kontakt {index}",
        phones=(phone,),
        notes=("0",),
    )


def _bump(contact: Contact) -> Contact:
    return contact.model_copy(update={"notes": (str(int(contact.notes[0]) + 1),)})


def _writer(location: str, updates: int, contacts: int, seed: int, *, go: object, done: object) -> None:
    """One writer process: open, wait for the start, ``updates`` modifies of shared contacts."""
    with Vault.open(location, PASSPHRASE, lock_timeout=300) as vault:
        done.put(("ready", seed))  # type: ignore[attr-defined]
        go.wait()  # type: ignore[attr-defined]
        for i in range(updates):
            vault.modify(_contact((seed * 7 + i) % contacts).id, _bump)
        done.put(("done", seed))  # type: ignore[attr-defined]


def _writers(location: str, processes: int, updates: int, contacts: int) -> float:
    """Seconds from the start signal until ``processes`` writers have made ``updates`` each."""
    context = multiprocessing.get_context("spawn")
    go, done = context.Event(), context.Queue()
    workers = [
        context.Process(
            target=_writer, args=(location, updates, contacts, seed), kwargs={"go": go, "done": done}
        )
        for seed in range(processes)
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        done.get(timeout=300)
    start = time.perf_counter()
    go.set()
    for _ in workers:
        done.get(timeout=900)
    seconds = time.perf_counter() - start
    for worker in workers:
        worker.join(60)
        if worker.exitcode != 0:
            raise RuntimeError(f"a writer process failed (exit {worker.exitcode})")
    return seconds


def _throughput(location: str, updates: int, contacts: int, repeats: int) -> Json:
    with Vault.create(location, PASSPHRASE, kdf=KDF) as vault:
        vault.add_many(_contact(i) for i in range(contacts))
    ones, manys = [], []
    for _ in range(repeats):  # alternating, so that a busy moment of the machine hits both alike
        ones.append(_writers(location, 1, updates, contacts))
        manys.append(_writers(location, WRITERS, updates, contacts))
    one, many = min(ones), min(manys)
    with Vault.open(location, PASSPHRASE) as vault:
        total = sum(int(vault.get(_contact(i).id).notes[0]) for i in range(contacts))
        vault.verify()
    if total != updates * (1 + WRITERS) * repeats:
        raise RuntimeError(f"lost updates: {total} of {updates * (1 + WRITERS) * repeats}")
    return {
        "one_writer": {"seconds": one, "runs": ones, "updates": updates, "per_second": updates / one},
        "writers": {"processes": WRITERS, "seconds": many, "runs": manys, "updates": updates * WRITERS,
                    "per_second": updates * WRITERS / many},
        "ratio": (updates * WRITERS / many) / (updates / one),
    }  # fmt: skip


def _bulk(location: str, count: int) -> Json:
    contacts = [_contact(i) for i in range(count)]
    with Vault.create(location, PASSPHRASE, kdf=KDF) as vault:
        start = time.perf_counter()
        vault.add_many(contacts)
        add = time.perf_counter() - start
        start = time.perf_counter()
        read = sum(1 for _ in vault)
        directory = time.perf_counter() - start
        start = time.perf_counter()
        messenger_book(vault, Policy.default())  # decrypts and judges every directory entry
        book = time.perf_counter() - start
    if read != count:
        raise RuntimeError("the directory read back is not whole")
    return {"add_many": add, "directory": directory, "messenger_book": book, "contacts": count}


def _postgres(stack: ExitStack, url: str | None) -> str | None:
    """A PostgreSQL URL: the one given, or a throwaway server's (``None`` where none can run)."""
    if url:
        return url
    sys.path.insert(0, str(ROOT))
    from tests.pg_server import running_server, unavailable  # noqa: PLC0415

    why = unavailable()
    if why:
        print(f"PostgreSQL skipped: {why}")
        return None
    server = stack.enter_context(running_server())
    url: str = server.url()
    return url


def measure(folder: Path, pg: str | None, updates: int, contacts: int, bulk: int, *, repeats: int) -> Json:
    """Throughput and bulk figures per backend."""
    backends: Json = {"sqlite": {}, **({"postgresql": {}} if pg else {})}
    for name in backends:
        location = str(folder / f"{name}.db") if name == "sqlite" else _schema(pg or "", "bench_writers")
        bulk_location = str(folder / "bulk.db") if name == "sqlite" else _schema(pg or "", "bench_bulk")
        print(f"{name}: writers ...", flush=True)
        throughput = _throughput(location, updates, contacts, repeats)
        print(f"{name}: add_many of {bulk:,} ...", flush=True)
        backends[name] = {"throughput": throughput, "bulk": _bulk(bulk_location, bulk)}
    return {"backends": backends}


def _schema(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}schema={schema}_{uuid.uuid4().hex[:8]}"


def lines(report: Json) -> list[str]:
    """The table and the ratios, as printed."""
    backends = report["backends"]
    if not isinstance(backends, dict):
        raise TypeError("no backends in the report")
    rows = []
    for name, figures in backends.items():
        one, many, b = figures["throughput"]["one_writer"], figures["throughput"]["writers"], figures["bulk"]
        rows += [
            [name, "1 writer process", f"{one['per_second']:.0f}/s", duration(one["seconds"])],
            [name, f"{WRITERS} writer processes", f"{many['per_second']:.0f}/s", duration(many["seconds"])],
            [name, f"add_many of {b['contacts']:,}", "", duration(b["add_many"])],
            [name, "read the directory back", "", duration(b["directory"])],
            [name, "messenger_book", "", duration(b["messenger_book"])],
        ]
    out = [table(["backend", "stage", "updates", "time"], rows, [False, False, True, True]), ""]
    for name, figures in backends.items():
        out.append(
            f"{name}: {WRITERS} writers reach {figures['throughput']['ratio']:.2f}x one writer's updates/s"
        )
    if "postgresql" in backends:
        pg, lite = backends["postgresql"]["bulk"], backends["sqlite"]["bulk"]
        out.append(f"PostgreSQL / SQLite: add_many {pg['add_many'] / lite['add_many']:.2f}x, "
                   f"directory {pg['directory'] / lite['directory']:.2f}x, "
                   f"messenger_book {pg['messenger_book'] / lite['messenger_book']:.2f}x")  # fmt: skip
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, print the table, write the JSON."""
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="backslashreplace")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--updates", type=int, help="updates per writer process (default 300)")
    parser.add_argument("--contacts", type=int, default=20, help="shared contacts the writers update")
    parser.add_argument("--bulk", type=int, help="contacts for add_many and the directory (default 100,000)")
    parser.add_argument("--postgres", help="a postgresql:// URL (default: a throwaway server)")
    parser.add_argument("--no-postgres", action="store_true", help="measure SQLite only")
    parser.add_argument("--repeats", type=int, help="runs of each writer setting, best counts (default 3)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON goes")
    parser.add_argument("--quick", action="store_true", help="CI smoke run: 20 updates, 500 contacts")
    args = parser.parse_args(argv)
    updates = args.updates or (20 if args.quick else 300)
    bulk = args.bulk or (500 if args.quick else 100_000)
    repeats = args.repeats or (1 if args.quick else 3)
    env = common.environment(["cryptography"])
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="contactvault-writers-") as tmp:
        os.environ["CONTACTVAULT_STATE_DIR"] = str(Path(tmp) / "state")  # throwaway vaults: not the user's
        pg = None if args.no_postgres else _postgres(stack, args.postgres)
        measured = measure(Path(tmp), pg, updates, args.contacts, bulk, repeats=repeats)
    report: Json = {
        "schema": 1,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        **env,
        "parameters": {
            "updates": updates,
            "contacts": args.contacts,
            "bulk": bulk,
            "repeats": repeats,
            "quick": args.quick,
        },
        **measured,
    }
    print("\n".join(lines(report)))
    path = common.write_report(report, args.out, "concurrency", "concurrency-latest.json")
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
