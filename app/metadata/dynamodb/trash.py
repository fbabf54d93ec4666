"""The trash (deleted images until their expiry) and purging what expired."""

from __future__ import annotations

from ...core.errors import NotFound
from ..base import Conflict, ImageRecord, moved
from .layout import EXPIRY_SHARDS, HISTORY, IMAGES, TRASH, _order, _s
from .writes import CurrentImages


class Trash(CurrentImages):
    def trash(self, limit: int = 48, after=None):
        limit = max(1, int(limit))
        query = {
            "TableName": self.table,
            "IndexName": "trash",
            "KeyConditionExpression": "tfeed = :t",
            "ExpressionAttributeValues": {":t": _s(TRASH)},
            "ScanIndexForward": False,
            "Limit": limit + 1,
        }
        if after is not None:
            query["ExclusiveStartKey"] = self._start(after, "trash", "tfeed", TRASH, "rorder")
        items = self._call("list", "query", **query).get("Items", [])
        more = len(items) > limit
        items = items[:limit]
        position = self._position(items[-1], "trash", "tfeed", "rorder") if more else None
        return [self._retired(item) for item in items], position

    def restore_trashed(self, key: str, version: str, *, target: str, replace_until: float | None = None):
        chosen = {}

        def build(old, ver):
            found = self._get_retired(version)
            if found is None or found[1] != TRASH or found[0].record.key != key:
                raise NotFound(f"The trash holds no image {key!r} of version {version!r}.")
            if old is not None and replace_until is None:
                raise Conflict(f"There is already an image with the key {target!r}.")
            restored = chosen["record"] = self._clean(moved(found[0].record, target))
            # One update per item in a transaction: the trash's net change.
            trash_delta = (0, old.bytes - restored.bytes) if old else (-1, -restored.bytes)
            actions = [
                self._image_put(restored, ver),
                self._retired_delete(version, TRASH),
                *self._index_actions(old, restored),
                self._usage(TRASH, *trash_delta),
                self._usage(IMAGES, 0 if old else 1, restored.bytes - (old.bytes if old else 0)),
            ]
            if old is not None:
                actions.append(self._retired_put(old, TRASH, replace_until))
            return actions

        previous = self._transact(target, build, self._is_current(version))
        return chosen["record"], previous

    def purge(self, now: float, *, trash: bool = False, limit: int = 500) -> list[ImageRecord]:
        dropped: list[ImageRecord] = []
        if trash:
            heads, _ = self.trash(limit=limit)
            for head in heads:
                for retired in self._lineage(head.record.lineage):
                    if self._drop(retired.record, HISTORY):
                        dropped.append(retired.record)
                if self._drop(head.record, TRASH):
                    dropped.append(head.record)
            return dropped
        for shard in range(EXPIRY_SHARDS):
            items = self._call(
                "purge",
                "query",
                TableName=self.table,
                IndexName="expiring",
                KeyConditionExpression="xfeed = :x AND xorder <= :now",
                ExpressionAttributeValues={":x": _s(f"expiring#{shard}"), ":now": _s(_order(now, "~"))},
                Limit=max(1, limit - len(dropped)),
            ).get("Items", [])
            for item in items:
                retired = self._retired(item)
                expired = ("expires_at <= :now", {":now": {"N": repr(now)}})
                if self._drop(retired.record, item["state"]["S"], expired):
                    dropped.append(retired.record)
            if len(dropped) >= limit:
                break
        return dropped
