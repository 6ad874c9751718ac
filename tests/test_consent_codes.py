"""Reply codes (issue 16, item 2): random, readable, found in replies, hashed with a key, in two languages."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contactvault.consent import codes
from contactvault.consent.codes import (
    ALPHABET,
    code_hash,
    expires,
    find_codes,
    new_code,
    normalize_code,
    request_message,
)
from contactvault.consent.webhook import OPT_OUT_WORDS

KEY = bytes(range(32))
CANONICAL = re.compile(r"CV-[0-9A-HJKMNP-TV-Z]{6}")


def test_alphabet_is_crockfords():
    """32 symbols: the digits and the capital letters without I, L, O, U."""
    assert len(ALPHABET) == len(set(ALPHABET)) == 32
    assert not set("ILOU") & set(ALPHABET)


def test_new_codes_are_unique_and_readable():
    """Many draws are (nearly) all distinct, each CV- and six unambiguous characters, each found again."""
    drawn = [new_code() for _ in range(20_000)]
    # 30 bits: 20,000 draws repeat a code 0.19 times on average (the birthday bound); more than 5 repeats
    # has odds below one in a million, and a broken generator (too few bits) would show hundreds.
    assert len(drawn) - len(set(drawn)) <= 5
    for code in drawn[:500]:
        assert CANONICAL.fullmatch(code)
        assert find_codes(code) == [code]
        assert find_codes(code.lower()) == [code]
    assert set("".join(code[3:] for code in drawn)) == set(ALPHABET)  # every symbol is drawn


@pytest.mark.parametrize(
    "reply",
    [
        "ja cv 7k3q9m",
        "CV-7K3Q9M danke",
        "cv7k3q9m",
        "Ja! CV-7K3Q9M",
        "Hallo, mein Code ist: cv-7k3q9m.",
        "CV: 7K3Q9M",
        "CV-7K3 Q9M",
        "CV-7K3-Q9M",
        "CV\u20137K3Q9M",  # an en dash a phone keyboard put in
        "\uff23\uff36-\uff17\uff2b\uff13\uff31\uff19\uff2d",  # full width
        "yes\ncv 7k3q9m\nthanks",
        "(CV-7K3Q9M)",
    ],
)
def test_codes_are_found_in_realistic_replies(reply):
    """Case, a missing dash, spaces and dashes inside, punctuation and full width do not matter."""
    assert find_codes(reply) == ["CV-7K3Q9M"]


def test_crockford_confusions_are_read_as_crockford_says():
    """O is read as 0, I and L as 1."""
    assert find_codes("CV-OIL23Z") == ["CV-01123Z"]
    assert normalize_code("cv oil23z") == "CV-01123Z"


def test_several_codes_in_order_without_duplicates():
    """Every code, in the order it appears, each once."""
    text = "CV-22222Z and cv-11111Z, again CV 22222Z and cv-iiiiiz"
    assert find_codes(text) == ["CV-22222Z", "CV-11111Z"]


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "ja",
        "STOP",
        "7K3Q9M",  # no prefix
        "CV-7K3Q9",  # five characters
        "CV-7K3Q9MX",  # seven
        "xcv7k3q9m",  # glued to a word before
        "CV-7K3Q9U",  # U is no symbol
        "CV-7K3Q9M7",
        "CV 7k3q9 ma",  # the sixth character belongs to the next word
        "CV--  -7K3Q9M",  # too much between the prefix and the code
        "CV-7K  3Q9M",  # two spaces inside
        "Meine Nummer ist 0151 555 01234",
        "CV",
    ],
)
def test_no_code_in_junk(junk):
    """Text without a code standing on its own gives no code."""
    assert find_codes(junk) == []


@given(st.text(alphabet=st.characters(exclude_categories=())))
def test_find_codes_never_raises(text):
    """Any str (surrogates and controls included) gives a list of canonical codes."""
    found = find_codes(text)
    assert all(CANONICAL.fullmatch(code) for code in found)
    assert len(found) == len(set(found))


@given(st.text(alphabet="CVcv-: 0123456789ABHJKMOILUXZ"))
def test_find_codes_on_code_like_text(text):
    """Text made of code characters gives canonical codes, and each is found alone again."""
    for code in find_codes(text):
        assert CANONICAL.fullmatch(code)
        assert normalize_code(code) == code


def test_find_codes_takes_only_str():
    """A value that is not a str has no codes (and does not raise)."""
    assert find_codes(None) == []  # type: ignore[arg-type]
    assert find_codes(b"CV-7K3Q9M") == []  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", "CV-22222Z CV-33333Z", "ja CV-22222Z", "CV-22222", "22222Z"])
def test_normalize_code_wants_exactly_one_code(bad):
    """Anything but exactly one code is a ValueError that does not show the value."""
    with pytest.raises(ValueError, match="not a reply code") as caught:
        normalize_code(bad)
    assert "22222" not in str(caught.value)


def test_code_hash_is_keyed_and_stable():
    """Same code however typed, same key: same hash; another key or code: another hash; never the code."""
    digest = code_hash(KEY, "CV-7K3Q9M")
    assert len(digest) == 32
    assert code_hash(KEY, "cv 7k3q9m") == digest
    assert code_hash(KEY, " cv7k3q9m ") == digest
    assert code_hash(bytes(KEY), "CV-7K3Q9M") == digest  # stable across calls
    assert code_hash(bytes(reversed(KEY)), "CV-7K3Q9M") != digest
    assert code_hash(KEY, "CV-7K3Q9N") != digest
    assert b"7K3Q9M" not in digest


def test_code_hash_is_pinned():
    """The stored form must not change between versions: keyed BLAKE2b of a domain prefix and the code."""
    expected = hashlib.blake2b(codes.HASH_DOMAIN + b"CV-7K3Q9M", key=KEY, digest_size=32).digest()
    assert code_hash(KEY, "cv-7k3q9m") == expected


@pytest.mark.parametrize("key", [b"", b"short", bytes(65)])
def test_code_hash_wants_a_real_key(key):
    """A key shorter than 16 or longer than 64 bytes is refused."""
    with pytest.raises(ValueError, match="16 to 64 bytes"):
        code_hash(key, "CV-7K3Q9M")


def test_code_hash_refuses_a_non_code():
    """Only a code is hashed."""
    with pytest.raises(ValueError, match="not a reply code"):
        code_hash(KEY, "hello")


def test_expires():
    """Expiry is the time issued plus the validity; naive times and non-positive validity are refused."""
    issued = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    assert expires(issued, timedelta(days=3)) == datetime(2026, 12, 9, 12, 0, tzinfo=UTC)
    assert expires(issued) == issued + codes.DEFAULT_TTL
    with pytest.raises(ValueError, match="timezone-aware"):
        expires(datetime(2026, 12, 6, 12, 0))  # naive on purpose
    with pytest.raises(ValueError, match="positive"):
        expires(issued, timedelta(0))


@pytest.mark.parametrize(("lang", "stop"), [("en", "STOP"), ("de", "STOPP")])
def test_request_message_in_both_languages(lang, stop):
    """It names the business, the purpose, the notice and its version, the code, and how to refuse."""
    message = request_message(
        business="Bäckerei Sonnenschein",
        purpose="Bestellbestätigungen",
        notice_id="datenschutz-laden",
        notice_version="2026-11",
        code="cv 7k3q9m",
        lang=lang,
    )
    for part in (
        "Bäckerei Sonnenschein",
        "Bestellbestätigungen",
        "datenschutz-laden",
        "2026-11",
        "CV-7K3Q9M",
    ):
        assert part in message
    assert stop in message
    assert stop in OPT_OUT_WORDS  # the word the message names is one the webhook understands
    assert "\n" not in message
    assert find_codes(message) == ["CV-7K3Q9M"]


def test_request_message_differs_by_language():
    """German and English are different texts."""
    common = {"business": "B", "purpose": "P", "notice_id": "N", "notice_version": "1", "code": new_code()}
    english = request_message(**common, lang="en")
    german = request_message(**common, lang="de")
    assert english != german
    assert "reply" in english
    assert "antworten" in german


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("business", "  ", "business is empty"),
        ("purpose", "line\nbreak", "purpose contains a line break"),
        ("notice_version", "x" * 201, "notice_version is longer"),
        ("code", "secret-ish", "not a reply code"),
    ],
)
def test_request_message_refuses_bad_fields(field, value, reason):
    """A bad field is named, its value never shown."""
    args = {"business": "B", "purpose": "P", "notice_id": "N", "notice_version": "1", "code": "CV-7K3Q9M"}
    args[field] = value
    with pytest.raises(ValueError, match=reason) as caught:
        request_message(**args, lang="en")
    assert value.strip() not in str(caught.value) or not value.strip()


def test_request_message_refuses_an_unknown_language():
    """Only English and German."""
    with pytest.raises(ValueError, match="unsupported language"):
        request_message(
            business="B",
            purpose="P",
            notice_id="N",
            notice_version="1",
            code="CV-7K3Q9M",
            lang="fr",  # type: ignore[arg-type]
        )
