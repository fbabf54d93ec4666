"""The gallery service: the one place that coordinates blob storage, metadata and the cache.

Write order prevents half-images: every upload writes its bytes under fresh, per-upload
blob names first, then the metadata (which makes them visible), then drops cache entries.
Blobs are removed only after the metadata that pointed at them is gone. A crash at any point
can leave unreferenced blobs behind, never a record whose bytes are missing.

Nothing is lost silently: a replaced version joins the image's history and a deleted image
goes to the trash, both for ``GALLERY_RETENTION_DAYS``; ``purge`` then removes them for good.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass

from . import formats, images, packing, processing, search
from .cache.base import Cache
from .config import Settings
from .cursors import CursorCodec
from .errors import GalleryError, InvalidParameter, NotAnImage, NotFound, TooLarge
from .health import HealthChecks
from .keys import MAX_KEY_LENGTH, validate_key, validate_prefix
from .metadata.base import Conflict, ImageRecord, MetadataStore, Retired
from .recognition.base import Detector
from .recognition.shape import DEFAULT_MIN_CONFIDENCE, MAX_MAX_LABELS, check_options, label_names, select
from .storage.base import BlobStore
from .units import format_mb, megabytes

log = logging.getLogger(__name__)

ORIGINAL = "originals"
THUMB = "thumbs"
ON_CONFLICT = ("replace", "rename", "fail")
# Uploads wait here: direct browser uploads until committed, and uploads whose key is taken until
# their owner answers. The bucket's lifecycle rule (S3) or a sweep (local) expires what is left.
STAGING_PREFIX = "uploads/"
STAGING_DAYS = 1
DAY = 86400
PURGE_EVERY = 600  # seconds between opportunistic purges in one process
DIRECT_UPLOAD_TYPES = frozenset(formats.MIME_TYPES)
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
        return packing.pack([self.content_type, self.etag, self.version], self.data)

    @classmethod
    def unpack(cls, raw: bytes) -> CachedBlob:
        (content_type, etag, version), data = packing.unpack(raw)
        return cls(content_type, etag, version, data)


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
    return f"{variant}/{record.blob_key or record.key}/{record.version}"


def cache_key(variant: str, key: str) -> str:
    return f"{variant}:{key}"


def version_cache_key(variant: str, version: str) -> str:
    """A version's bytes never change, so an entry named by the version can never be stale."""
    return f"{variant}@{version}"


def check_on_conflict(value: str | None) -> str:
    value = value or "replace"
    if value not in ON_CONFLICT:
        raise InvalidParameter(f"on_conflict must be one of {', '.join(ON_CONFLICT)}; got {value!r}.")
    return value


def numbered_key(key: str, n: int) -> str:
    """``photos/IMG_0001.jpg`` → ``photos/IMG_0001-<n>.jpg`` (the n-th name for "keep both")."""
    folder, _, name = key.rpartition("/")
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    suffix = f"-{n}" + (f".{ext}" if ext else "")
    base = (folder + "/" if folder else "") + stem
    return base[: MAX_KEY_LENGTH - len(suffix)] + suffix


@dataclass
class Freed:
    """What a purge or an emptied trash removed for good."""

    versions: int = 0
    bytes: int = 0


class Gallery:
    def __init__(
        self,
        blobs: BlobStore,
        metadata: MetadataStore,
        cache: Cache,
        detector: Detector,
        settings: Settings,
        secret: str = "",
        clock=time.time,
    ):
        self.blobs = blobs
        self.metadata = metadata
        self.cache = cache
        self.detector = detector
        self.settings = settings
        self.cursors = CursorCodec(secret or settings.secret_key or "gallery")  # the app passes its secret
        self.clock = clock  # "now" for retention and purge (tests move it)
        self._purge_lock = threading.Lock()
        self._last_purge = 0.0
        self._health = HealthChecks(
            {
                "storage": lambda: self.blobs.check(),
                "metadata": lambda: self.metadata.check(),
                "cache": lambda: self.cache.check(),
            }
        )
        self._health = HealthChecks(
            {
                "storage": lambda: self.blobs.check(),
                "metadata": lambda: self.metadata.check(),
                "cache": lambda: self.cache.check(),
            }
        )

    def health(self) -> dict:
        """Each backend's state, answered within about half a second even when one hangs (see app.health)."""
        return self._health.report()

    # -- retention ------------------------------------------------------------------------
    @property
    def retention_days(self) -> float:
        return float(self.settings.retention_days)

    def keep_until(self) -> float | None:
        """Until when replaced and deleted versions are kept; None: not at all."""
        days = self.retention_days
        return self.clock() + days * DAY if days > 0 else None

    # -- writes ---------------------------------------------------------------------------
    def upload(
        self, key: str, data: bytes, provenance: dict | None = None, on_conflict: str | None = None, batch: str = ""
    ) -> tuple[ImageRecord, bool]:
        """Validate and store an image; returns the record and whether it replaced one.

        ``on_conflict`` says what happens when the key is taken: ``replace`` (the old image joins
        the history), ``rename`` (stored under ``<name>-2.<ext>``, ``-3``...) or ``fail`` (``Conflict``).
        ``batch`` names the upload batch it belongs to (``list(batch=...)`` shows that batch)."""
        key = validate_key(key)
        on_conflict = check_on_conflict(on_conflict)
        batch = search.check_batch(batch)
        images.check_size(data, self.settings.max_upload_bytes)
        analysed = self.validate(data)
        requested = key
        if on_conflict == "rename":
            key = self.free_key(key)
        elif on_conflict == "fail" and self.metadata.get(key) is not None:
            raise Conflict(f"There is already an image with the key {key!r}.")  # before any byte is written
        now = self.clock()
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
            batch=batch,
        )
        if self.settings.label_on_upload:
            labels = self.labels_for_upload(data)
            record.labels, record.labelled = labels or [], labels is not None
        self.blobs.put(blob_name(ORIGINAL, record), data, record.content_type)
        try:
            self.blobs.put(blob_name(THUMB, record), analysed.thumbnail, record.thumb_content_type)
            previous = self._put(record, on_conflict, requested)
        except BaseException:
            self._remove_blobs(record)  # nothing points at them yet
            raise
        self.invalidate(record.key)
        if previous is not None and self.keep_until() is None:
            self._remove_blobs(previous)
        self.maybe_purge()
        return record, previous is not None

    def validate(self, data: bytes) -> images.AnalysedImage:
        """Decode and check an upload completely (and make its thumbnail on the way)."""
        return images.analyse(
            data,
            max_pixels=self.settings.max_pixels,
            thumb_size=self.settings.thumb_size,
            max_frames=self.settings.max_frames,
        )

    def _put(self, record: ImageRecord, on_conflict: str, requested: str) -> ImageRecord | None:
        """Write the record; under ``rename`` a key taken meanwhile moves it to the next free name
        (its blobs stay where they were written)."""
        for _ in range(20):
            try:
                return self.metadata.put(record, if_absent=on_conflict != "replace", keep_until=self.keep_until())
            except Conflict:
                if on_conflict != "rename":
                    raise
                record.blob_key = record.blob_key or record.key
                record.key = self.free_key(requested)
        raise Conflict(f"Could not find a free key near {record.key!r}; choose another key.")

    def free_key(self, key: str) -> str:
        """``key`` if nobody uses it, else the first free ``<name>-2.<ext>``, ``-3``..."""
        if self.metadata.get(key) is None:
            return key
        for n in range(2, 10_000):
            candidate = numbered_key(key, n)
            if self.metadata.get(candidate) is None:
                return candidate
        raise Conflict(f"Too many images are named like {key!r}; choose another key.")

    def delete(self, key: str) -> ImageRecord:
        """Move the image (and its history) to the trash, or remove it for good when nothing is kept."""
        record, dropped = self.metadata.delete(validate_key(key), trash_until=self.keep_until())
        if record is None:
            raise NotFound(f"There is no image with the key {key!r}.")
        self.invalidate(record.key)
        for gone in dropped:
            self._remove_blobs(gone)
        return record

    def _remove_blobs(self, record: ImageRecord) -> None:
        for variant in (ORIGINAL, THUMB):
            self.blobs.delete(blob_name(variant, record))
            self.cache.delete(version_cache_key(variant, record.version))

    def invalidate(self, key: str) -> None:
        for variant in (ORIGINAL, THUMB):
            self.cache.delete(cache_key(variant, key))

    # -- history and trash ----------------------------------------------------------------
    def versions(self, key: str) -> tuple[ImageRecord, list[Retired]]:
        """The current record and its history, most recently replaced first."""
        current = self.get_record(key)
        return current, self.metadata.versions(current.key)

    def get_version(self, key: str, version: str) -> ImageRecord:
        record = self.metadata.get_version(validate_key(key), str(version))
        if record is None:
            raise NotFound(f"The image {key!r} has no version {version!r}.")
        return record

    def restore_version(self, key: str, version: str) -> ImageRecord:
        """Make an earlier version current again; the current one joins the history."""
        keep = self.keep_until()
        restored, replaced = self.metadata.restore_version(validate_key(key), str(version), keep_until=keep)
        self.invalidate(restored.key)
        if keep is None:
            self._remove_blobs(replaced)
        return restored

    def trash(self, limit: int | None = None, cursor: str | None = None) -> tuple[list[Retired], str | None]:
        limit = limit or self.settings.page_size
        items, after = self.metadata.trash(limit=limit, after=self.cursors.decode("trash", cursor))
        return items, self.cursors.encode("trash", after)

    def restore_trashed(self, key: str, version: str, on_conflict: str | None = "fail") -> tuple[ImageRecord, bool]:
        """Bring a deleted image back under its key (``fail`` if taken), a fresh one (``rename``), or
        in place of the current one, which then goes to the trash (``replace``)."""
        key, on_conflict = validate_key(key), check_on_conflict(on_conflict or "fail")
        target = self.free_key(key) if on_conflict == "rename" else key
        replace_until = (self.keep_until() or self.clock()) if on_conflict == "replace" else None
        restored, displaced = self.metadata.restore_trashed(
            key, str(version), target=target, replace_until=replace_until
        )
        self.invalidate(restored.key)
        return restored, displaced is not None

    def empty_trash(self) -> Freed:
        return self._purge_all(trash=True)

    def purge(self) -> Freed:
        """Remove for good the replaced and deleted versions whose retention has passed."""
        return self._purge_all(trash=False)

    def _purge_all(self, trash: bool) -> Freed:
        freed = Freed()
        while True:
            batch = self.metadata.purge(self.clock(), trash=trash, limit=200)
            for record in batch:
                self._remove_blobs(record)
                freed.versions += 1
                freed.bytes += record.bytes
            if not batch:
                return freed

    def maybe_purge(self) -> None:
        """Purge now and then as a side effect of writes, so nobody has to schedule it."""
        now = self.clock()
        if now - self._last_purge < PURGE_EVERY or not self._purge_lock.acquire(blocking=False):
            return
        try:
            self._last_purge = now
            self.purge()
            self.blobs.expire_staging(STAGING_DAYS * DAY)
        except GalleryError as exc:  # a later write tries again; the upload itself succeeded
            log.warning("Purging expired versions failed: %s", exc.message)
        finally:
            self._purge_lock.release()

    def usage(self) -> dict[str, int]:
        return self.metadata.usage()

    # -- uploads waiting for a decision ----------------------------------------------------
    def stage(self, data: bytes) -> str:
        """Hold an upload's bytes (e.g. while its owner decides whether to replace an image)."""
        images.check_size(data, self.settings.max_upload_bytes)
        self.validate(data)  # a bad file is refused now, not after its owner has answered
        name = STAGING_PREFIX + "held-" + uuid.uuid4().hex
        self.blobs.put(name, data, "application/octet-stream")
        return name

    def unstage(
        self, name: str, key: str | None, on_conflict: str = "replace", batch: str = ""
    ) -> tuple[ImageRecord, bool] | None:
        """Store a held upload under ``key`` (or drop it when ``key`` is None); the held copy goes either way."""
        if not name.startswith(STAGING_PREFIX + "held-"):
            raise InvalidParameter("That upload is not waiting for an answer.")
        try:
            if key is None:
                return None
            return self.upload(key, self.blobs.get(name), on_conflict=on_conflict, batch=batch)
        except NotFound:
            raise NotFound("That upload expired; choose the file again.") from None
        finally:
            self.blobs.delete(name)

    # -- selections -------------------------------------------------------------------------
    def trash_many(self, keys: list[str]) -> tuple[list[str], list[str]]:
        """Delete each key (to the trash); returns (deleted, not found)."""
        done, missing = [], []
        for key in keys:
            try:
                done.append(self.delete(key).key)
            except NotFound:
                missing.append(key)
        return done, missing

    def export(self, keys: list[str]):
        """``(record, original bytes)`` of each existing key, one at a time, read past the cache
        (a download of hundreds of photos must not evict what people are looking at)."""
        for key in keys:
            record = self.metadata.get(validate_key(key))
            if record is None:
                continue
            try:
                yield record, self.blobs.get(blob_name(ORIGINAL, record))
            except NotFound:  # replaced or deleted while the archive was being written
                continue

    # -- reads ----------------------------------------------------------------------------
    def get_record(self, key: str) -> ImageRecord:
        record = self.metadata.get(validate_key(key))
        if record is None:
            raise NotFound(f"There is no image with the key {key!r}.")
        return record

    def get_record_or_none(self, key: str) -> ImageRecord | None:
        return self.metadata.get(validate_key(key))

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

    def read_version(self, variant: str, key: str, version: str) -> CachedBlob:
        """A given version's bytes (current, history or trash); cached by version, never stale."""
        ckey = version_cache_key(variant, version)
        raw = self.cache.get(ckey)
        if raw is not None:
            return CachedBlob.unpack(raw)
        record = self.get_version(key, version)
        data = self.blobs.get(blob_name(variant, record))
        content_type = record.content_type if variant == ORIGINAL else record.thumb_content_type
        etag = record.sha256 if variant == ORIGINAL else f"thumb-{record.sha256}"
        blob = CachedBlob(content_type, etag, record.version, data)
        self.cache.set(ckey, blob.pack())
        return blob

    def list(
        self,
        prefix: str = "",
        label: str = "",
        limit: int | None = None,
        cursor: str | None = None,
        q: str = "",
        batch: str = "",
    ):
        """Current images, newest first: those under ``prefix``, carrying ``label``, matching the
        search ``q`` (see app.search) and uploaded in ``batch``, all given ones at once."""
        limit = limit or self.settings.page_size
        words = search.query_words(q)
        batch = search.check_batch(batch)
        if batch:
            words.insert(0, search.batch_word(batch))
        items, after = self.metadata.list(
            prefix=validate_prefix(prefix),
            label=label.strip().lower(),
            limit=limit,
            after=self.cursors.decode("images", cursor),
            words=words,
        )
        return items, self.cursors.encode("images", after)

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

    def labels_for_upload(self, data: bytes) -> list[str] | None:
        """Label names for a new upload (GALLERY_LABEL_ON_UPLOAD), or None when detection failed:
        that must not lose the upload, so it is logged and the image is stored not labelled
        (``gallery label --missing`` tries again)."""
        try:
            return label_names(self.detector.detect(data, DEFAULT_MIN_CONFIDENCE, MAX_MAX_LABELS))
        except GalleryError as exc:
            log.warning("Labelling the upload failed: %s", exc.message)
            return None

    def unlabelled_count(self) -> int:
        """How many images detection has not labelled yet (a label filter may miss them)."""
        return self.metadata.unlabelled_count()

    def label_missing(self):
        """Label every image not labelled yet, one at a time; yields ``(key, error or None)``.
        Each success is stored at once, so an interrupted run resumes where it stopped; a failed
        image stays unlabelled for the next run."""
        after = None
        while True:
            keys, after = self.metadata.unlabelled(limit=100, after=after)
            for key in keys:
                try:
                    self.recognize(key=key)
                    yield key, None
                except GalleryError as exc:  # e.g. replaced or deleted meanwhile, or the detector failed
                    yield key, exc
            if after is None:
                return

    # -- processing -----------------------------------------------------------------------
    def process(self, ops, key=None, data=None, fmt=None, quality=None, save_as=None, on_conflict=None):
        """Run a processing pipeline on uploaded ``data`` or the gallery image ``key``. Results are
        cached under (source sha256, normalised ops, format, quality); with ``save_as`` the result is
        stored with its provenance. Everything is validated before any pixel is touched.
        Returns ``(Rendered, record or None, replaced)``."""
        steps = processing.normalize_ops(ops)
        fmt, quality = processing.normalize_output(fmt, quality)
        save_as = None if save_as is None else validate_key(save_as)
        on_conflict = check_on_conflict(on_conflict)
        if (key is None) == (data is None):
            raise InvalidParameter("Give either an image file or the key of a gallery image.")
        if data is not None:
            images.check_size(data, self.settings.max_upload_bytes)
            source_sha256 = hashlib.sha256(data).hexdigest()
        else:  # the record's hash names the result, so a cache hit never reads the source bytes
            source = self.get_record(key)
            source_sha256, source_version = source.sha256, source.version
        ckey = processing.result_cache_key(source_sha256, steps, fmt, quality)
        raw = self.cache.get(ckey)
        if raw is not None:
            rendered = processing.Rendered.unpack(raw)
        else:
            if data is None:
                blob = self.get_original(key)
                if blob.etag != source_sha256:  # replaced meanwhile: name the result after what we read
                    source_sha256, source_version = blob.etag, blob.version  # an original's etag is its sha256
                    ckey = processing.result_cache_key(source_sha256, steps, fmt, quality)
                data = blob.data
            result = processing.run(data, steps, fmt, quality, max_pixels=self.settings.max_pixels)
            rendered = processing.Rendered.of(result)
            self.cache.set(ckey, rendered.pack())
        if save_as is None:
            return rendered, None, False
        provenance = {"source_key": key, "source_sha256": source_sha256, "ops": steps}
        if key is not None:
            provenance["source_version"] = source_version
        record, replaced = self.upload(save_as, rendered.data, provenance=provenance, on_conflict=on_conflict)
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

    def commit_direct_upload(
        self, upload_id: str, key, on_conflict: str | None = None, batch: str = ""
    ) -> tuple[ImageRecord, bool]:
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
            return self.upload(key, self.blobs.get(name), on_conflict=on_conflict, batch=batch)
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
