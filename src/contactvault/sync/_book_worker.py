"""A helper process of the parallel messenger book: directory entries in, decisions and names out.

Started by :mod:`contactvault.sync._book_pool` as ``python -P -m contactvault.sync._book_worker`` with its
standard input and output as pipes. It does for a chunk of contacts what ``messenger_book`` does for
each contact in one process, with the very same functions: it validates the decrypted directory entry
(``KeptView.entry``), decides (``policy.decide``), finds the span in which the decision holds
(``decision_window``) and makes the book's name and its split (``_name_parts``). The book's process makes
the UIDs and the entries: a helper is given no key (not even the book key), so a contact whose name needs
its pseudonym code is left to the book's process, and so is a contact whose entry fails (which raises
there, as it would in one process). It exits when its standard input ends.

Frames (a 4-byte little-endian length and that many bytes, :mod:`contactvault.importers._frames`):

- first, from the book's process: ``pickle`` of ``(policy, now, name_style, pseudonym, digest)``, the
  book's settings; the helper checks that the policy's digest is ``digest`` and answers ``"ready"`` (JSON)
  once it has loaded what it needs (until then the book's process does all the work itself);
- then each request: ``marshal`` of a list of ``(row id, version, decrypted directory JSON)``;
- each reply: JSON, one item per contact of the request, in order: ``null`` (left to the book's
  process), ``[window, []]`` for a contact with no number allowed, or ``[window, numbers, name, family,
  given]``; ``window`` is ``null`` or the four integers of a ``Window``. The book's process checks every
  item's shape: it never unpickles or unmarshals what a helper sends.

Only the book's process writes to this process; a helper holds the decrypted directory entries of the
chunks it is given, as the book's process does, and nothing else of the vault. It ignores Ctrl-C (the
book's process decides) and writes nothing else on its standard output: a stray print goes to its
standard error, which the book's process discards.
"""

from __future__ import annotations

import json
import marshal
import os
import pickle
from datetime import datetime
from typing import Any

from contactvault.book import NameStyle, _LabelTexts, _name_parts
from contactvault.importers._frames import helper_pipes, queued_frames, read_frame, write_frame
from contactvault.importers._gc import paused_gc
from contactvault.sync.policy import Policy
from contactvault.sync.validity import decision_window
from contactvault.vault import Kept, KeptView

__all__ = ["Settings", "main", "reply_to"]


class _NeedsCode(Exception):
    """The name needs the contact's pseudonym code, which only the book's process can make."""


def _no_code() -> str:
    raise _NeedsCode


class Settings:
    """The book's settings, as the first frame gives them."""

    __slots__ = ("labels", "now", "policy", "pseudonym", "style")

    def __init__(self, policy: Policy, now: datetime, style: NameStyle, pseudonym: str) -> None:
        self.policy, self.now, self.style, self.pseudonym = policy, now, style, pseudonym
        self.labels: _LabelTexts = {}  # this helper's cleaned label names (book.py's label_texts)


def _item(settings: Settings, row_id: bytes, version: int, plain: bytes) -> list[Any] | None:
    """One contact's reply item (see the module), ``None`` when the book's process must make it."""
    try:
        entry = KeptView.entry(Kept(row_id, version, 0, plain))
        decision = settings.policy.decide(entry, now=settings.now)
        window = decision_window(settings.policy, entry, settings.now)
        span = None if window is None else list(window)
        if not decision.allowed:
            return [span, []]
        name, family, given = _name_parts(
            entry, settings.style, _no_code, settings.pseudonym, settings.labels
        )
    except Exception:  # noqa: BLE001  (VaultCorrupted, _NeedsCode, ...: the book's process does it again)
        return None
    return [span, list(decision.numbers), name, family, given]


def reply_to(settings: Settings, request: bytes) -> bytes:
    """The reply to a request: one item per contact, as JSON."""
    contacts = marshal.loads(request)  # noqa: S302  (from the book's process)
    with paused_gc():
        items = [_item(settings, *contact) for contact in contacts]
    return json.dumps(items, ensure_ascii=False, separators=(",", ":")).encode()


def _settings(frame: bytes) -> Settings:
    policy, now, style, pseudonym, digest = pickle.loads(frame)  # noqa: S301  (from the book's process)
    if not isinstance(policy, Policy) or policy.digest() != digest or not isinstance(now, datetime):
        raise ValueError("the book's settings did not arrive as sent")
    return Settings(policy, now, style, pseudonym)


def main() -> int:
    """Serve requests from standard input until it ends: 0; 2 if the settings are not what was sent."""
    requests, replies = helper_pipes()
    first = read_frame(requests)
    if first is None:
        return 0
    try:
        settings = _settings(first)
    except Exception:  # noqa: BLE001  (anything that is not the settings: the book's process goes on alone)
        return 2
    inbox = queued_frames(requests)
    try:
        write_frame(replies, [b'"ready"'])
        while (request := inbox.get()) is not None:
            write_frame(replies, [reply_to(settings, request)])
    except BrokenPipeError:
        return 0  # the book's process is gone
    return 0


if __name__ == "__main__":
    os._exit(main())  # every reply is flushed; nothing else to clean up, and the book waits for the exit
