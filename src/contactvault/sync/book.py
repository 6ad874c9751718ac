"""The minimal messenger book: display names and E.164 numbers, nothing else.

A :class:`MessengerBook` holds :class:`~contactvault.models.MessengerEntry` objects (exactly a display name
and an E.164 number) for the numbers a policy allows, each with a UID for exports and sync targets. The
UID is a keyed hash of the contact and the number: stable when the name changes (so a sync updates the
card instead of replacing it), but neither the vault's internal id nor linkable across vaults.

Names are built from the directory compartment only, in one of four styles (:data:`NameStyle`). Whatever
the style, control characters, line breaks and bidirectional controls are replaced by spaces, and the
contact's own label names (such as "bezahlt" or "payment pending") are removed from the name, so that CRM
text never reaches the messenger. Nothing here reads e-mail addresses, notes, addresses, birthdays,
organisations or custom fields: a ``DirectoryEntry`` does not have them.
"""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Final, Literal, get_args

from contactvault.models import DirectoryEntry, MessengerEntry

__all__ = [
    "DEFAULT_PSEUDONYM",
    "BookDiff",
    "MessengerBook",
    "NameStyle",
    "book_name",
    "book_uid",
    "pseudonym_code",
]

NameStyle = Literal["full", "given_initial", "initials", "pseudonym"]
"""How a contact is named in the book:

- ``full``: the display name (``Anna Beispiel``);
- ``given_initial``: the given name and the family name's initial (``Anna B.``);
- ``initials``: initials only (``A. B.``), as the AG Bad Hersfeld allowed;
- ``pseudonym``: a template with a stable per-contact code (``Kunde 7KQ4M2``).
"""

DEFAULT_PSEUDONYM: Final = "Kunde {code}"
"""The pseudonym template unless another is given; ``{code}`` is the contact's stable code."""

_MAX_NAME: Final = 256  # MessengerEntry's limit
_UID: Final = re.compile(r"[0-9A-Za-z._-]{1,128}")
_BIDI: Final = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_SPACES: Final = re.compile(r"\s+")
_DASHES: Final = "-\u2013\u2014"  # hyphen, en dash, em dash
_EMPTY_BRACKETS: Final = re.compile(rf"[\(\[\{{<]\s*[{_DASHES},;:/|]*\s*[\)\]\}}>]")
_EDGE_PUNCTUATION: Final = f" {_DASHES},;:/|"


def _clean(text: str) -> str:
    """One line of printable text: breaks, controls and bidi marks become spaces; spaces collapse."""
    if text.isprintable() and _BIDI.isdisjoint(text):  # the common case, checked in C
        return " ".join(text.split())
    chars = [
        " " if ch in _BIDI or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn") else ch
        for ch in text
    ]
    return _SPACES.sub(" ", "".join(chars)).strip()


def _without_labels(name: str, labels: Iterable[str]) -> str:
    """``name`` with every label name (whole words, any case) taken out, and brackets left empty removed."""
    labels = list(labels)
    if not labels:
        return name
    for label in sorted({_clean(lb) for lb in labels if _clean(lb)}, key=len, reverse=True):
        name = re.sub(rf"(?<!\w){re.escape(label)}(?!\w)", " ", name, flags=re.IGNORECASE)
    name = _EMPTY_BRACKETS.sub(" ", name)
    return _SPACES.sub(" ", name).strip(_EDGE_PUNCTUATION)


def _words(text: str) -> list[str]:
    return [w for w in text.replace(",", " ").split() if any(ch.isalnum() for ch in w)]


def _initial(word: str) -> str:
    return next((ch.upper() for ch in word if ch.isalnum()), "")


def pseudonym_code(key: bytes, contact_id: bytes) -> str:
    """A contact's stable six-character code (base32 of a keyed hash): the same for every book of a vault."""
    digest = hashlib.blake2b(b"pseudonym" + contact_id, key=key, digest_size=10).digest()
    return base64.b32encode(digest).decode("ascii")[:6]


def book_uid(key: bytes, contact_id: bytes, e164: str) -> str:
    """The UID of one book entry: a keyed hash of contact and number, 32 hex digits."""
    return hashlib.blake2b(b"uid" + contact_id + e164.encode("ascii"), key=key, digest_size=16).hexdigest()


def _check_template(template: str) -> None:
    try:
        rendered = template.format(code="X")
    except (KeyError, IndexError, ValueError):
        raise ValueError("a pseudonym template may use {code} and nothing else in braces") from None
    if "{code}" not in template or not _clean(rendered):
        raise ValueError("a pseudonym template must contain {code}")


def check_name_style(style: NameStyle, pseudonym: str) -> None:
    """Raise ``ValueError`` for an unknown style or a pseudonym template without (only) ``{code}``."""
    if style not in get_args(NameStyle):
        raise ValueError(f"unknown name style {style!r}; use one of {', '.join(get_args(NameStyle))}")
    _check_template(pseudonym)


def book_name(
    entry: DirectoryEntry,
    style: NameStyle,
    *,
    code: str | Callable[[], str],
    pseudonym: str = DEFAULT_PSEUDONYM,
) -> str:
    """The name a contact gets in the book, in ``style``; never empty, never with CRM label text.

    ``code`` is the contact's pseudonym code, or a function that computes it (only called when needed).
    """
    check_name_style(style, pseudonym)
    return _name(entry, style, code, pseudonym)


def _name(entry: DirectoryEntry, style: NameStyle, code: str | Callable[[], str], pseudonym: str) -> str:
    """``book_name`` without the checks of style and template (done once per book)."""

    def fallback() -> str:
        return _clean(pseudonym.format(code=code if isinstance(code, str) else code()))[:_MAX_NAME].strip()

    if style == "pseudonym":
        return fallback()
    labels = [lb.name for lb in entry.labels]
    full = _without_labels(_clean(entry.display_name), labels)
    given = _without_labels(_clean(entry.name.given), labels)
    family = _without_labels(_clean(entry.name.family), labels)
    words = _words(full)
    if not given and not family and words:
        given, family = words[0], (words[-1] if len(words) > 1 else "")
    if style == "full":
        name = full
    elif style == "given_initial":
        name = f"{given} {_initial(family)}." if given and _initial(family) else given or full
    else:  # initials
        letters = [_initial(w) for w in (given, family) if _initial(w)]
        name = " ".join(f"{letter}." for letter in letters)
    name = name[:_MAX_NAME].strip()
    return name or fallback()


@dataclass(frozen=True, slots=True)
class BookDiff:
    """What changed between two books (by UID): entries added, removed, and renamed (same UID, new name)."""

    added: tuple[MessengerEntry, ...]
    removed: tuple[MessengerEntry, ...]
    renamed: tuple[tuple[MessengerEntry, MessengerEntry], ...]

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.renamed)


class MessengerBook:
    """The minimal address book for a messenger: ``MessengerEntry`` objects with their UIDs.

    Ordered deterministically (by name without case, then number, then UID). Iterating yields the entries;
    :meth:`cards` yields ``(uid, entry)`` pairs for exports and sync targets. Nothing else is in it: no
    contact id, no label, no note, no e-mail address.
    """

    __slots__ = ("_cards", "policy_digest")

    def __init__(self, cards: Iterable[tuple[str, MessengerEntry]], *, policy_digest: str = "") -> None:
        """A book of ``(uid, entry)`` pairs; UIDs must be unique and entries must be ``MessengerEntry``.

        ``policy_digest`` names the policy that chose the entries (``Policy.digest()``); the disclosure
        log records it. Books built by ``Vault.messenger_book`` carry it.
        """
        self.policy_digest = policy_digest
        given = list(cards)
        for uid, entry in given:
            if type(entry) is not MessengerEntry:
                raise TypeError("a book holds MessengerEntry objects only")
            if not isinstance(uid, str) or not _UID.fullmatch(uid):
                raise ValueError("a UID is 1 to 128 characters: letters, digits, '.', '_' or '-'")
        if len({uid for uid, _ in given}) != len(given):
            raise ValueError("the UIDs of a book must be unique")
        ordered = sorted(given, key=lambda c: (c[1].display_name.casefold(), c[1].phone_e164, c[0]))
        self._cards: tuple[tuple[str, MessengerEntry], ...] = tuple(ordered)

    def __iter__(self) -> Iterator[MessengerEntry]:
        return (entry for _, entry in self._cards)

    def __len__(self) -> int:
        return len(self._cards)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MessengerBook) and self._cards == other._cards

    def __hash__(self) -> int:
        return hash(self._cards)

    def __repr__(self) -> str:
        return f"MessengerBook({len(self._cards)} entries)"

    def cards(self) -> tuple[tuple[str, MessengerEntry], ...]:
        """The ``(uid, entry)`` pairs, in the book's order."""
        return self._cards

    @property
    def entries(self) -> tuple[MessengerEntry, ...]:
        """The entries, in the book's order."""
        return tuple(entry for _, entry in self._cards)

    def diff(self, previous: MessengerBook) -> BookDiff:
        """What changed from ``previous`` to this book, matched by UID."""
        before, after = dict(previous.cards()), dict(self._cards)
        return BookDiff(
            added=tuple(e for uid, e in self._cards if uid not in before),
            removed=tuple(e for uid, e in previous.cards() if uid not in after),
            renamed=tuple((before[uid], e) for uid, e in self._cards if uid in before and before[uid] != e),
        )
