"""Albums: named sets of photos the owner keeps (plain) or that fill themselves from a saved gallery
filter (smart), and the pages of either.

A plain album stores member keys; a smart album stores only its ``query`` and is read through the
catalog's listing each time, so it costs what the same search costs and holds no copy of the
photo list. ``images`` is the one call a page (or a share link) needs to show an album.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

from ..core.cursors import CursorCodec
from ..core.errors import InvalidParameter, NotFound
from ..core.keys import validate_key
from ..metadata.base import ALBUM_SORTS, SORTS, Album, ImageRecord
from .catalog import Catalog, check_query, record_matches
from .images import Images

MAX_NAME = 100  # characters of an album's name
MAX_DESCRIPTION = 2000
MAX_PHOTOS = 10_000  # members of one plain album (its pages read them, see the stores)
MAX_KEYS = 1000  # keys per add, remove or reorder request (the gallery's selection limit)
ALBUM_ID_LENGTH = 16


def check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameter("Give the album a name.")
    name = " ".join(name.split())
    if len(name) > MAX_NAME:
        raise InvalidParameter(f"An album's name may have at most {MAX_NAME} characters; this one has {len(name)}.")
    return name


def check_description(text: object) -> str:
    if text is None:
        return ""
    if not isinstance(text, str):
        raise InvalidParameter("The description must be text.")
    text = text.strip()
    if len(text) > MAX_DESCRIPTION:
        raise InvalidParameter(
            f"A description may have at most {MAX_DESCRIPTION} characters; this one has {len(text)}."
        )
    return text


def check_album_sort(value: str | None, smart: bool) -> str:
    allowed = SORTS if smart else ALBUM_SORTS
    if value not in allowed:
        what = "a smart album" if smart else "an album"
        raise InvalidParameter(f"The order of {what} must be one of {', '.join(allowed)}; got {value!r}.")
    return value


def check_keys(keys: Sequence[str]) -> list[str]:
    if not keys:
        raise InvalidParameter("Name at least one photo.")
    if len(keys) > MAX_KEYS:
        raise InvalidParameter(f"At most {MAX_KEYS} photos at once; got {len(keys)}.")
    return list(dict.fromkeys(validate_key(k) for k in keys))


class Albums:
    def __init__(self, images: Images, catalog: Catalog, cursors: CursorCodec, page_size: int, clock=time.time):
        self.metadata = images.metadata  # (``images`` is the page-reading method here)
        self.catalog = catalog
        self.cursors = cursors
        self.page_size = page_size
        self.clock = clock

    # -- the albums themselves ------------------------------------------------------------------
    def create(self, name: str, description: str = "", query: dict | None = None) -> Album:
        """A plain album, or with ``query`` (the gallery's filters) a smart one; ``Conflict`` (409)
        when an album has this name already."""
        now = self.clock()
        album = Album(
            id=uuid.uuid4().hex[:ALBUM_ID_LENGTH],
            name=check_name(name),
            description=check_description(description),
            query=None if query is None else check_query(query),
            created_at=now,
            updated_at=now,
        )
        self.metadata.create_album(album)
        return album

    def get(self, album_id: str) -> Album:
        album = self.metadata.get_album(album_id) if isinstance(album_id, str) and album_id else None
        if album is None:
            raise NotFound(
                f"There is no album {album_id!r}.", page="There is no such album (it may have been deleted)."
            )
        return album

    def list(self) -> list[Album]:
        return self.metadata.albums()

    def update(
        self,
        album_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        query: dict | None = None,
        cover: str | None = None,
        sort: str | None = None,
    ) -> Album:
        """Change what is given; everything is checked before anything is stored."""
        album = self.get(album_id)
        if name is not None:
            album.name = check_name(name)
        if description is not None:
            album.description = check_description(description)
        if query is not None:
            if not album.smart:
                raise InvalidParameter("A plain album has no filter; make a smart album instead.")
            album.query = check_query(query)
        if sort is not None:
            album.sort = check_album_sort(sort, album.smart)
        if cover is not None:
            album.cover = self._check_cover(album, cover)
        album.updated_at = self.clock()
        self.metadata.update_album(album)
        return album

    def rename(self, album_id: str, name: str) -> Album:
        return self.update(album_id, name=name)

    def describe(self, album_id: str, description: str) -> Album:
        return self.update(album_id, description=description)

    def set_cover(self, album_id: str, key: str) -> Album:
        return self.update(album_id, cover=key)

    def delete(self, album_id: str) -> None:
        """Remove the album; its photos stay in the gallery."""
        self.get(album_id)
        self.metadata.delete_album(album_id)

    # -- membership ---------------------------------------------------------------------------
    def add(self, album_id: str, keys: Sequence[str]) -> int:
        """Add current photos (all or none: a missing key refuses the request); how many were new."""
        album = self._plain(album_id)
        keys = check_keys(keys)
        missing = [k for k in keys if self.metadata.get(k) is None]
        if missing:
            shown = ", ".join(repr(k) for k in missing[:5]) + (" ..." if len(missing) > 5 else "")
            raise NotFound(f"There is no image with the key {shown}; nothing was added.")
        if len(set(self.metadata.album_keys(album.id)) | set(keys)) > MAX_PHOTOS:
            raise InvalidParameter(f"An album holds at most {MAX_PHOTOS:,} photos; nothing was added.")
        return self.metadata.add_to_album(album.id, keys)

    def remove(self, album_id: str, keys: Sequence[str]) -> int:
        album = self._plain(album_id)
        removed = self.metadata.remove_from_album(album.id, check_keys(keys))
        if album.cover in keys:  # the page chooses another cover
            album.cover = ""
            self.metadata.update_album(album)
        return removed

    def reorder(self, album_id: str, keys: Sequence[str]) -> Album:
        """Put these photos first in this order (the others follow) and show the album in that order."""
        album = self._plain(album_id)
        keys = check_keys(keys)
        members = set(self.metadata.album_keys(album.id))
        strangers = [k for k in keys if k not in members]
        if strangers:
            raise InvalidParameter(f"{strangers[0]!r} is not in this album; nothing was reordered.")
        self.metadata.reorder_album(album.id, keys)
        if album.sort != "manual":
            album.sort = "manual"
            album.updated_at = self.clock()
            self.metadata.update_album(album)
        return album

    # -- favourites -----------------------------------------------------------------------------
    def favourite(self, key: str, on: bool = True) -> ImageRecord:
        """Set or clear a photo's heart; its record. A new version under the key keeps it."""
        record = self.metadata.set_favourite(validate_key(key), bool(on))
        if record is None:
            raise NotFound(f"There is no image with the key {key!r}.")
        return record

    # -- reading ------------------------------------------------------------------------------
    def images(
        self, album_id: str, limit: int | None = None, cursor: str | None = None, sort: str | None = None
    ) -> tuple[list[ImageRecord], str | None]:
        """A page of the album's current photos in its order (or ``sort``) and the next cursor.
        A smart album is its saved search, read now."""
        album = self.get(album_id)
        limit = limit or self.page_size
        sort = check_album_sort(sort or album.sort, album.smart)
        if album.smart:
            return self.catalog.list(limit=limit, cursor=cursor, sort=sort, **album.query)
        listing = f"album-{album.id}-{sort}"  # a cursor fits this album in this order only
        items, after = self.metadata.album_images(
            album.id, limit=limit, after=self.cursors.decode(listing, cursor), sort=sort
        )
        return items, self.cursors.encode(listing, after)

    def contains(self, album_id: str, key: str) -> bool:
        """Whether the album shows ``key`` now: a current member, or a current photo its filter finds
        (what a share link of the album may serve, and nothing else)."""
        album = self.get(album_id)
        record = self.metadata.get(key)
        if record is None:
            return False
        if album.smart:
            return record_matches(record, album.query)
        return key in self.metadata.album_keys(album.id)

    def count(self, album: Album) -> int | None:
        """Photos shown by a plain album; None for a smart one (counting would cost the whole search)."""
        return None if album.smart else self.metadata.album_count(album.id)

    def cover(self, album: Album, first: ImageRecord | None = None) -> ImageRecord | None:
        """The chosen cover while it still belongs to the album, else its first photo (``first``, when
        the caller has just read it: a smart album's first photo costs a search)."""
        if album.cover:
            record = self.metadata.get(album.cover)
            if record is not None and (
                record_matches(record, album.query)
                if album.smart
                else album.cover in self.metadata.album_keys(album.id)
            ):
                return record
        if first is not None:
            return first
        items, _ = self.images(album.id, limit=1)
        return items[0] if items else None

    # -- helpers ------------------------------------------------------------------------------
    def _plain(self, album_id: str) -> Album:
        album = self.get(album_id)
        if album.smart:
            raise InvalidParameter("A smart album fills itself from its filter; add photos to a plain album.")
        return album

    def _check_cover(self, album: Album, key: str) -> str:
        if key == "":
            return ""
        key = validate_key(key)
        record = self.metadata.get(key)
        if record is None:
            raise NotFound(f"There is no image with the key {key!r}.")
        belongs = record_matches(record, album.query) if album.smart else key in self.metadata.album_keys(album.id)
        if not belongs:
            raise InvalidParameter(f"{key!r} is not in this album; add it before making it the cover.")
        return key
