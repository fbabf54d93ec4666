"""Acting on a selection of gallery images: move to the trash, or download as a ZIP.

The gallery page posts the selected keys (checkboxes, or keys kept by static/select.js across
pages); ``/api/images/trash`` and ``/api/images/zip`` take the same as JSON.
"""

from __future__ import annotations

import uuid

from flask import Response, redirect, request, stream_with_context

from ..core.blobs import STAGING_PREFIX
from ..core.errors import InvalidParameter
from ..core.zipstream import whole_if_small, zip_chunks
from ..services.media import PRESIGN_GET_SECONDS
from . import answers, schemas
from .apidoc import ApiBlueprint, parser
from .common import app_settings, services
from .pages import gallery_url
from .schemas import MAX_SELECTION  # noqa: F401 - where callers have always read it

bp = ApiBlueprint("selection", __name__, description="Acting on a selection of images")


def distinct(keys: list[str]) -> list[str]:
    return list(dict.fromkeys(keys))


def zip_response(keys: list[str]) -> Response:
    """The ZIP streamed, or, when it outgrows what Lambda may answer on a store that presigns URLs
    (over GALLERY_REDIRECT_OVER_MB), built into the store and answered with a 303 to it."""
    members = ((record.key, record.updated_at, data) for record, data in services().library.export(keys))
    name = "gallery-selection.zip" if len(keys) > 1 else keys[0].rsplit("/", 1)[-1] + ".zip"
    blobs, limit = services().images.blobs, app_settings().redirect_over_bytes
    if blobs.supports_download_url and limit is not None:
        whole, chunks = whole_if_small(zip_chunks(members), limit)
        if whole is None:
            return redirect(archive_url(blobs, chunks, name), code=303)
        response = Response(whole, mimetype="application/zip")
    else:
        response = Response(stream_with_context(zip_chunks(members)), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def archive_url(blobs, chunks, filename: str) -> str:
    """Write the ZIP into the store's staging area (expired by its lifecycle rule) and presign it."""
    staged = f"{STAGING_PREFIX}zip-{uuid.uuid4().hex}"
    blobs.put_stream(staged, chunks, "application/zip")
    return blobs.download_url(staged, PRESIGN_GET_SECONDS, "application/zip", filename)


@bp.post("/api/images/zip")
@bp.arguments(schemas.Selection, location="body")
@bp.response(
    200,
    {"type": "string", "format": "binary"},
    content_type="application/zip",
    description="The ZIP: one member per existing key, named by its key",
)
@bp.alt_response(303, description="On S3, a ZIP over GALLERY_REDIRECT_OVER_MB: see Location (presigned, short-lived)")
@bp.errors(400, 503)
def api_zip(body: dict):
    """Download a selection of images as one ZIP, streamed"""
    return zip_response(distinct(body["keys"]))


@bp.post("/api/images/trash")
@bp.arguments(schemas.Selection, location="body")
@bp.response(200, answers.TrashedSelection, description="What was moved, and the keys that did not exist")
@bp.errors(400, 503)
def api_trash(body: dict):
    """Move a selection of images to the trash"""
    done, missing = services().library.trash_many(distinct(body["keys"]))
    return {"trashed": done, "missing": missing}


@bp.post("/selection")
def selection_submit():
    """The gallery's selection form: ``action`` is ``zip`` or ``trash``."""
    keys = distinct(parser.parse(schemas.Selection, location="body")["keys"])
    action = request.form.get("action")
    if action == "zip":
        return zip_response(keys)
    if action == "trash":
        done, _ = services().library.trash_many(keys)
        return redirect(gallery_url(request.form.get("back", ""), trashed=str(len(done))), code=303)
    raise InvalidParameter("Choose what to do with the selection: download it or move it to the trash.")
