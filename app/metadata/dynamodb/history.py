"""An image's history: the versions that replaced one another under its lineage."""

from __future__ import annotations

from ...core.errors import NotFound
from ..base import ImageRecord, Retired, moved
from .layout import HISTORY, IMAGES, _s
from .writes import CurrentImages


class History(CurrentImages):
    def versions(self, key: str) -> list[Retired]:
        current = self.get(key)
        if current is None:
            return []
        return self._lineage(current.lineage)

    def get_version(self, key: str, version: str) -> ImageRecord | None:
        current = self.get(key)
        if current is not None and current.version == version:
            return current
        found = self._get_retired(version)
        if found is None:
            return None
        record = found[0].record
        if record.key == key or (current is not None and current.lineage and record.lineage == current.lineage):
            return record
        return None

    def restore_version(self, key: str, version: str, *, keep_until: float | None = None):
        chosen = {}

        def build(old, ver):
            found = self._get_retired(version)
            if old is None or found is None or found[1] != HISTORY or found[0].record.lineage != old.lineage:
                raise NotFound(f"The image {key!r} has no earlier version {version!r}.")
            restored = chosen["record"] = self._clean(moved(found[0].record, key))
            restored.favourite = old.favourite  # the heart belongs to the photo, not a version
            kept = keep_until is not None  # one update per item in a transaction: the history's net change
            actions = [
                self._image_put(restored, ver),
                self._retired_delete(version, HISTORY),
                *self._index_actions(old, restored),
                self._usage(HISTORY, 0 if kept else -1, (old.bytes if kept else 0) - restored.bytes),
                self._usage(IMAGES, 0, restored.bytes - old.bytes),
            ]
            if kept:
                actions.append(self._retired_put(old, HISTORY, keep_until))
            return actions

        previous = self._transact(key, build, self._is_current(version))
        return chosen["record"], previous

    def history_page(self, key: str, limit: int = 48, after=None):
        current = self.get(key)
        if current is None or not current.lineage:
            return [], None
        limit = max(1, int(limit))
        query = {
            "TableName": self.table,
            "IndexName": "by_lineage",
            "KeyConditionExpression": "hist = :l",
            "ExpressionAttributeValues": {":l": _s(current.lineage)},
            "ScanIndexForward": False,
            "Limit": limit + 1,
        }
        if after is not None:
            query["ExclusiveStartKey"] = self._start(after, "by_lineage", "hist", current.lineage, "rorder")
        items = self._call("list", "query", **query).get("Items", [])
        more = len(items) > limit
        items = items[:limit]
        position = self._position(items[-1], "by_lineage", "hist", "rorder") if more else None
        return [self._retired(item) for item in items], position

    def trim_history(self, key: str, keep: int) -> list[ImageRecord]:
        current = self.get(key)
        if current is None or not current.lineage:
            return []
        dropped = []
        for retired in self._lineage(current.lineage)[max(0, keep) :]:  # newest first: the oldest go
            if self._drop(retired.record, HISTORY):
                dropped.append(retired.record)
        if dropped:
            self._call(
                "write",
                "update_item",
                TableName=self.table,
                Key={"pk": _s(f"dropped#{current.lineage}")},
                UpdateExpression="ADD n :d",
                ExpressionAttributeValues={":d": {"N": str(len(dropped))}},
            )
        return dropped

    def dropped_versions(self, key: str) -> int:
        current = self.get(key)
        if current is None or not current.lineage:
            return 0
        item = self._call("read", "get_item", TableName=self.table, Key={"pk": _s(f"dropped#{current.lineage}")})
        return int(item.get("Item", {}).get("n", {}).get("N", "0"))
