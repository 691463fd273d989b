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
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _tree_rss_kb(root: int) -> int:
    """Resident memory of ``root`` and all its descendants, in KiB (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/statm", encoding="ascii") as f:
                rss[int(entry)] = int(f.read().split()[1]) * PAGE_KB
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack += children.get(pid, [])
    return total


def run(students: int, weeks: int, out: Path, seed: int) -> dict[str, float]:
    command = [sys.executable, "-m", "api.cli.__main__", "synth", "--students", str(students),
               "--weeks", str(weeks), "--seed", str(seed), "--out", str(out)]  # fmt: skip
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_kb(process.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = process.wait()
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    if code != 0:
        raise SystemExit(f"medler synth failed with exit code {code}")
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
        "peak_rss_mb": peak / 1024,
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
    print(f"{'run':<28}{'records':>12}{'seconds':>10}{'records/s':>12}"
          f"{'peak RSS MB':>13}{'GB':>7}")  # fmt: skip
    for name, r in ((f"baseline ({baseline['weeks']} weeks)", baseline),
                    (f"target ({target['weeks']} weeks)", target)):  # fmt: skip
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
