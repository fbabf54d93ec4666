"""JSON API. Errors are always ``{"error": {"code", "message"}}`` (see ``common.error_response``)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for

from ..core.errors import InvalidParameter
from ..metadata.base import ImageRecord
from . import ratelimits
from .common import services
from .openapi import spec

bp = Blueprint("api", __name__)

LIST_LIMIT = (1, 500)  # records per /api/images page
SUGGEST_LIMIT = (1, 100)  # keys per /api/keys answer


def record_json(record: ImageRecord) -> dict:
    """The record and the URLs of its bytes; ``display_url`` and ``thumb2x_url`` are null until the
    image has renditions (images stored before them, until ``gallery renditions`` runs)."""
    data = record.to_dict()
    data["url"] = url_for("media.original", key=record.key, v=record.version)
    data["thumb_url"] = url_for("media.thumbnail", key=record.key, v=record.version)
    renditions = record.has_renditions
    data["thumb2x_url"] = url_for("media.thumbnail2x", key=record.key, v=record.version) if renditions else None
    data["display_url"] = url_for("media.display", key=record.key, v=record.version) if renditions else None
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
    "display_width",
    "display_height",
    "color",
    "taken_at",
    "exif",
)


@bp.app_template_global("viewer_json")
def viewer_json(record: ImageRecord) -> dict:
    data = record_json(record)
    return {name: data.get(name) for name in VIEWER_FIELDS}


def int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name, request.form.get(name))
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidParameter(f"{name} must be a whole number from {low} to {high}.") from None
    if not low <= value <= high:
        raise InvalidParameter(f"{name} must be from {low} to {high}; got {value}.")
    return value


def uploaded_file():
    file = request.files.get("file")
    if file is None or not file.filename and not file.content_length:
        raise InvalidParameter("Attach the image as the multipart field 'file'.")
    return file


@bp.post("/api/images")
@ratelimits.uploads
def create_image():
    file = uploaded_file()
    record, replaced = services().library.upload(
        request.form.get("key", ""),
        file.read(),
        on_conflict=request.form.get("on_conflict") or None,
        batch=request.form.get("batch", ""),
    )
    body = record_json(record)
    body["replaced"] = replaced
    return jsonify(body), 200 if replaced else 201


@bp.get("/api/images")
def list_images():
    limit = int_arg("limit", 48, *LIST_LIMIT)
    items, next_cursor = services().catalog.list(
        prefix=request.args.get("prefix", ""),
        label=request.args.get("label", ""),
        limit=limit,
        cursor=request.args.get("cursor") or None,
        sort=request.args.get("sort") or None,
        q=request.args.get("q", ""),
        batch=request.args.get("batch", ""),
    )
    return jsonify({"items": [record_json(r) for r in items], "next_cursor": next_cursor})


@bp.get("/api/images/<path:key>")
def get_image(key: str):
    return jsonify(record_json(services().catalog.get_record(key)))


@bp.delete("/api/images/<path:key>")
def delete_image(key: str):
    services().library.delete(key)
    return "", 204


@bp.get("/api/keys")
def suggest_keys():
    limit = int_arg("limit", 10, *SUGGEST_LIMIT)
    return jsonify({"keys": services().catalog.suggest(request.args.get("prefix", ""), limit)})


@bp.get("/api/cache/stats")
def cache_stats():
    return jsonify(services().admin.cache_stats())


@bp.post("/api/cache/clear")
def cache_clear():
    services().admin.clear_cache()
    return jsonify(services().admin.cache_stats())


@bp.get("/api/openapi.json")
def openapi():
    return jsonify(spec())


@bp.get("/healthz")
def healthz():
    # 200 even when degraded: this is liveness, and restarting the app would cure no backend.
    return jsonify(services().admin.health())
