"""Albums: the album item ``album#<id>`` (``feed`` "albums" and ``key`` its name key, so the
``by_key`` index lists albums by name), a name claim ``albumname#<name key>`` written in the same
transaction (names stay unique without a scan), and one member item ``member#<id>#<key>`` per
photo (``feed`` ``album#<id>``, ``key``, and its place ``n``, which ``by_key`` projects).

A page reads the album's member items (one Query, at most ``services.albums.MAX_PHOTOS``) and the
records of the members it shows; in the "taken" and "uploaded" orders it reads every member's
record to sort them, so a page of a large album costs about one read per 100 members. Members
whose image is not current (trashed) are skipped; a restore shows them again."""

from __future__ import annotations

import json

from botocore.exceptions import BotoCoreError, ClientError

from ...core.errors import InvalidParameter, NotFound
from ..base import Album, Conflict, ImageRecord, album_name_key
from .layout import ALBUMS, _s, member_feed
from .table import _RETRIES, DynamoTable

SORT_TIME = {"taken": ImageRecord.taken_time, "uploaded": lambda r: r.updated_at}


class AlbumItems(DynamoTable):
    # -- the album item and its name claim --------------------------------------------------------
    def _album_item(self, album: Album) -> dict:
        return {
            "pk": _s(f"album#{album.id}"),
            "feed": _s(ALBUMS),
            "key": _s(album_name_key(album.name)),
            "record": _s(json.dumps(album.to_dict())),
        }

    def _claim(self, album: Album) -> dict:
        return {
            "Put": {
                "TableName": self.table,
                "Item": {"pk": _s(f"albumname#{album_name_key(album.name)}"), "album": _s(album.id)},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _write_album(self, actions: list[dict], album: Album, claim_at: int | None) -> None:
        """One transaction; a failed condition on the name claim (action ``claim_at``) is a Conflict,
        on the album item a NotFound."""
        try:
            self.client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if claim_at is not None and len(reasons) > claim_at and reasons[claim_at] == "ConditionalCheckFailed":
                raise Conflict(f"There is already an album named {album.name!r}.") from None
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise NotFound(f"There is no album {album.id!r}.") from None
            raise self._unavailable("write", exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable("write", exc) from exc

    def create_album(self, album: Album) -> None:
        put = {
            "Put": {
                "TableName": self.table,
                "Item": self._album_item(album),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        self._write_album([put, self._claim(album)], album, claim_at=1)

    def get_album(self, album_id: str) -> Album | None:
        response = self._call(
            "read", "get_item", TableName=self.table, Key={"pk": _s(f"album#{album_id}")}, ConsistentRead=True
        )
        item = response.get("Item")
        return Album.from_dict(json.loads(item["record"]["S"])) if item else None

    def albums(self) -> list[Album]:
        items = self._query_all(
            IndexName="by_key", KeyConditionExpression="feed = :f", ExpressionAttributeValues={":f": _s(ALBUMS)}
        )
        found = []
        for i in range(0, len(items), 100):
            request = {self.table: {"Keys": [{"pk": item["pk"]} for item in items[i : i + 100]]}}
            for _ in range(_RETRIES):
                response = self._call("read", "batch_get_item", RequestItems=request)
                found += [json.loads(x["record"]["S"]) for x in response.get("Responses", {}).get(self.table, [])]
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
        albums = [Album.from_dict(data) for data in found]
        return sorted(albums, key=lambda a: (album_name_key(a.name), a.id))

    def update_album(self, album: Album) -> None:
        before = self.get_album(album.id)
        if before is None:
            raise NotFound(f"There is no album {album.id!r}.")
        put = {
            "Put": {
                "TableName": self.table,
                "Item": self._album_item(album),
                "ConditionExpression": "attribute_exists(pk)",
            }
        }
        if album_name_key(before.name) == album_name_key(album.name):
            self._write_album([put], album, claim_at=None)
            return
        release = {
            "Delete": {
                "TableName": self.table,
                "Key": {"pk": _s(f"albumname#{album_name_key(before.name)}")},
                "ConditionExpression": "album = :a",
                "ExpressionAttributeValues": {":a": _s(album.id)},
            }
        }
        self._write_album([put, self._claim(album), release], album, claim_at=1)

    def delete_album(self, album_id: str) -> bool:
        album = self.get_album(album_id)
        if album is None:
            return False
        members = self._members(album_id)
        self._call(
            "write",
            "transact_write_items",
            TransactItems=[
                {"Delete": {"TableName": self.table, "Key": {"pk": _s(f"album#{album_id}")}}},
                {"Delete": {"TableName": self.table, "Key": {"pk": _s(f"albumname#{album_name_key(album.name)}")}}},
            ],
        )
        self._batch_write([{"DeleteRequest": {"Key": {"pk": m["pk"]}}} for m in members])
        return True

    # -- members ----------------------------------------------------------------------------------
    def _members(self, album_id: str) -> list[dict]:
        """The album's member items in its manual order (place ``n``, then key)."""
        items = self._query_all(
            IndexName="by_key",
            KeyConditionExpression="feed = :f",
            ExpressionAttributeValues={":f": _s(member_feed(album_id))},
        )
        return sorted(items, key=lambda item: (float(item["n"]["N"]), item["key"]["S"]))

    def _member(self, album_id: str, key: str, place: float) -> dict:
        item = {
            "pk": _s(f"member#{album_id}#{key}"),
            "feed": _s(member_feed(album_id)),
            "key": _s(key),
            "n": {"N": repr(float(place))},
        }
        return {"PutRequest": {"Item": item}}

    def _batch_write(self, requests: list[dict]) -> None:
        for i in range(0, len(requests), 25):
            pending = {self.table: requests[i : i + 25]}
            for _ in range(_RETRIES):
                pending = self._call("write", "batch_write_item", RequestItems=pending).get("UnprocessedItems") or {}
                if not pending:
                    break

    def add_to_album(self, album_id: str, keys) -> int:
        members = self._members(album_id)
        present = {m["key"]["S"] for m in members}
        place = float(members[-1]["n"]["N"]) if members else 0.0
        new = [k for k in dict.fromkeys(keys) if k not in present]
        self._batch_write([self._member(album_id, key, place + i + 1) for i, key in enumerate(new)])
        return len(new)

    def remove_from_album(self, album_id: str, keys) -> int:
        present = {m["key"]["S"] for m in self._members(album_id)}
        gone = [k for k in dict.fromkeys(keys) if k in present]
        self._batch_write([{"DeleteRequest": {"Key": {"pk": _s(f"member#{album_id}#{k}")}}} for k in gone])
        return len(gone)

    def album_keys(self, album_id: str) -> list[str]:
        return [m["key"]["S"] for m in self._members(album_id)]

    def reorder_album(self, album_id: str, keys) -> None:
        rest = self.album_keys(album_id)
        chosen = [k for k in dict.fromkeys(keys) if k in set(rest)]
        order = chosen + [k for k in rest if k not in set(chosen)]
        self._batch_write([self._member(album_id, key, i + 1) for i, key in enumerate(order)])

    def album_images(self, album_id: str, limit: int = 48, after=None, sort: str = "taken"):
        members = self._members(album_id)
        if sort == "manual":
            placed = [(float(m["n"]["N"]), m["key"]["S"]) for m in members]
            if after is not None:
                mark = _mark(after)
                placed = [p for p in placed if p > mark]
            page: list[tuple[float, ImageRecord]] = []
            for i in range(0, len(placed), 100):  # read on until a page is full (trashed members skip)
                chunk = placed[i : i + 100]
                records = {r.key: r for r in self._records([{"key": _s(k)} for _, k in chunk])}
                page += [(n, records[k]) for n, k in chunk if k in records]
                if len(page) > limit:
                    break
        else:
            records = self._records([{"key": m["key"]} for m in members])
            page = sorted(((SORT_TIME[sort](r), r) for r in records), key=lambda p: (p[0], p[1].key), reverse=True)
            if after is not None:
                mark = _mark(after)
                page = [p for p in page if (p[0], p[1].key) < mark]
        more = len(page) > limit
        page = page[:limit]
        return [r for _, r in page], ([page[-1][0], page[-1][1].key] if more else None)

    def album_count(self, album_id: str) -> int:
        return len(self._records([{"key": m["key"]} for m in self._members(album_id)]))


def _mark(after) -> tuple[float, str]:
    """A page position as ``album_images`` wrote it: [number, key]."""
    if (
        not isinstance(after, list)
        or len(after) != 2
        or not isinstance(after[0], int | float)
        or isinstance(after[0], bool)
        or not isinstance(after[1], str)
    ):
        raise InvalidParameter("The cursor is not valid; start again from the first page.")
    return float(after[0]), after[1]
