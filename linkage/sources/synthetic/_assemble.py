"""Drawing a municipality, step by step: schools, pupils and their identity numbers, classes,
movers, activities and their weekly slots, staff, mid-year leavers, certification, pupil
exceptions and grade-9 results. Each step is one method of ``_Assembler``; the random streams
are fixed per purpose, so the result is a function of the seed alone.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from linkage.sources.synthetic._calendar import SchoolYear
from linkage.sources.synthetic._curriculum import (
    LANGUAGES,
    TEACHER_CAPACITY_LESSONS,
    TIMETABLE,
    Course,
    teacher_family,
)
from linkage.sources.synthetic._ids import IdAllocator, IssuedId
from linkage.sources.synthetic._organisers import plant_organisers
from linkage.sources.synthetic._population import (
    ADJUSTED_SCHEDULE_SHARE,
    CLASS_CHANGE_SHARE,
    COORDINATION_SHARE,
    EXTRA_GROUP_SHARE,
    FAMILY_NAMES,
    GIVEN_NAMES,
    INTERIM_SHARE,
    LEAVER_BASE_LOGIT,
    LEAVER_SES_SLOPE,
    MAX_CLASS_SIZE,
    MID_YEAR_LEAVER_SHARE,
    NEW_TO_SCHOOL_SHARE,
    NOVICE_BASE_LOGIT,
    NOVICE_SES_SLOPE,
    PROTECTED_IDENTITY_SHARE,
    PUPILS_PER_SCHOOL,
    SCHOOL_CHANGE_SHARE,
    SCHOOL_NAMES,
    SHORT_FORM_SHARE,
    SPECIAL_TEACHERS_PER_CLASSES,
    SUBSTITUTES_PER_CLASSES,
    TWO_TEACHER_ACTIVITY_SHARE,
    WRONG_CHECK_DIGIT_SHARE,
    Activity,
    Assignment,
    Group,
    Municipality,
    Pupils,
    School,
    Teacher,
    grade_nine,
    plant_certification,
    rng_for,
    sigmoid,
)
from linkage.sources.synthetic._uuids import uuid_of, uuids_of

LANGUAGE_GROUP_SIZE = 24
LANGUAGE_SLOT = 5  # the grade-wide language block sits in the sixth slot of the day


def assemble_municipality(students: int, seed: int, year: SchoolYear) -> Municipality:
    """Draw the whole structure of the municipality for ``seed``."""
    assembler = _Assembler(seed, year)
    assembler.draw_schools(students)
    assembler.draw_pupils()
    assembler.form_classes()
    assembler.move_pupils()
    assembler.form_activities()
    assembler.staff_schools()
    assembler.replace_mid_year_leavers()
    plant_certification(
        assembler.teachers,
        assembler.activities,
        assembler.schools,
        assembler.n_days,
        assembler.staff_rng,
    )
    assembler.plant_pupil_exceptions()
    return assembler.finish()


def _split(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to ``weights`` that sum to ``total`` (largest remainder)."""
    raw = weights / weights.sum() * total
    out = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - out), kind="stable")[: total - out.sum()]:
        out[i] += 1
    return out


def _school_stages(n: int) -> list[tuple[int, ...]]:
    """Which grades each school has: F–9, F–6 or 7–9 schools in a fixed mix."""
    if n == 1:
        return [tuple(range(10))]
    f9, f6, u79 = tuple(range(10)), tuple(range(7)), tuple(range(7, 10))
    pattern = [f9, f6, u79, f6, f9, f6]
    return [pattern[i % len(pattern)] for i in range(n)]


def _place_in_week(items: list[Activity], taken: list[tuple[int, int]]) -> None:
    """Spread a class's weekly lessons over the days, filling free slots from the morning."""
    used = set(taken)
    queue = [a for a in items for _ in range(a.lessons_per_week)]
    day = 0
    for activity in queue:
        for _attempt in range(5):
            free = [s for s in range(7) if (day, s) not in used]
            day_now = day
            day = (day + 1) % 5
            if free:
                used.add((day_now, free[0]))
                activity.slots.append((day_now, free[0]))
                break


class _Assembler:
    def __init__(self, seed: int, year: SchoolYear) -> None:
        self.seed = seed
        self.year = year
        self.n_days = len(year.teaching_days)
        self.rng = rng_for(seed, 1)
        self.ids = IdAllocator(rng_for(seed, 2))
        self.staff_rng = rng_for(seed, 3)
        self.pupil_rng = rng_for(seed, 4)
        self.schools: list[School] = []
        self.sizes = np.zeros(0, dtype=int)
        self.groups: list[Group] = []
        self.activities: list[Activity] = []
        self.teachers: list[Teacher] = []
        self.principals: list[Teacher] = []
        self.classes_by_grade: dict[tuple[int, int], list[int]] = {}
        self.exceptions: list[tuple[int, int, bool, int | None]] = []
        self._staff_numbers = itertools.count()

    # --- schools and pupils ------------------------------------------------------------------
    def draw_schools(self, students: int) -> None:
        rng, n = self.rng, max(1, round(students / PUPILS_PER_SCHOOL))
        stages = _school_stages(n)
        self.sizes = _split(students, rng.lognormal(0.0, 0.45, n))
        ses = rng.normal(0.0, 1.0, n)
        for i in range(n):
            suffix = f" {i // len(SCHOOL_NAMES) + 1}" if i >= len(SCHOOL_NAMES) else ""
            self.schools.append(
                School(
                    index=i,
                    uuid=uuid_of(self.seed, "school", i),
                    unit_code=f"{int(rng.integers(10**7, 10**8)):08d}",
                    name=f"{SCHOOL_NAMES[i % len(SCHOOL_NAMES)]}skolan{suffix}",
                    grades=stages[i],
                    ses=float(ses[i]),
                    unreported_rate=float(np.clip(rng.normal(0.07, 0.025), 0.02, 0.14)),
                    late_report_rate=float(np.clip(rng.normal(0.04, 0.02), 0.0, 0.12)),
                )
            )

    def draw_pupils(self) -> None:
        rng = self.rng
        grade_list: list[int] = []
        school_list: list[int] = []
        for school, size in zip(self.schools, self.sizes, strict=True):
            per_grade = _split(int(size), np.ones(len(school.grades)))
            for g, count in zip(school.grades, per_grade, strict=True):
                grade_list += [g] * int(count)
                school_list += [school.index] * int(count)
        grade = np.array(grade_list)
        school_of = np.array(school_list)
        n = len(grade)
        school_ses = np.array([s.ses for s in self.schools])[school_of]
        pupil_ses = 0.6 * school_ses + 0.8 * rng.normal(size=n)
        education = 1 + np.searchsorted([-1.3, -0.2, 0.6], pupil_ses + rng.normal(0, 0.4, n))
        migration = np.searchsorted([0.95, 1.6], -0.9 * school_ses + rng.normal(size=n))
        # Absence propensity: skewed, a tail of persistent absence, a few near-total absentees.
        log_rate = np.log(0.045) - 0.18 * pupil_ses + 0.12 * (grade >= 7) + rng.normal(0, 0.75, n)
        propensity = np.minimum(np.exp(log_rate), 0.6)
        kind = rng.random(n)
        propensity = np.where(kind < 0.025, rng.uniform(0.15, 0.45, n), propensity)
        propensity = np.where(kind > 0.995, rng.uniform(0.75, 0.95, n), propensity)
        sex = rng.integers(0, 2, n)
        civic, written = self._issue_pupil_numbers(self.year.start_year - 6 - grade)
        self.pupils = Pupils(
            uuid=uuids_of(self.seed, "pupil", np.arange(n, dtype=np.uint64)).tolist(),
            civic=civic,
            civic_written=written,
            given=[GIVEN_NAMES[int(x)] for x in rng.integers(len(GIVEN_NAMES), size=n)],
            family=[FAMILY_NAMES[int(x)] for x in rng.integers(len(FAMILY_NAMES), size=n)],
            sex=sex,
            grade=grade,
            school=school_of,
            ses=pupil_ses,
            parents_education=education,
            migration=migration,
            absence_propensity=propensity,
            protected=rng.random(n) < PROTECTED_IDENTITY_SHARE,
        )

    def _issue_pupil_numbers(
        self, birth_year: np.ndarray
    ) -> tuple[list[IssuedId], list[str | None]]:
        """Identity numbers; dirt is planted in exact counts (at least one of each)."""
        n, ids = len(birth_year), self.ids
        order = self.rng.permutation(n)
        planted: dict[int, str] = {}
        cursor = 0
        for dirt, share in (
            ("coordination", COORDINATION_SHARE),
            ("wrong_check_digit", WRONG_CHECK_DIGIT_SHARE),
            ("interim", INTERIM_SHARE),
            ("missing", 0.0),
        ):
            count = max(1, round(share * n))
            planted.update({int(p): dirt for p in order[cursor : cursor + count]})
            cursor += count
        short = {int(p) for p in order[cursor : cursor + max(1, round(SHORT_FORM_SHARE * n))]}
        makers = {
            "coordination": ids.coordination_number,
            "wrong_check_digit": ids.wrong_check_digit,
            "interim": ids.interim_number,
        }
        civic: list[IssuedId] = []
        written: list[str | None] = []
        for i in range(n):
            by, dirt_kind = int(birth_year[i]), planted.get(i)
            if dirt_kind == "missing":
                issued = IssuedId(None, ids.person_number(by).birth_date, "missing")
            else:
                issued = makers.get(dirt_kind or "", ids.person_number)(by)
            civic.append(issued)
            value = issued.value
            if value is not None and issued.kind == "test_pin" and i in short:
                value = f"{value[2:8]}-{value[8:]}"
            written.append(value)
        return civic, written

    # --- classes, movers, activities -----------------------------------------------------------
    def _new_group(self, school: int, grade: int, kind: str, name: str) -> Group:
        index = len(self.groups)
        group = Group(index, uuid_of(self.seed, "group", index), school, grade, kind, name)
        self.groups.append(group)
        return group

    def form_classes(self) -> None:
        pupils = self.pupils
        self.class_of = np.full(len(pupils.uuid), -1)
        for school in self.schools:
            for g in school.grades:
                members = np.flatnonzero((pupils.school == school.index) & (pupils.grade == g))
                n_classes = max(1, math.ceil(len(members) / MAX_CLASS_SIZE))
                in_grade = []
                for c, part in enumerate(np.array_split(members, n_classes)):
                    label = f"{'F' if g == 0 else g}{chr(65 + c)}"
                    group = self._new_group(school.index, g, "Klass", label)
                    in_grade.append(group.index)
                    self.class_of[part] = group.index
                    group.members = [(int(p), 0, self.n_days - 1) for p in part]
                self.classes_by_grade[(school.index, g)] = in_grade

    def move_pupils(self) -> None:
        """Some pupils change class within their school, some change school, on a random day."""
        rng, n_days, pupils = self.rng, self.n_days, self.pupils
        moves = rng.random(len(pupils.uuid))
        self.movers: set[int] = set()
        for p in range(len(pupils.uuid)):
            s, g = int(pupils.school[p]), int(pupils.grade[p])
            whole_year = (p, s, 0, n_days - 1)
            if n_days < 10 or moves[p] >= CLASS_CHANGE_SHARE + SCHOOL_CHANGE_SHARE:
                pupils.enrolments.append(whole_year)
                continue
            day = int(rng.integers(5, n_days - 3))
            old = self.groups[int(self.class_of[p])]
            target_key = (s, g)
            if moves[p] >= CLASS_CHANGE_SHARE:
                others = [k for k in self.classes_by_grade if k[1] == g and k[0] != s]
                target_key = others[int(rng.integers(len(others)))] if others else (s, g)
            targets = [c for c in self.classes_by_grade[target_key] if c != old.index]
            if not targets:
                pupils.enrolments.append(whole_year)
                continue
            new = self.groups[targets[int(rng.integers(len(targets)))]]
            old.members = [(q, a, day - 1) if q == p else (q, a, b) for q, a, b in old.members]
            new.members.append((p, day, n_days - 1))
            self.movers.add(p)
            if target_key[0] == s:
                pupils.enrolments.append(whole_year)
            else:
                pupils.enrolments += [(p, s, 0, day - 1), (p, target_key[0], day, n_days - 1)]

    def _new_activity(self, group: Group, course: Course, language: str | None = None) -> Activity:
        index = len(self.activities)
        activity = Activity(
            index=index,
            uuid=uuid_of(self.seed, "activity", index),
            school=group.school,
            group=group.index,
            grade=group.grade,
            subject=course.subject,
            language=language,
            lessons_per_week=course.lessons_per_week,
            minutes=course.minutes,
        )
        self.activities.append(activity)
        return activity

    def form_activities(self) -> None:
        self.language_choice = self.rng.random(len(self.pupils.uuid))
        for school in self.schools:
            for g in school.grades:
                block_slots: list[tuple[int, int]] = []
                for course in TIMETABLE[g]:
                    if course.grouping == "language":
                        self._form_language_groups(school, g, course, block_slots)
                for class_index in self.classes_by_grade[(school.index, g)]:
                    self._form_class_activities(self.groups[class_index], block_slots)

    def _form_language_groups(
        self, school: School, grade: int, course: Course, block_slots: list[tuple[int, int]]
    ) -> None:
        """Grade-wide modern-language groups, all at the same time (their slots go first)."""
        slots = [((2 * k + 1) % 5, LANGUAGE_SLOT) for k in range(course.lessons_per_week)]
        block_slots += slots
        bounds = np.cumsum([share for _, _, share in LANGUAGES])
        lower = np.concatenate([[0.0], bounds[:-1]])
        classes = [self.groups[c] for c in self.classes_by_grade[(school.index, grade)]]
        for li, (code, language_name, _) in enumerate(LANGUAGES):
            takers = [
                mem
                for klass in classes
                for mem in klass.members
                if lower[li] <= self.language_choice[mem[0]] < bounds[li]
            ]
            pupils = sorted({mem[0] for mem in takers})
            if not pupils:
                continue
            parts = np.array_split(np.array(pupils), math.ceil(len(pupils) / LANGUAGE_GROUP_SIZE))
            for part_i, part in enumerate(parts):
                keep = set(part.tolist())
                label = f"{grade}{language_name[:3].upper()}{part_i + 1}"
                group = self._new_group(school.index, grade, "Undervisning", label)
                group.members = [mem for mem in takers if mem[0] in keep]
                self._new_activity(group, course, code).slots = list(slots)

    def _form_class_activities(self, klass: Group, block_slots: list[tuple[int, int]]) -> None:
        items: list[Activity] = []
        for course in TIMETABLE[klass.grade]:
            if course.grouping == "class":
                items.append(self._new_activity(klass, course))
            elif course.grouping == "half":
                # Two half-class groups taught at the same time by two teachers.
                pupils_in = sorted({mem[0] for mem in klass.members})
                pair = []
                for h, half in enumerate(np.array_split(np.array(pupils_in, dtype=int), 2)):
                    keep = set(half.tolist())
                    name = f"{klass.name}{course.subject}{h + 1}"
                    group = self._new_group(klass.school, klass.grade, "Undervisning", name)
                    group.members = [mem for mem in klass.members if mem[0] in keep]
                    pair.append(self._new_activity(group, course))
                pair[1].slots = pair[0].slots  # one list: the pair shares its slots
                items.append(pair[0])
        _place_in_week(items, block_slots)

    # --- staff ---------------------------------------------------------------------------------
    def _new_teacher(self, school: School, role: str, *, substitute: bool = False) -> Teacher:
        rng, start = self.staff_rng, self.year.start_year
        index = next(self._staff_numbers)
        novice = rng.random() < float(sigmoid(NOVICE_BASE_LOGIT + NOVICE_SES_SLOPE * school.ses))
        if substitute:
            novice = rng.random() < 0.5
        experience = int(rng.integers(0, 3)) if novice else int(min(40, 3 + rng.gamma(2.0, 6.0)))
        new_here = rng.random() < NEW_TO_SCHOOL_SHARE
        at_school = 0 if new_here else int(min(experience, rng.geometric(1 / 6.0)))
        birth_year = start - 24 - experience - int(rng.integers(0, 9))
        teacher = Teacher(
            index=index,
            person_uuid=uuid_of(self.seed, "staff", index),
            duty_uuid=uuid_of(self.seed, "duty", index),
            school=school.index,
            role=role,
            percent=40 if substitute else int(rng.choice([100, 100, 100, 80, 75, 50])),
            experience=experience,
            arrival_year=start - at_school,
            birth_year=birth_year,
            sex="Kvinna" if rng.random() < 0.74 else "Man",
            civic=self.ids.person_number(birth_year),
            given=GIVEN_NAMES[int(rng.integers(len(GIVEN_NAMES)))],
            family=FAMILY_NAMES[int(rng.integers(len(FAMILY_NAMES)))],
            substitute=substitute,
        )
        leave_p = float(sigmoid(LEAVER_BASE_LOGIT + LEAVER_SES_SLOPE * school.ses))
        teacher.leaves = bool(rng.random() < leave_p)
        return teacher

    def staff_schools(self) -> None:
        """A principal, teachers packed by subject family up to a full load, special teachers
        (some as a second teacher in core subjects) and substitutes on call, per school."""
        whole_year = (0, self.n_days - 1)
        by_school: dict[int, list[Activity]] = {}
        for activity in self.activities:
            by_school.setdefault(activity.school, []).append(activity)
        for school in self.schools:
            acts = by_school.get(school.index, [])
            self.principals.append(self._new_teacher(school, "Rektor"))
            families: dict[str, list[Activity]] = {}
            for activity in acts:
                key = teacher_family(activity.grade, activity.subject)
                if key == "class":
                    key = f"class:{self.groups[activity.group].name}"
                families.setdefault(key, []).append(activity)
            for _key, family in sorted(families.items()):
                load, current = 0, None
                for activity in family:
                    if (
                        current is None
                        or load + activity.lessons_per_week > TEACHER_CAPACITY_LESSONS
                    ):
                        current = self._new_teacher(school, "Lärare")
                        self.teachers.append(current)
                        load = 0
                    activity.teachers.append(Assignment(current.index, *whole_year))
                    load += activity.lessons_per_week
            n_classes = sum(len(self.classes_by_grade[(school.index, g)]) for g in school.grades)
            specials = [
                self._new_teacher(school, "Speciallärare/specialpedagog")
                for _ in range(math.ceil(n_classes / SPECIAL_TEACHERS_PER_CLASSES))
            ]
            self.teachers += specials
            for activity in acts:
                core = activity.grade in range(1, 7) and activity.subject in ("SVE", "MA")
                if core and self.staff_rng.random() < TWO_TEACHER_ACTIVITY_SHARE:
                    special = specials[int(self.staff_rng.integers(len(specials)))]
                    activity.teachers.append(Assignment(special.index, *whole_year))
            for _ in range(math.ceil(n_classes / SUBSTITUTES_PER_CLASSES)):
                self.teachers.append(self._new_teacher(school, "Lärare", substitute=True))

    def replace_mid_year_leavers(self) -> None:
        """Some teachers leave during the year and hand their activities to a new teacher."""
        n_days, rng, year = self.n_days, self.staff_rng, self.year
        if n_days < 10:
            return
        taught: dict[int, list[tuple[Activity, Assignment]]] = {}
        for activity in self.activities:
            for assignment in activity.teachers:
                taught.setdefault(assignment.teacher, []).append((activity, assignment))
        for teacher in list(self.teachers):
            if teacher.substitute or rng.random() >= MID_YEAR_LEAVER_SHARE:
                continue
            day = int(rng.integers(5, n_days - 3))
            replacement = self._new_teacher(self.schools[teacher.school], teacher.role)
            spring = year.term_of(year.teaching_days[day]).code.startswith("VT")
            replacement.arrival_year = year.start_year + (1 if spring else 0)
            replacement.first_day = day
            self.teachers.append(replacement)
            teacher.leaves, teacher.last_day = True, day - 1
            for activity, assignment in taught.get(teacher.index, []):
                assignment.last_day = day - 1
                activity.teachers.append(Assignment(replacement.index, day, n_days - 1))

    # --- pupil exceptions and results -------------------------------------------------------------
    def plant_pupil_exceptions(self) -> None:
        """Adjusted schedules (excused from, or a shortened, subject) and pupils who also join
        another class's lessons. Pupils who move during the year get neither."""
        rng, pupils = self.pupil_rng, self.pupils
        by_group: dict[int, list[Activity]] = {}
        for activity in self.activities:
            if activity.subject != "FSK":
                by_group.setdefault(activity.group, []).append(activity)
        draw = rng.random(len(pupils.uuid))
        for p in range(len(pupils.uuid)):
            own = by_group.get(int(self.class_of[p]), [])
            if not own or p in self.movers:
                continue
            if draw[p] < ADJUSTED_SCHEDULE_SHARE:
                activity = own[int(rng.integers(len(own)))]
                shortened = bool(rng.random() < 0.5) and activity.minutes > 30
                self.exceptions.append((p, activity.index, shortened, 30 if shortened else None))
            elif draw[p] < ADJUSTED_SCHEDULE_SHARE + EXTRA_GROUP_SHARE:
                key = (int(pupils.school[p]), int(pupils.grade[p]))
                others = [c for c in self.classes_by_grade[key] if c != self.class_of[p]]
                extra = (
                    [a for a in by_group.get(others[0], []) if a.subject in ("MA", "SVE")]
                    if others
                    else []
                )
                if extra:
                    self.exceptions.append((p, extra[0].index, True, None))

    def finish(self) -> Municipality:
        grades9, merit = grade_nine(self.pupils, self.pupil_rng)
        organisers = plant_organisers(self.seed, "2599", "Exempelby kommun", self.schools)
        return Municipality(
            seed=self.seed,
            year=self.year,
            uuid=organisers[0].uuid,
            municipality_code="2599",
            name=organisers[0].name,
            schools=self.schools,
            pupils=self.pupils,
            groups=self.groups,
            activities=self.activities,
            teachers=self.teachers,
            principals=self.principals,
            pupil_exceptions=self.exceptions,
            grade9_grades=grades9,
            merit=merit,
            organisers=organisers,
        )
