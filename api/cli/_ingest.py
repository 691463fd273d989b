"""``medler ingest``: a source extract into a new pseudonymised snapshot."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.cli._console import stdout_console
from linkage import IngestReport, ingest_extract, ingest_register
from medler.errors import UsageError
from pseudonymise import Country, IdPolicy, Unlinkable


def id_policy(
    *, country: str, unlinkable: str, allow_interim: bool, allow_coordination: bool
) -> IdPolicy:
    """The ID policy of the command line's options; a value it does not know is named."""
    if country.upper() not in {c.value for c in Country}:
        raise UsageError(
            f"--country is one of {', '.join(c.value for c in Country)}, not {country!r}"
        )
    if unlinkable.lower() not in {u.value for u in Unlinkable}:
        raise UsageError(
            f"--unlinkable is one of {', '.join(u.value for u in Unlinkable)}, not {unlinkable!r}"
        )
    return IdPolicy(
        country=Country(country.upper()),
        on_unlinkable=Unlinkable(unlinkable.lower()),
        allow_interim=allow_interim,
        allow_coordination=allow_coordination,
    )


def reading_spinner() -> Progress:
    """The transient display, on standard error, of what an ingest is reading."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def ingest_with_progress(
    source_dir: Path,
    data_dir: Path,
    *,
    key_file: Path | None,
    source_format: str = "auto",
    source_name: str | None = None,
    updates: list[Path] | None = None,
    policy: IdPolicy | None = None,
    compat: list[str] | None = None,
    strict: bool = False,
    delivery: bool = False,
) -> IngestReport:
    with reading_spinner() as progress:
        task = progress.add_task("reading", total=None)

        def report(resource: str, records: int) -> None:
            progress.update(task, description=f"{resource}: {records:,} records read")

        return ingest_extract(
            source_dir,
            data_dir,
            key_file=key_file,
            source_format=source_format,
            source_name=source_name,
            progress=report,
            updates=updates or [],
            policy=policy,
            compat=compat or [],
            strict=strict,
            delivery=delivery,
        )


def run_ingest(
    *,
    source_dir: Path,
    updates: list[Path],
    data_dir: Path,
    key_file: Path | None,
    source_format: str,
    source_name: str | None,
    policy: IdPolicy | None = None,
    compat: list[str] | None = None,
    strict: bool = False,
    delivery: bool = False,
) -> None:
    result = ingest_with_progress(
        source_dir,
        data_dir,
        key_file=key_file,
        source_format=source_format,
        source_name=source_name,
        updates=updates,
        policy=policy,
        compat=compat,
        strict=strict,
        delivery=delivery,
    )
    print_ingest_report(result, data_dir)
    stdout_console().print(f"ID policy: {(policy or IdPolicy()).describe()}")


def run_ingest_register(*, kind: str, path: Path, data_dir: Path, key_file: Path | None) -> None:
    print_ingest_report(ingest_register(kind, path, data_dir, key_file=key_file), data_dir)


def print_ingest_report(result: IngestReport, data_dir: Path) -> None:
    """An ingest's records per resource, its quarantine, delivery, warnings and alerts."""
    table = Table(title=f"Snapshot {result.snapshot_id} ({result.standard})", header_style="bold")
    changes = any(c.superseded or c.deleted for c in result.counts.values())
    columns: tuple[str, ...] = ("resource", "read", "accepted", "quarantined")
    columns += ("superseded", "deleted") if changes else ()
    for column in columns:
        table.add_column(column, justify="left" if column == "resource" else "right")
    for name, c in result.counts.items():
        cells = [c.read, c.accepted, c.quarantined] + ([c.superseded, c.deleted] if changes else [])
        table.add_row(name, *(f"{x:,}" for x in cells))
    console = stdout_console()
    console.print(table)
    console.print(
        f"{result.quarantine_entries:,} entries in the quarantine table "
        f"({result.kept_local:,} people kept with a source-local pseudonym). "
        f"Data directory: {data_dir}"
    )
    if result.delivery is not None:
        d = result.delivery
        held = (
            f"lessons from {d['first_day']} to {d['last_day']}"
            if d["first_day"] is not None
            else "no lessons"
        )
        if d.get("late_registrations"):
            held += f", and {d['late_registrations']:,} late registrations of earlier lessons"
        console.print(
            f"Delivery {d['folder']} added onto snapshot {d['onto']}: {held} "
            f"(months {', '.join(d['months']) or 'none'}); "
            f"tables changed: {', '.join(d['changed']) or 'none'}; every other file shared",
            markup=False,
            highlight=False,
        )
        if "read_again" in d:
            console.print(
                "The extract's other resources were not read again: none of their files changed"
                if d["read_again"] is None
                else f"The extract's other resources were read again: {d['read_again']}",
                markup=False,
                highlight=False,
            )
    for warning in result.warnings:
        console.print(f"warning: {warning}", markup=False, highlight=False)
    for alert in result.alerts:
        console.print(f"WARNING: {alert}", style="bold red", markup=False, highlight=False)
    if result.alerts:
        console.print(
            f"WARNING: {len(result.alerts)} of the above mean research tables will be empty or "
            "incomplete; 'medler ingest --strict' refuses such an ingest",
            style="bold red",
            markup=False,
            highlight=False,
        )
