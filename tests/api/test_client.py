"""The researcher's client against the real service: the FastAPI app over the shared research
snapshot, served by uvicorn on a free localhost port in a background thread, and a
``Client(url, token)`` speaking HTTP to it. Each test registers its own project, researcher and
token (the snapshot's release store is shared by the session, so project ids are unique).
Also: the spec builder's immutability and validation, and the client's import hygiene."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import uvicorn
from fastapi import FastAPI

from api.client import (
    BudgetExhausted,
    Client,
    Conflict,
    DummyDataWarning,
    Invalid,
    MedlerApiError,
    NotAllowed,
    NotAuthenticated,
    NotFound,
    RateLimited,
    Refused,
    RequestTooLarge,
    Result,
    Spec,
)
from api.client._errors import error_from
from api.service import Settings, create_app
from release.governance import DATASET, BudgetScope, Governance, Principal, connect_control_plane
from tests.research_data import research_dir

__all__ = ["research_dir"]

ADMIN = Principal("root", "admin")
OFFICE_A, OFFICE_B = Principal("registrar", "statistician"), Principal("approver", "statistician")
TABLES = {"exposure": ["*"], "student_terms": ["*"], "student_months": ["*"]}
STATUSES = {"released", "suppressed", "rounded"}

BY_GRADE = Spec("student_terms").by("grade").count_students().mean("days_absent")
# exact, beside DP_BY_GRADE in one project: another table (a project gets one regime a table)
MONTHS_BY_GRADE = Spec("student_months").by("grade").count_students()
DP_BY_GRADE = (
    Spec("student_terms")
    .by("grade")
    .where_in("term", "2026HT")
    .count_students()
    .mean("days_absent")
    .share("persistent_absence")
    .quantile("days_absent", 0.5)
    .sum("absent_minutes")
    .dp(rho=0.05)
)
# cells taught by fewer than 3 teachers: a reviewable check fails, so the request is held
FEW_TEACHERS = (
    Spec("exposure")
    .by("school_code", "subject_code", "grade")
    .count_students()
    .mean("certified_share")
    .dp(rho=0.1)
)


# --- the service ------------------------------------------------------------------------------


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """``app`` served by uvicorn on a free localhost port in a thread; yields its address."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", ws="none", http="h11"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@dataclass
class Service:
    """A running service, and the office's side of its control plane."""

    url: str
    gov: Governance

    def enrol(
        self, name: str, *, tables: dict[str, list[str]] | None = None, rho: float = 1.0
    ) -> tuple[str, str, str]:
        """A new approved project ``client-<name>`` with researcher ``r-<name>`` in it;
        returns the project, the researcher and their token."""
        project, researcher = f"client-{name}", f"r-{name}"
        today = dt.datetime.now(dt.UTC).date()
        self.gov.create_project(
            OFFICE_A,
            project,
            purpose="Absence and teachers",
            legal_basis="Official statistics",
            organisation="Uni",
            valid_from=today - dt.timedelta(days=1),
            valid_to=today + dt.timedelta(days=30),
            tables=tables or TABLES,
        )
        self.gov.approve_project(OFFICE_B, project, rho=rho)
        self.gov.add_person(
            OFFICE_A, researcher, role="researcher", name=name.title(), organisation="Uni"
        )
        self.gov.add_member(OFFICE_A, project, researcher, rho=rho)
        return project, researcher, self.gov.issue_token(OFFICE_A, researcher, days=1).token

    def client(self, name: str, **kwargs: Any) -> Client:
        project, _, token = self.enrol(name, **kwargs)
        return Client(self.url, token, project=project)


def register_office(gov: Governance) -> None:
    """The first admin on the empty control plane, and the office's two statisticians (the
    second confirmed by the first)."""
    gov.bootstrap(ADMIN.id, name="Root", organisation="Office")
    for person in (OFFICE_A, OFFICE_B):
        proposal = gov.add_person(
            ADMIN, person.id, role=person.role, name=person.id.title(), organisation="Office"
        )
        if proposal is not None:
            gov.decide(OFFICE_A, proposal, confirm=True)


def set_cap(gov: Governance, scope: BudgetScope, rho: float) -> None:
    """A cap set by the registrar, confirmed by the approver when it is a raise."""
    proposal = gov.set_budget(OFFICE_A, scope, rho)
    if proposal is not None:
        gov.decide(OFFICE_B, proposal, confirm=True)


@contextmanager
def _service(research_dir: Path, folder: Path, **settings: Any) -> Iterator[Service]:
    control_url = f"sqlite:///{folder / 'control.db'}"
    app = create_app(
        Settings(data_dir=research_dir, control_url=control_url, secure_cookies=False, **settings)
    )
    gov = Governance(connect_control_plane(control_url))
    register_office(gov)
    set_cap(gov, DATASET, 100.0)
    with serving(app) as url:
        yield Service(url, gov)


@pytest.fixture(scope="module")
def service(research_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with _service(
        research_dir, tmp_path_factory.mktemp("client-service"), mode="development"
    ) as svc:
        yield svc


@pytest.fixture
def client(service: Service, request: pytest.FixtureRequest) -> Iterator[Client]:
    """A researcher of their own project, named after the test."""
    name = request.node.name.removeprefix("test_").replace("_", "-")[:55].strip("-")
    with service.client(name) as c:
        yield c


def _no_identifiers(*frames: pd.DataFrame | None) -> None:
    for f in frames:
        assert f is not None
        assert not [c for c in f.columns if "_pid" in str(c)], list(f.columns)


# --- catalogue, projects, budget --------------------------------------------------------------


def test_projects_and_catalogue(client: Client) -> None:
    projects = client.projects()
    assert list(projects["id"]) == [client.project]
    assert projects.loc[0, "status"] == "approved"
    assert projects.loc[0, "tables"] == TABLES
    catalogue = client.catalogue()
    assert catalogue.project == client.project and catalogue.data_label == "real"
    assert set(catalogue.tables) >= {"exposure", "student_terms"}
    columns = catalogue.columns
    assert list(columns.columns) == [
        "table",
        "column",
        "kind",
        "approved",
        "keys",
        "lower",
        "upper",
    ]
    assert not columns["column"].str.contains("_pid").any()  # identifiers are never listed
    assert "identifier" not in set(columns["kind"])
    mine = columns[columns["table"].isin(TABLES)]
    assert mine["approved"].all()
    assert not columns[~columns["table"].isin(TABLES)]["approved"].any()
    assert catalogue.keys("student_terms", "grade") == list(range(10))
    days = columns[(columns["table"] == "student_terms") & (columns["column"] == "days_absent")]
    assert (days["lower"].item(), days["upper"].item()) == (0.0, 100.0)
    with pytest.raises(KeyError):
        catalogue.keys("student_terms", "nothing")
    _no_identifiers(projects, columns)


def test_budget_frame(client: Client) -> None:
    budget = client.budget()
    assert list(budget["level"]) == ["dataset", "project", "researcher"]
    assert list(budget.columns) == [
        "scope",
        "level",
        "cap_rho",
        "spent_rho",
        "reserved_rho",
        "remaining_rho",
        "spent_epsilon",
        "cap_epsilon",
        "delta",
    ]
    researcher = budget.set_index("level").loc["researcher"]
    assert researcher["scope"] == f"researcher:{client.project}:r-budget-frame"
    assert (researcher["cap_rho"], researcher["spent_rho"]) == (1.0, 0.0)
    assert researcher["remaining_rho"] == researcher["cap_rho"] - researcher["spent_rho"]
    assert (budget["delta"] == 1e-9).all() and (budget["cap_epsilon"] > 0).all()
    looser = client.budget(delta=1e-5)
    assert (looser["delta"] == 1e-5).all()
    assert (looser["cap_epsilon"] < budget["cap_epsilon"]).all()  # a larger δ: a smaller ε


# --- preview ----------------------------------------------------------------------------------


def test_a_dp_preview_gives_accuracy_and_costs_nothing(client: Client) -> None:
    preview = client.preview(DP_BY_GRADE)
    assert preview.mode == "dp" and preview.rho == pytest.approx(0.05)
    assert preview.data_label == "real" and preview.cells.empty
    accuracy = preview.accuracy.set_index("measure")
    assert list(accuracy.index) == list(DP_BY_GRADE.measure_names)
    assert accuracy.loc["count_students", "half_width"] > 0
    assert accuracy.loc["mean_days_absent", "count_half_width"] > 0
    assert client.budget().set_index("level").loc["researcher", "spent_rho"] == 0.0


def test_the_planner_prices_a_question_and_costs_nothing(client: Client) -> None:
    plan = client.plan(DP_BY_GRADE, persons=120, half_width=0.5, measure="mean_days_absent")
    assert plan.rho > 0 and plan.half_widths["mean_days_absent"] == pytest.approx(0.5, rel=1e-3)
    assert plan.remaining_rho is not None and plan.questions == int(plan.remaining_rho / plan.rho)
    assert client.budget().set_index("level").loc["researcher", "spent_rho"] == 0.0


def test_an_sdc_preview_gives_statuses_and_no_values(client: Client) -> None:
    preview = client.preview(BY_GRADE.with_margins())
    assert preview.mode == "sdc" and preview.rho == 0.0 and preview.accuracy.empty
    assert list(preview.cells.columns) == ["grade", "status"]  # no values
    assert list(preview.cells["grade"]) == [*range(10), "all"]
    assert set(preview.cells["status"]) <= STATUSES
    assert client.releases().empty  # a preview releases nothing


# --- submit -----------------------------------------------------------------------------------


def test_an_sdc_release_is_a_frame_with_whole_counts_and_margins(client: Client) -> None:
    result = client.submit(BY_GRADE.where_in("term", "2026HT").with_margins())
    assert result.released and result.status == "released"
    assert (result.mode, result.rho, result.cached, result.request_id) == ("sdc", 0.0, False, None)
    assert result.release_id is not None and result.release_id.startswith("r-")
    assert result.data_label == "real" and result.policy_version
    table = result.table
    assert table is not None
    assert list(table.columns) == ["grade", "status", "count_students", "mean_days_absent"]
    assert str(table["count_students"].dtype) == "Int64"
    assert list(table["grade"]) == [*range(10), "all"]
    assert set(table["status"]) <= STATUSES
    interior, total = table[table["grade"] != "all"], table[table["grade"] == "all"]
    if (interior["status"] == "released").all():
        assert total["count_students"].item() == interior["count_students"].sum()
    assert interior["mean_days_absent"].between(0, 100).all()
    assert result.spec["margins"] is True
    assert Spec.from_dict(result.spec) == BY_GRADE.where_in("term", "2026HT").with_margins()


def test_a_dp_release_has_intervals_around_each_value(client: Client) -> None:
    result = client.submit(DP_BY_GRADE)
    assert (result.mode, result.cached) == ("dp", False)
    assert result.rho == pytest.approx(0.05)
    table = result.table
    assert table is not None
    assert list(table["grade"]) == list(range(10))  # every public key, in order
    for name in DP_BY_GRADE.measure_names:
        value, low, high = table[name], table[f"{name}_lower"], table[f"{name}_upper"]
        assert value.notna().any(), name
        shown = value.notna() & low.notna() & high.notna()
        # a dp quantile (the exponential mechanism) comes without an interval
        assert shown.any() or name.startswith("quantile_"), name
        assert (low[shown] <= value[shown]).all() and (value[shown] <= high[shown]).all(), name
    assert client.budget().set_index("level").loc["researcher", "spent_rho"] == pytest.approx(0.05)

    # the identical spec again: the earlier release, at no new cost
    again = client.submit(DP_BY_GRADE)
    assert again.cached and again.release_id == result.release_id
    assert again.table is not None and again.table.equals(table)
    assert client.budget().set_index("level").loc["researcher", "spent_rho"] == pytest.approx(0.05)

    # fetched by its id: the same result
    fetched = client.release(result.release_id or "")
    assert fetched == result
    assert fetched != again  # that one was cached


def test_a_request_with_a_justification_is_held(client: Client) -> None:
    result = client.submit(BY_GRADE, justification="Grade 0 on its own is the question")
    assert result.status == "held" and not result.released
    assert result.table is None and result.release_id is None and result.rho == 0.0
    assert isinstance(result.request_id, int) and result.checks == ()
    assert "held" in repr(result)
    requests = client.requests()
    assert list(requests["id"]) == [result.request_id]
    assert requests.loc[0, "status"] == "held"
    assert requests.loc[0, "justification"] == "Grade 0 on its own is the question"
    assert str(requests["at"].dtype).startswith("datetime64") and requests["at"].dt.tz
    assert client.releases().empty
    _no_identifiers(requests)


def test_a_request_that_fails_a_reviewable_check_is_held_with_its_checks(client: Client) -> None:
    result = client.submit(FEW_TEACHERS)
    assert result.status == "held" and result.request_id is not None
    assert [c.check for c in result.checks] == ["teachers"]
    assert "teachers" in result.checks[0].reason
    requests = client.requests()
    assert requests.loc[0, "checks"] == [f"teachers: {result.checks[0].reason}"]
    assert client.budget().set_index("level").loc["researcher", "spent_rho"] == 0.0


# --- releases and downloads -------------------------------------------------------------------


def test_the_release_log_is_a_frame_newest_first(client: Client) -> None:
    first = client.submit(MONTHS_BY_GRADE)
    second = client.submit(DP_BY_GRADE)
    log = client.releases()
    assert list(log["release_id"]) == [second.release_id, first.release_id]
    assert list(log["mode"]) == ["dp", "sdc"] and set(log["status"]) == {"released"}
    assert list(log["rho"]) == pytest.approx([0.05, 0.0])
    assert str(log["at"].dtype).startswith("datetime64") and log["at"].dt.tz is not None
    assert log["at"].is_monotonic_decreasing
    assert "count_students" not in log.columns  # a log, never values
    _no_identifiers(log)


def test_downloads_in_every_format(client: Client, tmp_path: Path) -> None:
    result = client.submit(DP_BY_GRADE)
    table, release_id = result.table, result.release_id
    assert table is not None and release_id is not None

    csv = pd.read_csv(io.BytesIO(client.download(release_id, "csv")))
    csv = csv.sort_values("grade").reset_index(drop=True)  # files keep the service's order
    assert list(csv.columns) == list(table.columns)
    assert list(csv["grade"]) == list(table["grade"])
    assert list(csv["count_students_upper"]) == pytest.approx(list(table["count_students_upper"]))

    body = json.loads(client.download(release_id, "json"))
    assert body["release_id"] == release_id and body["mode"] == "dp"
    assert len(body["rows"]) == len(table)
    assert set(body["rows"][0]) == set(table.columns)

    parquet = pd.read_parquet(io.BytesIO(client.download(release_id, "parquet")))
    assert list(parquet.columns) == list(table.columns)
    by_grade = parquet.sort_values("grade").reset_index(drop=True)
    assert list(by_grade["mean_days_absent"]) == pytest.approx(list(table["mean_days_absent"]))

    written = client.download(release_id, "csv", path=tmp_path / "mine.csv")
    assert written == tmp_path / "mine.csv" and written.read_bytes().startswith(b"grade,status")
    into = client.download(release_id, "parquet", path=tmp_path)
    assert into == tmp_path / f"{release_id}.parquet" and into.stat().st_size > 0
    with pytest.raises(ValueError, match="format is one of csv, json, parquet"):
        client.download(release_id, "xlsx")  # type: ignore[call-overload]
    _no_identifiers(csv, parquet, pd.DataFrame(body["rows"]))


# --- errors, each from a real answer ----------------------------------------------------------


def test_a_bad_token_is_not_authenticated(service: Service) -> None:
    for token in ("medler_0123456789abcdef_wrong", "not-a-token"):
        with (
            Client(service.url, token, project="client-x") as c,
            pytest.raises(NotAuthenticated) as caught,
        ):
            c.projects()
        assert (caught.value.status, caught.value.code) == (401, "not_authenticated")
        assert "token" in caught.value.message and caught.value.message in str(caught.value)


def test_a_spec_about_one_person_is_refused(client: Client) -> None:
    identifying = {
        "table": "student_terms",
        "group_by": ["student_pid"],
        "measures": [{"kind": "count_students"}],
    }
    for call in (client.preview, client.submit):
        with pytest.raises(Refused, match="identifies a person") as caught:
            call(identifying)
        assert (caught.value.status, caught.value.code) == (403, "refused")
        assert isinstance(caught.value, MedlerApiError)
        assert not isinstance(caught.value, NotAllowed)


def test_another_project_reads_as_an_unknown_one(service: Service, client: Client) -> None:
    """A project the researcher is not in answers exactly as one that does not exist (404,
    the same words): the client learns nothing about other projects."""
    other, _, _ = service.enrol("not-mine")
    with pytest.raises(NotFound) as caught:
        client.catalogue(other)
    assert (caught.value.status, caught.value.code) == (404, "not_found")
    assert str(caught.value) == (
        f"there is no project '{other}' that you are a member of (404 not_found)"
    )
    with pytest.raises(NotFound, match=f"there is no project '{other}' that you are a member"):
        client.submit(BY_GRADE, project=other)
    with pytest.raises(NotFound) as missing:
        client.budget("client-nowhere")
    assert (missing.value.status, missing.value.code) == (404, "not_found")
    assert str(missing.value) == (
        "there is no project 'client-nowhere' that you are a member of (404 not_found)"
    )


def test_an_unknown_release_is_not_found(client: Client) -> None:
    with pytest.raises(NotFound, match="no release") as caught:
        client.release("r-20200101T000000-00000000")
    assert (caught.value.status, caught.value.code) == (404, "not_found")
    with pytest.raises(NotFound):
        client.download("r-20200101T000000-00000000", "json")


def test_a_query_beyond_the_budget_is_refused_as_exhausted(service: Service) -> None:
    project, researcher, token = service.enrol("budget-cap")
    lowered = service.gov.set_budget(OFFICE_A, BudgetScope.of_researcher(project, researcher), 0.01)
    assert lowered is None  # lowering a cap needs nobody else
    with Client(service.url, token, project=project) as client:
        with pytest.raises(BudgetExhausted, match="ρ") as caught:
            client.submit(DP_BY_GRADE)
        assert (caught.value.status, caught.value.code) == (409, "budget_exhausted")
        assert not isinstance(caught.value, Conflict)
        assert client.preview(DP_BY_GRADE).rho == pytest.approx(0.05)  # a preview still works
        assert client.budget().set_index("level").loc["researcher", "spent_rho"] == 0.0


def test_an_invalid_request_is_invalid(client: Client) -> None:
    no_rho = {"table": "student_terms", "measures": [{"kind": "count_students"}], "mode": "dp"}
    with pytest.raises(Invalid, match="needs rho") as caught:
        client.preview(no_rho)
    assert (caught.value.status, caught.value.code) == (422, "invalid")
    with pytest.raises(Invalid):
        client.submit({"table": "student_terms", "measures": []})
    with pytest.raises(Invalid, match="delta"):
        client.budget(delta=2)


def test_a_request_too_large(client: Client) -> None:
    huge = BY_GRADE.where_in("term", [f"term-{i:06d}" for i in range(20_000)])
    with pytest.raises(RequestTooLarge) as caught:
        client.preview(huge)
    assert (caught.value.status, caught.value.code) == (413, "request_too_large")


def test_error_answers_without_a_route_of_their_own() -> None:
    def answer(status: int, code: str, **headers: str) -> MedlerApiError:
        body = {"error": {"code": code, "message": f"it is {code}"}, "data": "real"}
        return error_from(httpx.Response(status, json=body, headers=headers))

    conflict = answer(409, "conflict")
    assert type(conflict) is Conflict and conflict.message == "it is conflict"
    limited = answer(429, "rate_limited", **{"Retry-After": "7"})
    assert isinstance(limited, RateLimited) and limited.retry_after == 7
    internal = answer(500, "internal")
    assert type(internal) is MedlerApiError and internal.status == 500
    gateway = error_from(httpx.Response(502, text="<html>Bad gateway</html>"))
    assert (gateway.status, gateway.code) == (502, "http") and "Bad gateway" in str(gateway)


# --- dummy data and rate limits ---------------------------------------------------------------


def test_dummy_answers_are_labelled_and_warned_about_once(
    research_dir: Path, tmp_path: Path
) -> None:
    with (
        _service(research_dir, tmp_path, mode="dummy", rate_limit_per_minute=6) as svc,
        svc.client("dummy-label") as c,
    ):
        with pytest.warns(DummyDataWarning, match="results are from dummy data"):
            assert c.data_label is None
            c.projects()
        assert c.data_label == "dummy"
        result = c.submit(BY_GRADE)  # no second warning (warnings are errors here)
        assert result.data_label == "dummy"
        assert c.preview(BY_GRADE).data_label == "dummy"
        assert c.catalogue().data_label == "dummy"
        with pytest.raises(RateLimited, match="requests a minute") as caught:
            for _ in range(6):
                c.budget()
        assert caught.value.status == 429 and (caught.value.retry_after or 0) >= 1


def test_a_client_over_an_http_client_of_ones_own(service: Service) -> None:
    project, _, token = service.enrol("own-http")
    with httpx.Client(timeout=30) as http:
        c = Client(service.url + "/v1/", token, http=http)  # no project: their only one
        assert c.catalogue().project == project
        assert c.data_label == "real"
        c.close()
        assert not http.is_closed  # not the client's to close
        assert token not in repr(c)


# --- every frame: no pseudonyms ---------------------------------------------------------------


def test_no_frame_the_client_returns_has_a_pseudonym_column(client: Client) -> None:
    released = client.submit(MONTHS_BY_GRADE.with_margins())
    dp = client.submit(DP_BY_GRADE)
    held = client.submit(FEW_TEACHERS)
    preview = client.preview(MONTHS_BY_GRADE)
    assert held.table is None
    _no_identifiers(
        client.projects(),
        client.catalogue().columns,
        client.budget(),
        released.table,
        dp.table,
        preview.cells,
        preview.accuracy,
        client.releases(),
        client.requests(),
        client.release(dp.release_id or "").table,
    )


# --- the spec builder -------------------------------------------------------------------------


def test_every_builder_call_returns_a_new_spec_and_leaves_the_old_one() -> None:
    base = Spec("student_terms")
    before = dataclasses.asdict(base)
    steps = [
        lambda s: s.by("school_code", "grade"),
        lambda s: s.where_in("term", "2026HT"),
        lambda s: s.where_between("grade", 7, 9),
        lambda s: s.where_true("persistent_absence"),
        lambda s: s.where_false("severe_absence"),
        lambda s: s.count_students(),
        lambda s: s.count_teachers(),
        lambda s: s.mean("days_absent"),
        lambda s: s.share("persistent_absence"),
        lambda s: s.quantile("days_absent", 0.5),
        lambda s: s.sum("absent_minutes"),
        lambda s: s.with_margins(),
        lambda s: s.with_margins(False),
        lambda s: s.dp(rho=0.05),
        lambda s: s.sdc(),
    ]
    spec = base
    for step in steps:
        state = dataclasses.asdict(spec)
        after = step(spec)
        assert after is not spec and isinstance(after, Spec)
        assert dataclasses.asdict(spec) == state  # unchanged
        spec = after
    assert dataclasses.asdict(base) == before
    assert spec.to_dict() == {
        "table": "student_terms",
        "measures": [
            {"kind": "count_students"},
            {"kind": "count_teachers"},
            {"kind": "mean", "column": "days_absent"},
            {"kind": "share", "column": "persistent_absence"},
            {"kind": "quantile", "column": "days_absent", "q": 0.5},
            {"kind": "sum", "column": "absent_minutes"},
        ],
        "group_by": ["school_code", "grade"],
        "filters": [
            {"column": "term", "op": "in", "values": ["2026HT"]},
            {"column": "grade", "op": "between", "values": [7, 9]},
            {"column": "persistent_absence", "op": "is_true"},
            {"column": "severe_absence", "op": "is_false"},
        ],
        "mode": "sdc",
    }
    assert spec.measure_names == (
        "count_students",
        "count_teachers",
        "mean_days_absent",
        "share_persistent_absence",
        "quantile_0.5_days_absent",
        "sum_absent_minutes",
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.table = "exposure"  # type: ignore[misc]
    assert hash(spec) == hash(Spec.from_dict(spec.to_dict()))  # hashable, and equal by value


def test_a_spec_reads_back_from_its_json_and_from_a_release() -> None:
    spec = DP_BY_GRADE.where_between("days_absent", 0.5, 30)
    assert Spec.from_dict(spec.to_dict()) == spec
    as_released = {
        "table": "student_terms",
        "group_by": ["grade"],
        "filters": [],
        "measures": [{"kind": "count_students", "column": None, "q": None}],
        "mode": "sdc",
        "rho": None,
        "margins": True,
    }
    assert (
        Spec.from_dict(as_released)
        == Spec("student_terms").by("grade").count_students().with_margins()
    )
    assert Spec("t").where_in("grade", [7, 8]) == Spec("t").where_in("grade", 7, 8)
    with pytest.raises(ValueError, match="unknown spec fields: colour"):
        Spec.from_dict({**spec.to_dict(), "colour": "red"})


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Spec("t").count_students().dp(rho=0), "needs rho"),
        (lambda: Spec("t").count_students().dp(rho=-1.0), "needs rho"),
        (lambda: Spec("t").count_students().dp(rho=float("nan")), "needs rho"),
        (lambda: Spec("t").with_margins().dp(rho=0.05), "margins are for sdc"),
        (lambda: Spec("t").dp(rho=0.05).with_margins(), "margins are for sdc"),
        (lambda: Spec("t", rho=0.1), "rho is for dp specs only"),
        (lambda: Spec("t").mean("x").mean("x"), "asked for twice: mean_x"),
        (lambda: Spec("t").count_students().count_students(), "asked for twice"),
        (lambda: Spec("t").by("grade").by("grade"), "named twice: grade"),
        (lambda: Spec("t").by("a", "a"), "named twice"),
        (lambda: Spec("t").quantile("x", 1.0), "strictly between 0 and 1"),
        (lambda: Spec("t").quantile("x", 0), "strictly between 0 and 1"),
        (lambda: Spec("t").where_between("grade", 9, 7), "the first is the lower bound"),
        (lambda: Spec("t").where_between("grade", 1, "b"), "not comparable"),
        (lambda: Spec("t").where_in("term"), "at least one value"),
        (lambda: Spec("t").where_in("term", None), "not a string, number"),
        (lambda: Spec("t").by(), "at least one column"),
        (lambda: Spec("t").mean(""), "needs a column name"),
        (lambda: Spec(""), "names a research table"),
        (lambda: Spec("t").to_dict(), "at least one measure"),
        (lambda: Spec("t", mode="fast"), "mode is sdc, dp or ckm"),
        (
            lambda: Spec.from_dict({"table": "t", "measures": [{"kind": "median"}]}),
            "unknown measure",
        ),
        (
            lambda: Spec.from_dict(
                {"table": "t", "measures": [{"kind": "count_students", "column": "x"}]}
            ),
            "takes no column",
        ),
    ],
)
def test_the_builder_refuses_what_it_can_know_is_wrong(build: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


def test_the_client_imports_neither_the_data_layers_nor_the_service() -> None:
    """What a researcher installs speaks HTTP only: importing it loads no layer that reads data
    or keys, and not the service."""
    code = (
        "import sys, api.client\n"
        "roots = {'release', 'linkage', 'pseudonymise', 'medler', 'polars', 'duckdb', 'ibis',\n"
        "         'sqlalchemy', 'fastapi', 'starlette', 'uvicorn', 'cryptography'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in roots\n"
        "             or m.startswith(('api.service', 'api.cli.')) or m == 'api.cli'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.stdout.strip() == "[]", out.stdout


def test_a_result_compares_by_value() -> None:
    table = pd.DataFrame({"grade": [1], "status": ["released"], "count_students": [12]})
    one = Result("released", "r-1", "sdc", 0.0, "s", "p", False, (), "real", table)
    assert one == Result("released", "r-1", "sdc", 0.0, "s", "p", False, (), "real", table.copy())
    assert one != dataclasses.replace(one, table=table.assign(count_students=[13]))
    assert one != dataclasses.replace(one, table=None)
    assert one != "r-1"


def test_ckm_asks_for_counts_under_the_cell_key_method() -> None:
    spec = Spec("student_terms").by("school_code").count_students().with_margins().ckm()
    assert spec.to_dict()["mode"] == "ckm" and spec.to_dict()["margins"] is True
    assert "rho" not in spec.to_dict() or spec.to_dict()["rho"] is None
    assert spec.with_margins(False).dp(rho=0.1).ckm().rho is None
    with pytest.raises(ValueError, match="rho is for dp specs only"):
        Spec("t", mode="ckm", rho=0.1)


def test_a_model_over_http_is_one_row_per_parameter(service: Service) -> None:
    """A regression through the client: sdc gives estimates, errors, t and p; dp gives the
    estimate's interval and charges its ρ. Nothing identifying in either table."""
    autumn = Spec("student_profiles").where_in("term", "2026HT")
    model = autumn.linear(
        "absence_rate_reported", ["certified_share", "novice_share"], ["grade_band"]
    )
    assert Spec.from_dict(model.to_dict()) == model
    tables = {"student_profiles": ["*"]}
    with service.client("model-sdc", tables=tables) as medler:
        exact = medler.submit(model)
        assert exact.released and exact.rho == 0.0
        assert exact.table is not None
        assert list(exact.table.columns) == [
            "parameter",
            "status",
            "estimate",
            "std_error",
            "t",
            "p_value",
        ]
        assert list(exact.table["parameter"]) == [
            "intercept",
            "certified_share",
            "novice_share",
            "grade_band[7-9]",
            "grade_band[F-3]",
        ]
        assert exact.notes[0].startswith("linear regression of absence_rate_reported: n = ")
    with service.client("model-dp", tables=tables) as medler:
        preview = medler.preview(model.dp(rho=0.2))
        assert preview.rho == pytest.approx(0.2)
        assert list(preview.accuracy["measure"])[:2] == ["n", "intercept"]
        noisy = medler.submit(model.dp(rho=0.2))
        assert noisy.rho == pytest.approx(0.2)
        assert noisy.table is not None
        assert list(noisy.table.columns) == [
            "parameter",
            "status",
            "estimate",
            "estimate_lower",
            "estimate_upper",
            "std_error",
        ]
        assert (noisy.table["estimate_lower"] <= noisy.table["estimate"]).all()
        spent = medler.budget().set_index("level").loc["researcher", "spent_rho"]
        assert spent == pytest.approx(0.2)
    _no_identifiers(exact.table, noisy.table)


def test_a_model_outside_the_approval_is_held_for_review(client: Client) -> None:
    """A model is a request like a table: outside the project's approval it is held for the
    DPO (nothing computed, nothing charged), with the check it failed."""
    model = (
        Spec("student_profiles")
        .where_in("term", "2026HT")
        .linear("absence_rate_reported", ["certified_share"])
    )
    result = client.submit(model.dp(rho=0.1))
    assert result.status == "held" and [c.check for c in result.checks] == ["approval"]
    assert client.budget().set_index("level").loc["researcher", "spent_rho"] == 0.0
