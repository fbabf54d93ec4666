"""The gallery and viewer on a phone (390×844, 3×, touch) and a desktop (1280×800) in Debian's
Chromium against gunicorn: no layout shift on load (CLS, throttled or not), thumb-sized tile
controls or none, one Tab stop for the grid with arrow keys, a pinch that costs the large
rendition and not the original, and the info panel beside (or below) the photo, never over it.
Figures are printed; screenshots go to artifacts/screenshots."""

from __future__ import annotations

import pytest
from playwright import sync_api
from servers import gunicorn, in_each_scheme, screenshot, upload_all
from test_browser import Console
from test_exif import exif_photo
from test_viewer_browser import BIG, SHAPES, current_image, jpeg, loaded, viewer_open

pytestmark = pytest.mark.browser

PHOTOS = 52  # more than a page (48)
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "has_touch": True, "is_mobile": True}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
# DevTools' "Fast 3G": 1.6 Mbit/s down, 750 kbit/s up, 150 ms
SLOW_3G = {"offline": False, "latency": 150, "downloadThroughput": 1_600_000 / 8, "uploadThroughput": 750_000 / 8}
TOUCH_TARGET = 44
# Layout shifts, summed as the page loads (input-driven ones excluded, as CLS does).
CLS_OBSERVER = """
window.__shifts = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__shifts.push(
    { value: entry.value, nodes: entry.sources.map((s) => s.node ? (s.node.id || s.node.className || s.node.nodeName) : "?") });
}).observe({ type: "layout-shift", buffered: true });
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data, logs = tmp_path_factory.mktemp("phone-data"), tmp_path_factory.mktemp("phone-log")
    with gunicorn(
        data,
        logs / "gunicorn.log",
        GALLERY_RATE_LIMIT_UPLOAD="off",
        GALLERY_LABEL_ON_UPLOAD="false",
        SECRET_KEY="phone-test",
    ) as base:
        uploads = [("big.jpg", jpeg(BIG, quality=92)), ("camera.jpg", exif_photo())]
        uploads += [(f"p/{n:02d}.jpg", jpeg(tuple(s // 4 for s in SHAPES[n % len(SHAPES)]), n)) for n in range(PHOTOS)]
        upload_all(base, uploads)
        yield base


def screenshots(page, name: str) -> None:
    """The page as it is, light and dark (to be looked at: colours, overlaps, clipped words)."""
    for scheme in in_each_scheme(page):
        screenshot(page, f"{name}-{scheme}")
    page.emulate_media(color_scheme="light")


def open_page(browser, device: dict, **options):
    context = browser.new_context(**device, color_scheme="light", **options)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.console = Console(page)
    return page


@pytest.mark.parametrize("throttled", [False, True], ids=["fast", "slow-3g"])
@pytest.mark.parametrize("device", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_first_paint_is_the_final_layout(server, browser, device, throttled):
    page = open_page(browser, device)
    page.add_init_script(CLS_OBSERVER)
    if throttled:
        cdp = page.context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    page.goto(server + "/gallery?sort=taken", wait_until="load", timeout=60_000)
    page.wait_for_timeout(500)
    shifts = page.evaluate("window.__shifts")
    cls = sum(shift["value"] for shift in shifts)
    name = f"{'phone' if device is PHONE else 'desktop'}{' throttled' if throttled else ''}"
    print(f"\nCLS on the gallery ({name}): {cls:.4f} {shifts[:3]}")
    assert cls <= 0.05, shifts
    # Every tile has its photo's shape and colour before any picture arrives.
    first = page.locator(".justified .tile > a").first
    ratio = first.evaluate("a => getComputedStyle(a.parentElement).getPropertyValue('--ratio')")
    assert float(ratio) > 0
    assert page.console.errors == []
    page.context.close()


def test_phone_tiles_have_thumb_sized_controls_or_none(server, browser):
    page = open_page(browser, PHONE)
    page.goto(server + "/gallery", wait_until="load")

    def small_controls() -> list:  # (a tick box's target is its whole label)
        return page.eval_on_selector_all(
            ".justified .tile :is(a.tile-key, .pick, button, input:not(.pick input))",
            f"""els => els.map(el => [el.className || el.nodeName, el.getBoundingClientRect()])
                .filter(([_, box]) => box.width > 0 && (box.width < {TOUCH_TARGET} || box.height < {TOUCH_TARGET}))""",
        )

    assert small_controls() == []
    assert page.locator(".justified .tile-key:visible").count() == 0  # no names squeezed to "s…"
    screenshots(page, "grid-phone")

    # Select mode: a tick box of at least 44×44 px on each photo; a tap ticks instead of opening.
    toggle = page.locator("label.select-toggle")
    assert min(toggle.bounding_box()["width"], toggle.bounding_box()["height"]) >= TOUCH_TARGET
    toggle.tap()
    picks = page.locator(".justified .pick:visible")
    assert picks.count() > 0 and small_controls() == []
    page.locator("a.tile-photo").nth(1).tap()
    assert page.locator('input[name="keys"]').nth(1).is_checked()
    assert page.locator(".pswp").count() == 0
    sync_api.expect(page.locator("#selection-count")).to_have_text("1 selected")
    screenshots(page, "grid-phone-selecting")
    toggle.tap()  # Done: a tap opens the viewer again

    # A long press starts selecting too (and does not open the photo).
    page.locator("#selection-clear").tap()
    box = page.locator("a.tile-photo").nth(3).bounding_box()
    cdp = page.context.new_cdp_session(page)
    point = [{"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2}]
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": point})
    page.wait_for_timeout(700)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    page.wait_for_timeout(200)
    assert page.locator("#select-mode").is_checked()
    assert page.locator('input[name="keys"]').nth(3).is_checked()
    assert page.locator(".pswp").count() == 0
    assert page.console.errors == []
    page.context.close()


def test_one_tab_stop_for_the_grid_and_arrow_keys(server, browser):
    page = open_page(browser, DESKTOP)
    page.goto(server + "/gallery", wait_until="load")
    page.focus("form.filters button[type=submit]")
    presses = 0
    while not page.evaluate("document.activeElement.matches('a[rel=next]')"):
        page.keyboard.press("Tab")
        presses += 1
        assert presses <= 12, f"still not at Older » after {presses} Tabs"
    print(f"\nTabs from Search to Older »: {presses}")

    page.focus("form.filters button[type=submit]")
    while not page.evaluate("document.activeElement.matches('a.tile-photo')"):
        page.keyboard.press("Tab")
    tiles = page.locator("a.tile-photo")
    assert page.evaluate("document.activeElement") == tiles.nth(0).evaluate("a => a")
    focused = "Array.from(document.querySelectorAll('a.tile-photo')).indexOf(document.activeElement)"
    page.keyboard.press("ArrowRight")
    assert page.evaluate(focused) == 1
    page.keyboard.press("ArrowDown")
    below = "() => document.activeElement.getBoundingClientRect().top > document.querySelectorAll('a.tile-photo')[1].getBoundingClientRect().bottom"
    assert page.evaluate(below)
    page.keyboard.press("ArrowUp")
    rows = "i => [document.activeElement, document.querySelectorAll('a.tile-photo')[i]].map(a => a.getBoundingClientRect().top)"
    assert len(set(page.evaluate(rows, 1))) == 1  # back in the first photo's row
    assert page.eval_on_selector_all("a.tile-photo", "links => links.filter(a => a.tabIndex === 0).length") == 1
    page.keyboard.press("End")
    assert page.evaluate(focused) == tiles.count() - 1
    page.keyboard.press("Home")
    page.keyboard.press(" ")
    assert page.locator('input[name="keys"]').first.is_checked()
    page.keyboard.press("Enter")
    viewer_open(page)
    assert page.console.errors == []
    page.context.close()


def test_a_pinch_costs_the_large_rendition_not_the_original(server, browser):
    page = open_page(browser, PHONE)
    fetched: list[tuple[str, int]] = []
    page.goto(server + "/gallery#photo=big.jpg", wait_until="load")
    viewer_open(page)
    loaded(page, current_image(page))
    assert "/display/big.jpg" in current_image(page).evaluate("img => img.currentSrc")
    page.wait_for_timeout(300)
    page.on("requestfinished", lambda request: fetched.append((request.url, request.sizes()["responseBodySize"])))

    # Two fingers from 100 px apart to 180 px apart: a pinch to 1.8×.
    cdp = page.context.new_cdp_session(page)
    steps = 12
    for step in range(steps + 1):
        half = (100 + 80 * step / steps) / 2
        points = [{"x": 195 - half, "y": 422, "id": 1}, {"x": 195 + half, "y": 422, "id": 2}]
        cdp.send(
            "Input.dispatchTouchEvent", {"type": "touchStart" if step == 0 else "touchMove", "touchPoints": points}
        )
        page.wait_for_timeout(16)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    page.wait_for_selector(".pswp--zoomed-in")
    for _ in range(150):
        if "/large/big.jpg" in current_image(page).evaluate("img => (img.complete && img.currentSrc) || ''"):
            break
        page.wait_for_timeout(100)
    else:
        pytest.fail(f"the pinch did not load the large rendition: {fetched}")
    page.wait_for_timeout(300)
    pinch = sum(size for _, size in fetched)
    print(f"\npinch to 1.8x of a 24 MP JPEG on a 3x phone: {pinch / 1024:,.0f} KB ({[u for u, _ in fetched]})")
    assert pinch <= 1024 * 1024
    assert not any("/images/" in url for url, _ in fetched)

    # Asking for the original shows it.
    page.locator(".pswp__button--original-button").tap()
    for _ in range(150):
        if "/images/big.jpg" in current_image(page).evaluate("img => img.currentSrc"):
            break
        page.wait_for_timeout(100)
    else:
        pytest.fail("the Original button did not load the original")
    assert page.console.errors == []
    page.context.close()


def overlap(a: dict, b: dict) -> float:
    width = min(a["x"] + a["width"], b["x"] + b["width"]) - max(a["x"], b["x"])
    height = min(a["y"] + a["height"], b["y"] + b["height"]) - max(a["y"], b["y"])
    return max(width, 0) * max(height, 0)


@pytest.mark.parametrize("device", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_info_panel_sits_beside_the_photo(server, browser, device):
    page = open_page(browser, device, timezone_id="America/New_York")
    page.goto(server + "/gallery#photo=camera.jpg", wait_until="load")
    viewer_open(page)
    loaded(page, current_image(page))
    page.locator(".pswp__button--info-button").click()
    panel = page.locator(".pswp__info-panel")
    sync_api.expect(panel).to_be_visible()
    page.wait_for_timeout(400)
    photo = current_image(page).bounding_box()
    assert overlap(photo, panel.bounding_box()) < 1, (photo, panel.bounding_box())
    assert photo["width"] > 100
    info = panel.inner_text()
    assert "Canon EOS R5" in info and "Canon Canon" not in info
    # 18:30 at +02:00 is 12:30 in New York (EDT); the photo's own time is said as well.
    assert "12:30" in info and "18:30 UTC+02:00 where it was taken" in info, info
    screenshots(page, f"viewer-info-{'phone' if device is PHONE else 'desktop'}")
    assert page.console.errors == []
    page.context.close()
