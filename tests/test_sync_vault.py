"""End to end against a real Radicale server: vault -> policy -> book -> CardDAV, and the disclosure log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx
import pytest

from contactvault import Contact, KdfParams, Vault, normalize_phone
from contactvault.book import MessengerBook
from contactvault.models import MessengerPresence
from contactvault.sync import messenger_book, sync_book
from contactvault.sync.policy import Policy
from contactvault.sync.targets import CardDAVTarget, SyncError, VCardFileTarget
from tests.conftest import consent

if TYPE_CHECKING:
    from tests.radicale_server import RadicaleServer

pytest_plugins = ("tests.radicale_server",)  # the `radicale` fixture

FAST = KdfParams.insecure_fast_for_tests()
POLICY = Policy.default()
NAMES = ("Anna Beispiel", "Bernd Müller", "Çelik, Ayşe", "Zoë O'Brien", "Jürgen Weiß", "Łukasz Nowak")


def _contact(i: int) -> Contact:
    presence = MessengerPresence(
        present=True, source="manual", checked_at=datetime.now(UTC) - timedelta(days=1)
    )
    phone = normalize_phone(f"0151 555012{i:02d}", default_region="DE").model_copy(
        update={"messenger": presence}
    )
    return Contact(display_name=NAMES[i], phones=(phone,), consents=(consent(),))


def _target(server: RadicaleServer, **options: object) -> CardDAVTarget:
    return CardDAVTarget(server.url, server.username, server.password, **options)  # type: ignore[arg-type]


def _uids_on_server(server: RadicaleServer) -> list[str]:
    """The UIDs of the cards in contactvault's address book, as the server lists them."""
    with _target(server) as target:
        plan = target.plan(MessengerBook([]))
    return sorted(card.uid for card in plan.remote)


@pytest.fixture
def vault(tmp_path):
    """A vault with six contacts the default policy allows."""
    with Vault.create(tmp_path / "v.db", "pw", kdf=FAST) as opened:
        opened.add_many(_contact(i) for i in range(len(NAMES)))
        yield opened


def test_sync_withdraw_and_rename(vault, radicale):
    """A first sync puts every card up; a withdrawal removes one, a rename updates one; all is logged."""
    ids = [e.id for e in vault]
    with _target(radicale) as target:
        first = sync_book(vault, messenger_book(vault, POLICY), target)
        assert len(first.created) == len(NAMES)
        vault.withdraw_consent(ids[0], "messenger", channel="email")
        stored = vault.get(ids[1])
        vault.update(stored.model_copy(update={"display_name": "Bernd Müller-Lang"}))
        second = sync_book(vault, messenger_book(vault, POLICY), target)
        assert (len(second.deleted), len(second.updated), len(second.created)) == (1, 1, 0)
        records = vault.disclosures()
        assert [(len(r.added), len(r.removed), len(r.renamed)) for r in records] == [(6, 0, 0), (0, 1, 1)]
        assert all(r.target == target.name and r.kind == "sync" for r in records)
        assert records[0].policy == POLICY.digest()
        held_now = vault.visible_at(target.name, datetime.now(UTC))
        assert sorted(held_now.values()) == sorted(ids[1:])
        held_before = vault.visible_at(target.name, records[0].at)
        assert sorted(held_before.values()) == sorted(ids)
        assert sorted(held_now) == _uids_on_server(radicale)


def test_dry_run_records_nothing(vault, radicale):
    """A dry run changes nothing on the server and adds nothing to the log."""
    with _target(radicale) as target:
        result = sync_book(vault, messenger_book(vault, POLICY), target, dry_run=True)
    assert result.dry_run
    assert vault.disclosures() == []


def test_a_failed_sync_records_only_what_arrived_and_the_rerun_finishes(vault, radicale):
    """When the server stops half-way, only confirmed cards are logged; the next sync completes the log."""
    puts: list[int] = []

    def stop_after_two(response: httpx.Response) -> None:
        if response.request.method == "PUT" and response.is_success:
            puts.append(1)
            if len(puts) == 2:
                radicale.stop()

    book = messenger_book(vault, POLICY)
    client = httpx.Client(event_hooks={"response": [stop_after_two]})
    with client, _target(radicale, client=client) as target, pytest.raises(SyncError):
        sync_book(vault, book, target)
    (partial,) = vault.disclosures()
    assert len(partial.added) == 2
    radicale.start()
    with _target(radicale) as target:
        sync_book(vault, book, target)
        assert len(vault.visible_at(target.name, datetime.now(UTC))) == len(NAMES)
        assert sorted(vault.visible_at(target.name, datetime.now(UTC))) == _uids_on_server(radicale)


def test_file_target_is_logged_like_an_export(vault, tmp_path):
    """A VCardFileTarget sync writes the file and logs it under the same name export_book would use."""
    target = VCardFileTarget(tmp_path / "book.vcf")
    sync_book(vault, messenger_book(vault, POLICY), target)
    (record,) = vault.disclosures()
    assert record.target == f"file:{(tmp_path / 'book.vcf').resolve()}"
    assert record.held == len(NAMES)
