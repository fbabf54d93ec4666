"""Never lose a photo, in a real headless Chromium against gunicorn (like test_browser.py): two
uploads with the same name kept both, a replace undone from the Browse page's history, a delete
undone from the trash, a selection across gallery pages downloaded as a ZIP, and the answer form
without JavaScript. Screenshots of the conflict prompt, the history and the trash go to
artifacts/screenshots/."""

from __future__ import annotations

import hashlib
import zipfile

import pytest
import requests
from conftest import make_image
from playwright import sync_api
from servers import gunicorn, screenshot
from test_browser import Console

pytestmark = pytest.mark.browser

PAGE_SIZE = 4  # small, so a selection spans gallery pages


def photo(n: int) -> bytes:
    """A distinct small JPEG per ``n``."""
    return make_image("JPEG", size=(320 + 8 * n, 240), color=(n * 53 % 256, n * 97 % 256, 90), quality=90)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """gunicorn with the shipped config and small gallery pages, stopped by its pid."""
    data, logs = tmp_path_factory.mktemp("history-data"), tmp_path_factory.mktemp("history-log")
    with gunicorn(
        data,
        logs / "gunicorn.log",
        GALLERY_PAGE_SIZE=str(PAGE_SIZE),
        GALLERY_LABEL_ON_UPLOAD="false",
        SECRET_KEY="history-browser-test",
    ) as base:
        yield base


def new_page(browser, **options):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True, **options)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.console = Console(page)
    return context, page


@pytest.fixture(scope="module")
def page_options(page_options):
    return {**page_options, "accept_downloads": True}


@pytest.fixture
def page(fresh_page):
    fresh_page.console = Console(fresh_page)
    return fresh_page


def files(named: dict[str, bytes]) -> list[dict]:
    return [{"name": name, "mimeType": "image/jpeg", "buffer": data} for name, data in named.items()]


def upload(page, server, named: dict[str, bytes], prefix: str = "") -> None:
    """Choose files on the Upload page and submit it; upload.js sends them one request each."""
    page.goto(server + "/upload")
    page.fill("#prefix", prefix)
    page.set_input_files("#file", files(named))
    page.click('#upload-form button[type="submit"]')


def stored(server, key: str, **query) -> bytes:
    response = requests.get(f"{server}/images/{key}", params=query, timeout=5)
    assert response.status_code == 200, (key, response.status_code)
    return response.content


def shot(page, name: str) -> None:
    screenshot(page, name, full_page=True)


def test_keep_both_replace_restore_trash_and_restore(server, page):
    cam1, cam2, edited = photo(1), photo(2), photo(3)

    # Two cameras, one file name: the second upload asks, and "Keep both" stores it beside the first.
    upload(page, server, {"IMG_0001.jpg": cam1})
    sync_api.expect(page.locator("#upload-progress .status.ok")).to_have_count(1)
    upload(page, server, {"IMG_0001.jpg": cam2})
    prompt = page.locator(".conflict-prompt")
    sync_api.expect(prompt).to_contain_text("IMG_0001.jpg already exists.")
    sync_api.expect(prompt.locator("button", has_text="Keep both")).to_be_focused()
    shot(page, "history-upload-conflict")
    prompt.locator("button", has_text="Keep both").click()
    sync_api.expect(page.locator("#upload-progress .status.ok")).to_contain_text("Stored as IMG_0001-2.jpg")
    sync_api.expect(page.locator("#upload-summary")).to_have_text("1 stored.")
    assert stored(server, "IMG_0001.jpg") == cam1 and stored(server, "IMG_0001-2.jpg") == cam2

    # Replace the first one: only after answering "Replace".
    upload(page, server, {"IMG_0001.jpg": edited})
    page.locator(".conflict-prompt button", has_text="Replace").click()
    sync_api.expect(page.locator("#upload-progress .status.ok")).to_contain_text("in its version history")
    assert stored(server, "IMG_0001.jpg") == edited

    # The Browse page lists the earlier version with its thumbnail; restoring it brings back the
    # very bytes first uploaded, and the edit becomes a version in turn.
    page.goto(server + "/browse?key=IMG_0001.jpg")
    history = page.locator("section.history ol.versions > li")
    sync_api.expect(history).to_have_count(2)
    assert page.eval_on_selector_all(
        "section.history img", "imgs => imgs.every(i => i.complete && i.naturalWidth > 0)"
    ), "a version thumbnail did not load"
    shot(page, "history-browse")
    history.nth(1).locator("button", has_text="Restore").click()
    sync_api.expect(page.locator("p.notice")).to_contain_text("Restored the version")
    assert stored(server, "IMG_0001.jpg") == cam1
    versions = requests.get(f"{server}/api/images/IMG_0001.jpg/versions", timeout=5).json()["items"]
    assert [(v["current"], v["sha256"]) for v in versions] == [(True, sha(cam1)), (False, sha(edited))]
    assert stored(server, "IMG_0001.jpg", version=versions[1]["version"]) == edited

    # Trash one from the gallery, then restore it from the trash page.
    page.goto(server + "/gallery")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click('button[aria-label="Move IMG_0001-2.jpg to the trash"]')
    sync_api.expect(page.locator("p.notice")).to_contain_text("IMG_0001-2.jpg")
    assert requests.get(f"{server}/images/IMG_0001-2.jpg", timeout=5).status_code == 404
    page.click("p.gallery-links a:has-text('Trash')")
    page.wait_for_url(server + "/trash")
    tile = page.locator(".trash .tile", has_text="IMG_0001-2.jpg")
    sync_api.expect(tile).to_have_count(1)
    assert tile.locator("img").evaluate("i => i.complete && i.naturalWidth > 0")
    shot(page, "history-trash")
    tile.locator("button", has_text="Restore").click()
    sync_api.expect(page.locator("p.notice")).to_contain_text("Restored IMG_0001-2.jpg")
    assert stored(server, "IMG_0001-2.jpg") == cam2
    assert requests.get(f"{server}/api/trash", timeout=5).json()["items"] == []
    assert page.console.errors == []


def test_select_a_range_and_across_pages_then_download_a_zip(server, page):
    photos = {f"pick-{n}.jpg": photo(10 + n) for n in range(7)}
    upload(page, server, photos, prefix="sel/")
    sync_api.expect(page.locator("#upload-progress .status.ok")).to_have_count(len(photos))

    page.goto(server + "/gallery?prefix=sel/")
    boxes = page.locator('input[name="keys"][form="selection"]')
    sync_api.expect(boxes).to_have_count(PAGE_SIZE)
    first_page = boxes.evaluate_all("bs => bs.map(b => b.value)")
    boxes.nth(0).click()
    boxes.nth(2).click(modifiers=["Shift"])  # a range: the first three tiles
    assert boxes.evaluate_all("bs => bs.map(b => b.checked)") == [True, True, True, False]
    sync_api.expect(page.locator("#selection-count")).to_have_text("3 selected")

    # The selection survives paging: pick one more on the next page.
    page.click('nav.pager a[rel="next"]')
    page.wait_for_url("**cursor=**")
    second_page = boxes.evaluate_all("bs => bs.map(b => b.value)")
    assert set(second_page).isdisjoint(first_page)
    boxes.nth(1).click()
    sync_api.expect(page.locator("#selection-count")).to_have_text("4 selected (3 on other pages)")

    with page.expect_download() as download_info:
        page.click('#selection button[value="zip"]')
    download = download_info.value
    assert download.suggested_filename == "gallery-selection.zip"
    chosen = [*first_page[:3], second_page[1]]
    with zipfile.ZipFile(download.path()) as archive:
        assert sorted(archive.namelist()) == sorted(chosen)
        for key in chosen:
            assert archive.read(key) == photos[key.removeprefix("sel/")], key
    assert page.console.errors == []


def test_without_javascript_the_answer_form_applies_to_all(server, browser):
    context, page = new_page(browser, java_script_enabled=False)
    originals = {"a.jpg": photo(30), "b.jpg": photo(31)}
    again = {"a.jpg": photo(32), "b.jpg": photo(33)}

    def submit(named):
        page.goto(server + "/upload")
        page.fill("#prefix", "nojs/")
        page.set_input_files("#file", files(named))
        page.click('#upload-form button[type="submit"]')
        page.wait_for_url(server + "/upload")

    submit(originals)
    assert "Uploaded" in page.inner_text("h1")
    submit(again)  # both keys exist: nothing is stored until answered
    assert page.inner_text("h1") == "Some keys already exist"
    assert page.locator("ul.conflicts > li").count() == 2
    assert stored(server, "nojs/a.jpg") == originals["a.jpg"]
    page.check('input[name="all"][value="rename"]')
    page.click("form[action$='/upload/resolve'] button[type='submit']")
    page.wait_for_url(server + "/upload/resolve")
    assert page.inner_text("h1") == "Uploaded"
    assert "2 stored" in page.inner_text("p.summary")
    for name in originals:
        kept = "nojs/" + name.replace(".jpg", "-2.jpg")
        assert stored(server, "nojs/" + name) == originals[name] and stored(server, kept) == again[name]
    assert page.console.errors == []
    context.close()
