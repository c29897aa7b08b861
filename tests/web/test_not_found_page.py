"""A mistyped address (issue #16): a browser gets a page in words, the API keeps its JSON."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext

from tests.conftest import Api

pytestmark = pytest.mark.redis


def test_the_api_still_answers_json(api: Api) -> None:
    for path in ("/api/nope", "/api/branches/main/nope"):
        response = api.http.get(path, headers={"Accept": "text/html,application/json"})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_a_program_asking_for_json_gets_json(api: Api) -> None:
    response = api.http.get("/no-such-page", headers={"Accept": "application/json"})
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


@pytest.mark.browser
@pytest.mark.parametrize(
    ("lang", "title", "link"), [("zh", "没有这个页面", "员工登录"), ("en", "No such page", "Staff login")]
)
def test_a_mistyped_address_shows_a_page_that_leads_somewhere(
    api: Api, new_context: Callable[[], BrowserContext], lang: str, title: str, link: str
) -> None:
    page = new_context().new_page()
    response = page.goto(f"{api.url}/dashbaord?lang={lang}")
    assert response is not None and response.status == 404
    assert page.locator("[role=alert]").inner_text() == title
    assert "{" not in page.locator("body").inner_text(), "raw JSON shown to a person"
    page.get_by_role("link", name=link).click()
    page.wait_for_url(f"{api.url}/login*")
