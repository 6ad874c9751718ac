"""A CardDAV address book as a sync target, on httpx: what a phone subscribes to (DAVx5, iOS accounts).

The target owns one address book, ``<home>/<addressbook>/``, and makes it hold exactly the book:

- it finds the address book with ``PROPFIND``, and creates it with an extended ``MKCOL`` (RFC 5689) if it
  is missing, marked as contactvault's by its display name and description;
- it lists the cards with the ``sync-collection`` REPORT (RFC 6578) where the server offers it, and with
  ``PROPFIND Depth: 1`` otherwise, then reads the cards of the book to compare them;
- it creates cards with ``PUT`` and ``If-None-Match: *``, updates them with ``If-Match: <etag>``, and
  deletes every other card of the address book with ``DELETE`` and ``If-Match``;
- if a card changed on the server in the meantime (HTTP 412), it reads the card's new entity tag and
  tries once more: the vault is the source of truth, so the book wins.

It never writes outside that address book. An address book of that name that contactvault did not create
is used only if it is empty; otherwise the sync stops with :class:`~contactvault.sync.targets.SyncError`.

The WebDAV pieces that know nothing of the target's state (request bodies, multistatus answers, URL paths,
HTTP errors) are in :mod:`contactvault.sync.targets._dav`.
"""

from __future__ import annotations

import types
from collections.abc import Collection
from typing import Final, Literal, Self
from urllib.parse import quote
from xml.sax.saxutils import escape

import httpx

from contactvault.book import MessengerBook
from contactvault.export.minimal import card
from contactvault.models import MessengerEntry
from contactvault.sync.targets._dav import (
    CARDDAV_NS,
    DAV_NS,
    XML_TYPE,
    XMLNS,
    DavResponse,
    NotMultistatus,
    body,
    href_in,
    http_error,
    name_of,
    parse_multistatus,
    propfind_body,
    url_path,
)
from contactvault.sync.targets.base import (
    RemoteCard,
    SyncError,
    SyncPlan,
    SyncResult,
    canonical_text,
    check_book,
    check_plan,
    run_sync,
)

__all__ = ["ADDRESSBOOK_DESCRIPTION", "CardDAVTarget"]

ADDRESSBOOK_DESCRIPTION: Final = (
    "Managed by contactvault: a minimal messenger address book. Every sync replaces its cards and deletes "
    "any other card in it; keep your own contacts in another address book."
)
"""The description contactvault gives the address book it creates; it marks the address book as its own."""

_MARKER: Final = "Managed by contactvault"
# The properties that mark an address book as contactvault's: its display name and description.
_OWN_PROPS: Final = (
    "<D:displayname>contactvault</D:displayname>"
    f"<CR:addressbook-description>{escape(ADDRESSBOOK_DESCRIPTION)}</CR:addressbook-description>"
)
_VCARD_TYPE: Final = "text/vcard; charset=utf-8"
_WRITES: Final = frozenset({"PUT", "DELETE", "MKCOL", "PROPPATCH"})
# Answers to the sync-collection REPORT that mean "not offered here": fall back to PROPFIND.
_NO_SYNC_COLLECTION: Final = frozenset({400, 403, 405, 409, 415, 422, 501})

Listing = Literal["sync-collection", "propfind"]


class CardDAVTarget:
    """Sync a book to a CardDAV address book that contactvault owns, e.g. on Radicale or Nextcloud.

    Cards are stored as ``<uid>.vcf``, each a minimal vCard 3.0 (``BEGIN``, ``VERSION``, ``UID``, ``N``,
    ``FN``, ``TEL``, ``END``). Every other card in the address book is deleted at the next sync, including
    one added by hand on a phone: the address book belongs to contactvault.

    Args:
        url: The server's base URL (the address book home is then found from the user's principal) or the
            user's address book home, e.g. ``https://dav.example.org/alice/``. No user name or password in
            it; only ``http`` and ``https``.
        username: The account's user name.
        password: The account's password (or app password). It is sent with every request (HTTP Basic
            authentication: use ``https`` beyond the local machine) and shown nowhere else.
        addressbook: The address book's name below the home: one path segment.
        timeout: Seconds to wait for the server, per request.
        verify: Check the server's TLS certificate (``True``), or a path to a CA bundle; for the client this
            target makes.
        client: An ``httpx.Client`` to use instead (for proxies or special TLS settings); the target still
            sends its own authentication and timeout with each request, never follows redirects, and does
            not close a client it was given.
        use_sync_collection: Use the ``sync-collection`` REPORT where the server offers it (the default);
            ``False`` always lists with ``PROPFIND``.

    Attributes:
        name: ``carddav:<url><addressbook>/``, the target's name in the disclosure log (no credentials).
        listing: How the last plan listed the address book: ``"sync-collection"``, ``"propfind"``, or
            ``None`` before the first listing (or when the address book did not exist yet).
    """

    name: str

    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        addressbook: str = "contactvault",
        *,
        timeout: float = 10.0,
        verify: bool | str = True,
        client: httpx.Client | None = None,
        use_sync_collection: bool = True,
    ) -> None:
        try:
            base = httpx.URL(url)
        except (httpx.InvalidURL, TypeError) as exc:
            raise ValueError("not a valid URL") from exc
        if base.scheme not in ("http", "https") or not base.host:
            raise ValueError("the CardDAV URL must be an http or https URL with a host")
        if base.userinfo:
            raise ValueError("give the user name and password as arguments, not in the URL")
        if base.query or base.fragment:
            raise ValueError("the CardDAV URL must not have a query or a fragment")
        if not addressbook or "/" in addressbook or addressbook in (".", ".."):
            raise ValueError("the address book name must be one path segment")
        if not base.path.endswith("/"):
            base = base.copy_with(path=base.path + "/")
        self._url = base
        self._username = username
        self._auth = httpx.BasicAuth(username, password)
        self._addressbook = addressbook
        self._timeout = timeout
        self._use_sync_collection = use_sync_collection
        self._own_client = client is None
        self._client = client if client is not None else httpx.Client(verify=verify, timeout=timeout)
        self.name = f"carddav:{base}{quote(addressbook, safe='')}/"
        self.listing: Listing | None = None
        self._home: httpx.URL | None = None
        self._collection: httpx.URL | None = None
        self._exists = False
        self._claim = False
        self._offers_sync = True

    def __repr__(self) -> str:
        return (
            f"CardDAVTarget(url={str(self._url)!r}, username={self._username!r}, "
            f"addressbook={self._addressbook!r})"
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP client, if this target made it (a client that was passed in stays open)."""
        if self._own_client:
            self._client.close()

    @property
    def collection_url(self) -> str | None:
        """The address book's URL once a plan found where it is (``None`` before)."""
        return str(self._collection) if self._collection is not None else None

    # --- plan and apply ------------------------------------------------------------------------------

    def plan(self, book: MessengerBook) -> SyncPlan:
        """List the address book, read its cards of the book, and say what a sync would change.

        Writes nothing: an address book that does not exist yet is planned as empty (and is created by
        :meth:`apply`).

        Raises:
            SyncError: The server could not be reached, refused the credentials, or answered an error; or
                the address book exists, holds cards, and was not created by contactvault.
        """
        book = check_book(book)
        wanted = dict(book.cards())
        remote = self._list() if self._find_collection() else []
        if self._claim and remote:
            raise SyncError(
                "CardDAV: the address book exists, holds cards, and was not created by contactvault; "
                "it is left alone (choose another address book name)"
            )
        create, update, delete = [], [], []
        present: set[str] = set()
        for index, rc in enumerate(remote):
            entry = wanted.get(rc.uid)
            if entry is None or not _is_own(rc, wanted) or rc.uid in present:
                delete.append(rc.uid)
                continue
            present.add(rc.uid)
            text, etag = self._get(httpx.URL(rc.href))
            if text is None:  # deleted since it was listed
                create.append((rc.uid, entry))
                continue
            remote[index] = RemoteCard(uid=rc.uid, href=rc.href, etag=etag or rc.etag)
            ours = _card(book, rc.uid, entry)
            if canonical_text(text) != canonical_text(ours):
                update.append((rc.uid, entry))
        create += [(uid, entry) for uid, entry in book.cards() if uid not in present]
        order = {uid: n for n, (uid, _) in enumerate(book.cards())}
        return SyncPlan(
            target=self.name,
            create=tuple(sorted(create, key=lambda c: order[c[0]])),
            update=tuple(update),
            delete=tuple(sorted(set(delete))),
            unchanged=len(book) - len(create) - len(update),
            book=book,
            remote=tuple(remote),
        )

    def read_cards(self) -> list[tuple[str, str]]:
        """Every card in the address book as ``(resource name, vCard text)``, for an audit; writes nothing.

        An address book that does not exist yet holds no cards. Cards deleted while they are read are
        left out.

        Raises:
            SyncError: The server could not be reached, refused the credentials, or answered an error.
        """
        if not self._find_collection():
            return []
        cards = []
        for rc in self._list():
            text, _ = self._get(httpx.URL(rc.href))
            if text is not None:
                cards.append((name_of(httpx.URL(rc.href)), text))
        return cards

    def apply(self, plan: SyncPlan) -> SyncResult:
        """Carry out ``plan``: create the address book if needed, then delete, update and create cards.

        Deletions come first, so that a card somebody else stored under one of the book's UIDs is gone
        before the book's card is written. A card that changed on the server since the plan (HTTP 412) is
        read again and written once more with its new entity tag: the book wins.

        Raises:
            SyncError: The server failed; ``partial`` holds what it confirmed until then. Running the sync
                again finishes the job.
            ValueError: The plan was made for another target.
        """
        check_plan(self, plan)
        created: list[str] = []
        updated: list[str] = []
        deleted: list[str] = []
        try:
            if plan.changes:
                self._ensure_collection()
            doomed = set(plan.delete)
            wanted = {uid for uid, _ in plan.book.cards()}
            for rc in plan.remote:
                if rc.uid in doomed and not _is_own(rc, wanted):
                    self._delete(rc)
                    if rc.uid not in deleted:
                        deleted.append(rc.uid)
            etags = {rc.uid: rc.etag for rc in plan.remote if _is_own(rc, wanted)}
            for uid, entry in plan.update:
                self._upload(uid, _card(plan.book, uid, entry), etags.get(uid))
                updated.append(uid)
            for uid, entry in plan.create:
                self._upload(uid, _card(plan.book, uid, entry), None)
                created.append(uid)
        except SyncError as exc:
            exc.partial = SyncResult.from_plan(
                plan, created=created, updated=updated, deleted=deleted, complete=False
            )
            raise
        return SyncResult.from_plan(plan, created=created, updated=updated, deleted=deleted)

    def sync(self, book: MessengerBook, *, dry_run: bool = False) -> SyncResult:
        """Plan, then apply unless ``dry_run`` (see :meth:`plan` and :meth:`apply`)."""
        return run_sync(self, book, dry_run=dry_run)

    # --- HTTP ------------------------------------------------------------------------------------------

    def _send(
        self,
        op: str,
        method: str,
        url: httpx.URL,
        *,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        if method in _WRITES and not self._inside(url):
            raise SyncError(f"CardDAV: {op}: refused to write outside the address book")
        try:
            return self._client.request(
                method,
                url,
                headers=headers,
                content=content,
                auth=self._auth,
                follow_redirects=False,
                timeout=self._timeout,
            )
        except httpx.TimeoutException as exc:
            raise SyncError(f"CardDAV: {op} failed: the server did not answer in time") from exc
        except httpx.HTTPError as exc:
            why = f"the server could not be reached ({type(exc).__name__})"
            raise SyncError(f"CardDAV: {op} failed: {why}") from exc

    def _propfind(self, op: str, url: httpx.URL, props: str, depth: str) -> httpx.Response:
        headers = {"Depth": depth, "Content-Type": XML_TYPE}
        return self._send(op, "PROPFIND", url, headers=headers, content=propfind_body(props))

    def _same_origin(self, url: httpx.URL) -> bool:
        return (url.scheme, url.host, url.port) == (self._url.scheme, self._url.host, self._url.port)

    def _inside(self, url: httpx.URL) -> bool:
        """Whether ``url`` is the address book itself or one resource directly in it."""
        if self._collection is None or not self._same_origin(url):
            return False
        base, path = url_path(self._collection), url_path(url)
        if path == base:
            return True
        rest = path[len(base) :] if path.startswith(base) else ""
        return bool(rest) and "/" not in rest

    # --- discovery -------------------------------------------------------------------------------------

    def _find_home(self) -> httpx.URL:
        """The address book home: ``addressbook-home-set`` of the URL or of its principal, else the URL."""
        if self._home is not None:
            return self._home
        op = "finding the address book home"
        home = self._url
        props = "<D:current-user-principal/><CR:addressbook-home-set/>"
        response = self._propfind(op, self._url, props, "0")
        if response.status_code == 401 or 500 <= response.status_code < 600:
            raise http_error(op, response)
        try:
            found = parse_multistatus(response)
        except NotMultistatus:
            found = []
        here = next((r for r in found if url_path(r.url) == url_path(self._url)), found[0] if found else None)
        if here is not None:
            home_set = href_in(here, f"{CARDDAV_NS}addressbook-home-set")
            principal = href_in(here, f"{DAV_NS}current-user-principal")
            if home_set is None and principal is not None and url_path(principal) != url_path(self._url):
                try:
                    answer = parse_multistatus(self._propfind(op, principal, props, "0"))
                except NotMultistatus:
                    answer = []
                home_set = next(
                    (h for r in answer if (h := href_in(r, f"{CARDDAV_NS}addressbook-home-set"))), None
                )
                home_set = home_set or principal
            home = home_set or home
        if not self._same_origin(home):
            raise SyncError(f"CardDAV: {op} failed: the server pointed to another host; refused")
        if not home.path.endswith("/"):
            home = home.copy_with(path=home.path + "/")
        self._home = home
        return home

    def _find_collection(self) -> bool:
        """Find the address book; whether it exists. Sets whether it is ours and what the server offers."""
        op = "finding the address book"
        self._collection = self._find_home().join(quote(self._addressbook, safe="") + "/")
        props = "<D:resourcetype/><D:displayname/><CR:addressbook-description/><D:supported-report-set/>"
        response = self._propfind(op, self._collection, props, "0")
        if response.status_code == 404:
            self._exists, self._claim = False, False
            return False
        try:
            found = parse_multistatus(response)
        except NotMultistatus:
            raise http_error(op, response) from None
        here = next((r for r in found if url_path(r.url) == url_path(self._collection)), None)
        if here is not None and here.status == 404:
            self._exists, self._claim = False, False
            return False
        if here is None:
            raise SyncError(f"CardDAV: {op} failed: the server's answer does not describe it")
        kind = here.props.get(f"{DAV_NS}resourcetype")
        if kind is None or kind.find(f"{CARDDAV_NS}addressbook") is None:
            why = "a collection of that name exists and is not an address book"
            raise SyncError(f"CardDAV: {op} failed: {why}")
        description = here.props.get(f"{CARDDAV_NS}addressbook-description")
        self._claim = not (description is not None and (description.text or "").startswith(_MARKER))
        reports = here.props.get(f"{DAV_NS}supported-report-set")
        self._offers_sync = reports is None or reports.find(f".//{DAV_NS}sync-collection") is not None
        self._exists = True
        return True

    def _ensure_collection(self) -> None:
        """Create the address book if it is missing, or mark an empty foreign one as contactvault's."""
        if self._collection is None:
            self._find_collection()
        assert self._collection is not None  # noqa: S101  (set by _find_collection)
        if not self._exists:
            op = "creating the address book"
            kind = "<D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype>"
            request = body(f"<D:mkcol {XMLNS}><D:set><D:prop>{kind}{_OWN_PROPS}</D:prop></D:set></D:mkcol>")
            headers = {"Content-Type": XML_TYPE}
            response = self._send(op, "MKCOL", self._collection, headers=headers, content=request)
            if response.status_code == 405 and self._find_collection():  # created meanwhile
                if self._claim:
                    why = "somebody else created an address book of that name"
                    raise SyncError(f"CardDAV: {op} failed: {why}")
                return
            if not response.is_success:
                raise http_error(op, response)
            self._exists, self._claim = True, False
        elif self._claim:
            op = "marking the address book as contactvault's"
            request = body(
                f"<D:propertyupdate {XMLNS}><D:set><D:prop>{_OWN_PROPS}</D:prop></D:set></D:propertyupdate>"
            )
            headers = {"Content-Type": XML_TYPE}
            response = self._send(op, "PROPPATCH", self._collection, headers=headers, content=request)
            if not response.is_success:
                raise http_error(op, response)
            self._claim = False

    # --- cards -----------------------------------------------------------------------------------------

    def _list(self) -> list[RemoteCard]:
        """The cards in the address book, with their entity tags."""
        assert self._collection is not None  # noqa: S101  (found before listing)
        op = "listing the address book"
        found: list[DavResponse] | None = None
        if self._use_sync_collection and self._offers_sync:
            request = body(
                '<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level>'
                "<D:prop><D:getetag/></D:prop></D:sync-collection>"
            )
            headers = {"Depth": "0", "Content-Type": XML_TYPE}
            response = self._send(op, "REPORT", self._collection, headers=headers, content=request)
            if response.status_code == 207:
                try:
                    found = parse_multistatus(response)
                except NotMultistatus:
                    found = None
                # A truncated answer (507 for the collection) would need paging: list with PROPFIND instead.
                if found is not None and any(r.status == 507 for r in found):
                    found = None
            elif response.status_code not in _NO_SYNC_COLLECTION and not response.is_success:
                raise http_error(op, response)
            if found is not None:
                self.listing = "sync-collection"
        if found is None:
            response = self._propfind(op, self._collection, "<D:getetag/><D:resourcetype/>", "1")
            try:
                found = parse_multistatus(response)
            except NotMultistatus:
                raise http_error(op, response) from None
            self.listing = "propfind"
        cards = []
        for item in found:
            kind = item.props.get(f"{DAV_NS}resourcetype")
            if item.status not in (None, 200):
                continue
            if kind is not None and kind.find(f"{DAV_NS}collection") is not None:
                continue
            if not self._inside(item.url) or url_path(item.url) == url_path(self._collection):
                continue  # the address book itself, or something the server should not have listed
            name = name_of(item.url)
            uid = name.removesuffix(".vcf") if name.endswith(".vcf") and len(name) > 4 else name
            etag = item.props.get(f"{DAV_NS}getetag")
            text = (etag.text or "").strip() if etag is not None else ""
            cards.append(RemoteCard(uid=uid, href=str(item.url), etag=text or None))
        return cards

    def _member(self, uid: str) -> httpx.URL:
        assert self._collection is not None  # noqa: S101  (found before writing)
        return self._collection.join(quote(f"{uid}.vcf", safe=""))

    def _get(self, url: httpx.URL) -> tuple[str | None, str | None]:
        """A card's text and entity tag; ``(None, None)`` if it is gone."""
        op = "reading a card"
        if not self._inside(url):
            raise SyncError(f"CardDAV: {op}: refused to read outside the address book")
        response = self._send(op, "GET", url)
        if response.status_code in (404, 410):
            return None, None
        if response.status_code != 200:
            raise http_error(op, response)
        return response.content.decode("utf-8", errors="replace"), response.headers.get("ETag")

    def _upload(self, uid: str, text: str, etag: str | None) -> None:
        """Create (``etag`` None) or update one card; after a 412, once more with the card's new state."""
        url = self._member(uid)
        create = etag is None
        for attempt in range(2):
            op = "creating a card" if create else "updating a card"
            headers = {"Content-Type": _VCARD_TYPE}
            if create:
                headers["If-None-Match"] = "*"
            elif etag is not None:
                headers["If-Match"] = etag
            response = self._send(op, "PUT", url, headers=headers, content=text.encode("utf-8"))
            if response.is_success:
                return
            if response.status_code != 412 or attempt:
                raise http_error(op, response)
            current, etag = self._get(url)
            create = current is None
            if not create and etag is None:
                raise SyncError(f"CardDAV: {op} failed: the server gives no entity tag for the card")

    def _delete(self, rc: RemoteCard) -> None:
        """Delete one card; gone already counts as done; after a 412, once more with its new entity tag."""
        op = "deleting a card"
        url = httpx.URL(rc.href)
        etag = rc.etag
        for attempt in range(2):
            headers = {"If-Match": etag} if etag else {}
            response = self._send(op, "DELETE", url, headers=headers)
            if response.is_success or response.status_code in (404, 410):
                return
            if response.status_code != 412 or attempt:
                raise http_error(op, response)
            current, etag = self._get(url)
            if current is None:
                return


def _card(book: MessengerBook, uid: str, entry: MessengerEntry) -> str:
    """The vCard 3.0 text of one entry of ``book``, with the book's name split in ``N``.

    The plan compares a remote card with exactly this text and ``apply`` uploads it, so an unchanged card
    is not written again.
    """
    family, given = book.name_parts(uid)
    return card(uid, entry.display_name, entry.phone_e164, "3.0", family=family, given=given)


def _is_own(rc: RemoteCard, wanted: Collection[str]) -> bool:
    """Whether a listed card is the book's card of its UID: the UID is in the book, the name ``<uid>.vcf``."""
    return rc.uid in wanted and name_of(httpx.URL(rc.href)) == f"{rc.uid}.vcf"
