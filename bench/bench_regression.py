"""Benchmark: regressions (a spec's ``model``), sdc and dp, beside a plain dp mean.

On the ``student_profiles`` table of a municipality's research snapshot (by default the
100,000-pupil one ``bench_build.py`` prepares and builds), over the autumn term's pupils:

- the named baseline: a plain dp mean (``mean`` of ``absence_rate_reported`` with the number
  of pupils, ungrouped, ρ = 0.05) through ``Releaser.release``;
- medler, sdc linear: absence rate on certified share, novice share and grade, with grade band
  as a categorical predictor: the exact fit with its output checks and the linked audit;
- medler, dp linear: the same model under ρ = 0.05 (noisy sufficient statistics through
  OpenDP, then 2,000 bootstrap solves for the intervals);
- medler, sdc and dp logistic: turnover (a flag) on the same predictors (dp: 4 noisy Newton
  steps, each ρ / 4).

Every timed run asks a new question (another project for sdc, a slightly different ρ for dp),
so nothing comes from a cache. Medians of ``--runs`` runs, after one warm-up; ratios are
question / baseline. It prints too how far the dp estimates lie from the exact ones, beside
their stated 95 % half-widths.

    .venv/bin/python bench/bench_regression.py --dir SCRATCH --weeks 4   # 100,000 pupils
    .venv/bin/python bench/bench_regression.py --dir SCRATCH --students 2000 --weeks 4
"""

from __future__ import annotations

import os
import statistics
from typing import Any

from _measure import research_data, timed

from release import MemoryStore, QuerySpec, Releaser

RHO = 0.05
PREDICTORS = ["certified_share", "novice_share", "grade"]


def _model(kind: str, outcome: str, term: str, rho: float | None = None) -> QuerySpec:
    mode: dict[str, Any] = {"mode": "dp", "rho": rho} if rho is not None else {}
    return QuerySpec.model_validate(
        {
            "table": "student_profiles",
            **mode,
            "filters": [{"column": "term", "op": "in", "values": [term]}],
            "model": {
                "kind": kind,
                "outcome": outcome,
                "predictors": PREDICTORS,
                "categorical": ["grade_band"],
            },
        }
    )


def _mean(term: str, rho: float) -> QuerySpec:
    return QuerySpec.model_validate(
        {
            "table": "student_profiles",
            "mode": "dp",
            "rho": rho,
            "filters": [{"column": "term", "op": "in", "values": [term]}],
            "measures": [
                {"kind": "count_students"},
                {"kind": "mean", "column": "absence_rate_reported"},
            ],
        }
    )


def main() -> None:
    args, data = research_data(__doc__.splitlines()[0], weeks=8, runs=9)
    engine = Releaser(data, store=MemoryStore())
    term = sorted(engine.public_keys()["terms"])[0]

    def rho(run: int) -> float:
        return RHO * (1 + (run + 2) * 1e-6)

    linear = ("linear", "absence_rate_reported")
    logistic = ("logistic", "turnover_hit")
    questions = {
        "plain dp mean (baseline)": lambda run: engine.release(
            _mean(term, rho(run)), "bench", project="mean"
        ),
        "sdc linear regression": lambda run: engine.release(
            _model(*linear, term), "bench", project=f"sl{run}"
        ),
        "dp linear regression": lambda run: engine.release(
            _model(*linear, term, rho(run)), "bench", project="dl"
        ),
        "sdc logistic regression": lambda run: engine.release(
            _model(*logistic, term), "bench", project=f"sg{run}"
        ),
        "dp logistic regression": lambda run: engine.release(
            _model(*logistic, term, rho(run)), "bench", project="dg"
        ),
    }
    times = {label: timed(args.runs, ask) for label, ask in questions.items()}
    rows = engine.status()["tables"]["student_profiles"]
    print(
        f"student_profiles, term {term}: {args.students:,} pupils ({rows:,} rows in all "
        f"terms); {len(PREDICTORS)} predictors + grade_band; {args.runs} runs each"
    )
    print(f"{'question':<34}{'median s':>10}{'min s':>8}{'max s':>8}{'ratio':>8}")
    middle = statistics.median(times["plain dp mean (baseline)"])
    for label, measured in times.items():
        m = statistics.median(measured)
        print(f"{label:<34}{m:>10.3f}{min(measured):>8.3f}{max(measured):>8.3f}{m / middle:>7.2f}x")
    for kind, outcome in (linear, logistic):
        exact = engine.release(_model(kind, outcome, term), "bench", project=f"x{kind}")
        noisy = engine.release(_model(kind, outcome, term, RHO), "bench", project=f"y{kind}")
        print(
            f"{kind}, rho {RHO:g}: parameter, exact estimate, dp estimate, stated 95 % half-width"
        )
        for e, n in zip(exact.cells, noisy.cells, strict=True):
            half = n.half_width["estimate"] or float("nan")
            print(
                f"  {e.keys['parameter']:<18}{e.values['estimate']:>12.5f}"
                f"{n.values['estimate']:>12.5f}{half:>12.5f}"
            )
    print("load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
