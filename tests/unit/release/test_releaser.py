"""The releaser end to end on a built research snapshot: both modes, the cache, preview."""

from __future__ import annotations

from pathlib import Path

import pytest

from release import QueryRefused, QuerySpec
from tests.research_data import engine, research_dir

__all__ = ["research_dir"]


def spec(**fields: object) -> QuerySpec:
    return QuerySpec.model_validate(fields)


BY_SCHOOL = spec(
    table="exposure",
    group_by=["school_code"],
    mode="dp",
    rho=0.1,
    measures=[{"kind": "count_students"}, {"kind": "mean", "column": "certified_share"}],
)


def test_a_dp_release_has_a_value_and_an_interval_per_cell(research_dir: Path) -> None:
    e = engine(research_dir)
    release = e.release(BY_SCHOOL, "alice")
    assert release.mode == "dp" and 0 < release.rho <= 0.1
    assert release.cells and all(c.status == "released" for c in release.cells)
    for cell in release.cells:
        assert set(cell.values) == {"count_students", "mean_certified_share"}
        assert cell.half_width["count_students"] is not None
        mean = cell.values["mean_certified_share"]
        assert mean is None or 0.0 <= mean <= 1.0
    assert "catalogue" in release.policy_version and "release" in release.policy_version


def test_every_public_school_is_a_cell_whatever_the_data(research_dir: Path) -> None:
    """Cells come from the public school register, not from which schools have rows."""
    e = engine(research_dir)
    narrowed = spec(
        **{
            **BY_SCHOOL.model_dump(),
            "filters": [{"column": "grade", "op": "in", "values": [7, 8, 9]}],
        }
    )
    all_schools = {c.keys["school_code"] for c in e.release(BY_SCHOOL, "alice").cells}
    assert {c.keys["school_code"] for c in e.release(narrowed, "alice").cells} == all_schools


def test_an_identical_query_returns_the_cached_release(research_dir: Path) -> None:
    e = engine(research_dir)
    first = e.release(BY_SCHOOL, "alice")
    again = e.release(BY_SCHOOL, "alice")
    assert again.cached and not first.cached
    assert again.cells == first.cells and again.release_id == first.release_id


def test_the_same_query_in_two_projects_at_once_gets_two_release_ids(research_dir: Path) -> None:
    """Release ids name one release: the audit and the release store are reconciled by them."""
    sdc = spec(
        table="student_terms", group_by=["grade"], mode="sdc", measures=[{"kind": "count_students"}]
    )
    e = engine(research_dir)
    ids = {e.release(sdc, "alice", project=p).release_id for p in ("p1", "p2", "p3")}
    assert len(ids) == 3


def test_preview_spends_nothing_and_shows_no_values(research_dir: Path) -> None:
    e = engine(research_dir)
    preview = e.preview(BY_SCHOOL)
    assert preview.accuracy["count_students"]["half_width"] is not None
    assert preview.cells == []
    sdc = e.preview(
        spec(
            table="student_terms",
            group_by=["grade"],
            mode="sdc",
            measures=[{"kind": "count_students"}],
        )
    )
    assert sdc.cells and all(c.values == {} for c in sdc.cells)
    # a dp preview depends on the spec and the public keys alone: nothing to keep; an sdc
    # preview shows which cells the data suppress, so it is kept as an output (no values)
    (record,) = e.store.records  # type: ignore[attr-defined]
    assert record["status"] == "previewed" and "release" not in record
    assert all(c["values"] == {} for c in record["preview"]["cells"])


def test_more_privacy_loss_narrows_the_interval(research_dir: Path) -> None:
    e = engine(research_dir)
    small = e.preview(BY_SCHOOL).accuracy["count_students"]["half_width"]
    large = e.preview(spec(**{**BY_SCHOOL.model_dump(), "rho": 0.4})).accuracy
    assert small is not None and large["count_students"]["half_width"] is not None
    assert large["count_students"]["half_width"] < small / 1.9  # half-width ∝ 1/sqrt(rho)


def test_sdc_counts_are_exact_and_margins_add_up(research_dir: Path) -> None:
    e = engine(research_dir)
    query = spec(
        table="student_terms",
        group_by=["grade"],
        mode="sdc",
        margins=True,
        measures=[{"kind": "count_students"}],
    )
    release = e.release(query, "alice")
    interior = [c for c in release.cells if not c.margin]
    (total,) = [c for c in release.cells if c.margin]
    assert total.keys == {"grade": None}
    shown = [c.values["count_students"] for c in interior]
    assert all(v is not None for v in shown)
    assert sum(shown) == total.values["count_students"]  # type: ignore[arg-type]


def test_refusals_are_recorded(research_dir: Path) -> None:
    e = engine(research_dir)
    with pytest.raises(QueryRefused):
        e.release(
            spec(table="exposure", group_by=["student_pid"], measures=[{"kind": "count_students"}]),
            "mallory",
        )
    (record,) = e.store.records  # type: ignore[attr-defined]
    assert record["status"] == "refused" and "identifies a person" in record["reason"]


RATIO_SPEC = spec(
    table="student_terms",
    group_by=["grade"],
    mode="dp",
    rho=0.1,
    measures=[
        {"kind": "count_students"},
        {"kind": "mean", "column": "absence_rate_planned"},
        {"kind": "ratio", "numerator": "absent_minutes", "denominator": "planned_minutes"},
        {"kind": "quantile", "column": "days_absent", "q": 0.5},
    ],
)


def test_a_dp_quantile_and_ratio_come_with_intervals_never_nan(research_dir: Path) -> None:
    release = engine(research_dir).release(RATIO_SPEC, "alice")
    for cell in release.cells:
        value = cell.values["quantile_0.5_days_absent"]
        low, high = cell.lower["quantile_0.5_days_absent"], cell.upper["quantile_0.5_days_absent"]
        assert value is not None and low is not None and high is not None
        assert 0 <= low <= value <= high <= 100
        assert cell.lower["ratio_absent_minutes_planned_minutes"] is not None
    assert any("Fieller" in n for n in release.notes)


def test_the_preview_states_every_measure_s_accuracy(research_dir: Path) -> None:
    accuracy = engine(research_dir).preview(RATIO_SPEC).accuracy
    assert accuracy["count_students"]["half_width"] is not None
    assert accuracy["mean_absence_rate_planned"]["half_width_if_100_persons"] is not None
    assert accuracy["ratio_absent_minutes_planned_minutes"]["numerator_half_width"] is not None
    assert accuracy["quantile_0.5_days_absent"]["rank_half_width"] is not None


def test_a_dp_histogram_lists_every_public_band_in_every_cell(research_dir: Path) -> None:
    histogram = spec(
        table="student_terms",
        group_by=["grade"],
        mode="dp",
        rho=0.05,
        bands="days_absent",
        measures=[{"kind": "count_students"}],
    )
    cells = engine(research_dir).release(histogram, "alice").cells
    bands = {c.keys["days_absent_band"] for c in cells}
    assert bands == {"0-5", "5-10", "10-15", "15-20", "20-30", "30-50", "50-100"}
    assert len(cells) == len(bands) * len({c.keys["grade"] for c in cells})


def test_the_planner_prices_a_mean_and_its_rho_gives_that_accuracy(research_dir: Path) -> None:
    e = engine(research_dir)
    planned = e.plan(RATIO_SPEC, persons=120, half_width=0.1, measure="mean_absence_rate_planned")
    assert planned.half_widths["mean_absence_rate_planned"] == pytest.approx(0.1, rel=1e-3)
    assert planned.half_widths["quantile_0.5_days_absent"] is None
    # the same question at the ρ planned previews the same accuracy
    at = spec(**{**RATIO_SPEC.model_dump(), "rho": planned.rho})
    shown = e.preview(at).accuracy["mean_absence_rate_planned"]["half_width_if_100_persons"]
    assert shown is not None and shown > 0.1  # 100 persons, fewer than 120: wider
    half = e.plan(RATIO_SPEC, persons=120, half_width=0.2, measure="mean_absence_rate_planned")
    assert half.rho == pytest.approx(planned.rho / 4, rel=0.1)  # ρ ∝ 1 / half-width²


def test_the_planner_and_the_dp_preview_read_no_row(
    research_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In dp mode the planner and the preview depend on the spec, the public keys and the
    policies only: with every path to research rows cut, they give the same answers."""
    from release import _frames

    e = engine(research_dir)
    before = (e.plan(RATIO_SPEC, persons=80, half_width=0.1), e.preview(RATIO_SPEC).accuracy)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a research row was read")

    for name in ("_collapsed", "_filtered", "population", "exact_table", "teacher_minutes"):
        monkeypatch.setattr(_frames, name, refuse)
    fresh = engine(research_dir)
    fresh.teachers.dp_findings = lambda *a, **k: []  # type: ignore[method-assign]
    after = (fresh.plan(RATIO_SPEC, persons=80, half_width=0.1), fresh.preview(RATIO_SPEC).accuracy)
    assert after == before
