"""Worker processes that do not outlive the process that started them.

A ``ProcessPoolExecutor`` worker waits on its task queue; when the process that started it is
killed (``kill -9``, the out-of-memory killer), nothing closes that queue, and the worker would
wait for ever, holding its memory (and, for the hashing workers, the key). Each worker runs
``exit_with_parent`` as (part of) its initializer: a thread that ends the worker once its parent
is gone.
"""

from __future__ import annotations

import os
import threading
import time

POLL_SECONDS = 0.5


def exit_with_parent(parent: int) -> None:
    """In a worker process: end it as soon as ``parent`` (the pid of the process that started
    it, passed from there: one killed while the worker was still starting is gone already) has
    gone."""
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(POLL_SECONDS)
        os._exit(1)  # the parent is gone: nobody waits for this worker's results

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
