"""Pseudonymise a million distinct national IDs and compare with a plain HMAC loop.

    python bench/bench_pseudonymise.py [--n 1000000] [--repeat 3] [--workers N]

The IDs are valid Swedish personnummer, all distinct, written in three ways (12 digits,
``YYYYMMDD-NNNC`` and ``YYMMDD-NNNC``). Both sides use the same key and the same people:

- **plain loop**: ``hmac.digest(key, message, "sha256")`` for each ID, over messages built
  beforehand from the canonical IDs, so the loop does nothing but hash;
- **Pseudonymiser**: ``Pseudonymiser.pseudonymise(Domain.STUDENT, written_ids)``, which also
  checks and normalises every written form, finds the distinct values, checks for collisions
  and returns an Int64 column;
- **engine alone**: the Pseudonymiser's HMAC engine on exactly the plain loop's work (the
  canonical IDs, same key, same domain and scope): the like-for-like comparison.

A sample of the results is checked against the plain loop bit for bit (the 63 bits a
pseudonym keeps). Each run uses people not seen before, so the collision guard does its full
work every time. Timings are the best of ``--repeat`` runs on each side.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hmac
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from pseudonymise import Domain, Pseudonymiser, create_key_file
from pseudonymise._workers import PARALLEL_MIN_VALUES, HashingWorkers

AS_OF = dt.date(2026, 11, 22)
FIRST_DAY = dt.date(1940, 1, 1)
DAYS = 80 * 365
SERIALS = 999
LOW_63_BITS = (1 << 63) - 1


def distinct_personnummer(n: int, seed: int) -> pl.Series:
    """``n`` distinct valid 12-digit personnummer (birth dates 1940-2019)."""
    rng = np.random.default_rng(seed)
    index = rng.choice(DAYS * SERIALS, size=n, replace=False)
    day, serial = index // SERIALS, index % SERIALS + 1
    dates = pl.select(
        (pl.lit(FIRST_DAY) + pl.duration(days=pl.Series(day))).dt.strftime("%Y%m%d")
    ).to_series()
    serial_text = pl.Series(serial).cast(pl.String).str.zfill(3)
    payload = dates.str.slice(2) + serial_text
    digits = np.frombuffer("".join(payload.to_list()).encode(), dtype=np.uint8).reshape(n, 9) - 48
    doubled = digits[:, ::2] * 2
    total = np.where(doubled > 9, doubled - 9, doubled).sum(axis=1) + digits[:, 1::2].sum(axis=1)
    check = pl.Series((10 - total % 10) % 10).cast(pl.String)
    return dates + serial_text + check


def written_forms(canonical: pl.Series) -> pl.Series:
    """Each ID in one of three written forms, in turn."""
    form = pl.Series(np.arange(len(canonical)) % 3)
    return pl.select(
        pl.when(form == 0)
        .then(canonical)
        .when(form == 1)
        .then(canonical.str.slice(0, 8) + "-" + canonical.str.slice(8))
        .otherwise(canonical.str.slice(2, 6) + "-" + canonical.str.slice(8))
    ).to_series()


def plain_loop(secret: bytes, messages: list[bytes]) -> tuple[float, list[bytes]]:
    start = time.perf_counter()
    digests = [hmac.digest(secret, message, "sha256") for message in messages]
    return time.perf_counter() - start, digests


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:>12,.0f} IDs/s"


@dataclass
class Timings:
    """Seconds per run on each side, and the one-off worker start-up."""

    plain: list[float] = field(default_factory=list)
    workers: list[float] = field(default_factory=list)
    one_process: list[float] = field(default_factory=list)
    engine: list[float] = field(default_factory=list)
    start_up: float = 0.0
    worker_count: int = 1
    checked: int = 0


def _check_sample(
    n: int, seed: int, digests: list[bytes], pids: pl.Series, single: pl.Series, words: np.ndarray
) -> int:
    """Compare a sample of every side with hmac.digest; the number of rows checked."""
    sample = np.random.default_rng(seed).choice(n, size=min(n, 1000), replace=False)
    for i in sample.tolist():
        expected = int.from_bytes(digests[i][:8], "big") & LOW_63_BITS
        engine_bits = int(words[i, 0]) & LOW_63_BITS
        if not pids[i] == single[i] == engine_bits == expected:
            raise SystemExit(f"mismatch at row {i}: the benchmark is not comparing like")
    return len(sample)


def measure(n: int, repeat: int, workers: int | None, seed: int) -> Timings:
    everyone = distinct_personnummer(n * repeat, seed)
    with tempfile.TemporaryDirectory() as folder:
        key = create_key_file(Path(folder) / "key.json")
    prefix = f"{Domain.STUDENT.value}\x1fSE\x1f".encode()
    timings = Timings()
    engine = HashingWorkers(key.secret, workers=workers)
    engine.start(wait=True)
    with Pseudonymiser(key, workers=workers) as fast, Pseudonymiser(key, workers=1) as one:
        start = time.perf_counter()
        fast.start_workers()
        timings.start_up = time.perf_counter() - start
        timings.worker_count = fast.workers
        for run in range(repeat):
            canonical = everyone.slice(run * n, n)
            messages = [prefix + value for value in canonical.cast(pl.Binary).to_list()]
            seconds, digests = plain_loop(key.secret, messages)
            timings.plain.append(seconds)
            start = time.perf_counter()
            words = engine.kept_words(
                prefix, canonical.cast(pl.Binary), parallel_min=PARALLEL_MIN_VALUES
            )
            timings.engine.append(time.perf_counter() - start)
            written = written_forms(canonical)
            start = time.perf_counter()
            pids = fast.pseudonymise(Domain.STUDENT, written, as_of=AS_OF)
            timings.workers.append(time.perf_counter() - start)
            start = time.perf_counter()
            single = one.pseudonymise(Domain.STUDENT, written, as_of=AS_OF)
            timings.one_process.append(time.perf_counter() - start)
            timings.checked += _check_sample(n, run, digests, pids, single, words)
    engine.close()
    return timings


def report(n: int, repeat: int, t: Timings) -> None:
    plain, best, single, engine = min(t.plain), min(t.workers), min(t.one_process), min(t.engine)
    w = t.worker_count
    print(
        f"pseudonymise: {n:,} distinct Swedish personnummer per run, mixed written forms; "
        f"best of {repeat} runs; {os.cpu_count()} CPU cores, {w} worker processes"
    )
    print(f"  plain loop over hmac.digest          {rate(n, plain)}  ({plain:.2f} s)")
    print(
        f"  Pseudonymiser, {w} workers            {rate(n, best)}  ({best:.2f} s)   "
        f"ratio {plain / best:.2f}x"
    )
    print(
        f"    with worker start-up ({t.start_up:.2f} s)      {rate(n, best + t.start_up)}  "
        f"                 ratio {plain / (best + t.start_up):.2f}x"
    )
    print(
        f"  Pseudonymiser, one process           {rate(n, single)}  "
        f"({single:.2f} s)   ratio {plain / single:.2f}x"
    )
    print(
        f"  engine alone, same work as the loop  {rate(n, engine)}  "
        f"({engine:.2f} s)   ratio {plain / engine:.2f}x"
    )
    print(
        f"  median of runs: plain {statistics.median(t.plain):.2f} s, "
        f"workers {statistics.median(t.workers):.2f} s, "
        f"one process {statistics.median(t.one_process):.2f} s, "
        f"engine {statistics.median(t.engine):.2f} s"
    )
    print(f"  checked {t.checked:,} sampled IDs: same 63 bits as hmac.digest on every side")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="distinct IDs per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs on each side")
    parser.add_argument("--workers", type=int, default=None, help="worker processes")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    report(args.n, args.repeat, measure(args.n, args.repeat, args.workers, args.seed))


if __name__ == "__main__":
    main()
