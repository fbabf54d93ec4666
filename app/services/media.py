"""Serving image bytes: originals, thumbnails and display renditions through the read-through
cache, large originals by a redirect to the store itself; and pages' previews of unstored images.

The *large* rendition (twice the display size, for the viewer's zoom) is made the first time it
is asked for, through the one door for costly work, and then stored under its version like the
others: later requests read it through the cache.

On S3, an original larger than GALLERY_REDIRECT_OVER_MB is answered with a redirect to a
short-lived presigned URL of the object: API Gateway and Lambda carry at most 6 MB.
"""

from __future__ import annotations

import hashlib

from ..config import Settings
from ..core.blobs import LARGE, LARGE_CONTENT_TYPE, ORIGINAL, STAGING_PREFIX, CachedBlob, Redirect, blob_name
from ..core.errors import NotFound
from ..metadata.base import ImageRecord
from .images import Images
from .imagework import ImageWork, Preview

# Large originals and results are fetched from the store itself through URLs this short-lived.
PRESIGN_GET_SECONDS = 300


class Media:
    def __init__(self, images: Images, work: ImageWork, settings: Settings):
        self.images = images
        self.blobs = images.blobs
        self.work = work
        self.settings = settings

    def serve(
        self,
        variant: str,
        key: str,
        version: str | None = None,
        download: bool = False,
        hint: str | None = None,
        deleted: bool = False,
    ) -> CachedBlob | Redirect:
        """What ``GET /images/<key>`` answers: a ``CachedBlob`` through the cache, or a ``Redirect``
        for an original over GALLERY_REDIRECT_OVER_MB on a store that presigns URLs (S3);
        ``download`` names the file. ``version`` asks for that exact version (``?version=``);
        ``hint`` is the version a ``?v=`` URL names, which a cached entry answers alone. ``deleted``
        lets ``version`` name a version of an image in the trash (the admin's view)."""
        presigns = variant == ORIGINAL and self.blobs.supports_download_url
        limit = self.settings.redirect_over_bytes if presigns else None

        def read():
            if version is not None:
                return self.images.read_version(variant, key, version, limit, deleted)
            return self.images.read(variant, key, hint, limit)

        try:
            found = read()
        except NotFound:
            if variant != LARGE:
                raise
            # Not made yet (or the image is gone: then finding its record raises the 404).
            self.make_large(self._wanted(key, version, hint, deleted))
            found = read()
        if isinstance(found, CachedBlob):
            return found
        filename = found.key.rsplit("/", 1)[-1] if download else None
        url = self.blobs.download_url(blob_name(variant, found), PRESIGN_GET_SECONDS, found.content_type, filename)
        return Redirect(url)

    def _wanted(self, key: str, version: str | None, hint: str | None, deleted: bool) -> ImageRecord:
        """The version ``read`` serves for these arguments: the one named, else the current one
        (``NotFound`` for a deleted image, unless ``deleted``: the admin's view)."""
        current = None if deleted else self.images.get_record(key)
        if version is not None:
            return self.images.get_version(key, version)
        current = current or self.images.get_record(key)
        if hint and hint != current.version:
            return self.images.metadata.get_version(current.key, hint) or current
        return current

    def make_large(self, record: ImageRecord) -> None:
        """Make and store a version's large rendition from its original (read past the cache:
        a 24 MP original would push everything else out of it)."""
        data = self.blobs.get(blob_name(ORIGINAL, record))
        name = blob_name(LARGE, record)
        self.blobs.put(name, self.work.large_rendition(data), LARGE_CONTENT_TYPE)
        # Purged meanwhile: nothing points at the rendition any more, so it must not stay behind.
        if self.images.metadata.get_version(record.key, record.version) is None:
            self.blobs.delete(name)

    def download_origin(self) -> str | None:
        """Where clients fetch what ``serve`` and ``result_url`` redirect to (the pages' CSP allows it)."""
        return self.blobs.download_origin() if self.settings.redirect_over_bytes is not None else None

    def describe_upload(self, data: bytes) -> Preview:
        """An image that is not stored as a page shows it (see ``ImageWork.describe``)."""
        return self.work.describe(data)

    def result_url(self, data: bytes, content_type: str) -> str | None:
        """For a processing result over GALLERY_REDIRECT_OVER_MB on a store that presigns URLs: the bytes
        staged and a short-lived URL to fetch them (an answer that large cannot leave Lambda); else None."""
        limit = self.settings.redirect_over_bytes
        if not self.blobs.supports_download_url or limit is None or len(data) <= limit:
            return None
        name = f"{STAGING_PREFIX}result-{hashlib.sha256(data).hexdigest()}"
        self.blobs.put(name, data, content_type)
        return self.blobs.download_url(name, PRESIGN_GET_SECONDS, content_type)
