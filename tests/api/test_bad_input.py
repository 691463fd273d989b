"""Bad input is a 422 (or a 403 refusal), never a 500: filter values that do not fit their
column (int and float bounds together, true for a number, text for a number, NaN, infinity,
numbers too large for the column, text that is not Unicode), each answered with a message that
names the filter and says what to give; and the researcher's client keeps working after one.
Hypothesis tries the rest: ``tests/property/test_spec_fuzz.py``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from api.client import Client, Invalid, MedlerApiError, Refused, Spec
from api.service import Settings, create_app
from api.service._errors import UNREAD, error_body
from release import QueryRefused
from release.governance import DATASET, Governance, connect_control_plane
from tests.api.test_client import Service, register_office, serving, set_cap
from tests.api.test_service import World, _world
from tests.research_data import research_dir

__all__ = ["research_dir"]

BY_GRADE = {
    "table": "student_terms",
    "group_by": ["grade"],
    "measures": [{"kind": "count_students"}],
}


def _filtered(column: str, op: str, values: list[Any], **more: Any) -> dict[str, Any]:
    return {**BY_GRADE, **more, "filters": [{"column": column, "op": op, "values": values}]}


@pytest.fixture(scope="module")
def world(research_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A project asking in sdc mode."""
    w = _world(research_dir, tmp_path_factory.mktemp("bad-input"))
    yield w
    w.client.close()


@pytest.fixture(scope="module")
def dp_world(research_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A project asking in dp mode (a project answers a table under one regime)."""
    w = _world(research_dir, tmp_path_factory.mktemp("bad-input-dp"))
    yield w
    w.client.close()


DP = {"mode": "dp", "rho": 0.01}  # measures are filtered in dp mode (sdc takes band edges)
WHOLE = "grade holds whole numbers (Int8), so give whole numbers"
NUMBERS = "days_absent holds numbers (Int64), so give numbers"

# a spec, and the status and message of its answer (from preview and from submit)
CASES = {
    "int and float bounds": (_filtered("days_absent", "between", [0, 0.5], **DP), 200, None),
    "float and int bounds": (_filtered("days_absent", "between", [0.5, 100], **DP), 200, None),
    "a bound too large for the column": (
        _filtered("days_absent", "between", [0, 2**70], **DP),
        200,
        None,
    ),
    "float bounds of a whole-number key": (_filtered("grade", "between", [6.5, 9.0]), 200, None),
    "a whole float in a whole-number key": (_filtered("grade", "in", [7.0, 8]), 200, None),
    "a fraction in a whole-number key": (
        _filtered("grade", "in", [7, 8.5]),
        403,
        f"filter on grade: value 2 is not a whole number; {WHOLE}",
    ),
    "true for a number": (
        _filtered("grade", "in", [True, 1]),
        403,
        f"filter on grade: value 1 is true or false, not a whole number; {WHOLE}",
    ),
    "true as a bound": (
        _filtered("days_absent", "between", [0, True], **DP),
        403,
        f"filter on days_absent: value 2 is true or false, not a number; {NUMBERS}",
    ),
    "text and a number": (
        _filtered("term", "in", ["2026HT", 2026]),
        403,
        "filter on term: value 2 is a number, not text; term holds text (String), so give text",
    ),
    "a number as text": (
        _filtered("grade", "in", ["8"]),
        403,
        f"filter on grade: value 1 is text, not a whole number; {WHOLE}",
    ),
    "a number too large for the column": (
        _filtered("grade", "in", [2**70]),
        403,
        f"filter on grade: value 1 is out of the column's range; {WHOLE}",
    ),
    "bounds the wrong way round": (
        _filtered("grade", "between", [9, 7]),
        403,
        "filter on grade: between takes the lower bound first",
    ),
    "text for a flag": (
        _filtered("persistent_absence", "in", ["yes"]),
        403,
        "filter on persistent_absence: value 1 is text, not true or false; persistent_absence "
        "holds true or false (Boolean), so give true or false",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("route", ["preview", "releases"])
def test_a_filter_value_is_taken_if_it_fits_its_column_and_refused_with_a_reason_if_not(
    request: pytest.FixtureRequest, case: str, route: str
) -> None:
    spec, status, message = CASES[case]
    world: World = request.getfixturevalue("dp_world" if spec.get("mode") == "dp" else "world")
    body = spec if route == "preview" else {"spec": spec}
    answer = world.post("ann", f"/v1/projects/{world.project}/{route}", body)
    assert answer.status_code == status, answer.text
    if status != 200:
        assert answer.json()["error"] == {"code": "refused", "message": message}


# raw JSON bodies: Python's json module reads NaN and Infinity, which are not JSON
NOT_FINITE = "not a finite number (NaN, Infinity or too large); give a number"
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
    answer = world.client.post(
        f"/v1/projects/{world.project}/preview",
        content=raw,
        headers={**world.as_("ann"), "Content-Type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == {"code": "invalid", "message": message}


# what does not fit the spec's schema: the first problem, where it is, what is wanted
MALFORMED = {
    "a list for a filter value": (
        _filtered("grade", "in", [[7]]),
        "filters.0.values.0: Input should be a valid string, a valid integer, a valid number or "
        "a valid boolean",
    ),
    "no measures": (
        {"table": "student_terms"},
        "request: Value error, a spec needs at least one measure (or a model)",
    ),
    "an unknown op": (
        _filtered("grade", "like", [7]),
        "filters.0.op: Input should be 'in', 'between', 'is_true' or 'is_false'",
    ),
    "a body that is not UTF-8": (b'\xff{"table": "student_terms"}', UNREAD),
    "a body nested too deeply": (b"[" * 30_000 + b"]" * 30_000, UNREAD),
    "a number of 5000 digits": (
        b'{"table": "student_terms", "rho": 1' + b"0" * 5000 + b"}",
        UNREAD,
    ),
    "a body that is not JSON": (
        '{"table": "student_terms",',
        "the body is not valid JSON (Expecting property name enclosed in double quotes at "
        "character 27); send JSON",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_spec_is_invalid_with_where_and_what(world: World, case: str) -> None:
    spec, message = MALFORMED[case]
    raw = spec if isinstance(spec, str | bytes) else json.dumps(spec)
    headers = {**world.as_("ann"), "Content-Type": "application/json"}
    answer = world.client.post(
        f"/v1/projects/{world.project}/preview", content=raw, headers=headers
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == {"code": "invalid", "message": message}


# a lone surrogate ("\ud800" in JSON) is not Unicode: no answer, page or file could show it.
# Each case: the spec, where in it the surrogate is ("": the spec itself), and what is said.
SURROGATE = "text with a lone surrogate, which is not Unicode; give valid text"
NOT_UNICODE = {
    "a filter value": (
        '{"table":"student_terms","measures":[{"kind":"count_students"}],'
        '"filters":[{"column":"term","op":"in","values":["2026HT","\\ud800"]}]}',
        "filters.0.values.1",
        SURROGATE,
    ),
    "a table": ('{"table":"\\ud800x","measures":[{"kind":"count_students"}]}', "table", SURROGATE),
    "a field's name": (
        '{"table":"student_terms","measures":[{"kind":"count_students"}],"\\udfff":1}',
        "",
        "a field's name has a lone surrogate, which is not Unicode",
    ),
}


@pytest.mark.parametrize("case", sorted(NOT_UNICODE))
def test_text_that_is_not_unicode_is_invalid_and_the_release_log_stays_readable(
    world: World, case: str
) -> None:
    raw, where, what = NOT_UNICODE[case]
    for route, body, place in (
        ("preview", raw, where or "the body"),
        ("releases", f'{{"spec":{raw}}}', f"spec.{where}".rstrip(".")),
    ):
        headers = {**world.as_("ann"), "Content-Type": "application/json"}
        answer = world.client.post(
            f"/v1/projects/{world.project}/{route}", content=body, headers=headers
        )
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"] == {"code": "invalid", "message": f"{place}: {what}"}
    # refused instead, it would have gone into the release log, which the DPO could then no
    # longer read (a 500 on every call of /v1/dpo/releases)
    assert world.get("dora", "/v1/dpo/releases").status_code == 200


def test_a_filter_value_that_is_not_unicode_is_refused_by_the_release_layer() -> None:
    from polars import String

    from release._rules import _filter_expr
    from release._spec import Filter

    unchecked = Filter.model_construct(column="term", op="in", values=("\ud800",))
    with pytest.raises(QueryRefused, match=r"^filter on term: value 1 is not valid Unicode"):
        _filter_expr(unchecked, String())


def test_an_error_message_is_always_utf_8() -> None:
    body = error_body("refused", "there is no table '\udfff'", "real")
    assert body["error"] == {"code": "refused", "message": "there is no table '\\udfff'"}


def test_a_budget_of_infinity_is_invalid(world: World) -> None:
    answer = world.client.post(
        "/v1/office/projects/nope/approve",
        content='{"rho":Infinity}',
        headers={**world.as_("adam"), "Content-Type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == {"code": "invalid", "message": f"rho: {NOT_FINITE}"}


def test_a_vanishing_rho_is_invalid(dp_world: World) -> None:
    """A ρ below the floor (release/_spec.py MIN_RHO) is invalid: OpenDP fails on a subnormal ρ
    and runs for minutes below about 1e-18, holding the service's lock."""
    spec = {**BY_GRADE, "mode": "dp", "rho": 5e-324}
    answer = dp_world.post("ann", f"/v1/projects/{dp_world.project}/preview", spec)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "invalid"


def test_a_dp_mean_and_sum_of_one_column_are_released(dp_world: World) -> None:
    """A mean's numerator and a sum of the same column are two released columns, not one."""
    measures = [{"kind": "mean", "column": "days_absent"}, {"kind": "sum", "column": "days_absent"}]
    spec = {**BY_GRADE, "measures": measures, "mode": "dp", "rho": 0.01}
    answer = dp_world.post("ann", f"/v1/projects/{dp_world.project}/releases", {"spec": spec})
    assert answer.status_code == 200, answer.text


# --- the researcher's client against a real server ----------------------------------------


@pytest.fixture(scope="module")
def served(
    research_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Service, FastAPI]]:
    """The service on a real server, and its app (to make it fail)."""
    control_url = f"sqlite:///{tmp_path_factory.mktemp('bad-input-service') / 'control.db'}"
    app = create_app(
        Settings(
            data_dir=research_dir, control_url=control_url, mode="development", secure_cookies=False
        )
    )
    gov = Governance(connect_control_plane(control_url))
    register_office(gov)
    set_cap(gov, DATASET, 100.0)
    with serving(app) as url:
        yield Service(url, gov), app


def test_the_client_keeps_working_after_a_spec_with_mixed_bounds(
    served: tuple[Service, FastAPI],
) -> None:
    service, _ = served
    mixed = Spec("student_terms").by("grade").where_between("days_absent", 0, 0.5).dp(rho=0.01)
    with service.client("mixed-bounds") as client:
        assert client.preview(mixed.count_students()).mode == "dp"
        with pytest.raises(Refused, match=r"^filter on grade: value 1 is true or false"):
            client.preview(_filtered("grade", "in", [True]))
        with pytest.raises(Invalid, match=r"^request: Value error, a spec needs at least one"):
            client.preview({"table": "student_terms"})
        assert client.submit(mixed.count_students()).released
        assert not client.budget().empty


def test_after_an_internal_error_the_connection_stays_open_and_the_log_holds_no_message(
    served: tuple[Service, FastAPI],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    service, app = served

    def explode(*_: object, **__: object) -> None:
        raise KeyError("199001011234")  # an internal message that might quote data

    monkeypatch.setattr(app.state.medler.releases, "preview", explode)
    with service.client("internal-error") as client:
        with pytest.raises(MedlerApiError) as failed:
            client.preview(BY_GRADE)
        assert (failed.value.status, failed.value.code) == (500, "internal")
        assert failed.value.message == "internal error (KeyError); this is a bug in medler"
        assert not client.budget().empty  # the same connection, still good
    logged = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("internal error: KeyError at test_bad_input.py:") for m in logged)
    assert not any("199001011234" in m for m in logged)


def test_the_client_takes_a_new_connection_after_a_5xx() -> None:
    """A server that closes the connection after a 500 (any server that is not medler's,
    such as a proxy, may) does not make the client's next request fail."""
    app = FastAPI()

    @app.get("/v1/projects")
    def projects() -> dict[str, Any]:
        return {"projects": [], "data": "real"}

    @app.post("/v1/projects/{project}/preview")
    def preview(project: str, spec: dict[str, Any]) -> None:
        # the body is read first: a server that closes a socket with unread bytes in it sends a
        # reset, which may reach the client before the 500 does
        raise RuntimeError("the server fails, and uvicorn drops the connection")

    with serving(app) as url, Client(url, "medler_x_y", project="p") as client:
        for _ in range(3):
            with pytest.raises(MedlerApiError, match=r"Internal Server Error \(500 http\)"):
                client.preview(BY_GRADE)
            assert client.projects().empty
