"""Attacks on the DPO pages' sessions and logins, on the failed-login limit and on the API's
headers and docs, each written as what an attacker tries:

- a stolen session cookie used as a bearer token, kept after logout, kept across a new login,
  kept while idle or past its lifetime, or kept after its token was revoked;
- a form posted with another session's CSRF value, and a login posted from another site;
- token guessing on the bearer API and on the login form, from one address or many;
- framing, sniffing and caching of API answers, and a docs page that loads from elsewhere.

The sessions live in the control plane: these run on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.service import Settings, create_app
from api.service._failures import LoginFailures
from release.governance import Governance, Principal
from release.governance._models import WebSession
from tests.control_plane import control_url
from tests.research_data import research_dir

__all__ = ["control_url", "research_dir"]

ADMIN = Principal("root", "admin")
LOGIN_FIELD = re.compile(r'name="login_csrf" value="([^"]+)"')
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')
REFUSED_FORM = "did not come from these pages"


@dataclass
class Site:
    app: Any
    gov: Governance
    tokens: dict[str, str]

    def client(self, address: str = "testclient", **kw: Any) -> TestClient:
        return TestClient(
            self.app,
            raise_server_exceptions=False,
            follow_redirects=False,
            client=(address, 50000),
            **kw,
        )


def make_site(data_dir: Path, control: str, **settings: Any) -> Site:
    options = {"mode": "development", "secure_cookies": False, **settings}
    app = create_app(Settings(data_dir=data_dir, control_url=control, **options))
    gov: Governance = app.state.medler.governance
    gov.bootstrap(ADMIN.id, name="Root", organisation="Uni")
    for person, role in (("dora", "dpo"), ("dan", "dpo"), ("ann", "researcher")):
        proposal = gov.add_person(ADMIN, person, role=role, name=person.title(), organisation="Uni")
        if proposal is not None:  # a second DPO: the first confirms
            gov.decide(gov.person("dora"), proposal, confirm=True)
    tokens = {p: gov.issue_token(ADMIN, p).token for p in ("dora", "dan", "ann")}
    return Site(app, gov, tokens)


@pytest.fixture
def site(research_dir: Path, control_url: str) -> Site:
    return make_site(research_dir, control_url)


@pytest.fixture
def browser(site: Site) -> Iterator[TestClient]:
    with site.client() as client:
        yield client


def log_in(client: TestClient, token: str) -> Any:
    """Log in as a browser does: open the form, post it with its hidden value."""
    form = client.get("/dpo/login")
    assert form.status_code == 200
    value = LOGIN_FIELD.search(form.text)
    assert value is not None
    return client.post("/dpo/login", data={"token": token, "login_csrf": value.group(1)})


def csrf_of(client: TestClient) -> str:
    page = client.get("/dpo/")
    assert page.status_code == 200, page.text
    found = CSRF_FIELD.search(page.text)
    assert found is not None
    return found.group(1)


# --- sessions ---------------------------------------------------------------------------------


def test_the_session_cookie_is_not_a_token_and_the_database_keeps_only_its_hash(
    site: Site, browser: TestClient
) -> None:
    assert log_in(browser, site.tokens["dora"]).headers["location"] == "/dpo/"
    cookie = browser.cookies["medler_dpo"]
    assert site.tokens["dora"] not in cookie and site.tokens["dora"].split("_", 2)[2] not in cookie
    api = site.client().get("/v1/dpo/requests", headers={"Authorization": f"Bearer {cookie}"})
    assert api.status_code == 401
    api = site.client().get(
        "/v1/dpo/requests", headers={"Authorization": f"Bearer medler_{cookie}"}
    )
    assert api.status_code == 401
    from sqlalchemy.orm import Session

    with Session(site.gov.engine) as db:
        (row,) = db.query(WebSession).all()
        assert cookie not in (row.id_hash, row.csrf, row.token_id)


def test_after_logout_the_old_cookie_gets_the_login_page(site: Site, browser: TestClient) -> None:
    log_in(browser, site.tokens["dora"])
    stolen = browser.cookies["medler_dpo"]
    out = browser.post("/dpo/logout", data={"csrf": csrf_of(browser)})
    assert out.status_code == 303 and out.headers["location"] == "/dpo/login?out=1"
    with site.client(cookies={"medler_dpo": stolen}) as thief:
        again = thief.get("/dpo/")
        assert again.status_code == 303 and again.headers["location"] == "/dpo/login"


def test_a_new_login_gives_a_new_session_id_and_ends_the_old_one(
    site: Site, browser: TestClient
) -> None:
    # session fixation: an id planted in the browser before the login is worth nothing after
    log_in(browser, site.tokens["dora"])
    planted = browser.cookies["medler_dpo"]
    log_in(browser, site.tokens["dora"])
    fresh = browser.cookies["medler_dpo"]
    assert fresh != planted
    assert browser.get("/dpo/").status_code == 200
    with site.client(cookies={"medler_dpo": planted}) as attacker:
        assert attacker.get("/dpo/").headers["location"] == "/dpo/login"


def test_an_idle_or_too_old_session_ends(site: Site, browser: TestClient) -> None:
    log_in(browser, site.tokens["dora"])
    assert browser.get("/dpo/").status_code == 200
    now = dt.datetime.now(dt.UTC)
    with site.gov.engine.begin() as db:
        db.execute(update(WebSession).values(seen_at=now - dt.timedelta(minutes=16)))
    assert browser.get("/dpo/").headers["location"] == "/dpo/login"

    log_in(browser, site.tokens["dora"])
    with site.gov.engine.begin() as db:  # used a minute ago, but logged in 8 hours ago
        db.execute(
            update(WebSession)
            .where(WebSession.ended_at.is_(None))
            .values(
                created_at=now - dt.timedelta(hours=8, minutes=1),
                seen_at=now - dt.timedelta(minutes=1),
            )
        )
    assert browser.get("/dpo/").headers["location"] == "/dpo/login"


def test_a_revoked_token_ends_its_sessions(site: Site, browser: TestClient) -> None:
    log_in(browser, site.tokens["dora"])
    assert browser.get("/dpo/budgets").status_code == 200
    site.gov.revoke_token(ADMIN, site.tokens["dora"].split("_")[1])
    assert browser.get("/dpo/budgets").headers["location"] == "/dpo/login"


# --- forms ------------------------------------------------------------------------------------


def test_a_post_with_another_sessions_csrf_value_is_refused(site: Site) -> None:
    # two sessions of the same person: each form value belongs to its own session only
    with site.client() as mine, site.client() as other:
        log_in(mine, site.tokens["dora"])
        log_in(other, site.tokens["dora"])
        theirs = csrf_of(other)
        assert theirs != csrf_of(mine)
        for sent in ({"csrf": theirs}, {"csrf": ""}, {}):
            refused = mine.post("/dpo/logout", data=sent)
            assert refused.status_code == 403 and REFUSED_FORM in refused.text
        assert mine.get("/dpo/").status_code == 200  # still logged in
        assert mine.post("/dpo/logout", data={"csrf": csrf_of(mine)}).status_code == 303


def test_a_cross_site_login_post_is_refused(site: Site, browser: TestClient) -> None:
    # another site's page posts the attacker's token: no login cookie, or one that differs
    token = site.tokens["dora"]
    with site.client() as victim:
        for sent in ({"token": token}, {"token": token, "login_csrf": "x" * 43}):
            refused = victim.post("/dpo/login", data=sent)
            assert refused.status_code == 403
            assert "this form did not come from this page" in refused.text
            assert "medler_dpo" not in victim.cookies
    browser.get("/dpo/login")
    kept = browser.cookies["medler_dpo_login"]
    refused = browser.post("/dpo/login", data={"token": token, "login_csrf": kept[::-1]})
    assert refused.status_code == 403 and "medler_dpo" not in browser.cookies
    assert log_in(browser, token).status_code == 303
    assert "medler_dpo_login" not in browser.cookies  # used up by the login


def test_the_cookies_are_http_only_strict_and_scoped(research_dir: Path, tmp_path: Path) -> None:
    site = make_site(research_dir, f"sqlite:///{tmp_path / 'c.db'}")
    with site.client(base_url="https://testserver") as browser:
        form = browser.get("/dpo/login")
        login = log_in(browser, site.tokens["dora"])
    (pre,) = form.headers.get_list("set-cookie")
    assert pre.startswith("medler_dpo_login=")
    for part in ("HttpOnly", "Path=/dpo/login", "SameSite=strict"):
        assert part in pre
    cookies = login.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("medler_dpo="))
    for part in ("HttpOnly", "Path=/dpo", "SameSite=strict"):
        assert part in session
    assert "Secure" not in session  # secure_cookies=False here
    secure = make_site(
        research_dir, f"sqlite:///{tmp_path / 's.db'}", mode="production", secure_cookies=True
    )
    with secure.client(base_url="https://testserver") as browser:
        cookies = log_in(browser, secure.tokens["dora"]).headers.get_list("set-cookie")
    assert all("Secure" in c for c in cookies)


# --- failed logins ----------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _clocked(site: Site) -> Clock:
    clock = Clock()
    site.app.state.medler.failures = LoginFailures(10, 300, clock=clock)
    return clock


def _bearer(client: TestClient, token: str) -> Any:
    return client.get("/v1/dpo/requests", headers={"Authorization": f"Bearer {token}"})


def test_eleven_wrong_tokens_get_429_with_retry_after(site: Site, browser: TestClient) -> None:
    clock = _clocked(site)
    codes = []
    for i in range(11):
        clock.now += 1
        codes.append(_bearer(browser, f"medler_{i:016x}_guess").status_code)
    assert codes == [401] * 10 + [429]
    limited = _bearer(browser, "medler_ffff_guess")
    body = limited.json()
    assert body["error"]["code"] == "rate_limited" and body["data"] == "real"
    assert body["error"]["message"] == (
        "too many failed logins from this address (10 in 300 s); try again in 290 s"
    )
    assert limited.headers["retry-after"] == "290"
    # the right token from this address waits too; from another address it works
    assert _bearer(browser, site.tokens["dora"]).status_code == 429
    with site.client("10.0.0.2") as elsewhere:
        assert _bearer(elsewhere, site.tokens["dora"]).status_code == 200


def test_the_limit_per_token_id_holds_across_addresses(site: Site) -> None:
    clock = _clocked(site)
    token_id = site.tokens["dora"].split("_")[1]
    for i in range(10):
        with site.client(f"10.0.1.{i}") as guesser:
            assert _bearer(guesser, f"medler_{token_id}_guess{i}").status_code == 401
    with site.client("10.0.2.1") as another:
        limited = _bearer(another, f"medler_{token_id}_guess")
        assert limited.status_code == 429 and limited.headers["retry-after"] == "300"
        assert "with this token id" in limited.json()["error"]["message"]
        assert _bearer(another, site.tokens["dora"]).status_code == 429  # checked first
        assert _bearer(another, site.tokens["dan"]).status_code == 200  # another id
        clock.now += 301  # the window has passed: the right token works again
        assert _bearer(another, site.tokens["dora"]).status_code == 200


def test_a_success_in_between_does_not_clear_failures(site: Site, browser: TestClient) -> None:
    _clocked(site)
    codes = []
    for i in range(12):
        if i % 3 == 0:  # the attacker's own valid token, interleaved
            assert _bearer(browser, site.tokens["dan"]).status_code == 200
        codes.append(_bearer(browser, f"medler_{i:016x}_guess").status_code)
    assert codes == [401] * 10 + [429] * 2


def test_the_login_form_is_limited_too(site: Site, browser: TestClient) -> None:
    _clocked(site)
    token_id = site.tokens["dora"].split("_")[1]
    codes = [log_in(browser, f"medler_{token_id}_guess{i}").status_code for i in range(11)]
    assert codes == [401] * 10 + [429]
    limited = log_in(browser, site.tokens["dora"])
    assert limited.status_code == 429 and limited.headers["retry-after"].isdigit()
    assert 'role="alert"' in limited.text
    assert "Not logged in: too many failed logins from this address" in limited.text
    assert "medler_dpo" not in browser.cookies
    # the API and the form share the count: the token id is limited on the API as well
    with site.client("10.0.3.1") as elsewhere:
        assert _bearer(elsewhere, site.tokens["dora"]).status_code == 429


# --- headers and docs -------------------------------------------------------------------------

API_HEADERS = {
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def test_every_api_answer_carries_the_hardening_headers(site: Site, browser: TestClient) -> None:
    dora = {"Authorization": f"Bearer {site.tokens['dora']}"}
    answers = [
        browser.get("/v1/health"),
        browser.get("/v1/nowhere"),
        browser.get("/v1/dpo/requests", headers=dora),
        browser.get("/v1/dpo/requests", headers={"Authorization": "Bearer x"}),
        browser.post("/v1/dpo/requests/1/approve", headers=dora, content=b"{"),
    ]
    for answer in answers:
        assert {k: answer.headers.get(k) for k in API_HEADERS} == API_HEADERS, answer.url
        assert "strict-transport-security" not in answer.headers  # plain HTTP
    assert "no-store" not in answers[0].headers.get("cache-control", "")
    for authenticated in answers[2:]:
        assert authenticated.headers["cache-control"] == "no-store"


def test_strict_transport_security_over_tls_only(
    site: Site, research_dir: Path, tmp_path: Path
) -> None:
    with site.client(base_url="https://testserver") as tls:
        for path in ("/v1/health", "/dpo/login"):
            assert tls.get(path).headers["strict-transport-security"] == "max-age=31536000"
    proxied = make_site(research_dir, f"sqlite:///{tmp_path / 'p.db'}", behind_tls_proxy=True)
    with proxied.client() as behind:
        assert behind.get("/v1/health").headers["strict-transport-security"].startswith("max-age")


def test_the_docs_load_nothing_from_elsewhere(site: Site, browser: TestClient) -> None:
    docs = browser.get("/v1/docs")
    assert docs.status_code == 200 and docs.headers["content-type"].startswith("text/html")
    policy = docs.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe" not in policy and "http" not in policy
    assert not re.search(r"https?://|//[a-z]", docs.text)  # nothing outside the service
    assert "<script>" not in docs.text  # no inline script: the policy would block it
    linked = re.findall(r'(?:src|href|data-openapi)="([^"]+)"', docs.text)
    assert "/v1/openapi.json" in linked and len(linked) >= 4
    for url in linked:
        assert url.startswith("/v1/")
        asset = browser.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 0
    bundle = browser.get("/v1/docs/assets/swagger-ui-bundle.js")
    assert "javascript" in bundle.headers["content-type"]
