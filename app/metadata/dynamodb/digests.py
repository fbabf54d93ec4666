"""Finding a current image by its content: image items carry their SHA-256 as ``sha``, the hash
key of the sparse ``by_sha256`` index, which projects the record, so a duplicate check is one
Query of one item. The index is eventually consistent: an image stored or deleted a moment ago
may not be seen yet (a duplicate check is advice, not a lock)."""

from __future__ import annotations

import json

from botocore.exceptions import BotoCoreError, ClientError

from ..base import ImageRecord
from .layout import _s
from .table import DynamoTable


class Digests(DynamoTable):
    def find_by_sha256(self, sha256: str) -> ImageRecord | None:
        response = self._call(
            "read",
            "query",
            TableName=self.table,
            IndexName="by_sha256",
            KeyConditionExpression="sha = :s",
            ExpressionAttributeValues={":s": _s(sha256)},
            Limit=1,
        )
        items = response.get("Items", [])
        return ImageRecord.from_dict(json.loads(items[0]["record"]["S"])) if items else None

    def _index_older_digests(self) -> int:
        """Give image items written before the index existed their ``sha``, once (``gallery init``)."""
        items = self._query_feed(
            IndexName="newest", KeyConditionExpression="feed = :f", FilterExpression="attribute_not_exists(sha)"
        )
        done = 0
        for item in items:
            sha256 = json.loads(item["record"]["S"]).get("sha256")
            if not sha256:
                continue
            try:  # conditioned on the version read: a writer meanwhile wrote ``sha`` itself
                self.client.update_item(
                    TableName=self.table,
                    Key={"pk": item["pk"]},
                    UpdateExpression="SET sha = :s",
                    ConditionExpression="ver = :v",
                    ExpressionAttributeValues={":s": _s(sha256), ":v": item["ver"]},
                )
                done += 1
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise self._unavailable("index", exc) from exc
            except BotoCoreError as exc:
                raise self._unavailable("index", exc) from exc
        return done
