"""The incremental build: after weekly deliveries, recompute only the months and terms they
touched, and take every other row from the research snapshot built before them.

Whether it may: the current canonical snapshot must descend, by deliveries alone
(``linkage._deliveries``), from the snapshot the current research snapshot was built from, and
no delivery may have changed a table other than the bulk ones (a pupil's enrolment or a group's
members changed reaches back into every month; a register ingested likewise). Otherwise the
build is a full one, and says why.

What is recomputed, by the same expressions as a full build (``linkage.build``):

- by **month** (the months of the deliveries' lessons): ``student_lessons``, ``student_months``
  and ``quality``, from those months' lessons alone: every row of these tables depends only on
  its own month's lessons;
- by **term** (the terms of those months): ``student_teachers``, ``exposure``,
  ``student_terms``, ``student_term_teachers``, ``student_profiles`` and ``teacher_terms``,
  from the term's ``student_lessons`` (reused months and recomputed ones together), and for
  teacher turnover also the term before.

Every other row is the earlier research snapshot's; a full rebuild gives the same tables
(tested on both engines).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ibis.expr.types as ir

from linkage._engines import BuildEngine
from linkage._snapshot import MANIFEST, POINTER, SNAPSHOTS, read_manifest
from linkage.build import (
    exposure,
    lesson_facts,
    lesson_teachers,
    quality,
    student_days,
    student_lessons,
    student_months,
    student_profiles,
    student_teachers,
    student_term_teachers,
    student_terms,
    teacher_terms,
    turnover,
)
from linkage.build._calendar import month, term

_BY_LESSON = ("attendance", "lesson_student_exceptions", "lesson_teacher_exceptions")


@dataclass(frozen=True)
class Plan:
    """What an incremental build recomputes, and the research snapshot it takes the rest from."""

    previous: Path
    months: tuple[str, ...]
    terms: tuple[str, ...]

    def record(self) -> dict[str, object]:
        return {"onto": self.previous.name, "months": list(self.months), "terms": list(self.terms)}


def plan_incremental(
    data_dir: Path, research: Path, canonical: Path, tables: tuple[str, ...]
) -> Plan | str:
    """The plan, or why the build must be a full one."""
    previous = _research_in_use(research, tables)
    if isinstance(previous, str):
        return previous
    built_from = (read_manifest(previous).get("built_from") or {}).get("snapshot_id")
    months: set[str] = set()
    here = canonical
    while True:
        manifest = read_manifest(here)
        if manifest["snapshot_id"] == built_from:
            break
        delivery = manifest.get("delivery")
        if not isinstance(delivery, dict) or "previous_snapshot" in manifest:
            return (
                f"the canonical snapshot {manifest['snapshot_id']} is not a weekly delivery onto "
                f"the snapshot the research tables were built from ({built_from})"
            )
        if delivery.get("full_build"):  # the delivery says why (``DeliveryRules.full_build``)
            return f"the delivery {delivery['folder']}: {delivery['full_build']}"
        if delivery["changed"]:
            return (
                f"the delivery {delivery['folder']} changed {', '.join(delivery['changed'])}, "
                "which every month depends on"
            )
        months.update(delivery["months"])
        here = data_dir / SNAPSHOTS / str(delivery["onto"])
        if not (here / MANIFEST).is_file():
            return f"the snapshot {delivery['onto']} a delivery was added onto is gone"
    terms = sorted({f"{m[:4]}{'HT' if int(m[5:7]) >= 7 else 'VT'}" for m in months})
    return Plan(previous, tuple(sorted(months)), tuple(terms))


def _research_in_use(research: Path, tables: tuple[str, ...]) -> Path | str:
    """The research snapshot in use, or why there is none to add to."""
    pointer = research / POINTER
    if not pointer.is_file():
        return "there is no research snapshot to add to yet"
    previous = research / SNAPSHOTS / pointer.read_text(encoding="utf-8").strip()
    if not (previous / MANIFEST).is_file():
        return "the research snapshot in use is missing"
    if any(name not in read_manifest(previous)["tables"] for name in tables):
        return "the research snapshot in use lacks some of the tables"
    return previous


def _term_before(code: str) -> str:
    year = int(code[:4])
    return f"{year}VT" if code.endswith("HT") else f"{year - 1}HT"


def _restrict(t: dict[str, ir.Table], lessons: ir.Table) -> dict[str, ir.Table]:
    """The canonical tables with only ``lessons`` and what belongs to them."""
    ids = lessons.select("lesson_pid")
    return {**t, "lessons": lessons, **{n: t[n].semi_join(ids, "lesson_pid") for n in _BY_LESSON}}


def build_changed(
    e: BuildEngine,
    t: dict[str, ir.Table],
    plan: Plan,
    write: Callable[[str, ir.Table], ir.Table],
) -> None:
    """Write every research table: the plan's months and terms recomputed, the rest reused."""
    manifest = read_manifest(plan.previous)["tables"]
    old = {
        name: e.read_parquet(plan.previous / entry["file"], f"previous_{name}")
        for name, entry in manifest.items()
    }
    months, terms = list(plan.months), list(plan.terms)
    with_before = sorted({*terms, *map(_term_before, terms)})

    def merged(name: str, new: ir.Table, column: str, values: list[str]) -> ir.Table:
        earlier = old[name]
        kept = earlier.filter(~earlier[column].isin(values))
        return write(name, kept.union(new.select(*earlier.columns).cast(earlier.schema())))

    def only(table: ir.Table, values: list[str]) -> ir.Table:
        return table.filter(table.term.isin(values))

    lessons = t["lessons"]
    tm = _restrict(t, lessons.filter(month(lessons.local_date).isin(months)))
    facts = e.keep("changed_lesson_facts", lesson_facts(tm))
    sl_new = e.keep("changed_student_lessons", student_lessons(tm, facts))
    sl = merged("student_lessons", sl_new, "month", months)
    days_new = e.keep("changed_student_days", student_days(sl_new))
    new_months = student_months(sl_new, t["students"], days_new, schools=t["schools"])
    by_month = merged("student_months", new_months, "month", months)

    sl_terms, sl_before = only(sl, terms), only(sl, with_before)
    t_before = _restrict(t, lessons.filter(term(lessons.local_date).isin(with_before)))
    taught = e.keep("changed_lesson_teachers", lesson_teachers(t_before))
    met = only(merged("student_teachers", student_teachers(sl_terms, taught), "term", terms), terms)
    exposed = merged(
        "exposure", exposure(sl_terms, met, turnover(t_before, sl_before, taught)), "term", terms
    )
    days = e.keep("changed_student_term_days", student_days(sl_terms))
    absence = merged(
        "student_terms",
        student_terms(
            sl_terms,
            only(by_month, terms),
            t["student_register"],
            t["students"],
            days,
            schools=t["schools"],
        ),
        "term",
        terms,
    )
    term_teachers = merged("student_term_teachers", student_term_teachers(met), "term", terms)
    profiles = student_profiles(
        only(exposed, terms), only(absence, terms), only(term_teachers, terms)
    )
    merged("student_profiles", profiles, "term", terms)
    t_terms = _restrict(t, lessons.filter(term(lessons.local_date).isin(terms)))
    merged("teacher_terms", teacher_terms(t_terms, sl_terms), "term", terms)
    merged("quality", quality(tm, sl_new, facts), "month", months)
