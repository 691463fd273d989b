"""The HTTP service through its routes: who may call what, the full path for researchers (spec
→ preview → submit → download), the DPO's review and log, the office's administration, every
error status with its message, limits, the dummy label, and nothing identifying in any
answer."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pytest
from fastapi.testclient import TestClient

from api.service import Settings, create_app, make_services
from api.service._deps import RateLimiter
from linkage import current_snapshot, table_files
from release import FileStore
from release.governance import DATASET, Governance, Principal
from tests.research_data import research_dir

__all__ = ["research_dir"]

BY_GRADE = {
    "table": "student_terms",
    "group_by": ["grade"],
    "margins": True,
    "measures": [{"kind": "count_students"}],
}
DP = {
    "table": "exposure",
    "group_by": ["school_code"],
    "mode": "dp",
    "rho": 0.1,
    "measures": [{"kind": "count_students"}, {"kind": "mean", "column": "certified_share"}],
}
FEW_TEACHERS = {**DP, "group_by": ["school_code", "subject_code", "grade"]}
# a 64-bit pseudonym printed as an integer: a run of 15+ digits standing alone (not inside a
# hex digest, a decimal fraction or an identifier)
PSEUDONYM = re.compile(r"(?<![\w.])-?\d{15,}(?![\w.])")
ADMIN, DPO = Principal("adam", "admin"), Principal("dora", "dpo")
OFFICE, APPROVER = Principal("registrar", "statistician"), Principal("approver", "statistician")


@dataclass
class World:
    client: TestClient
    project: str
    tokens: dict[str, str]
    gov: Governance

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def get(self, who: str, path: str, **kw: Any) -> Any:
        return self.client.get(path, headers=self.as_(who), **kw)

    def post(self, who: str, path: str, body: Any = None, **kw: Any) -> Any:
        return self.client.post(path, headers=self.as_(who), json=body, **kw)


def _world(research_dir: Path, tmp_path: Path, **settings: Any) -> World:
    options = {
        "data_dir": research_dir,
        "control_url": f"sqlite:///{tmp_path / 'control.db'}",
        "mode": "development",
        "secure_cookies": False,
        **settings,
    }
    services = make_services(Settings(**options))
    # the research data is shared by the session's tests, its release store is not: the audit
    # check reconciles the store with this world's control plane
    services.releaser.store = FileStore(tmp_path / "release")
    app = create_app(services=services)
    gov: Governance = app.state.medler.governance
    project = re.sub(r"[^a-z0-9-]", "-", tmp_path.name.lower())[-40:].strip("-")
    today = dt.datetime.now(dt.UTC).date()
    gov.bootstrap(ADMIN.id, name="Adam", organisation="Uni")  # the first admin
    for person, role in (
        ("registrar", "statistician"),
        ("approver", "statistician"),
        ("olga", "statistician"),
        ("dora", "dpo"),
        ("ann", "researcher"),
        ("bob", "researcher"),
    ):
        proposal = gov.add_person(ADMIN, person, role=role, name=person.title(), organisation="Uni")
        if proposal is not None:  # a second statistician: the first confirms
            gov.decide(OFFICE, proposal, confirm=True)
    raised = gov.set_budget(OFFICE, DATASET, 1.0)
    assert raised is not None
    gov.decide(APPROVER, raised, confirm=True)
    gov.create_project(
        OFFICE,
        project,
        purpose="Absence",
        legal_basis="Statistics",
        organisation="Uni",
        valid_from=today,
        valid_to=today + dt.timedelta(days=9),
        tables={"student_terms": ["*"], "exposure": ["*"]},
    )
    gov.approve_project(APPROVER, project, rho=1.0)
    gov.add_member(OFFICE, project, "ann", rho=0.5)
    tokens = {p: gov.issue_token(ADMIN, p).token for p in ("ann", "bob", "dora", "olga", "adam")}
    return World(TestClient(app, raise_server_exceptions=False), project, tokens, gov)


@pytest.fixture
def world(research_dir: Path, tmp_path: Path) -> Iterator[World]:
    w = _world(research_dir, tmp_path)
    yield w
    w.client.close()


def _error(response: Any) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["error"]["code"], body["error"]["message"]


# --- researchers ------------------------------------------------------------------------------


def test_a_researcher_goes_from_catalogue_to_a_downloaded_release(world: World) -> None:
    p = world.project
    projects = world.get("ann", "/v1/projects").json()
    assert [x["id"] for x in projects["projects"]] == [p] and projects["data"] == "real"
    catalogue = world.get("ann", f"/v1/projects/{p}/catalogue").json()
    tables = {t["name"]: t for t in catalogue["tables"]}
    assert tables["student_terms"]["approved_columns"] == ["*"]
    assert tables["student_months"]["approved_columns"] == []  # listed, not approved
    columns = {c["name"]: c for c in tables["student_terms"]["columns"]}
    assert "student_pid" not in columns  # identifiers are never listed
    assert columns["grade"]["keys"] == list(range(10))
    preview = world.post("ann", f"/v1/projects/{p}/preview", BY_GRADE).json()
    assert preview["mode"] == "sdc" and all(c["values"] == {} for c in preview["cells"])
    submitted = world.post("ann", f"/v1/projects/{p}/releases", {"spec": BY_GRADE})
    assert submitted.status_code == 200
    release = submitted.json()["release"]
    assert submitted.json()["status"] == "released" and release["rho"] == 0
    total = next(c for c in release["cells"] if c["margin"])
    assert total["values"]["count_students"] == sum(
        c["values"]["count_students"] for c in release["cells"] if not c["margin"]
    )
    rid = release["release_id"]
    assert world.get("ann", f"/v1/releases/{rid}").json()["cells"] == release["cells"]
    csv = world.get("ann", f"/v1/releases/{rid}/download", params={"format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    frame = pd.read_csv(io.StringIO(csv.text))
    assert list(frame.columns) == ["grade", "status", "count_students"]
    assert frame["count_students"].dtype.kind == "i" and "all" in set(frame["grade"].astype(str))
    parquet = world.get("ann", f"/v1/releases/{rid}/download", params={"format": "parquet"})
    assert pd.read_parquet(io.BytesIO(parquet.content)).shape == frame.shape
    as_json = json.loads(
        world.get("ann", f"/v1/releases/{rid}/download", params={"format": "json"}).content
    )
    assert as_json["release_id"] == rid and len(as_json["rows"]) == len(frame)
    log = world.get("ann", "/v1/releases").json()
    assert [e["release_id"] for e in log["entries"]] == [rid] and log["total"] == 1


def test_a_ckm_release_publishes_perturbed_whole_counts(world: World) -> None:
    p = world.project
    spec = {
        "table": "student_terms",
        "group_by": ["grade"],
        "margins": True,
        "mode": "ckm",
        "measures": [{"kind": "count_students"}],
    }
    preview = world.post("ann", f"/v1/projects/{p}/preview", spec).json()
    assert preview["mode"] == "ckm" and all(c["values"] == {} for c in preview["cells"])
    release = world.post("ann", f"/v1/projects/{p}/releases", {"spec": spec}).json()["release"]
    assert release["mode"] == "ckm" and release["rho"] == 0
    assert {c["status"] for c in release["cells"]} == {"perturbed"}
    csv = world.get(
        "ann", f"/v1/releases/{release['release_id']}/download", params={"format": "csv"}
    )
    assert pd.read_csv(io.StringIO(csv.text))["count_students"].dtype.kind == "i"
    sdc = world.post("ann", f"/v1/projects/{p}/releases", {"spec": {**spec, "mode": "sdc"}})
    assert sdc.status_code == 403 and "under ckm" in sdc.json()["error"]["message"]


def test_a_dp_release_has_intervals_and_is_charged_once(world: World) -> None:
    p = world.project
    preview = world.post("ann", f"/v1/projects/{p}/preview", DP).json()
    assert preview["rho"] == pytest.approx(0.1) and preview["accuracy"]
    first = world.post("ann", f"/v1/projects/{p}/releases", {"spec": DP}).json()["release"]
    for cell in first["cells"]:
        for name, value in cell["values"].items():
            assert cell["lower"][name] <= value <= cell["upper"][name]
    again = world.post("ann", f"/v1/projects/{p}/releases", {"spec": DP}).json()["release"]
    assert again["cached"] and again["cells"] == first["cells"]
    budget = world.get("ann", f"/v1/projects/{p}/budget", params={"delta": 1e-6}).json()
    levels = {x["level"]: x for x in budget["levels"]}
    assert set(levels) == {"dataset", "project", "researcher"}
    assert levels["researcher"]["spent_rho"] == pytest.approx(0.1)
    assert levels["researcher"]["remaining_rho"] == pytest.approx(0.4)
    assert levels["project"]["spent_epsilon"] == pytest.approx(
        0.1 + 2 * (0.1 * 13.815510557964274) ** 0.5
    )


def test_a_held_request_is_approved_by_the_dpo(world: World) -> None:
    p = world.project
    held = world.post("ann", f"/v1/projects/{p}/releases", {"spec": FEW_TEACHERS}).json()
    assert held["status"] == "held" and held["release"] is None
    request = held["request"]
    assert [c["check"] for c in request["checks"]] == ["teachers"]
    assert world.get("ann", "/v1/requests").json()["requests"][0]["status"] == "held"
    listed = world.get("dora", "/v1/dpo/requests").json()["requests"]
    assert [r["id"] for r in listed] == [request["id"]]
    path = f"/v1/dpo/requests/{request['id']}"
    assert _error(world.post("dora", f"{path}/approve", {"reason": ""}))[:2] == (422, "invalid")
    done = world.post("dora", f"{path}/approve", {"reason": "Class-level means are the purpose"})
    assert done.status_code == 200 and done.json()["status"] == "released"
    assert _error(world.post("dora", f"{path}/reject", {"reason": "late"})) == (
        409,
        "conflict",
        f"request {request['id']} is released, not held",
    )
    log = world.get("dora", "/v1/dpo/releases", params={"project": p}).json()
    assert [e["status"] for e in log["entries"]] == ["released"]
    assert log["entries"][0]["requester"] == "ann"
    assert "cells" not in json.dumps(log) and "values" not in json.dumps(log)
    audit = world.get("dora", "/v1/dpo/audit").json()
    assert audit["ok"], audit.get("problem", audit)
    assert audit["ok"] and audit["records"] == audit["head_seq"] > 0
    witness = f"{audit['head_seq']}:{audit['head_hash']}"
    assert world.get("dora", "/v1/dpo/audit", params={"witness": witness}).json()["ok"]
    assert _error(world.get("dora", "/v1/dpo/audit", params={"witness": witness[:-1]}))[:2] == (
        422,
        "invalid",
    )


def test_the_release_log_filters_and_pages(world: World) -> None:
    p = world.project
    world.post("ann", f"/v1/projects/{p}/releases", {"spec": BY_GRADE})
    refused = {**BY_GRADE, "group_by": ["student_pid"]}
    assert world.post("ann", f"/v1/projects/{p}/releases", {"spec": refused}).status_code == 403
    log = world.get("dora", "/v1/dpo/releases", params={"project": p}).json()
    assert [e["status"] for e in log["entries"]] == ["refused", "released"]
    assert "identifies a person" in log["entries"][0]["reason"]
    only = world.get("dora", "/v1/dpo/releases", params={"project": p, "status": "released"})
    assert only.json()["total"] == 1
    paged = world.get("dora", "/v1/dpo/releases", params={"project": p, "limit": 1, "offset": 1})
    assert paged.json()["total"] == 2 and len(paged.json()["entries"]) == 1
    tomorrow = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()
    assert world.get("dora", "/v1/dpo/releases", params={"since": tomorrow}).json()["total"] == 0


# --- who may call what ------------------------------------------------------------------------

ROUTES = [
    ("get", "/v1/projects", None),
    ("get", "/v1/projects/{p}/catalogue", None),
    ("get", "/v1/projects/{p}/budget", None),
    ("post", "/v1/projects/{p}/preview", BY_GRADE),
    ("post", "/v1/projects/{p}/releases", {"spec": BY_GRADE}),
    ("get", "/v1/releases", None),
    ("get", "/v1/requests", None),
    ("get", "/v1/dpo/releases", None),
    ("get", "/v1/dpo/requests", None),
    ("get", "/v1/dpo/budgets", None),
    ("get", "/v1/dpo/audit", None),
    ("get", "/v1/office/status", None),
    ("get", "/v1/office/projects", None),
]
# who gets a 2xx answer (everyone else: 403, but a researcher outside the project gets the 404
# of a project that does not exist: no enumeration)
ALLOWED = {
    "/v1/projects": {"ann", "bob"},
    "/v1/projects/{p}/catalogue": {"ann"},
    "/v1/projects/{p}/budget": {"ann"},
    "/v1/projects/{p}/preview": {"ann"},
    "/v1/projects/{p}/releases": {"ann"},
    "/v1/releases": {"ann", "bob"},
    "/v1/requests": {"ann", "bob"},
    "/v1/dpo/releases": {"dora"},
    "/v1/dpo/requests": {"dora"},
    "/v1/dpo/budgets": {"dora", "olga"},
    "/v1/dpo/audit": {"dora"},
    "/v1/office/status": {"olga", "adam"},
    "/v1/office/projects": {"dora", "olga"},
}


@pytest.mark.parametrize(("method", "route", "body"), ROUTES, ids=[r[1] for r in ROUTES])
def test_every_route_answers_only_its_roles(
    world: World, method: str, route: str, body: Any
) -> None:
    path = route.format(p=world.project)
    for who in ("ann", "bob", "dora", "olga", "adam"):
        call = world.get if method == "get" else world.post
        response = call(who, path) if body is None else call(who, path, body)
        outsider = who == "bob" and "{p}" in route
        expected = 200 if who in ALLOWED[route] else 404 if outsider else 403
        assert response.status_code == expected, (who, response.text)
        if expected == 403:
            assert response.json()["error"]["code"] == "not_allowed"
        if expected == 404:
            assert response.json()["error"] == {
                "code": "not_found",
                "message": f"there is no project '{world.project}' that you are a member of",
            }
    anonymous = getattr(world.client, method)(path)
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"


def test_tokens_that_are_wrong_expired_or_revoked_get_401(world: World) -> None:
    bad = {"Authorization": "Bearer medler_0000_nope"}
    assert _error(world.client.get("/v1/projects", headers=bad)) == (
        401,
        "not_authenticated",
        "the token is not valid",
    )
    issued = world.gov.issue_token(
        ADMIN, "ann", days=1, now=dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    )
    old = {"Authorization": f"Bearer {issued.token}"}
    assert _error(world.client.get("/v1/projects", headers=old))[2] == "the token has expired"
    token_id = world.tokens["bob"].split("_")[1]
    assert world.post("adam", f"/v1/office/tokens/{token_id}/revoke").status_code == 200
    assert _error(world.get("bob", "/v1/projects"))[2] == "the token was revoked"


def test_errors_have_their_status_and_a_message(world: World) -> None:
    p = world.project
    assert _error(
        world.post(
            "ann", f"/v1/projects/{p}/releases", {"spec": {**BY_GRADE, "group_by": ["student_pid"]}}
        )
    )[:2] == (403, "refused")
    assert _error(world.get("bob", f"/v1/projects/{p}/catalogue")) == (
        404,
        "not_found",
        f"there is no project '{p}' that you are a member of",
    )
    assert _error(world.get("ann", "/v1/projects/nope/catalogue")) == (
        404,
        "not_found",
        "there is no project 'nope' that you are a member of",
    )
    assert _error(world.get("ann", "/v1/releases/r-nope")) == (
        404,
        "not_found",
        "there is no release 'r-nope' of yours",
    )
    assert _error(world.get("ann", "/v1/projects/nope/budget"))[:2] == (404, "not_found")
    invalid = world.post("ann", f"/v1/projects/{p}/preview", {"table": "exposure"})
    assert _error(invalid) == (
        422,
        "invalid",
        "request: Value error, a spec needs at least one measure (or a model)",
    )
    assert world.gov.set_budget(OFFICE, f"researcher:{p}:ann", 0.01) is None  # a lowering
    assert _error(world.post("ann", f"/v1/projects/{p}/releases", {"spec": DP})) == (
        409,
        "budget_exhausted",
        "the researcher budget has ρ 0.01 left, and this query costs ρ 0.1",
    )
    assert world.client.get("/v1/nowhere").json()["error"]["code"] == "not_found"


def test_the_request_size_and_rate_are_limited(research_dir: Path, tmp_path: Path) -> None:
    w = _world(research_dir, tmp_path, max_request_bytes=2048, rate_limit_per_minute=3)
    big = {
        "spec": {
            **BY_GRADE,
            "filters": [{"column": "grade", "op": "in", "values": list(range(2000))}],
        }
    }
    assert _error(w.post("ann", f"/v1/projects/{w.project}/releases", big))[:2] == (
        413,
        "request_too_large",
    )
    w.client.app.state.medler.limiter = RateLimiter(3)  # type: ignore[attr-defined]
    codes = [w.get("ann", "/v1/projects").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = w.get("ann", "/v1/projects")
    assert limited.headers["retry-after"].isdigit()
    assert w.get("bob", "/v1/projects").status_code == 200  # per token


# --- the office -------------------------------------------------------------------------------


def test_the_office_registers_a_project_a_researcher_and_a_token(world: World) -> None:
    new = {
        "id": "second",
        "purpose": "p",
        "legal_basis": "b",
        "organisation": "o",
        "valid_from": "2020-01-01",
        "valid_to": "2099-12-31",
        "tables": {"exposure": ["school_code", "certified_share"]},
    }
    assert world.post("olga", "/v1/office/projects", new).status_code == 201
    assert _error(world.post("olga", "/v1/office/projects/second/approve", {"rho": 1}))[:2] == (
        403,
        "not_allowed",
    )  # the registrar may not approve it
    assert world.post("dora", "/v1/office/projects/second/approve", {"rho": 1}).status_code == 403
    bad = {**new, "id": "third", "tables": {"exposure": ["student_pid"]}}
    assert _error(world.post("olga", "/v1/office/projects", bad)) == (
        422,
        "invalid",
        "exposure.student_pid identifies a person",
    )
    person = {"id": "eva", "role": "researcher", "name": "Eva", "organisation": "Uni"}
    assert world.post("olga", "/v1/office/people", person).status_code == 201
    token = world.post("olga", "/v1/office/tokens", {"person": "eva", "days": 7})
    assert token.status_code == 201 and token.json()["token"].startswith("medler_")
    eva = {"Authorization": f"Bearer {token.json()['token']}"}
    assert world.client.get("/v1/projects", headers=eva).json()["projects"] == []
    status = world.get("olga", "/v1/office/status").json()
    assert status["tables"]["student_terms"] > 0 and status["research_snapshot"]


# --- labels and privacy -----------------------------------------------------------------------


def test_every_answer_is_labelled_dummy_in_dummy_mode(research_dir: Path, tmp_path: Path) -> None:
    w = _world(research_dir, tmp_path, mode="dummy")
    health = w.client.get("/v1/health")
    assert health.json() == {"status": "ok", "data": "dummy"}
    assert health.headers["x-medler-data"] == "dummy"
    answer = w.post("ann", f"/v1/projects/{w.project}/releases", {"spec": BY_GRADE})
    assert answer.json()["data"] == "dummy" and answer.json()["release"]["data"] == "dummy"
    assert _error(w.get("ann", "/v1/releases/nope"))[0] == 404
    assert w.get("ann", "/v1/releases/nope").json()["data"] == "dummy"
    assert w.client.app.openapi()["info"]["title"] == "medler (dummy data)"  # type: ignore[attr-defined]


def test_no_answer_holds_a_pseudonym_or_an_identifier(world: World) -> None:
    p = world.project
    answers = [
        world.get("ann", f"/v1/projects/{p}/catalogue"),
        world.post("ann", f"/v1/projects/{p}/releases", {"spec": BY_GRADE}),
        world.post("ann", f"/v1/projects/{p}/releases", {"spec": DP}),
        world.post("ann", f"/v1/projects/{p}/releases", {"spec": FEW_TEACHERS}),
        world.post(
            "ann", f"/v1/projects/{p}/releases", {"spec": {**BY_GRADE, "group_by": ["student_pid"]}}
        ),
        world.get("dora", "/v1/dpo/releases"),
        world.get("dora", "/v1/dpo/requests"),
        world.get("dora", "/v1/dpo/audit"),
        world.get("olga", "/v1/office/status"),
    ]
    snapshot = current_snapshot(world.client.app.state.medler.releaser.data_dir / "research")  # type: ignore[attr-defined]
    terms = pl.read_parquet(table_files(snapshot, "student_terms"))
    pupils = {str(v) for v in terms["student_pid"].to_list()}
    assert len(pupils) > 1000
    for answer in answers:
        text = answer.text
        assert not PSEUDONYM.search(text), text[:300]
        assert not any(pid in text for pid in pupils)
        assert '"student_pid"' not in text.replace('"group_by":["student_pid"]', "")
        assert "teacher_pid" not in text and "secret_hash" not in text


def test_the_budgets_show_exact_tables_beside_rho(world: World) -> None:
    """Exact tables spend no ρ; the DPO's budgets (API and page) count them beside it."""

    def levels() -> dict[str, Any]:
        return {b["scope"]: b for b in world.get("dora", "/v1/dpo/budgets").json()["levels"]}

    before = levels()["dataset"]
    released = world.post("ann", f"/v1/projects/{world.project}/releases", {"spec": BY_GRADE})
    assert released.status_code == 200, released.text
    preview = {**BY_GRADE, "group_by": ["school_code"]}
    assert world.post("ann", f"/v1/projects/{world.project}/preview", preview).status_code == 200
    after = levels()
    for scope in (f"project:{world.project}", f"researcher:{world.project}:ann"):
        assert (after[scope]["sdc_releases"], after[scope]["sdc_previews"]) == (1, 1), scope
    # the data set's count covers every project on the data directory
    assert after["dataset"]["sdc_releases"] == before["sdc_releases"] + 1
    assert after["dataset"]["sdc_previews"] == before["sdc_previews"] + 1
    assert after[f"project:{world.project}"]["spent_rho"] == 0.0
