"""Share links: a photo, a folder or an album opened by anyone holding a random token, read-only.

The token (``secrets.token_urlsafe(32)``: 256 bits) is shown once, when the link is made; the store
keeps its SHA-256, so a leaked database opens nothing. Each request checks the link in the metadata
store (read consistently, never cached), so a revoked or expired link is refused at once by every
process. A link reaches only what it shares: ``record`` refuses any other key, and the current
version is the only one served.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable

from werkzeug.security import check_password_hash, generate_password_hash

from ..core.blobs import ORIGINAL, CachedBlob, Redirect
from ..core.cursors import CursorCodec
from ..core.errors import InvalidParameter, NotFound
from ..core.keys import validate_key
from ..metadata.base import SHARE_KINDS, ImageRecord, Share
from .catalog import Catalog
from .folders import folder_path
from .images import Images
from .media import Media

TOKEN_BYTES = 32  # secrets.token_urlsafe: 43 characters
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{40,64}")
EXPIRES_IN = (60, 5 * 366 * 86400)  # seconds: a minute to five years
MAX_PASSWORD = 200
MAX_ALBUM_ID = 64
GONE = "This share link does not exist, was revoked or has expired."


class ShareNotFound(NotFound):
    """No share link with this token (never made, revoked or expired)."""


class AlbumsUnavailable(InvalidParameter):
    """Album links need albums, which this version does not have yet."""


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def share_id(digest: str) -> str:
    """A link's id: the first half of its token's digest (one read finds it; it opens nothing)."""
    return digest[:32]


class Shares:
    def __init__(
        self,
        images: Images,
        catalog: Catalog,
        media: Media,
        cursors: CursorCodec,
        page_size: int,
        clock: Callable[[], float] = time.time,
        albums=None,
    ):
        self.images = images
        self.metadata = images.metadata
        self.catalog = catalog
        self.media = media
        self.cursors = cursors
        self.page_size = page_size
        self.clock = clock
        self.albums = albums  # app.services.albums.Albums once albums exist

    # -- the owner's side --------------------------------------------------------------------
    def create(
        self,
        kind: str,
        target: str,
        expires_in: float | None = None,
        password: str = "",
        allow_download: bool = False,
    ) -> tuple[Share, str]:
        """Make a link; returns it and its token (shown once: only its digest is kept)."""
        target = self._check_target(kind, target)
        if expires_in is not None and not EXPIRES_IN[0] <= expires_in <= EXPIRES_IN[1]:
            raise InvalidParameter(f"expires_in must be from {EXPIRES_IN[0]} to {EXPIRES_IN[1]} seconds.")
        if len(password) > MAX_PASSWORD:
            raise InvalidParameter(f"The password may have at most {MAX_PASSWORD} characters.")
        token = secrets.token_urlsafe(TOKEN_BYTES)
        digest, now = token_digest(token), self.clock()
        share = Share(
            id=share_id(digest),
            token_sha256=digest,
            kind=kind,
            target=target,
            created_at=now,
            expires_at=now + expires_in if expires_in is not None else None,
            password_hash=generate_password_hash(password) if password else "",
            allow_download=bool(allow_download),
        )
        self.metadata.put_share(share)
        return share, token

    def _check_target(self, kind: str, target: str) -> str:
        if kind == "key":
            return self.images.get_record(target).key  # 404 unless the photo exists
        if kind == "prefix":
            folder = folder_path(target)
            if not folder:
                raise InvalidParameter("Share a folder (e.g. 'trips/'), not the whole library.")
            if self.metadata.get_folder(folder) is None:
                raise NotFound(f"There is no photo in the folder {folder!r}.")
            return folder
        if kind == "album":
            if self.albums is None:
                raise AlbumsUnavailable("Albums are not available yet, so an album cannot be shared.")
            self.albums.get(str(target))  # NotFound unless it exists
            return str(target)
        raise InvalidParameter(f"A share is of one of {', '.join(SHARE_KINDS)}.")

    def list(self) -> list[Share]:
        return self.metadata.shares()

    def revoke(self, share_id_: str) -> None:
        if not self.metadata.delete_share(str(share_id_)):
            raise NotFound(f"There is no share link {share_id_!r}.")

    # -- the visitor's side ------------------------------------------------------------------
    def open(self, token: str) -> Share:
        """The live link behind ``token``: ``ShareNotFound`` (404) if unknown, revoked or expired."""
        if not isinstance(token, str) or not TOKEN_SHAPE.fullmatch(token):
            raise ShareNotFound(GONE)
        digest = token_digest(token)
        share = self.metadata.get_share(share_id(digest))
        if share is None or not hmac.compare_digest(share.token_sha256, digest):
            raise ShareNotFound(GONE)
        if share.expires_at is not None and share.expires_at <= self.clock():
            raise ShareNotFound(GONE)
        return share

    @staticmethod
    def password_matches(share: Share, password: str) -> bool:
        return bool(share.password_hash) and check_password_hash(share.password_hash, password[:MAX_PASSWORD])

    def viewed(self, share: Share) -> None:
        self.metadata.share_used(share.id, self.clock())

    def photos(self, share: Share, cursor: str | None = None, limit: int | None = None):
        """One page of what the link shares, latest taken first, and the cursor of the next."""
        limit = limit or self.page_size
        if share.kind == "key":
            record = self.images.get_record_or_none(share.target)
            return ([record] if record else []), None
        if share.kind == "prefix":
            return self.catalog.list(prefix=share.target, limit=limit, cursor=cursor, sort="taken")
        return self._album(share).images(share.target, limit, cursor, "taken")

    def record(self, share: Share, key: str) -> ImageRecord:
        """The current record of ``key`` when the link shares it; a 404 for any other key."""
        key = validate_key(key)
        if not self._covers(share, key):
            raise NotFound(f"There is no image with the key {key!r} here.")
        return self.images.get_record(key)

    def media_for(self, share: Share, variant: str, key: str) -> tuple[ImageRecord, CachedBlob | Redirect]:
        """The bytes of a shared photo's current version: renditions always, the original only when
        the link allows downloads."""
        if variant == ORIGINAL and not share.allow_download:
            raise NotFound("This link does not allow downloading originals.")
        record = self.record(share, key)
        return record, self.media.serve(variant, record.key, hint=record.version, download=variant == ORIGINAL)

    def _covers(self, share: Share, key: str) -> bool:
        if share.kind == "key":
            return key == share.target
        if share.kind == "prefix":
            return key.startswith(share.target)
        return self._album(share).contains(share.target, key)

    def _album(self, share: Share):
        if self.albums is None:
            raise ShareNotFound(GONE)
        return self.albums
