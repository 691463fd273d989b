"""Differencing attacks on the cell-key method (``mode: "ckm"``). Each test is an attack.

The attacker asks for counts by school, then the same counts with one more filter that leaves
out exactly one pupil (a threshold on a measure just below that pupil's value), and subtracts.
Under sdc the subtraction would give the pupil's school exactly; under ckm each of the two
cells has its own key, so the difference is the true difference plus the difference of two
perturbations, and it is wrong in most pairs."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from release import QuerySpec, Releaser
from tests.research_data import engine, research_dir

__all__ = ["research_dir"]

COLUMN = "absence_rate_reported"
PAIRS = 150


def counts(e: Releaser, group_by: list[str], upper: float) -> dict[Any, int]:
    spec = QuerySpec.model_validate(
        {
            "table": "student_terms",
            "group_by": group_by,
            "mode": "ckm",
            "filters": [{"column": COLUMN, "op": "between", "values": [0, upper]}],
            "measures": [{"kind": "count_students"}],
        }
    )
    release = e.release(spec, "mallory", project="p")
    return {tuple(c.keys.values()): int(c.values["count_students"]) for c in release.cells}


def one_pupil_steps(e: Releaser) -> list[tuple[float, float, Any]]:
    """Pairs of thresholds ``(with, without)`` that differ by exactly one pupil, and that
    pupil's school (the attacker's target; read here from the table, to score the attack)."""
    rows = e._frame("student_terms")._lazy().select("student_pid", "school_code", COLUMN)
    table = rows.collect()
    assert table["student_pid"].is_unique().all()  # one row per pupil: one term
    held = table.group_by(COLUMN).agg(pl.len().alias("n"), pl.col("school_code").first())
    held = held.filter(pl.col(COLUMN) > 0).sort(COLUMN)
    values, ns, schools = held[COLUMN].to_list(), held["n"].to_list(), held["school_code"]
    steps = [(values[i], values[i - 1], schools[i]) for i in range(1, len(values)) if ns[i] == 1]
    assert len(steps) >= PAIRS
    return steps[-PAIRS:]


@pytest.fixture(scope="module")
def attack(research_dir: Path) -> list[tuple[int, int]]:
    """For each pair: the difference of the published totals and of the published counts of
    the pupil's school (the true difference of both is 1)."""
    e = engine(research_dir)
    out = []
    for with_, without, school in one_pupil_steps(e):
        total = counts(e, [], with_)[()] - counts(e, [], without)[()]
        by_school = counts(e, ["school_code"], with_)[(school,)]
        by_school -= counts(e, ["school_code"], without).get((school,), 0)
        out.append((total, by_school))
    return out


@pytest.mark.parametrize("which", ["total", "school"])
def test_subtracting_two_totals_rarely_gives_the_one_pupil(
    attack: list[tuple[int, int]], which: str
) -> None:
    recovered = [pair[0 if which == "total" else 1] for pair in attack]
    right = sum(1 for d in recovered if d == 1) / len(recovered)
    assert right < 0.45, f"the exact difference came out in {right:.0%} of pairs"
    spread = Counter(recovered)
    assert len(spread) >= 4  # the difference is noise: many values, no one of them reliable
    assert max(spread.values()) / len(recovered) < 0.45
    assert all(abs(d - 1) <= 6 for d in recovered)  # two perturbations of at most D = 3
    assert abs(sum(recovered) / len(recovered) - 1) < 0.5  # unbiased, but only on average


def test_asking_the_same_pair_again_gives_the_same_wrong_answer(research_dir: Path) -> None:
    """Repeating the two queries (in a new process, another project) averages nothing away:
    the same cells get the same noise."""
    with_, without, _ = one_pupil_steps(engine(research_dir))[0]
    first = [counts(engine(research_dir), [], u)[()] for u in (with_, without)]
    again = [counts(engine(research_dir), [], u)[()] for u in (with_, without)]
    assert first == again
