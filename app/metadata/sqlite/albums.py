"""Albums: ``albums`` (one row per album, unique by its name's ``album_name_key``) and
``album_members`` (album, key, position). Pages join members with ``images``, so a trashed photo
drops out of its albums' pages and a restored or replaced one is back, with nothing to update."""

from __future__ import annotations

import json
import sqlite3

from ...core.errors import NotFound
from ..base import Album, Conflict, album_name_key
from .positions import _position
from .rows import Rows

ORDERS = {  # album sort → (column, direction): the listing orders are newest first, "manual" as placed
    "taken": ("images.taken", "DESC"),
    "uploaded": ("images.updated_at", "DESC"),
    "manual": ("album_members.position", "ASC"),
}


class AlbumTables(Rows):
    @staticmethod
    def _album(record_json: str) -> Album:
        return Album.from_dict(json.loads(record_json))

    def _store_album(self, db, album: Album, verb: str) -> None:
        try:
            db.execute(
                f"{verb} INTO albums (id, name_key, record) VALUES (?, ?, ?)",
                (album.id, album_name_key(album.name), json.dumps(album.to_dict())),
            )
        except sqlite3.IntegrityError:
            raise Conflict(f"There is already an album named {album.name!r}.") from None

    def create_album(self, album: Album) -> None:
        with self._write() as db:
            self._store_album(db, album, "INSERT")

    def get_album(self, album_id: str) -> Album | None:
        row = self._connect().execute("SELECT record FROM albums WHERE id = ?", (album_id,)).fetchone()
        return self._album(row[0]) if row else None

    def albums(self) -> list[Album]:
        rows = self._connect().execute("SELECT record FROM albums ORDER BY name_key, id")
        return [self._album(r[0]) for r in rows]

    def update_album(self, album: Album) -> None:
        with self._write() as db:
            if db.execute("SELECT 1 FROM albums WHERE id = ?", (album.id,)).fetchone() is None:
                raise NotFound(f"There is no album {album.id!r}.")
            try:
                db.execute(
                    "UPDATE albums SET name_key = ?, record = ? WHERE id = ?",
                    (album_name_key(album.name), json.dumps(album.to_dict()), album.id),
                )
            except sqlite3.IntegrityError:
                raise Conflict(f"There is already an album named {album.name!r}.") from None

    def delete_album(self, album_id: str) -> bool:
        with self._write() as db:
            return db.execute("DELETE FROM albums WHERE id = ?", (album_id,)).rowcount == 1

    def add_to_album(self, album_id: str, keys) -> int:
        with self._write() as db:
            last = db.execute("SELECT MAX(position) FROM album_members WHERE album = ?", (album_id,)).fetchone()[0]
            position, added = (last or 0.0), 0
            for key in keys:
                position += 1
                added += db.execute(
                    "INSERT OR IGNORE INTO album_members (album, key, position) VALUES (?, ?, ?)",
                    (album_id, key, position),
                ).rowcount
        return added

    def remove_from_album(self, album_id: str, keys) -> int:
        with self._write() as db:
            return sum(
                db.execute("DELETE FROM album_members WHERE album = ? AND key = ?", (album_id, key)).rowcount
                for key in keys
            )

    def album_keys(self, album_id: str) -> list[str]:
        rows = self._connect().execute(
            "SELECT key FROM album_members WHERE album = ? ORDER BY position, key", (album_id,)
        )
        return [r[0] for r in rows]

    def reorder_album(self, album_id: str, keys) -> None:
        with self._write() as db:
            rest = [
                r[0]
                for r in db.execute("SELECT key FROM album_members WHERE album = ? ORDER BY position, key", (album_id,))
            ]
            chosen = [k for k in dict.fromkeys(keys) if k in set(rest)]
            order = chosen + [k for k in rest if k not in set(chosen)]
            db.executemany(
                "UPDATE album_members SET position = ? WHERE album = ? AND key = ?",
                [(float(i + 1), album_id, key) for i, key in enumerate(order)],
            )

    def album_images(self, album_id: str, limit: int = 48, after=None, sort: str = "taken"):
        column, direction = ORDERS[sort]
        sql = (
            f"SELECT images.record, {column} FROM album_members JOIN images ON images.key = album_members.key"
            " WHERE album_members.album = ?"
        )
        args: list = [album_id]
        if after is not None:
            moment, key = _position(after, ("position", "key"))
            past = "<" if direction == "DESC" else ">"
            sql += f" AND ({column} {past} ? OR ({column} = ? AND images.key {past} ?))"
            args += [moment, moment, key]
        sql += f" ORDER BY {column} {direction}, images.key {direction} LIMIT ?"
        rows = self._connect().execute(sql, (*args, limit + 1)).fetchall()
        items = [self._row(r[0]) for r in rows[:limit]]
        return items, ([rows[limit - 1][1], items[-1].key] if len(rows) > limit else None)

    def album_count(self, album_id: str) -> int:
        return (
            self._connect()
            .execute(
                "SELECT COUNT(*) FROM album_members JOIN images ON images.key = album_members.key"
                " WHERE album_members.album = ?",
                (album_id,),
            )
            .fetchone()[0]
        )
