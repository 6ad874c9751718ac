"""The retention schedule (GDPR Art. 5(1)(e)): which contacts to erase or strip, and when; read from a file.

A `Schedule` names the purposes the business still needs (each with the fields it needs, how long a
consent for it counts, and how long after a contact's last activity the purpose itself is needed) and a
list of `Rule` objects. A rule selects contacts by their state (no legal basis at all, none for a purpose,
a label, restricted or not), by a time condition (no activity for so many months) and says what happens
to them: ``erase`` (the whole contact, crypto-shredded) or ``strip`` (every strippable field but those it
keeps). :mod:`contactvault.retention.plan` applies a schedule to directory entries.

A schedule is the business's own text: it holds rule names, purposes, label names and periods, never a
contact's data. It is read from TOML or JSON (`read_schedule`, `parse_schedule`); every problem is a
``ValueError`` whose message names the file, the position or key, and the rule, never a value.

The file, in TOML (JSON has the same keys)::

    version = 1

    [purposes.messenger]            # a purpose still needed, and what it needs
    needs = ["phones"]
    consent_refresh_months = 24     # a consent for it counts this long after it was granted

    [purposes.invoicing]
    needs = ["addresses", "external_id"]
    needed_months = 120             # needed until 120 months after the contact's last activity

    [[rules]]
    name = "no-basis-36-months"
    action = "erase"
    inactive_months = 36
    contacts = { no_basis = true }

    [[rules]]
    name = "customer-business-need-over"
    action = "strip"
    inactive_months = 24
    keep = ["addresses", "external_id", "labels"]
    contacts = { label = "customer" }
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Final, Literal, Self, get_args

from pydantic import Field, ValidationError, field_validator, model_validator

from contactvault.models._base import Model, Purpose, has_control_chars, lax_tuple

__all__ = [
    "ALWAYS_KEPT",
    "MAX_SCHEDULE_BYTES",
    "SCHEDULE_SCHEMA",
    "STRIPPABLE",
    "Action",
    "PurposeNeeds",
    "Rule",
    "Schedule",
    "Selector",
    "StripField",
    "parse_schedule",
    "read_schedule",
]

SCHEDULE_SCHEMA: Final = "contactvault.retention-schedule/1"
"""The ``schema`` value of :meth:`Schedule.to_document`."""

MAX_SCHEDULE_BYTES: Final = 256 * 1024
"""The largest schedule file read (a schedule is a few dozen lines; the log takes documents up to 1 MB)."""

StripField = Literal[
    "nickname",
    "phones",
    "emails",
    "addresses",
    "birthday",
    "organisation",
    "department",
    "title",
    "urls",
    "notes",
    "labels",
    "custom_fields",
    "external_id",
    "source",
]
"""The fields of a contact (``Contact``'s own names) that ``strip`` may remove."""

STRIPPABLE: Final[tuple[StripField, ...]] = get_args(StripField)
"""Every `StripField`, in the order the models list them."""

ALWAYS_KEPT: Final = (
    "id",
    "display_name",
    "name",
    "consents",
    "legal_bases",
    "restricted_at",
    "objections",
    "created_at",
    "updated_at",
    "merged_from",
    "merged_uids",
    "merged_cards",
)
"""What ``strip`` never removes: the name (a contact needs one; to remove it, erase), the record of the
legal bases, restriction and objections (the proof Art. 5(2) and 7(1) ask for), the times, and the keys a
re-import matches merged cards on. ``strip`` keeps ``updated_at`` as it was: stripping is no activity."""

Action = Literal["erase", "strip"]
"""What a rule does: ``erase`` the whole contact (as ``Vault.erase``), or ``strip`` fields from it."""

_MAX_MONTHS: Final = 1200  # a hundred years
_Months = Annotated[int, Field(ge=0, le=_MAX_MONTHS)]
_Positive = Annotated[int, Field(ge=1, le=_MAX_MONTHS)]
_RuleName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
_Fields = Annotated[tuple[StripField, ...], lax_tuple(len(STRIPPABLE))]


def _label(value: str) -> str:
    if not value.strip() or has_control_chars(value):
        raise ValueError("a label name is one line of text, not blank")
    return value


def _distinct(values: tuple[str, ...]) -> tuple[str, ...]:
    if len(set(values)) != len(values):
        raise ValueError("a field is named twice")
    return values


class PurposeNeeds(Model):
    """A purpose the business still needs (``[purposes.NAME]``), what it needs, and for how long.

    A contact with a valid legal basis for a needed purpose is never erased by the schedule, and a strip
    never removes the fields the purpose needs (see :mod:`contactvault.retention.plan`).

    Attributes:
        needs: The fields the purpose needs (the name is always kept).
        consent_refresh_months: A consent for the purpose counts this many months after it was granted
            (as the sync policy's ``consent_refresh``); ``None``: until it is withdrawn.
        needed_months: The purpose is needed until this many months after the contact's last activity
            (a statutory period, for example); ``None``: as long as a basis holds.
    """

    needs: _Fields = ()
    consent_refresh_months: _Positive | None = None
    needed_months: _Positive | None = None

    _needs = field_validator("needs")(_distinct)


class Selector(Model):
    """Which contacts a rule looks at (``contacts = {...}``); every condition given must hold.

    Attributes:
        no_basis: ``True``: no legal basis holds for any purpose; ``False``: at least one holds.
        no_basis_for: No legal basis holds for this purpose.
        label: The contact has this label (compared without regard to case).
        restricted: ``True``: only contacts whose processing is restricted (Art. 18); ``False`` (the
            default): only contacts whose processing is not restricted. A restricted contact is kept for
            its restriction's reason, so a rule selects it only when it says so.
    """

    no_basis: bool | None = None
    no_basis_for: Purpose | None = None
    label: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    restricted: bool = False

    @field_validator("label")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        return None if value is None else _label(value)


class Rule(Model):
    """One rule of a schedule (``[[rules]]``).

    Attributes:
        name: A short name (letters, digits, ``_ . -``; at most 64), unique in the schedule: the log and
            the receipts name it.
        action: ``erase`` or ``strip``.
        inactive_months: The time condition: no activity for at least this many months (0: none).
        contacts: Which contacts (see `Selector`); all of them if not given.
        keep: For ``strip``, the fields kept (besides `ALWAYS_KEPT`); ``erase`` takes none.
    """

    name: _RuleName
    action: Action
    inactive_months: _Months
    contacts: Selector = Field(default_factory=Selector)
    keep: _Fields = ()

    _keep = field_validator("keep")(_distinct)

    @model_validator(mode="after")
    def _action_fits(self) -> Self:
        if self.action == "erase" and self.keep:
            raise ValueError("an erase rule keeps nothing: use action = 'strip' to keep fields")
        if self.action == "strip" and set(self.keep) >= set(STRIPPABLE):
            raise ValueError("a strip rule that keeps every field removes nothing")
        return self

    def removes(self) -> tuple[StripField, ...]:
        """The fields a ``strip`` removes (before a needed purpose protects some); () for ``erase``."""
        if self.action == "erase":
            return ()
        return tuple(f for f in STRIPPABLE if f not in self.keep)


class Schedule(Model):
    """A retention schedule: the purposes still needed and the rules (see the module docstring).

    Attributes:
        version: The file format's version (1).
        purposes: The purposes still needed, by purpose code.
        rules: The rules, at least one, names unique.
    """

    version: Literal[1] = 1
    purposes: Annotated[dict[Purpose, PurposeNeeds], Field(max_length=100)] = Field(default_factory=dict)
    rules: Annotated[tuple[Rule, ...], lax_tuple(200)]

    @model_validator(mode="after")
    def _unique_names(self) -> Self:
        if not self.rules:
            raise ValueError("a schedule has at least one rule ([[rules]])")
        names = [rule.name for rule in self.rules]
        if len(set(names)) != len(names):
            raise ValueError("two rules have the same name")
        # A strip that removes the labels would hide its contacts from every rule that selects by label.
        if any(r.contacts.label is not None for r in self.rules) and any(
            "labels" in r.removes() for r in self.rules
        ):
            raise ValueError(
                "a rule selects contacts by label, and a strip rule removes the labels: add 'labels' to "
                "its keep, or the later rules will never find the stripped contacts"
            )
        return self

    def to_document(self) -> dict[str, Any]:
        """The schedule as JSON data (``"schema": "contactvault.retention-schedule/1"``), as it is stored."""
        return {"schema": SCHEDULE_SCHEMA, **self.model_dump(mode="json")}

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Self:
        """The schedule of :meth:`to_document`'s data (``ValueError`` if it is not one)."""
        if document.get("schema") != SCHEDULE_SCHEMA:
            raise ValueError("not a retention schedule document")
        return cls.model_validate({k: v for k, v in document.items() if k != "schema"})

    def digest(self) -> str:
        """A SHA-256 hex digest of the schedule (its canonical JSON): the same rules, the same digest."""
        text = json.dumps(self.to_document(), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(text.encode("ascii")).hexdigest()

    def rule(self, name: str) -> Rule:
        """The rule called ``name`` (``KeyError`` if there is none)."""
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError("no rule of that name in the schedule")


# --- reading a schedule file ------------------------------------------------------------------------------


def read_schedule(path: str | Path) -> Schedule:
    """Read a schedule from a ``.toml`` or ``.json`` file.

    Raises:
        ValueError: The file is too large, not UTF-8, not valid TOML or JSON, or not a valid schedule;
            the message names the file (by its name), the position or key and the rule, never a value.
        OSError: The file cannot be read.
    """
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in (".toml", ".json"):
        raise ValueError(f"{file.name}: a retention schedule is a .toml or .json file")
    with file.open("rb") as handle:
        data = handle.read(MAX_SCHEDULE_BYTES + 1)
    return parse_schedule(data, name=file.name, kind="json" if suffix == ".json" else "toml")


def parse_schedule(
    data: bytes | str, *, name: str = "schedule", kind: Literal["toml", "json"] = "toml"
) -> Schedule:
    """Parse a schedule from TOML or JSON text; see `read_schedule` for the errors (always ``ValueError``).

    Args:
        data: The file's content.
        name: The file's name, for messages.
        kind: ``"toml"`` or ``"json"``.
    """
    if len(data) > MAX_SCHEDULE_BYTES:
        raise ValueError(f"{name}: too large for a retention schedule (over {MAX_SCHEDULE_BYTES} bytes)")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"{name}: not UTF-8 text") from None
    try:
        parsed = _parse_toml(name, data) if kind == "toml" else _parse_json(name, data)
    except RecursionError:
        raise ValueError(f"{name}: nested too deeply") from None
    if not isinstance(parsed, dict):
        raise ValueError(  # noqa: TRY004  (bad input, documented as ValueError like every other problem)
            f"{name}: a retention schedule is a table (a JSON object) at the top"
        )
    if parsed.get("schema") == SCHEDULE_SCHEMA:  # the document `retention show --json` prints
        parsed = {k: v for k, v in parsed.items() if k != "schema"}
    try:
        return Schedule.model_validate(parsed)
    except ValidationError as exc:
        problems = "; ".join(
            _problem(parsed, error["loc"], error["msg"], data if kind == "toml" else None)
            for error in exc.errors(include_url=False, include_input=False, include_context=False)[:5]
        )
        raise ValueError(f"{name}: not a valid retention schedule: {problems}") from None


def _parse_toml(name: str, text: str) -> object:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's messages name the kind of error and the line and column, never the text there.
        raise ValueError(f"{name}: not valid TOML: {exc}") from None


def _parse_json(name: str, text: str) -> object:
    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ValueError(f"{name}: not valid JSON: a key appears twice in one object")
        return dict(pairs)

    try:
        return json.loads(text, object_pairs_hook=unique)
    except json.JSONDecodeError as exc:
        # Position only: exc.msg is fixed text, exc.doc (the file) is never shown.
        raise ValueError(
            f"{name}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None


def _problem(parsed: dict[str, Any], loc: Sequence[int | str], message: str, toml: str | None) -> str:
    """One problem: the rule (its number, its name if that is valid, its line in TOML), the key, why."""
    message = message.removeprefix("Value error, ")
    parts = [str(p) for p in loc]
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        index = loc[1]
        where = f"rule {index + 1}{_rule_name(parsed, index)}{_rule_line(toml, index)}"
        key = ".".join(parts[2:]) or "(the rule)"
        return f"{where}: key {key}: {message}"
    if len(loc) >= 2 and loc[0] == "purposes":
        key = ".".join(["purposes", "(a purpose)" if not _safe(parts[1]) else parts[1], *parts[2:]])
        return f"key {key}: {message}"
    return f"key {'.'.join(parts) or '(the whole file)'}: {message}"


def _safe(text: str) -> bool:
    return (
        len(text) <= 64
        and text.isascii()
        and text.replace("-", "").replace("_", "").replace(".", "").isalnum()
    )


def _rule_name(parsed: dict[str, Any], index: int) -> str:
    rules = parsed.get("rules")
    if isinstance(rules, list) and index < len(rules) and isinstance(rules[index], dict):
        name = rules[index].get("name")
        if isinstance(name, str) and _safe(name) and name[:1].isalnum():
            return f" ({name})"
    return ""


def _rule_line(toml: str | None, index: int) -> str:
    """`` at line N`` for the ``index``-th ``[[rules]]`` header of a TOML file, if it has such headers."""
    if toml is None:
        return ""
    seen = 0
    for number, line in enumerate(toml.splitlines(), start=1):
        if line.strip().replace(" ", "").startswith("[[rules]]"):
            if seen == index:
                return f" at line {number}"
            seen += 1
    return ""
