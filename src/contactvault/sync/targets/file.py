"""A vCard file as a sync target: one ``.vcf`` file that holds the book, for a phone to import.

The "server" is the file itself. :meth:`VCardFileTarget.plan` reads the file (if there is one) and compares
its cards with the book by UID; :meth:`VCardFileTarget.apply` writes the whole book with
:func:`~contactvault.export.minimal.write_vcard` (atomically, mode 0600) if anything changed, and leaves the
file alone otherwise.
"""

from __future__ import annotations

from pathlib import Path

from contactvault.book import MessengerBook
from contactvault.export.minimal import card, write_vcard
from contactvault.export.vcard import VCardVersion
from contactvault.sync.targets.base import (
    CanonicalCard,
    RemoteCard,
    SyncError,
    SyncPlan,
    SyncResult,
    canonical_text,
    check_book,
    check_plan,
    run_sync,
    split_cards,
)

__all__ = ["VCardFileTarget"]


class VCardFileTarget:
    """Sync a book to one vCard file, written atomically with mode 0600.

    A card of the file without a UID is counted for deletion under the stand-in UID ``no-uid-<n>`` (its
    position); the file is only ever replaced as a whole. A file that exists but holds no vCard is never
    overwritten: :class:`~contactvault.sync.targets.SyncError`.

    Args:
        path: The file, a ``str`` or ``Path``; its folder must exist.
        version: The vCard version to write, ``"3.0"`` (the default) or ``"4.0"``.

    Attributes:
        name: ``file:<absolute path>``, the target's name in the disclosure log.
        path: The file.
        version: The vCard version written.
    """

    name: str

    def __init__(self, path: str | Path, version: VCardVersion = "3.0") -> None:
        if version not in ("3.0", "4.0"):
            raise ValueError("vCard version must be '3.0' or '4.0'")
        self.path = Path(path)
        self.version: VCardVersion = version
        self.name = f"file:{self.path.resolve()}"

    def __repr__(self) -> str:
        return f"VCardFileTarget({str(self.path)!r}, version={self.version!r})"

    def _read(self) -> list[tuple[str | None, CanonicalCard]]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise SyncError(f"file target: reading the file failed ({type(exc).__name__})") from exc
        try:
            text = data.decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError:
            raise SyncError("file target: the file is not UTF-8 vCard text; it is not overwritten") from None
        cards = split_cards(text)
        if text.strip() and not cards:
            raise SyncError("file target: the file exists and holds no vCard; it is not overwritten")
        return list(cards)

    def plan(self, book: MessengerBook) -> SyncPlan:
        """Compare the file's cards with ``book`` by UID; reads the file, writes nothing.

        Raises:
            SyncError: The file cannot be read, or it exists and is not a vCard file.
        """
        book = check_book(book)
        existing: dict[str, CanonicalCard] = {}
        remote: list[RemoteCard] = []
        duplicates: set[str] = set()
        for n, (uid, form) in enumerate(self._read(), start=1):
            key = uid if uid else f"no-uid-{n}"
            if key in existing:
                duplicates.add(key)
                continue
            existing[key] = form
            remote.append(RemoteCard(uid=key, href=str(self.path), etag=None))
        create, update = [], []
        for uid, entry in book.cards():
            family, given = book.name_parts(uid)  # the card's N, as write_vcard writes it
            if uid not in existing:
                create.append((uid, entry))
            elif uid in duplicates or existing[uid] != canonical_text(
                card(uid, entry.display_name, entry.phone_e164, self.version, family=family, given=given)
            ):
                update.append((uid, entry))
        wanted = {uid for uid, _ in book.cards()}
        return SyncPlan(
            target=self.name,
            create=tuple(create),
            update=tuple(update),
            delete=tuple(sorted(set(existing) - wanted)),
            unchanged=len(book) - len(create) - len(update),
            book=book,
            remote=tuple(remote),
        )

    def apply(self, plan: SyncPlan) -> SyncResult:
        """Write the plan's book to the file if the plan changes anything; otherwise leave the file alone.

        Raises:
            SyncError: The file cannot be written (nothing changed then: the write is atomic).
            ValueError: The plan was made for another target.
        """
        check_plan(self, plan)
        if plan.changes:
            try:
                write_vcard(plan.book, self.path, self.version)
            except OSError as exc:
                raise SyncError(
                    f"file target: writing the file failed ({type(exc).__name__})",
                    partial=SyncResult.from_plan(plan, complete=False),
                ) from exc
        return SyncResult.from_plan(
            plan,
            created=(uid for uid, _ in plan.create),
            updated=(uid for uid, _ in plan.update),
            deleted=plan.delete,
        )

    def sync(self, book: MessengerBook, *, dry_run: bool = False) -> SyncResult:
        """Plan, then write the file unless ``dry_run`` (see :meth:`plan` and :meth:`apply`)."""
        return run_sync(self, book, dry_run=dry_run)
