r"""Benchmark: the research-table build at three sizes on DuckDB and Spark: time, memory, rate.

For each size (``--students``, pupils over ``--weeks`` school weeks) and each engine,
``medler build`` runs as a child process under ``_measure.measure`` (wall time, peak resident
memory of the whole process tree, so Spark's JVM counts):

- ``duckdb``, the default engine and the named baseline, with its default memory limit, on all
  the machine's cores (DuckDB's default thread count);
- ``spark``, Apache Spark in local mode (``--spark-master``, by default ``local[2]``: two task
  threads in one JVM).

The rate is student-lessons (rows of ``student_lessons`` when built, else of the canonical
attendance: one per pupil and held lesson, read from the snapshots' manifests) per
core-second: rows / (wall seconds × cores), where
cores are the threads the engine was given (``local[N]`` for Spark, the machine's cores for
DuckDB). The row counts of every research table must be the same on both engines, else the
benchmark stops and says which differ (``tests/unit/linkage/test_spark_backend.py`` checks the
tables themselves equal at a small size).

Then the bounded-memory run: DuckDB at the largest size under ``--memory-limit`` (1GB, well below
its unconstrained peak), with the peak size of its spill folder. It must complete, write the same
row counts, and stay near the limit plus the fixed overhead of the process (Python, the
libraries and an empty DuckDB connection, measured on its own).

Each build first removes the research snapshots of earlier runs, so every build starts from the
canonical snapshot alone. The data directories are prepared (and cached) by ``bench_build.py``'s
``prepare`` in the scratch folder ``--dir``; the raw extract needs ~7 GB at 100,000 pupils while
preparing. ``--json`` writes the figures and the machine for the benchmark report.

Reproducing
-----------
``SCRATCH`` is a folder with ~10 GB free. The figures in ``docs/explanation/scale.md`` come
from the first command (about 25 minutes on 2 cores, after about 30 minutes preparing the
three municipalities, which later runs reuse); the second leaves Spark out at 100,000 pupils;
the third is a quick check of the benchmark itself:

    .venv/bin/python bench/bench_scale.py --dir SCRATCH --json SCRATCH/scale.json
    .venv/bin/python bench/bench_scale.py --dir SCRATCH --spark-students 25000,50000
    .venv/bin/python bench/bench_scale.py --dir SCRATCH --students 2000 --weeks 2

``--spark-conf KEY=VALUE`` passes a Spark setting through. None is needed on one machine: the
engine makes a local Spark listen and advertise on loopback (without that, a task result over
1 MB could not be fetched back: ``TaskResultLost``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _measure import measure
from bench_build import CLI, prepare

BOUNDED_LIMIT = "1GB"
LOCAL = re.compile(r"local\[(\d+|\*)\]")


def _sizes(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def _spark_cores(master: str) -> int:
    """The task threads of a local master; a cluster's cores are not known from here."""
    match = LOCAL.fullmatch(master.strip())
    if match is None:
        raise SystemExit(f"--spark-master {master!r}: only local[N] can be timed per core here")
    return (os.cpu_count() or 1) if match.group(1) == "*" else int(match.group(1))


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import duckdb
    import pyspark

    model = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as f:
        total_kb = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
    try:
        java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
        java_version = java.stderr.splitlines()[0] if java.stderr else "unknown"
    except OSError:
        java_version = "not found"
    os_name = platform.platform()
    try:
        release = platform.freedesktop_os_release()
        os_name = f"{release.get('PRETTY_NAME', release.get('NAME', ''))} ({os_name})"
    except OSError:
        pass
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "ram_gb": round(total_kb / 2**20, 1),
        "os": os_name,
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "pyspark": pyspark.__version__,
        "java": java_version,
    }


class FolderPeak:
    """The largest total size reached by the ``.spill-*`` folders of a research directory
    while a build runs (DuckDB's spill files; Spark's kept results and output parts)."""

    def __init__(self, research: Path) -> None:
        self.research = research
        self.peak = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _size(self) -> int:
        total = 0
        for folder in self.research.glob(".spill-*"):
            for root, _dirs, files in os.walk(folder):
                for name in files:
                    try:
                        total += os.stat(os.path.join(root, name)).st_size
                    except OSError:
                        continue
        return total

    def _sample(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, self._size())
            time.sleep(0.25)

    def __enter__(self) -> FolderPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


def build(
    data_dir: Path,
    engine: str,
    *,
    spark_master: str,
    memory_limit: str | None,
    students: int,
    cores: int,
    spark_conf: list[str],
) -> dict[str, Any]:
    """One build from the canonical snapshot alone, measured."""
    from linkage import current_snapshot, read_manifest

    research = data_dir / "research"
    shutil.rmtree(research, ignore_errors=True)
    command = [*CLI, "build", "--data-dir", str(data_dir), "--engine", engine]
    if engine == "spark":
        command += ["--spark-master", spark_master]
    if memory_limit is not None:
        command += ["--memory-limit", memory_limit]
    env = None
    if engine == "spark" and spark_conf:
        submit = " ".join(f"--conf {setting}" for setting in spark_conf)
        env = {**os.environ, "PYSPARK_SUBMIT_ARGS": f"{submit} pyspark-shell"}
    load_before = os.getloadavg()[0]
    with FolderPeak(research) as scratch:
        seconds, peak_mb = measure(command, env=env)
    load_after = os.getloadavg()[0]
    manifest = read_manifest(current_snapshot(research))
    if manifest.get("engine") != engine:
        raise SystemExit(
            f"the research snapshot says engine {manifest.get('engine')!r}, not {engine!r}"
        )
    rows = {name: int(entry["rows"]) for name, entry in manifest["tables"].items()}
    # the pupils' lessons: student_lessons when built (--student-lessons), else the
    # registrations of the canonical snapshot built from (one per pupil and lesson sat)
    canonical = read_manifest(data_dir / "snapshots" / manifest["built_from"]["snapshot_id"])
    lessons = rows.get("student_lessons") or int(canonical["tables"]["attendance"]["rows"])
    result = {
        "students": students,
        "engine": engine,
        "spark_master": spark_master if engine == "spark" else None,
        "memory_limit": memory_limit,
        "spark_conf": spark_conf if engine == "spark" else None,
        "cores": cores,
        "seconds": round(seconds, 2),
        "peak_mb": round(peak_mb),
        "scratch_peak_mb": round(scratch.peak / 2**20),
        "student_lessons": lessons,
        "student_lessons_per_core_second": round(lessons / (seconds * cores)),
        "rows": rows,
        "load_average_1min": [round(load_before, 2), round(load_after, 2)],
    }
    print(
        f"  {students:,} pupils, {engine}"
        f"{'' if memory_limit is None else f' (memory limit {memory_limit})'}: "
        f"{seconds:.1f} s, peak {peak_mb:,.0f} MB, scratch peak "
        f"{result['scratch_peak_mb']:,} MB, {lessons:,} student-lessons",
        flush=True,
    )
    return result


def compare_rows(students: int, runs: list[dict[str, Any]]) -> None:
    """Every research table must have the same number of rows on every run of one size."""
    first = runs[0]
    for other in runs[1:]:
        names = sorted(set(first["rows"]) | set(other["rows"]))
        differ = [
            f"{name}: {first['rows'].get(name)} vs {other['rows'].get(name)}"
            for name in names
            if first["rows"].get(name) != other["rows"].get(name)
        ]
        if differ:
            raise SystemExit(
                f"ROW COUNTS DIFFER at {students:,} pupils between {_label(first)} and "
                f"{_label(other)}:\n  " + "\n  ".join(differ)
            )


def _label(run: dict[str, Any]) -> str:
    if run["engine"] == "spark":
        return f"spark {run['spark_master']}"
    return "duckdb" if run["memory_limit"] is None else f"duckdb {run['memory_limit']}"


def overhead_mb() -> float:
    """Peak memory of a process that loads what the build loads and opens DuckDB, and no
    data: the part of a build's peak that no memory limit governs."""
    _, peak = measure(
        [
            sys.executable,
            "-c",
            "import api.cli, linkage, ibis; ibis.duckdb.connect().raw_sql('SELECT 1')",
        ]
    )
    return peak


def _mb(limit: str) -> float:
    """A DuckDB size (GB = 10⁹ bytes, GiB = 2³⁰) in the MiB that ``measure`` reports."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT])(i?)B", limit.strip(), re.IGNORECASE)
    if match is None:
        raise SystemExit(f"--memory-limit {limit!r} is not a size such as 1GB or 512MB")
    base = 1024 if match.group(3) else 1000
    return float(match.group(1)) * base ** ("KMGT".index(match.group(2).upper()) + 1) / 2**20


def report(
    runs: list[dict[str, Any]], bounded: dict[str, Any] | None, info: dict[str, Any], weeks: int
) -> dict[str, float]:
    """The table; returns Spark's time over DuckDB's per size."""
    print()
    print(
        f"machine: {info['cpu_model']}, {info['cores']} cores, {info['ram_gb']} GB RAM; "
        f"{info['os']}; Python {info['python']}, DuckDB {info['duckdb']}, "
        f"PySpark {info['pyspark']}, {info['java']}"
    )
    print(
        f"{weeks} school weeks per pupil; cores = the threads each engine was given "
        "(DuckDB: every core of the machine; Spark: local[N])"
    )
    header = (
        f"{'pupils':>8}  {'engine':<18}{'cores':>6}{'wall s':>9}{'peak MB':>9}"
        f"{'student-lessons':>17}{'per core-s':>12}"
    )
    print(header)
    print("-" * len(header))
    for run in [*runs, *([bounded] if bounded else [])]:
        print(
            f"{run['students']:>8,}  {_label(run):<18}{run['cores']:>6}{run['seconds']:>9.1f}"
            f"{run['peak_mb']:>9,}{run['student_lessons']:>17,}"
            f"{run['student_lessons_per_core_second']:>12,}"
        )
    ratios: dict[str, float] = {}
    for students in sorted({run["students"] for run in runs}):
        by = {run["engine"]: run for run in runs if run["students"] == students}
        if "duckdb" in by and "spark" in by:
            ratios[str(students)] = round(by["spark"]["seconds"] / by["duckdb"]["seconds"], 2)
    if ratios:
        print(
            "Spark time / DuckDB time (DuckDB, the default engine, is the baseline): "
            + ", ".join(f"{int(n):,} pupils {r:.2f}" for n, r in ratios.items())
        )
    return ratios


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--students",
        type=_sizes,
        default=[25_000, 50_000, 100_000],
        help="pupil counts, comma-separated (default 25000,50000,100000)",
    )
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument(
        "--spark-students",
        type=_sizes,
        default=None,
        help="the sizes to run on Spark too (default: every size)",
    )
    parser.add_argument("--spark-master", default="local[2]")
    parser.add_argument(
        "--memory-limit",
        default=BOUNDED_LIMIT,
        help="DuckDB's limit in the bounded-memory run at the largest size "
        "('none' to skip that run)",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="scratch folder, kept for reuse (~7 GB while preparing 100,000 pupils)",
    )
    parser.add_argument(
        "--spark-conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a Spark setting for the Spark builds (through PYSPARK_SUBMIT_ARGS); repeatable",
    )
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    from linkage import DEFAULT_MEMORY_LIMIT

    scratch = (args.dir or Path(tempfile.gettempdir()) / "medler-bench-build").resolve()
    sizes = sorted(args.students)
    on_spark = set(sizes if args.spark_students is None else args.spark_students)
    cores = {"duckdb": os.cpu_count() or 1, "spark": _spark_cores(args.spark_master)}
    info = machine()
    data_dirs = {students: prepare(scratch, students, args.weeks) for students in sizes}
    figures: dict[str, Any] = {
        "benchmark": "bench/bench_scale.py",
        "measured": time.strftime("%Y-%m-%d", time.gmtime()),
        "machine": info,
        "weeks": args.weeks,
        "baseline": "duckdb",
        "duckdb_default_memory_limit": DEFAULT_MEMORY_LIMIT,
        "spark_master": args.spark_master,
        "spark_conf": args.spark_conf,
        "runs": [],
        "spark_over_duckdb_time": {},
        "bounded_memory": None,
    }

    def save() -> None:
        """After every run, so a failed or interrupted benchmark keeps what it measured."""
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")

    def run(students: int, engine: str, memory_limit: str | None = None) -> dict[str, Any]:
        result = build(
            data_dirs[students],
            engine,
            spark_master=args.spark_master,
            memory_limit=memory_limit,
            students=students,
            cores=cores[engine],
            spark_conf=args.spark_conf,
        )
        if memory_limit is None:
            figures["runs"].append(result)
        save()
        return result

    print(
        f"DuckDB with its default memory limit ({DEFAULT_MEMORY_LIMIT}) on {cores['duckdb']} "
        f"cores; Spark on {args.spark_master}",
        flush=True,
    )
    for students in sizes:
        here = [run(students, "duckdb")]
        if students in on_spark:
            here.append(run(students, "spark"))
        compare_rows(students, here)
    if args.memory_limit.lower() != "none":
        largest = sizes[-1]
        unbounded = figures["runs"][-1 - (largest in on_spark)]
        overhead = overhead_mb()
        bounded = run(largest, "duckdb", memory_limit=args.memory_limit)
        bounded["fixed_overhead_mb"] = round(overhead)
        bounded["limit_mb"] = round(_mb(args.memory_limit))
        bounded["unconstrained_peak_mb"] = unbounded["peak_mb"]
        figures["bounded_memory"] = bounded
        save()
        compare_rows(largest, [unbounded, bounded])
    figures["spark_over_duckdb_time"] = report(
        figures["runs"], figures["bounded_memory"], info, args.weeks
    )
    save()
    if figures["bounded_memory"] is not None:
        b = figures["bounded_memory"]
        ceiling = b["limit_mb"] + b["fixed_overhead_mb"]
        print(
            f"bounded memory: at {b['students']:,} pupils under a {b['memory_limit']} limit "
            f"DuckDB completed in {b['seconds']:.1f} s with a peak of {b['peak_mb']:,} MB "
            f"(unconstrained: {b['unconstrained_peak_mb']:,} MB), spilling up to "
            f"{b['scratch_peak_mb']:,} MB to disk, with the same row counts; the limit "
            f"({b['limit_mb']:,} MB) + the fixed overhead ({b['fixed_overhead_mb']:,} MB) = "
            f"{ceiling:,} MB; peak / (limit + overhead) = {b['peak_mb'] / ceiling:.2f}"
        )
    if args.json:
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
