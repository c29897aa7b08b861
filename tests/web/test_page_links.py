"""Every staff page links to the other pages its reader may open, and to none that would refuse them."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, expect

from server.web.i18n import translate
from tests.conftest import Api
from tests.web.conftest import log_in

pytestmark = [pytest.mark.redis, pytest.mark.browser]

#: The pages each role works on, in the order of the links (none for staff: there is one page).
PAGES = {
    "staff": ["/counter"],
    "manager": ["/dashboard", "/admin", "/complaints"],
    "admin": ["/counter", "/dashboard", "/admin", "/complaints"],
}
LINK_TEXT = {"/counter": "nav.counter", "/dashboard": "nav.dashboard", "/admin": "nav.admin",
             "/complaints": "nav.complaints"}  # fmt: skip
ACCOUNTS = {"staff": ("clerk", ["1"]), "manager": ("boss", []), "admin": ("admin", [])}
LOCALE = {"zh": "zh-CN", "en": "en-US"}


@pytest.mark.parametrize(("role", "lang"), [("staff", "zh"), ("manager", "en"), ("manager", "zh"), ("admin", "zh"),
                                            ("admin", "en")])  # fmt: skip
def test_each_page_links_to_the_pages_the_role_may_open(
    api: Api, new_context: Callable[..., BrowserContext], role: str, lang: str
) -> None:
    """The links are the role's pages, in its language; each opens (200, no redirect); logout is on every page."""
    username, counters = ACCOUNTS[role]
    if role != "admin":
        api.user(username, role, counters)
    page = new_context(viewport={"width": 1366, "height": 768}, locale=LOCALE[lang]).new_page()
    pages = PAGES[role]
    log_in(page, api.url, username, path=pages[0], lang=lang)
    links = page.locator("#pages a")
    for path in pages:
        response = page.goto(f"{api.url}{path}")
        assert response is not None and response.status == 200 and urlsplit(page.url).path == path
        expect(page.locator("#logout")).to_be_visible()
        expect(page.locator("#who-role")).to_have_text(translate(f"role.{role}", lang))
        elsewhere = page.locator(", ".join(f'a:not(.lang)[href^="{p}"]' for p in LINK_TEXT))  # not the 中文/English
        if len(pages) == 1:
            expect(links).to_have_count(0)  # nowhere else to go: no links at all
            expect(elsewhere).to_have_count(0)
            continue
        assert links.evaluate_all("links => links.map(a => a.getAttribute('href'))") == pages
        assert links.all_inner_texts() == [translate(LINK_TEXT[p], lang) for p in pages]
        expect(page.locator('#pages a[aria-current="page"]')).to_have_attribute("href", path)
        assert elsewhere.count() == len(pages)  # no other link to a staff page anywhere
        # One row at 1366x768: the links cost the counter workstation no height.
        nav, logout = links.first.bounding_box(), page.locator("#logout").bounding_box()
        assert nav is not None and logout is not None
        assert logout["y"] < nav["y"] + nav["height"] and nav["y"] < logout["y"] + logout["height"]
    for path in pages[1:] + pages[:1]:
        with page.expect_navigation() as opened:
            page.click(f'#pages a[href="{path}"]') if len(pages) > 1 else page.goto(f"{api.url}{path}")
        assert opened.value is not None and opened.value.status == 200
        assert urlsplit(page.url).path == path  # not sent elsewhere (a 303) nor refused (403)


@pytest.mark.parametrize("role", ["staff", "manager"])
def test_a_mistyped_address_offers_the_readers_own_pages(
    api: Api, new_context: Callable[..., BrowserContext], role: str
) -> None:
    """Logged in, the page for a mistyped address lists the pages this person may open, and only those."""
    username, counters = ACCOUNTS[role]
    api.user(username, role, counters)
    page = new_context().new_page()
    log_in(page, api.url, username, path=PAGES[role][0])
    response = page.goto(f"{api.url}/dashbaord")
    assert response is not None and response.status == 404
    offered = page.locator("main a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert offered == PAGES[role]
