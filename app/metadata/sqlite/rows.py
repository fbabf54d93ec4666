"""The rows of one image: its current record with the rows that find it (labels, search words,
not yet labelled), and its retired versions."""

from __future__ import annotations

import json
import time

from ...core.search import record_words
from ..base import ImageRecord
from .connection import Connection
from .encoding import record_json
from .folders import count_photo


class Rows(Connection):
    @staticmethod
    def _row(record_json: str) -> ImageRecord:
        return ImageRecord.from_dict(json.loads(record_json))

    @staticmethod
    def _json(record: ImageRecord) -> str:
        return record_json(record)

    def _current(self, db, key: str) -> ImageRecord | None:
        row = db.execute("SELECT record FROM images WHERE key = ?", (key,)).fetchone()
        return self._row(row[0]) if row else None

    @staticmethod
    def _set_current(db, record: ImageRecord) -> None:
        appears = db.execute("SELECT 1 FROM images WHERE key = ?", (record.key,)).fetchone() is None
        db.execute(
            "INSERT OR REPLACE INTO images (key, updated_at, taken, bytes, record) VALUES (?, ?, ?, ?, ?)",
            (record.key, record.updated_at, record.taken_time(), record.bytes, Rows._json(record)),
        )
        Rows._index(db, record)
        if appears:  # a new key: one more photo in each folder above it
            count_photo(db, record.key, 1)

    @staticmethod
    def _index(db, record: ImageRecord) -> None:
        """The rows that find ``record``: by label, by search word, as not yet labelled, as a favourite."""
        for table in ("labels", "words", "unlabelled", "favourites"):
            db.execute(f"DELETE FROM {table} WHERE key = ?", (record.key,))  # noqa: S608 - fixed names
        db.executemany(
            "INSERT OR IGNORE INTO labels (label, key) VALUES (?, ?)", [(label, record.key) for label in record.labels]
        )
        db.executemany("INSERT INTO words (word, key) VALUES (?, ?)", [(w, record.key) for w in record_words(record)])
        if not record.labelled:
            db.execute("INSERT INTO unlabelled (key) VALUES (?)", (record.key,))
        if record.favourite:
            db.execute("INSERT INTO favourites (key) VALUES (?)", (record.key,))

    @staticmethod
    def _retire(db, record: ImageRecord, state: str, expires_at: float) -> None:
        Rows._retire_many(db, [record], state, expires_at)

    @staticmethod
    def _retire_many(db, records: list[ImageRecord], state: str, expires_at: float) -> None:
        now = time.time()
        db.executemany(
            "INSERT OR REPLACE INTO retired (version, key, lineage, state, retired_at, expires_at, bytes, record)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(r.version, r.key, r.lineage, state, now, expires_at, r.bytes, record_json(r)) for r in records],
        )
