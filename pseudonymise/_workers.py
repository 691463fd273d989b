"""The HMAC engine: byte strings in, 128 bits of HMAC-SHA256 each out; optional workers.

Every pseudonym is HMAC-SHA256(key, message) with

    message = domain ‖ 0x1F ‖ scope ‖ 0x1F ‖ value        (UTF-8; scope empty when absent)

Domain names and scopes never contain 0x1F, so reading from the left splits a message into its
three parts in exactly one way: different (domain, scope, value) triples give different
messages. The value may contain any character.

Speed, without changing a single output bit: the key and the constant ``domain ‖ scope``
prefix are absorbed into one HMAC state up front, and each value then costs one ``copy``,
``update`` and ``finalize`` of that state (two SHA-256 compressions instead of four, and no
key set-up per value). Large batches are split over worker processes, each of which is handed
the key once, when it starts. The result is checked against the plain definition
(``hmac.digest``) in the tests and in the benchmark.
"""

from __future__ import annotations

import multiprocessing
import os
import weakref
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

import numpy as np
import polars as pl
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.hmac import HMAC

from medler._processes import exit_with_parent
from medler.errors import MedlerInternalError

SEPARATOR = "\x1f"
# Bytes of each digest the engine hands back: 8 for the pseudonym, 8 to tell inputs apart
# when two of them share a pseudonym (the tag, see _collisions).
KEPT_BYTES = 16
# Below this many values, starting worker processes costs more than it saves.
PARALLEL_MIN_VALUES = 200_000
CHUNK_VALUES = 1 << 16

T = TypeVar("T")
_worker_secret: bytes | None = None


def message_prefix(domain: str, scope: str | None) -> bytes:
    """``domain ‖ 0x1F ‖ scope ‖ 0x1F`` as UTF-8 bytes."""
    return f"{domain}{SEPARATOR}{scope or ''}{SEPARATOR}".encode()


def hmac_digests(secret: bytes, prefix: bytes, values: list[bytes]) -> list[bytes]:
    """HMAC-SHA256(secret, prefix ‖ value) for each value, as the engine computes it.

    The key and the prefix are absorbed once; each value then costs one copy of that state.
    """
    base = HMAC(secret, hashes.SHA256())
    base.update(prefix)
    copy = base.copy
    digests: list[bytes] = []
    append = digests.append
    for value in values:
        state = copy()
        state.update(value)
        append(state.finalize())
    return digests


def hmac_kept_bytes(secret: bytes, prefix: bytes, values: list[bytes]) -> bytes:
    """The first ``KEPT_BYTES`` of each value's HMAC (see ``hmac_digests``), joined."""
    kept = np.empty((len(values), KEPT_BYTES), dtype=np.uint8)
    # In blocks, so that the digests of one block fit in cache and their memory is reused.
    for start in range(0, len(values), CHUNK_VALUES):
        digests = hmac_digests(secret, prefix, values[start : start + CHUNK_VALUES])
        whole = np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(-1, 32)
        kept[start : start + len(digests)] = whole[:, :KEPT_BYTES]
    return kept.tobytes()


def words(kept: bytes) -> np.ndarray:
    """``hmac_kept_bytes`` output as ``(n, 2)`` uint64: pseudonym bits and tag."""
    return np.frombuffer(kept, dtype=">u8").reshape(-1, 2).astype(np.uint64)


def kept_words(values: pl.Series, *, prefix: bytes, secret: bytes | None) -> np.ndarray:
    """``words`` of a Binary series without nulls. ``secret=None``: the worker's own key."""
    key = secret if secret is not None else _worker_secret
    if key is None:
        raise MedlerInternalError("a hashing worker was used before it received the key")
    return words(hmac_kept_bytes(key, prefix, values.to_list()))


def _init_worker(secret: bytes, parent: int) -> None:
    global _worker_secret  # noqa: PLW0603 - one key per worker process, set once at start
    exit_with_parent(parent)  # a killed ingest leaves no worker holding the key
    _worker_secret = secret


def _shutdown(executor: ProcessPoolExecutor) -> None:
    executor.shutdown(wait=True, cancel_futures=True)


class HashingWorkers:
    """Runs hashing work under one key, in-process or over worker processes.

    Worker processes are started on first need and kept until ``close``. A function run on
    them receives ``secret=None`` and uses the key its worker was started with; run here, it
    receives the key itself.
    """

    def __init__(self, secret: bytes, *, workers: int | None = None) -> None:
        self._secret = secret
        cores = os.cpu_count() or 1
        self._workers = max(1, cores if workers is None else workers)
        self._executor: ProcessPoolExecutor | None = None
        self._finaliser: weakref.finalize[[ProcessPoolExecutor], HashingWorkers] | None = None

    def __repr__(self) -> str:
        return f"HashingWorkers(workers={self._workers})"

    def __reduce__(self) -> str | tuple[Any, ...]:
        raise TypeError("a HashingWorkers pool holds key material and cannot be pickled")

    @property
    def workers(self) -> int:
        return self._workers

    def start(self, *, wait: bool = False) -> None:
        """Start every worker process now; with ``wait``, return once all are ready."""
        executor = self._ensure_executor() if self._workers > 1 else None
        if executor is None:
            return
        try:
            # One task per worker, submitted together: none finds an idle worker, so each
            # starts one.
            booting = [executor.submit(os.getpid) for _ in range(self._workers)]
            if wait:
                for future in booting:
                    future.result()
        except BrokenProcessPool:
            self._give_up_workers()

    def map_chunks(
        self,
        function: Callable[..., T],
        values: pl.Series,
        *,
        parallel_min: int,
        **arguments: Any,
    ) -> list[T]:
        """``function(chunk, secret=…, **arguments)`` over ``values``, results in order.

        With at least ``parallel_min`` values and more than one worker, the chunks go to the
        worker processes (``function`` must be importable there); otherwise one call runs
        here on all of ``values``.
        """
        executor = None
        if self._workers > 1 and len(values) >= parallel_min:
            executor = self._ensure_executor()
        if executor is not None:
            try:
                futures = [
                    executor.submit(
                        function, values.slice(start, CHUNK_VALUES), secret=None, **arguments
                    )
                    for start in range(0, len(values), CHUNK_VALUES)
                ]
                return [future.result() for future in futures]
            except BrokenProcessPool:
                self._give_up_workers()
        return [function(values, secret=self._secret, **arguments)]

    def kept_words(self, prefix: bytes, values: pl.Series, *, parallel_min: int) -> np.ndarray:
        """``(n, 2)`` uint64 for a Binary series without nulls: pseudonym bits and tag."""
        parts = self.map_chunks(kept_words, values, parallel_min=parallel_min, prefix=prefix)
        result = np.concatenate(parts) if parts else np.empty((0, 2), dtype=np.uint64)
        if len(result) != len(values):
            raise MedlerInternalError("the HMAC engine returned the wrong number of digests")
        return result

    def _ensure_executor(self) -> ProcessPoolExecutor | None:
        if self._executor is None:
            try:
                executor = ProcessPoolExecutor(
                    max_workers=self._workers,
                    # spawn: a fresh interpreter per worker, never a fork of a process that
                    # runs Polars' thread pool.
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_init_worker,
                    initargs=(self._secret, os.getpid()),
                )
            except (OSError, NotImplementedError):  # no process support here: stay in-process
                self._workers = 1
                return None
            self._executor = executor
            self._finaliser = weakref.finalize(self, _shutdown, executor)
        return self._executor

    def _give_up_workers(self) -> None:
        # Workers could not start (for example a script without an
        # ``if __name__ == "__main__":`` guard). Same results, one process.
        self.close()
        self._workers = 1

    def close(self) -> None:
        """Stop the worker processes, if any were started."""
        if self._finaliser is not None:
            self._finaliser()
            self._finaliser = None
        self._executor = None
