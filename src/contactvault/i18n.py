"""The languages of reports, GDPR documents and messages: the check of a ``lang`` argument, and texts.

``Words`` holds a table of texts in English and German by key; ``pick`` chooses from one pair.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal, get_args

__all__ = ["LANGS", "Lang", "Words", "check_lang", "pick"]

Lang = Literal["en", "de"]
"""A document language: English or German."""

LANGS: Final[tuple[Lang, ...]] = get_args(Lang)
"""Every supported language code."""


def check_lang(lang: object) -> Lang:
    """Return ``lang`` if it is a supported language code; ``ValueError`` naming the choices otherwise."""
    for known in LANGS:
        if lang == known:
            return known
    raise ValueError(f"unsupported language; use one of {', '.join(LANGS)}")


def pick(pair: tuple[str, str], lang: Lang) -> str:
    """The text of ``pair`` (English, German) in ``lang``."""
    return pair[1] if lang == "de" else pair[0]


class Words:
    """Texts in English and German, by key: ``words(key, lang)``."""

    def __init__(self, table: Mapping[str, tuple[str, str]]) -> None:
        self._table = dict(table)

    def __call__(self, key: str, lang: Lang) -> str:
        """The text of ``key`` in ``lang``; ``KeyError`` for a key the table does not hold."""
        return pick(self._table[key], lang)
