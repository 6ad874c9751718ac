"""``contactvault import``: read a vCard or CSV address book into the vault, updating what it already has.

Every contact the file yields is matched against the vault (``Vault.import_contacts``): new ones are
added, known ones updated in place, unchanged ones left alone, ambiguous ones reported; all in one
transaction, streamed: the cards are read (by helper processes for a large file, ``--workers``) while the
contacts are stored, and no more than a few batches of them are held at a time. ``--dry-run`` says what
would change and stores nothing. A long file shows progress bars for reading and storing. The summary
holds counts and messages that name lines, fields and short ids, never a value.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Literal, cast

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from contactvault.cli._app import VaultAccess, stdout, vault_options
from contactvault.cli._errors import EXIT_FINDINGS, guarded, stderr
from contactvault.cli._workers import workers_option
from contactvault.importers.csv import import_csv
from contactvault.importers.result import ImportBatch, ImportResult, ImportTally
from contactvault.importers.vcard import iter_vcards
from contactvault.phones import check_region
from contactvault.vault import ImportReport, OnMatch

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


def summary_table(
    result: ImportResult | ImportTally, region: str, report: ImportReport | None = None
) -> Table:
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
        ("numbers shared by several contacts of the file", "duplicate_groups"),
        ("photos, logos, sounds, keys dropped", "dropped_media"),
        ("issues: not imported", "errors"),
        ("issues: imported, to check", "warnings"),
    )
    for label, key in rows:
        table.add_row(label, str(counts[key]))
    if report is not None:
        done = report.counts()
        verb = "would be " if report.dry_run else ""
        table.add_section()
        table.add_row(f"{verb}added to the vault", str(done["added"]))
        table.add_row(f"{verb}updated in the vault", str(done["updated"]))
        table.add_row("already in the vault, unchanged", str(done["unchanged"]))
        if done["skipped"]:
            table.add_row("already in the vault, left alone (--on-match skip)", str(done["skipped"]))
        table.add_row("ambiguous: not imported, see below", str(done["ambiguous"]))
        table.add_row("added, sharing a number with another contact", str(done["shared_numbers"]))
    return table


def _cards_in(path: Path) -> int:
    """How many cards the file holds: the progress bar's total."""
    count = 0
    with path.open("rb") as stream:
        for line in stream:
            count += line.lstrip(b"\xef\xbb\xbf").strip().upper() == b"BEGIN:VCARD"
    return count


def _read(
    path: Path, kind: str, region: str | None, workers: int | Literal["auto"], progress: Progress | None
) -> tuple[ImportTally, Iterator[ImportBatch]]:
    """The file's batches, read as they are asked for, and the tally that counts them as they pass.

    On a terminal, a progress bar advances card by card.
    """
    if kind == "csv":  # CSV exports are small; the importer names their layout; read in one process
        result = import_csv(path, default_region=region)
        tally = ImportTally(source=result.source, format=result.format)
        whole = ImportBatch(result.contacts, result.issues, result.entries, result.dropped)
        return tally, iter([whole])
    batches = iter_vcards(path, default_region=region, workers=workers, baselines=True)  # as the vault keeps
    tally = ImportTally(source=path.name, format="vcard")
    if progress is None:
        return tally, batches
    task = progress.add_task("reading", total=_cards_in(path))

    def counted() -> Iterator[ImportBatch]:
        try:
            for batch in batches:
                progress.advance(task, batch.entries)
                yield batch
        finally:
            _close(batches)

    return tally, counted()


def _close(batches: Iterator[ImportBatch]) -> None:
    """Stop reading: a generator is closed at once, so that helper processes stop with it."""
    close = getattr(batches, "close", None)
    if close is not None:
        close()


@contextlib.contextmanager
def _progress(path: Path) -> Iterator[Progress | None]:
    """A progress display on a terminal for a file over 1 MiB (reading, then storing); else none."""
    console = stderr()
    if not console.is_terminal or path.stat().st_size < _PROGRESS_BYTES:
        yield None
        return
    columns = (
        TextColumn("{task.description:>8}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        yield progress


def _store(
    access: VaultAccess,
    tally: ImportTally,
    batches: Iterator[ImportBatch],
    on_match: OnMatch,
    dry_run: bool,
    progress: Progress | None,
) -> ImportReport | None:
    """Stream the file's contacts into the vault, matched and stored (a dry run: matched) as they are read.

    Memory stays flat in the file's size. ``None`` for a dry run without a vault (the file is only read).
    """
    if dry_run and not access.exists():
        for _ in tally.contacts_of(batches):
            pass  # nothing to compare with: the summary of the file is all there is
        return None
    with access.open() as vault:
        contacts = tally.contacts_of(batches)
        if progress is None:
            return vault.import_contacts(contacts, on_match=on_match, dry_run=dry_run)
        task = progress.add_task("storing" if not dry_run else "matching", total=None)

        def stored(done: int) -> None:  # the bar's end is known once the file is read
            progress.update(task, completed=done, total=max(done, tally.entries))

        return vault.import_contacts(contacts, on_match=on_match, dry_run=dry_run, progress=stored)


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
@click.option(
    "--on-match",
    type=click.Choice(["update", "skip"]),
    default="update",
    show_default=True,
    help="What to do with a contact the vault already has: update it from the file, or leave it alone.",
)
@click.option("--dry-run", is_flag=True, help="Only read the file and say what would change; store nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary and issues as JSON.")
@workers_option(
    "Helper processes that read the cards while this one stores them; 0: one process; auto: one fewer "
    "than the cores, for files of 4 MiB or more."
)
@click.option(
    "--strict", is_flag=True, help="Exit with 1 if any card or row could not be imported, or was ambiguous."
)
@vault_options
@guarded
def import_command(
    file: Path,
    region: str,
    fmt: str,
    on_match: str,
    dry_run: bool,
    as_json: bool,
    workers: int | Literal["auto"],
    strict: bool,
    access: VaultAccess,
) -> None:
    """Import an address book export (vCard 2.1/3.0/4.0, Google or Outlook CSV) into the vault.

    Contacts the vault already has (same UID or external id, or the same number with a compatible name)
    are updated from the file instead of added again: importing the same file twice changes nothing.
    Every card becomes a contact or an issue naming its line. With --dry-run nothing is stored.
    """
    default_region = None if region.lower() == "none" else check_region(region)
    kind = _detect_format(file) if fmt == "auto" else fmt
    if not dry_run:
        access.require()  # before the file is read
    with _progress(file) as progress:
        result, batches = _read(file, kind, default_region, workers, progress)
        try:
            report = _store(access, result, batches, cast("OnMatch", on_match), dry_run, progress)
        finally:
            _close(batches)  # storing failed midway: no helper process reads on
    if result.fallback is not None:
        stderr().print(f"note: {result.fallback}", highlight=False)
    if as_json:
        payload = {
            "source": result.source,
            "format": result.format,
            "summary": result.summary(),
            "vault": None if report is None else report.counts(),
            "dry_run": dry_run,
            "issues": [asdict(issue) for issue in result.issues],
            "ambiguous": []
            if report is None
            else [
                {"line": a.line, "reason": a.reason, "candidates": [str(c) for c in a.candidates]}
                for a in report.ambiguous
            ],
        }
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        _print_summary(result, region.upper(), report, access, dry_run)
    if strict and (result.errors or (report is not None and report.ambiguous)):
        sys.exit(EXIT_FINDINGS)


def _print_summary(
    result: ImportResult | ImportTally,
    region: str,
    report: ImportReport | None,
    access: VaultAccess,
    dry_run: bool,
) -> None:
    console = stdout()
    console.print(summary_table(result, region, report))
    for issue in result.issues:  # each message names its line and field, never a value
        colour = "red" if issue.severity == "error" else "yellow"
        console.print(Text.assemble((f"{issue.severity:7}", colour), " ", issue.message))
    for card in report.ambiguous if report is not None else ():
        console.print(Text.assemble(("ambiguous", "yellow"), " ", card.message()))
    if not result.issues and (report is None or not report.ambiguous):
        console.print("No issues.")
    if dry_run:
        console.print("Nothing was stored (--dry-run).")
    elif report is not None:
        done = report.counts()
        console.print(
            f"{done['added']} added, {done['updated']} updated, {done['unchanged'] + done['skipped']} "
            f"already there, in {access.name}."
        )
    if report is not None and report.shared_numbers:
        console.print("Some contacts share a number: `contactvault duplicates` lists them to merge.")


COMMANDS: list[click.Command] = [import_command]
