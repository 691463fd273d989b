"""The research tables from the canonical tables, wired once: ``research_tables``.

A full build and an incremental one (after weekly deliveries, ``linkage/_incremental.py``) run
the same function; they differ only in their ``Scope``:

- ``FULL``: every lesson, every month and term;
- ``Scope(months, terms)``: the months a delivery touched and their terms (tables of them,
  ``linkage._incremental.scope_tables``). The lessons of those terms are read;
  ``student_lessons``, ``student_months`` and ``quality`` come out for the months, the other
  tables for the terms. Every row of a table depends only on its own month's or term's lessons,
  and, for teacher turnover, on the pupils' regular teachers in the term before, which every
  build keeps in the research snapshot (``TURNOVER_BASIS``) and an incremental one takes from
  the snapshot it adds to: so these rows are those a full build gives.

Each table is handed to ``emit`` in order, and what ``emit`` returns (the table as written, read
back) is what the later tables are built from: ``student_teachers`` feeds ``exposure`` and
``student_term_teachers``; ``exposure``, ``student_terms`` and ``student_term_teachers``
feed ``student_profiles``. Intermediate results go through ``keep`` (the engine keeps them, and
so knows their size); without one they stay expressions (the spec tests).

Nothing here depends on ``student_lessons``: the pupils' lessons are summed per segment of
pupils who sat the same lessons (``_seats``), and ``student_lessons`` is built only when asked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import ibis.expr.types as ir

from linkage.research._absence import student_months, student_terms
from linkage.research._calendar import month, term
from linkage.research._exposure import exposure, student_teachers
from linkage.research._names import PERIOD, TURNOVER_BASIS
from linkage.research._participation import lesson_teachers
from linkage.research._profiles import student_profiles, student_term_teachers
from linkage.research._quality import quality
from linkage.research._seats import (
    activity_info,
    irregular,
    irregular_lessons,
    lessons_seen,
    pairs,
    plain,
    pupil_days,
    pupil_months,
    pupil_teachers,
    pupil_terms,
    registered,
    registrations,
    templates,
)
from linkage.research._student_lessons import lesson_facts, student_lessons
from linkage.research._teachers import teacher_terms
from linkage.research._turnover import regular_teachers, turnover_hits

# the canonical tables with one row per lesson's something: restricted with the lessons
_BY_LESSON = ("attendance", "lesson_student_exceptions", "lesson_teacher_exceptions")
# the figures (``pupil_figures``) read the attendance only joined to the lessons' facts, which
# restricts it: the tens of millions of registrations are not semi-joined first
_FIGURES_BY_LESSON = ("lesson_student_exceptions", "lesson_teacher_exceptions")


class Keep(Protocol):
    """Keeps an intermediate result (``ComputeBackend.keep``): ``as_written``, its joins are run
    in the order written, the large table first and the one to look up second."""

    def __call__(
        self, name: str, expression: ir.Table, /, *, as_written: bool = False
    ) -> ir.Table: ...


Release = Callable[[str], None]  # a kept result no longer needed (``ComputeBackend.release``)


Emit = Callable[[str, ir.Table], ir.Table]


@dataclass(frozen=True)
class Scope:
    """The months and terms a build computes: all (``FULL``), or those listed in one-column
    tables: ``months`` (column ``month``) and ``terms`` (``term``), whose lessons are read.
    Tables, not values, so that the statements are the same whatever the months
    (``linkage._plans``)."""

    months: ir.Table | None = None
    terms: ir.Table | None = None

    @property
    def full(self) -> bool:
        return self.months is None or self.terms is None

    def of(self, column: str) -> ir.Column:
        """The months (``month``) or the terms (``term``)."""
        assert self.months is not None and self.terms is not None
        listed = {"month": self.months.month, "term": self.terms.term}
        return listed[column]

    def only(self, table: ir.Table, column: str) -> ir.Table:
        """The rows of ``table`` in scope (by its ``month`` or ``term`` column)."""
        if self.full:
            return table
        return table.filter(table[column].isin(self.of(column)))


FULL = Scope()


def restrict(
    t: dict[str, ir.Table], lessons: ir.Table, by_lesson: tuple[str, ...] = _BY_LESSON
) -> dict[str, ir.Table]:
    """The canonical tables with only ``lessons`` and what belongs to them (of the tables
    ``by_lesson``; the others as they are)."""
    ids = lessons.select("lesson_pid")
    return {**t, "lessons": lessons, **{n: t[n].semi_join(ids, "lesson_pid") for n in by_lesson}}


def _as_is(_name: str, expression: ir.Table, *, as_written: bool = False) -> ir.Table:
    return expression


def _nothing(_name: str) -> None:
    return None


@dataclass(frozen=True)
class Figures:
    """What every table is aggregated from (``_seats``): the held lessons (``facts``) and their
    teachers (``taught``); per pupil, activity and term (``terms``), per pupil, month and
    school (``months``), per pupil, activity, term and teacher (``teachers``), per pupil and
    day (``days``), the registrations per pupil and month and per pupil and term
    (``registered_months``, ``registered_terms``), per lesson (``seen``)."""

    facts: ir.Table
    taught: ir.Table
    terms: ir.Table
    months: ir.Table
    teachers: ir.Table
    days: ir.Table
    registered_months: ir.Table
    registered_terms: ir.Table
    seen: ir.Table


def pupil_figures(
    t: dict[str, ir.Table], keep: Keep = _as_is, release: Release = _nothing
) -> Figures:
    """The ``Figures`` of the lessons of ``t``; the results kept on the way are released."""
    taught = keep("lesson_teachers", lesson_teachers(t))
    facts = keep("lesson_facts", lesson_facts(t, taught))
    info = keep("activity_info", activity_info(facts))
    paired = keep("pairs", pairs(t, facts))
    plain_pairs = plain(paired)
    # a few pupils' lessons: their pairs are joined to the lessons, not the reverse
    irregular_rows = keep(
        "irregular_lessons", irregular_lessons(t, facts, irregular(paired)), as_written=True
    )
    template = keep("segment_lessons", templates(plain_pairs, facts))
    # pupils × lessons: attendance joined to the lessons, then to the pairs (as written)
    r = keep("registrations", registrations(t, facts, plain_pairs, irregular_rows), as_written=True)
    days = keep("pupil_days", pupil_days(r))
    figures = Figures(
        facts,
        taught,
        keep("pupil_terms", pupil_terms(plain_pairs, template, irregular_rows, r, info)),
        keep("pupil_months", pupil_months(plain_pairs, template, irregular_rows, info)),
        keep("pupil_teachers", pupil_teachers(plain_pairs, template, irregular_rows, taught)),
        days,
        keep("registered_months", registered(days, ["student_pid", "month", "term"])),
        keep("registered_terms", registered(days, ["student_pid", "term"])),
        keep("lessons_seen", lessons_seen(template, irregular_rows, r)),
    )
    for name in ("registrations", "segment_lessons", "irregular_lessons", "pairs"):
        release(name)
    return figures


def research_tables(
    t: dict[str, ir.Table],
    emit: Emit,
    *,
    scope: Scope = FULL,
    keep: Keep = _as_is,
    release: Release = _nothing,
    with_student_lessons: bool = False,
) -> ir.Table:
    """Hand every research table (in the scope) to ``emit``, in dependency order;
    ``student_lessons`` only ``with_student_lessons``. ``t``: the canonical tables. Returns
    the first and last day of a held lesson with a pupil in the scope (``first_day``,
    ``last_day``: one row)."""
    lessons = t["lessons"]
    if scope.full:
        tt = t
    else:  # the terms' lessons (turnover's look at the term before: ``TURNOVER_BASIS``)
        read = lessons.filter(term(lessons.local_date).isin(scope.of("term")))
        tt = restrict(t, read, _FIGURES_BY_LESSON)

    def out(name: str, expression: ir.Table) -> ir.Table:
        """The table emitted; back, its rows of the scope's terms (all months of them)."""
        emitted = emit(name, scope.only(expression, PERIOD[name]))
        return scope.only(emitted, "term") if "term" in emitted.columns else emitted

    f = pupil_figures(tt, keep, release)
    if with_student_lessons:
        by_month = t
        if not scope.full:
            by_month = restrict(
                t, lessons.filter(month(lessons.local_date).isin(scope.of("month")))
            )
        out("student_lessons", student_lessons(by_month, scope.only(f.facts, "month")))

    def month_(table: ir.Table) -> ir.Table:
        return scope.only(table, "month")

    def term_(table: ir.Table) -> ir.Table:
        return scope.only(table, "term")

    # absence first: what it alone reads is then released before the teacher tables
    months_out = out(
        "student_months",
        student_months(
            month_(f.months),
            month_(f.registered_months).drop("term"),
            month_(f.days),
            t["students"],
            schools=t["schools"],
        ),
    )
    terms_out = out(
        "student_terms",
        student_terms(
            term_(f.terms),
            term_(f.registered_terms),
            term_(f.days),
            months_out,
            t["student_register"],
            t["students"],
            schools=t["schools"],
        ),
    )
    for name in ("pupil_months", "registered_months", "registered_terms", "pupil_days"):
        release(name)
    met = out("student_teachers", student_teachers(term_(f.teachers)))
    # each term's regular teachers, written for the next incremental build; back, every term's
    # (an incremental build's earlier terms from the snapshot it adds to), so that turnover
    # finds the term before without its lessons
    basis = emit(TURNOVER_BASIS, term_(regular_teachers(f.terms, f.teachers)))
    hits = keep("turnover", turnover_hits(f.terms, f.teachers, f.taught, f.facts, basis))
    release("pupil_teachers")
    exposed = out("exposure", exposure(term_(f.terms), met, hits))
    for name in ("turnover", "pupil_terms"):
        release(name)
    term_teachers = out("student_term_teachers", student_term_teachers(met))
    out("student_profiles", student_profiles(exposed, terms_out, term_teachers))
    out("teacher_terms", teacher_terms(tt, f.seen, f.taught, f.facts))
    out("quality", quality(tt, f.seen, f.facts))
    dated = f.seen.join(f.facts.select("lesson_pid", "local_date"), "lesson_pid")
    return dated.aggregate(first_day=dated.local_date.min(), last_day=dated.local_date.max())
