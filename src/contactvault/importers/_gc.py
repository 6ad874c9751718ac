"""Pausing Python's cyclic garbage collector while a batch of contacts is built.

Building many small container objects (models, tuples, dicts) makes CPython run its cyclic collector every
700 allocations, and each run walks the young objects again; on an import that is a third of the time,
for no gain: parsing creates no reference cycles. Mercurial pauses the collector for the same reason
(``util.nogc``). The pause covers one batch at a time and restores the caller's setting afterwards.

What the batch made and still holds (its contacts, until they are stored) would then be walked by the
first young collection after the pause, and again by the next generation's: on an import, an eighth of
the parent's time. So the end of a pause counts every object made meanwhile as old (``gc.freeze()`` then
``gc.unfreeze()``, while still paused: every tracked object moves to the oldest generation, in constant
time, and nothing stays frozen); they are freed by their reference counts as before, and only a full
collection looks at them. Only when the collector was on and nothing is frozen: objects someone else froze
(a server before it forks) stay frozen.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused_gc"]


@contextmanager
def paused_gc() -> Iterator[None]:
    """Disable the cyclic collector for the ``with`` block, if it was enabled; re-enable it after.

    What the block made counts as old afterwards (see the module).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()
