"""The ``contactvault`` command: one function per subcommand, errors turned into one line and an exit code.

Exit codes: 0 done; 1 ``--strict`` and some entries could not be imported; 2 usage error; 5 the input
cannot be read as an address book. ``--debug`` shows the traceback of an unexpected error.

Nothing printed here contains a name, number or other personal value unless the user asks for it:
the import summary shows counts and issue messages, which name lines and fields only.
"""

from __future__ import annotations

import functools
import json
import sys
import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal, TypeVar

import click
from rich.console import Console
from rich.table import Table

from contactvault.errors import ContactVaultError, ImportFailed
from contactvault.importers.csv import import_csv
from contactvault.importers.result import ImportResult
from contactvault.importers.vcard import import_vcards

__all__ = ["main"]

EXIT_OK = 0
EXIT_ISSUES = 1
EXIT_USAGE = 2
EXIT_BAD_INPUT = 5
EXIT_INTERNAL = 70  # EX_SOFTWARE from sysexits.h: a bug in contactvault

_F = TypeVar("_F", bound=Callable[..., Any])


def _detect_format(path: Path) -> Literal["vcard", "csv"]:
    """By extension first; otherwise by a look at the first bytes."""
    suffix = path.suffix.lower()
    if suffix in {".vcf", ".vcard"}:
        return "vcard"
    if suffix == ".csv":
        return "csv"
    try:
        with path.open("rb") as stream:
            head = stream.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n").upper()
    except OSError:
        return "vcard"  # the importer reports the problem with the file
    return "vcard" if head.startswith(b"BEGIN:VCARD") else "csv"


def _summary_table(result: ImportResult, region: str) -> Table:
    counts = result.summary()
    table = Table(title=f"Import of {result.source} ({result.format}, default region {region})")
    table.add_column("", style="bold")
    table.add_column("count", justify="right")
    rows = (
        ("entries read", "entries"),
        ("contacts", "contacts"),
        ("phone numbers", "phone_numbers"),
        ("  normalised to E.164", "normalised"),
        ("  kept as typed (not valid)", "not_normalised"),
        ("e-mail addresses", "emails"),
        ("numbers shared by several contacts", "duplicate_groups"),
        ("photos, logos, sounds, keys dropped", "dropped_media"),
        ("issues: not imported", "errors"),
        ("issues: imported, to check", "warnings"),
    )
    for label, key in rows:
        table.add_row(label, str(counts[key]))
    return table


def _fail(console: Console, message: str, code: int) -> None:
    console.print(f"[red]error:[/red] {message}", highlight=False)
    sys.exit(code)


def _guarded(func: _F) -> _F:
    """Turn expected errors into one line and an exit code; unexpected ones too, unless --debug."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401  (click passes anything)
        ctx = click.get_current_context()
        err = Console(stderr=True)
        try:
            return func(*args, **kwargs)
        except ImportFailed as exc:
            _fail(err, str(exc), EXIT_BAD_INPUT)
        except ContactVaultError as exc:
            _fail(err, str(exc), EXIT_USAGE)
        except Exception as exc:  # noqa: BLE001  (users get one line, not a traceback; --debug shows it)
            if ctx.find_root().params.get("debug"):
                traceback.print_exc()
            message = f"unexpected {type(exc).__name__}; run with --debug for details, and please report it"
            _fail(err, message, EXIT_INTERNAL)
        return None

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show the traceback of unexpected errors.")
@click.version_option(package_name="contactvault")
def main(debug: bool) -> None:  # the --debug flag is read through the context by _guarded
    """Keep customer contacts encrypted; hand a messenger only names and numbers it may have."""


@main.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--region",
    required=True,
    help="Region for numbers without a country code, e.g. DE; 'none' reads international numbers only.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "vcard", "csv"]),
    default="auto",
    show_default=True,
    help="vCard (.vcf) or Google/Outlook CSV.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary and issues as JSON.")
@click.option("--strict", is_flag=True, help="Exit with 1 if any card or row could not be imported.")
@_guarded
def import_command(file: Path, region: str, fmt: str, as_json: bool, strict: bool) -> None:
    """Read an address book export and summarise it: contacts, numbers normalised, issues.

    Nothing is stored: this shows what an import would take in and what needs a look.
    """
    default_region = None if region.lower() == "none" else region
    kind = _detect_format(file) if fmt == "auto" else fmt
    importer = import_vcards if kind == "vcard" else import_csv
    result = importer(file, default_region=default_region)
    if as_json:
        payload = {
            "source": result.source,
            "format": result.format,
            "summary": result.summary(),
            "issues": [asdict(issue) for issue in result.issues],
        }
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        console = Console()
        console.print(_summary_table(result, region.upper()))
        for issue in result.issues:  # each message names its line and field, never a value
            colour = "red" if issue.severity == "error" else "yellow"
            console.print(f"[{colour}]{issue.severity:7}[/{colour}] {issue.message}", highlight=False)
        if not result.issues:
            console.print("No issues.")
        console.print("Nothing was stored: this was a read of the file only.")
    if strict and result.errors:
        sys.exit(EXIT_ISSUES)
