"""An image's earlier versions and the trash: look back, restore, empty."""

from __future__ import annotations

from collections.abc import Callable

from ..core.conflicts import check_on_conflict
from ..core.cursors import CursorCodec
from ..core.keys import validate_key
from ..metadata.base import ImageRecord, Retired
from .images import Images
from .retention import Freed, Retention


class History:
    def __init__(
        self, images: Images, retention: Retention, cursors: CursorCodec, page_size: int, free_key: Callable[[str], str]
    ):
        self.images = images
        self.retention = retention
        self.cursors = cursors
        self.page_size = page_size
        self.free_key = free_key  # the library's "first free name like this key"

    def versions(self, key: str) -> tuple[ImageRecord, list[Retired]]:
        """The current record and its history, most recently replaced first."""
        current = self.images.get_record(key)
        return current, self.images.metadata.versions(current.key)

    def get_version(self, key: str, version: str) -> ImageRecord:
        return self.images.get_version(key, version)

    def restore_version(self, key: str, version: str) -> ImageRecord:
        """Make an earlier version current again; the current one joins the history."""
        keep = self.retention.keep_until()
        restored, replaced = self.images.metadata.restore_version(validate_key(key), str(version), keep_until=keep)
        if keep is None:
            self.images.remove_blobs(replaced)
        return restored

    def trash(self, limit: int | None = None, cursor: str | None = None) -> tuple[list[Retired], str | None]:
        limit = limit or self.page_size
        items, after = self.images.metadata.trash(limit=limit, after=self.cursors.decode("trash", cursor))
        return items, self.cursors.encode("trash", after)

    def recently_deleted(self, key: str, look_at: int = 100) -> Retired | None:
        """``key``'s image if it is among the ``look_at`` most recently deleted (Back after a delete
        finds it there; an older deletion is not looked for: the trash is not indexed by key)."""
        items, _ = self.images.metadata.trash(limit=look_at)
        return next((item for item in items if item.record.key == key), None)

    def restore_trashed(self, key: str, version: str, on_conflict: str | None = "fail") -> tuple[ImageRecord, bool]:
        """Bring a deleted image back under its key (``fail`` if taken), a fresh one (``rename``), or
        in place of the current one, which then goes to the trash (``replace``)."""
        key, on_conflict = validate_key(key), check_on_conflict(on_conflict or "fail")
        target = self.free_key(key) if on_conflict == "rename" else key
        replace_until = (self.retention.keep_until() or self.retention.clock()) if on_conflict == "replace" else None
        restored, displaced = self.images.metadata.restore_trashed(
            key, str(version), target=target, replace_until=replace_until
        )
        return restored, displaced is not None

    def empty_trash(self) -> Freed:
        return self.retention.empty_trash()

    def purge(self) -> Freed:
        """Remove for good the replaced and deleted versions whose retention has passed."""
        return self.retention.purge()
