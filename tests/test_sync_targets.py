"""Sync targets against a real Radicale server and against a vCard file.

No HTTP mocks: two tests only put a transport in front of the real server to inject a 501 or a 503,
answers that Radicale never gives.
"""

from __future__ import annotations

import hashlib
import os
import socket
import stat
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import vobject

from contactvault.book import MessengerBook
from contactvault.export.minimal import card, to_vcard
from contactvault.models import MessengerEntry
from contactvault.sync.targets import (
    ADDRESSBOOK_DESCRIPTION,
    CardDAVTarget,
    SyncError,
    SyncPlan,
    SyncResult,
    Target,
    VCardFileTarget,
)

if TYPE_CHECKING:
    from tests.radicale_server import RadicaleServer

pytest_plugins = ("tests.radicale_server",)  # the `radicale` fixture

LONG_NAME = "Ännchen-Lüdenscheid von Überlingen-Großmöllenbeck, Straßenbahn- und Fährbetriebe Österreich"
NAMES = (
    "Jörg Müller",
    "Müller, Anna",
    "Ölz; Söhne & Partner \\ GmbH",
    LONG_NAME,
)
XML = "application/xml; charset=utf-8"
D = "{DAV:}"


def uid(n: int) -> str:
    """A UID shaped like the book's: 32 hex digits."""
    return hashlib.sha256(f"entry-{n}".encode()).hexdigest()[:32]


def entry(name: str, phone: str) -> MessengerEntry:
    return MessengerEntry(display_name=name, phone_e164=phone)


def name(n: int) -> str:
    return NAMES[n] if n < len(NAMES) else f"{NAMES[n % len(NAMES)]} {n}"


def make_book(count: int = 4, *, skip: tuple[int, ...] = (), rename: dict[int, str] | None = None):
    """Entries 0..count-1 with synthetic names and +49151 numbers; ``skip`` leaves some out."""
    rename = rename or {}
    return MessengerBook(
        (uid(n), entry(rename.get(n, name(n)), f"+4915100{n:05d}")) for n in range(count) if n not in skip
    )


def target(server: RadicaleServer, **options) -> CardDAVTarget:
    return CardDAVTarget(server.url, server.username, server.password, **options)


def parse(response: httpx.Response) -> list[tuple[str, str | None]]:
    """(href, etag) of each response in a multistatus answer."""
    assert response.status_code == 207, response.status_code
    root = ET.fromstring(response.content)  # noqa: S314  (our own test server)
    found = root.findall(f"{D}response")
    return [(r.findtext(f"{D}href") or "", r.findtext(f".//{D}getetag")) for r in found]


def server_cards(server: RadicaleServer, addressbook: str = "contactvault") -> dict[str, tuple[str, str]]:
    """The address book's cards, read with httpx directly: resource name -> (etag, text)."""
    url = f"{server.url}{addressbook}/"
    with server.client() as client:
        body = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>'
        listing = client.request("PROPFIND", url, headers={"Depth": "1", "Content-Type": XML}, content=body)
        cards = {}
        for href, etag in parse(listing):
            name = href.rstrip("/").rpartition("/")[2]
            if href.rstrip("/") == url.removeprefix(server.base_url[:-1]).rstrip("/") or not name:
                continue
            got = client.get(server.base_url[:-1] + href)
            assert got.status_code == 200
            cards[name] = (etag or "", got.text)
        return cards


def put_card(server: RadicaleServer, addressbook: str, name: str, text: str, **headers: str):
    with server.client() as client:
        return client.put(
            f"{server.url}{addressbook}/{name}",
            content=text.encode(),
            headers={"Content-Type": "text/vcard; charset=utf-8", **headers},
        )


def meddle(server: RadicaleServer, n: int) -> None:
    """Somebody else writes entry ``n``'s card on the server (without any precondition)."""
    changed = card(uid(n), "Somebody Else", f"+4915100{n:05d}")
    assert put_card(server, "contactvault", f"{uid(n)}.vcf", changed).is_success


def make_addressbook(server: RadicaleServer, name: str) -> None:
    """An address book made by somebody else (no contactvault description)."""
    body = (
        '<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav">'
        "<D:set><D:prop>"
        "<D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype><D:displayname>Private</D:displayname>"
        "</D:prop></D:set></D:mkcol>"
    )
    with server.client() as client:
        assert client.request("MKCOL", f"{server.url}{name}/", content=body).status_code == 201


def expect_book(server: RadicaleServer, book: MessengerBook) -> None:
    """The address book holds exactly the book's cards, each minimal and with the book's name and number."""
    cards = server_cards(server)
    assert set(cards) == {f"{u}.vcf" for u, _ in book.cards()}
    for u, e in book.cards():
        text = cards[f"{u}.vcf"][1]
        parsed = vobject.readOne(text)
        assert set(parsed.contents) == {"version", "uid", "n", "fn", "tel"}
        names = [line.split(":", 1)[0].split(";", 1)[0] for line in text.replace("\r\n ", "").splitlines()]
        assert sorted(names) == sorted(["BEGIN", "VERSION", "UID", "N", "FN", "TEL", "END"])
        assert parsed.version.value == "3.0"
        assert parsed.uid.value == u
        assert parsed.fn.value == e.display_name
        assert (parsed.n.value.family, parsed.n.value.given) == book.name_parts(u)
        assert parsed.tel.value == e.phone_e164


def statuses(log: list[tuple[str, int]]):
    """An httpx client that records (method, status) of every answer."""

    def hook(response: httpx.Response) -> None:
        log.append((response.request.method, response.status_code))

    return httpx.Client(event_hooks={"response": [hook]})


# --- CardDAV ---------------------------------------------------------------------------------------------


def test_first_sync_creates_the_address_book_and_all_cards(radicale):
    """The first sync creates the address book (marked as contactvault's) and one minimal card per entry."""
    book = make_book()
    with target(radicale) as t:
        result = t.sync(book)
    assert sorted(result.created) == sorted(u for u, _ in book.cards())
    assert result.updated == result.deleted == ()
    assert result.held == tuple(sorted(u for u, _ in book.cards()))
    assert not result.dry_run
    expect_book(radicale, book)
    body = (
        '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:prop>'
        "<D:resourcetype/><D:displayname/><CR:addressbook-description/></D:prop></D:propfind>"
    )
    with radicale.client() as client:
        url = f"{radicale.url}contactvault/"
        answer = client.request("PROPFIND", url, headers={"Depth": "0"}, content=body)
    assert answer.status_code == 207
    root = ET.fromstring(answer.content)  # noqa: S314
    assert root.find(f".//{D}resourcetype/{{urn:ietf:params:xml:ns:carddav}}addressbook") is not None
    assert root.findtext(f".//{D}displayname") == "contactvault"
    description = root.findtext(".//{urn:ietf:params:xml:ns:carddav}addressbook-description")
    assert description == ADDRESSBOOK_DESCRIPTION


def test_second_sync_changes_nothing(radicale):
    """Syncing the same book again plans no change and leaves every card's entity tag as it was."""
    book = make_book()
    with target(radicale) as t:
        t.sync(book)
        before = server_cards(radicale)
        plan = t.plan(book)
        assert (plan.create, plan.update, plan.delete, plan.unchanged) == ((), (), (), len(book))
        assert plan.describe() == f"0 to create, 0 to update, 0 to delete, {len(book)} unchanged"
        result = t.apply(plan)
    assert result.done == ()
    assert result.unchanged == len(book)
    assert result.held == tuple(sorted(u for u, _ in book.cards()))
    assert server_cards(radicale) == before


def test_withdrawn_consent_deletes_the_card(radicale):
    """An entry that left the book (a withdrawn consent) is deleted from the address book at the next sync."""
    with target(radicale) as t:
        t.sync(make_book())
        smaller = make_book(skip=(1,))
        result = t.sync(smaller)
    assert result.deleted == (uid(1),)
    assert uid(1) not in result.held
    expect_book(radicale, smaller)


def test_rename_updates_the_card_in_place(radicale):
    """A renamed entry is written again under the same UID and resource name."""
    with target(radicale) as t:
        t.sync(make_book())
        before = server_cards(radicale)
        renamed = make_book(rename={0: "Jörg Müller-Lüdenscheid"})
        result = t.sync(renamed)
    assert (result.created, result.updated, result.deleted) == ((), (uid(0),), ())
    after = server_cards(radicale)
    assert set(after) == set(before)
    assert after[f"{uid(0)}.vcf"][0] != before[f"{uid(0)}.vcf"][0]
    expect_book(radicale, renamed)


def test_a_new_name_split_updates_the_card_and_only_once(radicale):
    """A book that splits a name anew (N changes, FN does not) updates that card; the next sync nothing."""
    with target(radicale) as t:
        t.sync(make_book())
        resplit = MessengerBook(make_book().cards(), names={uid(0): ("", "Jörg Müller")})
        result = t.sync(resplit)
        assert (result.created, result.updated, result.deleted) == ((), (uid(0),), ())
        assert t.plan(resplit).changes == 0
    expect_book(radicale, resplit)


def test_card_edited_on_the_server_is_overwritten(radicale):
    """A card changed on the server (a new name, an added e-mail address) is written back: the vault wins."""
    book = make_book()
    with target(radicale) as t:
        t.sync(book)
        etag, _ = server_cards(radicale)[f"{uid(2)}.vcf"]
        edited = card(uid(2), "Somebody Else", "+4915100000002").replace(
            "END:VCARD", "EMAIL:someone@example.org\r\nEND:VCARD"
        )
        assert put_card(radicale, "contactvault", f"{uid(2)}.vcf", edited, **{"If-Match": etag}).is_success
        plan = t.plan(book)
        assert [u for u, _ in plan.update] == [uid(2)]
        assert t.apply(plan).updated == (uid(2),)
    expect_book(radicale, book)


def test_card_added_on_the_phone_is_deleted(radicale):
    """A card somebody added to contactvault's address book is deleted at the next sync, as documented."""
    book = make_book()
    with target(radicale) as t:
        t.sync(book)
        stranger = card("2b1c7e0e-phone-made", "Added By Hand", "+4915199999999")
        assert put_card(radicale, "contactvault", "2b1c7e0e-phone-made.vcf", stranger).status_code == 201
        plan = t.plan(book)
        assert plan.delete == ("2b1c7e0e-phone-made",)
        result = t.apply(plan)
    assert result.deleted == ("2b1c7e0e-phone-made",)
    expect_book(radicale, book)


def test_card_with_a_book_uid_under_another_name_is_replaced(radicale):
    """A card stored elsewhere under one of the book's UIDs is deleted before the book's card is created."""
    book = make_book()
    with target(radicale) as t:
        t.sync(book)
        copy = card(uid(9), "Copy", "+4915100000009")
        assert put_card(radicale, "contactvault", "elsewhere.vcf", copy).is_success
        bigger = make_book(10)
        result = t.sync(bigger)
    assert result.deleted == ("elsewhere",)
    assert uid(9) in result.created
    expect_book(radicale, bigger)


def test_update_race_between_plan_and_apply(radicale):
    """A card edited after plan() makes the PUT fail with 412; the card is read again and the book wins."""
    log: list[tuple[str, int]] = []
    with statuses(log) as client, target(radicale, client=client) as t:
        t.sync(make_book())
        renamed = make_book(rename={1: "Anna Müller-Schmidt"})
        plan = t.plan(renamed)
        meddle(radicale, 1)
        result = t.apply(plan)
    assert result.updated == (uid(1),)
    assert ("PUT", 412) in log
    expect_book(radicale, renamed)


def test_update_race_with_a_card_deleted_meanwhile(radicale):
    """A card deleted on the server after plan() is created again by apply()."""
    with target(radicale) as t:
        t.sync(make_book())
        renamed = make_book(rename={1: "Anna Müller-Schmidt"})
        plan = t.plan(renamed)
        with radicale.client() as client:
            assert client.delete(f"{radicale.url}contactvault/{uid(1)}.vcf").is_success
        assert t.apply(plan).updated == (uid(1),)
    expect_book(radicale, renamed)


def test_delete_race_between_plan_and_apply(radicale):
    """A card edited after plan() is still deleted: DELETE gets 412, the entity tag is read again, retried."""
    log: list[tuple[str, int]] = []
    with statuses(log) as client, target(radicale, client=client) as t:
        t.sync(make_book())
        smaller = make_book(skip=(3,))
        plan = t.plan(smaller)
        meddle(radicale, 3)
        result = t.apply(plan)
    assert result.deleted == (uid(3),)
    assert ("DELETE", 412) in log
    expect_book(radicale, smaller)


def test_create_race_between_plan_and_apply(radicale):
    """A card created by somebody else after plan() makes If-None-Match fail; it is overwritten instead."""
    log: list[tuple[str, int]] = []
    with statuses(log) as client, target(radicale, client=client) as t:
        t.sync(make_book(2))
        bigger = make_book(3)
        plan = t.plan(bigger)
        assert [u for u, _ in plan.create] == [uid(2)]
        meddle(radicale, 2)
        result = t.apply(plan)
    assert result.created == (uid(2),)
    assert ("PUT", 412) in log
    expect_book(radicale, bigger)


def test_dry_run_writes_nothing_and_shows_the_plan(radicale):
    """A dry run creates no address book, changes no card, and its plan gives the counts."""
    with target(radicale) as t:
        first = t.sync(make_book(3), dry_run=True)
        assert first.dry_run
        assert first.done == ()
        assert first.held == ()
        assert first.plan is not None
        assert str(first.plan) == "3 to create, 0 to update, 0 to delete, 0 unchanged"
        with radicale.client() as client:
            missing = client.request("PROPFIND", f"{radicale.url}contactvault/", headers={"Depth": "0"})
        assert missing.status_code == 404
        t.sync(make_book(3))
        before = server_cards(radicale)
        changed = make_book(4, skip=(0,), rename={1: "Anna M."})
        second = t.sync(changed, dry_run=True)
    assert second.plan is not None
    assert second.plan.describe() == "1 to create, 1 to update, 1 to delete, 1 unchanged"
    assert second.describe() == "dry run, nothing written: 1 to create, 1 to update, 1 to delete, 1 unchanged"
    assert second.held == (uid(2),)
    assert server_cards(radicale) == before


def test_server_stopped_before_apply(radicale):
    """A server gone between plan and apply gives SyncError with nothing done; the next sync completes."""
    book = make_book()
    with target(radicale, timeout=5.0) as t:
        t.sync(make_book(2))
        plan = t.plan(book)
        radicale.stop()
        with pytest.raises(SyncError, match="could not be reached") as failure:
            t.apply(plan)
        assert failure.value.partial is not None
        assert failure.value.done == ()
        assert failure.value.partial.held == (tuple(sorted([uid(0), uid(1)])))
        radicale.start()
        result = t.sync(book)
    assert sorted(result.created) == sorted([uid(2), uid(3)])
    expect_book(radicale, book)


def test_server_stopped_in_the_middle_of_a_sync(radicale):
    """A server that stops after two cards gives SyncError listing those two; the next sync does the rest."""
    book = make_book(6)
    puts: list[int] = []

    def stop_after_two_puts(response: httpx.Response) -> None:
        if response.request.method == "PUT" and response.is_success:
            puts.append(response.status_code)
            if len(puts) == 2:
                radicale.stop()

    client = httpx.Client(event_hooks={"response": [stop_after_two_puts]})
    with client, target(radicale, client=client) as t, pytest.raises(SyncError) as failure:
        t.sync(book)
    partial = failure.value.partial
    assert partial is not None
    assert len(partial.created) == 2
    assert partial.held == tuple(sorted(partial.created))
    message = str(failure.value)
    assert "CardDAV" in message
    assert all(e.display_name not in message and e.phone_e164 not in message for e in book)
    radicale.start()
    with target(radicale) as t:
        plan = t.plan(book)
        assert (len(plan.create), plan.unchanged) == (4, 2)
        result = t.apply(plan)
    assert result.held == tuple(sorted(u for u, _ in book.cards()))
    expect_book(radicale, book)


class FailPuts(httpx.BaseTransport):
    """A transport before the real server that answers the third PUT and later ones with 503."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.puts = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:  # noqa: D102
        if request.method == "PUT":
            self.puts += 1
            if self.puts > 2:
                return httpx.Response(503, request=request)
        return self.inner.handle_request(request)

    def close(self) -> None:  # noqa: D102
        self.inner.close()


def test_server_error_stops_the_sync_with_what_was_done(radicale):
    """An HTTP 503 gives SyncError naming the operation and status, with the confirmed cards in partial."""
    book = make_book(5)
    client = httpx.Client(transport=FailPuts())
    expected = pytest.raises(SyncError, match=r"creating a card failed: HTTP 503")
    with client, target(radicale, client=client) as t, expected as failure:
        t.sync(book)
    assert failure.value.partial is not None
    assert len(failure.value.done) == 2
    assert failure.value.partial.held == tuple(sorted(failure.value.done))
    assert set(server_cards(radicale)) == {f"{u}.vcf" for u in failure.value.done}
    with target(radicale) as t:
        assert len(t.sync(book).created) == 3
    expect_book(radicale, book)


def test_silent_server_times_out():
    """A server that accepts the connection and never answers gives SyncError after the timeout."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        t = CardDAVTarget(f"http://127.0.0.1:{port}/u/", "u", "p", timeout=0.3)
        with t, pytest.raises(SyncError, match="did not answer in time"):
            t.plan(make_book())


def test_collection_that_is_not_an_address_book_is_refused(radicale):
    """A calendar under the address book's name is neither used nor changed."""
    body = (
        '<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        "<D:set><D:prop><D:resourcetype><D:collection/><C:calendar/></D:resourcetype></D:prop></D:set></D:mkcol>"
    )
    with radicale.client() as client:
        assert client.request("MKCOL", f"{radicale.url}contactvault/", content=body).status_code == 201
    with target(radicale) as t, pytest.raises(SyncError, match="not an address book"):
        t.sync(make_book())


def test_wrong_password(radicale):
    """A wrong password gives SyncError saying authentication failed, without the password anywhere."""
    wrong = "not-" + radicale.password
    t = CardDAVTarget(radicale.url, radicale.username, wrong)
    with t, pytest.raises(SyncError, match="authentication failed") as failure:
        t.sync(make_book())
    for text in (str(failure.value), repr(failure.value), repr(t), t.name):
        assert wrong not in text
        assert radicale.password not in text


def test_name_and_repr_carry_no_credentials(radicale):
    """The target's name is ``carddav:<url><addressbook>/``; the URL may not carry credentials."""
    t = target(radicale)
    assert t.name == f"carddav:{radicale.url}contactvault/"
    assert radicale.password not in repr(t)
    t.close()
    with pytest.raises(ValueError, match="not in the URL"):
        CardDAVTarget(f"http://u:p@127.0.0.1:{radicale.port}/u/", "u", "p")
    with pytest.raises(ValueError, match="one path segment"):
        CardDAVTarget(radicale.url, "u", "p", addressbook="a/b")


def test_other_address_book_is_untouched(radicale):
    """Another address book of the account, with a card, is the same after syncs that create and delete."""
    make_addressbook(radicale, "private")
    mine = card("private-card", "Private Person", "+4915122222222")
    assert put_card(radicale, "private", "private-card.vcf", mine).status_code == 201
    before = server_cards(radicale, "private")
    with target(radicale) as t:
        t.sync(make_book())
        t.sync(make_book(skip=(0, 1)))
        t.sync(MessengerBook([]))
    assert server_cards(radicale, "private") == before
    assert server_cards(radicale) == {}


def test_foreign_address_book_with_cards_is_refused(radicale):
    """An address book of that name that contactvault did not create and that holds cards is left alone."""
    make_addressbook(radicale, "contactvault")
    assert put_card(radicale, "contactvault", "x.vcf", card("x", "Kept", "+4915133333333")).status_code == 201
    before = server_cards(radicale)
    with target(radicale) as t, pytest.raises(SyncError, match="not created by contactvault"):
        t.sync(make_book())
    assert server_cards(radicale) == before


def test_empty_foreign_address_book_is_taken_over(radicale):
    """An empty address book of that name is marked as contactvault's and used."""
    make_addressbook(radicale, "contactvault")
    book = make_book()
    with target(radicale) as t:
        t.sync(book)
        assert t.plan(book).unchanged == len(book)
    expect_book(radicale, book)


def test_sync_collection_is_used_where_offered(radicale):
    """Radicale offers sync-collection: the listing uses the REPORT, not PROPFIND Depth 1."""
    depths: list[tuple[str, str | None]] = []

    def record(request: httpx.Request) -> None:
        depths.append((request.method, request.headers.get("Depth")))

    with httpx.Client(event_hooks={"request": [record]}) as client, target(radicale, client=client) as t:
        t.sync(make_book())
        depths.clear()
        plan = t.plan(make_book(skip=(2,)))
    assert t.listing == "sync-collection"
    assert ("REPORT", "0") in depths
    assert ("PROPFIND", "1") not in depths
    assert plan.delete == (uid(2),)


def test_propfind_listing_when_asked(radicale):
    """With use_sync_collection=False the listing uses PROPFIND Depth 1 and plans the same."""
    with target(radicale) as t:
        t.sync(make_book())
    with target(radicale, use_sync_collection=False) as t:
        plan = t.plan(make_book(skip=(2,), rename={0: "Jörg M."}))
        assert t.listing == "propfind"
        assert (plan.delete, [u for u, _ in plan.update], plan.unchanged) == ((uid(2),), [uid(0)], 2)
        t.apply(plan)
    expect_book(radicale, make_book(skip=(2,), rename={0: "Jörg M."}))


class RefuseReports(httpx.BaseTransport):
    """A transport before the real server that answers every REPORT with 501, like a server without it."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:  # noqa: D102
        if request.method == "REPORT":
            return httpx.Response(501, request=request)
        return self.inner.handle_request(request)

    def close(self) -> None:  # noqa: D102
        self.inner.close()


def test_propfind_fallback_when_sync_collection_is_refused(radicale):
    """A server answering the sync-collection REPORT with 501 is listed with PROPFIND instead."""
    book = make_book()
    with httpx.Client(transport=RefuseReports()) as client, target(radicale, client=client) as t:
        t.sync(book)
        assert t.plan(book).unchanged == len(book)
        assert t.listing == "propfind"
    expect_book(radicale, book)


def test_home_is_discovered_from_the_server_root(radicale):
    """Given the server's root URL, the target finds the user's home through the principal."""
    book = make_book()
    with CardDAVTarget(radicale.base_url, radicale.username, radicale.password) as t:
        t.sync(book)
        assert t.collection_url == f"{radicale.url}contactvault/"
    expect_book(radicale, book)


def test_plan_of_another_target_is_refused(radicale, tmp_path):
    """apply() refuses a plan made by another target."""
    plan = VCardFileTarget(tmp_path / "book.vcf").plan(make_book())
    with target(radicale) as t, pytest.raises(ValueError, match="another target"):
        t.apply(plan)


def test_plans_and_results_show_counts_not_names(radicale):
    """The repr and str of plans and results give counts, never a name or a number."""
    book = make_book()
    with target(radicale) as t:
        plan = t.plan(book)
        result = t.apply(plan)
    for text in (repr(plan), str(plan), repr(result), str(result)):
        assert all(e.display_name not in text and e.phone_e164 not in text for e in book)
    assert isinstance(plan, SyncPlan)
    assert isinstance(result, SyncResult)
    assert str(result) == "4 created, 0 updated, 0 deleted, 0 unchanged"


# --- vCard file ------------------------------------------------------------------------------------------


def test_file_target_writes_the_book_with_mode_0600(tmp_path):
    """The first sync writes the whole book as minimal vCard 3.0, mode 0600."""
    path = tmp_path / "book.vcf"
    book = make_book()
    t = VCardFileTarget(path)
    result = t.sync(book)
    assert t.name == f"file:{path.resolve()}"
    assert sorted(result.created) == sorted(u for u, _ in book.cards())
    assert result.held == tuple(sorted(u for u, _ in book.cards()))
    assert path.read_bytes().decode() == to_vcard(book)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_file_target_second_sync_leaves_the_file_alone(tmp_path):
    """Syncing the same book again plans nothing and does not rewrite the file."""
    path = tmp_path / "book.vcf"
    t = VCardFileTarget(path)
    t.sync(make_book())
    before = os.stat(path)
    result = t.sync(make_book())
    assert (result.done, result.unchanged) == ((), 4)
    after = os.stat(path)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_file_target_deletes_and_updates(tmp_path):
    """A removed entry leaves the file and a renamed one is written anew."""
    path = tmp_path / "book.vcf"
    t = VCardFileTarget(path)
    t.sync(make_book())
    changed = make_book(skip=(1,), rename={0: "Jörg M."})
    plan = t.plan(changed)
    assert (plan.delete, [u for u, _ in plan.update], plan.unchanged) == ((uid(1),), [uid(0)], 2)
    result = t.apply(plan)
    assert (result.deleted, result.updated) == ((uid(1),), (uid(0),))
    assert path.read_bytes().decode() == to_vcard(changed)
    assert uid(1) not in path.read_bytes().decode()


def test_file_target_new_name_split_updates_the_card(tmp_path):
    """A new split of a name (N only) rewrites the file once; the same split again leaves it alone."""
    path = tmp_path / "book.vcf"
    t = VCardFileTarget(path)
    t.sync(make_book())
    resplit = MessengerBook(make_book().cards(), names={uid(0): ("", "Jörg Müller")})
    assert t.sync(resplit).updated == (uid(0),)
    assert path.read_bytes().decode() == to_vcard(resplit)
    assert t.plan(resplit).changes == 0


def test_file_target_dry_run(tmp_path):
    """A dry run neither creates nor changes the file."""
    path = tmp_path / "book.vcf"
    t = VCardFileTarget(path)
    result = t.sync(make_book(), dry_run=True)
    assert result.dry_run
    assert str(result.plan) == "4 to create, 0 to update, 0 to delete, 0 unchanged"
    assert not path.exists()
    t.sync(make_book())
    text = path.read_bytes().decode()
    plan = t.sync(make_book(2), dry_run=True).plan
    assert str(plan) == "0 to create, 0 to update, 2 to delete, 2 unchanged"
    assert path.read_bytes().decode() == text


def test_file_target_version_change_rewrites_every_card(tmp_path):
    """Switching the file to vCard 4.0 updates every card."""
    path = tmp_path / "book.vcf"
    VCardFileTarget(path).sync(make_book())
    result = VCardFileTarget(path, version="4.0").sync(make_book())
    assert len(result.updated) == 4
    assert path.read_bytes().decode() == to_vcard(make_book(), "4.0")


def test_file_target_refuses_to_overwrite_other_files(tmp_path):
    """A file that is not a vCard file is never overwritten."""
    path = tmp_path / "notes.txt"
    path.write_text("my important notes\n", encoding="utf-8")
    with pytest.raises(SyncError, match="not overwritten"):
        VCardFileTarget(path).sync(make_book())
    assert path.read_text(encoding="utf-8") == "my important notes\n"


def test_targets_follow_the_protocol(radicale, tmp_path):
    """Both targets are ``Target`` objects."""
    with target(radicale) as t:
        assert isinstance(t, Target)
    assert isinstance(VCardFileTarget(Path(tmp_path / "x.vcf")), Target)
