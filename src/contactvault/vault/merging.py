"""``Vault.merge``: several stored contacts that are one person become one, in one transaction.

The first contact survives (its id, display name and data key); every number, e-mail address, address,
note, URL, label, custom field, consent, legal basis and objection of the others is added to it, and a
single-valued field they disagree on is kept as a ``MERGED-...`` custom field (``duplicates.merge_into``).
The survivor records the merged-away ids (``merged_from``: the disclosure log and the Art. 15 report still
find what was disclosed under them) and their vCard UIDs (``merged_uids``: a re-import of their cards is
recognised). Each merged-away contact is then shredded as an erase does: its data key is deleted, a
tombstone naming the survivor takes its place, and the WAL is checkpointed. The merge is logged as one
``"merge"`` activity, naming (by keyed hashes) every contact merged, by the key slot that opened the vault.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from contactvault.duplicates import merge_into
from contactvault.errors import ConflictError
from contactvault.importers.matching import card_key
from contactvault.models import Contact
from contactvault.vault import log
from contactvault.vault.core import Core, contact_id, validated

__all__ = ["merge"]


def merge(core: Core, ids: Sequence[uuid.UUID | str], now: datetime) -> Contact:
    """Merge the contacts ``ids`` into the first; returns the merged contact.

    Raises ``ValueError`` for fewer than two distinct ids, ``ContactNotFound``/``ContactErased`` for an id
    that is not a live contact, and ``ConflictError`` if they carry different external ids (which key
    would the caller's system keep? Remove one first).
    """
    wanted = list(dict.fromkeys(contact_id(i) for i in ids))
    if len(wanted) < 2:
        raise ValueError("a merge needs at least two different contacts")
    rows = [core.live_row(cid) for cid in wanted]
    contacts = [core.records.contact(row) for row in rows]
    external = {c.external_id for c in contacts if c.external_id is not None}
    if len(external) > 1:
        raise ConflictError("the contacts carry different external ids; remove all but one before merging")
    records = core.records
    merged = contacts[0]
    for other in contacts[1:]:
        merged = merge_into(merged, other, now)
    # The merged-away cards, recognised when a re-import brings them again (see importers.matching).
    cards = (*merged.merged_cards, *(records.card_tag(card_key(o)).hex() for o in contacts[1:]))
    merged = merged.model_copy(update={"merged_cards": tuple(dict.fromkeys(cards))})
    merged = validated(merged, version=rows[0].version + 1, by=core.actor, before=contacts, updated_at=now)
    # First the tombstones, so that their UIDs are free for the survivor.
    writes = [core.tombstone(row, now, merged_into=merged.id) for row in rows[1:]]
    log.commit(core, [*writes, core.replacement(rows[0], merged)], "merge", contacts=wanted)
    return merged
