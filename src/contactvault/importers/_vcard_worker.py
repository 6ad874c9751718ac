"""A helper process of the parallel vCard reader: raw cards in, contacts as JSON out, over its pipes.

Started by :mod:`contactvault.importers._vcard_pool` as ``python -P -m contactvault.importers._vcard_worker``
with its standard input and output as pipes. It reads request frames from standard input, each a chunk of
raw cards (one batch of the one-process reader) with the import's settings, builds the batch with the very
functions the one-process reader uses, and writes one reply frame per request, in order, on its standard
output. It exits when its standard input ends (the importing process closed it, or died).

A frame is a 4-byte little-endian length and that many bytes:

- a request is ``marshal`` data of built-in types only: ``(count, source, region, now, baselines, items)``
  (``now`` in ISO format, ``baselines`` whether each contact carries its field digests), each item
  ``(0, start, lines, nested)`` for a raw card or ``(1, line, message, code, severity, source)`` for an
  issue of the splitter;
- a reply is a JSON header ``{"entries", "dropped", "issues", "contacts"}`` (an issue as ``[line,
  message, code, severity, source]``, ``contacts`` their number), then each contact's JSON
  (``model_dump_json``), each behind its own 4-byte length. The importing process checks the header and
  validates every contact again from its JSON: it never unpickles or unmarshals what a helper sends.

A helper is given nothing but card text: no key, no vault. It ignores Ctrl-C (the importing process,
which gets it too, decides) and writes nothing else on its standard output: anything printed while it
runs goes to its standard error (discarded by the importing process).
"""

from __future__ import annotations

import json
import marshal
import sys
from datetime import datetime

from contactvault.importers._frames import HEADER, helper_pipes, queued_frames, read_frame, write_frame
from contactvault.importers._gc import paused_gc
from contactvault.importers._vcard_cards import RawCard
from contactvault.importers.result import ImportBatch, ImportIssue

__all__ = ["HEADER", "main", "read_frame", "reply_to", "write_frame"]


def reply_to(request: bytes) -> list[bytes]:
    """The reply (a frame's parts) to a request: the chunk's batch, as the one-process reader makes it."""
    from contactvault.importers.vcard import build_batch  # noqa: PLC0415  (loaded with the first request)

    count, source, region, now, baselines, items = marshal.loads(request)  # noqa: S302  (the importer's)
    chunk: list[RawCard | ImportIssue] = [
        RawCard(item[1], item[2], item[3]) if item[0] == 0 else ImportIssue(*item[1:]) for item in items
    ]
    batch: ImportBatch = build_batch(
        chunk, count, source, region, datetime.fromisoformat(now), baselines=baselines
    )
    with paused_gc():
        contacts = [contact.model_dump_json().encode() for contact in batch.contacts]
    header = {
        "entries": batch.entries,
        "dropped": batch.dropped,
        "issues": [[i.line, i.message, i.code, i.severity, i.source] for i in batch.issues],
        "contacts": len(contacts),
    }
    head = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode()
    parts = [HEADER.pack(len(head)), head]
    for text in contacts:
        parts += (HEADER.pack(len(text)), text)
    return parts


def main() -> int:
    """Serve requests from standard input until it ends (or the importing process stops reading): 0."""
    requests, replies = helper_pipes()
    inbox = queued_frames(requests)
    while (request := inbox.get()) is not None:
        try:
            write_frame(replies, reply_to(request))
        except BrokenPipeError:
            return 0  # the importing process is gone
    return 0


if __name__ == "__main__":
    sys.exit(main())
