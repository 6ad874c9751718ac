"""Re-keying: a new master key, every data key re-wrapped, every slot re-sealed; nothing lost, if killed.

On both backends. The child process that is killed mid-way is tests/rekey_child.py.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from contactvault import (
    ConflictError,
    Contact,
    ContactErased,
    Policy,
    UnknownUser,
    Vault,
    VaultCorrupted,
    WrongPassphrase,
    crypto,
    normalize_phone,
)
from contactvault.crypto import AuthenticationFailed, Keys, RecordKind
from contactvault.sync import export_book, messenger_book
from contactvault.vault.backends import open_backend
from contactvault.vault.header import OWNER, Header
from tests.conftest import ROOT, disclosed_pair
from tests.rekey_child import PASSPHRASE_VARIABLE
from tests.teams import ALICE_PW, BOB_PW, OWNER_PW, make_team, stored_header


def _contacts(count: int) -> list[Contact]:
    return [
        Contact(
            display_name=f"Kundin {i}",
            phones=(normalize_phone(f"+4915155{i:06d}", default_region=None),),
            notes=(f"Rechnung {i}",),
        )
        for i in range(count)
    ]


def _state(vault: Vault) -> tuple[list[Contact], list[object], dict[str, object]]:
    """What a re-key must keep: every contact in full, every log record, the book's UIDs."""
    book = messenger_book(vault, Policy.default())
    return sorted(vault.contacts(), key=lambda c: c.id), list(vault.activity()), dict(book.cards())


def test_rekey_keeps_every_contact_consent_log_record_and_book_uid(where, tmp_path):
    """Contacts, consents, tombstones, log records and book UIDs read the same after; verify is clean."""
    make_team(where)
    with Vault.open(where, OWNER_PW, user=OWNER) as vault:
        first, _ = disclosed_pair(vault, tmp_path)
        vault.add_many(_contacts(30))
        gone = vault.add(_contacts(1)[0].model_copy(update={"display_name": "Weg"}))
        vault.erase(gone)
        before = _state(vault)
        old_master = vault._core.master
        report = vault.rekey()
        assert report.contacts == 32
        assert report.users == (OWNER, "alice", "bob")
        assert vault._core.master != old_master
        contacts, records, cards = _state(vault)
        assert (contacts, records[:-1], cards) == before  # and one record more: the re-key
        assert vault.find_by_phone("+4915155500001")[0].id == first.id  # the blind index is unchanged
        with pytest.raises(ContactErased):
            vault.get(gone)
        assert vault.verify().contacts == 32
        assert vault.activity()[-1].action == "rekey"
    with Vault.open(where, ALICE_PW, user="alice") as vault:
        contacts, records, cards = _state(vault)
        assert (contacts, records[:-1], cards) == before
        export_book(vault, messenger_book(vault, Policy.default()), tmp_path / "again.vcf")
        assert vault.verify().contacts == 32


def test_a_removed_user_and_the_old_master_key_open_nothing_after_a_rekey(where):
    """Bob removed, then a re-key: his passphrase fails, and the old master key unwraps no data key."""
    make_team(where)
    with Vault.open(where, OWNER_PW, user=OWNER) as vault:
        ids = vault.add_many(_contacts(5))
        old = Keys(vault._core.master)
        vault.remove_user("bob")
        vault.rekey()
        new_id = vault.add(_contacts(6)[5])
    with pytest.raises((UnknownUser, VaultCorrupted)):
        Vault.open(where, BOB_PW, user="bob")
    storage = open_backend(where, lock_timeout=5)
    try:
        header = Header.unpack(storage.read_single("header"))
        for cid in (*ids, new_id):
            row = storage.get(cid.bytes)
            assert row is not None
            assert row.data_key is not None
            ad = crypto.associated_data(header.vault_id, row.id, RecordKind.DATA_KEY, row.version)
            with pytest.raises(AuthenticationFailed):
                crypto.open_sealed(old.wrap, row.data_key, ad)
    finally:
        storage.close()


def test_rekey_replaces_the_recovery_key(where):
    """The re-key shows a new recovery key once; the old one no longer opens the vault."""
    old = make_team(where, recovery=True)
    assert old is not None
    with Vault.open(where, OWNER_PW, user=OWNER) as vault:
        report = vault.rekey()
        assert report.recovery_key is not None
        assert vault.recovery_key == report.recovery_key
    with pytest.raises(WrongPassphrase):
        Vault.open_with_recovery_key(where, old)
    with Vault.open_with_recovery_key(where, report.recovery_key) as vault:
        assert vault.verify().contacts == 0


def test_an_open_vault_follows_a_rekey_made_elsewhere(where):
    """Alice's open vault keeps reading and writing after the owner re-keys; a removed user's does not."""
    make_team(where)
    with (
        Vault.open(where, ALICE_PW, user="alice") as alice,
        Vault.open(where, BOB_PW, user="bob") as bob,
        Vault.open(where, OWNER_PW, user=OWNER) as owner,
    ):
        cid = owner.add(_contacts(1)[0])
        owner.remove_user("bob")
        owner.rekey()
        assert alice.get(cid).display_name == "Kundin 0"
        alice.add(_contacts(2)[1])
        assert alice.verify().contacts == 2
        with pytest.raises(VaultCorrupted, match="re-keyed without this key slot"):
            bob.add(_contacts(3)[2])


def test_two_rekeys_in_a_row_are_followed_by_a_user_who_opened_neither(where):
    """Alice opens after two re-keys: the links lead her slot from the master key it trusted to today's."""
    make_team(where)
    with Vault.open(where, OWNER_PW, user=OWNER) as vault:
        vault.rekey()
        vault.rekey()
        assert len(vault._core.header.links) == 2
    with Vault.open(where, ALICE_PW, user="alice") as vault:
        assert vault.verify().contacts == 0


# --- killed on the way --------------------------------------------------------------------------------------


def _child(where: Path | str, step: str | None = None) -> subprocess.Popen[str]:
    args = [sys.executable, "-m", "tests.rekey_child", str(where), *([step] if step else [])]
    env = {**os.environ, PASSPHRASE_VARIABLE: OWNER_PW}
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE}
    child = subprocess.Popen(args, cwd=ROOT, env=env, text=True, **pipes)  # noqa: S603
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    return child


def _kill(child: subprocess.Popen[str]) -> None:
    child.send_signal(signal.SIGKILL)
    _end(child)


def _end(child: subprocess.Popen[str]) -> None:
    child.wait(timeout=120)
    for pipe in (child.stdin, child.stdout):
        if pipe is not None:
            pipe.close()


def _master(where: Path | str) -> bytes:
    with Vault.open(where, ALICE_PW, user="alice") as vault:
        assert vault.verify().contacts == 10_000
        return vault._core.master


def _check(where: Path | str, masters: set[bytes]) -> bytes:
    """The vault opens for each remaining user, verifies, and is under a known key or one new key."""
    master = _master(where)
    with Vault.open(where, OWNER_PW, user=OWNER) as vault:
        assert vault._core.master == master
    with pytest.raises((UnknownUser, VaultCorrupted)):
        Vault.open(where, BOB_PW, user="bob")
    masters.add(master)
    return master


@pytest.mark.parametrize("step", ["marked", "wrapped"])
def test_a_rekey_killed_at_a_step_leaves_the_old_key_and_the_next_open_undoes_its_marker(where, step):
    """Killed after the marker or after the wrapping: the vault opens with the old key, undoes the marker."""
    make_team(where)
    with Vault.open(where, OWNER_PW, user=OWNER) as vault:
        vault.add_many(_contacts(50))
        vault.remove_user("bob")
        before = vault._core.master
    child = _child(where, step)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == step
    assert stored_header(where).pending  # the marker records the unfinished re-key
    _kill(child)
    with Vault.open(where, ALICE_PW, user="alice") as vault:
        assert vault._core.master == before
        assert not vault._core.header.pending
        assert not stored_header(where).pending
        assert vault.activity()[-1].action == "rekey_undone"
        assert vault.verify().contacts == 50
        vault.rekey()
        assert vault.verify().contacts == 50


def test_a_rekey_whose_marker_an_open_undid_still_completes(where):
    """An open while a re-key works removes its marker; the re-key's swap, under the lock, still holds."""
    make_team(where)
    with Vault.open(where, OWNER_PW, user=OWNER) as vault:
        vault.add_many(_contacts(20))
        before = vault._core.master
    child = _child(where, "wrapped")
    assert child.stdin is not None
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "wrapped"
    with Vault.open(where, ALICE_PW, user="alice") as alice:
        assert alice.activity()[-1].action == "rekey_undone"
        alice.add(_contacts(21)[20])  # written under the old key while the re-key waits
        first = next(iter(alice)).id
        alice.modify(first, lambda c: c.model_copy(update={"notes": ("geändert",)}))  # a new version
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "done"
        _end(child)
        assert alice.verify().contacts == 21  # alice's open vault followed the re-key
        assert alice._core.master != before
        assert alice.activity()[-1].action == "rekey"
        assert alice.get(first).notes == ("geändert",)
    with Vault.open(where, OWNER_PW, user=OWNER) as vault:
        assert vault._core.master != before
        assert vault.verify().contacts == 21


def test_sigkill_at_random_points_of_a_rekey_of_10000_contacts(where, backend):
    """Killed anywhere in a re-key of 10,000 contacts: it opens with the old or the new key, and verifies.

    The first re-key runs to the end and is timed; the kills then land at random moments within that time
    (and a little after, when the re-key may have finished).
    """
    make_team(where)
    with Vault.open(where, OWNER_PW, user=OWNER) as vault:
        vault.add_many(_contacts(10_000))
        vault.remove_user("bob")
    masters: set[bytes] = set()
    first = _check(where, masters)
    started = time.monotonic()
    child = _child(where)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "done"
    _end(child)
    took = time.monotonic() - started
    rng = random.Random(15)
    kills = 6 if backend == "sqlite" else 4
    before = _check(where, masters)
    assert before != first
    for _ in range(kills):
        known = set(masters)
        child = _child(where)
        time.sleep(rng.uniform(0, took * 1.2))
        _kill(child)
        after = _check(where, masters)
        assert after == before or after not in known  # the old key, or a brand-new one: never half
        before = after


def test_a_write_sealed_before_a_rekey_elsewhere_is_a_stale_conflict_not_a_corrupt_row(where):
    """A change sealed under the old keys, committed after another process re-keyed: ConflictError (stale).

    Stored, its data key would be wrapped under a master key the vault no longer has. ``modify`` tries again
    with the new keys and lands.
    """
    make_team(where)
    with Vault.open(where, ALICE_PW, user="alice") as alice:
        cid = alice.add(_contacts(1)[0])
        core = alice._core
        row = core.live_row(cid)
        changed = core.records.contact(row).model_copy(update={"notes": ("neu",)})
        write = core.replacement(row, changed.model_copy(update={"version": row.version + 1}))
        with Vault.open(where, OWNER_PW, user=OWNER) as owner:
            owner.rekey()
        with pytest.raises(ConflictError) as conflict:
            core.commit([write])
        assert conflict.value.stale
        alice.modify(cid, lambda c: c.model_copy(update={"notes": ("neu",)}))
        assert alice.get(cid).notes == ("neu",)
        assert alice.verify().contacts == 1
