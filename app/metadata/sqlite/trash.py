"""The trash (deleted images until their expiry) and purging what expired."""

from __future__ import annotations

from ...core.errors import NotFound
from ..base import Conflict, ImageRecord, Retired, moved
from .positions import _position
from .writes import CurrentImages


class Trash(CurrentImages):
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
