"""Version history and trash: the JSON API and the /trash page.

A replaced version stays in its image's history and a deleted image in the trash for
``GALLERY_RETENTION_DAYS``; both can be restored until then (see ``Gallery``).
"""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, url_for

from ..core.errors import InvalidParameter
from ..metadata.base import ImageRecord, Retired
from . import api
from .api import int_arg, record_json
from .common import services

bp = Blueprint("history", __name__)

RESTORE_ON_CONFLICT = "fail"  # a restore replaces nothing unless asked to


def version_urls(record: ImageRecord) -> dict:
    """URLs that keep showing this exact version, whatever happens to the key later."""
    return {
        "url": url_for("media.original", key=record.key, version=record.version),
        "thumb_url": url_for("media.thumbnail", key=record.key, version=record.version),
    }


def version_json(record: ImageRecord, replaced_at: float | None, current: bool) -> dict:
    return {
        "version": record.version,
        "sha256": record.sha256,
        "bytes": record.bytes,
        "width": record.width,
        "height": record.height,
        "content_type": record.content_type,
        "created_at": record.updated_at,  # when this version was uploaded
        "replaced_at": replaced_at,
        "current": current,
        **version_urls(record),
    }


def trash_json(item: Retired) -> dict:
    record = item.record
    return {
        "key": record.key,
        "version": record.version,
        "deleted_at": item.retired_at,
        "expires_at": item.expires_at,
        "bytes": record.bytes,
        "width": record.width,
        "height": record.height,
        **version_urls(record),
    }


def json_body() -> dict:
    body = request.get_json(silent=True) if request.is_json else None
    if body is None:  # forms work too
        body = request.form.to_dict()
    if not isinstance(body, dict):
        raise InvalidParameter("Send a JSON object.")
    return body


# -- API ---------------------------------------------------------------------------------
@bp.get("/api/images/<path:key>/versions")
def list_versions(key: str):
    current, history = services().history.versions(key)
    items = [version_json(current, None, True)]
    items += [version_json(r.record, r.retired_at, False) for r in history]
    return jsonify({"key": current.key, "items": items})


@bp.post("/api/images/<path:key>/versions/<version>/restore")
def restore_version(key: str, version: str):
    record = services().history.restore_version(key, version)
    return jsonify(record_json(record))


@bp.get("/api/trash")
def list_trash():
    limit = int_arg("limit", 48, *api.LIST_LIMIT)
    items, next_cursor = services().history.trash(limit=limit, cursor=request.args.get("cursor") or None)
    return jsonify({"items": [trash_json(i) for i in items], "next_cursor": next_cursor})


@bp.post("/api/trash/restore")
def restore_trashed():
    body = json_body()
    record, replaced = services().history.restore_trashed(
        str(body.get("key") or ""),
        str(body.get("version") or ""),
        on_conflict=body.get("on_conflict") or RESTORE_ON_CONFLICT,
    )
    return jsonify({**record_json(record), "replaced": replaced})


@bp.delete("/api/trash")
def empty_trash():
    freed = services().history.empty_trash()
    return jsonify({"versions": freed.versions, "bytes": freed.bytes})


# -- pages -------------------------------------------------------------------------------
@bp.get("/trash")
def trash_page():
    items, next_cursor = services().history.trash(cursor=request.args.get("cursor") or None)
    return render_template(
        "trash.html",
        items=items,
        next_cursor=next_cursor,
        usage=services().catalog.usage(),
        retention_days=services().library.retention_days,
        restored=request.args.get("restored"),
        emptied=request.args.get("emptied"),
    )


@bp.post("/trash/restore")
def trash_restore_submit():
    form = request.form
    record, _ = services().history.restore_trashed(
        form.get("key", ""), form.get("version", ""), on_conflict=form.get("on_conflict") or RESTORE_ON_CONFLICT
    )
    return redirect(url_for("history.trash_page", restored=record.key), code=303)


@bp.post("/trash/empty")
def trash_empty_submit():
    freed = services().history.empty_trash()
    return redirect(url_for("history.trash_page", emptied=freed.versions), code=303)


@bp.post("/browse/restore")
def browse_restore_submit():
    key = request.form.get("key", "")
    record = services().history.restore_version(key, request.form.get("version", ""))
    return redirect(url_for("pages.browse", key=record.key, restored=record.version), code=303)
