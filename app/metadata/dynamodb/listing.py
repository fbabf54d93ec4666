"""Listings: newest first by upload or by date taken, by prefix and label, and key suggestions."""

from __future__ import annotations

import json
from dataclasses import dataclass

from ...core import search
from ...core.errors import InvalidParameter
from ..base import ImageRecord
from .layout import _FAVOURITE_ORDERS, _ORDERS, IMAGES, TAKEN_SHIFT, _s, _taken_bound
from .word_search import WordSearch

# A prefix filter is applied while the newest-first index is read, so a rare prefix could read the
# whole feed: one listing reads at most this many pages of this many items, then answers what it
# found (maybe nothing) with a cursor where it stopped.
FILTERED_PAGE_ITEMS = 500
FILTERED_PAGES = 8


class Listings(WordSearch):
    def suggest(self, prefix: str, limit: int = 10) -> list[str]:
        query = {
            "TableName": self.table,
            "IndexName": "by_key",
            "KeyConditionExpression": "feed = :f",
            "ExpressionAttributeValues": {":f": _s(IMAGES)},
            "Limit": max(1, int(limit)),
        }
        if prefix:  # DynamoDB refuses attribute names the expression does not use
            query["KeyConditionExpression"] += " AND begins_with(#k, :p)"
            query["ExpressionAttributeNames"] = {"#k": "key"}
            query["ExpressionAttributeValues"][":p"] = _s(prefix)
        response = self._call("read", "query", **query)
        return [item["key"]["S"] for item in response.get("Items", [])]

    def list(
        self,
        prefix: str = "",
        label: str = "",
        limit: int = 48,
        after=None,
        sort: str = "uploaded",
        words=(),
        *,
        favourite: bool = False,
        camera: str = "",
        taken_from: float | None = None,
        taken_to: float | None = None,
    ):
        """Newest first by upload or by date taken (``sort``). With a prefix: one Query of the key index
        first (no key has it: done), and at most FILTERED_PAGES pages read, so a page may hold fewer
        items than ``limit`` (even none) while a next position says where to go on. A search
        (``words``) reads the word index of the same order.
        Favourites have their own sparse indexes; a date-taken range is a key condition in the
        "taken" order; what an index cannot say (camera, a favourite with a label, a range in the
        "uploaded" order) is checked on the records read, within the same bounded reading."""
        if sort not in _ORDERS:
            raise InvalidParameter(f"sort must be one of {', '.join(_ORDERS)}; got {sort!r}.")
        limit = max(1, int(limit))
        label = (label or "").lower()
        check = Extra(favourite, camera.casefold(), taken_from, taken_to)
        if camera:  # the model's words find it through the word index
            words = [*words, *sorted(search.words(camera))]
        if words:
            return self._search(list(words), prefix, label, limit, after, check, sort)
        feed_index, label_index, range_name = _ORDERS[sort]
        if prefix and after is None and not self.suggest(prefix, 1):
            return [], None
        if label:
            index, hash_name, hash_value = label_index, "label", label
        elif favourite:
            index, hash_name, hash_value = _FAVOURITE_ORDERS[sort], "fav", IMAGES
            check = Extra(False, check.camera, taken_from, taken_to)  # the index says it
        else:
            index, hash_name, hash_value = feed_index, "feed", IMAGES
        query = {
            "TableName": self.table,
            "IndexName": index,
            "KeyConditionExpression": "#h = :h",
            "ExpressionAttributeNames": {"#h": hash_name},
            "ExpressionAttributeValues": {":h": _s(hash_value)},
            "ScanIndexForward": False,
        }
        if range_name == "torder" and (taken_from is not None or taken_to is not None):
            query["KeyConditionExpression"] += " AND #r BETWEEN :lo AND :hi"
            query["ExpressionAttributeNames"]["#r"] = "torder"
            low = _taken_bound(-TAKEN_SHIFT if taken_from is None else taken_from)
            high = "~" if taken_to is None else _taken_bound(taken_to)
            query["ExpressionAttributeValues"].update({":lo": _s(low), ":hi": _s(high)})
            check = Extra(check.favourite, check.camera, None, None)  # the key condition says it
        if prefix:
            query["FilterExpression"] = "begins_with(#k, :p)"
            query["ExpressionAttributeNames"]["#k"] = "key"
            query["ExpressionAttributeValues"][":p"] = _s(prefix)
        filtered = bool(prefix) or check.active
        start = self._start(after, index, hash_name, hash_value, range_name) if after is not None else None

        # Fetch one more than a page: its presence says whether a next page exists.
        found: list[tuple[dict, ImageRecord]] = []
        pages = 0
        while True:
            want = limit + 1 - len(found)
            page = dict(query, Limit=max(want, FILTERED_PAGE_ITEMS) if filtered else want)
            if start:
                page["ExclusiveStartKey"] = start
            response = self._call("list", "query", **page)
            items = response.get("Items", [])
            if label:  # label items hold keys: read their records (a label item may trail its image)
                records = {r.key: r for r in self._records(items) if label in r.labels}
            else:
                records = {i["key"]["S"]: ImageRecord.from_dict(json.loads(i["record"]["S"])) for i in items}
            for item in items:
                record = records.get(item["key"]["S"])
                if record is not None and check(record):
                    found.append((item, record))
            start = response.get("LastEvaluatedKey")
            pages += 1
            if len(found) > limit or not start or (filtered and pages >= FILTERED_PAGES):
                break
        more = len(found) > limit
        found = found[:limit]
        if more:
            next_position = self._position(found[-1][0], index, hash_name, range_name)
        elif start:  # stopped reading before the end: go on after the last item read
            next_position = self._position(start, index, hash_name, range_name)
        else:
            next_position = None
        return [record for _, record in found], next_position


@dataclass(frozen=True)
class Extra:
    """What a listing checks on the records it read, where no index could say it."""

    favourite: bool = False
    camera: str = ""  # casefolded EXIF model
    taken_from: float | None = None
    taken_to: float | None = None

    @property
    def active(self) -> bool:
        return self.favourite or bool(self.camera) or self.taken_from is not None or self.taken_to is not None

    def __call__(self, record: ImageRecord) -> bool:
        model = " ".join(str((record.exif or {}).get("model") or "").split()).casefold()
        return (
            (not self.favourite or record.favourite)
            and (not self.camera or model == self.camera)
            and (self.taken_from is None or record.taken_time() >= self.taken_from)
            and (self.taken_to is None or record.taken_time() < self.taken_to)
        )
