"""The benchmark report: run every benchmark in ``bench/`` on this machine and write
``docs/benchmarks/README.md`` with each one's figures and its ratio against its named
baseline (verbatim, as the benchmark printed them), the machine they ran on, and plots of how
the build's time and peak memory grow with the municipality's size on each engine.

    pip install -c requirements/constraints.txt -e '.[dev,spark,bench]'
    python bench/report.py --dir /scratch/medler-bench             # everything, ~1.5 h
    python bench/report.py --dir /scratch/medler-bench --scale-json scale.json   # reuse a
                                                                   # bench_scale.py --json run

``--dir`` is a scratch folder with room for the prepared municipalities (~12 GB while the
100,000-pupil one is made). ``--students``/``--weeks`` set the size of the single-size
benchmarks (default 100,000 pupils, 8 weeks); the scale benchmark runs 25,000, 50,000 and
100,000.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = ROOT / "docs" / "benchmarks"


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = {}
    for name in ("duckdb", "polars", "opendp", "pyspark"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": f"{ram:.0f} GiB",
        "os": platform.platform(),
        "python": platform.python_version(),
        "report written": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        **{f"{k} version": v for k, v in versions.items()},
    }


@dataclass(frozen=True)
class Section:
    """One benchmark's run: what it printed, how long it took, and the machine's load (the
    1-minute load average) as it started and as it ended; None where not kept."""

    printed: str
    seconds: float | None
    load: tuple[float, float] | None


def run(name: str, args: list[str], out: Path, reuse: bool, scratch: Path) -> Section:
    """Run one benchmark. Fails loudly. Each output is kept in ``out/<name>.json``, with the
    scratch folder written as SCRATCH; with ``reuse`` a kept one is used again if it was run
    with the same arguments."""

    def scrub(text: str) -> str:  # where things are on this machine is its own business
        return text.replace(str(scratch), "SCRATCH").replace(f"{ROOT}{os.sep}", "")

    kept = out / f"{name}.json"
    if reuse and kept.is_file():
        body = json.loads(kept.read_text(encoding="utf-8"))
        if body.get("args") == [scrub(a) for a in args]:
            load = body.get("load")
            return Section(
                str(body["printed"]),
                body.get("seconds"),
                (float(load[0]), float(load[1])) if load else None,
            )
        print(
            f"== bench/{name}.py: the kept output was run with other arguments "
            f"({' '.join(body.get('args', []))}); running it again",
            flush=True,
        )
    command = [sys.executable, str(HERE / f"{name}.py"), *args]
    print(f"== {' '.join([f'bench/{name}.py', *args])}", flush=True)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    load = (load_before, os.getloadavg()[0])
    print(done.stdout, flush=True)
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
        raise SystemExit(f"bench/{name}.py failed (exit {done.returncode})")
    printed = scrub(done.stdout.strip())
    kept.write_text(
        json.dumps(
            {
                "args": [scrub(a) for a in args],
                "printed": printed,
                "seconds": seconds,
                "load": load,
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    return Section(printed, seconds, load)


def scale_body(path: Path) -> dict[str, Any]:
    """What ``bench_scale.py --json`` wrote: when and how it ran, and its runs."""
    body = json.loads(path.read_text(encoding="utf-8"))
    return body if isinstance(body, dict) else {"runs": body}


def unbounded(scale: dict[str, Any]) -> list[dict[str, Any]]:
    """The scale benchmark's runs without a memory limit: students, engine, seconds, peak MB."""
    return [r for r in scale["runs"] if not r.get("memory_limit")]


def plots(runs: list[dict[str, Any]], out: Path) -> list[str]:
    """Time and peak memory against pupils, one line per engine."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    for key, label, file in (
        ("seconds", "wall time (s)", "scale-time.png"),
        ("peak_mb", "peak memory (MB)", "scale-memory.png"),
    ):
        figure, axes = plt.subplots(figsize=(6, 4), dpi=120)
        for engine in sorted({r["engine"] for r in runs}):
            points = sorted((r["students"], r[key]) for r in runs if r["engine"] == engine)
            axes.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=engine)
        axes.set_xlabel("pupils in the municipality (8 teaching weeks)")
        axes.set_ylabel(label)
        axes.set_title(f"medler build: {label.split(' (')[0]} by size")
        axes.grid(True, alpha=0.3)
        axes.legend()
        figure.tight_layout()
        figure.savefig(out / file)
        plt.close(figure)
        made.append(file)
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, required=True, help="scratch folder")
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument(
        "--scale-json",
        type=Path,
        default=None,
        help="reuse a bench_scale.py --json result, not run it",
    )
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="use the outputs kept from an earlier run where there are any",
    )
    args = parser.parse_args()
    args.dir = args.dir.resolve()  # as the benchmarks print it, so that it is scrubbed
    args.out.mkdir(parents=True, exist_ok=True)
    size = ["--students", str(args.students), "--weeks", str(args.weeks)]
    scratch = ["--dir", str(args.dir)]
    sections: list[tuple[str, str, Section]] = []
    for title, name, extra in (
        ("Pseudonymising a million national IDs", "bench_pseudonymise", []),
        ("Generating the synthetic municipality", "bench_synth", [*size, *scratch]),
        ("Ingesting an SS 12000 extract", "bench_ingest", [*size, *scratch]),
        ("Ingesting beside a plain flatten to Parquet", "bench_ingest_flatten", [*size, *scratch]),
        ("Building the research tables", "bench_build", [*size, *scratch]),
        (
            "Adding a weekly delivery",
            "bench_weekly",
            ["--students", str(args.students), "--weeks", str(args.weeks + 1), *scratch],
        ),
        (
            "Releasing: differential privacy and disclosure control",
            "bench_release",
            [*size, *scratch, "--runs", "11"],
        ),
        (
            "The linked audit with a project's history",
            "bench_linked",
            [*size, *scratch, "--runs", "5"],
        ),
        (
            "A dp ratio and the planner, beside a plain dp mean",
            "bench_ratio",
            [*size, *scratch, "--runs", "9"],
        ),
        (
            "Regressions, sdc and dp, beside a plain dp mean",
            "bench_regression",
            [*size, *scratch, "--runs", "9"],
        ),
    ):
        sections.append(
            (
                title,
                f"bench/{name}.py {' '.join(extra)}",
                run(name, extra, args.out, args.reuse, args.dir),
            )
        )
    scale_json = args.scale_json
    if scale_json is None:
        scale_json = args.out / "scale.json"
        scaled = run(
            "bench_scale", [*scratch, "--json", str(scale_json)], args.out, args.reuse, args.dir
        )
        sections.append(
            (
                "The build by size, on DuckDB and on Spark",
                f"bench/bench_scale.py --dir … --json {scale_json.name}",
                scaled,
            )
        )
    sections = [(t, c.replace(str(args.dir), "SCRATCH"), s) for t, c, s in sections]
    scale = scale_body(scale_json)  # read once, for the plots and the table
    images = plots(unbounded(scale), args.out)
    write(args.out / "README.md", machine(), sections, images, scale)
    print(f"wrote {args.out / 'README.md'}")


def write(
    path: Path,
    box: dict[str, str],
    sections: list[tuple[str, str, Section]],
    images: list[str],
    scale: dict[str, Any],
) -> None:
    runs = unbounded(scale)
    lines = [
        "# Benchmarks",
        "",
        "Generated by `python bench/report.py` (see its docstring); do not edit by hand. Each "
        "benchmark compares medler with a named baseline in the same run and prints the ratio; "
        "what each baseline is, and why, is in the benchmark's own docstring.",
        "",
        "## The machine",
        "",
        "| | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in box.items()),
        "",
    ]
    for title, command, section in sections:
        took = (
            f"{section.seconds:,.0f} s in all" if section.seconds is not None else "time not kept"
        )
        if section.load is not None:
            start, end = section.load
            took += f"; load average {start:.2f} as it started, {end:.2f} as it ended"
        lines += [
            f"## {title}",
            "",
            f"`{command}` ({took})",
            "",
            "```text",
            section.printed,
            "```",
            "",
        ]
    conf = ", ".join(f"`{c}`" for c in scale.get("spark_conf") or []) or "none"
    lines += [
        "## How the build grows with size",
        "",
        f"Measured by `bench/bench_scale.py` on {scale.get('measured', 'an unknown date')} "
        f"({scale.get('weeks', '?')} teaching weeks; Spark master "
        f"`{scale.get('spark_master', '?')}`, Spark settings: {conf}). The load column is "
        "the 1-minute load average as each build started and ended; on 2 cores a build "
        "alone brings it to about 2.",
        "",
        "| pupils | engine | wall s | peak MB | load |",
        "|---:|---|---:|---:|---|",
    ]
    for r in sorted(runs, key=lambda r: (r["students"], r["engine"])):
        load = r.get("load_average_1min")
        shown = f"{load[0]:.1f}–{load[1]:.1f}" if load else "not kept"
        lines.append(
            f"| {r['students']:,} | {r['engine']} | {r['seconds']:,.1f} | "
            f"{r['peak_mb']:,.0f} | {shown} |"
        )
    lines += [
        "",
        *(f"![{i.removesuffix('.png')}]({i})" for i in images),
        "",
        "What the figures mean for a national year: "
        "[../explanation/scale.md](../explanation/scale.md).",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
