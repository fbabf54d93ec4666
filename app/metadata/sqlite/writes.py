"""Changes to current images, each one ``BEGIN IMMEDIATE`` transaction."""

from __future__ import annotations

import uuid

from ..base import Conflict, ImageRecord, amended
from .folders import count_photo
from .schema import Schema


class CurrentImages(Schema):
    def put(self, record: ImageRecord, *, if_absent: bool = False, keep_until: float | None = None):
        with self._write() as db:
            previous = self._current(db, record.key)
            if previous is not None:
                if if_absent:
                    raise Conflict(f"There is already an image with the key {record.key!r}.")
                record.created_at = previous.created_at
                record.favourite = previous.favourite  # the heart belongs to the photo, not a version
                record.lineage = previous.lineage or record.lineage or uuid.uuid4().hex
                previous.lineage = record.lineage
            record.lineage = record.lineage or uuid.uuid4().hex
            self._set_current(db, record)
            if previous is not None and keep_until is not None:
                self._retire(db, previous, "history", keep_until)
        return previous

    def get(self, key: str) -> ImageRecord | None:
        return self._current(self._connect(), key)

    def delete(self, key: str, *, trash_until: float | None = None):
        with self._write() as db:
            current = self._current(db, key)
            if current is None:
                return None, []
            db.execute("DELETE FROM images WHERE key = ?", (key,))
            count_photo(db, key, -1)
            if trash_until is not None:
                self._retire(db, current, "trash", trash_until)
                return current, []
            rows = []
            if current.lineage:
                rows = db.execute(
                    "DELETE FROM retired WHERE lineage = ? AND state = 'history' RETURNING record", (current.lineage,)
                ).fetchall()
        return current, [current, *(self._row(r[0]) for r in rows)]

    def amend(self, key: str, version: str, changes: dict) -> bool:
        with self._write() as db:
            record = self._current(db, key)
            if record is None or record.version != version:
                return False
            self._set_current(db, amended(record, changes))
        return True
