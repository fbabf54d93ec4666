"""Direct browser uploads to S3, for deployments whose front door caps request bodies
(API Gateway in front of Lambda accepts at most 6–10 MB).

1. ``POST /api/uploads`` ``{"key", "content_type", "bytes"}`` checks the key, type and size and
   returns a presigned POST for a fresh staging object ``uploads/<id>``; S3 itself enforces
   the content-length range and content type.
2. The browser posts the file straight to S3 (static/upload.js shows the progress).
3. ``POST /api/uploads/<id>/commit`` ``{"key"}`` reads the staging object, stores it through
   ``Gallery.upload`` (the same decoding, limits and write order as any upload) and deletes
   the staging object, whether the image was accepted or not.

Only available when the blob store supports it (S3); the checks live in ``Gallery``
(``start_direct_upload``, ``commit_direct_upload``). Uncommitted staging objects expire by the
bucket's lifecycle rule that ``flask gallery init`` sets.

Without a ``key``, step 1 only stages the file: Processing and Recognition take its
``upload_id`` as ``staged_id`` (for files larger than a request body through API Gateway may
be), and there is nothing to commit.
"""

from __future__ import annotations

from flask import url_for

from . import answers, ratelimits, schemas
from .api import record_json
from .apidoc import ApiBlueprint
from .common import app_settings, services

bp = ApiBlueprint("direct_upload", __name__, description="Uploads straight to S3 (only when storage is S3)")


@bp.post("/api/uploads")
@bp.arguments(schemas.DirectUploadStart)
@bp.response(201, answers.DirectUploadGrant, description="Where to post the file, with which fields, where to commit")
@bp.errors(400, 413, 415, 503)
def presign(body: dict):
    """Start a direct upload: a presigned form for a staging object"""
    grant = services().uploads.start_direct_upload(body.get("key"), body["content_type"], body["bytes"])
    grant["commit_url"] = url_for(".commit", upload_id=grant["upload_id"])
    return grant


@bp.post("/api/uploads/<upload_id>/commit")
@ratelimits.uploads
@bp.arguments(schemas.DirectUploadCommit)
@bp.response(201, answers.ImageRecord, description="Stored under a new key")
@bp.alt_response(200, schema=answers.ImageRecord, description="Replaced the image of an existing key", success=True)
@bp.errors(400, 404, 409, 413, 415, 422, 429, 503)
def commit(body: dict, upload_id: str):
    """Check the uploaded file and store it under the key, like POST /api/images"""
    record, replaced = services().uploads.commit_direct_upload(
        upload_id, body["key"], body.get("on_conflict"), batch=body.get("batch", "")
    )
    return {**record_json(record), "replaced": replaced}, 200 if replaced else 201


@bp.app_context_processor
def direct_upload_flag():
    """Pages send files larger than one request body may be (``stage_over`` bytes) to S3 first."""
    return {"direct_upload": services().uploads.supports_direct_upload, "stage_over": app_settings().max_body_bytes}


@bp.after_app_request
def allow_posting_to_s3(response):
    """The page's CSP only lets scripts connect to 'self'; add the bucket's origin for the upload XHR."""
    csp = response.headers.get("Content-Security-Policy")
    if (
        csp
        and response.mimetype == "text/html"
        and "connect-src" not in csp
        and services().uploads.supports_direct_upload
    ):
        response.headers["Content-Security-Policy"] = (
            f"{csp}; connect-src 'self' {services().uploads.direct_upload_origin()}"
        )
    return response
