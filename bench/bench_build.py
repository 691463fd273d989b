"""Benchmark: `medler build` against a hand-written DuckDB script. Wall time, peak memory.

The named baseline is what a competent engineer would write by hand without medler: one
DuckDB SQL script (``_reference_build.sql``; the plain ``duckdb`` package, default settings,
no Ibis) that reads the same canonical Parquet files and computes ``exposure`` (every column,
teacher turnover included), ``student_months`` and ``student_terms`` from scratch. It is
written to be strong: whatever depends only on the lesson is computed once per lesson, pupils
are joined late, and the pupil-lessons are kept once, lean, and read in three grouped passes.
``tests/unit/linkage/research/test_reference_sql.py`` checks it against the build. Both run as
processes in the same run, under ``_measure.measure`` (wall time, peak resident memory of the
process tree); the three tables must be equal (same rows by key, integers exactly, floats
within 1e-9 relative, nulls alike), else the benchmark fails and says which columns differ.
The 1-minute load average is printed as each run starts and ends: the ratio is only
meaningful on an otherwise quiet machine (the process CPU time of both is printed too).

Goal: medler at least as fast as the reference, with no more memory (then half its time) —
although medler writes every research table (all eight that ``medler build`` writes by
default; ``student_lessons``, one row per pupil and held lesson, is built only with
``--student-lessons`` and no other table needs it) and the reference only the three compared.
The build sums the pupils' lessons per segment of pupils who sat the same lessons before
joining the pupils (``linkage/research/_seats.py``); the script works per pupil and lesson.

Measured on the 2-core development machine (``docs/explanation/scale.md``, "Against
hand-written SQL", has every run with its load). With the compiled plan (the build runs the
statements its Ibis expressions compile to, kept with the package: ``linkage/_plans.py``), at
20,000 pupils × 4 weeks, load 1.4–2.4: the build 3.7–4.1 s, 497–526 MB; the script 3.5–4.1 s,
580–614 MB: ratios 0.97–1.12 (wall, the higher at the higher loads), 0.93–1.03 (CPU),
0.85–0.89 (memory). At 100,000 pupils × 4 weeks: 0.79–0.82 (wall), 0.79 (memory). What is
left at 20,000 pupils is DuckDB's own work (2.3–2.6 s) and 0.2 s of start-up.

The data directory (a synthetic municipality, ingested, with the teacher and student
registers) is prepared once in ``--dir`` and reused by later runs with the same size; the raw
extract is deleted after ingestion (at 100,000 pupils over 8 weeks it takes ~7 GB while
preparing; the data directory kept is ~0.2 GB). Each run first removes the research snapshots
of earlier runs, so every build starts from the canonical snapshot alone.

    .venv/bin/python bench/bench_build.py --dir SCRATCH    # 100,000 pupils, 8 weeks
    .venv/bin/python bench/bench_build.py --students 2000 --weeks 4 --dir SCRATCH
    .venv/bin/python bench/bench_build.py --reference DATA_DIR OUT  # the baseline on its own
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
from _tables import files_sql, research_tables, snapshot_tables

CLI = [sys.executable, "-m", "api.cli"]
HERE = Path(__file__).resolve().parent
REFERENCE_SQL = HERE / "_reference_build.sql"
SEED = 1
READY = "prepared.json"
COMPARED = {
    "exposure": ["student_pid", "term", "subject_code"],
    "student_months": ["student_pid", "month"],
    "student_terms": ["student_pid", "term"],
}
RELATIVE = 1e-9
FLOATS = ("DOUBLE", "FLOAT")


def prepare(scratch: Path, students: int, weeks: int) -> Path:
    """The ingested data directory for this size in ``scratch``, made on the first run."""
    folder = scratch / f"{students}x{weeks}"
    data = folder / "data"
    ready = folder / READY
    wanted = {"students": students, "weeks": weeks, "seed": SEED}
    if ready.is_file() and json.loads(ready.read_text(encoding="utf-8")) == wanted:
        print(f"reusing the prepared data directory {data}", flush=True)
        return data
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    key = folder / "key" / "key.json"
    extract = folder / "extract"
    env = {**os.environ, "MEDLER_KEY_FILE": str(key)}
    steps: list[tuple[str, list[str]]] = [
        ("key", [*CLI, "keys", "init", "--key-file", str(key), "--data-dir", str(data)]),
        (
            "synth",
            [
                *CLI,
                "synth",
                "--students",
                str(students),
                "--weeks",
                str(weeks),
                "--seed",
                str(SEED),
                "--out",
                str(extract),
            ],
        ),
        ("ingest", [*CLI, "ingest", str(extract / "ss12000"), "--data-dir", str(data)]),
        (
            "teacher register",
            [
                *CLI,
                "ingest-register",
                "teachers",
                str(extract / "registers" / "teacher_register.csv"),
                "--data-dir",
                str(data),
            ],
        ),
        (
            "student register",
            [
                *CLI,
                "ingest-register",
                "students",
                str(extract / "registers" / "student_register.csv"),
                "--data-dir",
                str(data),
            ],
        ),
    ]
    for label, command in steps:
        seconds, peak = measure(command, env=env)
        print(f"prepared: {label} in {seconds:.1f} s, peak {peak:,.0f} MB", flush=True)
    shutil.rmtree(extract)
    ready.write_text(json.dumps(wanted) + "\n", encoding="utf-8")
    return data


def reference(data_dir: Path, out: Path) -> None:
    """The baseline: the canonical tables as views, the SQL script, two Parquet files."""
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    os.chdir(out)  # an in-memory database spills to ./.tmp when it must
    con = duckdb.connect()
    # a canonical table added to by deliveries is held in parts
    for name, paths in snapshot_tables(data_dir).items():
        files = files_sql(paths)
        con.execute(f"CREATE VIEW {name} AS FROM read_parquet({files})")
    con.execute(REFERENCE_SQL.read_text(encoding="utf-8"))
    for name in COMPARED:
        target = str(out / f"{name}.parquet").replace("'", "''")
        # Snappy, as the build writes its tables: the faster of the two to write
        con.execute(f"COPY {name} TO '{target}' (FORMAT parquet, COMPRESSION snappy)")
    con.close()


def compare(name: str, medler: list[Path], ours: Path) -> tuple[list[str], list[str]]:
    """What differs between the two Parquet files of table ``name`` (empty when equal), and
    notes on columns whose stored types differ."""
    import duckdb

    key = COMPARED[name]
    con = duckdb.connect()
    con.execute(f"CREATE VIEW m AS FROM read_parquet({files_sql(medler)})")
    con.execute(f"CREATE VIEW r AS FROM read_parquet('{ours}')")
    types = {row[0]: row[1] for row in con.execute("DESCRIBE m").fetchall()}
    other = {row[0]: row[1] for row in con.execute("DESCRIBE r").fetchall()}
    problems = [f"{name}: column {c} only in medler's table" for c in types if c not in other]
    problems += [f"{name}: column {c} only in the reference" for c in other if c not in types]
    columns = [c for c in types if c in other and c not in key]
    notes = [
        f"{name}.{c}: stored as {types[c]} by medler, {other[c]} by the reference"
        for c in columns
        if types[c] != other[c]
    ]
    keys = ", ".join(key)
    for side, label in (("m", "medler"), ("r", "the reference")):
        (repeated,) = con.execute(
            f"SELECT count(*) FROM (SELECT {keys} FROM {side} GROUP BY ALL HAVING count(*) > 1)"
        ).fetchone() or (0,)
        if repeated:
            problems.append(f"{name}: {repeated:,} keys repeated in {label}")
    checks = [
        "count(*) FILTER (WHERE m.present IS NULL) AS only_reference",
        "count(*) FILTER (WHERE r.present IS NULL) AS only_medler",
    ]
    for c in columns:
        if types[c] in FLOATS and other[c] in FLOATS:
            a, b = f"m.{c}::DOUBLE", f"r.{c}::DOUBLE"
            differs = (
                f"({a} IS NULL) <> ({b} IS NULL) OR abs({a} - {b}) > "
                f"{RELATIVE} * greatest(abs({a}), abs({b}))"
            )
        else:
            differs = f"m.{c} IS DISTINCT FROM r.{c}"
        checks.append(f"count(*) FILTER (WHERE m.present AND r.present AND ({differs}))")
    on = " AND ".join(f"m.{k} IS NOT DISTINCT FROM r.{k}" for k in key)
    query = (
        f"SELECT {', '.join(checks)} FROM (SELECT *, true AS present FROM m) m "
        f"FULL JOIN (SELECT *, true AS present FROM r) r ON {on}"
    )
    counts = con.execute(query).fetchone() or ()
    con.close()
    labels = [
        "rows only in the reference",
        "rows only in medler's table",
        *(f"column {c}" for c in columns),
    ]
    problems += [
        f"{name}: {label}: {count:,} rows differ"
        for label, count in zip(labels, counts, strict=True)
        if count
    ]
    return problems, notes


def _children_cpu() -> float:
    """CPU seconds (user and system) of every finished child process so far: unlike wall
    time, hardly changed by other jobs on the machine."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument(
        "--dir", type=Path, default=None, help="scratch folder, kept for reuse (~7 GB at full size)"
    )
    parser.add_argument(
        "--reference",
        nargs=2,
        type=Path,
        metavar=("DATA_DIR", "OUT"),
        help="run only the DuckDB baseline, writing to OUT",
    )
    args = parser.parse_args()
    if args.reference:
        reference(*args.reference)
        return
    scratch = (args.dir or Path(tempfile.gettempdir()) / "medler-bench-build").resolve()
    data_dir = prepare(scratch, args.students, args.weeks)
    shutil.rmtree(data_dir / "research", ignore_errors=True)  # every run builds from nothing
    out = scratch / f"{args.students}x{args.weeks}" / "reference"
    shutil.rmtree(out, ignore_errors=True)
    load = [os.getloadavg()[0]]
    cpu = [_children_cpu()]
    build = measure([*CLI, "build", "--data-dir", str(data_dir)])
    load.append(os.getloadavg()[0])
    cpu.append(_children_cpu())
    baseline = measure(
        [sys.executable, str(Path(__file__).resolve()), "--reference", str(data_dir), str(out)]
    )
    load.append(os.getloadavg()[0])
    cpu.append(_children_cpu())
    build_cpu, baseline_cpu = cpu[1] - cpu[0], cpu[2] - cpu[1]
    built = research_tables(data_dir)
    problems: list[str] = []
    notes: list[str] = []
    for name in COMPARED:
        found, noted = compare(name, built[name], out / f"{name}.parquet")
        problems += found
        notes += noted
    import duckdb
    import pyarrow.parquet as pq

    rows = {
        name: sum(pq.ParquetFile(path).metadata.num_rows for path in paths)
        for name, paths in built.items()
    }
    extra = [name for name in built if name not in COMPARED]
    print(
        f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; duckdb "
        f"{duckdb.__version__}; {args.students:,} pupils, {args.weeks} weeks"
    )
    print("rows: " + ", ".join(f"{name} {n:,}" for name, n in rows.items()))
    print(f"{'run':<44}{'seconds':>10}{'peak MB':>10}{'CPU s':>10}")
    print(
        f"{f'medler build (all {len(built)} research tables)':<44}{build[0]:>10.1f}"
        f"{build[1]:>10,.0f}{build_cpu:>10.1f}"
    )
    print(
        f"{'DuckDB reference (' + ', '.join(COMPARED) + ')':<44}{baseline[0]:>10.1f}"
        f"{baseline[1]:>10,.0f}{baseline_cpu:>10.1f}"
    )
    print(
        "load average (1 minute) at the build's start, between the runs, at the end: "
        + ", ".join(f"{x:.2f}" for x in load)
    )
    print(
        f"ratios medler/reference: time {build[0] / baseline[0]:.2f}, "
        f"peak memory {build[1] / baseline[1]:.2f} (goal: both ≤ 1, then time ≤ 0.5); "
        f"CPU time {build_cpu / baseline_cpu:.2f}"
    )
    print(f"medler also writes {', '.join(extra)}; the reference computes only the tables compared")
    if notes:
        print("equal values, different stored types (integers compared exactly):")
        for note in notes:
            print(f"  {note}")
    if problems:
        print("MISMATCH between medler and the reference:")
        for problem in problems:
            print(f"  {problem}")
        raise SystemExit(1)
    print(f"{', '.join(COMPARED)}: medler and the reference are equal")


if __name__ == "__main__":
    main()
