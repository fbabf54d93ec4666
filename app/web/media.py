"""Image bytes and thumbnails, served through the read-through cache.

URLs carry the upload's version (``?v=``): a versioned URL never changes meaning, so it is
cached for a year; an unversioned one is revalidated every time (cheap: 304 by ETag).
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from . import gallery

bp = Blueprint("media", __name__)

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, no-cache"


def _serve(blob, key: str) -> Response:
    cache_control = IMMUTABLE if request.args.get("v") == blob.version else REVALIDATE
    headers = {
        "ETag": f'"{blob.etag}"',
        "Cache-Control": cache_control,
        "X-Content-Type-Options": "nosniff",
    }
    if blob.etag in request.if_none_match:
        return Response(status=304, headers=headers)
    if request.args.get("download"):
        filename = key.rsplit("/", 1)[-1]
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(blob.data, content_type=blob.content_type, headers=headers)


@bp.get("/images/<path:key>")
def original(key: str):
    return _serve(gallery().get_original(key), key)


@bp.get("/thumbs/<path:key>")
def thumbnail(key: str):
    return _serve(gallery().get_thumb(key), key)
