"""Image bytes, thumbnails and display renditions, served through the read-through cache.

``/images/<key>`` is the original as uploaded; ``/thumbs/<key>`` and ``/thumbs2x/<key>`` the
thumbnail at 1x and 2x; ``/display/<key>`` the display rendition (404 until an image stored
before renditions existed gets them); ``/large/<key>`` twice the display size, made on the first
request (the viewer's zoom). Each takes ``?v=`` and ``?version=`` alike.

URLs carry the upload's version (``?v=``): a versioned URL never changes meaning, so it is
answered from the cache without asking the metadata store and cached by browsers for a year
(a version the image no longer has falls back to the current one, revalidated); an unversioned
one asks which version is current and is revalidated every time (cheap: 304 by ETag).

The hot path is a small WSGI middleware in front of Flask, as WhiteNoise serves static
files: a successful GET of an image costs a cache lookup and a header list, not a request
context, session and routing. Anything unusual (errors, downloads, HEAD, an Authorization
header) falls through to the Flask routes below; both answer through ``media_answer``.

On S3, an original larger than GALLERY_REDIRECT_OVER_MB is answered with a redirect to a
short-lived presigned URL of the object itself: API Gateway and Lambda carry at most 6 MB, and
large bytes are better sent by S3 anyway. Thumbnails are always served here.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from flask import Blueprint, Response, request

from ..core.blobs import DISPLAY, LARGE, ORIGINAL, THUMB, THUMB2X, Redirect
from ..core.errors import GalleryError
from ..services.media import Media
from .auth import sees_deleted
from .common import SECURITY_HEADERS, services

bp = Blueprint("media", __name__)

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, no-cache"
PREFIXES = {"/images/": ORIGINAL, "/thumbs/": THUMB, "/thumbs2x/": THUMB2X, "/display/": DISPLAY, "/large/": LARGE}
MEDIA_ERROR = "gallery.media_error"  # environ key: the fast path's error for the Flask route


def media_headers(blob, version: str | None) -> list[tuple[str, str]]:
    return [
        ("ETag", f'"{blob.etag}"'),
        ("Cache-Control", IMMUTABLE if version == blob.version else REVALIDATE),
        *SECURITY_HEADERS,
    ]


def redirect_headers(found: Redirect) -> list[tuple[str, str]]:
    return [("Location", found.url), ("Cache-Control", f"private, max-age={found.max_age}"), *SECURITY_HEADERS]


def etag_matches(blob, if_none_match: str) -> bool:
    tags = {tag.strip().removeprefix("W/").strip('"') for tag in if_none_match.split(",")}
    return blob.etag in tags or "*" in tags


def media_answer(
    media: Media,
    variant: str,
    key: str,
    *,
    version: str | None = None,
    hint: str | None = None,
    download: bool = False,
    if_none_match: str = "",
    deleted: bool = False,
) -> tuple[str, list[tuple[str, str]], bytes]:
    """Status line, headers and body of an image GET: the one implementation behind the fast path
    and the Flask routes alike. Domain errors propagate (Flask renders them)."""
    blob = media.serve(variant, key, version, download=download, hint=hint, deleted=deleted)
    if isinstance(blob, Redirect):
        return "302 Found", redirect_headers(blob), b""
    # a given version never changes: cache it like a versioned URL
    headers = media_headers(blob, blob.version if version else hint)
    if etag_matches(blob, if_none_match):
        return "304 Not Modified", headers, b""
    if download:
        filename = key.rsplit("/", 1)[-1]
        headers.append(("Content-Disposition", f'attachment; filename="{filename}"'))
    headers += [("Content-Type", blob.content_type), ("Content-Length", str(len(blob.data)))]
    return "200 OK", headers, blob.data


class MediaFastPath:
    """WSGI middleware answering plain GETs of stored images without a request context."""

    def __init__(self, flask_wsgi_app, media: Media):
        self.next = flask_wsgi_app
        self.media = media

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        prefix = next((p for p in PREFIXES if path.startswith(p)), None)
        # A request with credentials goes through Flask's check, which refuses a wrong token (401).
        # A large rendition may have to be made: that work is queued for the client Flask names
        # (fairness), and zooms are rare enough not to need the shortcut.
        if prefix in (None, "/large/") or environ.get("REQUEST_METHOD") != "GET" or "HTTP_AUTHORIZATION" in environ:
            return self.next(environ, start_response)
        query = parse_qs(environ.get("QUERY_STRING", ""))
        if "download" in query or "version" in query:
            return self.next(environ, start_response)
        variant, key = PREFIXES[prefix], path[len(prefix) :]
        try:
            status, headers, body = media_answer(
                self.media,
                variant,
                key,
                hint=query.get("v", [None])[0],
                if_none_match=environ.get("HTTP_IF_NONE_MATCH", ""),
            )
        except GalleryError as exc:
            # Flask renders the error page or JSON; hand it the error so it does not read (and
            # count a cache miss) a second time.
            environ[MEDIA_ERROR] = (variant, key, exc)
            return self.next(environ, start_response)
        start_response(status, headers)
        return [body] if body else []


def _serve(variant: str, key: str) -> Response:
    failed = request.environ.pop(MEDIA_ERROR, None)
    if failed is not None and failed[:2] == (variant, key):
        raise failed[2]
    status, headers, body = media_answer(
        services().media,
        variant,
        key,
        version=request.args.get("version") or None,
        hint=request.args.get("v"),
        download=bool(request.args.get("download")),
        if_none_match=request.headers.get("If-None-Match", ""),
        deleted=sees_deleted(),
    )
    return Response(body, status=int(status[:3]), headers=headers)


@bp.get("/images/<path:key>")
def original(key: str):
    return _serve(ORIGINAL, key)


@bp.get("/thumbs/<path:key>")
def thumbnail(key: str):
    return _serve(THUMB, key)


@bp.get("/thumbs2x/<path:key>")
def thumbnail2x(key: str):
    return _serve(THUMB2X, key)


@bp.get("/display/<path:key>")
def display(key: str):
    return _serve(DISPLAY, key)


@bp.get("/large/<path:key>")
def large(key: str):
    return _serve(LARGE, key)


@bp.after_app_request
def allow_images_from_storage(response):
    """Pages show large originals from where ``serve`` redirects them (S3): let images load from there."""
    csp = response.headers.get("Content-Security-Policy")
    if csp and response.mimetype == "text/html" and "img-src 'self'" in csp:
        origin = services().media.download_origin()
        if origin:
            response.headers["Content-Security-Policy"] = csp.replace("img-src 'self'", f"img-src 'self' {origin}", 1)
    return response
