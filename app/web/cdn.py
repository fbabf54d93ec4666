"""Where pages load media and static files from: the app, or a CDN (GALLERY_MEDIA_URL) in front
of the bucket, so a page view is one request to the app (on Lambda: one invocation, not one per
thumbnail).

A rendition's object name carries its version (``thumbs/<key>/<version>``), so what a CDN URL
answers never changes and the CDN may keep it for good. Static files are copied into the bucket
by ``gallery init --cdn`` under ``static/<tree hash>/``: a new release gets new URLs.

``media_url`` is the one maker of a rendition's URL, for pages (the ``media_src`` template global)
and the JSON API alike, so scrolling the gallery or paging the viewer fetches nothing from the app
either. When reads are private, the CDN's rendition URLs are CloudFront signed URLs
(``app.runtime.cdn_signing``); static files are not secret and stay unsigned.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlsplit

from flask import Flask, current_app
from flask import url_for as flask_url_for

from ..config import Settings
from ..core.blobs import DISPLAY, THUMB, THUMB2X
from ..metadata.base import ImageRecord

RENDITION_ENDPOINTS = {"media.thumbnail": THUMB, "media.thumbnail2x": THUMB2X, "media.display": DISPLAY}
CDN_VARIANTS = frozenset(RENDITION_ENDPOINTS.values())  # what `gallery init --cdn` lets the CDN read
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


class MediaUrls:
    """Where a rendition's URL points: the CDN (signed when reads are private) or the app."""

    def __init__(self, base: str = "", sign: Callable[[str], str] | None = None):
        self.base, self.sign = base.rstrip("/"), sign

    def on_cdn(self, variant: str | None, record: ImageRecord) -> str | None:
        """The CDN's URL of this version's ``variant`` (by the record's own blob name), or None
        without a CDN or for what the CDN does not hold (originals, the large rendition)."""
        if not self.base or variant not in CDN_VARIANTS:
            return None
        url = f"{self.base}/{variant}/{quote(record.blob_key or record.key)}/{record.version}"
        return self.sign(url) if self.sign else url

    def url(self, endpoint: str, record: ImageRecord, key: str | None = None, pin: dict | None = None) -> str:
        """The URL of ``record``'s bytes at a media ``endpoint``; ``pin`` is the app URL's version
        argument (``{"v": ...}`` by default, ``{"version": ...}`` for an exact earlier one)."""
        found = self.on_cdn(RENDITION_ENDPOINTS.get(endpoint), record)
        return found or flask_url_for(endpoint, key=key or record.key, **(pin or {"v": record.version}))


def media_url(endpoint: str, record: ImageRecord, key: str | None = None, pin: dict | None = None) -> str:
    """The app's ``MediaUrls.url``: what templates (``media_src``) and the JSON API call."""
    return current_app.extensions["media_urls"].url(endpoint, record, key, pin)


def media_urls_for(settings: Settings, reads_public: bool) -> MediaUrls:
    if not settings.media_url or reads_public:
        return MediaUrls(settings.media_url)
    from ..runtime.cdn_key import signing_key  # checked at start-up (media_url_fits)
    from ..runtime.cdn_signing import CdnUrlSigner

    signer = CdnUrlSigner(settings.cdn_key_pair_id, signing_key(settings), settings.cdn_url_minutes)
    return MediaUrls(settings.media_url, signer.sign)


def install(app: Flask, settings: Settings, reads_public: bool = True) -> None:
    """Give templates ``media_src`` and, with a CDN, static URLs and a CSP that point at it."""
    app.extensions["media_urls"] = media_urls_for(settings, reads_public)
    base = settings.media_url.rstrip("/")
    app.jinja_env.globals["media_src"] = media_url
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
