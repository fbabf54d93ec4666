"""Folders: a counter item per folder and an item per photo saying which folder it is in directly,
both written by the transaction that changes the photo (see the package doc).

- ``folder#<path>``: ``n`` photos under it (sub-folders included) and a ``cover`` key; listed in
  the ``newest`` index under ``feed`` "folders#<parent>", ordered by its path (``order``);
- the image item itself carries ``label`` "dir#<folder>" beside its ``torder``, so the photos of
  one folder are a Query of ``by_label_taken``, like a label's (no item of their own).

Tables from before folders existed are counted once by ``flask gallery init`` (``index_folders``)."""

from __future__ import annotations

from collections import Counter

from botocore.exceptions import BotoCoreError, ClientError

from ...core.errors import InvalidParameter
from ..base import Folder, ImageRecord, ancestors, folder_of, parent_of
from .layout import _s
from .table import DynamoTable

FOLDERS = "folders#"  # feed of the folder items inside a parent: "folders#" + parent path
IN_FOLDER = "dir#"  # label partition of the photos directly in a folder: "dir#" + folder path
COUNTED = "folders counted"  # shared state: the folders of this table have been counted


def in_folder(key: str) -> str:
    """The ``label`` of an image item: the partition of its folder in ``by_label_taken``."""
    return IN_FOLDER + folder_of(key)


class FolderItems(DynamoTable):
    def _folder_actions(self, old: ImageRecord | None, new: ImageRecord | None) -> list[dict]:
        """+1 (or -1) on each folder above a key when its photo appears (or goes); nothing otherwise."""
        if (old is None) == (new is None):
            return []
        key = (new or old).key
        return [self._folder_count(path, 1 if new else -1, key) for path in ancestors(key)]

    def _folder_count(self, path: str, delta: int, key: str) -> dict:
        update = "ADD n :d SET feed = :f, #o = :p" + (", cover = :c" if delta > 0 else "")
        values = {":d": {"N": str(delta)}, ":f": _s(FOLDERS + parent_of(path)), ":p": _s(path)}
        if delta > 0:
            values[":c"] = _s(key)
        return {
            "Update": {
                "TableName": self.table,
                "Key": {"pk": _s(f"folder#{path}")},
                "UpdateExpression": update,
                "ExpressionAttributeNames": {"#o": "order"},
                "ExpressionAttributeValues": values,
            }
        }

    def folders(self, parent: str = "", limit: int = 100, after=None):
        if after is not None and (not isinstance(after, str) or not after.startswith(parent) or len(after) > 1024):
            raise InvalidParameter("The position is not valid; start again from the first page.")
        query = {
            "TableName": self.table,
            "IndexName": "newest",
            "KeyConditionExpression": "feed = :f AND #o > :a",
            "FilterExpression": "n > :z",
            "ExpressionAttributeNames": {"#o": "order"},
            "ExpressionAttributeValues": {":f": _s(FOLDERS + parent), ":a": _s(after or " "), ":z": {"N": "0"}},
        }
        found: list[Folder] = []
        while len(found) <= limit:
            response = self._call("read", "query", **query, Limit=limit + 1 - len(found))
            found += [
                Folder(item["order"]["S"], int(item["n"]["N"]), item.get("cover", {}).get("S", ""))
                for item in response.get("Items", [])
            ]
            if "LastEvaluatedKey" not in response:
                break
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return found[:limit], (found[limit - 1].path if len(found) > limit else None)

    def get_folder(self, path: str):
        response = self._call("read", "get_item", TableName=self.table, Key={"pk": _s(f"folder#{path}")})
        item = response.get("Item")
        if not item or int(item["n"]["N"]) <= 0:
            return None
        return Folder(path, int(item["n"]["N"]), item.get("cover", {}).get("S", ""))

    def folder_images(self, folder: str, limit: int = 48, after=None):
        limit = max(1, int(limit))
        hash_value = IN_FOLDER + folder
        query = {
            "TableName": self.table,
            "IndexName": "by_label_taken",
            "KeyConditionExpression": "label = :l",
            "ExpressionAttributeValues": {":l": _s(hash_value)},
            "ScanIndexForward": False,
            "Limit": limit + 1,
        }
        if after is not None:
            query["ExclusiveStartKey"] = self._start(after, "by_label_taken", "label", hash_value, "torder")
        items = self._call("list", "query", **query).get("Items", [])
        more = len(items) > limit
        items = items[:limit]
        # An index item may trail its image for a moment (GSIs are eventually consistent).
        records = [r for r in self._records(items) if folder_of(r.key) == folder]
        return records, (self._position(items[-1], "by_label_taken", "label", "torder") if more else None)

    def index_folders(self) -> int:
        """Count the folders of a table written before they were counted, once (``flask gallery init``,
        before serving: writes meanwhile could be counted twice). Returns the photos counted."""
        if self.get_state(COUNTED) is not None:
            return 0
        items = self._query_feed(IndexName="by_key", KeyConditionExpression="feed = :f")
        counts: Counter[str] = Counter()
        covers: dict[str, str] = {}
        for item in items:
            key = item["key"]["S"]
            try:  # the image item joins its folder's partition of by_label_taken (see ImageItems)
                self.client.update_item(
                    TableName=self.table,
                    Key={"pk": _s(f"image#{key}")},
                    UpdateExpression="SET label = :l",
                    ConditionExpression="attribute_exists(pk)",
                    ExpressionAttributeValues={":l": _s(in_folder(key))},
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                    continue  # deleted meanwhile
                raise self._unavailable("index", exc) from exc
            except BotoCoreError as exc:
                raise self._unavailable("index", exc) from exc
            for path in ancestors(key):
                counts[path] += 1
                covers[path] = key
        for path, n in counts.items():
            update = self._folder_count(path, 0, covers[path])["Update"]
            update["UpdateExpression"] = "SET n = :d, feed = :f, #o = :p, cover = :c"
            update["ExpressionAttributeValues"].update({":d": {"N": str(n)}, ":c": _s(covers[path])})
            self._call("index", "update_item", **update)
        self.put_state(COUNTED, "1")
        return len(items)
