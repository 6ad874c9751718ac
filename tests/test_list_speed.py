"""`list`'s faster rendering prints, byte for byte, what the rendering before it printed.

The functions as they were before (``_reference_*`` here, copied unchanged) are the reference: each
faster one gives the same text for any input (Hypothesis), and ``contactvault list`` run as a person runs
it, to a pipe and to a pseudo-terminal of 120 columns, prints exactly the reference's lines with the
header and the count as rich styles them. No time is asserted.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len, set_cell_size

from contactvault import Contact, KdfParams, Vault, normalize_phone
from contactvault.cli._app import mask_name
from contactvault.cli._lines import CHUNK as _LIST_CHUNK
from contactvault.cli._lines import masked as _masked
from contactvault.cli.vaultcmds import _list_line
from contactvault.models import E164_PATTERN, ConsentRecord, DirectoryEntry, Label, Phone
from contactvault.phones import mask_number
from tests.conftest import ROOT
from tests.strategies import display_names, full_contacts

PASSPHRASE = "a passphrase here"  # noqa: S105  (a test vault)
COLUMNS = 120

# --- the rendering as it was (the reference) -----------------------------------------------------------


def _reference_mask_name(name: str) -> str:
    letters = (next((ch for ch in word if ch.isalnum()), "") for word in name.split())
    return " ".join(f"{letter.upper()}." for letter in letters if letter) or "•••"


def _reference_number(phone: Phone, reveal: bool) -> str:
    value = phone.e164 if phone.e164 is not None else phone.raw
    return value if reveal else mask_number(value)


def _reference_fit(text: str, width: int) -> str:
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else "\N{REPLACEMENT CHARACTER}" for ch in text)
    size = len(text) if text.isascii() else cell_len(text)
    if size > width:
        return set_cell_size(text, width - 1) + "…"
    return text + " " * (width - size)


_REFERENCE_WIDTH = {False: 14, True: 30}


def _reference_list_line(entry: DirectoryEntry, reveal: bool) -> str:
    name = entry.display_name if reveal else _reference_mask_name(entry.display_name)
    active = sum(1 for c in entry.consents if not c.withdrawn)
    restricted = "yes" if entry.restricted_at is not None else ""
    numbers = ", ".join(_reference_number(p, reveal) for p in entry.phones)
    line = f"{entry.id.hex[:8]}  {_reference_fit(name, _REFERENCE_WIDTH[reveal])}  {active:>8}  "
    line += f"{len(entry.labels):>6}  "
    return f"{line}{restricted:<10}  {numbers}".rstrip()


def _reference_header(reveal: bool) -> str:
    name = _reference_fit("name", _REFERENCE_WIDTH[reveal])
    return f"{'id':<8}  {name}  consents  labels  restricted  numbers"


# --- the faster functions give the reference's text ------------------------------------------------------

_numbers_typed = st.one_of(
    st.text(max_size=24),
    st.from_regex(E164_PATTERN, fullmatch=True),
    st.text("+0123456789", max_size=18),
    st.builds(lambda d: "+" + d, st.text("0123456789", max_size=17)),
    st.text("+0123456789 -()٣²", max_size=18),  # digits that are not ASCII: never E.164
)


@given(_numbers_typed)
def test_masked_is_mask_number(value):
    """`_masked` (kept per first three digits and length in `_MASK_HEADS`) is `mask_number`, for any text."""
    assert _masked(value) == mask_number(value)


@given(st.from_regex(E164_PATTERN, fullmatch=True), st.from_regex(E164_PATTERN, fullmatch=True))
def test_masked_keeps_no_country_from_an_earlier_number(first, second):
    """Masking one number and then another gives each its own mask, whatever came first."""
    assert (_masked(first), _masked(second)) == (mask_number(first), mask_number(second))


@given(st.one_of(st.text(max_size=40), display_names()))
def test_mask_name_is_the_reference(name):
    """`mask_name` (a loop instead of generators) gives each word's first letter or digit as before."""
    assert mask_name(name) == _reference_mask_name(name)


def _entry(contact: Contact, name: str | None = None) -> DirectoryEntry:
    fields = contact.model_dump(include=set(DirectoryEntry.model_fields) & set(Contact.model_fields))
    if name is not None:
        fields["display_name"] = name
    return DirectoryEntry.model_validate({**fields, "version": 1})


@given(full_contacts(), st.one_of(st.none(), st.text(min_size=1, max_size=50)), st.booleans())
def test_list_line_is_the_reference(contact, name, reveal):
    """One line of `list`, masked or revealed, for any contact (any name, number, consent, label)."""
    entry = _entry(contact, name)
    assert _list_line(entry, reveal) == _reference_list_line(entry, reveal)


# --- the command, to a pipe and to a terminal, prints the reference ---------------------------------------

_NAMES = (
    "Maximiliane Alexandra Theodora von Hohenzollern-Sigmaringen",
    "山田太郎 山田花子 山田一郎 山田次郎",
    "Zoë O'Brien",
    "straße ßig",
    "\N{EM DASH} \N{EN DASH} \N{HORIZONTAL ELLIPSIS}",  # no letter: no initials
    "Ana",
)
_TYPED = ("+4915155501200", "0171 2345678", "+1 415 555 0100", "+43 664 1234567", "+999 1234", "12")


def _contacts(count: int) -> list[Contact]:
    start = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
    made = []
    for i in range(count):
        phones = tuple(
            normalize_phone(_TYPED[(i + n) % len(_TYPED)], default_region="DE" if i % 3 else None)
            for n in range(i % 4)
        )
        consents = tuple(
            ConsentRecord(
                purpose="messenger",
                granted_at=start,
                channel="written",
                notice_id="notice-messenger",
                notice_version="1",
                recorded_by="front-desk",
                withdrawn_at=start + timedelta(days=1) if n == 1 else None,
                withdrawal_channel="email" if n == 1 else None,
            )
            for n in range(i % 3)
        )
        made.append(
            Contact(
                id=uuid.UUID(int=i * 7919 + 1),
                display_name=_NAMES[i % len(_NAMES)] if i % 5 else f"Person Number{i}",
                phones=phones,
                consents=consents,
                labels=tuple(Label(name=n) for n in ("VIP", "bezahlt")[: i % 3]),
                restricted_at=start if i % 7 == 3 else None,
            )
        )
    return made


@pytest.fixture(scope="module")
def listed(tmp_path_factory) -> tuple[list[DirectoryEntry], list[str]]:
    """A vault of two chunks and a bit, its entries in order, and the options that open it."""
    folder = tmp_path_factory.mktemp("list-speed")
    path = folder / "vault.db"
    with Vault.create(path, PASSPHRASE, kdf=KdfParams.insecure_fast_for_tests()) as vault:
        vault.add_many(_contacts(_LIST_CHUNK * 2 + 7))
        entries = list(vault)
    secret = folder / "passphrase.txt"
    secret.write_text(PASSPHRASE + "\n", encoding="utf-8")
    return entries, ["--vault", str(path), "--passphrase-file", str(secret)]


def _command(args: list[str]) -> list[str]:
    return [sys.executable, "-c", "from contactvault.cli import main; main()", "list", *args]


def _env(tmp_path: Path) -> dict[str, str]:
    unset = ("CONTACTVAULT_", "FORCE_COLOR", "NO_COLOR", "COLUMNS", "LINES", "TTY_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(unset)}
    return {**env, "CONTACTVAULT_STATE_DIR": str(tmp_path / "state"), "TERM": "xterm-256color"}


def _processes() -> Any:
    """benchmarks/processes.py, loaded from its path (benchmarks/ is not a package), once."""
    name = "_benchmark_processes"
    if name not in sys.modules:  # registered before it runs: its dataclasses look their module up
        spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "processes.py")
        assert spec is not None
        assert spec.loader is not None
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


def _on_a_terminal(argv: list[str], env: dict[str, str]) -> bytes:
    """What ``argv`` writes to a 40-row, 120-column pseudo-terminal, run as benchmarks/pipeline.py does."""
    processes = _processes()
    assert processes.TERMINAL == (40, COLUMNS)
    ran = processes.run(argv, env, tty=True)
    assert ran.code == 0, ran.out[-500:]
    return bytes(ran.out)


def _expected(entries: list[DirectoryEntry], reveal: bool, *, terminal: bool) -> bytes:
    """The reference's output: bold header and dim count on a terminal (rich), plain lines to a pipe."""
    lines = [_reference_list_line(e, reveal) for e in entries]
    header, count = _reference_header(reveal), f"{len(entries)} contacts"
    if terminal:  # the terminal turns each \n into \r\n
        text = "\r\n".join([f"\x1b[1m{header}\x1b[0m", *lines, f"\x1b[2m{count}\x1b[0m", ""])
    else:
        text = "\n".join([header, *lines, count, ""])
    return text.encode("utf-8")


@pytest.mark.parametrize("reveal", [False, True], ids=["masked", "reveal"])
def test_list_to_a_pipe_is_the_reference(listed, reveal, tmp_path):
    """`contactvault list` to a pipe: the reference's lines, byte for byte."""
    entries, options = listed
    args: list[Any] = [*options, *(["--reveal"] if reveal else [])]
    done = subprocess.run(_command(args), capture_output=True, env=_env(tmp_path), check=False, timeout=120)  # noqa: S603
    assert done.returncode == 0, done.stderr
    assert done.stdout == _expected(entries, reveal, terminal=False)


@pytest.mark.skipif(sys.platform != "linux", reason="a pseudo-terminal as Linux makes one")
@pytest.mark.parametrize("reveal", [False, True], ids=["masked", "reveal"])
def test_list_on_a_terminal_is_the_reference(listed, reveal, tmp_path):
    """`contactvault list` on a 120-column terminal: the reference's lines, header bold, count dim."""
    entries, options = listed
    out = _on_a_terminal(_command([*options, *(["--reveal"] if reveal else [])]), _env(tmp_path))
    assert out == _expected(entries, reveal, terminal=True)


# --- the end of the process ---------------------------------------------------------------------------------


def test_a_command_run_in_process_leaves_the_exit_alone(listed, monkeypatch):
    """`main` called with its arguments (a test runner, a script) registers nothing for the exit."""
    from click.testing import CliRunner  # noqa: PLC0415

    from contactvault.cli import _errors, main  # noqa: PLC0415

    registered: list[object] = []
    monkeypatch.setattr(_errors.atexit, "register", registered.append)
    monkeypatch.setattr(_errors.gc, "freeze", lambda: registered.append("freeze"))
    result = CliRunner().invoke(main, ["list", *listed[1]])
    assert result.exit_code == 0, result.output
    assert registered == []  # neither an exit function nor a freeze of the test runner's objects
    assert _errors._ENDING == []


def test_the_command_ends_with_every_exit_function_run(listed, tmp_path):
    """Run as the command, the process still runs what was registered for its exit, and flushes its output.

    An `atexit` function registered before the command, and a temporary folder left to its finalizer,
    both do their work after `list` has printed every line. Nothing is frozen while the command runs
    (`paused_gc` moves an import batch to the old generation only when nothing else is frozen).
    """
    entries, options = listed
    marker, kept, frozen = tmp_path / "marker", tmp_path / "kept.txt", tmp_path / "frozen"
    script = f"""
import atexit, gc, pathlib, sys, tempfile
atexit.register(pathlib.Path({str(marker)!r}).write_text, "ran")
left = tempfile.TemporaryDirectory()
pathlib.Path({str(kept)!r}).write_text(left.name)
sys.argv = ["contactvault", "list", *{options!r}]
from contactvault import Vault
listing = Vault.__iter__
def watched(vault):
    pathlib.Path({str(frozen)!r}).write_text(str(gc.get_freeze_count()))
    return listing(vault)
Vault.__iter__ = watched
from contactvault.cli import main
main()
"""
    done = subprocess.run(  # noqa: S603  (our own interpreter)
        [sys.executable, "-c", script], capture_output=True, env=_env(tmp_path), check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == _expected(entries, False, terminal=False)
    assert marker.read_text() == "ran"
    assert frozen.read_text() == "0"
    assert not Path(kept.read_text()).exists()


def test_list_loads_no_retention_schedule(listed, tmp_path):
    """`list` does not load the retention package (schedules, plans, their TOML reader).

    No vault method it calls needs them; they load when a schedule is used.
    """
    from tests.test_startup import loaded_after  # noqa: PLC0415

    loaded = loaded_after(
        f"""
        from contactvault.cli import main
        try:
            main({["list", *listed[1]]!r})
        except SystemExit as exc:
            assert exc.code == 0, exc.code
        """,
        env={"CONTACTVAULT_STATE_DIR": str(tmp_path / "state")},
    )
    assert [m for m in loaded["contactvault"] if m.startswith("contactvault.retention")] == []
    assert "tomllib" not in loaded["top"]
