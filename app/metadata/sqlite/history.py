"""An image's history: the versions that replaced one another under its lineage."""

from __future__ import annotations

from ...core.errors import NotFound
from ..base import ImageRecord, Retired, moved
from .writes import CurrentImages


class History(CurrentImages):
    def versions(self, key: str) -> list[Retired]:
        db = self._connect()
        current = self._current(db, key)
        if current is None or not current.lineage:
            return []
        rows = db.execute(
            "SELECT record, retired_at, expires_at FROM retired WHERE lineage = ? AND state = 'history'"
            " ORDER BY retired_at DESC, version DESC",
            (current.lineage,),
        )
        return [Retired(self._row(r[0]), r[1], r[2]) for r in rows]

    def get_version(self, key: str, version: str) -> ImageRecord | None:
        db = self._connect()
        current = self._current(db, key)
        if current is not None and current.version == version:
            return current
        row = db.execute("SELECT record, lineage, key FROM retired WHERE version = ?", (version,)).fetchone()
        if row is None:
            return None
        # It must belong to this key: its history (by lineage) or a deleted image of that name.
        if row[2] == key or (current is not None and current.lineage and row[1] == current.lineage):
            return self._row(row[0])
        return None

    def restore_version(self, key: str, version: str, *, keep_until: float | None = None):
        with self._write() as db:
            current = self._current(db, key)
            row = None
            if current is not None and current.lineage:
                row = db.execute(
                    "SELECT record FROM retired WHERE version = ? AND lineage = ? AND state = 'history'",
                    (version, current.lineage),
                ).fetchone()
            if row is None:
                raise NotFound(f"The image {key!r} has no earlier version {version!r}.")
            restored = moved(self._row(row[0]), key)
            restored.favourite = current.favourite  # the heart belongs to the photo, not a version
            db.execute("DELETE FROM retired WHERE version = ?", (version,))
            self._set_current(db, restored)
            if keep_until is not None:
                self._retire(db, current, "history", keep_until)
        return restored, current
