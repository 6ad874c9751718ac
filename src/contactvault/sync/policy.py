"""The sync policy: which of a contact's numbers may reach a messenger, and why the others may not.

A policy reads one `DirectoryEntry` (numbers with their messenger presence, labels, consents, legal bases,
restriction, objections, date of birth) and decides, number by number, whether the number may go into
the minimal messenger book. Every refusal carries stable reason codes (`REASONS`), so that a decision can
be explained to a person and recorded in the disclosure log. The decisions and the codes are defined in
``contactvault.sync.decisions`` and re-exported here.

The shape follows sigstore-python's verification policies:

- `Policy` is a protocol: ``decide(contact, *, now=None) -> Decision`` and ``digest() -> str``.
  ``Policy.default()`` builds the default `MessengerPolicy`.
- `MessengerPolicy` holds the rules: a mobile number, a known messenger presence, a legal basis for the
  purpose, no restriction, no objection, not a minor, no excluded label.
- `AllOf` and `AnyOf` combine policies; a combinator without members is an error.
- `UnsafeAllowAllValidNumbers` checks nothing but the number's form. Its name is meant to stand out in
  review.

A policy never sees the CRM payload (e-mail and postal addresses, notes, the organisation, ...), stores
nothing, logs nothing, and never puts a name, a number or a label into an exception message or a
``repr()``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

from contactvault.consent.freshness import NoticeRenewal, renewal_due
from contactvault.models import ConsentRecord, DirectoryEntry, GdprBasis, Phone, PhoneKind
from contactvault.sync.decisions import (
    REASONS,
    RULES_VERSION,
    Decision,
    NumberDecision,
    Reason,
    decided,
    decision_from,
    number_decided,
    resolve_now,
    settings_digest,
)

if TYPE_CHECKING:
    from typing import _ProtocolMeta
else:
    # The metaclass of protocols; typeshed names it, at run time it is only reachable like this.
    _ProtocolMeta = type(Protocol)

__all__ = [
    "REASONS",
    "AllOf",
    "AnyOf",
    "Decision",
    "MessengerPolicy",
    "NoticeRenewal",
    "NumberDecision",
    "Policy",
    "Reason",
    "StoredRules",
    "UnsafeAllowAllValidNumbers",
]

_PURPOSE: Final = re.compile(r"[a-z0-9][a-z0-9_.-]*")
_PURPOSE_MAX_LENGTH: Final = 100  # as the model's purpose fields
_MAX_MINIMUM_AGE: Final = 120
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

_MOBILE_KINDS: Final[frozenset[PhoneKind]] = frozenset({"mobile", "fixed_or_mobile"})
_FIXED_LINE_KINDS: Final[frozenset[PhoneKind]] = _MOBILE_KINDS | {"fixed"}

# Consent (point a) counts only as a ConsentRecord, which proves who consented, when and to which notice
# (Art. 7(1)); a bare LegalBasis with article 6(1)(a) proves nothing. Of the other bases, only a contract
# (b) and a documented legitimate interest (f) can carry talking to a customer over a messenger. A legal
# obligation (c), vital interests (d) and a public task (e) do not oblige or entitle a business to hand
# numbers to a messenger provider, so a record with one of them does not count here.
_NON_CONSENT_BASES: Final[frozenset[GdprBasis]] = frozenset({"6(1)(b)", "6(1)(f)"})


def _microseconds(value: timedelta | None) -> int | None:
    return None if value is None else value // timedelta(microseconds=1)


def _epoch_us(moment: datetime) -> int:
    """Microseconds since 1970-01-01 UTC: the same instant in any time zone, the same number."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _fold(name: str) -> str:
    """A label name for caseless comparison: NFC, case-folded, NFC again (folding can denormalise)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


def _age(born: date, on: date) -> int:
    """Completed years of life on ``on``; someone born on 29 February is a year older on 1 March."""
    years = on.year - born.year
    return years - 1 if (on.month, on.day) < (born.month, born.day) else years


class StoredRules(Protocol):
    """What a vault stores for the policy (``Vault`` has both methods): refresh periods, notice renewals."""

    def consent_refresh(self, purpose: str) -> timedelta | None:
        """The stored refresh period of ``purpose`` (``None``: none, or switched off)."""

    def notice_renewals(self) -> frozenset[NoticeRenewal]:
        """The stored notice versions that renew their notice."""


class _PolicyMeta(_ProtocolMeta):
    """Gives `Policy` its ``default()`` constructor without making ``default`` a member of the protocol.

    A static method in the protocol's body would be a protocol member: every policy would then have to
    define ``default`` too, for mypy and for ``isinstance``. A metaclass method is visible on the class
    ``Policy`` only.
    """

    def default(
        cls,  # noqa: N805  (a metaclass method: its instance is the class Policy)
        purpose: str = "messenger",
        *,
        admit_fixed_line: bool = False,
        messenger_max_age: timedelta | None = None,
        consent_refresh: timedelta | None = None,
        minimum_age: int = 16,
        excluded_labels: frozenset[str] = frozenset(),
        renewed_notices: frozenset[NoticeRenewal] = frozenset(),
    ) -> MessengerPolicy:
        """The default policy for ``purpose``: a `MessengerPolicy` with the given options.

        Args:
            purpose: The purpose that consents, legal bases and objections must name.
            admit_fixed_line: See `MessengerPolicy`.
            messenger_max_age: See `MessengerPolicy`.
            consent_refresh: See `MessengerPolicy`.
            minimum_age: See `MessengerPolicy`.
            excluded_labels: See `MessengerPolicy`.
            renewed_notices: See `MessengerPolicy`.

        Returns:
            The policy.

        Raises:
            ValueError: If an option is out of range.
            TypeError: If an option has the wrong type.
        """
        return MessengerPolicy(
            purpose=purpose,
            admit_fixed_line=admit_fixed_line,
            messenger_max_age=messenger_max_age,
            consent_refresh=consent_refresh,
            minimum_age=minimum_age,
            excluded_labels=excluded_labels,
            renewed_notices=renewed_notices,
        )

    def from_vault(
        cls,  # noqa: N805  (a metaclass method: its instance is the class Policy)
        vault: StoredRules,
        purpose: str = "messenger",
        **options: Any,  # noqa: ANN401  (the options of default(), checked there)
    ) -> MessengerPolicy:
        """``default(purpose, **options)`` with what ``vault`` stores: the policy the CLI syncs with.

        The vault's refresh period for ``purpose`` (``Vault.set_consent_refresh``) is the policy's
        ``consent_refresh`` unless ``options`` names ``consent_refresh`` (``None`` included); the notice
        versions stored with ``renews=True`` (``Vault.add_notice``) are its ``renewed_notices`` unless
        ``options`` names those.

        Raises:
            ValueError: If an option is out of range.
            TypeError: If an option has the wrong type or is unknown.
        """
        if "consent_refresh" not in options:
            options["consent_refresh"] = vault.consent_refresh(purpose)
        if "renewed_notices" not in options:
            options["renewed_notices"] = vault.notice_renewals()
        return cls.default(purpose, **options)


@runtime_checkable
class Policy(Protocol, metaclass=_PolicyMeta):
    """What a sync policy does: decide about a contact, and name its own settings by a digest.

    ``Policy.default(purpose="messenger", **options)`` returns the default `MessengerPolicy`; the options
    are those of `MessengerPolicy`; ``Policy.from_vault(vault, purpose, **options)`` adds the refresh
    period and the notice renewals the vault stores. Any object with the two methods below is a policy
    (``isinstance`` works, and so does mypy); `AllOf` and `AnyOf` combine policies.

    A policy must not log, store, or put personal data into exception messages. ``decide`` must return
    one `NumberDecision` per phone of the contact, in the contact's order.
    """

    def decide(self, contact: DirectoryEntry, *, now: datetime | None = None) -> Decision:
        """Decide which of the contact's numbers may reach the messenger at ``now``.

        Args:
            contact: The contact's directory entry; the sealed CRM payload is never needed.
            now: The moment to decide for, timezone-aware; the current UTC time if ``None``.

        Returns:
            The decision, with one entry per phone.

        Raises:
            ValueError: If ``now`` is naive.
        """

    def digest(self) -> str:
        """A SHA-256 hex digest of the policy's settings: equal settings, equal digest, on every run.

        The disclosure log records it, to show later which policy was applied.
        """


@dataclass(frozen=True, slots=True)
class MessengerPolicy:
    """The default rules for handing a contact's numbers to a messenger.

    A number is allowed when every rule holds; all rules are checked, and a refused number lists every
    one that failed. For each number: it has an E.164 form (otherwise only ``invalid_number`` is reported
    for it, as its kind and presence mean nothing), its kind is ``mobile`` or ``fixed_or_mobile`` (or
    ``fixed`` with ``admit_fixed_line``), it is known to use the messenger, and that check is recent
    enough. For the contact, applied to every number: a legal basis for ``purpose`` holds, processing is
    not restricted (Art. 18), the contact has not objected to ``purpose`` (Art. 21), is not known to be
    younger than ``minimum_age`` (Art. 8), and carries no excluded label.

    A legal basis holds when a consent for ``purpose`` was granted, is not withdrawn and, with
    ``consent_refresh``, was granted at most that long ago, and is not renewed by a notice version (see
    ``renewed_notices``); or when a `LegalBasis` for ``purpose`` names
    a contract (6(1)(b)) or a legitimate interest (6(1)(f)). A `LegalBasis` with 6(1)(a) does not count
    (consent must be a `ConsentRecord`, Art. 7(1)); nor do 6(1)(c), (d) and (e): a legal obligation,
    vital interests or a public task do not carry handing numbers to a messenger provider.

    Anything dated after ``now`` is not known yet at ``now``: a consent granted, a withdrawal, a legal
    basis recorded, a restriction, an objection or a messenger check dated later is ignored. Ages are
    counted on the date of ``now`` in ``now``'s own time zone.

    Attributes:
        purpose: The purpose consents, legal bases and objections must name (``^[a-z0-9][a-z0-9_.-]*$``,
            at most 100 characters).
        admit_fixed_line: Also allow numbers of kind ``fixed`` (messengers that register landlines).
            VoIP, toll-free and the other kinds are never allowed.
        messenger_max_age: If set, a positive presence counts only if checked at most this long before
            ``now``.
        consent_refresh: If set, a consent counts only if granted at most this long before ``now``.
        minimum_age: Contacts whose date of birth is known and who are younger are refused (0 to 120;
            16 as in Art. 8(1)). Someone turns 16 on their 16th birthday and is allowed from that day.
        excluded_labels: Label names that keep a contact out, compared case-insensitively (stored
            case-folded).
        renewed_notices: Notice versions that renew their notice (`NoticeRenewal`): a consent that names
            the notice with another version and was granted before the renewing version's
            ``valid_from`` no longer counts from that moment on, as if expired (``consent_expired``).

    Raises:
        ValueError: If an option is out of range (a purpose that does not match, a time span that is not
            positive, an age outside 0 to 120, an empty label name).
        TypeError: If an option has the wrong type (``excluded_labels`` as one string, for example).
    """

    purpose: str = "messenger"
    admit_fixed_line: bool = False
    messenger_max_age: timedelta | None = None
    consent_refresh: timedelta | None = None
    minimum_age: int = 16
    excluded_labels: frozenset[str] = frozenset()
    renewed_notices: frozenset[NoticeRenewal] = frozenset()

    def __post_init__(self) -> None:
        if not isinstance(self.purpose, str):
            raise TypeError("purpose must be a string")
        if len(self.purpose) > _PURPOSE_MAX_LENGTH or _PURPOSE.fullmatch(self.purpose) is None:
            raise ValueError("purpose must match ^[a-z0-9][a-z0-9_.-]*$ and have at most 100 characters")
        if not isinstance(self.admit_fixed_line, bool):
            raise TypeError("admit_fixed_line must be a bool")
        for name in ("messenger_max_age", "consent_refresh"):
            span = getattr(self, name)
            if span is not None and not isinstance(span, timedelta):
                raise TypeError(f"{name} must be a timedelta or None")
            if span is not None and span <= timedelta(0):
                raise ValueError(f"{name} must be positive")
        if not isinstance(self.minimum_age, int) or isinstance(self.minimum_age, bool):
            raise TypeError("minimum_age must be an int")
        if not 0 <= self.minimum_age <= _MAX_MINIMUM_AGE:
            raise ValueError("minimum_age must be between 0 and 120")
        labels: object = self.excluded_labels
        if isinstance(labels, str | bytes) or not isinstance(labels, Iterable):
            raise TypeError("excluded_labels must be a collection of label names, not a single string")
        folded: set[str] = set()
        for label in labels:
            if not isinstance(label, str):
                raise TypeError("excluded_labels must hold strings")
            if not label.strip():
                raise ValueError("an excluded label name must not be empty")
            folded.add(_fold(label))
        object.__setattr__(self, "excluded_labels", frozenset(folded))
        renewals: object = self.renewed_notices
        if not isinstance(renewals, Iterable) or any(not isinstance(r, NoticeRenewal) for r in renewals):
            raise TypeError("renewed_notices must be a collection of NoticeRenewal")
        object.__setattr__(self, "renewed_notices", frozenset(renewals))

    def decide(self, contact: DirectoryEntry, *, now: datetime | None = None) -> Decision:
        """Decide which of the contact's numbers may reach the messenger at ``now``.

        Args:
            contact: The contact's directory entry.
            now: The moment to decide for, timezone-aware; the current UTC time if ``None``.

        Returns:
            The decision, with one entry per phone.

        Raises:
            ValueError: If ``now`` is naive.
        """
        at = resolve_now(now)
        contact_reasons = self._contact_reasons(contact, at)
        decide = self._decide_number
        kinds = _FIXED_LINE_KINDS if self.admit_fixed_line else _MOBILE_KINDS
        return decided(
            tuple([decide(phone, at, contact_reasons, kinds) for phone in contact.phones]), contact_reasons
        )

    def digest(self) -> str:
        """A SHA-256 hex digest of every setting (and of the version of the rules).

        Returns:
            64 lower-case hex digits.
        """
        settings: dict[str, object] = {
            "policy": "MessengerPolicy",
            "rules": RULES_VERSION,
            "purpose": self.purpose,
            "admit_fixed_line": self.admit_fixed_line,
            "messenger_max_age_us": _microseconds(self.messenger_max_age),
            "consent_refresh_us": _microseconds(self.consent_refresh),
            "minimum_age": self.minimum_age,
            "excluded_labels": sorted(self.excluded_labels),
        }
        if self.renewed_notices:  # absent when empty: a policy without renewals keeps its old digest
            settings["renewed_notices"] = sorted(
                [r.notice_id, r.version, _epoch_us(r.valid_from)] for r in self.renewed_notices
            )
        return settings_digest(settings)

    def _decide_number(
        self, phone: Phone, now: datetime, contact_reasons: tuple[Reason, ...], kinds: frozenset[PhoneKind]
    ) -> NumberDecision:
        # Made without the constructor's checks (``number_decided``): the reasons are known codes, each
        # once (the contact's and the number's are distinct codes), sorted here; a number without an E.164
        # form always has one.
        if phone.e164 is None:
            return number_decided(None, tuple(sorted(("invalid_number", *contact_reasons))))
        reasons = list(contact_reasons)
        if phone.kind not in kinds:
            reasons.append("not_mobile")
        presence = phone.messenger
        if presence is None or not presence.present or presence.checked_at > now:
            reasons.append("no_messenger")
        elif self.messenger_max_age is not None and now - presence.checked_at > self.messenger_max_age:
            reasons.append("messenger_check_expired")
        if len(reasons) > 1:
            reasons.sort()
        return number_decided(phone.e164, tuple(reasons))

    def _contact_reasons(self, contact: DirectoryEntry, now: datetime) -> tuple[Reason, ...]:
        reasons: list[Reason] = []
        basis = self._legal_basis_missing(contact, now)
        if basis is not None:
            reasons.append(basis)
        if contact.restricted_at is not None and contact.restricted_at <= now:
            reasons.append("restricted")
        if any(o.purpose == self.purpose and o.objected_at <= now for o in contact.objections):
            reasons.append("objected")
        if contact.birth_date is not None and _age(contact.birth_date, now.date()) < self.minimum_age:
            reasons.append("minor")
        excluded = self.excluded_labels
        if excluded and any(_fold(label.name) in excluded for label in contact.labels):
            reasons.append("label_excluded")
        return tuple(reasons)

    def _counts(self, consent: ConsentRecord, now: datetime) -> bool:
        """Whether an active consent still counts at ``now``: not too old, not renewed by a notice."""
        refresh = self.consent_refresh
        if refresh is not None and now - consent.granted_at > refresh:
            return False
        return not self.renewed_notices or renewal_due(consent, self.renewed_notices, now) is None

    def _legal_basis_missing(self, contact: DirectoryEntry, now: datetime) -> Reason | None:
        """``None`` if a legal basis holds, else why not: no basis, consent withdrawn or expired."""
        granted = [c for c in contact.consents if c.purpose == self.purpose and c.granted_at <= now]
        active = [c for c in granted if c.withdrawn_at is None or c.withdrawn_at > now]
        if any(self._counts(c, now) for c in active):
            return None
        if any(
            b.purpose == self.purpose
            and b.article in _NON_CONSENT_BASES
            and (b.recorded_at is None or b.recorded_at <= now)
            for b in contact.legal_bases
        ):
            return None
        if active:
            return "consent_expired"
        if granted:
            return "consent_withdrawn"
        return "no_legal_basis"


class _Combinator:
    """What `AllOf` and `AnyOf` share: members, decisions per number, digest, equality; frozen."""

    __slots__ = ("_policies",)
    _policies: tuple[Policy, ...]

    def __init__(self, *policies: Policy) -> None:
        name = type(self).__name__
        if not policies:
            raise ValueError(f"{name} needs at least one policy")
        for policy in policies:
            if not isinstance(policy, Policy):
                raise TypeError(f"{name} takes policies, not {type(policy).__name__}")
        object.__setattr__(self, "_policies", policies)

    @property
    def policies(self) -> tuple[Policy, ...]:
        """The member policies, in the order given."""
        return self._policies

    def __setattr__(self, name: str, value: object) -> None:
        raise TypeError(f"{type(self).__name__} is frozen: build a new one instead")

    def __delattr__(self, name: str) -> None:
        raise TypeError(f"{type(self).__name__} is frozen: build a new one instead")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(repr(p) for p in self._policies)})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Combinator) or type(other) is not type(self):
            return NotImplemented
        return self._policies == other._policies

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._policies))

    def decide(self, contact: DirectoryEntry, *, now: datetime | None = None) -> Decision:
        """Ask every member about the contact, at the same ``now``, and join their answers per number.

        Args:
            contact: The contact's directory entry.
            now: The moment to decide for, timezone-aware; the current UTC time if ``None``.

        Returns:
            The joined decision, with one entry per phone.

        Raises:
            ValueError: If ``now`` is naive, or a member breaks the protocol (not one entry per phone).
        """
        at = resolve_now(now)
        decisions = [policy.decide(contact, now=at) for policy in self._policies]
        phones = contact.phones
        for decision in decisions:
            if len(decision.per_number) != len(phones) or any(
                n.e164 != phone.e164 for n, phone in zip(decision.per_number, phones, strict=True)
            ):
                raise ValueError("a member policy did not return one decision per phone, in order")
        per_number = tuple(
            self._join(phone.e164, [d.per_number[i] for d in decisions]) for i, phone in enumerate(phones)
        )
        contact_reasons = {reason for d in decisions for reason in d.reasons} if not phones else set()
        return decision_from(per_number, contact_reasons)

    def digest(self) -> str:
        """A SHA-256 hex digest of the combinator's kind and its members' digests (in any order).

        Returns:
            64 lower-case hex digits.
        """
        members = sorted(policy.digest() for policy in self._policies)
        return settings_digest({"policy": type(self).__name__, "rules": RULES_VERSION, "members": members})

    def _join(self, e164: str | None, decisions: Sequence[NumberDecision]) -> NumberDecision:
        raise NotImplementedError


class AllOf(_Combinator):
    """A policy that allows a number only if every member allows it.

    A refused number carries the reasons of every member that refused it. ``AllOf()`` without members
    raises ``ValueError``: it would otherwise allow everything, or nothing, by accident.

    Args:
        *policies: The member policies, at least one.

    Raises:
        ValueError: If no policy is given.
        TypeError: If a member is not a `Policy`.
    """

    __slots__ = ()

    def _join(self, e164: str | None, decisions: Sequence[NumberDecision]) -> NumberDecision:
        reasons = [reason for d in decisions for reason in d.reasons]
        return NumberDecision(e164=e164, allowed=all(d.allowed for d in decisions), reasons=tuple(reasons))


class AnyOf(_Combinator):
    """A policy that allows a number if at least one member allows it.

    A number that no member allows carries the reasons of all members. ``AnyOf()`` without members raises
    ``ValueError``.

    Args:
        *policies: The member policies, at least one.

    Raises:
        ValueError: If no policy is given.
        TypeError: If a member is not a `Policy`.
    """

    __slots__ = ()

    def _join(self, e164: str | None, decisions: Sequence[NumberDecision]) -> NumberDecision:
        if any(d.allowed for d in decisions):
            return NumberDecision(e164=e164, allowed=True, reasons=())
        reasons = [reason for d in decisions for reason in d.reasons]
        return NumberDecision(e164=e164, allowed=False, reasons=tuple(reasons))


@dataclass(frozen=True, slots=True)
class UnsafeAllowAllValidNumbers:
    """A policy that allows every number with an E.164 form, and checks nothing else.

    Warning:
        This policy ignores the legal basis, withdrawn consents, restriction, objections, minors, labels,
        the kind of line and whether the number uses the messenger at all. Handing a book built with it
        to a messenger discloses numbers without a legal basis. It exists for tests and for migrations;
        never use it for a real sync. The name is meant to stand out in review.

    Numbers without an E.164 form are refused with ``invalid_number``, a contact without phones with
    ``no_number``.
    """

    def decide(self, contact: DirectoryEntry, *, now: datetime | None = None) -> Decision:
        """Allow every number of the contact that has an E.164 form.

        Args:
            contact: The contact's directory entry.
            now: Not used, but a naive ``now`` is still refused, as by every policy.

        Returns:
            The decision, with one entry per phone.

        Raises:
            ValueError: If ``now`` is naive.
        """
        resolve_now(now)
        per_number = tuple(
            NumberDecision(e164=phone.e164, allowed=True, reasons=())
            if phone.e164 is not None
            else NumberDecision(e164=None, allowed=False, reasons=("invalid_number",))
            for phone in contact.phones
        )
        return decision_from(per_number, ())

    def digest(self) -> str:
        """A SHA-256 hex digest naming this policy (it has no settings).

        Returns:
            64 lower-case hex digits.
        """
        return settings_digest({"policy": "UnsafeAllowAllValidNumbers", "rules": RULES_VERSION})


if TYPE_CHECKING:
    # Lets mypy prove that each policy here satisfies the protocol, without subclassing it.
    _CONFORMING: tuple[Policy, ...] = (
        MessengerPolicy(),
        AllOf(MessengerPolicy()),
        AnyOf(MessengerPolicy()),
        UnsafeAllowAllValidNumbers(),
    )
