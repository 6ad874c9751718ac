"""Public names of a package imported from their modules on first use (PEP 562).

``contactvault``, ``contactvault.vault`` and ``contactvault.sync`` re-export names that live in heavier
modules; each keeps a table of name -> module and gets its ``__getattr__`` and ``__dir__`` from
``lazy_names``, so that importing the package loads none of those modules until a name is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping, Sequence

__all__ = ["lazy_names"]


def lazy_names(
    package: str, table: Mapping[str, str], namespace: MutableMapping[str, object], public: Sequence[str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``, whose globals are ``namespace``.

    ``__getattr__`` imports a name of ``table`` from its module on first use and keeps it in
    ``namespace``; any other name is missing. ``__dir__`` lists the globals and ``public``.
    """

    def getattr_(name: str) -> object:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value: object = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted({*namespace, *public})

    return getattr_, dir_
