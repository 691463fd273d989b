"""Benchmark: release latency on the exposure table, against OpenDP's own Context path.

Three queries on the research snapshot of a municipality (by default the 100,000-pupil one
that ``bench_build.py`` prepares and builds):

- medler, DP: the mean certified share and the number of pupils per school (ρ = 0.05), through
  ``Releaser.release`` — the whole path: catalogue checks, the teacher rule on the
  schedule's cells, public keys, the measurement built and calibrated directly, noise drawn;
- medler, SDC: pupils per school × grade with margins, with primary suppression of every row
  (margins included), secondary suppression and the interval audit;
- the named baseline: the same DP query through OpenDP's ``Context`` API (``compositor``,
  ``query().group_by(...).agg(...).with_keys(...)``, ``release()``), which binary-searches the
  noise scale, given the same collapsed input (prepared once, outside its timing).

Every timed run asks a new question (a slightly different ρ), so no release comes from the
cache. Medians of ``--runs`` runs, after one warm-up; the ratio is baseline / medler.

    .venv/bin/python bench/bench_release.py --dir SCRATCH          # 100,000 pupils
    .venv/bin/python bench/bench_release.py --dir SCRATCH --students 2000 --weeks 4
"""

from __future__ import annotations

import statistics

import opendp.prelude as dp
import polars as pl
from _measure import research_data, timed

from release import MemoryStore, QuerySpec, Releaser
from release._frames import measure_input

dp.enable_features("contrib")

RHO = 0.05


def _spec(rho: float) -> QuerySpec:
    return QuerySpec.model_validate(
        {
            "table": "exposure",
            "group_by": ["school_code"],
            "mode": "dp",
            "rho": rho,
            "measures": [{"kind": "count_students"}, {"kind": "mean", "column": "certified_share"}],
        }
    )


def _crosstab(run: int) -> QuerySpec:
    return QuerySpec.model_validate(
        {
            "table": "exposure",
            "group_by": ["school_code", "grade"],
            "mode": "sdc",
            "margins": True,
            "measures": [{"kind": "count_students"}],
            "filters": [{"column": "grade", "op": "between", "values": [run % 3, 9]}],
        }
    )


def main() -> None:
    args, data = research_data(__doc__.splitlines()[0], weeks=8, runs=15)
    engine = Releaser(data, store=MemoryStore())

    def medler_dp(run: int) -> None:
        engine.release(_spec(RHO * (1 + (run + 2) * 1e-6)), "bench")

    def medler_sdc(run: int) -> None:
        engine.release(_crosstab(run + 10_000), f"bench-{run}", project=f"bench-{run}")

    dp_times = timed(args.runs, medler_dp)
    sdc_times = timed(args.runs, medler_sdc)

    # the baseline: the same question through OpenDP's Context, on the same collapsed rows
    assessed = engine.assess(_spec(RHO))
    resolved, frame = assessed.resolved, assessed.frame
    rows = measure_input(frame, resolved.collapse).collect()
    keys = engine._keys(resolved, frame)
    assert keys is not None
    reach = resolved.collapse.reach

    def context_dp(run: int) -> None:
        context = dp.Context.compositor(
            data=rows.lazy(),
            privacy_unit=dp.unit_of(
                contributions=[
                    dp.polars.Bound(by=[], per_group=reach),
                    dp.polars.Bound(by=["school_code"], per_group=1, num_groups=reach),
                ]
            ),
            privacy_loss=dp.loss_of(rho=RHO * (1 + (run + 2) * 1e-6)),
            split_evenly_over=1,
            margins=[dp.polars.Margin(by=["school_code"], invariant="keys", max_length=2_000_000)],
        )
        query = (
            context.query()
            .group_by("school_code")
            .agg(
                dp.len(signed=True).alias("n"),
                pl.col("certified_share").fill_null(0.0).dp.sum((0.0, 1.0)).alias("sum"),
                pl.col("certified_share").dp.count(signed=True).alias("count"),
            )
            .with_keys(keys)
        )
        query.release().collect()

    context_times = timed(args.runs, context_dp)
    rows_in = frame.schema()
    print(
        f"exposure: {len(rows_in)} columns; {rows.height:,} collapsed rows (pupil × school); "
        f"{keys.height} schools; {args.runs} runs each"
    )
    print(f"{'query':<44}{'median s':>10}{'min s':>8}{'max s':>8}")
    for label, times in [
        ("medler DP grouped mean by school", dp_times),
        ("OpenDP Context path, same query (baseline)", context_times),
        ("medler SDC school × grade, margins", sdc_times),
    ]:
        print(f"{label:<44}{statistics.median(times):>10.3f}{min(times):>8.3f}{max(times):>8.3f}")
    ratio = statistics.median(context_times) / statistics.median(dp_times)
    print(f"baseline / medler (DP): {ratio:.1f}x   goal: DP median <= 0.5 s and >= 5x")


if __name__ == "__main__":
    main()
