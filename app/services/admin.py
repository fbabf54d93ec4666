"""Running the gallery: health, the cache's controls, provisioning, renditions backfill, sessions."""

from __future__ import annotations

import logging
import time
import uuid

from ..core.blobs import ORIGINAL, RENDITIONS, STAGING_PREFIX, blob_name
from ..core.errors import GalleryError, InvalidParameter, NotFound
from ..core.units import megabytes
from ..metadata.base import ImageRecord
from ..runtime.health import HealthChecks
from .images import Images
from .imagework import ImageWork
from .library import put_renditions, rendition_fields

log = logging.getLogger(__name__)

SESSION_EPOCH = "session-epoch"  # the metadata store's state name of the current session epoch


class Admin:
    def __init__(self, images: Images, work: ImageWork, public_origin: str = ""):
        self.images = images
        self.blobs, self.metadata, self.cache = images.blobs, images.metadata, images.cache
        self.work = work
        self.public_origin = public_origin
        self._epoch = ("", float("-inf"))  # the session epoch last read, and when (monotonic)
        self._health = HealthChecks(
            {
                "storage": lambda: self.blobs.check(),
                "metadata": lambda: self.metadata.check(),
                "cache": lambda: self.cache.check(),
            }
        )

    def health(self) -> dict:
        """Each backend's state, answered within about half a second even when one hangs (see app.runtime.health)."""
        return self._health.report()

    def provision(self) -> list[str]:
        """Create what the backends need (``flask gallery init``), idempotently; say what was done."""
        blobs = self.blobs.provision(STAGING_PREFIX, self.public_origin)
        return blobs + self.metadata.provision() + self.cache.provision()

    def publish_static(self, files) -> int:
        """Copy ``(path, object name)`` static files into the store (for a CDN in front of it); how many."""
        import mimetypes

        for path, name in files:
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            self.blobs.put(name, path.read_bytes(), content_type)
        return len(files)

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
            analysed = self.work.analyse(data)
        except GalleryError as exc:
            log.warning("No renditions for %r: %s", record.key, exc.message)
            return "failed"
        put_renditions(self.blobs, record, analysed)
        if not self.metadata.amend(record.key, record.version, rendition_fields(analysed)):
            for variant in RENDITIONS:  # nothing points at them
                self.blobs.delete(blob_name(variant, record))
            return "gone"
        return "made"

    # -- repair -----------------------------------------------------------------------------
    def repair(self):
        """Mend what an interrupted or repeated write can leave behind; yields ``(key, what was
        done)`` per image mended: a key jammed by a retired copy of its current version (every
        replacement would fail), and a current record whose original is missing (an earlier
        version with its bytes is made current again, else the record goes)."""
        after = None
        while True:
            records, after = self.metadata.list(limit=100, after=after)
            for record in records:
                if self.metadata.mend_jam(record.key):
                    yield record.key, "unjammed: removed the retired copy of its current version"
                if not self._has_original(record):
                    yield record.key, self._replace_missing(record)
            if after is None:
                return

    def _has_original(self, record: ImageRecord) -> bool:
        try:
            self.blobs.size(blob_name(ORIGINAL, record))
            return True
        except NotFound:
            return False

    def _replace_missing(self, record: ImageRecord) -> str:
        for retired in self.metadata.versions(record.key):
            if retired.record.version != record.version and self._has_original(retired.record):
                _, replaced = self.metadata.restore_version(record.key, retired.record.version)
                self.images.remove_blobs(replaced)
                return f"its original was missing: restored version {retired.record.version}"
        deleted, dropped = self.metadata.delete(record.key)
        for gone in dropped:
            self.images.remove_blobs(gone)
        return "its original was missing and no earlier version has one: removed" if deleted else "gone meanwhile"

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
