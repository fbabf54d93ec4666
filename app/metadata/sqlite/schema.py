"""The tables and indexes, and bringing a database made by an earlier version up to date."""

from __future__ import annotations

from .rows import Rows

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
CREATE TABLE IF NOT EXISTS favourites (
    key TEXT PRIMARY KEY REFERENCES images (key) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS albums (
    id TEXT PRIMARY KEY,
    name_key TEXT NOT NULL UNIQUE,
    record TEXT NOT NULL
);
-- Members by key, not tied to an image row: a trashed photo stays a member and shows again on restore.
CREATE TABLE IF NOT EXISTS album_members (
    album TEXT NOT NULL REFERENCES albums (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    position REAL NOT NULL,
    PRIMARY KEY (album, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS album_members_order ON album_members (album, position, key);
CREATE TABLE IF NOT EXISTS state (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""
# After SCHEMA, and after a database from before the "taken" order gained its column.
TAKEN_INDEX = "CREATE INDEX IF NOT EXISTS images_taken ON images (taken DESC, key DESC)"
# Duplicates are found by content (``digests``): the record's SHA-256, then the key, indexed.
DIGEST_INDEX = "CREATE INDEX IF NOT EXISTS images_sha256 ON images (json_extract(record, '$.sha256'), key)"
ORDER_COLUMN = {"uploaded": "updated_at", "taken": "taken"}
ORDER_INDEX = {"uploaded": "images_newest", "taken": "images_taken"}
# Databases written before ``words`` and ``unlabelled`` existed get them filled once on opening.
SCHEMA_VERSION = 1
WORD_END = "\U0010ffff"  # above any character: [w, w + WORD_END) holds every word starting with w


class Schema(Rows):
    def __init__(self, path: str):
        super().__init__(path)
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
            db.execute(DIGEST_INDEX)
        self._migrate()

    def _migrate(self) -> None:
        with self._write() as db:
            if db.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
                return
            for (record_json,) in db.execute("SELECT record FROM images").fetchall():
                self._index(db, self._row(record_json))
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def provision(self) -> list[str]:
        return ["metadata: sqlite (schema created on start)"]
