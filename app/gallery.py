"""The gallery service: the one place that coordinates blob storage, metadata and the cache.

Write order prevents half-images: every upload writes its bytes under fresh, per-upload
blob names first, then the metadata (which makes them visible), then drops the replaced
version's blobs and cache entries. Delete removes metadata first. A crash at any point can
leave unreferenced blobs behind, never a record whose bytes are missing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass

from . import images, processing
from .cache.base import Cache
from .config import Settings
from .errors import GalleryError, InvalidParameter, NotAnImage, NotFound, TooLarge
from .keys import validate_key, validate_prefix
from .metadata.base import ImageRecord, MetadataStore
from .recognition.base import Detector
from .recognition.shape import DEFAULT_MIN_CONFIDENCE, MAX_MAX_LABELS, check_options, label_names, select
from .storage.base import BlobStore
from .units import format_mb, megabytes

log = logging.getLogger(__name__)

ORIGINAL = "originals"
THUMB = "thumbs"
# Direct browser uploads land here first; the store expires what is never committed.
STAGING_PREFIX = "uploads/"
DIRECT_UPLOAD_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/tiff"})
UPLOAD_ID = re.compile(r"[0-9a-f]{32}")
PRESIGN_SECONDS = 900
NO_DIRECT_UPLOAD = "Direct uploads need S3 storage; post the file to /api/images instead."


@dataclass
class CachedBlob:
    """What the cache holds for one served blob: enough to answer without the metadata store."""

    content_type: str
    etag: str
    version: str
    data: bytes

    def pack(self) -> bytes:
        head = json.dumps([self.content_type, self.etag, self.version]).encode()
        return len(head).to_bytes(4, "big") + head + self.data

    @classmethod
    def unpack(cls, raw: bytes) -> CachedBlob:
        size = int.from_bytes(raw[:4], "big")
        content_type, etag, version = json.loads(raw[4 : 4 + size])
        return cls(content_type, etag, version, raw[4 + size :])


@dataclass
class Preview:
    """What a page shows of an image that is not stored: a small upright WebP and the image's own size."""

    webp: bytes
    width: int
    height: int
    bytes: int

    @property
    def url(self) -> str:
        return images.data_url(images.THUMB_CONTENT_TYPE, self.webp)


def blob_name(variant: str, record: ImageRecord) -> str:
    return f"{variant}/{record.key}/{record.version}"


def cache_key(variant: str, key: str) -> str:
    return f"{variant}:{key}"


class Gallery:
    def __init__(self, blobs: BlobStore, metadata: MetadataStore, cache: Cache, detector: Detector, settings: Settings):
        self.blobs = blobs
        self.metadata = metadata
        self.cache = cache
        self.detector = detector
        self.settings = settings

    # -- writes ---------------------------------------------------------------------------
    def upload(self, key: str, data: bytes, provenance: dict | None = None) -> tuple[ImageRecord, bool]:
        """Validate and store an image; returns the record and whether it replaced one."""
        key = validate_key(key)
        images.check_size(data, self.settings.max_upload_bytes)
        analysed = images.analyse(
            data,
            max_pixels=self.settings.max_pixels,
            thumb_size=self.settings.thumb_size,
            max_frames=self.settings.max_frames,
        )
        now = time.time()
        record = ImageRecord(
            key=key,
            content_type=analysed.content_type,
            bytes=len(data),
            width=analysed.width,
            height=analysed.height,
            sha256=analysed.sha256,
            created_at=now,
            updated_at=now,
            version=uuid.uuid4().hex,
            thumb_content_type=images.THUMB_CONTENT_TYPE,
            thumb_width=analysed.thumb_width,
            thumb_height=analysed.thumb_height,
            provenance=provenance,
        )
        if self.settings.label_on_upload:
            record.labels = self.labels_for_upload(data)
        existing = self.metadata.get(key)
        if existing is not None:
            record.created_at = existing.created_at
        self.blobs.put(blob_name(ORIGINAL, record), data, record.content_type)
        try:
            self.blobs.put(blob_name(THUMB, record), analysed.thumbnail, record.thumb_content_type)
            previous = self.metadata.put(record)
        except BaseException:
            self._remove_blobs(record)  # nothing points at them yet
            raise
        if previous is not None:
            self._forget(previous)
        return record, previous is not None

    def delete(self, key: str) -> ImageRecord:
        record = self.metadata.delete(validate_key(key))
        if record is None:
            raise NotFound(f"There is no image with the key {key!r}.")
        self._forget(record)
        return record

    def _forget(self, record: ImageRecord) -> None:
        """Drop a replaced or deleted version: cache entries first, then its blobs."""
        self.invalidate(record.key)
        self._remove_blobs(record)

    def _remove_blobs(self, record: ImageRecord) -> None:
        for variant in (ORIGINAL, THUMB):
            self.blobs.delete(blob_name(variant, record))

    def invalidate(self, key: str) -> None:
        for variant in (ORIGINAL, THUMB):
            self.cache.delete(cache_key(variant, key))

    # -- reads ----------------------------------------------------------------------------
    def get_record(self, key: str) -> ImageRecord:
        record = self.metadata.get(validate_key(key))
        if record is None:
            raise NotFound(f"There is no image with the key {key!r}.")
        return record

    def get_original(self, key: str) -> CachedBlob:
        return self.read(ORIGINAL, key)

    def read(self, variant: str, key: str) -> CachedBlob:
        """Read-through: the cache answers a hit alone; a miss reads metadata and blob."""
        ckey = cache_key(variant, key)
        raw = self.cache.get(ckey)
        if raw is not None:
            return CachedBlob.unpack(raw)
        record = self.get_record(key)
        try:
            data = self.blobs.get(blob_name(variant, record))
        except NotFound:
            # Replaced between our metadata read and blob read: the new version is complete.
            record = self.get_record(key)
            data = self.blobs.get(blob_name(variant, record))
        content_type = record.content_type if variant == ORIGINAL else record.thumb_content_type
        etag = record.sha256 if variant == ORIGINAL else f"thumb-{record.sha256}"
        blob = CachedBlob(content_type, etag, record.version, data)
        self.cache.set(ckey, blob.pack())
        # A writer may have replaced the image and invalidated the cache between our metadata
        # read and our set; check again so an old version cannot outlive that invalidation.
        current = self.metadata.get(key)
        if current is None or current.version != record.version:
            self.cache.delete(ckey)
        return blob

    def list(self, prefix: str = "", label: str = "", limit: int | None = None, cursor: str | None = None):
        limit = limit or self.settings.page_size
        return self.metadata.list(
            prefix=validate_prefix(prefix), label=label.strip().lower(), limit=limit, cursor=cursor
        )

    def suggest(self, prefix: str, limit: int = 10) -> list[str]:
        return self.metadata.suggest(validate_prefix(prefix), limit)

    def labels(self) -> list[tuple[str, int]]:
        """Every label with its number of images, in label order (the gallery's filter list)."""
        return self.metadata.all_labels()

    def describe_upload(self, data: bytes) -> Preview:
        """An image that is not stored (an upload, an unsaved result) as a page shows it: its upright
        size and a preview of at most 1024 px, from one decode."""
        webp, width, height = images.preview(data, self.settings.max_pixels)
        return Preview(webp, width, height, len(data))

    # -- recognition ----------------------------------------------------------------------
    @property
    def detector_name(self) -> str:
        return self.detector.name

    @property
    def detector_model(self) -> str:
        return self.detector.model

    def recognize(self, key: str | None = None, data: bytes | None = None, min_confidence=None, max_labels=None):
        """Detect objects in uploaded ``data`` or in the gallery image ``key``. For a gallery image the
        label names at the default confidence (whatever the caller asked for) go into its metadata."""
        min_confidence, max_labels = check_options(min_confidence, max_labels)
        if (key is None) == (data is None):
            raise InvalidParameter("Give either an image file or the key of a gallery image.")
        if data is not None:
            images.check_size(data, self.settings.max_upload_bytes)
            return self.detector.detect(data, min_confidence, max_labels)
        record = self.get_record(key)
        floor = min(min_confidence, DEFAULT_MIN_CONFIDENCE)
        ref = self.blobs.external_ref(blob_name(ORIGINAL, record))
        if ref is not None and self.detector.can_read(ref, record.content_type, record.bytes):
            # The detector reads the stored object itself; its bytes never pass through us.
            result, version = self.detector.detect_stored(ref, floor, MAX_MAX_LABELS), record.version
        else:
            blob = self.get_original(record.key)
            result, version = self.detector.detect(blob.data, floor, MAX_MAX_LABELS), blob.version
        stored = label_names(select(result, DEFAULT_MIN_CONFIDENCE, MAX_MAX_LABELS))
        self.metadata.set_labels(record.key, stored, version=version)  # not if replaced meanwhile
        return select(result, min_confidence, max_labels)

    def labels_for_upload(self, data: bytes) -> list[str]:
        """Label names for a new upload (GALLERY_LABEL_ON_UPLOAD). A detector failure must not lose
        the upload, so it is logged and the image is stored without labels."""
        try:
            return label_names(self.detector.detect(data, DEFAULT_MIN_CONFIDENCE, MAX_MAX_LABELS))
        except GalleryError as exc:
            log.warning("Labelling the upload failed: %s", exc.message)
            return []

    # -- processing -----------------------------------------------------------------------
    def process(self, ops, key=None, data=None, fmt=None, quality=None, save_as=None):
        """Run a processing pipeline on uploaded ``data`` or the gallery image ``key``. Results are
        cached under (source sha256, normalised ops, format, quality); with ``save_as`` the result is
        stored with its provenance. Everything is validated before any pixel is touched.
        Returns ``(Rendered, record or None, replaced)``."""
        steps = processing.normalize_ops(ops)
        fmt, quality = processing.normalize_output(fmt, quality)
        save_as = None if save_as is None else validate_key(save_as)
        if (key is None) == (data is None):
            raise InvalidParameter("Give either an image file or the key of a gallery image.")
        if data is not None:
            images.check_size(data, self.settings.max_upload_bytes)
            source_sha256 = hashlib.sha256(data).hexdigest()
        else:  # the record's hash names the result, so a cache hit never reads the source bytes
            source_sha256 = self.get_record(key).sha256
        ckey = processing.result_cache_key(source_sha256, steps, fmt, quality)
        raw = self.cache.get(ckey)
        if raw is not None:
            rendered = processing.Rendered.unpack(raw)
        else:
            if data is None:
                blob = self.get_original(key)
                if blob.etag != source_sha256:  # replaced meanwhile: name the result after what we read
                    source_sha256 = blob.etag  # an original's etag is its sha256
                    ckey = processing.result_cache_key(source_sha256, steps, fmt, quality)
                data = blob.data
            result = processing.run(data, steps, fmt, quality, max_pixels=self.settings.max_pixels)
            rendered = processing.Rendered.of(result)
            self.cache.set(ckey, rendered.pack())
        if save_as is None:
            return rendered, None, False
        provenance = {"source_key": key, "source_sha256": source_sha256, "ops": steps}
        record, replaced = self.upload(save_as, rendered.data, provenance=provenance)
        return rendered, record, replaced

    # -- direct browser uploads (S3) ------------------------------------------------------
    @property
    def supports_direct_upload(self) -> bool:
        return self.blobs.supports_direct_upload

    def direct_upload_origin(self) -> str | None:
        """Where browsers post direct uploads (the upload page lets its script connect there)."""
        return self.blobs.direct_upload_origin()

    def start_direct_upload(self, key, content_type, size) -> dict:
        """Check an upload before any byte is sent and grant a form that stores the file under a
        fresh staging name; the store itself enforces the size range and content type."""
        if not self.supports_direct_upload:
            raise InvalidParameter(NO_DIRECT_UPLOAD)
        key = validate_key(key)
        if content_type not in DIRECT_UPLOAD_TYPES:
            raise NotAnImage("Only JPEG, PNG, GIF, WebP, BMP or TIFF files can be uploaded.")
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise InvalidParameter("bytes must be the file's size, a whole number above 0.")
        self._check_direct_size(size)
        upload_id = uuid.uuid4().hex
        limit = self.settings.max_upload_bytes
        form = self.blobs.direct_upload_form(STAGING_PREFIX + upload_id, content_type, limit, PRESIGN_SECONDS)
        return {
            "upload_id": upload_id,
            "key": key,
            "url": form["url"],
            "fields": form["fields"],
            "max_bytes": limit,
            "expires_in": PRESIGN_SECONDS,
        }

    def commit_direct_upload(self, upload_id: str, key) -> tuple[ImageRecord, bool]:
        """Store a staged upload under ``key`` like any upload (same decoding, limits and write
        order); the staging object goes whether the image was accepted or not."""
        if not self.supports_direct_upload:
            raise InvalidParameter(NO_DIRECT_UPLOAD)
        if not UPLOAD_ID.fullmatch(upload_id):
            raise InvalidParameter("The upload id is not valid.")
        key, name = validate_key(key), STAGING_PREFIX + upload_id
        try:
            size = self.blobs.size(name)
        except NotFound:
            raise NotFound("No upload with this id: it was never sent, was already committed, or expired.") from None
        try:
            self._check_direct_size(size)
            return self.upload(key, self.blobs.get(name))
        finally:
            self.blobs.delete(name)

    def _check_direct_size(self, size: int) -> None:
        if size > self.settings.max_upload_bytes:
            raise TooLarge(
                f"The file is {format_mb(size)}; at most {format_mb(self.settings.max_upload_bytes)} is accepted."
            )

    # -- cache ------------------------------------------------------------------------------
    def cache_stats(self) -> dict:
        return self.cache.stats()

    def clear_cache(self) -> None:
        self.cache.clear()

    def reset_cache_stats(self) -> None:
        self.cache.reset_stats()

    def configure_cache(self, capacity_mb, policy) -> None:
        """Resize the cache and set its replacement policy (where the app owns them, see ``Cache.configure``)."""
        try:
            capacity_mb = float(capacity_mb)
        except (TypeError, ValueError):
            raise InvalidParameter("Capacity must be a number of MB from 1 to 16384.") from None
        if not 1 <= capacity_mb <= 16384:
            raise InvalidParameter(f"Capacity must be from 1 to 16384 MB; got {capacity_mb:g}.")
        self.cache.configure(capacity_bytes=megabytes(capacity_mb), policy=policy)

    # -- set-up -----------------------------------------------------------------------------
    def provision(self) -> list[str]:
        """Create what the backends need (``flask gallery init``), idempotently; say what was done."""
        return self.blobs.provision(STAGING_PREFIX) + self.metadata.provision() + self.cache.provision()
