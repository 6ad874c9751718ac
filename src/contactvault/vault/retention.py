"""The retention schedule stored in the vault, and its plan and application (issue 16, item 5).

The schedule is an activity record of the log, with its document.

`Retention` is a base class of ``Vault``.
"""

from __future__ import annotations

from contactvault.vault.core import Core

__all__ = ["Retention"]


class Retention:
    """See the module docstring; a base class of ``Vault``."""

    _core: Core
