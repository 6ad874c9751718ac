"""How fast the encrypted vault stores, opens, finds and erases contacts, against plain SQLite.

The issue asks, for 100,000 contacts on 2 cores: ``add_many`` in under 15 s, open (the KDF aside) in under
1 s, ``find_by_phone`` in under 200 µs (median), ``erase`` in under 50 ms, and a file of under 1 KiB per
contact. This script measures each, with the default Argon2id parameters (64 MiB, 3 iterations, 4 lanes),
and times one ``derive_kek`` with the vault's parameters on its own, so that the open time can be shown
with and without the key derivation.

The contacts come from ``benchmarks/generate.py`` (same seed, same cards) imported with
``import_vcards(path, default_region="DE")``; the import is setup, timed only as context. The obvious
alternative runs in the same process on the same contacts: a plain, unencrypted SQLite file that stores
each contact as ``contact.model_dump_json()`` with an index on each E.164 number, written in the same
transaction style. The ratios vault / plain show what the encryption costs.

Usage::

    python benchmarks/vault.py [--contacts 100000] [--seed 1] [--repeats 3] [--out DIR] [--quick]

It prints a table and writes ``<out>/vault-<UTC timestamp>.json`` and ``<out>/vault-latest.json``.
Vault files live in a temporary directory that is removed at the end.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import io
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import common
import contactvault
import generate
from common import duration as _duration
from common import number as _number
from common import runs
from common import runs_text as _runs_text
from common import timed as _timed
from contactvault import Contact, KdfParams, Vault, crypto
from contactvault.crypto import SALT_SIZE, derive_kek, random_bytes
from contactvault.phones import parse_number

DEFAULT_CONTACTS = 100_000
QUICK_CONTACTS = 2_000
DEFAULT_REPEATS = 3
REGION = "DE"
PASSPHRASE = "correct horse battery staple"  # noqa: S105  (a throwaway vault of made-up contacts)
KDF_RUNS = 3
GETS = 1_000
LOOKUPS = 2_000
ERASES = 50
PLAIN_BATCH = 1_000
RESULTS = Path(__file__).resolve().parent / "results"

Json = dict[str, object]
T = TypeVar("T")


# --- the input ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Workload:
    """The imported contacts, and the numbers to look them up by."""

    contacts: list[Contact]
    numbers: int
    numbers_e164: int
    national: list[tuple[str, Contact]]
    """``(number as typed, its contact)`` for each number without country code that has an E.164 form."""
    facts: Json


def _is_national(raw: str) -> bool:
    text = raw.strip()
    return text.startswith(("0", "(0")) and not text.startswith("00")


def make_workload(directory: Path, count: int, seed: int) -> Workload:
    """Generate ``count`` cards with ``generate.py`` and import them (untimed setup, timed for context)."""
    start = time.perf_counter()
    path = generate.write(directory / f"cards-{count}-seed-{seed}.vcf", count, seed)
    generated = time.perf_counter() - start
    parse_number.cache_clear()
    start = time.perf_counter()
    result = contactvault.import_vcards(path, default_region=REGION)
    imported = time.perf_counter() - start
    contacts = list(result.contacts)
    phones = [(phone, contact) for contact in contacts for phone in contact.phones]
    national = [(p.raw, c) for p, c in phones if p.e164 is not None and _is_national(p.raw)]
    numbers_e164 = sum(1 for p, _ in phones if p.e164 is not None)
    facts: Json = {
        "cards": count,
        "file_bytes": path.stat().st_size,
        "generate_seconds": generated,
        "import_seconds": imported,
        "contacts": len(contacts),
        "numbers": len(phones),
        "numbers_e164": numbers_e164,
        "national_numbers_e164": len(national),
        "import_errors": len(result.errors),
    }
    path.unlink()
    return Workload(contacts, len(phones), numbers_e164, national, facts)


@dataclass(frozen=True, slots=True)
class Samples:
    """What the single-call stages use, drawn once from the seed: the vault and plain SQLite share it."""

    get_ids: list[uuid.UUID]
    lookups: list[tuple[str, Contact]]
    erase_ids: list[uuid.UUID]

    @classmethod
    def draw(cls, work: Workload, seed: int) -> Samples:
        """Random contact ids to get, national numbers to look up, contacts to erase (no repeats)."""
        rnd = random.Random(seed)
        ids = [c.id for c in work.contacts]
        return cls(
            get_ids=rnd.sample(ids, min(GETS, len(ids))),
            lookups=rnd.sample(work.national, min(LOOKUPS, len(work.national))),
            erase_ids=rnd.sample(ids, min(ERASES, len(ids))),
        )


# --- measuring ----------------------------------------------------------------------------------------


def _calls(action: Callable[[], object], count: int) -> list[float]:
    """Seconds of each of ``count`` calls of ``action``."""
    gc.collect()
    seconds = []
    for _ in range(count):
        start = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - start)
    return seconds


def _p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def spread(seconds: Sequence[float]) -> Json:
    """Summary of many single calls, in seconds."""
    return {
        "samples": len(seconds),
        "median": statistics.median(seconds),
        "p95": _p95(seconds),
        "min": min(seconds),
        "max": max(seconds),
        "mean": statistics.fmean(seconds),
    }


def file_sizes(path: Path, contacts: int) -> Json:
    """Bytes of a closed SQLite file and its ``-wal`` (if any), per contact too."""
    wal = path.with_name(path.name + "-wal")
    db_bytes = path.stat().st_size
    wal_bytes = wal.stat().st_size if wal.exists() else 0
    return {
        "db_bytes": db_bytes,
        "wal_bytes": wal_bytes,
        "bytes_per_contact": db_bytes / contacts,
        "total_bytes_per_contact": (db_bytes + wal_bytes) / contacts,
    }


# --- the vault ----------------------------------------------------------------------------------------


@contextlib.contextmanager
def _kdf_clock() -> Iterator[list[float]]:
    """Time each ``derive_kek`` the vault makes meanwhile (a cross-check of open minus the KDF alone).

    The vault calls ``crypto.derive_kek`` through the module, so a timing wrapper put there sees every
    call; if the vault ever binds the function another way, the list stays empty and nothing is reported.
    """
    spent: list[float] = []
    original = crypto.derive_kek

    def timed(passphrase: str | bytes, salt: bytes, params: KdfParams) -> bytes:
        start = time.perf_counter()
        try:
            return original(passphrase, salt, params)
        finally:
            spent.append(time.perf_counter() - start)

    crypto.derive_kek = timed
    try:
        yield spent
    finally:
        crypto.derive_kek = original


def _build_vault(path: Path, contacts: list[Contact]) -> dict[str, float]:
    """Create a vault at ``path``, store every contact in one ``add_many``, close it: each step timed."""
    create, vault = _timed(lambda: Vault.create(path, PASSPHRASE))
    add_many, ids = _timed(lambda: vault.add_many(contacts))
    close, _ = _timed(vault.close)
    if len(ids) != len(contacts):
        raise RuntimeError(f"add_many stored {len(ids)} of {len(contacts)} contacts")
    return {"create": create, "add_many": add_many, "close": close}


def measure_vault(work: Workload, directory: Path, repeats: int, samples: Samples) -> Json:
    """Every vault stage on one vault of all the contacts (built ``repeats`` times: the best counts)."""
    contacts, count = work.contacts, len(work.contacts)
    path = directory / "vault.db"
    builds: list[dict[str, float]] = []
    for attempt in range(repeats):
        if attempt:
            for leftover in directory.glob("vault.db*"):
                leftover.unlink()
        print(f"  vault: create, add_many of {count:,}, close ({attempt + 1}/{repeats}) ...", flush=True)
        builds.append(_build_vault(path, contacts))
    sizes = file_sizes(path, count)

    with Vault.open(path, PASSPHRASE) as vault:
        params = vault.kdf
    if params != KdfParams.default():
        raise RuntimeError(f"the vault was created with {params}, not the default KDF parameters")
    print(f"  vault: KDF alone ({KDF_RUNS} runs), open ({repeats} runs) ...", flush=True)
    salt = random_bytes(SALT_SIZE)
    kdf = [_timed(lambda: derive_kek(PASSPHRASE, salt, params))[0] for _ in range(KDF_RUNS)]
    opens, inside = [], []
    for _ in range(repeats):
        with _kdf_clock() as spent:
            seconds, vault = _timed(lambda: Vault.open(path, PASSPHRASE))
        vault.close()
        opens.append(seconds)
        inside.append(sum(spent) if spent else None)

    vault = Vault.open(path, PASSPHRASE)
    try:
        print(f"  vault: iterate ({repeats} runs), get, find_by_phone, erase, verify ...", flush=True)
        iterate = [_timed(lambda: sum(1 for _ in vault)) for _ in range(repeats)]
        if any(entries != count for _, entries in iterate):
            raise RuntimeError("iterating the vault did not yield every contact")

        queue = iter(samples.get_ids)
        gets = _calls(lambda: vault.get(next(queue)), len(samples.get_ids))

        lookups = samples.lookups
        found = 0

        def find() -> None:
            nonlocal found
            raw, contact = next(numbers)
            found += any(c.id == contact.id for c in vault.find_by_phone(raw, region=REGION))

        numbers = iter(lookups)
        parse_number.cache_clear()  # each number is typed once: phonenumbers runs for every lookup
        finds = _calls(find, len(lookups))
        if found != len(lookups):
            raise RuntimeError(f"find_by_phone found {found} of {len(lookups)} contacts")

        doomed = iter(samples.erase_ids)
        erases = _calls(lambda: vault.erase(next(doomed)), len(samples.erase_ids))

        verify_runs = []
        for _ in range(repeats):
            seconds, report = _timed(vault.verify)
            verify_runs.append(seconds)
    finally:
        vault.close()

    kdf_median = statistics.median(kdf)
    return {
        "kdf_params": {
            "memory_kib": params.memory_kib,
            "iterations": params.iterations,
            "lanes": params.lanes,
        },
        "create": runs([b["create"] for b in builds]),
        "add_many": runs([b["add_many"] for b in builds]),
        "close": runs([b["close"] for b in builds]),
        "file": sizes,
        "kdf": {**runs(kdf), "median": kdf_median},
        "open": runs(opens),
        "open_excluding_kdf": {
            "seconds": [s - kdf_median for s in opens],
            "best": min(opens) - kdf_median,
            "median": statistics.median(opens) - kdf_median,
        },
        "kdf_inside_open": {
            "seconds": inside,
            "open_minus_own_kdf": [
                o - k if k is not None else None for o, k in zip(opens, inside, strict=True)
            ],
        },
        "iterate": {**runs([s for s, _ in iterate]), "entries": count},
        "get": spread(gets),
        "find_by_phone": {**spread(finds), "found": found, "region": REGION},
        "erase": spread(erases),
        "verify": {
            **runs(verify_runs),
            "contacts": report.contacts,
            "erased": report.erased,
            "index_entries": report.index_entries,
        },
    }


# --- the obvious alternative: plain SQLite --------------------------------------------------------------

_PLAIN_SCHEMA = """
CREATE TABLE contacts (id BLOB PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE phones (
    e164 TEXT NOT NULL,
    contact_id BLOB NOT NULL,
    PRIMARY KEY (e164, contact_id)
) WITHOUT ROWID;
"""
_PLAIN_LOOKUP = "SELECT c.json FROM phones p JOIN contacts c ON c.id = p.contact_id WHERE p.e164 = ?"


def _plain_connect(path: Path) -> sqlite3.Connection:
    """A connection with the vault's journal settings (WAL, synchronous FULL); transactions by hand."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("PRAGMA temp_store = MEMORY")
    return db


def _plain_insert(db: sqlite3.Connection, contacts: list[Contact]) -> None:
    """Every contact as JSON, and its E.164 numbers, in one transaction, in batches like ``add_many``."""
    db.execute("BEGIN IMMEDIATE")
    for start in range(0, len(contacts), PLAIN_BATCH):
        batch = contacts[start : start + PLAIN_BATCH]
        db.executemany(
            "INSERT INTO contacts (id, json) VALUES (?, ?)",
            [(c.id.bytes, c.model_dump_json()) for c in batch],
        )
        db.executemany(
            "INSERT INTO phones (e164, contact_id) VALUES (?, ?)",
            [(e164, c.id.bytes) for c in batch for e164 in c.e164_numbers()],
        )
    db.execute("COMMIT")


def measure_plain(work: Workload, directory: Path, repeats: int, lookups: list[tuple[str, Contact]]) -> Json:
    """Bulk insert (best of ``repeats``), close, file size and lookups of the plain SQLite file."""
    contacts, count = work.contacts, len(work.contacts)
    path = directory / "plain.db"
    inserts, closes = [], []
    for attempt in range(repeats):
        print(f"  plain SQLite: insert {count:,} ({attempt + 1}/{repeats}) ...", flush=True)
        for leftover in directory.glob("plain.db*"):
            leftover.unlink()
        writer = _plain_connect(path)
        writer.executescript(f"BEGIN; {_PLAIN_SCHEMA} COMMIT;")
        inserts.append(_timed(functools.partial(_plain_insert, writer, contacts))[0])
        closes.append(_timed(writer.close)[0])
    sizes = file_sizes(path, count)

    db = _plain_connect(path)
    found = 0

    def find() -> None:
        nonlocal found
        raw, contact = next(numbers)
        e164 = parse_number(raw, REGION).e164
        rows = db.execute(_PLAIN_LOOKUP, (e164,)).fetchall() if e164 is not None else []
        found += any(c.id == contact.id for c in (Contact.model_validate_json(r[0]) for r in rows))

    try:
        numbers = iter(lookups)
        parse_number.cache_clear()
        finds = _calls(find, len(lookups))
    finally:
        db.close()
    if found != len(lookups):
        raise RuntimeError(f"the plain lookup found {found} of {len(lookups)} contacts")
    return {
        "insert": runs(inserts),
        "close": runs(closes),
        "file": sizes,
        "lookup": {**spread(finds), "found": found},
    }


# --- targets and the report ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """One of the issue's limits: ``value`` must stay below ``limit``."""

    name: str
    limit: float
    unit: str
    value: float

    @property
    def met(self) -> bool:
        """Whether the measured value is under the limit."""
        return self.value < self.limit


def targets_of(vault: Json) -> list[Target]:
    """The issue's targets with the measured values (seconds, bytes)."""
    return [
        Target("add_many", 15.0, "s", _number(vault, "add_many", "best")),
        Target("open_excluding_kdf", 1.0, "s", _number(vault, "open_excluding_kdf", "best")),
        Target("find_by_phone_median", 200e-6, "s", _number(vault, "find_by_phone", "median")),
        Target("erase_median", 50e-3, "s", _number(vault, "erase", "median")),
        Target("erase_max", 50e-3, "s", _number(vault, "erase", "max")),
        Target("bytes_per_contact", 1024.0, "B", _number(vault, "file", "bytes_per_contact")),
    ]


def environment() -> dict[str, dict[str, object]]:
    """Machine, Python, SQLite, package versions, and the commit of the contactvault that was measured."""
    env = common.environment(("cryptography", "pydantic", "phonenumbers"))
    env["machine"]["sqlite"] = sqlite3.sqlite_version
    return env


def _limit(seconds: float) -> str:
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if seconds >= scale:
            return f"{seconds / scale:g} {unit}"
    return f"{seconds:g} s"


def _own_kdf(vault: Json) -> float | None:
    """The cross-check: the best of each open minus the KDF timed inside it, if the clock saw it."""
    inside = _section(vault, "kdf_inside_open")["open_minus_own_kdf"]
    if not isinstance(inside, list) or not inside or None in inside:
        return None
    return float(min(inside))


def _bytes(value: float) -> str:
    return f"{value:,.0f} B"


@dataclass(slots=True)
class _Rows:
    """The table's rows: stage, value, per contact, the issue's target, met or not, detail."""

    targets: dict[str, Target]
    rows: list[list[str]] = field(default_factory=list)

    def add(self, stage: str, value: str, per: str = "", target: str = "", detail: str = "") -> None:
        found = self.targets.get(target)
        limit = met = ""
        if found is not None:
            limit = f"< {_bytes(found.limit)}" if found.unit == "B" else f"< {_limit(found.limit)}"
            met = "yes" if found.met else "NO"
        self.rows.append([stage, value, per, limit, met, detail])


def _section(report: Json, key: str) -> Json:
    node = report[key]
    if not isinstance(node, dict):
        raise TypeError(f"no {key} section in the report")
    return node


def result_table(report: Json, count: int) -> str:
    """The vault's stages, the plain SQLite alternative and the targets, one measurement per row."""
    v, p = _section(report, "vault"), _section(report, "plain")
    targets = {t.name: t for t in targets_of(v)}

    def n(*keys: str) -> float:
        return _number(v, *keys)

    def per(seconds: float) -> str:
        return f"{seconds / count * 1e6:.1f} µs"

    t = _Rows(targets)
    params = _section(v, "kdf_params")
    kdf = (
        f"Argon2id {_number(params, 'memory_kib') / 1024:g} MiB, {_number(params, 'iterations'):g} "
        f"iterations, {_number(params, 'lanes'):g} lanes"
    )
    t.add(
        "create (one KDF)",
        _duration(n("create", "best")),
        detail=_runs_text(v, "create", "seconds"),
    )
    t.add(
        f"add_many ({count:,} contacts)",
        _duration(n("add_many", "best")),
        per(n("add_many", "best")),
        "add_many",
        _runs_text(v, "add_many", "seconds"),
    )
    t.add(
        "close after add_many",
        _duration(n("close", "best")),
        detail=_runs_text(v, "close", "seconds"),
    )
    t.add(
        "file size (.db after close)",
        f"{n('file', 'db_bytes') / 2**20:.1f} MiB",
        _bytes(n("file", "bytes_per_contact")),
        "bytes_per_contact",
        f"-wal {_bytes(n('file', 'wal_bytes'))}",
    )
    t.add(f"KDF alone, median of {KDF_RUNS}", _duration(n("kdf", "median")), detail=kdf)
    t.add("open total", _duration(n("open", "best")), detail=_runs_text(v, "open", "seconds"))
    t.add(
        "open excluding KDF",
        _duration(n("open_excluding_kdf", "best")),
        per(n("open_excluding_kdf", "best")),
        "open_excluding_kdf",
        "best open minus the KDF alone (median)",
    )
    own = _own_kdf(v)
    if own is not None:
        t.add(
            "  cross-check",
            _duration(own),
            per(own),
            detail="each open minus the KDF timed inside it, best",
        )
    t.add(
        "iterate (directory entries)",
        _duration(n("iterate", "best")),
        per(n("iterate", "best")),
        detail=_runs_text(v, "iterate", "seconds"),
    )
    t.add(
        "get, median",
        _duration(n("get", "median")),
        detail=f"p95 {_duration(n('get', 'p95'))}, {n('get', 'samples'):,.0f} random ids",
    )
    t.add(
        "find_by_phone, median",
        _duration(n("find_by_phone", "median")),
        target="find_by_phone_median",
        detail=f"{n('find_by_phone', 'samples'):,.0f} national numbers, region DE, cold phone cache",
    )
    t.add("find_by_phone, p95", _duration(n("find_by_phone", "p95")))
    t.add(
        "erase, median",
        _duration(n("erase", "median")),
        target="erase_median",
        detail=f"{n('erase', 'samples'):,.0f} random contacts, one call each",
    )
    t.add("erase, max", _duration(n("erase", "max")), target="erase_max")
    t.add(
        "verify (full check)",
        _duration(n("verify", "best")),
        per(n("verify", "best")),
        detail=_runs_text(v, "verify", "seconds"),
    )
    t.add(
        "plain SQLite: insert",
        _duration(_number(p, "insert", "best")),
        per(_number(p, "insert", "best")),
        detail=_runs_text(p, "insert", "seconds"),
    )
    t.add(
        "plain SQLite: file size",
        f"{_number(p, 'file', 'db_bytes') / 2**20:.1f} MiB",
        _bytes(_number(p, "file", "bytes_per_contact")),
    )
    t.add(
        "plain SQLite: lookup, median",
        _duration(_number(p, "lookup", "median")),
        detail=f"p95 {_duration(_number(p, 'lookup', 'p95'))}, the same numbers, cold phone cache",
    )
    headers = ["stage", "value", "per contact", "target", "met", "detail"]
    return common.table(headers, t.rows, [False, True, True, True, False, False])


def ratios_of(vault: Json, plain: Json) -> dict[str, float]:
    """Vault / plain SQLite for the bulk insert, the lookup median and the file size."""
    return {
        "add_many": _number(vault, "add_many", "best") / _number(plain, "insert", "best"),
        "lookup": _number(vault, "find_by_phone", "median") / _number(plain, "lookup", "median"),
        "size": _number(vault, "file", "bytes_per_contact") / _number(plain, "file", "bytes_per_contact"),
    }


def report_lines(report: Json, env: dict[str, Json], facts: Json, count: int) -> list[str]:
    """Machine, input, the table, the ratios and the verdict."""
    machine, packages, source = env["machine"], env["packages"], env["source"]
    load = machine["load_average"]
    loads = " ".join(f"{a:.2f}" for a in load) if isinstance(load, list) else "unknown"
    modified = ", with uncommitted changes" if source["modified"] else ""
    ratios = ratios_of(_section(report, "vault"), _section(report, "plain"))
    missed = [t.name for t in targets_of(_section(report, "vault")) if not t.met]
    return [
        f"machine: {machine['platform']} | {machine['cpu']} | {machine['cpu_count']} CPUs | "
        f"{machine['implementation']} {machine['python']} | SQLite {machine['sqlite']} | load {loads}",
        "packages: "
        + ", ".join(f"{name} {version}" for name, version in packages.items())
        + f" (contactvault at {source['commit'] or 'unknown commit'}{modified})",
        f"input: {_number(facts, 'cards'):,.0f} generated cards, imported in "
        f"{_number(facts, 'import_seconds'):.1f} s: {_number(facts, 'contacts'):,.0f} contacts, "
        f"{_number(facts, 'numbers'):,.0f} numbers ({_number(facts, 'numbers_e164'):,.0f} with E.164, "
        f"{_number(facts, 'national_numbers_e164'):,.0f} of them typed without country code)",
        "",
        result_table(report, count),
        "",
        f"ratio vault / plain SQLite: add_many {ratios['add_many']:.2f}x, "
        f"find_by_phone {ratios['lookup']:.2f}x, file size {ratios['size']:.2f}x",
        "targets: all met" if not missed else f"targets NOT met: {', '.join(missed)}",
    ]


# --- command line -------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Build the input, time the vault and the plain alternative, print the table, write the JSON."""
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="backslashreplace")  # "µs" on a terminal that cannot show it
    args = common.contacts_options(
        __doc__,
        argv,
        contacts=(DEFAULT_CONTACTS, QUICK_CONTACTS, "contacts in the vault"),
        repeats=(DEFAULT_REPEATS, "runs of the repeatable stages"),
        once="one run per stage",
        seed="generator and sampling seed",
        out=RESULTS,
    )
    env = environment()
    with tempfile.TemporaryDirectory(prefix="contactvault-vault-bench-") as tmp:
        directory = Path(tmp)
        print(f"generating and importing {args.contacts:,} cards (seed {args.seed}) ...", flush=True)
        work = make_workload(directory, args.contacts, args.seed)
        if len(work.contacts) != args.contacts:
            raise RuntimeError(f"the import gave {len(work.contacts)} contacts of {args.contacts}")
        samples = Samples.draw(work, args.seed)
        vault = measure_vault(work, directory, args.repeats, samples)
        plain = measure_plain(work, directory, args.repeats, samples.lookups)
    targets = targets_of(vault)
    report: Json = {
        "schema": 1,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        **env,
        "parameters": {
            "contacts": args.contacts,
            "seed": args.seed,
            "repeats": args.repeats,
            "quick": args.quick,
            "default_region": REGION,
            "kdf": vault["kdf_params"],
            "kdf_runs": KDF_RUNS,
            "gets": GETS,
            "lookups": LOOKUPS,
            "erases": ERASES,
        },
        "input": work.facts,
        "vault": vault,
        "plain": plain,
        "ratios": ratios_of(vault, plain),
        "targets": [
            {"name": t.name, "limit": t.limit, "unit": t.unit, "value": t.value, "met": t.met}
            for t in targets
        ],
    }
    print()
    print("\n".join(report_lines(report, env, work.facts, args.contacts)))
    if environment()["source"] != env["source"]:
        print("WARNING: contactvault's source changed during the run; the numbers may mix two versions")
    path = common.write_report(report, args.out, "vault", "vault-latest.json")
    print(f"\nwrote {path} and {path.with_name('vault-latest.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
