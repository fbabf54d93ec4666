"""Counter items: usage (``count#images``/``history``/``trash``: ``n`` items, ``b`` bytes), per label
and unlabelled (``n``). Writes add to them inside the transaction that changes the items, so
they stay exact; reads never scan."""

from __future__ import annotations

from .layout import HISTORY, IMAGES, LABELS, TRASH, _s
from .table import DynamoTable


class Counters(DynamoTable):
    def _counter(self, pk: str, delta: int, label: str | None = None) -> dict:
        update = {
            "TableName": self.table,
            "Key": {"pk": _s(pk)},
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
                "Key": {"pk": _s(f"count#{name}")},
                "UpdateExpression": "ADD n :n, b :b",
                "ExpressionAttributeValues": {":n": {"N": str(count)}, ":b": {"N": str(size)}},
            }
        }

    def usage(self) -> dict[str, int]:
        keys = [{"pk": _s(f"count#{name}")} for name in (IMAGES, HISTORY, TRASH)]
        response = self._call("read", "batch_get_item", RequestItems={self.table: {"Keys": keys}})
        found = {item["pk"]["S"]: item for item in response.get("Responses", {}).get(self.table, [])}

        def number(name: str, field: str) -> int:
            return max(int(found.get(f"count#{name}", {}).get(field, {}).get("N", "0")), 0)

        return {
            "images": number(IMAGES, "n"),
            "current_bytes": number(IMAGES, "b"),
            "history": number(HISTORY, "n"),
            "history_bytes": number(HISTORY, "b"),
            "trashed": number(TRASH, "n"),
            "trash_bytes": number(TRASH, "b"),
        }

    def count(self) -> int:
        return self._count("count#images")

    def unlabelled_count(self) -> int:
        return self._count("count#unlabelled")

    def _count(self, pk: str) -> int:
        response = self._call("read", "get_item", TableName=self.table, Key={"pk": _s(pk)})
        return max(int(response.get("Item", {}).get("n", {}).get("N", "0")), 0)
