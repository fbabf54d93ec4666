"""Direct browser uploads to S3, for deployments whose front door caps request bodies
(API Gateway in front of Lambda accepts at most 6–10 MB).

1. ``POST /api/uploads`` ``{"key", "content_type", "bytes"}`` checks the key, type and size and
   returns a presigned POST for a fresh staging object ``uploads/<id>``; S3 itself enforces
   the content-length range and content type.
2. The browser posts the file straight to S3 (static/upload.js shows the progress).
3. ``POST /api/uploads/<id>/commit`` ``{"key"}`` reads the staging object, stores it through
   ``Gallery.upload`` (the same decoding, limits and write order as any upload) and deletes
   the staging object, whether the image was accepted or not.

Only available when the blob store can presign (S3); uncommitted staging objects expire by
the bucket's lifecycle rule that ``flask gallery init`` sets.
"""

from __future__ import annotations

import re
import uuid

from flask import Blueprint, jsonify, request, url_for

from ..errors import InvalidParameter, NotAnImage, NotFound, TooLarge
from ..gallery import STAGING_PREFIX
from ..keys import validate_key
from . import gallery
from .api import record_json

bp = Blueprint("direct_upload", __name__)

CONTENT_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/tiff"})
UPLOAD_ID = re.compile(r"[0-9a-f]{32}")
PRESIGN_SECONDS = 900


def enabled() -> bool:
    return gallery().blobs.supports_direct_upload


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidParameter("Send a JSON object.")
    return body


@bp.post("/api/uploads")
def presign():
    if not enabled():
        raise InvalidParameter("Direct uploads need S3 storage; post the file to /api/images instead.")
    body = _body()
    key = validate_key(body.get("key"))
    content_type = body.get("content_type")
    if content_type not in CONTENT_TYPES:
        raise NotAnImage("Only JPEG, PNG, GIF, WebP, BMP or TIFF files can be uploaded.")
    size, limit = body.get("bytes"), gallery().max_upload_bytes
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise InvalidParameter("bytes must be the file's size, a whole number above 0.")
    if size > limit:
        raise TooLarge(f"The file is {size / 1048576:.1f} MB; at most {limit / 1048576:g} MB is accepted.")
    upload_id = uuid.uuid4().hex
    form = gallery().blobs.direct_upload_form(STAGING_PREFIX + upload_id, content_type, limit, PRESIGN_SECONDS)
    return jsonify(
        {
            "upload_id": upload_id,
            "key": key,
            "url": form["url"],
            "fields": form["fields"],
            "max_bytes": limit,
            "expires_in": PRESIGN_SECONDS,
            "commit_url": url_for(".commit", upload_id=upload_id),
        }
    ), 201


@bp.post("/api/uploads/<upload_id>/commit")
def commit(upload_id: str):
    if not enabled():
        raise InvalidParameter("Direct uploads need S3 storage; post the file to /api/images instead.")
    if not UPLOAD_ID.fullmatch(upload_id):
        raise InvalidParameter("The upload id is not valid.")
    key = validate_key(_body().get("key"))
    service, name = gallery(), STAGING_PREFIX + upload_id
    try:
        size = service.blobs.size(name)
    except NotFound:
        raise NotFound("No upload with this id: it was never sent, was already committed, or expired.") from None
    try:
        if size > service.max_upload_bytes:
            raise TooLarge(f"The file is {size / 1048576:.1f} MB; at most {service.max_upload_bytes / 1048576:g} MB.")
        record, replaced = service.upload(key, service.blobs.get(name))
    finally:
        service.blobs.delete(name)  # accepted (now stored under its key) or rejected: the staging copy goes
    body = record_json(record)
    body["replaced"] = replaced
    return jsonify(body), 200 if replaced else 201


@bp.app_context_processor
def direct_upload_flag():
    return {"direct_upload": enabled()}


@bp.after_app_request
def allow_posting_to_s3(response):
    """The page's CSP only lets scripts connect to 'self'; add the bucket's origin for the upload XHR."""
    csp = response.headers.get("Content-Security-Policy")
    if csp and response.mimetype == "text/html" and "connect-src" not in csp and enabled():
        response.headers["Content-Security-Policy"] = (
            f"{csp}; connect-src 'self' {gallery().blobs.direct_upload_origin()}"
        )
    return response
