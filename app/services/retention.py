"""How long replaced and deleted versions are kept, and their removal for good once expired.

Nothing is lost silently: a replaced version joins the image's history and a deleted image goes
to the trash, both for ``GALLERY_RETENTION_DAYS``; ``purge`` then removes them for good.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from ..core.blobs import STAGING_DAYS
from ..core.errors import GalleryError
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
    def __init__(self, images: Images, retention_days: float, clock=time.time):
        self.images = images
        self.retention_days = float(retention_days)
        self.clock = clock  # "now" for retention and purge (tests move it)
        self._lock = threading.Lock()
        self._last_purge = 0.0

    def keep_until(self) -> float | None:
        """Until when replaced and deleted versions are kept; None: not at all."""
        return self.clock() + self.retention_days * DAY if self.retention_days > 0 else None

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
