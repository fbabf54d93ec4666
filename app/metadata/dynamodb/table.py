"""The table itself: its client, how its errors read, paged reads and listing cursors."""

from __future__ import annotations

import json
import time

from botocore.exceptions import BotoCoreError, ClientError

from ...core.errors import BackendUnavailable, InvalidParameter
from ...runtime.aws import make_client, probe, unavailable
from ..base import ImageRecord
from .layout import _s, feed_shards

_RETRIES = 8


class DynamoTable:
    """What every part of the store stands on; each concern is a subclass of this."""

    def __init__(self, table: str, region: str = "us-east-1", client=None):
        self.table = table
        self.region = region
        self.client = client or make_client(region, "dynamodb")

    # Errors -------------------------------------------------------------------------------------

    def _unavailable(self, action: str, exc: Exception) -> BackendUnavailable:
        return unavailable(
            "Image metadata", "DynamoDB", action, exc, ("ResourceNotFoundException", f"table '{self.table}'")
        )

    def _call(self, action: str, method: str, **kwargs) -> dict:
        try:
            return getattr(self.client, method)(**kwargs)
        except ClientError as exc:
            raise self._unavailable(action, exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable(action, exc) from exc

    def _conditional(self, action: str, method: str, refusal: str, **kwargs) -> bool:
        """One write that may be refused by its condition: True when done, False when DynamoDB
        answered ``refusal`` (ConditionalCheckFailedException, TransactionCanceledException); any
        other failure is a clear 503."""
        try:
            getattr(self.client, method)(**kwargs)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == refusal:
                return False
            raise self._unavailable(action, exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable(action, exc) from exc

    def check(self) -> str:
        """Health: 'ok' when the table answers one eventually consistent read of an absent item."""
        return probe(
            lambda: self.client.get_item(TableName=self.table, Key={"pk": _s("health#probe")}),
            ({"ResourceNotFoundException"}, "table"),
        )

    # Reads ----------------------------------------------------------------------------------------

    def _records(self, label_items: list[dict]) -> list[ImageRecord]:
        """The image records behind label index items, in the items' order."""
        keys = [item["key"]["S"] for item in label_items]
        by_key: dict[str, ImageRecord] = {}
        for i in range(0, len(keys), 100):
            request = {self.table: {"Keys": [{"pk": _s(f"image#{k}")} for k in keys[i : i + 100]]}}
            for _ in range(_RETRIES):
                response = self._call("list", "batch_get_item", RequestItems=request)
                for item in response.get("Responses", {}).get(self.table, []):
                    record = ImageRecord.from_dict(json.loads(item["record"]["S"]))
                    by_key[record.key] = record
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
        return [by_key[k] for k in keys if k in by_key]

    def _write_items(self, requests: list[dict]) -> None:
        """One BatchWriteItem of up to 25 requests, what DynamoDB leaves unprocessed sent again after a pause."""
        pending = {self.table: requests}
        for attempt in range(_RETRIES):
            response = self._call("write", "batch_write_item", RequestItems=pending)
            pending = response.get("UnprocessedItems") or {}
            if not pending:
                return
            time.sleep(0.05 * 2**attempt)  # throttled: back off, then send what is left
        raise BackendUnavailable("Image metadata: DynamoDB kept refusing a batch write. Try again.")

    def _query_all(self, **query) -> list[dict]:
        items, start = [], None
        while True:
            page = dict(query, TableName=self.table)
            if start:
                page["ExclusiveStartKey"] = start
            response = self._call("read", "query", **page)
            items += response.get("Items", [])
            start = response.get("LastEvaluatedKey")
            if not start:
                return items

    def _query_feed(self, **query) -> list[dict]:
        """Every image item of an index keyed by ``feed`` (``:f`` in the key condition), shard by shard."""
        items = []
        for shard in feed_shards():
            values = {**query.get("ExpressionAttributeValues", {}), ":f": _s(shard)}
            items += self._query_all(**dict(query, ExpressionAttributeValues=values))
        return items

    # Cursors ----------------------------------------------------------------------------------------

    @staticmethod
    def _position(item: dict, index: str, hash_name: str, range_name: str) -> dict:
        """Where the next page starts: the last item's index key (the service signs it)."""
        return {"i": index, "pk": item["pk"]["S"], "h": item[hash_name]["S"], "o": item[range_name]["S"]}

    @staticmethod
    def _start(position, index: str, hash_name: str, hash_value: str, range_name: str) -> dict:
        """The query's ExclusiveStartKey from a position; it must belong to this same query."""
        fields = ("i", "pk", "h", "o")
        if not isinstance(position, dict) or not all(isinstance(position.get(f), str) for f in fields):
            raise InvalidParameter("The cursor is not valid; start again from the first page.")
        if not all(0 < len(position[f]) <= 1024 for f in fields):
            raise InvalidParameter("The cursor is not valid; start again from the first page.")
        if position["i"] != index or position["h"] != hash_value:
            raise InvalidParameter("The cursor belongs to another listing; start again from the first page.")
        return {"pk": _s(position["pk"]), hash_name: _s(position["h"]), range_name: _s(position["o"])}
