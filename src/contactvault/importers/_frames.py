"""Length-prefixed frames: how the import's helper processes and their parent talk over pipes.

A frame is a 4-byte little-endian length, then that many bytes. Used by
:mod:`contactvault.importers._vcard_pool` (the parent) and :mod:`contactvault.importers._vcard_worker`
(a helper), which import it rather than each other.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

__all__ = ["HEADER", "read_frame", "write_frame"]

HEADER = struct.Struct("<I")
"""A frame's length, before its bytes."""


def read_frame(stream: BinaryIO) -> bytes | None:
    """The next frame's bytes, or ``None`` at a clean end of ``stream``; ``EOFError`` if cut short."""
    head = stream.read(HEADER.size)
    if not head:
        return None
    if len(head) != HEADER.size:
        raise EOFError("a frame's length was cut short")
    (size,) = HEADER.unpack(head)
    body = stream.read(size)
    if len(body) != size:
        raise EOFError("a frame was cut short")
    return body


def write_frame(stream: BinaryIO, parts: list[bytes]) -> None:
    """Write ``parts`` (concatenated) as one frame and flush."""
    stream.write(HEADER.pack(sum(map(len, parts))))
    stream.writelines(parts)
    stream.flush()
