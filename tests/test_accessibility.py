"""axe-core (vendored in tests/vendor/axe-core, injected by Playwright; nothing downloaded) on every
page (home, gallery, upload, browse, processing, recognition with a result, trash, cache, login,
a 404) in light and dark, at 1280×800 and on a 390×844 phone: no serious or critical violation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests
from servers import gunicorn, in_each_scheme, screenshot

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
DATA = Path(__file__).parent / "data"
PAGES = {
    "home": "/",
    "gallery": "/gallery",
    "upload": "/upload",
    "browse": "/browse?key=a11y/dog.jpg",
    "processing": "/process?source_key=a11y/dog.jpg",
    "trash": "/trash",
    "cache": "/cache",
    "login": "/login",
    "missing": "/browse?key=a11y/gone.jpg",
}
SCREENS = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 3,
        "is_mobile": True,
        "has_touch": True,
    },
}


def session_with_token(base: str) -> tuple[requests.Session, str]:
    session = requests.Session()
    page = session.get(f"{base}/upload", timeout=10).text
    return session, re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data, logs = tmp_path_factory.mktemp("a11y-data"), tmp_path_factory.mktemp("a11y-log")
    with gunicorn(data, logs / "gunicorn.log", GALLERY_LABEL_ON_UPLOAD="false", SECRET_KEY="a11y-test") as base:
        session, token = session_with_token(base)
        for name in ("dog.jpg", "horses.jpg", "person.jpg", "gone.jpg"):
            source = DATA / ("dog.jpg" if name == "gone.jpg" else name)
            files = {"file": (name, source.read_bytes(), "image/jpeg")}
            answer = session.post(
                f"{base}/api/images", data={"key": f"a11y/{name}"}, files=files, headers={"X-CSRFToken": token}
            )
            assert answer.status_code == 201, answer.text
        assert session.delete(f"{base}/api/images/a11y/gone.jpg", headers={"X-CSRFToken": token}).status_code == 204
        yield base


def serious(page) -> list[str]:
    """axe's serious and critical violations of the page as it is now, one line each."""
    return page.evaluate(
        """async () => {
            const result = await axe.run(document, { resultTypes: ["violations"] });
            return result.violations
                .filter((v) => v.impact === "serious" || v.impact === "critical")
                .map((v) => `${v.id} (${v.impact}): ${v.help} at ` + v.nodes.map((n) => n.target.join(" ")).join(", "));
        }"""
    )


BACKGROUND = {"light": "rgb(246, 247, 251)", "dark": "rgb(17, 21, 31)"}


def in_both_schemes(page, name: str, problems: dict) -> None:
    """Each page is loaded once and checked in both schemes (servers.in_each_scheme)."""
    page.add_script_tag(content=AXE.read_text())
    for scheme in in_each_scheme(page):
        assert page.evaluate("getComputedStyle(document.documentElement).backgroundColor") == BACKGROUND[scheme]
        problems[f"{name} ({scheme})"] = serious(page)


@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_no_serious_violations_on_any_page(server, browser, screen):
    # bypass_csp: axe is injected as an inline script, which the pages' CSP (rightly) forbids.
    context = browser.new_context(bypass_csp=True, **SCREENS[screen])
    page = context.new_page()
    page.set_default_timeout(20_000)
    problems = {}
    try:
        for name, path in PAGES.items():
            page.goto(server + path, wait_until="load")
            in_both_schemes(page, name, problems)
        # Recognition with its result: boxes over the photo and the label table.
        page.goto(f"{server}/recognize?source_key=a11y/dog.jpg")
        page.click('form.recog-form button[type="submit"]')
        page.wait_for_selector(".recog-summary", timeout=60_000)
        in_both_schemes(page, "recognition", problems)
        if screen == "phone":
            screenshot(page, "a11y-recognition-phone-dark", full_page=True)
    finally:
        context.close()
    assert {name: found for name, found in problems.items() if found} == {}
