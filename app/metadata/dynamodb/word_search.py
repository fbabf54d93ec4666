"""Search: images whose words start with every query word, read from one ``by_word`` partition,
of a word pair when the query has one (see ``layout.pair_start``), else of a word start (how the
word index is laid out, and what it costs, is in the package doc)."""

from __future__ import annotations

from ...core import search
from ...core.errors import InvalidParameter
from ..base import ImageRecord
from .layout import WORD_ORDERS, _s, query_pairs, word_start
from .table import DynamoTable

# One search request reads at most this many index items (~250 B each: ~31 read units), then
# answers what it found (maybe fewer than a page, even none) with a cursor where it stopped: two
# words that seldom meet cost a bounded read per page, not a read of a whole partition.
SEARCH_READ_ITEMS = 1000
# Items read from each query word's partition to judge which is the sparsest (see ``_driver``).
PROBE_ITEMS = 16


class WordSearch(DynamoTable):
    def _search(self, wanted: list[str], prefix: str, label: str, limit: int, after, check=None, sort="uploaded"):
        """Images with a word starting with each of ``wanted``: one partition of the word index of
        ``sort``'s order (``by_word`` or ``by_word_taken``), filtered. Every matching image has an
        item in the partition of each query word, and of each pair of them that ``query_pairs``
        names, so any one of them finds all: a pair's if there is one, the sparsest if several
        (``_driver``), at most SEARCH_READ_ITEMS items a request. Pair items are hints written after
        the image (``pairs``): every record found is checked against the query again."""
        index, range_name = WORD_ORDERS[sort]
        names = {"#w": "words"}
        values = {}
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
        reading = _Reading(self, query)
        start_value, start = self._driver(reading, wanted, limit, after, index, range_name)
        size = limit + 1  # a word most of the partition has fills the page at once; else read more each time
        while len(reading.found) <= limit and start and reading.scanned < SEARCH_READ_ITEMS:
            page_size = min(max(limit + 1 - len(reading.found), size), SEARCH_READ_ITEMS - reading.scanned)
            size = min(size * 2, SEARCH_READ_ITEMS)
            start = reading.read(start_value, page_size, start)
        more = len(reading.found) > limit
        found = reading.found[:limit]
        # An index item may trail its image for a moment (GSIs are eventually consistent).
        records = [
            r for r in self._records(found) if _matches(r, wanted, prefix, label) and (check is None or check(r))
        ]
        if more and found:
            position = self._position(found[-1], index, "wstart", range_name)
        elif start:  # the read budget ran out first: go on after the last item read
            position = self._position(start, index, "wstart", range_name)
        else:
            position = None
        return records, position

    def _driver(self, reading: _Reading, wanted: list[str], limit: int, after, index: str, range_name: str):
        """The partition to read and where to go on in it (None: read to its end), with what was
        read so far in ``reading.found``. A batch word is its own partition (exact); a cursor names
        the partition its search read; two words read their pair's partition ("birthday dog":
        "birt+do", the images with both and few others); else, with several partitions to choose
        from (three words and their pairs, or words of several starts and no pair: "cat dog"),
        each is probed with PROBE_ITEMS items and the one whose probe reached furthest back
        (fewest items per stretch of time) is read on. The probes of the others are the price
        (≤ 16 items each)."""
        batch = [w for w in wanted if w.startswith("@")]
        singles = list(dict.fromkeys(word_start(w) for w in (batch[:1] or wanted)))
        starts = (not batch and query_pairs(wanted)) or singles
        if after is not None:
            chosen = after.get("h") if isinstance(after, dict) else None
            if chosen not in starts and chosen not in singles:  # a word start's cursor: from before pairs
                raise InvalidParameter("The cursor belongs to another listing; start again from the first page.")
            start = self._start(after, index, "wstart", chosen, range_name)
            return chosen, reading.read(chosen, limit + 1, start)
        if len(starts) == 1:
            return starts[0], reading.read(starts[0], limit + 1, None)
        probes = []  # (how far back it reached, partition, where to go on, its matches)
        for value in starts:
            before = len(reading.found)
            end = reading.read(value, PROBE_ITEMS, None)
            probes.append((end[range_name]["S"] if end else "", value, end, reading.found[before:]))
            del reading.found[before:]
            if end is None:  # read to its end: it holds every match
                break
        _, value, end, found = min(probes, key=lambda probe: probe[0])  # newest first: the lowest reached furthest
        reading.found += found
        return value, end


class _Reading:
    """What one search request has read: the matching items, and how many items it read."""

    def __init__(self, table: WordSearch, query: dict):
        self.table, self.query = table, query
        self.found: list[dict] = []
        self.scanned = 0

    def read(self, start_value: str, limit: int, start: dict | None) -> dict | None:
        """One Query of a partition; returns where to go on (None: its end)."""
        page = dict(self.query, Limit=max(1, limit))
        page["ExpressionAttributeValues"] = {**self.query["ExpressionAttributeValues"], ":s": _s(start_value)}
        if start:
            page["ExclusiveStartKey"] = start
        response = self.table._call("list", "query", **page)
        items = response.get("Items", [])
        self.found += items
        self.scanned += response.get("ScannedCount", len(items))
        return response.get("LastEvaluatedKey")


def _matches(record: ImageRecord, wanted: list[str], prefix: str, label: str) -> bool:
    have = search.record_words(record)
    return (
        record.key.startswith(prefix)
        and (not label or label in record.labels)
        and all(any(w.startswith(x) for w in have) for x in wanted)
    )
