"""The synthetic municipality: a stand-in for a school system, with known truths.

``generate_municipality`` writes a whole school year (or its first weeks) of a municipality's
compulsory schools as SS 12000 v2.1 JSON, shaped as the API's paged list responses, plus a
teacher register and a student register keyed by identity number, plus ``truth.json`` with the
planted parameters and the figures they imply. Output is byte-identical for a seed. With
``deliveries``, the lessons, attendance and absence notices of the last weeks are written as
weekly deliveries instead (``deliveries/week-NN/``, one SS 12000 incremental extract per
teaching week ``NN``), to be added onto the extract's snapshot one by one.

Modules
- ``_calendar``: teaching days, terms, holidays, UTC offsets.
- ``_curriculum``: subjects, weekly timetables, grade bands, who teaches what.
- ``_ids``: identity numbers that cannot belong to a real person (and planted dirt).
- ``_population``: schools, pupils, classes and groups, teachers and certification, activities.
- ``_assemble``: ``assemble_municipality``, the population drawn step by step from the seed.
- ``_lessons``: lessons, attendance and absence notices, one chunk at a time.
- ``_render`` / ``_records``: SS 12000 JSON for the bulk and the small resources; registers.
- ``_writer``: paged list files. ``_truth``: truth.json. ``_uuids``: deterministic UUIDs.

Zone 0: this package makes raw identity numbers; nothing outside the source adapters and
``pseudonymise`` may read what it writes.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from linkage.sources.synthetic import _records, _writer
from linkage.sources.synthetic._assemble import assemble_municipality
from linkage.sources.synthetic._calendar import SchoolYear
from linkage.sources.synthetic._lessons import (
    Chunk,
    ChunkContext,
    ChunkResult,
    draw_chunk,
    plan_chunks,
)
from linkage.sources.synthetic._population import Municipality
from linkage.sources.synthetic._truth import TruthAccumulator
from medler import __version__
from medler.errors import OutputLocationError, UsageError

__all__ = [
    "DELIVERIES",
    "SS12000_RESOURCES",
    "SynthConfig",
    "SynthSummary",
    "generate_municipality",
]

MIN_STUDENTS = 50
MAX_STUDENTS = 1_000_000
# The folder of the weekly deliveries (``--deliveries``), beside ``ss12000``.
DELIVERIES = "deliveries"
# Below this many pupils the lessons are drawn in this process: starting workers costs more.
PARALLEL_FROM_STUDENTS = 5000

# Folder name (the API endpoint) → schema name of the list response in the specification.
SS12000_RESOURCES: dict[str, str] = {
    "organisations": "Organisations",
    "persons": "PersonsExpanded",
    "duties": "Duties",
    "groups": "GroupsExpanded",
    "syllabuses": "Syllabuses",
    "activities": "Activities",
    "calendarEvents": "CalendarEvents",
    "attendances": "Attendances",
    "absences": "Absences",
}


@dataclass(frozen=True)
class SynthConfig:
    """What to generate. Validated when built."""

    students: int = 2000
    seed: int = 1
    weeks: int | None = None
    school_year: int = 2026
    workers: int | None = None
    deliveries: int = 0  # the last so many teaching weeks, each as a weekly delivery

    def __post_init__(self) -> None:
        if not MIN_STUDENTS <= self.students <= MAX_STUDENTS:
            raise UsageError(
                f"--students must be between {MIN_STUDENTS} and {MAX_STUDENTS:,}, "
                f"not {self.students}: a municipality needs at least one school of pupils"
            )
        if self.weeks is not None and not 1 <= self.weeks <= 37:
            raise UsageError(f"--weeks must be between 1 and 37 teaching weeks, not {self.weeks}")
        if self.workers is not None and self.workers < 1:
            raise UsageError(f"--workers must be at least 1, not {self.workers}")
        if not 2000 <= self.school_year <= 2100:
            raise UsageError(
                f"--school-year must be a year from 2000 to 2100, not {self.school_year}"
            )
        if self.seed < 0:
            raise UsageError(f"--seed must be zero or positive, not {self.seed}")
        if not 0 <= self.deliveries < (self.weeks or 37):
            raise UsageError(
                f"--deliveries must be from 0 to one less than the weeks generated "
                f"({(self.weeks or 37) - 1}), not {self.deliveries}: the first weeks are the "
                "extract that the weekly deliveries add onto"
            )


@dataclass
class SynthSummary:
    """What was written: per-resource record and page counts, files, bytes and the truth."""

    out: Path
    records: dict[str, int] = field(default_factory=dict)
    pages: dict[str, int] = field(default_factory=dict)
    files: int = 0
    bytes: int = 0
    truth: dict[str, Any] = field(default_factory=dict)

    def headline_rows(self) -> list[tuple[str, str]]:
        counts = self.truth["counts"]
        figures = self.truth["figures"]
        rows = [
            ("schools", f"{counts['schools']:,}"),
            ("pupils", f"{counts['pupils']:,}"),
            (
                "teachers (+ substitutes)",
                f"{counts['teachers']:,} (+{counts['substitute_teachers']:,})",
            ),
            ("classes / teaching groups", f"{counts['classes']:,} / {counts['teaching_groups']:,}"),
            ("teaching days", f"{counts['teaching_days']:,}"),
        ]
        rows += [
            (f"SS 12000 {name}", f"{n:,} in {self.pages[name]} pages")
            for name, n in self.records.items()
        ]
        pct = [
            ("absence, over reported lessons", "absence_rate_over_reported"),
            ("lessons not reported", "unreported_lesson_share"),
            ("teaching by a certified teacher", "certified_teaching_share"),
            ("teacher turnover", "teacher_turnover_rate"),
            ("pupils with persistent absence (≥ 10 %)", "persistent_absence_share"),
        ]
        rows += [(label, f"{100 * (figures[key] or 0):.1f} %") for label, key in pct]
        return rows


# --- worker processes --------------------------------------------------------------------
_CONTEXT: ChunkContext | None = None


def _init_worker(m: Municipality) -> None:
    global _CONTEXT  # noqa: PLW0603 - one read-only context per worker process
    _CONTEXT = ChunkContext(m)


def _draw(chunk: Chunk) -> ChunkResult:
    assert _CONTEXT is not None
    return draw_chunk(_CONTEXT, chunk)


def _results(m: Municipality, chunks: list[Chunk], workers: int) -> Iterator[ChunkResult]:
    if workers == 1:
        context = ChunkContext(m)
        for chunk in chunks:
            yield draw_chunk(context, chunk)
        return
    # "spawn": a forked child of a process that has used polars' thread pool can deadlock.
    with multiprocessing.get_context("spawn").Pool(
        workers, initializer=_init_worker, initargs=(m,)
    ) as pool:
        yield from pool.imap(_draw, chunks, chunksize=1)


def _prepare_output(out: Path, overwrite: bool) -> Path:
    """A fresh staging folder beside ``out``; refuses to clobber what is not an extract."""
    if out.exists() and not out.is_dir():
        raise OutputLocationError(f"--out {out} is a file, not a folder; choose a folder")
    if out.is_dir() and any(out.iterdir()):
        if not (out / "truth.json").is_file():
            raise OutputLocationError(
                f"--out {out} already holds files that are not a synthetic extract; "
                "choose an empty or new folder"
            )
        if not overwrite:
            raise OutputLocationError(
                f"--out {out} already holds a synthetic extract; pass --overwrite to replace it"
            )
    staging = out.with_name(f".{out.name}.partial")
    try:
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
        probe = staging / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise OutputLocationError(
            f"cannot write to --out {out} ({error.strerror or error}); "
            "choose a folder you may write to"
        ) from error
    return staging


def generate_municipality(
    config: SynthConfig,
    out: Path,
    *,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> SynthSummary:
    """Write the synthetic municipality of ``config`` to ``out``; see the module docstring.

    The extract is written to a staging folder and moved into place at the end, so ``out``
    holds either the previous extract or the complete new one.
    """
    out = Path(out)
    staging = _prepare_output(out, overwrite)
    year = SchoolYear(config.school_year, config.weeks)
    m = assemble_municipality(config.students, config.seed, year)
    ss = staging / "ss12000"
    summary = SynthSummary(out=out)

    small = {
        "organisations": _records.organisations(m),
        "persons": _records.persons(m),
        "duties": _records.duties(m),
        "groups": _records.groups(m),
        "syllabuses": _records.syllabuses(m),
        "activities": _records.activities(m),
    }
    for name, records in small.items():
        n, pages, size = _writer.write_small_resource(ss / name, records)
        summary.records[name], summary.pages[name] = n, pages
        summary.files += pages
        summary.bytes += size

    weekly_from = year.n_weeks - config.deliveries if config.deliveries else None
    chunks = plan_chunks(m, weekly_from)
    # each chunk's pages go to the extract, or to the delivery of its week
    folders = [
        ss
        if weekly_from is None or year.week_of_day[c.days[0]] < weekly_from
        else staging / DELIVERIES / f"week-{year.week_of_day[c.days[0]] + 1:02d}"
        for c in chunks
    ]
    pages_in = {folder: folders.count(folder) for folder in folders}
    written: dict[Path, int] = dict.fromkeys(pages_in, 0)
    workers = config.workers or (
        min(os.cpu_count() or 1, len(chunks)) if config.students >= PARALLEL_FROM_STUDENTS else 1
    )
    bulk = {
        "calendarEvents": "calendar_events",
        "attendances": "attendances",
        "absences": "absences",
    }
    for name in bulk:
        for folder in pages_in:
            (folder / name).mkdir(parents=True)
        summary.records[name], summary.pages[name] = 0, len(chunks)
    truth = TruthAccumulator(m)
    for done, result in enumerate(_results(m, chunks, workers), start=1):
        folder = folders[result.number]
        written[folder] += 1
        for name, attribute in bulk.items():
            text = getattr(result, attribute)
            summary.bytes += _writer.write_page(
                folder / name, written[folder], text, written[folder] == pages_in[folder]
            )
            summary.files += 1
        summary.records["calendarEvents"] += result.counts["lessons"]
        summary.records["attendances"] += result.counts["attendance_records"]
        summary.records["absences"] += result.counts["absence_notices"]
        truth.add(result, chunks[result.number].school)
        if progress is not None:
            progress(done, len(chunks))

    registers = staging / "registers"
    registers.mkdir()
    for filename, text in (
        ("teacher_register.csv", _records.teacher_register_csv(m)),
        ("student_register.csv", _records.student_register_csv(m)),
    ):
        data = text.encode()
        (registers / filename).write_bytes(data)
        summary.files += 1
        summary.bytes += len(data)

    summary.truth = {
        "generator": {"name": "medler synth", "version": __version__},
        "config": {
            "students": config.students,
            "seed": config.seed,
            "weeks": config.weeks,
            "school_year": f"{year.start_year}/{year.start_year + 1}",
            "deliveries": config.deliveries,
        },
        "layout": {
            "ss12000": {
                name: {
                    "schema": schema,
                    "records": summary.records[name],
                    "pages": summary.pages[name],
                }
                for name, schema in SS12000_RESOURCES.items()
            },
            "registers": ["registers/teacher_register.csv", "registers/student_register.csv"],
        },
        **truth.finish({}),
    }
    data = (json.dumps(summary.truth, indent=2, ensure_ascii=False) + "\n").encode()
    (staging / "truth.json").write_bytes(data)
    summary.files += 1
    summary.bytes += len(data)

    if out.exists():
        shutil.rmtree(out)
    staging.rename(out)
    return summary
