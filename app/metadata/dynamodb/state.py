"""Shared state: items ``state#<name>`` with a ``value`` (in no index): the session epoch, claims."""

from __future__ import annotations

from .layout import _s
from .table import DynamoTable


class SharedState(DynamoTable):
    def get_state(self, name: str) -> str | None:
        response = self._call(
            "read", "get_item", TableName=self.table, Key={"pk": _s(f"state#{name}")}, ConsistentRead=True
        )
        item = response.get("Item")
        return item["value"]["S"] if item else None

    def put_state(self, name: str, value: str, *, if_absent: bool = False) -> bool:
        put = {"TableName": self.table, "Item": {"pk": _s(f"state#{name}"), "value": _s(value)}}
        if if_absent:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        return self._conditional("write", "put_item", "ConditionalCheckFailedException", **put)

    def delete_state(self, name: str) -> None:
        self._call("write", "delete_item", TableName=self.table, Key={"pk": _s(f"state#{name}")})
