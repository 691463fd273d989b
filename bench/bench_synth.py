"""Benchmark: `medler synth` at scale. Wall time, peak memory and records per second.

Runs the generator as a command (a real process tree, workers included) at the target size and at a
named baseline in the same run: the same municipality with half the teaching weeks, so half the
attendance. It prints both, and the ratios. Streaming shows as a memory ratio near 1 while the
volume ratio is 2. Memory is the peak *sum* of resident memory over the whole process tree, sampled
from /proc every 0.1 s.

    .venv/bin/python bench/bench_synth.py                         # 100,000 pupils, 8 vs 4 weeks
    .venv/bin/python bench/bench_synth.py --students 20000 --weeks 4
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from _measure import measure


def run(students: int, weeks: int, out: Path, seed: int) -> dict[str, float]:
    command = [
        sys.executable,
        "-m",
        "api.cli.__main__",
        "synth",
        "--students",
        str(students),
        "--weeks",
        str(weeks),
        "--seed",
        str(seed),
        "--out",
        str(out),
    ]
    elapsed, peak_mb = measure(command)
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    shutil.rmtree(out)
    records = truth["counts"]["attendance_records"]
    return {
        "students": students,
        "weeks": weeks,
        "attendance_records": records,
        "lessons": truth["counts"]["lessons"],
        "seconds": elapsed,
        "peak_rss_mb": peak_mb,
        "output_gb": size / 1e9,
        "records_per_second": records / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", type=Path, default=None, help="scratch folder (needs ~8 GB)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="medler-bench-", dir=args.dir))
    try:
        baseline = run(args.students, max(1, args.weeks // 2), scratch / "baseline", args.seed)
        target = run(args.students, args.weeks, scratch / "target", args.seed)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    print(f"{'run':<28}{'records':>12}{'seconds':>10}{'records/s':>12}{'peak RSS MB':>13}{'GB':>7}")
    for name, r in (
        (f"baseline ({baseline['weeks']} weeks)", baseline),
        (f"target ({target['weeks']} weeks)", target),
    ):
        print(
            f"{name:<28}{r['attendance_records']:>12,}{r['seconds']:>10.1f}"
            f"{r['records_per_second']:>12,.0f}{r['peak_rss_mb']:>13,.0f}{r['output_gb']:>7.2f}"
        )
    ratio = {k: target[k] / baseline[k] for k in ("attendance_records", "seconds", "peak_rss_mb")}
    print(
        f"ratios target/baseline: records {ratio['attendance_records']:.2f}, "
        f"time {ratio['seconds']:.2f}, peak memory {ratio['peak_rss_mb']:.2f}"
    )


if __name__ == "__main__":
    main()
