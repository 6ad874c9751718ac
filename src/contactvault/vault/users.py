"""Users of one vault: a key slot per person and per service, added, listed, removed; passphrases; re-keying.

``UserSlots`` is part of ``Vault`` (a base class), kept apart so that each file stays short. Every user's
slot opens the same master key, so every user can do everything; what a slot gives is a passphrase of
one's own, a name in the log (``recorded_by``), and a way to take one person's access away without telling
everyone a new passphrase: remove their slot, then ``rekey`` (``docs/team.md`` says what that does and does
not revoke).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from contactvault.crypto import KdfParams
from contactvault.errors import UnknownUser, VaultError
from contactvault.vault import keys as slots
from contactvault.vault import log
from contactvault.vault.core import Core
from contactvault.vault.header import RECOVERY, Header, Slot, SlotKind, check_name
from contactvault.vault.memory import ClientMemory
from contactvault.vault.rekeying import RekeyReport, rekey, undo_pending

__all__ = ["UserInfo", "UserSlots", "finish_open"]

UserKind = Literal["person", "service", "recovery key"]

_KINDS: dict[SlotKind, UserKind] = {
    SlotKind.PERSON: "person",
    SlotKind.SERVICE: "service",
    SlotKind.RECOVERY: "recovery key",
}


@dataclass(frozen=True, slots=True)
class UserInfo:
    """One key slot of the vault, as ``users()`` lists it (no key material).

    ``kdf`` is a person's Argon2id parameters (``None`` for a service and the recovery key); ``you`` marks
    the slot this ``Vault`` was opened with; ``carried_over`` a person's slot from a vault of format 1 that
    they have not opened since (it gets a key pair of its own at their next open; ``rekey`` waits for it).
    """

    name: str
    kind: UserKind
    kdf: KdfParams | None
    you: bool
    carried_over: bool = False


def finish_open(core: Core, opened: slots.Unlocked) -> None:
    """After the checks of an open: remember the KDF, give a format-1 slot its key pair, undo a dead re-key.

    The two writes are best effort: a vault that cannot be written now (busy, read-only) opens all the
    same, and the next open tries again.
    """
    mine = core.header.slot(opened.slot)
    if mine is not None and mine.kdf is not None:
        ClientMemory().remember_kdf(core.vault_id, mine.name, mine.kdf)
    upgrade, found = opened.upgrade, opened.opened
    if upgrade is not None and found is not None:

        def upgraded(current: Header) -> Header:
            if current.slot(found.name) != found:
                raise _Skip  # another process changed the slot meanwhile
            changed = tuple(upgrade if s.name == found.name else s for s in current.slots)
            return slots.signed(current.changed(slots=changed), core.keys)

        try:
            core.commit((), header=upgraded)
        except (_Skip, VaultError):
            if not found.public_key:
                core.forget_private_key()  # the new key pair was not stored: it follows no re-key
    undo_pending(core)


class _Skip(Exception):  # not an error: another process made the change first
    """Ends a header change that is no longer needed."""


class UserSlots:
    """Users, passphrases and re-keying (see the module docstring); a base class of ``Vault``."""

    _core: Core

    @property
    def user(self) -> str:
        """Who opened this vault: the name of the key slot (a person, a service, or ``"recovery key"``)."""
        return self._core.actor

    def users(self) -> list[UserInfo]:
        """Every key slot of the vault, in the order they were added: people, services, the recovery key."""
        header = self._core.current_header()
        return [
            UserInfo(
                s.name,
                _KINDS[s.kind],
                s.kdf,
                you=s.name == self._core.actor,
                carried_over=s.kind == SlotKind.PERSON and not s.public_key,
            )
            for s in header.slots
        ]

    def _add(self, slot: Slot) -> None:
        core = self._core

        def added(current: Header) -> Header:
            if current.slot(slot.name) is not None:
                raise ValueError(f"this vault already has a user {slot.name!r}")
            if len(current.slots) >= 255:
                raise ValueError("a vault holds at most 255 key slots")
            return slots.signed(current.changed(slots=(*current.slots, slot)), core.keys)

        detail = f"{_KINDS[slot.kind]} {slot.name}"
        core.commit((), header=added, log=log.activity(core, "user_added", detail=detail))

    def add_user(self, name: str, passphrase: str | bytes, *, kdf: KdfParams | None = None) -> None:
        """Give a new person a key slot of their own, opened by ``passphrase`` (Argon2id with ``kdf``).

        Whoever has the vault open adds them (the master key is sealed to the new slot); the log records
        who added whom. ``ValueError`` if the name is taken or not a valid name (1 to 64 bytes of
        printable text).
        """
        check_name(name)
        params = kdf if kdf is not None else KdfParams.default()
        slot, _ = slots.person_slot(name, passphrase, params, self._core.master, self._core.vault_id)
        self._add(slot)

    def add_service(self, name: str) -> str:
        """Give a service (a web app, a nightly job) a key slot; returns its new random key, once.

        Keep the key in a file readable only by the service (mode 0600) or in its environment
        (``CONTACTVAULT_SERVICE_KEY``); the service opens the vault with ``Vault.open(path,
        service_key=...)`` and is named ``name`` in the log. It is removed and re-keyed away like a person.
        """
        check_name(name)
        slot, key = slots.service_slot(name, self._core.master, self._core.vault_id)
        self._add(slot)
        return key

    def remove_user(self, name: str) -> None:
        """Delete a person's or service's key slot: their passphrase or key no longer opens the vault.

        It does not take back the master key they knew, nor any copy of the vault they kept: run ``rekey``
        after removing someone (``docs/team.md``). The last person or service cannot be removed (the
        recovery key alone is no way to work); ``UnknownUser`` if there is no such user.
        """
        core = self._core
        if name == RECOVERY:
            raise ValueError("the recovery key is not a user")

        def removed(current: Header) -> Header:
            if current.slot(name) is None:
                raise UnknownUser(f"this vault has no user {name!r}")
            rest = tuple(s for s in current.slots if s.name != name)
            if not any(s.kind != SlotKind.RECOVERY for s in rest):
                raise ValueError("the last user of a vault cannot be removed")
            return slots.signed(current.changed(slots=rest), core.keys)

        core.commit((), header=removed, log=log.activity(core, "user_removed", detail=name))
        core.storage.after_erase()  # the removed slot's wraps: out of the WAL (or VACUUMed away)

    def change_passphrase(
        self, new_passphrase: str | bytes, *, user: str | None = None, kdf: KdfParams | None = None
    ) -> None:
        """Set a new passphrase for your own key slot, or for ``user``'s (and optionally new KDF parameters).

        The slot gets a fresh salt and key pair; nothing else is re-encrypted, whatever the size of the
        vault. Opened with the recovery key, ``user`` says whose passphrase to set (the only person's if
        ``None``). Other processes that have the vault open keep working; they must use the new passphrase
        to open it again.
        """
        slots.check_passphrase(new_passphrase)
        core = self._core
        header = core.current_header()
        name = user if user is not None else core.actor
        if name == RECOVERY:
            people = [s for s in header.slots if s.kind == SlotKind.PERSON]
            if len(people) != 1:
                raise UnknownUser("opened with the recovery key: say whose passphrase to set (user=...)")
            name = people[0].name
        target = header.slot(name)
        if target is None or target.kind != SlotKind.PERSON:
            raise UnknownUser(f"this vault has no user {name!r} with a passphrase")
        params = kdf if kdf is not None else target.kdf or KdfParams.default()
        slot, private = slots.person_slot(name, new_passphrase, params, core.master, core.vault_id)

        def rewrapped(current: Header) -> Header:
            if current.slot(name) is None:
                raise UnknownUser(f"this vault has no user {name!r}")
            changed = tuple(slot if s.name == name else s for s in current.slots)
            return slots.signed(current.changed(slots=changed), core.keys)

        core.commit((), header=rewrapped, log=log.activity(core, "passphrase_changed", detail=name))
        if name == core.actor:
            core.take_private_key(private)
            ClientMemory().remember_kdf(core.vault_id, name, params)
        core.storage.after_erase()  # the old wrap: out of the WAL (or VACUUMed away)

    def rekey(self) -> RekeyReport:
        """Make a new master key, re-wrap every data key under it, and seal it to every remaining slot.

        Run it after removing a user: their copy of the old master key then unwraps no contact's data key
        in this vault, nor those of contacts added later. The keyring (index, book, log and tombstone
        keys) is carried over, so that phones and the log see no change (``docs/threat-model.md``). In
        steps that survive a kill (``contactvault.vault.rekeying``); no CRM payload is re-encrypted. The
        recovery key, if any, is replaced: the report carries the new one (also as ``recovery_key`` on this
        vault), to be shown once and kept offline. Other processes that have the vault open follow through
        their own key slot.
        """
        report = rekey(self._core)
        self.recovery_key = report.recovery_key
        return report

    recovery_key: str | None
