"""How fast contactvault imports a large vCard file, against vobject reading the same file.

vobject is the obvious alternative a Python developer would reach for, so it is the reference: the stage
``vobject.readComponents`` only parses the file into vobject components, with nothing normalised or
checked. The stage ``contactvault import_vcards`` does the whole import: parse, normalise every number
with phonenumbers, validate every contact, find duplicates. The ratio of the two is the headline number.

The input is a synthetic address book from ``benchmarks/generate.py`` (same seed, same bytes), written to
a temporary directory; its card mix (photos, Apple labels, birthdays, ...) is measured from the file, not
assumed. Further stages split the import's time: with a warm phone cache, with the garbage collector off,
and phonenumbers alone. Memory is measured separately, with tracemalloc in a fresh interpreter, for the
streaming API.

Usage::

    python benchmarks/run.py [--cards 100000] [--seed 1] [--out benchmarks/results] [--quick] [--repeats N]

It prints the tables and writes ``<out>/import-<UTC timestamp>.json`` and ``<out>/latest.json``.

To add a stage, write a function ``(Workload) -> describe`` that does the timed work and returns a
zero-argument function giving the stage's counts (called after the clock stops), and append a `Stage` to
`STAGES`. Each run starts with the stage's ``prepare`` (untimed) and a garbage collection.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import io
import json
import subprocess
import sys
import tempfile
import textwrap
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import vobject

import common
import contactvault
import generate
from contactvault.phones import parse_number

DEFAULT_CARDS = 100_000
QUICK_CARDS = 2_000
DEFAULT_REPEATS = 2
REGION = "DE"
TARGET_RATIO = 5.0
"""Acceptance target: contactvault's whole import at least this many times faster than vobject's parse."""
MEMORY_BATCH_SIZES = (100, 1_000)
REFERENCE = "vobject.readComponents"
MEASURED = "contactvault import_vcards"
PHONES_ALONE = "parse_number alone"
WARM = "import_vcards, warm phone cache"
STREAM = "iter_vcards, batches dropped"
STREAM_WORKER = "iter_vcards, workers=1"
IMPORT_WORKER = "import_vcards, workers=1"
RESULTS = Path(__file__).resolve().parent / "results"

Facts = dict[str, int]
"""Counts a stage reports about its last run (contacts, components, cache hits, ...)."""


# --- the input ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Workload:
    """The generated file and what it holds, as the stages need it."""

    path: Path
    cards: int
    seed: int
    size: int
    sha256: str
    numbers: tuple[str, ...]
    """Every TEL value as the importer hands it to ``parse_number``, in file order."""
    mix: dict[str, float | int]
    """The card mix, measured from the file: shares of cards (0..1) and counts."""


_FEATURES = (
    ("photo", "PHOTO"),
    ("apple_label", "itemN.X-ABLabel"),
    ("organisation", "ORG"),
    ("email", "EMAIL"),
    ("address", "ADR"),
    ("birthday", "BDAY"),
    ("birthday_without_year", "BDAY without year"),
    ("note", "NOTE"),
    ("categories", "CATEGORIES"),
    ("fn_with_escaped_comma", "FN with '\\,'"),
)
"""Card features the mix reports: key in the JSON, and how the printout names it."""

_PROPERTY_FEATURES = {
    "PHOTO": "photo",
    "X-ABLABEL": "apple_label",
    "ORG": "organisation",
    "EMAIL": "email",
    "ADR": "address",
    "NOTE": "note",
    "CATEGORIES": "categories",
}
"""Features that the mere presence of a property shows (BDAY, FN and TEL need a look at the value)."""


def _logical_lines(path: Path) -> list[str]:
    """The file's lines, unfolded (a line starting with a space or a tab continues the previous one)."""
    lines: list[str] = []
    with path.open(encoding="utf-8", newline="") as stream:
        for physical in stream:
            line = physical.rstrip("\r\n")
            if line[:1] in (" ", "\t") and lines:
                lines[-1] += line[1:]
            else:
                lines.append(line)
    return lines


def _describe(path: Path) -> tuple[dict[str, float | int], tuple[str, ...]]:
    """Measure the card mix of a generated file and collect its TEL values."""
    seen: Counter[str] = Counter()  # cards having a feature
    phones_per_card: Counter[int] = Counter()
    numbers: list[str] = []
    cards = folded = 0
    card: set[str] = set()
    tels = 0
    with path.open("rb") as stream:
        folded = sum(1 for line in stream if line[:1] in (b" ", b"\t"))
    for line in _logical_lines(path):
        head, _, value = line.partition(":")
        name = head.split(";", 1)[0].rpartition(".")[2].upper()
        params = head.upper()
        if name == "BEGIN":
            card, tels = set(), 0
        elif name == "END":
            cards += 1
            seen.update(card)
            phones_per_card[tels] += 1
        elif name == "TEL":
            tels += 1
            numbers.append(value.strip())
        elif name == "FN" and "\\," in value:
            card.add("fn_with_escaped_comma")
        elif name == "BDAY":
            card.add("birthday")
            if value.startswith(("--", "1604")) or "X-APPLE-OMIT-YEAR" in params:
                card.add("birthday_without_year")
        elif name in _PROPERTY_FEATURES:
            card.add(_PROPERTY_FEATURES[name])
    total = max(cards, 1)
    mix: dict[str, float | int] = {"cards": cards}
    for count in sorted(phones_per_card):
        mix[f"cards_with_{count}_numbers"] = phones_per_card[count] / total
    for feature, _ in _FEATURES:
        mix[f"with_{feature}"] = seen[feature] / total
    national = sum(1 for n in numbers if n.startswith(("0", "(0")) and not n.startswith("00"))
    mix["numbers"] = len(numbers)
    mix["distinct_numbers"] = len(set(numbers))
    mix["numbers_without_country_code"] = national / max(len(numbers), 1)
    mix["folded_lines"] = folded
    return mix, tuple(numbers)


def make_workload(directory: Path, cards: int, seed: int) -> Workload:
    """Write ``cards`` cards with ``generate.py`` into ``directory`` and measure what the file holds."""
    path = generate.write(directory / f"cards-{cards}-seed-{seed}.vcf", cards, seed)
    data = path.read_bytes()
    mix, numbers = _describe(path)
    return Workload(path, cards, seed, len(data), hashlib.sha256(data).hexdigest(), numbers, mix)


# --- stages -------------------------------------------------------------------------------------------

Describe = Callable[[], Facts]
Run = Callable[[Workload], Describe]


def _nothing(work: Workload) -> None:
    """No preparation."""


def _always(work: Workload) -> str | None:
    """Never skipped."""
    return None


@dataclass(frozen=True, slots=True)
class Stage:
    """One timed step: ``run`` is timed; ``prepare`` runs untimed before each run; ``skip`` may refuse."""

    name: str
    about: str
    run: Run
    prepare: Callable[[Workload], None] = _nothing
    skip: Callable[[Workload], str | None] = _always


def _cache_facts() -> Facts:
    info = parse_number.cache_info()
    return {"phone_cache_hits": info.hits, "phone_cache_misses": info.misses}


def _vobject(work: Workload) -> Describe:
    with work.path.open(encoding="utf-8") as stream:
        components = sum(1 for _ in vobject.readComponents(stream))
    return lambda: {"components": components}


def _import(work: Workload) -> Describe:
    # One process, as this row always measured (the default, workers="auto", uses helpers for large files).
    result = contactvault.import_vcards(work.path, default_region=REGION, workers=0)
    return lambda: {**result.summary(), **_cache_facts()}


def _import_with_worker(work: Workload) -> Describe:
    result = contactvault.import_vcards(work.path, default_region=REGION, workers=1)
    return result.summary


def _stream(workers: int) -> Run:
    """Stream the file and drop each batch, as the vobject loop drops each component."""

    def run(work: Workload) -> Describe:
        batches = contactvault.iter_vcards(work.path, default_region=REGION, workers=workers)
        contacts = sum(len(batch.contacts) for batch in batches)
        return lambda: {"contacts": contacts}

    return run


def _phones_alone(work: Workload) -> Describe:
    for raw in work.numbers:
        parse_number(raw, REGION)
    return _cache_facts


def _cold_cache(work: Workload) -> None:
    parse_number.cache_clear()


def _warm_cache(work: Workload) -> None:
    parse_number.cache_clear()
    for raw in work.numbers:
        parse_number(raw, REGION)


def _cache_too_small(work: Workload) -> str | None:
    size = parse_number.cache_info().maxsize
    distinct = len(set(work.numbers))
    if size is not None and distinct > size:
        return f"{distinct:,} distinct numbers do not fit the phone cache ({size:,} entries)"
    return None


STAGES: list[Stage] = [
    Stage(REFERENCE, "vobject parses the file into components; nothing normalised or validated", _vobject),
    Stage(
        MEASURED,
        "the whole import: parse, normalise numbers, validate contacts, find duplicates; cold phone cache",
        _import,
        prepare=_cold_cache,
    ),
    Stage(
        WARM,
        "the same import with every number already in the phone cache: the import minus phonenumbers",
        _import,
        prepare=_warm_cache,
        skip=_cache_too_small,
    ),
    Stage(
        STREAM,
        "the streaming import, each batch dropped after use (as the vobject loop drops each card); no "
        "duplicate search; cold phone cache",
        _stream(0),
        prepare=_cold_cache,
    ),
    Stage(
        STREAM_WORKER,
        "the same streaming import with the cards parsed, normalised and validated in one helper process "
        '(`workers=1`; what `workers="auto"` picks on 2 cores): this process splits and re-validates',
        _stream(1),
    ),
    Stage(
        IMPORT_WORKER,
        "the whole import with the cards read in one helper process (`workers=1`)",
        _import_with_worker,
    ),
    Stage(
        PHONES_ALONE,
        "contactvault.phones.parse_number over the file's numbers, in file order, cold cache",
        _phones_alone,
        prepare=_cold_cache,
    ),
]


@dataclass(slots=True)
class StageResult:
    """The timings of one stage: every run's seconds, and the counts of its last run."""

    name: str
    about: str
    seconds: list[float] = field(default_factory=list)
    facts: Facts = field(default_factory=dict)
    skipped: str | None = None

    @property
    def best(self) -> float:
        """The fastest run: the one least disturbed by the rest of the machine."""
        return min(self.seconds)


def measure(stage: Stage, work: Workload, repeats: int) -> StageResult:
    """Time ``stage`` ``repeats`` times on ``work``; each run after its ``prepare`` and a full collection."""
    result = StageResult(stage.name, stage.about, skipped=stage.skip(work))
    if result.skipped:
        return result
    for _ in range(repeats):
        stage.prepare(work)
        gc.collect()  # garbage of earlier runs must not be collected on this run's clock
        start = time.perf_counter()
        describe = stage.run(work)
        result.seconds.append(time.perf_counter() - start)
        result.facts = describe()
        del describe  # drops the run's output (e.g. 100,000 contacts) before the next run
    return result


# --- memory -------------------------------------------------------------------------------------------


def probe_memory(path: Path, batch_size: int, seed: int) -> dict[str, int]:
    """Peak traced memory of streaming ``path`` through ``iter_vcards``; run in a fresh interpreter.

    Code paths and phonenumbers' metadata are loaded first, on a few cards, so only the stream counts.
    Each batch is dropped before the next is read, as a consumer that stores batches elsewhere would.
    """
    warm_up = "".join(generate.cards(200, seed))
    for batch in contactvault.iter_vcards(warm_up, default_region=REGION, batch_size=batch_size):
        del batch
    parse_number.cache_clear()
    gc.collect()
    tracemalloc.start()
    entries = 0
    for batch in contactvault.iter_vcards(path, default_region=REGION, batch_size=batch_size):
        entries += batch.entries
        del batch
    peak = tracemalloc.get_traced_memory()[1]
    gc.collect()
    retained = tracemalloc.get_traced_memory()[0]
    cache_entries = parse_number.cache_info().currsize
    parse_number.cache_clear()
    without_cache = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return {
        "entries": entries,
        "peak_bytes": peak,
        "retained_bytes": retained,
        "phone_cache_bytes": retained - without_cache,
        "phone_cache_entries": cache_entries,
    }


def measure_memory(files: dict[int, Path], batch_sizes: Sequence[int], seed: int) -> list[dict[str, int]]:
    """One fresh interpreter per (file, batch size): peak memory of the streaming import."""
    rows = []
    for cards, path in files.items():
        for batch_size in batch_sizes:
            command = [
                sys.executable, str(Path(__file__).resolve()), "--memory-probe", str(path),
                "--batch-size", str(batch_size), "--seed", str(seed),
            ]  # fmt: skip
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"memory probe failed ({done.returncode}):\n{done.stderr}")
            probe = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append({"cards": cards, "batch_size": batch_size, **probe})
    return rows


# --- the report ---------------------------------------------------------------------------------------


Environment = dict[str, dict[str, object]]


def environment() -> Environment:
    """Machine, Python, package versions, the measured commit, and the phone cache's size."""
    env = common.environment(("vobject", "phonenumbers", "pydantic"))
    env["source"]["phone_cache_size"] = parse_number.cache_info().maxsize
    return env


def stage_table(results: Sequence[StageResult], cards: int) -> str:
    """Seconds, µs per card, cards per second and the speed-up over vobject, one stage per row."""
    reference = next((r.best for r in results if r.name == REFERENCE and r.seconds), None)
    rows, notes = [], []
    for result in results:
        if result.skipped:
            rows.append([result.name, "skipped", "-", "-", "-", "-"])
            notes.append(f"{result.name}: skipped: {result.skipped}")
            continue
        best = result.best
        ratio = f"{reference / best:.2f}x" if reference else "-"
        runs = ", ".join(f"{s:.3f}" for s in result.seconds)
        rows.append(
            [result.name, f"{best:.3f}", f"{best / cards * 1e6:.1f}", f"{cards / best:,.0f}", ratio, runs]
        )
    headers = ["stage", "best s", "µs/card", "cards/s", "vobject/stage", "runs (s)"]
    return "\n".join([common.table(headers, rows, [False, True, True, True, True, False]), *notes])


def memory_table(rows: Sequence[dict[str, int]]) -> str:
    """Peak traced memory per file size and batch size, and how much of it the phone cache holds."""

    def mib(value: int) -> str:
        return f"{value / 2**20:.1f}"

    lines = [
        [
            f"{row['cards']:,}",
            f"{row['batch_size']:,}",
            mib(row["peak_bytes"]),
            mib(row["phone_cache_bytes"]),
            f"{row['phone_cache_entries']:,}",
        ]
        for row in rows
    ]
    headers = ["cards", "batch size", "peak MiB", "phone cache MiB", "cache entries"]
    return common.table(headers, lines, [True] * len(headers))


def _load(averages: object) -> str:
    """The 1-, 5- and 15-minute load averages when the run started: other work skews the timings."""
    return " ".join(f"{a:.2f}" for a in averages) if isinstance(averages, list) else "unknown"


def _percent(share: float | int) -> str:
    return f"{share * 100:.1f}%"


def mix_lines(work: Workload) -> list[str]:
    """The input file and its card mix, as measured by `make_workload`."""
    mix = work.mix
    per_card = [
        f"{_percent(mix[key])} with {n} number{'s' * (n > 1)}"
        for n in range(1, 10)
        if (key := f"cards_with_{n}_numbers") in mix
    ]
    features = [f"{_percent(mix[f'with_{key}'])} {label}" for key, label in _FEATURES]
    numbers = (
        f"{mix['numbers']:,} numbers ({mix['distinct_numbers']:,} distinct, "
        f"{_percent(mix['numbers_without_country_code'])} without country code); "
        f"{mix['folded_lines']:,} folded lines"
    )
    text = "; ".join([*per_card, *features, numbers])
    return [
        f"input: {work.cards:,} cards, {work.size / 1e6:.1f} MB ({work.size:,} bytes), seed {work.seed}, "
        f"sha256 {work.sha256[:16]}...",
        *textwrap.wrap(text, width=105, initial_indent="cards: ", subsequent_indent="       "),
    ]


def report_lines(env: Environment, work: Workload, results: Sequence[StageResult]) -> list[str]:
    """Everything printed before the memory table: machine, input, the stages, the ratio, the split."""
    machine, packages, source = env["machine"], env["packages"], env["source"]
    modified = ", with uncommitted changes" if source["modified"] else ""
    out = [
        f"machine: {machine['platform']} | {machine['cpu']} | {machine['cpu_count']} CPUs | "
        f"{machine['implementation']} {machine['python']} | load {_load(machine['load_average'])}",
        "packages: "
        + ", ".join(f"{name} {version}" for name, version in packages.items())
        + f" (contactvault at {source['commit'] or 'unknown commit'}{modified})",
        *mix_lines(work),
        "",
        stage_table(results, work.cards),
        "",
    ]
    ratio = ratio_of(results)
    if ratio.value is not None:
        verdict = "met" if ratio.met else "NOT met"
        out.append(
            f"ratio vobject / contactvault: {ratio.value:.2f}x   (target >= {ratio.target:g}x: {verdict})"
        )
    by_name = {r.name: r for r in results}
    imported = by_name.get(MEASURED)
    if imported and imported.seconds:
        facts = imported.facts
        counts = ", ".join(f"{k} {v:,}" for k, v in facts.items() if not k.startswith("phone_cache"))
        out.extend(textwrap.wrap(counts, width=105, initial_indent="counts: ", subsequent_indent="        "))
        out.extend(_split_lines(by_name, imported))
        if facts.get("entries") != work.cards:
            out.append(f"WARNING: the import read {facts.get('entries')} entries, the file has {work.cards}")
    reference = by_name.get(REFERENCE)
    if reference and reference.facts.get("components") not in (None, work.cards):
        out.append(f"WARNING: vobject read {reference.facts['components']} cards of {work.cards}")
    return out


def _split_lines(by_name: dict[str, StageResult], imported: StageResult) -> list[str]:
    """Where the import's time goes: phone normalisation and the rest."""
    out = []
    phones = by_name.get(PHONES_ALONE)
    if phones and phones.seconds:
        share = phones.best / imported.best
        out.append(
            f"phone normalisation (parse_number alone): {phones.best:.3f} s = {_percent(share)} "
            f"of the import; the rest: {imported.best - phones.best:.3f} s"
        )
    reference = by_name.get(REFERENCE)
    for name in (STREAM, STREAM_WORKER, IMPORT_WORKER):
        other = by_name.get(name)
        if reference and reference.seconds and other and other.seconds:
            out.append(f"ratio vobject / {name}: {reference.best / other.best:.2f}x")
    warm = by_name.get(WARM)
    if warm and warm.seconds:
        saved = imported.best - warm.best
        out.append(f"warm phone cache saves {saved:.3f} s = {_percent(saved / imported.best)} of the import")
    return out


@dataclass(frozen=True, slots=True)
class Ratio:
    """The headline: vobject's best time divided by contactvault's, against the acceptance target."""

    value: float | None
    met: bool
    target: float = TARGET_RATIO
    reference: str = REFERENCE
    measured: str = MEASURED


def ratio_of(results: Sequence[StageResult]) -> Ratio:
    """The ratio of the reference stage to the measured stage (``None`` if either did not run)."""
    by_name = {r.name: r for r in results if r.seconds}
    if REFERENCE not in by_name or MEASURED not in by_name:
        return Ratio(None, met=False)
    value = by_name[REFERENCE].best / by_name[MEASURED].best
    return Ratio(value, met=value >= TARGET_RATIO)


def build_report(
    args: argparse.Namespace,
    env: Environment,
    work: Workload,
    results: Sequence[StageResult],
    memory: list[dict[str, int]],
) -> dict[str, object]:
    """The JSON document: environment, parameters, input, every stage's timings, the ratio, memory."""
    return {
        "schema": 1,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        **env,
        "parameters": {
            "cards": args.cards,
            "seed": args.seed,
            "repeats": args.repeats,
            "quick": args.quick,
            "default_region": REGION,
            "memory_cards": sorted(args.memory_cards),
            "memory_batch_sizes": list(MEMORY_BATCH_SIZES),
        },
        "input": {"bytes": work.size, "sha256": work.sha256, "mix": work.mix},
        "stages": [
            {
                **asdict(r),
                "best": r.best if r.seconds else None,
                "us_per_card": r.best / work.cards * 1e6 if r.seconds else None,
                "cards_per_second": work.cards / r.best if r.seconds else None,
            }
            for r in results
        ],
        "ratio": asdict(ratio_of(results)),
        "memory": memory,
    }


# --- command line -------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Options; ``--quick`` only changes the defaults that were not given."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cards", type=int, help=f"cards in the file (default {DEFAULT_CARDS:,})")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON goes")
    parser.add_argument(
        "--repeats", type=int, help=f"runs per stage, best counts (default {DEFAULT_REPEATS})"
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"CI smoke run: {QUICK_CARDS:,} cards, one run per stage"
    )
    parser.add_argument("--memory-probe", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--batch-size", type=int, default=1_000, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cards is None:
        args.cards = QUICK_CARDS if args.quick else DEFAULT_CARDS
    if args.repeats is None:
        args.repeats = 1 if args.quick else DEFAULT_REPEATS
    if args.cards < 1 or args.repeats < 1:
        parser.error("--cards and --repeats must be at least 1")
    args.memory_cards = {max(1, args.cards // 10), args.cards}
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run every stage, print the tables, write the JSON."""
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="backslashreplace")  # "µs" on a terminal that cannot show it
    args = parse_args(argv)
    if args.memory_probe:
        print(json.dumps(probe_memory(args.memory_probe, args.batch_size, args.seed)))
        return 0
    env = environment()  # before the run: the memory probes import the source again
    with tempfile.TemporaryDirectory(prefix="contactvault-bench-") as tmp:
        directory = Path(tmp)
        print(f"generating {args.cards:,} cards (seed {args.seed}) ...", flush=True)
        work = make_workload(directory, args.cards, args.seed)
        results = []
        for stage in STAGES:
            print(f"timing {stage.name} ({args.repeats} run(s)) ...", flush=True)
            results.append(measure(stage, work, args.repeats))
        files = {args.cards: work.path}
        for cards in args.memory_cards - {args.cards}:
            files[cards] = generate.write(directory / f"cards-{cards}-seed-{args.seed}.vcf", cards, args.seed)
        print("measuring memory (tracemalloc, a fresh interpreter per row) ...", flush=True)
        memory = measure_memory(dict(sorted(files.items())), MEMORY_BATCH_SIZES, args.seed)
    report = build_report(args, env, work, results, memory)
    print()
    print("\n".join(report_lines(env, work, results)))
    if environment()["source"] != env["source"]:
        print("WARNING: contactvault's source changed during the run; the numbers may mix two versions")
    print()
    print("peak memory of iter_vcards(path, batch_size=B), batches consumed and dropped (tracemalloc):")
    print(memory_table(memory))
    path = common.write_report(report, args.out, "import", "latest.json")
    print(f"\nwrote {path} and {path.with_name('latest.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
