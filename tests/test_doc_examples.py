"""Every ```python block of README.md and docs/*.md runs, against the sample data shipped in the package.

A page is a tutorial: its blocks run in order, in one namespace, so a later block may use what an earlier
one defined. Each page runs in a fresh temporary working directory that holds the package's samples
(``contactvault/samples``: ``phone-export.vcf``, ``company-phone.vcf``, ``ropa.toml``) under their own
names. What the harness does besides, and nothing more:

- ``KdfParams.default`` is the fast test setting, so that creating and opening vaults costs nothing (the
  examples are about the API, not about Argon2id's cost);
- ``getpass.getpass`` answers with a fixed passphrase, as a person at the keyboard would;
- the environment and ``tempfile``'s folder are the test's own, and restored afterwards (the client's
  memory of vaults, ``CONTACTVAULT_STATE_DIR``, is a folder of the test's too);
- a page that reads ``CARDDAV_URL`` from the environment (docs/sync-targets.md) gets the address, user
  and password of a real Radicale server started for it (``tests/radicale_server.py``), and a page that
  reads ``DATABASE_URL`` (docs/team.md) the URL of a fresh schema in the test PostgreSQL server (the
  ``pg_url`` fixture of ``tests/conftest.py``).

A block that is not meant to run (output, a shell session, a configuration) is not tagged ``python``;
there is no list of blocks to skip. A failing block is named by its page and line, and the traceback
points into the page itself.
"""

from __future__ import annotations

import getpass
import os
import re
import shutil
import sys
import tempfile
import types
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from unittest import mock

import pytest

from contactvault import KdfParams

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PYTHON = frozenset({"python", "py", "python3"})
"""Info strings that mark a block as Python (``py`` and ``python3`` count, so they cannot dodge the test)."""

OPENING = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\s]*)")
PASSPHRASE = "correct horse battery staple"  # noqa: S105  (a sample passphrase, for the examples)
"""What ``getpass.getpass`` answers (the README's examples ask for the passphrase)."""

ENVIRONMENT = ("CARDDAV_URL", "CARDDAV_USERNAME", "CARDDAV_PASSWORD", "DATABASE_URL")
"""The variables a page reads to reach a server (set for the pages that use them, removed for the others)."""

pytest_plugins = ("tests.radicale_server",)  # the `radicale` fixture; `pg_url` is in tests/conftest.py


@dataclass(frozen=True)
class Block:
    """One fenced Python block: its page, the line of its first line of code, and the code (dedented)."""

    page: Path
    line: int
    code: str

    @property
    def where(self) -> str:
        """``docs/page.md:LINE``."""
        return f"{self.page.relative_to(ROOT).as_posix()}:{self.line}"


def python_blocks(page: Path) -> list[Block]:
    """The fenced Python blocks of a Markdown page, in order (CommonMark fences: ``` or ~~~, 3 or more)."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        opening = OPENING.match(lines[index])
        index += 1
        if not opening:
            continue
        fence, indent = opening["fence"], len(opening["indent"].expandtabs())
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        start = index
        while index < len(lines) and not closing.match(lines[index]):
            index += 1
        if opening["info"].lower() in PYTHON:
            body = [
                line.expandtabs()[indent:] if not line[:indent].strip() else line
                for line in lines[start:index]
            ]
            found.append(Block(page, start + 1, "\n".join(body) + "\n"))
        index += 1  # the closing fence
    return found


EXAMPLES = {page: blocks for page in PAGES if (blocks := python_blocks(page))}


def test_the_examples_are_collected():
    """The pages with examples are found, and their blocks (a guard against a parser that finds nothing)."""
    assert {"README.md", "vault.md", "team.md", "book.md", "sync-targets.md"} <= {p.name for p in EXAMPLES}
    assert sum(len(blocks) for blocks in EXAMPLES.values()) >= 50


def _copy_samples(folder: Path) -> None:
    """The package's sample files, copied into ``folder`` under their own names."""
    samples = resources.files("contactvault") / "samples"
    for sample in samples.iterdir():
        if sample.is_file() and not sample.name.startswith((".", "_")):
            with resources.as_file(sample) as path:
                shutil.copyfile(path, folder / sample.name)


def _run(block: Block, namespace: dict[str, object]) -> None:
    """Run one block in the page's namespace; line numbers in tracebacks are the page's own."""
    code = compile("\n" * (block.line - 1) + block.code, str(block.page), "exec")
    exec(code, namespace)  # noqa: S102  (the project's own documentation)


def _services(blocks: list[Block], request: pytest.FixtureRequest) -> dict[str, str]:
    """The environment of the servers the page talks to, started (as fixtures) only for pages that do."""
    code = "".join(block.code for block in blocks)
    env: dict[str, str] = {}
    if "CARDDAV_URL" in code:
        server = request.getfixturevalue("radicale")
        env |= {
            "CARDDAV_URL": server.url,
            "CARDDAV_USERNAME": server.username,
            "CARDDAV_PASSWORD": server.password,
        }
    if "DATABASE_URL" in code:
        env["DATABASE_URL"] = request.getfixturevalue("pg_url")
    return env


@pytest.mark.parametrize("page", list(EXAMPLES), ids=[p.relative_to(ROOT).as_posix() for p in EXAMPLES])
def test_page_examples_run(page: Path, tmp_path, monkeypatch, request, subtests):
    """The page's Python blocks run in order, in one namespace, in a folder with the sample data.

    Each block is a subtest named by its page and line (``docs/vault.md:107``); after a block fails, the
    later ones of the page do not run (they would fail for want of what it defines).
    """
    blocks = EXAMPLES[page]
    services = _services(blocks, request)  # before tempfile's folder changes: the servers have their own
    work = tmp_path / "work"
    work.mkdir()
    _copy_samples(work)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(KdfParams, "default", classmethod(lambda cls: cls.insecure_fast_for_tests()))
    monkeypatch.setattr(getpass, "getpass", lambda prompt="Password: ", stream=None: PASSPHRASE)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    module = types.ModuleType(f"doc_example_{page.stem.replace('-', '_')}")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    with mock.patch.dict(os.environ):
        for name in [name for name in os.environ if name.startswith(("CONTACTVAULT_", *ENVIRONMENT))]:
            del os.environ[name]
        os.environ.update(services)
        os.environ["CONTACTVAULT_STATE_DIR"] = str(tmp_path / "state")  # never the user's own
        for number, block in enumerate(blocks, 1):
            ran = False
            with subtests.test(msg=block.where):
                try:
                    _run(block, module.__dict__)
                except BaseException as exc:
                    exc.add_note(f"in the Python block at {block.where} (block {number} of {len(blocks)})")
                    raise
                ran = True
            if not ran:
                break
