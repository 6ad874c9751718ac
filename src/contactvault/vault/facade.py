"""``Vault``: the one way into a vault file, and short public methods over the rooms of the vault package.

Each contact is stored in two sealed compartments: the **directory** (``DirectoryEntry``: names, numbers
with their messenger presence, labels, consents, legal bases, restriction, objections, the keys a
re-import matches on), which listing and the messenger book decrypt; and the **CRM payload** (e-mail and
postal addresses, birthday, organisation, notes, URLs, custom fields, source), decrypted only when a
whole contact is asked for. Both are sealed under keys derived from a random data key of the contact's
own; erasing the contact destroys that key. ``docs/format.md`` describes the file, ``docs/threat-model.md``
what it protects against.

Every write goes through ``Core.commit``: the changed rows, their blind-index entries, a log record and
the authenticated row-set state in one transaction of the backend (an SQLite file, or PostgreSQL).

Several processes, and several threads of one process, may use one vault at once (``docs/team.md``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from contactvault import crypto
from contactvault.crypto import KdfParams, Keys
from contactvault.duplicates import DuplicateGroup, find_duplicates
from contactvault.errors import ConflictError, ContactNotFound, VaultCorrupted
from contactvault.files import make_private_dir
from contactvault.importers.result import ImportResult
from contactvault.models import (
    Contact,
    DirectoryEntry,
)
from contactvault.phones import check_region, parse_number
from contactvault.vault import backup as backups
from contactvault.vault import keys as slots
from contactvault.vault import log, memory, state
from contactvault.vault.asking import ConsentAsking
from contactvault.vault.backends import Location, create, default_vault_path, is_url, open_backend
from contactvault.vault.backends.base import Backend
from contactvault.vault.changing import MODIFY_ATTEMPTS, ContactChanges
from contactvault.vault.core import BATCH, Core, Write, validated
from contactvault.vault.core import contact_id as _cid
from contactvault.vault.header import FORMAT_VERSION, OWNER, Header
from contactvault.vault.importing import OnMatch, import_contacts
from contactvault.vault.merging import merge
from contactvault.vault.messenger import MessengerSide
from contactvault.vault.notices import Notices
from contactvault.vault.results import (
    Erasure,
    ImportReport,
    VaultSettings,
    VerifyReport,
)
from contactvault.vault.retention import Retention
from contactvault.vault.users import UserSlots, finish_open
from contactvault.vault.verify import verify

__all__ = ["DEFAULT_LOCK_TIMEOUT", "MODIFY_ATTEMPTS", "Vault", "default_vault_path"]

DEFAULT_LOCK_TIMEOUT: Final = 15.0
"""Seconds a write waits for another writer's transaction to end before raising ``VaultLocked``."""


def _location(location: Location | None) -> Location:
    if location is None:
        return default_vault_path()
    return location if is_url(location) else Path(location)


def _now() -> datetime:
    return datetime.now(UTC)


def _older_backup(name: str, refused: memory.RolledBack) -> str:
    """Why a restore of the backup ``name`` was refused: it is older than the vault this client saw."""
    found, seen = refused.found, refused.seen
    what = (
        f"is another copy at generation {found.generation}, not the one this client saw"
        if refused.forked
        else f"is at generation {found.generation}, older than generation {seen.generation} this client saw"
    )
    return (
        f"{name}: this backup {what} on {seen.at:%Y-%m-%d}; restoring it brings back an older vault (a "
        "consent withdrawn since, an erased contact). To restore it on purpose, use `contactvault restore "
        "--accept-older` (Vault.restore(..., accept_older=True)): the restore is logged in it, and it "
        "becomes this client's baseline"
    )


class Vault(ContactChanges, MessengerSide, UserSlots, Notices, ConsentAsking, Retention):
    """An open vault. Create one with ``create``, open one with ``open``; close it when done.

    A vault is an SQLite file (the default) or a schema in PostgreSQL (a ``postgresql://`` URL). Several
    processes may have it open at once, and one ``Vault`` object serves several threads (each gets its own
    database connection): a web app opens it once per worker process. Writes are serialised; an update
    from a stale read raises ``ConflictError``, and ``modify`` retries for you. Every operation reads what
    the others committed. Use it as a context manager::

        with Vault.open("contacts.db", passphrase) as vault:
            contact_id = vault.add(contact)

    Iterating over a vault yields ``DirectoryEntry`` objects (the directory compartment only); ``get`` and
    ``contacts`` return full ``Contact`` objects, decrypting their CRM payloads.

    The vault never returns data it could not authenticate: any failed check raises ``VaultCorrupted``.
    Key material stays in memory while the vault is open (Python cannot reliably wipe it) and is dropped
    on ``close`` (references only).
    """

    recovery_key: str | None
    """The recovery key, right after ``create`` with ``recovery_key=True`` only; ``None`` otherwise.
    Show it to the user once, to keep offline: it opens the vault without the passphrase."""

    def __init__(self, core: Core) -> None:
        """Not for direct use: see ``create``, ``open`` and ``open_with_recovery_key``."""
        self._core = core
        self.recovery_key = None

    # --- creating, opening, closing ----------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: Location | None = None,
        passphrase: str | bytes = "",
        *,
        user: str = OWNER,
        kdf: KdfParams | None = None,
        recovery_key: bool = False,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> Self:
        """Create a new, empty vault and open it.

        Args:
            path: the new file; ``None`` means ``vault.db`` in the user data folder
                (``default_vault_path``), whose folders are created private (0700). An existing file is
                never overwritten (``VaultExists``). A ``postgresql://`` URL creates the vault's tables
                in that database (schema ``contactvault``, or the URL's ``schema`` parameter).
            passphrase: protects the vault; required, not empty.
            user: the name of the first user, whose key slot the passphrase opens (``"owner"`` unless
                given); more users are added with ``add_user`` (``docs/team.md``).
            kdf: Argon2id parameters; ``KdfParams.default`` (64 MiB, 3 iterations, 4 lanes) unless given.
            recovery_key: also create a recovery key (a second way to unwrap the master key), available once
                as ``recovery_key`` on the returned vault.
            lock_timeout: seconds a write waits for another writer's transaction to end.
        """
        slots.check_passphrase(passphrase)
        params = kdf if kdf is not None else KdfParams.default()
        target = _location(path)
        if path is None and isinstance(target, Path):
            make_private_dir(target.parent)
        vault_id = crypto.random_bytes(16)
        master = crypto.random_bytes()
        keys = Keys(master)
        slot, private = slots.person_slot(user, passphrase, params, master, vault_id)
        shown: str | None = None
        key_slots = [slot]
        if recovery_key:
            recovery, shown = slots.new_recovery_slot(master, vault_id)
            key_slots.append(recovery)
        header = slots.signed(Header(vault_id, tuple(key_slots)), keys)
        storage = create(
            target, header.pack(), state.EMPTY.pack(keys, header.pack()), lock_timeout=lock_timeout
        )
        vault = cls(Core(storage, header, master, keys, actor=user, private_key=private))
        vault.recovery_key = shown
        memory.opened(vault._core)
        return vault

    @classmethod
    def open(
        cls,
        path: Location | None,
        passphrase: str | bytes | None = None,
        *,
        user: str | None = None,
        service_key: str | None = None,
        accept_kdf_change: bool = False,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> Self:
        """Open a vault as a person (``passphrase``, and ``user`` if it has several) or a service.

        ``path`` is a vault file or a ``postgresql://`` URL; ``None`` means the default location. Other
        processes may have it open too. A service (a web app, a nightly job) opens with its random key
        (``service_key``, as ``add_service`` returned it) instead of a passphrase. Whoever opens the vault
        is named in every change and log record it makes (``recorded_by``).

        Succeeds whole or fails whole, and a failed open leaves the file byte for byte as it was. Raises
        ``WrongPassphrase`` (after one key derivation), ``UnknownUser`` (no such user, or several and none
        named), ``VaultCorrupted`` (damage or tampering, including deleted or rolled-back rows, or an older
        copy of the whole vault than this client saw), ``UnsupportedFormat`` (not a vault),
        ``KdfLimitExceeded`` (before any derivation: above the caps, or costlier than this client saw for
        this user unless ``accept_kdf_change``), ``VaultLocked`` (another writer held the vault past
        ``lock_timeout``), ``VaultNotFound``, or ``VaultError`` for a file on a network file system (see
        ``docs/team.md``).
        """
        if (passphrase is None) == (service_key is None):
            raise ValueError("give the passphrase or the service key")
        if service_key is not None:
            unlock = slots.service_unlock(service_key)
        else:
            guard = None if accept_kdf_change else memory.kdf_guard
            unlock = slots.passphrase_unlock(passphrase or "", user, guard)
        return cls._open(_location(path), unlock, lock_timeout)

    @classmethod
    def open_with_recovery_key(
        cls, path: Location | None, recovery_key: str, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    ) -> Self:
        """Open a vault with the recovery key shown at creation (case, spaces and dashes do not matter).

        Then set a new passphrase with ``change_passphrase``. A key that is not the vault's, or a vault
        created without one, raises ``WrongPassphrase``.
        """
        return cls._open(_location(path), slots.recovery_unlock(recovery_key), lock_timeout)

    @classmethod
    def _open(cls, location: Location, unlock: slots.Unlock, lock_timeout: float) -> Self:
        return cls._unlocked(open_backend(location, lock_timeout=lock_timeout), unlock)

    @classmethod
    def _unlocked(cls, storage: Backend, unlock: slots.Unlock) -> Self:
        try:
            storage.check_schema()
            header = Header.unpack(storage.read_single("header"))
            opened = unlock(header)
            keys = slots.keys_for(header, opened.master)
            slots.check_mac(header, keys)
            core = Core(
                storage, header, opened.master, keys, actor=opened.slot, private_key=opened.private_key
            )
            core.check()
            memory.opened(core)
            finish_open(core, opened)
        except BaseException:
            storage.close()
            raise
        return cls(core)

    @classmethod
    def restore(
        cls,
        source: str | Path,
        dest: str | Path,
        passphrase: str | bytes | None = None,
        *,
        user: str | None = None,
        service_key: str | None = None,
        recovery_key: str | None = None,
        accept_older: bool = False,
    ) -> backups.BackupReport:
        """Restore the backup ``source`` into the NEW file ``dest``, verified before it appears there.

        The source is copied byte for byte (never opened with SQLite, so never written); the copy is opened
        with the passphrase (and ``user``, as ``open`` takes them), a service key or the recovery key, and
        checked as ``verify`` does; only then is it linked into place. ``VaultExists`` if ``dest`` exists: a
        restore never overwrites a file.

        A backup older than the vault as this client last saw it is refused with ``VaultCorrupted``, as an
        open of it would be (``docs/threat-model.md``), unless ``accept_older``: then the restored vault gets
        a ``"restore"`` activity in its log (the generation restored and the one this client had seen), and
        once it is in place it becomes this client's new baseline; the report's ``accepted_older`` says so.
        The next open of it is a normal one; an older copy than it is refused again.
        """
        if sum(x is not None for x in (passphrase, service_key, recovery_key)) != 1:
            raise ValueError("give the passphrase, a service key or the recovery key")
        if passphrase is not None:
            unlock = slots.passphrase_unlock(passphrase, user, memory.kdf_guard)
        else:
            unlock = (
                slots.service_unlock(service_key or "")
                if service_key
                else slots.recovery_unlock(recovery_key or "")
            )

        baseline: list[tuple[bytes, memory.Seen, memory.Seen]] = []  # vault id, new baseline, replaced

        def open_copy(path: Path) -> VerifyReport:
            with memory.accepting_older(accept_older), cls._open(path, unlock, 0.0) as copy:
                report = copy.verify()
                core = copy._core
                taken = memory.accepted(core)
                if taken is not None:
                    replaced, restored = taken
                    detail = (
                        f"an older backup restored on purpose (accept_older): generation "
                        f"{restored.generation}, this client had seen generation {replaced.generation}"
                    )
                    core.commit((), log=log.activity(core, "restore", detail=detail))
                    baseline.append((core.vault_id, memory.newest(core), replaced))
                return report

        try:
            report = backups.restore(Path(source), Path(dest), open_copy)
        except memory.RolledBack as exc:
            raise memory.RolledBack(_older_backup(Path(source).name, exc), exc.found, exc.seen) from None
        for vault_id, seen, replaced in baseline:  # in place now: the restored vault is the new baseline
            memory.ClientMemory().accept(vault_id, seen)
            report = replace(report, accepted_older=replaced.generation)
        return report

    def close(self) -> None:
        """Close the vault's connections and drop the keys. Safe to call more than once."""
        memory.closing(self._core)
        self._core.close()
        self.recovery_key = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        shown = "closed" if self._core.storage.closed else f"{len(self)} contacts"
        return f"Vault({self.location!r}, {shown})"

    @property
    def location(self) -> str:
        """The vault's name for messages: the file's name, or the PostgreSQL URL without its password."""
        return self._core.storage.location

    @property
    def backend(self) -> str:
        """Where the vault lives: ``"sqlite"`` (a file) or ``"postgresql"``."""
        return self._core.storage.kind

    @property
    def path(self) -> Path:
        """The vault file; ``ValueError`` for a vault in PostgreSQL (see ``location``)."""
        path = getattr(self._core.storage, "path", None)
        if not isinstance(path, Path):
            raise ValueError("this vault is in PostgreSQL, not in a file; see Vault.location")  # noqa: TRY004
        return path

    @property
    def kdf(self) -> KdfParams:
        """The Argon2id parameters of your passphrase (as stored now); of the first person's for a service."""
        header = self._core.current_header()
        mine = header.slot(self._core.actor)
        if mine is not None and mine.kdf is not None:
            return mine.kdf
        return next((s.kdf for s in header.slots if s.kdf is not None), KdfParams.default())

    @property
    def has_recovery_key(self) -> bool:
        """Whether a recovery key can open this vault."""
        return self._core.current_header().recovery is not None

    @property
    def changes(self) -> int:
        """How many write transactions this ``Vault`` object has committed since it was opened."""
        return self._core.changes

    def backup(self, dest: str | Path) -> backups.BackupReport:
        """Write a consistent, verified copy of the vault to the NEW file ``dest`` (mode 0600).

        SQLite's online backup copies what is committed; the copy is then checked with this vault's keys as
        ``verify`` does, and only then linked into place. It opens with the same passphrase (and recovery
        key). ``VaultExists`` if ``dest`` exists.
        """
        self._core.storage.check_open()
        return backups.backup(self._core, Path(dest))

    def migrate_to(self, target: Location) -> backups.MigrationReport:
        """Copy this vault into a NEW vault at ``target``, on either backend, and verify the copy.

        ``target`` is a file path or a ``postgresql://`` URL; it must not hold a vault yet
        (``VaultExists``). The sealed rows, the blind index, the log, the header and the authenticated
        state are copied as they are, from one consistent snapshot, without decrypting a record; the copy
        then opens with the same passphrase (and recovery key) and is checked as ``verify`` does. This is
        how a vault moves from its file into PostgreSQL and back (``contactvault migrate``).
        """
        self._core.storage.check_open()
        return backups.migrate(self._core, _location(target))

    # --- reading ------------------------------------------------------------------------------------------

    def __len__(self) -> int:
        """The number of contacts (erased ones do not count)."""
        return self._core.storage.count()[1]

    def __iter__(self) -> Iterator[DirectoryEntry]:
        """Every contact's directory entry, in the order they were added. Never decrypts a CRM payload."""
        return self._core.entries()

    def __contains__(self, contact_id: object) -> bool:
        if not isinstance(contact_id, uuid.UUID | str):
            return False
        try:
            row = self._core.storage.get(_cid(contact_id).bytes)
        except ContactNotFound:
            return False
        return row is not None and row.data_key is not None

    def contacts(self) -> Iterator[Contact]:
        """Every contact in full (directory and CRM payload), in the order they were added."""
        self._core.watched()
        records = self._core.records
        for row in self._core.storage.rows(with_payload=True):
            if row.data_key is not None:
                yield records.contact(row)

    def get(self, contact_id: uuid.UUID | str) -> Contact:
        """One contact in full; ``ContactNotFound`` (a ``KeyError``), ``ContactErased``, ``ContactMerged``."""
        row = self._core.live_row(_cid(contact_id))  # first: it may take the keys of a re-key
        return self._core.records.contact(row)

    def directory_entry(self, contact_id: uuid.UUID | str) -> DirectoryEntry:
        """One contact's directory entry, without decrypting its CRM payload."""
        row = self._core.live_row(_cid(contact_id))
        return self._core.records.directory(row)

    def find_by_phone(self, number: str, *, region: str | None = None) -> tuple[Contact, ...]:
        """The contacts with this number, given in any format.

        For example ``+49 30 1234567``, ``030 1234567`` with ``region="DE"``, or a ``tel:`` URI. The number
        is normalised to E.164 and looked up in the blind index (a keyed hash of each number): only the
        matching contacts are decrypted. Text that is not a phone number finds nothing.
        """
        e164 = parse_number(number, check_region(region)).e164
        if e164 is None:
            return ()
        found = self._indexed(self._core.records.number_tag(e164))
        if any(e164 not in contact.e164_numbers() for contact in found):
            raise VaultCorrupted("the blind index does not match a contact's numbers")
        return found

    def find_by_external_id(self, external_id: str) -> Contact | None:
        """The contact carrying the caller's key ``external_id``, or ``None``; found by the blind index."""
        found = self._indexed(self._core.records.external_tag(external_id))
        if len(found) > 1 or any(c.external_id != external_id for c in found):
            raise VaultCorrupted("the blind index does not match a contact's external id")
        return found[0] if found else None

    def _indexed(self, tag: bytes) -> tuple[Contact, ...]:
        core = self._core
        ids = core.storage.index_lookup(tag)
        return tuple(core.records.contact(core.live_row(uuid.UUID(bytes=cid))) for cid in ids)

    def duplicates(self) -> list[DuplicateGroup]:
        """Groups of contacts that share a number (likely the same person); merge them with ``merge``."""
        return find_duplicates(self)

    # --- writing ------------------------------------------------------------------------------------------

    def add(self, contact: Contact) -> uuid.UUID:
        """Store a new contact; returns its id.

        ``ConflictError`` if the id, its external id or one of its vCard UIDs is already in the vault.
        """
        return self.add_many([contact])[0]

    def add_many(
        self, contacts: Iterable[Contact], *, progress: Callable[[int], object] | None = None
    ) -> list[uuid.UUID]:
        """Store many new contacts in one transaction: all of them, or (on any error) none.

        They are added as they are, without matching (``import_contacts`` updates what is already there).
        ``progress``, if given, is called with the number stored so far after every thousand contacts and
        with the total at the end (once). Each contact is validated again before it is stored, at version 1.
        Logged as one ``"import"`` activity (``"added"``) by the key slot that opened the vault.
        """
        ids: list[uuid.UUID] = []
        seen: set[uuid.UUID] = set()

        def writes() -> Iterator[Write]:
            for contact in contacts:
                fresh = validated(contact, version=1, by=self._core.actor)
                if fresh.id in seen:
                    raise ConflictError("the same contact id appears twice in add_many")
                seen.add(fresh.id)
                ids.append(fresh.id)
                yield self._core.insertion(fresh)

        count = log.commit(self._core, writes(), "import", contacts=ids, detail="added", progress=progress)
        if progress is not None and (count % BATCH or not count):
            progress(count)
        return ids

    def import_contacts(
        self,
        contacts: ImportResult | Iterable[Contact],
        *,
        on_match: OnMatch = "update",
        dry_run: bool = False,
        progress: Callable[[int], object] | None = None,
    ) -> ImportReport:
        """Import contacts, updating the ones the vault already has instead of adding them again.

        Each incoming contact is matched (see ``contactvault.importers.matching``) by its id, external id,
        vCard UID, then its numbers with a compatible name. New ones are added; matched ones are updated in
        place from the file's fields (``on_match="skip"`` leaves them alone), their consents, legal bases,
        labels, messenger presence, restriction, objections and the disclosure log untouched; unchanged ones
        are not written; ambiguous ones are reported, not guessed. One transaction (none for ``dry_run``):
        importing the same file twice changes nothing the second time. ``progress`` gets the number of
        contacts handled after every thousand and at the end.
        """
        incoming = contacts.contacts if isinstance(contacts, ImportResult) else contacts
        with self._core.checked_once():  # one look at the state, not one per matched contact
            return import_contacts(
                self._core, incoming, on_match=on_match, dry_run=dry_run, now=_now(), progress=progress
            )

    def merge(self, contact_ids: Sequence[uuid.UUID | str]) -> Contact:
        """Merge several contacts that are one person into the first; returns the merged contact.

        Every number, e-mail and postal address, note, URL, label, custom field, consent, legal basis and
        objection is kept, and the merged-away cards' UIDs (their other source details are not); see
        ``contactvault.vault.merging``. The merged-away ids are
        recorded on the survivor (``merged_from``), so the log and the Art. 15 report still find them, and
        shredded as ``erase`` does (``get`` on them raises ``ContactMerged``). One transaction.
        """
        with self._core.checked_once():
            merged = merge(self._core, contact_ids, _now())
        self._core.storage.after_erase()
        return merged

    def erase(self, contact_id: uuid.UUID | str) -> Erasure:
        """Erase a contact for good (GDPR Art. 17) by crypto-shredding.

        The contact's wrapped data key, its sealed payload and directory, and its blind-index entries are
        deleted; a sealed tombstone (the erasure time) keeps the id, so that ``get`` raises
        ``ContactErased``. SQLite's secure delete zeroes the freed bytes, and the WAL is checkpointed and
        truncated, so neither the key nor any plaintext survives in the ``.db`` or ``-wal`` file; the
        returned ``Erasure`` says which of these were done (a checkpoint cannot finish while another
        process reads an older snapshot: it is retried for a while, then reported as not done). In
        PostgreSQL the deleted row versions stay in the server's files until VACUUM, and in its WAL and
        backups; they hold only sealed bytes under a data key that is gone (``docs/threat-model.md``).
        Backups made before cannot be reached. Logged as an ``"erasure"`` by the key slot that opened the
        vault, in the same transaction (the log keeps a keyed hash of the id, nothing else).
        """
        core = self._core
        cid = _cid(contact_id)
        erased_at = _now()
        write = core.tombstone(core.live_row(cid), erased_at)
        log.commit(core, [write], "erasure", contacts=(cid,))
        truncated = core.storage.after_erase()
        return Erasure(
            contact_id=cid,
            erased_at=erased_at,
            version=write.new.version,
            index_entries=len(write.old_tags),
            secure_delete=core.storage.settings().get("secure_delete") == 1,
            wal_truncated=truncated,
        )

    # --- settings and integrity ---------------------------------------------------------------------------

    def settings(self) -> VaultSettings:
        """The protections in force: header, the backend's settings and counts (see `VaultSettings`)."""
        core = self._core
        sql = core.storage.settings()
        total, live = core.storage.count()
        return VaultSettings(
            format_version=FORMAT_VERSION,
            cipher="AES-256-GCM",
            kdf="Argon2id",
            kdf_params=self.kdf,
            key_hierarchy=(
                "a key slot per user: passphrase -> Argon2id KEK (a service's random key -> HKDF) -> "
                "the slot's X25519 key, to which the random 256-bit master key is sealed -> HKDF-SHA256 "
                "subkeys; a random 256-bit data key per contact"
            ),
            per_contact_keys=True,
            padding="128-byte buckets up to 2 KiB, then Padmé",
            recovery_key=self.has_recovery_key,
            backend=core.storage.kind,
            journal_mode=str(sql["journal_mode"]),
            synchronous=int(sql["synchronous"]),
            secure_delete=sql.get("secure_delete") == 1,
            serialised_writes=True,
            disclosure_log=True,
            disclosure_records=len(self.disclosures()),
            contacts=live,
            erased=total - live,
        )

    def verify(self) -> VerifyReport:
        """Check everything, and decrypt everything once to do it.

        SQLite's page structure, the header MAC, every sealed blob of every row (every CRM payload too),
        the blind index against each contact's numbers and keys, the disclosure log and the row-set digest.
        Raises ``VaultCorrupted`` at the first problem; returns what was checked otherwise.
        """
        return verify(self._core)
