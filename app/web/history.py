"""Version history and trash: the JSON API and the /trash page.

A replaced version stays in its image's history and a deleted image in the trash for
``GALLERY_RETENTION_DAYS``; both can be restored until then (see ``Gallery``).
"""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from ..metadata.base import ImageRecord, Retired
from . import answers, schemas
from .api import record_json
from .apidoc import ApiBlueprint, parser
from .cdn import media_url
from .common import services

bp = ApiBlueprint("history", __name__, description="Version history and trash")


def version_urls(record: ImageRecord) -> dict:
    """URLs that keep showing this exact version, whatever happens to the key later."""
    return {
        "url": url_for("media.original", key=record.key, version=record.version),
        "thumb_url": media_url("media.thumbnail", record, pin={"version": record.version}),
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


# -- API ---------------------------------------------------------------------------------
@bp.get("/api/images/<path:key>/versions")
@bp.arguments(schemas.VersionsQuery, location="query")
@bp.response(200, answers.Versions)
@bp.errors(400, 404)
def list_versions(query: dict, key: str):
    """An image's versions, newest first by cursor, the current one first on the first page"""
    cursor = query.get("cursor")
    page = services().history.version_page(key, limit=query["limit"], cursor=cursor)
    items = [] if cursor else [version_json(page.current, None, True)]
    items += [version_json(r.record, r.retired_at, False) for r in page.items]
    return {"key": page.current.key, "items": items, "next_cursor": page.next_cursor, "dropped": page.dropped}


@bp.post("/api/images/<path:key>/versions/<version>/restore")
@bp.response(200, answers.ImageRecord, description="The restored record")
@bp.errors(400, 404, 409, 503)
def restore_version(key: str, version: str):
    """Make an earlier version current again, byte for byte; the current one joins the history"""
    return record_json(services().history.restore_version(key, version))


@bp.get("/api/trash")
@bp.arguments(schemas.TrashQuery, location="query")
@bp.response(200, answers.TrashPage)
@bp.errors(400)
def list_trash(query: dict):
    """Deleted images, most recently deleted first, by cursor"""
    items, next_cursor = services().history.trash(limit=query["limit"], cursor=query.get("cursor"))
    return {"items": [trash_json(i) for i in items], "next_cursor": next_cursor}


@bp.post("/api/trash/restore")
@bp.arguments(schemas.TrashRestore, location="body")
@bp.response(200, answers.ImageRecord, description="The restored record; replaced: it took a current image's place")
@bp.errors(400, 404, 409, 503)
def restore_trashed(body: dict):
    """Bring a deleted image back"""
    record, replaced = restore(body)
    return {**record_json(record), "replaced": replaced}


def restore(fields: dict):
    return services().history.restore_trashed(
        fields["key"], fields["version"], on_conflict=fields.get("on_conflict") or schemas.RESTORE_ON_CONFLICT
    )


@bp.delete("/api/trash")
@bp.response(200, answers.Emptied, description="What was removed")
@bp.errors(400, 503)
def empty_trash():
    """Empty the trash: remove every trashed image and its versions for good"""
    freed = services().history.empty_trash()
    return {"versions": freed.versions, "bytes": freed.bytes}


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
    record, _ = restore(parser.parse(schemas.TrashRestore, location="body"))
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
