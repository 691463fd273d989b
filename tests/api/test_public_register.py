"""The public register over HTTP (TestClient), on SQLite and on PostgreSQL: reachable without a
token, listing approved projects (a closed and an expired one shown as such, a proposed one not
at all) and their releases (a held or refused request is not a release; a repeat is listed
once); and, as an attack, a project with real releases whose values, pseudonyms, tokens and
people must appear nowhere in the page or the feed. Then the register checked against the
chain: a published copy that leaves out, invents or changes anything is named."""

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
from release import MemoryStore, compare_register
from release.governance import Governance, audit_head, raise_cap, set_up_office
from tests.control_plane import control_url
from tests.research_data import research_dir

__all__ = ["control_url", "research_dir"]

RESEARCHER = "qx-researcher7"
PSEUDONYM = re.compile(r"(?<![\w.])-?\d{15,}(?![\w.])")
BY_GRADE = {
    "table": "student_terms",
    "group_by": ["grade"],
    "margins": True,
    "measures": [{"kind": "count_students"}, {"kind": "mean", "column": "days_absent"}],
}
DP_SCHOOLS = {
    "table": "exposure",
    "group_by": ["school_code"],
    "mode": "dp",
    "rho": 0.1,
    "measures": [{"kind": "count_students"}, {"kind": "mean", "column": "certified_share"}],
}
# cells taught by fewer than 3 teachers: held for the "teachers" check, and left held
HELD = {**DP_SCHOOLS, "group_by": ["school_code", "subject_code", "grade"]}
IDENTIFYING = {**BY_GRADE, "group_by": ["student_pid"]}  # refused, always
RELEASE_FIELDS = {"release_id", "date", "table", "regime", "rho", "audit_record", "values_deleted"}


@dataclass
class Site:
    client: TestClient
    gov: Governance
    token: str
    people: list[str]
    released: list[dict[str, Any]]


def _days(n: int) -> dt.date:
    return dt.datetime.now(dt.UTC).date() + dt.timedelta(days=n)


@pytest.fixture
def site(research_dir: Path, control_url: str) -> Iterator[Site]:
    app = create_app(
        Settings(
            data_dir=research_dir, mode="development", secure_cookies=False, control_url=control_url
        )
    )
    gov: Governance = app.state.medler.governance
    app.state.medler.releaser.store = MemoryStore()  # the research folder is shared
    office = set_up_office(gov, "office", "Statistics Office")
    raise_cap(gov, office, "dataset", 2.0)
    projects = {
        "absence": ("Absence and certified teaching", _days(-1), _days(30)),
        "closed-one": (None, _days(-1), _days(30)),
        "expired-one": ("An old study", _days(-60), _days(-30)),
        "proposed-only": ("Not approved yet", _days(-1), _days(30)),
    }
    for project, (title, start, end) in projects.items():
        gov.create_project(
            office.registrar,
            project,
            purpose=f"Purpose of {project}",
            legal_basis="Official Statistics Act",
            organisation="Uppsala Uni",
            valid_from=start,
            valid_to=end,
            title=title,
            tables={"student_terms": ["*"], "exposure": ["*"]},
            regimes={"student_terms": "sdc", "exposure": "dp"},
        )
        if project != "proposed-only":
            gov.approve_project(office.approver, project, rho=1.0)
    gov.close_project(office.registrar, "closed-one")
    gov.add_person(
        office.admin, RESEARCHER, role="researcher", name="Eva Ek", organisation="Uppsala Uni"
    )
    gov.add_member(office.registrar, "absence", RESEARCHER, rho=0.5)
    token = gov.issue_token(office.admin, RESEARCHER).token
    client = TestClient(app, raise_server_exceptions=False)
    auth = {"Authorization": f"Bearer {token}"}
    released = []
    for spec in (BY_GRADE, DP_SCHOOLS, BY_GRADE):  # the last one is a repeat, from the cache
        answer = client.post("/v1/projects/absence/releases", json={"spec": spec}, headers=auth)
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "released"
        released.append(answer.json()["release"])
    answer = client.post("/v1/projects/absence/releases", json={"spec": HELD}, headers=auth)
    assert answer.json()["status"] == "held", answer.text
    answer = client.post("/v1/projects/absence/releases", json={"spec": IDENTIFYING}, headers=auth)
    assert answer.status_code == 403, answer.text
    people = [RESEARCHER, office.admin.id, office.registrar.id, office.approver.id, office.dpo.id]
    yield Site(client, gov, token, people, released)
    client.close()


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_the_register_needs_no_token_and_lists_approved_projects_only(site: Site) -> None:
    feed = site.client.get("/v1/register")
    assert feed.status_code == 200, feed.text
    body = feed.json()
    assert [p["id"] for p in body["projects"]] == ["absence", "closed-one", "expired-one"]
    by_id = {p["id"]: p for p in body["projects"]}
    assert by_id["absence"]["status"] == "active"
    assert by_id["closed-one"]["status"] == "closed"
    assert by_id["closed-one"]["closed"] == _days(0).isoformat()
    assert by_id["closed-one"]["title"] == "closed-one"  # no title: the id stands in
    assert by_id["expired-one"]["status"] == "expired"
    absence = by_id["absence"]
    assert absence["title"] == "Absence and certified teaching"
    assert absence["organisation"] == "Uppsala Uni"
    assert absence["legal_basis"] == "Official Statistics Act"
    assert absence["tables"] == {"exposure": "dp", "student_terms": "sdc"}
    assert (absence["valid_from"], absence["valid_to"]) == (
        _days(-1).isoformat(),
        _days(30).isoformat(),
    )
    assert absence["budget_rho"] == 1.0
    assert absence["spent_rho"] == pytest.approx(0.1)
    assert body["dataset_budget_rho"] == 2.0
    assert body["dataset_spent_rho"] == pytest.approx(0.1)
    assert body["anchor"]["witness"] == "{}:{}".format(*audit_head(site.gov.engine))
    page = site.client.get("/register")
    assert page.status_code == 200
    text = _text(page.text)
    assert "Absence and certified teaching active" in text
    assert "closed-one closed" in text and "An old study expired" in text
    assert "Not approved yet" not in text and "proposed-only" not in page.text


def test_only_releases_are_listed_once_each_with_their_cost(site: Site) -> None:
    body = site.client.get("/v1/register").json()
    (absence,) = [p for p in body["projects"] if p["id"] == "absence"]
    releases = absence["releases"]
    first, dp = site.released[0], site.released[1]
    assert site.released[2]["release_id"] == first["release_id"]  # the repeat
    assert [r["release_id"] for r in releases] == [first["release_id"], dp["release_id"]]
    assert [(r["table"], r["regime"], r["rho"]) for r in releases] == [
        ("student_terms", "sdc", 0.0),
        ("exposure", "dp", dp["rho"]),
    ]
    assert dp["rho"] == pytest.approx(0.1)
    assert all(set(r) == RELEASE_FIELDS for r in releases)
    assert all(r["date"] == _days(0).isoformat() for r in releases)
    # neither the held request nor the refused one is a release
    held = site.client.get("/register").text
    assert held.count("<tr>") == 1 + len(releases)  # the header row and one per release
    assert "subject_code" not in held and "student_pid" not in held
    for other in ("closed-one", "expired-one"):
        assert next(p for p in body["projects"] if p["id"] == other)["releases"] == []


def _numbers(release: dict[str, Any]) -> set[float]:
    out: set[float] = set()
    for cell in release["cells"]:
        for part in ("values", "lower", "upper"):
            out |= {float(v) for v in cell.get(part, {}).values() if v is not None}
    return out


def test_attack_the_register_shows_no_value_pseudonym_token_or_person(site: Site) -> None:
    """A project with released tables: everything the researcher got, and everything about
    who they are and how they log in, is looked for in the page and the feed."""
    feed = site.client.get("/v1/register").text
    page = site.client.get("/register").text
    seen = feed + "\n" + _text(page)
    token_id, secret = site.token.split("_", 2)[1:]
    for secret_thing in (site.token, token_id, secret):
        assert secret_thing not in seen
    for person in site.people:
        assert person not in seen, person
    assert "Eva Ek" not in seen
    assert not PSEUDONYM.search(seen)
    assert "_pid" not in seen
    values = set().union(*(_numbers(r) for r in site.released[:2]))
    assert len(values) > 10  # the attack has something to look for
    for value in values:
        if value != int(value):  # a mean or an interval's end: its printed forms
            for form in (repr(value), f"{value:.6g}", f"{value:.4f}"):
                assert form not in seen, (value, form)
        elif value >= 100 and not 2000 <= value <= 2100:  # a count, not a year
            assert not re.search(rf"(?<![\w.-]){int(value)}(?![\w.])", seen), value
    # the feed holds nothing but the register's own fields
    body = json.loads(feed)
    assert set(body) == {
        "format",
        "as_of",
        "anchor",
        "dataset_budget_rho",
        "dataset_spent_rho",
        "projects",
        "data",
    }


def test_the_page_is_public_and_loads_nothing_from_elsewhere(site: Site) -> None:
    page = site.client.get("/register")
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "<script" not in page.text
    assert not re.search(r"""(?:src|href)=["']https?://""", page.text)
    assert "Log out" not in page.text  # no session, no DPO navigation
    assert (
        site.client.get("/v1/register", headers={"Authorization": "Bearer nonsense"}).status_code
        == 200
    )


def test_the_register_agrees_with_its_chain_and_names_every_difference(site: Site) -> None:
    body = site.client.get("/v1/register").json()
    anchor, problems = compare_register(site.gov.engine, body)
    assert problems == []
    assert anchor.witness == body["anchor"]["witness"]
    (absence,) = [p for p in body["projects"] if p["id"] == "absence"]
    dropped, kept = absence["releases"]
    changed = json.loads(json.dumps(body))
    (p,) = [p for p in changed["projects"] if p["id"] == "absence"]
    p["releases"] = [kept | {"rho": 0.01}]
    p["budget_rho"] = 5.0
    changed["projects"] = [x for x in changed["projects"] if x["id"] != "expired-one"]
    changed["projects"].append({**p, "id": "invented", "releases": []})
    _, problems = compare_register(site.gov.engine, changed)
    assert problems == [
        "project expired-one is in the chain but not in the register",
        "project invented is in the register but not in the chain",
        "project absence: budget_rho is 5.0 in the register, 1.0 in the chain",
        f"release {dropped['release_id']} of absence is in the chain but not in the register",
        f"release {kept['release_id']} of absence: rho is 0.01 in the register, {kept['rho']!r} "
        "in the chain",
    ]
    # a register of another chain (or of this one before it was rewritten)
    forged = {**body, "anchor": {**body["anchor"], "head": "0" * 64}}
    _, problems = compare_register(site.gov.engine, forged)
    assert problems == [
        f"record {body['anchor']['records']} of this audit chain is not the "
        f"register's anchor ({body['anchor']['records']}:{'0' * 64}): the "
        "register is not this chain's, or the chain was rewritten"
    ]
    # later acts do not change the register up to its anchor
    site.client.get("/register")
    gov = site.gov
    office = set_up_office(gov, "office", "Statistics Office")
    gov.close_project(office.registrar, "absence")
    assert compare_register(gov.engine, body)[1] == []
    assert site.client.get("/v1/register").json()["anchor"]["records"] > anchor.records
