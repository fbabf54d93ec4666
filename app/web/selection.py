"""Acting on a selection of gallery images: move to the trash, or download as a ZIP.

The gallery page posts the selected keys (checkboxes, or keys kept by static/select.js across
pages); ``/api/images/trash`` and ``/api/images/zip`` take the same as JSON.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, redirect, request, stream_with_context, url_for

from ..core.errors import InvalidParameter
from ..core.keys import validate_key
from ..core.zipstream import zip_chunks
from .common import services

bp = Blueprint("selection", __name__)

MAX_SELECTION = 1000


def selected_keys() -> list[str]:
    if request.is_json:
        body = request.get_json(silent=True)
        keys = body.get("keys") if isinstance(body, dict) else None
    else:
        keys = request.form.getlist("keys")
    if not isinstance(keys, list) or not keys:
        raise InvalidParameter("Select at least one image first.")
    if len(keys) > MAX_SELECTION:
        raise InvalidParameter(f"At most {MAX_SELECTION} images can be handled at once; {len(keys)} were selected.")
    return list(dict.fromkeys(validate_key(key) for key in keys))  # checked first: a non-string is a bad key


def zip_response(keys: list[str]) -> Response:
    members = ((record.key, record.updated_at, data) for record, data in services().library.export(keys))
    name = "gallery-selection.zip" if len(keys) > 1 else keys[0].rsplit("/", 1)[-1] + ".zip"
    response = Response(stream_with_context(zip_chunks(members)), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/api/images/zip")
def api_zip():
    return zip_response(selected_keys())


@bp.post("/api/images/trash")
def api_trash():
    done, missing = services().library.trash_many(selected_keys())
    return jsonify({"trashed": done, "missing": missing})


@bp.post("/selection")
def selection_submit():
    """The gallery's selection form: ``action`` is ``zip`` or ``trash``."""
    keys = selected_keys()
    action = request.form.get("action")
    if action == "zip":
        return zip_response(keys)
    if action == "trash":
        done, _ = services().library.trash_many(keys)
        return redirect(url_for("pages.gallery_page", trashed=len(done)), code=303)
    raise InvalidParameter("Choose what to do with the selection: download it or move it to the trash.")
