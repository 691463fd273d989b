"""``exposure`` and ``teacher_terms`` from class links (``_classes``), for a source with
classes but no lessons: shares of classes, minutes unknown (null, never zero).

- ``exposure``, per pupil × term × subject: ``teachers`` linked; ``certified_share``,
  ``legitimated_share``, ``novice_share``, ``new_teacher_share``: the pupil's classes in the
  subject that term with such a teacher ÷ those classes; ``main_teacher_share``: classes with the
  teacher the pupil shares most classes with ÷ classes; ``mean_experience``: the classes' mean of
  their linked teachers' mean experience; ``teacher_switches``: teachers whose link began after
  the pupil's first day in the subject that term; ``turnover_hit`` (``class_turnover``). The
  school is the one with most classes (ties: the lowest code).
- ``teacher_terms``, per teacher × term × school: ``certified_share`` of the teacher's classes,
  the rest as on lessons (``_teachers.teacher_rows``).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from linkage.research._classes import KEY, LINK, known
from linkage.research._rates import rate
from linkage.research._student_lessons import (
    BAND_GRADES,
    BANDS,
    NOVICE_YEARS,
    grade_band,
    pick_main_school,
)
from linkage.research._teachers import teacher_rows
from linkage.research._turnover import next_term


def _certified_for(table: ir.Table, t: dict[str, ir.Table]) -> ir.Table:
    """``table`` (with ``teacher_pid, subject_code``) with ``cert_0..2``: the teacher holds a
    certification in the subject for each band of ``BANDS``."""
    c = t["teacher_certifications"]
    held = c.group_by(["teacher_pid", "subject_code"]).aggregate(
        **{f"cert_{i}": (c.grade_band == band).any() for i, band in enumerate(BANDS)}
    )
    return table.left_join(held, ["teacher_pid", "subject_code"]).drop(
        "teacher_pid_right", "subject_code_right"
    )


def class_turnover(
    windows: ir.Table, teachers: ir.Table, pupils: ir.Table, links: ir.Table
) -> ir.Table:
    """Per pupil × term × subject, ``turnover_hit``, the rule of ``_turnover`` on days instead
    of lessons: on one class, a teacher's link with the pupil ended before the pupil's last
    day in it and a different teacher's began after the pupil's first, both later than the
    first teacher's (replaced); or a teacher of the pupil in the subject at a school last term
    teaches no class there this term while the pupil has the subject there (left)."""
    on = [*KEY, "activity_pid"]
    span = pupils.select(*on, p_first=pupils.first, p_last=pupils.last)
    runs = links.select(*on, "teacher_pid", "first", "last").join(span, on)
    stopped = runs.filter(runs.last < runs.p_last)
    began = runs.filter(runs.first > runs.p_first).select(
        *on, new_teacher=runs.teacher_pid, new_first=runs.first, new_last=runs.last
    )
    pairs = stopped.join(
        began,
        [
            *on,
            stopped.teacher_pid != began.new_teacher,
            began.new_first > stopped.first,
            began.new_last > stopped.last,
        ],
    )
    replaced = pairs.select(*KEY).distinct().mutate(replaced=ibis.literal(True))
    present = (
        teachers.join(windows.select(*LINK, "school_code"), LINK)
        .select("teacher_pid", "school_code", "term")
        .distinct()
    )
    before = links.select(*KEY, "school_code", "teacher_pid").distinct()
    carried = before.mutate(term=next_term(before.term))
    left = (
        carried.semi_join(pupils.select(*KEY, "school_code"), [*KEY, "school_code"])
        .anti_join(present, ["teacher_pid", "school_code", "term"])
        .select(*KEY)
        .distinct()
        .mutate(left=ibis.literal(True))
    )
    rows = pupils.select(*KEY).distinct()
    for hits in (replaced, left):
        rows = rows.left_join(hits, KEY).drop(*(f"{k}_right" for k in KEY))
    return rows.select(
        *KEY, turnover_hit=rows.replaced.fill_null(False) | rows.left.fill_null(False)
    )


def class_exposure(
    t: dict[str, ir.Table], pupils: ir.Table, links: ir.Table, turnover: ir.Table
) -> ir.Table:
    """``exposure`` at class level: one row per pupil × term × subject, its shares of the
    pupil's classes; the school is the one with most classes (ties: the lowest code)."""
    register = t["teacher_register"].select(
        "teacher_pid", "legitimated", "experience_years", "arrival_year"
    )
    tl = _certified_for(links, t).left_join(register, "teacher_pid").drop("teacher_pid_right")
    band = grade_band(tl.grade)
    certified = ibis.cases(
        *((band == b, tl[f"cert_{i}"].fill_null(False)) for i, b in enumerate(BANDS)),
        else_=False,
    )
    per_class = tl.group_by([*LINK, "student_pid"]).aggregate(
        certified=certified.any(),
        legitimated=tl.legitimated.fill_null(False).any(),
        mean_experience=tl.experience_years.mean(),
        novice=(tl.experience_years < NOVICE_YEARS).fill_null(False).any(),
        new_to_school=(tl.arrival_year >= tl.year).fill_null(False).any(),
    )
    p = pupils.left_join(per_class, [*LINK, "student_pid"]).drop(
        *(f"{k}_right" for k in [*LINK, "student_pid"])
    )
    flags = ("certified", "legitimated", "novice", "new_to_school")
    by_school = p.group_by([*KEY, "school_code"]).aggregate(
        classes=p.count(),
        **{f: p[f].fill_null(False).cast("int64").sum() for f in flags},
        experience_weight=p.mean_experience.notnull().cast("int64").sum(),
        experience_sum=p.mean_experience.sum(),
        first=p.first.min(),
        school_grade=p.grade.max(),
    )
    summed = ["classes", *flags, "experience_weight", "experience_sum"]
    totals = by_school.group_by(KEY).aggregate(
        first=by_school.first.min(), **{c: by_school[c].sum() for c in summed}
    )
    school = pick_main_school(by_school.rename(school_minutes="classes"), KEY)
    per_teacher = links.group_by([*KEY, "teacher_pid"]).aggregate(
        together=links.count(), since=links.first.min()
    )
    pt = per_teacher.join(totals.select(*KEY, "first"), KEY)
    teachers = pt.group_by(KEY).aggregate(
        teachers=pt.count(),
        main_classes=pt.together.max(),
        teacher_switches=(pt.since > pt.first).cast("int64").sum(),
    )
    j = totals.join(school, KEY)
    for right in (teachers, turnover):
        j = j.left_join(right, KEY).drop(*(f"{k}_right" for k in KEY))
    n = j.classes
    unknown_int, unknown_share = ibis.null("int64"), ibis.null("float64")
    return known(j).select(
        *KEY,
        "school_code",
        "grade",
        grade_band=grade_band(j.grade),
        lessons=unknown_int,
        minutes=unknown_int,
        teachers=j.teachers.fill_null(0),
        main_teacher_share=rate(j.main_classes.fill_null(0), n),
        teacher_switches=j.teacher_switches.fill_null(0),
        turnover_hit=j.turnover_hit.fill_null(False),
        certified_share=rate(j.certified, n),
        legitimated_share=rate(j.legitimated, n),
        mean_experience=rate(j.experience_sum, j.experience_weight),
        novice_share=rate(j.novice, n),
        new_teacher_share=rate(j.new_to_school, n),
        two_teacher_share=unknown_share,
        substitute_share=unknown_share,
        certified_minutes=unknown_int,
        legitimated_minutes=unknown_int,
        novice_minutes=unknown_int,
        new_teacher_minutes=unknown_int,
        substitute_minutes=unknown_int,
        reported_share=unknown_share,
        absence_rate_reported=unknown_share,
        absence_rate_planned=unknown_share,
    )


def class_teacher_terms(
    t: dict[str, ir.Table], windows: ir.Table, teachers: ir.Table, pupils: ir.Table
) -> ir.Table:
    """``teacher_terms`` at class level: per teacher × term × school, ``certified_share`` is of
    the teacher's classes (certified in the class's subject for every grade band among its
    pupils); lessons and minutes are unknown."""
    present = pupils.group_by(LINK).aggregate(
        **{
            f"has_{i}": ((pupils.grade >= lo) & (pupils.grade <= hi)).any()
            for i, (lo, hi) in enumerate(BAND_GRADES)
        }
    )
    taught = teachers.join(windows.select(*LINK, "school_code", "subject_code", "year"), LINK)
    taught = _certified_for(taught.left_join(present, LINK).drop(*(f"{k}_right" for k in LINK)), t)
    has = [taught[f"has_{i}"].fill_null(False) for i in range(len(BANDS))]
    cert = [taught[f"cert_{i}"].fill_null(False) for i in range(len(BANDS))]
    covered = (~has[0] | cert[0]) & (~has[1] | cert[1]) & (~has[2] | cert[2])
    certified = (has[0] | has[1] | has[2]) & covered
    per_term = taught.group_by(["teacher_pid", "term", "school_code"]).aggregate(
        year=taught.year.max(), classes=taught.count(), certified=certified.cast("int64").sum()
    )
    return known(
        teacher_rows(
            t,
            per_term.select(
                "teacher_pid",
                "term",
                "school_code",
                "year",
                lessons=ibis.null("int64"),
                minutes=ibis.null("int64"),
                substitute_lessons=ibis.null("int64"),
                regular=ibis.literal(True),
                certified_share=rate(per_term.certified, per_term.classes),
            ),
        )
    )
