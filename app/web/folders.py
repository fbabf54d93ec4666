"""The folder view: ``/folders/<path>`` (breadcrumbs, sub-folders with counts and covers, the photos
directly in the folder with the viewer) and the same as JSON at ``/api/folders/<path>``."""

from __future__ import annotations

from flask import render_template, request

from . import answers, schemas
from .api import record_json
from .apidoc import ApiBlueprint
from .common import services

bp = ApiBlueprint("folders", __name__, description="Folders: the key prefixes ending in '/'")


@bp.get("/folders", defaults={"path": ""})
@bp.get("/folders/<path:path>")
def folder_page(path: str):
    view = services().folders.view(
        path, cursor=request.args.get("cursor") or None, folders_after=request.args.get("after") or None
    )
    return render_template("folders.html", view=view, cursor=request.args.get("cursor"))


@bp.get("/api/folders", defaults={"path": ""})
@bp.get("/api/folders/<path:path>")
@bp.arguments(schemas.FolderQuery, location="query")
@bp.response(200, answers.FolderPage)
@bp.errors(400)
def folder_api(query: dict, path: str):
    """A folder: its photo count, its sub-folders (with counts) and a page of the photos directly in it"""
    view = services().folders.view(
        path, cursor=query.get("cursor"), folders_after=query.get("after"), limit=query["limit"]
    )
    return {
        "path": view.path,
        "count": view.count,
        "folders": [
            {"path": s.folder.path, "name": s.folder.name, "count": s.folder.count, "cover": s.cover and s.cover.key}
            for s in view.subfolders
        ],
        "more_folders": view.more_folders,
        "items": [record_json(r) for r in view.photos],
        "next_cursor": view.next_cursor,
    }
