"""Asking for consent with a reply code, and taking the answer as evidence (issue 16, items 2 and 3).

Confirming a code, replies from the messenger's webhook and bulk records from forms.

`ConsentAsking` is a base class of ``Vault``.
"""

from __future__ import annotations

from contactvault.vault.core import Core

__all__ = ["ConsentAsking"]


class ConsentAsking:
    """See the module docstring; a base class of ``Vault``."""

    _core: Core
