"""The shortcuts of the fast book: each gives exactly what the plain code it stands for gives.

- names: ``book._name_parts`` (labels searched only where their folded text occurs, "Given Family" split
  without a search) equals the reference implementation it replaced, kept here;
- decisions: a policy's decisions, made without the constructors' checks, are what the checking
  constructors accept and make from the same fields;
- the directory cache: every entry handed out is validated from the kept JSON (a changed kept JSON is
  refused), a changed row is decrypted again;
- vCard lines: a short ASCII line is not folded, a long or non-ASCII one is, as ``fold`` does.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from contactvault import Contact, KdfParams, Vault, VaultCorrupted, normalize_phone
from contactvault.book import (
    _EDGE_PUNCTUATION,
    _EMPTY_BRACKETS,
    _MAX_NAME,
    _SPACES,
    _clean,
    _fold,
    _initial,
    _is_split_of,
    _name_parts,
    _split_full,
    _split_words,
    split_display_name,
)
from contactvault.export.minimal import _card
from contactvault.export.vcard import fold
from contactvault.models import DirectoryEntry, Label, MessengerPresence, NameParts
from contactvault.sync.decisions import Decision, NumberDecision
from contactvault.sync.policy import AllOf, AnyOf, UnsafeAllowAllValidNumbers
from tests.conftest import consent
from tests.strategies import display_names
from tests.test_policy import _entries, _policies, _times

FAST = KdfParams.insecure_fast_for_tests()
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
T0 = datetime(2025, 1, 1, tzinfo=UTC)

# --- names ----------------------------------------------------------------------------------------------


def _reference_without_labels(name: str, labels: Iterable[str]) -> str:
    """``book._without_labels`` as it was before the shortcut: a search for every label."""
    labels = list(labels)
    if not labels:
        return name
    for label in sorted({_clean(lb) for lb in labels if _clean(lb)}, key=len, reverse=True):
        name = re.sub(rf"(?<!\w){re.escape(label)}(?!\w)", " ", name, flags=re.IGNORECASE)
    name = _EMPTY_BRACKETS.sub(" ", name)
    return _SPACES.sub(" ", name).strip(_EDGE_PUNCTUATION)


def _reference_name_parts(
    entry: DirectoryEntry, style: str, code: str | Callable[[], str], pseudonym: str
) -> tuple[str, str, str]:
    """``book._name_parts`` as it was before the shortcuts."""

    def fallback() -> tuple[str, str, str]:
        name = _clean(pseudonym.format(code=code if isinstance(code, str) else code()))[:_MAX_NAME].strip()
        return name, "", " ".join(_split_words(name))

    if style == "pseudonym":
        return fallback()
    labels = [lb.name for lb in entry.labels]
    full = _reference_without_labels(_clean(entry.display_name), labels)
    given = _reference_without_labels(_clean(entry.name.given), labels)
    family = _reference_without_labels(_clean(entry.name.family), labels)
    if style == "full":
        name = full[:_MAX_NAME].strip()
        parts = _split_full(name, family, given)
    else:
        if not given and not family:
            family, rest = split_display_name(full)
            given = rest.partition(" ")[0]
        initial = _initial(family)
        if style == "given_initial" and given and initial:
            name, parts = f"{given} {initial}.", (f"{initial}.", " ".join(_split_words(given)))
        elif style == "given_initial":
            name = given or full
            parts = ("", " ".join(_split_words(given))) if given else _split_full(full, family, given)
        else:  # initials
            first = _initial(given)
            name = " ".join(f"{letter}." for letter in (first, initial) if letter)
            parts = (f"{initial}." if initial else "", f"{first}." if first else "")
        name = name[:_MAX_NAME].strip()
    if not name:
        return fallback()
    if not _is_split_of(name, *parts):
        parts = split_display_name(name)
    return name, *parts


# Characters that case folding and re's IGNORECASE treat in their own ways (dotted and dotless i, the
# Kelvin sign, the long s, sharp s), brackets, dashes, commas, marks and spaces of several kinds.
_TRICKY = "aAbBiI\u0130\u0131kK\u212asS\u017f\u00df\u1e9e zZ-\u2013,;:/|()[]<>{}&.'\u0307\u00a0\u200f\t\n"
_words = st.text(alphabet=_TRICKY, min_size=1, max_size=8)
_texts = st.lists(_words, min_size=1, max_size=4).map(" ".join) | display_names(max_words=4)
_labels = st.lists(
    _words | st.sampled_from(["VIP", "bezahlt", "i", "\u0130", "\u0131", "K", "ss"]), max_size=3
)


def _an_entry(display_name: str, given: str, family: str, labels: list[str]) -> DirectoryEntry | None:
    try:
        return DirectoryEntry(
            id=uuid.uuid4(),
            version=1,
            display_name=display_name,
            name=NameParts(given=given, family=family),
            labels=tuple(Label(name=n) for n in labels),
            created_at=T0,
            updated_at=T0,
        )
    except ValueError:  # a label or name the model refuses
        return None


@settings(max_examples=1500, deadline=None)
@given(
    display=_texts,
    parts=st.tuples(st.just("") | _texts, st.just("") | _texts),
    labels=_labels,
    style=st.sampled_from(["full", "given_initial", "initials", "pseudonym"]),
    glue=st.sampled_from([None, " ", ", "]),
)
def test_names_equal_the_reference(display, parts, labels, style, glue):
    """For any names and labels, the book's name and split are what the code before the shortcuts made."""
    given_name, family = parts
    if glue is not None and given_name and family:  # "Given Family" and "Family, Given": the shortcut's case
        display = f"{given_name} {family}" if glue == " " else f"{family}, {given_name}"
    entry = _an_entry(display, given_name, family, labels)
    if entry is None:
        return
    expected = _reference_name_parts(entry, style, "K0D3XY", "Kunde {code}")
    assert _name_parts(entry, style, "K0D3XY", "Kunde {code}") == expected


@given(st.text(max_size=12), st.text(max_size=12))
def test_a_label_re_finds_is_in_the_folded_name(label, name):
    """The folded texts never rule out a match re's IGNORECASE finds (what lets a search be skipped)."""
    if label and re.search(re.escape(label), name, flags=re.IGNORECASE):
        assert _fold(label) in _fold(name)


def test_the_folding_pairs():
    """The characters re matches without case and casefold alone does not fold alike fold alike here."""
    for a, b in (("i", "\u0130"), ("\u0131", "I"), ("k", "\u212a"), ("s", "\u017f"), ("\u00df", "\u1e9e")):
        assert re.fullmatch(re.escape(a), b, flags=re.IGNORECASE)
        assert _fold(a) == _fold(b)


# --- decisions ------------------------------------------------------------------------------------------

_combined = st.one_of(
    _policies,
    st.lists(_policies, min_size=1, max_size=3).map(lambda ps: AllOf(*ps)),
    st.lists(_policies, min_size=1, max_size=3).map(lambda ps: AnyOf(*ps, UnsafeAllowAllValidNumbers())),
)


@settings(max_examples=400, deadline=None)
@given(contact=_entries(), policy=_combined, now=_times)
def test_decisions_made_without_checks_are_what_the_checks_make(contact, policy, now):
    """A policy's decision, rebuilt by the checking constructors from its own fields, is itself."""
    decision = policy.decide(contact, now=now)
    assert type(decision) is Decision
    rebuilt = tuple(NumberDecision(n.e164, n.allowed, n.reasons) for n in decision.per_number)
    assert all(type(n) is NumberDecision for n in decision.per_number)
    assert rebuilt == decision.per_number
    assert Decision(decision.allowed, decision.reasons, decision.numbers, rebuilt) == decision
    assert len(decision.per_number) == len(contact.phones)


# --- the directory cache --------------------------------------------------------------------------------


def _eligible(name: str, number: str) -> Contact:
    phone = normalize_phone(number, default_region="DE").model_copy(
        update={
            "messenger": MessengerPresence(present=True, source="manual", checked_at=NOW - timedelta(days=1))
        }
    )
    return Contact.model_validate({"display_name": name, "phones": [phone], "consents": [consent()]})


def test_every_entry_handed_out_is_validated_from_the_kept_json(tmp_path):
    """Each read hands out new, validated entries; kept JSON that names another contact is refused."""
    with Vault.create(tmp_path / "v.db", "pw", kdf=FAST) as vault:
        ids = vault.add_many([_eligible(f"Kontakt {i}", f"0151 5550{i:04d}") for i in range(4)])
        first, second = list(vault), list(vault)
        assert first == second
        assert all(a is not b for a, b in zip(first, second, strict=True))
        assert [e.id for e in first] == ids
        directory = vault._core.directory
        kept = directory._kept
        other = kept[1].plain.replace(str(ids[1]).encode(), str(ids[2]).encode())
        directory._kept = (kept[0], kept[1]._replace(plain=other), *kept[2:])
        with pytest.raises(VaultCorrupted):
            list(vault)
        directory._kept = (kept[0], kept[1]._replace(plain=b"{}"), *kept[2:])
        with pytest.raises(VaultCorrupted):
            list(vault)


def test_the_book_decides_again_for_a_changed_record(tmp_path):
    """A contact whose kept record is a new object is decided again, from its (new) entry."""
    from contactvault.sync import messenger_book  # noqa: PLC0415
    from contactvault.sync.policy import Policy  # noqa: PLC0415

    with Vault.create(tmp_path / "v.db", "pw", kdf=FAST) as vault:
        ids = vault.add_many([_eligible(f"Kontakt {i}", f"0151 5550{i:04d}") for i in range(3)])
        assert len(messenger_book(vault, Policy.default(), now=NOW)) == 3
        stored = vault.get(ids[1])
        vault.update(stored.model_copy(update={"display_name": "Umbenannt Neu"}))
        names = {e.display_name for e in messenger_book(vault, Policy.default(), now=NOW)}
        assert names == {"Kontakt 0", "Umbenannt Neu", "Kontakt 2"}


def test_the_book_leaves_nothing_frozen_and_what_others_froze_frozen(tmp_path):
    """The book moves what it made to the oldest generation, freezing nothing and unfreezing nothing."""
    import gc  # noqa: PLC0415

    from contactvault.sync import messenger_book  # noqa: PLC0415
    from contactvault.sync.policy import Policy  # noqa: PLC0415

    with Vault.create(tmp_path / "v.db", "pw", kdf=FAST) as vault:
        vault.add_many([_eligible(f"Kontakt {i}", f"0151 5550{i:04d}") for i in range(3)])
        assert gc.get_freeze_count() == 0
        assert len(messenger_book(vault, Policy.default(), now=NOW)) == 3
        assert gc.get_freeze_count() == 0
        assert gc.isenabled()
        gc.freeze()  # as a server does before it forks
        try:
            frozen = gc.get_freeze_count()
            assert len(messenger_book(vault, Policy.default(admit_fixed_line=True), now=NOW)) == 3
            assert gc.get_freeze_count() == frozen
        finally:
            gc.unfreeze()


# --- vCard lines ----------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    name=(
        st.text(min_size=1, max_size=120)
        | st.text(alphabet=st.characters(max_codepoint=127), min_size=60, max_size=120)
        | st.text(alphabet="abc ,;\\\u00e9\u20ac", min_size=10, max_size=90)
    )
    .map(str.strip)
    .filter(bool),
    uid=st.text(alphabet="0123456789abcdef", min_size=1, max_size=128),
    version=st.sampled_from(["3.0", "4.0"]),
)
@example(name="A" * 80, uid="a" * 32, version="3.0")
@example(name="Anna", uid="0" * 128, version="4.0")
def test_a_card_is_folded_as_fold_folds_each_line(name, uid, version):
    """Each line of a card is what ``fold`` makes of it: a short ASCII line as it is, any other folded."""
    text = _card(uid, name, "+4915155501234", version, ("", name))
    assert text == "".join(fold(line) for line in _plain_lines(uid, name, version))
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))


def _plain_lines(uid: str, name: str, version: str) -> list[str]:
    from contactvault.export.minimal import _escape  # noqa: PLC0415

    tel = "TEL;VALUE=uri;TYPE=cell:tel:+4915155501234" if version == "4.0" else "TEL;TYPE=CELL:+4915155501234"
    return [
        "BEGIN:VCARD",
        f"VERSION:{version}",
        f"UID:{uid}",
        f"N:;{_escape(name)};;;",
        f"FN:{_escape(name)}",
        tel,
        "END:VCARD",
    ]
