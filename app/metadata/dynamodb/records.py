"""The image item ``image#<key>``: the current record as JSON, its version for optimistic writes,
and the attributes that put it in the listing indexes."""

from __future__ import annotations

import json

from ..base import ImageRecord
from .folders import in_folder
from .layout import IMAGES, MAX_LABELS, PAIRS_PENDING, _order, _s, _torder, feed_shard
from .table import DynamoTable


class ImageItems(DynamoTable):
    def _get_item(self, key: str) -> tuple[ImageRecord | None, int]:
        record, ver, _ = self._get_image(key)
        return record, ver

    def _get_image(self, key: str) -> tuple[ImageRecord | None, int, str]:
        """The current record of ``key``, its version number and index version (None, 0, "")."""
        response = self._call(
            "read", "get_item", TableName=self.table, Key={"pk": _s(f"image#{key}")}, ConsistentRead=True
        )
        item = response.get("Item")
        if not item:
            return None, 0, ""
        record = ImageRecord.from_dict(json.loads(item["record"]["S"]))
        return record, int(item["ver"]["N"]), item.get("ix", {}).get("N", "")

    def _image_put(self, record: ImageRecord, old_ver: int, ix: str = PAIRS_PENDING) -> dict:
        """The Put of the image item. ``ix`` stays PAIRS_PENDING until its pair items are written
        (``pairs.settle``), unless the caller knows they are already."""
        item = {
            "pk": _s(f"image#{record.key}"),
            "key": _s(record.key),
            "feed": _s(feed_shard(record.key)),  # its shard of the feed: no partition takes every upload
            "order": _s(_order(record.updated_at, record.key)),
            "torder": _s(_torder(record)),
            "mon": _s(record.taken_month()),  # counted under this month (see months)
            "ver": {"N": str(old_ver + 1)},
            "ix": {"N": ix},
            "record": _s(json.dumps(record.to_dict())),
            "label": _s(in_folder(record.key)),  # its folder's partition of by_label_taken (folders.py)
        }
        if not record.labelled:
            item["nolabel"] = _s(feed_shard(record.key))
        if record.favourite:
            item["fav"] = _s(IMAGES)  # favourites change at a person's pace: one partition
        if record.sha256:  # the by_sha256 index: duplicates found by content
            item["sha"] = _s(record.sha256)
        return {"Put": {"TableName": self.table, "Item": item, **self._expect(old_ver)}}

    @staticmethod
    def _expect(old_ver: int) -> dict:
        if old_ver == 0:
            return {"ConditionExpression": "attribute_not_exists(pk)"}
        return {"ConditionExpression": "ver = :v", "ExpressionAttributeValues": {":v": {"N": str(old_ver)}}}

    @staticmethod
    def _clean(record: ImageRecord) -> ImageRecord:
        record.labels = sorted({label.lower() for label in record.labels})[:MAX_LABELS]
        return record
