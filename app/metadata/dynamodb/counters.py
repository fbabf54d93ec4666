"""Counter items, sharded: usage (``count#images``/``history``/``trash``: ``n`` items, ``b`` bytes),
per label (``count#label#<label>``) and unlabelled (``n``). Writes add to them inside the
transaction that changes the items, so they stay exact; reads never scan.

A counter is ``COUNTER_SHARDS`` items (``count#images#0`` ... ``#7``; a label's
``LABEL_COUNTER_SHARDS``), each write adding to one chosen at random and a read summing them all
(one BatchGetItem, or the label list's Query): at 1,000 uploads/s a usage counter item takes ~125
transactional writes/s (250 write units), a label seen on every upload 250/s (500 units), both
below DynamoDB's 1,000 write units/s per key (a transactional write costs two). Counters written before the shards (no ``#<n>`` suffix) are
summed with them, so an older table needs no migration."""

from __future__ import annotations

import random

from .layout import COUNTER_SHARDS, HISTORY, IMAGES, LABEL_COUNTER_SHARDS, LABELS, TRASH, _s
from .table import _RETRIES, DynamoTable


def _shard(pk: str, shards: int = COUNTER_SHARDS) -> str:
    return f"{pk}#{random.randrange(shards)}"


class Counters(DynamoTable):
    def _counter(self, pk: str, delta: int, label: str | None = None) -> dict:
        update = {
            "TableName": self.table,
            "Key": {"pk": _s(_shard(pk, COUNTER_SHARDS if label is None else LABEL_COUNTER_SHARDS))},
            "ExpressionAttributeValues": {":d": {"N": str(delta)}},
        }
        if label is None:
            update["UpdateExpression"] = "ADD n :d"
        else:  # label counters appear in the by_key index, so the label list is a Query too
            update["UpdateExpression"] = "ADD n :d SET feed = :f, #k = :l"
            update["ExpressionAttributeNames"] = {"#k": "key"}
            update["ExpressionAttributeValues"].update({":f": _s(LABELS), ":l": _s(label)})
        return {"Update": update}

    def _usage(self, name: str, count: int, size: int) -> dict:
        """Count and bytes held by current images, history or trash (the status page's figures)."""
        return {
            "Update": {
                "TableName": self.table,
                "Key": {"pk": _s(_shard(f"count#{name}"))},
                "UpdateExpression": "ADD n :n, b :b",
                "ExpressionAttributeValues": {":n": {"N": str(count)}, ":b": {"N": str(size)}},
            }
        }

    def _sums(self, *names: str) -> dict[str, tuple[int, int]]:
        """``(n, b)`` of each counter: its shards and its unsharded item summed, in one BatchGetItem."""
        pks = [pk for name in names for pk in (name, *(f"{name}#{s}" for s in range(COUNTER_SHARDS)))]
        found: dict[str, dict] = {}
        request = {self.table: {"Keys": [{"pk": _s(pk)} for pk in pks]}}
        for _ in range(_RETRIES):
            response = self._call("read", "batch_get_item", RequestItems=request)
            found.update((item["pk"]["S"], item) for item in response.get("Responses", {}).get(self.table, []))
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break

        def total(name: str, field: str) -> int:
            items = (found.get(pk, {}) for pk in (name, *(f"{name}#{s}" for s in range(COUNTER_SHARDS))))
            return max(sum(int(item.get(field, {}).get("N", "0")) for item in items), 0)

        return {name: (total(name, "n"), total(name, "b")) for name in names}

    def usage(self) -> dict[str, int]:
        sums = self._sums(*(f"count#{name}" for name in (IMAGES, HISTORY, TRASH)))
        (images, current), (history, history_bytes), (trashed, trash_bytes) = sums.values()
        return {
            "images": images,
            "current_bytes": current,
            "history": history,
            "history_bytes": history_bytes,
            "trashed": trashed,
            "trash_bytes": trash_bytes,
        }

    def count(self) -> int:
        return self._sums("count#images")["count#images"][0]

    def unlabelled_count(self) -> int:
        return self._sums("count#unlabelled")["count#unlabelled"][0]
