"""The WebDAV pieces a CardDAV target speaks: request bodies, multistatus answers, URLs and HTTP errors.

Nothing here knows a target's state or which address book it owns (that is
:mod:`contactvault.sync.targets.carddav`): it builds ``PROPFIND`` bodies, reads a ``207 Multistatus``
answer into `DavResponse` objects (refusing documents with a DTD), compares URLs by their decoded paths,
and turns an HTTP status into a `SyncError` whose message says what to do.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import unquote

import httpx

from contactvault.sync.targets.base import SyncError

__all__ = [
    "CARDDAV_NS",
    "DAV_NS",
    "XMLNS",
    "XML_TYPE",
    "DavResponse",
    "NotMultistatus",
    "body",
    "href_in",
    "http_error",
    "name_of",
    "parse_multistatus",
    "propfind_body",
    "url_path",
]

DAV_NS: Final = "{DAV:}"
"""The DAV namespace, as ElementTree writes it before a tag name."""

CARDDAV_NS: Final = "{urn:ietf:params:xml:ns:carddav}"
"""The CardDAV namespace, as ElementTree writes it before a tag name."""

XMLNS: Final = 'xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"'
"""The namespace declarations of a request body: ``D:`` for DAV, ``CR:`` for CardDAV."""

XML_TYPE: Final = "application/xml; charset=utf-8"
"""The content type of a request body."""

_XML_HEAD: Final = '<?xml version="1.0" encoding="utf-8"?>\n'


class NotMultistatus(Exception):
    """The answer is not a DAV multistatus document."""


@dataclass
class DavResponse:
    """One ``<response>`` of a multistatus: its absolute URL, its own status, and its properties found."""

    url: httpx.URL
    status: int | None
    props: dict[str, ET.Element] = field(default_factory=dict)


def _status_code(text: str | None) -> int | None:
    parts = (text or "").split()
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def body(inner: str) -> bytes:
    """A request body: the XML declaration and ``inner``, as UTF-8."""
    return (_XML_HEAD + inner).encode("utf-8")


def propfind_body(props: str) -> bytes:
    """The body of a ``PROPFIND`` for the properties ``props`` (``<D:getetag/>...``)."""
    return body(f"<D:propfind {XMLNS}><D:prop>{props}</D:prop></D:propfind>")


def parse_multistatus(response: httpx.Response) -> list[DavResponse]:
    """The responses of a 207 multistatus, with the properties found (status 200) only.

    Raises:
        NotMultistatus: The answer is no 207, holds a DTD or an entity declaration, is no XML, or its root
            is not ``multistatus``.
    """
    content = response.content
    if response.status_code != 207 or b"<!DOCTYPE" in content or b"<!ENTITY" in content:
        raise NotMultistatus
    try:
        # Safe enough without defusedxml: documents with a DTD are refused above, ElementTree resolves
        # no external entities, and expat limits entity expansion on its own.
        root = ET.fromstring(content)  # noqa: S314
    except ET.ParseError:
        raise NotMultistatus from None
    if root.tag != f"{DAV_NS}multistatus":
        raise NotMultistatus
    out = []
    for item in root.findall(f"{DAV_NS}response"):
        href = item.findtext(f"{DAV_NS}href")
        if not href:
            continue
        try:
            url = response.request.url.join(href.strip())
        except httpx.InvalidURL:
            continue
        found = DavResponse(url=url, status=_status_code(item.findtext(f"{DAV_NS}status")))
        for propstat in item.findall(f"{DAV_NS}propstat"):
            if _status_code(propstat.findtext(f"{DAV_NS}status")) == 200:
                for prop in propstat.findall(f"{DAV_NS}prop"):
                    found.props.update((child.tag, child) for child in prop)
        out.append(found)
    return out


def http_error(op: str, response: httpx.Response) -> SyncError:
    """The error for an unexpected answer to ``op``, saying what to do where that is known."""
    status = response.status_code
    if status == 401:
        why = "authentication failed (HTTP 401); check the user name and password"
    elif status == 403:
        why = "permission denied (HTTP 403)"
    elif 300 <= status < 400:
        why = f"the server redirected (HTTP {status}); give the final URL, redirects are not followed"
    elif status == 412:
        why = "the card changed on the server again (HTTP 412); run the sync again"
    else:
        why = f"HTTP {status}"
    return SyncError(f"CardDAV: {op} failed: {why}")


def url_path(url: httpx.URL) -> str:
    """The URL's path, percent-decoded, so that differently encoded hrefs compare equal."""
    return unquote(url.raw_path.decode("ascii").split("?", 1)[0])


def name_of(url: httpx.URL) -> str:
    """The last path segment of a URL, percent-decoded."""
    return url_path(url).rstrip("/").rpartition("/")[2]


def href_in(found: DavResponse, tag: str) -> httpx.URL | None:
    """The URL in a property holding an ``<href>`` (``current-user-principal``, ``addressbook-home-set``)."""
    prop = found.props.get(tag)
    href = prop.findtext(f"{DAV_NS}href") if prop is not None else None
    if not href or not href.strip():
        return None
    try:
        return found.url.join(href.strip())
    except httpx.InvalidURL:
        return None
