"""Disclosure control for tables of aggregates: the primary rules at their exact thresholds,
margins that cannot be mistaken for key values, complementary suppression, the audit that
proves no suppressed cell can be worked out again, and rounding."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medler.errors import MedlerInternalError, UsageError
from release._policy import SdcPolicy
from release._sdc import (
    REASON_COMPLEMENTARY,
    add_margins,
    audit_intervals,
    primary_suppression,
    round_counts,
    secondary_suppression,
)

POLICY = SdcPolicy(
    min_students=10,
    min_teachers=3,
    dominance_n=2,
    dominance_k=0.85,
    p_percent=0.10,
    zeros="release",
    rounding_base=0,
    min_population=10,
    teacher_dominance_n=1,
    teacher_dominance_k=0.85,
    sum_protection=0.10,
    quantile_min_side=10,
    previews_per_day=200,
)
BY = ["grade", "year"]


def _policy(**changes: object) -> SdcPolicy:
    return SdcPolicy.model_validate({**POLICY.model_dump(), **changes})


def _statuses(table: pl.DataFrame) -> list[tuple[str, str | None]]:
    return list(table.select("status", "reason").iter_rows())


def _grid(values: list[list[int]], first_year: int = 2024) -> pl.DataFrame:
    """Interior cells of a grade x year table of pupil counts (grades from 0)."""
    return pl.DataFrame(
        {
            "grade": [g for g, row in enumerate(values) for _ in row],
            "year": [first_year + y for row in values for y in range(len(row))],
            "students": [v for row in values for v in row],
        },
        schema={"grade": pl.Int64, "year": pl.Int64, "students": pl.Int64},
    )


def _protect(cells: pl.DataFrame, policy: SdcPolicy = POLICY) -> pl.DataFrame:
    table = primary_suppression(add_margins(cells, BY, ["students"]), BY, policy, sums=[])
    return secondary_suppression(table, BY, "students", policy)


def _suppressed_keys(table: pl.DataFrame) -> set[tuple[object, ...]]:
    return set(table.filter(pl.col("status") == "suppressed").select(BY).iter_rows())


# --- primary suppression -------------------------------------------------------------------


def test_a_cell_at_the_pupil_threshold_is_released_and_one_below_is_suppressed() -> None:
    cells = pl.DataFrame({"grade": [1, 2], "students": [10, 9]})
    assert _statuses(primary_suppression(cells, ["grade"], POLICY, sums=[])) == [
        ("released", None),
        ("suppressed", "fewer than 10 pupils"),
    ]


def test_teacher_threshold_applies_when_the_table_counts_teachers() -> None:
    cells = pl.DataFrame({"school": ["a", "b"], "students": [40, 40], "teachers": [3, 2]})
    assert _statuses(primary_suppression(cells, ["school"], POLICY, sums=[])) == [
        ("released", None),
        ("suppressed", "fewer than 3 teachers"),
    ]


def _measure(totals: list[float], top1: list[float], top2: list[float]) -> pl.DataFrame:
    n = len(totals)
    return pl.DataFrame(
        {
            "grade": list(range(n)),
            "students": [20] * n,
            "minutes": totals,
            "minutes__top1": top1,
            "minutes__top2": top2,
        }
    )


def test_dominance_at_exactly_k_is_released_and_just_above_is_suppressed() -> None:
    # (60 + 25) / 100 = 0.85 exactly; (60 + 26) / 100 = 0.86.
    cells = _measure([100, 100], [60, 60], [25, 26])
    assert _statuses(primary_suppression(cells, ["grade"], POLICY, sums=["minutes"])) == [
        ("released", None),
        ("suppressed", "dominance (2, 0.85)"),
    ]


def test_dominance_with_one_contributor_looks_at_the_largest_only() -> None:
    policy = _policy(dominance_n=1, dominance_k=0.5, p_percent=0.01)
    cells = _measure([100, 100], [50, 51], [49, 1])
    assert _statuses(primary_suppression(cells, ["grade"], policy, sums=["minutes"])) == [
        ("released", None),
        ("suppressed", "dominance (1, 0.5)"),
    ]


def test_p_percent_rule_at_exactly_p_is_released_and_just_below_is_suppressed() -> None:
    # The rest of the cell must hide at least 10 % of the largest contribution (5 of 50).
    policy = _policy(dominance_n=1)
    cells = _measure([100, 100], [50, 50], [45, 46])
    assert _statuses(primary_suppression(cells, ["grade"], policy, sums=["minutes"])) == [
        ("released", None),
        ("suppressed", "p % rule"),
    ]


def test_zero_cells_follow_the_zeros_policy_and_are_exempt_from_thresholds_when_released() -> None:
    cells = pl.DataFrame({"grade": [1, 2], "students": [0, 0], "teachers": [0, 0]})
    released = primary_suppression(cells, ["grade"], POLICY, sums=[])
    suppressed = primary_suppression(cells, ["grade"], _policy(zeros="suppress"), sums=[])
    assert _statuses(released) == [("released", None)] * 2
    assert _statuses(suppressed) == [("suppressed", "zero cell")] * 2


def test_the_first_rule_a_cell_fails_is_its_reason() -> None:
    cells = _measure([100], [99], [1]).with_columns(pl.lit(4).alias("students"))
    table = primary_suppression(cells, ["grade"], POLICY, sums=["minutes"])
    assert _statuses(table) == [("suppressed", "fewer than 10 pupils")]


def test_margins_have_no_top_contributions_and_are_judged_by_their_pupils() -> None:
    cells = _measure([100, 100], [10, 10], [10, 10])
    table = add_margins(cells, ["grade"], ["students", "minutes"])
    table = primary_suppression(table, ["grade"], POLICY, sums=["minutes"])
    total = table.filter(pl.col("margin"))
    assert total.select("students", "minutes", "minutes__top1").row(0) == (40, 200, None)
    assert _statuses(total) == [("released", None)]


def test_a_dominance_rule_beyond_the_two_largest_contributions_is_refused() -> None:
    with pytest.raises(UsageError) as refused:
        primary_suppression(
            _measure([1], [1], [0]), ["grade"], _policy(dominance_n=3), sums=["minutes"]
        )
    assert str(refused.value) == (
        "dominance_n = 3 cannot be checked: tables carry only the two largest contributions per "
        "cell; set dominance_n to 1 or 2 in policies/release.toml"
    )


# --- margins ---------------------------------------------------------------------------------


def test_margins_mark_the_summed_out_key_with_null_and_keep_integer_codes_intact() -> None:
    table = add_margins(_grid([[11, 12, 13], [21, 22, 23]]), BY, ["students"])
    assert table.schema["grade"] == pl.Int64 and table.schema["year"] == pl.Int64
    assert table.height == 6 + 2 + 3 + 1
    margins = table.filter(pl.col("margin"))
    assert margins.rows() == [
        (None, 2024, 32, True),
        (None, 2025, 34, True),
        (None, 2026, 36, True),
        (0, None, 36, True),
        (1, None, 66, True),
        (None, None, 102, True),
    ]
    assert (
        table.filter(~pl.col("margin")).drop("margin").equals(_grid([[11, 12, 13], [21, 22, 23]]))
    )


def test_margins_over_three_keys_cover_every_subset_of_summed_out_keys() -> None:
    cells = pl.DataFrame(
        {"a": [0, 0, 1, 1], "b": [0, 1, 0, 1], "c": ["x", "y", "x", "y"], "students": [1, 2, 3, 4]}
    )
    table = add_margins(cells, ["a", "b", "c"], ["students"])
    # Only combinations that occur: 4 cells, 4 + 4 + 2 with one key summed out, 2 + 2 + 2 with
    # two, and the grand total.
    assert table.height == 4 + 10 + 6 + 1
    assert table.filter(pl.all_horizontal(pl.col("a", "b", "c").is_null()))[
        "students"
    ].to_list() == [10]


def test_a_missing_key_cannot_be_told_from_a_margin_and_is_refused() -> None:
    cells = pl.DataFrame({"grade": [0, None], "students": [12, 13]})
    with pytest.raises(MedlerInternalError, match="a missing key marks a margin"):
        add_margins(cells, ["grade"], ["students"])


# --- secondary suppression and the audit ----------------------------------------------------

ONE_SMALL = [[30, 40, 50], [25, 3, 60], [45, 35, 20]]


def test_without_secondary_suppression_the_margins_give_a_small_cell_away() -> None:
    table = primary_suppression(
        add_margins(_grid(ONE_SMALL), BY, ["students"]), BY, POLICY, sums=[]
    )
    (exposure,) = audit_intervals(table, BY, "students", POLICY)
    assert exposure.keys == (1, 2025)
    assert exposure.lower == exposure.upper == pytest.approx(3)
    assert "lower" not in repr(exposure) and "3.0" not in repr(exposure)


def test_one_small_cell_forces_a_rectangle_of_complementary_suppressions() -> None:
    table = _protect(_grid(ONE_SMALL))
    assert _suppressed_keys(table) == {(1, 2025), (1, 2024), (2, 2025), (2, 2024)}
    reasons = dict(zip(table.select(BY).iter_rows(), table["reason"], strict=True))
    assert reasons[(1, 2025)] == "fewer than 10 pupils"
    assert reasons[(1, 2024)] == reasons[(2, 2025)] == reasons[(2, 2024)] == REASON_COMPLEMENTARY
    assert audit_intervals(table, BY, "students", POLICY) == []


def test_the_audit_catches_small_cells_that_shield_only_each_other() -> None:
    # Every line holds two suppressed cells, yet the 2 x 2 block of small cells can only
    # shift by min(3, 5) + min(4, 2) = 5 pupils: too little.
    cells = _grid([[3, 4, 40], [2, 5, 50], [30, 60, 70]])
    table = primary_suppression(add_margins(cells, BY, ["students"]), BY, POLICY, sums=[])
    exposed = audit_intervals(table, BY, "students", POLICY)
    assert {e.keys for e in exposed} == {(0, 2024), (0, 2025), (1, 2024), (1, 2025)}
    assert all(e.upper - e.lower == pytest.approx(5) for e in exposed)
    protected = secondary_suppression(table, BY, "students", POLICY)
    assert audit_intervals(protected, BY, "students", POLICY) == []


def test_secondary_suppression_is_deterministic_whatever_the_row_order() -> None:
    cells = _grid([[30, 30, 30, 30], [30, 4, 30, 30], [30, 30, 30, 6]])
    shuffled = cells.sample(fraction=1.0, shuffle=True, seed=3)
    assert _suppressed_keys(_protect(cells)) == _suppressed_keys(_protect(shuffled))


def test_a_table_whose_lines_hold_nothing_else_is_suppressed_whole() -> None:
    table = _protect(_grid([[3]]))
    assert table["status"].to_list() == ["suppressed"] * 4
    assert audit_intervals(table, BY, "students", POLICY) == []


def test_secondary_suppression_needs_primary_statuses_and_additive_margins() -> None:
    table = add_margins(_grid(ONE_SMALL), BY, ["students"])
    with pytest.raises(MedlerInternalError, match="run primary_suppression first"):
        secondary_suppression(
            table.with_columns(pl.lit(None).alias("status")), BY, "students", POLICY
        )
    rounded = round_counts(primary_suppression(table, BY, POLICY, sums=[]), ["students"], 10)
    with pytest.raises(MedlerInternalError, match="is not the sum of its cells"):
        audit_intervals(rounded, BY, "students", POLICY)


def _acro_table() -> pl.DataFrame:
    """Grade 0-9 x year 2024-2026 with small cells scattered, including grade 0 and the first
    year, and a grand total equal to one of the years."""
    rng = np.random.default_rng(102)
    values = rng.integers(40, 96, size=(10, 3))
    for (grade, year), small in {
        (0, 0): 2,
        (3, 1): 5,
        (5, 2): 8,
        (9, 0): 4,
        (9, 1): 3,
        (6, 1): 7,
        (2, 2): 6,
    }.items():
        values[grade, year] = small
    values[4, 0] += 2025 - values.sum()
    assert values[4, 0] >= 10
    return _grid(values.tolist())


def test_crosstab_over_integer_codes_suppresses_small_cells_and_never_mixes_margins_up() -> None:
    cells = _acro_table()
    table = _protect(cells)
    small = set(cells.filter(pl.col("students") < 10).select(BY).iter_rows())
    assert len(small) == 7 and small <= _suppressed_keys(table)
    assert audit_intervals(table, BY, "students", POLICY) == []
    interior = table.filter(~pl.col("margin"))
    assert (interior.filter(pl.col("status") == "released")["students"] >= 10).all()
    # A margin is a null key plus the flag, never a real code: grade 0, year 2024 and a year
    # that equals the grand total keep meaning exactly their own cells.
    assert table.select((pl.any_horizontal(pl.col(BY).is_null()) == pl.col("margin")).all()).item()
    assert interior.drop("margin", "status", "reason").equals(cells)
    grade_0 = table.filter(pl.col("grade") == 0)
    assert grade_0["year"].to_list() == [2024, 2025, 2026, None]
    assert grade_0["students"][-1] == cells.filter(pl.col("grade") == 0)["students"].sum()
    assert (
        table.filter(pl.col("grade").is_null() & pl.col("year").is_null())["students"].item()
        == 2025
    )
    assert table.filter(pl.col("year") == 2025)["grade"].to_list() == [*range(10), None]


@settings(max_examples=40, deadline=None)
@given(
    values=st.integers(2, 5).flatmap(
        lambda rows: st.lists(
            st.lists(st.one_of(st.integers(0, 9), st.integers(10, 60)), min_size=3, max_size=3),
            min_size=rows,
            max_size=rows,
        )
    ),
    zeros=st.sampled_from(["release", "suppress"]),
)
def test_property_protected_tables_pass_the_audit(values: list[list[int]], zeros: str) -> None:
    policy = _policy(zeros=zeros)
    cells = _grid(values)
    table = _protect(cells, policy)
    assert audit_intervals(table, BY, "students", policy) == []
    released = table.filter(~pl.col("margin") & (pl.col("status") == "released"))["students"]
    assert all(v >= 10 or (v == 0 and zeros == "release") for v in released)
    primary = primary_suppression(add_margins(cells, BY, ["students"]), BY, policy, sums=[])
    assert _suppressed_keys(primary) <= _suppressed_keys(table)


# --- rounding --------------------------------------------------------------------------------


def test_rounding_to_the_nearest_multiple_with_halves_upwards() -> None:
    cells = pl.DataFrame({"students": [0, 1, 2, 3, 4, 5, 7, 12, 15]})
    assert round_counts(cells, ["students"], 10)["students"].to_list() == [
        0,
        0,
        0,
        0,
        0,
        10,
        10,
        10,
        20,
    ]
    assert round_counts(cells, ["students"], 3)["students"].to_list() == [
        0,
        0,
        3,
        3,
        3,
        6,
        6,
        12,
        15,
    ]
    assert round_counts(cells, ["students"], 0).equals(cells)
    assert round_counts(cells, ["students"], 5).schema["students"] == pl.Int64


def test_margins_are_rounded_on_their_own_within_half_a_base_per_cell() -> None:
    table = add_margins(_grid([[12, 12, 12]]), BY, ["students"])
    rounded = round_counts(table, ["students"], 10)
    interior = rounded.filter(~pl.col("margin"))["students"].sum()
    total = rounded.filter(pl.col("grade").is_null() & pl.col("year").is_null())["students"].item()
    assert (interior, total) == (30, 40)
    assert abs(total - interior) <= 10 / 2 * (3 + 1)


def test_rounding_refuses_a_negative_base_and_non_counts() -> None:
    with pytest.raises(UsageError, match="rounding base -1 is negative"):
        round_counts(pl.DataFrame({"students": [1]}), ["students"], -1)
    with pytest.raises(MedlerInternalError, match="only counts are rounded"):
        round_counts(pl.DataFrame({"share": [0.5]}), ["share"], 5)


def _sums(values: list[list[float]]) -> pl.DataFrame:
    """A grade x year table with 20 pupils per cell and ``values`` as a sum of minutes, its
    margins added, and the cell (0, 2024) primarily suppressed."""
    cells = _grid([[20] * len(values[0]) for _ in values]).with_columns(
        pl.Series("sum:minutes", [v for row in values for v in row], dtype=pl.Float64)
    )
    table = add_margins(cells, BY, ["students", "sum:minutes"])
    status = pl.when((pl.col("grade") == 0) & (pl.col("year") == 2024))
    return table.with_columns(
        status.then(pl.lit("suppressed")).otherwise(pl.lit("released")).alias("status"),
        status.then(pl.lit("p % rule")).otherwise(pl.lit(None, dtype=pl.String)).alias("reason"),
    )


def test_a_suppressed_sum_is_protected_in_proportion_to_its_value() -> None:
    """A suppressed sum of 5,000 minutes is protected by 10 % of it (500 minutes), not by ten
    units of the measure: a partner cell of 100 minutes would leave it known within 100."""
    table = _sums([[5000, 100], [3000, 4000]])
    exposed = audit_intervals(table, BY, "sum:minutes", POLICY, proportional=True)
    assert [e.keys for e in exposed] == [(0, 2024)]
    protected = secondary_suppression(table, BY, "sum:minutes", POLICY, proportional=True)
    assert audit_intervals(protected, BY, "sum:minutes", POLICY, proportional=True) == []
    hidden = protected.filter(pl.col("status") == "suppressed")
    # the partner chosen can hide 500 minutes by itself: the 3,000, not the 100
    assert (0, 2025) not in set(hidden.select(BY).iter_rows())
    assert (1, 2024) in set(hidden.select(BY).iter_rows())
    # counted in units (the old rule), the 100-minute cell would have done
    assert (
        audit_intervals(
            secondary_suppression(table, BY, "sum:minutes", POLICY), BY, "sum:minutes", POLICY
        )
        == []
    )
