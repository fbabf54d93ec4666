"""Changes to current images, each one ``BEGIN IMMEDIATE`` transaction."""

from __future__ import annotations

import os
import uuid

from ..base import Conflict, ImageRecord, amended
from .folders import count_photo
from .schema import Schema

BULK_CACHE_KIB = -262144  # page cache of a bulk write: 256 MiB (negative: in KiB)


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

    def put_many(self, records, *, keep_until: float | None = None, batch_size: int = 5000) -> list[ImageRecord]:
        """``put`` for many records (an import, a benchmark), a few thousand per transaction: the
        rows of a batch go in with one ``executemany`` per table. A key already taken is replaced
        as ``put`` would (the replaced record joins the history with ``keep_until``); returns the
        replaced records whose blobs may go (those not kept)."""
        dropped: list[ImageRecord] = []
        chunk: list[ImageRecord] = []
        db = self._connect()
        cache_size = db.execute("PRAGMA cache_size").fetchone()[0]
        db.execute(f"PRAGMA cache_size = {BULK_CACHE_KIB}")  # the indexes' pages stay in memory meanwhile
        # Every index row written here belongs to an images row of the same transaction: checking
        # each one's key against ``images`` (a quarter of the time) proves nothing more.
        db.execute("PRAGMA foreign_keys = OFF")
        try:
            for record in records:
                chunk.append(record)
                if len(chunk) >= batch_size:
                    dropped += self._put_batch(chunk, keep_until)
                    chunk = []
            if chunk:
                dropped += self._put_batch(chunk, keep_until)
        finally:
            db.execute("PRAGMA foreign_keys = ON")
            db.execute(f"PRAGMA cache_size = {int(cache_size)}")
        return dropped

    def _put_batch(self, records: list[ImageRecord], keep_until: float | None) -> list[ImageRecord]:
        dropped = []
        with self._write() as db:
            keys = list(dict.fromkeys(record.key for record in records))
            current: dict[str, ImageRecord] = {}  # each key's current record as the batch goes on
            for i in range(0, len(keys), 500):  # SQLite takes at most 32,766 parameters
                part = keys[i : i + 500]
                marks = ", ".join("?" * len(part))
                sql = f"SELECT record FROM images WHERE key IN ({marks})"  # noqa: S608 - only placeholders
                current.update((r.key, r) for r in (self._row(row[0]) for row in db.execute(sql, part)))
            for key in keys:  # a new key: one more photo in each folder above it
                if key not in current:
                    count_photo(db, key, 1)
            for key in list(current):  # their index rows make way for the new record's
                for table in ("labels", "words", "unlabelled"):
                    db.execute(f"DELETE FROM {table} WHERE key = ?", (key,))  # noqa: S608 - fixed names
            for record in records:  # a key given twice: the later one replaces the earlier, as with puts
                old = current.get(record.key)
                if old is not None:
                    record.created_at = old.created_at
                    record.lineage = old.lineage = old.lineage or record.lineage or uuid.uuid4().hex
                    if keep_until is not None:
                        self._retire(db, old, "history", keep_until)
                    else:
                        dropped.append(old)
                record.lineage = record.lineage or os.urandom(16).hex()  # as uuid4().hex, a third of the time
                current[record.key] = record
            self._insert_rows(db, [current[key] for key in keys])
        return dropped
