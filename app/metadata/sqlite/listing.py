"""Listings: newest first by upload or by date taken, by prefix, label and search words; suggestions."""

from __future__ import annotations

from ...core import search
from ...core.errors import InvalidParameter
from .positions import _position
from .rows import Rows
from .schema import ORDER_COLUMN, ORDER_INDEX, WORD_END


class Listings(Rows):
    def list(
        self,
        prefix: str = "",
        label: str = "",
        limit: int = 48,
        after=None,
        sort: str = "uploaded",
        words=(),
        *,
        favourite: bool = False,
        camera: str = "",
        taken_from: float | None = None,
        taken_to: float | None = None,
    ):
        column = ORDER_COLUMN.get(sort)
        if column is None:
            raise InvalidParameter(f"sort must be one of {', '.join(ORDER_COLUMN)}; got {sort!r}.")
        where, args = [], []
        if camera:  # the model's words narrow through the word index; the model itself decides
            words = [*words, *sorted(search.words(camera))]
            where.append("lower(json_extract(images.record, '$.exif.model')) = ?")
            args.append(camera.casefold())
        if favourite:
            where.append("images.key IN (SELECT key FROM favourites)")
        if taken_from is not None:
            where.append("images.taken >= ?")
            args.append(taken_from)
        if taken_to is not None:
            where.append("images.taken < ?")
            args.append(taken_to)
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
