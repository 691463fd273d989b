"""Benchmark: `medler ingest` against a plain flatten of the same SS 12000 pages to Parquet.

The named baseline is what a competent engineer would write without medler: every page of every
resource parsed with orjson, its records turned into an Arrow table (the schema read from a
sample of the page and then applied to all of it, nested objects flattened into dotted
columns), and written to one Parquet file per page, with a process pool using every core and
Python's cyclic garbage collector off in its workers (the parsed records hold no cycles, and
the collections they set off cost about a quarter of the flatten's time; the ingest pauses
it likewise, ``medler._collector``). It checks nothing, pseudonymises nothing and sets
nothing aside; the ingest does all three. Both
run as their own processes on the same extract, in the same run, alternately (``--runs``), and
the ratio ingest/flatten of the median wall times is printed with the load average at the start
and the end, beside the ratio of CPU seconds (both processes' workers included), which a shared
machine's load disturbs less.

    .venv/bin/python bench/bench_ingest_flatten.py --students 20000 --weeks 4
    .venv/bin/python bench/bench_ingest_flatten.py --students 2000 --weeks 4 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

CLI = [sys.executable, "-m", "api.cli"]
SAMPLE = 1_000  # records whose types give a page's Arrow schema


def flatten_page(path: str, out: str) -> int:
    """One page: parsed, flattened, written to ``out``; its number of records."""
    import orjson
    import pyarrow as pa
    import pyarrow.parquet as pq

    document = orjson.loads(Path(path).read_bytes())
    records = document["data"] if isinstance(document, dict) else document
    if not records:
        return 0
    try:  # the sample's types, applied to every record (fields outside the sample are kept too)
        array = pa.array(records, type=pa.array(records[:SAMPLE]).type)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        array = pa.array(records)  # the sample did not show every type: infer from all
    table = pa.Table.from_struct_array(array)
    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()
    pq.write_table(table, out)
    return table.num_rows


def _start_worker() -> None:
    """A flatten worker: no cyclic garbage collection (the parsed records make no cycles)."""
    import gc

    gc.disable()


def flatten_extract(extract: Path, out: Path) -> int:
    """Every page of every resource of ``extract``, over a pool of every core."""
    jobs = []
    for folder in sorted(p for p in extract.iterdir() if p.is_dir()):
        (out / folder.name).mkdir(parents=True)
        for page in sorted(folder.glob("*.json")):
            jobs.append((str(page), str(out / folder.name / f"{page.stem}.parquet")))
    with ProcessPoolExecutor(os.cpu_count() or 1, initializer=_start_worker) as pool:
        return sum(pool.map(flatten_page, *zip(*jobs, strict=True)))


def load() -> float:
    return os.getloadavg()[0]


def cpu_seconds() -> float:
    """User and system seconds of this process's finished children (and theirs, waited for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measured(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """(wall seconds, peak MB, CPU seconds) of ``command``, its workers included."""
    from _measure import measure

    before = cpu_seconds()
    seconds, peak = measure(command, env=env)
    return seconds, peak, cpu_seconds() - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20_000)
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--runs", type=int, default=1, help="runs of each, alternately")
    parser.add_argument("--dir", type=Path, default=None, help="scratch folder")
    parser.add_argument("--flatten", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.flatten:  # the baseline's own process, as measured
        print(flatten_extract(*args.flatten))
        return
    sys.path.insert(0, str(Path(__file__).parent))
    from _measure import measure

    scratch = Path(tempfile.mkdtemp(prefix="medler-bench-", dir=args.dir))
    ingest: list[tuple[float, float, float]] = []
    flatten: list[tuple[float, float, float]] = []
    try:
        key = scratch / "key" / "key.json"
        measure([*CLI, "keys", "init", "--key-file", str(key)])
        env = {**os.environ, "MEDLER_KEY_FILE": str(key)}
        extract = scratch / "extract"
        measure(
            [
                *CLI,
                "synth",
                *("--students", str(args.students), "--weeks", str(args.weeks)),
                *("--out", str(extract)),
            ]
        )
        truth = json.loads((extract / "truth.json").read_text(encoding="utf-8"))
        records = sum(r["records"] for r in truth["layout"]["ss12000"].values())
        source = extract / "ss12000"
        started = load()
        for run in range(args.runs):
            out = scratch / f"flat-{run}"
            flatten.append(measured([sys.executable, __file__, "--flatten", str(source), str(out)]))
            shutil.rmtree(out)
            data = scratch / f"data-{run}"
            ingest.append(measured([*CLI, "ingest", str(source), "--data-dir", str(data)], env=env))
            shutil.rmtree(data)
        ended = load()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(
        f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; "
        f"{args.students:,} pupils × {args.weeks} weeks; {records:,} SS 12000 records"
    )
    print(f"{'run':<28}{'seconds':>9}{'records/s':>11}{'CPU s':>8}{'peak MB':>9}  wall of each run")
    rows = {"medler ingest": ingest, "orjson + pyarrow flatten": flatten}
    medians = {}
    for label, runs in rows.items():
        seconds = statistics.median(s for s, _, _ in runs)
        cpu = statistics.median(c for _, _, c in runs)
        peak = max(m for _, m, _ in runs)
        medians[label] = seconds, peak, cpu
        each = ", ".join(f"{s:.1f}" for s, _, _ in runs)
        print(
            f"{label:<28}{seconds:>9.1f}{records / seconds:>11,.0f}{cpu:>8.1f}{peak:>9,.0f}  {each}"
        )
    (s_ingest, m_ingest, c_ingest), (s_flat, m_flat, c_flat) = medians.values()
    pairs = ", ".join(f"{i[0] / f[0]:.2f}" for i, f in zip(ingest, flatten, strict=True))
    print(f"load average (1 minute) at the start and the end: {started:.2f}, {ended:.2f}")
    print(
        f"ratios ingest/flatten: time {s_ingest / s_flat:.2f} (goal ≤ 1.0; each run: {pairs}), "
        f"CPU {c_ingest / c_flat:.2f}, peak memory {m_ingest / m_flat:.2f}"
    )


if __name__ == "__main__":
    main()
