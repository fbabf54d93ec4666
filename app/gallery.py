"""The gallery service: the one place that coordinates blob storage, metadata and the cache.

Write order prevents half-images: every upload writes its bytes under fresh, per-upload
blob names first, then the metadata (which makes them visible). Blobs are removed only after
the metadata that pointed at them is gone. A crash at any point can leave unreferenced blobs
behind, never a record whose bytes are missing.

Cache entries are named by version, so nothing needs invalidating when an image is replaced:
a reader asks for the version the metadata (or the URL) names, and an old entry is never it.

Nothing is lost silently: a replaced version joins the image's history and a deleted image
goes to the trash, both for ``GALLERY_RETENTION_DAYS``; ``purge`` then removes them for good.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import processing
from .cache.base import Cache
from .config import Settings
from .core import packing, search
from .core.cursors import CursorCodec
from .core.errors import GalleryError, InvalidParameter, NotAnImage, NotFound, TooLarge
from .core.keys import MAX_KEY_LENGTH, validate_key, validate_prefix
from .core.units import format_mb, megabytes
from .imaging import formats, images
from .metadata.base import SORTS, Conflict, ImageRecord, MetadataStore, Retired
from .recognition.base import Detector
from .recognition.shape import DEFAULT_MIN_CONFIDENCE, MAX_MAX_LABELS, check_options, label_names, select
from .runtime.health import HealthChecks
from .runtime.work import WorkPool
from .storage.base import BlobStore

if TYPE_CHECKING:
    from .processing.budget import Estimate

log = logging.getLogger(__name__)

ORIGINAL = "originals"
THUMB = "thumbs"
THUMB2X = "thumbs2x"  # the thumbnail at twice the size, for 2x screens
DISPLAY = "display"  # what pages show instead of the original (GALLERY_DISPLAY_SIZE)
VARIANTS = (ORIGINAL, THUMB, THUMB2X, DISPLAY)
RENDITIONS = (THUMB2X, DISPLAY)  # made at upload, or by ``gallery renditions`` for older images
ON_CONFLICT = ("replace", "rename", "fail")
DEFAULT_ON_CONFLICT = "replace"  # uploads and saves, as before there was a choice
# Uploads wait here: direct browser uploads until committed, and uploads whose key is taken until
# their owner answers. The bucket's lifecycle rule (S3) or a sweep (local) expires what is left.
STAGING_PREFIX = "uploads/"
STAGING_DAYS = 1
DAY = 86400
PURGE_EVERY = 600  # seconds between opportunistic purges in one process
CACHE_UPLOAD_RESULTS_ABOVE = 0.25  # estimated CPU seconds: cheaper results of uploads are not cached
DIRECT_UPLOAD_TYPES = frozenset(formats.UPLOAD_MIME_TYPES)
UPLOAD_ID = re.compile(r"[0-9a-f]{32}")
SHA256 = re.compile(r"[0-9a-f]{64}")
PRESIGN_SECONDS = 900
# Large originals and results are fetched from the store itself through URLs this short-lived
# (API Gateway and Lambda carry at most 6 MB); the redirect to one may be reused for a minute.
PRESIGN_GET_SECONDS = 300
REDIRECT_MAX_AGE = 60
NO_DIRECT_UPLOAD = "Direct uploads need S3 storage; post the file to /api/images instead."
SESSION_EPOCH = "session-epoch"  # the metadata store's state name of the current session epoch


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


@dataclass
class Redirect:
    """Where a client fetches bytes that do not pass through the app: a short-lived presigned URL."""

    url: str
    max_age: int = REDIRECT_MAX_AGE


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
    return record.thumb_content_type, f"{'thumb' if variant == THUMB else 'thumb2x'}-{record.sha256}"


def version_cache_key(variant: str, version: str) -> str:
    """Cache entries are named by the version: its bytes never change, so an entry can never be
    stale, whatever invalidations were lost, in whichever process or memcached node it lives."""
    return f"{variant}@{version}"


def rendition_fields(analysed: images.AnalysedImage) -> dict:
    """What a record keeps of an analysed upload beyond its thumbnail (see ``ImageRecord``)."""
    return {
        "thumb2x_width": analysed.thumb2x_width,
        "thumb2x_height": analysed.thumb2x_height,
        "display_content_type": analysed.display_content_type,
        "display_width": analysed.display_width,
        "display_height": analysed.display_height,
        "color": analysed.color,
        "taken_at": analysed.taken_at,
        "exif": analysed.exif,
    }


def check_sort(value: str | None) -> str:
    value = value or "uploaded"
    if value not in SORTS:
        raise InvalidParameter(f"sort must be one of {', '.join(SORTS)}; got {value!r}.")
    return value


def check_on_conflict(value: str | None) -> str:
    value = value or DEFAULT_ON_CONFLICT
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
        detector: Detector | Callable[[], Detector],
        settings: Settings,
        secret: str = "",
        clock=time.time,
    ):
        if settings.display_format not in images.DISPLAY_FORMATS:
            raise SystemExit(
                f"GALLERY_DISPLAY_FORMAT={settings.display_format!r} is not one of: {', '.join(images.DISPLAY_FORMATS)}"
            )
        self.blobs = blobs
        self.metadata = metadata
        self.cache = cache
        self._detector = detector  # or how to make it: see ``detector``
        self._detector_lock = threading.Lock()
        self.settings = settings
        self.cursors = CursorCodec(secret or settings.secret_key or "gallery")  # the app passes its secret
        self.clock = clock  # "now" for retention and purge (tests move it)
        self._purge_lock = threading.Lock()
        self._last_purge = 0.0
        self._epoch = ("", float("-inf"))  # the session epoch last read, and when (monotonic)
        # Costly decoding, processing and recognition run here under a hard limit (see app.runtime.work).
        self.work = WorkPool(settings.work_processes, settings.work_timeout, megabytes(settings.work_memory_mb))
        self._health = HealthChecks(
            {
                "storage": lambda: self.blobs.check(),
                "metadata": lambda: self.metadata.check(),
                "cache": lambda: self.cache.check(),
            }
        )

    @property
    def detector(self) -> Detector:
        """The detector, made on first use when the app passed a factory: pages that recognise
        nothing never import it (OpenCV and the model, or the Rekognition client)."""
        if not isinstance(self._detector, Detector):
            with self._detector_lock:
                if not isinstance(self._detector, Detector):
                    self._detector = self._detector()
        return self._detector

    def health(self) -> dict:
        """Each backend's state, answered within about half a second even when one hangs (see app.runtime.health)."""
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
            **rendition_fields(analysed),
            batch=batch,
        )
        if self.settings.label_on_upload:
            labels = self.labels_for_upload(data)
            record.labels, record.labelled = labels or [], labels is not None
        self.blobs.put(blob_name(ORIGINAL, record), data, record.content_type)
        try:
            self.blobs.put(blob_name(THUMB, record), analysed.thumbnail, record.thumb_content_type)
            self._put_renditions(record, analysed)
            previous = self._put(record, on_conflict, requested)
        except BaseException:
            self._remove_blobs(record)  # nothing points at them yet
            raise
        if previous is not None and self.keep_until() is None:
            self._remove_blobs(previous)
        self.maybe_purge()
        return record, previous is not None

    def validate(self, data: bytes) -> images.AnalysedImage:
        """Decode and check an upload completely (and make its renditions on the way), in a worker
        process under the hard limit when it is costly."""
        s = self.settings
        seconds, memory = self.decode_cost(data, s.max_frames)
        return self.work.run(
            images.analyse,
            data,
            s.max_pixels,
            s.thumb_size,
            s.max_frames,
            s.display_size,
            s.display_format,
            s.max_decoded_bytes,
            seconds=seconds,
            memory=memory,
        )

    def decode_cost(self, data: bytes, max_frames: int = 1000) -> tuple[float, int]:
        """Estimated CPU seconds and memory of decoding ``data`` and making renditions of it (the
        display rendition included), from its header, which is checked on the way."""
        s = self.settings
        layout = images.inspect(data, s.max_pixels, max_frames, s.max_decoded_bytes)
        return layout.decode_seconds() * 2.5, layout.decoded_bytes * 4

    def _put_renditions(self, record: ImageRecord, analysed: images.AnalysedImage) -> None:
        self.blobs.put(blob_name(THUMB2X, record), analysed.thumb2x, record.thumb_content_type)
        self.blobs.put(blob_name(DISPLAY, record), analysed.display, record.display_content_type)

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
        self._forget(record)
        for gone in dropped:
            self._remove_blobs(gone)
        return record

    def _remove_blobs(self, record: ImageRecord) -> None:
        self._forget(record)
        for variant in VARIANTS:
            self.blobs.delete(blob_name(variant, record))

    def _forget(self, record: ImageRecord) -> None:
        """Drop a version's cache entries. Never needed against staleness (an entry named by its
        version cannot be stale): a removed version should not stay readable from memory, and a
        deleted image is rarely read again."""
        for variant in VARIANTS:
            self.cache.delete(version_cache_key(variant, record.version))

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

    # -- sessions ---------------------------------------------------------------------------
    def session_epoch(self, max_age: float = 0.0) -> str:
        """The current session epoch: logins from an earlier one no longer count. It lives in the
        metadata store, so every worker and container agrees; a value up to ``max_age`` seconds
        old may come from this process's memory."""
        value, read_at = self._epoch
        if max_age > 0 and time.monotonic() - read_at <= max_age:
            return value
        value = self.metadata.get_state(SESSION_EPOCH) or ""
        self._epoch = (value, time.monotonic())
        return value

    def end_sessions(self) -> None:
        """Start a new session epoch, which ends every login made before it (logout)."""
        epoch = uuid.uuid4().hex
        self.metadata.put_state(SESSION_EPOCH, epoch)
        self._epoch = (epoch, time.monotonic())

    @contextmanager
    def _claimed(self, name: str):
        """Sole use of a staged upload while it is stored: of concurrent requests storing the same
        one, one proceeds and the others get a Conflict, so it never ends up under two keys."""
        claim = "claim:" + name
        if not self.metadata.put_state(claim, str(self.clock()), if_absent=True):
            raise Conflict("This upload is being stored by another request already.")
        try:
            yield
        finally:
            try:
                self.metadata.delete_state(claim)
            except GalleryError as exc:  # its staged bytes are gone by now: a stale claim guards nothing
                log.warning("Releasing the claim on a staged upload failed: %s", exc.message)

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
        with self._claimed(name):
            try:
                return (
                    None
                    if key is None
                    else self.upload(key, self.blobs.get(name), on_conflict=on_conflict, batch=batch)
                )
            except NotFound:
                raise NotFound("That upload expired or was answered already; choose the file again.") from None
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

    # -- renditions of images stored before they existed --------------------------------------
    def backfill_renditions(self):
        """Give every current image that has none its renditions, colour and EXIF facts; yields
        ``(record, outcome)`` per image, outcome one of ``had``, ``made``, ``gone`` (replaced or
        deleted meanwhile) and ``failed`` (logged). Stopping and starting again goes on where it
        stopped, since images that have renditions are passed over."""
        after = None
        while True:
            items, after = self.metadata.list(limit=100, after=after)
            for record in items:
                yield record, "had" if record.has_renditions else self.add_renditions(record)
            if after is None:
                return

    def add_renditions(self, record: ImageRecord) -> str:
        """Make one image's renditions from its original (read past the cache) and record them,
        unless it was replaced or deleted meanwhile."""
        try:
            data = self.blobs.get(blob_name(ORIGINAL, record))
        except NotFound:
            return "gone"
        try:
            analysed = self.validate(data)
        except GalleryError as exc:
            log.warning("No renditions for %r: %s", record.key, exc.message)
            return "failed"
        self._put_renditions(record, analysed)
        if not self.metadata.amend(record.key, record.version, rendition_fields(analysed)):
            for variant in RENDITIONS:  # nothing points at them
                self.blobs.delete(blob_name(variant, record))
            return "gone"
        return "made"

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

    def serve(
        self, variant: str, key: str, version: str | None = None, download: bool = False, hint: str | None = None
    ):
        """What ``GET /images/<key>`` answers: a ``CachedBlob`` through the cache, or a ``Redirect``
        for an original over GALLERY_REDIRECT_OVER_MB on a store that presigns URLs (S3), so large
        photos never pass through API Gateway and Lambda (at most 6 MB); ``download`` names the file.
        ``version`` asks for that exact version (``?version=``); ``hint`` is the version a ``?v=``
        URL names, which a cached entry answers alone."""
        presigns = variant == ORIGINAL and self.blobs.supports_download_url
        limit = self.settings.redirect_over_bytes if presigns else None
        if version is not None:
            found = self.read_version(variant, key, version, limit)
        else:
            found = self.read(variant, key, hint, limit)
        if isinstance(found, CachedBlob):
            return found
        filename = found.key.rsplit("/", 1)[-1] if download else None
        url = self.blobs.download_url(blob_name(variant, found), PRESIGN_GET_SECONDS, found.content_type, filename)
        return Redirect(url)

    def read(
        self, variant: str, key: str, version: str | None = None, redirect_over: int | None = None
    ) -> CachedBlob | ImageRecord:
        """An image's bytes through the cache, whose entries are named by version.

        With ``version`` (a ``?v=`` URL) a cached entry answers alone, without the metadata store:
        that version's bytes never change. A version that is not this image's (or no longer kept)
        falls back to the current one. Without it, the metadata store says which version is
        current (one read), so an overwrite by any process is seen at once. With ``redirect_over``,
        a record larger than that is returned instead of its bytes (``serve`` redirects)."""
        if version:
            blob = self._cached(variant, key, version, redirect_over)
            if blob is not None:
                return blob
            record = self.metadata.get_version(validate_key(key), str(version))
            if record is not None:
                if redirect_over is not None and record.bytes > redirect_over:
                    return record
                with contextlib.suppress(NotFound):  # removed meanwhile: answer the current one
                    return self._load(variant, record, key)
        record = self.get_record(key)
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
        self, variant: str, key: str, version: str, redirect_over: int | None = None
    ) -> CachedBlob | ImageRecord:
        """A given version's bytes (current, history or trash); ``redirect_over`` as for ``read``."""
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

    def list(
        self,
        prefix: str = "",
        label: str = "",
        limit: int | None = None,
        cursor: str | None = None,
        sort: str | None = None,
        q: str = "",
        batch: str = "",
    ):
        """Current images, newest first by upload (``sort`` "uploaded", the default) or by date taken
        ("taken", falling back to the upload time): those under ``prefix``, carrying ``label``,
        matching the search ``q`` (see app.core.search) and uploaded in ``batch``, all given ones at once."""
        limit = limit or self.settings.page_size
        sort = check_sort(sort)
        listing = "images" if sort == "uploaded" else f"images-{sort}"  # a cursor fits its own order only
        words = search.query_words(q)
        batch = search.check_batch(batch)
        if batch:
            words.insert(0, search.batch_word(batch))
        items, after = self.metadata.list(
            prefix=validate_prefix(prefix),
            label=label.strip().lower(),
            limit=limit,
            after=self.cursors.decode(listing, cursor),
            sort=sort,
            words=words,
        )
        return items, self.cursors.encode(listing, after)

    def suggest(self, prefix: str, limit: int = 10) -> list[str]:
        return self.metadata.suggest(validate_prefix(prefix), limit)

    def labels(self) -> list[tuple[str, int]]:
        """Every label with its number of images, in label order (the gallery's filter list)."""
        return self.metadata.all_labels()

    def describe_upload(self, data: bytes) -> Preview:
        """An image that is not stored (an upload, an unsaved result) as a page shows it: its upright
        size and a preview of at most 1024 px, from one decode."""
        seconds, memory = self.decode_cost(data)
        webp, width, height = self.work.run(
            images.preview,
            data,
            self.settings.max_pixels,
            1024,
            self.settings.max_decoded_bytes,
            seconds=seconds,
            memory=memory,
        )
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
            return self.detect(data, min_confidence, max_labels)
        record = self.get_record(key)
        floor = min(min_confidence, DEFAULT_MIN_CONFIDENCE)
        ref = self.blobs.external_ref(blob_name(ORIGINAL, record))
        if ref is not None and self.detector.can_read(ref, record.content_type, record.bytes):
            # The detector reads the stored object itself; its bytes never pass through us.
            result, version = self.detector.detect_stored(ref, floor, MAX_MAX_LABELS), record.version
        else:
            blob = self.get_original(record.key)
            result, version = self.detect(blob.data, floor, MAX_MAX_LABELS), blob.version
        stored = label_names(select(result, DEFAULT_MIN_CONFIDENCE, MAX_MAX_LABELS))
        self.metadata.set_labels(record.key, stored, version=version)  # not if replaced meanwhile
        return select(result, min_confidence, max_labels)

    def detect(self, data: bytes, min_confidence, max_labels) -> dict:
        """The detector on ``data``, its local decoding under the work budget."""
        seconds, memory = self.decode_cost(data)
        s, detector = self.settings, self.detector
        prepared = self.work.run(
            detector.prepare, data, s.max_pixels, s.max_decoded_bytes, seconds=seconds, memory=memory
        )
        return detector.detect_prepared(prepared, min_confidence, max_labels)

    def labels_for_upload(self, data: bytes) -> list[str] | None:
        """Label names for a new upload (GALLERY_LABEL_ON_UPLOAD), or None when detection failed:
        that must not lose the upload, so it is logged and the image is stored not labelled
        (``gallery label --missing`` tries again)."""
        try:
            return label_names(self.detect(data, DEFAULT_MIN_CONFIDENCE, MAX_MAX_LABELS))
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
    def process(self, ops, key=None, data=None, fmt=None, quality=None, save_as=None, on_conflict=None, on_run=None):
        """Run a processing pipeline on uploaded ``data`` or the gallery image ``key``. Results are
        cached under (source sha256, normalised ops, format, quality); with ``save_as`` the result is
        stored with its provenance. Everything is validated, and the work priced against the budget,
        before any pixel is touched. ``on_run()`` is called before any decoding (a run, or storing a
        cached result), so a caller can charge real work only: a result answered from the cache alone
        does not call it. Returns ``(Rendered, record or None, replaced)``."""
        steps = processing.normalize_ops(ops)
        fmt, quality = processing.normalize_output(fmt, quality)
        save_as = None if save_as is None else validate_key(save_as)
        on_conflict = check_on_conflict(on_conflict)
        if (key is None) == (data is None):
            raise InvalidParameter("Give either an image file or the key of a gallery image.")

        def charge(cached: bool) -> None:
            if on_run is not None and (not cached or save_as is not None):
                on_run()

        if data is not None:
            images.check_size(data, self.settings.max_upload_bytes)
            job, cost = self.plan_pipeline(data, steps, fmt, quality)
            # Hashing an upload costs about as much as a cheap pipeline on it, and an upload is rarely
            # sent twice: only a costly result, or one being saved (its provenance names the source's
            # hash), goes through the cache.
            source_sha256 = ckey = raw = None
            if save_as is not None or cost.seconds > CACHE_UPLOAD_RESULTS_ABOVE:
                source_sha256 = hashlib.sha256(data).hexdigest()
                ckey = processing.result_cache_key(source_sha256, steps, fmt, quality)
                raw = self.cache.get(ckey)
            charge(raw is not None)
            if raw is not None:
                rendered = processing.Rendered.unpack(raw)
            else:
                rendered = processing.Rendered.of(self.run_job(data, job, cost))
                if ckey is not None:
                    self.cache.set(ckey, rendered.pack())
        else:  # the record's hash names the result, so a cache hit never reads the source bytes
            source = self.get_record(key)
            source_sha256, source_version = source.sha256, source.version
            ckey = processing.result_cache_key(source_sha256, steps, fmt, quality)
            raw = self.cache.get(ckey)
            charge(raw is not None)
            if raw is not None:
                rendered = processing.Rendered.unpack(raw)
            else:
                blob = self.get_original(key)
                if blob.etag != source_sha256:  # replaced meanwhile: name the result after what we read
                    source_sha256, source_version = blob.etag, blob.version  # an original's etag is its sha256
                    ckey = processing.result_cache_key(source_sha256, steps, fmt, quality)
                job, cost = self.plan_pipeline(blob.data, steps, fmt, quality)
                rendered = processing.Rendered.of(self.run_job(blob.data, job, cost))
                self.cache.set(ckey, rendered.pack())
        if save_as is None:
            return rendered, None, False
        provenance = {"source_key": key, "source_sha256": source_sha256, "ops": steps}
        if key is not None:
            provenance["source_version"] = source_version
        record, replaced = self.upload(save_as, rendered.data, provenance=provenance, on_conflict=on_conflict)
        return rendered, record, replaced

    def preview(self, ops, key=None, data=None, source_sha256=None, fmt=None, quality=None, on_run=None):
        """``process`` at display size, for a live preview: the steps run on the source's rendition
        (made once, cached by the source's sha256; see processing.preview) and nothing is saved.
        ``source_sha256`` names an upload previewed before, so it need not be sent again.
        ``on_run()`` as for ``process``: called only when work is about to be done.
        Returns ``(PreviewResult, source sha256)``."""
        from .processing import preview as previews  # OpenCV loads on first use (cold starts)

        steps = processing.normalize_ops(ops)
        fmt, quality = processing.normalize_output(fmt, quality)
        if sum(x is not None for x in (key, data, source_sha256)) != 1:
            raise InvalidParameter("Give either an image file or the key of a gallery image.")
        if data is not None:
            images.check_size(data, self.settings.max_upload_bytes)
            sha256 = hashlib.sha256(data).hexdigest()
        elif key is not None:
            sha256 = self.get_record(key).sha256
        elif not SHA256.fullmatch(str(source_sha256)):
            raise InvalidParameter("source_sha256 must be 64 lowercase hexadecimal digits.")
        else:
            sha256 = source_sha256
        raw = self.cache.get(previews.preview_cache_key(sha256, steps, fmt, quality))
        if raw is not None:
            return previews.PreviewResult.unpack(raw), sha256
        if on_run is not None:
            on_run()
        sha256, rendition = self._rendition(sha256, key, data)
        shown = previews.render_preview(rendition, steps, fmt, quality, self.settings.max_pixels)
        self.cache.set(previews.preview_cache_key(sha256, steps, fmt, quality), shown.pack())
        return shown, sha256

    def _rendition(self, sha256: str, key: str | None, data: bytes | None):
        from .processing import preview as previews

        raw = self.cache.get(previews.rendition_cache_key(sha256))
        if raw is not None:
            return sha256, previews.Rendition.unpack(raw)
        if key is None and data is None:
            raise NotFound("The image shown before is no longer at hand; choose the file again.")
        if data is None:
            blob = self.get_original(key)
            sha256, data = blob.etag, blob.data  # an original's etag is its sha256 (replaced meanwhile?)
        rendition = previews.make_rendition(data, self.settings.max_pixels)
        self.cache.set(previews.rendition_cache_key(sha256), rendition.pack())
        return sha256, rendition

    def plan_pipeline(self, data: bytes, steps, fmt, quality) -> tuple[processing.Job, Estimate]:
        """The pipeline planned from the header and priced; an ``OverBudget`` when it costs too much."""
        s = self.settings
        job = processing.prepare(data, steps, fmt, quality, s.max_pixels, s.max_decoded_bytes)
        from .processing import budget  # with the operations, and so OpenCV: loaded on first use

        return job, budget.check(job, len(data), s.work_budget, megabytes(s.work_memory_mb))

    def run_job(self, data: bytes, job: processing.Job, cost: Estimate) -> processing.Result:
        """Run a planned pipeline: in a worker process under the hard limit when it is costly."""
        return self.work.run(processing.execute, data, job, seconds=cost.seconds, memory=cost.peak_bytes)

    # -- direct browser uploads (S3) ------------------------------------------------------
    @property
    def supports_direct_upload(self) -> bool:
        return self.blobs.supports_direct_upload

    def direct_upload_origin(self) -> str | None:
        """Where browsers post direct uploads (the upload page lets its script connect there)."""
        return self.blobs.direct_upload_origin()

    def start_direct_upload(self, key, content_type, size) -> dict:
        """Check an upload before any byte is sent and grant a form that stores the file under a
        fresh staging name; the store itself enforces the size range and content type. Without a
        ``key`` the file is only staged, for processing or recognition by its ``upload_id``."""
        if not self.supports_direct_upload:
            raise InvalidParameter(NO_DIRECT_UPLOAD)
        key = None if key is None else validate_key(key)
        if content_type not in DIRECT_UPLOAD_TYPES:
            raise NotAnImage(f"Only {formats.ACCEPTED} files can be uploaded.")
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
        order); the staging object goes whether the image was accepted or not. Concurrent commits
        of one upload: one stores it, the others get a Conflict (or NotFound once it is gone)."""
        if not self.supports_direct_upload:
            raise InvalidParameter(NO_DIRECT_UPLOAD)
        if not UPLOAD_ID.fullmatch(upload_id):
            raise InvalidParameter("The upload id is not valid.")
        key, name = validate_key(key), STAGING_PREFIX + upload_id
        with self._claimed(name):
            try:
                size = self.blobs.size(name)
            except NotFound:
                raise NotFound(
                    "No upload with this id: it was never sent, was already committed, or expired."
                ) from None
            try:
                self._check_direct_size(size)
                return self.upload(key, self.blobs.get(name), on_conflict=on_conflict, batch=batch)
            finally:
                self.blobs.delete(name)

    def read_staged(self, upload_id) -> bytes:
        """The bytes of a direct upload that was not committed (``staged_id`` of processing and
        recognition): files too large for a request body are worked on without entering the gallery.
        It stays staged, for further previews, until the bucket's lifecycle rule expires it."""
        if not self.supports_direct_upload:
            raise InvalidParameter(NO_DIRECT_UPLOAD)
        if not isinstance(upload_id, str) or not UPLOAD_ID.fullmatch(upload_id):
            raise InvalidParameter("staged_id must be the upload_id that POST /api/uploads returned.")
        name = STAGING_PREFIX + upload_id
        try:
            self._check_direct_size(self.blobs.size(name))
            return self.blobs.get(name)
        except NotFound:
            raise NotFound("No staged upload with this id: it was never sent or has expired; send it again.") from None

    def result_url(self, data: bytes, content_type: str) -> str | None:
        """For a processing result over GALLERY_REDIRECT_OVER_MB on a store that presigns URLs: the bytes
        staged and a short-lived URL to fetch them (an answer that large cannot leave Lambda); else None."""
        limit = self.settings.redirect_over_bytes
        if not self.blobs.supports_download_url or limit is None or len(data) <= limit:
            return None
        name = f"{STAGING_PREFIX}result-{hashlib.sha256(data).hexdigest()}"
        self.blobs.put(name, data, content_type)
        return self.blobs.download_url(name, PRESIGN_GET_SECONDS, content_type)

    def download_origin(self) -> str | None:
        """Where clients fetch what ``serve`` and ``result_url`` redirect to (the pages' CSP allows it)."""
        return self.blobs.download_origin() if self.settings.redirect_over_bytes is not None else None

    def _check_direct_size(self, size: int) -> None:
        if size > self.settings.max_upload_bytes:
            raise TooLarge(
                f"The file is {format_mb(size)}; at most {format_mb(self.settings.max_upload_bytes)} is accepted."
            )

    # -- cache ------------------------------------------------------------------------------
    def cache_stats(self) -> dict:
        """The cache's counters and, under ``series``, its last 30 minutes (for the status page's charts)."""
        return {**self.cache.stats(), "series": self.cache.series()}

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
        blobs = self.blobs.provision(STAGING_PREFIX, self.settings.public_origin)
        return blobs + self.metadata.provision() + self.cache.provision()
