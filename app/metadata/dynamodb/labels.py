"""Labels: setting an image's labels, the label list with counts, and what detection has not labelled."""

from __future__ import annotations

from ..base import ImageRecord
from .layout import IMAGES, LABELS, _s, feed_shards
from .merge import MergedReads
from .writes import CurrentImages


class Labels(CurrentImages, MergedReads):
    def set_labels(self, key: str, labels: list[str], version: str | None = None) -> None:
        def build(old, ver):
            if old is None or (version is not None and old.version != version):
                return None
            new = self._clean(ImageRecord.from_dict({**old.to_dict(), "labels": list(labels), "labelled": True}))
            return [self._image_put(new, ver), *self._index_actions(old, new)]

        self._transact(key, build)

    def unlabelled(self, limit: int = 100, after=None):
        """Keys in key order, read from the shards of the ``unlabelled`` index, merged."""
        limit = max(1, int(limit))
        query = {
            "TableName": self.table,
            "IndexName": "unlabelled",
            "KeyConditionExpression": "#h = :h",
            "ExpressionAttributeNames": {"#h": "nolabel"},
            "ExpressionAttributeValues": {},
        }
        start = self._start(after, "unlabelled", "nolabel", IMAGES, "key") if after is not None else None
        merged = self._merged(
            query, "nolabel", feed_shards(), "key", limit + 1, accept=lambda items: [(i, i) for i in items], after=start
        )
        items = [item for item, _ in merged.found]
        more = len(items) > limit
        items = items[:limit]
        position = {"i": "unlabelled", "pk": items[-1]["pk"]["S"], "h": IMAGES, "o": items[-1]["key"]["S"]}
        return [item["key"]["S"] for item in items], (position if more else None)

    def all_labels(self) -> list[tuple[str, int]]:
        items = self._query_all(
            IndexName="by_key",
            KeyConditionExpression="feed = :f",
            ExpressionAttributeValues={":f": _s(LABELS)},
        )
        totals: dict[str, int] = {}
        for item in items:  # a label's counter shards, next to each other in key order
            label = item["key"]["S"]
            totals[label] = totals.get(label, 0) + int(item["n"]["N"])
        return [(label, n) for label, n in totals.items() if n > 0]
