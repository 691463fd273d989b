"""The whole build on the synthetic municipality recovers the planted truth (``truth.json``).

Figures the generator computes from exactly what it wrote must come back to six decimals.
Teacher figures come back within a stated tolerance: the generator counts every teacher of the
year, the build sees the teachers who taught in the weeks generated.
"""

from __future__ import annotations

import shutil
from typing import Any

import numpy as np
import polars as pl
import pytest

from linkage import build_research_tables, ingest_register, read_manifest, table_files
from linkage._build import RESEARCH
from linkage._snapshot import current_snapshot
from tests.unit.linkage.ingest.conftest import Ingested, ingested, session_key

__all__ = ["ingested", "session_key"]

EXACT = 1e-6
TEACHER_TOLERANCE = 0.03  # absolute, on shares of teachers


@pytest.fixture(scope="module")
def research(ingested: Ingested, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data = tmp_path_factory.mktemp("research") / "data"
    shutil.copytree(ingested.data_dir, data)
    registers = ingested.extract.out / "registers"
    for kind in ("teachers", "students"):
        name = "teacher_register.csv" if kind == "teachers" else "student_register.csv"
        ingest_register(kind, registers / name, data, key_file=ingested.key_file)
    report = build_research_tables(data, student_lessons=True)
    snapshot = current_snapshot(data / RESEARCH)
    names = read_manifest(snapshot)["tables"]
    tables = {name: pl.read_parquet(table_files(snapshot, name)) for name in names}
    return {"report": report, "tables": tables, "truth": ingested.extract.truth}


def _t(research: dict[str, Any], name: str) -> pl.DataFrame:
    frame: pl.DataFrame = research["tables"][name]
    return frame


def test_the_snapshot_holds_every_table_with_its_row_count(research: dict[str, Any]) -> None:
    report = research["report"]
    assert set(report.rows) == {
        "student_lessons",
        "student_teachers",
        "exposure",
        "student_months",
        "student_terms",
        "student_term_teachers",
        "student_profiles",
        "teacher_terms",
        "quality",
        "turnover_basis",  # kept for the next incremental build
    }
    for name, rows in report.rows.items():
        assert _t(research, name).height == rows
    counts = research["truth"]["counts"]
    assert report.rows["student_lessons"] == counts["attendance_records"]


def test_absence_figures(research: dict[str, Any]) -> None:
    figures = research["truth"]["figures"]
    terms = _t(research, "student_terms")
    assert terms.select("student_pid", "term").is_unique().all()
    absent, reported = terms["absent_minutes"].sum(), terms["reported_minutes"].sum()
    assert absent / reported == pytest.approx(figures["absence_rate_over_reported"], abs=EXACT)
    assert absent / terms["planned_minutes"].sum() == pytest.approx(
        figures["absence_rate_over_planned"], abs=EXACT
    )
    assert terms["valid_absence_minutes"].sum() / absent == pytest.approx(
        figures["valid_share_of_absence"], abs=EXACT
    )
    seen = terms.filter(pl.col("reported_minutes") > 0)
    for column, figure in [
        ("persistent_absence", "persistent_absence_share"),
        ("severe_absence", "severe_absence_share"),
        ("any_month_over_20_percent", "any_month_over_20_percent_share"),
        ("many_days_absent", "fifteen_or_more_days_absent_share"),
    ]:
        assert seen[column].mean() == pytest.approx(figures[figure], abs=EXACT), column
    assert seen["days_absent"].mean() == pytest.approx(figures["mean_days_absent"], abs=EXACT)


def test_absence_by_month(research: dict[str, Any]) -> None:
    months = _t(research, "student_months")
    by_month = months.group_by("month").agg(
        pl.col("absent_minutes").sum() / pl.col("reported_minutes").sum()
    )
    got = {m[-2:]: rate for m, rate in by_month.iter_rows()}
    expected = {
        m: r
        for m, r in research["truth"]["figures"]["absence_rate_by_month"].items()
        if r is not None
    }
    assert got == pytest.approx(expected, abs=EXACT)


def test_certified_minutes_in_exposure(research: dict[str, Any]) -> None:
    exposure = _t(research, "exposure")
    assert exposure.select("student_pid", "term", "subject_code").is_unique().all()
    certified = (exposure["certified_share"] * exposure["minutes"]).sum()
    assert certified / exposure["minutes"].sum() == pytest.approx(
        research["truth"]["figures"]["certified_share_of_pupil_minutes"], abs=EXACT
    )
    assert exposure["minutes"].sum() == _t(research, "student_lessons")["minutes"].sum()
    assert (exposure["teachers"] >= 1).all()
    assert exposure["main_teacher_share"].is_between(0, 1).all()


def test_the_tables_sum_student_lessons_row_by_row(research: dict[str, Any]) -> None:
    """Every table but student_lessons is summed per segment of pupils who sat the same
    lessons (linkage/research/_seats.py), student_lessons pupil by pupil: the sums agree for
    every pupil, on a municipality with exceptions, class moves and unreported lessons."""
    sl = _t(research, "student_lessons")
    reported = pl.col("reported")

    def sums(by: list[str]) -> pl.DataFrame:
        return sl.group_by(by).agg(
            lessons=pl.len(),
            minutes=pl.col("minutes").sum(),
            certified_minutes=pl.col("minutes").filter(pl.col("certified")).sum(),
            substitute_minutes=pl.col("minutes").filter(pl.col("substitute")).sum(),
            reported_lessons=reported.sum(),
            reported_minutes=pl.col("minutes").filter(reported).sum(),
        )

    key = ["student_pid", "term", "subject_code"]
    columns = ["lessons", "minutes", "certified_minutes", "substitute_minutes"]
    exposure = _t(research, "exposure")
    joined = sums(key).join(exposure, on=key, how="full", suffix="_built")
    assert joined.height == exposure.height == sums(key).height
    for column in columns:
        assert (joined[column] == joined[f"{column}_built"]).all(), column
    months = _t(research, "student_months")
    joined = sums(["student_pid", "month"]).join(months, on=["student_pid", "month"])
    assert joined.height == months.height
    assert (joined["minutes"] == joined["planned_minutes"]).all()
    for column in ("lessons", "reported_lessons", "reported_minutes"):
        assert (joined[column] == joined[f"{column}_right"]).all(), column


def test_the_minute_weighted_certified_share_is_the_generators(
    research: dict[str, Any],
) -> None:
    """Σ certified_minutes ÷ Σ minutes is the share of pupils' lesson minutes with a teacher
    certified for the subject and the pupil's grade band, as the generator counts it
    (``certified_share_of_pupil_minutes``), exactly; the mean of the pupils' shares is not."""
    figure = research["truth"]["figures"]["certified_share_of_pupil_minutes"]
    for name in ("exposure", "student_profiles"):
        rows = _t(research, name)
        assert rows["certified_minutes"].sum() / rows["minutes"].sum() == pytest.approx(
            figure, abs=EXACT
        ), name
    exposure = _t(research, "exposure")
    assert exposure["certified_share"].mean() != pytest.approx(figure, abs=0.01)
    for column in ("certified", "legitimated", "novice", "new_teacher", "substitute"):
        share = exposure[f"{column}_minutes"] / exposure["minutes"]
        assert (share - exposure[f"{column}_share"]).abs().max() < EXACT, column


def test_profiles_are_one_per_pupil_and_term(research: dict[str, Any]) -> None:
    profiles, terms = _t(research, "student_profiles"), _t(research, "student_terms")
    assert profiles.select("student_pid", "term").is_unique().all()
    assert profiles.height == terms.height
    joined = profiles.join(terms, on=["student_pid", "term"], suffix="_terms")
    assert (joined["minutes"] == joined["planned_minutes"]).all()
    assert (joined["school_code"] == joined["school_code_terms"]).all()
    assert profiles["minutes"].sum() == _t(research, "exposure")["minutes"].sum()
    assert (profiles["teachers"] >= 1).all()
    links = _t(research, "student_term_teachers")
    assert links.select("student_pid", "term", "teacher_pid").is_unique().all()
    assert profiles["teachers"].sum() == links.height


def test_bands_take_only_their_public_values(research: dict[str, Any]) -> None:
    for name, column, values in [
        ("student_terms", "absence_band", {"<5%", "5-10%", "10-20%", "20-50%", ">=50%"}),
        ("student_months", "absence_band", {"<5%", "5-10%", "10-20%", "20-50%", ">=50%"}),
        ("student_profiles", "absence_band", {"<5%", "5-10%", "10-20%", "20-50%", ">=50%"}),
        (
            "student_terms",
            "merit_band",
            {"<100", "100-160", "160-200", "200-240", "240-280", ">=280"},
        ),
        ("teacher_terms", "experience_band", {"0-2", "3-9", "10-19", "20+"}),
    ]:
        assert set(_t(research, name)[column].drop_nulls()) <= values, (name, column)
    terms = _t(research, "student_terms")
    known = terms.filter(pl.col("reported_minutes") > 0)
    assert known["absence_band"].null_count() == 0
    persistent = known.filter(pl.col("persistent_absence"))
    assert set(persistent["absence_band"]) <= {"10-20%", "20-50%", ">=50%"}


def test_registration_quality(research: dict[str, Any]) -> None:
    counts = research["truth"]["counts"]
    quality = _t(research, "quality").sum()
    assert quality["scheduled_lessons"][0] == counts["lessons"]
    assert quality["cancelled_lessons"][0] == counts["cancelled_lessons"]
    assert quality["held_lessons"][0] == counts["lessons"] - counts["cancelled_lessons"]
    assert quality["late_lessons"][0] == counts["late_reported_lessons"]
    assert quality["two_teacher_lessons"][0] == counts["two_teacher_lessons"]
    assert quality["lessons_without_teacher"][0] == counts["lessons_without_teacher"]
    assert quality["substitute_lessons"][0] == counts["lessons_with_unassigned_teacher"]
    unreported = quality["lessons_with_pupils"][0] - quality["reported_lessons"][0]
    assert unreported == counts["unreported_lessons"]


def test_teacher_figures_within_tolerance(research: dict[str, Any]) -> None:
    figures = research["truth"]["figures"]
    teachers = _t(research, "teacher_terms")
    assert teachers.select("teacher_pid", "term", "school_code").is_unique().all()
    regular = teachers.filter(pl.col("regular"))
    for column, figure in [
        ("leaves", "teacher_turnover_rate"),
        ("novice", "novice_teacher_share"),
        ("new_to_school", "teachers_new_to_school_share"),
    ]:
        assert regular[column].mean() == pytest.approx(figures[figure], abs=TEACHER_TOLERANCE), (
            column
        )


def test_merit_and_absence(research: dict[str, Any]) -> None:
    """Grade 9 pupils whose planted identity numbers cannot be linked (no number, a wrong check
    digit) have no register row, so the figures agree within a tolerance, not exactly."""
    terms = _t(research, "student_terms").filter(pl.col("merit_value").is_not_null())
    figures = research["truth"]["figures"]
    assert terms["merit_value"].mean() == pytest.approx(figures["mean_merit_value"], rel=0.005)
    rate = terms["absence_rate_reported"].fill_null(0).to_numpy()
    corr = float(np.corrcoef(rate, terms["merit_value"].to_numpy())[0, 1])
    assert corr == pytest.approx(figures["merit_absence_correlation"], abs=0.02)


def test_counts_are_stored_as_integers(research: dict[str, Any]) -> None:
    """The engine sums integers into 128-bit integers, which Parquet would store as doubles."""
    for name, column in [
        ("exposure", "minutes"),
        ("exposure", "teacher_switches"),
        ("student_terms", "days_absent"),
        ("student_months", "planned_minutes"),
        ("teacher_terms", "minutes"),
        ("quality", "late_lessons"),
    ]:
        assert _t(research, name)[column].dtype == pl.Int64, (name, column)
