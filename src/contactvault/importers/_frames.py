"""Length-prefixed frames: how helper processes and their parent talk over pipes.

A frame is a 4-byte little-endian length, then that many bytes. Used by the parallel vCard reader
(:mod:`contactvault.importers._vcard_pool` and its helper, :mod:`contactvault.importers._vcard_worker`)
and the parallel messenger book (:mod:`contactvault.sync._book_pool`, :mod:`contactvault.sync._book_worker`),
which import it rather than each other.
"""

from __future__ import annotations

import os
import queue
import signal
import struct
import sys
import threading
from typing import BinaryIO

__all__ = ["HEADER", "helper_pipes", "queued_frames", "read_frame", "write_frame"]

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


def queued_frames(stream: BinaryIO) -> queue.SimpleQueue[bytes | None]:
    """The frames of ``stream``, read as they come by a thread of their own, then ``None`` at its end.

    A helper reads its requests this way, so that its parent never waits to write one while the helper
    waits to write a reply.
    """
    inbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()

    def read() -> None:
        try:
            while (frame := read_frame(stream)) is not None:
                inbox.put(frame)
        finally:
            inbox.put(None)

    threading.Thread(target=read, daemon=True).start()
    return inbox


def helper_pipes() -> tuple[BinaryIO, BinaryIO]:
    """A helper's requests (its standard input) and replies (its standard output), set up as helpers run.

    The helper ignores Ctrl-C (its parent, which gets it too, decides), and from now on anything printed
    goes to its standard error, never into a reply.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return requests, replies
