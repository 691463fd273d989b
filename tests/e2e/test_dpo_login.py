"""The DPO's login and session in a real browser (Debian's Chromium through Playwright, as in
``test_dpo_pages``): the cookie holds a session id, not the token; logging out ends the session
on the server, so a copy of the cookie kept from before is worth nothing; and a login posted
by another site's page is refused, even in a browser that has the login form's cookie."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tests.e2e.test_dpo_pages import (
    Site,
    browser,
    check_page,
    context,
    expect,
    log_in,
    page,
    research_dir,
    session_cookies,
    shoot,
    site,
    start_site,
)

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

__all__ = ["browser", "context", "page", "research_dir", "shoot", "site", "start_site"]

ATTACKER = "http://attacker.test/"


def test_logout_ends_the_session_even_for_a_kept_copy_of_the_cookie(
    site: Site, page: Page, context: BrowserContext, shoot: Callable[[Page, str], None]
) -> None:
    log_in(page, site)
    expect(page).to_have_url(f"{site.url}/dpo/")
    (cookie,) = session_cookies(context)
    assert site.tokens["dora"] not in cookie["value"]
    assert site.tokens["dora"].split("_", 2)[2] not in cookie["value"]
    # the cookie is no token: the API refuses it
    api = page.request.get(
        f"{site.url}/v1/dpo/requests", headers={"Authorization": f"Bearer {cookie['value']}"}
    )
    assert api.status == 401

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{site.url}/dpo/login?out=1")
    assert session_cookies(context) == []
    context.add_cookies([cookie])  # the copy an attacker kept
    page.goto(f"{site.url}/dpo/budgets")
    expect(page).to_have_url(f"{site.url}/dpo/login")
    assert session_cookies(context) == []  # and the browser is told to drop it
    check_page(page)
    shoot(page, "kept-cookie-refused")

    # a new login gets a new session id
    log_in(page, site)
    expect(page).to_have_url(f"{site.url}/dpo/")
    (fresh,) = session_cookies(context)
    assert fresh["value"] != cookie["value"]


def test_a_login_posted_from_another_site_is_refused(
    site: Site, page: Page, context: BrowserContext, shoot: Callable[[Page, str], None]
) -> None:
    # the victim's browser has the login form's cookie from an earlier visit
    page.goto(f"{site.url}/dpo/login")
    assert [c["name"] for c in context.cookies()] == ["medler_dpo_login"]
    # another site's page posts the attacker's own DPO token to the login form, with a guess
    # at the form's value: the browser does not send the SameSite=Strict cookie along
    form = (
        f'<!doctype html><html lang="en"><title>Win a prize</title><body><main>'
        f'<form method="post" action="{site.url}/dpo/login">'
        f'<input type="hidden" name="token" value="{site.tokens["dora"]}">'
        f'<input type="hidden" name="login_csrf" value="{"x" * 43}">'
        f'<button type="submit">Claim</button></form></main></body></html>'
    )
    context.route(ATTACKER, lambda route: route.fulfill(body=form, content_type="text/html"))
    page.goto(ATTACKER)
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Claim").click()
    assert posted.value.status == 403
    expect(page.get_by_role("alert")).to_contain_text("this form did not come from this page")
    assert session_cookies(context) == []
    shoot(page, "cross-site-login-refused")

    # the service's own form, from the page it served, still works
    log_in(page, site)
    expect(page).to_have_url(f"{site.url}/dpo/")
    assert len(session_cookies(context)) == 1
