"""Subjects, weekly timetables per grade, and which teachers teach what.

The figures follow the Swedish compulsory school (grundskolan) in broad strokes: a
förskoleklass (grade 0), grades 1–9 with the subjects of the curriculum, subject blocks
(NO, SO) in the lower grades and separate subjects in grades 7–9, modern languages from grade 6,
and craft (slöjd) in half classes. Certification (behörighet) is per subject and grade band.
"""

from __future__ import annotations

from dataclasses import dataclass

SUBJECTS: dict[str, str] = {
    "FSK": "Förskoleklass",
    "SVE": "Svenska",
    "MA": "Matematik",
    "EN": "Engelska",
    "NO": "Naturorienterande ämnen",
    "SO": "Samhällsorienterande ämnen",
    "BI": "Biologi",
    "FY": "Fysik",
    "KE": "Kemi",
    "GE": "Geografi",
    "HI": "Historia",
    "RE": "Religionskunskap",
    "SH": "Samhällskunskap",
    "IDH": "Idrott och hälsa",
    "MU": "Musik",
    "BL": "Bild",
    "SL": "Slöjd",
    "HKK": "Hem- och konsumentkunskap",
    "TK": "Teknik",
    "M2": "Moderna språk",
}

# Modern languages offered, with their ISO 639 codes and the share of pupils choosing each;
# the rest take extra Swedish or English instead and have no lessons in that slot.
LANGUAGES: tuple[tuple[str, str, float], ...] = (
    ("spa", "spanska", 0.45),
    ("deu", "tyska", 0.20),
    ("fra", "franska", 0.15),
)


def grade_band(grade: int) -> str:
    """The certification band of a grade: ``F-3`` (incl. förskoleklass), ``4-6`` or ``7-9``."""
    if grade <= 3:
        return "F-3"
    if grade <= 6:
        return "4-6"
    return "7-9"


def school_type(grade: int) -> str:
    """The SS 12000 school type of a grade: förskoleklass or grundskola."""
    return "FKLASS" if grade == 0 else "GR"


@dataclass(frozen=True)
class Course:
    """One subject in a grade's weekly timetable.

    ``grouping``: ``class`` (the whole class), ``half`` (the class split in two groups taught at
    the same time by two teachers) or ``language`` (grade-wide language groups at one time).
    """

    subject: str
    lessons_per_week: int
    minutes: int
    grouping: str = "class"


_LOWER = (
    Course("SVE", 6, 60),
    Course("MA", 4, 60),
    Course("EN", 1, 40),
    Course("NO", 2, 60),
    Course("SO", 2, 60),
    Course("IDH", 2, 60),
    Course("MU", 1, 60),
    Course("BL", 1, 60),
    Course("SL", 1, 60, "half"),
    Course("TK", 1, 40),
)
_MIDDLE = (
    Course("SVE", 4, 60),
    Course("MA", 4, 60),
    Course("EN", 2, 60),
    Course("NO", 2, 60),
    Course("SO", 2, 60),
    Course("IDH", 2, 60),
    Course("MU", 1, 60),
    Course("BL", 1, 60),
    Course("SL", 2, 60, "half"),
    Course("TK", 1, 60),
)
_UPPER = (
    Course("SVE", 3, 60),
    Course("MA", 3, 60),
    Course("EN", 3, 60),
    Course("BI", 1, 60),
    Course("FY", 1, 60),
    Course("KE", 1, 60),
    Course("GE", 1, 60),
    Course("HI", 1, 60),
    Course("RE", 1, 60),
    Course("SH", 1, 60),
    Course("IDH", 2, 60),
    Course("MU", 1, 50),
    Course("BL", 1, 50),
    Course("SL", 1, 60, "half"),
    Course("HKK", 1, 60, "half"),
    Course("TK", 1, 50),
    Course("M2", 2, 60, "language"),
)

TIMETABLE: dict[int, tuple[Course, ...]] = {
    0: (Course("FSK", 15, 60),),
    1: _LOWER,
    2: _LOWER,
    3: _LOWER,
    4: _MIDDLE,
    5: _MIDDLE,
    6: (*_MIDDLE, Course("HKK", 1, 60, "half"), Course("M2", 2, 60, "language")),
    7: _UPPER,
    8: _UPPER,
    9: _UPPER,
}

# Start times of the day's lesson slots (minutes after midnight); lunch falls after slot 3.
SLOT_STARTS: tuple[int, ...] = (
    8 * 60 + 15,
    9 * 60 + 20,
    10 * 60 + 25,
    11 * 60 + 30,
    12 * 60 + 45,
    13 * 60 + 50,
    14 * 60 + 55,
)

# Who teaches what. Grades F–6 have a class teacher for the core subjects of their class;
# specialists teach the rest across the school. Grades 7–9 have subject teachers in families.
CLASS_TEACHER_SUBJECTS = frozenset({"FSK", "SVE", "MA", "EN", "NO", "SO", "TK"})
SPECIALIST_FAMILIES: dict[str, frozenset[str]] = {
    "IDH": frozenset({"IDH"}),
    "MU": frozenset({"MU"}),
    "BL": frozenset({"BL"}),
    "SL": frozenset({"SL"}),
    "HKK": frozenset({"HKK"}),
    "M2": frozenset({"M2"}),
}
UPPER_FAMILIES: dict[str, frozenset[str]] = {
    "MA/NO": frozenset({"MA", "BI", "FY", "KE", "TK"}),
    "SV/SO": frozenset({"SVE", "GE", "HI", "RE", "SH"}),
    "EN/M2": frozenset({"EN", "M2"}),
}
TEACHER_CAPACITY_LESSONS = 22  # lessons a week for a full-time teacher


def teacher_family(grade: int, subject: str) -> str:
    """The pool of teachers a lesson is staffed from (per school)."""
    if grade <= 6 and subject in CLASS_TEACHER_SUBJECTS:
        return "class"
    if grade >= 7:
        for family, subjects in UPPER_FAMILIES.items():
            if subject in subjects:
                return family
    for family, subjects in SPECIALIST_FAMILIES.items():
        if subject in subjects:
            return family
    raise ValueError(f"no teacher family for subject {subject!r} in grade {grade}")
