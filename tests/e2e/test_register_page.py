"""The public register in a real browser (Debian's Chromium through Playwright, as in
``test_dpo_pages``): reachable without logging in, it lists the project and its releases with
the audit chain's anchor, passes the pages' accessibility checks, and on a phone-sized screen
(390 x 844) nothing is wider than the screen and the text stays readable. Its feed, fetched over
HTTP, agrees with the chain."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import httpx
import pytest

from release import compare_register
from release.governance import audit_head, set_up_office
from tests.e2e.test_dpo_pages import (
    RELEASABLE,
    Site,
    browser,
    check_page,
    context,
    expect,
    page,
    research_dir,
    shoot,
    site,
    start_site,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

__all__ = ["browser", "context", "page", "research_dir", "shoot", "site", "start_site"]

DP = {
    "table": "exposure",
    "group_by": ["school_code"],
    "mode": "dp",
    "rho": 0.05,
    "measures": [{"kind": "count_students"}],
}
LONG_TITLE = (
    "Absence, certified teaching and teacher turnover across every municipality's "
    "compulsory schools, 2019–2027"
)

# run in the browser: anything wider than the screen, and any text smaller than readable
LAYOUT = """() => {
  const width = document.documentElement.clientWidth;
  const problems = [];
  const clipped = el => {  // visually hidden, for screen readers only
    for (let at = el; at; at = at.parentElement)
      if (getComputedStyle(at).clipPath !== "none") return true;
    return false;
  };
  if (document.documentElement.scrollWidth > width)
    problems.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} > ${width}`);
  for (const el of document.querySelectorAll("main *, header *, footer *")) {
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (box.width === 0 || style.visibility === "hidden" || clipped(el)) continue;
    if (box.right > width + 0.5 || box.left < -0.5)
      problems.push(`${el.tagName}#${el.id} spans ${box.left}..${box.right} of ${width}`);
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (own && parseFloat(style.fontSize) < 12)
      problems.push(`${el.tagName} "${el.textContent.trim().slice(0, 30)}" is ${style.fontSize}`);
  }
  const body = parseFloat(getComputedStyle(document.querySelector("main p")).fontSize);
  if (body < 16) problems.push(`body text is ${body}px`);
  return problems;
}"""


def _released(site: Site) -> list[str]:
    office = set_up_office(site.gov, "e2e", "Uni")
    today = dt.datetime.now(dt.UTC).date()
    site.gov.create_project(
        office.registrar,
        "long-one",
        purpose="Absence " * 30,
        legal_basis="Official Statistics Act",
        organisation="Uni",
        valid_from=today,
        valid_to=today + dt.timedelta(days=9),
        tables={"student_terms": ["*"]},
        title=LONG_TITLE,
    )
    site.gov.approve_project(office.approver, "long-one", rho=0.1)
    site.gov.close_project(office.registrar, "long-one")
    ids = []
    for spec in (RELEASABLE[0], DP):
        body = site.submit("ann", spec)
        assert body["status"] == "released", body
        ids.append(body["release"]["release_id"])
    return ids


@pytest.fixture
def phone(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
        locale="en-GB",
        timezone_id="UTC",
    )
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


def test_anyone_reads_the_register_without_logging_in(
    site: Site, page: Page, shoot: Callable[[Page, str], None]
) -> None:
    ids = _released(site)
    page.goto(f"{site.url}/register")
    expect(page).to_have_url(f"{site.url}/register")  # no login page in between
    check_page(page)
    expect(page.locator("h1")).to_have_text("Who uses the school data, and why")
    article = page.locator(f"#project-{site.project}")
    expect(article.locator("h3")).to_contain_text("active")
    rows = article.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text(ids[0])
    expect(rows.nth(1)).to_contain_text("differentially private")
    expect(page.locator("#project-long-one h3")).to_contain_text("closed")
    seq, digest = audit_head(site.gov.engine)
    expect(page.locator("#anchor-records")).to_have_text(str(seq))
    expect(page.locator("#anchor-head")).to_have_text(digest)
    text = page.locator("body").inner_text()
    for person in ("ann", "bob", "dora", "olga", "e2e-registrar", "e2e-approver"):
        assert not re.search(rf"(?<![\w-]){re.escape(person)}(?![\w-])", text), person
    shoot(page, "register")
    page.get_by_role("link", name="/v1/register").click()
    assert f'"witness":"{seq}:{digest}"' in page.content()
    # the feed, over HTTP, agrees with the chain
    feed = httpx.get(f"{site.url}/v1/register", timeout=30).json()
    assert compare_register(site.gov.engine, feed)[1] == []


def test_the_register_reads_on_a_phone(
    site: Site, phone: BrowserContext, shoot: Callable[[Page, str], None]
) -> None:
    _released(site)
    screen = phone.new_page()
    screen.goto(f"{site.url}/register")
    check_page(screen)
    assert screen.evaluate(LAYOUT) == []
    # the releases' table reflows into one block per release, each value labelled
    first = screen.locator(f"#project-{site.project} tbody tr").first
    expect(first.locator("td").first).to_be_visible()
    label = first.locator("td").nth(1).evaluate("td => getComputedStyle(td, '::before').content")
    assert label == '"Table: "'
    shoot(screen, "register-phone")
