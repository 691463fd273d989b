"""Lesson and attendance pages parsed by worker processes, ahead of the ingest that needs them.

Attendance records are nine in ten records of an extract, and parsing their JSON is most of an
ingest's work; lessons come next. Their pages go to ``WORKERS`` worker processes as soon as the
ingest starts (parsing needs nothing the ingest learns); each worker parses a page and checks
column-wise what a record can be checked for on its own (``_columns``). The ingest takes the
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

import hashlib
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import msgspec

from linkage.sources.ss12000._columns import (
    Columns,
    attendance_columns,
    decode_page,
    lesson_columns,
)
from linkage.sources.ss12000._reader import read_page
from medler._processes import exit_with_parent

WORKERS = os.cpu_count() or 1
AHEAD = 2  # pages parsed and waiting, per worker

# The resources whose pages go to the workers, and how a page is taken apart there.
COLUMNS: dict[str, Callable[[list[Any]], Columns | None]] = {
    "calendarEvents": lesson_columns,
    "attendances": attendance_columns,
}


def parse_page(root: Path, path: Path, resource: str) -> Columns | None:
    """One page file, parsed and checked column-wise (``_columns``). Decoded straight into
    typed records where it can be; else parsed, and its fields checked."""
    return _parsed(root, path, resource)[0]


def _parsed(root: Path, path: Path, resource: str) -> tuple[Columns | None, str | None]:
    """``parse_page``'s columns, and the file's sha256 (for the manifest; None if the file
    could not be read: the reader then says why). Run by a worker."""
    try:
        data = path.read_bytes()
    except OSError:
        return COLUMNS[resource](read_page(root, path, resource).records), None
    digest = hashlib.sha256(data).hexdigest()
    try:
        if not data.isascii():
            data.decode("utf-8")  # msgspec skips the fields it does not read unchecked
        return decode_page(resource, data), digest
    except (msgspec.MsgspecError, ValueError, RecursionError):
        # not decoded so (a flaw, bytes that are not UTF-8, nesting too deep for msgspec):
        # parsed as any other page, where the reader names a file that is not JSON
        return COLUMNS[resource](read_page(root, path, resource).records), digest


class PrefetchedPages:
    """The pages of ``files`` (each ``(extract root, file, resource)``), parsed ahead by
    worker processes and handed back in order: ``(root, file, columns or None)``. The files'
    sha256, taken as the workers read them, are in ``hashes``.

    Use it as a context manager: leaving it stops the workers, also when the ingest fails."""

    def __init__(self, files: list[tuple[Path, Path, str]]) -> None:
        self._files = files
        self._executor: ProcessPoolExecutor | None = None
        workers = min(WORKERS, len(files))
        if workers > 1:
            try:
                self._executor = ProcessPoolExecutor(
                    max_workers=workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=exit_with_parent,  # a killed ingest leaves no worker behind
                    initargs=(os.getpid(),),
                )
            except (OSError, NotImplementedError):  # no process support here: parse in-process
                self._executor = None
        self._queue: deque[Future[tuple[Columns | None, str | None]]] = deque()
        self.hashes: dict[Path, str] = {}
        self._next = 0
        self._ahead = AHEAD * workers
        self._fill()

    def _fill(self) -> None:
        while self._executor is not None and self._next < len(self._files):
            if len(self._queue) >= self._ahead:
                return
            try:
                self._queue.append(self._executor.submit(_parsed, *self._files[self._next]))
            except BrokenProcessPool:
                self._stop()
                return
            self._next += 1

    def __iter__(self) -> Iterator[tuple[Path, Path, Columns | None]]:
        for root, path, resource in self._files:
            yield root, path, self._take(root, path, resource)
            self._fill()

    def _take(self, root: Path, path: Path, resource: str) -> Columns | None:
        parsed: tuple[Columns | None, str | None] | None = None
        if self._queue:  # the head of the queue is this file's page
            future = self._queue.popleft()
            try:
                parsed = future.result()
            except BrokenProcessPool:  # workers could not start or died: the rest here
                self._stop()
                self._queue.clear()
        columns, digest = parsed or _parsed(root, path, resource)
        if digest is not None:
            self.hashes[path] = digest
        return columns

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
