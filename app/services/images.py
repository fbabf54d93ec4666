"""The core every service reads through: current records, versions and their bytes via the cache.

Cache entries are named by version, so nothing needs invalidating when an image is replaced: a
reader asks for the version the metadata (or the URL) names, and an old entry is never it.
"""

from __future__ import annotations

import contextlib

from ..cache.base import Cache
from ..core.blobs import ALL_VARIANTS, ORIGINAL, CachedBlob, blob_name, served_as, version_cache_key
from ..core.errors import NotFound
from ..core.keys import validate_key
from ..metadata.base import ImageRecord, MetadataStore
from ..storage.base import BlobStore


class Images:
    def __init__(self, blobs: BlobStore, metadata: MetadataStore, cache: Cache):
        self.blobs = blobs
        self.metadata = metadata
        self.cache = cache

    # -- records ----------------------------------------------------------------------------
    def get_record(self, key: str) -> ImageRecord:
        record = self.metadata.get(validate_key(key))
        if record is None:
            raise NotFound(f"There is no image with the key {key!r}.")
        return record

    def get_record_or_none(self, key: str) -> ImageRecord | None:
        return self.metadata.get(validate_key(key))

    def get_version(self, key: str, version: str) -> ImageRecord:
        record = self.metadata.get_version(validate_key(key), str(version))
        if record is None:
            raise NotFound(f"The image {key!r} has no version {version!r}.")
        return record

    # -- bytes ------------------------------------------------------------------------------
    def get_original(self, key: str) -> CachedBlob:
        return self.read(ORIGINAL, key)

    def read(
        self, variant: str, key: str, version: str | None = None, redirect_over: int | None = None
    ) -> CachedBlob | ImageRecord:
        """An image's bytes through the cache, whose entries are named by version.

        With ``version`` (a ``?v=`` URL) a cached entry answers alone, without the metadata store:
        that version's bytes never change. A version that is not this image's (or no longer kept)
        falls back to the current one, and a deleted image's versions are not served (deleting
        unpublishes). Otherwise the metadata store says which version is current (one read), so
        an overwrite by any process is seen at once. With ``redirect_over``, a record larger than
        that is returned instead of its bytes (the caller redirects)."""
        if version:
            blob = self._cached(variant, key, version, redirect_over)
            if blob is not None:
                return blob
        record = self.get_record(key)  # a deleted image's old URLs are a 404: deleting unpublishes
        if version and version != record.version:
            earlier = self.metadata.get_version(record.key, str(version))
            if earlier is not None:
                if redirect_over is not None and earlier.bytes > redirect_over:
                    return earlier
                with contextlib.suppress(NotFound):  # removed meanwhile: answer the current one
                    return self._load(variant, earlier, key)
        if redirect_over is not None and record.bytes > redirect_over:
            return record
        blob = self._cached(variant, key, record.version)
        if blob is not None:
            return blob
        try:
            return self._load(variant, record, key)
        except NotFound:
            # Replaced (and removed) between our metadata read and blob read: the new version is complete.
            return self._load(variant, self.get_record(key), key)

    def read_version(
        self, variant: str, key: str, version: str, redirect_over: int | None = None, deleted: bool = False
    ) -> CachedBlob | ImageRecord:
        """A given version's bytes (current or history; with ``deleted``, also of an image in the
        trash: the admin's view); ``redirect_over`` as for ``read``."""
        if not deleted:
            self.get_record(key)  # NotFound once deleted
        blob = self._cached(variant, key, version, redirect_over)
        if blob is not None:
            return blob
        record = self.get_version(key, version)
        if redirect_over is not None and record.bytes > redirect_over:
            return record
        return self._load(variant, record, key)

    def _cached(self, variant: str, key: str, version: str, redirect_over: int | None = None) -> CachedBlob | None:
        raw = self.cache.get(version_cache_key(variant, version))
        if raw is None:
            return None
        blob = CachedBlob.unpack(raw)
        if redirect_over is not None and len(blob.data) > redirect_over:
            return None  # served by a redirect instead
        return blob if blob.key == key else None  # the key it was read for (and validated) then

    def _load(self, variant: str, record: ImageRecord, key: str) -> CachedBlob:
        """Read a version's bytes from the store and cache them under the version's name."""
        content_type, etag = served_as(variant, record)  # a rendition not made yet is a clean 404
        data = self.blobs.get(blob_name(variant, record))
        blob = CachedBlob(content_type, etag, record.version, data, key)
        ckey = version_cache_key(variant, record.version)
        self.cache.set(ckey, blob.pack())
        # A purge may have removed this version (and its entry) since we read its record: then
        # drop what was just cached, so a version removed for good is not served from memory.
        if self.metadata.get_version(key, record.version) is None:
            self.cache.delete(ckey)
        return blob

    # -- removal ----------------------------------------------------------------------------
    def remove_blobs(self, record: ImageRecord) -> None:
        """Remove a version's bytes for good (only once no record points at them)."""
        self.forget(record)
        for variant in ALL_VARIANTS:
            self.blobs.delete(blob_name(variant, record))

    def forget(self, record: ImageRecord) -> None:
        """Drop a version's cache entries. Never needed against staleness (an entry named by its
        version cannot be stale): a removed version should not stay readable from memory, and a
        deleted image is rarely read again."""
        for variant in ALL_VARIANTS:
            self.cache.delete(version_cache_key(variant, record.version))
