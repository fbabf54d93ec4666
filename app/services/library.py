"""Uploads, replacements and deletions: the writes that make an image current or take it away.

Write order prevents half-images: every upload writes its bytes under fresh, per-upload blob
names first, then the metadata (which makes them visible). Blobs are removed only after the
metadata that pointed at them is gone. A crash at any point can leave unreferenced blobs
behind, never a record whose bytes are missing.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from contextlib import contextmanager

from ..config import Settings
from ..core import search
from ..core.blobs import DISPLAY, ORIGINAL, STAGING_PREFIX, THUMB, THUMB2X, blob_name
from ..core.conflicts import check_on_conflict, numbered_key
from ..core.errors import GalleryError, InvalidParameter, NotFound
from ..core.keys import validate_key
from ..imaging import images
from ..metadata.base import Conflict, ImageRecord, OutcomeUnknown
from .images import Images
from .imagework import ImageWork
from .retention import Retention

log = logging.getLogger(__name__)

HELD = STAGING_PREFIX + "held-"  # uploads waiting for their owner's answer (replace or not)


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


def put_renditions(blobs, record: ImageRecord, analysed: images.AnalysedImage) -> None:
    blobs.put(blob_name(THUMB2X, record), analysed.thumb2x, record.thumb_content_type)
    blobs.put(blob_name(DISPLAY, record), analysed.display, record.display_content_type)


class Library:
    def __init__(
        self,
        images: Images,
        work: ImageWork,
        retention: Retention,
        settings: Settings,
        labeller: Callable[[bytes], list[str] | None] | None = None,
    ):
        self.images = images
        self.work = work
        self.retention = retention
        self.settings = settings
        self.labeller = labeller  # label names for a new upload, None when detection failed

    @property
    def retention_days(self) -> float:
        return self.retention.retention_days

    def upload(
        self,
        key: str,
        data: bytes,
        provenance: dict | None = None,
        on_conflict: str | None = None,
        batch: str = "",
        taken: tuple[str | None, dict] | None = None,
    ) -> tuple[ImageRecord, bool]:
        """Validate and store an image; returns the record and whether it replaced one.

        ``on_conflict`` says what happens when the key is taken: ``replace`` (the old image joins
        the history), ``rename`` (stored under ``<name>-2.<ext>``, ``-3``...) or ``fail`` (``Conflict``).
        ``batch`` names the upload batch it belongs to (``list(batch=...)`` shows that batch).
        ``taken`` is ``(taken_at, camera facts)`` of the photo an edit was made from, for bytes
        that carry no EXIF of their own (an encoded edit), so the edit sorts by its real date."""
        key = validate_key(key)
        on_conflict = check_on_conflict(on_conflict)
        batch = search.check_batch(batch)
        images.check_size(data, self.settings.max_upload_bytes)
        self.retention.check_room(len(data))  # before any work or byte: a full gallery changes nothing
        analysed = self.work.analyse(data)
        requested = key
        if on_conflict == "rename":
            key = self.free_key(key)
        elif on_conflict == "fail" and self.images.metadata.get(key) is not None:
            raise Conflict(f"There is already an image with the key {key!r}.")  # before any byte is written
        now = self.retention.clock()
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
        if taken is not None and record.taken_at is None:
            record.taken_at = taken[0]
            record.exif = {**taken[1], "width": record.width, "height": record.height}
        if self.labeller is not None:
            labels = self.labeller(data)
            record.labels, record.labelled = labels or [], labels is not None
        blobs = self.images.blobs
        blobs.put(blob_name(ORIGINAL, record), data, record.content_type)
        try:
            blobs.put(blob_name(THUMB, record), analysed.thumbnail, record.thumb_content_type)
            put_renditions(blobs, record, analysed)
            previous = self._put(record, on_conflict, requested)
        except OutcomeUnknown:
            # The record may be saved: its bytes stay (an orphan costs storage, a record without bytes a 404).
            log.warning("Upload of %r: unknown whether its record was saved; its bytes are kept", record.key)
            raise
        except BaseException:
            self.images.remove_blobs(record)  # known not saved: nothing points at them
            raise
        if previous is not None and self.retention.keep_until() is None:
            self.images.remove_blobs(previous)
        if previous is not None:
            self.retention.trim(record.key)
        self.retention.maybe_purge()
        return record, previous is not None

    def stored_copy(self, data: bytes) -> ImageRecord | None:
        """The current image whose original is exactly ``data`` (found by SHA-256, one indexed
        read, before any decoding), or None: what "already in the gallery as <key>" names."""
        return self.images.metadata.find_by_sha256(hashlib.sha256(data).hexdigest())

    def _put(self, record: ImageRecord, on_conflict: str, requested: str) -> ImageRecord | None:
        """Write the record; under ``rename`` a key taken meanwhile moves it to the next free name
        (its blobs stay where they were written)."""
        for _ in range(20):
            try:
                return self.images.metadata.put(
                    record, if_absent=on_conflict != "replace", keep_until=self.retention.keep_until()
                )
            except Conflict:
                if on_conflict != "rename":
                    raise
                record.blob_key = record.blob_key or record.key
                record.key = self.free_key(requested)
        raise Conflict(f"Could not find a free key near {record.key!r}; choose another key.")

    def free_key(self, key: str) -> str:
        """``key`` if nobody uses it, else the first free ``<name>-2.<ext>``, ``-3``..."""
        metadata = self.images.metadata
        if metadata.get(validate_key(key)) is None:
            return key
        for n in range(2, 10_000):
            candidate = numbered_key(key, n)
            if metadata.get(candidate) is None:
                return candidate
        raise Conflict(f"Too many images are named like {key!r}; choose another key.")

    def delete(self, key: str) -> ImageRecord:
        """Move the image (and its history) to the trash, or remove it for good when nothing is kept."""
        record, dropped = self.images.metadata.delete(validate_key(key), trash_until=self.retention.keep_until())
        if record is None:
            raise NotFound(f"There is no image with the key {key!r}.")
        self.images.forget(record)
        for gone in dropped:
            self.images.remove_blobs(gone)
        return record

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
            record = self.images.metadata.get(validate_key(key))
            if record is None:
                continue
            try:
                yield record, self.images.blobs.get(blob_name(ORIGINAL, record))
            except NotFound:  # replaced or deleted while the archive was being written
                continue

    # -- uploads waiting for a decision ----------------------------------------------------
    @contextmanager
    def claimed(self, name: str):
        """Sole use of a staged upload while it is stored: of concurrent requests storing the same
        one, one proceeds and the others get a Conflict, so it never ends up under two keys."""
        claim = "claim:" + name
        metadata = self.images.metadata
        if not metadata.put_state(claim, str(self.retention.clock()), if_absent=True):
            raise Conflict("This upload is being stored by another request already.")
        try:
            yield
        finally:
            try:
                metadata.delete_state(claim)
            except GalleryError as exc:  # its staged bytes are gone by now: a stale claim guards nothing
                log.warning("Releasing the claim on a staged upload failed: %s", exc.message)

    def stage(self, data: bytes) -> str:
        """Hold an upload's bytes (e.g. while its owner decides whether to replace an image)."""
        images.check_size(data, self.settings.max_upload_bytes)
        self.work.analyse(data)  # a bad file is refused now, not after its owner has answered
        name = HELD + uuid.uuid4().hex
        self.images.blobs.put(name, data, "application/octet-stream")
        return name

    def unstage(
        self, name: str, key: str | None, on_conflict: str = "replace", batch: str = ""
    ) -> tuple[ImageRecord, bool] | None:
        """Store a held upload under ``key`` (or drop it when ``key`` is None); the held copy goes either way."""
        if not name.startswith(HELD):
            raise InvalidParameter("That upload is not waiting for an answer.")
        blobs = self.images.blobs
        with self.claimed(name):
            try:
                return None if key is None else self.upload(key, blobs.get(name), on_conflict=on_conflict, batch=batch)
            except NotFound:
                raise NotFound("That upload expired or was answered already; choose the file again.") from None
            finally:
                blobs.delete(name)
