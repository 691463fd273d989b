"""Benchmark: a weekly delivery added onto a data directory, against ingesting and building the
same data in full. Wall time, peak memory.

The data: a synthetic municipality of ``--students`` pupils over ``--weeks`` teaching weeks
whose last week is written as a weekly delivery (``medler synth --deliveries 1``). The
**baseline** is what an office without weekly deliveries would run each week, in this run, on
a fresh data directory: the extract and the delivery ingested in full (``medler ingest EXTRACT
WEEK``), the two registers, and a full build. The **weekly** path starts from a data directory
that already holds the earlier weeks, built (prepared untimed, in this run), and times only
``medler ingest EXTRACT WEEK --delivery`` and ``medler build --incremental``. The goal: the
weekly path at most 20 % of the baseline. Every research table of the two data directories
must be equal, else the benchmark fails: every column but the floats exactly (as multisets of
rows), and floats within 1e-12 relative between rows with the same key (the engine sums in
parallel, in no fixed order, so the last bits of a float sum may differ even between two full
builds).

Each command runs as its own process under ``_measure.measure``. The 1-minute load average is
printed before and after each timed step: the ratio means most on an otherwise quiet machine.

    .venv/bin/python bench/bench_weekly.py --dir SCRATCH          # 100,000 pupils, 9 weeks
    .venv/bin/python bench/bench_weekly.py --students 2000 --weeks 5 --dir SCRATCH

The extract is kept in ``--dir`` for later runs with the same size (~8 GB at full size).
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
from _tables import files_sql, research_tables

CLI = [sys.executable, "-m", "api.cli"]
SEED = 1
READY = "prepared.json"
# every research table, with its key
TABLES = {
    "student_lessons": ["student_pid", "lesson_pid"],
    "student_teachers": ["student_pid", "term", "subject_code", "teacher_pid"],
    "exposure": ["student_pid", "term", "subject_code"],
    "student_months": ["student_pid", "month"],
    "student_terms": ["student_pid", "term"],
    "student_term_teachers": ["student_pid", "term", "teacher_pid"],
    "student_profiles": ["student_pid", "term"],
    "teacher_terms": ["teacher_pid", "term", "school_code"],
    "quality": ["school_code", "month"],
    # kept for the next incremental build (what turnover reads of the term before)
    "turnover_basis": ["student_pid", "term", "subject_code", "school_code", "teacher_pid"],
}
FLOATS = ("DOUBLE", "FLOAT")
RELATIVE = 1e-12


def prepare(scratch: Path, students: int, weeks: int) -> tuple[Path, Path]:
    """The synthetic extract and its key for this size in ``scratch``, made on the first run."""
    folder = scratch / f"{students}x{weeks}-weekly"
    extract, key = folder / "extract", folder / "key" / "key.json"
    wanted = {"students": students, "weeks": weeks, "seed": SEED, "deliveries": 1}
    ready = folder / READY
    if ready.is_file() and json.loads(ready.read_text(encoding="utf-8")) == wanted:
        print(f"reusing the prepared extract {extract}", flush=True)
        return extract, key
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for label, command in (
        ("key", [*CLI, "keys", "init", "--key-file", str(key), "--data-dir", str(folder / "full")]),
        (
            "synth",
            [
                *CLI,
                "synth",
                "--students",
                str(students),
                "--weeks",
                str(weeks),
                "--deliveries",
                "1",
                "--seed",
                str(SEED),
                "--out",
                str(extract),
            ],
        ),
    ):
        seconds, peak = measure(command)
        print(f"prepared: {label} in {seconds:.1f} s, peak {peak:,.0f} MB", flush=True)
    ready.write_text(json.dumps(wanted) + "\n", encoding="utf-8")
    return extract, key


def differences(full: Path, weekly: Path) -> list[str]:
    """What differs between the two data directories' research tables: rows whose columns
    other than floats are not in the other (compared as multisets, exactly), and floats more
    than ``RELATIVE`` apart between rows with the same key (the last bits of a sum depend on
    the order the engine adds in, even between two full builds)."""
    import duckdb

    left, right = research_tables(full), research_tables(weekly)
    out = []
    con = duckdb.connect()
    for name, key in TABLES.items():
        if name not in left and name not in right:  # student_lessons: built only when asked
            continue
        a, b = files_sql(left[name]), files_sql(right[name])
        con.execute(f"CREATE OR REPLACE VIEW f AS FROM read_parquet({a})")
        con.execute(f"CREATE OR REPLACE VIEW w AS FROM read_parquet({b})")
        types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE f)").fetchall())
        exact = ", ".join(f'"{c}"' for c, t in types.items() if t not in FLOATS)
        for first, second, label in (
            ("f", "w", "only in the full build"),
            ("w", "f", "only in the weekly build"),
        ):
            (n,) = con.execute(
                f"SELECT count(*) FROM (SELECT {exact} FROM {first} "
                f"EXCEPT ALL SELECT {exact} FROM {second})"
            ).fetchone() or (0,)
            if n:
                out.append(f"{name}: {n:,} rows {label}")
        on = " AND ".join(f'f."{k}" IS NOT DISTINCT FROM w."{k}"' for k in key)
        for c in (c for c, t in types.items() if t in FLOATS):
            x, y = f'f."{c}"', f'w."{c}"'
            (n,) = con.execute(
                f"SELECT count(*) FROM f JOIN w ON {on} WHERE ({x} IS NULL) <> ({y} IS NULL) "
                f"OR abs({x} - {y}) > {RELATIVE} * greatest(abs({x}), abs({y}))"
            ).fetchone() or (0,)
            if n:
                out.append(f"{name}.{c}: {n:,} values differ by more than {RELATIVE:g} relative")
    con.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--weeks", type=int, default=9)
    parser.add_argument(
        "--dir", type=Path, default=None, help="scratch folder, kept for reuse (~8 GB at full size)"
    )
    parser.add_argument(
        "--compare",
        nargs=2,
        type=Path,
        metavar=("FULL", "WEEKLY"),
        help="only compare two data directories' research tables",
    )
    args = parser.parse_args()
    if args.compare:
        problems = differences(*args.compare)
        print(
            "\n".join(problems)
            or f"all {len(research_tables(args.compare[0]))} research tables are equal (floats "
            f"within {RELATIVE:g} relative)"
        )
        raise SystemExit(1 if problems else 0)
    scratch = (args.dir or Path(tempfile.gettempdir()) / "medler-bench-weekly").resolve()
    extract, key = prepare(scratch, args.students, args.weeks)
    ss12000 = extract / "ss12000"
    week = sorted((extract / "deliveries").iterdir())[-1]
    registers = [
        ("teachers", extract / "registers" / "teacher_register.csv"),
        ("students", extract / "registers" / "student_register.csv"),
    ]
    env = {**os.environ, "MEDLER_KEY_FILE": str(key)}
    run = scratch / f"{args.students}x{args.weeks}-weekly"
    full, weekly = run / "full", run / "weekly"
    for folder in (full, weekly):
        shutil.rmtree(folder, ignore_errors=True)

    def registered(data: Path) -> list[tuple[str, list[str]]]:
        return [
            (
                f"{kind} register",
                [*CLI, "ingest-register", kind, str(path), "--data-dir", str(data)],
            )
            for kind, path in registers
        ]

    # the weekly path's starting point, untimed: the earlier weeks ingested and built
    for label, command in [
        ("ingest of the earlier weeks", [*CLI, "ingest", str(ss12000), "--data-dir", str(weekly)]),
        *registered(weekly),
        ("build of the earlier weeks", [*CLI, "build", "--data-dir", str(weekly)]),
    ]:
        seconds, peak = measure(command, env=env)
        print(f"prepared: {label} in {seconds:.1f} s, peak {peak:,.0f} MB", flush=True)

    steps = {
        "baseline": [
            (
                "ingest, extract and delivery in full",
                [*CLI, "ingest", str(ss12000), str(week), "--data-dir", str(full)],
            ),
            *registered(full),
            ("build", [*CLI, "build", "--data-dir", str(full)]),
        ],
        "weekly": [
            (
                "ingest --delivery",
                [*CLI, "ingest", str(ss12000), str(week), "--delivery", "--data-dir", str(weekly)],
            ),
            ("build --incremental", [*CLI, "build", "--incremental", "--data-dir", str(weekly)]),
        ],
    }
    results: dict[str, list[tuple[str, float, float, float, float]]] = {}
    for path, commands in steps.items():
        results[path] = []
        for label, command in commands:
            before = os.getloadavg()[0]
            seconds, peak = measure(command, env=env)
            results[path].append((label, seconds, peak, before, os.getloadavg()[0]))
            print(f"{path}: {label} in {seconds:.1f} s", flush=True)

    import duckdb
    import pyarrow.parquet as pq

    rows = {
        name: sum(pq.ParquetFile(path).metadata.num_rows for path in paths)
        for name, paths in research_tables(weekly).items()
    }
    print(
        f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; duckdb "
        f"{duckdb.__version__}; {args.students:,} pupils, {args.weeks} weeks, the last one "
        f"delivered ({week.name})"
    )
    print("rows: " + ", ".join(f"{name} {n:,}" for name, n in rows.items()))
    print(f"{'step':<48}{'seconds':>9}{'peak MB':>9}  load before, after")
    totals = {}
    for path, steps_run in results.items():
        for label, seconds, peak, before, after in steps_run:
            print(
                f"{f'{path}: {label}':<48}{seconds:>9.1f}{peak:>9,.0f}  {before:.2f}, {after:.2f}"
            )
        totals[path] = sum(s[1] for s in steps_run)
        print(f"{f'{path}: total':<48}{totals[path]:>9.1f}")
    ratio = totals["weekly"] / totals["baseline"]
    print(f"ratio weekly/baseline: time {ratio:.2f} (goal: ≤ 0.20)")
    problems = differences(full, weekly)
    if problems:
        print("MISMATCH between the full and the weekly research tables:")
        for problem in problems:
            print(f"  {problem}")
        raise SystemExit(1)
    print(
        f"all {len(research_tables(full))} research tables: the weekly build and the full one "
        "are equal "
        f"(floats within {RELATIVE:g} relative)"
    )


if __name__ == "__main__":
    main()
