"""How long replaced and deleted versions are kept, and their removal for good once expired.

Nothing is lost silently: a replaced version joins the image's history and a deleted image goes
to the trash, both for ``GALLERY_RETENTION_DAYS``; ``purge`` then removes them for good. Two
limits bound the storage: a key keeps at most ``GALLERY_MAX_VERSIONS_PER_KEY`` versions (the
oldest earlier ones go first, and the history counts them), and with ``GALLERY_QUOTA_GB`` an
upload that would go over the quota is refused before anything is written.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from ..core.blobs import STAGING_DAYS
from ..core.errors import GalleryError, QuotaExceeded
from ..core.units import format_mb
from ..metadata.base import ImageRecord
from .images import Images

log = logging.getLogger(__name__)

DAY = 86400
PURGE_EVERY = 600  # seconds between opportunistic purges in one process


@dataclass
class Freed:
    """What a purge or an emptied trash removed for good."""

    versions: int = 0
    bytes: int = 0


class Retention:
    def __init__(
        self,
        images: Images,
        retention_days: float,
        clock=time.time,
        max_versions: int = 0,
        quota_bytes: int | None = None,
    ):
        self.images = images
        self.retention_days = float(retention_days)
        self.max_versions = max(0, int(max_versions))  # per key, the current one included; 0: no cap
        self.quota_bytes = quota_bytes  # None: no quota
        self.clock = clock  # "now" for retention and purge (tests move it)
        self._lock = threading.Lock()
        self._last_purge = 0.0

    def keep_until(self) -> float | None:
        """Until when replaced and deleted versions are kept; None: not at all."""
        return self.clock() + self.retention_days * DAY if self.retention_days > 0 else None

    def stored_bytes(self, usage: dict[str, int] | None = None) -> int:
        """What counts against the quota: originals of current images, earlier versions and the trash."""
        usage = usage or self.images.metadata.usage()
        return usage["current_bytes"] + usage["history_bytes"] + usage["trash_bytes"]

    def check_room(self, incoming: int) -> None:
        """Refuse (507) a write of ``incoming`` bytes that would go over the quota; read from counters,
        so it costs one small read. A replacement counts whole: the version it replaces is kept."""
        if self.quota_bytes is None:
            return
        used = self.stored_bytes()
        if used + incoming > self.quota_bytes:
            raise QuotaExceeded(
                f"The gallery's storage is full: {format_mb(used)} of its {format_mb(self.quota_bytes)} quota "
                f"are in use and this upload needs {format_mb(incoming)} more. Delete images or empty the trash "
                "first (or ask the administrator to raise GALLERY_QUOTA_GB)."
            )

    def trim(self, key: str) -> list[ImageRecord]:
        """Keep ``key`` within the per-key cap: its oldest earlier versions beyond it go for good
        (blobs included), oldest first; returns them."""
        if not self.max_versions or self.keep_until() is None:
            return []
        dropped = self.images.metadata.trim_history(key, self.max_versions - 1)
        for record in dropped:
            self.images.remove_blobs(record)
        return dropped

    def purge(self) -> Freed:
        """Remove for good the replaced and deleted versions whose retention has passed."""
        return self._purge_all(trash=False)

    def empty_trash(self) -> Freed:
        return self._purge_all(trash=True)

    def _purge_all(self, trash: bool) -> Freed:
        freed = Freed()
        while True:
            batch = self.images.metadata.purge(self.clock(), trash=trash, limit=200)
            for record in batch:
                self.images.remove_blobs(record)
                freed.versions += 1
                freed.bytes += record.bytes
            if not batch:
                return freed

    def maybe_purge(self) -> None:
        """Purge now and then as a side effect of writes, so nobody has to schedule it."""
        now = self.clock()
        if now - self._last_purge < PURGE_EVERY or not self._lock.acquire(blocking=False):
            return
        try:
            self._last_purge = now
            self.purge()
            self.images.blobs.expire_staging(STAGING_DAYS * DAY)
        except GalleryError as exc:  # a later write tries again; the upload itself succeeded
            log.warning("Purging expired versions failed: %s", exc.message)
        finally:
            self._lock.release()
