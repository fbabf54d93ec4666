"""The tables and indexes, and bringing a database made by an earlier version up to date."""

from __future__ import annotations

from .months import keep_month_counts
from .rows import Rows

SCHEMA = """
CREATE TABLE IF NOT EXISTS images (
    key TEXT PRIMARY KEY,
    updated_at REAL NOT NULL,
    record TEXT NOT NULL,
    taken REAL NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0
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
WORD_END = "\U0010ffff"  # above any character: [w, w + WORD_END) holds every word starting with w

# Counts and bytes kept as rows are written, so no page sums a table: ``images``, ``history`` and
# ``trash`` (``n`` and bytes ``b``), ``unlabelled``, ``label#<label>`` and ``dropped#<lineage>``
# (versions the per-key cap removed). Triggers keep them, inside the very transaction that changes
# the rows, whatever code writes them; ``recursive_triggers`` (see connection) makes the deletes
# of ``INSERT OR REPLACE`` count too.
COUNTERS = """
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    n INTEGER NOT NULL DEFAULT 0,
    b INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT OR IGNORE INTO counters (name) VALUES ('images'), ('history'), ('trash'), ('unlabelled');
CREATE TRIGGER IF NOT EXISTS count_image_in AFTER INSERT ON images BEGIN
    UPDATE counters SET n = n + 1, b = b + NEW.bytes WHERE name = 'images';
END;
CREATE TRIGGER IF NOT EXISTS count_image_out AFTER DELETE ON images BEGIN
    UPDATE counters SET n = n - 1, b = b - OLD.bytes WHERE name = 'images';
END;
CREATE TRIGGER IF NOT EXISTS count_image_change AFTER UPDATE OF bytes ON images BEGIN
    UPDATE counters SET b = b - OLD.bytes + NEW.bytes WHERE name = 'images';
END;
CREATE TRIGGER IF NOT EXISTS count_retired_in AFTER INSERT ON retired BEGIN
    UPDATE counters SET n = n + 1, b = b + NEW.bytes WHERE name = NEW.state;
END;
CREATE TRIGGER IF NOT EXISTS count_retired_out AFTER DELETE ON retired BEGIN
    UPDATE counters SET n = n - 1, b = b - OLD.bytes WHERE name = OLD.state;
END;
CREATE TRIGGER IF NOT EXISTS count_retired_change AFTER UPDATE OF state, bytes ON retired BEGIN
    UPDATE counters SET n = n - 1, b = b - OLD.bytes WHERE name = OLD.state;
    UPDATE counters SET n = n + 1, b = b + NEW.bytes WHERE name = NEW.state;
END;
CREATE TRIGGER IF NOT EXISTS count_unlabelled_in AFTER INSERT ON unlabelled BEGIN
    UPDATE counters SET n = n + 1 WHERE name = 'unlabelled';
END;
CREATE TRIGGER IF NOT EXISTS count_unlabelled_out AFTER DELETE ON unlabelled BEGIN
    UPDATE counters SET n = n - 1 WHERE name = 'unlabelled';
END;
CREATE TRIGGER IF NOT EXISTS count_label_in AFTER INSERT ON labels BEGIN
    INSERT INTO counters (name, n) VALUES ('label#' || NEW.label, 1) ON CONFLICT (name) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS count_label_out AFTER DELETE ON labels BEGIN
    UPDATE counters SET n = n - 1 WHERE name = 'label#' || OLD.label;
END;
"""
LABEL_COUNTERS = ("label#", "label$")  # the range of label counter names ('$' follows '#')

# Upgrades of databases written by earlier versions, run once each in order (PRAGMA user_version).
SCHEMA_VERSION = 2


class Schema(Rows):
    def __init__(self, path: str):
        super().__init__(path)
        db = self._connect()
        db.executescript(SCHEMA)
        self._add_columns()  # before the triggers, which read the ``bytes`` column
        db.executescript(COUNTERS)
        self._migrate()

    def _add_columns(self) -> None:
        """Databases made before the "taken" order get its column, filled with the upload time
        (what it is for every image whose date taken is not known yet); those made before the
        counters get the ``bytes`` column the counters add up, filled from the records."""
        with self._write() as db:
            columns = {row[1] for row in db.execute("PRAGMA table_info(images)")}
            if "taken" not in columns:
                db.execute("ALTER TABLE images ADD COLUMN taken REAL NOT NULL DEFAULT 0")
                db.execute("UPDATE images SET taken = updated_at")
            if "bytes" not in columns:
                db.execute("ALTER TABLE images ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0")
                db.execute("UPDATE images SET bytes = COALESCE(json_extract(record, '$.bytes'), 0)")
            db.execute(TAKEN_INDEX)
            db.execute(DIGEST_INDEX)
            keep_month_counts(db)

    def _migrate(self) -> None:
        with self._write() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version < 1:  # ``words`` and ``unlabelled`` did not exist: fill them once
                for (record_json,) in db.execute("SELECT record FROM images").fetchall():
                    self._index(db, self._row(record_json))
            if version < 2:  # the counters did not exist: count once what is there
                self._recount(db)
            if version < SCHEMA_VERSION:
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @staticmethod
    def _recount(db) -> None:
        """Set every counter from the tables (an upgrade, or a repair), in the caller's transaction."""
        db.execute("DELETE FROM counters WHERE name NOT LIKE 'dropped#%'")
        db.execute("INSERT INTO counters (name, n, b) SELECT 'images', COUNT(*), COALESCE(SUM(bytes), 0) FROM images")
        db.execute(
            "INSERT INTO counters (name, n, b) SELECT s.state, COUNT(r.version), COALESCE(SUM(r.bytes), 0)"
            " FROM (SELECT 'history' AS state UNION ALL SELECT 'trash') AS s"
            " LEFT JOIN retired AS r ON r.state = s.state GROUP BY s.state"
        )
        db.execute("INSERT INTO counters (name, n) SELECT 'unlabelled', COUNT(*) FROM unlabelled")
        db.execute("INSERT INTO counters (name, n) SELECT 'label#' || label, COUNT(*) FROM labels GROUP BY label")

    def provision(self) -> list[str]:
        return ["metadata: sqlite (schema created on start)"]
