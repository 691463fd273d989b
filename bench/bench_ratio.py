"""Benchmark: the planner and a dp ratio, against a plain dp mean of the same data.

Three questions on the ``student_terms`` table of a municipality's research snapshot (by
default the 100,000-pupil one ``bench_build.py`` prepares and builds), per school (ρ = 0.05):

- the named baseline: a plain dp mean (``mean`` of ``absence_rate_planned``) with the number
  of pupils, through ``Releaser.release``;
- medler, ratio: absent minutes over planned minutes (``ratio``) with the number of pupils,
  the same path (two noisy sums per school, Fieller's interval);
- medler, planner: the ρ at which the mean's 95 % half-width is 0.05 in cells of 120 pupils
  (``Releaser.plan``: the measurement built and calibrated from public keys, then
  rescaled; no row read, nothing spent).

Every timed run asks a new question (a slightly different ρ), so nothing comes from a cache.
Medians of ``--runs`` runs, after one warm-up; ratios are question / baseline.

    .venv/bin/python bench/bench_ratio.py --dir SCRATCH          # 100,000 pupils
    .venv/bin/python bench/bench_ratio.py --dir SCRATCH --students 2000 --weeks 4
"""

from __future__ import annotations

import os
import statistics

from _measure import research_data, timed

from release import MemoryStore, QuerySpec, Releaser

RHO = 0.05


def _spec(measure: dict[str, object], rho: float) -> QuerySpec:
    return QuerySpec.model_validate(
        {
            "table": "student_terms",
            "group_by": ["school_code"],
            "mode": "dp",
            "rho": rho,
            "measures": [{"kind": "count_students"}, measure],
        }
    )


MEAN = {"kind": "mean", "column": "absence_rate_planned"}
RATIO = {"kind": "ratio", "numerator": "absent_minutes", "denominator": "planned_minutes"}


def main() -> None:
    args, data = research_data(__doc__.splitlines()[0], weeks=8, runs=15)
    engine = Releaser(data, store=MemoryStore())

    def rho(run: int) -> float:
        return RHO * (1 + (run + 2) * 1e-6)

    def mean(run: int) -> None:
        engine.release(_spec(MEAN, rho(run)), "bench", project="mean")

    def ratio(run: int) -> None:
        engine.release(_spec(RATIO, rho(run)), "bench", project="ratio")

    def planner(run: int) -> None:
        engine.plan(
            _spec(MEAN, rho(run + 100_000)),
            persons=120,
            half_width=0.05,
            measure="mean_absence_rate_planned",
        )

    baseline = timed(args.runs, mean)
    ratio_times = timed(args.runs, ratio)
    plan_times = timed(args.runs, planner)
    planned = engine.plan(
        _spec(MEAN, RHO), persons=120, half_width=0.05, measure="mean_absence_rate_planned"
    )
    schools = len(engine.public_keys().get("schools", []))
    print(
        f"student_terms by school ({schools} public schools), {args.students:,} pupils; "
        f"{args.runs} runs each"
    )
    print(f"{'question':<46}{'median s':>10}{'min s':>8}{'max s':>8}{'ratio':>8}")
    middle = statistics.median(baseline)
    for label, times in [
        ("plain dp mean by school (baseline)", baseline),
        ("dp ratio by school (sum over sum)", ratio_times),
        ("planner: rho for ±0.05 at 120 pupils", plan_times),
    ]:
        m = statistics.median(times)
        print(f"{label:<46}{m:>10.3f}{min(times):>8.3f}{max(times):>8.3f}{m / middle:>7.2f}x")
    print(f"planned: rho {planned.rho:.4g} for a mean's half-width of 0.05 in cells of 120")
    print("load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
