"""Exports of a ``MessengerBook``: the minimal vCard address book and a Google Contacts CSV.

These functions take a ``MessengerBook`` and nothing else, so no CRM value can reach them. A card holds
``BEGIN``, ``VERSION``, ``UID``, ``N``, ``FN``, ``TEL`` and ``END``, nothing more; vCard 3.0 by default
(iOS refuses 4.0 over CardDAV, Radicale advertises 3.0), 4.0 on request. ``N`` holds the family and given
name as the book splits the display name: whole words of ``FN`` and nothing else, so that a phone sorts
and shows the card as any other and learns nothing ``FN`` does not say. Lines end in CRLF and are
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

from contactvault.book import MessengerBook, check_name_split, split_display_name
from contactvault.errors import FolderNotFound
from contactvault.export.vcard import MAX_LINE_OCTETS, VCardVersion, escape_text, fold

__all__ = ["card", "to_csv", "to_vcard", "write_atomically", "write_csv", "write_vcard"]

CSV_HEADER = ("First Name", "Last Name", "Labels", "Phone 1 - Label", "Phone 1 - Value")
"""The Google Contacts columns the CSV export writes (the 2024 layout, which Google and contactvault read)."""

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def card(
    uid: str,
    display_name: str,
    phone_e164: str,
    version: VCardVersion = "3.0",
    *,
    family: str | None = None,
    given: str | None = None,
) -> str:
    """One minimal card's text (CRLF line ends, folded).

    ``N`` holds ``family`` and ``given`` (from :meth:`~contactvault.book.MessengerBook.name_parts`),
    so that a phone sorts and shows the card as any other; without either, the display name is split by
    :func:`~contactvault.book.split_display_name`. Each must be whole words of ``display_name``
    (``ValueError`` otherwise, never repeating a name): ``N`` shows nothing that ``FN`` does not.
    """
    _check_version(version)
    if family is None and given is None:
        family, given = split_display_name(display_name)
    family, given = family or "", given or ""
    check_name_split(display_name, family, given)
    return _card(uid, display_name, phone_e164, version, (family, given))


def _card(uid: str, display_name: str, phone_e164: str, version: VCardVersion, split: tuple[str, str]) -> str:
    """:func:`card` for a version and a ``(family, given)`` split already checked."""
    family, given = split
    tel = f"TEL;VALUE=uri;TYPE=cell:tel:{phone_e164}" if version == "4.0" else f"TEL;TYPE=CELL:{phone_e164}"
    return (
        f"BEGIN:VCARD\r\nVERSION:{version}\r\n{_line(f'UID:{uid}')}"
        f"{_line(f'N:{_escape(family)};{_escape(given)};;;')}{_line(f'FN:{_escape(display_name)}')}"
        f"{_line(tel)}END:VCARD\r\n"
    )


def _line(line: str) -> str:
    """:func:`fold`, without its work for a line that needs none: ASCII (one octet a character), short."""
    return f"{line}\r\n" if len(line) <= MAX_LINE_OCTETS and line.isascii() else fold(line)


def _escape(text: str) -> str:
    """:func:`escape_text`, without its work on line breaks and controls for printable text."""
    # Every character escape_text drops or turns into \n is a control or a line or paragraph separator,
    # none printable: of printable text it only escapes backslashes, commas and semicolons.
    if text.isprintable():
        return text.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")
    return escape_text(text)


def _check_version(version: str) -> None:
    if version not in ("3.0", "4.0"):
        raise ValueError("vCard version must be '3.0' or '4.0'")


def to_vcard(book: MessengerBook, version: VCardVersion = "3.0") -> str:
    """The whole book as one vCard file's text, one card per entry, in the book's order.

    Each card's ``N`` holds the book's name split of the entry (:meth:`MessengerBook.name_parts`).
    """
    _check(book)
    _check_version(version)

    def render(uid: str, name: str, number: str, split: tuple[str, str]) -> str:
        # each split was checked against its entry's name when the book was made
        return _card(uid, name, number, version, split)

    # A book of the vault keeps each card's text once written, for the next book of the open vault.
    return "".join(book._texts(version, render))


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
    """Write ``data`` to ``path`` atomically: a 0600 temporary file beside it, ``fsync``, rename.

    ``FolderNotFound`` (a ``FileNotFoundError``) names ``path``'s folder as given if it does not exist;
    nothing is written then. Other ``OSError`` exceptions name ``path``, never the temporary file.
    """
    if not path.parent.is_dir():
        raise FolderNotFound(path.parent)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:  # a read-only folder, say: the file asked for is named, not the temporary one
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if isinstance(exc, OSError) and exc.filename is not None:
            raise OSError(exc.errno, exc.strerror, str(path)) from None
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
