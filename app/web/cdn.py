"""Where pages load media and static files from: the app, or a CDN (GALLERY_MEDIA_URL) in front
of the bucket, so a page view is one request to the app (on Lambda: one invocation, not one per
thumbnail).

A rendition's object name carries its version (``thumbs/<key>/<version>``), so what a CDN URL
answers never changes and the CDN may keep it for good. Static files are copied into the bucket
by ``gallery init --cdn`` under ``static/<tree hash>/``: a new release gets new URLs.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from urllib.parse import quote, urlsplit

from flask import Flask
from flask import url_for as flask_url_for

from ..config import Settings
from ..core.blobs import DISPLAY, THUMB, THUMB2X

RENDITION_ENDPOINTS = {"media.thumbnail": THUMB, "media.thumbnail2x": THUMB2X, "media.display": DISPLAY}
STATIC_PREFIX = "static/"


@functools.cache
def static_tree(folder: str) -> tuple[str, tuple[Path, ...]]:
    """(a hash of every static file's path and bytes, the files): the release's static URLs."""
    files = tuple(sorted(p for p in Path(folder).rglob("*") if p.is_file()))
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16], files


def static_object_names(folder: str) -> list[tuple[Path, str]]:
    """Each static file and the object name it has in the bucket (before the store's prefix)."""
    tree, files = static_tree(folder)
    return [(path, f"{STATIC_PREFIX}{tree}/{path.relative_to(folder).as_posix()}") for path in files]


def install(app: Flask, settings: Settings) -> None:
    """Give templates ``media_src`` and, with a CDN, static URLs and a CSP that point at it."""
    base = settings.media_url.rstrip("/")

    def media_src(endpoint: str, record, key: str, pin: dict) -> str:
        """A rendition's URL: on the CDN when there is one (by the record's own blob name), else the app's."""
        variant = RENDITION_ENDPOINTS.get(endpoint)
        if base and variant:
            return f"{base}/{variant}/{quote(record.blob_key or record.key)}/{record.version}"
        return flask_url_for(endpoint, key=key, **pin)

    app.jinja_env.globals["media_src"] = media_src
    if not base:
        return
    tree, _ = static_tree(app.static_folder)

    def url_for(endpoint: str, **values) -> str:
        if endpoint == "static" and set(values) == {"filename"}:
            return f"{base}/{STATIC_PREFIX}{tree}/{quote(values['filename'])}"
        return flask_url_for(endpoint, **values)

    app.jinja_env.globals["url_for"] = url_for
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(base))

    @app.after_request
    def allow_the_cdn(response):
        csp = response.headers.get("Content-Security-Policy")
        if csp and response.mimetype == "text/html":
            for directive in ("img-src 'self'", "script-src 'self'", "style-src 'self'"):
                csp = csp.replace(directive, f"{directive} {origin}", 1)
            response.headers["Content-Security-Policy"] = csp
        return response
