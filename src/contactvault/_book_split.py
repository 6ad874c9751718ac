"""The name split of a book's entries: the family and given parts of a card's ``N``, words of its name.

Part of :mod:`contactvault.book` (which exports the public names), kept apart so that each file stays short.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["check_name_split", "split_display_name"]

_ALNUM: Final = re.compile(r"[^\W_]").search  # re's \w is str.isalnum() and "_", character by character


def _has_word(text: str) -> bool:
    """Whether ``text`` holds a letter or a digit (a character for which ``str.isalnum()`` holds)."""
    return text.isalnum() or _ALNUM(text) is not None


def _named_ends(*texts: str) -> bool:
    """Whether the first and the last word of each text (split at spaces) hold a letter or a digit."""
    for text in texts:
        first, space, _ = text.partition(" ")
        if not _has_word(first) or (space and not _has_word(text.rpartition(" ")[2])):
            return False
    return True


def _split_words(text: str) -> list[str]:
    """The words of a name split: white space and commas separate them (``Müller, Jürgen``: two words)."""
    return text.replace(",", " ").split()


def _trim(words: list[str]) -> list[str]:
    """``words`` without the leading and trailing ones that hold no letter or digit (``-``, ``(``, ``&``)."""
    start, end = 0, len(words)
    while start < end and not _has_word(words[start]):
        start += 1
    while end > start and not _has_word(words[end - 1]):
        end -= 1
    return words[start:end]


def _find_run(words: list[str], run: list[str]) -> int:
    """Where ``run`` last occurs in ``words`` as consecutive words; -1 if it does not (or is empty)."""
    if not run:
        return -1
    # Words hold no space: a run of them is a match between spaces of the words joined by single spaces.
    padded = f" {' '.join(words)} "
    at = padded.rfind(f" {' '.join(run)} ")
    return -1 if at < 0 else padded.count(" ", 0, at)


def split_display_name(display_name: str) -> tuple[str, str]:
    """``(family, given)`` of a display name alone, for the card's ``N``: whole words of it, nothing else.

    ``Müller, Jürgen`` (one comma) gives family ``Müller`` and given ``Jürgen``; a single word is the given
    name (``Zoë``); otherwise the last word is the family name and the words before it the given name
    (``Jürgen von Müller``: ``Müller`` and ``Jürgen von``). Words without a letter or digit at either end
    (``-``, ``&``) are left out. Used for every entry of a :class:`MessengerBook` that was given no split.
    """
    if "," in display_name:
        if display_name.count(",") == 1:
            before, _, after = display_name.partition(",")
            family, given = _trim(before.split()), _trim(after.split())
            if family and given:
                return " ".join(family), " ".join(given)
        words = _split_words(display_name)
    else:
        words = display_name.split()
    if len(words) > 1 and all(w.isalnum() or _has_word(w) for w in (words[0], words[-2], words[-1])):
        return words[-1], " ".join(words[:-1])  # the common case, without a search
    named = [i for i, w in enumerate(words) if _has_word(w)]
    if len(named) < 2:  # a family and a given name
        return "", " ".join(_trim(words) or words)
    return words[named[-1]], " ".join(words[named[0] : named[-2] + 1])


def check_name_split(display_name: str, family: str, given: str) -> None:
    """Raise ``ValueError`` unless ``family`` and ``given`` are each empty or whole words of ``display_name``.

    A part is whole words of the display name, consecutive and in their order, joined by single spaces
    (the comma of ``Müller, Jürgen`` separates words as a space does): so a card's ``N`` can hold nothing
    that its ``FN`` does not show. The message never repeats a name.
    """
    if not isinstance(family, str) or not isinstance(given, str):
        raise TypeError("the parts of a name split are text")
    padded = ""
    for part in (family, given):
        if not part:
            continue
        if not padded:
            padded = f" {' '.join(_split_words(display_name))} "
        if part != " ".join(_split_words(part)) or f" {part} " not in padded:
            raise ValueError("each part of a name split must be whole words of the entry's display name")


def _is_split_of(name: str, family: str, given: str) -> bool:
    try:
        check_name_split(name, family, given)
    except ValueError:
        return False
    return True


def _split_full(name: str, family: str, given: str) -> tuple[str, str]:
    """``(family, given)`` of a full name, led by the stored name parts where ``name`` shows them."""
    words = _split_words(name)
    stored_family = _trim(_split_words(family))
    if (i := _find_run(words, stored_family)) >= 0:
        before, after = _trim(words[:i]), _trim(words[i + len(stored_family) :])
        return " ".join(stored_family), " ".join(before or after)  # after: "Family, Given"
    stored_given = _trim(_split_words(given))
    if (i := _find_run(words, stored_given)) >= 0:
        end = i + len(stored_given)
        return " ".join(_trim(words[end:])), " ".join(_trim(words[:end]))  # a title before it stays
    return split_display_name(name)
