"""Teacher turnover as the pupil meets it: per pupil × term × subject, whether the pupil's
teacher in the subject was replaced during the term or left the school since the term before.

Read from the schedule alone (who taught which held lesson); a substitute never counts, in
either direction. A pupil's **regular** teacher is one who taught them a lesson as the
activity's own teacher.

- ``teacher_replaced`` (within the term): on one activity of the subject, one regular teacher's
  lessons with the pupil ended before the pupil's last lesson on it, and a different regular
  teacher's lessons with the pupil began after the pupil's first lesson on it, and began and
  ended later than the first teacher's. A change of class (the pupil moving to another
  activity), a teacher joining while the first stays, and a teacher off sick with substitutes
  covering are not replacements.
- ``teacher_left`` (between terms): a regular teacher of the pupil in the subject at a school
  in the term before taught no held lesson at that school this term, while the pupil has the
  subject at that school this term. The first term of a snapshot has no term before it in the
  schedule, so only replacements within it can be seen.
- ``turnover_hit``: either.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from linkage.research._student_lessons import lesson_facts

KEY = ["student_pid", "term", "subject_code"]


def next_term(this: ir.StringValue) -> ir.StringValue:
    """The term after ``this`` (``2026HT`` → ``2027VT`` → ``2027HT``)."""
    year = this.substr(0, 4).cast("int32")
    return ibis.ifelse(
        this.endswith("HT"),
        (year + 1).cast("string").concat("VT"),
        year.cast("string").concat("HT"),
    )


# a pupil's activity in a term: the activity says the subject and the school
RUN = ["student_pid", "activity_pid", "term"]


def _runs(pupil_terms: ir.Table, pupil_teachers: ir.Table) -> tuple[ir.Table, ir.Table]:
    """The pupils' activities in each term with their first and last lesson (``span``), and
    each regular teacher's run of lessons on them (``runs``: ``since``, ``until``)."""
    on = [*KEY, "school_code", "activity_pid"]
    # one row per pupil, activity and term already: the pupil's first and last lesson on it
    span = pupil_terms.select(*on, first=pupil_terms.first_start, last=pupil_terms.last_start)
    # one row per pupil, activity, term and teacher already: the teacher's regular lessons
    pt = pupil_teachers.filter(pupil_teachers.first_regular.notnull())
    runs = pt.select(*on, "teacher_pid", since=pt.first_regular, until=pt.last_regular).join(
        span.select(*RUN, "first", "last"), RUN
    )
    return span, runs


def regular_teachers(pupil_terms: ir.Table, pupil_teachers: ir.Table) -> ir.Table:
    """One row per pupil × term × subject × school × regular teacher (``KEY``,
    ``school_code``, ``teacher_pid``): what ``teacher_left`` reads of the term before. Kept in
    the research snapshot (``TURNOVER_BASIS``), so that an incremental build need not read
    the term before's lessons."""
    _, runs = _runs(pupil_terms, pupil_teachers)
    return _regular(runs)


def _regular(runs: ir.Table) -> ir.Table:
    return runs.select(*KEY, "school_code", "teacher_pid").distinct()


def _hits(
    pupil_terms: ir.Table,
    pupil_teachers: ir.Table,
    lesson_teachers: ir.Table,
    facts: ir.Table,
    regular: ir.Table | None = None,
) -> tuple[ir.Table, ir.Table, ir.Table]:
    """The pupils' ``KEY`` s of the term (``span``), and those whose teacher was replaced and
    whose teacher left (each ``KEY`` once). ``regular``: ``regular_teachers`` of the terms
    before (computed here from the same figures if not given)."""
    # the teachers who taught at each school each term, substitutes included (lesson-level)
    present = (
        lesson_teachers.join(facts.select("lesson_pid", "school_code", "term"), "lesson_pid")
        .select("teacher_pid", "school_code", "term")
        .distinct()
    )
    span, runs = _runs(pupil_terms, pupil_teachers)

    stopped = runs.filter(runs.until < runs.last)
    began = runs.filter(runs.since > runs.first).select(
        *RUN, new_teacher=runs.teacher_pid, new_since=runs.since, new_until=runs.until
    )
    pairs = stopped.join(
        began,
        [
            *RUN,
            stopped.teacher_pid != began.new_teacher,
            began.new_since > stopped.since,
            began.new_until > stopped.until,
        ],
    )
    replaced = pairs.select(*KEY).distinct()

    before = _regular(runs) if regular is None else regular
    carried = before.mutate(term=next_term(before.term))
    left = (
        carried.semi_join(span.select(*KEY, "school_code"), [*KEY, "school_code"])
        .anti_join(present, ["teacher_pid", "school_code", "term"])
        .select(*KEY)
        .distinct()
    )
    return span, replaced, left


def turnover_hits(
    pupil_terms: ir.Table,
    pupil_teachers: ir.Table,
    lesson_teachers: ir.Table,
    facts: ir.Table,
    regular: ir.Table | None = None,
) -> ir.Table:
    """``KEY`` and ``turnover_hit`` (true), for the pupils hit only: every other row of
    ``turnover`` is false. ``facts``: ``linkage.research.lesson_facts``; ``regular``:
    ``regular_teachers`` of the terms before (by default, from the same figures)."""
    _, replaced, left = _hits(pupil_terms, pupil_teachers, lesson_teachers, facts, regular)
    return replaced.union(left, distinct=True).mutate(turnover_hit=ibis.literal(True))


def turnover(
    t: dict[str, ir.Table],
    pupil_terms: ir.Table,
    pupil_teachers: ir.Table,
    lesson_teachers: ir.Table,
) -> ir.Table:
    """One row per pupil × term × subject: ``teacher_replaced``, ``teacher_left`` and
    ``turnover_hit``. ``pupil_terms``, ``pupil_teachers``: ``linkage.research._seats``;
    ``lesson_teachers``: ``linkage.research.lesson_teachers(t)``."""
    facts = lesson_facts(t, lesson_teachers)
    span, replaced, left = _hits(pupil_terms, pupil_teachers, lesson_teachers, facts)
    rows = span.select(*KEY).distinct()
    flags = (
        (replaced, "teacher_replaced"),
        (left, "teacher_left"),
    )
    for hits, flag in flags:
        rows = rows.left_join(hits.mutate(**{flag: ibis.literal(True)}), KEY).drop(
            *(f"{k}_right" for k in KEY)
        )
    replaced_flag = rows.teacher_replaced.fill_null(False)
    left_flag = rows.teacher_left.fill_null(False)
    return rows.select(
        *KEY,
        teacher_replaced=replaced_flag,
        teacher_left=left_flag,
        turnover_hit=replaced_flag | left_flag,
    )
