"""The page that a browser module's tests share (``fresh_page``, servers.ReusedPage) is reset
between them: what one test leaves (cookies, localStorage, sessionStorage, routes, listeners,
emulated media, viewport, timeout) the next one does not see. The tests run in file order."""

from __future__ import annotations

import pytest
from servers import in_a_thread
from werkzeug.wrappers import Request, Response

pytestmark = pytest.mark.browser

PAGE = "<!doctype html><title>origin</title><p>served</p>"


@pytest.fixture(scope="module")
def origin():
    """A server of one small page (and 404 for the rest), standing in for the app's origin."""

    @Request.application
    def serve(request):
        return Response(PAGE, mimetype="text/html") if request.path == "/" else Response("missing", status=404)

    with in_a_thread(serve) as base:
        yield base


def test_a_test_leaves_state_behind(origin, fresh_page):
    page = fresh_page
    page.goto(origin + "/")
    page.context.add_cookies([{"name": "left", "value": "1", "url": origin}])
    page.evaluate("localStorage.setItem('theme', 'dark'); sessionStorage.setItem('selection', 'a,b')")
    page.route(origin + "/routed", lambda route: route.fulfill(body="from the route"))
    page.on("dialog", lambda dialog: dialog.accept("left behind"))
    page.emulate_media(color_scheme="dark")
    page.set_viewport_size({"width": 400, "height": 300})
    page.set_default_timeout(1)
    # Then elsewhere, as a test may end: the origin's storage must be cleared all the same.
    page.goto("about:blank")
    assert page.context.cookies() != []


def test_the_next_test_sees_none_of_it(origin, fresh_page):
    page = fresh_page
    assert page.url == "about:blank"
    assert page.context.cookies() == []
    page.goto(origin + "/")  # (a 1 ms default timeout left over would fail this)
    assert page.evaluate("[localStorage.length, sessionStorage.length, document.cookie]") == [0, 0, ""]
    assert page.request.get(origin + "/routed").status == 404
    assert page.goto(origin + "/routed").status == 404
    assert page.evaluate("prompt('left?', 'default')") is None  # dismissed: no listener answered it
    assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") is False
    assert page.viewport_size == {"width": 1280, "height": 800}


def test_a_test_closes_the_page(fresh_page):
    fresh_page.close()


def test_the_next_test_gets_a_new_one(origin, fresh_page):
    assert not fresh_page.is_closed()
    assert fresh_page.goto(origin + "/").status == 200
