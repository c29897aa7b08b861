"""Every page passes axe-core (vendored, tests/vendor/axe-core) with no serious or critical violation.

Each page is opened in Debian's chromium, in Chinese and in English, by the person who uses it, on a
hall in a realistic state: tickets waiting, one called at the counter desk and one at another counter,
a paused counter, a notice, a finished ticket with a rating and one with a complaint. One server, one
kiosk and one browser serve the whole module. See docs/accessibility.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from playwright.sync_api import Browser, BrowserContext, Page, expect

from printer.emulator import PrinterEmulator
from tests.conftest import Api
from tests.display.conftest import post_notice
from tests.kiosk.conftest import open_kiosk, tap
from tests.kiosk.processes import InProcessKiosk
from tests.phone.conftest import call_next, file_complaint, ok, serve, wait_live
from tests.servers import ROOT, ServerProcess
from tests.web.conftest import log_in

pytestmark = [pytest.mark.redis, pytest.mark.browser]

AXE = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
LANGS = ["zh", "en"]
LOCALES = {"zh": "zh-CN", "en": "en-US"}
NOTICE = ("今天下午三点后暂停办理外汇业务。", "No foreign exchange after 3 pm today.")
FIRE_ZH = "火警：请立即从最近的安全出口撤离。"
FIRE_EN = "Fire alarm: leave now by the nearest exit."
#: Failing nodes named per violation in a failure message; the rest are counted.
SHOWN_NODES = 8

#: What axe reports of a page: its serious and critical violations, each with the nodes that fail.
RUN_AXE = """
async (exclude) => {
  const result = await axe.run(
    exclude.length ? { include: [document], exclude: exclude.map((s) => [s]) } : document,
    { resultTypes: ["violations"] },
  );
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })),
    }));
}
"""


def violations(page: Page, exclude: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """axe's serious and critical violations on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(RUN_AXE, list(exclude))
    return found


def report(where: str, found: list[dict[str, Any]]) -> str:
    """The violations in words a developer can act on: rule, help, and each failing node."""
    lines = [f"{where}: {len(found)} serious or critical accessibility violation(s)"]
    for violation in found:
        nodes = violation["nodes"]
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}; {len(nodes)} node(s):")
        lines += [f"    {node['target']}" for node in nodes[:SHOWN_NODES]]
        if len(nodes) > SHOWN_NODES:
            lines.append(f"    ... and {len(nodes) - SHOWN_NODES} more")
        lines.append("    first: " + " ".join(nodes[0]["summary"].split()))
    return "\n".join(lines)


def assert_accessible(page: Page, where: str, exclude: tuple[str, ...] = ()) -> None:
    found = violations(page, exclude)
    assert not found, report(where, found)


@dataclass
class Hall:
    """The module's server and kiosk, and the tickets whose phone pages are checked."""

    api: Api
    kiosk_url: str
    display_token: str
    waiting: dict[str, Any]
    called: dict[str, Any]
    finished: dict[str, Any]
    complained: dict[str, Any]

    @property
    def url(self) -> str:
        return self.api.url


@pytest.fixture(scope="module")
def hall(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hall]:
    """A hall mid-morning: queues in every service, counter 1 (staff1) and 2 serving, 4 paused, a notice,
    a rated ticket with a complaint and a finished one still to rate."""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()
    server = ServerProcess(tmp_path_factory.mktemp("a11y"), redis_url).start()
    api = Api(server.url)
    with PrinterEmulator() as printer:
        kiosk = InProcessKiosk(server.url, api.user("kiosk1", "kiosk"), printer.url).start()
        try:
            yield setting_the_scene(api, kiosk.url)
        finally:
            kiosk.stop()
            api.close()
            server.stop()


def setting_the_scene(api: Api, kiosk_url: str) -> Hall:
    staff = api.user("staff1", "staff", ["1", "2"])
    api.user("manager1", "manager")
    for service in "AABBCCAB":
        api.issue(service)
    api.issue("A", priority=True)
    complained = serve(api, "3")
    ok(api.http.post(f"/api/branches/main/tickets/{complained['id']}/rating", json={"rating": 2}), 201)
    file_complaint(api, complained, "等了很久，窗口没有人。")
    finished = serve(api, "3")
    called = call_next(api, "2")
    ok(api.counter_as(staff, "1", "take"))
    ok(api.counter_as(staff, "1", "call-next"))
    ok(api.counter("4", "pause", {"reason": "午休 Lunch break"}))
    post_notice(api, *NOTICE)
    waiting = api.issue("C")
    return Hall(api, kiosk_url, api.user("tv1", "display"), waiting, called, finished, complained)


@pytest.fixture
def context(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    """Factory of browser contexts in a language; CSP is bypassed only so that axe can be injected."""
    made: list[BrowserContext] = []

    def make(lang: str, **options: Any) -> BrowserContext:
        made.append(browser.new_context(locale=LOCALES[lang], bypass_csp=True, **options))
        return made[-1]

    yield make
    for each in made:
        each.close()


DESK = {"viewport": {"width": 1366, "height": 768}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
TV = {"viewport": {"width": 1920, "height": 1080}}
KIOSK = {"viewport": {"width": 1080, "height": 1920}}


def staff_page(make: Callable[..., BrowserContext], hall: Hall, lang: str, username: str, path: str) -> Page:
    page = make(lang, **DESK).new_page()
    log_in(page, hall.url, username, path=path, lang=lang)
    return page


@pytest.mark.parametrize("lang", LANGS)
def test_login_page(hall: Hall, context: Callable[..., BrowserContext], lang: str) -> None:
    """The login form, before anyone is signed in."""
    page = context(lang, **DESK).new_page()
    page.goto(f"{hall.url}/login?lang={lang}")
    assert_accessible(page, f"/login ({lang})")


@pytest.mark.parametrize("lang", LANGS)
def test_counter_chooser_and_desk(hall: Hall, context: Callable[..., BrowserContext], lang: str) -> None:
    """The counter chooser, then the desk of counter 1 with a ticket called."""
    page = staff_page(context, hall, lang, "staff1", "/counter")
    expect(page.locator("#choose .choice")).to_have_count(2)
    assert_accessible(page, f"/counter chooser ({lang})")
    page.goto(f"{hall.url}/counter?counter=1")
    expect(page.locator("#connection")).to_have_attribute("data-state", "online")
    expect(page.locator("#current-number")).not_to_have_text("—")
    expect(page.locator("#next li").first).to_be_visible()
    assert_accessible(page, f"/counter desk ({lang})")


@pytest.mark.parametrize("lang", LANGS)
def test_dashboard(hall: Hall, context: Callable[..., BrowserContext], lang: str) -> None:
    """The manager's dashboard, with today's figures drawn."""
    page = staff_page(context, hall, lang, "manager1", "/dashboard")
    expect(page.locator("#generated-at")).not_to_have_text("—")
    expect(page.locator("#staff tbody tr").first).to_be_visible()
    assert_accessible(page, f"/dashboard ({lang})")


#: The admin section is shown and each of its tables has its rows (every table has some on this hall).
SECTION_FILLED = """
(name) => {
  const section = document.querySelector(`.admin-section[data-section="${name}"]`);
  return section && !section.hidden && [...section.querySelectorAll("table")].every((t) => t.tBodies[0].rows.length);
}
"""


@pytest.mark.parametrize(("username", "lang"), [("admin", "zh"), ("admin", "en"), ("manager1", "zh")])
def test_every_admin_section(hall: Hall, context: Callable[..., BrowserContext], username: str, lang: str) -> None:
    """Each section of /admin in turn, as the admin sees it and as a manager (read only) does."""
    page = staff_page(context, hall, lang, username, "/admin")
    tabs = page.locator(".tabs a[data-tab]")
    expect(page.locator("#overview-counters tbody tr").first).to_be_visible()
    found: list[str] = []
    names = [str(tabs.nth(i).get_attribute("data-tab")) for i in range(tabs.count())]
    assert len(names) > 1
    for name in names:
        page.click(f'.tabs a[data-tab="{name}"]')
        page.wait_for_function(SECTION_FILLED, arg=name)
        if problems := violations(page):
            found.append(report(f"/admin#{name} ({username}, {lang})", problems))
    assert not found, "\n".join(found)


@pytest.mark.parametrize("lang", LANGS)
def test_complaints_page_and_its_close_dialog(hall: Hall, context: Callable[..., BrowserContext], lang: str) -> None:
    """The complaints list with an open complaint, then the dialog that asks before closing it."""
    page = staff_page(context, hall, lang, "manager1", "/complaints")
    expect(page.locator("#complaints tbody tr")).to_have_count(1)
    assert_accessible(page, f"/complaints ({lang})")
    page.click('#complaints tbody tr button[data-action="close"]')
    expect(page.locator("#close-dialog")).to_be_visible()
    assert_accessible(page, f"/complaints close dialog ({lang})")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("state", ["waiting", "called", "finished", "complained"])
def test_phone_page(hall: Hall, context: Callable[..., BrowserContext], lang: str, state: str) -> None:
    """The customer's ticket page while waiting, when called, when done (rating and complaint form), and
    once rated with a complaint waiting for its answer."""
    ticket = getattr(hall, state)
    page = context(lang, **PHONE).new_page()
    page.goto(f"{hall.url}/t/{ticket['id']}?lang={lang}")
    wait_live(page)
    expect(page.locator("body")).to_have_attribute("data-status", state if state in ("waiting", "called") else "served")
    if state == "complained":
        expect(page.locator("#follow-up")).to_be_visible()
    if state == "finished":
        expect(page.locator("#rating")).to_be_visible()
        page.click("#complaint-open")
        expect(page.locator("#complaint-form")).to_be_visible()
    assert_accessible(page, f"/t/ ({state}, {lang})")


@pytest.mark.parametrize("lang", LANGS)
def test_phone_page_of_an_unknown_ticket(hall: Hall, context: Callable[..., BrowserContext], lang: str) -> None:
    """The page a QR code of a ticket that no longer exists leads to."""
    page = context(lang, **PHONE).new_page()
    page.goto(f"{hall.url}/t/no-such-ticket-0000000000?lang={lang}")
    assert_accessible(page, f"/t/ unknown ticket ({lang})")


@pytest.mark.parametrize("lang", [*LANGS, "both"])
def test_lobby_display(hall: Hall, context: Callable[..., BrowserContext], lang: str) -> None:
    """A paired display showing the hall (one language or both), the notice in its ticker; then a call
    (a recall at counter 2) flashing; then an emergency notice."""
    page = context("zh", **TV).new_page()
    page.goto(f"{hall.url}/display/main?token={hall.display_token}" + ("" if lang == "both" else f"&lang={lang}"))
    expect(page.locator("body")).to_have_attribute("data-synced", "true")
    expect(page.locator("#ticker")).to_be_visible()
    assert_accessible(page, f"/display/main ({lang})")
    ok(hall.api.counter("2", "recall"))
    expect(page.locator("#spotlight")).to_have_attribute("data-active", "true")
    assert_accessible(page, f"/display/main during a call ({lang})")
    post_notice(hall.api, FIRE_ZH, FIRE_EN, emergency=True)
    try:
        expect(page.locator("#ticker")).to_have_attribute("data-emergency", "true")
        assert_accessible(page, f"/display/main emergency notice ({lang})")
    finally:
        post_notice(hall.api, *NOTICE)


@pytest.mark.parametrize("lang", LANGS)
def test_display_pairing_and_error_pages(hall: Hall, context: Callable[..., BrowserContext], lang: str) -> None:
    """An unpaired display's code screen, and the page a display with a bad token shows."""
    page = context(lang, **TV).new_page()
    page.goto(f"{hall.url}/display/main?lang={lang}")
    expect(page.locator("#pairing-code")).to_have_text(re.compile(r"^[0-9]{6}$"))
    assert_accessible(page, f"/display/main pairing ({lang})")
    page.goto(f"{hall.url}/display/main?token=nope&lang={lang}")
    expect(page.locator("#display-error")).to_be_visible()
    assert_accessible(page, f"/display/main bad token ({lang})")


@pytest.mark.parametrize("lang", LANGS)
def test_kiosk_page(hall: Hall, context: Callable[..., BrowserContext], lang: str) -> None:
    """The kiosk agent's touch page: the services, then the printed ticket."""
    page = open_kiosk(context(lang, **KIOSK).new_page(), hall.kiosk_url)
    expect(page.locator("button.service").first).to_be_visible()
    if lang == "en":
        page.click("#lang")
        expect(page.locator("body")).to_have_class(re.compile(r"\blang-en\b"))
    assert_accessible(page, f"kiosk start ({lang})")
    tap(page, "A")
    expect(page.locator("#print-status")).to_have_attribute("data-state", "printed")
    assert_accessible(page, f"kiosk ticket ({lang})")


@pytest.mark.parametrize("lang", LANGS)
def test_not_found_and_forbidden_pages(hall: Hall, context: Callable[..., BrowserContext], lang: str) -> None:
    """A mistyped address; and a staff page opened by a device, which may not use it."""
    page = context(lang, **DESK).new_page()
    page.goto(f"{hall.url}/no-such-page?lang={lang}")
    expect(page.locator("main [role=alert]")).to_be_visible()
    assert_accessible(page, f"not found ({lang})")
    device = context(lang, **DESK, extra_http_headers={"Authorization": f"Bearer {hall.display_token}"}).new_page()
    response = device.goto(f"{hall.url}/counter?lang={lang}")
    assert response is not None and response.status == 403
    assert_accessible(device, f"forbidden ({lang})")
