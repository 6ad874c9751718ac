"""Blocks of lines -> cards: the first stage of the vCard reader (:mod:`contactvault.importers.vcard`).

The splitter cuts the input into the lines between ``BEGIN:VCARD`` and ``END:VCARD``, skips the cards a
vCard 2.1 ``AGENT`` line nests inside a card, and reports text outside any card and cards that never end as
issues, so that one card never takes the cards after it down with it. It keeps the source's line numbers
and holds only the lines of the card that is open.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from contactvault.errors import ImportFailed
from contactvault.importers.result import ImportIssue

__all__ = ["RawCard", "split_cards"]


@dataclass(slots=True)
class RawCard:
    """The physical lines after a BEGIN:VCARD line, up to its END:VCARD.

    Line ``i`` of ``lines`` is line ``start + 1 + i`` of the source. The lines of a nested 2.1 AGENT card
    are replaced by a single space (an empty continuation), which keeps that numbering.
    """

    start: int
    lines: list[bytes] = field(default_factory=list)
    nested: list[int] = field(default_factory=list)  # lines where AGENT cards began


@dataclass(slots=True)
class _Open:
    """A card whose END:VCARD the splitter has not yet seen, or a 2.1 AGENT card that ended inside one.

    Its lines are in the splitter's buffer (the lines after the outermost open card's BEGIN:VCARD), from
    index ``first`` (the line after its own BEGIN:VCARD) to ``end`` (its END:VCARD, once seen). ``inner``
    holds the AGENT cards that ended inside it: skipped if it ends too, read as cards of their own if not.
    """

    start: int  # the line of its BEGIN:VCARD
    first: int
    end: int = -1
    inner: list[_Open] = field(default_factory=list)


def _is_marker(line: bytes, marker: bytes) -> bool:
    return line.strip().upper() == marker


def _opens_agent(line: bytes) -> bool:
    """Whether a line is a vCard 2.1 ``AGENT`` property whose card follows on the next lines."""
    head, colon, value = line.partition(b":")
    return (
        bool(colon)
        and head.split(b";", 1)[0].split(b".")[-1].strip().upper() == b"AGENT"
        and not value.strip()
    )


def _closed(card: _Open, buf: list[bytes], stop: int) -> RawCard:
    """A card that ended: its lines ``buf[card.first:stop]``, with those of its AGENT cards blanked out."""
    lines = buf if card.first == 0 and stop == len(buf) else buf[card.first : stop]
    for inner in card.inner:  # from its BEGIN:VCARD to its END:VCARD, a space for each line
        begin, after = inner.first - 1 - card.first, inner.end + 1 - card.first
        lines[begin:after] = [b" "] * (after - begin)
    return RawCard(card.start, lines, [inner.start for inner in card.inner])


def _note_outside(outside: list[int], line: int) -> None:
    """Note a line of text outside any card in ``outside``: the first and the last line of the run."""
    if len(outside) < 2:
        outside.append(line)
    else:
        outside[-1] = line


def _outside_issue(outside: list[int], source: str) -> ImportIssue:
    """The issue for a run of text outside any card; empties ``outside`` for the next run."""
    first, last = outside[0], outside[-1]
    outside.clear()
    where = f"line {first}" if first == last else f"lines {first}-{last}"
    message = f"{where}: text outside any card (no BEGIN:VCARD before it); not imported"
    return ImportIssue(first, message, "outside_card", "error", source)


def _unclosed(
    stack: list[_Open], buf: list[bytes], outside: list[int], source: str, line: int, *, ended: bool
) -> Iterator[RawCard | ImportIssue]:
    """The open cards do not end: each is a ``not_closed`` issue, and what follows is read again.

    ``stack`` holds the open card, then the AGENT card open inside it, and so on; ``line`` is the line of a
    BEGIN:VCARD that no AGENT line announces or, if ``ended``, the input's last line. The lines from a
    card's first AGENT card on are read again as top-level input, with their own line numbers: an AGENT
    card that ended is a card of its own (with its own AGENT cards skipped), the open card's lines between
    them are text outside any card (noted in ``outside``), and an AGENT card still open does not end
    either. This gives what a second reading of those lines would, but each line is looked at once more at
    most, however deep the open cards nest: linear time, also for a file of cards each cut off after an
    AGENT line.
    """
    base = stack[0].start + 1  # buf[i] is line base + i
    for depth, card in enumerate(stack):
        if outside:
            yield _outside_issue(outside, source)
        following = stack[depth + 1] if depth + 1 < len(stack) else None
        resume = card.inner[0] if card.inner else following
        if resume is not None:
            where = f"before line {resume.start}"
        else:
            where = f"(the input ends at line {line})" if ended else f"before line {line}"
        message = f"card at line {card.start} has no END:VCARD {where}; not imported"
        yield ImportIssue(card.start, message, "not_closed", "error", source)
        if resume is None:
            break  # the innermost open card, and it holds no AGENT card
        i = resume.first - 1
        for inner in card.inner:
            for j in range(i, inner.first - 1):
                if buf[j].strip():
                    _note_outside(outside, base + j)
            if outside:
                yield _outside_issue(outside, source)
            yield _closed(inner, buf, inner.end)
            i = inner.end + 1
        for j in range(i, following.first - 1 if following is not None else len(buf)):
            if buf[j].strip():
                _note_outside(outside, base + j)


def split_cards(blocks: Iterable[bytes], source: str) -> Iterator[RawCard | ImportIssue]:
    """Cut blocks of lines into cards; report text outside cards and cards that never end.

    A vCard 2.1 ``AGENT`` line with an empty value announces a card inside the card, which is skipped when
    both end. A card that does not end (a BEGIN:VCARD that no AGENT line announces, in it or in an AGENT
    card open in it, or the end of the input, comes first) is one ``not_closed`` issue, and the lines from
    its first AGENT card on are read again as top-level input (see ``_unclosed``): a card never takes the
    cards after it down with it.
    Only the lines of the one open card are held. Raises ``ImportFailed`` when the input holds text but
    not a single ``BEGIN:VCARD``.
    """
    stack: list[_Open] = []  # the open card, then the AGENT card open inside it, and so on
    buf: list[bytes] = []  # the lines after the open card's BEGIN:VCARD
    outside: list[int] = []  # first and last line of a run of text outside cards
    seen_card = False
    lineno = 0
    for block in blocks:
        lines = block.split(b"\n")
        lines.pop()  # the empty string after the block's last LF
        for raw in lines:
            lineno += 1
            if raw[:3] == codecs.BOM_UTF8:  # two exports with byte order marks, concatenated
                raw = raw[3:]  # noqa: PLW2901  (the line without its mark is the line)
            first = raw[:1]
            if not stack:
                if first in (b"B", b"b") and _is_marker(raw, b"BEGIN:VCARD"):
                    if outside:
                        yield _outside_issue(outside, source)
                    stack.append(_Open(lineno, 0))
                    seen_card = True
                elif raw.strip():
                    _note_outside(outside, lineno)
                continue
            if first in (b"E", b"e") and _is_marker(raw, b"END:VCARD"):
                if len(stack) > 1:  # an AGENT card ends
                    buf.append(raw)
                    inner = stack.pop()
                    inner.end = len(buf) - 1
                    stack[-1].inner.append(inner)
                else:
                    card = stack.pop()
                    yield _closed(card, buf, len(buf)) if card.inner else RawCard(card.start, buf)
                    buf = []
                continue
            if first in (b"B", b"b") and _is_marker(raw, b"BEGIN:VCARD"):
                if buf and _opens_agent(buf[-1]):  # the last line of the innermost open card
                    buf.append(raw)
                    stack.append(_Open(lineno, len(buf)))
                    continue
                yield from _unclosed(stack, buf, outside, source, lineno, ended=False)
                if outside:
                    yield _outside_issue(outside, source)
                stack, buf = [_Open(lineno, 0)], []
                continue
            buf.append(raw)
    if stack:
        yield from _unclosed(stack, buf, outside, source, lineno, ended=True)
    if outside:
        if not seen_card:
            raise ImportFailed(f"{source}: not a vCard file (no BEGIN:VCARD line)")
        yield _outside_issue(outside, source)
