"""What both benchmark scripts share: the machine they ran on, plain-text tables, the JSON report files."""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import TypeVar

import contactvault

__all__ = [
    "Json",
    "contacts_options",
    "duration",
    "environment",
    "number",
    "runs",
    "runs_text",
    "table",
    "timed",
    "write_report",
]

Json = dict[str, object]
T = TypeVar("T")


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, check=False, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def environment(packages: Iterable[str]) -> dict[str, dict[str, object]]:
    """Machine, Python, the versions of ``packages``, and the commit of the contactvault that was measured."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        models = [ln for ln in cpuinfo.read_text().splitlines() if ln.startswith("model name")]
        cpu = models[0].partition(":")[2].strip() if models else cpu
    package = Path(contactvault.__file__).resolve().parent
    changes = _git("-C", str(package), "status", "--porcelain", "--", ".")
    return {
        "machine": {
            "platform": platform.platform(),
            "cpu": cpu,
            "cpu_count": os.cpu_count(),
            "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
        },
        "packages": {name: metadata.version(name) for name in ("contactvault", *packages)},
        "source": {
            "path": str(package),
            "commit": _git("-C", str(package), "rev-parse", "--short=12", "HEAD"),
            "modified": bool(changes) if changes is not None else None,
        },
    }


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    """A plain-text table, columns aligned (right-aligned where ``right`` says so)."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(width) if r else cell.ljust(width)
            for cell, width, r in zip(cells, widths, right, strict=True)
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(row) for row in rows)])


def write_report(report: dict[str, object], out: Path, stem: str, latest: str) -> Path:
    """Write ``<stem>-<timestamp>.json`` and a copy named ``latest``; return the first."""
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromisoformat(str(report["timestamp"])).strftime("%Y%m%dT%H%M%SZ")
    path = out / f"{stem}-{stamp}.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    shutil.copyfile(path, out / latest)
    return path


def timed(action: Callable[[], T]) -> tuple[float, T]:
    """Run ``action`` after a full collection (earlier garbage must not be collected on its clock)."""
    gc.collect()
    start = time.perf_counter()
    value = action()
    return time.perf_counter() - start, value


def runs(seconds: Sequence[float]) -> Json:
    """Repeated runs of one stage, in seconds: the best counts."""
    return {"seconds": list(seconds), "best": min(seconds), "median": statistics.median(seconds)}


def duration(seconds: float) -> str:
    """Seconds as s, ms or µs, whichever reads best."""
    if abs(seconds) >= 1:
        return f"{seconds:.2f} s"
    if abs(seconds) >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"


def number(report: Json, *keys: str) -> float:
    """A number at ``keys`` in a report (``TypeError`` if the report has none there)."""
    node: object = report
    for key in keys:
        if not isinstance(node, dict):
            raise TypeError(f"no {'.'.join(keys)} in the report")
        node = node[key]
    if not isinstance(node, int | float):
        raise TypeError(f"{'.'.join(keys)} is not a number")
    return float(node)


def runs_text(report: Json, *keys: str) -> str:
    """A list of runs at ``keys`` in a report (``TypeError`` if the report has none there)."""
    node: object = report
    for key in keys:
        if not isinstance(node, dict):
            raise TypeError(f"no {'.'.join(keys)} in the report")
        node = node[key]
    if not isinstance(node, list):
        raise TypeError(f"{'.'.join(keys)} is not a list")
    return "runs " + ", ".join(f"{s:.3f}" for s in node)


def contacts_options(
    doc: str | None,
    argv: Sequence[str] | None,
    *,
    contacts: tuple[int, int, str],
    repeats: tuple[int, str],
    once: str,
    seed: str,
    out: Path,
) -> argparse.Namespace:
    """The options of ``vault.py``, ``book.py`` and ``floor.py``; ``--quick`` changes only what is not given.

    ``contacts`` is the default count, the ``--quick`` count and what they count; ``repeats`` the default
    number of runs and what they are (``--quick``: ``once`` instead); ``seed`` what the seed seeds.
    """
    default, quick, what = contacts
    runs_default, run = repeats
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--contacts", type=int, help=f"{what} (default {default:,})")
    parser.add_argument("--seed", type=int, default=1, help=f"{seed} (default 1)")
    parser.add_argument("--out", type=Path, default=out, help="where the JSON goes")
    parser.add_argument("--repeats", type=int, help=f"{run}, best counts (default {runs_default})")
    parser.add_argument("--quick", action="store_true", help=f"CI smoke run: {quick:,} contacts, {once}")
    args = parser.parse_args(argv)
    if args.contacts is None:
        args.contacts = quick if args.quick else default
    if args.repeats is None:
        args.repeats = 1 if args.quick else runs_default
    if args.contacts < 1 or args.repeats < 1:
        parser.error("--contacts and --repeats must be at least 1")
    return args
