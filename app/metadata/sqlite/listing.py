"""Listings: newest first by upload or by date taken, by prefix, label and search words; suggestions.

A filtered page costs the same in a library of any size because its plan is chosen per request
from how many images each filter matches (counted up to ``DRIVE_LIMIT``, or read from the label
counters): the most selective filter under the limit *drives* (its matches are fetched by index
and only their order keys sorted), else the order's index is *walked* newest first and each row
probed against the filters (all match at least DRIVE_LIMIT images, so a page fills after about
``limit × library / DRIVE_LIMIT`` rows at worst)."""

from __future__ import annotations

from dataclasses import dataclass

from ...core.errors import InvalidParameter
from .positions import _position
from .rows import Rows
from .schema import ORDER_COLUMN, ORDER_INDEX, WORD_END

# Where driving by a filter's matches (fetch and sort them) costs as much as walking the order
# index: sqrt(page × library) for a million images is about 7,000.
DRIVE_LIMIT = 8000


@dataclass
class Filter:
    drive: str  # the condition that finds its matches by index
    probe: str  # the same condition checked for one images row
    args: tuple
    matches: int  # how many images it matches, counted up to DRIVE_LIMIT


class Listings(Rows):
    def _at_most(self, sql: str, args: tuple) -> int:
        """How many rows ``sql`` finds, counting no further than DRIVE_LIMIT."""
        return self._connect().execute(f"SELECT COUNT(*) FROM ({sql} LIMIT {DRIVE_LIMIT})", args).fetchone()[0]

    def _filters(self, prefix: str, label: str, words) -> list[Filter]:
        filters = []
        for word in words:  # a range on the words' primary key: every word that starts with it
            args = (word, word + WORD_END)
            filters.append(
                Filter(
                    "images.key IN (SELECT key FROM words WHERE word >= ? AND word < ?)",
                    "EXISTS (SELECT 1 FROM words WHERE key = images.key AND word >= ? AND word < ?)",
                    args,
                    self._at_most("SELECT 1 FROM words WHERE word >= ? AND word < ?", args),
                )
            )
        if prefix:  # a range on the primary key instead of LIKE, whose '_' would be a wildcard
            args = (prefix, prefix + "\U0010ffff")
            matches = self._at_most("SELECT 1 FROM images WHERE key >= ? AND key < ?", args)
            filters.append(
                Filter("images.key >= ? AND images.key < ?", "images.key >= ? AND images.key < ?", args, matches)
            )
        if label:
            label = label.lower()
            row = self._connect().execute("SELECT n FROM counters WHERE name = ?", (f"label#{label}",)).fetchone()
            filters.append(
                Filter(
                    "images.key IN (SELECT key FROM labels WHERE label = ?)",
                    "EXISTS (SELECT 1 FROM labels WHERE label = ? AND key = images.key)",
                    (label,),
                    row[0] if row else 0,
                )
            )
        return filters

    def list(self, prefix: str = "", label: str = "", limit: int = 48, after=None, sort: str = "uploaded", words=()):
        column = ORDER_COLUMN.get(sort)
        if column is None:
            raise InvalidParameter(f"sort must be one of {', '.join(ORDER_COLUMN)}; got {sort!r}.")
        filters = self._filters(prefix, label, words)
        driver = min(filters, key=lambda f: f.matches, default=None)
        if driver is not None and driver.matches >= DRIVE_LIMIT:
            driver = None
        where, args = [], []
        for f in filters:
            where.append(f.drive if f is driver else f.probe)
            args += f.args
        if after is not None:
            moment, key = _position(after, (column, "key"))
            where.append(f"(images.{column} < ? OR (images.{column} = ? AND images.key < ?))")
            args += [moment, moment, key]
        sql = f"SELECT record, {column} FROM images"
        if filters and driver is None:
            sql += f" INDEXED BY {ORDER_INDEX[sort]}"  # walk the order, probing each row
        if where:
            sql += " WHERE " + " AND ".join(where)
        if driver is not None:  # '+': sort the driver's few matches rather than walk the order's index
            sql += f" ORDER BY +images.{column} DESC, +images.key DESC LIMIT ?"
        else:
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
