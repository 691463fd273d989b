"""``medler build``: the current snapshot into a new research snapshot. Its own module, so the
command loads what a build needs (ibis, DuckDB) and not what an ingest does."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from api.cli._console import stdout_console
from linkage._build import BuildReport, build_research_tables

__all__ = ["build_research_tables", "print_build_report"]


def print_build_report(report: BuildReport, data_dir: Path) -> None:
    """The research tables built, their rows, and why any is empty."""
    table = Table(title=f"Research snapshot {report.snapshot_id}", header_style="bold")
    table.add_column("research table")
    table.add_column("rows", justify="right")
    table.add_column("empty because")
    for name, rows in report.rows.items():
        table.add_row(name, f"{rows:,}", report.empty.get(name, ""))
    console = stdout_console()
    console.print(table)
    console.print(
        f"Built from snapshot {report.built_from}, on {report.basis}. Data directory: {data_dir}"
    )
    for note in report.notes:
        console.print(f"note: {note}", markup=False, highlight=False)
    for name, why in report.empty.items():
        console.print(
            f"WARNING: {name} is empty: {why}", style="bold red", markup=False, highlight=False
        )
    done = report.incremental
    if done is not None and "full" in done:
        console.print(f"Built in full: {done['full']}.", markup=False, highlight=False)
    elif done is not None:
        console.print(
            f"Incremental: recomputed the months {', '.join(done['months'])} (terms "
            f"{', '.join(done['terms'])}); every other row is research snapshot {done['onto']}'s.",
            markup=False,
            highlight=False,
        )
