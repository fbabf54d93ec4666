"""Metadata in one DynamoDB table (on-demand capacity).

Items, all keyed by ``pk``:

- image ``image#<key>``: the record as JSON, a version number for optimistic writes, and the
  index attributes ``feed`` ("images"), ``order`` ("<updated_at>#<key>") and ``key``;
- label index ``label#<label>#<key>``: ``label`` + ``order``, one per label of an image, so
  filtering by label is a Query on a GSI, never a scan;
- counters ``count#images`` and ``count#label#<label>`` (``n``), kept exact by the same
  transactions that add and remove images.

GSIs (sparse: only items carrying their attributes appear):
``newest`` (feed, order) for newest-first listing, ``by_label`` (label, order) for label
filtering, ``by_key`` (feed, key) for key-order suggestions and the label list.

Every change is one ``TransactWriteItems`` conditioned on the version read just before, retried
on conflict, so the image item, its label items and the counters never disagree.
"""

from __future__ import annotations

import base64
import json
import random
import time

from botocore.exceptions import BotoCoreError, ClientError

from ..aws import make_client, unavailable
from ..errors import BackendUnavailable, InvalidParameter
from .base import ImageRecord, MetadataStore

IMAGES = "images"  # feed value of image items
LABELS = "labels"  # feed value of label counters
MAX_LABELS = 24  # one transaction holds ≤ 100 actions; worst case is 4 per label (put, delete, two counters) + 2
_RETRIES = 8


def _order(updated_at: float, key: str) -> str:
    # Fixed-width, so string order equals time order; the key breaks ties like SQLite's (updated_at, key) DESC.
    return f"{max(updated_at, 0.0):018.6f}#{key}"


def _s(value: str) -> dict:
    return {"S": value}


class DynamoMetadataStore(MetadataStore):
    kind = "dynamodb"

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

    # Items ------------------------------------------------------------------------------------------

    def _get_item(self, key: str) -> tuple[ImageRecord | None, int]:
        response = self._call(
            "read", "get_item", TableName=self.table, Key={"pk": _s(f"image#{key}")}, ConsistentRead=True
        )
        item = response.get("Item")
        if not item:
            return None, 0
        return ImageRecord.from_dict(json.loads(item["record"]["S"])), int(item["ver"]["N"])

    def _image_put(self, record: ImageRecord, old_ver: int) -> dict:
        item = {
            "pk": _s(f"image#{record.key}"),
            "key": _s(record.key),
            "feed": _s(IMAGES),
            "order": _s(_order(record.updated_at, record.key)),
            "ver": {"N": str(old_ver + 1)},
            "record": _s(json.dumps(record.to_dict())),
        }
        return {"Put": {"TableName": self.table, "Item": item, **self._expect(old_ver)}}

    @staticmethod
    def _expect(old_ver: int) -> dict:
        if old_ver == 0:
            return {"ConditionExpression": "attribute_not_exists(pk)"}
        return {"ConditionExpression": "ver = :v", "ExpressionAttributeValues": {":v": {"N": str(old_ver)}}}

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

    def _label_actions(self, old: ImageRecord | None, new: ImageRecord | None) -> list[dict]:
        old_labels = set(old.labels) if old else set()
        new_labels = set(new.labels) if new else set()
        key = (new or old).key
        actions = []
        for label in sorted(new_labels):
            item = {
                "pk": _s(f"label#{label}#{key}"),
                "label": _s(label),
                "order": _s(_order(new.updated_at, key)),
                "key": _s(key),
            }
            actions.append({"Put": {"TableName": self.table, "Item": item}})
        for label in sorted(old_labels - new_labels):
            actions.append({"Delete": {"TableName": self.table, "Key": {"pk": _s(f"label#{label}#{key}")}}})
            actions.append(self._counter(f"count#label#{label}", -1, label))
        for label in sorted(new_labels - old_labels):
            actions.append(self._counter(f"count#label#{label}", 1, label))
        return actions

    def _transact(self, key: str, build) -> ImageRecord | None:
        """Read the current record, build the actions from it, write them conditioned on its version."""
        for attempt in range(_RETRIES):
            old, ver = self._get_item(key)
            actions = build(old, ver)
            if actions is None:
                return old
            try:
                self.client.transact_write_items(TransactItems=actions)
                return old
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code not in ("TransactionCanceledException", "TransactionConflictException"):
                    raise self._unavailable("write", exc) from exc
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                if any(r not in (None, "None", "ConditionalCheckFailed", "TransactionConflict") for r in reasons):
                    raise self._unavailable("write", exc) from exc
                time.sleep(random.uniform(0, 0.02 * 2**attempt))  # another writer won; re-read and retry
            except BotoCoreError as exc:
                raise self._unavailable("write", exc) from exc
        raise BackendUnavailable(f"Image metadata for '{key}' is being changed by many writers at once. Try again.")

    @staticmethod
    def _clean(record: ImageRecord) -> ImageRecord:
        record.labels = sorted({label.lower() for label in record.labels})[:MAX_LABELS]
        return record

    # MetadataStore protocol -----------------------------------------------------------------------

    def put(self, record: ImageRecord) -> ImageRecord | None:
        record = self._clean(record)

        def build(old, ver):
            actions = [self._image_put(record, ver), *self._label_actions(old, record)]
            if old is None:
                actions.append(self._counter("count#images", 1))
            return actions

        return self._transact(record.key, build)

    def get(self, key: str) -> ImageRecord | None:
        return self._get_item(key)[0]

    def delete(self, key: str) -> ImageRecord | None:
        def build(old, ver):
            if old is None:
                return None
            delete = {"Delete": {"TableName": self.table, "Key": {"pk": _s(f"image#{key}")}, **self._expect(ver)}}
            return [delete, *self._label_actions(old, None), self._counter("count#images", -1)]

        return self._transact(key, build)

    def set_labels(self, key: str, labels: list[str], version: str | None = None) -> None:
        def build(old, ver):
            if old is None or (version is not None and old.version != version):
                return None
            new = self._clean(ImageRecord.from_dict({**old.to_dict(), "labels": list(labels)}))
            return [self._image_put(new, ver), *self._label_actions(old, new)]

        self._transact(key, build)

    def count(self) -> int:
        response = self._call("read", "get_item", TableName=self.table, Key={"pk": _s("count#images")})
        return max(int(response.get("Item", {}).get("n", {}).get("N", "0")), 0)

    def all_labels(self) -> list[tuple[str, int]]:
        items = self._query_all(
            IndexName="by_key",
            KeyConditionExpression="feed = :f",
            FilterExpression="n > :z",
            ExpressionAttributeValues={":f": _s(LABELS), ":z": {"N": "0"}},
        )
        return [(item["key"]["S"], int(item["n"]["N"])) for item in items]

    def suggest(self, prefix: str, limit: int = 10) -> list[str]:
        values = {":f": _s(IMAGES)}
        condition = "feed = :f"
        if prefix:
            condition += " AND begins_with(#k, :p)"
            values[":p"] = _s(prefix)
        response = self._call(
            "read",
            "query",
            TableName=self.table,
            IndexName="by_key",
            KeyConditionExpression=condition,
            ExpressionAttributeNames={"#k": "key"},
            ExpressionAttributeValues=values,
            Limit=max(1, int(limit)),
        )
        return [item["key"]["S"] for item in response.get("Items", [])]

    def list(self, prefix: str = "", label: str = "", limit: int = 48, cursor: str | None = None):
        limit = max(1, int(limit))
        label = (label or "").lower()
        if label:
            index, hash_name, hash_value = "by_label", "label", label
        else:
            index, hash_name, hash_value = "newest", "feed", IMAGES
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
        start = self._decode_cursor(cursor, index, hash_name, hash_value) if cursor else None

        # Fetch one more than a page: its presence says whether a next page exists.
        found: list[dict] = []
        while True:
            want = limit + 1 - len(found)
            page = dict(query, Limit=max(want, 100) if prefix else want)
            if start:
                page["ExclusiveStartKey"] = start
            response = self._call("list", "query", **page)
            found += response.get("Items", [])
            start = response.get("LastEvaluatedKey")
            if len(found) > limit or not start:
                break
        more = len(found) > limit
        found = found[:limit]
        records = (
            self._records(found) if label else [ImageRecord.from_dict(json.loads(i["record"]["S"])) for i in found]
        )
        if label:  # a label item may trail its image for a moment (GSIs are eventually consistent)
            records = [r for r in records if label in r.labels]
        next_cursor = self._encode_cursor(found[-1], index, hash_name) if more and found else None
        return records, next_cursor

    # Helpers ------------------------------------------------------------------------------------------

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

    @staticmethod
    def _encode_cursor(item: dict, index: str, hash_name: str) -> str:
        position = {"i": index, "pk": item["pk"]["S"], "h": item[hash_name]["S"], "o": item["order"]["S"]}
        return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")

    @staticmethod
    def _decode_cursor(cursor: str, index: str, hash_name: str, hash_value: str) -> dict:
        """The cursor is the query's LastEvaluatedKey; it must belong to this same query."""
        try:
            padded = cursor + "=" * (-len(cursor) % 4)
            position = json.loads(base64.urlsafe_b64decode(padded.encode()))
            fields = (position["i"], position["pk"], position["h"], position["o"])
            valid = all(isinstance(f, str) and 0 < len(f) <= 1024 for f in fields)
        except (ValueError, TypeError, KeyError) as exc:
            raise InvalidParameter("The cursor is not valid; start again from the first page.") from exc
        if not valid or position["i"] != index or position["h"] != hash_value:
            raise InvalidParameter("The cursor belongs to another listing; start again from the first page.")
        return {"pk": _s(position["pk"]), hash_name: _s(position["h"]), "order": _s(position["o"])}

    # Provisioning (`flask gallery init`) ----------------------------------------------------------------

    def provision(self, wait: bool = True) -> list[str]:
        """Create the table and its indexes if missing; return what was done."""
        try:
            self.client.describe_table(TableName=self.table)
            return [f"DynamoDB table {self.table} already exists"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise self._unavailable("describe", exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable("describe", exc) from exc

        def gsi(name, hash_name, range_name, projection):
            return {
                "IndexName": name,
                "KeySchema": [
                    {"AttributeName": hash_name, "KeyType": "HASH"},
                    {"AttributeName": range_name, "KeyType": "RANGE"},
                ],
                "Projection": projection,
            }

        self._call(
            "create table",
            "create_table",
            TableName=self.table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": name, "AttributeType": "S"} for name in ("pk", "feed", "order", "label", "key")
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            GlobalSecondaryIndexes=[
                gsi("newest", "feed", "order", {"ProjectionType": "ALL"}),
                gsi("by_label", "label", "order", {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["key"]}),
                gsi("by_key", "feed", "key", {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["n"]}),
            ],
        )
        if wait:
            self.client.get_waiter("table_exists").wait(TableName=self.table, WaiterConfig={"Delay": 1})
        return [f"created DynamoDB table {self.table} (on-demand, indexes newest, by_label, by_key)"]
