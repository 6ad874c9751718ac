"""The ``--workers N|auto`` option of the commands that can share their work with helper processes.

``import`` reads large files with helpers (``iter_vcards(workers=...)``); ``book``, ``export`` and ``sync``
share the first book's work with one (``messenger_book(workers=...)``). ``auto`` lets the library decide,
``0`` keeps everything in the command's process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar

import click

__all__ = ["workers_option"]

_F = TypeVar("_F", bound=Callable[..., Any])


def _parsed(_ctx: click.Context, _param: click.Parameter, value: str) -> int | Literal["auto"]:
    if value.strip().lower() == "auto":
        return "auto"
    try:
        count = int(value)
    except ValueError:
        count = -1
    if count < 0:
        raise click.BadParameter("expected 'auto' or a number of helper processes (0: one process)")
    return count


def workers_option(text: str) -> Callable[[_F], _F]:
    """``--workers N|auto`` (default ``auto``), given to the command as ``workers``; ``text`` is its help."""
    return click.option(
        "--workers", default="auto", show_default=True, metavar="N|auto", callback=_parsed, help=text
    )
