"""The languages reports and GDPR documents are written in, and the check of a ``lang`` argument."""

from __future__ import annotations

from typing import Final, Literal, get_args

__all__ = ["LANGS", "Lang", "check_lang"]

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
