"""Re-keying a vault against the obvious alternative: re-encrypting every contact into a new vault.

When someone leaves, the master key they knew must be replaced. ``Vault.rekey`` re-wraps each contact's
data key under a new master key and re-seals the key slots; it decrypts no directory and no CRM payload.
The obvious alternative is a new vault: every contact read in full (decrypted) and added again (sealed
under new keys). Measured in the same run, on SQLite and on PostgreSQL (a throwaway server, as in
``concurrency.py``), for ``--contacts`` contacts:

- ``rekey``: the whole re-key, marker, re-wrapping and swap;
- ``re-encrypt``: ``Vault.contacts()`` of the old vault into ``add_many`` of a new one;

and the ratio. The KDF is the test setting: it is not what is measured here (``vault.py`` times it).

Usage: ``python benchmarks/rekey.py [--contacts 100000] [--repeats 3] [--no-postgres] [--quick]``
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import uuid
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import common
from common import Json, duration, table, timed
from concurrency import _contact, _postgres, _schema
from contactvault import KdfParams, Vault

RESULTS = Path(__file__).resolve().parent / "results"
KDF = KdfParams.insecure_fast_for_tests()
PASSPHRASE = "benchmark"  # noqa: S105  (a throwaway vault's passphrase)


def _measure(location: str, fresh: str, count: int, repeats: int) -> Json:
    with Vault.create(location, PASSPHRASE, kdf=KDF) as vault:
        vault.add_many(_contact(i) for i in range(count))
    rekeys, copies = [], []
    with Vault.open(location, PASSPHRASE) as vault:
        for run in range(repeats):
            seconds, report = timed(vault.rekey)
            if report.contacts != count:
                raise RuntimeError("the re-key missed contacts")
            rekeys.append(seconds)
            target = fresh.replace("{run}", str(run))

            def copy(target: str = target) -> int:
                with Vault.create(target, PASSPHRASE, kdf=KDF) as new:
                    return len(new.add_many(vault.contacts()))

            seconds, copied = timed(copy)
            if copied != count:
                raise RuntimeError("the copy missed contacts")
            copies.append(seconds)
    rekey, copy_ = common.runs(rekeys), common.runs(copies)
    return {"rekey": rekey, "re_encrypt": copy_, "ratio": copy_["best"] / rekey["best"]}


def measure(folder: Path, pg: str | None, count: int, repeats: int) -> Json:
    """The figures per backend."""
    backends: Json = {}
    print(f"sqlite: {count:,} contacts ...", flush=True)
    backends["sqlite"] = _measure(str(folder / "vault.db"), str(folder / "copy-{run}.db"), count, repeats)
    if pg:
        print(f"postgresql: {count:,} contacts ...", flush=True)
        fresh = _schema(pg, "bench_copy").replace("bench_copy_", "bench_copy_{run}_")
        backends["postgresql"] = _measure(_schema(pg, "bench_rekey"), fresh, count, repeats)
    return {"backends": backends}


def lines(report: Json, count: int) -> list[str]:
    """The table and the ratios, as printed."""
    backends = report["backends"]
    rows = []
    for name, figures in backends.items():
        rows += [
            [name, f"rekey of {count:,}", duration(figures["rekey"]["best"])],
            [name, f"re-encrypt {count:,} into a new vault", duration(figures["re_encrypt"]["best"])],
        ]
    out = [table(["backend", "stage", "best"], rows, [False, False, True]), ""]
    out += [
        f"{name}: rekey is {figures['ratio']:.1f}x faster than re-encrypting"
        for name, figures in backends.items()
    ]
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, print the table, write the JSON."""
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="backslashreplace")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--contacts", type=int, help="contacts in the vault (default 100,000)")
    parser.add_argument("--repeats", type=int, help="runs of each stage, best counts (default 3)")
    parser.add_argument("--postgres", help="a postgresql:// URL (default: a throwaway server)")
    parser.add_argument("--no-postgres", action="store_true", help="measure SQLite only")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON goes")
    parser.add_argument("--quick", action="store_true", help="CI smoke run: 300 contacts, one run")
    args = parser.parse_args(argv)
    count = args.contacts or (300 if args.quick else 100_000)
    repeats = args.repeats or (1 if args.quick else 3)
    env = common.environment(["cryptography"])
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="contactvault-rekey-") as tmp:
        os.environ["CONTACTVAULT_STATE_DIR"] = str(Path(tmp) / "state")  # throwaway vaults: not the user's
        pg = None if args.no_postgres else _postgres(stack, args.postgres)
        measured = measure(Path(tmp), pg, count, repeats)
    report: Json = {
        "schema": 1,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        **env,
        "parameters": {
            "contacts": count,
            "repeats": repeats,
            "quick": args.quick,
            "id": uuid.uuid4().hex[:8],
        },
        **measured,
    }
    print("\n".join(lines(report, count)))
    path = common.write_report(report, args.out, "rekey", "rekey-latest.json")
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
