"""Listings: newest first by upload or by date taken, by prefix and label, and key suggestions."""

from __future__ import annotations

import json

from ...core.errors import InvalidParameter
from ..base import ImageRecord
from .layout import _ORDERS, IMAGES, _s
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

    def list(self, prefix: str = "", label: str = "", limit: int = 48, after=None, sort: str = "uploaded", words=()):
        """Newest first by upload or by date taken (``sort``). With a prefix: one Query of the key index
        first (no key has it: done), and at most FILTERED_PAGES pages read, so a page may hold fewer
        items than ``limit`` (even none) while a next position says where to go on. A search
        (``words``) reads the word index, which is in upload order whatever ``sort`` asks."""
        if sort not in _ORDERS:
            raise InvalidParameter(f"sort must be one of {', '.join(_ORDERS)}; got {sort!r}.")
        limit = max(1, int(limit))
        label = (label or "").lower()
        if words:
            return self._search(list(words), prefix, label, limit, after)
        feed_index, label_index, range_name = _ORDERS[sort]
        if prefix and after is None and not self.suggest(prefix, 1):
            return [], None
        if label:
            index, hash_name, hash_value = label_index, "label", label
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
        if prefix:
            query["FilterExpression"] = "begins_with(#k, :p)"
            query["ExpressionAttributeNames"]["#k"] = "key"
            query["ExpressionAttributeValues"][":p"] = _s(prefix)
        start = self._start(after, index, hash_name, hash_value, range_name) if after is not None else None

        # Fetch one more than a page: its presence says whether a next page exists.
        found: list[dict] = []
        pages = 0
        while True:
            want = limit + 1 - len(found)
            page = dict(query, Limit=max(want, FILTERED_PAGE_ITEMS) if prefix else want)
            if start:
                page["ExclusiveStartKey"] = start
            response = self._call("list", "query", **page)
            found += response.get("Items", [])
            start = response.get("LastEvaluatedKey")
            pages += 1
            if len(found) > limit or not start or (prefix and pages >= FILTERED_PAGES):
                break
        more = len(found) > limit
        found = found[:limit]
        records = (
            self._records(found) if label else [ImageRecord.from_dict(json.loads(i["record"]["S"])) for i in found]
        )
        if label:  # a label item may trail its image for a moment (GSIs are eventually consistent)
            records = [r for r in records if label in r.labels]
        if more:
            next_position = self._position(found[-1], index, hash_name, range_name)
        elif start:  # stopped reading before the end: go on after the last item read
            next_position = self._position(start, index, hash_name, range_name)
        else:
            next_position = None
        return records, next_position
