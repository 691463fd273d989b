"""The people and structure of a synthetic municipality: schools, pupils, classes, teaching
groups, teachers with their certification, and the activities they teach.

Everything here is drawn once per seed and is small (one row per person or activity); the
lessons and attendance, which grow with pupils × lessons, are drawn chunk by chunk in
``_lessons``. The planted parameters are named constants so ``truth.json`` can report them.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from linkage.sources.synthetic._calendar import SchoolYear
from linkage.sources.synthetic._curriculum import (
    LANGUAGES,
    SLOT_STARTS,
    TEACHER_CAPACITY_LESSONS,
    TIMETABLE,
    Course,
    grade_band,
    teacher_family,
)
from linkage.sources.synthetic._ids import IdAllocator, IssuedId
from linkage.sources.synthetic._uuids import uuid_of

# --- planted parameters -------------------------------------------------------------------
PUPILS_PER_SCHOOL = 350
MAX_CLASS_SIZE = 28
CERTIFIED_TEACHING_TARGET = 0.708  # Skolverket: share of teaching by certified teachers, GR
CERTIFICATION_SES_SLOPE = 0.9  # how strongly certification follows the school's SES index
NOVICE_BASE_LOGIT = -1.9  # P(novice, < 3 years) ≈ 13 % at an average school
NOVICE_SES_SLOPE = -0.6  # more novices where pupils are poorer
LEAVER_BASE_LOGIT = -1.75  # P(leaves the school by next year) ≈ 15 %
LEAVER_SES_SLOPE = -0.4
MID_YEAR_LEAVER_SHARE = 0.04
NEW_TO_SCHOOL_SHARE = 0.10  # besides novices in their first year and mid-year replacements  # of teachers: leave during the year and are replaced
SUBSTITUTES_PER_CLASSES = 6  # one substitute on call per this many classes
SPECIAL_TEACHERS_PER_CLASSES = 10
SUBSTITUTE_LOSS = 0.05  # share of lessons not taught by their assigned teacher (see _lessons)
TWO_TEACHER_ACTIVITY_SHARE = 0.06  # core activities F–6 with a special teacher assigned too
CLASS_CHANGE_SHARE = 0.03  # pupils who change class within their school during the year
SCHOOL_CHANGE_SHARE = 0.015  # pupils who change school during the year
ADJUSTED_SCHEDULE_SHARE = 0.015  # pupils excused from, or with shortened, lessons of a subject
EXTRA_GROUP_SHARE = 0.005  # pupils who also join another class's lessons in a subject
PROTECTED_IDENTITY_SHARE = 0.002
# Dirt in the identity numbers (shares of pupils; at least one of each where it fits).
COORDINATION_SHARE = 0.005
WRONG_CHECK_DIGIT_SHARE = 0.002
INTERIM_SHARE = 0.001
SHORT_FORM_SHARE = 0.01

_GIVEN = ("Alva", "Elsa", "Maja", "Saga", "Ella", "Vera", "Alice", "Selma", "Astrid", "Ebba",
          "William", "Noah", "Hugo", "Lucas", "Liam", "Adam", "Elias", "Oliver", "Ali", "Omar",
          "Nora", "Leah", "Amira", "Emil", "Ludvig", "Sara", "Yusuf", "Ida", "Theo", "Frida")  # fmt: skip
_FAMILY = ("Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson",
           "Persson", "Svensson", "Gustafsson", "Ahmed", "Hassan", "Lindberg", "Berg", "Nguyen",
           "Lindqvist", "Holm", "Mohammed", "Ek", "Sandberg")  # fmt: skip
_SCHOOL_NAMES = ("Björk", "Ekbacka", "Lind", "Sjöstrand", "Hagby", "Norrgården", "Solberga",
                 "Kvarn", "Ängsvik", "Tallhöjd", "Rönn", "Aspnäs", "Granlunda", "Mosstorp")  # fmt: skip


def _sigmoid(x: np.ndarray | float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


@dataclass
class School:
    index: int
    uuid: str
    unit_code: str
    name: str
    grades: tuple[int, ...]
    ses: float  # the school's socio-economic index (mean 0, sd 1)
    unreported_rate: float  # share of lessons whose attendance is never registered
    late_report_rate: float


@dataclass
class Group:
    index: int
    uuid: str
    school: int
    grade: int
    kind: str  # "Klass" or "Undervisning"
    name: str
    # (pupil, first day index, last day index) — inclusive, into SchoolYear.teaching_days
    members: list[tuple[int, int, int]] = field(default_factory=list)


@dataclass
class Assignment:
    teacher: int
    first_day: int
    last_day: int


@dataclass
class Activity:
    index: int
    uuid: str
    school: int
    group: int
    grade: int
    subject: str
    language: str | None
    lessons_per_week: int
    minutes: int
    teachers: list[Assignment] = field(default_factory=list)
    # weekly slots: (weekday 0–4, slot index)
    slots: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class Teacher:
    index: int
    person_uuid: str
    duty_uuid: str
    school: int
    role: str  # SS 12000 DutyRole
    percent: int
    experience: int  # completed years of teaching at the start of the school year
    arrival_year: int  # year of arrival at this school
    birth_year: int
    sex: str
    civic: IssuedId
    given: str
    family: str
    legitimated: bool = False
    certified: set[tuple[str, str]] = field(default_factory=set)  # (subject, band)
    leaves: bool = False  # leaves the school by the next school year
    first_day: int = 0
    last_day: int = 10**9  # day index of the last day of duty
    substitute: bool = False


@dataclass
class Pupils:
    """One entry per pupil (index = pupil number)."""

    uuid: list[str]
    civic: list[IssuedId]
    civic_written: list[str | None]  # as written in the extract (short forms included)
    given: list[str]
    family: list[str]
    sex: np.ndarray  # 0 girl, 1 boy
    grade: np.ndarray
    school: np.ndarray  # school at the start of the year
    ses: np.ndarray
    parents_education: np.ndarray  # 1..4
    migration: np.ndarray  # 0 Swedish background, 1 born in Sweden to two foreign-born, 2 foreign-born
    absence_propensity: np.ndarray  # expected share of time absent
    protected: np.ndarray  # securityMarking "Skyddad folkbokföring"
    # enrolments: (pupil, school, first day index, last day index)
    enrolments: list[tuple[int, int, int, int]] = field(default_factory=list)


@dataclass
class Municipality:
    seed: int
    year: SchoolYear
    uuid: str
    municipality_code: str
    name: str
    schools: list[School]
    pupils: Pupils
    groups: list[Group]
    activities: list[Activity]
    teachers: list[Teacher]
    principals: list[Teacher]
    # (pupil, activity, participates, teaching length or None)
    pupil_exceptions: list[tuple[int, int, bool, int | None]]
    grade9_grades: dict[int, dict[str, str]]
    merit: dict[int, float]

    def day(self, index: int) -> dt.date:
        return self.year.teaching_days[index]


def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, *stream])))


def _split(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to ``weights`` that sum to ``total`` (largest remainder)."""
    raw = weights / weights.sum() * total
    out = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - out), kind="stable")[: total - out.sum()]:
        out[i] += 1
    return out


def _school_stages(n: int) -> list[tuple[int, ...]]:
    if n == 1:
        return [tuple(range(10))]
    pattern = [tuple(range(10)), tuple(range(7)), tuple(range(7, 10)), tuple(range(7)),
               tuple(range(10)), tuple(range(7))]  # fmt: skip
    return [pattern[i % len(pattern)] for i in range(n)]


def build_municipality(students: int, seed: int, year: SchoolYear) -> Municipality:
    """Draw the whole structure of the municipality for ``seed``."""
    rng = _rng(seed, 1)
    n_days = len(year.teaching_days)
    n_schools = max(1, round(students / PUPILS_PER_SCHOOL))
    stages = _school_stages(n_schools)
    sizes = _split(students, rng.lognormal(0.0, 0.45, n_schools))
    ses = rng.normal(0.0, 1.0, n_schools)
    schools = [
        School(
            index=i,
            uuid=uuid_of(seed, "school", i),
            unit_code=f"{int(rng.integers(10**7, 10**8)):08d}",
            name=f"{_SCHOOL_NAMES[i % len(_SCHOOL_NAMES)]}skolan"
            + (f" {i // len(_SCHOOL_NAMES) + 1}" if i >= len(_SCHOOL_NAMES) else ""),
            grades=stages[i],
            ses=float(ses[i]),
            unreported_rate=float(np.clip(rng.normal(0.07, 0.025), 0.02, 0.14)),
            late_report_rate=float(np.clip(rng.normal(0.04, 0.02), 0.0, 0.12)),
        )
        for i in range(n_schools)
    ]

    # --- pupils --------------------------------------------------------------------------
    grade_list: list[int] = []
    school_list: list[int] = []
    for school, size in zip(schools, sizes, strict=True):
        per_grade = _split(int(size), np.ones(len(school.grades)))
        for grade, count in zip(school.grades, per_grade, strict=True):
            grade_list += [grade] * int(count)
            school_list += [school.index] * int(count)
    grade = np.array(grade_list)
    school_of = np.array(school_list)
    n = len(grade)
    pupil_ses = 0.6 * ses[school_of] + 0.8 * rng.normal(size=n)
    education = 1 + np.searchsorted(np.array([-1.3, -0.2, 0.6]), pupil_ses + rng.normal(0, 0.4, n))
    migration_score = -0.9 * ses[school_of] + rng.normal(size=n)
    migration = np.searchsorted(np.array([0.95, 1.6]), migration_score)
    # Absence propensity: skewed, a tail of persistent absence and a few near-total absentees.
    log_rate = np.log(0.045) - 0.18 * pupil_ses + 0.12 * (grade >= 7) + rng.normal(0, 0.75, n)
    propensity = np.minimum(np.exp(log_rate), 0.6)
    kind = rng.random(n)
    propensity = np.where(kind < 0.025, rng.uniform(0.15, 0.45, n), propensity)
    propensity = np.where(kind > 0.995, rng.uniform(0.75, 0.95, n), propensity)

    ids = IdAllocator(_rng(seed, 2))
    sex = rng.integers(0, 2, n)
    birth_year = year.start_year - 6 - grade
    # Dirt is planted in exact counts (at least one of each) on randomly chosen pupils.
    order = rng.permutation(n)
    planted: dict[int, str] = {}
    cursor = 0
    for kind_name, share in (("coordination", COORDINATION_SHARE),
                             ("wrong_check_digit", WRONG_CHECK_DIGIT_SHARE),
                             ("interim", INTERIM_SHARE), ("missing", 0.0)):  # fmt: skip
        for p in order[cursor : cursor + max(1, round(share * n))]:
            planted[int(p)] = kind_name
        cursor += max(1, round(share * n))
    short = {int(p) for p in order[cursor : cursor + max(1, round(SHORT_FORM_SHARE * n))]}
    civic: list[IssuedId] = []
    written: list[str | None] = []
    for i in range(n):
        by = int(birth_year[i])
        dirt_kind = planted.get(i)
        if dirt_kind == "missing":
            issued = IssuedId(None, ids.person_number(by).birth_date, "missing")
        elif dirt_kind == "coordination":
            issued = ids.coordination_number(by)
        elif dirt_kind == "wrong_check_digit":
            issued = ids.wrong_check_digit(by)
        elif dirt_kind == "interim":
            issued = ids.interim_number(by)
        else:
            issued = ids.person_number(by)
        civic.append(issued)
        value = issued.value
        if value is not None and issued.kind == "test_pin" and i in short:
            value = f"{value[2:8]}-{value[8:]}"
        written.append(value)
    pupils = Pupils(
        uuid=[uuid_of(seed, "pupil", i) for i in range(n)],
        civic=civic,
        civic_written=written,
        given=[_GIVEN[int(x)] for x in rng.integers(len(_GIVEN), size=n)],
        family=[_FAMILY[int(x)] for x in rng.integers(len(_FAMILY), size=n)],
        sex=sex,
        grade=grade,
        school=school_of,
        ses=pupil_ses,
        parents_education=education,
        migration=migration,
        absence_propensity=propensity,
        protected=rng.random(n) < PROTECTED_IDENTITY_SHARE,
    )

    # --- classes and teaching groups -------------------------------------------------------
    groups: list[Group] = []
    class_of = np.full(n, -1)
    classes_by_grade: dict[tuple[int, int], list[int]] = {}

    def new_group(school: int, grade_: int, kind_: str, name: str) -> Group:
        group = Group(len(groups), uuid_of(seed, "group", len(groups)), school, grade_, kind_, name)
        groups.append(group)
        return group

    for school in schools:
        for g in school.grades:
            members = np.flatnonzero((school_of == school.index) & (grade == g))
            n_classes = max(1, math.ceil(len(members) / MAX_CLASS_SIZE))
            ids_in_grade = []
            for c, part in enumerate(np.array_split(members, n_classes)):
                label = "F" if g == 0 else str(g)
                group = new_group(school.index, g, "Klass", f"{label}{chr(65 + c)}")
                ids_in_grade.append(group.index)
                class_of[part] = group.index
                group.members = [(int(p), 0, n_days - 1) for p in part]
            classes_by_grade[(school.index, g)] = ids_in_grade

    # Movers: a class change within the school, or a school change, on a random day.
    enrolments: list[tuple[int, int, int, int]] = []
    moves = rng.random(n)
    for p in range(n):
        s, g = int(school_of[p]), int(grade[p])
        if n_days < 10 or moves[p] >= CLASS_CHANGE_SHARE + SCHOOL_CHANGE_SHARE:
            enrolments.append((p, s, 0, n_days - 1))
            continue
        day = int(rng.integers(5, n_days - 3))
        old = groups[int(class_of[p])]
        if moves[p] < CLASS_CHANGE_SHARE:
            targets = [c for c in classes_by_grade[(s, g)] if c != old.index]
            new_school = s
        else:
            others = [k for k in classes_by_grade if k[1] == g and k[0] != s]
            target_key = others[int(rng.integers(len(others)))] if others else (s, g)
            targets = [c for c in classes_by_grade[target_key] if c != old.index]
            new_school = target_key[0]
        if not targets:
            enrolments.append((p, s, 0, n_days - 1))
            continue
        new = groups[targets[int(rng.integers(len(targets)))]]
        old.members = [(q, a, day - 1) if q == p else (q, a, b) for q, a, b in old.members]
        new.members.append((p, day, n_days - 1))
        if new_school == s:
            enrolments.append((p, s, 0, n_days - 1))
        else:
            enrolments += [(p, s, 0, day - 1), (p, new_school, day, n_days - 1)]
    pupils.enrolments = enrolments

    # --- activities ------------------------------------------------------------------------
    activities: list[Activity] = []

    def new_activity(group: Group, course: Course, language: str | None = None) -> Activity:
        activity = Activity(
            index=len(activities),
            uuid=uuid_of(seed, "activity", len(activities)),
            school=group.school,
            group=group.index,
            grade=group.grade,
            subject=course.subject,
            language=language,
            lessons_per_week=course.lessons_per_week,
            minutes=course.minutes,
        )
        activities.append(activity)
        return activity

    language_choice = rng.random(n)
    for school in schools:
        for g in school.grades:
            class_ids = classes_by_grade[(school.index, g)]
            timetable = TIMETABLE[g]
            # Grade-wide language groups share a time; their slots are taken first.
            block_slots: list[tuple[int, int]] = []
            for course in timetable:
                if course.grouping != "language":
                    continue
                for k in range(course.lessons_per_week):
                    block_slots.append(((2 * k + 1) % 5, 5))
                bounds = np.cumsum([share for _, _, share in LANGUAGES])
                for li, (code, lang_name, _) in enumerate(LANGUAGES):
                    takers = [
                        m
                        for c in class_ids
                        for m in groups[c].members
                        if (li == 0 or language_choice[m[0]] >= bounds[li - 1])
                        and language_choice[m[0]] < bounds[li]
                    ]
                    if not takers:
                        continue
                    n_lang_groups = max(1, math.ceil(len({m[0] for m in takers}) / 24))
                    by_pupil = sorted({m[0] for m in takers})
                    for part_i, part in enumerate(np.array_split(np.array(by_pupil), n_lang_groups)):
                        keep = set(part.tolist())
                        label = f"{g}{lang_name[:3].upper()}{part_i + 1}"
                        group = new_group(school.index, g, "Undervisning", label)
                        group.members = [m for m in takers if m[0] in keep]
                        activity = new_activity(group, course, code)
                        activity.slots = list(block_slots[-course.lessons_per_week :])
            for class_index in class_ids:
                klass = groups[class_index]
                items: list[Activity] = []
                for course in timetable:
                    if course.grouping == "class":
                        items.append(new_activity(klass, course))
                    elif course.grouping == "half":
                        pupils_in = sorted({m[0] for m in klass.members})
                        halves = np.array_split(np.array(pupils_in, dtype=int), 2)
                        pair = []
                        for h, half in enumerate(halves):
                            keep = set(half.tolist())
                            group = new_group(
                                school.index, g, "Undervisning", f"{klass.name}{course.subject}{h + 1}"
                            )
                            group.members = [m for m in klass.members if m[0] in keep]
                            pair.append(new_activity(group, course))
                        items.append(pair[0])
                        pair[0].slots = []  # slots are filled below and copied to the pair
                        pair[1].slots = pair[0].slots
                _place_in_week(items, block_slots)

    # --- teachers --------------------------------------------------------------------------
    teachers: list[Teacher] = []
    principals: list[Teacher] = []
    trng = _rng(seed, 3)

    staff_numbers = itertools.count()

    def new_teacher(school: School, role: str, *, substitute: bool = False) -> Teacher:
        index = next(staff_numbers)
        novice = trng.random() < float(_sigmoid(NOVICE_BASE_LOGIT + NOVICE_SES_SLOPE * school.ses))
        if substitute:
            novice = trng.random() < 0.5
        experience = int(trng.integers(0, 3)) if novice else int(min(40, 3 + trng.gamma(2.0, 6.0)))
        new_here = trng.random() < NEW_TO_SCHOOL_SHARE
        at_school = 0 if new_here else int(min(experience, trng.geometric(1 / 6.0)))
        birth_year = year.start_year - 24 - experience - int(trng.integers(0, 9))
        sex_ = "Kvinna" if trng.random() < 0.74 else "Man"
        teacher = Teacher(
            index=index,
            person_uuid=uuid_of(seed, "staff", index),
            duty_uuid=uuid_of(seed, "duty", index),
            school=school.index,
            role=role,
            percent=int(trng.choice([100, 100, 100, 80, 75, 50])) if not substitute else 40,
            experience=experience,
            arrival_year=year.start_year - at_school,
            birth_year=birth_year,
            sex=sex_,
            civic=ids.person_number(birth_year),
            given=_GIVEN[int(trng.integers(len(_GIVEN)))],
            family=_FAMILY[int(trng.integers(len(_FAMILY)))],
            substitute=substitute,
        )
        teacher.leaves = trng.random() < float(
            _sigmoid(LEAVER_BASE_LOGIT + LEAVER_SES_SLOPE * school.ses)
        )
        return teacher

    for school in schools:
        school_acts = [a for a in activities if a.school == school.index]
        principal = new_teacher(school, "Rektor")
        principals.append(principal)
        families: dict[str, list[Activity]] = {}
        for activity in school_acts:
            key = teacher_family(activity.grade, activity.subject)
            if key == "class":
                key = f"class:{groups[activity.group].name}"
            families.setdefault(key, []).append(activity)
        for _key, acts in sorted(families.items()):
            load = 0
            current: Teacher | None = None
            for activity in acts:
                if current is None or load + activity.lessons_per_week > TEACHER_CAPACITY_LESSONS:
                    current = new_teacher(school, "Lärare")
                    teachers.append(current)
                    load = 0
                activity.teachers.append(Assignment(current.index, 0, n_days - 1))
                load += activity.lessons_per_week
        n_classes = sum(len(classes_by_grade[(school.index, g)]) for g in school.grades)
        specials = [
            new_teacher(school, "Speciallärare/specialpedagog")
            for _ in range(max(1, math.ceil(n_classes / SPECIAL_TEACHERS_PER_CLASSES)))
        ]
        teachers.extend(specials)
        for activity in school_acts:
            if activity.grade in range(1, 7) and activity.subject in ("SVE", "MA"):
                if trng.random() < TWO_TEACHER_ACTIVITY_SHARE:
                    special = specials[int(trng.integers(len(specials)))]
                    activity.teachers.append(Assignment(special.index, 0, n_days - 1))
        for _ in range(max(1, math.ceil(n_classes / SUBSTITUTES_PER_CLASSES))):
            teachers.append(new_teacher(school, "Lärare", substitute=True))

    # Mid-year leavers hand their activities to a newly arrived teacher.
    if n_days >= 10:
        for teacher in list(teachers):
            if teacher.substitute or trng.random() >= MID_YEAR_LEAVER_SHARE:
                continue
            day = int(trng.integers(5, n_days - 3))
            replacement = new_teacher(schools[teacher.school], teacher.role)
            spring = year.term_of(year.teaching_days[day]).code.startswith("VT")
            replacement.arrival_year = year.start_year + (1 if spring else 0)
            replacement.first_day = day
            teachers.append(replacement)
            teacher.leaves = True
            teacher.last_day = day - 1
            for activity in activities:
                for assignment in list(activity.teachers):
                    if assignment.teacher == teacher.index:
                        assignment.last_day = day - 1
                        activity.teachers.append(Assignment(replacement.index, day, n_days - 1))

    _plant_certification(teachers, activities, schools, n_days, trng)

    # --- pupil exceptions: adjusted schedules and extra groups -----------------------------
    prng = _rng(seed, 4)
    exceptions: list[tuple[int, int, bool, int | None]] = []
    acts_by_group: dict[int, list[Activity]] = {}
    for activity in activities:
        acts_by_group.setdefault(activity.group, []).append(activity)
    class_acts = {
        c: [a for a in acts_by_group.get(c, []) if a.subject != "FSK"] for c in set(class_of.tolist())
    }
    draw = prng.random(n)
    for p in range(n):
        own = class_acts.get(int(class_of[p]), [])
        if not own:
            continue
        if draw[p] < ADJUSTED_SCHEDULE_SHARE:
            activity = own[int(prng.integers(len(own)))]
            shortened = prng.random() < 0.5 and activity.minutes > 30
            exceptions.append((p, activity.index, shortened, 30 if shortened else None))
        elif draw[p] < ADJUSTED_SCHEDULE_SHARE + EXTRA_GROUP_SHARE:
            s, g = int(school_of[p]), int(grade[p])
            others = [c for c in classes_by_grade[(s, g)] if c != class_of[p]]
            if others:
                extra = [a for a in class_acts.get(others[0], []) if a.subject in ("MA", "SVE")]
                if extra:
                    exceptions.append((p, extra[0].index, True, None))

    grades9, merit = _grade_nine(pupils, propensity, prng)
    return Municipality(
        seed=seed,
        year=year,
        uuid=uuid_of(seed, "organiser", 0),
        municipality_code="2599",
        name="Exempelby kommun",
        schools=schools,
        pupils=pupils,
        groups=groups,
        activities=activities,
        teachers=teachers,
        principals=principals,
        pupil_exceptions=exceptions,
        grade9_grades=grades9,
        merit=merit,
    )


def _place_in_week(items: list[Activity], taken: list[tuple[int, int]]) -> None:
    """Spread a class's weekly lessons over the days, filling free slots from the morning."""
    used = set(taken)
    queue = [a for a in items for _ in range(a.lessons_per_week)]
    day = 0
    for activity in queue:
        for _attempt in range(5):
            free = [s for s in range(len(SLOT_STARTS)) if (day, s) not in used]
            if free:
                used.add((day, free[0]))
                activity.slots.append((day, free[0]))
                day = (day + 1) % 5
                break
            day = (day + 1) % 5


def _plant_certification(
    teachers: list[Teacher],
    activities: list[Activity],
    schools: list[School],
    n_days: int,
    rng: np.random.Generator,
) -> None:
    """Certify (teacher, subject, band) pairs so that the planted share of teaching minutes is
    taught by a teacher certified for it, unevenly: more in schools with a higher SES index.

    Each pair gets a score ``SES slope × school SES + logistic noise (+ experience)``; the
    highest-scoring pairs are certified until their weekly minutes reach the target share.
    This plants the share exactly, whatever the size of the municipality.
    """
    minutes: dict[tuple[int, str, str], float] = {}
    for activity in activities:
        band = grade_band(activity.grade)
        weight = activity.lessons_per_week * activity.minutes
        for assignment in activity.teachers:
            key = (assignment.teacher, activity.subject, band)
            share = (assignment.last_day - assignment.first_day + 1) / max(1, n_days)
            minutes[key] = minutes.get(key, 0.0) + weight * share
    by_index = {t.index: t for t in teachers}
    keys = sorted(minutes)
    noise = rng.logistic(size=len(keys))
    scores = np.array(
        [
            CERTIFICATION_SES_SLOPE * schools[by_index[t].school].ses
            + 0.08 * min(by_index[t].experience, 10)
            - (1.5 if by_index[t].substitute else 0.0)
            + noise[i]
            for i, (t, _, _) in enumerate(keys)
        ]
    )
    # Substitutes (rarely certified) take some lessons and a few run without their teacher,
    # so the assigned teachers must cover a little more than the target.
    target = CERTIFIED_TEACHING_TARGET / (1.0 - SUBSTITUTE_LOSS)
    total = sum(minutes.values())
    covered = 0.0
    for i in np.argsort(-scores, kind="stable"):
        if covered >= target * total:
            break
        key = keys[int(i)]
        by_index[key[0]].certified.add((key[1], key[2]))
        covered += minutes[key]
    for teacher in teachers:
        teacher.legitimated = bool(teacher.certified) or rng.random() < 0.45
        if teacher.substitute and not teacher.certified:
            teacher.legitimated = rng.random() < 0.2


_GRADE_POINTS = {"A": 20.0, "B": 17.5, "C": 15.0, "D": 12.5, "E": 10.0, "F": 0.0}
_GRADE9_SUBJECTS = ("SVE", "MA", "EN", "BI", "FY", "KE", "GE", "HI", "RE", "SH", "IDH", "MU",
                    "BL", "SL", "HKK", "TK")  # fmt: skip


def _grade_nine(
    pupils: Pupils, propensity: np.ndarray, rng: np.random.Generator
) -> tuple[dict[int, dict[str, str]], dict[int, float]]:
    """Final grades of grade-9 pupils and their merit value (the best 16 grades, plus a modern
    language when taken, at most 340), related to background and to absence."""
    grades: dict[int, dict[str, str]] = {}
    merit: dict[int, float] = {}
    letters = np.array(["F", "E", "D", "C", "B", "A"])
    for p in np.flatnonzero(pupils.grade == 9):
        ability = 0.55 * pupils.ses[p] - 6.0 * (propensity[p] - 0.06) + rng.normal(0, 0.8)
        subject_grades: dict[str, str] = {}
        for subject in _GRADE9_SUBJECTS:
            level = 2.9 + 1.1 * ability + rng.normal(0, 0.9)
            subject_grades[subject] = str(letters[int(np.clip(round(level), 0, 5))])
        if rng.random() < 0.8:
            level = 2.6 + 1.1 * ability + rng.normal(0, 0.9)
            subject_grades["M2"] = str(letters[int(np.clip(round(level), 0, 5))])
        points = sorted((_GRADE_POINTS[subject_grades[s]] for s in _GRADE9_SUBJECTS), reverse=True)
        value = sum(points[:16]) + _GRADE_POINTS.get(subject_grades.get("M2", "F"), 0.0)
        grades[int(p)] = subject_grades
        merit[int(p)] = float(min(value, 340.0))
    return grades, merit
