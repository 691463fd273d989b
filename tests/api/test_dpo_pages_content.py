"""What the DPO's pages say, rendered by the service (TestClient): the release log's filters and
measures, a release's own page, a held request's risk in numbers, the budgets' sdc outputs and
the meaning of ε, and the audit records, filtered and paged. And what the researcher never
gets: the numbers behind a held or refused request."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.service import Settings, create_app
from release import MemoryStore
from release.governance import Governance, raise_cap, set_up_office
from release.governance._models import Request as HeldRequest
from tests.research_data import research_dir

__all__ = ["research_dir"]

FILTERED = {
    "table": "student_terms",
    "group_by": ["grade"],
    "filters": [
        {"column": "grade", "op": "in", "values": [8, 9]},
        {"column": "days_absent", "op": "between", "values": [0, 15]},
    ],
    "measures": [{"kind": "count_students"}, {"kind": "mean", "column": "absence_rate_reported"}],
}
# cells taught by fewer than 3 teachers: held for the "teachers" check
FEW_TEACHERS = {
    "table": "exposure",
    "group_by": ["school_code", "subject_code", "grade"],
    "mode": "dp",
    "rho": 0.1,
    "measures": [{"kind": "count_students"}, {"kind": "mean", "column": "certified_share"}],
}
FEWER_TEACHERS = {**FEW_TEACHERS, "group_by": ["school_code", "subject_code"]}
# an sdc population under the floor: refused, finally
TOO_FEW = {
    "table": "student_terms",
    "group_by": ["grade"],
    "filters": [
        {"column": "grade", "op": "in", "values": [3]},
        {"column": "days_absent", "op": "between", "values": [50, 100]},
    ],
    "measures": [{"kind": "count_students"}],
}
PSEUDONYM = re.compile(r"(?<![\w.])-?\d{15,}(?![\w.])")


@dataclass
class Site:
    client: TestClient
    project: str
    tokens: dict[str, str]
    gov: Governance

    def submit(self, who: str, spec: dict[str, Any], justification: str | None = None) -> Any:
        body = {"spec": spec, "justification": justification}
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return self.client.post(f"/v1/projects/{self.project}/releases", json=body, headers=headers)

    def page(self, path: str, **params: Any) -> tuple[int, str]:
        answer = self.client.get(path, params=params, follow_redirects=False)
        return answer.status_code, answer.text


def log_in(client: TestClient, token: str) -> None:
    """The DPO's login through the form, with whatever hidden fields the form carries: the one
    place that knows how logging in works."""
    form = client.get("/dpo/login").text
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
    answer = client.post("/dpo/login", data={**hidden, "token": token}, follow_redirects=False)
    assert answer.status_code == 303, answer.text


@pytest.fixture
def site(research_dir: Path, tmp_path: Path) -> Iterator[Site]:
    app = create_app(
        Settings(
            data_dir=research_dir,
            mode="development",
            secure_cookies=False,
            control_url=f"sqlite:///{tmp_path / 'control.db'}",
        )
    )
    gov: Governance = app.state.medler.governance
    # a release store of the site's own: the research folder is shared by other tests, and the
    # audit page reconciles the store with this control plane's chain
    app.state.medler.releaser.store = MemoryStore()
    office = set_up_office(gov, "t", "Uni")
    project = re.sub(r"[^a-z0-9-]", "-", tmp_path.name.lower())[-40:].strip("-")
    today = dt.datetime.now(dt.UTC).date()
    raise_cap(gov, office, "dataset", 1.0)
    gov.create_project(
        office.registrar,
        project,
        purpose="Absence",
        legal_basis="Statistics",
        organisation="Uni",
        valid_from=today,
        valid_to=today + dt.timedelta(days=9),
        tables={"student_terms": ["*"], "exposure": ["*"]},
    )
    gov.approve_project(office.approver, project, rho=1.0)
    gov.add_person(office.admin, "ann", role="researcher", name="Ann", organisation="Uni")
    proposal = gov.add_person(office.admin, "dora", role="dpo", name="Dora", organisation="Uni")
    if proposal is not None:  # a second DPO is confirmed by the first
        gov.decide(office.dpo, proposal, confirm=True)
    gov.add_member(office.registrar, project, "ann", rho=0.5)
    tokens = {p: gov.issue_token(office.admin, p).token for p in ("ann", "dora")}
    client = TestClient(app, raise_server_exceptions=False)
    log_in(client, tokens["dora"])
    yield Site(client, project, tokens, gov)
    client.close()


def text_of(page: str) -> str:
    """The page's text, tags dropped and whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def held_detail(site: Site, request_id: int) -> dict[str, float]:
    from sqlalchemy.orm import Session

    with Session(site.gov.engine) as session:
        row = session.get(HeldRequest, request_id)
        assert row is not None
        (check,) = row.checks
        return dict(check["detail"])  # type: ignore[arg-type]


# --- the release log and a release's page --------------------------------------------------------


def test_the_release_log_shows_each_request_s_filters_and_measures(site: Site) -> None:
    release_id = site.submit("ann", FILTERED).json()["release"]["release_id"]
    status, page = site.page("/dpo/releases", project=site.project)
    assert status == 200
    shown = text_of(page)
    assert "grade in [8, 9]; days_absent between 0 and 15" in shown
    assert "count of pupils; mean of absence_rate_reported" in shown
    assert f'<a href="/dpo/releases/{release_id}">' in page


def test_a_release_page_shows_the_spec_checks_cost_snapshot_and_requester(site: Site) -> None:
    # release ids are unique within a project (a spec and a second): a spec of this test's own
    release = site.submit("ann", {**FILTERED, "margins": True}).json()["release"]
    status, page = site.page(f"/dpo/releases/{release['release_id']}")
    assert status == 200
    shown = text_of(page)
    for expected in (
        "Table student_terms",
        "Grouped by grade",
        "Filters grade in [8, 9]; days_absent between 0 and 15",
        "Measures count of pupils; mean of absence_rate_reported",
        "Mode sdc (exact, disclosure-controlled)",
        "Margins totals per group-by key",
        "exact (sdc): no ρ; it counts toward the project's linked audit",
        "threshold: every cell at least 10 pupils",
        "the linked audit against the project's earlier outputs",
        f"Snapshot {release['snapshot']}",
        "Researcher ann",
        f"Project {site.project}",
        "It passed every automatic check and was released at once",
        "None: it did not come through a review",
    ):
        assert expected in shown, expected
    assert not PSEUDONYM.search(page)
    # no released value: none of the released means appears on the page
    means = [
        c["values"]["mean_absence_rate_reported"]
        for c in release["cells"]
        if c["values"].get("mean_absence_rate_reported") is not None
    ]
    assert means and not [m for m in means if f"{m}" in page]


def test_a_release_page_says_who_approved_it_and_why(site: Site) -> None:
    held = site.submit("ann", FEW_TEACHERS).json()["request"]["id"]
    hidden = re.search(r'name="csrf" value="([^"]+)"', site.page(f"/dpo/requests/{held}")[1])
    assert hidden is not None
    review = {"csrf": hidden.group(1), "reason": "Class means are the purpose"}
    site.client.post(f"/dpo/requests/{held}/approve", data=review)
    status, page = site.page(f"/dpo/requests/{held}")
    release_id = re.search(r'href="/dpo/releases/([^"]+)"', page)
    assert status == 200 and release_id is not None
    status, page = site.page(f"/dpo/releases/{release_id.group(1)}")
    shown = text_of(page)
    assert status == 200
    assert "ρ 0.1 (zero-concentrated DP), ε 2.97912 at δ = 1e-09" in shown
    assert "Approved by dora" in shown and "Why Class means are the purpose" in shown
    assert f"Request {held}" in shown and "waived for this release by the reviewer" in shown
    assert re.search(r"\d+ cells of \d+ under min_teachers 3", shown)


def test_an_unknown_release_is_the_not_found_page(site: Site) -> None:
    status, page = site.page("/dpo/releases/r-19990101T000000-deadbeef")
    assert status == 404
    assert "There is no release &#39;r-19990101T000000-deadbeef&#39;." in page


# --- a held request's risk ---------------------------------------------------------------------


def test_a_held_request_quantifies_its_risk_for_the_dpo(site: Site) -> None:
    held = site.submit("ann", FEW_TEACHERS).json()["request"]["id"]
    detail = held_detail(site, held)
    assert detail["min_teachers"] == 3 and detail["cells_under_min_teachers"] > 0
    assert detail["cells_under_min_teachers"] <= detail["cells_checked"]
    assert detail["fewest_teachers"] < 3
    status, page = site.page(f"/dpo/requests/{held}")
    assert status == 200
    shown = text_of(page)
    under, checked = int(detail["cells_under_min_teachers"]), int(detail["cells_checked"])
    assert (
        f"{under} cells of {checked} under min_teachers 3 (the filtered population's "
        f"teachers), the fewest {int(detail['fewest_teachers'])}"
    ) in shown
    assert "never these numbers" in shown


def test_the_risk_is_the_same_every_time(site: Site) -> None:
    first = site.submit("ann", FEW_TEACHERS).json()["request"]["id"]
    second = site.submit("ann", FEW_TEACHERS).json()["request"]["id"]
    assert held_detail(site, first) == held_detail(site, second)


def test_the_researcher_never_gets_the_numbers_behind_a_held_or_refused_request(
    site: Site,
) -> None:
    """The detail is the DPO's: a held answer, the researcher's list of requests and a refusal
    say what failed and what to do, in words that do not change with the data."""
    answers = [site.submit("ann", FEW_TEACHERS), site.submit("ann", FEWER_TEACHERS)]
    ids = [a.json()["request"]["id"] for a in answers]
    details = [held_detail(site, i) for i in ids]
    assert details[0] != details[1]  # the data behind them differ ...
    checks = [a.json()["request"]["checks"] for a in answers]
    assert checks[0] == checks[1]  # ... the researcher's answers do not
    assert [set(c) for c in checks[0]] == [{"check", "reason"}]
    mine = site.client.get(
        "/v1/requests", headers={"Authorization": f"Bearer {site.tokens['ann']}"}
    )
    for text in (*(a.text for a in answers), mine.text):
        assert "detail" not in text and "cells_under" not in text and "fewest" not in text
    refused = site.submit("ann", TOO_FEW)
    assert refused.status_code == 403
    message = refused.json()["error"]["message"]
    assert message == (
        "the filters leave fewer than 10 persons; medler releases statistics "
        "about groups, so widen the filters"
    )
    assert json.dumps(refused.json()).count("population") == 0


# --- budgets ------------------------------------------------------------------------------------


def test_the_budgets_page_explains_epsilon_and_counts_sdc_outputs(site: Site) -> None:
    site.submit("ann", FILTERED)
    status, page = site.page("/dpo/budgets")
    assert status == 200
    shown = text_of(page)
    assert "Budgets are kept as ρ of zero-concentrated differential privacy (ρ-zCDP)" in shown
    assert "ε = ρ + 2·sqrt(ρ·ln(1/δ))" in shown and "δ = 1e-09" in shown
    assert "Exact (sdc) outputs carry no ρ" in shown and "linked audit" in shown
    row = re.search(r'<table id="exact">.*?</table>', page, re.S)
    assert row is not None and f"{site.project} 1 0" in text_of(row.group(0))


# --- the audit records --------------------------------------------------------------------------


def test_the_audit_records_are_listed_filtered_and_paged(site: Site) -> None:
    site.submit("ann", FILTERED)
    held = site.submit("ann", FEW_TEACHERS).json()["request"]["id"]
    status, page = site.page("/dpo/audit")
    assert status == 200 and "Intact" in page
    total = int(re.search(r"Showing 1–\d+ of (\d+)", text_of(page)).group(1))  # type: ignore[union-attr]
    assert total > 5 and page.count("<tr>") >= min(total, 25)

    status, page = site.page("/dpo/audit", action="held", project=site.project)
    shown = text_of(page)
    assert status == 200 and "Showing 1–1 of 1." in shown
    assert f"dp exposure by school_code, subject_code, grade; request {held}; checks teachers" in (
        shown
    )
    assert '<option value="held" selected>' in page

    status, page = site.page("/dpo/audit", action="released", actor="ann")
    shown = text_of(page)
    assert "Showing 1–1 of 1." in shown and "sdc student_terms by grade; release id r-" in shown
    released = site.gov.engine  # the record holds the result's digest; the page never shows it
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from release.governance._models import AuditRecord

    with Session(released) as session:
        body = session.scalars(
            select(AuditRecord.body).where(AuditRecord.action == "released")
        ).one()
    assert body["result"] and str(body["result"]) not in page

    today = dt.datetime.now(dt.UTC).date()
    status, page = site.page("/dpo/audit", until=(today - dt.timedelta(days=1)).isoformat())
    assert "No records match." in text_of(page)
    status, page = site.page("/dpo/audit", since="yesterday")
    assert status == 422 and "&#39;yesterday&#39; is not a date" in page

    status, page = site.page("/dpo/audit", page="2")
    shown = text_of(page)
    if total > 25:
        assert f"Showing 26–{min(total, 50)} of {total}." in shown
        assert 'rel="prev"' in page
