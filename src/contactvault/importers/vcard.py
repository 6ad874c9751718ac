r"""A tolerant vCard reader for the address books that phones and programs really export.

It reads vCard 2.1, 3.0 and 4.0 card by card, so that one broken card costs only itself: a card without
``END:VCARD``, with bad quoted-printable, with bytes that are not valid in its character set, or with a line
that is not a property becomes an ``ImportIssue`` naming its line, and every other card
still imports. Photos, logos, sounds and keys are dropped unread and never stored.

The quirks it handles, each with a test, are listed in ``docs/import.md``: byte order marks; CRLF, LF or
CR; folding; 2.1 quoted-printable with soft line breaks and ``CHARSET`` before or after ``ENCODING``;
``itemN.`` groups with ``X-ABLabel`` (Apple's ``_$!<Mobile>!$_`` unwrapped); lower-case, repeated and bare
2.1 type parameters; unescaped commas and semicolons in single-valued text; ``\,`` ``\;`` ``\n``
escapes; vCard 4 ``tel:`` URIs with ``;ext=``, ``PREF=1`` and ``ALTID``; birthdays without a year; ``N``
without ``FN`` and ``FN`` without ``N``; unknown properties kept as custom fields.

Data flows one way: blocks of lines -> cards (``_vcard_cards``) -> properties, unfolded
(``_vcard_properties``) -> a card's values -> a Contact (``_vcard_values``). This module reads them in
batches (numbers normalised per batch) and shows cards as a phone would (`CardView`, for audits).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Literal

from contactvault.importers._gc import paused_gc
from contactvault.importers._vcard_cards import RawCard, split_cards
from contactvault.importers._vcard_pool import Chunk, parallel_batches
from contactvault.importers._vcard_properties import IGNORED, CardError, unfold
from contactvault.importers._vcard_values import (
    HANDLERS,
    Card,
    apply_numbers,
    decode,
    read_properties,
    to_contact,
)
from contactvault.importers.matching import baselined
from contactvault.importers.result import ImportBatch, ImportIssue, ImportResult
from contactvault.importers.source import Source, _as_path, iter_blocks, source_name
from contactvault.models import Contact
from contactvault.phones import NumberInfo, check_region, parse_number

__all__ = ["PARALLEL_BYTES", "CardView", "auto_workers", "import_vcards", "iter_card_views", "iter_vcards"]

DEFAULT_BATCH_SIZE = 1_000

PARALLEL_BYTES: Final = 4 * 1024 * 1024
"""From this file size on (about 7,000 cards of the benchmark's mix), ``workers="auto"`` reads with helper
processes: below it, starting one and waiting for its first batch costs more than it saves (measured with
``contactvault import`` on 2 cores: 6,000 cards gained nothing, 10,000 cards about a fifth)."""

MAX_AUTO_WORKERS: Final = 4
"""``workers="auto"`` uses at most this many helpers: this process, which splits the file and (in an
import into a vault) seals and stores, cannot feed more."""

_Entry = Card | ImportIssue
"""A card read but not finished (numbers pending), or the issue it became."""

# --- batches of cards -> contacts -----------------------------------------------------------------------


def _internal_error(line: int, exc: Exception, source: str) -> ImportIssue:
    message = f"card at line {line} not imported: internal error ({type(exc).__name__}); please report it"
    return ImportIssue(line, message, "internal_error", "error", source)


def _read_batch(items: Iterator[RawCard | ImportIssue], source: str, size: int) -> tuple[list[_Entry], int]:
    """Read up to ``size`` cards: each becomes a Card (numbers pending) or an error issue, in order."""
    entries: list[_Entry] = []
    count = 0
    for item in items:
        if isinstance(item, ImportIssue):
            entries.append(item)
            count += item.code == "not_closed"
        else:
            count += 1
            try:
                entries.append(read_properties(item, source))
            except CardError as exc:
                entries.append(ImportIssue(exc.line, exc.message, exc.code, "error", source))
            except Exception as exc:  # noqa: BLE001  (one card's bug must not cost the other cards)
                entries.append(_internal_error(item.start, exc, source))
        if count >= size:
            break
    return entries, count


def _pending_numbers(entries: list[_Entry]) -> list[str]:
    return list(dict.fromkeys(p["raw"] for e in entries if isinstance(e, Card) for p in e.phones))


def _finish_batch(
    entries: list[_Entry], count: int, answers: dict[str, NumberInfo], now: datetime, *, baselines: bool
) -> ImportBatch:
    """Numbers in, Contacts validated: each card becomes a contact plus its warnings, or one error issue.

    With ``baselines``, each contact carries its card's field digests (``matching.baselined``).
    """
    batch = ImportBatch(entries=count)
    for entry in entries:
        if isinstance(entry, ImportIssue):
            batch.issues.append(entry)
            continue
        try:
            apply_numbers(entry, answers)
            contact = to_contact(entry, now)
            if baselines:
                contact = baselined(contact)
        except CardError as exc:
            batch.issues.append(ImportIssue(exc.line, exc.message, exc.code, "error", entry.source))
            continue
        except Exception as exc:  # noqa: BLE001  (one card's bug must not cost the other cards)
            batch.issues.append(_internal_error(entry.start, exc, entry.source))
            continue
        batch.contacts.append(contact)
        batch.issues.extend(sorted(entry.warnings, key=lambda issue: issue.line))
        batch.dropped += entry.dropped
    return batch


def auto_workers(source: Source) -> int:
    """The helper processes ``workers="auto"`` uses for ``source``: 0 below `PARALLEL_BYTES`, or on one core.

    Above it, one fewer than the cores (at least 1, at most `MAX_AUTO_WORKERS`): this process splits the
    file and, in an import into a vault, seals and stores, which keeps one core busy.
    """
    size = _size_of(source)
    cores = os.cpu_count() or 1
    if size is None or size < PARALLEL_BYTES or cores < 2:
        return 0
    return min(cores - 1, MAX_AUTO_WORKERS)


def _size_of(source: Source) -> int | None:
    path = _as_path(source)
    if path is None:
        return len(source) if isinstance(source, str | bytes) else None
    try:
        return path.stat().st_size
    except OSError:
        return None  # reading it will say why


def _workers(workers: int | Literal["auto"], source: Source) -> int:
    if workers == "auto":
        return auto_workers(source)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise ValueError('workers must be "auto", 0 (one process) or a positive number of helper processes')
    return workers


def iter_vcards(
    source: Source,
    *,
    default_region: str | None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    workers: int | Literal["auto"] = "auto",
    baselines: bool = False,
) -> Generator[ImportBatch, None, None]:
    """Read a vCard address book in batches of at most ``batch_size`` cards; memory stays bounded.

    ``default_region`` is the region for numbers without a country code (``"DE"``), or ``None`` to read
    only international numbers; there is no hidden default. ``workers`` > 0 builds the contacts in that
    many helper processes while this process reads and splits the file (see
    :mod:`contactvault.importers._vcard_pool`); ``0`` reads in this process; ``"auto"`` (the default)
    uses helpers for files of `PARALLEL_BYTES` or more (`auto_workers`). The batches are the same either
    way (contacts, issues, line numbers, order, counts; contact ids are random in any case); where helper
    processes cannot run, the file is read in one process and the batch says so (``fallback``). With
    ``baselines``, every contact's source records what its card says (``ContactSource.imported``, the field
    digests ``Vault.import_contacts`` stores with a contact it adds or updates), worked out by the helper
    processes where there are any, so that the vault need not. Raises ``ImportFailed`` when the source cannot
    be read or holds no vCard at all; problems inside cards become issues.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    count = _workers(workers, source)
    region = check_region(default_region)  # here, not in the generator: bad arguments fail at the call
    return _batches(source, region, batch_size, count, baselines=baselines)


def _batches(
    source: Source, region: str | None, batch_size: int, workers: int, *, baselines: bool
) -> Generator[ImportBatch, None, None]:
    name = source_name(source)
    now = datetime.now(UTC)
    items = split_cards(iter_blocks(source), name)
    if workers:
        yield from parallel_batches(
            items,
            build=build_batch,
            source=name,
            region=region,
            batch_size=batch_size,
            workers=workers,
            now=now,
            baselines=baselines,
        )
        return
    while True:  # one batch alive at a time
        with paused_gc():
            entries, count = _read_batch(items, name, batch_size)
            if not entries:
                return
            answers = {raw: parse_number(raw, region) for raw in _pending_numbers(entries)}
            batch = _finish_batch(entries, count, answers, now, baselines=baselines)
        yield batch


def import_vcards(
    source: Source,
    *,
    default_region: str | None,
    existing: Iterable[Contact] = (),
    workers: int | Literal["auto"] = "auto",
) -> ImportResult:
    """Import a vCard 2.1, 3.0 or 4.0 address book, as phones and programs export it.

    ``source`` is a path, the file's bytes, or its text (see :mod:`contactvault.importers.source`).
    ``default_region`` is the region for numbers without a country code (``"DE"``), or ``None``.
    ``existing`` holds contacts of earlier imports: duplicates against them are reported too.
    ``workers`` as for `iter_vcards`: helper processes for large files on several cores, the same result.

    Every card becomes a contact or an error issue naming its line; nothing is stored anywhere.
    Photos, logos, sounds and keys are dropped unread.
    """
    batches = iter_vcards(source, default_region=default_region, workers=workers)
    with contextlib.closing(batches):  # an error midway stops the helper processes at once
        return ImportResult.collect(batches, source=source_name(source), format="vcard", existing=existing)


# --- cards as a phone shows them (for audits) ------------------------------------------------------------

_STRUCTURE = IGNORED | {"UID"}


@dataclass(frozen=True, slots=True)
class CardView:
    """What one card of an address book exposes, read without building a ``Contact`` (for audits).

    Attributes:
        line: The line the card starts at (its ``BEGIN:VCARD``).
        uid: The card's UID, if it has one.
        display_name: ``FN``, else the name parts of ``N`` joined, else ``""``. Left out of ``repr()``.
        numbers: Every ``TEL`` value as typed, in order. Left out of ``repr()``.
        properties: The name of every property the card carries beyond its structure (``BEGIN``,
            ``END``, ``VERSION``, ``PRODID``, ``REV``, ``UID``, ...), upper case, each once, in order of
            first appearance; ``FN``, ``N`` and ``TEL`` included. An Apple ``X-ABLabel`` that labels a
            number belongs to the number and is not listed; one that labels anything else is.
        categories: The card's ``CATEGORIES`` values. Left out of ``repr()``.
    """

    line: int
    uid: str | None
    display_name: str = field(repr=False)
    numbers: tuple[str, ...] = field(repr=False)
    properties: tuple[str, ...]
    categories: tuple[str, ...] = field(repr=False)


def _view(raw: RawCard, source: str) -> CardView:
    """One card's view; raises CardError for a card that cannot be read (the importer's rules)."""
    card = Card(start=raw.start, source=source)
    props = unfold(raw)
    tel_groups = {head.group for _, head, _ in props if head.name == "TEL" and head.group}
    names: dict[str, None] = {}
    numbers: list[str] = []
    seen_altids: set[tuple[str, str]] = set()
    for _, head, value in props:
        if head.name == "VERSION":
            card.version = value.decode("ascii", errors="replace").strip()[:20] or None
    for line, head, value in props:
        name = head.name
        if name in IGNORED or (name == "X-ABLABEL" and head.group in tel_groups):
            continue
        if head.altid:
            if (name, head.altid) in seen_altids:
                continue
            seen_altids.add((name, head.altid))
        if name in ("FN", "N", "TEL", "UID", "CATEGORIES"):
            text = decode(line, head, value, card)
            if name == "TEL":
                if text.strip():
                    numbers.append(text.strip())
            else:
                HANDLERS[name](card, line, head, text, None)
        if name not in _STRUCTURE:
            names[name] = None
    display = card.fn
    if not display and card.name:
        parts = ("prefixes", "given", "additional", "family", "suffixes")
        display = " ".join(card.name[p] for p in parts if card.name[p])
    return CardView(
        line=raw.start,
        uid=card.uid,
        display_name=display,
        numbers=tuple(numbers),
        properties=tuple(names),
        categories=tuple(label["name"] for label in card.labels.values()),
    )


def iter_card_views(source: Source) -> Iterator[CardView | ImportIssue]:
    """Read an address book card by card as a phone would show it: name, numbers and property names.

    The same tolerant reader as ``import_vcards`` (folding, quoted-printable, character sets, Apple
    groups), without number normalisation or validation: a card becomes a `CardView`, or an error
    `ImportIssue` naming its line when it cannot be read. Raises ``ImportFailed`` when the source holds
    no vCard at all.
    """
    name = source_name(source)
    for item in split_cards(iter_blocks(source), name):
        if isinstance(item, ImportIssue):
            yield item
            continue
        try:
            yield _view(item, name)
        except CardError as exc:
            yield ImportIssue(exc.line, exc.message, exc.code, "error", name)
        except Exception as exc:  # noqa: BLE001  (one card's bug must not cost the other cards)
            yield _internal_error(item.start, exc, name)


def build_batch(
    chunk: Chunk, count: int, source: str, region: str | None, now: datetime, *, baselines: bool
) -> ImportBatch:
    """A chunk of raw cards made into contacts and issues: what the one-process reader does per batch."""
    with paused_gc():
        entries, _ = _read_batch(iter(chunk), source, len(chunk) + 1)
        answers = {raw: parse_number(raw, region) for raw in _pending_numbers(entries)}
        return _finish_batch(entries, count, answers, now, baselines=baselines)
