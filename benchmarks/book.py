"""How fast the vault builds the minimal messenger book and writes it as a vCard file, against vobject.

Issue 17 asks, for 100,000 contacts: building the book and writing the minimal vCard right after a fresh
open in under 2 s, the key derivation aside, and at least 5 times faster than building and serialising the
same cards with vobject in the same run; and the second book and vCard in the same process, after 10
changes, in under 0.25 s (the open vault keeps its decrypted directory and the book's decisions). This
script measures all three, with the default Argon2id parameters, and splits the cold book's time into
its stages so that the numbers show where the time goes.

The contacts come from ``benchmarks/generate.py`` (same seed, same cards) imported with
``import_vcards(path, default_region="DE")``. Before they are stored, each contact gets a messenger
consent and each of its numbers with an E.164 form a positive messenger presence checked a day earlier,
so that the default policy (``Policy.default()``) allows every mobile number; it still refuses landlines
and numbers without an E.164 form. The contacts go into a vault with the default KDF in one ``add_many``
(setup, timed only as context), and then, in each of ``--repeats`` rounds, the vault is opened and each
stage timed. The best round counts.

The obvious alternative runs in the same process on the same cards: for each ``(uid, display name,
E.164)`` of the book, a ``vobject.vCard()`` with VERSION, UID, N, FN and TEL (type CELL), serialised with
``serialize()``. The ratio vobject / contactvault compares it with building the book plus writing its
vCard.

Usage::

    python benchmarks/book.py [--contacts 100000] [--seed 1] [--repeats 3] [--out DIR] [--quick]

It prints a table and writes ``<out>/book-<UTC timestamp>.json`` and ``<out>/book-latest.json``.
The vault lives in a temporary directory that is removed at the end.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import io
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import vobject

import common
import contactvault
import generate
from common import duration as _duration
from common import number as _number
from common import runs
from common import runs_text as _runs_text
from common import timed as _timed
from contactvault import ConsentRecord, Contact, DirectoryEntry, KdfParams, MessengerPresence, Vault
from contactvault.book import MessengerBook
from contactvault.crypto import SALT_SIZE, derive_kek, random_bytes
from contactvault.export.minimal import to_vcard
from contactvault.importers._gc import paused_gc
from contactvault.sync import explain, messenger_book
from contactvault.sync.policy import Decision, Policy
from contactvault.sync.validity import decision_window

DEFAULT_CONTACTS = 100_000
QUICK_CONTACTS = 2_000
DEFAULT_REPEATS = 3
REGION = "DE"
PASSPHRASE = "correct horse battery staple"  # noqa: S105  (a throwaway vault of made-up contacts)
KDF_RUNS = 3
TARGET_SECONDS = 2.0
"""Issue 17's limit for the book and its vCard after a fresh open, 100,000 contacts, the KDF aside."""
TARGET_RATIO = 5.0
"""Issue 17's minimum speed-up over vobject building and serialising the same cards."""
TARGET_WARM = 0.25
"""Issue 17's limit for the second book and vCard in the same process, after ``CHANGES`` changes."""
CHANGES = 10
"""Contacts changed (a new messenger check of their first number) between the cold and the warm book."""
RESULTS = Path(__file__).resolve().parent / "results"
CONSENT = ConsentRecord(
    purpose="messenger",
    granted_at=datetime(2024, 3, 1, 9, 30, tzinfo=UTC),
    channel="written",
    notice_id="notice-messenger",
    notice_version="3",
    recorded_by="benchmark",
)

Json = dict[str, object]
T = TypeVar("T")


# --- the input ----------------------------------------------------------------------------------------


def eligible(contact: Contact, now: datetime) -> Contact:
    """``contact`` with a messenger consent and, on each number with an E.164 form, a messenger presence."""
    presence = MessengerPresence(present=True, source="benchmark", checked_at=now - timedelta(days=1))
    phones = tuple(
        phone.model_copy(update={"messenger": presence}) if phone.e164 is not None else phone
        for phone in contact.phones
    )
    return contact.model_copy(update={"phones": phones, "consents": (*contact.consents, CONSENT)})


def make_contacts(directory: Path, count: int, seed: int, now: datetime) -> tuple[list[Contact], Json]:
    """Generate ``count`` cards with ``generate.py``, import them, make them eligible (untimed setup)."""
    start = time.perf_counter()
    path = generate.write(directory / f"cards-{count}-seed-{seed}.vcf", count, seed)
    generated = time.perf_counter() - start
    start = time.perf_counter()
    result = contactvault.import_vcards(path, default_region=REGION)
    imported = time.perf_counter() - start
    path.unlink()
    contacts = [eligible(contact, now) for contact in result.contacts]
    phones = [phone for contact in contacts for phone in contact.phones]
    facts: Json = {
        "cards": count,
        "generate_seconds": generated,
        "import_seconds": imported,
        "contacts": len(contacts),
        "numbers": len(phones),
        "numbers_e164": sum(1 for p in phones if p.e164 is not None),
        "numbers_mobile": sum(
            1 for p in phones if p.e164 is not None and p.kind in ("mobile", "fixed_or_mobile")
        ),
        "import_errors": len(result.errors),
    }
    return contacts, facts


# --- measuring ----------------------------------------------------------------------------------------


def _timed_without_gc(action: Callable[[], T]) -> tuple[float, T]:
    """``_timed`` with the cyclic collector paused, as ``messenger_book`` pauses it for its own work."""
    with paused_gc():
        return _timed(action)


@contextlib.contextmanager
def _collector_clock() -> Iterator[list[float]]:
    """Time each run of the cyclic garbage collector meanwhile (``gc.callbacks``), in seconds."""
    spent: list[float] = []
    started: list[float] = []

    def clock(phase: str, info: dict[str, int]) -> None:
        del info
        if phase == "start":
            started.append(time.perf_counter())
        elif started:
            spent.append(time.perf_counter() - started.pop())

    gc.callbacks.append(clock)
    try:
        yield spent
    finally:
        gc.callbacks.remove(clock)


def _timed_book(vault: Vault, policy: Policy, now: datetime) -> tuple[float, float, MessengerBook]:
    """Seconds of one ``messenger_book`` call, the collector's seconds within it, and the book."""
    gc.collect()  # before the collector's clock starts: this collection is not the call's
    with _collector_clock() as collections:
        start = time.perf_counter()
        book = messenger_book(vault, policy, now=now)
        seconds = time.perf_counter() - start
    return seconds, sum(collections), book


def _cards_in(text: str) -> int:
    return text.count("BEGIN:VCARD\r\n")


@dataclass(frozen=True, slots=True)
class Round:
    """One round's seconds: open, the book twice, its vCard, and the stages the book is made of."""

    open: float
    book_cold: float
    book_warm: float
    collector_cold: float
    collector_warm: float
    vcard: float
    vcard_warm: float
    iterate: float
    explain: float
    constructor: float


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one round produced: the vCard text, what the policy decided, the book's size and cards."""

    text: str
    decided: Json
    entries: int
    policy_digest: str
    cards: list[tuple[str, str, str]]


def _decided(decisions: Sequence[tuple[DirectoryEntry, Decision]]) -> Json:
    """How many contacts and numbers the policy allowed, and how often each reason refused a number."""
    refused: Counter[str] = Counter(
        reason for _, d in decisions for n in d.per_number if not n.allowed for reason in n.reasons
    )
    return {
        "contacts": len(decisions),
        "contacts_allowed": sum(1 for _, d in decisions if d.allowed),
        "numbers_allowed": sum(len(d.numbers) for _, d in decisions),
        "refusals_by_reason": dict(sorted(refused.items())),
    }


def _round(path: Path, policy: Policy, now: datetime, *, first: bool, last: bool) -> tuple[Round, Outcome]:
    """Open the vault, build the book and write its vCard, build it again, time the stages, close.

    Only strings (which the garbage collector does not track) outlive a book: the cold book is dropped
    before the warm one is built, and a round's book before the next round, so that no collection walks an
    earlier book. The first round also counts, untimed, what the policy allowed and why it refused the
    rest; the last keeps the book's ``(uid, name, number)`` triples for vobject.
    """
    opened, vault = _timed(lambda: Vault.open(path, PASSPHRASE))
    try:
        cold, collector_cold, book = _timed_book(vault, policy, now)
        vcard, text = _timed(lambda: to_vcard(book))
        del book
        _change(vault, now)  # CHANGES contacts re-checked: new versions, the same book
        warm, collector_warm, book = _timed_book(vault, policy, now)
        vcard_warm, warm_text = _timed(lambda: to_vcard(book))
        if warm_text != text:
            raise RuntimeError("the book after the changes differs from the one before")
        with Vault.open(path, PASSPHRASE) as fresh:  # the stages of a cold book, apart
            # decrypts and validates: a fresh open (the vault keeps the JSON, not the entries)
            iterate, entries = _timed_without_gc(lambda: sum(1 for _ in fresh))
            held = list(fresh)  # untimed: the policy's share alone, decisions and their spans
            explained, decided_count = _timed_without_gc(functools.partial(_decide_all, policy, held, now))
            held.clear()
            if entries != decided_count or entries != len(fresh):
                raise RuntimeError("explain() did not decide every contact")
            decided = _decided(list(explain(fresh, policy, now=now))) if first else {}
        digest = book.policy_digest
        constructor, _ = _timed_without_gc(lambda: MessengerBook(book.cards(), policy_digest=digest))
    finally:
        vault.close()
    if first and decided["numbers_allowed"] != len(book):
        raise RuntimeError("the book does not hold the numbers the policy allowed")
    cards = [(uid, e.display_name, e.phone_e164) for uid, e in book.cards()] if last else []
    measured = Round(
        opened, cold, warm, collector_cold, collector_warm, vcard, vcard_warm, iterate, explained, constructor
    )
    return measured, Outcome(text, decided, len(book), book.policy_digest, cards)


def _decide_all(policy: Policy, entries: Sequence[DirectoryEntry], now: datetime) -> int:
    """Decide about every entry and compute the span of the decision, as ``messenger_book`` does."""
    for entry in entries:
        policy.decide(entry, now=now)
        decision_window(policy, entry, now)
    return len(entries)


def kept_bytes(path: Path, policy: Policy, now: datetime) -> Json:
    """What an open vault keeps per contact (tracemalloc, untimed): its directory, then with the book's."""
    gc.collect()
    with Vault.open(path, PASSPHRASE) as vault:
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            contacts = sum(1 for _ in vault)
            gc.collect()
            directory = tracemalloc.get_traced_memory()[0] - base
            to_vcard(messenger_book(vault, policy, now=now))
            gc.collect()
            both = tracemalloc.get_traced_memory()[0] - base
        finally:
            tracemalloc.stop()
    return {
        "contacts": contacts,
        "directory_bytes_per_contact": directory / contacts,
        "directory_and_book_bytes_per_contact": both / contacts,
    }


def _change(vault: Vault, now: datetime) -> None:
    """Record a new messenger check of the first E.164 number of ``CHANGES`` contacts (untimed)."""
    changed = 0
    for entry in vault:
        numbers = entry.e164_numbers()
        if numbers:
            vault.set_messenger_presence(
                entry.id, numbers[0], True, source="benchmark", at=now - timedelta(hours=1)
            )
            changed += 1
            if changed == CHANGES:
                return


def _vobject_card(uid: str, name: str, e164: str) -> str:
    """One minimal card built and serialised with vobject: VERSION, UID, N, FN, TEL (CELL)."""
    card = vobject.vCard()
    card.add("version").value = "3.0"
    card.add("uid").value = uid
    card.add("n").value = vobject.vcard.Name(family=name)
    card.add("fn").value = name
    tel = card.add("tel")
    tel.value = e164
    tel.type_param = "CELL"
    return str(card.serialize())


def _vobject_book(cards: Sequence[tuple[str, str, str]]) -> str:
    """Every card of the book built and serialised with vobject, joined as ``to_vcard`` joins them."""
    return "".join(_vobject_card(uid, name, e164) for uid, name, e164 in cards)


def store(directory: Path, count: int, seed: int, now: datetime) -> tuple[Path, Json]:
    """Make the contacts and store them in a new vault (setup); return its path and the input's facts.

    The contacts are dropped on return, so that the measured stages run in a process holding only the
    vault, as an application that opens one would: 100,000 contacts alive would make every full
    collection of the garbage collector walk them too.
    """
    contacts, facts = make_contacts(directory, count, seed, now)
    if len(contacts) != count:
        raise RuntimeError(f"the import gave {len(contacts)} contacts of {count}")
    path = directory / "vault.db"
    print(f"  vault: create, add_many of {count:,}, close (setup) ...", flush=True)
    start = time.perf_counter()
    with Vault.create(path, PASSPHRASE) as vault:
        stored = len(vault.add_many(contacts))
    facts["store_seconds"] = time.perf_counter() - start
    if stored != count:
        raise RuntimeError(f"add_many stored {stored} of {count} contacts")
    return path, facts


def measure(path: Path, repeats: int, now: datetime) -> Json:
    """Time ``repeats`` rounds of the book's stages on the vault at ``path``, then vobject's."""
    with Vault.open(path, PASSPHRASE) as vault:
        params = vault.kdf
    if params != KdfParams.default():
        raise RuntimeError(f"the vault was created with {params}, not the default KDF parameters")

    print(f"  KDF alone ({KDF_RUNS} runs) ...", flush=True)
    salt = random_bytes(SALT_SIZE)
    kdf = [_timed(lambda: derive_kek(PASSPHRASE, salt, params))[0] for _ in range(KDF_RUNS)]
    kdf_median = statistics.median(kdf)

    policy = Policy.default()
    rounds: list[Round] = []
    outcomes: list[Outcome] = []
    for attempt in range(repeats):
        print(f"  vault: open, book cold and warm, vCard, stages ({attempt + 1}/{repeats}) ...", flush=True)
        measured, outcome = _round(path, policy, now, first=not rounds, last=attempt == repeats - 1)
        rounds.append(measured)
        if outcomes and outcome.text != outcomes[0].text:
            raise RuntimeError("two rounds built different books")
        outcomes = [outcomes[0] if outcomes else outcome, outcome]
    first, last = outcomes
    text, decided, cards = first.text, first.decided, last.cards
    if _cards_in(text) != first.entries or len(cards) != first.entries:
        raise RuntimeError(f"the vCard holds {_cards_in(text)} cards, the book {first.entries}")
    alternative = []
    for attempt in range(repeats):
        print(
            f"  vobject: build and serialise {len(cards):,} cards ({attempt + 1}/{repeats}) ...", flush=True
        )
        seconds, other = _timed(lambda: _vobject_book(cards))
        alternative.append(seconds)
        if _cards_in(other) != len(cards):
            raise RuntimeError(f"vobject wrote {_cards_in(other)} cards of {len(cards)}")
        del other

    print("  memory: what the open vault keeps per contact (tracemalloc) ...", flush=True)
    memory = kept_bytes(path, policy, now)

    def stage(name: str) -> Json:
        return runs([getattr(r, name) for r in rounds])

    best = {name: min(getattr(r, name) for r in rounds) for name in Round.__slots__}
    return {
        "kdf_params": {
            "memory_kib": params.memory_kib,
            "iterations": params.iterations,
            "lanes": params.lanes,
        },
        "book": {
            **decided,
            "entries": first.entries,
            "vcard_bytes": len(text.encode("utf-8")),
            "policy_digest": first.policy_digest,
        },
        "kdf": {**runs(kdf), "median": kdf_median},
        "open": stage("open"),
        "open_excluding_kdf": {
            "seconds": [r.open - kdf_median for r in rounds],
            "best": best["open"] - kdf_median,
        },
        "book_cold": stage("book_cold"),
        "book_warm": stage("book_warm"),
        "vcard": stage("vcard"),
        "book_and_vcard": runs([r.book_cold + r.vcard for r in rounds]),
        "vcard_warm": stage("vcard_warm"),
        "book_and_vcard_warm": runs([r.book_warm + r.vcard_warm for r in rounds]),
        "iterate": stage("iterate"),
        "explain": stage("explain"),
        "book_constructor": stage("constructor"),
        "collector_cold": stage("collector_cold"),
        "collector_warm": stage("collector_warm"),
        "breakdown": {
            "decrypt_directories": best["iterate"],
            "policy_decisions": best["explain"],
            # messenger_book orders its cards itself; the public constructor is timed apart, not part of it
            "names_uids_entries": (
                best["book_cold"] - best["iterate"] - best["explain"] - best["collector_cold"]
            ),
            "book_constructor": best["constructor"],
            "collector": best["collector_cold"],
        },
        "memory": memory,
        "vobject": {
            **runs(alternative),
            "cards": len(cards),
            "seconds_per_card": min(alternative) / len(cards),
        },
    }


# --- targets and the report ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """One of the issue's limits: ``value`` below ``limit`` (``at_least`` false) or at least it (true)."""

    name: str
    limit: float
    unit: str
    value: float
    at_least: bool = False

    @property
    def met(self) -> bool:
        """Whether the measured value is on the right side of the limit."""
        return self.value >= self.limit if self.at_least else self.value < self.limit

    @property
    def text(self) -> str:
        """The limit as the table shows it."""
        return f">= {self.limit:g}{self.unit}" if self.at_least else f"< {self.limit:g} {self.unit}"


def ratio_of(report: Json) -> float:
    """The speed-up: the best vobject run over the best cold book plus its vCard."""
    return _number(report, "vobject", "best") / _number(report, "book_and_vcard", "best")


def targets_of(report: Json) -> list[Target]:
    """The issue's two targets with the measured values."""
    return [
        Target("book_and_vcard", TARGET_SECONDS, "s", _number(report, "book_and_vcard", "best")),
        Target("ratio_vobject", TARGET_RATIO, "x", ratio_of(report), at_least=True),
        Target("book_and_vcard_warm", TARGET_WARM, "s", _number(report, "book_and_vcard_warm", "best")),
    ]


def environment() -> dict[str, dict[str, object]]:
    """Machine, Python, package versions, and the commit of the contactvault that was measured."""
    return common.environment(("vobject", "cryptography", "pydantic", "phonenumbers"))


def result_table(report: Json) -> str:
    """Every stage, one measurement per row: value, per contact, per card of the book, target, met."""
    targets = {t.name: t for t in targets_of(report)}
    contacts = _number(report, "book", "contacts")
    entries = _number(report, "book", "entries")
    rows: list[list[str]] = []

    def add(stage: str, seconds: float, *, per_card: bool = True, target: str = "", detail: str = "") -> None:
        found = targets.get(target)
        rows.append(
            [
                stage,
                _duration(seconds),
                f"{seconds / contacts * 1e6:.2f} µs",
                f"{seconds / entries * 1e6:.2f} µs" if per_card and entries else "",
                found.text if found is not None else "",
                ("yes" if found.met else "NO") if found is not None else "",
                detail,
            ]
        )

    def best(*keys: str) -> float:
        return _number(report, *keys, "best")

    params = report["kdf_params"]
    if not isinstance(params, dict):
        raise TypeError("no kdf_params in the report")
    kdf = (
        f"Argon2id {params['memory_kib'] / 1024:g} MiB, {params['iterations']} iterations, "
        f"{params['lanes']} lanes"
    )
    add(f"KDF alone, median of {KDF_RUNS}", _number(report, "kdf", "median"), per_card=False, detail=kdf)
    add("open total", best("open"), per_card=False, detail=_runs_text(report, "open", "seconds"))
    add(
        "open excluding KDF",
        best("open_excluding_kdf"),
        per_card=False,
        detail="best open minus the KDF alone",
    )
    add(
        "messenger_book, cold",
        best("book_cold"),
        detail="first call after open; " + _runs_text(report, "book_cold", "seconds"),
    )
    add(
        "messenger_book, warm",
        best("book_warm"),
        detail=f"second call, after {CHANGES} changes; " + _runs_text(report, "book_warm", "seconds"),
    )
    add("to_vcard(book)", best("vcard"), detail=_runs_text(report, "vcard", "seconds"))
    add("to_vcard(book), warm", best("vcard_warm"), detail=_runs_text(report, "vcard_warm", "seconds"))
    add(
        "book + vCard (cold book)",
        best("book_and_vcard"),
        target="book_and_vcard",
        detail="the issue's number; " + _runs_text(report, "book_and_vcard", "seconds"),
    )
    add(
        "book + vCard (warm book)",
        best("book_and_vcard_warm"),
        target="book_and_vcard_warm",
        detail=f"the same process after {CHANGES} changes; "
        + _runs_text(report, "book_and_vcard_warm", "seconds"),
    )
    add(
        "  decrypt directories",
        _number(report, "breakdown", "decrypt_directories"),
        per_card=False,
        detail="sum(1 for _ in vault) on a fresh open (decrypt, validate), collector paused",
    )
    add(
        "  policy decisions",
        _number(report, "breakdown", "policy_decisions"),
        per_card=False,
        detail="decide() and decision_window() for each entry, collector paused",
    )
    add(
        "  names, UIDs, entries, order",
        _number(report, "breakdown", "names_uids_entries"),
        detail="cold book minus the above and the collector",
    )
    add(
        "MessengerBook(pairs), apart",
        _number(report, "breakdown", "book_constructor"),
        detail="the public constructor on book.cards() (checks, sort), collector paused; not in the book",
    )
    add(
        "  garbage collector",
        _number(report, "breakdown", "collector"),
        per_card=False,
        detail="collections during the cold book (gc.callbacks)",
    )
    add(
        "vobject: build + serialise",
        best("vobject"),
        detail=f"{_number(report, 'vobject', 'cards'):,.0f} cards; "
        + _runs_text(report, "vobject", "seconds"),
    )
    ratio = targets["ratio_vobject"]
    rows.append(
        [
            "ratio vobject / contactvault",
            f"{ratio.value:.2f}x",
            "",
            "",
            ratio.text,
            "yes" if ratio.met else "NO",
            "vobject over book + vCard (cold book)",
        ]
    )
    headers = ["stage", "value", "per contact", "per card", "target", "met", "detail"]
    return common.table(headers, rows, [False, True, True, True, True, False, False])


def report_lines(report: Json, env: dict[str, Json], facts: Json) -> list[str]:
    """Machine, input, the table and the verdict."""
    machine, packages, source = env["machine"], env["packages"], env["source"]
    load = machine["load_average"]
    loads = " ".join(f"{a:.2f}" for a in load) if isinstance(load, list) else "unknown"
    modified = ", with uncommitted changes" if source["modified"] else ""
    book = report["book"]
    if not isinstance(book, dict):
        raise TypeError("no book section in the report")
    refusals = book["refusals_by_reason"]
    refused = ", ".join(f"{k} {v:,}" for k, v in refusals.items()) if isinstance(refusals, dict) else ""
    missed = [t.name for t in targets_of(report) if not t.met]
    return [
        f"machine: {machine['platform']} | {machine['cpu']} | {machine['cpu_count']} CPUs | "
        f"{machine['implementation']} {machine['python']} | load {loads}",
        "packages: "
        + ", ".join(f"{name} {version}" for name, version in packages.items())
        + f" (contactvault at {source['commit'] or 'unknown commit'}{modified})",
        f"input: {_number(facts, 'cards'):,.0f} generated cards, imported in "
        f"{_number(facts, 'import_seconds'):.1f} s: {_number(facts, 'contacts'):,.0f} contacts, "
        f"{_number(facts, 'numbers'):,.0f} numbers ({_number(facts, 'numbers_e164'):,.0f} with E.164, "
        f"{_number(facts, 'numbers_mobile'):,.0f} of them mobile); every contact given a messenger consent; "
        f"stored (create, add_many, close) in {_number(facts, 'store_seconds'):.1f} s",
        f"book: {_number(book, 'entries'):,.0f} entries from "
        f"{_number(book, 'contacts_allowed'):,.0f} contacts, "
        f"vCard {_number(book, 'vcard_bytes') / 2**20:.1f} MiB; numbers refused: {refused or 'none'}",
        "",
        result_table(report),
        "",
        f"kept per contact (tracemalloc): directory "
        f"{_number(report, 'memory', 'directory_bytes_per_contact'):,.0f} bytes, with the book's "
        f"{_number(report, 'memory', 'directory_and_book_bytes_per_contact'):,.0f} bytes",
        f"ratio vobject / contactvault: {ratio_of(report):.2f}x; vobject "
        f"{_number(report, 'vobject', 'seconds_per_card') * 1e6:.1f} µs per card",
        "targets: all met" if not missed else f"targets NOT met: {', '.join(missed)}",
    ]


# --- command line -------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Build the input, time the book, its vCard and vobject, print the table, write the JSON."""
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="backslashreplace")  # "µs" on a terminal that cannot show it
    args = common.contacts_options(
        __doc__,
        argv,
        contacts=(DEFAULT_CONTACTS, QUICK_CONTACTS, "contacts in the vault"),
        repeats=(DEFAULT_REPEATS, "rounds of every stage"),
        once="one round",
        seed="generator seed",
        out=RESULTS,
    )
    env = environment()
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="contactvault-book-bench-") as tmp:
        directory = Path(tmp)
        print(f"generating and importing {args.contacts:,} cards (seed {args.seed}) ...", flush=True)
        path, facts = store(directory, args.contacts, args.seed, now)
        gc.collect()
        measured = measure(path, args.repeats, now)
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
            "policy": "Policy.default()",
            "name_style": "full",
            "now": now.isoformat(timespec="seconds"),
            "kdf_runs": KDF_RUNS,
        },
        "input": facts,
        **measured,
    }
    report["ratio"] = {"value": ratio_of(report), "target": TARGET_RATIO}
    report["targets"] = [
        {
            "name": t.name,
            "limit": t.limit,
            "unit": t.unit,
            "value": t.value,
            "at_least": t.at_least,
            "met": t.met,
        }
        for t in targets_of(report)
    ]
    print()
    print("\n".join(report_lines(report, env, facts)))
    if environment()["source"] != env["source"]:
        print("WARNING: contactvault's source changed during the run; the numbers may mix two versions")
    path = common.write_report(report, args.out, "book", "book-latest.json")
    print(f"\nwrote {path} and {path.with_name('book-latest.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
