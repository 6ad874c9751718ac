"""What every model shares: the strict, frozen base class, the constrained text types, E.164's shape.

The base class forbids unknown fields, is frozen, validates strictly and hides input values in validation
errors (see :mod:`contactvault.models`). The annotated types here (``Short``, ``Purpose``, ``Digest``, ...)
carry the length and pattern limits the models' fields share.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

__all__ = [
    "BIDI_CONTROLS",
    "E164_PATTERN",
    "Digest",
    "ExternalId",
    "FieldName",
    "Model",
    "Purpose",
    "Short",
    "Text",
    "Uid",
    "check_external_id",
    "has_control_chars",
    "is_e164",
    "lax_tuple",
    "utc_now",
]

E164_PATTERN = r"^\+[1-9][0-9]{1,14}$"
"""An E.164 number: a plus, a country code that does not start with 0, at most 15 digits in all."""

_E164 = re.compile(E164_PATTERN)

# The field types the models share, with their limits (tuple fields take theirs from lax_tuple).
Text = Annotated[str, Field(max_length=100_000)]
Short = Annotated[str, Field(max_length=1_000)]
Purpose = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9_.-]*$")]
Uid = Annotated[str, Field(min_length=1, max_length=1_000)]
Digest = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
FieldName = Annotated[str, Field(pattern=r"^[a-z_]{1,40}$")]
ExternalId = Annotated[str | None, Field(min_length=1, max_length=200, repr=False)]


def check_external_id(value: str | None) -> str | None:
    """A key a CRM stores and compares byte for byte: printable, no surrounding white space."""
    if value is not None and (value != value.strip() or not value.isprintable()):
        raise ValueError("an external id is printable text without surrounding white space")
    return value


def lax_tuple(max_length: int = 10_000, *, personal: bool = False) -> Any:  # noqa: ANN401  (Field's own type)
    """Field settings for a tuple that also accepts a list (turned into a tuple), items staying strict.

    ``personal`` keeps the items out of ``repr()``.
    """
    return Field(strict=False, max_length=max_length, repr=not personal)


def _redacted(exc: ValidationError) -> ValidationError:
    """``exc`` without the rejected input: ``errors()``, ``json()``, ``str()`` and ``repr()`` carry none.

    pydantic's ``hide_input_in_errors`` keeps the input out of ``str()`` only; ``errors()`` and
    ``json()`` would still hand it to whoever logs them. The type, location and message stay; a parsing
    message loses its detail, which may quote a character of the input (``found `x` at 1``).
    """
    line_errors: list[Any] = []
    for error in exc.errors(include_url=False, include_context=False, include_input=False):
        message = error["msg"]
        if error["type"].endswith("_parsing"):
            message = message.split(",", 1)[0]
        line_errors.append(
            {
                "type": PydanticCustomError(error["type"], message),
                "loc": error["loc"],
                "input": None,
            }
        )
    return ValidationError.from_exception_data(exc.title, line_errors, hide_input=True)


class Model(BaseModel):
    """Shared configuration: strict, frozen, no unknown fields, no input values in errors."""

    model_config = ConfigDict(
        strict=True,
        frozen=True,
        extra="forbid",
        hide_input_in_errors=True,
    )

    def __init__(self, /, **data: Any) -> None:  # noqa: ANN401  (pydantic's own signature)
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _redacted(exc) from None

    # Marked like pydantic's own __init__, so that validation (from JSON too) never routes through this
    # wrapper: it only catches what a direct construction raises.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Self:  # noqa: ANN401  (pydantic's own signature)
        """Validate ``obj`` (see pydantic); a ``ValidationError`` carries no input value."""
        try:
            return super().model_validate(obj, **kwargs)
        except ValidationError as exc:
            raise _redacted(exc) from None

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, **kwargs: Any) -> Self:  # noqa: ANN401
        """Validate JSON (see pydantic); a ``ValidationError`` carries no input value."""
        try:
            return super().model_validate_json(json_data, **kwargs)
        except ValidationError as exc:
            raise _redacted(exc) from None

    @classmethod
    def model_validate_strings(cls, obj: Any, **kwargs: Any) -> Self:  # noqa: ANN401
        """Validate string data (see pydantic); a ``ValidationError`` carries no input value."""
        try:
            return super().model_validate_strings(obj, **kwargs)
        except ValidationError as exc:
            raise _redacted(exc) from None

    def __setattr__(self, name: str, value: object) -> None:
        raise _frozen_error(self)

    def __delattr__(self, name: str) -> None:
        raise _frozen_error(self)


_BREAKING = frozenset({"Cc", "Zl", "Zp"})  # control characters, line and paragraph separators
# Bidirectional embeddings, overrides and isolates: they can make a name display as something else.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def has_control_chars(text: str) -> bool:
    """Whether the text holds a control character or a line or paragraph separator."""
    # isprintable() is a fast C check that is False for all of these (and for a few harmless others).
    return not text.isprintable() and any(unicodedata.category(ch) in _BREAKING for ch in text)


def _frozen_error(model: BaseModel) -> TypeError:
    # pydantic's own frozen-instance error repeats the new value; this one never does.
    return TypeError(f"{type(model).__name__} is frozen: build a new one instead")


def utc_now() -> datetime:
    """The current time, timezone-aware (UTC): the default of ``created_at`` and ``updated_at``."""
    return datetime.now(UTC)


def is_e164(value: str) -> bool:
    """Whether ``value`` has the shape of an E.164 number (``+`` and 2 to 15 digits)."""
    return _E164.fullmatch(value) is not None
