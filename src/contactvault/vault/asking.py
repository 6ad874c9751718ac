"""Asking for consent with a reply code, and taking the answer as evidence (issue 16, items 2 and 3).

Asking (``Vault.request_consent``)
    For each contact a fresh reply code (:func:`contactvault.consent.codes.new_code`) and the opt-in message
    that carries it (:func:`contactvault.consent.codes.request_message`, English or German). The request is
    one ``"consent_request"`` record of the log per batch (at most `REQUEST_BATCH` contacts a record): when,
    the channel, the purpose, the privacy notice (a version stored in the vault: ``Vault.notice``), the
    language, the business, the expiry, and for each contact the keyed hash of its code and of its id. The
    codes themselves are returned once and stored nowhere: a copy of the vault does not give away codes
    still waiting for an answer. Every code issued is unique in the vault (checked inside the write
    transaction), so a code names one request and one contact.

Confirming (``Vault.confirm_consent``)
    A code is looked up by its keyed hash in the requests of the log and refused (`CodeRefused`, nothing
    written) when no request has it or its contact is no longer in the vault (``unknown``), a consent
    already names it (``used``), the reply came after the request's expiry (``expired``), or a sender was
    given and is not one of the contact's numbers (``sender``). Otherwise a `ConsentRecord` is recorded for
    the request's purpose and notice version, granted at the reply's time, whose evidence names the request
    (its log record), the code's hash and the reply's time; the ``"consent"`` record of the log carries
    the same in its document. Single use holds across processes: the check runs again inside the write
    transaction (the log's ``guard``), so of two processes confirming one code exactly one records.

The messenger's webhook (``Vault.take_webhook``)
    A web app's handler passes the raw body and the ``X-Hub-Signature-256`` header: the signature is checked
    (with the app secret, when given), the messages read (:mod:`contactvault.consent.webhook`), and each
    taken as a reply code (confirmed with the sender's number and the message's time) or an opt-out word
    (every active consent for the purpose of the contacts holding the sender's number withdrawn, channel
    ``messenger``); anything else is ignored. Webhooks are delivered at least once, so each message is
    applied once per contact: the keyed hash of its id goes into the record's document, and a guard inside
    the transaction refuses it the second time (reported as ``duplicate``).

Keys
    The hashes are keyed with subkeys of the log key (``Keys.log``, part of the keyring that a re-key
    carries over), like the log's contact hashes: requests made before a re-key are confirmed after it.

`ConsentAsking` is a base class of ``Vault``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, get_args

from contactvault import changes, crypto
from contactvault.consent import codes, webhook
from contactvault.consent.codes import ConsentRequest
from contactvault.consent.webhook import InboxItem, InboxReport
from contactvault.errors import CodeRefused, ContactNotFound
from contactvault.i18n import Lang, check_lang
from contactvault.models import ConsentChannel, ConsentRecord, Contact, DirectoryEntry
from contactvault.phones import parse_number
from contactvault.vault import log
from contactvault.vault.core import Core
from contactvault.vault.core import contact_id as _cid
from contactvault.vault.disclosures import Activity, ActivityAction, LogRecord

if TYPE_CHECKING:
    from contactvault.vault.notices import Notice

__all__ = ["REQUEST_BATCH", "ConsentAsking"]

REQUEST_BATCH: Final = 4_000
"""The most contacts one ``"consent_request"`` record names (its document stays well under 1 MB)."""

_CHANNELS: Final = frozenset(get_args(ConsentChannel))
_PURPOSE: Final = re.compile(r"[a-z0-9][a-z0-9_.-]{0,99}")  # as the models' Purpose
_MOBILE: Final = frozenset({"mobile", "fixed_or_mobile"})  # the kinds the default policy admits
_CLOCK_SLACK: Final = timedelta(minutes=5)
_MAX_EVIDENCE: Final = 1_000  # as ConsentRecord.evidence_ref
_ISSUE_ATTEMPTS: Final = 5


@dataclass(frozen=True, slots=True)
class _Issued:
    """One code issued, as its request record says (the code itself is not kept)."""

    seq: int
    contact: str  # the log's contact hash
    purpose: str
    notice_id: str
    notice_version: str
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class _Taken:
    """One message of a webhook call being taken: where it is, who sent it, when, and how to record it."""

    index: int
    sender: str  # E.164
    message: str  # the keyed hash of its id
    at: datetime  # when it was sent (never after ``now``)
    now: datetime
    purpose: str  # of the withdrawals an opt-out records
    channel: ConsentChannel


class _Duplicate(Exception):  # not an error: a message already applied to a contact
    """Raised by a guard when a record already names the message for the contact."""


class _Collision(Exception):  # not an error: a new code's hash was issued meanwhile
    """Raised by a guard when a code being issued is already in the log."""


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now


def _code_key(core: Core) -> bytes:
    return crypto.keyed_hash(core.keys.log, b"consent-reply-code")


def _message_hash(core: Core, message_id: str) -> str:
    key = crypto.keyed_hash(core.keys.log, b"webhook-message-id")
    return crypto.keyed_hash(key, message_id.encode("utf-8"), 16).hex()


def _activities(records: Iterable[LogRecord], *actions: ActivityAction) -> Iterator[Activity]:
    for record in records:
        if isinstance(record, Activity) and record.action in actions and isinstance(record.data, dict):
            yield record


def _issued(records: Iterable[LogRecord]) -> dict[str, _Issued]:
    """Every code hash the requests of the log issued, with what its request says."""
    found: dict[str, _Issued] = {}
    for record in _activities(records, "consent_request"):
        data: dict[str, Any] = record.data or {}
        for item in data.get("codes", ()):
            found[item["code"]] = _Issued(
                seq=record.seq,
                contact=item["contact"],
                purpose=data["purpose"],
                notice_id=data["notice_id"],
                notice_version=data["notice_version"],
                issued_at=datetime.fromisoformat(data["issued_at"]),
                expires_at=datetime.fromisoformat(data["expires_at"]),
            )
    return found


def _used(records: Iterable[LogRecord]) -> set[str]:
    """The code hashes a consent record names."""
    return {str(r.data["code"]) for r in _activities(records, "consent") if r.data and "code" in r.data}


def _seen(records: Iterable[LogRecord]) -> set[tuple[str, str]]:
    """(message hash, contact hash) of every consent or withdrawal taken from a webhook message."""
    return {
        (str(r.data["message"]), contact)
        for r in _activities(records, "consent", "withdrawal")
        if r.data and "message" in r.data
        for contact in r.contacts
    }


def _e164(number: str) -> str | None:
    """A sender's number (``+4915…`` or WhatsApp's ``4915…``) in E.164, or ``None``."""
    text = number.strip()
    digits = text.removeprefix("+")
    if digits.isascii() and digits.isdigit():
        text = "+" + digits
    return parse_number(text, None).e164


def _withdrawn(contact: Contact, purpose: str, channel: ConsentChannel, at: datetime) -> Contact:
    """Every active consent for ``purpose`` granted at or before ``at`` marked withdrawn at ``at``.

    A consent granted after the opt-out (recorded another way, later) is not withdrawn by it. The contact
    itself when there is nothing to withdraw.
    """
    consents = tuple(
        ConsentRecord.model_validate({**r.model_dump(), "withdrawn_at": at, "withdrawal_channel": channel})
        if r.purpose == purpose and not r.withdrawn and r.granted_at <= at
        else r
        for r in contact.consents
    )
    return contact if consents == contact.consents else contact.model_copy(update={"consents": consents})


def _refused(reason: str, issued: _Issued | None = None) -> CodeRefused:
    messages = {
        "unknown": "no request of this vault has that code, or its contact is no longer in the vault",
        "used": "the code was used already",
        "expired": "the code expired"
        + (f" on {issued.expires_at.date().isoformat()}: ask again" if issued else ""),
        "sender": "the reply came from a number that is not the contact's the code was made for",
    }
    return CodeRefused(f"reply code refused ({reason}): {messages[reason]}; nothing was recorded", reason)


class ConsentAsking:
    """See the module docstring; a base class of ``Vault``."""

    _core: Core

    if TYPE_CHECKING:  # provided by the other bases of Vault

        def notice(self, notice_id: str, version: str) -> Notice:
            """A stored notice version (``Notices``)."""

        def directory_entry(self, contact_id: uuid.UUID | str) -> DirectoryEntry:
            """One contact's directory entry (``Vault``)."""

        def find_by_phone(self, number: str, *, region: str | None = None) -> tuple[Contact, ...]:
            """The contacts with a number (``Vault``)."""

        def _modify(
            self,
            contact_id: uuid.UUID | str,
            change: Callable[[Contact], Contact],
            action: ActivityAction,
            detail: str = "",
            *,
            attempts: int = ...,
            data: dict[str, Any] | None = None,
            guard: Callable[[list[LogRecord]], None] | None = None,
        ) -> Contact: ...

    # --- asking ---------------------------------------------------------------------------------------------

    def request_consent(
        self,
        contact_ids: Iterable[uuid.UUID | str],
        *,
        purpose: str,
        notice_id: str,
        notice_version: str,
        channel: ConsentChannel,
        business: str,
        language: Lang = "en",
        ttl: timedelta = codes.DEFAULT_TTL,
        now: datetime | None = None,
    ) -> list[ConsentRequest]:
        """Ask the contacts for consent to ``purpose``: a code and a message each, and the request logged.

        ``channel`` is how the message goes out (``messenger``, ``phone`` for a text message, ...);
        ``notice_id`` and ``notice_version`` name a privacy notice stored in the vault (``NoticeError`` if
        not); ``business`` is the name the message gives. Each code is valid for ``ttl`` from ``now``. A
        contact named twice is asked once. Returns one `ConsentRequest` per contact, in the order given:
        the codes are shown this once (the vault keeps only keyed hashes). The vault does not choose whom
        to ask: it asks whoever is named, also someone who withdrew before (the CLI skips those).

        ``ContactNotFound`` (or ``ContactErased``, ``ContactMerged``) for a contact not in the vault;
        ``ValueError`` (naming the argument, never its value) for an invalid purpose, channel, language,
        business name, ``ttl`` or a naive ``now``. Nothing is recorded then.
        """
        issued_at = _now(now)
        expires_at = codes.expires(issued_at, ttl)
        if not isinstance(purpose, str) or _PURPOSE.fullmatch(purpose) is None:
            raise ValueError("purpose must match ^[a-z0-9][a-z0-9_.-]*$ (at most 100 characters)")
        if channel not in _CHANNELS:
            raise ValueError(f"channel must be one of {', '.join(sorted(_CHANNELS))}")
        lang = check_lang(language)
        ids = list(dict.fromkeys(_cid(c) for c in contact_ids))
        numbers = {cid: self._mobile(cid) for cid in ids}  # ContactNotFound before anything is written
        self.notice(notice_id, notice_version)

        def message(code: str) -> str:
            return codes.request_message(
                business=business,
                purpose=purpose,
                notice_id=notice_id,
                notice_version=notice_version,
                code=code,
                lang=lang,
            )

        message(codes.PREFIX + "0" * codes.CODE_LENGTH)  # the fields are checked before anything is written
        document = {
            "purpose": purpose,
            "channel": channel,
            "notice_id": notice_id,
            "notice_version": notice_version,
            "language": lang,
            "business": business.strip(),
            "issued_at": issued_at.isoformat(),
            "expires_at": expires_at.isoformat(),
        }
        made: list[ConsentRequest] = []
        for start in range(0, len(ids), REQUEST_BATCH):
            batch = ids[start : start + REQUEST_BATCH]
            seq, batch_codes = self._issue(batch, document, purpose, issued_at)
            made.extend(
                ConsentRequest(cid, code, message(code), expires_at, numbers[cid], seq)
                for cid, code in zip(batch, batch_codes, strict=True)
            )
        return made

    def _mobile(self, contact_id: uuid.UUID) -> str | None:
        """The contact's first mobile number in E.164 (the kinds the default policy admits), or ``None``."""
        entry = self.directory_entry(contact_id)
        return next((p.e164 for p in entry.phones if p.e164 and p.kind in _MOBILE), None)

    def _issue(
        self, batch: list[uuid.UUID], document: dict[str, Any], purpose: str, at: datetime
    ) -> tuple[int, list[str]]:
        """Log one request record for ``batch`` with fresh codes unique in the vault; (seq, codes)."""
        core = self._core
        key = _code_key(core)
        contacts = log.contact_hashes(core, batch)
        for _ in range(_ISSUE_ATTEMPTS):
            taken = set(_issued(log.read(core)[0]))
            fresh: dict[str, str] = {}  # hash -> code
            while len(fresh) < len(batch):
                code = codes.new_code()
                digest = codes.code_hash(key, code).hex()
                if digest not in taken:
                    fresh.setdefault(digest, code)
            hashes = list(fresh)

            def guard(records: list[LogRecord], hashes: list[str] = hashes) -> None:
                if not _issued(records).keys().isdisjoint(hashes):
                    raise _Collision

            data = {
                **document,
                "codes": [{"code": h, "contact": c} for h, c in zip(hashes, contacts, strict=True)],
            }
            try:
                seq = log.note(
                    core, "consent_request", contacts=batch, detail=purpose, data=data, guard=guard, at=at
                )
            except _Collision:  # another process issued one of these codes a moment ago
                continue
            return seq, list(fresh.values())
        raise RuntimeError("could not issue unique reply codes; try again")  # pragma: no cover

    # --- the answer -----------------------------------------------------------------------------------------

    def confirm_consent(
        self,
        code: str,
        *,
        channel: ConsentChannel,
        evidence: str | None = None,
        replied_at: datetime | None = None,
        sender: str | None = None,
        now: datetime | None = None,
    ) -> Contact:
        """Record the consent a reply code answers (GDPR Art. 7(1)); return the contact.

        ``code`` as the person typed it (``cv 7k3q9m`` is ``CV-7K3Q9M``); ``channel`` how the reply came;
        ``evidence`` where it is kept (a letter's archive number, "SMS on the shop phone"), added to the
        evidence the vault writes (the request's log record, the code's hash, the reply's time);
        ``replied_at`` when the person replied (default ``now``, the current time); ``sender`` the number
        the reply came from, if known: it must be one of the contact's numbers.

        `CodeRefused` (reason ``unknown``, ``used``, ``expired`` or ``sender``) and nothing recorded if the
        code cannot be taken; see the module docstring. ``ValueError`` for a naive time, a ``replied_at``
        in the future, an unknown channel or evidence too long.
        """
        return self._take_code(
            code, channel=channel, evidence=evidence, replied_at=replied_at, sender=sender, now=now
        )

    def _take_code(
        self,
        code: str,
        *,
        channel: ConsentChannel,
        evidence: str | None,
        replied_at: datetime | None,
        sender: str | None,
        now: datetime | None,
        message: str | None = None,
    ) -> Contact:
        """``confirm_consent``; with ``message`` (a message id's hash), `_Duplicate` if it was applied."""
        core = self._core
        current = _now(now)
        when = current if replied_at is None else _now(replied_at)
        if when > current + _CLOCK_SLACK:
            raise ValueError("replied_at lies in the future")
        if channel not in _CHANNELS:
            raise ValueError(f"channel must be one of {', '.join(sorted(_CHANNELS))}")
        try:
            digest = codes.code_hash(_code_key(core), code).hex()
        except ValueError:
            raise _refused("unknown") from None
        records = log.read(core)[0]
        issued = _issued(records).get(digest)
        if issued is None:
            raise _refused("unknown")

        def check(records: list[LogRecord]) -> None:
            if message is not None and (message, issued.contact) in _seen(records):
                raise _Duplicate
            if digest in _used(records):
                raise _refused("used")

        check(records)
        if when > issued.expires_at:
            raise _refused("expired", issued)
        contact_id = self._contact_of(issued.contact)
        if contact_id is None:
            raise _refused("unknown")
        numbers = self.directory_entry(contact_id).e164_numbers()
        if sender is not None and _e164(sender) not in numbers:
            raise _refused("sender")
        # The request's notice version was stored when it was made, and the log only grows: not read again.
        text = (
            f"reply to consent request (log record {issued.seq}, {issued.issued_at.date().isoformat()}), "
            f"reply code hash {digest}, replied at {when.isoformat()}"
        )
        if evidence:
            text = f"{text}; {evidence.strip()}"
        if len(text) > _MAX_EVIDENCE:
            raise ValueError(
                f"evidence is too long: with the vault's reference it must fit {_MAX_EVIDENCE} characters"
            )
        record = ConsentRecord(
            purpose=issued.purpose,
            granted_at=when,
            channel=channel,
            notice_id=issued.notice_id,
            notice_version=issued.notice_version,
            evidence_ref=text,
            recorded_by="contactvault",  # the vault replaces it with the user whose slot opened it
        )
        data: dict[str, Any] = {
            "code": digest,
            "request": issued.seq,
            "replied_at": when.isoformat(),
            "channel": channel,
        }
        if message is not None:
            data["message"] = message
        try:
            return self._modify(
                contact_id,
                lambda c: changes.with_consent(c, record),
                "consent",
                issued.purpose,
                data=data,
                guard=check,
            )
        except ContactNotFound:  # erased or merged meanwhile
            raise _refused("unknown") from None

    def _contact_of(self, contact: str) -> uuid.UUID | None:
        """The live contact whose id (or an id merged into it) has the log's hash ``contact``, or ``None``.

        The ids of the rows are hashed without decrypting anything; only when none matches are the
        directory entries read, for ids merged into others.
        """
        core = self._core
        ids = [uuid.UUID(bytes=row.id) for row in core.storage.rows() if row.data_key is not None]
        for cid, digest in zip(ids, log.contact_hashes(core, ids), strict=True):
            if digest == contact:
                return cid
        for entry in core.entries():
            if contact in log.contact_hashes(core, entry.merged_from):
                return entry.id
        return None

    # --- the messenger's webhook ----------------------------------------------------------------------------

    def take_webhook(
        self,
        body: bytes,
        *,
        signature: str | None = None,
        app_secret: str | bytes | None = None,
        purpose: str = "messenger",
        channel: ConsentChannel = "messenger",
        now: datetime | None = None,
    ) -> InboxReport:
        """Take one call of the messenger's webhook: reply codes confirmed, opt-outs withdrawn, each once.

        ``body`` is the raw body as received and ``signature`` the ``X-Hub-Signature-256`` header; with
        ``app_secret`` (the Meta app's secret) the signature is checked first, and a missing or wrong one
        refuses the whole body (`WebhookError`, nothing recorded). Without ``app_secret`` nothing is
        checked: only for a body from a trusted place (a file saved by the handler that checked it). Each
        message is a reply code (confirmed as by ``confirm_consent``, with the sender's number and the
        message's time, through ``channel``), an opt-out word (every active consent for ``purpose`` of
        each contact holding the sender's number withdrawn at the message's time, through ``channel``), or
        ignored. A message already applied (a webhook delivered twice) is reported as ``duplicate`` and
        changes nothing. Returns what became of each message (`InboxReport`).

        `WebhookError` for a bad signature or a body that is not a webhook payload; ``ValueError`` for a
        ``signature`` without ``app_secret``, an empty secret, or an invalid ``purpose`` or ``channel``.
        """
        if app_secret is not None:
            webhook.verify_signature(body, signature, app_secret)
        elif signature is not None:
            raise ValueError("a signature cannot be checked without the app secret")
        if not isinstance(purpose, str) or _PURPOSE.fullmatch(purpose) is None:
            raise ValueError("purpose must match ^[a-z0-9][a-z0-9_.-]*$ (at most 100 characters)")
        if channel not in _CHANNELS:
            raise ValueError(f"channel must be one of {', '.join(sorted(_CHANNELS))}")
        current = _now(now)
        messages = webhook.parse_payload(body)
        items: list[InboxItem] = []
        for index, inbound in enumerate(messages):
            reply = webhook.classify(inbound)
            if reply.kind == "none" or inbound.sender_e164 is None:
                reason = "no_sender" if inbound.skipped is not None else "no_reply"
                items.append(InboxItem(index, "none", "ignored", reason))
                continue
            taken = _Taken(
                index=index,
                sender=inbound.sender_e164,
                message=_message_hash(self._core, inbound.message_id),
                at=min(inbound.at, current),
                now=current,
                purpose=purpose,
                channel=channel,
            )
            if reply.kind == "opt_out":
                items.extend(self._opt_out(taken))
            else:
                items.extend(self._code_item(taken, code) for code in reply.codes)
        return InboxReport(len(messages), tuple(items))

    def _code_item(self, taken: _Taken, code: str) -> InboxItem:
        """Confirm one code of a message; what became of it."""
        try:
            contact = self._take_code(
                code,
                channel=taken.channel,
                evidence="reply by messenger",
                replied_at=taken.at,
                sender=taken.sender,
                now=taken.now,
                message=taken.message,
            )
        except _Duplicate:
            return InboxItem(taken.index, "consent", "duplicate")
        except CodeRefused as refused:
            return InboxItem(taken.index, "consent", "refused", refused.reason)
        return InboxItem(taken.index, "consent", "recorded", contact_id=contact.id)

    def _opt_out(self, taken: _Taken) -> list[InboxItem]:
        """Withdraw the consents for the purpose of each contact with the sender's number: one item each."""
        core, seen, index = self._core, taken.message, taken.index
        holders = self.find_by_phone(taken.sender)
        if not holders:
            return [InboxItem(index, "withdrawal", "ignored", "unknown_sender")]
        items: list[InboxItem] = []
        for holder, hashed in zip(holders, log.contact_hashes(core, [c.id for c in holders]), strict=True):

            def guard(records: list[LogRecord], hashed: str = hashed) -> None:
                if (seen, hashed) in _seen(records):
                    raise _Duplicate

            try:
                guard(log.read(core)[0])
                after = self._modify(
                    holder.id,
                    lambda c: _withdrawn(c, taken.purpose, taken.channel, taken.at),
                    "withdrawal",
                    taken.purpose,
                    data={"message": seen, "replied_at": taken.at.isoformat(), "channel": taken.channel},
                    guard=guard,
                )
            except _Duplicate:
                items.append(InboxItem(index, "withdrawal", "duplicate", contact_id=holder.id))
                continue
            except ContactNotFound:  # erased or merged meanwhile
                items.append(InboxItem(index, "withdrawal", "ignored", "unknown_sender"))
                continue
            if after.version != holder.version:
                items.append(InboxItem(index, "withdrawal", "recorded", contact_id=holder.id))
            elif (seen, hashed) in _seen(log.read(core)[0]):  # another process took it a moment ago
                items.append(InboxItem(index, "withdrawal", "duplicate", contact_id=holder.id))
            else:
                items.append(InboxItem(index, "withdrawal", "ignored", "no_consent", holder.id))
        return items
