"""Labels: setting an image's labels, the label list with counts, and what detection has not labelled."""

from __future__ import annotations

from ...core.errors import InvalidParameter
from .writes import CurrentImages


class Labels(CurrentImages):
    def set_labels(self, key: str, labels: list[str], version: str | None = None) -> None:
        with self._write() as db:
            record = self._current(db, key)
            if record is not None and (version is None or record.version == version):
                record.labels = sorted({label.lower() for label in labels})
                record.labelled = True
                self._set_current(db, record)

    def unlabelled(self, limit: int = 100, after=None):
        if after is not None and not isinstance(after, str):
            raise InvalidParameter("The position is not valid; start again from the first page.")
        rows = (
            self._connect()
            .execute("SELECT key FROM unlabelled WHERE key > ? ORDER BY key LIMIT ?", (after or "", limit + 1))
            .fetchall()
        )
        keys = [r[0] for r in rows[:limit]]
        return keys, (keys[-1] if len(rows) > limit else None)

    def all_labels(self) -> list[tuple[str, int]]:
        rows = self._connect().execute("SELECT label, COUNT(*) FROM labels GROUP BY label ORDER BY label")
        return [(r[0], r[1]) for r in rows]
