"""Server-rendered pages: home, gallery, upload, browse, delete and cache status."""

from __future__ import annotations

import re

from flask import Blueprint, g, redirect, render_template, request, url_for

from ..errors import GalleryError, InvalidKey, InvalidParameter, NotFound
from ..keys import MAX_KEY_LENGTH, is_valid_key
from .common import gallery

bp = Blueprint("pages", __name__)


@bp.get("/")
def home():
    return render_template("home.html")


@bp.get("/gallery")
def gallery_page():
    prefix = request.args.get("prefix", "").strip()
    label = request.args.get("label", "").strip()
    cursor = request.args.get("cursor") or None
    items, next_cursor = gallery().list(prefix=prefix, label=label, cursor=cursor)
    labels = gallery().labels()
    return render_template(
        "gallery.html", items=items, next_cursor=next_cursor, prefix=prefix, label=label, cursor=cursor, labels=labels
    )


# -- upload ------------------------------------------------------------------------------
def key_from_filename(filename: str) -> str:
    """A valid key made from a file name: disallowed characters become '-'."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "image"
    return name[:MAX_KEY_LENGTH]


@bp.get("/upload")
def upload_page():
    return render_template("upload.html")


@bp.post("/upload")
def upload_submit():
    files = [f for f in request.files.getlist("file") if f.filename]
    if not files:
        raise InvalidParameter("Choose an image file to upload.")
    key = request.form.get("key", "").strip()
    prefix = request.form.get("prefix", "").strip()
    results = []
    for file in files:
        target = key if len(files) == 1 and key else prefix + key_from_filename(file.filename)
        try:
            record, replaced = gallery().upload(target, file.read())
            results.append({"key": target, "record": record, "replaced": replaced, "error": None})
        except GalleryError as exc:
            if len(files) == 1:
                raise
            results.append({"key": target, "record": None, "replaced": False, "error": exc})
    failures = [r for r in results if r["error"]]
    status = failures[0]["error"].status if len(failures) == len(results) else 200
    return render_template("uploaded.html", results=results, failures=failures), status


# -- browse ------------------------------------------------------------------------------
def similar_keys(key: str, limit: int = 8) -> list[str]:
    """Suggestions for a missing key: keys sharing the longest possible prefix with it."""
    candidate = "".join(ch for ch in key if is_valid_key(ch) or ch in "./")  # '.' alone is no key
    while candidate:
        found = gallery().suggest(candidate, limit)
        if found:
            return found
        candidate = candidate[:-1]
    return gallery().suggest("", limit)


@bp.get("/browse")
def browse():
    key = request.args.get("key", "").strip()
    if not key:
        recent, _ = gallery().list(limit=12)
        return render_template("browse.html", key="", record=None, recent=recent)
    try:
        record = gallery().get_record(key)
    except (NotFound, InvalidKey) as exc:
        g.error_context = {"missing_key": key, "suggestions": similar_keys(key)}
        raise NotFound(f"There is no image with the key {key!r}.") from exc
    return render_template("browse.html", key=key, record=record)


# -- delete ------------------------------------------------------------------------------
@bp.get("/delete/<path:key>")
def delete_confirm(key: str):
    return render_template("delete.html", record=gallery().get_record(key))


@bp.post("/delete/<path:key>")
def delete_submit(key: str):
    gallery().delete(key)
    return redirect(url_for("pages.gallery_page", deleted=key), code=303)


# -- cache status ------------------------------------------------------------------------
@bp.get("/cache")
def cache_page():
    return render_template("cache.html", stats=gallery().cache_stats())


@bp.post("/cache")
def cache_update():
    action = request.form.get("action")
    if action == "clear":
        gallery().clear_cache()
    elif action == "configure":
        gallery().configure_cache(request.form.get("capacity_mb", ""), request.form.get("policy", "lru"))
    elif action == "reset":
        gallery().reset_cache_stats()
    else:
        raise InvalidParameter("Unknown cache action.")
    return redirect(url_for("pages.cache_page"), code=303)
