"""The shipped server and a browser, started as the tests that need them start them: gunicorn with
``gunicorn.conf.py`` on a free loopback port (stopped by its pid), and Debian's Chromium driven by
Playwright (never a downloaded browser)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from conftest import require_binary

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


@contextmanager
def gunicorn(data_dir: Path, log_path: Path, args: tuple[str, ...] = (), **env: str) -> Iterator[str]:
    """``gunicorn -c gunicorn.conf.py [args] wsgi:app`` with the gallery's data under ``data_dir``
    and ``env`` (GALLERY_* settings) on top of this environment; yields its base URL once
    ``/healthz`` answers. Its output goes to ``log_path``."""
    from cloud import free_port, stop  # loaded here: modules that use it as a plugin load it first

    port = free_port()
    environ = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "GALLERY_DATA_DIR": str(data_dir), **env}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", *args, "wsgi:app"],
            cwd=ROOT,
            env=environ,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            assert process.poll() is None, "gunicorn exited during start-up:\n" + log_path.read_text()[-3000:]
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still booting
                time.sleep(0.1)
            assert time.monotonic() < deadline, f"gunicorn did not answer /healthz within {START_SECONDS} s"
        yield base
    finally:
        stop(process, timeout=20)  # its graceful_timeout, then SIGKILL


@contextmanager
def chromium():
    """A headless Chromium; skips (fails under CI=true) when it is not installed."""
    from playwright import sync_api

    path = require_binary("chromium", "chromium-browser", install="apt-get install chromium")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
