"""``Vault.verify``: check everything, decrypting every record once."""

from __future__ import annotations

from dataclasses import replace

from contactvault.errors import VaultCorrupted
from contactvault.vault import keys as slots
from contactvault.vault import log, memory
from contactvault.vault.core import Core
from contactvault.vault.results import VerifyReport

__all__ = ["verify"]


def verify(core: Core) -> VerifyReport:
    """Check the whole vault: SQLite's pages, the header MAC, the row-set digest, the log, every blob.

    And the blind index: each contact's entries, and no UID or external id held by two contacts.

    Reads one snapshot, so that other processes writing meanwhile cannot make it see half a change.
    Then compares the state's generation with this client's memory of the vault (``memory.consulted``):
    an older one than this client saw is ``VaultCorrupted``, as at open.
    Raises ``VaultCorrupted`` at the first problem; returns what was checked otherwise.
    """
    with core.storage.snapshot():
        report = _verify(core)
        raw = core.storage.read_single("state")
    consulted, held = memory.consulted(core, report.generation, raw)
    return replace(
        report,
        memory_consulted=consulted,
        seen_generation=held.generation if held is not None else None,
        seen_at=held.at if held is not None else None,
    )


def _verify(core: Core) -> VerifyReport:
    storage, records = core.storage, core.records
    storage.integrity_check()
    # The stored header, another process's passphrase change or re-key taken; its MAC checked again, as a
    # header this process committed itself was kept without a check.
    slots.check_mac(core.current_header(), core.keys)
    state = core.check()
    disclosures = len(log.read(core, fresh=True)[0])  # seals, order and hash chain of the whole log
    index: dict[bytes, set[bytes]] = {}
    for tag, cid in storage.index_pairs():
        index.setdefault(cid, set()).add(tag)
    contacts = erased = 0
    owners: dict[bytes, bytes] = {}  # a UID or external-id tag -> the one contact that may hold it
    for row in storage.rows(with_payload=True):
        if row.data_key is None:
            records.tombstone(row)
            erased += 1
            expected: set[bytes] = set()
        else:
            records.contact(row)  # every blob, and directory and payload agreeing
            contacts += 1
            # From the directory, as written (a contact stored before UIDs were indexed has no UID tag).
            tags = records.tags(records.directory(row))
            expected = set(tags.all)
            for tag in tags.unique:
                if owners.setdefault(tag, row.id) != row.id:
                    raise VaultCorrupted("two contacts carry the same vCard UID or external id")
        if index.pop(row.id, set()) != expected:
            raise VaultCorrupted("the blind index does not match a contact's numbers and keys")
    if index:
        raise VaultCorrupted("the blind index names contacts that are not in the vault")
    return VerifyReport(
        contacts=contacts,
        erased=erased,
        index_entries=state.index,
        disclosures=disclosures,
        generation=state.generation,
    )
