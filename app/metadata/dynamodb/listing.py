"""Listings: newest first by upload or by date taken, by prefix and label, and key suggestions."""

from __future__ import annotations

import json
from dataclasses import dataclass

from ...core import search
from ...core.errors import InvalidParameter
from ..base import ImageRecord
from .layout import _FAVOURITE_ORDERS, _ORDERS, IMAGES, TAKEN_SHIFT, _s, _taken_bound, feed_shards
from .merge import MergedReads
from .word_search import WordSearch

# A prefix filter is applied while the newest-first index is read, so a rare prefix could read the
# whole feed: one listing reads at most FILTERED_PAGES × FILTERED_PAGE_ITEMS items (over all the
# feed's shards), then answers what it found (maybe nothing) with a cursor where it stopped.
FILTERED_PAGE_ITEMS = 500
FILTERED_PAGES = 8


class Listings(WordSearch, MergedReads):
    def suggest(self, prefix: str, limit: int = 10) -> list[str]:
        query = {
            "TableName": self.table,
            "IndexName": "by_key",
            "KeyConditionExpression": "#h = :h",
            "ExpressionAttributeNames": {"#h": "feed"},
            "ExpressionAttributeValues": {},
        }
        if prefix:  # DynamoDB refuses attribute names the expression does not use
            query["KeyConditionExpression"] += " AND begins_with(#k, :p)"
            query["ExpressionAttributeNames"]["#k"] = "key"
            query["ExpressionAttributeValues"][":p"] = _s(prefix)
        limit = max(1, int(limit))
        merged = self._merged(query, "feed", feed_shards(), "key", limit, accept=lambda items: [(i, i) for i in items])
        return [item["key"]["S"] for item, _ in merged.found]

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
        first (no key has it: done), and at most FILTERED_PAGES × FILTERED_PAGE_ITEMS items read, so a
        page may hold fewer items than ``limit`` (even none) while a next position says where to go on.
        A search (``words``) reads the word index of the same order.
        Favourites have their own sparse indexes; a date-taken range is a key condition in the
        "taken" order; what an index cannot say (camera, a favourite with a label, a range in the
        "uploaded" order) is checked on the records read, within the same bounded reading.
        The whole feed is read from its shards, merged (see ``merge``)."""
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
            index, hash_name, hash_value, partitions = label_index, "label", label, [label]
        elif favourite:
            index, hash_name, hash_value, partitions = _FAVOURITE_ORDERS[sort], "fav", IMAGES, [IMAGES]
            check = Extra(False, check.camera, taken_from, taken_to)  # the index says it
        else:
            index, hash_name, hash_value, partitions = feed_index, "feed", IMAGES, feed_shards()
        query = {
            "TableName": self.table,
            "IndexName": index,
            "KeyConditionExpression": "#h = :h",
            "ExpressionAttributeNames": {"#h": hash_name},
            "ExpressionAttributeValues": {},
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

        def accept(items: list[dict]) -> list[tuple[dict, ImageRecord]]:
            if label:  # label items hold keys: read their records (a label item may trail its image)
                records = {r.key: r for r in self._records(items) if label in r.labels}
            else:
                records = {i["key"]["S"]: ImageRecord.from_dict(json.loads(i["record"]["S"])) for i in items}
            chosen = [(item, records.get(item["key"]["S"])) for item in items]
            return [(item, record) for item, record in chosen if record is not None and check(record)]

        # Fetch one more than a page: its presence says whether a next page exists.
        want = limit + 1
        if filtered:
            share = max(1, FILTERED_PAGE_ITEMS // len(partitions))
            merged = self._merged(
                query, hash_name, partitions, range_name, want, accept=accept, after=start, chunk=share,
                refill=share, budget=FILTERED_PAGE_ITEMS * FILTERED_PAGES,
            )  # fmt: skip
        else:
            merged = self._merged(query, hash_name, partitions, range_name, want, accept=accept, after=start)
        found = merged.found
        if len(found) > limit:
            found = found[:limit]
            next_position = self._logical_position(found[-1][0], index, hash_name, hash_value, range_name)
        elif merged.stopped:  # stopped reading before the end: go on after the last item read
            next_position = self._logical_position(merged.stopped, index, hash_name, hash_value, range_name)
        else:
            next_position = None
        return [record for _, record in found], next_position

    @staticmethod
    def _logical_position(key: dict, index: str, hash_name: str, hash_value: str, range_name: str) -> dict:
        """A cursor names the listing (the feed, not the shard an item sits in): one position for all."""
        return {"i": index, "pk": key["pk"]["S"], "h": hash_value, "o": key[range_name]["S"]}


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
