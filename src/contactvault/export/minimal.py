"""Exports of a ``MessengerBook``: the minimal vCard address book and a Google Contacts CSV.

These functions take a ``MessengerBook`` and nothing else, so no CRM value can reach them. A card holds
``BEGIN``, ``VERSION``, ``UID``, ``N``, ``FN``, ``TEL`` and ``END``, nothing more; vCard 3.0 by default
(iOS refuses 4.0 over CardDAV, Radicale advertises 3.0), 4.0 on request. Lines end in CRLF and are
folded at 75 octets without splitting a UTF-8 character; text is escaped as the RFC asks.

Files are written atomically: a temporary file beside the target (mode 0600), ``fsync``, then a rename,
so a reader sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import sys
import uuid
from pathlib import Path

from contactvault.export.vcard import VCardVersion, escape_text, fold
from contactvault.sync.book import MessengerBook

__all__ = ["card", "to_csv", "to_vcard", "write_atomically", "write_csv", "write_vcard"]

CSV_HEADER = ("First Name", "Last Name", "Labels", "Phone 1 - Label", "Phone 1 - Value")
"""The Google Contacts columns the CSV export writes (the 2024 layout, which Google and contactvault read)."""

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def card(uid: str, display_name: str, phone_e164: str, version: VCardVersion = "3.0") -> str:
    """One minimal card's text (CRLF line ends, folded)."""
    if version not in ("3.0", "4.0"):
        raise ValueError("vCard version must be '3.0' or '4.0'")
    name = escape_text(display_name)
    tel = f"TEL;VALUE=uri;TYPE=cell:tel:{phone_e164}" if version == "4.0" else f"TEL;TYPE=CELL:{phone_e164}"
    lines = (
        "BEGIN:VCARD",
        f"VERSION:{version}",
        f"UID:{uid}",
        f"N:{name};;;;",
        f"FN:{name}",
        tel,
        "END:VCARD",
    )
    return "".join(fold(line) for line in lines)


def to_vcard(book: MessengerBook, version: VCardVersion = "3.0") -> str:
    """The whole book as one vCard file's text, one card per entry, in the book's order."""
    _check(book)
    return "".join(card(uid, e.display_name, e.phone_e164, version) for uid, e in book.cards())


def to_csv(book: MessengerBook) -> str:
    """The book as a Google Contacts CSV: the name in ``First Name``, the number as ``Mobile``.

    A name that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``) gets a
    leading apostrophe. Numbers are E.164 (``+49...``) and are written as they are.
    """
    _check(book)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for _, entry in book.cards():
        name = entry.display_name
        if name.startswith(_FORMULA_START):
            name = "'" + name
        writer.writerow((name, "", "", "Mobile", entry.phone_e164))
    return out.getvalue()


def write_vcard(book: MessengerBook, path: str | Path, version: VCardVersion = "3.0") -> Path:
    """Write :func:`to_vcard` to ``path`` atomically, mode 0600; returns the path."""
    return write_atomically(Path(path), to_vcard(book, version).encode("utf-8"))


def write_csv(book: MessengerBook, path: str | Path) -> Path:
    """Write :func:`to_csv` to ``path`` atomically, mode 0600 (UTF-8 with BOM, as Google writes it)."""
    return write_atomically(Path(path), ("\ufeff" + to_csv(book)).encode("utf-8"))


def write_atomically(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically: a 0600 temporary file beside it, ``fsync``, rename."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    if sys.platform != "win32":
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    return path


def _check(book: object) -> None:
    if not isinstance(book, MessengerBook):
        raise TypeError("exports take a MessengerBook, nothing else")
