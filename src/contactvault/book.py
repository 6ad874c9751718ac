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

Each entry also has a **name split**: the family and given parts of its card's ``N`` property, so that a
phone sorts and shows the book as any other address book. The split is made of whole words of the entry's
display name and nothing else (:func:`check_name_split`): ``N`` never shows what ``FN`` does not. It is
not a field of ``MessengerEntry`` (which holds a display name and a number, nothing else); the book keeps
it beside the entry, by UID.

This module is below the vault and the exports: it reads a ``DirectoryEntry`` and knows no vault. The
vault hands out its keyed codes as a :class:`BookCodes` (``Vault.book_codes()``), and
``contactvault.sync.messenger_book`` builds a vault's book with them.
"""

from __future__ import annotations

import itertools
import operator
import re
import string
import types
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final, Literal, get_args

from contactvault._book_codes import BookCodes, book_uid, pseudonym_code
from contactvault._book_split import (
    _is_split_of,
    _named_ends,
    _split_full,
    _split_words,
    check_name_split,
    split_display_name,
)
from contactvault.models import E164_PATTERN, DirectoryEntry, MessengerEntry

__all__ = [
    "DEFAULT_PSEUDONYM",
    "BookCard",
    "BookCodes",
    "BookDiff",
    "MessengerBook",
    "NameStyle",
    "book_name",
    "book_name_parts",
    "book_uid",
    "check_name_split",
    "check_name_style",
    "pseudonym_code",
    "split_display_name",
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
_E164: Final = re.compile(E164_PATTERN.removeprefix("^").removesuffix("$"))  # with fullmatch: as pydantic's
_UID: Final = re.compile(r"[0-9A-Za-z._-]{1,128}")
_BIDI: Final = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""Bidirectional controls: all of category Cf, so no printable text (``str.isprintable()``) holds one."""
_SPACES: Final = re.compile(r"\s+")
_DASHES: Final = "-\u2013\u2014"  # hyphen, en dash, em dash
_EMPTY_BRACKETS: Final = re.compile(rf"[\(\[\{{<]\s*[{_DASHES},;:/|]*\s*[\)\]\}}>]")
_EDGE_PUNCTUATION: Final = f" {_DASHES},;:/|"


def _clean(text: str) -> str:
    """One line of printable text: breaks, controls and bidi marks become spaces; spaces collapse."""
    if text.isprintable():  # the common case, checked in C (no control, no bidi control: see _BIDI)
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
    return _removed(name, _label_texts(labels))


# Capital I with a dot and small i without one: the pair re's IGNORECASE equates and casefold does not.
_DOTTED_I: Final = {0x130: "i", 0x131: "i"}


def _fold(text: str) -> str:
    """``text`` folded so that a match of ``re.IGNORECASE`` is a match of the folded texts too.

    Each character is folded on its own (``str.translate``, then ``str.casefold``), and any two characters
    that ``re`` matches without case fold alike, so a label that ``re`` finds in a name is a substring of
    the name once both are folded: a label whose folded text is not in the folded name is not there.
    """
    if "\u0130" in text or "\u0131" in text:  # else translate would leave the text as it is
        return text.translate(_DOTTED_I).casefold()
    return text.casefold()


def _label_texts(labels: Iterable[str]) -> list[tuple[str, str]]:
    """The contact's label names, cleaned, each once, longest first, each with its folded text."""
    cleaned = {text for text in map(_clean, labels) if text}
    return [(label, _fold(label)) for label in sorted(cleaned, key=len, reverse=True)]


_LabelTexts = dict[tuple[str, ...], list[tuple[str, str]]]
""":func:`_label_texts` by tuple of label names, kept for one book (a vault's contacts share a few labels)."""


_OPENING: Final = re.compile(r"[(\[{<]").search  # where _EMPTY_BRACKETS can start
_name_of: Final = operator.attrgetter("name")


def _removed(name: str, labels: Iterable[tuple[str, str]]) -> str:
    """:func:`_without_labels` with the labels of :func:`_label_texts` (of at least one label name)."""
    folded = _fold(name)
    found = False
    for label, fold in labels:
        if fold in folded:  # else re cannot find it either (``_fold``): the common case, without a search
            name = re.sub(rf"(?<!\w){re.escape(label)}(?!\w)", " ", name, flags=re.IGNORECASE)
            folded = _fold(name)
            found = True
    if not found and name.isprintable() and "  " not in name and _OPENING(name) is None:
        # No bracket to empty, and no white space but single ASCII spaces (the only printable white
        # space): both substitutions below would leave the name as it is.
        return name.strip(_EDGE_PUNCTUATION)
    name = _EMPTY_BRACKETS.sub(" ", name)
    return _SPACES.sub(" ", name).strip(_EDGE_PUNCTUATION)


def _initial(word: str) -> str:
    return next((ch.upper() for ch in word if ch.isalnum()), "")


def _check_template(template: str) -> None:
    try:
        fields = [field[1:] for field in string.Formatter().parse(template) if field[1] is not None]
    except ValueError:  # an unmatched brace
        raise ValueError("a pseudonym template may use {code} and nothing else in braces") from None
    # Only the bare {code}: an attribute, an index, a conversion or a format spec ({code.upper},
    # {code!r}, {code:>999999}) would put other text, or a great deal of it, into every name.
    if any(field != ("code", "", None) for field in fields):
        raise ValueError("a pseudonym template may use {code} and nothing else in braces")
    if not fields or not _clean(template.format(code="X")):
        raise ValueError("a pseudonym template must contain {code}")


def check_name_style(style: NameStyle, pseudonym: str) -> None:
    """Raise ``ValueError`` for an unknown style or a pseudonym template without (only) ``{code}``.

    The messages name the allowed values, never the value given.
    """
    if style not in get_args(NameStyle):
        raise ValueError(f"unknown name style; use one of: {', '.join(get_args(NameStyle))}")
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
    return _name_parts(entry, style, code, pseudonym)[0]


def book_name_parts(
    entry: DirectoryEntry,
    style: NameStyle,
    *,
    code: str | Callable[[], str],
    pseudonym: str = DEFAULT_PSEUDONYM,
) -> tuple[str, str, str]:
    """``(name, family, given)``: :func:`book_name` and how its card's ``N`` splits that name.

    ``name`` is exactly what :func:`book_name` returns. ``family`` and ``given`` are made of whole words
    of ``name`` and nothing else (:func:`check_name_split` holds), so the card's ``N`` shows no more than
    its ``FN``; either may be empty. Pass the split to :class:`MessengerBook` (``names=``) by UID:

    - ``full``: the stored family name where the display name shows it, with the words before it (or,
      in ``Family, Given`` order, after it) as the given name; otherwise :func:`split_display_name`.
      A stored name part that the display name does not show is never used.
    - ``given_initial``: ``Anna B.`` splits into family ``B.`` and given ``Anna``;
    - ``initials``: ``A. B.`` into family ``B.`` and given ``A.``;
    - ``pseudonym``: the whole pseudonym is the given name (``Kunde 7KQ4M2``), the family name is empty.
    """
    check_name_style(style, pseudonym)
    return _name_parts(entry, style, code, pseudonym)


def _pseudonym_parts(code: str | Callable[[], str], pseudonym: str) -> tuple[str, str, str]:
    """The name parts of the pseudonym style (and of a contact whose name is empty in another style)."""
    name = _clean(pseudonym.format(code=code if isinstance(code, str) else code()))[:_MAX_NAME].strip()
    return name, "", " ".join(_split_words(name))


def _name_parts(
    entry: DirectoryEntry,
    style: NameStyle,
    code: str | Callable[[], str],
    pseudonym: str,
    label_texts: _LabelTexts | None = None,
) -> tuple[str, str, str]:
    """``book_name_parts`` without the checks of style and template (done once per book).

    ``label_texts`` keeps the cleaned label names of the book's contacts (one book's, never kept past it:
    label names are the vault's directory, which the vault drops on close).
    """
    if style == "pseudonym":
        return _pseudonym_parts(code, pseudonym)
    stored = entry.name
    full, given, family = entry.display_name, stored.given, stored.family
    if full.isprintable() and given.isprintable() and family.isprintable():
        full, given, family = " ".join(full.split()), " ".join(given.split()), " ".join(family.split())
    else:  # what _clean does of each, the same in the common case above
        full, given, family = _clean(full), _clean(given), _clean(family)
    if entry.labels:
        names = tuple(map(_name_of, entry.labels))
        labels = label_texts.get(names) if label_texts is not None else None
        if labels is None:
            labels = _label_texts(names)
            if label_texts is not None:
                label_texts[names] = labels
        full, given, family = _removed(full, labels), _removed(given, labels), _removed(family, labels)
    if style == "full":
        name = full[:_MAX_NAME].strip()
        if given and family and _named_ends(given, family):
            # What _split_full finds for "Given Family" and "Family, Given" (one comma; the family name
            # found first and nowhere after), without a search.
            if name == f"{given} {family}" and "," not in name:
                return name, family, given
            if (
                name == f"{family}, {given}"
                and name.count(",") == 1
                and f" {family} {given} ".rfind(f" {family} ") == 0
            ):
                return name, family, given
        parts = _split_full(name, family, given)
    else:
        if not given and not family:
            family, rest = split_display_name(full)
            given = rest.partition(" ")[0]
        initial = _initial(family)
        if style == "given_initial" and given and initial:
            name, parts = f"{given} {initial}.", (f"{initial}.", " ".join(_split_words(given)))
        elif style == "given_initial":
            name = given or full
            parts = ("", " ".join(_split_words(given))) if given else _split_full(full, family, given)
        else:  # initials
            first = _initial(given)
            name = " ".join(f"{letter}." for letter in (first, initial) if letter)
            parts = (f"{initial}." if initial else "", f"{first}." if first else "")
        name = name[:_MAX_NAME].strip()
    if not name:
        return _pseudonym_parts(code, pseudonym)
    if not _is_split_of(name, *parts):  # a name cut at the length limit: split what is left
        parts = split_display_name(name)
    return name, *parts


_new_object: Final = object.__new__
_set_slot: Final = object.__setattr__


def _book_entries(name: str, numbers: Iterable[str]) -> tuple[MessengerEntry, ...]:
    """``MessengerEntry`` of ``name`` with each of ``numbers``: what ``MessengerEntry.model_validate`` makes.

    The model's checks are made here, in C, once for the name: text of 1 to 256 printable characters
    (no control character, line break or bidirectional control), without surrounding white space; and for
    each number, the E.164 form as the model's pattern matches it (pydantic's regex: ``$`` is the end of
    the text). An entry that passes is made as pydantic makes it (the same fields, fields set, no extra,
    no private attributes); anything else, even what the model would accept in another form, is
    validated by the model itself, which refuses it with its own error. ``messenger_book`` makes its
    names with ``_name_parts`` (from a validated directory entry) and takes its numbers from a decision.
    """
    named = (
        type(name) is str
        and 0 < len(name) <= _MAX_NAME
        and name.isprintable()  # False for every control character and bidirectional control (_BIDI)
        and name == name.strip()
    )
    made: list[MessengerEntry] = []
    for number in numbers:
        if named and type(number) is str and _E164.fullmatch(number) is not None:
            entry = _new_object(MessengerEntry)
            _set_slot(entry, "__dict__", {"display_name": name, "phone_e164": number})
            _set_slot(entry, "__pydantic_fields_set__", {"display_name", "phone_e164"})
            _set_slot(entry, "__pydantic_extra__", None)
            _set_slot(entry, "__pydantic_private__", None)
        else:
            entry = MessengerEntry.model_validate({"display_name": name, "phone_e164": number})
        made.append(entry)
    return tuple(made)


@dataclass(frozen=True, slots=True)
class BookDiff:
    """What changed between two books (by UID).

    Attributes:
        added: Entries whose UID is new.
        removed: Entries whose UID is gone.
        renamed: ``(before, after)`` pairs of entries with the same UID and a new name.
        resplit: Entries with the same UID, name and number whose name split changed (the card's ``N``
            files them under another family name; ``FN`` is the same).
    """

    added: tuple[MessengerEntry, ...]
    removed: tuple[MessengerEntry, ...]
    renamed: tuple[tuple[MessengerEntry, MessengerEntry], ...]
    resplit: tuple[MessengerEntry, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.renamed or self.resplit)


class BookCard:
    """One card of a book as ``contactvault.sync.messenger_book`` makes it, kept between its books.

    Its UID, entry and name split are made together from one contact's directory entry (the split by
    :func:`book_name_parts`, whole words of the name), and its vCard text is kept once written (``v3``,
    ``v4``), so that the next book of an open vault reuses the cards of contacts that did not change.
    Internal: books hand out ``(uid, entry)`` pairs, never these.
    """

    __slots__ = ("entry", "key", "name", "number", "split", "uid", "v3", "v4")

    def __init__(self, uid: str, entry: MessengerEntry, split: tuple[str, str]) -> None:
        self.uid = uid
        self.entry = entry
        # the (frozen) entry's name and number, on the card itself: writing 100,000 cards then reads
        # each card's own fields, not its entry and the entry's dict as well
        self.name = name = entry.display_name
        self.number = number = entry.phone_e164
        self.split = split
        self.v3: str | None = None
        self.v4: str | None = None
        # Where the card goes in the book: its name without case, its number, its UID, joined by NUL,
        # which none of them holds (a MessengerEntry's name and number hold no control character, a UID
        # is hex), so the text sorts as the tuple of the three (a part that is a prefix of another sorts
        # first either way). A text compares faster than a tuple, and it is made once.
        key = f"{name.casefold()}\x00{number}\x00{uid}"
        if key.count("\x00") != 2:
            raise ValueError("a card's name, number and UID hold no NUL")
        self.key = key


_uid_of: Final = operator.attrgetter("uid")
_entry_of: Final = operator.attrgetter("entry")
_split_of: Final = operator.attrgetter("split")
_first: Final = operator.itemgetter(0)


def _pair_order(pair: tuple[str, MessengerEntry]) -> str:
    """A ``(uid, entry)`` pair's place in a book: :attr:`BookCard.key`'s text, which sorts as the tuple."""
    uid, entry = pair
    return f"{entry.display_name.casefold()}\x00{entry.phone_e164}\x00{uid}"


class MessengerBook:
    """The minimal address book for a messenger: ``MessengerEntry`` objects with their UIDs.

    Ordered deterministically (by name without case, then number, then UID). Iterating yields the entries;
    :meth:`cards` yields ``(uid, entry)`` pairs for exports and sync targets, and :meth:`name_parts` the
    ``(family, given)`` split of each entry's name for the card's ``N``: whole words of the display name,
    nothing else. Nothing else is in it: no contact id, no label, no note, no e-mail address.
    """

    __slots__ = ("_made", "_pairs", "_parts", "_splits", "policy_digest")

    def __init__(
        self,
        cards: Iterable[tuple[str, MessengerEntry]],
        *,
        policy_digest: str = "",
        names: Mapping[str, tuple[str, str]] | None = None,
    ) -> None:
        """A book of ``(uid, entry)`` pairs; UIDs must be unique and entries must be ``MessengerEntry``.

        ``policy_digest`` names the policy that chose the entries (``Policy.digest()``); the disclosure
        log records it. Books built by ``contactvault.sync.messenger_book`` carry it.

        ``names`` maps UIDs of the book to the ``(family, given)`` split of their entry's name (from
        :func:`book_name_parts`); each part must be whole words of that entry's display name
        (:func:`check_name_split`), or the book is refused with ``ValueError``. An entry without one is
        split by :func:`split_display_name`.
        """
        self.policy_digest = policy_digest
        self._made: tuple[BookCard, ...] | None = None
        pairs = list(cards)
        for uid, entry in pairs:
            if type(entry) is not MessengerEntry:
                raise TypeError("a book holds MessengerEntry objects only")
            if not isinstance(uid, str) or not _UID.fullmatch(uid):
                raise ValueError("a UID is 1 to 128 characters: letters, digits, '.', '_' or '-'")
        uids = {uid for uid, _ in pairs}
        if len(uids) != len(pairs):
            raise ValueError("the UIDs of a book must be unique")
        splits = dict(names) if names is not None else {}
        if not splits.keys() <= uids:
            raise ValueError("names holds a UID that is not in the book")
        keys = list(map(_pair_order, pairs))
        if sum(map(str.count, keys, itertools.repeat("\x00"))) == 2 * len(keys):  # no NUL in a name
            ordered = [pair for _, pair in sorted(zip(keys, pairs, strict=True), key=_first)]
        else:  # a name with NUL (no validated entry has one): the tuple itself
            ordered = sorted(pairs, key=lambda c: (c[1].display_name.casefold(), c[1].phone_e164, c[0]))
        self._pairs: tuple[tuple[str, MessengerEntry], ...] | None = tuple(ordered)
        self._splits: Mapping[str, tuple[str, str]] | None = None
        self._parts: tuple[tuple[str, str], ...] | None = None
        if names is None:  # each split is split_display_name's, made when first asked for (_fill)
            return
        split: dict[str, tuple[str, str]] = {}
        for uid, entry in ordered:
            parts = splits.get(uid)
            if parts is None:
                parts = split_display_name(entry.display_name)
            elif isinstance(parts, tuple) and len(parts) == 2:
                check_name_split(entry.display_name, *parts)
            else:
                raise TypeError("a name split is a (family, given) tuple")
            split[uid] = parts
        self._splits = types.MappingProxyType(split)
        self._parts = tuple(split.values())  # in the book's order

    @classmethod
    def _of_cards(
        cls, made: Iterable[BookCard], *, policy_digest: str, unique: bool = False
    ) -> MessengerBook:
        """A book of cards ``messenger_book`` made (each entry validated, each split checked), in order.

        The checks of the constructor that the cards passed when they were made are not repeated: the
        type of each entry, the form of each UID (a keyed hash in hex) and each split. The UIDs must still
        be unique (``ValueError``), checked here unless ``unique`` says the caller checked them
        (``messenger_book`` does, for the changed cards only); the order is the caller's (tests compare
        with a book sorted anew).

        The ``(uid, entry)`` pairs and the splits by UID are made from the cards when first asked for
        (``_fill``): an export of the vault's book reads the cards themselves, and a warm book does no
        Python step per card here.
        """
        cards = tuple(made)
        if not unique and len(set(map(_uid_of, cards))) != len(cards):
            raise ValueError("the UIDs of a book must be unique")
        book = cls.__new__(cls)
        book.policy_digest = policy_digest
        book._made = cards
        book._pairs = book._splits = book._parts = None
        return book

    def _fill(self) -> None:
        """Make the pairs and the splits of a book made by :meth:`_of_cards` from its cards (in C).

        For a book made of pairs without ``names``: each split, by :func:`split_display_name`.
        """
        if self._made is None:
            pairs = self._pairs or ()
            parts = tuple(split_display_name(entry.display_name) for _, entry in pairs)
            self._splits = types.MappingProxyType(dict(zip(map(_first, pairs), parts, strict=True)))
            self._parts = parts
            return
        made = self._made
        uids = list(map(_uid_of, made))
        parts = tuple(map(_split_of, made))
        self._splits = types.MappingProxyType(dict(zip(uids, parts, strict=True)))
        self._parts = parts
        self._pairs = tuple(zip(uids, map(_entry_of, made), strict=True))

    @property
    def _cards(self) -> tuple[tuple[str, MessengerEntry], ...]:
        """The ``(uid, entry)`` pairs, in the book's order."""
        if self._pairs is None:
            self._fill()
        return self._pairs  # type: ignore[return-value]  # _fill made them

    @property
    def _split(self) -> Mapping[str, tuple[str, str]]:
        """UID -> ``(family, given)``."""
        if self._splits is None:
            self._fill()
        return self._splits  # type: ignore[return-value]  # _fill made them

    @property
    def _names(self) -> tuple[tuple[str, str], ...]:
        """The ``(family, given)`` splits, in the book's order."""
        if self._parts is None:
            self._fill()
        return self._parts  # type: ignore[return-value]  # _fill made them

    def _cards_made(self) -> tuple[BookCard, ...] | None:
        """The cards of a book ``messenger_book`` made (in the book's order); ``None`` for another book."""
        return self._made

    def _texts(self, version: str, render: Callable[[str, str, str, tuple[str, str]], str]) -> list[str]:
        """Each card's text in ``version`` (``render(uid, name, number, split)``), kept on the cards."""
        made = self._made
        if made is None:
            split = self._split
            return [
                render(uid, entry.display_name, entry.phone_e164, split[uid]) for uid, entry in self._cards
            ]
        slot = "v3" if version == "3.0" else "v4"
        texts: list[str | None] = list(map(operator.attrgetter(slot), made))
        if None in texts:
            for i, card in enumerate(made):
                if texts[i] is None:
                    texts[i] = render(card.uid, card.name, card.number, card.split)
                    setattr(card, slot, texts[i])
        return texts  # type: ignore[return-value]  # every None was filled just above

    def __iter__(self) -> Iterator[MessengerEntry]:
        return (entry for _, entry in self._cards)

    def __len__(self) -> int:
        return len(self._made) if self._made is not None else len(self._cards)

    def __eq__(self, other: object) -> bool:
        # The name split is part of what a phone receives (the card's N), so it counts.
        return (
            isinstance(other, MessengerBook) and self._cards == other._cards and self._names == other._names
        )

    def __hash__(self) -> int:
        return hash((self._cards, self._names))

    def __repr__(self) -> str:
        return f"MessengerBook({len(self._cards)} entries)"

    def cards(self) -> tuple[tuple[str, MessengerEntry], ...]:
        """The ``(uid, entry)`` pairs, in the book's order."""
        return self._cards

    @property
    def entries(self) -> tuple[MessengerEntry, ...]:
        """The entries, in the book's order."""
        return tuple(entry for _, entry in self._cards)

    @property
    def names(self) -> Mapping[str, tuple[str, str]]:
        """UID -> ``(family, given)`` of every entry, read-only; ``MessengerBook(..., names=)`` takes it."""
        return self._split

    def name_parts(self, uid: str) -> tuple[str, str]:
        """``(family, given)`` of the entry ``uid``, for its card's ``N``: whole words of its display name.

        Raises:
            KeyError: No entry of the book has that UID.
        """
        try:
            return self._split[uid]
        except KeyError:
            raise KeyError("no entry of the book has that UID") from None

    def diff(self, previous: MessengerBook) -> BookDiff:
        """What changed from ``previous`` to this book, matched by UID."""
        before, after = dict(previous.cards()), dict(self._cards)
        return BookDiff(
            added=tuple(e for uid, e in self._cards if uid not in before),
            removed=tuple(e for uid, e in previous.cards() if uid not in after),
            renamed=tuple((before[uid], e) for uid, e in self._cards if uid in before and before[uid] != e),
            resplit=tuple(
                e
                for uid, e in self._cards
                if before.get(uid) == e and previous.names[uid] != self._split[uid]
            ),
        )
