"""Metadata in one DynamoDB table (on-demand capacity).

Items, all keyed by ``pk``:

- image ``image#<key>``: the record as JSON, a version number for optimistic writes, and the
  index attributes ``feed`` ("images"), ``order`` ("<updated_at>#<key>"), ``torder``
  ("<taken time>#<key>", see ``ImageRecord.taken_time``) and ``key``;
- label index ``label#<label>#<key>``: ``label`` + ``order`` + ``torder``, one per label of an
  image, so filtering by label is a Query on a GSI, never a scan;
- search index ``word#<start>#<key>``: one per distinct *start* (first two characters) of the
  image's search words (``search.record_words``), with ``wstart`` + ``order``, the image's words as
  one string ``words`` (" dog jpg katherine people ") and its ``labels`` (a string set);
- retired version ``retired#<version>``: a replaced version (``state`` "history", indexed by
  its lineage in ``hist``) or a deleted image (``state`` "trash", in the ``tfeed`` "trash"),
  with ``rorder`` (when it retired) and ``xfeed``/``xorder`` (a shard and its expiry);
- counters ``count#images``/``count#history``/``count#trash`` (``n`` items, ``b`` bytes),
  ``count#label#<label>`` and ``count#unlabelled`` (``n``), kept exact by the same transactions
  that change the items;
- shared state ``state#<name>``: a ``value`` (the session epoch, claims on staged uploads).

GSIs (sparse: only items carrying their attributes appear):
``newest`` (feed, order) for newest-first listing, ``by_label`` (label, order) for label
filtering, ``taken`` (feed, torder) and ``by_label_taken`` (label, torder) for the same in the
order of the date taken (items written before that order existed gain ``torder`` when they are
next written, e.g. by ``gallery renditions``), ``by_key`` (feed, key) for key-order suggestions
and the label list, ``by_lineage`` (hist, rorder) for an image's history, ``trash`` (tfeed,
rorder) for the trash, ``expiring`` (xfeed, xorder) for purging what expired, ``by_word``
(wstart, order) for search and ``unlabelled`` (nolabel, key) for the images detection has not
labelled yet (``nolabel`` is set on those image items only).

Search finds an image whose words start with every query word: it queries the ``by_word``
partition of one query word's first two characters, newest first, with a filter that each query
word starts a word of ``words`` (``contains(words, " kath")``) and the prefix and label, fetching
pages until one is full. One item per word *start* rather than one per word prefix ("k", "ka",
"kat"...) keeps an image to a handful of items (``people/katherine.jpg`` labelled dog: ``pe``,
``ka``, ``jp``, ``do``, ``pe``... about 5–10), so the search index fits in the same transaction as
the image item; the price is that a rare word reads the partition of its first two characters
until a page fills (at worst every image with a word starting so). A batch word (``@<id>``) is its
own partition, so a batch is read exactly.

Every change is one ``TransactWriteItems`` conditioned on the version read just before, retried
on conflict, so the image item, its label items and the counters never disagree.
"""

from __future__ import annotations

import json
import random
import time
import uuid
import zlib

from botocore.exceptions import BotoCoreError, ClientError

from ..core import search
from ..core.errors import BackendUnavailable, InvalidParameter, NotFound
from ..runtime.aws import make_client, probe, unavailable
from .base import Conflict, ImageRecord, MetadataStore, Retired, amended, moved

IMAGES = "images"  # feed value of image items
LABELS = "labels"  # feed value of label counters
HISTORY, TRASH = "history", "trash"  # states of retired versions (and names of their usage counters)
EXPIRY_SHARDS = 8  # retired versions spread over this many index partitions, so no one key is hot
# One transaction holds ≤ 100 actions. The worst (a restore that keeps the replaced version) is
# 5, plus 4 per label (put, delete, two counters), 2 per word start (put, delete), plus 1 for the
# unlabelled counter: 5 + 4 * 16 + 2 * 15 + 1 = 100.
MAX_LABELS = 16
MAX_WORD_STARTS = 15
INDEX_VERSION = "1"  # image items written with the search and unlabelled indexes carry ix = this
_RETRIES = 8
# A prefix filter is applied while the newest-first index is read, so a rare prefix could read the
# whole feed: one listing reads at most this many pages of this many items, then answers what it
# found (maybe nothing) with a cursor where it stopped.
FILTERED_PAGE_ITEMS = 500
FILTERED_PAGES = 8


def _order(updated_at: float, key: str) -> str:
    # Fixed-width, so string order equals time order; the key breaks ties like SQLite's (updated_at, key) DESC.
    return f"{max(updated_at, 0.0):018.6f}#{key}"


# Seconds from 0001-01-01 to 1970-01-01: added to a taken time so any date sorts as a positive number.
TAKEN_SHIFT = 62135596800.0


def _torder(record: ImageRecord) -> str:
    """Fixed-width like ``_order``, for the "taken" order."""
    return f"{record.taken_time() + TAKEN_SHIFT:020.6f}#{record.key}"


# The GSI and its range attribute for each listing order, without and with a label.
_ORDERS = {"uploaded": ("newest", "by_label", "order"), "taken": ("taken", "by_label_taken", "torder")}


def _s(value: str) -> dict:
    return {"S": value}


def word_start(word: str) -> str:
    """The search partition of a word: its first two characters; a batch word is its own."""
    return word if word.startswith("@") else word[:2]


def _word_starts(record: ImageRecord) -> dict[str, list[str]]:
    """The record's words grouped by start; at most MAX_WORD_STARTS starts (key words first)."""
    key_words = search.words(record.key)
    ordered = sorted(search.record_words(record), key=lambda w: (w not in key_words, w))
    groups: dict[str, list[str]] = {}
    for word in ordered:
        start = word_start(word)
        if start in groups or len(groups) < MAX_WORD_STARTS:
            groups.setdefault(start, []).append(word)
    return groups


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

    def check(self) -> str:
        """Health: 'ok' when the table answers one eventually consistent read of an absent item."""
        return probe(
            lambda: self.client.get_item(TableName=self.table, Key={"pk": _s("health#probe")}),
            ({"ResourceNotFoundException"}, "table"),
        )

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
            "torder": _s(_torder(record)),
            "ver": {"N": str(old_ver + 1)},
            "ix": {"N": INDEX_VERSION},
            "record": _s(json.dumps(record.to_dict())),
        }
        if not record.labelled:
            item["nolabel"] = _s(IMAGES)
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

    def _index_actions(self, old: ImageRecord | None, new: ImageRecord | None) -> list[dict]:
        """What keeps the indexes and their counters in step when the current image of a key
        changes from ``old`` to ``new`` (either may be None)."""
        actions = self._label_actions(old, new) + self._word_actions(old, new)
        delta = (new is not None and not new.labelled) - (old is not None and not old.labelled)
        if delta:
            actions.append(self._counter("count#unlabelled", delta))
        return actions

    def _word_actions(self, old: ImageRecord | None, new: ImageRecord | None) -> list[dict]:
        old_starts = _word_starts(old) if old else {}
        new_starts = _word_starts(new) if new else {}
        key = (new or old).key
        actions = []
        if new is not None:
            every = " " + " ".join(sorted(search.record_words(new))) + " "
            for start in sorted(new_starts):
                item = {
                    "pk": _s(f"word#{start}#{key}"),
                    "wstart": _s(start),
                    "order": _s(_order(new.updated_at, key)),
                    "key": _s(key),
                    "words": _s(every),
                }
                if new.labels:
                    item["labels"] = {"SS": sorted(set(new.labels))}
                actions.append({"Put": {"TableName": self.table, "Item": item}})
        for start in sorted(set(old_starts) - set(new_starts)):
            actions.append({"Delete": {"TableName": self.table, "Key": {"pk": _s(f"word#{start}#{key}")}}})
        return actions

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
                "torder": _s(_torder(new)),
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

    # Retired versions: history and trash ----------------------------------------------------------

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

    # MetadataStore protocol -----------------------------------------------------------------------

    def put(self, record: ImageRecord, *, if_absent: bool = False, keep_until: float | None = None):
        record = self._clean(record)
        record.lineage = record.lineage or uuid.uuid4().hex

        def build(old, ver):
            actions = [*self._index_actions(old, record)]
            if old is None:
                actions.append(self._usage(IMAGES, 1, record.bytes))
            else:
                if if_absent:
                    raise Conflict(f"There is already an image with the key {record.key!r}.")
                record.created_at = old.created_at
                record.lineage = old.lineage = old.lineage or record.lineage
                actions.append(self._usage(IMAGES, 0, record.bytes - old.bytes))
                if keep_until is not None:
                    actions += [self._retired_put(old, HISTORY, keep_until), self._usage(HISTORY, 1, old.bytes)]
            return [self._image_put(record, ver), *actions]

        return self._transact(record.key, build)

    def get(self, key: str) -> ImageRecord | None:
        return self._get_item(key)[0]

    def delete(self, key: str, *, trash_until: float | None = None):
        def build(old, ver):
            if old is None:
                return None
            delete = {"Delete": {"TableName": self.table, "Key": {"pk": _s(f"image#{key}")}, **self._expect(ver)}}
            actions = [delete, *self._index_actions(old, None), self._usage(IMAGES, -1, -old.bytes)]
            if trash_until is not None:
                actions += [self._retired_put(old, TRASH, trash_until), self._usage(TRASH, 1, old.bytes)]
            return actions

        deleted = self._transact(key, build)
        if deleted is None or trash_until is not None:
            return deleted, []
        dropped = [deleted]
        for retired in self._lineage(deleted.lineage):  # nothing to keep: its history goes too
            if self._drop(retired.record, HISTORY):
                dropped.append(retired.record)
        return deleted, dropped

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
        try:
            self.client.transact_write_items(TransactItems=[delete, self._usage(state, -1, -record.bytes)])
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                return False
            raise self._unavailable("purge", exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable("purge", exc) from exc

    def versions(self, key: str) -> list[Retired]:
        current = self.get(key)
        if current is None:
            return []
        return self._lineage(current.lineage)

    def get_version(self, key: str, version: str) -> ImageRecord | None:
        current = self.get(key)
        if current is not None and current.version == version:
            return current
        found = self._get_retired(version)
        if found is None:
            return None
        record = found[0].record
        if record.key == key or (current is not None and current.lineage and record.lineage == current.lineage):
            return record
        return None

    def restore_version(self, key: str, version: str, *, keep_until: float | None = None):
        chosen = {}

        def build(old, ver):
            found = self._get_retired(version)
            if old is None or found is None or found[1] != HISTORY or found[0].record.lineage != old.lineage:
                raise NotFound(f"The image {key!r} has no earlier version {version!r}.")
            restored = chosen["record"] = self._clean(moved(found[0].record, key))
            kept = keep_until is not None  # one update per item in a transaction: the history's net change
            actions = [
                self._image_put(restored, ver),
                self._retired_delete(version, HISTORY),
                *self._index_actions(old, restored),
                self._usage(HISTORY, 0 if kept else -1, (old.bytes if kept else 0) - restored.bytes),
                self._usage(IMAGES, 0, restored.bytes - old.bytes),
            ]
            if kept:
                actions.append(self._retired_put(old, HISTORY, keep_until))
            return actions

        previous = self._transact(key, build)
        return chosen["record"], previous

    def trash(self, limit: int = 48, after=None):
        limit = max(1, int(limit))
        query = {
            "TableName": self.table,
            "IndexName": "trash",
            "KeyConditionExpression": "tfeed = :t",
            "ExpressionAttributeValues": {":t": _s(TRASH)},
            "ScanIndexForward": False,
            "Limit": limit + 1,
        }
        if after is not None:
            query["ExclusiveStartKey"] = self._start(after, "trash", "tfeed", TRASH, "rorder")
        items = self._call("list", "query", **query).get("Items", [])
        more = len(items) > limit
        items = items[:limit]
        position = self._position(items[-1], "trash", "tfeed", "rorder") if more else None
        return [self._retired(item) for item in items], position

    def restore_trashed(self, key: str, version: str, *, target: str, replace_until: float | None = None):
        chosen = {}

        def build(old, ver):
            found = self._get_retired(version)
            if found is None or found[1] != TRASH or found[0].record.key != key:
                raise NotFound(f"The trash holds no image {key!r} of version {version!r}.")
            if old is not None and replace_until is None:
                raise Conflict(f"There is already an image with the key {target!r}.")
            restored = chosen["record"] = self._clean(moved(found[0].record, target))
            # One update per item in a transaction: the trash's net change.
            trash_delta = (0, old.bytes - restored.bytes) if old else (-1, -restored.bytes)
            actions = [
                self._image_put(restored, ver),
                self._retired_delete(version, TRASH),
                *self._index_actions(old, restored),
                self._usage(TRASH, *trash_delta),
                self._usage(IMAGES, 0 if old else 1, restored.bytes - (old.bytes if old else 0)),
            ]
            if old is not None:
                actions.append(self._retired_put(old, TRASH, replace_until))
            return actions

        previous = self._transact(target, build)
        return chosen["record"], previous

    def purge(self, now: float, *, trash: bool = False, limit: int = 500) -> list[ImageRecord]:
        dropped: list[ImageRecord] = []
        if trash:
            heads, _ = self.trash(limit=limit)
            for head in heads:
                for retired in self._lineage(head.record.lineage):
                    if self._drop(retired.record, HISTORY):
                        dropped.append(retired.record)
                if self._drop(head.record, TRASH):
                    dropped.append(head.record)
            return dropped
        for shard in range(EXPIRY_SHARDS):
            items = self._call(
                "purge",
                "query",
                TableName=self.table,
                IndexName="expiring",
                KeyConditionExpression="xfeed = :x AND xorder <= :now",
                ExpressionAttributeValues={":x": _s(f"expiring#{shard}"), ":now": _s(_order(now, "~"))},
                Limit=max(1, limit - len(dropped)),
            ).get("Items", [])
            for item in items:
                retired = self._retired(item)
                expired = ("expires_at <= :now", {":now": {"N": repr(now)}})
                if self._drop(retired.record, item["state"]["S"], expired):
                    dropped.append(retired.record)
            if len(dropped) >= limit:
                break
        return dropped

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

    def set_labels(self, key: str, labels: list[str], version: str | None = None) -> None:
        def build(old, ver):
            if old is None or (version is not None and old.version != version):
                return None
            new = self._clean(ImageRecord.from_dict({**old.to_dict(), "labels": list(labels), "labelled": True}))
            return [self._image_put(new, ver), *self._index_actions(old, new)]

        self._transact(key, build)

    def amend(self, key: str, version: str, changes: dict) -> bool:
        outcome = {}

        def build(old, ver):  # called again after a conflict: the last call says what happened
            outcome["amended"] = old is not None and old.version == version
            if not outcome["amended"]:
                return None
            new = amended(old, changes)
            return [self._image_put(new, ver), *self._label_actions(old, new)]  # label items carry torder

        self._transact(key, build)
        return outcome["amended"]

    def count(self) -> int:
        return self._count("count#images")

    def _count(self, pk: str) -> int:
        response = self._call("read", "get_item", TableName=self.table, Key={"pk": _s(pk)})
        return max(int(response.get("Item", {}).get("n", {}).get("N", "0")), 0)

    # Shared state: items ``state#<name>`` with a ``value`` (in no index) ------------------------------

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
        try:
            self.client.put_item(**put)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise self._unavailable("write", exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable("write", exc) from exc
        return True

    def delete_state(self, name: str) -> None:
        self._call("write", "delete_item", TableName=self.table, Key={"pk": _s(f"state#{name}")})

    def unlabelled_count(self) -> int:
        return self._count("count#unlabelled")

    def unlabelled(self, limit: int = 100, after=None):
        limit = max(1, int(limit))
        query = {
            "TableName": self.table,
            "IndexName": "unlabelled",
            "KeyConditionExpression": "nolabel = :n",
            "ExpressionAttributeValues": {":n": _s(IMAGES)},
            "Limit": limit + 1,
        }
        if after is not None:
            query["ExclusiveStartKey"] = self._start(after, "unlabelled", "nolabel", IMAGES, "key")
        items = self._call("list", "query", **query).get("Items", [])
        more = len(items) > limit
        items = items[:limit]
        position = self._position(items[-1], "unlabelled", "nolabel", "key") if more else None
        return [item["key"]["S"] for item in items], position

    def all_labels(self) -> list[tuple[str, int]]:
        items = self._query_all(
            IndexName="by_key",
            KeyConditionExpression="feed = :f",
            FilterExpression="n > :z",
            ExpressionAttributeValues={":f": _s(LABELS), ":z": {"N": "0"}},
        )
        return [(item["key"]["S"], int(item["n"]["N"])) for item in items]

    def suggest(self, prefix: str, limit: int = 10) -> list[str]:
        query = {
            "TableName": self.table,
            "IndexName": "by_key",
            "KeyConditionExpression": "feed = :f",
            "ExpressionAttributeValues": {":f": _s(IMAGES)},
            "Limit": max(1, int(limit)),
        }
        if prefix:  # DynamoDB refuses attribute names the expression does not use
            query["KeyConditionExpression"] += " AND begins_with(#k, :p)"
            query["ExpressionAttributeNames"] = {"#k": "key"}
            query["ExpressionAttributeValues"][":p"] = _s(prefix)
        response = self._call("read", "query", **query)
        return [item["key"]["S"] for item in response.get("Items", [])]

    def list(self, prefix: str = "", label: str = "", limit: int = 48, after=None, sort: str = "uploaded", words=()):
        """Newest first by upload or by date taken (``sort``). With a prefix: one Query of the key index
        first (no key has it: done), and at most FILTERED_PAGES pages read, so a page may hold fewer
        items than ``limit`` (even none) while a next position says where to go on. A search
        (``words``) reads the word index, which is in upload order whatever ``sort`` asks."""
        if sort not in _ORDERS:
            raise InvalidParameter(f"sort must be one of {', '.join(_ORDERS)}; got {sort!r}.")
        limit = max(1, int(limit))
        label = (label or "").lower()
        if words:
            return self._search(list(words), prefix, label, limit, after)
        feed_index, label_index, range_name = _ORDERS[sort]
        if prefix and after is None and not self.suggest(prefix, 1):
            return [], None
        if label:
            index, hash_name, hash_value = label_index, "label", label
        else:
            index, hash_name, hash_value = feed_index, "feed", IMAGES
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
        start = self._start(after, index, hash_name, hash_value, range_name) if after is not None else None

        # Fetch one more than a page: its presence says whether a next page exists.
        found: list[dict] = []
        pages = 0
        while True:
            want = limit + 1 - len(found)
            page = dict(query, Limit=max(want, FILTERED_PAGE_ITEMS) if prefix else want)
            if start:
                page["ExclusiveStartKey"] = start
            response = self._call("list", "query", **page)
            found += response.get("Items", [])
            start = response.get("LastEvaluatedKey")
            pages += 1
            if len(found) > limit or not start or (prefix and pages >= FILTERED_PAGES):
                break
        more = len(found) > limit
        found = found[:limit]
        records = (
            self._records(found) if label else [ImageRecord.from_dict(json.loads(i["record"]["S"])) for i in found]
        )
        if label:  # a label item may trail its image for a moment (GSIs are eventually consistent)
            records = [r for r in records if label in r.labels]
        if more:
            next_position = self._position(found[-1], index, hash_name, range_name)
        elif start:  # stopped reading before the end: go on after the last item read
            next_position = self._position(start, index, hash_name, range_name)
        else:
            next_position = None
        return records, next_position

    def _search(self, wanted: list[str], prefix: str, label: str, limit: int, after):
        """Images with a word starting with each of ``wanted``: one ``by_word`` partition, filtered."""
        entry = min(wanted, key=lambda w: (not w.startswith("@"), -len(w)))  # a batch is read exactly
        start_value = word_start(entry)
        names = {"#w": "words"}
        values = {":s": _s(start_value)}
        conditions = []
        for i, word in enumerate(wanted):
            values[f":w{i}"] = _s(" " + word)
            conditions.append(f"contains(#w, :w{i})")
        if prefix:
            names["#k"] = "key"
            values[":p"] = _s(prefix)
            conditions.append("begins_with(#k, :p)")
        if label:
            names["#l"] = "labels"
            values[":l"] = _s(label)
            conditions.append("contains(#l, :l)")
        query = {
            "TableName": self.table,
            "IndexName": "by_word",
            "KeyConditionExpression": "wstart = :s",
            "FilterExpression": " AND ".join(conditions),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
        }
        start = self._start(after, "by_word", "wstart", start_value, "order") if after is not None else None
        found: list[dict] = []
        while True:
            page = dict(query, Limit=max(limit + 1 - len(found), 100))
            if start:
                page["ExclusiveStartKey"] = start
            response = self._call("list", "query", **page)
            found += response.get("Items", [])
            start = response.get("LastEvaluatedKey")
            if len(found) > limit or not start:
                break
        more = len(found) > limit
        found = found[:limit]
        # An index item may trail its image for a moment (GSIs are eventually consistent).
        records = [r for r in self._records(found) if _matches(r, wanted, prefix, label)]
        return records, (self._position(found[-1], "by_word", "wstart", "order") if more and found else None)

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

    # Provisioning (`flask gallery init`) ----------------------------------------------------------------

    def provision(self, wait: bool = True) -> list[str]:
        """Create the table and its indexes if missing, add indexes a newer version needs, and keep
        point-in-time recovery and deletion protection on; say what was done."""
        done = self._provision_table(wait)
        return done + self._provision_safety()

    def _provision_safety(self) -> list[str]:
        """Backups for 35 days to the second, and no deleting the table by mistake."""
        done = []
        backups = self._call("describe backups", "describe_continuous_backups", TableName=self.table)
        status = backups["ContinuousBackupsDescription"].get("PointInTimeRecoveryDescription", {})
        if status.get("PointInTimeRecoveryStatus") == "ENABLED":
            done.append("point-in-time recovery: already on")
        else:
            self._call(
                "enable point-in-time recovery",
                "update_continuous_backups",
                TableName=self.table,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
            done.append("point-in-time recovery: on (restore to any second of the last 35 days)")
        table = self._call("describe", "describe_table", TableName=self.table)["Table"]
        if table.get("DeletionProtectionEnabled"):
            done.append("deletion protection: already on")
        else:
            self._call("protect", "update_table", TableName=self.table, DeletionProtectionEnabled=True)
            done.append("deletion protection: on")
        return done

    def _provision_table(self, wait: bool) -> list[str]:
        try:
            table = self.client.describe_table(TableName=self.table)["Table"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise self._unavailable("describe", exc) from exc
            table = None
        except BotoCoreError as exc:
            raise self._unavailable("describe", exc) from exc
        attributes = [{"AttributeName": name, "AttributeType": "S"} for name in _ATTRIBUTES]
        if table is None:
            self._call(
                "create table",
                "create_table",
                TableName=self.table,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=attributes,
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                GlobalSecondaryIndexes=[_gsi(*spec) for spec in _INDEXES],
            )
            if wait:
                self.client.get_waiter("table_exists").wait(TableName=self.table, WaiterConfig={"Delay": 1})
            names = ", ".join(spec[0] for spec in _INDEXES)
            return [f"created DynamoDB table {self.table} (on-demand, indexes {names})"]
        done = [f"DynamoDB table {self.table} already exists"]
        present = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}
        for spec in _INDEXES:  # DynamoDB adds one index per update
            if spec[0] in present:
                continue
            self._call(
                "add index",
                "update_table",
                TableName=self.table,
                AttributeDefinitions=attributes,
                GlobalSecondaryIndexUpdates=[{"Create": _gsi(*spec)}],
            )
            if wait:
                self._wait_for_indexes()
            done.append(f"added index {spec[0]} to {self.table}")
        indexed = self._index_older_items()
        if indexed:
            done.append(f"indexed {indexed} image(s) written before search and labelling status existed")
        return done

    def _index_older_items(self) -> int:
        """Give images written by an earlier version their search items and unlabelled status, once."""
        items = self._query_all(
            IndexName="newest",
            KeyConditionExpression="feed = :f",
            FilterExpression="attribute_not_exists(ix)",
            ExpressionAttributeValues={":f": _s(IMAGES)},
        )
        done = 0
        for item in items:
            record = ImageRecord.from_dict(json.loads(item["record"]["S"]))
            put = self._image_put(record, int(item["ver"]["N"]))
            put["Put"]["ConditionExpression"] += " AND attribute_not_exists(ix)"  # not indexed meanwhile
            actions = [put, *self._word_actions(None, record)]
            if not record.labelled:
                actions.append(self._counter("count#unlabelled", 1))
            try:
                self.client.transact_write_items(TransactItems=actions)
                done += 1
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise self._unavailable("index", exc) from exc
            except BotoCoreError as exc:
                raise self._unavailable("index", exc) from exc
        return done

    def _wait_for_indexes(self, seconds: float = 600) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            table = self._call("describe", "describe_table", TableName=self.table)["Table"]
            indexes = table.get("GlobalSecondaryIndexes", [])
            if table.get("TableStatus") == "ACTIVE" and all(i.get("IndexStatus") == "ACTIVE" for i in indexes):
                return
            time.sleep(2)
        raise BackendUnavailable(f"DynamoDB table {self.table} is still building its indexes; run init again later.")


def _matches(record: ImageRecord, wanted: list[str], prefix: str, label: str) -> bool:
    have = search.record_words(record)
    return (
        record.key.startswith(prefix)
        and (not label or label in record.labels)
        and all(any(w.startswith(x) for w in have) for x in wanted)
    )


_ATTRIBUTES = (
    "pk",
    "feed",
    "order",
    "torder",
    "label",
    "key",
    "hist",
    "rorder",
    "tfeed",
    "xfeed",
    "xorder",
    "wstart",
    "nolabel",
)
_KEYS_ONLY = {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["key"]}
_INDEXES = (  # name, hash, range, projection
    ("newest", "feed", "order", {"ProjectionType": "ALL"}),
    ("by_label", "label", "order", _KEYS_ONLY),
    ("by_key", "feed", "key", {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["n"]}),
    ("by_lineage", "hist", "rorder", {"ProjectionType": "ALL"}),
    ("trash", "tfeed", "rorder", {"ProjectionType": "ALL"}),
    ("expiring", "xfeed", "xorder", {"ProjectionType": "ALL"}),
    ("taken", "feed", "torder", {"ProjectionType": "ALL"}),
    ("by_label_taken", "label", "torder", _KEYS_ONLY),
    ("by_word", "wstart", "order", {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["key", "words", "labels"]}),
    ("unlabelled", "nolabel", "key", {"ProjectionType": "KEYS_ONLY"}),
)


def _gsi(name: str, hash_name: str, range_name: str, projection: dict) -> dict:
    return {
        "IndexName": name,
        "KeySchema": [
            {"AttributeName": hash_name, "KeyType": "HASH"},
            {"AttributeName": range_name, "KeyType": "RANGE"},
        ],
        "Projection": projection,
    }
