"""A lesson or attendance page decoded straight into typed records (``_columns.decode_page``)
gives what parsing it and checking its fields gives (``attendance_columns``,
``lesson_columns``): the same columns for a clean page, and None (the page then goes record by
record, naming each bad field) for every kind of flaw, whichever of the two paths notices it."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pytest

from linkage.sources.ss12000 import _parallel
from linkage.sources.ss12000._columns import Columns, decode_page
from linkage.sources.ss12000._reader import read_page
from linkage.sources.synthetic import SynthConfig, generate_municipality
from medler.errors import InputFileError

Records = list[dict[str, Any]]


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Records]:
    root = tmp_path_factory.mktemp("pages")
    out = generate_municipality(SynthConfig(students=60, seed=3, weeks=1), root / "x").out
    found = {}
    for resource in ("attendances", "calendarEvents"):
        paths = sorted((out / "ss12000" / resource).glob("*.json"))
        records = [r for path in paths for r in orjson.loads(path.read_bytes())["data"]]
        found[resource] = records[:400]
    pupils = [r["student"]["id"] for r in found["attendances"][:6]]
    for lesson, pupil in zip(found["calendarEvents"][20:26], pupils, strict=True):
        # a pupil's exceptions, the rarer kind (the shapes the generator writes)
        lesson["studentExceptions"] = [
            {"student": {"id": pupil}, "participates": False},
            {"student": {"id": pupils[0]}, "participates": True, "teachingLength": 30},
        ]
    assert any("teacherExceptions" in r for r in found["calendarEvents"])
    assert any("studentExceptions" in r for r in found["calendarEvents"])
    return found


def _field_by_field(root: Path, path: Path, resource: str) -> Columns | None:
    return _parallel.COLUMNS[resource](read_page(root, path, resource).records)


def _same(one: Columns | None, other: Columns | None) -> None:
    assert (one is None) == (other is None)
    if one is not None and other is not None:
        assert one.keys() == other.keys()
        for name in one:
            assert one[name].schema == other[name].schema, name
            assert one[name].equals(other[name]), name


def _set(index: int, key: str, value: Any) -> Callable[[Records], None]:
    def change(records: Records) -> None:
        records[index][key] = value

    return change


def _drop(index: int, key: str) -> Callable[[Records], None]:
    return lambda records: records[index].pop(key, None)


def _first_with(key: str, records: Records) -> dict[str, Any]:
    return next(r for r in records if r.get(key))


ATTENDANCE_FLAWS: dict[str, Callable[[Records], None]] = {
    "clean": lambda records: None,
    "minutes below 0": _set(0, "attendanceMinutes", -5),
    "minutes 5.0": _set(1, "attendanceMinutes", 5.0),
    "minutes true": _set(2, "validAbsenceMinutes", True),
    "minutes beyond 64 bits": _set(3, "attendanceMinutes", 2**70),
    "isReported 1": _set(4, "isReported", 1),
    "isReported missing": _drop(5, "isReported"),
    "isReported null": _set(6, "isReported", None),
    "id a number": _set(7, "id", 17),
    "id not an identifier": _set(8, "id", "has space"),
    "lesson reference a string": _set(9, "calendarEvent", "x"),
    "lesson reference without id": _set(10, "calendarEvent", {"other": "x"}),
    "pupil id null": _set(11, "student", {"id": None}),
    "stamp a number": _set(12, "reportedTimestamp", 20260817),
    "stamp with fractions": _set(13, "reportedTimestamp", "2026-08-17T09:42:00.5+02:00"),
    "reported without minutes": lambda records: records[14].update(
        isReported=True,
        attendanceMinutes=None,
        validAbsenceMinutes=None,
        invalidAbsenceMinutes=None,
    ),
    "a record not an object": lambda records: records.insert(0, 7),
    "an unknown field": _set(15, "vendorExtra", {"nested": [1, 2]}),
    "meta not an object": _set(16, "meta", "x"),
    "modified a number": _set(17, "meta", {"modified": 5}),
    "no meta": _drop(18, "meta"),
}

LESSON_FLAWS: dict[str, Callable[[Records], None]] = {
    "clean": lambda records: None,
    "end not after start": lambda records: records[0].update(endTime=records[0]["startTime"]),
    "activity a string": _set(1, "activity", "x"),
    "length 5.0": _set(2, "teachingLengthStudent", 5.0),
    "length below 0": _set(3, "teachingLengthTeacher", -1),
    "cancelled 0": _set(4, "cancelled", 0),
    "cancelled null": _set(5, "cancelled", None),
    "start a number": _set(6, "startTime", 8),
    "start without offset": _set(7, "startTime", "2026-08-17T08:15:00"),
    "exceptions false": _set(8, "studentExceptions", False),
    "exceptions an object": _set(9, "teacherExceptions", {"duty": {"id": "d"}}),
    "a teacher exception by person": lambda records: _first_with("teacherExceptions", records)[
        "teacherExceptions"
    ][0].update(person={"id": "p"}, duty=None),
    "a pupil exception without participates": lambda records: _first_with(
        "studentExceptions", records
    )["studentExceptions"][0].pop("participates", None),
    "a pupil exception's length true": lambda records: _first_with("studentExceptions", records)[
        "studentExceptions"
    ][0].update(teachingLength=True),
    "an unknown field": _set(10, "vendorExtra", [1]),
}


@pytest.mark.parametrize(
    ("resource", "flaw"),
    [("attendances", name) for name in ATTENDANCE_FLAWS]
    + [("calendarEvents", name) for name in LESSON_FLAWS],
)
def test_decoded_pages_give_what_field_by_field_checks_give(
    pages: dict[str, Records], tmp_path: Path, resource: str, flaw: str
) -> None:
    records = copy.deepcopy(pages[resource])
    (ATTENDANCE_FLAWS if resource == "attendances" else LESSON_FLAWS)[flaw](records)
    folder = tmp_path / resource
    folder.mkdir()
    path = folder / "page-000001.json"
    path.write_bytes(json.dumps({"data": records}).encode())  # orjson has no 2**70
    expected = _field_by_field(tmp_path, path, resource)
    _same(_parallel.parse_page(tmp_path, path, resource), expected)
    if flaw in ("clean", "an unknown field"):
        assert expected is not None
        _same(decode_page(resource, path.read_bytes()), expected)  # the fast path, taken


@pytest.mark.parametrize("resource", ["attendances", "calendarEvents"])
def test_other_shapes_of_page_are_parsed_as_before(
    pages: dict[str, Records], tmp_path: Path, resource: str
) -> None:
    """A byte-order mark, a bare list, a wrapped list: msgspec refuses them, the reader does
    not, and the page is taken column-wise all the same."""
    records = pages[resource]
    shapes = {
        "bom": b"\xef\xbb\xbf" + orjson.dumps({"data": records}),
        "list": orjson.dumps(records),
        "wrapped": orjson.dumps({resource: records}),
    }
    folder = tmp_path / resource
    folder.mkdir()
    for shape, data in shapes.items():
        path = folder / f"{shape}.json"
        path.write_bytes(data)
        with pytest.raises(msgspec.MsgspecError):
            decode_page(resource, data)
        parsed = _parallel.parse_page(tmp_path, path, resource)
        assert parsed is not None, shape
        _same(parsed, _field_by_field(tmp_path, path, resource))


def _with_field(records: Records, value: bytes, *, field: str = "vendorExtra") -> bytes:
    """The page's JSON with ``field`` of the first record set to raw JSON bytes ``value``."""
    marked = [{**records[0], field: "MARK"}, *records[1:]]
    return orjson.dumps({"data": marked}).replace(b'"MARK"', value, 1)


@pytest.mark.parametrize("resource", ["attendances", "calendarEvents"])
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("vendorExtra", b'"caf\xe9"'),  # cp1252, in a field medler does not read
        ("id", b'"caf\xe9"'),
    ],
)
def test_a_page_that_is_not_utf_8_is_refused_by_both_paths(
    pages: dict[str, Records], tmp_path: Path, resource: str, field: str, value: bytes
) -> None:
    """msgspec does not check the fields it skips; the page is still refused, naming the
    file, as the reader refuses it."""
    folder = tmp_path / resource
    folder.mkdir()
    path = folder / "page-000001.json"
    path.write_bytes(_with_field(pages[resource], value, field=field))
    with pytest.raises(InputFileError, match=r"page-000001.json is not valid JSON"):
        _field_by_field(tmp_path, path, resource)
    with pytest.raises(InputFileError, match=r"page-000001.json is not valid JSON"):
        _parallel.parse_page(tmp_path, path, resource)


def test_nesting_too_deep_for_msgspec_is_parsed_as_before(
    pages: dict[str, Records], tmp_path: Path
) -> None:
    deep = b"[" * 1010 + b"]" * 1010  # orjson reads it; msgspec stops at about 1000 levels
    folder = tmp_path / "attendances"
    folder.mkdir()
    path = folder / "page-000001.json"
    path.write_bytes(_with_field(pages["attendances"], deep))
    expected = _field_by_field(tmp_path, path, "attendances")
    assert expected is not None
    _same(_parallel.parse_page(tmp_path, path, "attendances"), expected)
