"""The differentially private measurement does what its plan says: noise of the stated scale,
intervals that cover the truth as often as stated, a privacy loss calibrated tightly to the one
asked for, and a scale that grows as 1/√ρ.

Each call of an OpenDP measurement draws fresh noise, so one plan is run many times on a small
table of known counts. A grouped count of K public keys, each person in one cell, releases K
independent noisy counts per run: 400 runs give 400 × K draws.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from release import load_policies
from release._dp import DpPlan, plan_release
from release._frames import Collapse, PrivateFrame, run_measurement

MAX_PERSONS = load_policies().release.dp.max_persons
CELLS = 10
PER_CELL = 60
RUNS = 400
# Counts are integers, so OpenDP adds discrete Gaussian noise and states an integer half-width
# that holds at least 95 %. At a scale of a few units that rounding makes the interval cover
# ~98 %; at ρ = 0.0005 (scale ≈ 31.6) it covers ~95.5 %, which is what is tested here.
RHO = 0.0005

KEYS = pl.DataFrame({"g": [f"k{i:02d}" for i in range(CELLS)]})
ROWS = pl.LazyFrame(
    {
        "pid": list(range(CELLS * PER_CELL)),
        "g": [f"k{i % CELLS:02d}" for i in range(CELLS * PER_CELL)],
        "x": [float(i % 7) for i in range(CELLS * PER_CELL)],
    }
)
GROUPED = Collapse(
    by=("g",),
    unit="pid",
    filters=(),
    means={},
    sums={},
    flags=(),
    max_rows=1,
    key_limits=(("g", 1),),
)


def plan(c: Collapse, rho: float) -> DpPlan:
    schema: dict[str, pl.DataType] = {name: pl.String() for name in c.by}
    schema |= {f"sum:{m}": pl.Float64() for m in c.sums}
    return plan_release(c, schema, KEYS if c.by else None, rho, max_persons=MAX_PERSONS)


def noisy_counts(c: Collapse, p: DpPlan, runs: int) -> np.ndarray:
    """``runs`` × cells noisy counts (cells in key order)."""
    frame = PrivateFrame("t", ROWS)
    out = []
    for _ in range(runs):
        released = run_measurement(frame, c, p.measurement)
        out.append(
            released.sort(list(c.by)).get_column("n").to_numpy()
            if c.by
            else released.get_column("n").to_numpy()
        )
    return np.array(out, dtype=float)


@pytest.fixture(scope="module")
def grouped() -> tuple[DpPlan, np.ndarray]:
    p = plan(GROUPED, RHO)
    return p, noisy_counts(GROUPED, p, RUNS) - PER_CELL


def test_the_noise_has_the_planned_scale(grouped: tuple[DpPlan, np.ndarray]) -> None:
    p, errors = grouped
    assert errors.shape == (RUNS, CELLS)
    assert abs(errors.mean()) < 4 * p.scale / math.sqrt(errors.size)  # unbiased
    assert errors.std(ddof=1) == pytest.approx(p.scale, rel=0.10)
    assert len(np.unique(errors[:, 0])) > RUNS // 10  # fresh noise on every run


def test_the_stated_interval_covers_the_truth_95_percent_of_the_time(
    grouped: tuple[DpPlan, np.ndarray],
) -> None:
    p, errors = grouped
    half_width = p.accuracy["n"]
    assert half_width is not None
    assert half_width == pytest.approx(1.96 * p.scale, rel=0.05)
    coverage = float((np.abs(errors) <= half_width).mean())
    assert 0.93 <= coverage <= 0.97


@pytest.mark.parametrize("rho", [0.0005, 0.01, 0.1, 0.5])
@pytest.mark.parametrize("shape", ["grouped count", "count and sum"])
def test_the_calibration_spends_just_under_the_budget(rho: float, shape: str) -> None:
    c = GROUPED
    if shape == "count and sum":
        c = Collapse(
            by=("g",),
            unit="pid",
            filters=(),
            means={},
            sums={"x": (0.0, 6.0)},
            flags=(),
            max_rows=1,
            key_limits=(("g", 1),),
        )
    p = plan(c, rho)
    assert 0.999 * rho <= p.rho <= rho


@pytest.mark.parametrize("rho", [0.0005, 0.02, 0.4])
def test_halving_rho_multiplies_the_scale_by_root_two(rho: float) -> None:
    assert plan(GROUPED, rho / 2).scale / plan(GROUPED, rho).scale == pytest.approx(
        math.sqrt(2), rel=0.01
    )


@pytest.mark.parametrize("sums", [{}, {"x": (0.0, 6.0)}], ids=["count only", "with a sum"])
def test_an_ungrouped_count_is_centred_on_the_true_count(
    sums: dict[str, tuple[float, float]],
) -> None:
    """The whole table as one cell: the noisy count of its persons must centre on their number
    (whether or not another measure is asked for)."""
    c = Collapse(by=(), unit="pid", filters=(), means={}, sums=sums, flags=(), max_rows=1)
    p = plan(c, 0.05)
    runs = 100
    counts = noisy_counts(c, p, runs)[:, 0]
    true, tolerance = CELLS * PER_CELL, 4 * p.scale / math.sqrt(runs)
    assert abs(counts.mean() - true) < tolerance, (
        f"noisy counts centre on {counts.mean():.1f}, not on the {true} persons in the table"
    )
