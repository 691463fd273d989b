"""Lessons, attendance and absence notices, drawn one chunk (a school × a block of weeks) at a
time, so memory stays bounded and chunks can run in parallel.

Each chunk has its own random stream (seeded by the seed, the school and the block), so the
output does not depend on how many processes draw the chunks or in which order they finish.
Work is vectorised over (lesson, pupil) pairs with numpy; only per-lesson bookkeeping is a
Python loop.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from linkage.sources.synthetic._calendar import MONTH_ABSENCE_FACTOR, utc_offset
from linkage.sources.synthetic._curriculum import SLOT_STARTS, grade_band
from linkage.sources.synthetic._population import Municipality, _rng
from linkage.sources.synthetic._uuids import uuids_of

WEEKS_PER_CHUNK = 4
CANCELLED_SHARE = 0.02
SUBSTITUTE_SHARE = 0.05
NO_TEACHER_SHARE = 0.004
EXTRA_TEACHER_SHARE = 0.02
TEACHING_LENGTH_GIVEN_SHARE = 0.5
SHORTENED_LESSON_SHARE = 0.03
DAY_ABSENCE_PART = 0.72  # of a pupil's absence propensity: whole days away
LESSON_ABSENCE_PART = 0.28  # single lessons missed on days at school
LEAVE_SHARE_PER_CHUNK = 0.01  # pupils taking 2–4 days of granted leave in a 4-week block
LESSON_KEY_SLOTS = 8
PUPIL_KEY_BITS = 20


@dataclass(frozen=True)
class Chunk:
    number: int
    school: int
    days: tuple[int, ...]


def plan_chunks(m: Municipality) -> list[Chunk]:
    weeks = m.year.week_of_day
    blocks: dict[int, list[int]] = {}
    for day, week in enumerate(weeks):
        blocks.setdefault(week // WEEKS_PER_CHUNK, []).append(day)
    chunks = []
    for school in m.schools:
        for block in sorted(blocks):
            chunks.append(Chunk(len(chunks), school.index, tuple(blocks[block])))
    return chunks


@dataclass
class ChunkResult:
    """What one chunk produced: JSON text of its page of each resource and truth sums."""

    number: int
    calendar_events: str
    attendances: str
    absences: str
    counts: dict[str, int]
    sums: dict[str, float]
    # sparse per-pupil sums: pupil index → columns
    pupil_index: np.ndarray
    pupil_sums: dict[str, np.ndarray]
    pupil_month_index: np.ndarray  # pupil * 16 + month
    pupil_month_sums: dict[str, np.ndarray]
    school_sums: dict[str, float] = field(default_factory=dict)


class ChunkContext:
    """Per-process lookups built once from the municipality."""

    def __init__(self, m: Municipality) -> None:
        self.m = m
        self.n_pupils = len(m.pupils.uuid)
        if self.n_pupils >= 1 << PUPIL_KEY_BITS:
            raise ValueError(f"at most {(1 << PUPIL_KEY_BITS) - 1} pupils are supported")
        self.pupil_uuid = np.array(m.pupils.uuid, dtype="U36")
        self.school_acts: dict[int, list[int]] = {}
        for activity in m.activities:
            self.school_acts.setdefault(activity.school, []).append(activity.index)
        sizes = [len(g.members) for g in m.groups]
        self.ptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        flat = [mem for g in m.groups for mem in g.members]
        self.mem_pupil = np.array([x[0] for x in flat], dtype=np.int64)
        self.mem_first = np.array([x[1] for x in flat], dtype=np.int64)
        self.mem_last = np.array([x[2] for x in flat], dtype=np.int64)
        self.exceptions: dict[int, list[tuple[int, bool, int | None]]] = {}
        for pupil, activity, participates, length in m.pupil_exceptions:
            self.exceptions.setdefault(activity, []).append((pupil, participates, length))
        self.teacher = {t.index: t for t in m.teachers}
        self.substitutes: dict[int, list[int]] = {}
        self.regulars: dict[int, list[int]] = {}
        for t in m.teachers:
            (self.substitutes if t.substitute else self.regulars).setdefault(t.school, []).append(
                t.index
            )
        self.propensity = m.pupils.absence_propensity
        days = m.year.teaching_days
        self.day_text = [f"{d:%Y-%m-%d}" for d in days]
        self.day_offset = [utc_offset(d) for d in days]
        self.day_month = np.array([d.month for d in days], dtype=np.int64)
        self.month_factor = np.array([MONTH_ABSENCE_FACTOR[d.month] for d in days])
        self.n_days = len(days)

    def certified(self, teacher: int, subject: str, grade: int) -> bool:
        return (subject, grade_band(grade)) in self.teacher[teacher].certified

    def stamp(self, day: int, minute: int) -> str:
        """A local timestamp with its UTC offset, e.g. ``2026-10-26T08:15:00+01:00``."""
        return f"{self.day_text[day]}T{minute // 60:02d}:{minute % 60:02d}:00{self.day_offset[day]}"


def _minutes_later(ctx: ChunkContext, day: int, minute: int, delay: int) -> str:
    base = dt.datetime.fromisoformat(ctx.stamp(day, minute))
    later = base + dt.timedelta(minutes=delay)
    offset = utc_offset(later.date())
    return f"{later:%Y-%m-%dT%H:%M:%S}{offset}"


def draw_chunk(ctx: ChunkContext, chunk: Chunk) -> ChunkResult:
    """Draw and render every lesson of one school in one block of weeks."""
    # Imported here so that the parent process of a process pool never loads polars.
    from linkage.sources.synthetic import _render

    m = ctx.m
    rng = _rng(m.seed, 100, chunk.school, chunk.number)
    weekday_days: dict[int, list[int]] = {}
    for day in chunk.days:
        weekday_days.setdefault(m.year.teaching_days[day].weekday(), []).append(day)

    # --- lessons -----------------------------------------------------------------------
    lesson_activity: list[int] = []
    lesson_day: list[int] = []
    lesson_slot: list[int] = []
    for a in ctx.school_acts.get(chunk.school, []):
        for weekday, slot in m.activities[a].slots:
            for day in weekday_days.get(weekday, []):
                lesson_activity.append(a)
                lesson_day.append(day)
                lesson_slot.append(slot)
    order = np.lexsort((lesson_activity, lesson_slot, lesson_day))
    l_act = np.array(lesson_activity, dtype=np.int64)[order]
    l_day = np.array(lesson_day, dtype=np.int64)[order]
    l_slot = np.array(lesson_slot, dtype=np.int64)[order]
    n_lessons = len(l_act)
    l_key = (l_act * ctx.n_days + l_day) * LESSON_KEY_SLOTS + l_slot
    l_uuid = uuids_of(m.seed, "lesson", l_key.astype(np.uint64))
    l_minutes = np.array([m.activities[a].minutes for a in l_act], dtype=np.int64)
    school = m.schools[chunk.school]
    u = rng.random((n_lessons, 8))
    cancelled = u[:, 0] < CANCELLED_SHARE
    unreported = (u[:, 1] < school.unreported_rate) & ~cancelled
    late = (u[:, 2] < school.late_report_rate) & ~cancelled & ~unreported
    length_given = u[:, 3] < TEACHING_LENGTH_GIVEN_SHARE
    shortened = length_given & (u[:, 4] < SHORTENED_LESSON_SHARE)
    l_length = np.where(shortened, l_minutes - 10, l_minutes)
    l_start = np.array([SLOT_STARTS[s] for s in l_slot], dtype=np.int64)

    # Teachers of each lesson: the activity's assignments on that day, then exceptions.
    teacher_events: list[list[tuple[int, bool]]] = []
    teachers_in: list[list[int]] = []
    subs = ctx.substitutes.get(chunk.school, [])
    regulars = ctx.regulars.get(chunk.school, [])
    for i in range(n_lessons):
        activity = m.activities[int(l_act[i])]
        day = int(l_day[i])
        assigned = [x.teacher for x in activity.teachers if x.first_day <= day <= x.last_day]
        present = list(assigned)
        events: list[tuple[int, bool]] = []
        if not cancelled[i] and assigned:
            if u[i, 5] < NO_TEACHER_SHARE:
                events.append((assigned[0], False))
                present.remove(assigned[0])
            elif u[i, 5] < NO_TEACHER_SHARE + SUBSTITUTE_SHARE and subs:
                sub = subs[int(u[i, 6] * len(subs))]
                events += [(assigned[0], False), (sub, True)]
                present[present.index(assigned[0])] = sub
            elif u[i, 5] > 1 - EXTRA_TEACHER_SHARE and regulars:
                extra = regulars[int(u[i, 6] * len(regulars))]
                if extra not in present:
                    events.append((extra, True))
                    present.append(extra)
        teacher_events.append(events)
        teachers_in.append(present)

    # --- pupils of each lesson (vectorised over lesson × member pairs) --------------------
    groups = np.array([m.activities[int(a)].group for a in l_act], dtype=np.int64)
    sizes = ctx.ptr[groups + 1] - ctx.ptr[groups]
    p_lesson = np.repeat(np.arange(n_lessons), sizes)
    offsets = np.arange(len(p_lesson)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    member = np.repeat(ctx.ptr[groups], sizes) + offsets
    pupil = ctx.mem_pupil[member]
    on_day = (ctx.mem_first[member] <= l_day[p_lesson]) & (l_day[p_lesson] <= ctx.mem_last[member])
    p_lesson, pupil = p_lesson[on_day], pupil[on_day]
    p_minutes = l_length[p_lesson].copy()
    pupil_events: list[list[tuple[int, bool, int | None]]] = [[] for _ in range(n_lessons)]
    if ctx.exceptions:
        lesson_of_act: dict[int, list[int]] = {}
        for i, a in enumerate(l_act.tolist()):
            if a in ctx.exceptions:
                lesson_of_act.setdefault(a, []).append(i)
        drop = np.zeros(len(pupil), dtype=bool)
        add_lesson: list[int] = []
        add_pupil: list[int] = []
        add_minutes: list[int] = []
        key = p_lesson * (1 << PUPIL_KEY_BITS) + pupil
        pos = {int(k): j for j, k in enumerate(key.tolist())} if lesson_of_act else {}
        for a, lessons in lesson_of_act.items():
            for i in lessons:
                for who, participates, length in ctx.exceptions[a]:
                    j = pos.get(i * (1 << PUPIL_KEY_BITS) + who)
                    if j is None and participates and length is None:
                        add_lesson.append(i)
                        add_pupil.append(who)
                        add_minutes.append(int(l_length[i]))
                        pupil_events[i].append((who, True, None))
                    elif j is not None and not participates:
                        drop[j] = True
                        pupil_events[i].append((who, False, None))
                    elif j is not None and length is not None:
                        p_minutes[j] = min(length, int(l_length[i]))
                        pupil_events[i].append((who, True, int(p_minutes[j])))
        keep = ~drop
        p_lesson = np.concatenate([p_lesson[keep], np.array(add_lesson, dtype=np.int64)])
        pupil = np.concatenate([pupil[keep], np.array(add_pupil, dtype=np.int64)])
        p_minutes = np.concatenate([p_minutes[keep], np.array(add_minutes, dtype=np.int64)])
        resort = np.lexsort((pupil, p_lesson))
        p_lesson, pupil, p_minutes = p_lesson[resort], pupil[resort], p_minutes[resort]

    live = ~cancelled[p_lesson]
    p_lesson, pupil, p_minutes = p_lesson[live], pupil[live], p_minutes[live]
    p_day = l_day[p_lesson]

    # --- absence --------------------------------------------------------------------------
    r = ctx.propensity[pupil]
    f = ctx.month_factor[p_day]
    pd_key = pupil * ctx.n_days + p_day
    pd_unique, pd_inverse = np.unique(pd_key, return_inverse=True)
    pd_pupil = pd_unique // ctx.n_days
    pd_day = pd_unique % ctx.n_days
    day_u = rng.random((len(pd_unique), 2))
    pd_r = ctx.propensity[pd_pupil]
    away = day_u[:, 0] < np.minimum(pd_r * ctx.month_factor[pd_day] * DAY_ABSENCE_PART, 0.98)
    away_valid = day_u[:, 1] < np.clip(0.88 - 0.6 * pd_r, 0.2, 1.0)
    # Granted leave: 2–4 consecutive school days within one week.
    leave_pupils = np.unique(pd_pupil)
    takes_leave = leave_pupils[rng.random(len(leave_pupils)) < LEAVE_SHARE_PER_CHUNK]
    leaves: list[tuple[int, int, int]] = []
    on_leave = np.zeros(len(pd_unique), dtype=bool)
    for p in takes_leave.tolist():
        start = int(rng.integers(len(chunk.days)))
        run = [chunk.days[start]]
        for d in chunk.days[start + 1 : start + int(rng.integers(2, 5))]:
            if m.year.week_of_day[d] != m.year.week_of_day[run[0]]:
                break
            run.append(d)
        keys = np.array([p * ctx.n_days + d for d in run], dtype=np.int64)
        idx = np.searchsorted(pd_unique, keys)
        inside = idx < len(pd_unique)
        idx, keys = idx[inside], keys[inside]
        hit = idx[pd_unique[idx] == keys]
        if len(hit):
            on_leave[hit] = True
            leaves.append((p, run[0], run[-1]))
    away = away | on_leave
    away_valid = away_valid | on_leave
    lu = rng.random((len(pupil), 4))
    day_away = away[pd_inverse]
    skip = ~day_away & (lu[:, 0] < r * f * LESSON_ABSENCE_PART)
    skip_valid = lu[:, 1] < 0.3
    lateness = ~day_away & ~skip & (lu[:, 2] < 0.03 + 0.15 * r)
    late_minutes = np.minimum(3 + (lu[:, 3] * 13).astype(np.int64), p_minutes // 2)
    other = ~day_away & ~skip & ~lateness & (lu[:, 3] < 0.005)
    whole_valid = (day_away & away_valid[pd_inverse]) | (skip & skip_valid)
    whole_invalid = (day_away & ~away_valid[pd_inverse]) | (skip & ~skip_valid)
    valid_min = np.where(whole_valid, p_minutes, 0)
    invalid_min = np.where(whole_invalid, p_minutes, np.where(lateness, late_minutes, 0))
    other_min = np.where(other, np.minimum(15, p_minutes // 3), 0)
    attend_min = p_minutes - valid_min - invalid_min - other_min
    reported = ~unreported[p_lesson]

    # --- rendering ------------------------------------------------------------------------
    l_start_text = [ctx.stamp(int(d), int(s)) for d, s in zip(l_day, l_start, strict=True)]
    l_end_text = [
        ctx.stamp(int(d), int(s + mins)) for d, s, mins in zip(l_day, l_start, l_minutes, strict=True)
    ]
    delays = np.where(late, (rng.uniform(1, 5, n_lessons) * 1440).astype(np.int64),
                      (rng.exponential(12, n_lessons) + 1).astype(np.int64))  # fmt: skip
    l_reported_text = [
        _minutes_later(ctx, int(d), int(s + mins), int(delay))
        for d, s, mins, delay in zip(l_day, l_start, l_minutes, delays, strict=True)
    ]
    att_uuid = uuids_of(
        m.seed, "attendance", (l_key[p_lesson] << PUPIL_KEY_BITS | pupil).astype(np.uint64)
    )
    calendar_text = _render.calendar_events(
        ctx, l_uuid, l_act, l_day, l_minutes, l_length, length_given, cancelled,
        l_start_text, l_end_text, teacher_events, pupil_events,
    )  # fmt: skip
    attendance_text = _render.attendances(
        att_uuid, l_uuid, p_lesson, ctx.pupil_uuid[pupil], reported, attend_min, valid_min,
        invalid_min, other_min, l_end_text, l_reported_text,
    )  # fmt: skip
    notice_day = pd_day[away & away_valid & ~on_leave]
    notice_pupil = pd_pupil[away & away_valid & ~on_leave]
    absence_text, n_notices = _render.absences(
        ctx, m.schools[chunk.school].uuid, notice_pupil, notice_day, leaves
    )

    # --- truth sums -------------------------------------------------------------------------
    act_subject = [m.activities[int(a)].subject for a in l_act]
    act_grade = [m.activities[int(a)].grade for a in l_act]
    lesson_certified = np.array(
        [
            any(ctx.certified(t, act_subject[i], act_grade[i]) for t in teachers_in[i])
            for i in range(n_lessons)
        ],
        dtype=bool,
    )
    lesson_legitimated = np.array(
        [any(ctx.teacher[t].legitimated for t in teachers_in[i]) for i in range(n_lessons)],
        dtype=bool,
    )
    n_teachers = np.array([len(t) for t in teachers_in], dtype=np.int64)
    substituted = np.array([any(p for _, p in ev) and any(not p for _, p in ev)
                            for ev in teacher_events], dtype=bool)  # fmt: skip
    held = ~cancelled
    absent_min = valid_min + invalid_min
    counts = {
        "lessons": int(n_lessons),
        "cancelled_lessons": int(cancelled.sum()),
        "unreported_lessons": int(unreported.sum()),
        "late_reported_lessons": int(late.sum()),
        "substituted_lessons": int((substituted & held).sum()),
        "two_teacher_lessons": int(((n_teachers >= 2) & held).sum()),
        "lessons_without_teacher": int(((n_teachers == 0) & held).sum()),
        "attendance_records": len(pupil),
        "reported_attendance_records": int(reported.sum()),
        "absence_notices": n_notices,
        "pupil_exception_entries": sum(len(e) for e in pupil_events),
        "teacher_exception_entries": sum(len(e) for e in teacher_events),
    }
    weight = np.where(held, l_length, 0).astype(float)
    pupil_weight = np.bincount(p_lesson, weights=p_minutes, minlength=n_lessons)
    sums = {
        "teaching_minutes": float(weight.sum()),
        "certified_teaching_minutes": float(weight[lesson_certified].sum()),
        "legitimated_teaching_minutes": float(weight[lesson_legitimated].sum()),
        "pupil_minutes": float(pupil_weight.sum()),
        "pupil_minutes_certified": float(pupil_weight[lesson_certified].sum()),
    }
    school_sums = {"teaching_minutes": sums["teaching_minutes"],
                   "certified_teaching_minutes": sums["certified_teaching_minutes"]}  # fmt: skip
    uniq, inv = np.unique(pupil, return_inverse=True)

    def per_pupil(values: np.ndarray) -> np.ndarray:
        return np.bincount(inv, weights=values.astype(float), minlength=len(uniq))

    rep = reported.astype(float)
    attended_rep = (attend_min + other_min) * rep
    day_rep = np.bincount(pd_inverse, weights=rep, minlength=len(pd_unique))
    day_att = np.bincount(pd_inverse, weights=attended_rep, minlength=len(pd_unique))
    absent_day = (day_rep > 0) & (day_att == 0)
    absent_days = np.bincount(
        np.searchsorted(uniq, pd_pupil), weights=absent_day.astype(float), minlength=len(uniq)
    )
    pupil_sums = {
        "planned_minutes": per_pupil(p_minutes),
        "reported_minutes": per_pupil(p_minutes * rep),
        "absent_minutes_reported": per_pupil(absent_min * rep),
        "valid_minutes_reported": per_pupil(valid_min * rep),
        "invalid_minutes_reported": per_pupil(invalid_min * rep),
        "latent_absent_minutes": per_pupil(absent_min),
        "absent_days": absent_days,
        "lessons": per_pupil(np.ones(len(pupil))),
        "reported_lessons": per_pupil(rep),
        "certified_minutes": per_pupil(p_minutes * lesson_certified[p_lesson]),
    }
    pm_key = pupil * 16 + ctx.day_month[p_day]
    pm_unique, pm_inverse = np.unique(pm_key, return_inverse=True)
    pupil_month_sums = {
        "reported_minutes": np.bincount(pm_inverse, weights=p_minutes * rep),
        "absent_minutes_reported": np.bincount(pm_inverse, weights=absent_min * rep),
    }
    return ChunkResult(
        number=chunk.number,
        calendar_events=calendar_text,
        attendances=attendance_text,
        absences=absence_text,
        counts=counts,
        sums=sums,
        pupil_index=uniq,
        pupil_sums=pupil_sums,
        pupil_month_index=pm_unique,
        pupil_month_sums=pupil_month_sums,
        school_sums=school_sums,
    )
