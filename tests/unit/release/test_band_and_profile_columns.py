"""The release layer on the columns the build added: bands group by their published lists at no
cost in ``dp`` mode (like ``grade_band``), and ``student_profiles`` releases with its teachers
counted from ``student_term_teachers``."""

from __future__ import annotations

from pathlib import Path

import pytest

from release import QuerySpec
from tests.research_data import engine, research_dir

__all__ = ["research_dir"]

ABSENCE_BANDS = ["<5%", "5-10%", "10-20%", "20-50%", ">=50%"]
MERIT_BANDS = ["<100", "100-160", "160-200", "200-240", "240-280", ">=280"]


def spec(**fields: object) -> QuerySpec:
    return QuerySpec.model_validate(fields)


@pytest.mark.parametrize(
    ("table", "band", "labels"),
    [
        ("student_terms", "absence_band", ABSENCE_BANDS),
        ("student_months", "absence_band", ABSENCE_BANDS),
        ("student_profiles", "absence_band", ABSENCE_BANDS),
        ("student_terms", "merit_band", MERIT_BANDS),
        ("student_profiles", "merit_band", MERIT_BANDS),
    ],
)
def test_a_band_is_a_public_key_in_dp_mode(
    research_dir: Path, table: str, band: str, labels: list[str]
) -> None:
    """Every published label is a cell, whatever the data hold (no pupil in the synthetic data
    has a merit value under 100, say), and only the count is charged."""
    query = spec(
        table=table, group_by=[band], mode="dp", rho=0.05, measures=[{"kind": "count_students"}]
    )
    release = engine(research_dir).release(query, "alice")
    assert sorted(c.keys[band] for c in release.cells) == sorted(labels)
    assert all(c.status == "released" for c in release.cells)


def test_experience_bands_of_teachers_in_dp_mode(research_dir: Path) -> None:
    query = spec(
        table="teacher_terms",
        group_by=["experience_band"],
        mode="dp",
        rho=0.05,
        measures=[{"kind": "count_teachers"}],
    )
    release = engine(research_dir).release(query, "alice")
    assert sorted(c.keys["experience_band"] for c in release.cells) == sorted(
        ["0-2", "3-9", "10-19", "20+"]
    )


def test_profiles_release_sums_of_minutes_in_sdc_mode(research_dir: Path) -> None:
    """Sums of minutes give the minute-weighted certified share per cell as a ratio of sums."""
    query = spec(
        table="student_profiles",
        group_by=["grade_band"],
        mode="sdc",
        measures=[
            {"kind": "count_students"},
            {"kind": "sum", "column": "certified_minutes"},
            {"kind": "sum", "column": "minutes"},
            {"kind": "share", "column": "turnover_hit"},
        ],
    )
    release = engine(research_dir).release(query, "alice")
    released = [c for c in release.cells if c.status == "released"]
    assert released
    for cell in released:
        share = cell.values["sum_certified_minutes"] / cell.values["sum_minutes"]
        assert 0.0 <= share <= 1.0
