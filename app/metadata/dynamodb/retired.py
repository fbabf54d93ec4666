"""Retired version items ``retired#<version>``: a replaced version (``state`` "history", indexed by
its lineage) or a deleted image (``state`` "trash"), each with its expiry shard and usage counter."""

from __future__ import annotations

import json
import time
import zlib

from ..base import ImageRecord, Retired
from .counters import Counters
from .layout import EXPIRY_SHARDS, HISTORY, TRASH, _order, _s


class RetiredItems(Counters):
    def _retired_put(self, record: ImageRecord, state: str, expires_at: float) -> dict:
        """A replaced (``history``) or deleted (``trash``) version, with the index attributes that
        list it: by lineage (history), in the trash feed, and by expiry (both)."""
        now = time.time()
        item = {
            "pk": _s(f"retired#{record.version}"),
            "key": _s(record.key),
            "state": _s(state),
            "rorder": _s(_order(now, record.version)),
            "xfeed": _s(f"expiring#{zlib.crc32(record.version.encode()) % EXPIRY_SHARDS}"),
            "xorder": _s(_order(expires_at, record.version)),
            "retired_at": {"N": repr(now)},
            "expires_at": {"N": repr(expires_at)},
            "bytes": {"N": str(record.bytes)},
            "record": _s(json.dumps(record.to_dict())),
        }
        item["hist" if state == HISTORY else "tfeed"] = _s(record.lineage if state == HISTORY else TRASH)
        return {"Put": {"TableName": self.table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}

    def _retired_delete(self, version: str, state: str) -> dict:
        return {
            "Delete": {
                "TableName": self.table,
                "Key": {"pk": _s(f"retired#{version}")},
                "ConditionExpression": "#s = :s",
                "ExpressionAttributeNames": {"#s": "state"},
                "ExpressionAttributeValues": {":s": _s(state)},
            }
        }

    def _get_retired(self, version: str) -> tuple[Retired, str] | None:
        response = self._call(
            "read", "get_item", TableName=self.table, Key={"pk": _s(f"retired#{version}")}, ConsistentRead=True
        )
        item = response.get("Item")
        if not item:
            return None
        return self._retired(item), item["state"]["S"]

    @staticmethod
    def _retired(item: dict) -> Retired:
        record = ImageRecord.from_dict(json.loads(item["record"]["S"]))
        return Retired(record, float(item["retired_at"]["N"]), float(item["expires_at"]["N"]))

    def _lineage(self, lineage: str) -> list[Retired]:
        if not lineage:
            return []
        items = self._query_all(
            IndexName="by_lineage",
            KeyConditionExpression="hist = :l",
            ExpressionAttributeValues={":l": _s(lineage)},
            ScanIndexForward=False,
        )
        return [self._retired(item) for item in items]

    def _drop(self, record: ImageRecord, state: str, condition: tuple[str, dict] | None = None) -> bool:
        """Remove one retired version for good; False when it is already gone (restored or purged)."""
        delete = self._retired_delete(record.version, state)
        if condition:
            delete["Delete"]["ConditionExpression"] += f" AND {condition[0]}"
            delete["Delete"]["ExpressionAttributeValues"].update(condition[1])
        return self._conditional(
            "purge",
            "transact_write_items",
            "TransactionCanceledException",
            TransactItems=[delete, self._usage(state, -1, -record.bytes)],
        )
