"""The app in a real headless Chromium (Debian's, never a downloaded one) against gunicorn with
the production settings: the five tabs, drag-and-drop upload with progress bars, browse,
processing, detection with boxes, label filter, delete, keyboard use, no console errors, and
screenshots at desktop and phone widths (artifacts/screenshots/, one copied to docs/)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import requests
from playwright import sync_api
from servers import gunicorn, screenshot

pytestmark = pytest.mark.browser

DATA = Path(__file__).parent / "data"
TABS = [
    ("home", "/", "Your images"),
    ("gallery", "/gallery", "Image Gallery"),
    ("upload", "/upload", "Upload"),
    ("browse", "/browse", "Browse"),
    ("process", "/process", "Image Processing"),
    ("recognize", "/recognize", "Image Recognition"),
]
PHOTOS = ["dog.jpg", "horses.jpg", "person.jpg"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """gunicorn -c gunicorn.conf.py wsgi:app on a free loopback port; stopped by its pid."""
    data, logs = tmp_path_factory.mktemp("browser-data"), tmp_path_factory.mktemp("browser-log")
    with gunicorn(data, logs / "gunicorn.log", SECRET_KEY="browser-test") as base:
        yield base


class Console:
    """Collects console errors and uncaught exceptions of a page (CSP violations show up here).
    A 409 that an upload answers is not one: it is how the server says a key holds other bytes,
    which the page turns into its Replace / Keep both question (Chromium still logs it)."""

    EXPECTED = "the server responded with a status of 409 (CONFLICT)"

    def __init__(self, page):
        self.errors: list[str] = []
        page.on("console", lambda msg: msg.type == "error" and self.note(f"{page.url}: {msg.text}"))
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: {exc}"))

    def note(self, text: str) -> None:
        if not (self.EXPECTED in text and "/upload" in text):
            self.errors.append(text)


@pytest.fixture
def page(fresh_page):
    fresh_page.console = Console(fresh_page)
    return fresh_page


def drop_files(page, selector: str, names: list[str], contents: dict[str, bytes] | None = None) -> None:
    """A synthetic drop: a DataTransfer built in the page from the files' bytes (``contents`` by
    name, else the test photo of that name)."""
    contents = contents or {}
    files = [
        {
            "name": n,
            "type": "image/jpeg",
            "b64": base64.b64encode(contents[n] if n in contents else (DATA / n).read_bytes()).decode(),
        }
        for n in names
    ]
    page.evaluate(
        """([selector, files]) => {
            const transfer = new DataTransfer();
            for (const f of files) {
                const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
                transfer.items.add(new File([bytes], f.name, { type: f.type }));
            }
            const zone = document.querySelector(selector);
            for (const type of ["dragenter", "dragover", "drop"]) {
                zone.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
            }
        }""",
        [selector, files],
    )


def test_click_through_every_tab(server, page):
    page.goto(server + "/")
    for name, path, heading in TABS[1:]:
        page.click(f'nav[aria-label="Main"] a[href="{path}"]')
        page.wait_for_url(server + path)
        assert heading in page.inner_text("h1"), name
        assert page.get_attribute(f'nav a[href="{path}"]', "aria-current") == "page"
        page.click(".brand")
        page.wait_for_url(server + "/")
    assert page.console.errors == []


def test_upload_browse_process_detect_filter_delete(server, page):
    # Upload three photos by drag and drop: one progress bar each, all reaching 100%.
    page.goto(server + "/upload")
    page.fill("#prefix", "trip/")
    drop_files(page, "#dropzone", PHOTOS)
    # (Locators, not wait_for_function: the page's CSP rightly forbids evaluating strings.)
    sync_api.expect(page.locator("#upload-progress .status.ok")).to_have_count(3, timeout=20_000)
    assert page.eval_on_selector_all("#upload-progress progress", "bars => bars.map(b => b.value)") == [100] * 3
    rows = page.inner_text("#upload-progress")
    for name in PHOTOS:
        assert f"{name} → trip/{name}" in rows

    # Browse one: the picture really loads.
    page.click('#upload-progress a[href="/browse?key=trip%2Fdog.jpg"]')
    page.wait_for_selector("h2.key:has-text('trip/dog.jpg')")
    assert page.eval_on_selector(".detail-image img", "img => img.complete && img.naturalWidth") == 640

    # Process it: preview, then save under the suggested key.
    page.goto(server + "/process?key=trip/dog.jpg")
    page.fill("#proc-key", "trip/dog.jpg")
    page.dispatch_event("#proc-key", "change")
    page.fill('[name="steps-0-width"]', "320")
    page.click('button[name="action"][value="preview"]:not(.default-action)')
    page.wait_for_selector("#proc-result-caption:has-text('320×240')")
    page.click('button[name="action"][value="save"]')
    page.wait_for_selector("#proc-saved:has-text('trip/dog-edit.jpg')")

    # Detect objects in the stored photo: boxes drawn over it, a dog among the labels.
    page.goto(server + "/recognize?source_key=trip/dog.jpg")
    page.click('form.recog-form button[type="submit"]')
    page.wait_for_selector(".recog-boxes .box", timeout=60_000)
    assert page.locator(".recog-boxes .box").count() >= 1
    assert "Dog" in page.inner_text(".recog-labels") or "dog" in page.inner_text(".recog-labels")
    # The result (picture beside the label table) fits the window: nothing scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]

    # Filter the gallery by the label that detection stored.
    page.goto(server + "/gallery")
    page.fill('input[name="label"]', "dog")
    page.click('form.filters button[type="submit"]')
    page.wait_for_url("**/gallery?*label=dog*")
    keys = page.eval_on_selector_all(".tile-key", "links => links.map(a => a.textContent.trim())")
    assert "trip/dog.jpg" in keys and "trip/horses.jpg" not in keys  # (uploads are labelled too)

    # Move it to the trash from the gallery (confirming the dialog); it is gone from the gallery.
    page.goto(server + "/gallery")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click('button[aria-label="Move trip/horses.jpg to the trash"]')
    page.wait_for_selector("p.notice:has-text('trip/horses.jpg')")
    keys = page.eval_on_selector_all(".tile-key", "links => links.map(a => a.textContent.trim())")
    assert "trip/horses.jpg" not in keys and "trip/dog.jpg" in keys
    assert requests.get(server + "/api/images/trip/horses.jpg", timeout=5).status_code == 404
    assert page.console.errors == []


def api_upload(server: str, key: str, data: bytes) -> dict:
    session = requests.Session()
    page = session.get(server + "/upload", timeout=10).text
    token = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    response = session.post(
        server + "/api/images",
        data={"key": key},
        files={"file": ("photo.jpg", data, "image/jpeg")},
        headers={"X-CSRFToken": token},
        timeout=60,
    )
    assert response.status_code in (200, 201), response.text
    return response.json()


def test_search_finds_a_word_in_the_middle_of_a_key(server, page):
    api_upload(server, "2024/Summer_katherineAtTheBeach-01.jpg", (DATA / "person.jpg").read_bytes())
    page.goto(server + "/gallery")
    page.fill('input[name="q"]', "Katherine")
    page.press('input[name="q"]', "Enter")
    page.wait_for_url("**/gallery?*q=Katherine*")
    keys = page.eval_on_selector_all(".tile-key", "links => links.map(a => a.textContent.trim())")
    assert keys == ["2024/Summer_katherineAtTheBeach-01.jpg"]
    # Browse with part of a key lists what it finds instead of "not found".
    page.goto(server + "/browse")
    page.fill("#browse-key", "beach")
    page.press("#browse-key", "Enter")
    page.wait_for_selector("#browse-matches")
    assert "2024/Summer_katherineAtTheBeach-01.jpg" in page.inner_text("#browse-matches")
    assert page.console.errors == []


def test_an_upload_nobody_ran_detection_on_is_found_by_its_label(server, page):
    page.goto(server + "/upload")
    page.fill("#prefix", "unpressed/")
    page.check('input[name="on_duplicate"][value="keep"]')  # the dog is stored already
    drop_files(page, "#dropzone", ["dog.jpg"])
    sync_api.expect(page.locator("#upload-progress .status.ok")).to_have_count(1, timeout=60_000)
    page.goto(server + "/gallery?label=dog")
    keys = page.eval_on_selector_all(".tile-key", "links => links.map(a => a.textContent.trim())")
    assert "unpressed/dog.jpg" in keys
    assert page.console.errors == []


def test_a_batch_of_twenty_shows_the_summary_grid(server, page):
    names = [f"batch-{i:02d}-{PHOTOS[i % 3]}" for i in range(20)]
    contents = {name: (DATA / PHOTOS[i % 3]).read_bytes() for i, name in enumerate(names)}
    contents["notes.jpg"] = b"not an image at all"
    page.goto(server + "/upload")
    page.fill("#prefix", "batch20/")
    page.check('input[name="on_duplicate"][value="keep"]')  # the same three photos, again and again
    drop_files(page, "h1", [*names, "notes.jpg"], contents)  # anywhere on the page, not only the zone
    sync_api.expect(page.locator("#upload-grid .tile")).to_have_count(20, timeout=180_000)
    assert page.inner_text("#upload-summary") == "20 stored, 1 failed."
    # The rows that went well fold away; the failed one stays, red, with no progress bar.
    failed = page.locator("#upload-progress li.failed")
    sync_api.expect(failed).to_have_count(1)
    assert failed.is_visible() and "Not uploaded" in failed.inner_text()
    assert (
        page.eval_on_selector("#upload-progress li.failed progress", "p => getComputedStyle(p).visibility") == "hidden"
    )
    assert page.locator("#upload-progress li.done").first.is_hidden()
    page.click("#upload-batch-link")
    page.wait_for_url("**/gallery?batch=*")
    keys = page.eval_on_selector_all(".tile-key", "links => links.map(a => a.textContent.trim())")
    assert sorted(keys) == sorted(f"batch20/{name}" for name in names)
    assert [e for e in page.console.errors if "status of 415" not in e] == []  # (notes.jpg's refusal)


def test_key_field_explains_its_rules(server, page):
    page.goto(server + "/upload")
    page.fill("#key", "my photo.jpg")
    page.set_input_files("#file", str(DATA / "dog.jpg"))
    page.click('#upload-form button[type="submit"]')
    message = page.eval_on_selector("#key", "el => el.validationMessage")
    assert message.startswith("Use letters, digits and . _ - /")
    assert page.is_visible("#key-rules")


def test_keyboard_reaches_the_nav_with_visible_focus(server, page):
    page.goto(server + "/")
    reached = []
    for _ in range(12):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => {
                const el = document.activeElement;
                const style = getComputedStyle(el);
                return { text: el.textContent.trim(), href: el.getAttribute("href"),
                         outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0 };
            }"""
        )
        assert focused["outline"], f"no visible focus on {focused['text']!r}"
        reached.append(focused["href"])
    assert reached[0] == "#main", "the first Tab reaches the skip link"
    for _, path, _ in TABS[1:]:
        assert path in reached, f"Tab never reached {path}"
    # Enter on a focused nav link follows it.
    page.focus('nav a[href="/gallery"]')
    page.keyboard.press("Enter")
    page.wait_for_url(server + "/gallery")
    assert page.console.errors == []


@pytest.mark.parametrize(("width", "height", "label"), [(1280, 800, "desktop"), (390, 844, "phone")])
def test_screenshots_of_every_tab(server, browser, width, height, label):
    context = browser.new_context(viewport={"width": width, "height": height}, is_mobile=label == "phone")
    page = context.new_page()
    console = Console(page)
    for name, path, _ in TABS:
        page.goto(server + path)
        page.wait_for_load_state("networkidle")
        # Nothing wider than the screen: no sideways scrolling on a phone.
        assert page.evaluate("document.documentElement.scrollWidth") <= width, (name, label)
        screenshot(page, f"{name}-{label}", full_page=True)
    context.close()
    assert console.errors == []
