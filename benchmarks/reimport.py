"""What a monthly re-import costs: the same export again, and again with a few cards changed.

A business imports its phone's export every month. ``Vault.import_contacts`` matches every card against
the vault before it writes (blind-index lookups, decrypting only the candidates' directories, comparing
the matched cards' fields): this script measures that, stage by stage, beside the obvious alternatives
measured in the same run:

- ``vobject.readComponents`` over the same file (what reading it at all costs elsewhere);
- ``import_vcards`` alone (our parse, no vault);
- ``Vault.add_many`` of the parsed contacts into a new vault (storing without matching: what an import
  did before it matched, and still the floor for a first import).

The stages on our side: the first ``import_contacts`` into a new vault, the same file again (everything
unchanged: nothing is written), and the file with 1 % of the cards' e-mail addresses changed (those are
updated, the rest unchanged). Prints a table with the ratios and writes ``reimport-<time>.json`` and
``reimport-latest.json``.

Usage: ``python benchmarks/reimport.py [--cards 20000] [--repeats 2] [--quick] [--out DIR]``
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import vobject

import common
from common import Json, duration, runs, table, timed
from contactvault import KdfParams, Vault, import_vcards
from generate import write as write_file

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_CARDS = 20_000
QUICK_CARDS = 300
DEFAULT_REPEATS = 2
REGION = "DE"
KDF = KdfParams.insecure_fast_for_tests()  # the KDF is not what is measured here; vault.py times it
PASSPHRASE = "benchmark"  # noqa: S105  (a throwaway vault's passphrase)


def _changed(text: str, every: int) -> tuple[str, int]:
    """The export with the e-mail address of every ``every``-th card that has one changed."""
    out: list[str] = []
    changed = card = 0
    for line in text.splitlines(keepends=True):
        if line.upper().startswith("BEGIN:VCARD"):
            card += 1
        if ":" in line and "EMAIL" in line.split(":", 1)[0].upper() and card % every == 0:
            head, _, value = line.partition(":")
            line = f"{head}:changed.{value}"  # noqa: PLW2901  (the changed line is the line)
            changed += 1
        out.append(line)
    return "".join(out), changed


def measure(folder: Path, cards: int, repeats: int, seed: int) -> Json:
    """Every stage, ``repeats`` times each (a fresh vault where a stage needs one); best counts."""
    export = folder / "phone.vcf"
    write_file(export, cards, seed)
    changed_export = folder / "phone-changed.vcf"
    changed_text, changed = _changed(export.read_text(encoding="utf-8"), 100)
    changed_export.write_text(changed_text, encoding="utf-8")

    def vobject_parse() -> int:
        with export.open(encoding="utf-8") as stream:
            return sum(1 for _ in vobject.readComponents(stream))

    names = ("vobject_parse", "import_vcards", "add_many", "first_import", "same_file_again")
    stages: dict[str, list[float]] = {name: [] for name in (*names, "one_percent_changed")}
    counts: dict[str, object] = {"changed_cards": changed}
    for run in range(repeats):
        seconds, parsed = timed(vobject_parse)
        stages["vobject_parse"].append(seconds)
        counts["vobject_cards"] = parsed
        seconds, result = timed(lambda: import_vcards(export, default_region=REGION))
        stages["import_vcards"].append(seconds)
        counts["contacts"] = len(result.contacts)
        with Vault.create(folder / f"plain-{run}.db", PASSPHRASE, kdf=KDF) as vault:
            seconds, _ = timed(lambda v=vault, r=result: v.add_many(r.contacts))
            stages["add_many"].append(seconds)
        with Vault.create(folder / f"v-{run}.db", PASSPHRASE, kdf=KDF) as vault:
            seconds, first = timed(
                lambda v=vault: v.import_contacts(import_vcards(export, default_region=REGION))
            )
            stages["first_import"].append(seconds)
            seconds, again = timed(
                lambda v=vault: v.import_contacts(import_vcards(export, default_region=REGION))
            )
            stages["same_file_again"].append(seconds)
            seconds, edited = timed(
                lambda v=vault: v.import_contacts(import_vcards(changed_export, default_region=REGION))
            )
            stages["one_percent_changed"].append(seconds)
            counts["first"] = first.counts()
            counts["again"] = again.counts()
            counts["changed"] = edited.counts()
    return {"stages": {name: runs(values) for name, values in stages.items()}, "counts": counts}


def lines(report: Json) -> list[str]:
    """The table and the ratios, as printed."""
    stages = report["stages"]
    if not isinstance(stages, dict):
        raise TypeError("no stages in the report")
    labels = {
        "vobject_parse": "vobject.readComponents (reference: reading the file)",
        "import_vcards": "import_vcards (our parse, no vault)",
        "add_many": "parse done; Vault.add_many into a new vault (no matching)",
        "first_import": "import_vcards + import_contacts into a new vault",
        "same_file_again": "the same file again (all unchanged, nothing written)",
        "one_percent_changed": "the file with 1 % of e-mails changed",
    }
    rows = [
        [
            labels[name],
            duration(common.number(report, "stages", name, "best")),
            common.runs_text(report, "stages", name, "seconds"),
        ]
        for name in labels
    ]
    best = {name: common.number(report, "stages", name, "best") for name in labels}
    again, first = best["same_file_again"], best["first_import"]
    store = best["import_vcards"] + best["add_many"]
    return [
        table(["stage", "best", "runs (s)"], rows, [False, True, False]),
        "",
        f"the same file again: {best['vobject_parse'] / again:.2f}x faster than vobject's parse of it",
        f"the same file again: {again / first:.2f} of the first import's time",
        f"the first import: {first / store:.2f}x the time of parse + add_many (no matching)",
        f"counts: {report['counts']}",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Generate the export, measure every stage, print the table, write the JSON."""
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="backslashreplace")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cards", type=int, help=f"cards in the export (default {DEFAULT_CARDS:,})")
    parser.add_argument(
        "--repeats", type=int, help=f"runs per stage, best counts (default {DEFAULT_REPEATS})"
    )
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON goes")
    parser.add_argument("--quick", action="store_true", help=f"CI smoke run: {QUICK_CARDS} cards, one run")
    args = parser.parse_args(argv)
    cards = args.cards or (QUICK_CARDS if args.quick else DEFAULT_CARDS)
    repeats = args.repeats or (1 if args.quick else DEFAULT_REPEATS)
    env = common.environment(["vobject", "cryptography"])
    with tempfile.TemporaryDirectory(prefix="contactvault-reimport-") as tmp:
        print(f"{cards:,} cards, best of {repeats} ...", flush=True)
        measured = measure(Path(tmp), cards, repeats, args.seed)
    report: Json = {
        "schema": 1,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        **env,
        "parameters": {"cards": cards, "repeats": repeats, "seed": args.seed, "quick": args.quick},
        **measured,
    }
    print("\n".join(lines(report)))
    path = common.write_report(report, args.out, "reimport", "reimport-latest.json")
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
