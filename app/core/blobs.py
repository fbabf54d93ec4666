"""Where an image's bytes live and how a served copy is named: variants, blob names, cache keys.

Every upload writes its bytes under fresh, per-version blob names, so a name never changes
meaning; cache entries are named by version for the same reason (see ``version_cache_key``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import packing
from .errors import NotFound

if TYPE_CHECKING:
    from ..metadata.base import ImageRecord

ORIGINAL = "originals"
THUMB = "thumbs"
THUMB2X = "thumbs2x"  # the thumbnail at twice the size, for 2x screens
DISPLAY = "display"  # what pages show instead of the original (GALLERY_DISPLAY_SIZE)
# Twice the display size, made on demand the first time the viewer zooms past the display
# rendition (see services.media): most photos are never zoomed, so most never need one.
LARGE = "large"
LARGE_CONTENT_TYPE = "image/webp"
VARIANTS = (ORIGINAL, THUMB, THUMB2X, DISPLAY)  # written with every upload
ALL_VARIANTS = (*VARIANTS, LARGE)  # what removing a version removes
RENDITIONS = (THUMB2X, DISPLAY)  # made at upload, or by ``gallery renditions`` for older images
# Uploads wait here: direct browser uploads until committed, and uploads whose key is taken until
# their owner answers. The bucket's lifecycle rule (S3) or a sweep (local) expires what is left.
STAGING_PREFIX = "uploads/"
STAGING_DAYS = 1


@dataclass
class CachedBlob:
    """What the cache holds for one version of a served blob: enough to answer without the stores."""

    content_type: str
    etag: str
    version: str
    data: bytes
    key: str = ""  # the image it was read for: a version is served under its own image's key only

    def pack(self) -> bytes:
        return packing.pack([self.content_type, self.etag, self.version, self.key], self.data)

    @classmethod
    def unpack(cls, raw: bytes) -> CachedBlob:
        (content_type, etag, version, *key), data = packing.unpack(raw)
        return cls(content_type, etag, version, data, *key[:1])


REDIRECT_MAX_AGE = 60  # seconds a redirect to a presigned URL may be reused


@dataclass
class Redirect:
    """Where a client fetches bytes that do not pass through the app: a short-lived presigned URL."""

    url: str
    max_age: int = REDIRECT_MAX_AGE


def blob_name(variant: str, record: ImageRecord) -> str:
    return f"{variant}/{record.blob_key or record.key}/{record.version}"


def served_as(variant: str, record: ImageRecord) -> tuple[str, str]:
    """The content type and ETag of a record's variant; NotFound for a rendition it does not have yet."""
    if variant in RENDITIONS and not record.has_renditions:
        raise NotFound(
            f"The image {record.key!r} has no {variant} rendition yet (`flask gallery renditions` makes it)."
        )
    if variant == ORIGINAL:
        return record.content_type, record.sha256
    if variant == DISPLAY:
        return record.display_content_type, f"display-{record.sha256}"
    if variant == LARGE:
        return LARGE_CONTENT_TYPE, f"large-{record.sha256}"
    return record.thumb_content_type, f"{'thumb' if variant == THUMB else 'thumb2x'}-{record.sha256}"


def version_cache_key(variant: str, version: str) -> str:
    """Cache entries are named by the version: its bytes never change, so an entry can never be
    stale, whatever invalidations were lost, in whichever process or memcached node it lives."""
    return f"{variant}@{version}"
