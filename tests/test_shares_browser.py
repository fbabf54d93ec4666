"""A shared folder in Debian's headless Chromium against gunicorn with two workers (write protection
on, reads private): the owner shares a folder with an expiry; a fresh browser context without
cookies opens the link, pages through it in the viewer (the next page loaded through the link),
and reaches nothing else (a guessed key, /api/images, /images/<other key>, another version); the
owner revokes the link and both workers answer 404 at once. A password-protected link asks for its
password. The access log never holds a token."""

from __future__ import annotations

import io
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from PIL import Image
from playwright import sync_api
from servers import gunicorn
from test_browser import Console

pytestmark = pytest.mark.browser

TOKEN = "share-test-token"
OWNER = {"Authorization": f"Bearer {TOKEN}"}
PAGE = 4  # GALLERY_PAGE_SIZE: the shared folder holds more, so the viewer loads a next page
SHARED = [f"trips/{n:02d}.jpg" for n in range(7)]
OTHER = "home/private.jpg"


def photo(n: int, size=(900, 600)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, ((n * 37) % 256, (n * 91) % 256, 120)).save(out, "JPEG", quality=80)
    return out.getvalue()


def upload(base: str, key: str, data: bytes) -> dict:
    answer = requests.post(
        f"{base}/api/images", data={"key": key}, files={"file": (key, data)}, headers=OWNER, timeout=30
    )
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def share(base: str, **body) -> dict:
    answer = requests.post(f"{base}/api/shares", json=body, headers=OWNER, timeout=10)
    assert answer.status_code == 201, answer.text
    return answer.json()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data, logs = tmp_path_factory.mktemp("share-data"), tmp_path_factory.mktemp("share-log")
    log = logs / "gunicorn.log"
    settings = {
        "GALLERY_WORKERS": "2",
        "GALLERY_API_TOKENS": TOKEN,
        "GALLERY_PUBLIC_READ": "0",
        "GALLERY_PAGE_SIZE": str(PAGE),
        "GALLERY_RATE_LIMIT_UPLOAD": "off",
        "GALLERY_LABEL_ON_UPLOAD": "false",
        "SECRET_KEY": "share-test",
    }
    # The pid names the worker; the request line and Referer are where a token would show.
    logformat = ("--access-logformat", 'pid=%(p)s %(s)s "%(r)s" "%(f)s" %(U)s')
    with gunicorn(data, log, logformat, **settings) as base:
        for n, key in enumerate([*SHARED, OTHER]):
            upload(base, key, photo(n, (900 + 40 * n, 600)))
        yield base, log


def fresh_page(browser):
    """A new browser context: no cookies, no login, nothing but the link."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.console = Console(page)
    return page


def test_a_shared_folder_pages_in_the_viewer_reaches_nothing_else_and_dies_when_revoked(server, browser):
    base, log = server
    old_version = requests.get(f"{base}/api/images/{SHARED[0]}", headers=OWNER, timeout=10).json()["version"]
    upload(base, SHARED[0], photo(40))  # replaced: the old version must stay out of reach
    link = share(base, prefix="trips/", expires_in=3600)
    token = link["url"].removeprefix("/s/")
    page = fresh_page(browser)
    try:
        response = page.goto(base + link["url"])
        assert response.status == 200 and response.headers["cache-control"] == "private, no-store"
        tiles = page.locator("a.tile-photo")
        sync_api.expect(tiles).to_have_count(PAGE)
        assert OTHER not in page.content()

        # The viewer: open the last tile of the page; → goes on into photos of the next page.
        tiles.nth(PAGE - 1).click()
        page.wait_for_selector(".pswp--ready")  # keys count once the opening animation ends
        seen = set()
        for _ in range(len(SHARED) - PAGE):
            page.keyboard.press("ArrowRight")
            page.wait_for_timeout(300)
            seen.add(page.evaluate("decodeURIComponent(location.hash.replace('#photo=', ''))"))
        assert seen <= set(SHARED) and len(seen) == len(SHARED) - PAGE  # each a new photo of the folder
        shown = page.locator('.pswp__item:not([aria-hidden="true"]) img.pswp__img:not(.pswp__img--placeholder)')
        shown.wait_for()
        assert shown.get_attribute("src").startswith(f"/s/{token}/display/trips/")
        assert page.locator(".pswp__item a[href^='/browse']").count() == 0
        page.keyboard.press("Escape")

        # Nothing outside the link, from the visitor's browser (its cookies, if any).
        visitor = page.context.request
        assert visitor.get(f"{base}/s/{token}/display/{OTHER}").status == 404  # a guessed key
        assert visitor.get(f"{base}/s/{token}/items/{OTHER}").status == 404
        assert visitor.get(f"{base}/api/images").status == 401
        assert visitor.get(f"{base}/api/images?prefix=trips/").status == 401
        assert visitor.get(f"{base}/images/{OTHER}").status == 401
        assert visitor.get(f"{base}/images/{SHARED[0]}?version={old_version}").status == 401
        assert visitor.get(f"{base}/s/{token}/images/{SHARED[0]}").status == 404  # no downloads
        current = visitor.get(f"{base}/s/{token}/display/{SHARED[0]}")
        pinned_old = visitor.get(f"{base}/s/{token}/display/{SHARED[0]}?v={old_version}")
        assert pinned_old.status == 200 and pinned_old.body() == current.body()  # only the current version
        assert page.console.errors == []
    finally:
        page.context.close()

    # Revoked: a 404 at once, from both workers (40 requests at once reach both).
    assert requests.delete(f"{base}/api/shares/{link['id']}", headers=OWNER, timeout=10).status_code == 204
    mark = len(log.read_text())
    with ThreadPoolExecutor(40) as pool:
        statuses = list(pool.map(lambda _: requests.get(base + link["url"], timeout=10).status_code, range(40)))
    assert set(statuses) == {404}
    after = log.read_text()[mark:]
    workers = set(re.findall(r"pid=<(\d+)> 404 \"GET /s/<redacted> ", after))
    assert len(workers) == 2, "one worker answered every request"
    page = fresh_page(browser)
    try:
        assert page.goto(base + link["url"]).status == 404
    finally:
        page.context.close()

    text = log.read_text()
    assert token not in text and "/s/<redacted>" in text


def test_a_password_protected_link_asks_for_its_password(server, browser):
    base, log = server
    link = share(base, key=SHARED[1], password="correct horse")
    token = link["url"].removeprefix("/s/")
    page = fresh_page(browser)
    try:
        page.goto(base + link["url"])
        assert page.locator("a.tile-photo").count() == 0
        page.fill("input[name=password]", "wrong")
        page.click("#share-password button[type=submit]")
        sync_api.expect(page.locator(".error-message")).to_have_text("Wrong password.")
        page.fill("input[name=password]", "correct horse")
        page.click("#share-password button[type=submit]")
        sync_api.expect(page.locator("a.tile-photo")).to_have_count(1)
        assert page.context.request.get(f"{base}/s/{token}/display/{SHARED[1]}").status == 200
    finally:
        page.context.close()
    assert token not in log.read_text()
