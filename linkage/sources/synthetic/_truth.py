"""``truth.json``: the planted parameters and the headline figures the generated data imply.

Figures are computed from exactly what was written (and, for the *latent* ones, from what a
school system would have recorded had every lesson been reported), so later stages can check
that the pipeline recovers them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from linkage.sources.synthetic import _lessons, _population
from linkage.sources.synthetic._lessons import ChunkResult
from linkage.sources.synthetic._population import Municipality

PERSISTENT_ABSENCE = 0.10
SEVERE_ABSENCE = 0.50
MONTH_ABSENCE_ALERT = 0.20
MANY_DAYS_ABSENT = 15

_PUPIL_COLUMNS = (
    "planned_minutes",
    "reported_minutes",
    "absent_minutes_reported",
    "valid_minutes_reported",
    "invalid_minutes_reported",
    "latent_absent_minutes",
    "absent_days",
    "lessons",
    "reported_lessons",
    "certified_minutes",
)


def _share(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else round(float(numerator) / float(denominator), 6)


class TruthAccumulator:
    """Adds up the chunks' sums as they arrive."""

    def __init__(self, m: Municipality) -> None:
        n = len(m.pupils.uuid)
        self.m = m
        self.counts: dict[str, int] = {}
        self.sums: dict[str, float] = {}
        self.pupil = {c: np.zeros(n) for c in _PUPIL_COLUMNS}
        self.month_reported = np.zeros((n, 16))
        self.month_absent = np.zeros((n, 16))
        self.school_minutes = np.zeros(len(m.schools))
        self.school_certified = np.zeros(len(m.schools))

    def add(self, result: ChunkResult, school: int) -> None:
        for key, value in result.counts.items():
            self.counts[key] = self.counts.get(key, 0) + value
        for key, fvalue in result.sums.items():
            self.sums[key] = self.sums.get(key, 0.0) + fvalue
        for column, values in result.pupil_sums.items():
            np.add.at(self.pupil[column], result.pupil_index, values)
        pupils, months = np.divmod(result.pupil_month_index, 16)
        np.add.at(
            self.month_reported, (pupils, months), result.pupil_month_sums["reported_minutes"]
        )
        np.add.at(
            self.month_absent, (pupils, months), result.pupil_month_sums["absent_minutes_reported"]
        )
        self.school_minutes[school] += result.school_sums["teaching_minutes"]
        self.school_certified[school] += result.school_sums["certified_teaching_minutes"]

    def finish(self, extra_counts: dict[str, int]) -> dict[str, Any]:
        m, c, s, p = self.m, self.counts, self.sums, self.pupil
        held = c["lessons"] - c["cancelled_lessons"]
        seen = p["reported_minutes"] > 0
        rate = np.divide(
            p["absent_minutes_reported"],
            p["reported_minutes"],
            out=np.zeros_like(p["reported_minutes"]),
            where=seen,
        )
        month_rate = np.divide(
            self.month_absent,
            self.month_reported,
            out=np.zeros_like(self.month_absent),
            where=self.month_reported > 0,
        )
        regular = [t for t in m.teachers if not t.substitute]
        tercile = np.quantile([x.ses for x in m.schools], [1 / 3, 2 / 3])
        by_tercile: dict[str, float | None] = {}
        for label, lo, hi in (
            ("low", -np.inf, tercile[0]),
            ("middle", tercile[0], tercile[1]),
            ("high", tercile[1], np.inf),
        ):
            mask = np.array([lo < x.ses <= hi for x in m.schools])
            by_tercile[label] = _share(
                self.school_certified[mask].sum(), self.school_minutes[mask].sum()
            )
        grade9 = np.array(sorted(m.merit))
        merit = np.array([m.merit[i] for i in grade9]) if len(grade9) else np.array([])
        corr = (
            float(np.corrcoef(rate[grade9], merit)[0, 1])
            if len(grade9) > 2 and np.std(merit) > 0 and np.std(rate[grade9]) > 0
            else None
        )
        months = sorted({d.month for d in m.year.teaching_days}, key=lambda x: (x < 8, x))
        by_month = {
            f"{mo:02d}": _share(self.month_absent[:, mo].sum(), self.month_reported[:, mo].sum())
            for mo in months
        }
        ids: dict[str, int] = {}
        for issued in [
            *m.pupils.civic,
            *(t.civic for t in m.teachers),
            *(t.civic for t in m.principals),
        ]:
            ids[issued.kind] = ids.get(issued.kind, 0) + 1
        ids["short_written_form"] = sum(
            1
            for w, i in zip(m.pupils.civic_written, m.pupils.civic, strict=True)
            if w is not None and w != i.value
        )
        return {
            "parameters": {
                "certified_teaching_target": _population.CERTIFIED_TEACHING_TARGET,
                "certification_ses_slope": _population.CERTIFICATION_SES_SLOPE,
                "cancelled_share": _lessons.CANCELLED_SHARE,
                "substitute_share": _lessons.SUBSTITUTE_SHARE,
                "unreported_rate_by_school": [round(x.unreported_rate, 4) for x in m.schools],
                "class_change_share": _population.CLASS_CHANGE_SHARE,
                "school_change_share": _population.SCHOOL_CHANGE_SHARE,
                "mid_year_leaver_share": _population.MID_YEAR_LEAVER_SHARE,
                "persistent_absence_threshold": PERSISTENT_ABSENCE,
                "severe_absence_threshold": SEVERE_ABSENCE,
            },
            "counts": {
                **extra_counts,
                **c,
                "schools": len(m.schools),
                "schools_by_organiser_type": {
                    kind: sum(m.organisers[x.organiser].organiser_type == kind for x in m.schools)
                    for kind in sorted({o.organiser_type for o in m.organisers})
                },
                "pupils": len(m.pupils.uuid),
                "teachers": len(regular),
                "substitute_teachers": sum(t.substitute for t in m.teachers),
                "principals": len(m.principals),
                "classes": sum(g.kind == "Klass" for g in m.groups),
                "teaching_groups": sum(g.kind == "Undervisning" for g in m.groups),
                "activities": len(m.activities),
                "teaching_days": len(m.year.teaching_days),
                "pupils_changing_class_or_school": sum(
                    1 for g in m.groups for x in g.members if x[1] > 0
                ),
                "identity_numbers": ids,
            },
            "figures": {
                "absence_rate_over_reported": _share(
                    p["absent_minutes_reported"].sum(), p["reported_minutes"].sum()
                ),
                "absence_rate_over_planned": _share(
                    p["absent_minutes_reported"].sum(), p["planned_minutes"].sum()
                ),
                "latent_absence_rate": _share(
                    p["latent_absent_minutes"].sum(), p["planned_minutes"].sum()
                ),
                "valid_share_of_absence": _share(
                    p["valid_minutes_reported"].sum(), p["absent_minutes_reported"].sum()
                ),
                "unreported_lesson_share": _share(c["unreported_lessons"], held),
                "reported_attendance_share": _share(
                    c["reported_attendance_records"], c["attendance_records"]
                ),
                "cancelled_lesson_share": _share(c["cancelled_lessons"], c["lessons"]),
                "late_report_share": _share(c["late_reported_lessons"], held),
                "certified_teaching_share": _share(
                    s["certified_teaching_minutes"], s["teaching_minutes"]
                ),
                "certified_teaching_share_by_school_ses": by_tercile,
                "legitimated_teaching_share": _share(
                    s["legitimated_teaching_minutes"], s["teaching_minutes"]
                ),
                "certified_share_of_pupil_minutes": _share(
                    s["pupil_minutes_certified"], s["pupil_minutes"]
                ),
                "substituted_lesson_share": _share(c["substituted_lessons"], held),
                "two_teacher_lesson_share": _share(c["two_teacher_lessons"], held),
                "lessons_without_teacher_share": _share(c["lessons_without_teacher"], held),
                "teacher_turnover_rate": _share(sum(t.leaves for t in regular), len(regular)),
                "novice_teacher_share": _share(
                    sum(t.experience < 3 for t in regular), len(regular)
                ),
                "teachers_new_to_school_share": _share(
                    sum(t.arrival_year >= m.year.start_year for t in regular), len(regular)
                ),
                "persistent_absence_share": _share(
                    (rate[seen] >= PERSISTENT_ABSENCE).sum(), seen.sum()
                ),
                "severe_absence_share": _share((rate[seen] >= SEVERE_ABSENCE).sum(), seen.sum()),
                "any_month_over_20_percent_share": _share(
                    (month_rate[seen] > MONTH_ABSENCE_ALERT).any(axis=1).sum(), seen.sum()
                ),
                "mean_days_absent": _share(p["absent_days"][seen].sum(), seen.sum()),
                "fifteen_or_more_days_absent_share": _share(
                    (p["absent_days"][seen] >= MANY_DAYS_ABSENT).sum(), seen.sum()
                ),
                "absence_rate_by_month": by_month,
                "mean_merit_value": round(float(merit.mean()), 3) if len(merit) else None,
                "merit_absence_correlation": None if corr is None else round(corr, 4),
            },
        }
