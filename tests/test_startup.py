"""What importing contactvault and starting a command loads: only what is used.

Each check runs in a fresh interpreter (the test process has imported everything already). No time is
asserted: the modules loaded are what start-up costs, and they are what these tests pin.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import contactvault
import contactvault.cli
import contactvault.errors
from contactvault import KdfParams, Vault
from contactvault.cli import COMMAND_TABLE, main
from contactvault.cli._errors import CommandLine

UI_AND_HTTP = ("click", "rich", "httpx", "vobject")


def loaded_after(code: str, *, env: dict[str, str] | None = None) -> dict[str, list[str]]:
    """Run ``code`` in a fresh interpreter; the modules it loaded: contactvault's, and other packages'."""
    script = textwrap.dedent(code) + textwrap.dedent(
        """
        import json as _json, sys as _sys
        _mods = sorted(_sys.modules)
        print("\\nMODULES " + _json.dumps(_mods))
        """
    )
    done = subprocess.run(  # noqa: S603  (our own interpreter)
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    modules: list[str] = json.loads(done.stdout.rsplit("MODULES ", 1)[1])
    return {
        "contactvault": [m for m in modules if m.startswith("contactvault.")],
        "top": sorted({m.split(".")[0] for m in modules}),
    }


# --- the library ----------------------------------------------------------------------------------------


def test_import_contactvault_loads_no_command_line_http_or_vobject():
    """`import contactvault` loads no click, rich, httpx or vobject; of its own modules only the errors."""
    loaded = loaded_after("import contactvault")
    assert [top for top in loaded["top"] if top in UI_AND_HTTP] == []
    assert loaded["contactvault"] == ["contactvault._lazy", "contactvault.errors"]  # _lazy: importlib only


def test_the_vault_and_the_book_load_no_http_client():
    """Opening a vault and building its book (`contactvault.sync`) never loads httpx, click or rich."""
    loaded = loaded_after(
        """
        import tempfile, pathlib
        from contactvault import KdfParams, Vault, Policy
        from contactvault.sync import messenger_book, export_book, VCardFileTarget
        with tempfile.TemporaryDirectory() as folder:
            here = pathlib.Path(folder)
            with Vault.create(here / "v.db", "pw", kdf=KdfParams.insecure_fast_for_tests()) as v:
                export_book(v, messenger_book(v, Policy.default()), here / "book.vcf")
        """
    )
    assert [top for top in loaded["top"] if top in UI_AND_HTTP] == []
    assert "contactvault.sync.targets.carddav" not in loaded["contactvault"]


def test_carddav_names_load_with_httpx_when_used():
    """`CardDAVTarget` from either package is the one class, and with it httpx is loaded."""
    loaded = loaded_after(
        """
        from contactvault.sync import CardDAVTarget as A
        from contactvault.sync.targets import ADDRESSBOOK_DESCRIPTION, CardDAVTarget as B
        from contactvault.sync.targets import carddav
        assert A is B is carddav.CardDAVTarget
        assert ADDRESSBOOK_DESCRIPTION is carddav.ADDRESSBOOK_DESCRIPTION
        """
    )
    assert "httpx" in loaded["top"]


@pytest.mark.parametrize("package", ["contactvault", "contactvault.sync", "contactvault.sync.targets"])
def test_a_name_that_is_not_there_is_an_attribute_error(package):
    """The lazy packages still say that a name is missing, as a module does."""
    module = importlib.import_module(package)
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        _ = module.Nothing


def test_every_lazy_public_name_is_the_object_of_its_module():
    """Each name imported on first use is its module's object; with the errors, they are all of __all__."""
    for name, module in contactvault._LAZY.items():
        assert getattr(contactvault, name) is getattr(importlib.import_module(module), name), name
    errors = {name for name in contactvault.__all__ if getattr(contactvault.errors, name, None) is not None}
    assert set(contactvault._LAZY) | errors == set(contactvault.__all__)
    assert set(contactvault._LAZY).isdisjoint(errors)
    assert set(contactvault.__all__) <= set(dir(contactvault))


def test_the_lazy_names_match_the_type_checking_imports():
    """The imports under TYPE_CHECKING (what mypy and readers see) name the same modules as the table."""
    source = Path(inspect.getfile(contactvault)).read_text(encoding="utf-8")
    block = source.split("if TYPE_CHECKING:", 1)[1].split("\n\n", 1)[0]
    seen: dict[str, str] = {}
    for statement in block.replace("(\n", "").replace(",\n", ", ").replace("\n    )", "").splitlines():
        words = statement.strip().removeprefix("from ").split(" import ")
        if len(words) == 2:
            for name in words[1].replace(")", "").split(","):
                if name.strip():
                    seen[name.strip()] = words[0]
    assert seen == contactvault._LAZY


# --- the command line -----------------------------------------------------------------------------------


def _cli_modules() -> dict[str, list[click.Command]]:
    """Every module in contactvault.cli that defines commands, and its commands."""
    found = {}
    for info in pkgutil.iter_modules(contactvault.cli.__path__):
        module = importlib.import_module(f"contactvault.cli.{info.name}")
        if hasattr(module, "COMMANDS"):
            found[info.name] = list(module.COMMANDS)
    return found


def test_the_command_table_is_every_command_of_every_module():
    """COMMAND_TABLE names every command each module defines, with its module, and nothing else."""
    table = {
        name: entry.module
        for name, entry in COMMAND_TABLE.items()  # the order --help used to register modules in
    }
    defined = {command.name: module for module, commands in _cli_modules().items() for command in commands}
    assert table == defined


def _tree(command: click.Command, path: str = "") -> dict[str, str]:
    """Every command under ``command`` (itself included) by its path: the module of its function."""
    found = {path: command.callback.__module__ if command.callback else ""}
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            found |= _tree(sub, f"{path} {name}".strip())
    return found


GROUPS = sorted(name for name in COMMAND_TABLE if isinstance(main.commands[name], click.Group))


@pytest.mark.parametrize("name", GROUPS)
def test_a_group_loaded_alone_has_all_its_subcommands(name):
    """In a fresh interpreter, a group loaded on its own has the same subcommands as with every module."""
    _cli_modules()
    expected = sorted(_tree(main.commands[name]))
    done = subprocess.run(  # noqa: S603  (our own interpreter)
        [sys.executable, "-c", f"""
import json, click
from contactvault.cli import main
def tree(command, path=""):
    found = [path]
    if isinstance(command, click.Group):
        for sub_name, sub in command.commands.items():
            found += tree(sub, f"{{path}} {{sub_name}}".strip())
    return found
print(json.dumps(sorted(tree(main.commands[{name!r}]))))
"""],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )  # fmt: skip
    assert json.loads(done.stdout) == expected


@pytest.mark.parametrize("name", sorted(COMMAND_TABLE))
def test_the_table_short_help_is_the_command_own_at_every_width(name):
    """The table's short help gives what the command's own gives, at every width --help may use."""
    entry = COMMAND_TABLE[name]
    command = main.commands[name]
    assert entry.explicit == bool(command.short_help)
    assert not command.hidden
    assert not command.deprecated
    for limit in range(10, 200):
        assert contactvault.cli._short_help({}, name, limit) == command.get_short_help_str(limit), limit


@pytest.mark.parametrize("columns", ["50", "80", "100", "200"])
def test_help_lists_every_command_as_an_eager_group_would(columns):
    """`contactvault --help` from the table is, at any terminal width, the help with every module imported."""
    eager = CommandLine(
        name=main.name,
        params=main.params,
        help=main.help,
        context_settings=main.context_settings,
        commands={name: main.commands[name] for name in COMMAND_TABLE},
    )
    fresh = type(main)(
        name=main.name, params=main.params, help=main.help, context_settings=main.context_settings
    )
    fresh.commands = type(main.commands)()  # nothing loaded yet
    env = {"COLUMNS": columns}
    expected = CliRunner(env=env).invoke(eager, ["--help"])
    lazy = CliRunner(env=env).invoke(fresh, ["--help"])
    assert expected.exit_code == lazy.exit_code == 0
    assert lazy.output == expected.output
    assert fresh.commands.loaded == {}  # nothing was imported
    assert "verify" in lazy.output
    assert "demo" in lazy.output


def test_the_commands_mapping_loads_on_lookup():
    """`main.commands` lists names without importing; a lookup imports the module and caches the command."""
    commands = type(main.commands)()
    assert sorted(commands) == sorted(COMMAND_TABLE)
    assert len(commands) == len(COMMAND_TABLE)
    assert commands.get("no-such-command") is None
    assert "list" in commands
    from contactvault.cli import vaultcmds  # noqa: PLC0415

    assert commands["list"] is vaultcmds.list_command
    assert set(commands.loaded) == {"list"}


def test_help_imports_no_command_module():
    """`contactvault --help` imports none of the command modules, nor the vault."""
    loaded = loaded_after(
        """
        from contactvault.cli import main
        try:
            main(["--help"], prog_name="contactvault")
        except SystemExit as exc:
            assert exc.code == 0
        """
    )
    assert loaded["contactvault"] == [
        "contactvault._lazy",
        "contactvault.cli",
        "contactvault.cli._errors",
        "contactvault.errors",
    ]
    heavy = {"httpx", "pydantic", "cryptography", "phonenumbers"}
    assert [top for top in loaded["top"] if top in heavy] == []


@pytest.mark.parametrize("command", [["list"], ["show", "{prefix}"], ["list", "--json"]])
def test_list_and_show_load_only_what_they_need(tmp_path, command):
    """`list` and `show` load their module and the vault: no other command, audit, report or HTTP client."""
    path = tmp_path / "v.db"
    with Vault.create(path, "pw", kdf=KdfParams.insecure_fast_for_tests()) as vault:
        from contactvault import Contact, normalize_phone  # noqa: PLC0415

        (cid,) = vault.add_many(
            [Contact(display_name="Anna", phones=(normalize_phone("+4915155501200", default_region=None),))]
        )
    (tmp_path / "pw").write_text("pw\n", encoding="utf-8")
    args = [a.format(prefix=cid.hex[:8]) for a in command]
    loaded = loaded_after(
        f"""
        from contactvault.cli import main
        try:
            main({[*args, "--vault", str(path), "--passphrase-file", str(tmp_path / "pw")]!r})
        except SystemExit as exc:
            assert exc.code == 0, exc.code
        """,
        env={"CONTACTVAULT_STATE_DIR": str(tmp_path / "state")},
    )
    cli_modules = [m for m in loaded["contactvault"] if m.startswith("contactvault.cli.")]
    assert cli_modules == [
        "contactvault.cli._ahead",  # what starts the key derivation (contactvault.vault.ahead)
        "contactvault.cli._app",
        "contactvault.cli._errors",
        "contactvault.cli._lines",
        "contactvault.cli.vaultcmds",
    ]
    for unwanted in ("contactvault.audit", "contactvault.gdpr", "contactvault.sync.targets.carddav"):
        assert not [m for m in loaded["contactvault"] if m.startswith(unwanted)], unwanted
    assert "httpx" not in loaded["top"]
    assert "vobject" not in loaded["top"]
