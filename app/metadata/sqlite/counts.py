"""Counts and usage, computed from the tables (SQLite counts its own rows quickly)."""

from __future__ import annotations

from .connection import Connection


class Counts(Connection):
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

    def unlabelled_count(self) -> int:
        return self._connect().execute("SELECT COUNT(*) FROM unlabelled").fetchone()[0]

    def count(self) -> int:
        return self._connect().execute("SELECT COUNT(*) FROM images").fetchone()[0]
