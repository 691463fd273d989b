"""Fuzzing ingestion: random and mutated records never crash it, and no record is lost."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linkage import ingest_extract
from linkage.sources.ss12000 import RESOURCES
from pseudonymise import create_key_file

SCHOOL = "0b4d4c4e-0000-4000-8000-000000000001"
PUPIL = "0b4d4c4e-0000-4000-8000-000000000002"
STAFF = "0b4d4c4e-0000-4000-8000-000000000003"
META = {"created": "2026-06-01T10:00:00+02:00", "modified": "2026-06-01T10:00:00+02:00"}


def _valid() -> dict[str, list[dict[str, Any]]]:
    """One object of each resource, all valid and connected."""
    return {
        "organisations": [
            {
                "id": SCHOOL,
                "meta": META,
                "displayName": "S",
                "organisationType": "Skolenhet",
                "schoolUnitCode": "12345678",
            }
        ],
        "persons": [
            {
                "id": PUPIL,
                "meta": META,
                "givenName": "A",
                "familyName": "B",
                "civicNo": {"value": "201501019808"},
                "enrolments": [
                    {
                        "enroledAt": {"id": SCHOOL},
                        "schoolType": "GR",
                        "schoolYear": 5,
                        "startDate": "2026-08-17",
                    }
                ],
            },
            {
                "id": STAFF,
                "meta": META,
                "givenName": "C",
                "familyName": "D",
                "civicNo": {"value": "197601019800"},
            },
        ],
        "duties": [
            {
                "id": "0b4d4c4e-0000-4000-8000-000000000004",
                "meta": META,
                "person": {"id": STAFF},
                "dutyAt": {"id": SCHOOL},
                "dutyRole": "Lärare",
                "startDate": "2026-08-01",
            }
        ],
        "groups": [
            {
                "id": "0b4d4c4e-0000-4000-8000-000000000005",
                "meta": META,
                "displayName": "5A",
                "groupType": "Klass",
                "organisation": {"id": SCHOOL},
                "startDate": "2026-08-17",
                "groupMemberships": [{"person": {"id": PUPIL}}],
            }
        ],
        "syllabuses": [
            {
                "id": "0b4d4c4e-0000-4000-8000-000000000006",
                "meta": META,
                "schoolType": "GR",
                "subjectName": "Matematik",
                "subjectCode": "MA",
                "official": True,
            }
        ],
        "activities": [
            {
                "id": "0b4d4c4e-0000-4000-8000-000000000007",
                "meta": META,
                "displayName": "5A MA",
                "calendarEventsRequired": True,
                "startDate": "2026-08-17",
                "organisation": {"id": SCHOOL},
                "groups": [{"id": "0b4d4c4e-0000-4000-8000-000000000005"}],
                "teachers": [{"duty": {"id": "0b4d4c4e-0000-4000-8000-000000000004"}}],
                "syllabus": {"id": "0b4d4c4e-0000-4000-8000-000000000006"},
            }
        ],
        "calendarEvents": [
            {
                "id": "0b4d4c4e-0000-4000-8000-000000000008",
                "meta": META,
                "activity": {"id": "0b4d4c4e-0000-4000-8000-000000000007"},
                "startTime": "2026-10-26T08:15:00+01:00",
                "endTime": "2026-10-26T09:15:00+01:00",
            }
        ],
        "attendances": [
            {
                "id": "0b4d4c4e-0000-4000-8000-000000000009",
                "meta": META,
                "calendarEvent": {"id": "0b4d4c4e-0000-4000-8000-000000000008"},
                "student": {"id": PUPIL},
                "isReported": True,
                "attendanceMinutes": 60,
            }
        ],
        "absences": [
            {
                "id": "0b4d4c4e-0000-4000-8000-00000000000a",
                "meta": META,
                "startTime": "2026-10-27T07:00:00+01:00",
                "endTime": "2026-10-27T17:00:00+01:00",
                "type": "Anmäld frånvaro",
                "student": {"id": PUPIL},
            }
        ],
        "grades": [
            {
                "id": "0b4d4c4e-0000-4000-8000-00000000000b",
                "meta": META,
                "student": {"id": PUPIL},
                "organisation": {"id": SCHOOL},
                "syllabus": {"id": "0b4d4c4e-0000-4000-8000-000000000006"},
                "registeredBy": {"id": STAFF},
                "registeredDate": "2027-06-10",
                "gradeValue": "C",
                "finalGrade": True,
                "adaptedStudyPlan": "",
            }
        ],
        "aggregatedAttendance": [
            {
                "activity": {"id": "0b4d4c4e-0000-4000-8000-000000000007"},
                "student": {"id": PUPIL},
                "startDate": "2026-08-17",
                "endDate": "2026-08-21",
                "attendanceSum": 240,
            }
        ],
    }


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def mutated(draw: st.DrawFn, record: dict[str, Any]) -> Any:
    """A valid record with some fields removed or replaced, or any JSON value at all."""
    if draw(st.integers(0, 4)) == 0:
        return draw(json_values)
    out = copy.deepcopy(record)
    for key in draw(st.lists(st.sampled_from(sorted(out)), max_size=3, unique=True)):
        if draw(st.booleans()):
            del out[key]
        else:
            out[key] = draw(json_values)
    return out


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fuzz-key") / "key.json"
    create_key_file(path)
    return path


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_no_input_crashes_ingestion_or_loses_a_record(data: st.DataObject, key_file: Path) -> None:
    extract = _valid()
    added = {}
    for resource in RESOURCES:
        extra = data.draw(st.lists(mutated(extract[resource][0]), max_size=3), label=resource)
        extract[resource] += extra
        added[resource] = len(extra)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "extract"
        for resource, records in extract.items():
            (root / resource).mkdir(parents=True)
            page = {"data": records, "pageToken": None}
            (root / resource / "page-000001.json").write_bytes(orjson.dumps(page))
        report = ingest_extract(root, Path(tmp) / "data", key_file=key_file)
    for resource, count in report.counts.items():
        assert count.read == 1 + added[resource] + (1 if resource == "persons" else 0), resource
        assert count.read == count.accepted + count.quarantined, resource
    # The valid core always survives.
    for resource in ("organisations", "syllabuses"):
        assert report.counts[resource].accepted >= 1, resource


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=st.binary(max_size=200) | json_values.map(orjson.dumps))
def test_any_file_content_is_read_or_refused_clearly(content: bytes, key_file: Path) -> None:
    from medler.errors import InputFileError

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "extract"
        (root / "organisations").mkdir(parents=True)
        (root / "organisations" / "page-000001.json").write_bytes(content)
        try:
            report = ingest_extract(root, Path(tmp) / "data", key_file=key_file)
        except InputFileError as error:
            assert str(error).startswith("organisations/page-000001.json ")
            assert not (Path(tmp) / "data" / "CURRENT").exists()
            return
        count = report.counts["organisations"]
        assert count.read == count.accepted + count.quarantined
