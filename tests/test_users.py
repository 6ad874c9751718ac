"""A key slot per person and per service: opening, adding, removing, passphrases, and a tampered header.

Every test runs on both backends (a vault file, and a schema on the test PostgreSQL server); the command
line is tested in test_cli_users.py, re-keying in test_rekey.py.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contactvault import (
    Contact,
    KdfLimitExceeded,
    KdfParams,
    LegalBasis,
    UnknownUser,
    UnsupportedFormat,
    Vault,
    VaultCorrupted,
    WrongPassphrase,
    crypto,
    normalize_phone,
)
from contactvault.crypto import Keys
from contactvault.vault import keys as slots
from contactvault.vault import state
from contactvault.vault.backends import open_backend
from contactvault.vault.header import FORMAT_VERSION, OWNER, Header, Slot, SlotKind
from contactvault.vault.keys import _legacy_ad
from tests.conftest import consent
from tests.teams import ALICE_PW, BOB_PW, FAST, OWNER_PW, stored_header


@pytest.fixture
def team(where: Path | str) -> Path | str:
    """A vault with the owner, alice and bob (persons) and a recovery key; one contact in it."""
    with Vault.create(where, OWNER_PW, kdf=FAST, recovery_key=True) as vault:
        vault.add(_contact())
        vault.add_user("alice", ALICE_PW, kdf=FAST)
        vault.add_user("bob", BOB_PW, kdf=FAST)
    return where


def _contact() -> Contact:
    return Contact(
        display_name="Jürgen Beispiel", phones=(normalize_phone("0151 55501234", default_region="DE"),)
    )


def _write(where: Path | str, header: bytes, state_bytes: bytes | None = None) -> None:
    """Put ``header`` (and a state) into the vault as someone with write access to the storage would."""
    storage = open_backend(where, lock_timeout=5)
    try:
        with storage.transaction():
            storage.write_single("header", header)
            if state_bytes is not None:
                storage.write_single("state", state_bytes)
    finally:
        storage.close()


def _edited(header: Header, **fields: object) -> bytes:
    """``header`` with ``fields`` changed, its old MAC kept and its unkeyed checksum recomputed."""
    return dataclasses.replace(header, **fields).pack()  # type: ignore[arg-type]


# --- opening as a person or a service -----------------------------------------------------------------------


def test_each_user_opens_with_their_own_passphrase(team):
    """Each person's passphrase opens the vault as that person; another's passphrase does not."""
    for user, passphrase in ((OWNER, OWNER_PW), ("alice", ALICE_PW), ("bob", BOB_PW)):
        with Vault.open(team, passphrase, user=user) as vault:
            assert vault.user == user
            assert len(vault) == 1
            assert [u.name for u in vault.users() if u.you] == [user]
    with pytest.raises(WrongPassphrase):
        Vault.open(team, BOB_PW, user="alice")


def test_several_users_and_none_named_is_unknown_user_without_deriving(team, monkeypatch):
    """With several people, a name is needed: ``UnknownUser`` at once, no key derived, file unchanged."""
    calls: list[object] = []
    real = crypto.derive_kek
    monkeypatch.setattr(crypto, "derive_kek", lambda *a: calls.append(a) or real(*a))
    with pytest.raises(UnknownUser, match="3 users"):
        Vault.open(team, OWNER_PW)
    with pytest.raises(UnknownUser, match="carol"):
        Vault.open(team, OWNER_PW, user="carol")
    assert calls == []


def test_a_vault_with_one_person_opens_as_today(where):
    """One person: the passphrase alone opens it, as ``owner``."""
    with Vault.create(where, OWNER_PW, kdf=FAST):
        pass
    with Vault.open(where, OWNER_PW) as vault:
        assert vault.user == OWNER
        assert [(u.name, u.kind) for u in vault.users()] == [(OWNER, "person")]


def test_create_names_the_first_user(where):
    """``create(user=...)`` names the first slot; it is who opened the vault."""
    with Vault.create(where, OWNER_PW, kdf=FAST, user="Frau Meier") as vault:
        assert vault.user == "Frau Meier"
    with Vault.open(where, OWNER_PW) as vault:
        assert vault.user == "Frau Meier"


def test_a_service_opens_with_its_key_and_is_named(team):
    """A service's random key opens the vault as the service; a changed or foreign key does not."""
    with Vault.open(team, ALICE_PW, user="alice") as vault:
        key = vault.add_service("web app")
        kinds = {u.name: u.kind for u in vault.users()}
    assert kinds == {
        OWNER: "person",
        "recovery key": "recovery key",
        "alice": "person",
        "bob": "person",
        "web app": "service",
    }
    assert key.startswith("cvsk-")
    with Vault.open(team, service_key=key) as vault:
        assert vault.user == "web app"
        assert len(vault) == 1
    other = crypto.format_service_key(crypto.random_bytes())
    with pytest.raises(WrongPassphrase):
        Vault.open(team, service_key=other)
    with pytest.raises(WrongPassphrase):
        Vault.open(team, service_key="not a key")
    with pytest.raises(ValueError, match="passphrase or the service key"):
        Vault.open(team, OWNER_PW, service_key=key)


def test_user_names_are_checked(team):
    """A taken, empty, too long or padded name, or the recovery key's, is refused; nothing is written."""
    with Vault.open(team, OWNER_PW, user=OWNER) as vault:
        before = [u.name for u in vault.users()]
        for bad in ("alice", "", " alice", "x" * 65, "recovery key", "a\nb"):
            with pytest.raises(ValueError, match=r"user name|already has a user|recovery key"):
                vault.add_user(bad, "pw", kdf=FAST)
        assert [u.name for u in vault.users()] == before


# --- removing, passphrases ----------------------------------------------------------------------------------


def test_a_removed_users_passphrase_no_longer_opens(team):
    """After ``remove_user``, the removed person's passphrase opens nothing; the others' still do."""
    with Vault.open(team, OWNER_PW, user=OWNER) as vault:
        vault.remove_user("alice")
        assert "alice" not in [u.name for u in vault.users()]
    with pytest.raises((UnknownUser, VaultCorrupted)):
        Vault.open(team, ALICE_PW, user="alice")
    with Vault.open(team, BOB_PW, user="bob") as vault:
        assert len(vault) == 1


def test_the_last_user_and_the_recovery_key_cannot_be_removed(where):
    """A vault always keeps a person or service; the recovery key is not a user."""
    with Vault.create(where, OWNER_PW, kdf=FAST, recovery_key=True) as vault:
        with pytest.raises(ValueError, match="last user"):
            vault.remove_user(OWNER)
        with pytest.raises(ValueError, match="recovery key"):
            vault.remove_user("recovery key")
        with pytest.raises(UnknownUser):
            vault.remove_user("nobody")


def test_change_passphrase_is_per_user(team):
    """A user changes their own passphrase; the others' are untouched; an admin may reset someone's."""
    with Vault.open(team, ALICE_PW, user="alice") as vault:
        vault.change_passphrase("Alice, neu", kdf=FAST)
    with pytest.raises(WrongPassphrase):
        Vault.open(team, ALICE_PW, user="alice")
    Vault.open(team, "Alice, neu", user="alice").close()
    Vault.open(team, BOB_PW, user="bob").close()
    with Vault.open(team, OWNER_PW, user=OWNER) as vault:
        vault.change_passphrase("Bob, zurückgesetzt", user="bob")
    Vault.open(team, "Bob, zurückgesetzt", user="bob").close()


def test_the_recovery_key_sets_a_forgotten_passphrase(team):
    """Opened with the recovery key, the vault sets the passphrase of the user named."""
    recovery = _recovery(team)
    with Vault.open_with_recovery_key(team, recovery) as vault:
        assert vault.user == "recovery key"
        with pytest.raises(UnknownUser):
            vault.change_passphrase("neu")  # three people: whose?
        vault.change_passphrase("Bob vergaß es", user="bob", kdf=FAST)
    Vault.open(team, "Bob vergaß es", user="bob").close()


def _recovery(where: Path | str) -> str:
    """A fresh recovery key for ``where`` (a re-key makes one), kept for the test."""
    with Vault.open(where, OWNER_PW, user=OWNER) as vault:
        report = vault.rekey()
    assert report.recovery_key is not None
    return report.recovery_key


def test_recorded_by_is_the_slot_that_opened_the_vault(team):
    """A consent is recorded by the user whose slot opened the vault, whatever the record says."""
    with Vault.open(team, BOB_PW, user="bob") as vault:
        cid = next(iter(vault)).id
        vault.grant_consent(cid, consent(recorded_by="mallory"))
        assert vault.get(cid).consents[-1].recorded_by == "bob"


# --- the header as a whole is authenticated -----------------------------------------------------------------


def test_a_slot_added_by_editing_the_header_is_refused(team):
    """A person's slot appended to the header (the checksum recomputed): every open is VaultCorrupted."""
    header = stored_header(team)
    forged, _ = slots.person_slot("mallory", "mallory", FAST, crypto.random_bytes(), header.vault_id)
    _write(team, _edited(header, slots=(*header.slots, forged)))
    with pytest.raises(VaultCorrupted):
        Vault.open(team, ALICE_PW, user="alice")


def test_a_slot_removed_by_editing_the_header_is_refused(team):
    """Bob's slot cut out of the header: alice's open is VaultCorrupted (never a wrong passphrase)."""
    header = stored_header(team)
    _write(team, _edited(header, slots=tuple(s for s in header.slots if s.name != "bob")))
    with pytest.raises(VaultCorrupted):
        Vault.open(team, ALICE_PW, user="alice")


def test_ones_own_slot_removed_by_editing_is_refused_on_a_client_that_opened_it(team):
    """This client opened as bob before: bob's slot gone is VaultCorrupted, not "no such user"."""
    Vault.open(team, BOB_PW, user="bob").close()
    header = stored_header(team)
    _write(team, _edited(header, slots=tuple(s for s in header.slots if s.name != "bob")))
    with pytest.raises(VaultCorrupted, match="opened before"):
        Vault.open(team, BOB_PW, user="bob")


def test_slots_swapped_by_editing_the_header_are_refused(team):
    """Two slots in another order, or their sealed master keys swapped: VaultCorrupted."""
    header = stored_header(team)
    alice, bob = header.slot("alice"), header.slot("bob")
    assert alice is not None
    assert bob is not None
    reordered = tuple(reversed(header.slots))
    _write(team, _edited(header, slots=reordered))
    with pytest.raises(VaultCorrupted):
        Vault.open(team, ALICE_PW, user="alice")
    swapped = tuple(
        dataclasses.replace(s, sealed_master=bob.sealed_master)
        if s.name == "alice"
        else dataclasses.replace(s, sealed_master=alice.sealed_master)
        if s.name == "bob"
        else s
        for s in header.slots
    )
    _write(team, _edited(header, slots=swapped))
    with pytest.raises(VaultCorrupted):
        Vault.open(team, ALICE_PW, user="alice")


def _substitute_master(where: Path | str, evil: bytes, *, links: tuple[bytes, ...] = ()) -> None:
    """Seal the attacker's master key to every slot's PUBLIC key and re-sign header and state with it.

    Anyone can seal to a public key, and with the attacker's master key the header MAC and the state MAC
    (of the rows as they are) verify: only the master key each slot trusts stands in the way.
    """
    header = stored_header(where)
    sealed = tuple(slots.resealed(s, evil, header.vault_id) if s.public_key else s for s in header.slots)
    keys = Keys(evil)
    _resigned(where, slots.signed(header.changed(slots=sealed, links=links), keys), keys)


def _resigned(where: Path | str, header: Header, keys: Keys) -> None:
    """Put ``header`` in, with a state of the rows as they are under ``keys``, as the holder of them can."""
    storage = open_backend(where, lock_timeout=5)
    try:
        with storage.snapshot():
            found = state.recount(storage, keys, 99)
    finally:
        storage.close()
    _write(where, header.pack(), found.pack(keys, header.pack()))


def test_a_master_key_sealed_to_a_slot_by_someone_without_a_key_is_refused(team):
    """The attacker's master key, sealed to alice's public key, header and state re-signed: VaultCorrupted.

    Otherwise every contact stored afterwards would be readable by the attacker.
    """
    _substitute_master(team, crypto.random_bytes())
    for user, passphrase in (("alice", ALICE_PW), (OWNER, OWNER_PW)):
        with pytest.raises(VaultCorrupted, match="neither the one it trusts"):
            Vault.open(team, passphrase, user=user)


def test_a_forged_rekey_link_is_refused(team):
    """A link from the real master key to the attacker's, with a signature the attacker made up."""
    header = stored_header(team)
    with Vault.open(team, OWNER_PW, user=OWNER) as vault:
        real = vault._core.master
    evil = crypto.random_bytes()
    genuine = slots.make_link(evil, evil, header.vault_id)  # signed, but by the wrong key
    body = crypto.master_fingerprint(real) + crypto.master_fingerprint(evil) + crypto.link_public_key(evil)
    _substitute_master(team, evil, links=(body + genuine[-64:],))
    with pytest.raises(VaultCorrupted, match="signature"):
        Vault.open(team, ALICE_PW, user="alice")


def test_an_open_vault_refuses_a_substituted_master_key(team):
    """A process with the vault open meets the substituted header at its next write: VaultCorrupted."""
    with Vault.open(team, ALICE_PW, user="alice") as vault:
        _substitute_master(team, crypto.random_bytes())
        with pytest.raises(VaultCorrupted):
            vault.add(_contact())


# --- the client remembers each slot's KDF settings ----------------------------------------------------------


def test_a_costlier_kdf_than_this_client_saw_is_refused_before_deriving(team, monkeypatch):
    """Alice's slot edited to the caps (checksum recomputed): refused at once, no key derived."""
    Vault.open(team, ALICE_PW, user="alice").close()
    header = stored_header(team)
    caps = KdfParams(memory_kib=crypto.KDF_CAPS.max_memory_kib, iterations=64, lanes=16)
    costly = tuple(dataclasses.replace(s, kdf=caps) if s.name == "alice" else s for s in header.slots)
    _write(team, _edited(header, slots=costly))
    calls: list[object] = []
    monkeypatch.setattr(crypto, "derive_kek", lambda *a: calls.append(a))
    with pytest.raises(KdfLimitExceeded, match="costlier KDF than this client saw"):
        Vault.open(team, ALICE_PW, user="alice")
    assert calls == []


def test_a_kdf_raised_on_purpose_elsewhere_is_taken_when_accepted(team, tmp_path, monkeypatch):
    """Alice raises her KDF on another machine; this client refuses until told to accept it."""
    Vault.open(team, ALICE_PW, user="alice").close()
    here = os.environ["CONTACTVAULT_STATE_DIR"]
    monkeypatch.setenv("CONTACTVAULT_STATE_DIR", str(tmp_path / "other-machine"))
    stronger = KdfParams(memory_kib=64, iterations=2, lanes=1)
    with Vault.open(team, ALICE_PW, user="alice") as vault:
        vault.change_passphrase(ALICE_PW, kdf=stronger)
    monkeypatch.setenv("CONTACTVAULT_STATE_DIR", here)
    with pytest.raises(KdfLimitExceeded):
        Vault.open(team, ALICE_PW, user="alice")
    with Vault.open(team, ALICE_PW, user="alice", accept_kdf_change=True) as vault:
        assert vault.kdf == stronger
    Vault.open(team, ALICE_PW, user="alice").close()  # remembered now


# --- a vault made before key slots per person (format 1) ----------------------------------------------------


def _as_format_1(where: Path | str, *, recovery: bool) -> str | None:
    """Rewrite a new vault's header in format 1 (one passphrase slot, the master key wrapped directly)."""
    with Vault.open(where, OWNER_PW) as vault:
        master, vid = vault._core.master, vault._core.vault_id
    person = stored_header(where).slot(OWNER)
    assert person is not None
    assert person.kdf is not None
    kek = crypto.derive_kek(OWNER_PW, person.salt, person.kdf)
    direct = Slot(
        SlotKind.PERSON,
        OWNER,
        crypto.key_check_value(kek),
        crypto.seal(kek, master, _legacy_ad(vid, crypto.RecordKind.MASTER_KEY_WRAP)),
        person.kdf,
        person.salt,
    )
    key_slots = [direct]
    shown = None
    if recovery:
        slot, shown = slots.new_recovery_slot(master, vid)
        key_slots.append(slot)
    keys = Keys(master)
    old = slots.signed(Header(vid, tuple(key_slots), version=1), keys)
    assert len(old.pack()) == (305 if recovery else 213)  # the sizes format 1 documented
    _resigned(where, old, keys)
    return shown


def test_a_format_1_vault_opens_and_its_owner_gets_a_key_pair(where):
    """A format-1 vault opens with its passphrase; the header is then format 2 with the owner's key pair."""
    with Vault.create(where, OWNER_PW, kdf=FAST) as vault:
        cid = vault.add(_contact())
    _as_format_1(where, recovery=False)
    assert stored_header(where).version == 1
    with Vault.open(where, OWNER_PW) as vault:
        assert vault.get(cid).display_name == "Jürgen Beispiel"
        vault.add_user("alice", ALICE_PW, kdf=FAST)
    header = stored_header(where)
    assert header.version == FORMAT_VERSION
    assert all(s.public_key for s in header.users())
    with Vault.open(where, OWNER_PW, user=OWNER) as vault:
        assert vault.verify().contacts == 1
        vault.rekey()
    Vault.open(where, ALICE_PW, user="alice").close()


def test_a_format_1_vault_opened_by_its_recovery_key_waits_for_its_owner_before_a_rekey(where):
    """Opened by the recovery key, the owner's format-1 slot stays; a re-key says who must open it first."""
    with Vault.create(where, OWNER_PW, kdf=FAST):
        pass
    recovery = _as_format_1(where, recovery=True)
    assert recovery is not None
    with Vault.open_with_recovery_key(where, recovery) as vault:
        assert [u.carried_over for u in vault.users()] == [True, False]
        with pytest.raises(Exception, match="must open it once"):
            vault.rekey()
    Vault.open(where, OWNER_PW).close()
    with Vault.open_with_recovery_key(where, recovery) as vault:
        vault.rekey()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_vault_file_stays_private_with_many_users(where):
    """Users add nothing beside the vault: one file, mode 0600."""
    with Vault.create(where, OWNER_PW, kdf=FAST) as vault:
        vault.add_user("alice", ALICE_PW, kdf=FAST)
    assert isinstance(where, Path)
    assert stat.S_IMODE(where.stat().st_mode) == 0o600


def test_no_way_in_lets_the_caller_say_who_recorded_a_consent(team):
    """add, update and modify store the opener as recorder of new records; stored ones keep theirs; merge too.

    A caller's ``recorded_by`` or ``withdrawn_by`` is never what is stored (GDPR Art. 5(2)).
    """
    basis = LegalBasis(article="6(1)(b)", purpose="invoicing", justification="Auftrag 7", recorded_by="eve")
    with Vault.open(team, ALICE_PW, user="alice") as vault:
        first = vault.add(_contact().model_copy(update={"consents": (consent(recorded_by="mallory"),)}))
        stored = vault.get(first)
        assert [c.recorded_by for c in stored.consents] == ["alice"]
        later = consent(recorded_by="mallory", purpose="newsletter")
        withdrawn = stored.consents[0].model_copy(
            update={"withdrawn_at": datetime(2025, 1, 1, tzinfo=UTC), "withdrawal_channel": "email"}
        )
        edited = stored.model_copy(
            update={
                "consents": (withdrawn.model_copy(update={"recorded_by": "mallory"}), later),
                "legal_bases": (basis,),
            }
        )
        updated = vault.update(edited)
    assert [(c.recorded_by, c.withdrawn_by) for c in updated.consents] == [
        ("alice", "alice"),
        ("alice", None),
    ]
    assert [b.recorded_by for b in updated.legal_bases] == ["alice"]
    with Vault.open(team, BOB_PW, user="bob") as vault:
        second = vault.add(_contact().model_copy(update={"display_name": "J. Beispiel"}))
        vault.modify(first, lambda c: c.model_copy(update={"notes": ("von Bob",)}))
        assert [c.recorded_by for c in vault.get(first).consents] == ["alice", "alice"]  # kept
        merged = vault.merge([second, first])
    assert [(c.recorded_by, c.withdrawn_by) for c in merged.consents] == [("alice", "alice"), ("alice", None)]
    assert [b.recorded_by for b in merged.legal_bases] == ["alice"]


# --- a crafted header never raises anything but the documented errors --------------------------------------


def _real_header() -> bytes:
    """A format-2 header with a person, a service, the recovery key, a keyring, a marker and a link."""
    vid, master = crypto.random_bytes(16), crypto.random_bytes()
    keys = Keys(master)
    person, _ = slots.person_slot(OWNER, "x", FAST, master, vid)
    service, _ = slots.service_slot("web", master, vid)
    recovery, _ = slots.new_recovery_slot(master, vid)
    header = Header(
        vid,
        (person, service, recovery),
        keyring=slots.sealed_keyring(keys, vid),
        pending=slots.sealed_pending(keys, vid, master),
        links=(slots.make_link(master, crypto.random_bytes(), vid),),
    )
    return slots.signed(header, keys).pack()[:-32]  # without its checksum


REAL = _real_header()


def _edited_bytes(edits: list[tuple[int, int]], cut: int) -> bytes:
    data = bytearray(REAL)
    for position, value in edits:
        data[position % len(data)] = value
    return bytes(data[: max(12, len(data) - cut)])


@settings(max_examples=300)
@given(
    body=st.one_of(
        st.binary(max_size=600),
        st.builds(
            lambda version, rest: b"CTVAULT\x00" + version + b"\x01\x01" + rest,
            st.sampled_from((b"\x00\x01", b"\x00\x02")),
            st.binary(max_size=700),
        ),
        st.builds(
            _edited_bytes,
            st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 255)), max_size=4),
            st.integers(0, 200),
        ),
    )
)
def test_any_header_with_a_valid_checksum_parses_or_raises_a_documented_error(body):
    """Junk, or a real header edited, with the checksum recomputed: parsed, or a documented error."""
    data = body + hashlib.sha256(body).digest()
    try:
        header = Header.unpack(data)
    except (VaultCorrupted, UnsupportedFormat, KdfLimitExceeded):
        return
    assert header.slots  # a parsed header always has a way in
    for unlock in (slots.passphrase_unlock("x", OWNER), slots.service_unlock("cvsk-" + "A" * 43)):
        with contextlib.suppress(VaultCorrupted, WrongPassphrase, UnknownUser, KdfLimitExceeded):
            unlock(header)
