"""Shared fixtures: an app on temporary paths, a test client, CSRF-aware helpers, images."""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil

import numpy as np
import pytest
from flask import Flask
from jinja2 import BytecodeCache
from PIL import Image
from werkzeug.routing import Rule

from app import create_app
from app.core.errors import NotFound

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


class CompiledTemplates(BytecodeCache):
    """Jinja's compiled templates, kept for every app the tests build in this process: each test
    makes its own app, and compiling the pages again for each was half the cost of a page test.
    Jinja keys each entry by the template's name and a checksum of its source, so an edited
    template is compiled afresh."""

    def __init__(self):
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket):
        self.compiled[bucket.key] = bucket.bytecode_to_string()


Flask.jinja_options = {**Flask.jinja_options, "bytecode_cache": CompiledTemplates()}


def share_url_builders() -> None:
    """Werkzeug compiles two URL builder functions (ast, then ``compile``) for every rule of every
    app, and that was half of what each test's new app cost. A builder is a plain function of the
    rule's parsed parts and defaults (bound to its rule only when called), so the tests' apps,
    which all have the same rules, share one per rule text. Production builds one app a process
    and keeps werkzeug's own behaviour."""
    compile_builder = getattr(Rule, "_compile_builder", None)
    if compile_builder is None:  # another werkzeug: no sharing, only slower
        return
    built: dict = {}

    def shared(self, append_unknown=True):
        key = (tuple(self._trace), repr(sorted((self.defaults or {}).items())), append_unknown)
        if key not in built:
            built[key] = compile_builder(self, append_unknown)
        return built[key]

    Rule._compile_builder = shared


share_url_builders()


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


MISSING: set[str] = set()  # skip reasons given by require_binary


def require_binary(*names: str, install: str) -> str:
    """The path of the first of ``names`` on PATH. Without any, the calling test skips saying what
    to install; under ``CI=true`` it fails instead, since ``.ci/run`` installs every such package
    and a skip there would hide tests that never ran."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    reason = f"needs {names[0]}: {install} (.ci/run installs it)"
    if under_ci():
        pytest.fail(f"{reason}; CI=true does not skip", pytrace=False)
    MISSING.add(reason)
    pytest.skip(reason)


FAILED = pytest.StashKey[bool]()  # a phase of the test failed: its reused page is not trusted


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Give require_binary's skips one location, so ``-ra`` folds them into one line per binary
    instead of one per test."""
    report = yield
    if report.failed:
        item.stash[FAILED] = True
    if report.skipped and isinstance(report.longrepr, tuple):
        reason = report.longrepr[2].removeprefix("Skipped: ")
        if reason in MISSING:
            report.longrepr = (__file__, require_binary.__code__.co_firstlineno, report.longrepr[2])
    return report


# What puts a test in the slow tier (``make check`` leaves it out, ``make test`` runs it): a browser
# or a started server says so with its marker; the cloud backends are found by what a test asks for,
# a fixture that starts moto or memcached or a fixture parameter naming an AWS backend.
CLOUD_FIXTURES = frozenset(
    {
        "moto_server",
        "aws",
        "memcached_pool",
        "memcached_servers",
        "own_memcached_pool",
        "own_moto",
        "split_aws",
        "tls_node",
    }
)
CLOUD_PARAMS = frozenset({"s3", "dynamodb", "memcached", "cloud"})


# The longest modules first (each kept whole, in its own order; the Makefile passes
# --no-loadscope-reorder so pytest-xdist keeps this order rather than its own, by test count), so
# the long ones start at once and the short ones fill in around them, instead of a 50 s module
# starting last on one worker while the others idle. LONGEST_FIRST: the modules that took over
# 20 s in a whole run on 2 cores (4 workers), longest first; then the rest by their slowest mark.
LONGEST_FIRST = (
    "test_contract",
    "test_write_faults",
    "test_viewer_browser",
    "test_never_stale",
    "test_gallery_phone_browser",
    "test_bad_inputs",
    "test_browser",
    "test_processing_browser",
    "test_accessibility",
    "test_api_fuzz",
)
SLOW_FIRST = ("browser", "server", "cloud", "fuzz")
# Last: a module that mostly waits and times what it waits for (/healthz within 100 ms while
# 50 clients stall): it runs in the run's tail, where cores are free, not beside the longest ones.
LAST = ("test_slow_clients",)


def pytest_collection_modifyitems(config, items):
    for item in items:
        params = getattr(item, "callspec", None)
        values = {v for v in params.params.values() if isinstance(v, str)} if params else set()
        if CLOUD_FIXTURES.intersection(item.fixturenames) or CLOUD_PARAMS & values:
            item.add_marker("cloud")
    rank: dict[str, int] = {}
    for item in items:
        name = item.module.__name__
        if name in LONGEST_FIRST:
            rank[name] = LONGEST_FIRST.index(name)
            continue
        if name in LAST:
            rank[name] = len(LONGEST_FIRST) + len(SLOW_FIRST) + 1
            continue
        marks = [len(LONGEST_FIRST) + SLOW_FIRST.index(m.name) for m in item.iter_markers() if m.name in SLOW_FIRST]
        rank[name] = min([rank.get(name, len(LONGEST_FIRST) + len(SLOW_FIRST)), *marks])
    items.sort(key=lambda item: rank[item.module.__name__])


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium per test process, shared by the browser modules (a launch costs ~0.8 s
    of CPU); a module's tests share one context through ``fresh_page``, or open their own."""
    from servers import chromium

    with chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def page_options():
    """The context options of a module's ``fresh_page`` (and ``timeout``, its default timeout in
    ms): a module overrides this fixture to change them."""
    return {"viewport": {"width": 1280, "height": 800}, "timeout": 20_000}


@pytest.fixture(scope="module")
def reused_page(browser, page_options):
    from servers import ReusedPage

    pages = ReusedPage(browser, **page_options)
    yield pages
    pages.discard()


@pytest.fixture
def fresh_page(reused_page, request):
    """The module's one page, reset to look new (see servers.ReusedPage); after a failed test the
    next one gets a new context, so that nothing the failure left can make it fail too."""
    yield reused_page.fresh()
    if request.node.stash.get(FAILED, False):
        reused_page.discard()


def make_app(tmp_path, **overrides):
    """An app on embedded defaults with its data under ``tmp_path``; ``overrides`` win."""
    config = {
        "GALLERY_DATA_DIR": str(tmp_path / "data"),
        "GALLERY_STORAGE": "local",
        "GALLERY_METADATA": "sqlite",
        "GALLERY_CACHE": "memory",
        "GALLERY_LABEL_ON_UPLOAD": False,  # detection on every upload is tested where it is the subject
        "SECRET_KEY": "test-secret",
        "TESTING": True,
    }
    return create_app(config | overrides)


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path)


def snapshot(gallery, stats: bool = True) -> dict:
    """Everything a request could change: blob files and their bytes, every record, the cache's
    entries in their LRU order (a refused request must not even promote one) and, with
    ``stats``, its counters."""
    root = gallery.blobs.root
    files = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                files[os.path.relpath(path, root)] = hashlib.sha256(f.read()).hexdigest()
    records, after = [], None
    while True:
        items, after = gallery.metadata.list(limit=500, after=after)
        records += [r.to_dict() for r in items]
        if after is None:
            break
    retired = [
        (r.record.to_dict(), r.expires_at)
        for key in [x["key"] for x in records]
        for r in gallery.metadata.versions(key)
    ]
    retired += [(r.record.to_dict(), r.expires_at) for r in gallery.metadata.trash(limit=1000)[0]]
    with gallery.cache._lock:  # read the entries directly: get() would count as requests
        cache = [(key, hashlib.sha256(value).hexdigest()) for key, value in gallery.cache._entries.items()]
    state = {"files": files, "records": records, "retired": retired, "cache": cache}
    if stats:
        state["stats"] = gallery.cache.stats()
    return state


def is_stored(blobs, name: str) -> bool:
    try:
        blobs.size(name)
    except NotFound:
        return False
    return True


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def gallery(app):
    return app.extensions["services"]


def csrf_token(client) -> str:
    page = client.get("/upload").get_data(as_text=True)
    return CSRF_META.search(page).group(1)


class Api:
    """The JSON API as a browser script uses it: session cookie plus X-CSRFToken header."""

    def __init__(self, client):
        self.client = client
        self.token = csrf_token(client)

    def upload(self, key, data, filename="image.png"):
        return self.client.post(
            "/api/images",
            data={"key": key, "file": (io.BytesIO(data), filename)},
            headers={"X-CSRFToken": self.token},
            content_type="multipart/form-data",
        )

    def delete(self, key):
        return self.client.delete(f"/api/images/{key}", headers={"X-CSRFToken": self.token})

    def post(self, path, **kwargs):
        headers = kwargs.pop("headers", {})
        headers["X-CSRFToken"] = self.token
        return self.client.post(path, headers=headers, **kwargs)


@pytest.fixture
def api(client):
    return Api(client)


def make_image(fmt="PNG", size=(64, 48), mode="RGB", color=(200, 30, 40), **save_args) -> bytes:
    """A small image with some structure (a gradient), encoded in ``fmt``."""
    width, height = size
    ramp = np.linspace(0, 255, width, dtype=np.uint8)[None, :].repeat(height, 0)
    if mode == "L":
        image = Image.fromarray(ramp, "L")
    else:
        rgb = np.dstack([ramp, np.full_like(ramp, color[1]), np.full_like(ramp, color[2])])
        image = Image.fromarray(rgb, "RGB")
        if mode == "RGBA":
            image.putalpha(128)
    out = io.BytesIO()
    image.save(out, fmt, **save_args)
    return out.getvalue()


@pytest.fixture
def png():
    return make_image("PNG")


@pytest.fixture
def jpeg():
    return make_image("JPEG", size=(640, 480))
