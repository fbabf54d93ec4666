"""Search: images whose words start with every query word, read from one ``by_word`` partition
(how the word index is laid out, and what it costs, is in the package doc)."""

from __future__ import annotations

from ...core import search
from ..base import ImageRecord
from .layout import WORD_ORDERS, _s, word_start
from .table import DynamoTable


class WordSearch(DynamoTable):
    def _search(self, wanted: list[str], prefix: str, label: str, limit: int, after, check=None, sort="uploaded"):
        """Images with a word starting with each of ``wanted``: one partition of the word index of
        ``sort``'s order (``by_word`` or ``by_word_taken``), filtered."""
        index, range_name = WORD_ORDERS[sort]
        entry = min(wanted, key=lambda w: (not w.startswith("@"), -len(w)))  # a batch is read exactly
        start_value = word_start(entry)
        names = {"#w": "words"}
        values = {":s": _s(start_value)}
        conditions = []
        for i, word in enumerate(wanted):
            values[f":w{i}"] = _s(" " + word)
            conditions.append(f"contains(#w, :w{i})")
        if prefix:
            names["#k"] = "key"
            values[":p"] = _s(prefix)
            conditions.append("begins_with(#k, :p)")
        if label:
            names["#l"] = "labels"
            values[":l"] = _s(label)
            conditions.append("contains(#l, :l)")
        query = {
            "TableName": self.table,
            "IndexName": index,
            "KeyConditionExpression": "wstart = :s",
            "FilterExpression": " AND ".join(conditions),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
        }
        start = self._start(after, index, "wstart", start_value, range_name) if after is not None else None
        found: list[dict] = []
        size = limit + 1  # a word most of the partition has fills the page at once; else read more each time
        while True:
            page = dict(query, Limit=max(limit + 1 - len(found), size))
            size = min(size * 2, 1000)
            if start:
                page["ExclusiveStartKey"] = start
            response = self._call("list", "query", **page)
            found += response.get("Items", [])
            start = response.get("LastEvaluatedKey")
            if len(found) > limit or not start:
                break
        more = len(found) > limit
        found = found[:limit]
        # An index item may trail its image for a moment (GSIs are eventually consistent).
        records = [
            r for r in self._records(found) if _matches(r, wanted, prefix, label) and (check is None or check(r))
        ]
        return records, (self._position(found[-1], index, "wstart", range_name) if more and found else None)


def _matches(record: ImageRecord, wanted: list[str], prefix: str, label: str) -> bool:
    have = search.record_words(record)
    return (
        record.key.startswith(prefix)
        and (not label or label in record.labels)
        and all(any(w.startswith(x) for w in have) for x in wanted)
    )
