"""Attendance pages parsed by worker processes, ahead of the ingest that needs them.

Attendance records are nine in ten records of an extract, and parsing their JSON is most of an
ingest's work. Their pages go to ``WORKERS`` worker processes as soon as the ingest starts
(parsing needs nothing the ingest learns); each worker parses a page and checks column-wise
what a record can be checked for on its own (``attendance_columns``). The ingest takes the
pages back in file order, whatever order they finish in, so the snapshot is the same with any
number of workers; what needs the extract's other resources (known pupils and lessons,
pseudonyms, ids shadowed by a later extract) is checked there.

A page that is not clean in a worker's eyes comes back as ``None``, and the ingest reads it
again record by record, which names each bad record's field. At most ``AHEAD`` pages per worker
are parsed and waiting, so memory stays bounded whatever the size of the extract. Workers are
spawned (a fresh interpreter, never a fork of a process running Polars' threads); with one
worker, or where processes cannot be started, pages are parsed here as they are needed.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import polars as pl

from linkage.sources.ss12000._reader import read_page

WORKERS = os.cpu_count() or 1
AHEAD = 2  # pages parsed and waiting, per worker

MINUTES = (
    "attendanceMinutes",
    "validAbsenceMinutes",
    "invalidAbsenceMinutes",
    "otherAttendanceMinutes",
)
_ID_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z._:-]{0,127}$"  # as ``_fields.identifier``
_SCHEMA = {
    "id": pl.String,
    "lesson": pl.String,
    "student": pl.String,
    "reported": pl.Boolean,
    **dict.fromkeys(MINUTES, pl.Int64),
    "stamp": pl.String,
}


def attendance_columns(records: list[Any]) -> pl.DataFrame | None:
    """A page's attendance records column-wise, when every one is well formed on its own: an
    object with an id, a lesson and a pupil reference, ``isReported`` true or false, whole
    minutes not below 0 (some, when reported) and an RFC 3339 ``reportedTimestamp`` if any.
    Otherwise None (the record-by-record path then says what is wrong).

    Columns: ``id``, ``lesson``, ``student`` (source ids), ``reported``, the four minutes
    under their SS 12000 names, ``reported_at`` (UTC) and ``source_position`` (1-based)."""
    if not records:
        return None
    try:
        frame = pl.DataFrame(
            {
                "id": [r["id"] for r in records],
                "lesson": [r["calendarEvent"]["id"] for r in records],
                "student": [r["student"]["id"] for r in records],
                "reported": [r["isReported"] for r in records],
                **{key: [r.get(key) for r in records] for key in MINUTES},
                "stamp": [r.get("reportedTimestamp") for r in records],
            },
            schema=_SCHEMA,
            strict=True,
        )
    except (KeyError, TypeError, AttributeError, pl.exceptions.PolarsError):
        return None
    checked = frame.with_columns(
        reported_at=pl.col("stamp").str.to_datetime(
            "%Y-%m-%dT%H:%M:%S%:z", time_zone="UTC", strict=False
        ),
        any_minutes=pl.any_horizontal(pl.col(list(MINUTES[:3])).is_not_null()),
    )
    bad = checked.select(
        pl.any_horizontal(pl.col("id", "lesson", "student", "reported").is_null()).any()
        | ~pl.col("id").str.contains(_ID_PATTERN).all()
        | ~pl.col("lesson").str.contains(_ID_PATTERN).all()
        | (pl.col("stamp").is_not_null() & pl.col("reported_at").is_null()).any()
        | (pl.col("reported") & ~pl.col("any_minutes")).any()
        | pl.any_horizontal(pl.col(list(MINUTES)) < 0).any()
    ).item()
    if bad:
        return None
    return checked.select(
        "id",
        "lesson",
        "student",
        "reported",
        *MINUTES,
        pl.col("reported_at").dt.cast_time_unit("ms"),
        pl.int_range(1, pl.len() + 1, dtype=pl.Int32).alias("source_position"),
    )


def parse_attendance(root: Path, path: Path) -> pl.DataFrame | None:
    """One attendance page file, parsed and checked (``attendance_columns``); run by a worker."""
    return attendance_columns(read_page(root, path, "attendances").records)


class AttendancePages:
    """The attendance pages of ``files`` (each ``(extract root, file)``), parsed ahead by
    worker processes and handed back in order: ``(root, file, columns or None)``.

    Use it as a context manager: leaving it stops the workers, also when the ingest fails."""

    def __init__(self, files: list[tuple[Path, Path]]) -> None:
        self._files = files
        self._executor: ProcessPoolExecutor | None = None
        workers = min(WORKERS, len(files))
        if workers > 1:
            try:
                self._executor = ProcessPoolExecutor(
                    max_workers=workers, mp_context=multiprocessing.get_context("spawn")
                )
            except (OSError, NotImplementedError):  # no process support here: parse in-process
                self._executor = None
        self._queue: deque[Future[pl.DataFrame | None]] = deque()
        self._next = 0
        self._ahead = AHEAD * workers
        self._fill()

    def _fill(self) -> None:
        while self._executor is not None and self._next < len(self._files):
            if len(self._queue) >= self._ahead:
                return
            try:
                self._queue.append(
                    self._executor.submit(parse_attendance, *self._files[self._next])
                )
            except BrokenProcessPool:
                self._stop()
                return
            self._next += 1

    def __iter__(self) -> Iterator[tuple[Path, Path, pl.DataFrame | None]]:
        for root, path in self._files:
            yield root, path, self._take(root, path)
            self._fill()

    def _take(self, root: Path, path: Path) -> pl.DataFrame | None:
        if self._queue:  # the head of the queue is this file's page
            future = self._queue.popleft()
            try:
                return future.result()
            except BrokenProcessPool:  # workers could not start or died: the rest here
                self._stop()
                self._queue.clear()
        return parse_attendance(root, path)

    def _stop(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop()
