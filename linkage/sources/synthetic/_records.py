"""SS 12000 v2.1 records for the small resources (one per school, person, group, activity…)
and the two register files, as a school system and the registers would deliver them: with
names, e-mail addresses and signatures that ingestion must drop."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from linkage.sources.synthetic._curriculum import LANGUAGES, SUBJECTS, school_type
from linkage.sources.synthetic._population import Municipality, Teacher
from linkage.sources.synthetic._uuids import uuid_of


def _meta(m: Municipality) -> dict[str, str]:
    stamp = f"{m.year.first_day.replace(day=1, month=6):%Y-%m-%d}T10:00:00+02:00"
    return {"created": stamp, "modified": stamp}


def _date(m: Municipality, day_index: int) -> str:
    return f"{m.day(day_index):%Y-%m-%d}"


def _end_date(m: Municipality, day_index: int) -> str:
    """The end of a dated relation: its last teaching day, or the end of the school year."""
    if day_index >= len(m.year.teaching_days) - 1:
        return f"{m.year.last_day:%Y-%m-%d}"
    return _date(m, day_index)


def _syllabus_key(subject: str, grade: int, language: str | None) -> tuple[str, str, str | None]:
    return (subject, school_type(grade), language)


def syllabus_uuids(m: Municipality) -> dict[tuple[str, str, str | None], str]:
    keys = sorted(
        {_syllabus_key(a.subject, a.grade, a.language) for a in m.activities},
        key=lambda k: (k[0], k[1], k[2] or ""),
    )
    return {key: uuid_of(m.seed, "syllabus", i) for i, key in enumerate(keys)}


def organisations(m: Municipality) -> Iterator[dict[str, Any]]:
    """The organisers (``Huvudman``, with their organisation numbers), then the school units,
    each naming its organiser as ``parentOrganisation``."""
    for organiser in m.organisers:
        yield {
            "id": organiser.uuid,
            "meta": _meta(m),
            "displayName": organiser.name,
            "organisationType": "Huvudman",
            "organisationNumber": organiser.organisation_number,
            "municipalityCode": m.municipality_code,
            "startDate": "1971-01-01",
        }
    for school in m.schools:
        types = (["FKLASS"] if 0 in school.grades else []) + (
            ["GR"] if any(g > 0 for g in school.grades) else []
        )
        yield {
            "id": school.uuid,
            "meta": _meta(m),
            "displayName": school.name,
            "organisationType": "Skolenhet",
            "schoolUnitCode": school.unit_code,
            "schoolTypes": types,
            "municipalityCode": m.municipality_code,
            "parentOrganisation": {"id": m.organisers[school.organiser].uuid},
            "email": f"{school.name.split()[0].lower()}@exempelby.se",
            "startDate": "2001-07-01",
        }


def _person(
    m: Municipality,
    uuid: str,
    given: str,
    family: str,
    sex: str,
    civic: str | None,
    birth: str,
    protected: bool,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": uuid,
        "meta": _meta(m),
        "givenName": given,
        "familyName": family,
        "sex": sex,
        "birthDate": birth,
        "securityMarking": "Skyddad folkbokföring" if protected else "Ingen",
        "personStatus": "Aktiv",
    }
    if civic is not None:
        record["civicNo"] = {"value": civic, "nationality": "SE"}
    return record


def persons(m: Municipality) -> Iterator[dict[str, Any]]:
    pupils = m.pupils
    enrolments: dict[int, list[tuple[int, int, int]]] = {}
    for p, school, first, last in pupils.enrolments:
        enrolments.setdefault(p, []).append((school, first, last))
    for p in range(len(pupils.uuid)):
        grade = int(pupils.grade[p])
        record = _person(
            m,
            pupils.uuid[p],
            pupils.given[p],
            pupils.family[p],
            "Kvinna" if pupils.sex[p] == 0 else "Man",
            pupils.civic_written[p],
            f"{pupils.civic[p].birth_date:%Y-%m-%d}",
            bool(pupils.protected[p]),
        )
        record["emails"] = [{"value": f"elev{p}@skola.exempelby.se", "type": "Skola elev"}]
        record["eduPersonPrincipalNames"] = [f"elev{p}@exempelby.se"]
        record["enrolments"] = [
            {
                "enroledAt": {"id": m.schools[school].uuid},
                "schoolType": school_type(grade),
                "schoolYear": grade,
                "startDate": _date(m, first) if first > 0 else f"{m.year.first_day:%Y-%m-%d}",
                "endDate": _end_date(m, last),
                "cancelled": False,
            }
            for school, first, last in enrolments.get(p, [])
        ]
        yield record
    for t in [*m.principals, *m.teachers]:
        record = _person(
            m,
            t.person_uuid,
            t.given,
            t.family,
            t.sex,
            t.civic.value,
            f"{t.civic.birth_date:%Y-%m-%d}",
            False,
        )
        record["emails"] = [
            {"value": f"{t.given.lower()}.{t.index}@exempelby.se", "type": "Skola personal"}
        ]
        yield record


def _duty(m: Municipality, t: Teacher) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": t.duty_uuid,
        "meta": _meta(m),
        "person": {"id": t.person_uuid},
        "dutyAt": {"id": m.schools[t.school].uuid},
        "dutyRole": t.role,
        "dutyPercent": t.percent,
        "signature": f"{t.given[:2]}{t.family[:1]}".upper() + str(t.index),
        "startDate": f"{t.arrival_year}-08-01" if t.first_day == 0 else _date(m, t.first_day),
    }
    if t.leaves:
        record["endDate"] = _end_date(m, t.last_day) if t.last_day < 10**9 else f"{m.year.last_day}"
    if t.substitute:
        record["description"] = "Vikarie"
    return record


def duties(m: Municipality) -> Iterator[dict[str, Any]]:
    for t in [*m.principals, *m.teachers]:
        yield _duty(m, t)


def groups(m: Municipality) -> Iterator[dict[str, Any]]:
    for g in m.groups:
        yield {
            "id": g.uuid,
            "meta": _meta(m),
            "displayName": g.name,
            "groupType": g.kind,
            "schoolType": school_type(g.grade),
            "organisation": {"id": m.schools[g.school].uuid},
            "startDate": f"{m.year.first_day:%Y-%m-%d}",
            "endDate": f"{m.year.last_day:%Y-%m-%d}",
            "groupMemberships": [
                {
                    "person": {"id": m.pupils.uuid[p]},
                    "startDate": _date(m, first) if first > 0 else f"{m.year.first_day:%Y-%m-%d}",
                    "endDate": _end_date(m, last),
                }
                for p, first, last in g.members
            ],
        }


def syllabuses(m: Municipality) -> Iterator[dict[str, Any]]:
    languages = {code: name for code, name, _ in LANGUAGES}
    for (subject, stype, language), uuid in syllabus_uuids(m).items():
        record: dict[str, Any] = {
            "id": uuid,
            "meta": _meta(m),
            "schoolType": stype,
            "subjectCode": subject,
            "subjectName": SUBJECTS[subject] + (f", {languages[language]}" if language else ""),
            "official": subject != "FSK",
        }
        if subject != "FSK":
            record["curriculum"] = "GR2011"
        if language:
            record["languageCode"] = language
        yield record


def activities(m: Municipality) -> Iterator[dict[str, Any]]:
    syllabus = syllabus_uuids(m)
    weeks = m.year.n_weeks
    duty_of = {t.index: t.duty_uuid for t in m.teachers}
    for a in m.activities:
        teachers = []
        for x in a.teachers:
            entry: dict[str, Any] = {"duty": {"id": duty_of[x.teacher]}}
            if x.first_day > 0:
                entry["startDate"] = _date(m, x.first_day)
            if x.last_day < len(m.year.teaching_days) - 1:
                entry["endDate"] = _date(m, x.last_day)
            teachers.append(entry)
        yield {
            "id": a.uuid,
            "meta": _meta(m),
            "displayName": f"{m.groups[a.group].name} {a.subject}",
            "calendarEventsRequired": True,
            "startDate": f"{m.year.first_day:%Y-%m-%d}",
            "endDate": f"{m.year.last_day:%Y-%m-%d}",
            "activityType": "Undervisning",
            "minutesPlanned": a.lessons_per_week * a.minutes * weeks,
            "groups": [{"id": m.groups[a.group].uuid}],
            "teachers": teachers,
            "syllabus": {"id": syllabus[_syllabus_key(a.subject, a.grade, a.language)]},
            "organisation": {"id": m.schools[a.school].uuid},
        }


TEACHER_REGISTER_COLUMNS = (
    "civic_no",
    "school_unit_code",
    "legitimated",
    "certified_in",
    "experience_years",
    "arrival_year",
)
STUDENT_REGISTER_COLUMNS = (
    "civic_no",
    "parents_education",
    "migration_background",
    "merit_value",
    *(
        f"grade_{s}"
        for s in (
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
            "M2",
        )
    ),
)
_EDUCATION = {1: "forgymnasial", 2: "gymnasial", 3: "eftergymnasial_kort", 4: "eftergymnasial_lang"}
_MIGRATION = {0: "svensk_bakgrund", 1: "fodd_i_sverige_utlandska_foraldrar", 2: "utrikes_fodd"}


def teacher_register_csv(m: Municipality) -> str:
    """The teacher register: one row per teacher, certification as ``SUBJECT:BAND`` pairs."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(TEACHER_REGISTER_COLUMNS)
    for t in m.teachers:
        writer.writerow(
            [
                t.civic.value,
                m.schools[t.school].unit_code,
                "ja" if t.legitimated else "nej",
                ";".join(f"{s}:{b}" for s, b in sorted(t.certified)),
                t.experience,
                t.arrival_year,
            ]
        )
    return out.getvalue()


def student_register_csv(m: Municipality) -> str:
    """The student register: background for every pupil; final grades and merit in grade 9."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(STUDENT_REGISTER_COLUMNS)
    pupils = m.pupils
    for p in range(len(pupils.uuid)):
        civic = pupils.civic[p].value
        if civic is None:
            continue  # the register is keyed by identity number: no number, no row
        grades = m.grade9_grades.get(p, {})
        merit = m.merit.get(p)
        writer.writerow(
            [
                civic,
                _EDUCATION[int(pupils.parents_education[p])],
                _MIGRATION[int(pupils.migration[p])],
                "" if merit is None else f"{merit:.1f}",
                *(grades.get(c.removeprefix("grade_"), "") for c in STUDENT_REGISTER_COLUMNS[4:]),
            ]
        )
    return out.getvalue()
