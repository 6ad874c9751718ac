"""Privacy notices as versioned, immutable vault records; consent refresh periods (issue 16, items 1, 4).

Each notice version and each refresh period is an activity record of the log, with its document.

`Notices` is a base class of ``Vault``.
"""

from __future__ import annotations

from contactvault.vault.core import Core

__all__ = ["Notices"]


class Notices:
    """See the module docstring; a base class of ``Vault``."""

    _core: Core
