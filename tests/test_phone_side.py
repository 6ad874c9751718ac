"""The phone side of the consent lifecycle (issue 16, item 6), end to end against a real Radicale server.

A vault's book is synced; then the vault changes (a withdrawal, an erasure, ...). The phone's address book
as it is before the next sync (the collection's cards, and the same cards as a vCard file) is audited and
flags the card with its code; the next sync removes the card from the server, and the disclosure log
records the removal; an audit after it is clean.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from contactvault import Contact, KdfParams, Vault, normalize_phone
from contactvault.audit import AuditReport, audit_phonebook
from contactvault.book import MessengerBook
from contactvault.models import MessengerPresence
from contactvault.sync import messenger_book, sync_book
from contactvault.sync.policy import Policy
from contactvault.sync.targets import CardDAVTarget
from tests.conftest import consent

if TYPE_CHECKING:
    import uuid

    from tests.radicale_server import RadicaleServer

pytest_plugins = ("tests.radicale_server",)  # the `radicale` fixture

FAST = KdfParams.insecure_fast_for_tests()
POLICY = Policy.default()
NAMES = ("Anna Beispiel", "Bernd Müller", "Çelik, Ayşe", "Zoë O'Brien")


def _number(i: int) -> str:
    return f"+491515550{1300 + i}"


def _contact(i: int) -> Contact:
    presence = MessengerPresence(
        present=True, source="manual", checked_at=datetime.now(UTC) - timedelta(days=1)
    )
    phone = normalize_phone(_number(i), default_region="DE").model_copy(update={"messenger": presence})
    return Contact(display_name=NAMES[i], phones=(phone,), consents=(consent(),))


@pytest.fixture
def vault(tmp_path):
    """A vault with four contacts the default policy allows."""
    with Vault.create(tmp_path / "v.db", "pw", kdf=FAST) as opened:
        opened.add_many(_contact(i) for i in range(len(NAMES)))
        yield opened


def _target(server: RadicaleServer) -> CardDAVTarget:
    return CardDAVTarget(server.url, server.username, server.password)


def _server_uids(target: CardDAVTarget) -> set[str]:
    """The UIDs of the cards the server holds, read back from the collection."""
    return {card.uid for card in target.plan(MessengerBook([])).remote}


def _phone_file(target: CardDAVTarget, path: Path) -> Path:
    """The phone's address book as a vCard file: the collection's cards, one after another."""
    path.write_bytes("".join(text for _, text in target.read_cards()).encode("utf-8"))
    return path


def _flagged(report: AuditReport) -> dict[str, tuple[str, ...]]:
    return {entry.display_name: entry.codes() for entry in report.flagged}


def _leaves_at_next_sync(
    vault: Vault,
    target: CardDAVTarget,
    folder: Path,
    *,
    name: str,
    change: Callable[[uuid.UUID], object],
    code: str,
) -> None:
    """``change`` the contact ``name``: its card is flagged with ``code``, then leaves at the next sync.

    The phone's book before the sync (the collection, and its cards as a vCard file) flags the card with
    ``code`` and nothing else; the next sync removes the card from the server (read back) and the log
    records the removal; the audit after it is clean.
    """
    cid = next(e.id for e in vault if e.display_name == name)
    uid = vault.book_codes().uid(cid, _number(NAMES.index(name)))
    assert uid in _server_uids(target)
    change(cid)

    on_server = audit_phonebook(target, vault=vault, default_region="DE")
    as_file = audit_phonebook(_phone_file(target, folder / f"{code}.vcf"), vault=vault, default_region="DE")
    for report in (on_server, as_file):
        assert _flagged(report) == {name: (code,)}
        assert report.counts()["unknown_contact"] == 0

    result = sync_book(vault, messenger_book(vault, POLICY), target)
    assert result.deleted == (uid,)
    assert uid not in _server_uids(target)
    last = vault.disclosures()[-1]
    assert last.removed == (uid,)
    assert last.target == target.name
    assert audit_phonebook(target, vault=vault, default_region="DE").clean


def test_withdrawal_and_erasure_leave_the_phone_at_the_next_sync(vault, radicale, tmp_path):
    """(a) a withdrawal: consent_withdrawn; (b) an erasure: erased_contact (the vault keeps no number)."""
    with _target(radicale) as target:
        first = sync_book(vault, messenger_book(vault, POLICY), target)
        assert len(first.created) == len(NAMES)
        _leaves_at_next_sync(
            vault,
            target,
            tmp_path,
            name=NAMES[0],
            change=lambda cid: vault.withdraw_consent(cid, "messenger", channel="email"),
            code="consent_withdrawn",
        )
        _leaves_at_next_sync(
            vault, target, tmp_path, name=NAMES[1], change=vault.erase, code="erased_contact"
        )
        assert len(_server_uids(target)) == len(NAMES) - 2
