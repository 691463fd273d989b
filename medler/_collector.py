"""Python's cyclic garbage collector paused while a large input is read.

Reading an extract makes millions of short-lived objects that the collector tracks (a record
parsed into dicts and lists, a page's columns as lists), and every 700 of them set off a
collection that walks the young ones, and now and then all of them. None of these objects is
part of a reference cycle, so reference counting frees each as soon as it is dropped: the
collections find nothing, yet cost about a tenth of an ingest's time in the process that reads
(measured on 20,000 pupils × 4 weeks: 6.2–6.5 s with them, 5.6–6.1 s without). Measured
too: after a first ingest in a process, each later one leaves the same 33 objects in cycles
(its worker pool's bookkeeping) whether it read 200 pupils or 20,000 (1.8 M records), a
weekly delivery or an extract whose records were all quarantined, so pausing holds no memory
that grows with the input (``tests/unit/linkage/ingest/test_collector.py``).

The collector is the process's own: while an ingest reads, no thread of the process has cycles
collected (a program that ingests from one thread while others keep working should know),
and overlapping pauses end together, when the last one ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# The collector is the process's: pauses that overlap (nested, or in two threads) end it once,
# when the last one ends, and enable it again only if it was enabled when the first began.
_lock = threading.Lock()
_pauses = 0
_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """No automatic collection inside the block, in the whole process (other threads too);
    after the last of overlapping pauses, the collector as it was before the first."""
    global _pauses, _was_enabled  # noqa: PLW0603 - one collector per process
    with _lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()
