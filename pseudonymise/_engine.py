"""The HMAC engine: distinct byte strings in, 128 bits of HMAC-SHA256 each out.

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
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

import numpy as np
import polars as pl
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.hmac import HMAC

from medler.errors import MedlerInternalError

SEPARATOR = "\x1f"
# Bytes of each digest the engine hands back: 8 for the pseudonym, 8 to tell inputs apart
# when two of them share a pseudonym (see _collisions).
KEPT_BYTES = 16
# Below this many distinct values, starting worker processes costs more than it saves.
PARALLEL_MIN_VALUES = 200_000
CHUNK_VALUES = 1 << 16

_worker_secret: bytes | None = None
T = TypeVar("T")


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
    digests = hmac_digests(secret, prefix, values)
    if not digests:
        return b""
    whole = np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(-1, 32)
    return whole[:, :KEPT_BYTES].tobytes()


def _init_worker(secret: bytes) -> None:
    global _worker_secret  # noqa: PLW0603 - one key per worker process, set once at start
    _worker_secret = secret


def _hash_chunk_in_worker(prefix: bytes, values: pl.Series) -> bytes:
    if _worker_secret is None:
        raise MedlerInternalError("a hashing worker was used before it received the key")
    return hmac_kept_bytes(_worker_secret, prefix, values.to_list())


def _shutdown(executor: ProcessPoolExecutor) -> None:
    executor.shutdown(wait=True, cancel_futures=True)


class HmacEngine:
    """Hashes batches of distinct byte strings under one key, in-process or over workers.

    Worker processes are started on first use for a large batch and kept until ``close``.
    """

    def __init__(self, secret: bytes, *, workers: int | None = None) -> None:
        self._secret = secret
        cores = os.cpu_count() or 1
        self._workers = max(1, cores if workers is None else workers)
        self._executor: ProcessPoolExecutor | None = None
        self._finaliser: weakref.finalize[[ProcessPoolExecutor], HmacEngine] | None = None

    def __repr__(self) -> str:
        return f"HmacEngine(workers={self._workers})"

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("an HmacEngine holds key material and cannot be pickled")

    @property
    def workers(self) -> int:
        return self._workers

    def start(self) -> None:
        """Start the worker processes now, so that they boot while the caller does other work."""
        if self._workers > 1:
            self._ensure_executor()

    def map_chunks(
        self, function: Callable[..., T], values: pl.Series, **arguments: Any
    ) -> list[T]:
        """``function(chunk, **arguments)`` for consecutive chunks of ``values``, in order.

        Runs on the worker processes when there are any (``function`` must be importable
        there), else here. Used to spread work that Polars runs on one core, such as
        checking national IDs, over the same workers that hash.
        """
        chunks = [
            values.slice(start, CHUNK_VALUES) for start in range(0, len(values), CHUNK_VALUES)
        ]
        executor = self._ensure_executor() if self._workers > 1 else None
        if executor is not None:
            try:
                futures = [executor.submit(function, chunk, **arguments) for chunk in chunks]
                return [future.result() for future in futures]
            except BrokenProcessPool:
                self._give_up_workers()
        return [function(chunk, **arguments) for chunk in chunks]

    def _give_up_workers(self) -> None:
        # Workers could not start (for example a script without an
        # ``if __name__ == "__main__":`` guard). Same results, one process.
        self.close()
        self._workers = 1

    def kept_bytes(self, prefix: bytes, values: pl.Series, *, parallel_min: int) -> np.ndarray:
        """``(n, 2)`` uint64: the first two big-endian 64-bit words of each value's HMAC.

        ``values`` is a Binary series without nulls.
        """
        n = len(values)
        if self._workers > 1 and n >= parallel_min:
            raw = self._kept_bytes_parallel(prefix, values)
        else:
            raw = hmac_kept_bytes(self._secret, prefix, values.to_list())
        if len(raw) != n * KEPT_BYTES:
            raise MedlerInternalError("the HMAC engine returned the wrong number of digests")
        words = np.frombuffer(raw, dtype=">u8").reshape(n, 2)
        return words.astype(np.uint64)

    def _kept_bytes_parallel(self, prefix: bytes, values: pl.Series) -> bytes:
        executor = self._ensure_executor()
        if executor is not None:
            try:
                futures: list[Future[bytes]] = [
                    executor.submit(
                        _hash_chunk_in_worker, prefix, values.slice(start, CHUNK_VALUES)
                    )
                    for start in range(0, len(values), CHUNK_VALUES)
                ]
                return b"".join(future.result() for future in futures)
            except BrokenProcessPool:
                self._give_up_workers()
        return hmac_kept_bytes(self._secret, prefix, values.to_list())

    def _ensure_executor(self) -> ProcessPoolExecutor | None:
        if self._executor is None:
            try:
                executor = ProcessPoolExecutor(
                    max_workers=self._workers,
                    # spawn: a fresh interpreter per worker, never a fork of a process that
                    # runs Polars' thread pool.
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_init_worker,
                    initargs=(self._secret,),
                )
            except (OSError, NotImplementedError):  # no process support here: stay in-process
                self._workers = 1
                return None
            self._executor = executor
            self._finaliser = weakref.finalize(self, _shutdown, executor)
        return self._executor

    def close(self) -> None:
        """Stop the worker processes, if any were started."""
        if self._finaliser is not None:
            self._finaliser()
            self._finaliser = None
        self._executor = None
