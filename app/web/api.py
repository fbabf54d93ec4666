"""JSON API: images, keys, the cache, health and the OpenAPI document. Each view declares what it
takes (``schemas``) and answers (``answers``); errors are always ``{"error": {"code", "message"}}``."""

from __future__ import annotations

from flask import Response, jsonify

from ..metadata.base import ImageRecord
from . import answers, ratelimits, schemas
from .apidoc import ApiBlueprint, document
from .cdn import media_url
from .common import services

bp = ApiBlueprint("api", __name__, description="Images, keys, the image cache and health")


def record_json(record: ImageRecord) -> dict:
    """The record and the URLs of its bytes (renditions on the CDN when there is one); ``display_url``,
    ``thumb2x_url`` and ``large_url`` are null until the image has renditions (images stored before
    them, until ``gallery renditions`` runs)."""
    data = record.to_dict()
    data["url"] = media_url("media.original", record)
    data["thumb_url"] = media_url("media.thumbnail", record)
    renditions = record.has_renditions
    data["thumb2x_url"] = media_url("media.thumbnail2x", record) if renditions else None
    data["display_url"] = media_url("media.display", record) if renditions else None
    # Made by the app on the first zoom (never on the CDN): the viewer asks for it here.
    data["large_url"] = media_url("media.large", record) if renditions else None
    return data


# What the photo viewer (static/viewer.js) needs of a record: the gallery embeds it in each tile,
# and the viewer reads the same fields from GET /api/images when it pages on.
VIEWER_FIELDS = (
    "key",
    "version",
    "width",
    "height",
    "bytes",
    "content_type",
    "url",
    "thumb_url",
    "display_url",
    "large_url",
    "display_width",
    "display_height",
    "color",
    "taken_at",
    "updated_at",
    "labels",
    "exif",
    "favourite",
)


@bp.app_template_global("viewer_json")
def viewer_json(record: ImageRecord) -> dict:
    data = record_json(record)
    return {name: data.get(name) for name in VIEWER_FIELDS}


@bp.post("/api/images")
@ratelimits.uploads
@bp.arguments(schemas.Upload, location="multipart")
@bp.response(201, answers.ImageRecord, description="Stored under a new key (with rename: the key it got)")
@bp.alt_response(
    200,
    schema=answers.ImageRecord,
    description="Replaced the image of an existing key; or, with on_duplicate=skip, the image already holding "
    "these bytes, with duplicate_of (nothing stored)",
    success=True,
)
@bp.errors(400, 409, 413, 415, 422, 429, 503)
def create_image(form: dict):
    """Upload an image under a key; on_conflict says what happens when the key is taken, on_duplicate
    when the gallery already holds the same bytes"""
    library, data = services().library, form["file"].read()
    if form["on_duplicate"] == "skip" and (stored := library.stored_copy(data)) is not None:
        return {**record_json(stored), "replaced": False, "duplicate_of": stored.key}, 200
    record, replaced = library.upload(
        form["key"], data, on_conflict=form.get("on_conflict"), batch=form.get("batch", "")
    )
    return {**record_json(record), "replaced": replaced}, 200 if replaced else 201


@bp.get("/api/images")
@bp.arguments(schemas.ListQuery, location="query")
@bp.response(200, answers.ImagePage)
@bp.errors(400, 404)
def list_images(query: dict):
    """List or search images, newest first, by cursor; with album, that album's photos in its order"""
    if query.get("album"):
        items, next_cursor = services().albums.images(
            query["album"], limit=query["limit"], cursor=query.get("cursor"), sort=query.get("sort")
        )
        return {"items": [record_json(r) for r in items], "next_cursor": next_cursor}
    items, next_cursor = services().catalog.list(
        prefix=query["prefix"],
        label=query["label"],
        limit=query["limit"],
        cursor=query.get("cursor"),
        sort=query.get("sort"),
        q=query["q"],
        batch=query.get("batch", ""),
        favourite=query["favourite"],
        camera=query.get("camera", ""),
        taken_from=query.get("taken_from"),
        taken_to=query.get("taken_to"),
    )
    return {"items": [record_json(r) for r in items], "next_cursor": next_cursor}


@bp.get("/api/images/<path:key>")
@bp.response(200, answers.ImageRecord)
@bp.errors(400, 404)
def get_image(key: str):
    """One image's record"""
    return record_json(services().catalog.get_record(key))


@bp.delete("/api/images/<path:key>")
@bp.response(204, description="Moved to the trash")
@bp.errors(400, 404)
def delete_image(key: str):
    """Move an image and its earlier versions to the trash"""
    services().library.delete(key)
    return Response(status=204)


@bp.get("/api/keys")
@bp.arguments(schemas.SuggestQuery, location="query")
@bp.response(200, answers.KeyList)
@bp.errors(400)
def suggest_keys(query: dict):
    """Keys starting with a prefix, for autocompletion"""
    return {"keys": services().catalog.suggest(query["prefix"], query["limit"])}


@bp.get("/api/cache/stats")
@bp.response(200, answers.CacheStats)
def cache_stats():
    """Image cache statistics"""
    return services().admin.cache_stats()


@bp.post("/api/cache/clear")
@bp.response(200, answers.CacheStats, description="Statistics after clearing")
def cache_clear():
    """Empty the image cache"""
    services().admin.clear_cache()
    return services().admin.cache_stats()


@bp.get("/api/openapi.json", documented=False)
def openapi():
    return jsonify(document())


@bp.get("/healthz")
@bp.response(200, answers.Health, description="The app is up; status ok or degraded, and each backend's check")
def healthz():
    """Liveness"""
    # 200 even when degraded: this is liveness, and restarting the app would cure no backend.
    return services().admin.health()
