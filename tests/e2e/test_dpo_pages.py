"""The data protection officer's web pages in a real browser: the service runs under uvicorn on
a free local port, and Playwright drives Debian's Chromium (installed by ``scripts/_browser.sh``;
nothing is downloaded here) through login, the review of held requests, the release log with
its filters and pages, the budget chart and the audit chain, and what must be refused. Every
page visited is checked for its accessible structure, and a screenshot is saved after each
major step into ``$MEDLER_TEST_ARTEFACTS`` (default ``test-artefacts/e2e``)."""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine, text

from api.service import Settings, create_app
from release import MemoryStore
from release.governance import Governance, raise_cap, set_up_office
from tests.research_data import research_dir

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

__all__ = ["research_dir"]

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        f"the browser tests need Chromium at {CHROMIUM} (scripts/_browser.sh installs "
        "Debian's chromium package)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the browser tests need the playwright package (dev extras)"
)
expect = sync_api.expect

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = Path(os.environ.get("MEDLER_TEST_ARTEFACTS") or REPO_ROOT / "test-artefacts" / "e2e")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# a 64-bit pseudonym printed as a number: 15+ digits standing alone (not inside a hex digest)
PSEUDONYM = re.compile(r"(?<![\w.])-?\d{15,}(?![\w.])")

BY_CLASS = ["school_code", "subject_code", "grade"]
# cells taught by fewer than 3 teachers: held for the "teachers" check
FEW_TEACHERS = {
    "table": "exposure",
    "group_by": BY_CLASS,
    "mode": "dp",
    "rho": 0.1,
    "measures": [{"kind": "count_students"}, {"kind": "mean", "column": "certified_share"}],
}
BY_GRADE = {
    "table": "student_terms",
    "group_by": ["grade"],
    "measures": [{"kind": "count_students"}],
}
# released at once (sdc): a few distinct specs, each a real release in the log
RELEASABLE = [
    {"table": "student_terms", "group_by": group_by, "measures": measures}
    for group_by in (["grade"], ["school_code"], ["term"])
    for measures in (
        [{"kind": "count_students"}],
        [{"kind": "count_students"}, {"kind": "mean", "column": "days_absent"}],
    )
]
IDENTIFYING = {**BY_GRADE, "group_by": ["student_pid"]}  # refused, always, and logged

# run in the browser: what the pages promise about their structure, as a list of problems
ACCESSIBILITY = """() => {
  const problems = [];
  if (document.documentElement.lang !== "en") problems.push("html lang is not en");
  if (document.querySelectorAll("main").length !== 1) problems.push("not exactly one main");
  let previous = 0;
  for (const h of document.querySelectorAll("h1, h2, h3, h4, h5, h6")) {
    const level = Number(h.tagName[1]);
    if (level > previous + 1) problems.push(`heading ${h.tagName} "${h.textContent}" skips`);
    previous = level;
  }
  for (const field of document.querySelectorAll("input, select, textarea")) {
    if (field.type === "hidden") continue;
    if (!field.id || !document.querySelector(`label[for="${field.id}"]`))
      problems.push(`field ${field.name} has no label`);
  }
  for (const table of document.querySelectorAll("table")) {
    if (!table.querySelector("caption")) problems.push(`table ${table.id} has no caption`);
    for (const th of table.querySelectorAll("th"))
      if (!th.getAttribute("scope")) problems.push(`a th in ${table.id} has no scope`);
  }
  const focusable = document.querySelector("a[href], button, input:not([type=hidden]), "
                                           + "select, textarea, [tabindex]:not([tabindex='-1'])");
  if (!focusable || !focusable.classList.contains("skip"))
    problems.push("the skip link is not the first focusable element");
  if (document.querySelector("script")) problems.push("the page has a script");
  return problems;
}"""


@dataclass
class Site:
    """A running service with its own control plane: a project, two researchers (ann, bob), a
    DPO (dora), an office member (olga), and a token for each."""

    url: str
    project: str
    tokens: dict[str, str]
    gov: Governance
    control_url: str

    def api(self, who: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, timeout=60, headers={"Authorization": f"Bearer {self.tokens[who]}"}
        )

    def submit(
        self, who: str, spec: dict[str, Any], justification: str | None = None
    ) -> dict[str, Any]:
        with self.api(who) as client:
            answer = client.post(
                f"/v1/projects/{self.project}/releases",
                json={"spec": spec, "justification": justification},
            )
        assert answer.status_code in (200, 403), answer.text
        body: dict[str, Any] = answer.json()
        return body


class _Server:
    """uvicorn in a background thread on a free port of 127.0.0.1."""

    def __init__(self, app: Any) -> None:
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            log_config=None,
            access_log=False,
            ws="none",
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the service did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _start_site(research_dir: Path, tmp_path: Path, mode: str) -> tuple[Site, _Server]:
    control_url = f"sqlite:///{tmp_path / f'control-{mode}.db'}"
    app = create_app(
        Settings(data_dir=research_dir, control_url=control_url, mode=mode, secure_cookies=False)
    )
    gov: Governance = app.state.medler.governance
    # release records of this site's own: the audit verification reconciles the release store
    # with this site's chain, so another test's releases must not be in it
    app.state.medler.releaser.store = MemoryStore()
    # registered through the two-person rules, as the control plane requires
    office = set_up_office(gov, "e2e", "Uni")
    # a project of this test's own
    project = f"e2e-{uuid.uuid4().hex[:10]}"
    today = dt.datetime.now(dt.UTC).date()
    raise_cap(gov, office, "dataset", 1.0)
    gov.create_project(
        office.registrar,
        project,
        purpose="Teachers and absence",
        legal_basis="Official statistics",
        organisation="Uni",
        valid_from=today - dt.timedelta(days=1),
        valid_to=today + dt.timedelta(days=30),
        tables={"student_terms": ["*"], "exposure": ["*"]},
    )
    gov.approve_project(office.approver, project, rho=1.0)
    people = (
        ("ann", "researcher"),
        ("bob", "researcher"),
        ("dora", "dpo"),
        ("olga", "statistician"),
    )
    confirmers = {"dpo": office.dpo, "statistician": office.approver}
    for person, role in people:
        proposal = gov.add_person(
            office.admin, person, role=role, name=person.title(), organisation="Uni"
        )
        if proposal is not None:  # a second person of an oversight role is confirmed
            gov.decide(confirmers[role], proposal, confirm=True)
    gov.add_member(office.registrar, project, "ann", rho=0.5)
    gov.add_member(office.registrar, project, "bob", rho=0.5)
    tokens = {p: gov.issue_token(office.admin, p).token for p, _ in people}
    server = _Server(app)
    return Site(server.start(), project, tokens, gov, control_url), server


@pytest.fixture
def start_site(research_dir: Path, tmp_path: Path) -> Iterator[Callable[[str], Site]]:
    """``start_site(mode)``: a service on its own port and control plane."""
    servers: list[_Server] = []

    def start(mode: str = "development") -> Site:
        site, server = _start_site(research_dir, tmp_path, mode)
        servers.append(server)
        return site

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def site(start_site: Callable[[str], Site]) -> Site:
    return start_site("development")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="en-GB", timezone_id="UTC"
    )
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def shoot(request: pytest.FixtureRequest) -> Callable[[Page, str], None]:
    """``shoot(page, step)``: a full-page screenshot, numbered in the order taken."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"^test_", "", request.node.name)[:60]
    taken = 0

    def take(page: Page, step: str) -> None:
        nonlocal taken
        taken += 1
        page.screenshot(path=ARTEFACTS / f"{name}-{taken:02d}-{step}.png", full_page=True)

    return take


def check_page(page: Page) -> None:
    """The page's accessible structure holds, and it shows no pseudonym."""
    assert page.evaluate(ACCESSIBILITY) == []
    assert not PSEUDONYM.search(page.content())


def log_in(page: Page, site: Site, who: str = "dora") -> None:
    page.goto(f"{site.url}/dpo/login")
    check_page(page)
    page.get_by_label("Token").fill(site.tokens[who])
    page.get_by_role("button", name="Log in").click()


def session_cookies(context: BrowserContext) -> list[Any]:
    """The session cookie, if the browser has one (the login form sets a cookie of its own)."""
    return [c for c in context.cookies() if c["name"] == "medler_dpo"]


def nav(page: Page, name: str) -> None:
    """Follow a link of the main navigation."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).click()


def row_texts(page: Page, table: str) -> list[str]:
    return [t.strip() for t in page.locator(f"#{table} tbody tr").all_inner_texts()]


# --- review -----------------------------------------------------------------------------------


def test_the_dpo_approves_one_held_request_and_rejects_another(
    site: Site, page: Page, context: BrowserContext, shoot: Callable[[Page, str], None]
) -> None:
    first = site.submit("ann", FEW_TEACHERS)
    second = site.submit("bob", BY_GRADE, justification="Grade 0 shown on its own")
    assert (first["status"], second["status"]) == ("held", "held")
    held, other = first["request"]["id"], second["request"]["id"]

    log_in(page, site)
    expect(page).to_have_url(f"{site.url}/dpo/")
    expect(page.locator("#held-count")).to_have_text("2")
    check_page(page)
    shoot(page, "overview")

    nav(page, "Requests")
    expect(page.locator("#requests tbody tr")).to_have_count(2)
    check_page(page)
    shoot(page, "held-requests")

    page.get_by_role("link", name=f"Request {held}", exact=True).click()
    expect(page).to_have_url(f"{site.url}/dpo/requests/{held}")
    spec = page.locator("#spec")
    expect(spec).to_contain_text("exposure")
    expect(spec).to_contain_text("dp (differentially private)")
    expect(spec).to_contain_text("school_code, subject_code, grade")
    expect(spec).to_contain_text("count of pupils")
    expect(spec).to_contain_text("mean of certified_share")
    expect(spec).to_contain_text("0.1 (ε")
    expect(page.locator("#checks tbody th")).to_have_text(["teachers"])
    expect(page.locator("#checks tbody td")).to_contain_text(["fewer than 3 teachers"])
    expect(page.locator("#request-status")).to_have_text("held")
    check_page(page)
    shoot(page, "held-request")

    # an empty reason: the browser does not send the form
    page.get_by_role("button", name="Approve and release").click()
    assert page.locator("#approve-reason").evaluate("e => e.validity.valueMissing")
    expect(page).to_have_url(f"{site.url}/dpo/requests/{held}")
    # blanks pass the browser's check; the service refuses them and says why
    page.get_by_label("Why it may be released").fill("   ")
    page.get_by_role("button", name="Approve and release").click()
    expect(page.get_by_role("alert")).to_contain_text("a review needs a reason")
    expect(page.locator("#request-status")).to_have_text("held")
    check_page(page)
    shoot(page, "reason-missing")

    page.get_by_label("Why it may be released").fill("Class-level means are the purpose")
    page.get_by_role("button", name="Approve and release").click()
    expect(page).to_have_url(f"{site.url}/dpo/requests/{held}?reviewed=1")
    expect(page.get_by_role("status")).to_contain_text(f"request {held} is released")
    expect(page.locator("#request-status")).to_have_text("released")
    expect(page.locator("#review")).to_contain_text("Class-level means are the purpose")
    expect(page.get_by_role("button", name="Approve and release")).to_have_count(0)
    check_page(page)
    shoot(page, "approved")

    # the second request, open in two tabs: one rejects it, the other then tries to approve
    late = context.new_page()
    late.goto(f"{site.url}/dpo/requests/{other}")
    expect(late.locator("#justification")).to_have_text("Grade 0 shown on its own")
    page.goto(f"{site.url}/dpo/requests/{other}")
    expect(page.get_by_text("It passed every automatic check")).to_be_visible()
    page.get_by_label("Why it may not be released").fill("Grade 0 is too small a group")
    page.get_by_role("button", name="Reject").click()
    expect(page.locator("#request-status")).to_have_text("rejected")
    shoot(page, "rejected")
    late.get_by_label("Why it may be released").fill("Looks fine")
    late.get_by_role("button", name="Approve and release").click()
    expect(late.get_by_role("alert")).to_contain_text(f"request {other} is rejected, not held")
    check_page(late)
    shoot(late, "review-too-late")
    late.close()

    page.goto(f"{site.url}/dpo/requests")
    expect(page.get_by_text("There are none.")).to_be_visible()
    page.get_by_label("Status").select_option("all")
    page.get_by_role("button", name="Show").click()
    statuses = page.locator("#requests tbody td .status")
    expect(statuses).to_have_text(["released", "rejected"])
    shoot(page, "all-requests")

    # the release: in the log (the rejection releases nothing), charged to ann's budgets
    nav(page, "Release log")
    page.get_by_label("Project").fill(site.project)
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#showing")).to_have_text("Showing 1–1 of 1.")
    expect(page.locator("#log tbody tr")).to_contain_text(["ann"])
    expect(page.locator("#log tbody tr")).to_contain_text(["released"])
    shoot(page, "release-log")

    # a charge reserved and never marked released (a release cut off): shown hatched
    site.gov.ledger.reserve(site.project, "bob", 0.05, "0" * 64)
    nav(page, "Budgets")
    totals = site.gov.ledger.totals()
    expect(page.locator("#budget-chart g.budget")).to_have_count(len(totals))
    expect(page.locator("#budgets tbody tr")).to_have_count(len(totals))
    expect(page.locator("#budgets thead")).to_contain_text("Exact tables")
    ann = page.locator(f'#budget-chart g[data-scope="researcher:{site.project}:ann"]')
    assert float(ann.locator("rect.spent").get_attribute("width") or 0) > 0
    bob = page.locator(f'#budget-chart g[data-scope="researcher:{site.project}:bob"]')
    spent, reserved = bob.locator("rect.spent"), bob.locator("rect.reserved")
    assert float(spent.get_attribute("width") or 0) == float(reserved.get_attribute("width") or 1)
    assert reserved.get_attribute("fill") == "url(#reserved-hatch)"
    expect(page.locator("#budgets tbody tr").last).to_contain_text("0.05")
    expect(page.locator("#budgets")).to_contain_text(f"Researcher ann in {site.project}")
    expect(page.locator("#chart-title")).to_have_count(1)
    check_page(page)
    shoot(page, "budgets")


# --- the release log --------------------------------------------------------------------------


def test_the_release_log_filters_and_pages(
    site: Site, page: Page, shoot: Callable[[Page, str], None]
) -> None:
    for spec in RELEASABLE:
        assert site.submit("ann", spec)["status"] == "released"
    refusals = 26 - len(RELEASABLE)
    for _ in range(refusals):
        answer = site.submit("bob", IDENTIFYING)
        assert answer["error"]["code"] == "refused"
    total = len(RELEASABLE) + refusals

    log_in(page, site)
    nav(page, "Release log")
    page.get_by_label("Project").fill(site.project)
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#showing")).to_have_text(f"Showing 1–25 of {total}.")
    expect(page.locator("#log tbody tr")).to_have_count(25)
    check_page(page)
    shoot(page, "log-page-1")

    page.get_by_role("link", name="Next page").click()
    expect(page.locator("#showing")).to_have_text(f"Showing 26–{total} of {total}.")
    expect(page.locator("#log tbody tr")).to_have_count(total - 25)
    assert f"project={site.project}" in page.url and "page=2" in page.url
    expect(page.get_by_label("Project")).to_have_value(site.project)
    # newest first: the oldest entries, ann's releases, are on the last page
    expect(page.locator("#log tbody tr").last).to_contain_text("released")
    shoot(page, "log-page-2")
    page.get_by_role("link", name="Previous page").click()
    expect(page.locator("#showing")).to_have_text(f"Showing 1–25 of {total}.")

    page.get_by_label("Status").select_option("released")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#showing")).to_have_text(
        f"Showing 1–{len(RELEASABLE)} of {len(RELEASABLE)}."
    )
    expect(page.get_by_role("link", name="Next page")).to_have_count(0)
    assert set(row_texts(page, "log")) and all("ann" in r for r in row_texts(page, "log"))
    shoot(page, "log-released")

    page.get_by_label("Status").select_option("")
    page.get_by_label("Researcher").fill("bob")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#showing")).to_have_text(f"Showing 1–{refusals} of {refusals}.")
    expect(page.locator("#log tbody tr").first).to_contain_text("identifies a person")

    today = dt.datetime.now(dt.UTC).date()
    page.get_by_label("Until (UTC day)").fill((today - dt.timedelta(days=1)).isoformat())
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#showing")).to_have_text("No entries match.")
    page.get_by_label("Until (UTC day)").fill("")
    page.get_by_label("Since (UTC day)").fill(today.isoformat())
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#showing")).to_have_text(f"Showing 1–{refusals} of {refusals}.")
    shoot(page, "log-filtered")

    # a filter typed into the address bar is checked, not passed on
    page.goto(f"{site.url}/dpo/releases?since=yesterday&status=lost")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("'yesterday' is not a date")
    expect(alert).to_contain_text("status: choose one of released, refused")
    check_page(page)
    shoot(page, "log-bad-filter")


# --- the audit chain --------------------------------------------------------------------------


def test_the_audit_page_names_the_first_broken_record(
    site: Site, page: Page, shoot: Callable[[Page, str], None]
) -> None:
    site.submit("ann", FEW_TEACHERS)
    log_in(page, site)
    nav(page, "Audit chain")
    result = page.locator("#audit-result")
    expect(result).to_contain_text("Intact")
    records = int(page.locator("#audit-records").inner_text())
    assert records > 5
    head = page.locator("#audit-head").inner_text()
    assert re.fullmatch(rf"{records}:[0-9a-f]{{64}}", head)
    check_page(page)
    shoot(page, "audit-intact")

    page.get_by_label("A head written down earlier (SEQ:HASH)").fill(head)
    page.get_by_role("button", name="Verify").click()
    expect(result).to_contain_text("still passes through the witness")

    # a mistyped witness is said to be mistyped, not taken for tampering
    page.get_by_label("A head written down earlier (SEQ:HASH)").fill(head[:-3])
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#witness-error")).to_contain_text("a witness is SEQ:HASH")
    expect(result).to_contain_text("Intact")

    engine = create_engine(site.control_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE audit SET actor = 'mallory' WHERE seq = 3"))
    finally:
        engine.dispose()
    page.goto(f"{site.url}/dpo/audit")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Broken")
    expect(alert).to_contain_text("audit record 3 was changed after it was written")
    check_page(page)
    shoot(page, "audit-broken")
    nav(page, "Overview")
    expect(page.locator("#audit-summary")).to_have_text("broken")
    shoot(page, "overview-broken")


# --- login, sessions and refusals -------------------------------------------------------------


def test_login_is_for_the_dpo_only_and_forms_need_their_csrf_value(
    site: Site, page: Page, context: BrowserContext, shoot: Callable[[Page, str], None]
) -> None:
    with httpx.Client(base_url=site.url) as client:
        schema = client.get("/v1/openapi.json").json()
        assert not [p for p in schema["paths"] if p.startswith("/dpo")]
        sheet = client.get("/static/medler.css")
        assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/css")
        form = client.get("/dpo/login")
        assert "script-src" not in form.headers["content-security-policy"]
        assert form.headers["x-frame-options"] == "DENY" and form.headers["x-medler-data"] == "real"
    for path in (
        "/dpo/",
        "/dpo/releases",
        "/dpo/requests/1",
        "/dpo/budgets",
        "/dpo/audit",
        "/dpo/nowhere",
    ):
        response = page.goto(f"{site.url}{path}")
        assert response is not None and page.url == f"{site.url}/dpo/login"
        first = response.request.redirected_from
        assert first is not None and first.response() is not None
        assert first.response().status == 303  # type: ignore[union-attr]
    check_page(page)

    # the first thing the keyboard reaches is the skip link, and it leads into the main content
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    shoot(page, "skip-link")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    with page.expect_response(lambda r: r.request.method == "POST") as refused:
        log_in(page, site, "ann")
    assert refused.value.status == 403
    expect(page.get_by_role("alert")).to_contain_text("for the data protection officer")
    expect(page.get_by_role("alert")).to_contain_text("researcher's token")
    assert session_cookies(context) == []
    check_page(page)
    shoot(page, "researcher-refused")

    with page.expect_response(lambda r: r.request.method == "POST") as wrong:
        page.get_by_label("Token").fill(site.tokens["dora"][:-4] + "0000")
        page.get_by_role("button", name="Log in").click()
    assert wrong.value.status == 401
    expect(page.get_by_role("alert")).to_contain_text("the token is not valid")

    log_in(page, site)
    expect(page).to_have_url(f"{site.url}/dpo/")
    (cookie,) = context.cookies()
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"], cookie["secure"]) == (
        True,
        "Strict",
        "/dpo",
        False,
    )
    assert page.evaluate("document.cookie") == ""  # HttpOnly: no script can read it
    csrf = page.locator("form.logout input[name=csrf]").get_attribute("value")
    assert csrf and site.tokens["dora"] not in csrf

    held = site.submit("ann", FEW_TEACHERS)["request"]["id"]
    approve = f"{site.url}/dpo/requests/{held}/approve"
    for form in (
        {"reason": "ok"},
        {"reason": "ok", "csrf": "0" * 64},
        {"reason": "ok", "csrf": csrf[::-1]},
    ):
        answer = page.request.post(approve, form=form, max_redirects=0)
        assert answer.status == 403
        assert 'role="alert"' in answer.text() and "did not come from these pages" in answer.text()
    assert page.request.post(f"{site.url}/dpo/logout", form={}, max_redirects=0).status == 403
    page.goto(f"{site.url}/dpo/requests/{held}")
    expect(page.locator("#request-status")).to_have_text("held")
    # an unknown page is a page, not a traceback
    page.goto(f"{site.url}/dpo/requests/999999")
    expect(page.get_by_role("alert")).to_contain_text("there is no request 999999")
    check_page(page)
    shoot(page, "not-found")

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{site.url}/dpo/login?out=1")
    expect(page.get_by_role("status")).to_have_text("You are logged out.")
    assert session_cookies(context) == []
    page.goto(f"{site.url}/dpo/budgets")
    expect(page).to_have_url(f"{site.url}/dpo/login")
    shoot(page, "logged-out")

    # a token revoked during a session ends it
    log_in(page, site)
    expect(page).to_have_url(f"{site.url}/dpo/")
    token_id = site.tokens["dora"].split("_")[1]
    site.gov.revoke_token(site.gov.person("e2e-admin"), token_id)
    page.goto(f"{site.url}/dpo/releases")
    expect(page).to_have_url(f"{site.url}/dpo/login")
    assert session_cookies(context) == []


def test_dummy_mode_is_labelled_on_every_page(
    start_site: Callable[[str], Site], page: Page, shoot: Callable[[Page, str], None]
) -> None:
    site = start_site("dummy")
    page.goto(f"{site.url}/dpo/login")
    expect(page.locator("#data-label")).to_contain_text("Dummy data.")
    expect(page).to_have_title(re.compile(r"\(dummy data\)$"))
    log_in(page, site)
    for link in ("Release log", "Requests", "Budgets", "Audit chain"):
        nav(page, link)
        expect(page.locator("#data-label")).to_contain_text("Dummy data.")
        check_page(page)
    shoot(page, "dummy")


# --- a tour of every page, screenshotted ------------------------------------------------------

# released at once (sdc), with filters: the release log describes them
FILTERED = {
    "table": "student_terms",
    "group_by": ["grade"],
    "filters": [
        {"column": "grade", "op": "in", "values": [8, 9]},
        {"column": "days_absent", "op": "between", "values": [0, 15]},
    ],
    "measures": [{"kind": "count_students"}, {"kind": "mean", "column": "absence_rate_reported"}],
}
# held for the "teachers" check too, and left held: its review page shows the risk
FEWER_TEACHERS = {**FEW_TEACHERS, "group_by": ["school_code", "subject_code"]}
# where ``scripts/dpo_screenshots.py`` has the tour's screenshots copied (the docs' images)
SCREENSHOTS = os.environ.get("MEDLER_DPO_SCREENSHOTS")


def not_blank(png: bytes) -> bool:
    """Whether a PNG shows something: its pixels take more than a handful of byte values (a
    blank page's are one colour)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    data, at = b"", 8
    while at < len(png):
        length = int.from_bytes(png[at : at + 4], "big")
        kind = png[at + 4 : at + 8]
        if kind == b"IDAT":
            data += png[at + 8 : at + 8 + length]
        at += 12 + length
    return len(set(zlib.decompress(data))) > 16


def test_a_tour_of_the_dpo_pages_in_screenshots(site: Site, page: Page, tmp_path: Path) -> None:
    """Each page, rendered with something to show, checked and screenshotted into the test's
    own folder (and, for ``scripts/dpo_screenshots.py``, into the docs' images)."""
    released = site.submit("ann", FILTERED)["release"]["release_id"]
    approved = site.submit("ann", FEW_TEACHERS)["request"]["id"]
    held = site.submit("ann", FEWER_TEACHERS)["request"]["id"]

    def shot(name: str, *expected: str) -> None:
        for wanted in expected:
            expect(page.locator("main")).to_contain_text(wanted)
        check_page(page)
        path = tmp_path / f"dpo-{name}.png"
        page.screenshot(path=path, full_page=True)
        assert not_blank(path.read_bytes()), f"the {name} page's screenshot is blank"
        if SCREENSHOTS:
            Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            (Path(SCREENSHOTS) / path.name).write_bytes(path.read_bytes())

    log_in(page, site)
    page.goto(f"{site.url}/dpo/requests/{approved}")
    page.get_by_label("Why it may be released").fill("Class-level means are the purpose")
    page.get_by_role("button", name="Approve and release").click()
    expect(page.locator("#request-status")).to_have_text("released")

    nav(page, "Overview")
    shot("overview", "Held requests", "Audit chain", "intact")

    nav(page, "Release log")
    page.get_by_label("Project").fill(site.project)
    page.get_by_role("button", name="Filter").click()
    shot(
        "release-log",
        "grade in [8, 9]; days_absent between 0 and 15",
        "count of pupils; mean of absence_rate_reported",
    )

    page.get_by_role("link", name=released).click()
    expect(page).to_have_url(f"{site.url}/dpo/releases/{released}")
    shot(
        "release",
        "exact (sdc): no ρ",
        "threshold: every cell at least 10 pupils",
        "released at once",
    )

    nav(page, "Requests")
    page.get_by_label("Status").select_option("all")
    page.get_by_role("button", name="Show").click()
    shot("requests", f"Request {held}", f"Request {approved}")

    page.get_by_role("link", name=f"Request {held}", exact=True).click()
    expect(page.locator("#risk")).to_contain_text("under min_teachers 3")
    shot("held-request", "The risk in numbers", "Approve and release")

    nav(page, "Budgets")
    shot("budgets", "ε = ρ + 2·sqrt(ρ·ln(1/δ))", "Exact (sdc) outputs per project")

    nav(page, "Audit chain")
    page.get_by_label("Action").select_option("released")
    page.get_by_label("Project").fill(site.project)
    page.get_by_role("button", name="Show records").click()
    expect(page.locator("#records tbody tr")).to_have_count(2)
    shot("audit", "Intact", "Showing 1–2 of 2.", "sdc student_terms by grade")

    pages = ("overview", "release-log", "release", "requests", "held-request", "budgets", "audit")
    assert {p.name for p in tmp_path.glob("dpo-*.png")} == {f"dpo-{n}.png" for n in pages}
