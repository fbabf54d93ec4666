"""The date-taken timeline in Debian's Chromium against gunicorn: scrolling loads the next page
(its tiles shaped like the first page's), the address keeps the month in view so a reload comes
back there, the scrubber jumps to a month by mouse and by keyboard, and on a phone it is a
compact strip above the grid. Screenshots go to artifacts/screenshots."""

from __future__ import annotations

import re
import time
from urllib.parse import quote

import pytest
import requests
from servers import gunicorn, screenshot, upload_all
from test_browser import Console
from test_exif import exif_photo

pytestmark = pytest.mark.browser

PAGE = 12  # photos a page (GALLERY_PAGE_SIZE): three months fill more than two pages
MONTHS = {"2024-03": 14, "2023-11": 10, "2022-06": 8}  # month taken → photos
UNDATED = 3
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "has_touch": True, "is_mobile": True}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data, logs = tmp_path_factory.mktemp("timeline-data"), tmp_path_factory.mktemp("timeline-log")
    env = {"GALLERY_RATE_LIMIT_UPLOAD": "off", "SECRET_KEY": "timeline-test", "GALLERY_PAGE_SIZE": str(PAGE)}
    env["GALLERY_LABEL_ON_UPLOAD"] = "false"  # the timeline is about dates; detection is tested elsewhere
    with gunicorn(data, logs / "gunicorn.log", **env) as base:
        uploads = []
        for month, count in MONTHS.items():
            year, number = month.split("-")
            for day in range(1, count + 1):
                size = (60 + 8 * (day % 4), 40 + 6 * (day % 3))  # shapes vary: each tile has its own ratio
                uploads.append(
                    (
                        f"{month}/{day:02d}.jpg",
                        exif_photo(size=size, taken=f"{year}:{number}:{day:02d} 12:00:00", offset=""),
                    )
                )
        uploads += [(f"scans/{n}.jpg", exif_photo(size=(50, 70), taken=None)) for n in range(UNDATED)]
        upload_all(base, uploads)
        yield base


def open_page(browser, device: dict):
    page = browser.new_context(**device, color_scheme="light").new_page()
    page.set_default_timeout(20_000)
    page.console = Console(page)
    return page


@pytest.fixture
def page(fresh_page):
    """The desktop tests' page (1280×800, light: ``page_options``' default), reused between them."""
    fresh_page.console = Console(fresh_page)
    return fresh_page


def tiles(page) -> int:
    return page.locator("#gallery-grid li.tile").count()


def until(page, check, seconds: float = 15) -> None:
    """Wait for ``check(page)`` (wait_for_function evaluates strings, which the page's CSP forbids)."""
    deadline = time.monotonic() + seconds
    while not check(page):
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(100)


def scrolled(page, count: int) -> bool:
    """Scroll on (as a reader does) and say whether ``count`` tiles are there yet."""
    page.mouse.wheel(0, 3000)
    return tiles(page) >= count


def test_scrolling_loads_the_next_pages_and_the_address_keeps_the_month(server, page):
    assert requests.get(f"{server}/gallery?sort=taken", timeout=10).text.count('<li class="tile"') == PAGE
    page.goto(server + "/gallery?sort=taken", wait_until="load")
    until(page, lambda p: scrolled(p, 2 * PAGE + 1))
    # The appended tiles have their own shapes and colours, and unique ids.
    last = page.locator("#gallery-grid li.tile").last
    assert float(last.evaluate("li => getComputedStyle(li).getPropertyValue('--ratio')")) > 0
    ids = page.eval_on_selector_all("#gallery-grid li.tile", "els => els.map(e => e.id)")
    assert len(ids) == len(set(ids))
    # The month goes on across the page break: one heading per month.
    headings = page.eval_on_selector_all("h2.timeline-heading", "els => els.map(e => e.id)")
    assert len(headings) == len(set(headings))
    until(page, lambda p: scrolled(p, sum(MONTHS.values()) + UNDATED))  # to the end: "Date unknown" last
    assert tiles(page) == sum(MONTHS.values()) + UNDATED
    assert page.locator("h2.timeline-heading").last.inner_text() == "Date unknown"
    assert page.locator('#pager a[rel="next"]').count() == 0
    # A tile that scrolling added opens in the viewer among its neighbours, not on its own.
    links = page.locator("#gallery-grid li.tile a[data-photo]")
    keys = links.evaluate_all("els => els.map(e => JSON.parse(e.dataset.photo).key)")
    links.nth(PAGE + 3).click()
    page.wait_for_selector(".pswp--ready")  # keys count once the opening animation ends
    until(page, lambda p: p.url.endswith("#photo=" + quote(keys[PAGE + 3], safe="")))
    page.keyboard.press("ArrowRight")
    until(page, lambda p: p.url.endswith("#photo=" + quote(keys[PAGE + 4], safe="")))
    page.keyboard.press("Escape")
    page.wait_for_selector(".pswp--open", state="detached")
    # Scrolled back to a month: the address says so, the scrubber marks it, a reload comes back there.
    page.locator("#t-2023-11").scroll_into_view_if_needed()
    page.evaluate("document.getElementById('t-2023-11').scrollIntoView({block: 'start'})")
    until(page, lambda p: "month=2023-11" in p.url)
    assert page.locator('#scrubber a[aria-current="true"]').get_attribute("data-month") == "2023-11"
    page.reload(wait_until="load")
    assert "month=2023-11" in page.url
    assert page.locator("h2.timeline-heading").first.get_attribute("id") == "t-2023-11"
    screenshot(page, "timeline-desktop")
    assert page.console.errors == [], "\n".join(page.console.errors)


def test_the_scrubber_jumps_to_a_month_by_mouse_and_by_keyboard(server, page):
    page.goto(server + "/gallery?sort=taken", wait_until="load")
    page.locator('#scrubber a[data-month="2022-06"]').click()
    page.wait_for_url(re.compile(r"month=2022-06"))
    assert page.locator("h2.timeline-heading").first.inner_text() == "June 2022"
    assert page.locator('#scrubber a[data-month="2022-06"]').get_attribute("aria-label") == "June 2022: 8 photos"
    # The scrubber is one Tab stop; arrow keys move between months, Enter jumps.
    page.locator('#scrubber a[data-month="2022-06"]').focus()
    page.keyboard.press("ArrowUp")
    assert page.evaluate("document.activeElement.dataset.month") == "2023-11"
    assert page.eval_on_selector_all("#scrubber a[tabindex='0']", "els => els.length") == 1
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"month=2023-11"))
    assert page.locator("#gallery-grid li.tile").first.locator("a.tile-key").inner_text().startswith("2023-11/")
    page.go_back(wait_until="load")
    assert "month=2022-06" in page.url
    assert page.console.errors == [], "\n".join(page.console.errors)


def test_on_a_phone_the_scrubber_is_a_compact_strip(server, browser):
    page = open_page(browser, PHONE)
    page.goto(server + "/gallery?sort=taken", wait_until="load")
    strip = page.locator("#scrubber").bounding_box()
    grid = page.locator("#gallery-grid").bounding_box()
    assert strip["height"] <= 60 and strip["y"] < grid["y"]  # one row, above the photos
    link = page.locator('#scrubber a[data-month="2022-06"]')
    assert link.bounding_box()["height"] >= 44  # thumb-sized
    link.scroll_into_view_if_needed()
    link.tap()
    page.wait_for_url(re.compile(r"month=2022-06"))
    screenshot(page, "timeline-phone")
    assert page.console.errors == [], "\n".join(page.console.errors)
    page.context.close()
