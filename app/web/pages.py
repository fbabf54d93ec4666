"""Server-rendered pages: home, gallery, upload, browse, delete and cache status."""

from __future__ import annotations

import difflib
import os
import re
from urllib.parse import parse_qsl, urlencode

from flask import Blueprint, current_app, g, make_response, redirect, render_template, request, url_for
from itsdangerous import BadSignature, URLSafeSerializer

from ..core import timeline
from ..core.errors import GalleryError, InvalidKey, InvalidParameter, NotFound
from ..core.keys import MAX_KEY_LENGTH, is_valid_key, validate_prefix
from ..core.search import check_batch, new_batch
from ..imaging import exif
from ..metadata.base import SORTS
from ..processing import OPS
from . import charts, ratelimits
from .auth import sees_deleted
from .common import services
from .describe import describe_steps
from .limits import page_limits
from .schemas import MAX_SELECTION, ON_DUPLICATE
from .tiles import alt_text, tile_styles

bp = Blueprint("pages", __name__)
bp.app_context_processor(page_limits)  # every page, not only this blueprint's
# For templates: `records | timeline(sort, "month")` gives headed groups, `exif_rows(record.exif)` rows.
bp.add_app_template_filter(timeline.groups, "timeline")
bp.add_app_template_global(exif.summary, "exif_rows")
bp.add_app_template_global(alt_text, "alt_text")
# What names one gallery page: its filters and its place in the listing (forms acting on it come back).
GALLERY_FILTERS = ("q", "prefix", "label", "batch", "sort", "favourite", "camera", "taken_from", "taken_to")
GALLERY_STATE = (*GALLERY_FILTERS, "cursor", "month")


@bp.get("/")
def home():
    return render_template("home.html", operations=list(OPS))  # the card names every operation there is


@bp.get("/gallery")
def gallery_page():
    filters = {name: request.args.get(name, "").strip() for name in GALLERY_FILTERS}
    cursor = request.args.get("cursor") or None
    month = request.args.get("month", "").strip()
    error, status = None, 200
    try:
        items, next_cursor = services().catalog.list(cursor=cursor, month=month, **filters)
    except GalleryError as exc:  # a filter the page can explain (a one-letter search, a bad prefix...)
        items, next_cursor, error, status = [], None, exc.page_message, exc.status
    kept = {name: value for name, value in filters.items() if value}  # for the pager's links
    sort = filters["sort"] or "uploaded"
    filtered = any(value for name, value in filters.items() if name != "sort")
    labels = services().catalog.labels()
    whole = not cursor and not month and next_cursor is None and not error  # this page is all there is
    styles = tile_styles(items)
    page = render_template(
        "gallery.html",
        total=services().catalog.usage()["images"],
        filtered=filtered,
        matching=services().catalog.match_count(filters, items, whole=whole, label_counts=dict(labels)),
        items=items,
        next_cursor=next_cursor,
        sort=sort,
        sorts=SORTS,
        cursor=cursor,
        month=month if not cursor else "",
        # The scrubber jumps through the whole gallery in the date-taken order, with its month counts.
        scrubber=timeline.scrubber(services().catalog.months()) if sort == "taken" and not filtered else [],
        filters=filters,
        kept=kept,
        back=urlencode({**kept, "cursor": cursor} if cursor else {**kept, "month": month} if month else kept),
        styles=styles,
        error=error,
        labels=labels,
        # A label filter cannot find what detection has not seen yet: say how much that is.
        unlabelled=services().catalog.unlabelled_count() if filters["label"] else 0,
        max_selection=MAX_SELECTION,
    )
    response = make_response(page, status)
    response.headers["Content-Security-Policy"] = styles.policy  # allows the tiles' <style> block
    return response


def gallery_url(back: str, **notice: str) -> str:
    """The gallery page a form was sent from (``back``: that page's query string, as the gallery
    renders it into its forms) with ``notice`` added; anything else in ``back`` is ignored."""
    kept = {name: value for name, value in parse_qsl(back or "") if name in GALLERY_STATE and value}
    return url_for("pages.gallery_page", **kept, **notice)


# -- upload ------------------------------------------------------------------------------
def key_from_filename(filename: str) -> str:
    """A valid key made from a file name: disallowed characters become '-'."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "image"
    return name[:MAX_KEY_LENGTH]


@bp.get("/upload")
def upload_page():
    return render_template("upload.html")


UPLOAD_CHOICES = ("ask", "replace", "rename", "skip")


def as_folder(name: str) -> str:
    name = name.strip()
    return name if not name or name.endswith("/") else name + "/"


def upload_targets(files, key: str, prefix: str) -> list[str]:
    """The prefix is a folder everything goes in; inside it, one file is stored under the typed key
    (or its file name), several under their file names inside the folder the key names (if any):
    prefix ``trip/`` with key ``beach.jpg`` is ``trip/beach.jpg``; with two files and key ``day1``,
    ``trip/day1/<file name>``. (static/upload.js combines them the same way.)"""
    folder = as_folder(prefix)
    if len(files) == 1 and key:
        return [folder + key]
    folder += as_folder(key)
    return [folder + key_from_filename(f.filename) for f in files]


def held_token(name: str, key: str, filename: str) -> str:
    """A signed note of a held upload, so the answer form cannot point at someone else's bytes."""
    return URLSafeSerializer(current_app.secret_key, salt="held-upload").dumps([name, key, filename])


def read_held_token(token: str) -> tuple[str, str, str]:
    try:
        name, key, filename = URLSafeSerializer(current_app.secret_key, salt="held-upload").loads(token)
    except (BadSignature, ValueError, TypeError):
        raise InvalidParameter("This answer form is out of date; upload the files again.") from None
    return name, key, filename


@bp.post("/upload")
@ratelimits.uploads
def upload_submit():
    files = [f for f in request.files.getlist("file") if f.filename]
    if not files:
        raise InvalidParameter("Choose an image file to upload.")
    choice = request.form.get("on_conflict", "ask")
    if choice not in UPLOAD_CHOICES:
        raise InvalidParameter("Choose what to do when a key exists: ask, replace, keep both or skip.")
    on_duplicate = request.form.get("on_duplicate", "keep")  # the form says skip; older posts don't say
    if on_duplicate not in ON_DUPLICATE:
        raise InvalidParameter("Choose what to do with a photo already in the gallery: skip it or keep both.")
    targets = upload_targets(files, request.form.get("key", "").strip(), request.form.get("prefix", "").strip())
    batch = new_batch()  # the result page links to the gallery showing just these photos
    results, held = [], []
    for file, target in zip(files, targets, strict=True):
        data = file.read()
        try:
            if on_duplicate == "skip" and (stored := services().library.stored_copy(data)) is not None:
                results.append({"key": target, "record": None, "duplicate_of": stored.key, "error": None})
                continue
            if choice in ("ask", "skip") and services().catalog.get_record_or_none(target) is not None:
                if choice == "skip":
                    results.append({"key": target, "record": None, "skipped": True, "error": None})
                else:  # keep the bytes while the owner decides, instead of replacing anything
                    held.append(
                        {
                            "key": target,
                            "filename": file.filename,
                            "token": held_token(services().library.stage(data), target, file.filename),
                        }
                    )
                continue
            record, replaced = services().library.upload(
                target, data, on_conflict="rename" if choice == "rename" else "replace", batch=batch
            )
            results.append({"key": record.key, "record": record, "replaced": replaced, "error": None})
        except GalleryError as exc:
            if len(files) == 1:
                raise
            results.append({"key": target, "record": None, "replaced": False, "error": exc})
    return uploaded_page(results, held, batch)


def uploaded_page(results: list[dict], held: list[dict], batch: str):
    failures = [r for r in results if r["error"]]
    status = failures[0]["error"].status if failures and len(failures) == len(results) and not held else 200
    return render_template("uploaded.html", results=results, failures=failures, held=held, batch=batch), status


@bp.post("/upload/resolve")
@ratelimits.uploads
def upload_resolve():
    """The answers to "this key exists": replace, keep both or skip, per file or for all."""
    tokens = request.form.getlist("token")
    if not tokens:
        raise InvalidParameter("There is nothing waiting for an answer; upload the files again.")
    held = [read_held_token(token) for token in tokens]  # all of them before any is acted on
    for_all = request.form.get("all", "")
    try:  # the batch the first answer page belongs to, so the gallery link shows all of it
        batch = check_batch(request.form.get("batch")) or new_batch()
    except GalleryError:
        batch = new_batch()
    results = []
    for i, (name, key, _) in enumerate(held):
        answer = for_all or request.form.get(f"choice-{i}", "skip")
        if answer not in ("replace", "rename", "skip"):
            answer = "skip"
        try:
            stored = services().library.unstage(
                name,
                None if answer == "skip" else key,
                on_conflict=answer if answer != "skip" else "replace",
                batch=batch,
            )
            if stored is None:
                results.append({"key": key, "record": None, "skipped": True, "error": None})
            else:
                results.append({"key": stored[0].key, "record": stored[0], "replaced": stored[1], "error": None})
        except GalleryError as exc:
            results.append({"key": key, "record": None, "replaced": False, "error": exc})
    return uploaded_page(results, [], batch)


# -- browse ------------------------------------------------------------------------------
SIMILAR_ENOUGH = 0.6  # difflib's ratio: "pets/rx.jpg" ~ "pets/rex.png" 0.87; "zebra" ~ "zoo.jpg" 0.17


def similar_keys(key: str, limit: int = 8) -> list[str]:
    """Suggestions for a missing key: of the keys sharing the longest possible start with it, those
    that look like it (a typo, another extension); none when nothing does, rather than any keys."""
    candidate = "".join(ch for ch in key if is_valid_key(ch) or ch in "./")  # '.' alone is no key
    while candidate:
        found = services().catalog.suggest(candidate, 50)
        if found:
            return [k for k in found if difflib.SequenceMatcher(None, key, k).ratio() >= SIMILAR_ENOUGH][:limit]
        candidate = candidate[:-1]
    return []


def missing(key: str) -> NotFound:
    """The 404 for a key no image has: with close keys, and with where it went when it was deleted
    just now (Back after a delete) and this viewer may see the trash."""
    trashed = services().history.recently_deleted(key) if sees_deleted() else None
    g.error_context = {
        "missing_key": key,
        "suggestions": similar_keys(key),
        "trashed": trashed,
        "trash_hint": not sees_deleted(),
    }
    if trashed is not None:
        return NotFound(f"The image {key!r} was moved to the trash.")
    return NotFound(f"There is no image with the key {key!r}.")


@bp.get("/browse")
def browse():
    key = request.args.get("key", "").strip()
    if not key:
        recent, _ = services().catalog.list(limit=12)
        return render_template("browse.html", key="", record=None, recent=recent)
    version = request.args.get("version", "").strip()
    history_cursor = request.args.get("history") or None  # a page of the version history
    try:
        page = services().history.version_page(key, cursor=history_cursor)
    except (NotFound, InvalidKey) as exc:
        if version and sees_deleted():  # a deleted image's version (from the trash, or a "Made from" link)
            record = services().history.get_version(key, version)
            return render_template("browse.html", key=key, record=record, current=None, history=[])
        matches, more = partial_matches(key)
        if matches:  # part of a key ("katherine", "people/"): show what it finds
            return render_template("browse.html", key=key, record=None, matches=matches, more=more)
        raise missing(key) from exc
    current = page.current
    record = services().history.get_version(key, version) if version and version != current.version else current
    return render_template(
        "browse.html",
        key=key,
        record=record,
        current=current,
        history=page.items,
        history_cursor=history_cursor,
        history_next=page.next_cursor,
        dropped=page.dropped,
        max_versions=services().retention.max_versions,
        restored=request.args.get("restored"),
        steps=describe_steps(record.provenance),
    )


def partial_matches(text: str, limit: int = 24) -> tuple[list, bool]:
    """Images whose key starts with ``text``, else those the search for it finds (the keys that
    share the longest start with ``text`` first), and whether there are more."""
    keys = services().catalog.suggest(text, limit + 1) if is_valid_prefix(text) else []
    if keys:
        found = [r for r in (services().catalog.get_record_or_none(k) for k in keys[:limit]) if r is not None]
        return found, len(keys) > limit
    try:
        found, cursor = services().catalog.list(q=text, limit=limit)
    except GalleryError:  # no searchable word in it (e.g. one letter)
        return [], False
    found.sort(key=lambda r: -len(os.path.commonprefix([r.key, text])))  # stable: then newest first
    return found, cursor is not None


def is_valid_prefix(text: str) -> bool:
    try:
        validate_prefix(text)
    except InvalidKey:
        return False
    return True


# -- delete ------------------------------------------------------------------------------
@bp.get("/delete/<path:key>")
def delete_confirm(key: str):
    try:
        record = services().catalog.get_record(key)
    except NotFound as exc:  # Back after deleting it
        raise missing(key) from exc
    return render_template("delete.html", record=record, retention_days=services().library.retention_days)


@bp.post("/delete/<path:key>")
def delete_submit(key: str):
    services().library.delete(key)
    return redirect(gallery_url(request.form.get("back", ""), deleted=key), code=303)


# -- cache status ------------------------------------------------------------------------
@bp.get("/cache")
def cache_page():
    stats = services().admin.cache_stats()
    return render_template(
        "cache.html",
        done=CACHE_DONE.get(request.args.get("done", "")),
        stats=stats,
        charts=charts.cache_charts(stats["series"]),
        chart_size=(charts.WIDTH, charts.HEIGHT),
        usage=services().catalog.usage(),
        retention_days=services().library.retention_days,
        quota_bytes=services().retention.quota_bytes,
        max_versions=services().retention.max_versions,
    )


@bp.post("/cache")
def cache_update():
    action = request.form.get("action")
    if action == "clear":
        services().admin.clear_cache()
    elif action == "configure":
        services().admin.configure_cache(request.form.get("capacity_mb", ""), request.form.get("policy", "lru"))
    elif action == "reset":
        services().admin.reset_cache_stats()
    else:
        raise InvalidParameter("Unknown cache action.")
    return redirect(url_for("pages.cache_page", done=action), code=303)


# What the page says after each action (the figures below it show the new state).
CACHE_DONE = {
    "clear": "Cleared the cache: every cached image is dropped, so the next reads are misses. Images stay stored.",
    "configure": "Applied the new settings: the capacity and policy below are in effect now.",
    "reset": "Reset the statistics: hits and misses count from zero again.",
}
