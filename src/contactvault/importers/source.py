"""Reading an address book as numbered physical lines, whatever it was handed as and however it ends lines.

A source is a path (``pathlib.Path`` or any ``os.PathLike``), ``bytes``, or ``str``. A ``str`` is the
address book's text, except a single line naming an existing file, which is read as that file's path (so
``import_vcards("contacts.vcf", ...)`` does what it says).

Lines may end in CRLF, LF or a lone CR; a UTF-8 byte order mark is dropped; UTF-16 and UTF-32 files (with a
byte order mark, or UTF-16 recognisable by its zero bytes) are transcoded to UTF-8. Files are read line by
line, so memory does not grow with the file.
"""

from __future__ import annotations

import codecs
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from contactvault.errors import ImportFailed

__all__ = ["BLOCK_SIZE", "Source", "iter_blocks", "iter_lines", "source_name"]

BLOCK_SIZE = 1 << 20
"""Bytes read at a time: memory follows this, not the size of the file."""

Source = str | bytes | os.PathLike[str]
"""What the importers accept: a path, the file's bytes, or its text."""

_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


_FILE_SUFFIXES = (".vcf", ".vcard", ".csv")


def _as_path(source: Source) -> Path | None:
    if isinstance(source, os.PathLike):
        return Path(source)
    if isinstance(source, str) and "\n" not in source and "\r" not in source and source.strip():
        try:
            candidate = Path(source)
            # An existing file, or a name that can only mean one ("export.vcf"): reading it will say
            # "no such file" rather than "not a vCard file".
            if candidate.is_file() or candidate.suffix.lower() in _FILE_SUFFIXES:
                return candidate
        except (OSError, ValueError):  # a name too long, or a NUL byte: it is text, not a path
            return None
    return None


def source_name(source: Source) -> str:
    """A name for messages: the file's name (never its directory), or ``<bytes>`` / ``<text>``."""
    path = _as_path(source)
    if path is not None:
        return path.name or str(path)
    return "<bytes>" if isinstance(source, bytes) else "<text>"


def _wide_encoding(head: bytes) -> str | None:
    """The encoding of a UTF-16/32 file, from its byte order mark or from zero bytes around ASCII."""
    for bom, encoding in _WIDE_BOMS:
        if head.startswith(bom):
            return encoding
    if len(head) >= 4 and head[1] == 0 and head[3] == 0 and head[0] != 0:
        return "utf-16-le"
    if len(head) >= 4 and head[0] == 0 and head[2] == 0 and head[1] != 0:
        return "utf-16-be"
    return None


def _normalised(block: bytes) -> bytes:
    """CRLF and lone CR become LF (two C-level passes; most blocks need neither)."""
    if b"\r" in block:
        block = block.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return block


def _blocks_of(stream: IO[bytes]) -> Iterator[bytes]:
    """Blocks of whole lines, LF-terminated; a CR that may be half of a CRLF waits for the next read."""
    carry = b""
    first = True
    while chunk := stream.read(BLOCK_SIZE):
        if first:
            chunk, first = chunk.removeprefix(codecs.BOM_UTF8), False
        data = carry + chunk
        body_end = len(data) - 1 if data.endswith(b"\r") else len(data)
        cut = max(data.rfind(b"\n", 0, body_end), data.rfind(b"\r", 0, body_end))
        if cut < 0:  # no line has ended yet: a very long line goes on
            carry = data
            continue
        yield _normalised(data[: cut + 1])
        carry = data[cut + 1 :]
    if carry:
        last = _normalised(carry)
        yield last if last.endswith(b"\n") else last + b"\n"


def _wide_to_utf8(stream: io.BufferedReader) -> IO[bytes]:
    """UTF-16/32 files (rare, small: some Windows tools) are transcoded whole; others pass through."""
    encoding = _wide_encoding(stream.peek(4)[:4])
    if encoding is None:
        return stream
    return io.BytesIO(stream.read().decode(encoding, errors="replace").encode("utf-8"))


def iter_blocks(source: Source) -> Iterator[bytes]:
    """Yield the source as blocks of whole lines, each line ending in LF whatever it ended in before.

    A UTF-8 byte order mark is dropped and UTF-16/32 is transcoded to UTF-8. Raises
    ``ImportFailed`` (naming the file, not its directory) when a path cannot be read.
    """
    path = _as_path(source)
    if path is not None:
        try:
            stream = path.open("rb")
        except OSError as exc:
            raise ImportFailed(f"{source_name(source)}: cannot read file ({exc.strerror})") from None
        with stream:
            yield from _blocks_of(_wide_to_utf8(stream))
        return
    if isinstance(source, str):
        data = source.encode("utf-8", errors="surrogatepass")
    elif isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    else:
        raise TypeError("source must be a path, bytes or str")
    yield from _blocks_of(_wide_to_utf8(io.BufferedReader(io.BytesIO(data))))


def iter_lines(source: Source) -> Iterator[bytes]:
    """Yield the physical lines of a source, without line terminators (see `iter_blocks`)."""
    for block in iter_blocks(source):
        lines = block.split(b"\n")
        lines.pop()  # the empty string after the block's last LF
        yield from lines
