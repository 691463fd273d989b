"""Benchmark: `medler ingest` of a large synthetic extract. Records per second, peak memory.

The same municipality is generated for W/2 and W teaching weeks (the named baseline is the
half-size extract), each is ingested by the command line, and the figures and ratios are
printed. Streaming shows as a memory ratio well below the records ratio of 2: what grows is
only what must be remembered per lesson (to check attendance references), not per record.

    .venv/bin/python bench/bench_ingest.py                         # 100,000 pupils, 4 vs 8 weeks
    .venv/bin/python bench/bench_ingest.py --students 20000 --weeks 4
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

CLI = [sys.executable, "-m", "api.cli"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--dir", type=Path, default=None, help="scratch folder (needs ~12 GB)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="medler-bench-", dir=args.dir))
    results = []
    try:
        key = scratch / "key" / "key.json"
        measure([*CLI, "keys", "init", "--key-file", str(key)])
        env = {**os.environ, "MEDLER_KEY_FILE": str(key)}
        for weeks in (max(1, args.weeks // 2), args.weeks):
            extract = scratch / f"extract-{weeks}"
            measure(
                [
                    *CLI,
                    "synth",
                    "--students",
                    str(args.students),
                    "--weeks",
                    str(weeks),
                    "--out",
                    str(extract),
                ]
            )
            truth = json.loads((extract / "truth.json").read_text(encoding="utf-8"))
            records = sum(r["records"] for r in truth["layout"]["ss12000"].values())
            seconds, peak = measure(
                [
                    *CLI,
                    "ingest",
                    str(extract / "ss12000"),
                    "--data-dir",
                    str(scratch / f"data-{weeks}"),
                ],
                env=env,
            )
            results.append((weeks, records, truth["counts"]["lessons"], seconds, peak))
            shutil.rmtree(extract)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(
        f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; "
        f"{args.students:,} pupils"
    )
    print(
        f"{'run':<22}{'records':>12}{'lessons':>10}{'seconds':>10}{'records/s':>12}{'peak MB':>10}"
    )
    for label, (weeks, records, lessons, seconds, peak) in zip(
        ("baseline", "target"), results, strict=True
    ):
        print(
            f"{label + f' ({weeks} weeks)':<22}{records:>12,}{lessons:>10,}{seconds:>10.1f}"
            f"{records / seconds:>12,.0f}{peak:>10,.0f}"
        )
    (_, r0, _, s0, m0), (_, r1, _, s1, m1) = results
    print(
        f"ratios target/baseline: records {r1 / r0:.2f}, time {s1 / s0:.2f}, "
        f"peak memory {m1 / m0:.2f}"
    )


if __name__ == "__main__":
    main()
