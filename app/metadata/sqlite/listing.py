"""Listings: newest first by upload or by date taken, by prefix, label and search words; suggestions.

A filtered page stays cheap in a library of any size because its plan is chosen per request from
how many images each filter matches (counted up to ``COUNT_LIMIT``, or read from the label
counters): either the most selective filter *drives* (its matches are found by index and only
their order keys sorted: cost ~ its matches), or the order's index is *walked* newest first and
each row probed against the filters (cost ~ the rows walked until a page fills: the page size
divided by the filters' joint share of the library, taken as independent). The cheaper wins; a
filter matching COUNT_LIMIT or more never drives, so a walk reads at most about
``page × library / COUNT_LIMIT`` rows for one word (2,400 for a page of 48 in a million)."""

from __future__ import annotations

from dataclasses import dataclass

from ...core import search
from ...core.errors import InvalidParameter
from .positions import _position
from .rows import Rows
from .schema import ORDER_COLUMN, ORDER_INDEX, WORD_END

COUNT_LIMIT = 20_000  # matches counted per filter (a covering index range: about a millisecond)


@dataclass
class Filter:
    drive: str  # the condition that finds its matches by index
    probe: str  # the same condition checked for one images row
    args: tuple
    matches: int  # how many images it matches, counted up to DRIVE_LIMIT


class Listings(Rows):
    def _driver(self, filters: list[Filter], limit: int) -> Filter | None:
        """The filter whose matches to sort, or None to walk the order's index (see the module doc)."""
        if not filters:
            return None
        best = min(filters, key=lambda f: f.matches)
        if best.matches >= COUNT_LIMIT:
            return None
        images = self._connect().execute("SELECT n FROM counters WHERE name = 'images'").fetchone()[0]
        walked = limit + 1.0
        for f in filters:  # the rows a walk reads: the page over the filters' joint share
            walked *= images / max(f.matches, 1)
        return best if best.matches <= walked else None

    def _at_most(self, sql: str, args: tuple, most: int) -> int:
        """How many rows ``sql`` finds, counting no further than ``most``."""
        return self._connect().execute(f"SELECT COUNT(*) FROM ({sql} LIMIT {int(most)})", args).fetchone()[0]

    def _filters(self, prefix: str, label: str, words, most: int, favourite: bool = False) -> list[Filter]:
        filters = []
        for word in words:  # a range on the words' primary key: every word that starts with it
            args = (word, word + WORD_END)
            filters.append(
                Filter(
                    "images.key IN (SELECT key FROM words WHERE word >= ? AND word < ?)",
                    # By the image's own words (a dozen): the primary key would read every match of the range.
                    "EXISTS (SELECT 1 FROM words INDEXED BY words_by_key WHERE key = images.key"
                    " AND word >= ? AND word < ?)",
                    args,
                    self._at_most("SELECT 1 FROM words WHERE word >= ? AND word < ?", args, most),
                )
            )
        if prefix:  # a range on the primary key instead of LIKE, whose '_' would be a wildcard
            args = (prefix, prefix + "\U0010ffff")
            matches = self._at_most("SELECT 1 FROM images WHERE key >= ? AND key < ?", args, most)
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
        if favourite:
            filters.append(
                Filter(
                    "images.key IN (SELECT key FROM favourites)",
                    "EXISTS (SELECT 1 FROM favourites WHERE key = images.key)",
                    (),
                    self._at_most("SELECT 1 FROM favourites", (), most),
                )
            )
        return filters

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
        if taken_from is not None:
            where.append("images.taken >= ?")
            args.append(taken_from)
        if taken_to is not None:
            where.append("images.taken < ?")
            args.append(taken_to)
        filters = self._filters(prefix, label, words, COUNT_LIMIT, favourite)
        driver = self._driver(filters, limit)
        for f in filters:
            where.append(f.drive if f is driver else f.probe)
            args += f.args
        if after is not None:
            moment, key = _position(after, (column, "key"))
            # A row value, which SQLite reads as a range of the order's index: the OR of the two
            # comparisons walks the index from the top (150 ms for a page deep in a million rows).
            where.append(f"(images.{column}, images.key) < (?, ?)")
            args += [moment, key]
        conditions = (" WHERE " + " AND ".join(where)) if where else ""
        order = f"ORDER BY {column} DESC, key DESC"
        if driver is not None:
            # Sort the driver's matches by their order keys alone ('+': not by walking the order's
            # index), then read the page's records.
            sql = (
                f"SELECT record, {column} FROM images WHERE key IN (SELECT key FROM images{conditions}"
                f" ORDER BY +{column} DESC, +key DESC LIMIT ?) {order}"
            )
        elif filters:
            sql = f"SELECT record, {column} FROM images INDEXED BY {ORDER_INDEX[sort]}{conditions} {order} LIMIT ?"
        else:
            sql = f"SELECT record, {column} FROM images{conditions} {order} LIMIT ?"
        rows = self._connect().execute(sql, (*args, limit + 1)).fetchall()  # noqa: S608 - fixed names
        items = [self._row(r[0]) for r in rows[:limit]]
        next_after = [rows[limit - 1][1], items[-1].key] if len(rows) > limit else None
        return items, next_after

    def suggest(self, prefix: str, limit: int = 10) -> list[str]:
        rows = self._connect().execute(
            "SELECT key FROM images WHERE key >= ? AND key < ? ORDER BY key LIMIT ?",
            (prefix, prefix + "\U0010ffff", limit),
        )
        return [r[0] for r in rows]
