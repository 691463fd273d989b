"""Spec tests for the ``ratio`` measure and histograms (``bands``): pupils' rows as small
text tables, the spec beside them, and the exact figures an sdc table computes from them.

A ratio is the sum of one column over the sum of another, over the cell's pupils: the share of
planned minutes a pupil group was absent, weighted by minutes (not the mean of the pupils' own
rates)::

    {"kind": "ratio", "numerator": "absent_minutes", "denominator": "planned_minutes"}

A histogram splits each cell by the published band of a measure its rows fall in, in a key
column ``<column>_band``; the edges are the catalogue's (``days_absent``: 0, 5, 10, 15, 20,
30, 50, 100), so the bands are public and list no data::

    {"table": "student_terms", "group_by": ["grade"], "bands": "days_absent",
     "measures": [{"kind": "count_students"}]}
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from release import QueryRefused, QuerySpec, load_policies
from release._frames import PrivateFrame, exact_table
from release._measures import kind
from release._rules import resolve

POLICIES = load_policies()


def table(text: str) -> pl.DataFrame:
    lines = [ln.strip() for ln in text.strip().splitlines()]
    header = [h.strip() for h in lines[0].split("|")]
    rows = [[c.strip() for c in ln.split("|")] for ln in lines[1:]]
    columns: dict[str, list[Any]] = {h: [] for h in header}
    for row in rows:
        for h, c in zip(header, row, strict=True):
            columns[h].append(c if h in ("student_pid", "term") else float(c))
    frame = pl.DataFrame(columns)
    return frame.with_columns(pl.col("grade").cast(pl.Int64)) if "grade" in frame else frame


PUPILS = table("""
    student_pid | term   | grade | planned_minutes | absent_minutes | days_absent
    a           | 2026HT | 7     | 1000            | 100            | 2
    b           | 2026HT | 7     | 1000            | 0              | 0
    c           | 2026HT | 7     | 2000            | 500            | 12
    d           | 2026HT | 8     | 500             | 250            | 7
    e           | 2026HT | 8     | 1500            | 0              | 0
""")


def figures(spec: dict[str, Any], rows: pl.DataFrame = PUPILS) -> dict[tuple[Any, ...], dict]:
    """The exact figures per cell of an sdc spec (before disclosure control)."""
    query = QuerySpec.model_validate({"table": "student_terms", **spec})
    frame = PrivateFrame("student_terms", rows.lazy())
    schema = dict(rows.schema)
    resolved = resolve(query, POLICIES, schema)
    out = {}
    for row in exact_table(frame, resolved.collapse).iter_rows(named=True):
        key = tuple(row[k] for k in query.keys)
        out[key] = {m.name: kind(m).exact(row, m) for m in query.measures}
    return out


RATIO = {"kind": "ratio", "numerator": "absent_minutes", "denominator": "planned_minutes"}


def test_a_ratio_is_the_sum_over_the_sum_not_the_mean_of_rates() -> None:
    got = figures({"group_by": ["grade"], "measures": [RATIO]})
    # grade 7: (100 + 0 + 500) / (1000 + 1000 + 2000) = 0.15 (the mean of rates is 0.1167)
    assert got[(7,)]["ratio_absent_minutes_planned_minutes"] == pytest.approx(0.15)
    # grade 8: 250 / 2000
    assert got[(8,)]["ratio_absent_minutes_planned_minutes"] == pytest.approx(0.125)


def test_a_ratio_is_named_for_its_two_columns_and_needs_both() -> None:
    m = QuerySpec.model_validate({"table": "student_terms", "measures": [RATIO]}).measures[0]
    assert m.name == "ratio_absent_minutes_planned_minutes"
    with pytest.raises(ValueError, match="ratio takes a numerator and a denominator"):
        QuerySpec.model_validate(
            {"table": "student_terms", "measures": [{"kind": "ratio", "numerator": "x"}]}
        )
    with pytest.raises(ValueError, match="ratio takes a numerator and a denominator"):
        QuerySpec.model_validate(
            {
                "table": "student_terms",
                "measures": [{"kind": "mean", "column": "days_absent", "numerator": "x"}],
            }
        )


def test_a_ratio_of_a_flag_is_refused() -> None:
    spec = {"kind": "ratio", "numerator": "persistent_absence", "denominator": "lessons"}
    with pytest.raises(QueryRefused, match="ratio needs measure columns"):
        figures(
            {"measures": [spec]},
            PUPILS.with_columns(persistent_absence=pl.lit(True), lessons=pl.lit(1.0)),
        )


def test_a_histogram_counts_pupils_per_published_band() -> None:
    got = figures(
        {"group_by": ["grade"], "bands": "days_absent", "measures": [{"kind": "count_students"}]}
    )
    assert {k: v["count_students"] for k, v in got.items()} == {
        (7, "0-5"): 2,  # a (2 days) and b (0 days)
        (7, "10-15"): 1,  # c (12 days)
        (8, "0-5"): 1,  # e
        (8, "5-10"): 1,  # d (7 days)
    }


def test_a_band_holds_its_lower_edge_and_the_last_its_upper_edge_too() -> None:
    rows = table("""
        student_pid | term   | grade | planned_minutes | absent_minutes | days_absent
        a           | 2026HT | 7     | 1000            | 0              | 5
        b           | 2026HT | 7     | 1000            | 0              | 100
        c           | 2026HT | 7     | 1000            | 0              | 140
    """)
    got = figures({"bands": "days_absent", "measures": [{"kind": "count_students"}]}, rows)
    # 140 is clamped to the bound (100) and falls in the last band
    assert {k: v["count_students"] for k, v in got.items()} == {("5-10",): 1, ("50-100",): 2}


def test_bands_need_a_measure_with_published_edges() -> None:
    with pytest.raises(QueryRefused, match="bands need a measure column with published band"):
        figures({"bands": "planned_minutes", "measures": [{"kind": "count_students"}]})


def test_the_band_column_is_a_key_of_the_result() -> None:
    spec = QuerySpec.model_validate(
        {
            "table": "student_terms",
            "group_by": ["grade"],
            "bands": "days_absent",
            "measures": [{"kind": "count_students"}],
        }
    )
    assert spec.keys == ("grade", "days_absent_band")


def test_specs_written_before_ratios_and_bands_keep_their_digest() -> None:
    """The release cache and the audit log key on the digest: new fields, unset, leave it."""
    spec = QuerySpec.model_validate(
        {"table": "student_terms", "measures": [{"kind": "count_students"}]}
    )
    assert "numerator" not in spec.canonical_json() and "bands" not in spec.canonical_json()
