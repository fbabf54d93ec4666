"""Share links: items ``share#<id>`` holding the link as JSON, its ``views`` and ``last`` use, listed
in the ``newest`` index under ``feed`` "shares". Read consistently: a revoked link is gone for all."""

from __future__ import annotations

import json

from botocore.exceptions import BotoCoreError, ClientError

from ..base import Share
from .layout import _order, _s
from .table import DynamoTable

SHARES = "shares"  # feed of share items


class ShareItems(DynamoTable):
    @staticmethod
    def _share(item: dict) -> Share:
        share = Share.from_dict(json.loads(item["share"]["S"]))
        share.views = int(item.get("views", {}).get("N", "0"))
        share.last_used = float(item["last"]["N"]) if "last" in item else None
        return share

    def put_share(self, share: Share) -> None:
        item = {
            "pk": _s(f"share#{share.id}"),
            "feed": _s(SHARES),
            "order": _s(_order(share.created_at, share.id)),
            "share": _s(json.dumps(share.to_dict())),
        }
        put = {"TableName": self.table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}
        self._call("write", "put_item", **put)

    def get_share(self, share_id: str) -> Share | None:
        response = self._call(
            "read", "get_item", TableName=self.table, Key={"pk": _s(f"share#{share_id}")}, ConsistentRead=True
        )
        return self._share(response["Item"]) if "Item" in response else None

    def shares(self) -> list[Share]:
        items = self._query_all(
            IndexName="newest",
            KeyConditionExpression="feed = :f",
            ExpressionAttributeValues={":f": _s(SHARES)},
            ScanIndexForward=False,
        )
        # The index trails a revocation for a moment: the list is checked against the items.
        found = [self.get_share(item["pk"]["S"].removeprefix("share#")) for item in items]
        return [share for share in found if share is not None]

    def delete_share(self, share_id: str) -> bool:
        response = self._call(
            "write", "delete_item", TableName=self.table, Key={"pk": _s(f"share#{share_id}")}, ReturnValues="ALL_OLD"
        )
        return "Attributes" in response

    def share_used(self, share_id: str, now: float) -> None:
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"pk": _s(f"share#{share_id}")},
                UpdateExpression="ADD #v :one SET #l = :now",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#v": "views", "#l": "last"},  # both reserved words
                ExpressionAttributeValues={":one": {"N": "1"}, ":now": {"N": repr(now)}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise self._unavailable("write", exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable("write", exc) from exc
