"""Benchmark: what the linked audit adds to an exact release, with a project's history.

On the research snapshot of a municipality (by default the 100,000-pupil one that
``bench_build.py`` prepares and builds), one project first receives ``--history`` outputs on
``student_terms`` (a mix a working researcher asks for: counts by school, grade and term, with
margins or not, filtered by flags, band edges and terms; requests that the audit refuses are
not outputs and are replaced by the next). Then one more exact release is timed:

- with the history, as the service runs it (the project's refinement kept in memory from the
  earlier requests: one more output is one more refinement step and the linear programmes);
- with the history rebuilt from the release store (what a new process does, such as
  ``medler release`` from the command line);
- the named baseline: the same release in a project with no history (everything but the
  linked audit).

Every timed run asks a new question (a different filter), so nothing comes from the cache.
Medians of ``--runs`` runs; the goal is at most 1 s more than the baseline with 200 outputs.

    .venv/bin/python bench/bench_linked.py --dir SCRATCH                  # 100,000 pupils
    .venv/bin/python bench/bench_linked.py --dir SCRATCH --students 2000 --weeks 2
"""

from __future__ import annotations

import contextlib
import itertools
import os
import statistics
import time
from collections.abc import Iterator
from typing import Any

from _measure import research_data, timed

from release import MemoryStore, QueryRefused, QuerySpec, Releaser

FLAGS = ["persistent_absence", "severe_absence", "any_month_over_20_percent", "many_days_absent"]
GROUPINGS = [["school_code"], ["grade"], ["school_code", "grade"], ["term"], ["grade", "term"]]
EDGES = [5, 10, 15, 20, 30, 50]


def _history_specs() -> Iterator[dict[str, Any]]:
    """An endless, deterministic mix of the questions a project asks of student_terms."""
    for i in itertools.count():
        by = GROUPINGS[i % len(GROUPINGS)]
        filters: list[dict[str, Any]] = []
        if i % 3 == 1:
            filters.append({"column": FLAGS[(i // 3) % len(FLAGS)], "op": "is_true"})
        if i % 4 == 2:
            edge = EDGES[(i // 4) % len(EDGES)]
            filters.append({"column": "days_absent", "op": "between", "values": [0, edge]})
        if i % 5 == 3:
            filters.append({"column": "grade", "op": "between", "values": [i % 4, 9]})
        measures: list[dict[str, Any]] = [{"kind": "count_students"}]
        if i % 2:
            measures.append({"kind": "mean", "column": "absence_rate_reported"})
        yield {
            "table": "student_terms",
            "group_by": by,
            "filters": filters,
            "measures": measures,
            "margins": len(by) == 2 and i % 7 == 0,
        }


def _probe(run: int) -> QuerySpec:
    """The timed question: counts and mean absence by school in a range of grades."""
    low = run % 5
    return QuerySpec.model_validate(
        {
            "table": "student_terms",
            "group_by": ["school_code"],
            "filters": [{"column": "grade", "op": "between", "values": [low, 9 - (run // 5) % 3]}],
            "measures": [
                {"kind": "count_students"},
                {"kind": "mean", "column": "absence_rate_reported"},
            ],
        }
    )


def _load() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def _build_history(engine: Releaser, wanted: int) -> int:
    """Release the mix until the project holds ``wanted`` outputs; returns the outputs."""
    started, refused, asked, outputs = time.perf_counter(), 0, 0, 0
    specs = _history_specs()
    while outputs < wanted:
        asked += 1
        try:
            engine.release(QuerySpec.model_validate(next(specs)), "bench", project="history")
            outputs += 1
            if outputs % 25 == 0:
                print(
                    f"  {outputs} outputs after {time.perf_counter() - started:.0f} s", flush=True
                )
        except QueryRefused:
            refused += 1
    history = engine._histories[("history", "student_terms")]
    seconds = time.perf_counter() - started
    print(
        f"history: {outputs} outputs from {asked} requests ({refused} refused) in "
        f"{seconds:.0f} s; {len(history.sizes):,} atoms",
        flush=True,
    )
    return outputs


def main() -> None:
    args, data = research_data(
        __doc__.splitlines()[0],
        weeks=4,
        runs=7,
        options=lambda p: p.add_argument("--history", type=int, default=200),
    )
    print(f"load average at the start: {_load()}", flush=True)
    store = MemoryStore()
    engine = Releaser(data, store=store)
    outputs = _build_history(engine, args.history)

    def warm(run: int) -> None:
        with contextlib.suppress(QueryRefused):  # a refusal costs the same audit
            engine.release(_probe(run), "bench", project="history")

    def cold(run: int) -> None:
        fresh = Releaser(data, store=store)  # the history is rebuilt from the store
        fresh.snapshot  # noqa: B018
        fresh._frames = dict(engine._frames)  # the tables already read, as in a warm process
        with contextlib.suppress(QueryRefused):
            fresh.release(_probe(run + 100), "bench", project="history")

    def baseline(run: int) -> None:
        engine.release(_probe(run), "bench", project=f"empty-{run}")

    times = {
        "with 200 outputs, kept in the process": timed(args.runs, warm),
        "with 200 outputs, rebuilt from the store": timed(args.runs, cold),
        "no history (baseline)": timed(args.runs, baseline),
    }
    times = {k.replace("200", str(outputs)): v for k, v in times.items()}
    print(
        f"{'release of counts and mean absence by school':<46}{'median s':>10}{'min s':>8}"
        f"{'max s':>8}"
    )
    for label, t in times.items():
        print(f"{label:<46}{statistics.median(t):>10.3f}{min(t):>8.3f}{max(t):>8.3f}")
    base = statistics.median(times["no history (baseline)"])
    for label, t in times.items():
        if "baseline" in label:
            continue
        added = statistics.median(t) - base
        print(f"{label}: +{added:.2f} s over the baseline, ratio {statistics.median(t) / base:.2f}")
    print(f"goal: at most 1 s added with {args.history} outputs; load average {_load()}")


if __name__ == "__main__":
    main()
