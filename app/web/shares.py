"""Share links: the owner's JSON API (``/api/shares``) and page (``/shares``), and the visitor's
pages under ``/s/<token>``.

A visitor's every request opens the link in the metadata store (``Shares.open``: read consistently,
never cached), so a revoked or expired link is a 404 at once on every process; it then reaches only
what the link shares, through share-scoped URLs (``/s/<token>/display/<key>?v=``), never the gallery's
own ``/images/`` routes, search, labels or listings. Pages are ``private, no-store`` and send no
Referer (the token is in their URL); access logs write ``/s/<redacted>`` (``core.redaction``).
"""

from __future__ import annotations

from flask import Response, redirect, render_template, request, session, url_for

from ..core.blobs import DISPLAY, LARGE, ORIGINAL, THUMB, THUMB2X, Redirect
from ..core.errors import GalleryError, InvalidParameter
from ..metadata.base import ImageRecord, Share
from . import answers, ratelimits, schemas
from .apidoc import ApiBlueprint
from .common import services
from .media import etag_matches, media_headers, redirect_headers

bp = ApiBlueprint("shares", __name__, description="Share links: a photo, a folder or an album for anyone with the link")

VARIANTS = {"thumbs": THUMB, "thumbs2x": THUMB2X, "display": DISPLAY, "large": LARGE, "images": ORIGINAL}
UNLOCKED = "shares_unlocked"  # session: ids of the password-protected links this browser opened
MAX_UNLOCKED = 20
PAGE_HEADERS = {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"}
MEDIA_CACHE = "private, no-cache"  # revalidated (a cheap 304) so a revoked link shows nothing more
EXPIRY_CHOICES = (("", "Never"), ("3600", "1 hour"), ("86400", "1 day"), ("604800", "1 week"), ("2592000", "30 days"))


class Locked(GalleryError):
    """The share link asks for its password first (open its page)."""

    status = 403
    code = "share_locked"


def share_json(share: Share) -> dict:
    data = {name: getattr(share, name) for name in answers.Share().fields if hasattr(share, name)}
    return data | {"password": bool(share.password_hash)}


def target_of(body: dict) -> tuple[str, str]:
    kind = next(name for name in ("album", "key", "prefix") if body.get(name))
    return kind, body[kind]


# -- the owner's API -------------------------------------------------------------------------
@bp.post("/api/shares")
@bp.arguments(schemas.ShareCreate, location="body")
@bp.response(201, answers.ShareCreated, description="The link; its url is shown this once")
@bp.errors(400, 404)
def create_share(body: dict):
    """Make a share link to a photo (key), a folder (prefix) or an album"""
    share, token = services().shares.create(
        *target_of(body),
        expires_in=body.get("expires_in"),
        password=body.get("password", ""),
        allow_download=body["allow_download"],
    )
    return share_json(share) | {"url": url_for("shares.shared_page", token=token)}


@bp.get("/api/shares")
@bp.response(200, answers.ShareList)
def list_shares():
    """Every share link, newest first, with its views and last use (never its token)"""
    return {"items": [share_json(s) for s in services().shares.list()]}


@bp.delete("/api/shares/<share_id>")
@bp.response(204, description="Revoked: the link is a 404 from now on")
@bp.errors(404)
def revoke_share(share_id: str):
    """Revoke a share link"""
    services().shares.revoke(share_id)
    return Response(status=204)


# -- the owner's page ------------------------------------------------------------------------
@bp.get("/shares")
def shares_page(created: dict | None = None, error: str | None = None, status: int = 200):
    return render_template(
        "shares.html", shares=services().shares.list(), created=created, error=error, expiries=EXPIRY_CHOICES
    ), status


@bp.post("/shares")
def shares_create():
    form = request.form
    kind = "key" if form.get("key", "").strip() else "prefix"
    target = form.get(kind, "").strip()
    try:
        expires = form.get("expires_in", "").strip()
        if expires and not expires.isdigit():
            raise InvalidParameter("Choose when the link expires.")
        share, token = services().shares.create(
            kind,
            target,
            expires_in=int(expires) if expires else None,
            password=form.get("password", ""),
            allow_download=form.get("allow_download") == "1",
        )
    except GalleryError as exc:
        return shares_page(error=exc.page_message, status=exc.status)
    return shares_page(created={"share": share, "url": url_for("shares.shared_page", token=token, _external=True)})


@bp.post("/shares/<share_id>/revoke")
def shares_revoke(share_id: str):
    services().shares.revoke(share_id)
    return redirect(url_for("shares.shares_page"), code=303)


# -- the visitor's pages ---------------------------------------------------------------------
def visit(token: str) -> Share:
    """The live link, unlocked by this browser if it has a password; 404 or ``Locked`` otherwise."""
    share = services().shares.open(token)
    if share.password_hash and share.id not in session.get(UNLOCKED, []):
        raise Locked("This link asks for a password: open the link itself and type it.")
    return share


def shared_photo(token: str, share: Share, record: ImageRecord) -> dict:
    """What the viewer needs of a shared photo, every URL inside the link. Without downloads the
    original is never named, and the photo's size is its large rendition's (twice the display
    size, see static/viewer.js), so the viewer zooms no further than that."""

    def media(variant: str) -> str:
        return url_for("shares.shared_media", token=token, variant=variant, key=record.key, v=record.version)

    renditions = record.has_renditions
    display = media("display") if renditions else media("thumbs")
    display_size = (
        (record.display_width, record.display_height) if renditions else (record.thumb_width, record.thumb_height)
    )
    size = (record.width, record.height)
    if not share.allow_download:
        scale = min(1.0, 2 * max(display_size) / max(max(size), 1)) if renditions else 0
        size = (round(record.width * scale), round(record.height * scale)) if renditions else display_size
    return {
        "key": record.key,
        "version": record.version,
        "width": size[0],
        "height": size[1],
        "content_type": record.content_type,
        "url": media("images") if share.allow_download else display,
        "thumb_url": media("thumbs"),
        "display_url": display,
        "display_width": display_size[0],
        "display_height": display_size[1],
        "color": record.color,
        "taken_at": record.taken_at,
        "updated_at": record.updated_at,
        "labels": record.labels,
        "exif": record.exif,  # camera facts only: the store never keeps GPS or location
    }


@bp.get("/s/<token>")
@ratelimits.share_opens
def shared_page(token: str):
    share = services().shares.open(token)
    if share.password_hash and share.id not in session.get(UNLOCKED, []):
        return render_template("share.html", share=share, token=token, locked=True), 200
    services().shares.viewed(share)
    records, next_cursor = services().shares.photos(share, cursor=request.args.get("cursor") or None)
    photos = [shared_photo(token, share, r) for r in records]
    return render_template("share.html", share=share, token=token, locked=False, photos=photos, next_cursor=next_cursor)


@bp.post("/s/<token>")
@ratelimits.share_passwords
def shared_unlock(token: str):
    share = services().shares.open(token)
    if not services().shares.password_matches(share, request.form.get("password", "")):
        return render_template("share.html", share=share, token=token, locked=True, error="Wrong password."), 401
    session[UNLOCKED] = [*session.get(UNLOCKED, [])[-(MAX_UNLOCKED - 1) :], share.id]
    return redirect(url_for("shares.shared_page", token=token), code=303)


@bp.get("/s/<token>/items")
@ratelimits.share_opens
def shared_items(token: str):
    share = visit(token)
    limit = request.args.get("limit", "")
    size = min(int(limit), schemas.LIST_LIMIT[1]) if limit.isdigit() and int(limit) > 0 else None
    records, next_cursor = services().shares.photos(share, cursor=request.args.get("cursor") or None, limit=size)
    return {"items": [shared_photo(token, share, r) for r in records], "next_cursor": next_cursor}


@bp.get("/s/<token>/items/<path:key>")
@ratelimits.share_opens
def shared_item(token: str, key: str):
    share = visit(token)
    return shared_photo(token, share, services().shares.record(share, key))


@bp.get("/s/<token>/<any(thumbs, thumbs2x, display, large, images):variant>/<path:key>")
@ratelimits.share_media
def shared_media(token: str, variant: str, key: str):
    share = visit(token)
    record, blob = services().shares.media_for(share, VARIANTS[variant], key)
    if isinstance(blob, Redirect):
        return Response(status=302, headers=redirect_headers(blob))
    headers = dict(media_headers(blob, None))
    headers["Cache-Control"] = MEDIA_CACHE
    if etag_matches(blob, request.headers.get("If-None-Match", "")):
        return Response(status=304, headers=headers)
    if variant == "images":
        headers["Content-Disposition"] = f'attachment; filename="{record.key.rsplit("/", 1)[-1]}"'
    return Response(blob.data, headers=headers, content_type=blob.content_type)


@bp.after_app_request
def share_pages_are_private(response):
    """Every answer under /s/ (errors too): not stored by any cache, and no Referer carries the token."""
    if request.path.startswith("/s/"):
        for name, value in PAGE_HEADERS.items():
            if name != "Cache-Control" or not response.headers.get("Cache-Control", "").startswith("private"):
                response.headers[name] = value
    return response
