"""truth.json agrees with the files written, and the planted figures are realistic."""

from __future__ import annotations

import csv
import json
import statistics

from linkage.sources.synthetic import SynthSummary
from pseudonymise import luhn_valid
from tests.unit.linkage.synthetic.conftest import records


def test_truth_counts_match_the_written_records(tiny: SynthSummary) -> None:
    truth = json.loads((tiny.out / "truth.json").read_text(encoding="utf-8"))
    assert truth["counts"]["lessons"] == len(records(tiny.out, "calendarEvents"))
    assert truth["counts"]["attendance_records"] == len(records(tiny.out, "attendances"))
    assert truth["counts"]["absence_notices"] == len(records(tiny.out, "absences"))
    for name, entry in truth["layout"]["ss12000"].items():
        assert entry["records"] == len(records(tiny.out, name)), name


def test_truth_figures_can_be_recomputed_from_the_files(tiny: SynthSummary) -> None:
    """The headline absence and reporting figures follow from the extract alone."""
    figures = tiny.truth["figures"]
    lessons = records(tiny.out, "calendarEvents")
    attendance = records(tiny.out, "attendances")
    reported = [r for r in attendance if r["isReported"]]
    absent = sum(r["validAbsenceMinutes"] + r["invalidAbsenceMinutes"] for r in reported)
    offered = sum(r["attendanceMinutes"] + r["otherAttendanceMinutes"] for r in reported) + absent
    assert abs(absent / offered - figures["absence_rate_over_reported"]) < 1e-6
    cancelled = sum(e["cancelled"] for e in lessons)
    assert abs(cancelled / len(lessons) - figures["cancelled_lesson_share"]) < 1e-6
    unreported_lessons = {r["calendarEvent"]["id"] for r in attendance if not r["isReported"]}
    held = len(lessons) - cancelled
    # A lesson whose pupils were all excused has no attendance rows: allow for that.
    assert abs(len(unreported_lessons) / held - figures["unreported_lesson_share"]) < 0.01


def test_realised_figures_are_realistic(town: SynthSummary) -> None:
    f = town.truth["figures"]
    # Skolverket: 70.8 % of teaching in compulsory school by a certified teacher.
    assert abs(f["certified_teaching_share"] - 0.708) <= 0.03
    # Uneven by design: poorer schools get fewer certified teachers.
    by_ses = f["certified_teaching_share_by_school_ses"]
    assert by_ses["low"] < by_ses["high"]
    assert 0.05 <= f["unreported_lesson_share"] <= 0.10
    assert 0.01 <= f["cancelled_lesson_share"] <= 0.03
    assert 0.04 <= f["substituted_lesson_share"] <= 0.06
    assert 0.0 < f["two_teacher_lesson_share"] < 0.1
    assert 0.10 <= f["teacher_turnover_rate"] <= 0.22
    assert 0.05 <= f["novice_teacher_share"] <= 0.25
    assert 0.05 <= f["absence_rate_over_reported"] <= 0.10
    assert 0.10 <= f["persistent_absence_share"] <= 0.30  # a tail at ≥ 10 %
    assert 0.0 < f["severe_absence_share"] <= 0.03  # a few near-total
    # Seasonality: winter months above the start of the autumn term.
    months = f["absence_rate_by_month"]
    assert min(months["11"], months["12"], months["02"]) > max(months["08"], months["09"])
    # Absence and results are related.
    assert f["merit_absence_correlation"] < -0.2


def test_absence_is_skewed(town: SynthSummary) -> None:
    """Most pupils are rarely away; the mean is pulled up by a tail."""
    truth = town.truth
    assert truth["figures"]["persistent_absence_share"] < 0.5
    # Days absent: the mean is well above the share with 15 or more days would imply if even.
    assert truth["figures"]["fifteen_or_more_days_absent_share"] < 0.5


def test_identity_numbers_carry_the_planted_dirt(town: SynthSummary) -> None:
    kinds = town.truth["counts"]["identity_numbers"]
    for kind in ("coordination", "wrong_check_digit", "interim", "missing", "short_written_form"):
        assert kinds.get(kind, 0) >= 1, kind
    assert kinds["missing"] == 1
    persons = records(town.out, "persons")
    values = [p["civicNo"]["value"] for p in persons if "civicNo" in p]
    assert len(values) == len(persons) - 1
    invalid = [v for v in values if v.isdigit() and len(v) == 12 and not luhn_valid(v[2:])]
    assert len(invalid) == kinds["wrong_check_digit"]
    assert sum(1 for v in values if "-" in v) == kinds["short_written_form"]
    assert len(set(values)) == len(values)


def test_registers_cover_teachers_and_pupils(town: SynthSummary) -> None:
    with (town.out / "registers" / "teacher_register.csv").open(encoding="utf-8") as f:
        teachers = list(csv.DictReader(f))
    with (town.out / "registers" / "student_register.csv").open(encoding="utf-8") as f:
        pupils = list(csv.DictReader(f))
    counts = town.truth["counts"]
    assert len(teachers) == counts["teachers"] + counts["substitute_teachers"]
    assert len(pupils) == counts["pupils"] - 1  # the pupil without a number has no row
    assert {t["legitimated"] for t in teachers} == {"ja", "nej"}
    bands = {c.split(":")[1] for t in teachers for c in t["certified_in"].split(";") if c}
    assert bands == {"F-3", "4-6", "7-9"}
    merit = [float(p["merit_value"]) for p in pupils if p["merit_value"]]
    assert merit and min(merit) >= 0 and max(merit) <= 340
    assert 150 < statistics.mean(merit) < 280
