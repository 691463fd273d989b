"""Each school unit's organiser type, from the organisation number of the Huvudman above it:
the walk up ``parentOrganisation`` (through other levels, and stopping on a cycle), an SS 12000
extract with organisers of every kind and school units whose chain is broken (kept, named in
the quarantine table, counted in a warning), and the type carried into the research tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest

from linkage import build_research_tables, current_snapshot, ingest_extract, read_manifest
from linkage.sources.ss12000._organisers import OrgNode, find_organiser_type, org_node
from pseudonymise import OrganiserType, luhn_check_digit

PUPIL_PIN = "189001019802"  # Skatteverket's reserved test number: valid, and nobody's


def _number(nine: str) -> str:
    return f"{nine[:6]}-{nine[6:]}{luhn_check_digit(nine)}"


MUNICIPALITY = _number("212000259")
COMPANY = _number("556900001")
REGION = _number("232100001")
STATE = _number("202100412")
FOUNDATION = _number("802000001")
BAD_CHECK = MUNICIPALITY[:-1] + str((int(MUNICIPALITY[-1]) + 1) % 10)


# --- the walk -----------------------------------------------------------------------------------


def _nodes(*rows: tuple[str, str, str | None, object]) -> dict[str, OrgNode]:
    return {rid: OrgNode(kind, parent, number) for rid, kind, parent, number in rows}


def test_the_walk_passes_other_levels_to_the_first_huvudman() -> None:
    nodes = _nodes(
        ("school", "Skolenhet", "rektor", None),
        ("rektor", "Rektorsområde", "forvaltning", MUNICIPALITY),  # not a Huvudman: not read
        ("forvaltning", "Förvaltning", "kommun", COMPANY),
        ("kommun", "Huvudman", "top", MUNICIPALITY),
        ("top", "Huvudman", None, STATE),  # above the first Huvudman: not read
    )
    assert find_organiser_type("school", nodes).organiser_type is OrganiserType.MUNICIPAL


def test_a_school_unit_that_is_its_own_huvudman_reads_its_own_number() -> None:
    nodes = _nodes(("school", "Huvudman", None, COMPANY))
    assert find_organiser_type("school", nodes).organiser_type is OrganiserType.INDEPENDENT


@pytest.mark.parametrize(
    ("nodes", "field", "reason"),
    [
        (
            _nodes(("school", "Skolenhet", None, None)),
            "parentOrganisation",
            "no organisation of type Huvudman above it in the parentOrganisation chain",
        ),
        (
            _nodes(("school", "Skolenhet", "gone", None)),
            "parentOrganisation",
            "the parentOrganisation chain names an organisation the extract does not hold "
            "(or that was set aside)",
        ),
        (
            _nodes(
                ("school", "Skolenhet", "a", None),
                ("a", "Förvaltning", "b", None),
                ("b", "Förvaltning", "a", None),
            ),
            "parentOrganisation",
            "the parentOrganisation chain is a cycle, with no Huvudman on it",
        ),
        (
            _nodes(("school", "Skolenhet", "school", None)),
            "parentOrganisation",
            "the parentOrganisation chain is a cycle, with no Huvudman on it",
        ),
        (
            _nodes(("school", "Skolenhet", "h", None), ("h", "Huvudman", None, None)),
            "organisationNumber",
            "the organiser's (Huvudman's) organisationNumber: missing",
        ),
        (
            _nodes(("school", "Skolenhet", "h", None), ("h", "Huvudman", None, BAD_CHECK)),
            "organisationNumber",
            "the organiser's (Huvudman's) organisationNumber: wrong check digit",
        ),
    ],
)
def test_a_broken_chain_or_number_is_unknown_with_its_field_and_reason(
    nodes: dict[str, OrgNode], field: str, reason: str
) -> None:
    found = find_organiser_type("school", nodes)
    assert (found.organiser_type, found.field, found.reason) == (
        OrganiserType.UNKNOWN,
        field,
        reason,
    )


def test_a_long_cycle_ends_the_walk() -> None:
    ring = {f"o{i}": OrgNode("Förvaltning", f"o{(i + 1) % 5000}", None) for i in range(5000)}
    assert find_organiser_type("o0", ring).organiser_type is OrganiserType.UNKNOWN


def test_a_malformed_parent_reference_is_read_as_a_broken_chain() -> None:
    node = org_node({"parentOrganisation": "kommun"}, "Skolenhet")
    found = find_organiser_type("school", {"school": node})
    assert (found.field, found.reason) == (
        "parentOrganisation",
        "parentOrganisation: not a reference object",
    )


# --- an extract ---------------------------------------------------------------------------------


def _ref(rid: str) -> dict[str, str]:
    return {"id": rid}


def _org(
    rid: str, kind: str, *, parent: Any = None, number: Any = None, code: str | None = None
) -> dict[str, Any]:
    record: dict[str, Any] = {"id": rid, "organisationType": kind, "displayName": rid}
    if parent is not None:
        record["parentOrganisation"] = parent
    if number is not None:
        record["organisationNumber"] = number
    if code is not None:
        record["schoolUnitCode"] = code
    return record


# school unit code → its expected organiser type
EXPECTED = {
    "10000001": "municipal",
    "10000002": "municipal",
    "10000003": "independent",
    "10000004": "regional",
    "10000005": "state",
    "10000006": "independent",
    "20000001": "unknown",
    "20000002": "unknown",
    "20000003": "unknown",
    "20000004": "unknown",
    "20000005": "unknown",
}


def _pages() -> list[list[dict[str, Any]]]:
    """Two pages of organisations: the school units first, their organisers on the second
    page (the walk waits for every page). School 10000002 reaches its municipality through a
    Förvaltning; the 2000000x schools each break the chain in one way."""
    schools = [
        _org("s1", "Skolenhet", parent=_ref("kommun"), code="10000001"),
        _org("s2", "Skolenhet", parent=_ref("forvaltning"), code="10000002"),
        _org("s3", "Skolenhet", parent=_ref("ab"), code="10000003"),
        _org("s4", "Skolenhet", parent=_ref("region"), code="10000004"),
        _org("s5", "Skolenhet", parent=_ref("stat"), code="10000005"),
        _org("s6", "Skolenhet", parent=_ref("stiftelse"), code="10000006"),
        _org("u1", "Skolenhet", code="20000001"),  # no parent
        _org("u2", "Skolenhet", parent=_ref("not-in-extract"), code="20000002"),
        _org("u3", "Skolenhet", parent=_ref("loop-a"), code="20000003"),
        _org("u4", "Skolenhet", parent=_ref("bad-number"), code="20000004"),
        _org("u5", "Skolenhet", parent="kommun", code="20000005"),  # not a reference object
    ]
    organisers = [
        _org("kommun", "Huvudman", number=MUNICIPALITY),
        _org("forvaltning", "Förvaltning", parent=_ref("kommun")),
        _org("ab", "Huvudman", number=COMPANY),
        _org("region", "Huvudman", number=REGION),
        _org("stat", "Huvudman", number=f"16{STATE}"),
        _org("stiftelse", "Huvudman", number=FOUNDATION.replace("-", "")),
        _org("loop-a", "Förvaltning", parent=_ref("loop-b")),
        _org("loop-b", "Förvaltning", parent=_ref("loop-a")),
        _org("bad-number", "Huvudman", number=BAD_CHECK),
    ]
    return [schools, organisers]


def _others() -> dict[str, list[dict[str, Any]]]:
    """A pupil at the aktiebolag's school (10000003), with one lesson attended."""
    return {
        "persons": [
            {
                "id": "p-1",
                "civicNo": {"value": PUPIL_PIN},
                "birthDate": "1890-01-01",
                "enrolments": [{"enroledAt": _ref("s3"), "schoolYear": 7, "schoolType": "GR"}],
            }
        ],
        "duties": [],
        "groups": [
            {
                "id": "g-1",
                "organisation": _ref("s3"),
                "groupType": "Undervisning",
                "groupMemberships": [{"person": _ref("p-1")}],
            }
        ],
        "syllabuses": [{"id": "sy-1", "subjectName": "Matematik", "subjectCode": "MA"}],
        "activities": [
            {
                "id": "a-1",
                "organisation": _ref("s3"),
                "syllabus": _ref("sy-1"),
                "groups": [_ref("g-1")],
                "teachers": [],
            }
        ],
        "calendarEvents": [
            {
                "id": "l-1",
                "activity": _ref("a-1"),
                "startTime": "2026-09-07T08:00:00+02:00",
                "endTime": "2026-09-07T09:00:00+02:00",
            }
        ],
        "attendances": [
            {
                "id": "at-1",
                "calendarEvent": _ref("l-1"),
                "student": _ref("p-1"),
                "isReported": True,
                "attendanceMinutes": 45,
                "validAbsenceMinutes": 15,
                "invalidAbsenceMinutes": 0,
            }
        ],
        "absences": [],
    }


def _write(root: Path) -> Path:
    folder = root / "organisations"
    folder.mkdir(parents=True)
    for i, records in enumerate(_pages(), start=1):
        page = orjson.dumps({"data": records, "pageToken": None})
        (folder / f"page-{i:06d}.json").write_bytes(page)
    for resource, records in _others().items():
        (root / resource).mkdir()
        page = orjson.dumps({"data": records, "pageToken": None})
        (root / resource / "page-000001.json").write_bytes(page)
    return root


def test_an_extract_with_organisers_of_every_kind(tmp_path: Path, session_key: Path) -> None:
    data = tmp_path / "data"
    report = ingest_extract(_write(tmp_path / "extract"), data, key_file=session_key)
    snapshot = current_snapshot(data)
    schools = pl.read_parquet(snapshot / "schools.parquet")
    assert dict(zip(schools["school_code"], schools["organiser_type"], strict=True)) == EXPECTED
    assert not any(c in schools.columns for c in ("organisation_number", "organisationNumber"))
    # every organisation is accepted: a broken chain does not set a school unit aside
    count = read_manifest(snapshot)["records"]["organisations"]
    assert (count["read"], count["accepted"], count["quarantined"]) == (20, 20, 0)
    # each unknown school unit is named in the quarantine table, with its field and reason
    kept = pl.read_parquet(snapshot / "quarantine.parquet").filter(
        pl.col("outcome") == "kept-unknown"
    )
    assert sorted(kept.select("source_file", "position", "field", "reason").rows()) == [
        (
            "organisations/page-000001.json",
            7,
            "parentOrganisation",
            "no organisation of type Huvudman above it in the parentOrganisation chain",
        ),
        (
            "organisations/page-000001.json",
            8,
            "parentOrganisation",
            "the parentOrganisation chain names an organisation the extract does not hold (or "
            "that was set aside)",
        ),
        (
            "organisations/page-000001.json",
            9,
            "parentOrganisation",
            "the parentOrganisation chain is a cycle, with no Huvudman on it",
        ),
        (
            "organisations/page-000001.json",
            10,
            "organisationNumber",
            "the organiser's (Huvudman's) organisationNumber: wrong check digit",
        ),
        (
            "organisations/page-000001.json",
            11,
            "parentOrganisation",
            "parentOrganisation: not a reference object",
        ),
    ]
    assert set(kept["resource"]) == {"organisations"}
    (warning,) = [w for w in report.warnings if "organiser type" in w]
    assert warning.startswith(
        "5 school units have no organiser type (they are counted as 'unknown'; the quarantine "
        "table names each, as kept-unknown): "
    )
    assert "1: the parentOrganisation chain is a cycle, with no Huvudman on it" in warning
    assert report.kept_local == 0
    # the pupil at the aktiebolag's school: its organiser type in both absence tables
    build_research_tables(data)
    research = current_snapshot(data / "research")
    for table in ("student_terms", "student_months"):
        rows = pl.read_parquet(research / f"{table}.parquet")
        assert rows.select("school_code", "organiser_type").rows() == [
            ("10000003", "independent")
        ], table


def test_an_organiser_from_a_later_extract_replaces_the_earlier(
    tmp_path: Path, session_key: Path
) -> None:
    """An incremental extract that gives the aktiebolag's school unit a new organiser (the
    municipality took it over): the later version of the school unit is the one walked."""
    base = _write(tmp_path / "extract")
    update = tmp_path / "update" / "organisations"
    update.mkdir(parents=True)
    moved = _org("s3", "Skolenhet", parent=_ref("kommun"), code="10000003")
    moved["meta"] = {"modified": "2026-10-01T00:00:00+02:00"}
    update.joinpath("page-000001.json").write_bytes(
        orjson.dumps({"data": [moved], "pageToken": None})
    )
    data = tmp_path / "data"
    ingest_extract(base, data, key_file=session_key, updates=[update.parent])
    schools = pl.read_parquet(current_snapshot(data) / "schools.parquet")
    kinds = dict(zip(schools["school_code"], schools["organiser_type"], strict=True))
    assert kinds == {**EXPECTED, "10000003": "municipal"}
    assert schools.height == len(EXPECTED)
