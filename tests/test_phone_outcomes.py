"""On a 390×844 phone (3×, touch), in Debian's Chromium against gunicorn: every action's outcome is
brought into view and announced (Upload, Detect, a processing save); Recognition draws the display
rendition (a 24 MP photo costs ≤ 500 KB; a HEIC shows its picture under the boxes); the labels
table neither scrolls sideways nor clips Parents; the untouched Upload page shows no red border.
Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from playwright import sync_api
from servers import ROOT, gunicorn, screenshot

from app.imaging import images  # noqa: F401  (registers pillow-heif, so Pillow can write HEIF)

pytestmark = pytest.mark.browser

DATA = ROOT / "tests" / "data"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True, "has_touch": True}
RECOGNITION_BUDGET = 500 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data, logs = tmp_path_factory.mktemp("phone-data"), tmp_path_factory.mktemp("phone-log")
    with gunicorn(data, logs / "gunicorn.log", SECRET_KEY="phone-test") as base:
        yield base


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Test photos as files for the file picker: the three samples, a 24 MP JPEG and a HEIC."""
    folder = tmp_path_factory.mktemp("phone-files")
    for name in ("dog.jpg", "horses.jpg", "person.jpg"):
        (folder / name).write_bytes((DATA / name).read_bytes())
    dog = Image.open(DATA / "dog.jpg").convert("RGB")
    big = dog.resize((6000, 4000), Image.BICUBIC)  # 24 MP, a photo's detail (and a dog to find)
    grain = np.random.default_rng(7).integers(0, 24, (4000, 6000, 3), dtype=np.uint8)
    big = Image.fromarray(np.asarray(big) // 2 + grain // 2 + 40)
    big.save(folder / "big24mp.jpg", quality=90)
    out = io.BytesIO()
    dog.save(out, "HEIF", quality=85)
    (folder / "chelsea.heic").write_bytes(out.getvalue())
    return folder


@pytest.fixture
def phone(browser):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


def settled_top(page, selector: str) -> float:
    """The element's top in the viewport once smooth scrolling has stopped."""
    page.wait_for_function(
        """(selector) => new Promise((done) => {
            let last = null;
            const look = () => {
                const top = document.querySelector(selector).getBoundingClientRect().top;
                if (top === last) return done(true);
                last = top;
                setTimeout(look, 100);
            };
            look();
        })""",
        arg=selector,
    )
    return page.eval_on_selector(selector, "el => el.getBoundingClientRect().top")


def in_view(page, selector: str) -> bool:
    top = settled_top(page, selector)
    return -1 <= top < PHONE["viewport"]["height"] - 40


def upload(page, server: str, paths: list, key: str = "") -> None:
    page.goto(server + "/upload")
    page.set_input_files("#file", [str(p) for p in paths])
    page.check('input[name="on_duplicate"][value="keep"]')  # tests upload the same photos again
    if key:
        page.fill("#key", key)
    page.tap('#upload-form button[type="submit"]')
    sync_api.expect(page.locator("#upload-summary")).to_contain_text("stored", timeout=90_000)


def test_the_untouched_upload_page_shows_no_red_border(server, phone):
    phone.goto(server + "/upload")
    for field in ("#file", "#key", "#prefix"):
        color = phone.eval_on_selector(field, "el => getComputedStyle(el).borderTopColor")
        assert color != "rgb(194, 40, 59)", field  # --danger


def test_upload_and_detect_bring_their_outcome_into_view(server, phone, files):
    upload(phone, server, [files / "dog.jpg", files / "horses.jpg", files / "person.jpg"])
    assert phone.get_attribute("#upload-summary", "role") == "status"  # announced
    assert in_view(phone, "#upload-summary")
    assert phone.evaluate("document.activeElement.id") == "upload-summary"
    screenshot(phone, "phone-upload-outcome")

    phone.goto(server + "/recognize?source_key=dog.jpg")
    phone.tap('form.recog-form button[type="submit"]')
    phone.wait_for_selector(".recog-summary")
    assert phone.get_attribute(".recog-summary", "role") == "status"
    assert in_view(phone, ".recog-summary")
    screenshot(phone, "phone-detect-outcome")
    # The labels table fits the phone: nothing scrolls sideways, no Parents cell is cut.
    wrap = phone.eval_on_selector(".recog-table-wrap", "el => [el.scrollWidth, el.clientWidth]")
    assert wrap[0] <= wrap[1]
    clipped = phone.eval_on_selector_all(
        ".recog-labels td:last-child", "cells => cells.filter((c) => c.scrollWidth > c.clientWidth).length"
    )
    assert clipped == 0
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390


def test_a_processing_save_is_brought_into_view(server, phone, files):
    upload(phone, server, [files / "dog.jpg"], key="edit/dog.jpg")
    phone.goto(server + "/process?source_key=edit/dog.jpg")
    phone.wait_for_selector("#proc-result-caption:has-text('After')")
    phone.tap("#proc-save")
    phone.wait_for_selector("#proc-saved:not([hidden])")
    assert "edit/dog-edit.jpg" in phone.inner_text("#proc-saved")
    assert in_view(phone, "#proc-saved")
    screenshot(phone, "phone-process-saved")


def test_recognition_of_a_24_mp_photo_transfers_the_display_rendition_only(server, phone, files):
    upload(phone, server, [files / "big24mp.jpg"])
    fetched = []
    phone.on("response", lambda r: r.request.resource_type == "image" and fetched.append((r.url, len(r.body()))))
    phone.goto(server + "/recognize?source_key=big24mp.jpg")
    phone.tap('form.recog-form button[type="submit"]')
    phone.wait_for_selector(".recog-figure img")
    phone.wait_for_function("() => document.querySelector('.recog-figure img').complete")
    assert not any("/images/" in url for url, _ in fetched), fetched  # never the original
    assert sum(size for _, size in fetched) <= RECOGNITION_BUDGET, fetched


def test_a_heic_shows_its_picture_under_the_boxes(server, phone, files):
    upload(phone, server, [files / "chelsea.heic"])
    for source in ("key", "file"):
        phone.goto(server + "/recognize")
        if source == "key":
            phone.fill("#recog-key", "chelsea.heic")
        else:
            phone.set_input_files("#recog-file", str(files / "chelsea.heic"))
        phone.tap('form.recog-form button[type="submit"]')
        phone.wait_for_selector(".recog-figure img")
        phone.wait_for_function("() => document.querySelector('.recog-figure img').complete")
        assert phone.eval_on_selector(".recog-figure img", "img => img.naturalWidth") > 0, source
        assert phone.locator(".recog-boxes .box").count() >= 1, source
    screenshot(phone, "phone-heic-recognition")
