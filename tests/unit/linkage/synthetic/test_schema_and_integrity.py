"""Every generated record validates against the official SS 12000 v2.1 schema, every page is a
well-formed list response, and every reference points at an object that exists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from linkage.sources.synthetic import SS12000_RESOURCES, SynthSummary
from tests.conftest import shared_path
from tests.unit.linkage.synthetic.conftest import read_pages, records

SPEC = "standards/ss12000/openapi_ss12000_version2_1_0.yaml"


@pytest.fixture(scope="module")
def components() -> dict:
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load(shared_path(SPEC).read_text(encoding="utf-8"))["components"]


def _validator(components: dict, schema: str):
    from openapi_schema_validator import OAS30ReadValidator, oas30_format_checker

    return OAS30ReadValidator(
        {"components": components, "$ref": f"#/components/schemas/{schema}"},
        format_checker=oas30_format_checker,
    )


@pytest.mark.parametrize("resource", list(SS12000_RESOURCES))
def test_every_page_validates_against_the_official_schema(
    tiny: SynthSummary, components: dict, resource: str
) -> None:
    validator = _validator(components, SS12000_RESOURCES[resource])
    pages = read_pages(tiny.out, resource)
    assert pages, f"no pages written for {resource}"
    problems = [
        f"{resource} page {i + 1} {list(error.absolute_path)[:4]}: {error.message}"
        for i, page in enumerate(pages)
        for error in validator.iter_errors(page)
    ]
    assert problems == []
    assert sum(len(p["data"]) for p in pages) == tiny.records[resource]


def test_the_validator_rejects_a_broken_record(components: dict) -> None:
    """The schema check above can fail: a record missing required fields is caught."""
    broken = {"data": [{"id": "not-a-uuid", "meta": {}, "calendarEvent": {"id": "x"}}]}
    messages = {e.message for e in _validator(components, "Attendances").iter_errors(broken)}
    assert "'isReported' is a required property" in messages
    assert "'not-a-uuid' is not a 'uuid'" in messages


@pytest.mark.parametrize("resource", list(SS12000_RESOURCES))
def test_page_tokens_chain_every_page_in_order(tiny: SynthSummary, resource: str) -> None:
    files = sorted((tiny.out / "ss12000" / resource).glob("page-*.json"))
    tokens = [json.loads(f.read_text(encoding="utf-8"))["pageToken"] for f in files]
    assert tokens[-1] is None
    assert tokens[:-1] == [f.stem for f in files[1:]]


def _ids(out: Path, resource: str) -> set[str]:
    return {r["id"] for r in records(out, resource)}


def test_every_reference_points_at_an_existing_object(tiny: SynthSummary) -> None:
    out = tiny.out
    orgs, persons = _ids(out, "organisations"), _ids(out, "persons")
    duties, groups = _ids(out, "duties"), _ids(out, "groups")
    syllabuses, activities = _ids(out, "syllabuses"), _ids(out, "activities")
    lessons = _ids(out, "calendarEvents")
    missing: list[str] = []

    def check(kind: str, ref: str, pool: set[str]) -> None:
        if ref not in pool:
            missing.append(f"{kind} -> {ref}")

    for o in records(out, "organisations"):
        if "parentOrganisation" in o:
            check("organisation.parent", o["parentOrganisation"]["id"], orgs)
    for p in records(out, "persons"):
        for e in p.get("enrolments", []):
            check("enrolment", e["enroledAt"]["id"], orgs)
    for d in records(out, "duties"):
        check("duty.person", d["person"]["id"], persons)
        check("duty.dutyAt", d["dutyAt"]["id"], orgs)
    for g in records(out, "groups"):
        check("group.organisation", g["organisation"]["id"], orgs)
        for m in g["groupMemberships"]:
            check("membership", m["person"]["id"], persons)
    for a in records(out, "activities"):
        check("activity.organisation", a["organisation"]["id"], orgs)
        check("activity.syllabus", a["syllabus"]["id"], syllabuses)
        for g in a["groups"]:
            check("activity.group", g["id"], groups)
        for t in a["teachers"]:
            check("activity.teacher", t["duty"]["id"], duties)
    for e in records(out, "calendarEvents"):
        check("lesson.activity", e["activity"]["id"], activities)
        for x in e.get("studentExceptions", []):
            check("lesson.studentException", x["student"]["id"], persons)
        for x in e.get("teacherExceptions", []):
            check("lesson.teacherException", x["duty"]["id"], duties)
    for r in records(out, "attendances"):
        check("attendance.calendarEvent", r["calendarEvent"]["id"], lessons)
        check("attendance.student", r["student"]["id"], persons)
    for r in records(out, "absences"):
        check("absence.student", r["student"]["id"], persons)
        check("absence.organisation", r["organisation"]["id"], orgs)
    assert missing == []


def test_identifiers_are_unique_within_each_resource(tiny: SynthSummary) -> None:
    for resource in SS12000_RESOURCES:
        ids = [r["id"] for r in records(tiny.out, resource)]
        assert len(ids) == len(set(ids)), resource


def test_attendance_minutes_add_up_to_the_lesson(tiny: SynthSummary) -> None:
    lessons = {e["id"]: e for e in records(tiny.out, "calendarEvents")}
    for r in records(tiny.out, "attendances"):
        lesson = lessons[r["calendarEvent"]["id"]]
        assert not lesson["cancelled"], "cancelled lessons have no attendance"
        if not r["isReported"]:
            assert "attendanceMinutes" not in r
            continue
        total = (
            r["attendanceMinutes"]
            + r["validAbsenceMinutes"]
            + r["invalidAbsenceMinutes"]
            + r["otherAttendanceMinutes"]
        )
        assert 0 < total <= 80
        assert (
            min(
                r["attendanceMinutes"],
                r["validAbsenceMinutes"],
                r["invalidAbsenceMinutes"],
                r["otherAttendanceMinutes"],
            )
            >= 0
        )
