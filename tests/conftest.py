"""Shared fixtures: an app on temporary paths, a test client, CSRF-aware helpers, images."""

from __future__ import annotations

import hashlib
import io
import os
import re

import numpy as np
import pytest
from PIL import Image

from app import create_app
from app.errors import NotFound

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def make_app(tmp_path, **overrides):
    """An app on embedded defaults with its data under ``tmp_path``; ``overrides`` win."""
    config = {
        "GALLERY_DATA_DIR": str(tmp_path / "data"),
        "GALLERY_STORAGE": "local",
        "GALLERY_METADATA": "sqlite",
        "GALLERY_CACHE": "memory",
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
    records, cursor = [], None
    while True:
        items, cursor = gallery.metadata.list(limit=500, cursor=cursor)
        records += [r.to_dict() for r in items]
        if cursor is None:
            break
    with gallery.cache._lock:  # read the entries directly: get() would count as requests
        cache = [(key, hashlib.sha256(value).hexdigest()) for key, value in gallery.cache._entries.items()]
    state = {"files": files, "records": records, "cache": cache}
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
    return app.extensions["gallery"]


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
