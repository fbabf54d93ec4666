"""An image's history: the versions that replaced one another under its lineage."""

from __future__ import annotations

from ...core.errors import NotFound
from ..base import ImageRecord, Retired, moved
from .positions import _position
from .writes import CurrentImages


class History(CurrentImages):
    def versions(self, key: str) -> list[Retired]:
        db = self._connect()
        current = self._current(db, key)
        if current is None or not current.lineage:
            return []
        rows = db.execute(
            "SELECT record, retired_at, expires_at FROM retired INDEXED BY retired_lineage WHERE lineage = ? AND state = 'history'"
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
            restored.favourite = current.favourite  # the heart belongs to the photo, not a version
            db.execute("DELETE FROM retired WHERE version = ?", (version,))
            self._set_current(db, restored)
            if keep_until is not None:
                self._retire(db, current, "history", keep_until)
        return restored, current

    def history_page(self, key: str, limit: int = 48, after=None):
        db = self._connect()
        current = self._current(db, key)
        if current is None or not current.lineage:
            return [], None
        sql = "SELECT record, retired_at, expires_at FROM retired INDEXED BY retired_lineage WHERE lineage = ? AND state = 'history'"
        args: list = [current.lineage]
        if after is not None:
            retired_at, version = _position(after, ("retired_at", "version"))
            sql += " AND (retired_at < ? OR (retired_at = ? AND version < ?))"
            args += [retired_at, retired_at, version]
        sql += " ORDER BY retired_at DESC, version DESC LIMIT ?"
        rows = db.execute(sql, (*args, limit + 1)).fetchall()
        items = [Retired(self._row(r[0]), r[1], r[2]) for r in rows[:limit]]
        return items, ([items[-1].retired_at, items[-1].record.version] if len(rows) > limit else None)

    def trim_history(self, key: str, keep: int) -> list[ImageRecord]:
        with self._write() as db:
            current = self._current(db, key)
            if current is None or not current.lineage:
                return []
            rows = db.execute(
                "DELETE FROM retired WHERE version IN (SELECT version FROM retired WHERE lineage = ?"
                " AND state = 'history' ORDER BY retired_at DESC, version DESC LIMIT -1 OFFSET ?) RETURNING record",
                (current.lineage, max(0, keep)),
            ).fetchall()
            if rows:
                name = f"dropped#{current.lineage}"
                db.execute("INSERT OR IGNORE INTO counters (name) VALUES (?)", (name,))
                db.execute("UPDATE counters SET n = n + ? WHERE name = ?", (len(rows), name))
        return [self._row(r[0]) for r in rows]

    def dropped_versions(self, key: str) -> int:
        db = self._connect()
        current = self._current(db, key)
        if current is None or not current.lineage:
            return 0
        row = db.execute("SELECT n FROM counters WHERE name = ?", (f"dropped#{current.lineage}",)).fetchone()
        return row[0] if row else 0
