"""``medler synth`` and ``medler demo``: the synthetic municipality, shown to a person."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from api.cli._console import stdout_console
from linkage.sources.synthetic import SynthConfig, SynthSummary, generate_municipality


def progress_bar(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


def _generate(config: SynthConfig, out: Path, *, overwrite: bool, console: Console) -> SynthSummary:
    with progress_bar(console) as progress:
        task = progress.add_task("lessons and attendance", total=None)

        def report(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return generate_municipality(config, out, overwrite=overwrite, progress=report)


def summary_table(summary: SynthSummary) -> Table:
    table = Table(title="Synthetic municipality", show_header=True, header_style="bold")
    table.add_column("what")
    table.add_column("how many", justify="right")
    for label, value in summary.headline_rows():
        table.add_row(label, value)
    return table


def run_synth(
    *,
    out: Path,
    students: int,
    seed: int,
    weeks: int | None,
    school_year: int,
    workers: int | None,
    overwrite: bool,
    deliveries: int = 0,
) -> None:
    config = SynthConfig(
        students=students,
        seed=seed,
        weeks=weeks,
        school_year=school_year,
        workers=workers,
        deliveries=deliveries,
    )
    console = Console(stderr=True)
    summary = _generate(config, out, overwrite=overwrite, console=console)
    stdout_console().print(summary_table(summary))
    print(f"Wrote {summary.files} files ({summary.bytes / 1e6:.1f} MB) to {out}")
