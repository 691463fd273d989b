"""Bad input is a 422 (or a 403 refusal), never a 500: filter values that do not fit their
column (int and float bounds together, true for a number, text for a number, NaN, infinity,
numbers too large for the column, text that is not Unicode), each answered with a message that
names the filter and says what to give; and the researcher's client keeps working after one.
Hypothesis tries the rest: ``tests/property/test_spec_fuzz.py``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.client import Client, Invalid, Refused, Spec
from tests.api.test_client import Service, _service
from tests.api.test_service import World, _world
from tests.research_data import research_dir

__all__ = ["research_dir"]

BY_GRADE = {"table": "student_terms", "group_by": ["grade"],
            "measures": [{"kind": "count_students"}]}  # fmt: skip


def _filtered(column: str, op: str, values: list[Any], **more: Any) -> dict[str, Any]:
    return {**BY_GRADE, **more, "filters": [{"column": column, "op": op, "values": values}]}


@pytest.fixture(scope="module")
def world(research_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = _world(research_dir, tmp_path_factory.mktemp("bad-input"))
    yield w
    w.client.close()


DP = {"mode": "dp", "rho": 0.01}  # measures are filtered in dp mode (sdc takes band edges)
WHOLE = "grade holds whole numbers (Int8), so give whole numbers"
NUMBERS = "days_absent holds numbers (Int64), so give numbers"

# a spec, and the status, code and message of its answer (from preview and from submit)
CASES = {
    "int and float bounds": (_filtered("days_absent", "between", [0, 0.5], **DP), 200, None),
    "float and int bounds": (_filtered("days_absent", "between", [0.5, 100], **DP), 200, None),
    "a bound too large for the column": (
        _filtered("days_absent", "between", [0, 2**70], **DP), 200, None),
    "float bounds of a whole-number key": (_filtered("grade", "between", [6.5, 9.0]), 200, None),
    "a whole float in a whole-number key": (_filtered("grade", "in", [7.0, 8]), 200, None),
    "a fraction in a whole-number key": (
        _filtered("grade", "in", [7, 8.5]), 403,
        f"filter on grade: value 2 is not a whole number; {WHOLE}"),
    "true for a number": (
        _filtered("grade", "in", [True, 1]), 403,
        f"filter on grade: value 1 is true or false, not a whole number; {WHOLE}"),
    "true as a bound": (
        _filtered("days_absent", "between", [0, True], **DP), 403,
        f"filter on days_absent: value 2 is true or false, not a number; {NUMBERS}"),
    "text and a number": (
        _filtered("term", "in", ["2026HT", 2026]), 403,
        "filter on term: value 2 is a number, not text; term holds text (String), so give text"),
    "a number as text": (
        _filtered("grade", "in", ["8"]), 403,
        f"filter on grade: value 1 is text, not a whole number; {WHOLE}"),
    "a number too large for the column": (
        _filtered("grade", "in", [2**70]), 403,
        f"filter on grade: value 1 is out of the column's range; {WHOLE}"),
    "bounds the wrong way round": (
        _filtered("grade", "between", [9, 7]), 403,
        "filter on grade: between takes the lower bound first"),
    "text for a flag": (
        _filtered("persistent_absence", "in", ["yes"]), 403,
        "filter on persistent_absence: value 1 is text, not true or false; persistent_absence "
        "holds true or false (Boolean), so give true or false"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("route", ["preview", "releases"])
def test_a_filter_value_is_taken_if_it_fits_its_column_and_refused_with_a_reason_if_not(
    world: World, case: str, route: str
) -> None:
    spec, status, message = CASES[case]
    body = spec if route == "preview" else {"spec": spec}
    answer = world.post("ann", f"/v1/projects/{world.project}/{route}", body)
    assert answer.status_code == status, answer.text
    if status != 200:
        assert answer.json()["error"] == {"code": "refused", "message": message}


# raw JSON bodies: Python's json module reads NaN and Infinity, which are not JSON
NOT_FINITE = "not a finite number (NaN, Infinity or too large); give a finite number"
NOT_NUMBERS = {
    "NaN in a filter": (
        '{"table":"student_terms","measures":[{"kind":"count_students"}],'
        '"filters":[{"column":"days_absent","op":"between","values":[0,NaN]}]}',
        f"filters.0.values.1: {NOT_FINITE}",
    ),
    "infinity in a filter": (
        '{"table":"student_terms","measures":[{"kind":"count_students"}],'
        '"filters":[{"column":"days_absent","op":"between","values":[-Infinity,5]}]}',
        f"filters.0.values.0: {NOT_FINITE}",
    ),
    "infinite rho": (
        '{"table":"student_terms","measures":[{"kind":"count_students"}],"mode":"dp",'
        '"rho":Infinity}',
        f"rho: {NOT_FINITE}",
    ),
    "NaN rho": (
        '{"table":"student_terms","measures":[{"kind":"count_students"}],"mode":"dp","rho":NaN}',
        f"rho: {NOT_FINITE}",
    ),
    "a number too large for a float": (
        '{"table":"student_terms","measures":[{"kind":"count_students"}],'
        '"filters":[{"column":"days_absent","op":"between","values":[0,1e999]}]}',
        f"filters.0.values.1: {NOT_FINITE}",
    ),
    "NaN q": (
        '{"table":"student_terms","measures":[{"kind":"quantile","column":"days_absent","q":NaN}]}',
        f"measures.0.q: {NOT_FINITE}",
    ),
}


@pytest.mark.parametrize("case", sorted(NOT_NUMBERS))
def test_nan_and_infinity_are_invalid(world: World, case: str) -> None:
    raw, message = NOT_NUMBERS[case]
    answer = world.client.post(f"/v1/projects/{world.project}/preview", content=raw,
                               headers={**world.as_("ann"),
                                        "Content-Type": "application/json"})  # fmt: skip
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == {"code": "invalid", "message": message}


def test_text_that_is_not_unicode_is_refused(world: World) -> None:
    raw = ('{"table":"student_terms","measures":[{"kind":"count_students"}],'
           '"filters":[{"column":"term","op":"in","values":["2026HT","\\ud800"]}]}')  # fmt: skip
    answer = world.client.post(f"/v1/projects/{world.project}/preview", content=raw,
                               headers={**world.as_("ann"),
                                        "Content-Type": "application/json"})  # fmt: skip
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"]["message"] == (
        "filter on term: value 2 is not valid Unicode text; term holds text (String), so give "
        "text")  # fmt: skip


def test_a_budget_of_infinity_is_invalid(world: World) -> None:
    answer = world.client.post("/v1/office/projects/nope/approve", content='{"rho":Infinity}',
                               headers={**world.as_("adam"),
                                        "Content-Type": "application/json"})  # fmt: skip
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == {"code": "invalid", "message": f"rho: {NOT_FINITE}"}


# --- the researcher's client against a real server ----------------------------------------


@pytest.fixture(scope="module")
def service(research_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with _service(research_dir, tmp_path_factory.mktemp("bad-input-service"),
                  mode="development") as svc:  # fmt: skip
        yield svc


def test_the_client_keeps_working_after_a_spec_with_mixed_bounds(service: Service) -> None:
    mixed = Spec("student_terms").by("grade").where_between("days_absent", 0, 0.5)
    with service.client("mixed-bounds") as client:
        assert client.preview(mixed.count_students()).mode == "sdc"
        with pytest.raises(Refused, match=r"^filter on grade: value 1 is true or false"):
            client.preview({**BY_GRADE, "filters": [
                {"column": "grade", "op": "in", "values": [True]}]})  # fmt: skip
        with pytest.raises(Invalid):
            client.preview({"table": "student_terms"})
        assert client.submit(mixed.count_students()).released
        assert not client.budget().empty  # the connection is still good
