"""The audit: read a phone's address book, compare every entry with the vault and the policy, find problems.

Data flows one way: a source (a vCard file, a folder of them, a Google or Outlook CSV, a CardDAV address
book, a `MessengerBook`) -> `CardView` objects -> numbers read (E.164 and kind) -> each number matched with
the vault's contacts and decided by the policy -> findings per entry -> an `AuditReport`.

The vault is read once, directory compartment only: CRM payloads are never decrypted, so an audit of a
100,000-contact vault costs one pass over the directory plus one policy decision per contact that the
phone holds. Nothing is written anywhere.
"""

from __future__ import annotations

import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

from contactvault.audit.report import AuditEntry, AuditReport, Finding, FindingCode, Unreadable, entry_key
from contactvault.errors import ImportFailed
from contactvault.importers._gc import paused_gc
from contactvault.importers.csv import iter_csv
from contactvault.importers.result import ImportIssue
from contactvault.importers.source import Source, source_name
from contactvault.importers.vcard import CardView, iter_card_views
from contactvault.models import Contact, DirectoryEntry, PhoneKind, is_e164
from contactvault.phones import NumberInfo, check_region, parse_number
from contactvault.sync.book import MessengerBook
from contactvault.sync.policy import MessengerPolicy, NumberDecision, Policy, Reason
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
    yield from _views_of_path(path, name)


def _views_of_path(path: Path, name: str) -> Iterator[_Read | Unreadable]:
    for item in iter_card_views(path):
        if isinstance(item, ImportIssue):
            yield Unreadable(name, item.line, item.code, item.message)
        else:
            yield _Read(name, item.line, item)


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


def _views(source: str | bytes, name: str) -> Iterator[_Read | Unreadable]:
    for item in iter_card_views(source):
        if isinstance(item, ImportIssue):
            yield Unreadable(name, item.line, item.code, item.message)
        else:
            yield _Read(name, item.line, item)


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
        try:
            items = list(iter_card_views(text))
        except ImportFailed:
            yield Unreadable(resource, 1, "not_a_vcard", f"{resource}: not a vCard")
            continue
        for item in items:
            if isinstance(item, ImportIssue):
                yield Unreadable(resource, item.line, item.code, item.message)
            else:
                yield _Read(resource, None, item)


# --- numbers ---------------------------------------------------------------------------------------------


class _Numbers:
    """Reads the numbers of the entries: E.164 form and kind, each distinct string once.

    A number typed in international form that a vault contact holds is taken as it is (the vault's number
    was validated when it was stored); every other number goes through phonenumbers.
    """

    def __init__(self, region: str | None, known: dict[str, list[DirectoryEntry]]) -> None:
        self._region = region
        self._known = known
        self._cache: dict[str, NumberInfo] = {}

    def __call__(self, raw: str) -> NumberInfo:
        info = self._cache.get(raw)
        if info is None:
            compact = raw.removeprefix("tel:").translate(_NUMBER_PUNCTUATION)
            if compact in self._known and is_e164(compact):
                info = NumberInfo(compact, None, "mobile", None, None)  # kind: the vault's, see _decide
            else:
                info = parse_number(raw, self._region)
            self._cache[raw] = info
        return info


# --- the audit ---------------------------------------------------------------------------------------------


class _Labels:
    """Finds CRM label terms inside display names: whole words, any case."""

    def __init__(self, terms: Iterable[str]) -> None:
        cleaned = sorted({" ".join(t.split()).casefold() for t in terms if t and t.strip()}, key=len)
        self.count = len(cleaned)
        alternation = "|".join(re.escape(t) for t in reversed(cleaned))
        self._pattern = re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE) if cleaned else None

    def find(self, name: str, own: Iterable[str] = ()) -> str | None:
        """The first term (or the entry's own category) found in ``name``, else ``None``."""
        if self._pattern is not None:
            match = self._pattern.search(" ".join(name.split()))
            if match:
                return match.group(0)
        for category in own:
            label = " ".join(category.split())
            if label and re.search(rf"(?<!\w){re.escape(label)}(?!\w)", name, re.IGNORECASE):
                return label
        return None


class _Decider:
    """The policy's decisions about vault contacts, made once per contact and only when needed."""

    def __init__(self, policy: Policy, now: datetime) -> None:
        self._policy = policy
        self._now = now
        self._decided: dict[object, tuple[NumberDecision, ...]] = {}

    def number(self, owner: DirectoryEntry, e164: str) -> NumberDecision | None:
        decided = self._decided.get(owner.id)
        if decided is None:
            decided = self._policy.decide(owner, now=self._now).per_number
            self._decided[owner.id] = decided
        return next((d for d in decided if d.e164 == e164), None)


def _vault_index(vault: Vault) -> tuple[dict[str, list[DirectoryEntry]], set[str]]:
    """E.164 number -> the vault contacts holding it (directory only), and every label name in use."""
    owners: dict[str, list[DirectoryEntry]] = defaultdict(list)
    labels: set[str] = set()
    for entry in vault:
        for phone in entry.phones:
            if phone.e164 is not None:
                owners[phone.e164].append(entry)
        labels.update(label.name for label in entry.labels)
    return dict(owners), labels


def _number_findings(
    e164: str,
    owners: list[DirectoryEntry] | None,
    decider: _Decider | None,
    info: NumberInfo,
    mobile: frozenset[str],
) -> list[Finding]:
    """What is wrong with one valid number: not in the vault, or refused by the policy for a reason."""
    if decider is None:  # no vault: only what the number itself says
        return [] if info.kind in mobile else [Finding("not_on_messenger", e164, detail="not_mobile")]
    if not owners:
        return [Finding("unknown_contact", e164)]
    decisions = [d for d in (decider.number(owner, e164) for owner in owners) if d is not None]
    if not decisions or any(d.allowed for d in decisions):
        return []
    codes = dict.fromkeys(_REASON_CODES[r] for r in decisions[0].reasons)
    return [Finding(code, e164) for code in codes]


def audit_phonebook(
    source: AuditSource,
    *,
    vault: Vault | None = None,
    policy: Policy | None = None,
    default_region: str | None,
    label_terms: Iterable[str] | None = None,
    now: datetime | None = None,
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

    Returns:
        The report; cards that could not be read are listed in ``unreadable``, never dropped silently.

    Raises:
        ImportFailed: The source cannot be read at all (no such file, not an address book).
        InvalidRegion: ``default_region`` is not a region phonenumbers knows.
        SyncError: A CardDAV source could not be read.
        ValueError: ``now`` is naive.
    """
    region = check_region(default_region)
    at = now if now is not None else datetime.now(UTC)
    if at.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    name, items = _read(source)
    with paused_gc():
        read: list[_Read] = []
        unreadable: list[Unreadable] = []
        for item in items:
            if isinstance(item, _Read):
                read.append(item)
            else:
                unreadable.append(item)
        owners: dict[str, list[DirectoryEntry]] = {}
        vault_labels: set[str] = set()
        decider: _Decider | None = None
        digest: str | None = None
        rules = policy if policy is not None else Policy.default()
        if vault is not None:
            owners, vault_labels = _vault_index(vault)
            decider = _Decider(rules, at)
            digest = rules.digest()
        admits_fixed = isinstance(rules, MessengerPolicy) and rules.admit_fixed_line
        mobile: frozenset[str] = _MOBILE | {"fixed"} if admits_fixed else _MOBILE
        labels = _Labels([*(DEFAULT_LABEL_TERMS if label_terms is None else label_terms), *vault_labels])
        numbers = _Numbers(region, owners)
        entries = _entries(
            read, numbers=numbers, owners=owners, decider=decider, labels=labels, mobile=mobile
        )
    return AuditReport(
        created_at=at,
        source=name,
        region=region,
        vault=vault is not None,
        policy=digest,
        entries=tuple(entries),
        unreadable=tuple(unreadable),
        label_terms=labels.count,
    )


def _entries(
    read: list[_Read],
    *,
    numbers: _Numbers,
    owners: dict[str, list[DirectoryEntry]],
    decider: _Decider | None,
    labels: _Labels,
    mobile: frozenset[str],
) -> list[AuditEntry]:
    """Findings for each entry; duplicates need all entries' numbers first."""
    infos = [[numbers(raw) for raw in r.view.numbers] for r in read]
    holders: dict[str, list[int]] = defaultdict(list)
    for index, entry_infos in enumerate(infos):
        for e164 in dict.fromkeys(i.e164 for i in entry_infos if i.e164 is not None):
            holders[e164].append(index)
    shared = {e164 for e164, where in holders.items() if len(where) > 1}
    entries = []
    for index, (r, entry_infos) in enumerate(zip(read, infos, strict=True)):
        view = r.view
        findings: list[Finding] = []
        shown = tuple(i.e164 or raw for i, raw in zip(entry_infos, view.numbers, strict=True))
        matched: set[object] = set()
        seen: set[str] = set()
        for info, raw in zip(entry_infos, view.numbers, strict=True):
            if info.e164 is None:
                findings.append(Finding("invalid_number", raw))
                continue
            if info.e164 in seen:
                continue
            seen.add(info.e164)
            held = owners.get(info.e164)
            matched.update(o.id for o in held or ())
            findings += _number_findings(info.e164, held, decider, info, mobile)
            if info.e164 in shared:
                others = [read[i] for i in holders[info.e164] if i != index]
                findings.append(Finding("duplicate", info.e164, detail=_where(others)))
        if not view.numbers and decider is not None:
            findings.append(Finding("unknown_contact"))
        extra = tuple(p for p in view.properties if p not in ("FN", "N", "TEL"))
        if extra:
            findings.append(Finding("extra_fields", fields=extra))
        label = labels.find(view.display_name, view.categories)
        if label is not None:
            findings.append(Finding("label_in_name", detail=label))
        entries.append(
            AuditEntry(
                key=entry_key(view.uid, tuple(sorted(seen)), view.display_name),
                line=r.line,
                source=r.source,
                display_name=view.display_name,
                numbers=shown,
                contacts=len(matched),
                findings=tuple(findings),
            )
        )
    return entries


def _where(others: list[_Read]) -> str:
    """Where the other entries holding a number are: ``file.vcf line 12, ...`` (at most five named)."""
    places = [f"{o.source} line {o.line}" if o.line is not None else o.source for o in others]
    counted = Counter(places)
    named = [f"{place} ({n}x)" if n > 1 else place for place, n in counted.items()]
    more = len(named) - 5
    return ", ".join(named[:5]) + (f" and {more} more" if more > 0 else "")
