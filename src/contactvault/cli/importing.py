"""``contactvault import``: read a vCard or CSV address book into the vault, with a summary of issues.

``--dry-run`` only reads the file and prints the summary; nothing is stored. Otherwise every contact the
file yields is stored in one transaction (all or none), after a progress bar for long files. The summary
holds counts and issue messages, which name lines and fields, never a value.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Literal

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from contactvault.cli._app import EXIT_FINDINGS, VaultAccess, guarded, stderr, stdout, vault_options
from contactvault.importers.csv import import_csv
from contactvault.importers.result import ImportBatch, ImportResult
from contactvault.importers.vcard import iter_vcards
from contactvault.phones import check_region

__all__ = ["COMMANDS", "import_command", "summary_table"]

_PROGRESS_BYTES = 1 << 20
"""Files larger than this show a progress bar (on a terminal)."""


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


def summary_table(result: ImportResult, region: str) -> Table:
    """The import summary as a table: counts only, never a value from the file."""
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


def _cards_in(path: Path) -> int:
    """How many cards the file holds: the progress bar's total."""
    with path.open("rb") as stream:
        data = stream.read()
    return data.upper().count(b"BEGIN:VCARD")


def _read(path: Path, kind: str, region: str | None) -> ImportResult:
    """Read the whole file into an ImportResult, with a progress bar for long files on a terminal."""
    if kind == "csv":  # CSV exports are small; the importer names their layout
        return import_csv(path, default_region=region)
    batches = iter_vcards(path, default_region=region)
    console = stderr()
    if not console.is_terminal or path.stat().st_size < _PROGRESS_BYTES:
        return ImportResult.collect(batches, source=path.name, format="vcard")
    columns = (
        TextColumn("reading {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(path.name, total=_cards_in(path))

        def counted() -> Iterator[ImportBatch]:
            for batch in batches:
                progress.advance(task, batch.entries)
                yield batch

        return ImportResult.collect(counted(), source=path.name, format="vcard")


@click.command("import")
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
@click.option("--dry-run", is_flag=True, help="Only read the file and summarise it; store nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary and issues as JSON.")
@click.option("--strict", is_flag=True, help="Exit with 1 if any card or row could not be imported.")
@vault_options
@guarded
def import_command(
    file: Path, region: str, fmt: str, dry_run: bool, as_json: bool, strict: bool, access: VaultAccess
) -> None:
    """Import an address book export (vCard 2.1/3.0/4.0, Google or Outlook CSV) into the vault.

    Every card becomes a contact or an issue naming its line. With --dry-run nothing is stored.
    """
    default_region = None if region.lower() == "none" else check_region(region)
    kind = _detect_format(file) if fmt == "auto" else fmt
    result = _read(file, kind, default_region)
    stored = 0
    if not dry_run:
        with access.open() as vault:
            stored = len(vault.add_many(result.contacts))  # one transaction: all of them or none
    if as_json:
        payload = {
            "source": result.source,
            "format": result.format,
            "summary": result.summary(),
            "stored": stored,
            "issues": [asdict(issue) for issue in result.issues],
        }
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        console = stdout()
        console.print(summary_table(result, region.upper()))
        for issue in result.issues:  # each message names its line and field, never a value
            colour = "red" if issue.severity == "error" else "yellow"
            console.print(f"[{colour}]{issue.severity:7}[/{colour}] {issue.message}")
        if not result.issues:
            console.print("No issues.")
        if dry_run:
            console.print("Nothing was stored (--dry-run): this was a read of the file only.")
        else:
            console.print(f"Stored {stored} contacts in {access.path.name}.")
    if strict and result.errors:
        sys.exit(EXIT_FINDINGS)


COMMANDS: list[click.Command] = [import_command]
