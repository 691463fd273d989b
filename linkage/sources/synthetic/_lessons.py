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
from linkage.sources.synthetic._population import Municipality, rng_for
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


def plan_chunks(m: Municipality, weekly_from: int | None = None) -> list[Chunk]:
    """Chunks of ``WEEKS_PER_CHUNK`` weeks; from teaching week index ``weekly_from`` on, one
    chunk per week (so that each of those weeks can be written as its own delivery)."""
    weeks = m.year.week_of_day
    blocks: dict[int, list[int]] = {}
    for day, week in enumerate(weeks):
        if weekly_from is not None and week >= weekly_from:
            block = -(-weekly_from // WEEKS_PER_CHUNK) + week - weekly_from
        else:
            block = week // WEEKS_PER_CHUNK
        blocks.setdefault(block, []).append(day)
    chunks: list[Chunk] = []
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
        for pupil, act_index, participates, length in m.pupil_exceptions:
            self.exceptions.setdefault(act_index, []).append((pupil, participates, length))
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


@dataclass
class _Lessons:
    """The lessons of a chunk, one entry per lesson, ordered by day, slot and activity."""

    activity: np.ndarray
    day: np.ndarray
    key: np.ndarray  # unique per lesson across the whole extract
    uuid: np.ndarray
    minutes: np.ndarray  # end - start
    length: np.ndarray  # teaching length (shortened on some lessons)
    length_given: np.ndarray
    start: np.ndarray  # minute of the day
    cancelled: np.ndarray
    unreported: np.ndarray
    late: np.ndarray
    draws: np.ndarray  # uniform draws for the staffing of each lesson
    teacher_events: list[list[tuple[int, bool]]] = field(default_factory=list)
    teachers_in: list[list[int]] = field(default_factory=list)
    # a teacher not assigned to the activity that day takes part (a substitute, in the
    # research tables' sense: a stand-in, or an extra teacher joining)
    unassigned: list[bool] = field(default_factory=list)


@dataclass
class _Seats:
    """(lesson, pupil) pairs of held lessons, with the pupil's minutes in the lesson."""

    lesson: np.ndarray
    pupil: np.ndarray
    minutes: np.ndarray
    events: list[list[tuple[int, bool, int | None]]]


@dataclass
class _Absence:
    """Minutes per seat and the (pupil, day) view that absence notices and day counts need."""

    attend: np.ndarray
    valid: np.ndarray
    invalid: np.ndarray
    other: np.ndarray
    day_inverse: np.ndarray  # seat -> index into the unique (pupil, day) pairs
    day_pupil: np.ndarray
    day_index: np.ndarray
    noticed: np.ndarray  # (pupil, day) pairs with a guardian's notice
    leaves: list[tuple[int, int, int]]


def draw_chunk(ctx: ChunkContext, chunk: Chunk) -> ChunkResult:
    """Draw and render every lesson of one school in one block of weeks."""
    # Imported here so that the parent process of a process pool never loads polars.
    from linkage.sources.synthetic import _render

    m = ctx.m
    rng = rng_for(m.seed, 100, chunk.school, chunk.number)
    lessons = _draw_lessons(ctx, chunk, rng)
    _staff_lessons(ctx, chunk, lessons)
    seats = _seat_pupils(ctx, lessons)
    absence = _draw_absence(ctx, chunk, lessons, seats, rng)
    reported = ~lessons.unreported[seats.lesson]

    start_text = [
        ctx.stamp(int(d), int(s)) for d, s in zip(lessons.day, lessons.start, strict=True)
    ]
    end_minute = lessons.start + lessons.minutes
    end_text = [ctx.stamp(int(d), int(e)) for d, e in zip(lessons.day, end_minute, strict=True)]
    n = len(lessons.key)
    delays = np.where(
        lessons.late,
        (rng.uniform(1, 5, n) * 1440).astype(np.int64),
        (rng.exponential(12, n) + 1).astype(np.int64),
    )
    reported_text = [
        _minutes_later(ctx, int(d), int(e), int(delay))
        for d, e, delay in zip(lessons.day, end_minute, delays, strict=True)
    ]
    seat_key = lessons.key[seats.lesson] << PUPIL_KEY_BITS | seats.pupil
    calendar_text = _render.calendar_events(
        ctx,
        lessons.uuid,
        lessons.activity,
        lessons.day,
        lessons.length,
        lessons.length_given,
        lessons.cancelled,
        start_text,
        end_text,
        lessons.teacher_events,
        seats.events,
    )
    attendance_text = _render.attendances(
        uuids_of(m.seed, "attendance", seat_key.astype(np.uint64)),
        lessons.uuid,
        seats.lesson,
        ctx.pupil_uuid[seats.pupil],
        reported,
        absence.attend,
        absence.valid,
        absence.invalid,
        absence.other,
        end_text,
        reported_text,
    )
    absence_text, n_notices = _render.absences(
        ctx,
        m.schools[chunk.school].uuid,
        absence.day_pupil[absence.noticed],
        absence.day_index[absence.noticed],
        absence.leaves,
    )
    result = _truth_sums(ctx, lessons, seats, absence, reported)
    result.number = chunk.number
    result.calendar_events, result.attendances, result.absences = (
        calendar_text,
        attendance_text,
        absence_text,
    )
    result.counts["absence_notices"] = n_notices
    return result


def _draw_lessons(ctx: ChunkContext, chunk: Chunk, rng: np.random.Generator) -> _Lessons:
    """Every weekly slot of every activity of the school, on each day of the chunk."""
    m = ctx.m
    weekday_days: dict[int, list[int]] = {}
    for day in chunk.days:
        weekday_days.setdefault(m.year.teaching_days[day].weekday(), []).append(day)
    rows = [
        (a, day, slot)
        for a in ctx.school_acts.get(chunk.school, [])
        for weekday, slot in m.activities[a].slots
        for day in weekday_days.get(weekday, [])
    ]
    table = np.array(rows, dtype=np.int64).reshape(-1, 3)
    table = table[np.lexsort((table[:, 0], table[:, 2], table[:, 1]))]
    activity, days, slot = table[:, 0], table[:, 1], table[:, 2]
    key = (activity * ctx.n_days + days) * LESSON_KEY_SLOTS + slot
    minutes = np.array([m.activities[a].minutes for a in activity], dtype=np.int64)
    school = m.schools[chunk.school]
    u = rng.random((len(key), 8))
    cancelled = u[:, 0] < CANCELLED_SHARE
    unreported = (u[:, 1] < school.unreported_rate) & ~cancelled
    length_given = u[:, 3] < TEACHING_LENGTH_GIVEN_SHARE
    shortened = length_given & (u[:, 4] < SHORTENED_LESSON_SHARE)
    return _Lessons(
        activity=activity,
        day=days,
        key=key,
        uuid=uuids_of(m.seed, "lesson", key.astype(np.uint64)),
        minutes=minutes,
        length=np.where(shortened, minutes - 10, minutes),
        length_given=length_given,
        start=np.array([SLOT_STARTS[s] for s in slot], dtype=np.int64),
        cancelled=cancelled,
        unreported=unreported,
        late=(u[:, 2] < school.late_report_rate) & ~cancelled & ~unreported,
        draws=u[:, 5:7],
    )


def _staff_lessons(ctx: ChunkContext, chunk: Chunk, lessons: _Lessons) -> None:
    """Teachers of each lesson: the activity's assignments on that day, then the exceptions
    (a substitute in place of the teacher, a lesson without its teacher, an extra teacher)."""
    subs = ctx.substitutes.get(chunk.school, [])
    regulars = ctx.regulars.get(chunk.school, [])
    for i in range(len(lessons.key)):
        activity = ctx.m.activities[int(lessons.activity[i])]
        day = int(lessons.day[i])
        assigned = [x.teacher for x in activity.teachers if x.first_day <= day <= x.last_day]
        present = list(assigned)
        events: list[tuple[int, bool]] = []
        draw, pick = lessons.draws[i]
        if not lessons.cancelled[i] and assigned:
            if draw < NO_TEACHER_SHARE:
                events.append((assigned[0], False))
                present.remove(assigned[0])
            elif draw < NO_TEACHER_SHARE + SUBSTITUTE_SHARE and subs:
                sub = subs[int(pick * len(subs))]
                events += [(assigned[0], False), (sub, True)]
                present[present.index(assigned[0])] = sub
            elif draw > 1 - EXTRA_TEACHER_SHARE and regulars:
                extra = regulars[int(pick * len(regulars))]
                if extra not in present:
                    events.append((extra, True))
                    present.append(extra)
        lessons.teacher_events.append(events)
        lessons.teachers_in.append(present)
        lessons.unassigned.append(any(p and t not in assigned for t, p in events))


def _seat_pupils(ctx: ChunkContext, lessons: _Lessons) -> _Seats:
    """Members of the activity's group on the lesson's day, vectorised over lesson × member
    pairs; then the pupil exceptions (excused, shortened, added); cancelled lessons out."""
    n = len(lessons.key)
    groups = np.array([ctx.m.activities[int(a)].group for a in lessons.activity], dtype=np.int64)
    sizes = ctx.ptr[groups + 1] - ctx.ptr[groups]
    lesson = np.repeat(np.arange(n), sizes)
    member = np.repeat(ctx.ptr[groups], sizes) + (
        np.arange(len(lesson)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    )
    day = lessons.day[lesson]
    on_day = (ctx.mem_first[member] <= day) & (day <= ctx.mem_last[member])
    seats = _Seats(
        lesson[on_day],
        ctx.mem_pupil[member[on_day]],
        lessons.length[lesson[on_day]].copy(),
        [[] for _ in range(n)],
    )
    touched = [i for i, a in enumerate(lessons.activity.tolist()) if a in ctx.exceptions]
    if touched:
        _apply_pupil_exceptions(ctx, lessons, seats, touched)
    live = ~lessons.cancelled[seats.lesson]
    seats.lesson, seats.pupil, seats.minutes = (
        seats.lesson[live],
        seats.pupil[live],
        seats.minutes[live],
    )
    return seats


def _apply_pupil_exceptions(
    ctx: ChunkContext, lessons: _Lessons, seats: _Seats, touched: list[int]
) -> None:
    shift = 1 << PUPIL_KEY_BITS
    position = {int(k): j for j, k in enumerate((seats.lesson * shift + seats.pupil).tolist())}
    drop = np.zeros(len(seats.pupil), dtype=bool)
    added: list[tuple[int, int, int]] = []
    for i in touched:
        length = int(lessons.length[i])
        for who, participates, own_length in ctx.exceptions[int(lessons.activity[i])]:
            j = position.get(i * shift + who)
            if j is None and participates and own_length is None:
                added.append((i, who, length))
                seats.events[i].append((who, True, None))
            elif j is not None and not participates:
                drop[j] = True
                seats.events[i].append((who, False, None))
            elif j is not None and own_length is not None:
                seats.minutes[j] = min(own_length, length)
                seats.events[i].append((who, True, int(seats.minutes[j])))
    extra = np.array(added, dtype=np.int64).reshape(-1, 3)
    keep = ~drop
    lesson = np.concatenate([seats.lesson[keep], extra[:, 0]])
    pupil = np.concatenate([seats.pupil[keep], extra[:, 1]])
    minutes = np.concatenate([seats.minutes[keep], extra[:, 2]])
    order = np.lexsort((pupil, lesson))
    seats.lesson, seats.pupil, seats.minutes = lesson[order], pupil[order], minutes[order]


def _draw_absence(
    ctx: ChunkContext, chunk: Chunk, lessons: _Lessons, seats: _Seats, rng: np.random.Generator
) -> _Absence:
    """Whole days away (mostly valid, with a guardian's notice), granted leave, single lessons
    missed, lateness and other attendance, from each pupil's propensity and the month."""
    day = lessons.day[seats.lesson]
    r = ctx.propensity[seats.pupil]
    unique, inverse = np.unique(seats.pupil * ctx.n_days + day, return_inverse=True)
    pd_pupil, pd_day = unique // ctx.n_days, unique % ctx.n_days
    pd_r = ctx.propensity[pd_pupil]
    u = rng.random((len(unique), 2))
    away = u[:, 0] < np.minimum(pd_r * ctx.month_factor[pd_day] * DAY_ABSENCE_PART, 0.98)
    away_valid = u[:, 1] < np.clip(0.88 - 0.6 * pd_r, 0.2, 1.0)
    on_leave, leaves = _draw_leave(ctx, chunk, unique, rng)
    away, away_valid = away | on_leave, away_valid | on_leave
    lu = rng.random((len(seats.pupil), 4))
    day_away = away[inverse]
    skip = ~day_away & (lu[:, 0] < r * ctx.month_factor[day] * LESSON_ABSENCE_PART)
    skip_valid = lu[:, 1] < 0.3
    late = ~day_away & ~skip & (lu[:, 2] < 0.03 + 0.15 * r)
    late_minutes = np.minimum(3 + (lu[:, 3] * 13).astype(np.int64), seats.minutes // 2)
    other = ~day_away & ~skip & ~late & (lu[:, 3] < 0.005)
    whole_valid = (day_away & away_valid[inverse]) | (skip & skip_valid)
    whole_invalid = (day_away & ~away_valid[inverse]) | (skip & ~skip_valid)
    valid = np.where(whole_valid, seats.minutes, 0)
    invalid = np.where(whole_invalid, seats.minutes, np.where(late, late_minutes, 0))
    other_min = np.where(other, np.minimum(15, seats.minutes // 3), 0)
    return _Absence(
        attend=seats.minutes - valid - invalid - other_min,
        valid=valid,
        invalid=invalid,
        other=other_min,
        day_inverse=inverse,
        day_pupil=pd_pupil,
        day_index=pd_day,
        noticed=away & away_valid & ~on_leave,
        leaves=leaves,
    )


def _draw_leave(
    ctx: ChunkContext, chunk: Chunk, pupil_days: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """Granted leave: 2–4 consecutive school days within one week, for a few pupils."""
    week_of = ctx.m.year.week_of_day
    on_leave = np.zeros(len(pupil_days), dtype=bool)
    leaves: list[tuple[int, int, int]] = []
    pupils = np.unique(pupil_days // ctx.n_days)
    for p in pupils[rng.random(len(pupils)) < LEAVE_SHARE_PER_CHUNK].tolist():
        start = int(rng.integers(len(chunk.days)))
        run = [chunk.days[start]]
        for d in chunk.days[start + 1 : start + int(rng.integers(2, 5))]:
            if week_of[d] != week_of[run[0]]:
                break
            run.append(d)
        keys = np.array([p * ctx.n_days + d for d in run], dtype=np.int64)
        idx = np.searchsorted(pupil_days, keys)
        inside = idx < len(pupil_days)
        hit = idx[inside][pupil_days[idx[inside]] == keys[inside]]
        if len(hit):
            on_leave[hit] = True
            leaves.append((p, run[0], run[-1]))
    return on_leave, leaves


def _truth_sums(
    ctx: ChunkContext, lessons: _Lessons, seats: _Seats, absence: _Absence, reported: np.ndarray
) -> ChunkResult:
    """What truth.json needs from this chunk: counts, teaching-minute sums, per-pupil sums."""
    m, n = ctx.m, len(lessons.key)
    certified = np.array(
        [
            any(
                ctx.certified(
                    t,
                    m.activities[int(lessons.activity[i])].subject,
                    m.activities[int(lessons.activity[i])].grade,
                )
                for t in lessons.teachers_in[i]
            )
            for i in range(n)
        ],
        dtype=bool,
    )
    legitimated = np.array(
        [any(ctx.teacher[t].legitimated for t in present) for present in lessons.teachers_in],
        dtype=bool,
    )
    n_teachers = np.array([len(t) for t in lessons.teachers_in], dtype=np.int64)
    substituted = np.array(
        [any(p for _, p in ev) and any(not p for _, p in ev) for ev in lessons.teacher_events],
        dtype=bool,
    )
    held = ~lessons.cancelled
    counts = {
        "lessons": n,
        "cancelled_lessons": int(lessons.cancelled.sum()),
        "unreported_lessons": int(lessons.unreported.sum()),
        "late_reported_lessons": int(lessons.late.sum()),
        "substituted_lessons": int((substituted & held).sum()),
        "lessons_with_unassigned_teacher": int(
            (np.array(lessons.unassigned, dtype=bool).reshape(-1) & held).sum()
        ),
        "two_teacher_lessons": int(((n_teachers >= 2) & held).sum()),
        "lessons_without_teacher": int(((n_teachers == 0) & held).sum()),
        "attendance_records": len(seats.pupil),
        "reported_attendance_records": int(reported.sum()),
        "pupil_exception_entries": sum(len(e) for e in seats.events),
        "teacher_exception_entries": sum(len(e) for e in lessons.teacher_events),
    }
    weight = np.where(held, lessons.length, 0).astype(float)
    pupil_weight = np.bincount(seats.lesson, weights=seats.minutes, minlength=n)
    sums = {
        "teaching_minutes": float(weight.sum()),
        "certified_teaching_minutes": float(weight[certified].sum()),
        "legitimated_teaching_minutes": float(weight[legitimated].sum()),
        "pupil_minutes": float(pupil_weight.sum()),
        "pupil_minutes_certified": float(pupil_weight[certified].sum()),
    }
    uniq, inv = np.unique(seats.pupil, return_inverse=True)

    def per_pupil(values: np.ndarray) -> np.ndarray:
        return np.bincount(inv, weights=values.astype(float), minlength=len(uniq))

    rep = reported.astype(float)
    absent = absence.valid + absence.invalid
    n_days = len(absence.day_pupil)
    day_rep = np.bincount(absence.day_inverse, weights=rep, minlength=n_days)
    attended = (absence.attend + absence.other) * rep
    day_att = np.bincount(absence.day_inverse, weights=attended, minlength=n_days)
    absent_day = ((day_rep > 0) & (day_att == 0)).astype(float)
    month = ctx.day_month[lessons.day[seats.lesson]]
    pm_unique, pm_inverse = np.unique(seats.pupil * 16 + month, return_inverse=True)
    return ChunkResult(
        number=-1,
        calendar_events="",
        attendances="",
        absences="",
        counts=counts,
        sums=sums,
        pupil_index=uniq,
        pupil_sums={
            "planned_minutes": per_pupil(seats.minutes),
            "reported_minutes": per_pupil(seats.minutes * rep),
            "absent_minutes_reported": per_pupil(absent * rep),
            "valid_minutes_reported": per_pupil(absence.valid * rep),
            "invalid_minutes_reported": per_pupil(absence.invalid * rep),
            "latent_absent_minutes": per_pupil(absent),
            "absent_days": np.bincount(
                np.searchsorted(uniq, absence.day_pupil), weights=absent_day, minlength=len(uniq)
            ),
            "lessons": per_pupil(np.ones(len(seats.pupil))),
            "reported_lessons": per_pupil(rep),
            "certified_minutes": per_pupil(seats.minutes * certified[seats.lesson]),
        },
        pupil_month_index=pm_unique,
        pupil_month_sums={
            "reported_minutes": np.bincount(pm_inverse, weights=seats.minutes * rep),
            "absent_minutes_reported": np.bincount(pm_inverse, weights=absent * rep),
        },
        school_sums={
            "teaching_minutes": sums["teaching_minutes"],
            "certified_teaching_minutes": sums["certified_teaching_minutes"],
        },
    )
