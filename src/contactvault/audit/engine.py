"""The audit: read a phone's address book, compare every entry with the vault and the policy, find problems.

Data flows one way: a source (a vCard file, a folder of them, a Google or Outlook CSV, a CardDAV address
book, a `MessengerBook`) -> `CardView` objects -> numbers read (E.164 and kind) -> each number matched with
the vault's contacts and decided by the policy -> findings per entry -> an `AuditReport`.

The vault is read once, directory compartment only: CRM payloads are never decrypted, so an audit of a
100,000-contact vault costs one pass over the directory plus one policy decision per contact that the
phone holds. Nothing is written anywhere.
"""

from __future__ import annotations

import multiprocessing
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final, NamedTuple

import phonenumbers
from phonenumbers import PhoneMetadata

from contactvault.audit._origins import Origin, Origins, normal_uid
from contactvault.audit.report import AuditEntry, AuditReport, Finding, FindingCode, Unreadable, entry_key
from contactvault.book import MessengerBook
from contactvault.errors import ImportFailed
from contactvault.importers._gc import paused_gc
from contactvault.importers.csv import iter_csv
from contactvault.importers.result import ImportIssue
from contactvault.importers.source import Source, source_name
from contactvault.importers.vcard import CardView, iter_card_views
from contactvault.models import Contact, DirectoryEntry, PhoneKind, is_e164
from contactvault.phones import check_region, parse_number
from contactvault.sync.policy import MessengerPolicy, Policy, Reason
from contactvault.sync.targets.carddav import CardDAVTarget

if TYPE_CHECKING:
    from contactvault.vault import Vault

__all__ = ["DEFAULT_LABEL_TERMS", "AuditSource", "audit_phonebook"]

AuditSource = Source | MessengerBook | CardDAVTarget
"""What can be audited: a path to a ``.vcf`` file, a folder of them or a Google/Outlook ``.csv``; a vCard
file's bytes or text; a `CardDAVTarget` (its address book is read, never written); a `MessengerBook`."""

DEFAULT_LABEL_TERMS: Final[frozenset[str]] = frozenset(
    {
        # German
        "bezahlt", "unbezahlt", "nicht bezahlt", "zahlung offen", "zahlung ausstehend", "offene rechnung",
        "mahnung", "gemahnt", "inkasso", "säumig", "schuldner", "storniert", "gekündigt", "neukunde",
        "stammkunde", "interessent", "reklamation", "sperre", "gesperrt",
        # English
        "paid", "unpaid", "not paid", "payment pending", "payment due", "overdue", "invoice due",
        "debtor", "debt collection", "collections", "blacklist", "blacklisted", "do not call",
        "new customer", "lead", "hot lead", "cold lead", "prospect", "vip", "cancelled", "churned",
    }
)  # fmt: skip
"""CRM status words that do not belong in a name, checked besides the vault's own label names (German and
English, compared case-insensitively as whole words). Pass ``label_terms`` to use another list."""

_MOBILE: Final[frozenset[PhoneKind]] = frozenset({"mobile", "fixed_or_mobile"})
_NUMBER_PUNCTUATION: Final = str.maketrans("", "", " -()./\u00a0")
_WORD: Final = re.compile(r"\w+")
_NAME_AND_NUMBER: Final = frozenset({"FN", "N", "TEL"})

_REASON_CODES: Final[dict[Reason, FindingCode]] = {
    "invalid_number": "invalid_number",
    "not_mobile": "not_on_messenger",
    "no_messenger": "not_on_messenger",
    "messenger_check_expired": "not_on_messenger",
    "no_legal_basis": "no_legal_basis",
    "consent_withdrawn": "consent_withdrawn",
    "consent_expired": "consent_expired",
    "restricted": "restricted",
    "objected": "objected",
    "minor": "minor",
    "label_excluded": "label_excluded",
}


@dataclass(frozen=True, slots=True)
class _Read:
    """An entry as read from the source: where it came from and what it shows."""

    source: str
    line: int | None
    view: CardView


# --- sources -> card views -------------------------------------------------------------------------------


def _csv_view(contact: Contact) -> CardView:
    """A CSV row's contact as a card view: which fields it fills, by vCard property name."""
    props = ["FN", "N"] if contact.name.given or contact.name.family else ["FN"]
    filled = (
        ("TEL", contact.phones),
        ("NICKNAME", contact.nickname),
        ("EMAIL", contact.emails),
        ("ADR", contact.addresses),
        ("BDAY", contact.birthday),
        ("ORG", contact.organisation or contact.department),
        ("TITLE", contact.title),
        ("URL", contact.urls),
        ("NOTE", contact.notes),
        ("CATEGORIES", contact.labels),
    )
    props += [name for name, value in filled if value]
    props += [f.name.upper() for f in contact.custom_fields if f.name.upper() not in props]
    line = contact.source.line if contact.source is not None and contact.source.line else 1
    return CardView(
        line=line,
        uid=None,
        display_name=contact.display_name,
        numbers=tuple(p.raw for p in contact.phones),
        properties=tuple(dict.fromkeys(props)),
        categories=tuple(label.name for label in contact.labels),
    )


def _read_file(path: Path, name: str) -> Iterator[_Read | Unreadable]:
    if path.suffix.lower() == ".csv":
        for batch in iter_csv(path, default_region=None):
            for issue in batch.issues:
                if issue.severity == "error":
                    yield Unreadable(name, issue.line, issue.code, issue.message)
            for contact in batch.contacts:
                view = _csv_view(contact)
                yield _Read(name, view.line, view)
        return
    yield from _views(path, name)


def _read(source: AuditSource) -> tuple[str, Iterator[_Read | Unreadable]]:
    """The source's name for the report, and its entries (or the cards that could not be read)."""
    if isinstance(source, MessengerBook):
        views = (
            _Read(
                "messenger book",
                None,
                CardView(0, uid, e.display_name, (e.phone_e164,), ("N", "FN", "TEL"), ()),
            )
            for uid, e in source.cards()
        )
        return "messenger book", iter(views)
    if isinstance(source, CardDAVTarget):
        name = source.name.removeprefix("carddav:")
        return name, _read_carddav(source, name)
    if isinstance(source, bytes):
        return "<bytes>", _views(source, "<bytes>")
    folder = Path(source) if isinstance(source, os.PathLike) else _named_folder(source)
    if folder is not None and folder.is_dir():
        return folder.name or str(folder), _read_folder(folder)
    name = source_name(source)
    if isinstance(source, str) and name == "<text>":
        return name, _views(source, name)
    return name, _read_file(Path(source), name)


def _named_folder(text: str) -> Path | None:
    """``text`` as a folder's path, if it is one line naming an existing folder."""
    if "\n" in text or "\r" in text or not text.strip():
        return None
    try:
        return Path(text) if Path(text).is_dir() else None
    except (OSError, ValueError):  # too long for a path, or a NUL byte: it is text
        return None


def _views(source: Source, name: str, *, lines: bool = True) -> Iterator[_Read | Unreadable]:
    """The cards of one vCard source as entries, or as unreadable records naming their lines."""
    for item in iter_card_views(source):
        if isinstance(item, ImportIssue):
            yield Unreadable(name, item.line, item.code, item.message)
        else:
            yield _Read(name, item.line if lines else None, item)


def _read_folder(folder: Path) -> Iterator[_Read | Unreadable]:
    files = sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in (".vcf", ".vcard", ".csv")
    )
    if not files:
        raise ImportFailed(f"{folder.name}: the folder holds no .vcf, .vcard or .csv file")
    for path in files:
        name = str(path.relative_to(folder))
        try:
            yield from _read_file(path, name)
        except ImportFailed as exc:  # one file that is not an address book costs only itself
            yield Unreadable(name, 1, "not_an_address_book", str(exc))


def _read_carddav(target: CardDAVTarget, name: str) -> Iterator[_Read | Unreadable]:
    for resource, text in target.read_cards():
        try:  # as bytes: a card's text must never be taken for the name of a local file
            items = list(_views(text.encode("utf-8"), resource, lines=False))
        except ImportFailed:
            yield Unreadable(resource, 1, "not_a_vcard", f"{resource}: not a vCard")
            continue
        yield from items


# --- numbers ---------------------------------------------------------------------------------------------


class _PlainForm:
    """The E.164 form a number plainly has, without phonenumbers, for matching it with the vault.

    Typed in international form (``+49 171 ...``, ``0049 171 ...``), or in national form for a region
    whose national prefix is a plain trunk digit (``0171 ...`` in DE: ``+49`` and the digits after the
    ``0``), or that has none (IT, ES). Such a form counts only if a vault contact holds exactly that
    number (the vault's numbers were validated when they were stored); every other number is read by
    phonenumbers, which also tells its kind.
    """

    def __init__(self, region: str | None) -> None:
        self._country = ""
        self._trunk: str | None = None
        self._exit: str | None = None
        meta = PhoneMetadata.metadata_for_region(region) if region is not None else None
        if region is not None and meta is not None and meta.national_prefix_transform_rule is None:
            self._country = str(phonenumbers.country_code_for_region(region))
            prefix, parsing = meta.national_prefix, meta.national_prefix_for_parsing
            if prefix is None and parsing is None:
                self._trunk = ""
            elif prefix is not None and prefix == parsing and prefix.isdigit():
                self._trunk = prefix
            if meta.international_prefix is not None and meta.international_prefix.isdigit():
                self._exit = meta.international_prefix

    def __call__(self, raw: str) -> str | None:
        compact = raw.removeprefix("tel:").translate(_NUMBER_PUNCTUATION)
        if compact.startswith("+"):
            candidate = compact
        elif not compact.isdigit() or not compact.isascii():
            return None
        elif self._exit and compact.startswith(self._exit):
            candidate = "+" + compact[len(self._exit) :]
        elif self._trunk is not None and self._country and compact.startswith(self._trunk):
            candidate = "+" + self._country + compact[len(self._trunk) :]
        else:
            return None
        return candidate if is_e164(candidate) else None


# --- labels in names ---------------------------------------------------------------------------------------


class _Labels:
    """Finds CRM label terms inside display names: whole words (or runs of whole words), any case."""

    def __init__(self, terms: Iterable[str]) -> None:
        self._phrases = {phrase for phrase in map(_words, terms) if phrase}
        self._longest = max(map(len, self._phrases), default=0)
        self.count = len(self._phrases)

    def find(self, name: str, own: Iterable[str] = ()) -> str | None:
        """The first term (or the entry's own category) found in ``name``, else ``None``."""
        words = _words(name)
        hit = _phrase_in(words, self._phrases, self._longest)
        if hit is None and own:
            mine = {phrase for phrase in map(_words, own) if phrase}
            hit = _phrase_in(words, mine, max(map(len, mine), default=0))
        return " ".join(hit) if hit is not None else None


def _words(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(text.casefold()))


def _phrase_in(words: tuple[str, ...], phrases: set[tuple[str, ...]], longest: int) -> tuple[str, ...] | None:
    """The first run of ``words`` (longest first at each position) that is one of ``phrases``."""
    for start in range(len(words)):
        for size in range(min(longest, len(words) - start), 0, -1):
            run = words[start : start + size]
            if run in phrases:
                return run
    return None


# --- cards -> prepared entries (everything that does not need the vault) -----------------------------------


class _Prepared(NamedTuple):
    """An entry with what can be found without the vault: plain number forms, extra fields, a label."""

    source: str
    line: int | None
    uid: str | None
    display_name: str
    numbers: tuple[str, ...]
    plain: tuple[str | None, ...]
    extra: tuple[str, ...]
    label: str | None


def _prepare(read: Iterable[_Read | Unreadable], region: str | None, terms: list[str]) -> _Batch:
    """Prepare each entry read; cards that could not be read are passed on."""
    plain = _PlainForm(region)
    labels = _Labels(terms)
    prepared: list[_Prepared] = []
    unreadable: list[Unreadable] = []
    for item in read:
        if isinstance(item, Unreadable):
            unreadable.append(item)
            continue
        view = item.view
        prepared.append(
            _Prepared(
                item.source,
                item.line,
                view.uid,
                view.display_name,
                view.numbers,
                tuple(map(plain, view.numbers)),
                tuple(p for p in view.properties if p not in _NAME_AND_NUMBER),
                labels.find(view.display_name, view.categories),
            )
        )
    return prepared, unreadable, labels.count


_Batch = tuple[list["_Prepared"], list[Unreadable], int]


def _prepared_source(source: Source, region: str | None, terms: list[str]) -> tuple[str, _Batch]:
    """Read and prepare a file, folder, or a file's bytes or text (in a helper process, with workers=1)."""
    with paused_gc():
        name, items = _read(source)
        return name, _prepare(items, region, terms)


@contextmanager
def _helper() -> Iterator[ProcessPoolExecutor]:
    """One helper process, started with ``forkserver`` where the platform has it (``spawn`` elsewhere)."""
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        yield pool


# --- prepared entries + vault -> findings ------------------------------------------------------------------


_Verdict = tuple[tuple[int, ...], tuple[FindingCode, ...], str]
"""For one E.164 number: the vault contacts holding it (their ids as ints), what the policy finds wrong
with it (empty: allowed), and the detail of a ``consent_withdrawn`` (``"opt_out"`` or empty)."""

_VaultRead = tuple[dict[str, _Verdict], set[str], Origins]


def _withdrawal_detail(entry: DirectoryEntry, policy: Policy, now: datetime) -> str:
    """``"opt_out"`` if the contact's newest withdrawal (for the policy's purpose) was made in the messenger.

    An opt-out reply ("STOP") is recorded as a withdrawal through the ``messenger`` channel.
    """
    purpose = policy.purpose if isinstance(policy, MessengerPolicy) else None
    withdrawn = [
        c
        for c in entry.consents
        if c.withdrawn_at is not None and c.withdrawn_at <= now and purpose in (None, c.purpose)
    ]
    newest = max(withdrawn, key=lambda c: c.withdrawn_at or now, default=None)
    return "opt_out" if newest is not None and newest.withdrawal_channel == "messenger" else ""


def _vault_verdicts(vault: Vault, policy: Policy, now: datetime) -> _VaultRead:
    """Every number the vault holds with its verdict, every label name in use, and the cards' origins.

    The directory and the disclosure log only. Each contact is decided once, as it is read, and dropped:
    only the verdicts (and its ids and numbers, for `Origins`) are kept. A number may be on the phone if
    any contact holding it may have it there; otherwise the first contact's reasons count.
    """
    verdicts: dict[str, _Verdict] = {}
    labels: set[str] = set()
    origins = Origins.of_vault(vault)
    for entry in vault:
        origins.add(entry)
        contact = entry.id.int
        done: set[str] = set()
        for decision in policy.decide(entry, now=now).per_number:
            e164 = decision.e164
            if e164 is None or e164 in done:
                continue
            done.add(e164)
            codes: tuple[FindingCode, ...] = ()
            detail = ""
            if not decision.allowed:
                codes = tuple(dict.fromkeys(_REASON_CODES[r] for r in decision.reasons))
                if "consent_withdrawn" in codes:
                    detail = _withdrawal_detail(entry, policy, now)
            held = verdicts.get(e164)
            if held is None:
                verdicts[e164] = ((contact,), codes, detail)
            elif held[1] and codes:
                verdicts[e164] = ((*held[0], contact), held[1], held[2])
            else:
                verdicts[e164] = ((*held[0], contact), (), "")
        labels.update(label.name for label in entry.labels)
    return verdicts, labels, origins


def audit_phonebook(
    source: AuditSource,
    *,
    vault: Vault | None = None,
    policy: Policy | None = None,
    default_region: str | None,
    label_terms: Iterable[str] | None = None,
    now: datetime | None = None,
    workers: int = 0,
) -> AuditReport:
    """Audit a phone's address book: what can the messenger see, and what should not be there?

    Every entry of ``source`` gets findings with stable codes (see `FindingCode`). With a ``vault``, each
    number is matched with the vault's contacts and decided by ``policy`` (``Policy.default()`` if not
    given): a number the vault does not hold is ``unknown_contact``; a number the policy refuses gets the
    policy's reasons (``no_legal_basis``, ``consent_withdrawn``, ``not_on_messenger``, ...). Without a
    vault, the audit still reports what the entries expose: properties beyond name and number, numbers
    that are not mobile, invalid numbers, duplicates and label words in names.

    Args:
        source: A ``.vcf`` file (Android, iOS, Outlook; several cards per file), a folder of ``.vcf``
            files, a Google or Outlook ``.csv``, a vCard file's bytes or text, a `CardDAVTarget` (read
            only) or a `MessengerBook`.
        vault: The open vault to compare with; only its directory compartment is read.
        policy: The policy deciding which numbers may be on the phone; ``Policy.default()`` if ``None``.
        default_region: The region for numbers without a country code (``"DE"``), or ``None``.
        label_terms: CRM words that must not appear in names; `DEFAULT_LABEL_TERMS` if ``None``. The
            vault's own label names and each card's own categories are always checked too.
        now: The moment to decide for (timezone-aware); the current time if ``None``.
        workers: 1 reads and prepares the cards of a file or folder in a helper process while this
            process reads the vault (for large exports on two or more cores; as with any use of
            multiprocessing, run it under ``if __name__ == "__main__":``); 0 (the default) does all here.

    Returns:
        The report; cards that could not be read are listed in ``unreadable``, never dropped silently.

    Raises:
        ImportFailed: The source cannot be read at all (no such file, not an address book).
        InvalidRegion: ``default_region`` is not a region phonenumbers knows.
        SyncError: A CardDAV source could not be read.
        ValueError: ``now`` is naive, or ``workers`` is neither 0 nor 1.
    """
    region = check_region(default_region)
    at = now if now is not None else datetime.now(UTC)
    if at.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if workers not in (0, 1):
        raise ValueError("workers must be 0 (read here) or 1 (read in a helper process)")
    rules = policy if policy is not None else Policy.default()
    terms = list(DEFAULT_LABEL_TERMS if label_terms is None else label_terms)
    with paused_gc():  # no reference cycles are made; intermediates are freed before it runs again
        verdicts: dict[str, _Verdict] | None = None
        vault_labels: set[str] = set()
        origins: Origins | None = None
        if workers and not isinstance(source, MessengerBook | CardDAVTarget):
            with _helper() as pool:
                reading = pool.submit(_prepared_source, source, region, terms)
                if vault is not None:
                    verdicts, vault_labels, origins = _vault_verdicts(vault, rules, at)
                name, (prepared, unreadable, term_count) = reading.result()
        else:
            name, items = _read(source)
            prepared, unreadable, term_count = _prepare(items, region, terms)
            if vault is not None:
                verdicts, vault_labels, origins = _vault_verdicts(vault, rules, at)
        admits_fixed = isinstance(rules, MessengerPolicy) and rules.admit_fixed_line
        entries = _judge(
            prepared,
            region=region,
            verdicts=verdicts,
            origins=origins,
            vault_labels=_Labels(vault_labels),
            mobile=_MOBILE | {"fixed"} if admits_fixed else _MOBILE,
        )
        del prepared, verdicts
    return AuditReport(
        created_at=at,
        source=name,
        region=region,
        vault=vault is not None,
        policy=rules.digest() if vault is not None else None,
        entries=tuple(entries),
        unreadable=tuple(unreadable),
        label_terms=term_count + len(vault_labels),
    )


def _judge(
    prepared: list[_Prepared],
    *,
    region: str | None,
    verdicts: dict[str, _Verdict] | None,
    origins: Origins | None,
    vault_labels: _Labels,
    mobile: frozenset[str],
) -> list[AuditEntry]:
    """Findings for each prepared entry; duplicates and origins need all entries' numbers first.

    ``verdicts`` and ``origins`` are ``None`` without a vault: then only what a number itself says counts.
    """
    known = verdicts or {}
    read: dict[str, tuple[str | None, str]] = {}  # raw -> (E.164, kind), each distinct string once

    def number(raw: str, form: str | None) -> tuple[str | None, str]:
        if form is not None and form in known:
            return form, "mobile"  # a vault contact's number: its kind is the vault's, as decided
        found = read.get(raw)
        if found is None:
            info = parse_number(raw, region)
            found = read[raw] = (info.e164, info.kind)
        return found

    forms = [[number(raw, form) for raw, form in zip(p.numbers, p.plain, strict=True)] for p in prepared]
    holders: dict[str, list[int]] = defaultdict(list)
    for index, entry_forms in enumerate(forms):
        for held in {e for e, _ in entry_forms if e is not None}:
            holders[held].append(index)
    shared = {held for held, where in holders.items() if len(where) > 1}
    uids = [normal_uid(p.uid) for p in prepared]
    origin_of = origins.of_cards(uids, [[e for e, _ in f] for f in forms]) if origins is not None else {}
    extra_fields: dict[tuple[str, ...], Finding] = {}  # findings are immutable: one per set of fields
    not_held: _Verdict = ((), ("unknown_contact",), "")
    check_vault_labels = vault_labels.count > 0
    entries = []
    for index, (p, entry_forms) in enumerate(zip(prepared, forms, strict=True)):
        findings: list[Finding] = []
        matched: set[int] = set()
        seen: dict[str, None] = {}
        uid = uids[index]
        origin: Origin | None = origin_of.get(uid) if uid is not None else None
        gone: FindingCode | None = None  # a card from this vault whose (contact, number) is gone
        if origin is not None:
            gone = "erased_contact" if origin == "erased_contact" else "number_removed"
        for (e164, kind), raw in zip(entry_forms, p.numbers, strict=True):
            if e164 is None:
                findings.append(Finding("invalid_number", raw))
                continue
            if e164 in seen:
                continue
            seen[e164] = None
            if verdicts is None:
                codes: tuple[FindingCode, ...] = () if kind in mobile else ("not_on_messenger",)
            else:
                contacts, codes, detail = verdicts.get(e164, not_held)
                matched.update(contacts)
                if not contacts and gone is not None:
                    codes = (gone,)  # it came from this vault: never unknown_contact
            findings.extend(
                Finding(code, e164, detail=detail if code == "consent_withdrawn" else "") for code in codes
            )
            if e164 in shared:
                others = [prepared[i] for i in holders[e164] if i != index]
                findings.append(Finding("duplicate", e164, detail=_where(others)))
        if origin in ("erased_contact", "number_removed") and all(f.code != gone for f in findings):
            findings.append(Finding(origin))  # its numbers are held by other contacts; the card must go
        if p.extra:
            finding = extra_fields.get(p.extra)
            if finding is None:
                finding = extra_fields[p.extra] = Finding("extra_fields", fields=p.extra)
            findings.append(finding)
        label = p.label
        if label is None and check_vault_labels:
            label = vault_labels.find(p.display_name)
        if label is not None:
            findings.append(Finding("label_in_name", detail=label))
        entries.append(
            AuditEntry(
                key=entry_key(p.uid, tuple(seen), p.display_name),
                line=p.line,
                source=p.source,
                display_name=p.display_name,
                numbers=tuple(e or raw for (e, _), raw in zip(entry_forms, p.numbers, strict=True)),
                contacts=len(matched),
                findings=tuple(findings),
            )
        )
    return entries


def _where(others: list[_Prepared]) -> str:
    """Where the other entries holding a number are: ``file.vcf line 12, ...`` (at most five named)."""
    places = [f"{o.source} line {o.line}" if o.line is not None else o.source for o in others]
    counted = Counter(places)
    named = [f"{place} ({n}x)" if n > 1 else place for place, n in counted.items()]
    more = len(named) - 5
    return ", ".join(named[:5]) + (f" and {more} more" if more > 0 else "")
