"""Several partitions of one index read as one listing: the shards of the image feed (see
``layout.FEED_SHARDS``), merged in the order of their common range attribute.

The range values are unique (they end in the image's key), so the listing's order is total and
one position says where a page ended in every partition at once: the next page queries each
partition from just after it, and a cursor stays one position, not one per shard. A page first
queries every partition at once (threads) for half as much again as its share of the page, then
takes items in order from whichever partition holds the next one. A partition whose read items
are used up is queried again, for its share of what the page still lacks (+ ``SLACK``), only when
its next item could come before every item in hand: with the first reads' margin that is rare
for an even spread, so a page waits about one round trip and reads at most twice its items
(measured: docs/dynamodb-capacity.md); a table filled unevenly (an older one, everything in
shard 0) reads its page in a few Queries more.
"""

from __future__ import annotations

import functools
import math
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .layout import FEED_SHARDS, _s
from .table import DynamoTable

SLACK = 1  # items a partition read again gets beyond its share of what the page lacks


def first_share(want: int, partitions: int) -> int:
    """Each partition's first Limit: half as much again as an even share (+1), so a page seldom
    needs a second, sequential round of Queries, and never more than twice the page in all."""
    if partitions == 1:
        return want
    return max(1, min(math.ceil(1.5 * want / partitions) + 1, 2 * want // partitions))


@functools.cache
def _shard_reads() -> ThreadPoolExecutor:
    """Threads for the partitions' first Queries (a boto3 client may be shared between threads)."""
    return ThreadPoolExecutor(max_workers=FEED_SHARDS, thread_name_prefix="dynamodb-shards")


# Which of a Query's items belong in the listing, each with what the listing shows for it.
Accept = Callable[[list[dict]], list[tuple[dict, object]]]


@dataclass
class _Partition:
    value: str  # the index's hash value
    start: dict | None  # ExclusiveStartKey of its next Query
    done: bool = False  # read to its end
    seen: dict | None = None  # index key of the last item evaluated: everything before it was read
    taken: deque = field(default_factory=deque)  # accepted (item, shown) not yet in the listing


@dataclass
class Merged:
    found: list  # (item, shown) in the listing's order
    stopped: dict | None  # the read budget ran out: go on after this index key (None: it did not)


class MergedReads(DynamoTable):
    def _merged(
        self,
        query: dict,
        hash_name: str,
        partitions: list[str],
        range_name: str,
        want: int,
        *,
        accept: Accept,
        after: dict | None = None,
        chunk: int | None = None,
        refill: int = 1,
        budget: int | None = None,
    ) -> Merged:
        """Up to ``want`` accepted items of ``partitions`` in ``query``'s order (its key condition
        names the hash ``#h = :h``), after the index key ``after``. ``chunk`` is each partition's
        first Limit (default: its share of ``want``), ``refill`` the least a later one asks for; with a ``budget`` (items read) the
        reading stops once it is spent, except the first Query of each partition."""
        forward = query.get("ScanIndexForward", True)
        chunk = chunk or first_share(want, len(partitions))
        parts = [_Partition(value, dict(after, **{hash_name: _s(value)}) if after else None) for value in partitions]
        scanned = 0

        def before(a: str, b: str) -> bool:
            return a < b if forward else a > b

        def fetch(part: _Partition, limit: int) -> tuple[dict, list]:
            request = dict(query, Limit=max(1, limit))
            request["ExpressionAttributeValues"] = {**query["ExpressionAttributeValues"], ":h": _s(part.value)}
            if part.start:
                request["ExclusiveStartKey"] = part.start
            response = self._call("list", "query", **request)
            return response, accept(response.get("Items", []))

        def take(part: _Partition, response: dict, accepted: list) -> None:
            nonlocal scanned
            scanned += response.get("ScannedCount", len(response.get("Items", [])))
            part.taken.extend(accepted)
            part.start = response.get("LastEvaluatedKey")
            part.done = part.start is None
            part.seen = part.start or part.seen

        def read(part: _Partition, limit: int) -> None:
            take(part, *fetch(part, limit))

        # The first Query of every partition at once: a page waits about one round trip, not one per shard.
        for part, (response, accepted) in zip(parts, _shard_reads().map(lambda p: fetch(p, chunk), parts), strict=True):
            take(part, response, accepted)
        found: list = []
        while len(found) < want:
            holding = [p for p in parts if p.taken]
            best = None
            if holding:
                pick = min if forward else max
                best = pick(holding, key=lambda p: p.taken[0][0][range_name]["S"])
            head = best.taken[0][0][range_name]["S"] if best else None
            # A partition with nothing in hand may hold an item before ``head``: read it first.
            blocking = [
                p
                for p in parts
                if not p.taken and not p.done and (head is None or not before(head, p.seen[range_name]["S"]))
            ]
            if blocking:
                first = blocking[0]
                for p in blocking[1:]:
                    if before(p.seen[range_name]["S"], first.seen[range_name]["S"]):
                        first = p
                if budget is not None and scanned >= budget:
                    # Everything before ``first.seen`` is listed or refused; what is in hand comes after it.
                    return Merged(found, first.seen)
                # A partition used up is read again for its share of what the page lacks, among those
                # not read to their end: an even spread reads a few items more, an older table (all
                # in shard 0, the others empty) what it lacks at once.
                active = sum(not p.done for p in parts)
                read(first, max(math.ceil((want - len(found)) / active) + SLACK, refill))
                continue
            if best is None:
                break
            found.append(best.taken.popleft())
        return Merged(found, None)
