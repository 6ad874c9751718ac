"""The rights side of a contact: consents, legal bases, objections, and whether a number uses a messenger.

What the sync policy weighs before a number may reach a messenger: a consent for a purpose (GDPR Art. 7),
another legal basis under Art. 6(1), an objection (Art. 21), and who said a number uses the messenger, and
when. The models follow the rules of :mod:`contactvault.models`.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import AwareDatetime, Field, model_validator

from contactvault.models._base import Model, Purpose

__all__ = [
    "ConsentChannel",
    "ConsentRecord",
    "GdprBasis",
    "LegalBasis",
    "MessengerPresence",
    "Objection",
]

ConsentChannel = Literal["written", "email", "web_form", "in_person", "phone", "messenger", "other"]
"""How a consent was given or withdrawn."""

GdprBasis = Literal[
    "6(1)(a)",  # consent
    "6(1)(b)",  # contract
    "6(1)(c)",  # legal obligation
    "6(1)(d)",  # vital interests
    "6(1)(e)",  # public task
    "6(1)(f)",  # legitimate interests
]
"""The legal bases of GDPR Art. 6(1), points a to f."""


class MessengerPresence(Model):
    """Whether a number is known to use a messenger, who said so, and when it was checked."""

    present: bool
    source: Annotated[str, Field(min_length=1, max_length=200)]
    checked_at: AwareDatetime


class ConsentRecord(Model):
    """A consent for one purpose (GDPR Art. 7(1)): who gave it, when, how, to which notice, on what evidence.

    A withdrawal (Art. 7(3)) sets ``withdrawn_at`` and ``withdrawal_channel``; the record itself is kept,
    so the history stays demonstrable. A vault fills ``recorded_by`` (and ``withdrawn_by``) with the user
    whose key slot opened it, whatever the record it is given says; ``withdrawn_by`` is ``None`` in
    records withdrawn before it was kept.
    """

    purpose: Purpose
    granted_at: AwareDatetime
    channel: ConsentChannel
    notice_id: Annotated[str, Field(min_length=1, max_length=200)]
    notice_version: Annotated[str, Field(min_length=1, max_length=50)]
    evidence_ref: Annotated[str | None, Field(max_length=1_000, repr=False)] = None
    recorded_by: Annotated[str, Field(min_length=1, max_length=200, repr=False)]
    withdrawn_at: AwareDatetime | None = None
    withdrawal_channel: ConsentChannel | None = None
    withdrawn_by: Annotated[str | None, Field(min_length=1, max_length=200, repr=False)] = None

    @model_validator(mode="after")
    def _withdrawal_consistent(self) -> Self:
        if (self.withdrawn_at is None) != (self.withdrawal_channel is None):
            raise ValueError("withdrawn_at and withdrawal_channel go together")
        if self.withdrawn_by is not None and self.withdrawn_at is None:
            raise ValueError("withdrawn_by needs withdrawn_at")
        if self.withdrawn_at is not None and self.withdrawn_at < self.granted_at:
            raise ValueError("a consent cannot be withdrawn before it was granted")
        return self

    @property
    def withdrawn(self) -> bool:
        """Whether the consent has been withdrawn."""
        return self.withdrawn_at is not None


class LegalBasis(Model):
    """A legal basis under GDPR Art. 6(1) for one purpose.

    Every basis but consent (point a, which lives in ``ConsentRecord``) needs a written justification:
    the contract, the legal obligation or the balancing of interests it rests on. A vault sets
    ``recorded_by`` to the user whose key slot opened it (``None`` in bases recorded before it was kept).
    """

    article: GdprBasis
    purpose: Purpose
    justification: Annotated[str, Field(max_length=10_000, repr=False)] = ""
    recorded_at: AwareDatetime | None = None
    recorded_by: Annotated[str | None, Field(min_length=1, max_length=200, repr=False)] = None

    @model_validator(mode="after")
    def _justified(self) -> Self:
        if self.article != "6(1)(a)" and not self.justification.strip():
            raise ValueError("a legal basis other than consent needs a justification")
        return self


class Objection(Model):
    """An objection to processing for one purpose (GDPR Art. 21): the purpose and when it was made.

    A vault sets ``recorded_by`` to the user whose key slot opened it (``None`` in older objections).
    """

    purpose: Purpose
    objected_at: AwareDatetime
    recorded_by: Annotated[str | None, Field(min_length=1, max_length=200, repr=False)] = None
