"""Pseudonymise a million distinct national IDs and compare with a plain HMAC loop.

    python bench/bench_pseudonymise.py [--n 1000000] [--repeat 3] [--workers N]

The IDs are valid Swedish personnummer, all distinct, written in three ways (12 digits,
``YYYYMMDD-NNNC`` and ``YYMMDD-NNNC``). Both sides use the same key and the same people:

- **plain loop**: ``hmac.digest(key, message, "sha256")`` for each ID, over messages built
  beforehand from the canonical IDs, so the loop does nothing but hash;
- **Pseudonymiser**: ``Pseudonymiser.pseudonymise(Domain.STUDENT, written_ids)``, which also
  checks and normalises every written form, finds the distinct values, checks for collisions
  and returns an Int64 column.

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
from pathlib import Path

import numpy as np
import polars as pl

from pseudonymise import Domain, Pseudonymiser, create_key_file

AS_OF = dt.date(2026, 11, 22)
FIRST_DAY = dt.date(1940, 1, 1)
DAYS = 80 * 365
SERIALS = 999


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="distinct IDs per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs on each side")
    parser.add_argument("--workers", type=int, default=None, help="worker processes")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    n, repeat = args.n, args.repeat

    everyone = distinct_personnummer(n * repeat, args.seed)
    runs = [everyone.slice(r * n, n) for r in range(repeat)]
    with tempfile.TemporaryDirectory() as folder:
        key = create_key_file(Path(folder) / "key.json")
    prefix = f"{Domain.STUDENT.value}\x1fSE\x1f".encode()

    plain_times: list[float] = []
    fast_times: list[float] = []
    single_times: list[float] = []
    with Pseudonymiser(key, workers=args.workers) as fast, Pseudonymiser(key, workers=1) as one:
        start = time.perf_counter()
        fast.start_workers()
        start_up = time.perf_counter() - start
        for canonical in runs:
            messages = [prefix + value for value in canonical.cast(pl.Binary).to_list()]
            seconds, digests = plain_loop(key.secret, messages)
            plain_times.append(seconds)
            written = written_forms(canonical)
            start = time.perf_counter()
            pids = fast.pseudonymise(Domain.STUDENT, written, as_of=AS_OF)
            fast_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            single = one.pseudonymise(Domain.STUDENT, written, as_of=AS_OF)
            single_times.append(time.perf_counter() - start)
            sample = np.random.default_rng(len(fast_times)).choice(n, size=min(n, 1000))
            for i in sample.tolist():
                expected = int.from_bytes(digests[i][:8], "big") & ((1 << 63) - 1)
                if pids[i] != expected or single[i] != expected:
                    raise SystemExit(f"mismatch at row {i}: the benchmark is not comparing like")
        workers = fast.workers

    plain, best, best_single = min(plain_times), min(fast_times), min(single_times)
    print(
        f"pseudonymise: {n:,} distinct Swedish personnummer per run, mixed written forms; "
        f"best of {repeat} runs; {os.cpu_count()} CPU cores, {workers} worker processes"
    )
    print(f"  plain loop over hmac.digest          {rate(n, plain)}  ({plain:.2f} s)")
    print(
        f"  Pseudonymiser, {workers} workers            {rate(n, best)}  ({best:.2f} s)   "
        f"ratio {plain / best:.2f}x"
    )
    print(
        f"    with worker start-up ({start_up:.2f} s)      {rate(n, best + start_up)}  "
        f"                 ratio {plain / (best + start_up):.2f}x"
    )
    print(
        f"  Pseudonymiser, one process           {rate(n, best_single)}  "
        f"({best_single:.2f} s)   ratio {plain / best_single:.2f}x"
    )
    print(
        f"  median of runs: plain {statistics.median(plain_times):.2f} s, "
        f"workers {statistics.median(fast_times):.2f} s, "
        f"one process {statistics.median(single_times):.2f} s"
    )
    print(f"  checked {min(n, 1000) * repeat:,} sampled IDs: same 63 bits as hmac.digest")


if __name__ == "__main__":
    main()
