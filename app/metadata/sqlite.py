"""Metadata in SQLite (WAL mode), one connection per thread.

``images`` holds the current record of every key, its upload time and its ``taken`` sort time
(``ImageRecord.taken_time``), each indexed for a listing order (``labels`` its label index,
``words`` its search words, ``unlabelled`` the keys detection has not labelled yet); ``retired``
holds replaced versions (``state = 'history'``) and deleted images (``state = 'trash'``) until
their expiry. Every change is one ``BEGIN IMMEDIATE`` transaction, so concurrent writers
serialise and a key always has exactly one current version.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager

from ..core.errors import InvalidParameter, NotFound
from ..core.search import record_words
from .base import Conflict, ImageRecord, MetadataStore, Retired, amended, moved

SCHEMA = """
CREATE TABLE IF NOT EXISTS images (
    key TEXT PRIMARY KEY,
    updated_at REAL NOT NULL,
    record TEXT NOT NULL,
    taken REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS images_newest ON images (updated_at DESC, key DESC);
CREATE TABLE IF NOT EXISTS labels (
    label TEXT NOT NULL,
    key TEXT NOT NULL REFERENCES images (key) ON DELETE CASCADE,
    PRIMARY KEY (label, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS labels_by_key ON labels (key);
CREATE TABLE IF NOT EXISTS words (
    word TEXT NOT NULL,
    key TEXT NOT NULL REFERENCES images (key) ON DELETE CASCADE,
    PRIMARY KEY (word, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS words_by_key ON words (key);
CREATE TABLE IF NOT EXISTS unlabelled (
    key TEXT PRIMARY KEY REFERENCES images (key) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS retired (
    version TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    lineage TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('history', 'trash')),
    retired_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    bytes INTEGER NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS retired_lineage ON retired (lineage, state, retired_at DESC);
CREATE INDEX IF NOT EXISTS retired_trash ON retired (state, retired_at DESC, version DESC);
CREATE INDEX IF NOT EXISTS retired_expiry ON retired (expires_at);
CREATE TABLE IF NOT EXISTS state (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""
# After SCHEMA, and after a database from before the "taken" order gained its column.
TAKEN_INDEX = "CREATE INDEX IF NOT EXISTS images_taken ON images (taken DESC, key DESC)"
ORDER_COLUMN = {"uploaded": "updated_at", "taken": "taken"}
ORDER_INDEX = {"uploaded": "images_newest", "taken": "images_taken"}
# Databases written before ``words`` and ``unlabelled`` existed get them filled once on opening.
SCHEMA_VERSION = 1
WORD_END = "\U0010ffff"  # above any character: [w, w + WORD_END) holds every word starting with w


def _position(after, names: tuple[str, ...]) -> tuple:
    """A listing position as the store wrote it: a list of (number, str...) values."""
    if not isinstance(after, list) or len(after) != len(names):
        raise InvalidParameter("The cursor is not valid; start again from the first page.")
    number, *rest = after
    if not isinstance(number, int | float) or isinstance(number, bool) or not all(isinstance(x, str) for x in rest):
        raise InvalidParameter("The cursor is not valid; start again from the first page.")
    return (float(number), *rest)


class SqliteMetadataStore(MetadataStore):
    kind = "sqlite"

    def __init__(self, path: str):
        self.path = path
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self._local = threading.local()
        with self._connect() as db:
            db.executescript(SCHEMA)
        self._add_taken_column()

    def _add_taken_column(self) -> None:
        """Databases made before the "taken" order get its column, filled with the upload time
        (what it is for every image whose date taken is not known yet)."""
        with self._write() as db:
            columns = {row[1] for row in db.execute("PRAGMA table_info(images)")}
            if "taken" not in columns:
                db.execute("ALTER TABLE images ADD COLUMN taken REAL NOT NULL DEFAULT 0")
                db.execute("UPDATE images SET taken = updated_at")
            db.execute(TAKEN_INDEX)
        self._migrate()

    def _migrate(self) -> None:
        with self._write() as db:
            if db.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
                return
            for (record_json,) in db.execute("SELECT record FROM images").fetchall():
                self._index(db, self._row(record_json))
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _connect(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            self._local.db = db
        return db

    @contextmanager
    def _write(self):
        """One serialised read-modify-write transaction."""
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    @staticmethod
    def _row(record_json: str) -> ImageRecord:
        return ImageRecord.from_dict(json.loads(record_json))

    def _current(self, db, key: str) -> ImageRecord | None:
        row = db.execute("SELECT record FROM images WHERE key = ?", (key,)).fetchone()
        return self._row(row[0]) if row else None

    @staticmethod
    def _set_current(db, record: ImageRecord) -> None:
        db.execute(
            "INSERT OR REPLACE INTO images (key, updated_at, taken, record) VALUES (?, ?, ?, ?)",
            (record.key, record.updated_at, record.taken_time(), json.dumps(record.to_dict())),
        )
        SqliteMetadataStore._index(db, record)

    @staticmethod
    def _index(db, record: ImageRecord) -> None:
        """The rows that find ``record``: by label, by search word, and as not yet labelled."""
        for table in ("labels", "words", "unlabelled"):
            db.execute(f"DELETE FROM {table} WHERE key = ?", (record.key,))  # noqa: S608 - fixed names
        db.executemany(
            "INSERT OR IGNORE INTO labels (label, key) VALUES (?, ?)", [(label, record.key) for label in record.labels]
        )
        db.executemany("INSERT INTO words (word, key) VALUES (?, ?)", [(w, record.key) for w in record_words(record)])
        if not record.labelled:
            db.execute("INSERT INTO unlabelled (key) VALUES (?)", (record.key,))

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
                json.dumps(record.to_dict()),
            ),
        )

    # -- current images ---------------------------------------------------------------------
    def put(self, record: ImageRecord, *, if_absent: bool = False, keep_until: float | None = None):
        with self._write() as db:
            previous = self._current(db, record.key)
            if previous is not None:
                if if_absent:
                    raise Conflict(f"There is already an image with the key {record.key!r}.")
                record.created_at = previous.created_at
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
            if trash_until is not None:
                self._retire(db, current, "trash", trash_until)
                return current, []
            rows = []
            if current.lineage:
                rows = db.execute(
                    "DELETE FROM retired WHERE lineage = ? AND state = 'history' RETURNING record", (current.lineage,)
                ).fetchall()
        return current, [current, *(self._row(r[0]) for r in rows)]

    # -- history ----------------------------------------------------------------------------
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
            db.execute("DELETE FROM retired WHERE version = ?", (version,))
            self._set_current(db, restored)
            if keep_until is not None:
                self._retire(db, current, "history", keep_until)
        return restored, current

    # -- trash ------------------------------------------------------------------------------
    def trash(self, limit: int = 48, after=None):
        sql = "SELECT record, retired_at, expires_at FROM retired WHERE state = 'trash'"
        args: list = []
        if after is not None:
            retired_at, version = _position(after, ("retired_at", "version"))
            sql += " AND (retired_at < ? OR (retired_at = ? AND version < ?))"
            args += [retired_at, retired_at, version]
        sql += " ORDER BY retired_at DESC, version DESC LIMIT ?"
        rows = self._connect().execute(sql, (*args, limit + 1)).fetchall()
        items = [Retired(self._row(r[0]), r[1], r[2]) for r in rows[:limit]]
        more = len(rows) > limit
        return items, ([items[-1].retired_at, items[-1].record.version] if more else None)

    def restore_trashed(self, key: str, version: str, *, target: str, replace_until: float | None = None):
        with self._write() as db:
            row = db.execute(
                "SELECT record FROM retired WHERE version = ? AND key = ? AND state = 'trash'", (version, key)
            ).fetchone()
            if row is None:
                raise NotFound(f"The trash holds no image {key!r} of version {version!r}.")
            existing = self._current(db, target)
            if existing is not None:
                if replace_until is None:
                    raise Conflict(f"There is already an image with the key {target!r}.")
                self._retire(db, existing, "trash", replace_until)
            restored = moved(self._row(row[0]), target)
            db.execute("DELETE FROM retired WHERE version = ?", (version,))
            self._set_current(db, restored)
        return restored, existing

    def purge(self, now: float, *, trash: bool = False, limit: int = 500) -> list[ImageRecord]:
        with self._write() as db:
            if trash:  # every trashed image with the history of its lineage
                rows = db.execute(
                    "DELETE FROM retired WHERE version IN (SELECT version FROM retired WHERE state = 'trash'"
                    " OR (state = 'history' AND lineage IN (SELECT lineage FROM retired WHERE state = 'trash'))"
                    " LIMIT ?) RETURNING record",
                    (limit,),
                ).fetchall()
            else:
                rows = db.execute(
                    "DELETE FROM retired WHERE version IN (SELECT version FROM retired WHERE expires_at <= ? LIMIT ?)"
                    " RETURNING record",
                    (now, limit),
                ).fetchall()
        return [self._row(r[0]) for r in rows]

    def usage(self) -> dict[str, int]:
        db = self._connect()
        images, current = db.execute(
            "SELECT COUNT(*), COALESCE(SUM(json_extract(record, '$.bytes')), 0) FROM images"
        ).fetchone()
        usage = {"images": images, "current_bytes": current, "history": 0, "history_bytes": 0}
        usage |= {"trashed": 0, "trash_bytes": 0}
        for state, count, size in db.execute("SELECT state, COUNT(*), SUM(bytes) FROM retired GROUP BY state"):
            name = "trashed" if state == "trash" else "history"
            usage[name], usage[f"{state}_bytes"] = count, size
        return usage

    # -- listing ----------------------------------------------------------------------------
    def list(self, prefix: str = "", label: str = "", limit: int = 48, after=None, sort: str = "uploaded", words=()):
        column = ORDER_COLUMN.get(sort)
        if column is None:
            raise InvalidParameter(f"sort must be one of {', '.join(ORDER_COLUMN)}; got {sort!r}.")
        where, args = [], []
        for word in words:  # a range on the words' primary key: every word that starts with it
            where.append("images.key IN (SELECT key FROM words WHERE word >= ? AND word < ?)")
            args += [word, word + WORD_END]
        if prefix:
            # A range on the primary key instead of LIKE, whose '_' would be a wildcard.
            where.append("images.key >= ? AND images.key < ?")
            args += [prefix, prefix + "\U0010ffff"]
        if label:
            where.append("images.key IN (SELECT key FROM labels WHERE label = ?)")
            args.append(label.lower())
        if after is not None:
            moment, key = _position(after, (column, "key"))
            where.append(f"(images.{column} < ? OR (images.{column} = ? AND images.key < ?))")
            args += [moment, moment, key]
        sql = f"SELECT record, {column} FROM images"
        if words:
            # Walk the order's index and probe the words' keys (found once): the page fills after a
            # few rows for a common word, and a rare word probes index entries only. Left to itself,
            # SQLite would fetch and sort every match (5,000 records for "img" at 10,000 images).
            sql += f" INDEXED BY {ORDER_INDEX[sort]}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY {column} DESC, key DESC LIMIT ?"
        rows = self._connect().execute(sql, (*args, limit + 1)).fetchall()
        items = [self._row(r[0]) for r in rows[:limit]]
        next_after = [rows[limit - 1][1], items[-1].key] if len(rows) > limit else None
        return items, next_after

    def suggest(self, prefix: str, limit: int = 10) -> list[str]:
        rows = self._connect().execute(
            "SELECT key FROM images WHERE key >= ? AND key < ? ORDER BY key LIMIT ?",
            (prefix, prefix + "\U0010ffff", limit),
        )
        return [r[0] for r in rows]

    def set_labels(self, key: str, labels: list[str], version: str | None = None) -> None:
        with self._write() as db:
            record = self._current(db, key)
            if record is not None and (version is None or record.version == version):
                record.labels = sorted({label.lower() for label in labels})
                record.labelled = True
                self._set_current(db, record)

    def amend(self, key: str, version: str, changes: dict) -> bool:
        with self._write() as db:
            record = self._current(db, key)
            if record is None or record.version != version:
                return False
            self._set_current(db, amended(record, changes))
        return True

    def unlabelled(self, limit: int = 100, after=None):
        if after is not None and not isinstance(after, str):
            raise InvalidParameter("The position is not valid; start again from the first page.")
        rows = (
            self._connect()
            .execute("SELECT key FROM unlabelled WHERE key > ? ORDER BY key LIMIT ?", (after or "", limit + 1))
            .fetchall()
        )
        keys = [r[0] for r in rows[:limit]]
        return keys, (keys[-1] if len(rows) > limit else None)

    def unlabelled_count(self) -> int:
        return self._connect().execute("SELECT COUNT(*) FROM unlabelled").fetchone()[0]

    def all_labels(self) -> list[tuple[str, int]]:
        rows = self._connect().execute("SELECT label, COUNT(*) FROM labels GROUP BY label ORDER BY label")
        return [(r[0], r[1]) for r in rows]

    def count(self) -> int:
        return self._connect().execute("SELECT COUNT(*) FROM images").fetchone()[0]

    # -- shared state -----------------------------------------------------------------------
    def get_state(self, name: str) -> str | None:
        row = self._connect().execute("SELECT value FROM state WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def put_state(self, name: str, value: str, *, if_absent: bool = False) -> bool:
        verb = "INSERT OR IGNORE" if if_absent else "INSERT OR REPLACE"
        cursor = self._connect().execute(f"{verb} INTO state (name, value) VALUES (?, ?)", (name, value))
        return cursor.rowcount == 1

    def delete_state(self, name: str) -> None:
        self._connect().execute("DELETE FROM state WHERE name = ?", (name,))

    def provision(self) -> list[str]:
        return ["metadata: sqlite (schema created on start)"]

    def check(self) -> str:
        """Health: 'ok' when the database answers a one-row read (WAL: never blocked by a writer)."""
        try:
            self._connect().execute("SELECT 1 FROM images LIMIT 1").fetchall()
            return "ok"
        except sqlite3.Error as exc:
            return f"failed ({type(exc).__name__})"
