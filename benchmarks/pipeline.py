"""The whole user path, timed stage by stage beside its anchors, in one run (issue 17).

A generated N-card vCard export (``generate.py``, default 100,000) goes through what a person runs, each
command a process of its own started as the ``contactvault`` console script, with the passphrase from a
file and the default KDF (Argon2id, 64 MiB, 3 iterations, 4 lanes):

1. ``contactvault init`` and ``contactvault import FILE --region DE`` into a new vault; the KDF alone is
   timed in this process (median of 3) and subtracted: "import excluding KDF".
2. ``contactvault book``, and in a process of its own ``Vault.open`` + ``messenger_book(vault,
   Policy.from_vault(vault))`` + ``to_vcard(book)``, cold (the KDF timed inside the open and left out).
3. ``contactvault export PATH``.
4. In one process: open, export (cold), 10 changes through the API (5 labels added, 5 consents
   withdrawn), export again (warm); then a fresh open checks that the warm export is what a cold one writes.
5. ``contactvault list`` to a pipe and to a terminal (a pseudo-terminal, 120 columns) and ``contactvault
   show NUMBER`` on a vault of the first ``--list-cards`` cards (default 10,000).
6. Anchors in the same run: vobject's ``readComponents`` over the same file (parse only), vobject building
   and serialising the book's minimal cards (``book.py``'s loop), and khard 0.22 (``khard list`` to a pipe
   and a terminal, ``khard show NUMBER``) on a vdir of the same ``--list-cards`` cards, one file per card.
   khard lives in a venv of its own under ``~/.cache/contactvault-bench`` (created on first use).
7. With ``--postgres``: init, import, add_many, book, export and the in-process book on a throwaway
   PostgreSQL server (``tests/pg_server.py``) or ``--postgres-url``, and the PostgreSQL / SQLite ratios.

The book needs contacts the policy allows: a vault imported from a phone's export has no consents. So the
book, export and add_many stages use a second vault with the same cards, each contact given a messenger
consent and each number with an E.164 form a messenger presence (``book.py``'s ``make_contacts``), stored
with one ``add_many``: that ``add_many`` is timed against plain SQLite inserting the same rows
(``vault.py``'s method). Every measured stage runs in a process of its own; its peak RSS is the process's
``ru_maxrss`` from ``wait4`` (for the in-process stages: read inside the process right after the stage).

Usage::

    python benchmarks/pipeline.py [--cards 100000] [--list-cards 10000] [--seed 1] [--repeats 1]
        [--postgres] [--khard auto|install|skip] [--out DIR] [--quick]

It prints one table (stage, seconds, per card, peak RSS, ratio to its anchor, target, met) and writes
``<out>/pipeline-<UTC timestamp>.json`` and ``<out>/pipeline-latest.json``. ``--quick`` (1,000 cards,
CI) uses khard only if its venv is already there.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import functools
import io
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import common
import contactvault
import generate
from common import Json, duration, timed
from processes import TERMINAL, Ran, checked, run

DEFAULT_CARDS = 100_000
QUICK_CARDS = 1_000
DEFAULT_LIST_CARDS = 10_000
REGION = "DE"
PASSPHRASE = "correct horse battery staple"  # noqa: S105  (a throwaway vault of made-up contacts)
KDF_RUNS = 3
CHANGES = 10
KHARD = "0.22"
RESULTS = Path(__file__).resolve().parent / "results"
HERE = Path(__file__).resolve()
MIB = 2**20

RATIO_IMPORT = 2.5
RSS_IMPORT = 300e6
RATIO_ADD_MANY = 2.0
BOOK_COLD = 2.0
BOOK_CARDS = 100_000
RATIO_BOOK = 5.0
WARM = 0.25
RATIO_KHARD = 10.0
RATIO_POSTGRES = 2.0


# --- processes ----------------------------------------------------------------------------------------


def cli() -> list[str]:
    """How a person runs the command: the console script beside this interpreter (or ``main()``)."""
    script = Path(sys.executable).with_name("contactvault")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from contactvault.cli import main; main()"]


def compile_package() -> str:
    """Compile contactvault's modules to bytecode files, as installing it with pip does.

    khard runs from a venv that pip compiled; a checkout or an editable install run under
    ``PYTHONDONTWRITEBYTECODE=1`` (as on this machine) would otherwise compile every module at every
    command's start (about 0.1 s of each ``list``), which no installed copy does.
    """
    package = Path(contactvault.__file__).parent
    done = compileall.compile_dir(package, quiet=1, workers=1)
    return f"{package} compiled ({'ok' if done else 'with errors'})"


def child(name: str, env: dict[str, str], **args: object) -> tuple[Json, Ran]:
    """Run one in-process stage (``_CHILDREN``) in a fresh interpreter; its JSON and how it ran."""
    ran = checked(name, run([sys.executable, str(HERE), "--child", name, json.dumps(args)], env))
    lines = ran.out.decode("utf-8").splitlines()
    return json.loads(lines[-1]), ran


def _self_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# --- the in-process stages, each run in a child interpreter --------------------------------------------


def _child_vobject_parse(file: str) -> Json:
    import vobject  # noqa: PLC0415  (only this child needs it)

    with Path(file).open(encoding="utf-8") as stream:
        seconds, components = timed(lambda: sum(1 for _ in vobject.readComponents(stream)))
    return {"seconds": seconds, "components": components, "rss": _self_rss()}


def _child_prepare(
    *, folder: str, cards: int, seed: int, sqlite: str, plain: str, postgres: str | None, changes: int
) -> Json:
    """The book's vault: the same cards made eligible (``book.py``), one ``add_many`` timed (``vault.py``)."""
    import book as bookbench  # noqa: PLC0415
    import vault as vaultbench  # noqa: PLC0415

    contacts, facts = bookbench.make_contacts(Path(folder), cards, seed, datetime.now(UTC))
    if len(contacts) != cards:
        raise RuntimeError(f"the import gave {len(contacts)} contacts of {cards}")
    result: Json = {"facts": facts, "changed": [str(c.id) for c in contacts[:changes]]}
    result["sqlite"] = vaultbench._build_vault(Path(sqlite), contacts)
    db = vaultbench._plain_connect(Path(plain))
    db.executescript(f"BEGIN; {vaultbench._PLAIN_SCHEMA} COMMIT;")
    result["plain_insert"], _ = timed(functools.partial(vaultbench._plain_insert, db, contacts))
    db.close()
    if postgres:
        result["postgresql"] = vaultbench._build_vault(postgres, contacts)  # type: ignore[arg-type]
    return result


def _child_book(location: str, kdf: float) -> Json:
    """Fresh open (KDF timed inside it), ``messenger_book`` + ``to_vcard``; then vobject on the same cards."""
    import book as bookbench  # noqa: PLC0415
    import vault as vaultbench  # noqa: PLC0415
    from contactvault import Policy, Vault  # noqa: PLC0415
    from contactvault.export.minimal import to_vcard  # noqa: PLC0415
    from contactvault.sync import messenger_book  # noqa: PLC0415

    with vaultbench._kdf_clock() as spent:
        opened, vault = timed(lambda: Vault.open(location, PASSPHRASE))
    try:
        built, book = timed(lambda: messenger_book(vault, Policy.from_vault(vault)))
        written, text = timed(functools.partial(to_vcard, book))
        rss = _self_rss()
        cards = [(uid, entry.display_name, entry.phone_e164) for uid, entry in book.cards()]
        written_cards = text.count("BEGIN:VCARD\r\n")
    finally:
        vault.close()
    if written_cards != len(cards) or not cards:
        raise RuntimeError(f"the book's vCard holds {written_cards} of {len(cards)} cards")
    del book, text  # as book.py does: vobject runs in a process that no longer holds the book
    alternative, other = timed(lambda: bookbench._vobject_book(cards))
    if other.count("BEGIN:VCARD\r\n") != len(cards):
        raise RuntimeError("vobject wrote another number of cards")
    return {
        "open": opened,
        "kdf_inside": sum(spent) if spent else kdf,
        "messenger_book": built,
        "to_vcard": written,
        "entries": len(cards),
        "rss": rss,
        "vobject_build": alternative,
    }


def _child_warm(location: str, folder: str, changed: list[str]) -> Json:
    """Open, export cold, 10 changes, export warm; a fresh open must write the warm export's bytes."""
    from contactvault import Policy, Vault  # noqa: PLC0415
    from contactvault.sync import export_book, messenger_book  # noqa: PLC0415

    out = Path(folder)

    def export(vault: Vault) -> int:
        # Each export goes to the same file, as a person exporting again does (the log records only what
        # changed there); a copy of it is kept (untimed) for the comparison below.
        book = messenger_book(vault, Policy.from_vault(vault))
        export_book(vault, book, out / "book.vcf")
        return len(book)

    def change(vault: Vault) -> None:
        for index, cid in enumerate(changed):
            if index % 2:
                vault.withdraw_consent(cid, "messenger", channel="written")
            else:
                vault.add_label(cid, "pipeline-benchmark")

    vault = Vault.open(location, PASSPHRASE)
    try:
        cold, cold_entries = timed(lambda: export(vault))
        shutil.copyfile(out / "book.vcf", out / "cold.vcf")
        rss_cold = _self_rss()
        changes, _ = timed(lambda: change(vault))
        warm, warm_entries = timed(lambda: export(vault))
        shutil.copyfile(out / "book.vcf", out / "warm.vcf")
        rss = _self_rss()
    finally:
        vault.close()
    with Vault.open(location, PASSPHRASE) as fresh:
        export(fresh)
    if (out / "book.vcf").read_bytes() != (out / "warm.vcf").read_bytes():
        raise RuntimeError("the warm export differs from what a fresh open exports")
    if warm_entries >= cold_entries:
        raise RuntimeError("withdrawn consents did not leave the warm export")
    return {
        "cold": cold,
        "changes": changes,
        "warm": warm,
        "entries_cold": cold_entries,
        "entries_warm": warm_entries,
        "rss_cold": rss_cold,
        "rss": rss,
    }


_CHILDREN: dict[str, Callable[..., Json]] = {
    "vobject_parse": _child_vobject_parse,
    "prepare": _child_prepare,
    "book": _child_book,
    "warm": _child_warm,
}


# --- khard --------------------------------------------------------------------------------------------


def _cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "contactvault-bench"


def khard(mode: str) -> tuple[Path | None, str]:
    """The khard executable in the benchmark's own venv, installed if ``mode`` allows; else why not."""
    venv = _cache() / "khard-venv"
    exe = venv / "bin" / "khard"

    def version() -> str:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            done = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60, check=False)
            return done.stdout.strip().rpartition(" ")[2]
        return ""

    if mode == "skip":
        return None, "not available: skipped (--khard skip)"
    if exe.is_file() and version().startswith(KHARD + "."):
        return exe, f"khard {version()}"
    if mode != "install":
        return None, f"not available: no khard {KHARD} in {venv} (--quick installs nothing; --khard install)"
    print(f"installing khard {KHARD} into {venv} ...", flush=True)
    try:
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", venv], check=True, capture_output=True, timeout=300)
        subprocess.run(
            [venv / "bin" / "python", "-m", "pip", "install", "-q", f"khard=={KHARD}.*"],
            check=True,
            capture_output=True,
            timeout=900,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        last = detail.decode("utf-8", "replace").strip().splitlines()[-1:] if detail else [str(exc)]
        return None, f"not available: install failed: {last[0] if last else exc}"
    found = version()
    if not found.startswith(KHARD + "."):
        return None, f"not available: the venv's khard reports {found!r}"
    return exe, f"khard {found}"


def write_vdir(folder: Path, cards: Sequence[str]) -> Path:
    """One ``.vcf`` per card (named by its UID), and a khard config with that address book."""
    vdir = folder / "vdir"
    vdir.mkdir()
    for number, text in enumerate(cards):
        found = re.search(r"\r\nUID:([^\r]+)\r\n", text)
        (vdir / f"{found.group(1) if found else number}.vcf").write_text(text, encoding="utf-8", newline="")
    config = folder / "khard.conf"
    config.write_text(
        f"[addressbooks]\n[[bench]]\npath = {vdir}\n\n[general]\ndebug = no\ndefault_action = list\n"
        "editor = /bin/false\nmerge_editor = /bin/false\n",
        encoding="utf-8",
    )
    return config


def search_term(cards: Sequence[str]) -> tuple[str, str]:
    """A number typed as ``+49...`` (no spaces) that only one card has, and that card's given name."""
    tel = re.compile(r"TEL[^:\r\n]*:([^\r\n]+)\r\n")
    counts = Counter(re.sub(r"\D", "", value) for text in cards for value in tel.findall(text))
    for text in cards:
        for value in tel.findall(text):
            if re.fullmatch(r"\+49\d{10,11}", value) and counts[value[1:]] == 1:
                given = re.search(r"\r\nN:[^;\r]*;([^;\r]*);", text)
                return value, given.group(1) if given else ""
    raise RuntimeError("no card has a number that only it has")


# --- the pipeline -------------------------------------------------------------------------------------


@dataclass(slots=True)
class Pipeline:
    """The run's settings, its folder, and the stages measured so far (name -> figures)."""

    folder: Path
    env: dict[str, str]
    passphrase: Path
    repeats: int
    stages: dict[str, Json]

    def cli(self, *args: str, vault: str | None = None, tty: bool = False) -> Ran:
        """One ``contactvault`` command (on ``vault``, opened with the passphrase file)."""
        opens = ["--vault", vault, "--passphrase-file", str(self.passphrase)] if vault else []
        return checked(f"contactvault {args[0]}", run([*cli(), *args, *opens], self.env, tty=tty))

    def record(
        self, name: str, cards: int, seconds: Sequence[float], rss: Sequence[int], **extra: object
    ) -> None:
        """A stage's runs: seconds (best counts), peak RSS of the runs, per card of ``cards``."""
        best = min(seconds)
        self.stages[name] = {
            **common.runs(seconds),
            "cards": cards,
            "per_card": best / cards if cards else None,
            "peak_rss_mib": max(rss) / MIB if rss else None,
            **extra,
        }

    def repeat(self, name: str, cards: int, action: Callable[[], Ran], **extra: object) -> list[Ran]:
        """``action`` ``repeats`` times, recorded as ``name``."""
        done = [action() for _ in range(self.repeats)]
        self.record(name, cards, [r.seconds for r in done], [r.rss for r in done], **extra)
        return done

    def unavailable(self, name: str, reason: str) -> None:
        """A stage that could not run, and why."""
        self.stages[name] = {"available": False, "reason": reason}


def kdf_alone() -> list[float]:
    """``derive_kek`` with the default parameters, ``KDF_RUNS`` times (what each command's open spends)."""
    from contactvault import KdfParams  # noqa: PLC0415
    from contactvault.crypto import SALT_SIZE, derive_kek, random_bytes  # noqa: PLC0415

    salt = random_bytes(SALT_SIZE)
    return [timed(lambda: derive_kek(PASSPHRASE, salt, KdfParams.default()))[0] for _ in range(KDF_RUNS)]


def import_stages(
    p: Pipeline, file: Path, cards: int, *, prefix: str, location: Callable[[int], str], kdf: float
) -> str:
    """``init`` then ``import FILE`` into a new vault, ``repeats`` times; the last vault's location."""
    inits, imports, where = [], [], ""
    for attempt in range(p.repeats):
        where = location(attempt)
        inits.append(p.cli("init", vault=where))
        imports.append(p.cli("import", str(file), "--region", REGION, vault=where))
    p.record(f"{prefix}init", 0, [r.seconds for r in inits], [r.rss for r in inits])
    p.record(f"{prefix}import", cards, [r.seconds for r in imports], [r.rss for r in imports])
    best = min(r.seconds for r in imports) - kdf
    p.stages[f"{prefix}import_excluding_kdf"] = {"best": best, "per_card": best / cards, "cards": cards}
    return where


def book_stages(p: Pipeline, vault: str, cards: int, *, prefix: str, kdf: float) -> None:
    """``book`` and ``export`` commands and the in-process cold book on the eligible vault."""
    p.repeat(f"{prefix}book_cli", cards, lambda: p.cli("book", vault=vault))
    target = p.folder / f"{prefix}export.vcf"
    p.repeat(f"{prefix}export_cli", cards, lambda: p.cli("export", str(target), vault=vault))
    books = [child("book", p.env, location=vault, kdf=kdf) for _ in range(p.repeats)]
    figures = [f for f, _ in books]
    cold = [f["open"] - f["kdf_inside"] + f["messenger_book"] + f["to_vcard"] for f in figures]
    best = figures[cold.index(min(cold))]
    p.record(
        f"{prefix}book_cold",
        cards,
        cold,
        [f["rss"] for f in figures],
        entries=best["entries"],
        open_excluding_kdf=best["open"] - best["kdf_inside"],
        messenger_book=best["messenger_book"],
        to_vcard=best["to_vcard"],
    )
    if not prefix:
        p.record("vobject_build", best["entries"], [f["vobject_build"] for f in figures], [])


def list_stages(p: Pipeline, vault: str, cards: Sequence[str], exe: Path | None, why: str) -> Json:
    """``list`` to a pipe and a terminal, ``show NUMBER``; the same with khard on a vdir of ``cards``."""
    term, given = search_term(cards)
    count = len(cards)
    p.repeat("list_pipe", count, lambda: p.cli("list", vault=vault))
    p.repeat("list_tty", count, lambda: p.cli("list", vault=vault, tty=True))
    p.repeat("show", count, lambda: p.cli("show", term, vault=vault))
    if exe is None:
        for name in ("khard_list_pipe", "khard_list_tty", "khard_show"):
            p.unavailable(name, why)
        return {"search": "a number typed +49... that one card has"}
    config = write_vdir(p.folder, cards)
    khard_cmd = [str(exe), "--config", str(config)]
    listed = p.repeat(
        "khard_list_pipe", count, lambda: checked("khard list", run([*khard_cmd, "list"], p.env))
    )
    if listed[-1].out.count(b"\n") < count:
        raise RuntimeError(f"khard list printed fewer lines than {count} cards")
    p.repeat(
        "khard_list_tty", count, lambda: checked("khard list", run([*khard_cmd, "list"], p.env, tty=True))
    )
    shown = p.repeat(
        "khard_show", count, lambda: checked("khard show", run([*khard_cmd, "show", term], p.env))
    )
    if given.encode("utf-8") not in shown[-1].out:
        raise RuntimeError("khard show did not show the one card the number selects")
    return {"search": "a number typed +49... that one card has", "khard": why}


def warm_stages(p: Pipeline, vault: str, changed: Sequence[str], cards: int) -> None:
    """Export, 10 changes, export again, in one process; each run changes other contacts."""
    runs = []
    for attempt in range(p.repeats):  # a consent is withdrawn once: each run takes the next 10 contacts
        folder = p.folder / f"warm-{attempt}"
        folder.mkdir()
        ids = list(changed[attempt * CHANGES : (attempt + 1) * CHANGES])
        runs.append(child("warm", p.env, location=vault, folder=str(folder), changed=ids)[0])
    p.record("export_cold_in_process", cards, [f["cold"] for f in runs], [f["rss_cold"] for f in runs])
    p.record("changes", CHANGES, [f["changes"] for f in runs], [])
    p.record(
        "export_warm",
        cards,
        [f["warm"] for f in runs],
        [f["rss"] for f in runs],
        entries_cold=runs[0]["entries_cold"],
        entries_warm=runs[0]["entries_warm"],
    )


def postgres_stages(p: Pipeline, url: str | None, file: Path, *, kdf: float, prepared: Json) -> None:
    """Import, add_many, book, export and the cold book on PostgreSQL (or why they could not run)."""
    if url is None:
        from tests.pg_server import unavailable  # noqa: PLC0415  (on the path once _postgres ran)

        why = f"not available: {unavailable() or 'no PostgreSQL server'}"
        for name in ("pg_import", "pg_add_many", "pg_book_cli", "pg_export_cli", "pg_book_cold"):
            p.unavailable(name, why)
        return
    schema, cards = _pg_schema(url), int(prepared["facts"]["cards"])
    print("PostgreSQL: init, import, book, export ...", flush=True)
    import_stages(p, file, cards, prefix="pg_", location=lambda i: schema(f"imported{i}"), kdf=kdf)
    p.record("pg_add_many", cards, [prepared["postgresql"]["add_many"]], [])
    book_stages(p, str(prepared["postgresql_location"]), cards, prefix="pg_", kdf=kdf)


def measure(args: argparse.Namespace, folder: Path, stack: contextlib.ExitStack) -> tuple[Json, Json]:
    """Every stage; the stages and the input's facts."""
    env = {**os.environ, "CONTACTVAULT_STATE_DIR": str(folder / "state")}  # throwaway vaults: not the user's
    for name in ("CONTACTVAULT_VAULT", "CONTACTVAULT_USER", "CONTACTVAULT_PASSPHRASE_FILE"):
        env.pop(name, None)
    passphrase = folder / "passphrase"
    passphrase.write_text(PASSPHRASE + "\n", encoding="utf-8")
    passphrase.chmod(0o600)
    p = Pipeline(folder, env, passphrase, args.repeats, {})
    n = args.cards

    print(f"generating {n:,} cards (seed {args.seed}) ...", flush=True)
    generated, file = timed(lambda: generate.write(folder / "cards.vcf", n, args.seed))
    facts: Json = {
        "cards": n,
        "file_bytes": file.stat().st_size,
        "generate_seconds": generated,
        "list_cards": args.list_cards,
        "cli": cli(),
    }

    facts["bytecode"] = compile_package()
    print("KDF alone, CLI start-up ...", flush=True)
    kdf_runs = kdf_alone()
    kdf = statistics.median(kdf_runs)
    p.stages["kdf"] = {**common.runs(kdf_runs), "median": kdf}
    p.repeat("cli_startup", 0, lambda: p.cli("--version"))

    print(f"import: contactvault import of {n:,} cards, vobject readComponents ...", flush=True)
    imported = import_stages(
        p, file, n, prefix="", location=lambda i: str(folder / f"imported-{i}.db"), kdf=kdf
    )
    parses = [child("vobject_parse", env, file=str(file)) for _ in range(p.repeats)]
    p.record("vobject_parse", n, [f["seconds"] for f, _ in parses], [r.rss for _, r in parses])

    url = None
    if args.postgres:
        from concurrency import _postgres  # noqa: PLC0415

        url = _postgres(stack, args.postgres_url)
    pg_eligible = _pg_schema(url)("eligible") if url else None
    print(f"book's vault: {n:,} eligible contacts, add_many, plain SQLite ...", flush=True)
    eligible = str(folder / "eligible.db")
    prepared, _ = child(
        "prepare",
        env,
        folder=str(folder),
        cards=n,
        seed=args.seed,
        sqlite=eligible,
        plain=str(folder / "plain.db"),
        postgres=pg_eligible,
        changes=CHANGES * p.repeats,
    )
    prepared["postgresql_location"] = pg_eligible
    facts["eligible"] = prepared["facts"]
    p.record("add_many", n, [prepared["sqlite"]["add_many"]], [])
    p.record("plain_sqlite_insert", n, [prepared["plain_insert"]], [])

    print("book, export; export warm: 10 changes, export again ...", flush=True)
    book_stages(p, eligible, n, prefix="", kdf=kdf)
    warm_stages(p, eligible, prepared["changed"], n)

    print(f"list and show on {args.list_cards:,} contacts, khard ...", flush=True)
    subset = list(generate.cards(args.list_cards, args.seed))
    if args.list_cards == n:
        listed = imported
    else:
        subset_file = folder / "subset.vcf"
        subset_file.write_text("".join(subset), encoding="utf-8", newline="")
        listed = str(folder / "subset.db")
        p.cli("init", vault=listed)
        p.cli("import", str(subset_file), "--region", REGION, vault=listed)
    exe, why = khard(args.khard)
    facts["list"] = list_stages(p, listed, subset, exe, why)
    facts["khard"] = why
    path = ("init", "import", "book_cli", "export_cli", "list_tty", "show")
    total = sum(p.stages[name]["best"] for name in path)
    p.stages["end_to_end"] = {"best": total, "per_card": total / n, "cards": n, "stages": list(path)}
    if args.postgres:
        postgres_stages(p, url, file, kdf=kdf, prepared=prepared)
    return p.stages, facts


def _pg_schema(url: str) -> Callable[[str], str]:
    """A stable URL per name (one schema each) on the server at ``url``."""
    from concurrency import _schema  # noqa: PLC0415

    made: dict[str, str] = {}

    def location(name: str) -> str:
        if name not in made:
            made[name] = _schema(url, f"bench_pipeline_{name}")
        return made[name]

    return location


# --- targets and the table ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """One of the issue's targets, on the table row of ``stage``: ``value`` against ``limit``."""

    name: str
    stage: str
    limit: float
    at_least: bool
    value: float | None
    text: str
    reason: str = ""

    @property
    def met(self) -> bool | None:
        """Whether the value is on the right side of the limit (``None``: not measured)."""
        if self.value is None:
            return None
        return self.value >= self.limit if self.at_least else self.value <= self.limit

    def as_json(self) -> Json:
        """The target as the report stores it."""
        return {
            "name": self.name,
            "stage": self.stage,
            "limit": self.limit,
            "at_least": self.at_least,
            "value": self.value,
            "met": self.met,
            "text": self.text,
            "reason": self.reason or None,
        }


def _best(stages: Json, name: str) -> float | None:
    stage = stages.get(name)
    if not isinstance(stage, dict) or "best" not in stage:
        return None
    return float(stage["best"])


def _why(stages: Json, *names: str) -> str:
    for name in names:
        stage = stages.get(name)
        if isinstance(stage, dict) and stage.get("reason"):
            return str(stage["reason"])
        if stage is None:
            return f"not available: {name} was not measured"
    return ""


def targets_of(stages: Json, cards: int) -> list[Target]:
    """The issue's targets with the values of this run (ratios in the same run)."""

    def ratio(
        name: str, stage: str, top: str, bottom: str, limit: float, *, faster: bool, text: str
    ) -> Target:
        a, b = _best(stages, top), _best(stages, bottom)
        value = a / b if a is not None and b is not None and b > 0 else None
        return Target(
            name, stage, limit, faster, value, text, _why(stages, top, bottom) if value is None else ""
        )

    rss = stages["import"].get("peak_rss_mib")
    scaled = BOOK_COLD * cards / BOOK_CARDS
    found = [
        Target("import_rss", "import", RSS_IMPORT / MIB, False, rss, "< 300 MB"),
        ratio(
            "import_vs_vobject",
            "import_excluding_kdf",
            "vobject_parse",
            "import_excluding_kdf",
            RATIO_IMPORT,
            faster=True,
            text=">= 2.5x vobject parse",
        ),
        ratio(
            "add_many_vs_plain",
            "add_many",
            "add_many",
            "plain_sqlite_insert",
            RATIO_ADD_MANY,
            faster=False,
            text="<= 2x plain SQLite",
        ),
        Target(
            "book_cold",
            "book_cold",
            scaled,
            False,
            _best(stages, "book_cold"),
            f"< {scaled:.3g} s (2 s per 100k)",
        ),
        ratio(
            "book_vs_vobject",
            "vobject_build",
            "vobject_build",
            "book_cold",
            RATIO_BOOK,
            faster=True,
            text=">= 5x (vobject / book cold)",
        ),
        Target("export_warm", "export_warm", WARM, False, _best(stages, "export_warm"), "< 0.25 s"),
    ]
    found += [
        ratio(f"{ours}_vs_khard", ours, f"khard_{ours}", ours, RATIO_KHARD, faster=True, text=">= 10x khard")
        for ours in ("list_pipe", "list_tty", "show")
    ]
    if any(name.startswith("pg_") for name in stages):
        found += [
            ratio(
                f"pg_{ours}_vs_sqlite",
                f"pg_{ours}",
                f"pg_{ours}",
                ours,
                RATIO_POSTGRES,
                faster=False,
                text="<= 2x SQLite",
            )
            for ours in ("import_excluding_kdf", "add_many", "book_cli", "export_cli", "book_cold")
        ]
    return found


ROWS = (
    ("kdf", "KDF alone (Argon2id default), median", ""),
    ("cli_startup", "contactvault --version (start-up)", ""),
    ("init", "contactvault init (one KDF)", ""),
    ("import", "contactvault import FILE", "CLI process, new vault"),
    ("import_excluding_kdf", "  import excluding KDF", "minus the KDF alone"),
    ("vobject_parse", "vobject readComponents", "anchor: parse only"),
    ("add_many", "Vault.add_many (eligible contacts)", "in-process, default KDF vault"),
    ("plain_sqlite_insert", "plain SQLite insert, same rows", "anchor (vault.py's)"),
    ("book_cli", "contactvault book", "CLI, table to a pipe"),
    ("book_cold", "open + messenger_book + to_vcard, cold", "in-process, KDF left out"),
    ("vobject_build", "vobject build + serialise the book", "anchor"),
    ("export_cli", "contactvault export PATH", "CLI"),
    ("export_cold_in_process", "export, first in the process", "in-process, after open"),
    ("changes", "10 changes (5 labels, 5 withdrawals)", "API"),
    ("export_warm", "export again, warm", "same process"),
    ("list_pipe", "contactvault list | cat", "list-cards vault"),
    ("khard_list_pipe", "khard list | cat", "anchor"),
    ("list_tty", "contactvault list (terminal)", "pseudo-terminal"),
    ("khard_list_tty", "khard list (terminal)", "anchor"),
    ("show", "contactvault show NUMBER", ""),
    ("khard_show", "khard show NUMBER", "anchor"),
    ("end_to_end", "user path, end to end", "init + import + book + export + list (terminal) + show"),
    ("pg_init", "PostgreSQL: contactvault init", ""),
    ("pg_import", "PostgreSQL: contactvault import FILE", ""),
    ("pg_import_excluding_kdf", "PostgreSQL:   import excluding KDF", ""),
    ("pg_add_many", "PostgreSQL: Vault.add_many", ""),
    ("pg_book_cli", "PostgreSQL: contactvault book", ""),
    ("pg_export_cli", "PostgreSQL: contactvault export PATH", ""),
    ("pg_book_cold", "PostgreSQL: book + vCard, cold", ""),
)
"""Table rows in order: stage key, label, note."""


def result_table(stages: Json, targets: Sequence[Target]) -> str:
    """One row per stage: seconds, per card, peak RSS, ratio (for a ratio target), target, met, note."""
    by_stage = {t.stage: t for t in targets}
    rows: list[list[str]] = []
    for key, label, note in ROWS:
        stage = stages.get(key)
        if not isinstance(stage, dict):
            continue
        target = by_stage.get(key)
        if "best" not in stage:
            rows.append(
                [label, "n/a", "", "", "", target.text if target else "", "", str(stage.get("reason", ""))]
            )
            continue
        per = stage.get("per_card")
        rss = stage.get("peak_rss_mib")
        ratio = met = ""
        if target is not None:
            met = {True: "yes", False: "NO", None: "n/a"}[target.met]
            if (
                target.value is not None
                and target.name != "import_rss"
                and target.stage not in ("book_cold", "export_warm")
            ):
                ratio = f"{target.value:.2f}x"
        rows.append(
            [
                label,
                duration(float(stage["best"])),
                duration(float(per)) if per else "",
                f"{rss:.0f}" if rss else "",
                ratio,
                target.text if target else "",
                met,
                (note + "; " if note and target and target.reason else note)
                + (target.reason if target else ""),
            ]
        )
    headers = ["stage", "seconds", "per card", "peak RSS MiB", "ratio", "target", "met", "note"]
    return common.table(headers, rows, [False, True, True, True, True, False, False, False])


def report_lines(report: Json, targets: Sequence[Target]) -> list[str]:
    """Machine, packages, input, the table and the verdict."""
    machine, packages, source = report["machine"], report["packages"], report["source"]
    load = machine["load_average"]
    loads = " ".join(f"{a:.2f}" for a in load) if isinstance(load, list) else "unknown"
    after = report["load_average_after"]
    facts = report["input"]
    missed = ", ".join(t.name for t in targets if t.met is False)
    unmeasured = ", ".join(t.name for t in targets if t.met is None)
    lines = [
        f"machine: {machine['platform']} | {machine['cpu']} | {machine['cpu_count']} CPUs | "
        f"{machine['implementation']} {machine['python']} | load {loads} (after: "
        + (" ".join(f"{a:.2f}" for a in after) if isinstance(after, list) else "unknown")
        + ")",
        "packages: "
        + ", ".join(f"{name} {version}" for name, version in packages.items())
        + f" (contactvault at {source['commit'] or 'unknown commit'}"
        + (", with uncommitted changes)" if source["modified"] else ")"),
        f"input: {facts['cards']:,} generated cards ({facts['file_bytes'] / MIB:.1f} MiB), list and show on "
        f"the first {facts['list_cards']:,}; {facts['khard']}; commands run as {' '.join(facts['cli'])}; "
        f"bytecode: {facts.get('bytecode', 'not compiled')}",
        "",
        result_table(report["stages"], targets),
        "",
        "targets: all met"
        if not missed and not unmeasured
        else f"targets NOT met: {missed or 'none'}; not measured: {unmeasured or 'none'}",
    ]
    return lines


# --- command line -------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Options; ``--quick`` only changes the defaults that were not given."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cards", type=int, help=f"cards in the export (default {DEFAULT_CARDS:,})")
    parser.add_argument(
        "--list-cards", type=int, help=f"cards for list and show (default {DEFAULT_LIST_CARDS:,})"
    )
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each stage, best counts (default 1)")
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL (a throwaway server)")
    parser.add_argument("--postgres-url", help="with --postgres: this server instead of a throwaway one")
    parser.add_argument(
        "--khard",
        choices=("auto", "install", "skip"),
        default="auto",
        help="auto: install khard into its venv unless --quick (default)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON goes")
    parser.add_argument("--quick", action="store_true", help=f"CI smoke run: {QUICK_CARDS:,} cards")
    args = parser.parse_args(argv)
    if args.cards is None:
        args.cards = QUICK_CARDS if args.quick else DEFAULT_CARDS
    if args.list_cards is None:
        args.list_cards = min(DEFAULT_LIST_CARDS, args.cards)
    if args.khard == "auto":
        args.khard = "use" if args.quick else "install"
    if args.cards < 10 or args.repeats < 1 or not 10 <= args.list_cards <= args.cards:
        parser.error("--cards must be at least 10, --list-cards between 10 and --cards, --repeats at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the pipeline (or, with ``--child``, one in-process stage), print the table, write the JSON."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        print(json.dumps(_CHILDREN[argv[1]](**json.loads(argv[2]))))
        return 0
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="backslashreplace")  # "µs" on a terminal that cannot show it
    args = parse_args(argv)
    env = common.environment(("vobject", "cryptography", "pydantic", "phonenumbers"))
    start = time.perf_counter()
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory(prefix="contactvault-pipeline-") as tmp:
        stages, facts = measure(args, Path(tmp), stack)
    targets = targets_of(stages, args.cards)
    report: Json = {
        "schema": 1,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        **env,
        "load_average_after": list(os.getloadavg()),
        "parameters": {
            "cards": args.cards,
            "list_cards": args.list_cards,
            "seed": args.seed,
            "repeats": args.repeats,
            "quick": args.quick,
            "postgres": args.postgres,
            "khard": args.khard,
            "default_region": REGION,
            "changes": CHANGES,
            "terminal": {"rows": TERMINAL[0], "columns": TERMINAL[1]},
        },
        "input": facts,
        "stages": stages,
        "targets": [t.as_json() for t in targets],
        "seconds": time.perf_counter() - start,
    }
    print()
    print("\n".join(report_lines(report, targets)))
    path = common.write_report(report, args.out, "pipeline", "pipeline-latest.json")
    print(f"\nwrote {path} and {path.with_name('pipeline-latest.json')} ({report['seconds']:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
