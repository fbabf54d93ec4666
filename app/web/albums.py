"""Albums, smart albums and favourites: the JSON API and the pages (``/albums``, an album's page,
and the forms the gallery, the viewer and Browse post to). Views parse, call ``services().albums``
and render; the service checks everything before anything is stored."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, make_response, redirect, render_template, request, url_for

from ..core.errors import GalleryError, InvalidParameter
from ..metadata.base import ALBUM_SORTS, Album
from ..services.catalog import QUERY_FIELDS
from . import answers, schemas
from .api import record_json
from .apidoc import ApiBlueprint, parser
from .cdn import media_url
from .common import services
from .schemas import MAX_SELECTION
from .tiles import tile_styles

bp = ApiBlueprint("albums", __name__, description="Albums, smart albums and favourites")


def album_json(album: Album, with_count: bool = True) -> dict:
    cover = services().albums.cover(album)
    return {
        **album.to_dict(),
        "smart": album.smart,
        "count": services().albums.count(album) if with_count else None,
        "cover_thumb_url": media_url("media.thumbnail", cover) if cover else None,
        "url": url_for("albums.album_page", album_id=album.id),
        "images_url": url_for("api.list_images", album=album.id),
    }


@bp.app_template_global("album_choices")
def album_choices() -> list[Album]:
    """The plain albums a selection or a photo can be added to (the gallery's and the viewer's menus)."""
    return [a for a in services().albums.list() if not a.smart]


@bp.app_template_global("album_menu")
def album_menu() -> list[dict]:
    """The same, as the viewer's "Add to album" menu reads it (a data attribute)."""
    return [{"id": a.id, "name": a.name} for a in album_choices()]


# -- API: albums -----------------------------------------------------------------------------
@bp.post("/api/albums")
@bp.arguments(schemas.AlbumCreate, location="body")
@bp.response(201, answers.Album, description="Created; with query, a smart album")
@bp.errors(400, 409)
def create_album(body: dict):
    """Create an album, or with query a smart album (a saved search)"""
    album = services().albums.create(body["name"], body.get("description", ""), body.get("query"))
    return album_json(album), 201


@bp.get("/api/albums")
@bp.response(200, answers.AlbumList)
def list_albums():
    """Every album, plain and smart, by name, with counts and covers"""
    return {"items": [album_json(a) for a in services().albums.list()]}


@bp.get("/api/albums/<album_id>")
@bp.response(200, answers.Album)
@bp.errors(404)
def get_album(album_id: str):
    """One album"""
    return album_json(services().albums.get(album_id))


@bp.patch("/api/albums/<album_id>")
@bp.arguments(schemas.AlbumChange, location="body")
@bp.response(200, answers.Album)
@bp.errors(400, 404, 409)
def change_album(body: dict, album_id: str):
    """Rename, describe, choose the cover or the order, or change a smart album's filters"""
    return album_json(services().albums.update(album_id, **body))


@bp.delete("/api/albums/<album_id>")
@bp.response(204, description="Deleted; its photos stay in the gallery")
@bp.errors(404)
def delete_album(album_id: str):
    """Delete an album (never its photos)"""
    services().albums.delete(album_id)
    return Response(status=204)


@bp.post("/api/albums/<album_id>/images")
@bp.arguments(schemas.AlbumKeys, location="body")
@bp.response(200, answers.AlbumMembers, description="The album after adding; added: photos new to it")
@bp.errors(400, 404)
def add_images(body: dict, album_id: str):
    """Add photos to a plain album (all or none: a missing key refuses the request)"""
    added = services().albums.add(album_id, body["keys"])
    return {**album_json(services().albums.get(album_id)), "added": added}


@bp.delete("/api/albums/<album_id>/images")
@bp.arguments(schemas.AlbumKeys, location="body")
@bp.response(200, answers.AlbumMembers, description="The album after removing; removed: photos that were in it")
@bp.errors(400, 404)
def remove_images(body: dict, album_id: str):
    """Remove photos from a plain album (they stay in the gallery)"""
    removed = services().albums.remove(album_id, body["keys"])
    return {**album_json(services().albums.get(album_id)), "removed": removed}


@bp.put("/api/albums/<album_id>/order")
@bp.arguments(schemas.AlbumKeys, location="body")
@bp.response(200, answers.Album, description="The album, now in the manual order")
@bp.errors(400, 404)
def reorder_album(body: dict, album_id: str):
    """Put these members first, in this order (the others follow); the album shows the manual order"""
    return album_json(services().albums.reorder(album_id, body["keys"]))


# -- API: favourites -------------------------------------------------------------------------
@bp.put("/api/images/<path:key>/favourite")
@bp.response(200, answers.ImageRecord, description="Now a favourite")
@bp.errors(400, 404)
def favourite(key: str):
    """Mark a photo as a favourite"""
    return record_json(services().albums.favourite(key, True))


@bp.delete("/api/images/<path:key>/favourite")
@bp.response(200, answers.ImageRecord, description="No longer a favourite")
@bp.errors(400, 404)
def unfavourite(key: str):
    """Clear a photo's favourite mark"""
    return record_json(services().albums.favourite(key, False))


# -- pages -----------------------------------------------------------------------------------
def back(fallback: str) -> str:
    """Where a form came from (a path on this site only), else ``fallback``."""
    target = request.form.get("next", "")
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.scheme and not parts.netloc:
        return target
    return fallback


@bp.get("/albums")
def albums_page():
    albums = services().albums.list()
    shown = [(a, services().albums.count(a), services().albums.cover(a)) for a in albums]
    return render_template("albums.html", albums=shown)


@bp.post("/albums")
def albums_create():
    """The Albums page's "New album" form, and the gallery's "Save as smart album" (``smart``)."""
    query = None
    if request.form.get("smart"):
        query = {name: request.form.get(name, "") for name in QUERY_FIELDS}
        query["favourite"] = request.form.get("favourite") in ("1", "on", "true")
    album = services().albums.create(request.form.get("name", ""), request.form.get("description", ""), query)
    return redirect(url_for("albums.album_page", album_id=album.id), code=303)


@bp.get("/albums/<album_id>")
def album_page(album_id: str):
    albums = services().albums
    album = albums.get(album_id)
    cursor = request.args.get("cursor") or None
    items, next_cursor = albums.images(album.id, cursor=cursor)
    styles = tile_styles(items)
    page = render_template(
        "album.html",
        album=album,
        items=items,
        count=albums.count(album),
        cover=albums.cover(album, first=items[0] if items and not cursor else None),
        cursor=cursor,
        next_cursor=next_cursor,
        sorts=ALBUM_SORTS if not album.smart else ALBUM_SORTS[:2],
        max_selection=MAX_SELECTION,
        styles=styles,
        back="",  # a tile's Trash returns to the gallery
    )
    response = make_response(page)
    response.headers["Content-Security-Policy"] = styles.policy  # allows the tiles' <style> block
    return response


ALBUM_ACTIONS = ("details", "sort", "cover", "remove", "front", "delete")


@bp.post("/albums/<album_id>")
def album_update(album_id: str):
    """The album page's forms: ``action`` says which."""
    albums = services().albums
    action = request.form.get("action")
    if action not in ALBUM_ACTIONS:
        raise InvalidParameter("Choose what to do with the album.")
    if action == "delete":
        albums.delete(album_id)
        return redirect(url_for("albums.albums_page"), code=303)
    if action == "details":
        albums.update(album_id, name=request.form.get("name", ""), description=request.form.get("description", ""))
    elif action == "sort":
        albums.update(album_id, sort=request.form.get("sort", ""))
    elif action == "cover":
        albums.set_cover(album_id, request.form.get("key", ""))
    else:  # a selection: remove it, or move it to the front
        keys = list(dict.fromkeys(parser.parse(schemas.Selection, location="body")["keys"]))
        albums.remove(album_id, keys) if action == "remove" else albums.reorder(album_id, keys)
    return redirect(url_for("albums.album_page", album_id=album_id), code=303)


@bp.post("/albums/add")
def add_selection():
    """The gallery's and Browse's "Add to album": an album chosen, or a new one named."""
    keys = list(dict.fromkeys(parser.parse(schemas.Selection, location="body")["keys"]))
    albums = services().albums
    new_name = request.form.get("new_album", "").strip()
    if new_name:
        album = albums.create(new_name)
        try:
            albums.add(album.id, keys)
        except GalleryError:  # nothing to add after all: the new album is not left behind empty
            albums.delete(album.id)
            raise
    else:
        album = albums.get(request.form.get("album", ""))
        albums.add(album.id, keys)
    return redirect(url_for("albums.album_page", album_id=album.id), code=303)


@bp.post("/favourite/<path:key>")
def favourite_toggle(key: str):
    """The heart on a tile or on Browse, without JavaScript: set or clear, then back where it was."""
    on = request.form.get("favourite") == "1"
    services().albums.favourite(key, on)
    return redirect(back(url_for("pages.browse", key=key)), code=303)
