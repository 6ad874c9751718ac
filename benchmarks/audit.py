"""How fast the audit checks a phone's address book against the vault, stage by stage, against vobject.

The issue asks: auditing a 100,000-entry phone export against a 100,000-contact vault in under 10 s on
two cores, with the stages shown.

The input: ``benchmarks/generate.py`` writes 100,000 cards shaped like iPhone and Android exports (1-3
numbers each, e-mail, addresses, birthdays, notes, photos, Apple labels; half the numbers without a
country code). That file is the phone's export. The vault holds the same 100,000 contacts (imported from
the same file, each given a messenger consent and a messenger presence on every number with an E.164
form, as ``book.py`` does), stored with the default KDF (setup, untimed). So every phone entry matches a
vault contact, every card is decided by the policy, and most cards carry fields beyond name and number:
the audit's worst case.

Timed, in each of ``--repeats`` rounds (the best counts): ``audit_phonebook(export, vault=vault,
default_region="DE")`` end to end, and separately each of its stages, as the audit runs them: reading the
cards, reading the vault's directory, reading the numbers, the policy decisions, the findings, and the
JSON report. The obvious alternative, vobject reading the same export (``vobject.readComponents``), runs
once in the same process; the ratio compares it with the audit's reading stage (vobject does only that
part).

Usage::

    python benchmarks/audit.py [--entries 100000] [--seed 1] [--repeats 2] [--out DIR] [--quick]

It prints a table and writes ``<out>/audit-<UTC timestamp>.json`` and ``<out>/audit-latest.json``.
"""

from __future__ import annotations

import argparse
import gc
import io
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import vobject

import common
import contactvault
import generate
from book import PASSPHRASE, REGION, eligible
from common import Json, duration, runs, table, timed
from contactvault import Vault
from contactvault.audit import AuditReport, audit_phonebook
from contactvault.audit.engine import (
    _MOBILE,
    DEFAULT_LABEL_TERMS,
    _judge,
    _Labels,
    _prepare,
    _read,
    _vault_verdicts,
)
from contactvault.importers._gc import paused_gc
from contactvault.sync.policy import Policy

DEFAULT_ENTRIES = 100_000
QUICK_ENTRIES = 2_000
DEFAULT_REPEATS = 2
TARGET_SECONDS = 10.0
"""The issue's limit: a 100,000-entry export against a 100,000-contact vault."""
RESULTS = Path(__file__).resolve().parent / "results"


def setup(directory: Path, count: int, seed: int, now: datetime) -> tuple[Path, Path, Json]:
    """Write the phone export, import it, store the eligible contacts in a vault (untimed)."""
    export = generate.write(directory / "phone-export.vcf", count, seed)
    start = time.perf_counter()
    result = contactvault.import_vcards(export, default_region=REGION)
    contacts = [eligible(c, now) for c in result.contacts]
    imported = time.perf_counter() - start
    path = directory / "vault.db"
    start = time.perf_counter()
    with Vault.create(path, PASSPHRASE) as vault:
        vault.add_many(contacts)
    stored = time.perf_counter() - start
    facts: Json = {
        "entries": count,
        "export_bytes": export.stat().st_size,
        "vault_contacts": len(contacts),
        "import_seconds": imported,
        "store_seconds": stored,
    }
    return export, path, facts


def _stages(export: Path, vault: Vault, now: datetime) -> dict[str, float]:
    """The audit's stages one after the other (``workers=0``), each timed, as ``audit_phonebook`` runs them.

    ``vault: directory and decisions`` includes the policy's decisions; ``policy decisions alone``
    decides every vault contact once more, outside the audit, to show that share.
    """
    seconds: dict[str, float] = {}
    policy = Policy.default()
    with paused_gc():
        start = time.perf_counter()
        _, items = _read(export)
        read = list(items)
        seconds["read cards"] = time.perf_counter() - start
        start = time.perf_counter()
        prepared, _, _ = _prepare(read, REGION, list(DEFAULT_LABEL_TERMS))
        seconds["prepare entries"] = time.perf_counter() - start
        del read
        start = time.perf_counter()
        verdicts, labels, origins = _vault_verdicts(vault, policy, now)
        seconds["vault: directory and decisions"] = time.perf_counter() - start
        start = time.perf_counter()
        _judge(
            prepared,
            region=REGION,
            verdicts=verdicts,
            origins=origins,
            vault_labels=_Labels(labels),
            mobile=_MOBILE,
        )
        seconds["judge (numbers, findings)"] = time.perf_counter() - start
        del prepared, verdicts, origins
        start = time.perf_counter()
        entries = list(vault)
        seconds["  vault directory alone"] = time.perf_counter() - start
        start = time.perf_counter()
        for entry in entries:
            policy.decide(entry, now=now)
        seconds["  policy decisions alone"] = time.perf_counter() - start
        del entries
    return seconds


def _round(export: Path, path: Path, now: datetime) -> tuple[dict[str, float], Json]:
    """One round: open the vault, the audit with and without a helper process, its JSON, its stages."""
    opened, vault = timed(lambda: Vault.open(path, PASSPHRASE))
    with vault:

        def audit(workers: int) -> AuditReport:
            return audit_phonebook(export, vault=vault, default_region=REGION, now=now, workers=workers)

        helper, report = timed(lambda: audit(1))
        del report
        total, report = timed(lambda: audit(0))
        json_seconds, text = timed(report.to_json)
        stages = _stages(export, vault, now)
    seconds = {
        "open (KDF included)": opened,
        "audit_phonebook, workers=1": helper,
        "audit_phonebook": total,
        "to_json": json_seconds,
        **stages,
    }
    summary: Json = {
        "entries": len(report.entries),
        "entries_with_findings": len(report.flagged),
        "unreadable": len(report.unreadable),
        "counts": {code: n for code, n in report.counts().items() if n},
        "json_bytes": len(text.encode("utf-8")),
    }
    return seconds, summary


def measure(export: Path, path: Path, repeats: int, now: datetime) -> Json:
    """``repeats`` rounds of the audit and its stages, then vobject reading the export once."""
    rounds: list[dict[str, float]] = []
    summary: Json = {}
    for attempt in range(repeats):
        print(f"  audit (workers 1 and 0), JSON and stages ({attempt + 1}/{repeats}) ...", flush=True)
        seconds, summary = _round(export, path, now)
        rounds.append(seconds)
        gc.collect()
    print("  vobject.readComponents over the same export (once) ...", flush=True)
    with export.open(encoding="utf-8") as stream:
        vobject_seconds, cards = timed(lambda: sum(1 for _ in vobject.readComponents(stream)))
    return {
        "stages": {name: runs([r[name] for r in rounds]) for name in rounds[0]},
        "report": summary,
        "vobject": {"seconds": vobject_seconds, "cards": cards},
    }


def result_lines(report: Json) -> list[str]:
    """The table: each stage's best seconds, µs per entry, and the target."""
    stages = report["stages"]
    assert isinstance(stages, dict)  # noqa: S101  (our own report)
    entries = int(report["parameters"]["entries"])  # type: ignore[index]
    rows = []
    for name, data in stages.items():
        best = float(data["best"])
        target = f"< {TARGET_SECONDS:g} s" if name.startswith("audit_phonebook") else ""
        met = ("yes" if best < TARGET_SECONDS else "NO") if target else ""
        runs_text = ", ".join(f"{s:.3f}" for s in data["seconds"])
        rows.append([name, duration(best), f"{best / entries * 1e6:.1f}", target, met, runs_text])
    vob = report["vobject"]
    assert isinstance(vob, dict)  # noqa: S101
    rows.append(
        [
            "vobject.readComponents",
            duration(vob["seconds"]),
            f"{vob['seconds'] / entries * 1e6:.1f}",
            "",
            "",
            "once",
        ]
    )
    lines = [
        table(
            ["stage", "best", "µs/entry", "target", "met", "runs (s)"],
            rows,
            [False, True, True, False, False, False],
        )
    ]
    ratio = report["ratio"]
    assert isinstance(ratio, dict)  # noqa: S101
    lines.append("")
    lines.append(f"ratio vobject.readComponents / audit's reading stage: {ratio['reading']:.2f}x")
    lines.append(f"ratio vobject.readComponents / whole audit: {ratio['whole']:.2f}x")
    lines.append(f"ratio vobject.readComponents / whole audit, workers=1: {ratio['whole_workers_1']:.2f}x")
    summary = report["report"]
    assert isinstance(summary, dict)  # noqa: S101
    lines.append(
        f"report: {summary['entries']:,} entries, {summary['entries_with_findings']:,} with findings, "
        f"{summary['unreadable']} unreadable; counts {summary['counts']}"
    )
    return lines


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Options; ``--quick`` only changes the defaults that were not given."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--entries", type=int, help=f"phone entries and vault contacts (default {DEFAULT_ENTRIES:,})"
    )
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON goes")
    parser.add_argument("--repeats", type=int, help=f"rounds, best counts (default {DEFAULT_REPEATS})")
    parser.add_argument(
        "--quick", action="store_true", help=f"CI smoke run: {QUICK_ENTRIES:,} entries, one round"
    )
    args = parser.parse_args(argv)
    if args.entries is None:
        args.entries = QUICK_ENTRIES if args.quick else DEFAULT_ENTRIES
    if args.repeats is None:
        args.repeats = 1 if args.quick else DEFAULT_REPEATS
    if args.entries < 1 or args.repeats < 1:
        parser.error("--entries and --repeats must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Build the input, time the audit and its stages and vobject, print the table, write the JSON."""
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="backslashreplace")
    args = parse_args(argv)
    env = common.environment(("vobject", "cryptography", "pydantic", "phonenumbers"))
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="contactvault-audit-bench-") as tmp:
        print(f"setup: {args.entries:,} cards, imported and stored in a vault (untimed) ...", flush=True)
        export, path, facts = setup(Path(tmp), args.entries, args.seed, now)
        gc.collect()
        measured = measure(export, path, args.repeats, now)
    stages = measured["stages"]
    assert isinstance(stages, dict)  # noqa: S101
    vobject_seconds = float(measured["vobject"]["seconds"])  # type: ignore[index]
    report: Json = {
        "schema": 1,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        **env,
        "parameters": {
            "entries": args.entries,
            "seed": args.seed,
            "repeats": args.repeats,
            "quick": args.quick,
            "default_region": REGION,
            "policy": "Policy.default()",
        },
        "input": facts,
        **measured,
        "ratio": {
            "reading": vobject_seconds / float(stages["read cards"]["best"]),
            "whole": vobject_seconds / float(stages["audit_phonebook"]["best"]),
            "whole_workers_1": vobject_seconds / float(stages["audit_phonebook, workers=1"]["best"]),
        },
        "target": {
            "limit_seconds": TARGET_SECONDS,
            "value": float(stages["audit_phonebook, workers=1"]["best"]),
            "value_workers_0": float(stages["audit_phonebook"]["best"]),
            "met": float(stages["audit_phonebook, workers=1"]["best"]) < TARGET_SECONDS,
        },
    }
    print()
    print("\n".join(result_lines(report)))
    out = common.write_report(report, args.out, "audit", "audit-latest.json")
    print(f"\nwrote {out} and {out.with_name('audit-latest.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
