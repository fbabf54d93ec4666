"""Folders: a count per key prefix ending in "/", kept by the write that adds or removes a photo
(``count_photo``), and the photos directly in a folder through an index on the key's folder."""

from __future__ import annotations

import json

from ...core.errors import InvalidParameter
from ..base import Folder, ImageRecord, ancestors, parent_of
from .connection import Connection
from .positions import _position

FOLDERS_SCHEMA = """
CREATE TABLE IF NOT EXISTS folders (
    path TEXT PRIMARY KEY,
    parent TEXT NOT NULL,
    count INTEGER NOT NULL,
    cover TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS folders_by_parent ON folders (parent, path);
"""
# The folder of a key in SQL: trimming every trailing character that is not "/" leaves the key up
# to its last "/" ("a/b/c.jpg" -> "a/b/", "c.jpg" -> ""), built-in functions only, so it can be indexed.
FOLDER_OF_KEY = "rtrim(key, replace(key, '/', ''))"
FOLDER_INDEX = f"CREATE INDEX IF NOT EXISTS images_by_folder ON images ({FOLDER_OF_KEY}, taken DESC, key DESC)"
COUNTED = "folders counted"  # a ``state`` row: the counts of a database from before folders were made


ADD_TO_FOLDER = (
    "INSERT INTO folders (path, parent, count, cover) VALUES (?, ?, ?, ?) ON CONFLICT (path) DO UPDATE"
    " SET count = count + excluded.count, cover = CASE WHEN excluded.count > 0 THEN excluded.cover ELSE cover END"
)


def count_photo(db, key: str, delta: int) -> None:
    """Add ``delta`` (+1 a photo appeared under ``key``, -1 it went) to the count of each folder
    above it, inside the caller's write transaction; a folder left empty goes."""
    folders = ancestors(key)
    db.executemany(ADD_TO_FOLDER, [(path, parent_of(path), delta, key if delta > 0 else "") for path in folders])
    if delta < 0 and folders:
        db.execute(f"DELETE FROM folders WHERE count <= 0 AND path IN ({','.join('?' * len(folders))})", folders)


def count_new_photos(db, counts) -> None:
    """``count_photo`` of many new photos at once: (folder, photos added, its new cover) rows."""
    db.executemany(ADD_TO_FOLDER, [(path, parent_of(path), n, cover) for path, n, cover in counts])


class Folders(Connection):
    def _prepare_folders(self) -> None:
        """Create the folder table and index; a database from before them is counted once."""
        with self._write() as db:
            for statement in (*_statements(FOLDERS_SCHEMA), FOLDER_INDEX):  # executescript would commit
                db.execute(statement)
            if db.execute("SELECT 1 FROM state WHERE name = ?", (COUNTED,)).fetchone() is None:
                db.execute("DELETE FROM folders")
                for (key,) in db.execute("SELECT key FROM images").fetchall():
                    count_photo(db, key, 1)
                db.execute("INSERT INTO state (name, value) VALUES (?, '1')", (COUNTED,))

    def folders(self, parent: str = "", limit: int = 100, after=None):
        if after is not None and not isinstance(after, str):
            raise InvalidParameter("The position is not valid; start again from the first page.")
        rows = (
            self._connect()
            .execute(
                "SELECT path, count, cover FROM folders WHERE parent = ? AND path > ? AND count > 0"
                " ORDER BY path LIMIT ?",
                (parent, after or "", limit + 1),
            )
            .fetchall()
        )
        found = [Folder(*row) for row in rows[:limit]]
        return found, (found[-1].path if len(rows) > limit else None)

    def get_folder(self, path: str):
        row = self._connect().execute("SELECT path, count, cover FROM folders WHERE path = ?", (path,)).fetchone()
        return Folder(*row) if row and row[1] > 0 else None

    def folder_images(self, folder: str, limit: int = 48, after=None):
        sql = f"SELECT record, taken FROM images INDEXED BY images_by_folder WHERE {FOLDER_OF_KEY} = ?"
        args: list = [folder]
        if after is not None:
            moment, key = _position(after, ("taken", "key"))
            sql += " AND (taken < ? OR (taken = ? AND key < ?))"
            args += [moment, moment, key]
        sql += " ORDER BY taken DESC, key DESC LIMIT ?"
        rows = self._connect().execute(sql, (*args, limit + 1)).fetchall()
        items = [ImageRecord.from_dict(json.loads(r[0])) for r in rows[:limit]]
        return items, ([rows[limit - 1][1], items[-1].key] if len(rows) > limit else None)


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
