"""What the record of processing (:mod:`contactvault.gdpr.ropa`) needs and the vault cannot know.

A :class:`RopaConfig` names the controller (and its representative), the data protection officer, the
messenger provider, further recipients, the time limits for erasure and further organisational measures.
It is the controller's own text, read from TOML or JSON (:meth:`RopaConfig.load`): strict, every value one
line, and no value repeated in an error message.
"""

from __future__ import annotations

import json
import re
import tomllib
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = [
    "ContactDetails",
    "Controller",
    "DataProtectionOfficer",
    "ErasurePeriods",
    "ExtraRecipient",
    "MessengerProvider",
    "RopaConfig",
]


def _one_line(value: str) -> str:
    """Refuse blank text and control characters (line breaks included): every value is one line."""
    if not value.strip():
        raise ValueError("must not be blank")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in value):
        raise ValueError("must be one line without control characters")
    return value


def _email(value: str) -> str:
    # A plausibility check only (one @, no spaces): the address is the controller's own and is not mailed.
    if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value) is None:
        raise ValueError("must be an e-mail address")
    return value


_Line = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_one_line)]
_Email = Annotated[str, Field(min_length=3, max_length=254), AfterValidator(_email)]


class _ConfigModel(BaseModel):
    """Shared settings: strict, frozen, no unknown keys, no input values in validation errors."""

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid", hide_input_in_errors=True)


class ContactDetails(_ConfigModel):
    """A name with contact details: the controller's representative (Art. 27), for example.

    Attributes:
        name: The person's or organisation's name.
        address: The postal address, on one line.
        email: An e-mail address.
        phone: A phone number, as it should be printed; optional.
    """

    name: _Line
    address: _Line
    email: _Email
    phone: _Line | None = None


class Controller(ContactDetails):
    """The controller (Art. 4(7)): the business that decides on the processing.

    Attributes:
        representative: The representative in the Union (Art. 27), for a controller established outside
            it; ``None`` otherwise.
    """

    representative: ContactDetails | None = None


class DataProtectionOfficer(_ConfigModel):
    """The data protection officer (Art. 37 to 39), where one is designated.

    Attributes:
        name: The officer's name (or the external service's).
        email: The officer's e-mail address.
        phone: A phone number; optional.
    """

    name: _Line
    email: _Email
    phone: _Line | None = None


def _check_transfer(third_country: str | None, safeguards: str | None) -> None:
    if third_country is not None and safeguards is None:
        raise ValueError("transfer_safeguards is required when third_country is set")
    if third_country is None and safeguards is not None:
        raise ValueError("transfer_safeguards needs a third_country")


class MessengerProvider(_ConfigModel):
    """The messenger's provider: a recipient of the numbers on the company phone, and of the messages.

    The defaults describe WhatsApp Business in the EU; change them for another messenger or when the
    provider's terms change.

    Attributes:
        name: The provider's legal name.
        address: Its address, on one line.
        service: The messenger's name, as the record shows it.
        third_country: The third country data goes to (Art. 44 ff.); ``None`` if there is no transfer.
        transfer_safeguards: The safeguards of that transfer (an adequacy decision, standard contractual
            clauses, ...). Required exactly when ``third_country`` is set.
    """

    name: _Line = "WhatsApp Ireland Limited"
    address: _Line = "Dublin, Ireland"
    service: _Line = "WhatsApp Business"
    third_country: _Line | None = "USA"
    transfer_safeguards: _Line | None = (
        "EU-US Data Privacy Framework (adequacy decision of 10 July 2023) and standard contractual clauses"
    )

    @model_validator(mode="after")
    def _transfer(self) -> Self:
        _check_transfer(self.third_country, self.transfer_safeguards)
        return self


class ExtraRecipient(_ConfigModel):
    """Another recipient of the data: a hosting provider of the CardDAV server, a tax adviser, ...

    Attributes:
        name: The recipient's name or category.
        description: What it receives and why, on one line (shown as written, in every language).
        address: Its address; optional.
        third_country: A third country the data goes to; ``None`` if none.
        transfer_safeguards: The safeguards of that transfer; required exactly when ``third_country``
            is set.
    """

    name: _Line
    description: _Line
    address: _Line | None = None
    third_country: _Line | None = None
    transfer_safeguards: _Line | None = None

    @model_validator(mode="after")
    def _transfer(self) -> Self:
        _check_transfer(self.third_country, self.transfer_safeguards)
        return self


class ErasurePeriods(_ConfigModel):
    """The time limits for erasure (Art. 30(1)(f)).

    Attributes:
        days_after_relationship: A contact is erased from the vault at most this many days after the end
            of the customer relationship (0 to 3650; default 90).
        statutory_retention: Statutory retention obligations that keep some data longer (for example
            business letters), on one line; ``None`` if none are stated.
    """

    days_after_relationship: Annotated[int, Field(ge=0, le=3650)] = 90
    statutory_retention: _Line | None = None


class RopaConfig(_ConfigModel):
    """What the record needs and the vault cannot know: who the controller is, who receives the data.

    Load it from a file with :meth:`load`; ``src/contactvault/samples/ropa.toml`` is an example.

    Attributes:
        controller: The controller, with its representative if it has one.
        dpo: The data protection officer; ``None`` where none is designated ("where applicable").
        messenger: The messenger provider (default: WhatsApp Ireland Limited, transfers to the USA).
        erasure: The time limits for erasure.
        recipients: Further recipients, beyond the messenger provider.
        organisational_measures: Further organisational measures, one line each, added to the standard
            ones.
    """

    controller: Controller
    dpo: DataProtectionOfficer | None = None
    messenger: MessengerProvider = Field(default_factory=MessengerProvider)
    erasure: ErasurePeriods = Field(default_factory=ErasurePeriods)
    # A TOML or JSON array is a list: these two accept one and keep it as a tuple (the items stay strict).
    recipients: tuple[ExtraRecipient, ...] = Field(default=(), strict=False, max_length=50)
    organisational_measures: tuple[_Line, ...] = Field(default=(), strict=False, max_length=50)

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read a config from a TOML (``.toml``) or JSON (``.json``) file.

        Args:
            path: The file.

        Returns:
            The config.

        Raises:
            ValueError: If the file is not valid TOML or JSON (UTF-8), or a field is missing, unknown or
                invalid. The message names the file and the field, never a value.
            OSError: If the file cannot be read.
        """
        file = Path(path)
        suffix = file.suffix.lower()
        if suffix not in (".toml", ".json"):
            raise ValueError(f"{file}: a record-of-processing config is a .toml or .json file")
        data = file.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"{file}: not UTF-8 text") from None
        parsed = _parse_toml(file, text) if suffix == ".toml" else _parse_json(file, text)
        try:
            return cls.model_validate(parsed)
        except ValidationError as exc:
            problems = "; ".join(
                f"field {_location(error['loc'])}: {error['msg'].removeprefix('Value error, ')}"
                for error in exc.errors(include_url=False)
            )
            raise ValueError(f"{file}: invalid record-of-processing config: {problems}") from None


def _parse_toml(file: Path, text: str) -> object:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's messages name the kind of error and the position, never the offending text.
        raise ValueError(f"{file}: not valid TOML: {exc}") from None


def _parse_json(file: Path, text: str) -> object:
    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in pairs]
        for key in keys:
            if keys.count(key) > 1:
                raise ValueError(f"{file}: not valid JSON: the key {key!r} appears twice")
        return dict(pairs)

    try:
        return json.loads(text, object_pairs_hook=unique)
    except json.JSONDecodeError as exc:
        # Position only: exc.msg is fixed text, exc.doc (the file) is never shown.
        raise ValueError(
            f"{file}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None


def _location(loc: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in loc) if loc else "(the whole file)"
