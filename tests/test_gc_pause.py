"""``importers._gc.paused_gc``: the collector paused for a batch, and what the batch made counted as old."""

from __future__ import annotations

import gc

from contactvault.importers._gc import paused_gc


class _Tracked:
    """An object the cyclic collector tracks."""


def _generation_of(thing: object) -> int | None:
    for generation in (0, 1, 2):
        if any(found is thing for found in gc.get_objects(generation)):
            return generation
    return None


def test_what_a_pause_made_is_old_afterwards() -> None:
    """The next young collection does not walk it: it is in the oldest generation, nothing stays frozen."""
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        made = [_Tracked() for _ in range(100)]
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
    assert _generation_of(made[0]) == 2
    assert _generation_of(made) == 2


def test_a_pause_leaves_a_disabled_collector_and_frozen_objects_alone() -> None:
    """Disabled before: disabled after, objects left where they are. Frozen by someone else: still frozen."""
    gc.disable()
    try:
        with paused_gc():
            young = _Tracked()
        assert not gc.isenabled()
        assert _generation_of(young) == 0
    finally:
        gc.enable()
    gc.freeze()  # as a server does before it forks
    try:
        frozen = gc.get_freeze_count()
        with paused_gc():
            _Tracked()
        assert gc.get_freeze_count() == frozen
        assert gc.isenabled()
    finally:
        gc.unfreeze()
