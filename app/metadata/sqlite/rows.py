"""The rows of one image: its current record with the rows that find it (labels, search words,
not yet labelled), and its retired versions."""

from __future__ import annotations

import json
import re
import time

from ...core.search import batch_word, record_words, search_texts, words
from ..base import ImageRecord
from .connection import Connection
from .folders import count_photo

_BETWEEN_RUNS = re.compile(r"[\W_]+")  # what separates the letter/digit runs ``search.words`` splits on


class Rows(Connection):
    @staticmethod
    def _row(record_json: str) -> ImageRecord:
        return ImageRecord.from_dict(json.loads(record_json))

    @staticmethod
    def _json(record: ImageRecord) -> str:
        """The record as stored: its fields as JSON (``vars``, not ``asdict``, which deep-copies and
        costs more than the rest of a bulk write together)."""
        return json.dumps(vars(record))

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
    def _insert_rows(db, records: list[ImageRecord]) -> None:
        """The rows of many current records at once (their keys' old index rows already gone), each
        table's rows in its primary key's order, so the B-trees grow at few places at a time."""
        records = sorted(records, key=lambda r: r.key)
        db.executemany(
            "INSERT OR REPLACE INTO images (key, updated_at, taken, bytes, record) VALUES (?, ?, ?, ?, ?)",
            [(r.key, r.updated_at, r.taken_time(), r.bytes, Rows._json(r)) for r in records],
        )
        db.executemany(
            "INSERT OR IGNORE INTO labels (label, key) VALUES (?, ?)",
            sorted((label, r.key) for r in records for label in set(r.labels)),
        )
        words = WordCache()
        db.executemany(
            "INSERT OR IGNORE INTO words (word, key) VALUES (?, ?)",
            sorted((w, r.key) for r in records for w in words.of(r)),
        )
        db.executemany("INSERT INTO unlabelled (key) VALUES (?)", [(r.key,) for r in records if not r.labelled])

    @staticmethod
    def _retire(db, record: ImageRecord, state: str, expires_at: float) -> None:
        db.execute(
            "INSERT OR REPLACE INTO retired (version, key, lineage, state, retired_at, expires_at, bytes, record)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.version,
                record.key,
                record.lineage,
                state,
                time.time(),
                expires_at,
                record.bytes,
                Rows._json(record),
            ),
        )


class WordCache:
    """``record_words`` for many records that share folders, file name parts, camera models and
    labels: a text's words are the union of its letter/digit runs' words (a word never spans a run),
    each run's found once per batch."""

    def __init__(self):
        self._runs: dict[str, set[str]] = {}

    def of(self, record: ImageRecord) -> set[str]:
        found: set[str] = set()
        for text in search_texts(record):
            for run in _BETWEEN_RUNS.split(text):
                known = self._runs.get(run)
                if known is None:
                    known = self._runs[run] = words(run) if run else set()
                found |= known
        if record.batch:
            found.add(batch_word(record.batch))
        return found
