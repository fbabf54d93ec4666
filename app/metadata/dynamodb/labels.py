"""Labels: setting an image's labels, the label list with counts, and what detection has not labelled."""

from __future__ import annotations

from ..base import ImageRecord
from .layout import IMAGES, LABELS, _s
from .writes import CurrentImages


class Labels(CurrentImages):
    def set_labels(self, key: str, labels: list[str], version: str | None = None) -> None:
        def build(old, ver):
            if old is None or (version is not None and old.version != version):
                return None
            new = self._clean(ImageRecord.from_dict({**old.to_dict(), "labels": list(labels), "labelled": True}))
            return [self._image_put(new, ver), *self._index_actions(old, new)]

        self._transact(key, build)

    def unlabelled(self, limit: int = 100, after=None):
        limit = max(1, int(limit))
        query = {
            "TableName": self.table,
            "IndexName": "unlabelled",
            "KeyConditionExpression": "nolabel = :n",
            "ExpressionAttributeValues": {":n": _s(IMAGES)},
            "Limit": limit + 1,
        }
        if after is not None:
            query["ExclusiveStartKey"] = self._start(after, "unlabelled", "nolabel", IMAGES, "key")
        items = self._call("list", "query", **query).get("Items", [])
        more = len(items) > limit
        items = items[:limit]
        position = self._position(items[-1], "unlabelled", "nolabel", "key") if more else None
        return [item["key"]["S"] for item in items], position

    def all_labels(self) -> list[tuple[str, int]]:
        items = self._query_all(
            IndexName="by_key",
            KeyConditionExpression="feed = :f",
            FilterExpression="n > :z",
            ExpressionAttributeValues={":f": _s(LABELS), ":z": {"N": "0"}},
        )
        return [(item["key"]["S"], int(item["n"]["N"])) for item in items]
