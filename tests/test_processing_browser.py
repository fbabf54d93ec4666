"""The /process page in a real headless Chromium: step editor, preview side by side, errors, save."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest
from conftest import require_binary
from playwright import sync_api
from werkzeug.serving import make_server

pytestmark = pytest.mark.browser

DOG = (Path(__file__).parent / "data" / "dog.jpg").read_bytes()


@pytest.fixture
def live(app, gallery):
    gallery.upload("photos/dog.jpg", DOG)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def page():
    chromium = require_binary("chromium", "chromium-browser", install="apt-get install chromium")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page()
        page.errors = []
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        yield page
        browser.close()


def step_names(page) -> list[str]:
    return page.eval_on_selector_all("li.step .step-op", "els => els.map(e => e.name + '=' + e.value)")


def test_edit_preview_and_save(live, page, gallery):
    page.goto(f"{live}/process")
    assert page.is_hidden("#compare")
    page.fill("#proc-key", "photos/dog.jpg")
    page.dispatch_event("#proc-key", "change")
    assert page.input_value("#proc-save-as") == "photos/dog-processed.jpg"

    for op in ("sharpen", "rotate"):
        page.select_option('[name="new_op"]', op)
        page.click('button[value="add"]')
    assert step_names(page) == ["steps-0-op=resize", "steps-1-op=sharpen", "steps-2-op=rotate"]
    page.fill('[name="steps-0-width"]', "300")
    page.click('li.step:nth-child(3) button[value^="up"]')
    assert step_names(page) == ["steps-0-op=resize", "steps-1-op=rotate", "steps-2-op=sharpen"]
    page.click('li.step:nth-child(2) button[value^="down"]')
    assert step_names(page)[2] == "steps-2-op=rotate"

    preview = 'button[name="action"][value="preview"]:not(.default-action)'
    page.click(preview)
    page.wait_for_selector("#proc-result-caption:has-text('225×300')")
    page.wait_for_selector("#proc-original-caption:has-text('640×480')")
    assert page.is_visible("#compare")
    page.click(preview)
    page.wait_for_selector("#proc-result-caption:has-text('cache hit')")

    page.fill('[name="steps-2-background"]', "#12")
    page.click(preview)
    page.wait_for_selector("#proc-error:has-text('background must be')")
    page.fill('[name="steps-2-background"]', "")

    page.click('button[name="action"][value="save"]')
    page.wait_for_selector("#proc-saved:has-text('photos/dog-processed.jpg')")
    saved = gallery.get_record("photos/dog-processed.jpg")
    assert (saved.width, saved.height) == (225, 300)
    assert [s["op"] for s in saved.provenance["ops"]] == ["resize", "sharpen", "rotate"]
    page.click("#proc-saved a")
    page.wait_for_selector("text=source SHA-256")
    assert page.errors == []


def test_changing_an_op_shows_its_parameters(live, page):
    page.goto(f"{live}/process")
    page.select_option('[name="steps-0-op"]', "blur")
    names = page.eval_on_selector_all("li.step [data-param]", "els => els.map(e => e.name)")
    assert names == ["steps-0-kind", "steps-0-size", "steps-0-sigma", "steps-0-sigma_color", "steps-0-sigma_space"]
    assert page.is_hidden("button[value='refresh']")  # the no-JS "show its parameters" button
    page.click("li.step button[value^='remove']")
    assert step_names(page) == []
    assert page.errors == []


def test_the_script_takes_its_limits_from_the_page(live, page, monkeypatch):
    import app.web.processing as views
    from app.web.processing import derived_key

    monkeypatch.setattr(views, "MAX_STEPS", 2)
    page.goto(f"{live}/process")
    assert page.is_enabled('button[value="add"]')
    page.click('button[value="add"]')
    assert page.is_disabled('button[value="add"]')
    # A long source name gives the same save-as key as the server's, cut to the key length.
    source = "albums/" + "b" * 300 + ".png"
    page.eval_on_selector("#proc-key", "(input, value) => { input.value = value; }", source)
    page.dispatch_event("#proc-key", "change")
    assert page.input_value("#proc-save-as") == derived_key(source, None)
    page.select_option("#proc-format", "webp")
    assert page.input_value("#proc-save-as") == derived_key(source, "webp")
    assert len(derived_key(source, "webp")) == 255
    assert page.errors == []
