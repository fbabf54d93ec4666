"""The shipped servers and a browser, started as the tests that need them start them: gunicorn with
``gunicorn.conf.py`` on a free loopback port (stopped by its pid), Debian's nginx with the shipped
``deploy/nginx.conf`` in front of it, and Debian's headless Chromium driven by Playwright (never a
downloaded browser)."""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import urlsplit

import requests
from conftest import CSRF_META, require_binary

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_SECONDS = 30
SHOTS = ROOT / "artifacts" / "screenshots"


def screenshot(page, name: str, **options) -> None:
    """Keep the page as it looks in ``artifacts/screenshots/<name>.png``, to be looked at (colours,
    overlaps, clipped words), when asked: ``SCREENSHOTS=1`` (or ``UPDATE_DOCS_PICTURES=1``,
    which makes the README's pictures from them). Nothing asserts on them, and each costs Chromium
    ~0.3 s of CPU, so an ordinary run skips them."""
    if not (os.environ.get("SCREENSHOTS") or os.environ.get("UPDATE_DOCS_PICTURES")):
        return
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), **options)


def in_each_scheme(page) -> Iterator[str]:
    """Light, then dark, on the page as loaded: the pages follow prefers-color-scheme live (and
    change no colour by a transition), so one load shows both looks."""
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        yield scheme


@contextmanager
def gunicorn(data_dir: Path, log_path: Path, args: tuple[str, ...] = (), **env: str) -> Iterator[str]:
    """``gunicorn -c gunicorn.conf.py [args] wsgi:app`` with the gallery's data under ``data_dir``
    and ``env`` (GALLERY_* settings) on top of this environment; yields its base URL once
    ``/healthz`` answers. Its output goes to ``log_path``."""
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", *args, "wsgi:app"]
    with _serving("gunicorn", command, data_dir, log_path, env) as base:
        yield base


@contextmanager
def waitress(data_dir: Path, log_path: Path, **env: str) -> Iterator[str]:
    """``python serve.py`` (``make run``: the app under waitress), as ``gunicorn`` starts gunicorn."""
    with _serving("waitress", [sys.executable, "serve.py"], data_dir, log_path, env) as base:
        yield base


@contextmanager
def _serving(name: str, command: list[str], data_dir: Path, log_path: Path, env: dict) -> Iterator[str]:
    from cloud import free_port, stop  # loaded here: modules that use it as a plugin load it first

    port = free_port()
    environ = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "GALLERY_DATA_DIR": str(data_dir), **env}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=environ, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            assert process.poll() is None, f"{name} exited during start-up:\n" + log_path.read_text()[-3000:]
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still booting
                time.sleep(0.1)
            assert time.monotonic() < deadline, f"{name} did not answer /healthz within {START_SECONDS} s"
        yield base
    finally:
        stop(process, timeout=20)  # gunicorn's graceful_timeout, then SIGKILL


@contextmanager
def in_a_thread(wsgi_app) -> Iterator[str]:
    """``wsgi_app`` served by werkzeug in a thread of this process on a free loopback port (for a
    test that needs the app's own objects at hand); yields its base URL, stops it after."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def nginx_config(shipped: str, port: int, upstream_port: int, workdir: Path, changes: dict | None = None) -> str:
    """``deploy/nginx.conf`` with only what ties it to a machine changed: its ports, the pid file,
    logs and temporary folders under ``workdir``, and the user (a user's files stay its own);
    ``changes`` (shipped text: test text) adds a test's own."""
    user = f"user {getpass.getuser()};" if os.geteuid() == 0 else ""  # otherwise ignored, with a warning
    temp = "".join(
        f"\n    {kind}_temp_path {workdir / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    changes = {
        "user www-data;": user,
        "pid /run/nginx.pid;": f"pid {workdir / 'nginx.pid'};",
        "error_log /var/log/nginx/error.log;": f"error_log {workdir / 'error.log'};",
        "access_log /var/log/nginx/access.log redacted;": f"access_log {workdir / 'access.log'} redacted;{temp}",
        "listen 80;": f"listen 127.0.0.1:{port};",
        "listen [::]:80;": "",
        "server 127.0.0.1:8000 ": f"server 127.0.0.1:{upstream_port} ",
        **(changes or {}),
    }
    for shipped_text, test_text in changes.items():
        assert shipped.count(shipped_text) == 1, f"deploy/nginx.conf no longer has one {shipped_text!r}"
        shipped = shipped.replace(shipped_text, test_text)
    return shipped


@contextmanager
def nginx(upstream: str, workdir: Path, changes: dict | None = None) -> Iterator[str]:
    """Debian's nginx with ``deploy/nginx.conf`` (see ``nginx_config``) in front of ``upstream``
    (a base URL from ``gunicorn``), on a free loopback port, in the foreground and stopped by its
    pid; yields its base URL. Skips (fails under CI=true) when nginx is not installed."""
    from cloud import free_port, stop, wait_for_port

    binary = require_binary("nginx", "/usr/sbin/nginx", install="apt-get install nginx-light")
    port = free_port()
    config = workdir / "nginx.conf"
    shipped = (ROOT / "deploy" / "nginx.conf").read_text()
    config.write_text(nginx_config(shipped, port, int(upstream.rsplit(":", 1)[1]), workdir, changes))
    with open(workdir / "nginx.out", "wb") as out:
        command = [binary, "-p", str(workdir), "-c", str(config), "-e", str(workdir / "error.log")]
        process = subprocess.Popen([*command, "-g", "daemon off;"], stdout=out, stderr=subprocess.STDOUT)
    try:
        try:
            wait_for_port(port, process, seconds=START_SECONDS)
        except RuntimeError as exc:
            raise AssertionError(f"{exc}:\n{(workdir / 'error.log').read_text()[-3000:]}") from exc
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process, timeout=10)  # SIGTERM: nginx's fast shutdown


@contextmanager
def chromium():
    """A headless Chromium; skips (fails under CI=true) when it is not installed. Debian's
    chromium-headless-shell (the "old" headless Chromium that Playwright itself runs headless
    tests in) is preferred: the same Blink and V8 as the full browser without its user interface,
    it costs half the CPU for the same pages (what the browser tests cost most of). The full
    browser, in its own headless mode, does when the shell is not installed."""
    from playwright import sync_api

    path = require_binary(
        "chromium-headless-shell", "chromium", "chromium-browser", install="apt-get install chromium-headless-shell"
    )
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def upload_all(base: str, uploads: list[tuple[str, bytes]]) -> None:
    """Store each ``(key, bytes)`` through ``POST /api/images`` as a page would (with the CSRF token
    of the upload page); every one must be a 201."""
    session = requests.Session()
    token = CSRF_META.search(session.get(f"{base}/upload", timeout=10).text).group(1)
    for key, body in uploads:
        answer = session.post(
            f"{base}/api/images",
            data={"key": key},
            files={"file": (key, body)},
            headers={"X-CSRFToken": token},
            timeout=60,
        )
        assert answer.status_code == 201, answer.text


# The page events a test may listen to; Playwright itself listens to "close" and "crash".
PAGE_EVENTS = (
    "console",
    "dialog",
    "download",
    "filechooser",
    "domcontentloaded",
    "pageerror",
    "request",
    "response",
    "requestfailed",
    "requestfinished",
    "frameattached",
    "framedetached",
    "framenavigated",
    "load",
    "popup",
    "websocket",
    "worker",
)
RESET_PATH = "/__reset-storage__"  # answered by a route of the page, never by the server


class ReusedPage:
    """One browser context and page for a module's tests, reset before each test to look as a new
    one would: a new context and page cost Chromium ~0.25 s of CPU, and the first navigation in it
    ~0.3-0.6 s more than in a warm one. What carries over is what a test must not depend on: the
    HTTP cache and the renderer process. A test that needs a cold cache, its own device, init
    scripts or other context options makes its own context. If the reset fails (the page crashed
    or was closed), or the test before failed (``discard``), the next test gets a new context."""

    def __init__(self, browser, timeout: float, **options):
        """``timeout`` (ms) and the context ``options``, a viewport among them: conftest's
        ``page_options``, which a module overrides."""
        self.browser, self.timeout, self.options = browser, timeout, options
        self.page = None
        self.origins: set[str] = set()  # of every page shown since the last reset: their storage is cleared

    def fresh(self):
        from playwright.sync_api import Error

        if self.page is not None:
            try:
                self._reset()
            except Error:
                self.discard()
        if self.page is None:
            self.page = self.browser.new_context(**self.options).new_page()
            self._watch()
        return self.page

    def discard(self) -> None:
        from playwright.sync_api import Error

        if self.page is not None:
            with suppress(Error):  # already gone with its crashed page or a closed browser
                self.page.context.close()
        self.page, self.origins = None, set()

    def _watch(self) -> None:
        self.page.set_default_timeout(self.timeout)
        self.page.set_default_navigation_timeout(self.timeout)
        self.page.on("framenavigated", self._note_origin)

    def _note_origin(self, frame) -> None:
        if frame.parent_frame is None and frame.url.startswith("http"):
            self.origins.add(origin_of(frame.url))

    def _reset(self) -> None:
        page, context = self.page, self.page.context
        # The sync API has no "remove all listeners"; removing each one through its implementation
        # also ends Playwright's subscription to the event (a leftover "dialog" listener would
        # otherwise answer the next test's dialogs instead of Playwright dismissing them).
        events = page._impl_obj
        for event in PAGE_EVENTS:
            for listener in events.listeners(event):
                events.remove_listener(event, listener)
        page.unroute_all(behavior="ignoreErrors")
        context.unroute_all(behavior="ignoreErrors")
        context.clear_cookies()
        context.clear_permissions()
        context.set_extra_http_headers({})
        context.set_offline(False)
        self._clear_storage()
        page.goto("about:blank")
        page.set_viewport_size(self.options["viewport"])
        page.emulate_media(
            media="null",
            color_scheme=self.options.get("color_scheme", "light"),
            reduced_motion=self.options.get("reduced_motion", "no-preference"),
            forced_colors=self.options.get("forced_colors", "none"),
            contrast=self.options.get("contrast", "no-preference"),
        )
        self._watch()

    def _clear_storage(self) -> None:
        """localStorage and sessionStorage of every origin shown (sessionStorage lives as long as the
        tab, across navigations): in place for the page's own origin, through a page that a route
        answers without the server for any other one."""
        page, here = self.page, origin_of(self.page.url)
        for origin in sorted(self.origins, key=lambda origin: origin != here):
            if origin_of(page.url) != origin:
                page.route(origin + RESET_PATH, lambda route: route.fulfill(body="", content_type="text/html"))
                page.goto(origin + RESET_PATH)
                page.unroute_all()
            page.local_storage.clear()
            page.session_storage.clear()
        self.origins = set()


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
