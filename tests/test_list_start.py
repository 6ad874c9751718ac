"""What ``contactvault list`` starts with: no rich console, no pydantic plugin.

`write_styled` prints ``list``'s header and count as rich's console prints them, without importing
it where it knows the bytes: Hypothesis holds it to rich's own output over terminals and pipes, widths,
``TERM`` and the variables rich reads. The command (and only the command: not a program that imports
contactvault, nor ``main`` called with its arguments) keeps pydantic plugins out, shown with a plugin
installed for the test that records whether it was loaded. No time is asserted.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text

from contactvault import Contact, KdfParams, Vault, normalize_phone
from contactvault.cli import _lines
from contactvault.cli._errors import PLUGINS_ENV
from contactvault.cli._lines import styled, write_styled

# --- the header and the count: rich's bytes -----------------------------------------------------------------


class _Stream(io.StringIO):
    """Standard output as a test sets it: a terminal or not."""

    def __init__(self, terminal: bool) -> None:
        super().__init__()
        self.terminal = terminal

    def isatty(self) -> bool:
        return self.terminal


_ENV_NAMES = ("TERM", "NO_COLOR", "COLORTERM", "LINES", "TTY_INTERACTIVE", *_lines._RICH_ONLY)
_texts = st.one_of(
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=130),
    st.sampled_from(["id        name            consents  labels  restricted  numbers", "1 contact", ""]),
    st.text(max_size=20),  # anything: not ASCII, control characters, new lines (left to rich)
)
_sizes = st.one_of(st.none(), st.integers(0, 200))  # None: not a terminal


@st.composite
def _environments(draw: st.DrawFn) -> dict[str, str]:
    env = {"TERM": draw(st.sampled_from(["xterm-256color", "dumb", "unknown", "DUMB", "vt100", "", "xterm"]))}
    if draw(st.booleans()):
        env["NO_COLOR"] = draw(st.sampled_from(["", "1"]))
    if draw(st.booleans()):
        env["COLORTERM"] = "truecolor"
    if draw(st.integers(0, 2)) == 0:  # now and then one that rich reads
        name = draw(st.sampled_from([*_lines._RICH_ONLY, "LINES", "TTY_INTERACTIVE"]))
        env[name] = draw(st.sampled_from(["", "0", "1", "40", "120"]))
    return env


def _printed(
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    sizes: list[int | None],
    terminal: bool,
    write: object,
) -> str:
    """What ``write()`` prints to a standard output (a terminal or not) with these sizes and variables."""

    def terminal_size(descriptor: int = 1) -> os.terminal_size:
        size = sizes[descriptor]
        if size is None:
            raise OSError(25, "Inappropriate ioctl for device")
        return os.terminal_size((size, 25))

    stream = _Stream(terminal)
    with monkeypatch.context() as patch:
        for name in _ENV_NAMES:
            patch.delenv(name, raising=False)
        for name, value in env.items():
            patch.setenv(name, value)
        patch.setattr(os, "get_terminal_size", terminal_size)
        patch.setattr(sys, "stdout", stream)
        write()  # type: ignore[operator]
    return stream.getvalue()


@given(
    text=_texts,
    style=st.sampled_from([None, "bold", "dim"]),
    terminal=st.booleans(),
    sizes=st.lists(_sizes, min_size=3, max_size=3),
    env=_environments(),
)
@example(
    text="header", style="bold", terminal=False, sizes=[None] * 3, env={"TERM": "xterm", "FORCE_COLOR": "1"}
)
@example(
    text="header", style="dim", terminal=False, sizes=[None] * 3, env={"TERM": "xterm", "TTY_COMPATIBLE": "1"}
)
@example(
    text="header", style="bold", terminal=True, sizes=[None] * 3, env={"TERM": "xterm", "TTY_COMPATIBLE": "0"}
)
@example(
    text="header", style="bold", terminal=True, sizes=[None] * 3, env={"TERM": "xterm", "FORCE_COLOR": ""}
)
@example(
    text="a header line",
    style="bold",
    terminal=False,
    sizes=[None] * 3,
    env={"TERM": "xterm", "COLUMNS": "5"},
)
@example(text="a header line", style="bold", terminal=True, sizes=[9] * 3, env={"TERM": "dumb", "LINES": "5"})
@settings(max_examples=300)
def test_write_styled_prints_what_rich_prints(text, style, terminal, sizes, env):
    """`write_styled` prints what ``Console(highlight=False, soft_wrap=False).print(Text(...))`` prints."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        ours = _printed(monkeypatch, env, sizes, terminal, lambda: write_styled(text, style))
        rich = _printed(
            monkeypatch,
            env,
            sizes,
            terminal,
            lambda: Console(highlight=False, soft_wrap=False).print(Text(text, style=style or "")),
        )
    assert ours == rich


@pytest.mark.parametrize(
    ("terminal", "sizes", "expected"),
    [
        (False, [None, None, None], "header\n"),  # a pipe
        (False, [120, None, 120], "header\n"),  # `| cat` from a terminal
        (True, [120, 120, 120], "\x1b[1mheader\x1b[0m\n"),
        (True, [0, 0, 0], "\x1b[1mheader\x1b[0m\n"),  # a pseudo-terminal without a size: 80 columns
    ],
)
def test_styled_knows_the_usual_cases(monkeypatch, terminal, sizes, expected):
    """On a terminal and to a pipe, as a person runs `list`, the bytes are known: rich is not needed."""
    got = _printed(
        monkeypatch,
        {"TERM": "xterm-256color"},
        sizes,
        terminal,
        lambda: print(styled("header", "bold"), end=""),
    )
    assert got == expected


def test_styled_leaves_a_narrow_terminal_to_rich(monkeypatch):
    """A line wider than the terminal is wrapped by rich: `styled` does not claim to know it."""
    got = _printed(
        monkeypatch, {"TERM": "xterm"}, [10, 10, 10], True, lambda: print(styled("a header line", "bold"))
    )
    assert got == "None\n"


# --- the command, run as a person runs it -------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_vault(tmp_path_factory) -> list[str]:
    """A vault of one contact; the options that open it."""
    folder = tmp_path_factory.mktemp("list-start")
    path = folder / "v.db"
    with Vault.create(path, "pw", kdf=KdfParams.insecure_fast_for_tests()) as vault:
        vault.add_many(
            [Contact(display_name="Anna", phones=(normalize_phone("+4915155501200", default_region=None),))]
        )
    (folder / "pw").write_text("pw\n", encoding="utf-8")
    return ["--vault", str(path), "--passphrase-file", str(folder / "pw")]


@pytest.fixture
def spy_plugin(tmp_path) -> tuple[dict[str, str], Path]:
    """A pydantic plugin installed (on ``PYTHONPATH``) that writes a file when loaded and when called."""
    site = tmp_path / "site"
    info = site / "cvspy-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: cvspy\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[pydantic]\ncvspy = cvspy:plugin\n", encoding="utf-8")
    marks = tmp_path / "marks"
    (site / "cvspy.py").write_text(
        textwrap.dedent(
            f"""
            import pathlib
            MARKS = pathlib.Path({str(marks)!r})
            with MARKS.open("a") as out:
                out.write("loaded\\n")

            class _Spy:
                def new_schema_validator(self, *args, **kwargs):
                    with MARKS.open("a") as out:
                        out.write("called\\n")
                    return None, None, None

            plugin = _Spy()
            """
        ),
        encoding="utf-8",
    )
    unset = ("CONTACTVAULT_", PLUGINS_ENV)
    env = {k: v for k, v in os.environ.items() if not k.startswith(unset)}
    path = os.pathsep.join(p for p in (str(site), env.get("PYTHONPATH", "")) if p)
    return {**env, "PYTHONPATH": path, "CONTACTVAULT_STATE_DIR": str(tmp_path / "state")}, marks


def _run(code: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603  (our own interpreter)
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=False, timeout=120
    )


_COMMAND = "from contactvault.cli import main; main()"
"""How the console script runs the command (``sys.argv`` holds its arguments)."""


def test_the_spy_plugin_is_loaded_by_a_program_that_imports_contactvault(spy_plugin):
    """The test's plugin works: a program that validates a contact loads and calls it (pydantic's default)."""
    env, marks = spy_plugin
    done = _run("import contactvault; contactvault.Contact(display_name='Anna')", env)
    assert done.returncode == 0, done.stderr
    written = marks.read_text().split()
    assert written[0] == "loaded"
    assert "called" in written


def test_the_command_loads_no_pydantic_plugin(spy_plugin, small_vault):
    """`contactvault list` run as the command never loads the installed plugin, nor calls it."""
    env, marks = spy_plugin
    done = _run(_COMMAND, env, "list", *small_vault)
    assert done.returncode == 0, done.stderr
    assert "A." in done.stdout
    assert not marks.exists()


def test_the_command_keeps_a_value_set_for_pydantic_plugins(spy_plugin, small_vault):
    """A ``PYDANTIC_DISABLE_PLUGINS`` given to the command (empty: plugins on) is kept as it is."""
    env, marks = spy_plugin
    done = _run(_COMMAND, {**env, PLUGINS_ENV: ""}, "list", *small_vault)
    assert done.returncode == 0, done.stderr
    assert "called" in marks.read_text()


def test_the_command_starts_without_rich_console_and_plugin_lookup(small_vault, tmp_path):
    """`list` run as the command imports no rich console, and pydantic never looks its plugins up.

    The process's environment holds the switch (its child processes inherit it).
    """
    code = f"""
import atexit, json, os, sys
def report():
    with open({str(tmp_path / "report.json")!r}, "w") as out:
        looked = sys.modules["pydantic.plugin._loader"]._plugins is not None
        env = os.environ.get({PLUGINS_ENV!r})
        json.dump({{"modules": sorted(sys.modules), "env": env, "looked": looked}}, out)
atexit.register(report)
{_COMMAND}
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONTACTVAULT_", PLUGINS_ENV))}
    done = _run(code, {**env, "CONTACTVAULT_STATE_DIR": str(tmp_path / "state")}, "list", *small_vault)
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["env"] == "__all__"
    assert report["looked"] is False  # pydantic's entry-point scan never ran
    assert "rich.console" not in report["modules"]
    assert "rich.text" not in report["modules"]


def test_main_called_with_arguments_leaves_the_environment_alone(small_vault, monkeypatch):
    """`main` called by a program (a test runner) with its arguments does not switch plugins off for it."""
    from contactvault.cli import main  # noqa: PLC0415

    monkeypatch.delenv(PLUGINS_ENV, raising=False)
    result = CliRunner().invoke(main, ["list", *small_vault])
    assert result.exit_code == 0, result.output
    assert PLUGINS_ENV not in os.environ
