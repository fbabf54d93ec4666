"""Images per month taken (the timeline's scrubber), and where the "taken" order reaches a month.

A month's counter is ``MONTH_COUNTER_SHARDS`` items ``count#month#<month>#<n>`` (``n`` images;
``feed`` "months" and ``key`` the month, so the ``by_key`` index lists them all in one Query);
the transaction that changes an image adds to one shard chosen at random, so a month that
takes every upload of the day stays below DynamoDB's write limit per key. Image items carry the
month they are counted under (``mon``): ``gallery init`` counts the images written before
(``_count_older_months``), once; until then the histogram misses them.
"""

from __future__ import annotations

import json
import random
from collections import Counter

from botocore.exceptions import BotoCoreError, ClientError

from ..base import UNDATED, ImageRecord
from .counters import Counters
from .layout import IMAGES, MONTH_COUNTER_SHARDS, MONTHS, TAKEN_SHIFT, UNDATED_TORDER_CEILING, _s, _torder


class Months(Counters):
    def _month_counter(self, month: str, delta: int) -> dict:
        shard = random.randrange(MONTH_COUNTER_SHARDS)
        return {
            "Update": {
                "TableName": self.table,
                "Key": {"pk": _s(f"count#month#{month}#{shard}")},
                "UpdateExpression": "ADD n :d SET feed = :f, #k = :m",
                "ExpressionAttributeNames": {"#k": "key"},
                "ExpressionAttributeValues": {":d": {"N": str(delta)}, ":f": _s(MONTHS), ":m": _s(month)},
            }
        }

    def _month_actions(self, old: ImageRecord | None, new: ImageRecord | None) -> list[dict]:
        """The month counters' share of a change of the current image from ``old`` to ``new``."""
        before = old.taken_month() if old is not None else None
        after = new.taken_month() if new is not None else None
        if before == after:
            return []
        return [self._month_counter(m, d) for m, d in ((before, -1), (after, 1)) if m is not None]

    def months(self) -> list[tuple[str, int]]:
        items = self._query_all(
            IndexName="by_key",
            KeyConditionExpression="feed = :f",
            ExpressionAttributeValues={":f": _s(MONTHS)},
        )
        counts: Counter[str] = Counter()
        for item in items:
            counts[item["key"]["S"]] += int(item.get("n", {}).get("N", "0"))
        dated = sorted((m for m, n in counts.items() if n > 0 and m != UNDATED), reverse=True)
        return [(m, counts[m]) for m in dated] + ([(UNDATED, counts[UNDATED])] if counts[UNDATED] > 0 else [])

    def taken_position(self, before: float) -> dict:
        # A start key below every item at or above ``before``: the item itself need not exist.
        bound = f"{before + TAKEN_SHIFT:020.6f}" if before > -TAKEN_SHIFT else UNDATED_TORDER_CEILING
        return {"i": "taken", "pk": "image#", "h": IMAGES, "o": bound}

    def _count_older_months(self) -> int:
        """Count, once, the images written before the month counters (no ``mon``), and move the
        undated ones to the end of the "taken" order (with their label items)."""
        items = self._query_feed(
            IndexName="newest", KeyConditionExpression="feed = :f", FilterExpression="attribute_not_exists(mon)"
        )
        done = 0
        for item in items:
            record = ImageRecord.from_dict(json.loads(item["record"]["S"]))
            update = {
                "TableName": self.table,
                "Key": {"pk": item["pk"]},
                "UpdateExpression": "SET mon = :m, torder = :t",
                "ConditionExpression": "ver = :v AND attribute_not_exists(mon)",  # not rewritten meanwhile
                "ExpressionAttributeValues": {
                    ":m": _s(record.taken_month()),
                    ":t": _s(_torder(record)),
                    ":v": item["ver"],
                },
            }
            labels = [
                {"Update": {"TableName": self.table, "Key": {"pk": _s(f"label#{label}#{record.key}")},
                 "UpdateExpression": "SET torder = :t", "ExpressionAttributeValues": {":t": _s(_torder(record))}}}
                for label in sorted(set(record.labels))
            ]  # fmt: skip
            actions = [{"Update": update}, self._month_counter(record.taken_month(), 1), *labels]
            try:
                self.client.transact_write_items(TransactItems=actions)
                done += 1
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise self._unavailable("count months", exc) from exc
            except BotoCoreError as exc:
                raise self._unavailable("count months", exc) from exc
        return done
