"""The people and structure of a synthetic municipality: schools, pupils, classes, teaching
groups, teachers with their certification, and the activities they teach.

Everything here is drawn once per seed and is small (one row per person or activity); the
lessons and attendance, which grow with pupils × lessons, are drawn chunk by chunk in
``_lessons``. The planted parameters are named constants so ``truth.json`` can report them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from linkage.sources.synthetic._calendar import SchoolYear
from linkage.sources.synthetic._curriculum import (
    grade_band,
)
from linkage.sources.synthetic._ids import IssuedId

# --- planted parameters -------------------------------------------------------------------
PUPILS_PER_SCHOOL = 350
MAX_CLASS_SIZE = 28
CERTIFIED_TEACHING_TARGET = 0.708  # Skolverket: share of teaching by certified teachers, GR
CERTIFICATION_SES_SLOPE = 0.9  # how strongly certification follows the school's SES index
NOVICE_BASE_LOGIT = -1.9  # P(novice, < 3 years) ≈ 13 % at an average school
NOVICE_SES_SLOPE = -0.6  # more novices where pupils are poorer
LEAVER_BASE_LOGIT = -1.75  # P(leaves the school by next year) ≈ 15 %
LEAVER_SES_SLOPE = -0.4
MID_YEAR_LEAVER_SHARE = 0.04  # of teachers: leave during the year and are replaced
NEW_TO_SCHOOL_SHARE = 0.10  # besides novices in their first year and mid-year replacements
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

GIVEN_NAMES = (
    "Alva",
    "Elsa",
    "Maja",
    "Saga",
    "Ella",
    "Vera",
    "Alice",
    "Selma",
    "Astrid",
    "Ebba",
    "William",
    "Noah",
    "Hugo",
    "Lucas",
    "Liam",
    "Adam",
    "Elias",
    "Oliver",
    "Ali",
    "Omar",
    "Nora",
    "Leah",
    "Amira",
    "Emil",
    "Ludvig",
    "Sara",
    "Yusuf",
    "Ida",
    "Theo",
    "Frida",
)
FAMILY_NAMES = (
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Eriksson",
    "Larsson",
    "Olsson",
    "Persson",
    "Svensson",
    "Gustafsson",
    "Ahmed",
    "Hassan",
    "Lindberg",
    "Berg",
    "Nguyen",
    "Lindqvist",
    "Holm",
    "Mohammed",
    "Ek",
    "Sandberg",
)
SCHOOL_NAMES = (
    "Björk",
    "Ekbacka",
    "Lind",
    "Sjöstrand",
    "Hagby",
    "Norrgården",
    "Solberga",
    "Kvarn",
    "Ängsvik",
    "Tallhöjd",
    "Rönn",
    "Aspnäs",
    "Granlunda",
    "Mosstorp",
)


def sigmoid(x: np.ndarray | float) -> np.ndarray:
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
    organiser: int = 0  # index into Municipality.organisers


@dataclass(frozen=True)
class Organiser:
    """A school organiser (huvudman): the municipality itself, or an independent or state one.
    ``organiser_type`` is what medler derives from ``organisation_number``."""

    uuid: str
    name: str
    organisation_number: str  # NNNNNN-NNNN, with its Luhn check digit
    organiser_type: str


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
    migration: (
        np.ndarray
    )  # 0 Swedish background, 1 born in Sweden to two foreign-born, 2 foreign-born
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
    organisers: list[Organiser] = field(default_factory=list)  # the first is the municipality

    def day(self, index: int) -> dt.date:
        return self.year.teaching_days[index]


def rng_for(seed: int, *stream: int) -> np.random.Generator:
    """The random stream of one purpose (``stream``) for ``seed``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, *stream])))


def plant_certification(
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
_GRADE9_SUBJECTS = (
    "SVE",
    "MA",
    "EN",
    "BI",
    "FY",
    "KE",
    "GE",
    "HI",
    "RE",
    "SH",
    "IDH",
    "MU",
    "BL",
    "SL",
    "HKK",
    "TK",
)


def grade_nine(
    pupils: Pupils, rng: np.random.Generator
) -> tuple[dict[int, dict[str, str]], dict[int, float]]:
    """Final grades of grade-9 pupils and their merit value (the best 16 grades, plus a modern
    language when taken, at most 340), related to background and to absence."""
    grades: dict[int, dict[str, str]] = {}
    merit: dict[int, float] = {}
    letters = np.array(["F", "E", "D", "C", "B", "A"])
    for p in np.flatnonzero(pupils.grade == 9):
        ability = (
            0.55 * pupils.ses[p] - 6.0 * (pupils.absence_propensity[p] - 0.06) + rng.normal(0, 0.8)
        )
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
