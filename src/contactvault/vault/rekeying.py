"""Re-keying: a new master key, every data key re-wrapped under it, every remaining key slot re-sealed.

Why: whoever had a key slot knew the master key. Removing their slot stops their passphrase from opening
the vault, but not the master key they may have kept; a re-key replaces it. The CRM payloads and
directories are not re-encrypted (each is under its contact's own data key, which only the new master key
now wraps); the blind index, the book's UIDs, the log and the tombstones keep their keys (the keyring, now
sealed under the new master key), so nothing a phone or the log holds changes.

In steps that survive a kill at any point:

1. **The marker.** One transaction writes the new master key, sealed under the current one, into the
   header (``Header.pending``). Nothing else changes: the vault opens with the old key.
2. **The work**, outside the writers' lock: every data key is unwrapped and wrapped again under the new
   key, from one snapshot. Other processes keep reading and writing.
3. **The swap.** One transaction checks that no other re-key ended meanwhile, re-wraps the rows that
   changed since the snapshot, writes every new wrap, the new header (remaining slots re-sealed, a new
   recovery key if there was one, the keyring, no marker), a log record and the row-set state recomputed
   under the new key. The vault opens with the old key before it commits and with the new key after; it
   is never half under each.

The marker records an unfinished re-key: the next open undoes it (the header is written again without
it, and the log says so: ``rekey_undone``) and ``rekey`` can simply be run again. It guards nothing the
swap relies on: the swap checks, under the lock, that no other re-key happened since it began and
re-wraps what changed, so a re-key whose marker another process's open removed meanwhile still completes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from contactvault import crypto
from contactvault.crypto import AuthenticationFailed, Keys, RecordKind
from contactvault.errors import ConflictError, VaultCorrupted, VaultError
from contactvault.vault import keys as slots
from contactvault.vault import log, state
from contactvault.vault.core import Core
from contactvault.vault.header import Header, SlotKind

__all__ = ["MAX_LINKS", "RekeyReport", "rekey", "undo_pending"]

MAX_LINKS: Final = 255
"""The re-key links a header keeps: a user who has not opened the vault for more re-keys must be re-added."""


@dataclass(frozen=True, slots=True)
class RekeyReport:
    """What a re-key did.

    ``contacts`` data keys were re-wrapped under the new master key, and the master key sealed again to
    the slots ``users``. ``recovery_key`` is the NEW recovery key (shown once; the old one no longer opens
    the vault), or ``None`` if the vault has none.
    """

    contacts: int
    users: tuple[str, ...]
    recovery_key: str | None

    def __repr__(self) -> str:
        return f"RekeyReport(contacts={self.contacts}, users={self.users!r})"


def _wrap_ad(vault_id: bytes, cid: bytes, version: int) -> bytes:
    return crypto.associated_data(vault_id, cid, RecordKind.DATA_KEY, version)


def _rewrapped(core: Core, new: Keys, cid: bytes, version: int, blob: bytes) -> bytes:
    ad = _wrap_ad(core.vault_id, cid, version)
    try:
        data_key = crypto.open_sealed(core.keys.wrap, blob, ad)
    except AuthenticationFailed:
        raise VaultCorrupted("a contact's wrapped data key fails authentication") from None
    return crypto.seal(new.wrap, data_key, ad)


def _data_keys(core: Core) -> list[tuple[bytes, int, bytes]]:
    """``(id, version, wrapped data key)`` of every live contact, read whole before anything is written."""
    return [(r.id, r.version, r.data_key) for r in core.storage.rows() if r.data_key is not None]


def rekey(core: Core, *, step: Callable[[str], object] | None = None) -> RekeyReport:
    """Re-key the vault (see the module docstring); ``step`` is told ``"marked"`` and ``"wrapped"``."""
    header = core.current_header()
    carried = [s.name for s in header.users() if not s.public_key]
    if carried:
        raise VaultError(
            f"user {carried[0]!r} has not opened the vault since it was made by an older version of "
            "contactvault: they must open it once (or be removed) before a re-key"
        )
    master = crypto.random_bytes()
    old = core.keys
    new = Keys(master, old.keyring)
    marker = slots.sealed_pending(old, core.vault_id, master)

    def marked(current: Header) -> Header:
        return slots.signed(current.changed(pending=marker), old)

    core.commit((), header=marked)
    if step is not None:
        step("marked")
    with core.storage.snapshot():
        prepared = {
            cid: (version, blob, _rewrapped(core, new, cid, version, blob))
            for cid, version, blob in _data_keys(core)
        }
    if step is not None:
        step("wrapped")
    return _swap(core, master, new, prepared)


def _swap(
    core: Core, master: bytes, new: Keys, prepared: dict[bytes, tuple[int, bytes, bytes]]
) -> RekeyReport:
    storage, old = core.storage, core.keys
    shown: str | None = None
    with storage.transaction():
        current = core.current_header()
        if core.keys is not old:
            raise ConflictError("another re-key of this vault ended meanwhile: nothing was changed")
        stored = state.check(storage, old, current.pack())  # nothing tampered with is carried over
        wraps = []
        for cid, version, blob in _data_keys(core):
            ready = prepared.get(cid)
            same = ready is not None and ready[0] == version and ready[1] == blob
            wraps.append(
                (cid, version, ready[2] if same and ready else _rewrapped(core, new, cid, version, blob))
            )
        storage.rewrap(wraps)
        key_slots = []
        for slot in current.slots:
            if slot.kind == SlotKind.RECOVERY:
                recovery, shown = slots.new_recovery_slot(master, core.vault_id)
                key_slots.append(recovery)
            else:
                key_slots.append(slots.resealed(slot, master, core.vault_id))
        link = slots.make_link(core.master, master, core.vault_id)
        header = current.changed(
            slots=tuple(key_slots),
            keyring=slots.sealed_keyring(new, core.vault_id),
            pending=b"",
            links=(*current.links, link)[-MAX_LINKS:],
        )
        header = slots.signed(header, new)
        storage.write_single("header", header.pack())
        seq, record = log.activity(core, "rekey", detail=f"{len(wraps)} data keys")()
        storage.log_append(seq, record)
        found = state.recount(storage, new, stored.generation + 1)
        storage.write_single("state", found.pack(new, header.pack()))
    core.rekeyed(header, master, new)
    storage.after_erase()  # the old wraps: out of the WAL (or VACUUMed away)
    return RekeyReport(len(wraps), tuple(s.name for s in header.users()), shown)


def undo_pending(core: Core) -> bool:
    """Undo the marker of a re-key that did not finish (at an open); ``True`` if there was one.

    Best effort: a vault that cannot be written now (busy, read-only) keeps the marker, which is harmless
    (the vault opens with its current key), until a later open.
    """
    if not core.header.pending:
        return False
    slots.pending_master(core.header, core.keys)  # authenticated, or VaultCorrupted

    def unmarked(current: Header) -> Header:
        return slots.signed(current.changed(pending=b""), core.keys)

    detail = "the marker of an unfinished re-key removed; one still running completes on its own"
    try:
        core.commit((), header=unmarked, log=log.activity(core, "rekey_undone", detail=detail))
    except VaultError:
        return False
    return True
