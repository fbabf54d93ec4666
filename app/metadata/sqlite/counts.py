"""Counts and usage, read from the counters the triggers keep (see schema): one indexed read,
whatever the size of the library."""

from __future__ import annotations

from .connection import Connection
from .schema import LABEL_COUNTERS


class Counts(Connection):
    def _counters(self, *names: str) -> dict[str, tuple[int, int]]:
        marks = ", ".join("?" * len(names))
        rows = self._connect().execute(f"SELECT name, n, b FROM counters WHERE name IN ({marks})", names)  # noqa: S608
        found = {name: (n, b) for name, n, b in rows}
        return {name: found.get(name, (0, 0)) for name in names}

    def usage(self) -> dict[str, int]:
        found = self._counters("images", "history", "trash")
        (images, current), (history, history_bytes), (trashed, trash_bytes) = found.values()
        return {
            "images": images,
            "current_bytes": current,
            "history": history,
            "history_bytes": history_bytes,
            "trashed": trashed,
            "trash_bytes": trash_bytes,
        }

    def unlabelled_count(self) -> int:
        return self._counters("unlabelled")["unlabelled"][0]

    def count(self) -> int:
        return self._counters("images")["images"][0]

    def all_labels(self) -> list[tuple[str, int]]:
        rows = self._connect().execute(
            "SELECT substr(name, 7), n FROM counters WHERE name > ? AND name < ? AND n > 0 ORDER BY name",
            LABEL_COUNTERS,
        )
        return [(r[0], r[1]) for r in rows]
