"""Phone numbers: normalisation to E.164, kinds, problems, regions and the cache."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from contactvault.errors import ContactVaultError, InvalidRegion
from contactvault.models import E164_PATTERN, Phone, is_e164
from contactvault.phones import NumberInfo, check_region, normalize_phone, parse_number


@pytest.mark.parametrize(
    "raw",
    [
        "+49 (0) 30 1234567",
        "0049 30 1234567",
        "030/1234567",
        "030 12 34 56-7",
        "+49.30.1234567",
        "+49-30-1234567",
        "(030) 1234567",
    ],
)
def test_german_fixed_line_forms_normalise_to_one_e164(raw):
    """The forms real address books hold for one Berlin number all give the same E.164 form."""
    phone = normalize_phone(raw, default_region="DE")
    assert phone.e164 == "+49301234567"
    assert phone.region == "DE"
    assert phone.kind == "fixed"
    assert phone.problem is None
    assert phone.raw == raw


def test_tel_uri_with_extension():
    """A ``tel:`` URI is read, and its extension is kept apart from the number."""
    phone = normalize_phone("tel:+49-30-123456;ext=5", default_region="DE")
    assert phone.e164 == "+4930123456"
    assert phone.extension == "5"
    assert phone.raw == "tel:+49-30-123456;ext=5"


def test_german_mobile_is_mobile():
    """A German 0170 number is a mobile number."""
    phone = normalize_phone("0170 1234567", default_region="DE")
    assert phone.e164 == "+491701234567"
    assert phone.kind == "mobile"


def test_us_number_is_fixed_or_mobile():
    """A US number cannot be told apart and is ``fixed_or_mobile``."""
    phone = normalize_phone("+1 212 555 0100", default_region="DE")
    assert phone.e164 == "+12125550100"
    assert phone.region == "US"
    assert phone.kind == "fixed_or_mobile"


def test_national_us_number_with_us_region():
    """A national number is read in the default region the caller names."""
    assert normalize_phone("(212) 555-0100", default_region="US").e164 == "+12125550100"


def test_invalid_number_is_kept_as_typed():
    """A number too short for its region keeps its raw form and gets ``invalid_number``."""
    raw = "+49 (0) 170 / 12"
    phone = normalize_phone(raw, default_region="DE")
    assert phone.e164 is None
    assert phone.problem == "invalid_number"
    assert phone.kind == "unknown"
    assert phone.raw == raw
    assert not phone.valid


@pytest.mark.parametrize("raw", ["BusinessPhone", "n/a", "---", "call me"])
def test_letters_are_not_a_number(raw):
    """Text that is no phone number at all is kept with ``not_a_number``."""
    phone = normalize_phone(raw, default_region="DE")
    assert phone.e164 is None
    assert phone.problem == "not_a_number"
    assert phone.raw == raw


def test_national_number_without_region_has_no_country_code():
    """A national number read with ``default_region=None`` is ``no_country_code``, not guessed."""
    phone = normalize_phone("030 1234567", default_region=None)
    assert phone.e164 is None
    assert phone.problem == "no_country_code"
    assert phone.raw == "030 1234567"


def test_international_number_without_region_is_read():
    """A number with its country code needs no default region."""
    assert normalize_phone("+49 30 1234567", default_region=None).e164 == "+49301234567"
    assert normalize_phone("0049 30 1234567", default_region="AT").e164 == "+49301234567"


def test_labels_types_and_preference_are_carried():
    """Label, types and preference given to normalize_phone end up on the phone."""
    phone = normalize_phone(
        "0170 1234567", default_region="DE", label="Baustelle", types=("CELL",), preferred=True
    )
    assert phone.label == "Baustelle"
    assert phone.types == ("CELL",)
    assert phone.preferred


@pytest.mark.parametrize("raw", ["", "   ", "\t\r\n"])
def test_parse_number_on_empty_input_is_not_a_number(raw):
    """An empty or blank string is reported as ``not_a_number``."""
    assert parse_number(raw, "DE") == NumberInfo(None, None, "unknown", None, "not_a_number")


def test_parse_number_on_very_long_input_is_not_a_number():
    """A 300-character string is not read as a number."""
    raw = "0301234567" * 30
    info = parse_number(raw, "DE")
    assert info.e164 is None
    assert info.problem == "not_a_number"


@pytest.mark.parametrize("raw", ["", "   ", "0301234567" * 30])
def test_normalize_phone_refuses_empty_and_overlong_without_echoing(raw):
    """An empty or over-long string is no phone: a ValueError whose message does not repeat the input."""
    with pytest.raises(ValidationError) as info:
        normalize_phone(raw, default_region="DE")
    assert isinstance(info.value, ValueError)
    if raw.strip():
        assert "0301234567" not in str(info.value)


def test_control_characters_do_not_stop_normalisation():
    """A line break or tab inside a number is read as a separator."""
    phone = normalize_phone("030\t123\n4567", default_region="DE")
    assert phone.e164 == "+49301234567"


@given(raw=st.text(max_size=300), region=st.sampled_from([None, "DE", "US", "AT", "GB"]))
def test_parse_number_never_raises(raw, region):
    """parse_number returns a consistent NumberInfo for any string."""
    info = parse_number(raw, region)
    assert isinstance(info, NumberInfo)
    assert (info.e164 is None) != (info.problem is None)
    if info.e164 is not None:
        assert is_e164(info.e164)
        assert info.region is not None
    else:
        assert info.kind == "unknown"
        assert info.region is None


@given(
    raw=st.one_of(
        st.text(max_size=250),
        st.from_regex(r"\A[+(]?[0-9 ()./-]{3,25}\Z"),
    ),
    region=st.sampled_from([None, "DE", "US"]),
)
def test_normalize_phone_gives_a_valid_phone_or_a_value_error(raw, region):
    """Any string gives a Phone keeping the stripped raw form, or a ValueError if it is empty or too long."""
    stripped = raw.strip()
    if 1 <= len(stripped) <= 200:
        phone = normalize_phone(raw, default_region=region)
        assert isinstance(phone, Phone)
        assert phone.raw == stripped
        assert (phone.e164 is None) != (phone.problem is None)
    else:
        with pytest.raises(ValueError, match="validation error"):
            normalize_phone(raw, default_region=region)


def test_e164_pattern_is_the_documented_one():
    """The E.164 pattern is a plus, a non-zero digit and 1 to 14 more digits."""
    assert E164_PATTERN == r"^\+[1-9][0-9]{1,14}$"
    assert is_e164("+12")
    assert not is_e164("+4930123456\n")


# -- regions ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given_region", "expected"), [("de", "DE"), ("DE", "DE"), (" at ", "AT"), (None, None)]
)
def test_check_region_normalises(given_region, expected):
    """A region code is upper-cased and trimmed; None stays None."""
    assert check_region(given_region) == expected


@pytest.mark.parametrize("bad", ["XQ", "Germany", "", "D", "Jürgenland", "001"])
def test_unknown_region_raises_without_echo(bad):
    """An unknown region raises InvalidRegion (a ValueError) whose message does not repeat the input."""
    with pytest.raises(InvalidRegion) as info:
        check_region(bad)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, ContactVaultError)
    if len(bad) >= 3:
        assert bad not in str(info.value)
        assert bad.upper() not in str(info.value)


def test_normalize_phone_checks_the_region():
    """normalize_phone refuses an unknown default region instead of guessing."""
    with pytest.raises(InvalidRegion):
        normalize_phone("030 1234567", default_region="Atlantis")


def test_default_region_is_never_implicit():
    """Calling normalize_phone without a default region is a TypeError, not a silent default."""
    with pytest.raises(TypeError):
        normalize_phone("030 1234567")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        parse_number("030 1234567")  # type: ignore[call-arg]


# -- cache ------------------------------------------------------------------------------------------------


def test_repeated_strings_hit_the_cache():
    """Parsing the same string twice counts a cache hit and gives the same result."""
    raw = f"+49 30 {uuid.uuid4().int % 10_000_000:07d}"
    first = parse_number(raw, "DE")
    hits = parse_number.cache_info().hits
    second = parse_number(raw, "DE")
    assert parse_number.cache_info().hits == hits + 1
    assert second == first


def test_normalize_phone_uses_the_cache():
    """normalize_phone goes through the cache, with the region already upper-cased."""
    raw = f"030 {uuid.uuid4().int % 10_000_000:07d}"
    normalize_phone(raw, default_region="de")
    hits = parse_number.cache_info().hits
    normalize_phone(raw, default_region="DE")
    assert parse_number.cache_info().hits == hits + 1
