"""What a manager reads on the admin page and the dashboard is whole and legible at 1366x768 and 1920x1080."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.conftest import Api
from tests.web.conftest import log_in

pytestmark = [pytest.mark.redis, pytest.mark.browser]

SIZES = [("en", (1366, 768)), ("zh", (1366, 768)), ("en", (1920, 1080))]
LOCALE = {"zh": "zh-CN", "en": "en-US"}
#: The smallest text a manager should have to read, in CSS pixels.
LEGIBLE_PX = 14

#: The text inputs of a section whose value does not fit: [name, value] pairs.
CUT_OFF_INPUTS = """section => [...document.querySelectorAll(`#section-${section} table input:not([type=checkbox])`)]
  .filter(input => input.scrollWidth > input.clientWidth).map(input => [input.name, input.value])"""


@pytest.mark.parametrize(("lang", "size"), SIZES)
def test_service_and_counter_names_fit_in_their_inputs(
    api: Api, new_context: Callable[..., BrowserContext], lang: str, size: tuple[int, int]
) -> None:
    """Every editable name and number of the demo branch's services and counters is shown whole."""
    page = new_context(viewport={"width": size[0], "height": size[1]}, locale=LOCALE[lang]).new_page()
    log_in(page, api.url, "admin", path="/admin", lang=lang)
    for section in ("services", "counters"):
        page.click(f'.tabs a[data-tab="{section}"]')
        inputs = page.locator(f"#section-{section} table input[name=name_en]")
        expect(inputs).to_have_count(3 if section == "services" else 4)
        assert "Personal services" in inputs.evaluate_all("inputs => inputs.map(i => i.value)") or section != "services"
        assert page.evaluate(CUT_OFF_INPUTS, section) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= size[0]  # and no sideways scrolling


#: Each chart text's size as shown: its font size times the SVG's scale; the legends' in CSS pixels.
CHART_TEXT_PX = """() => ({
  axes: [...document.querySelectorAll('.chart-svg')].flatMap(svg => {
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    return [...svg.querySelectorAll('text')].map(t => parseFloat(getComputedStyle(t).fontSize) * scale);
  }),
  legends: [...document.querySelectorAll('.legend-label')].map(l => parseFloat(getComputedStyle(l).fontSize)),
  body: parseFloat(getComputedStyle(document.body).fontSize),
})"""


@pytest.mark.parametrize(("lang", "size"), SIZES)
def test_the_dashboard_charts_legends_and_axes_are_legible(
    api: Api, new_context: Callable[..., BrowserContext], lang: str, size: tuple[int, int]
) -> None:
    """The legend of each chart is in the page's text size, and no axis label is under 14 px."""
    api.user("boss", "manager")
    api.issue("A")
    assert api.counter("1", "call-next").status_code == 200
    page = new_context(viewport={"width": size[0], "height": size[1]}, locale=LOCALE[lang]).new_page()
    log_in(page, api.url, "boss", path="/dashboard", lang=lang)
    expect(page.locator(".chart-legend .legend-label")).to_have_count(4)
    sizes = page.evaluate(CHART_TEXT_PX)
    assert sizes["axes"] and min(sizes["axes"]) >= LEGIBLE_PX, sizes
    assert all(px >= max(LEGIBLE_PX, sizes["body"]) for px in sizes["legends"]), sizes
    expect(page.locator("#chart-arrivals .chart-legend")).to_contain_text("到达" if lang == "zh" else "Arrivals")
