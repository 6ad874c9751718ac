"""The reference pages keep up with the code: the API page's entries, the public names, the commands."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from types import ModuleType

import click

import contactvault
from contactvault.cli import main

DOCS = Path(__file__).resolve().parent.parent / "docs"
API_PAGE = DOCS / "api.md"
ENTRY = re.compile(r"^::: *(\S+) *$")
MEMBER = re.compile(r"^ +- +(\w+) *$")


def _entries() -> dict[str, frozenset[str] | None]:
    """Each ``::: dotted.name`` of docs/api.md, with its ``members:`` list if the entry limits them."""
    entries: dict[str, frozenset[str] | None] = {}
    current: str | None = None
    members: set[str] = set()
    for line in [*API_PAGE.read_text(encoding="utf-8").splitlines(), ""]:
        member = MEMBER.match(line)
        if current is not None and member:
            members.add(member.group(1))
            continue
        if current is not None and not line.startswith(" "):
            entries[current] = frozenset(members) if members else None
            current = None
        entry = ENTRY.match(line)
        if entry:
            current, members = entry.group(1), set()
    return entries


def _resolve(dotted: str) -> object:
    """The object a dotted name names: the longest importable module, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise ModuleNotFoundError(dotted)


def test_every_api_entry_imports():
    """Every ``:::`` entry of docs/api.md names an object that can be imported."""
    entries = _entries()
    assert len(entries) > 50
    for dotted in entries:
        _resolve(dotted)  # raises ModuleNotFoundError or AttributeError for a stale entry


def test_every_top_level_name_is_in_the_api_reference():
    """Every name of ``contactvault.__all__`` has an entry on docs/api.md.

    The rule: a name counts as documented when a ``:::`` entry resolves to the very same object, or is
    the module that defines it (``obj.__module__``; a module entry renders its public members, and one
    with a ``members:`` list only the names listed).
    """
    covered: set[int] = set()
    modules: dict[str, frozenset[str] | None] = {}
    for dotted, members in _entries().items():
        obj = _resolve(dotted)
        if isinstance(obj, ModuleType):
            modules[obj.__name__] = members
        else:
            covered.add(id(obj))
    missing = []
    for name in contactvault.__all__:
        obj = getattr(contactvault, name)
        if id(obj) in covered:
            continue
        owner = getattr(obj, "__module__", None)
        if owner in modules and (modules[owner] is None or name in modules[owner]):
            continue
        missing.append(name)
    assert missing == []


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[str]:
    found = []
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        found.append(" ".join(path))
        if isinstance(command, click.Group):
            found.extend(_commands(command, path))
    return found


def _mentions(path: str, text: str) -> bool:
    """Whether ``path`` is a heading (or one of a heading's comma-separated parts) or starts a code span."""
    for line in text.splitlines():
        if line.startswith("#"):
            parts = [p.strip().strip("`").strip() for p in line.lstrip("#").split(",")]
            if any(p == path or p.startswith(path + " ") for p in parts):
                return True
    for span in re.findall(r"`([^`\n]+)`", text):
        words = span.strip().removeprefix("contactvault ").strip()
        if words == path or words.startswith(path + " "):
            return True
    return False


def test_every_command_is_in_the_command_line_pages():
    """Every command and subcommand of ``contactvault`` is a heading or a code span on a docs/cli*.md page."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("cli*.md")))
    commands = _commands(main)
    assert {"import", "edit", "merge", "log", "backup", "restore", "sync carddav"} <= set(commands)
    assert [c for c in commands if not _mentions(c, text)] == []
