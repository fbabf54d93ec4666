"""Metadata in SQLite (WAL mode), one connection per thread."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import threading

from ..errors import InvalidParameter
from .base import ImageRecord, MetadataStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS images (
    key TEXT PRIMARY KEY,
    updated_at REAL NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS images_newest ON images (updated_at DESC, key DESC);
CREATE TABLE IF NOT EXISTS labels (
    label TEXT NOT NULL,
    key TEXT NOT NULL REFERENCES images (key) ON DELETE CASCADE,
    PRIMARY KEY (label, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS labels_by_key ON labels (key);
"""


def encode_cursor(updated_at: float, key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([updated_at, key]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        updated_at, key = json.loads(base64.urlsafe_b64decode(padded))
        return float(updated_at), str(key)
    except (ValueError, TypeError) as exc:
        raise InvalidParameter("The cursor is not valid; start again from the first page.") from exc


class SqliteMetadataStore(MetadataStore):
    kind = "sqlite"

    def __init__(self, path: str):
        self.path = path
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self._local = threading.local()
        with self._connect() as db:
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            self._local.db = db
        return db

    @staticmethod
    def _row(record_json: str) -> ImageRecord:
        return ImageRecord.from_dict(json.loads(record_json))

    def put(self, record: ImageRecord) -> ImageRecord | None:
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")  # read-and-replace as one step, so concurrent writers serialise
        try:
            row = db.execute("SELECT record FROM images WHERE key = ?", (record.key,)).fetchone()
            previous = self._row(row[0]) if row else None
            db.execute(
                "INSERT OR REPLACE INTO images (key, updated_at, record) VALUES (?, ?, ?)",
                (record.key, record.updated_at, json.dumps(record.to_dict())),
            )
            db.execute("DELETE FROM labels WHERE key = ?", (record.key,))
            db.executemany(
                "INSERT OR IGNORE INTO labels (label, key) VALUES (?, ?)",
                [(label, record.key) for label in record.labels],
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return previous

    def get(self, key: str) -> ImageRecord | None:
        row = self._connect().execute("SELECT record FROM images WHERE key = ?", (key,)).fetchone()
        return self._row(row[0]) if row else None

    def delete(self, key: str) -> ImageRecord | None:
        db = self._connect()
        row = db.execute("DELETE FROM images WHERE key = ? RETURNING record", (key,)).fetchone()
        return self._row(row[0]) if row else None

    def list(self, prefix: str = "", label: str = "", limit: int = 48, cursor: str | None = None):
        where, args = [], []
        if prefix:
            # A range on the primary key instead of LIKE, whose '_' would be a wildcard.
            where.append("images.key >= ? AND images.key < ?")
            args += [prefix, prefix + "\U0010ffff"]
        if label:
            where.append("images.key IN (SELECT key FROM labels WHERE label = ?)")
            args.append(label.lower())
        if cursor:
            updated_at, key = decode_cursor(cursor)
            where.append("(images.updated_at < ? OR (images.updated_at = ? AND images.key < ?))")
            args += [updated_at, updated_at, key]
        sql = "SELECT record FROM images"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY updated_at DESC, key DESC LIMIT ?"
        rows = self._connect().execute(sql, (*args, limit + 1)).fetchall()
        items = [self._row(r[0]) for r in rows[:limit]]
        next_cursor = encode_cursor(items[-1].updated_at, items[-1].key) if len(rows) > limit else None
        return items, next_cursor

    def suggest(self, prefix: str, limit: int = 10) -> list[str]:
        rows = self._connect().execute(
            "SELECT key FROM images WHERE key >= ? AND key < ? ORDER BY key LIMIT ?",
            (prefix, prefix + "\U0010ffff", limit),
        )
        return [r[0] for r in rows]

    def set_labels(self, key: str, labels: list[str], version: str | None = None) -> None:
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT record FROM images WHERE key = ?", (key,)).fetchone()
            record = self._row(row[0]) if row is not None else None
            if record is not None and (version is None or record.version == version):
                record.labels = sorted({label.lower() for label in labels})
                db.execute("UPDATE images SET record = ? WHERE key = ?", (json.dumps(record.to_dict()), key))
                db.execute("DELETE FROM labels WHERE key = ?", (key,))
                db.executemany("INSERT INTO labels (label, key) VALUES (?, ?)", [(x, key) for x in record.labels])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def all_labels(self) -> list[tuple[str, int]]:
        rows = self._connect().execute("SELECT label, COUNT(*) FROM labels GROUP BY label ORDER BY label")
        return [(r[0], r[1]) for r in rows]

    def count(self) -> int:
        return self._connect().execute("SELECT COUNT(*) FROM images").fetchone()[0]

    def provision(self) -> list[str]:
        return ["metadata: sqlite (schema created on start)"]
