"""The data flows one way: each room imports only rooms below it, no import circle, no file over 600 lines.

Every module under ``src/contactvault`` is parsed (never imported), and every import in it counts: at the
top, inside a function, under ``if TYPE_CHECKING:``. ``from package import name`` counts as an import of
the module ``package.name`` where there is one, else of ``package``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "contactvault"
MAX_LINES = 600


def _name(path: Path) -> str:
    """The dotted module name of a file under ``src`` (a package's ``__init__.py`` is the package)."""
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _modules() -> dict[str, Path]:
    """Every module of the project by its dotted name."""
    return {_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imported(module: str, path: Path) -> Iterator[str]:
    """The project modules ``module`` imports, anywhere in the file (a package naming itself aside)."""
    modules = _modules()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, up level - 1 packages
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        yield from (
            name
            for name in names
            if (name == "contactvault" or name.startswith("contactvault.")) and name != module
        )


@cache
def _graph() -> dict[str, frozenset[str]]:
    """Module -> the project modules it imports."""
    return {module: frozenset(_imported(module, path)) for module, path in _modules().items()}


def _under(module: str, room: str) -> bool:
    return module == room or module.startswith(room + ".")


def _offenders(importer: str, imported: str) -> list[str]:
    """``module -> import`` for each import of the room ``imported`` by a module in the room ``importer``."""
    return sorted(
        f"{module} -> {name}"
        for module, names in _graph().items()
        if _under(module, importer)
        for name in names
        if _under(name, imported)
    )


def _cycles() -> list[list[str]]:
    """The import circles: strongly connected components of two or more modules."""
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:  # Tarjan's algorithm; the graph is small enough for recursion
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for name in graph.get(module, ()):
            if name not in graph:
                continue
            if name not in index:
                visit(name)
                low[module] = min(low[module], low[name])
            elif name in on_stack:
                low[module] = min(low[module], index[name])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_every_module_is_seen():
    """The graph holds the rooms the rules below are about (a moved file must not slip past them)."""
    graph = _graph()
    for module in (
        "contactvault.errors",
        "contactvault.book",
        "contactvault.vault.facade",
        "contactvault.sync",
        "contactvault.consent.webhook",
    ):
        assert module in graph
    assert "contactvault.vault.log" in graph["contactvault.vault.messenger"]


def test_errors_imports_nothing_of_the_project():
    """``errors.py`` is at the bottom: every other module may import it, it imports none of them."""
    assert _graph()["contactvault.errors"] == frozenset()


@pytest.mark.parametrize("room", ["contactvault.vault", "contactvault.export"])
def test_vault_and_export_do_not_import_sync(room):
    """The vault and the exports are below sync: sync uses them, never the other way round."""
    assert _offenders(room, "contactvault.sync") == []


def test_export_does_not_import_the_vault():
    """Exports take a ``MessengerBook`` (from ``contactvault.book``, below them), never the vault."""
    assert _offenders("contactvault.export", "contactvault.vault") == []


def test_sync_uses_the_vaults_public_api():
    """Sync imports the vault package (``Vault`` and its value types), none of the rooms behind it."""
    behind = [
        line
        for line in _offenders("contactvault.sync", "contactvault.vault")
        if not line.endswith(" -> contactvault.vault")
    ]
    assert behind == []


@pytest.mark.parametrize(
    "above",
    [
        "contactvault.vault",
        "contactvault.sync",
        "contactvault.cli",
        "contactvault.gdpr",
        "contactvault.audit",
    ],
)
def test_consent_is_below_the_vault_and_everything_that_uses_it(above):
    """The consent lifecycle's parsers (codes, webhooks, bulk CSV) hold no storage: the vault uses them."""
    assert _offenders("contactvault.consent", above) == []


@pytest.mark.parametrize(
    "above",
    [
        "contactvault.vault",
        "contactvault.sync",
        "contactvault.cli",
        "contactvault.gdpr",
        "contactvault.audit",
        "contactvault.consent",
    ],
)
def test_retention_is_below_the_vault_and_everything_that_uses_it(above):
    """The retention schedule, its plan and receipts hold no storage: the vault stores and applies them."""
    assert "contactvault.retention.plan" in _graph()
    assert _offenders("contactvault.retention", above) == []


def test_no_import_circle():
    """No module imports itself through others."""
    assert _cycles() == []


def test_no_file_over_600_lines():
    """Every module fits in 600 lines."""
    long = {
        module: lines
        for module, path in _modules().items()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
