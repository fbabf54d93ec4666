"""Changes to current images: each is one transaction conditioned on the version read just before,
retried on conflict, so the image item, its index items and the counters never disagree."""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError

from ...core.errors import BackendUnavailable
from ..base import Conflict, ImageRecord, OutcomeUnknown, amended
from .indexes import IndexItems
from .layout import HISTORY, IMAGES, INDEX_VERSION, TRASH, _s
from .pairs import PairItems, pair_content
from .records import ImageItems
from .retired import RetiredItems
from .table import _RETRIES

log = logging.getLogger(__name__)

# Whether a write that seemed to fail is in the table after all: (current record, the record it
# replaced) -> bool.
Landed = Callable[[ImageRecord | None, ImageRecord | None], bool]


class CurrentImages(RetiredItems, IndexItems, PairItems, ImageItems):
    def _transact(self, key: str, build, landed: Landed | None = None) -> ImageRecord | None:
        """Read the current record, build the actions from it, write them conditioned on its version;
        returns the record the write replaced.

        A write may be applied although its caller saw a failure: its answer was lost, or botocore
        repeated it (the repeat then fails its condition). So after any failure the next read
        first asks ``landed(current, replaced)`` whether the table already holds what the last
        attempt wrote, and if so that attempt is the answer: a write is never applied on top of
        itself (which would retire the version it makes current and jam the key). When that read
        fails too, ``OutcomeUnknown`` says nobody knows whether the write happened.

        Once written, the image's word-pair items follow (``_settled``)."""
        replaced, sent, made = None, False, None
        for attempt in range(_RETRIES):
            try:
                old, ver, ix = self._get_image(key)
                if sent and landed is not None and landed(old, replaced):
                    return self._settled(key, replaced, made)
            except BackendUnavailable as exc:
                if sent:
                    raise OutcomeUnknown(exc.message) from exc
                raise
            actions = build(old, ver)
            if actions is None:
                return old
            made = self._pairs_to_settle(key, actions, old, ver, ix)
            replaced, sent = old, True
            try:
                # The token makes botocore's own retry of this request (same token) a no-op for
                # DynamoDB when the first one was applied; each attempt here gets a new one.
                self.client.transact_write_items(TransactItems=actions, ClientRequestToken=uuid.uuid4().hex)
                return self._settled(key, old, made)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                conflict = code in ("TransactionCanceledException", "TransactionConflictException") and all(
                    r in (None, "None", "ConditionalCheckFailed", "TransactionConflict") for r in reasons
                )
                if not conflict and not self._landed(key, landed, replaced, exc):
                    raise self._unavailable("write", exc) from exc
                if not conflict:
                    return self._settled(key, replaced, made)
                time.sleep(random.uniform(0, 0.02 * 2**attempt))  # another writer won, or our repeat; re-read
            except BotoCoreError as exc:  # no answer: it may or may not have been applied
                if self._landed(key, landed, replaced, exc):
                    return self._settled(key, replaced, made)
                # Known not applied: try again like after a conflict.
        raise BackendUnavailable(f"Image metadata for '{key}' is being changed by many writers at once. Try again.")

    @staticmethod
    def _pairs_to_settle(key: str, actions: list[dict], old: ImageRecord | None, ver: int, ix: str):
        """What the pair items must follow after ``actions`` (the record they make current, None if
        they delete it, and its version number), or None when they stay as they are: the image's
        pair content is unchanged and was settled (``ix``), so its Put keeps ix settled."""
        put = next(
            (a["Put"] for a in actions if "Put" in a and a["Put"]["Item"]["pk"]["S"] == f"image#{key}"),
            None,
        )
        new = ImageRecord.from_dict(json.loads(put["Item"]["record"]["S"])) if put else None
        if new is not None and ix == INDEX_VERSION and pair_content(new) == pair_content(old):
            put["Item"]["ix"] = {"N": INDEX_VERSION}
            return None
        return new, ver + 1

    def _settled(self, key: str, replaced: ImageRecord | None, made) -> ImageRecord | None:
        """After the transaction: its pairs written (``PairItems._settle``); returns ``replaced``.
        The write itself has happened, so a failure here is logged, not raised: the image item
        stays pending and ``gallery init`` settles it (a crash here ends the same)."""
        if made is not None:
            try:
                self._settle(key, replaced, *made)
            except BackendUnavailable as exc:
                log.warning("Pairs of %r left pending for `gallery init`: %s", key, exc.message)
        return replaced

    def _landed(self, key: str, landed: Landed | None, replaced: ImageRecord | None, failure: Exception) -> bool:
        """After a failed write: did it happen after all? ``OutcomeUnknown`` when that cannot be read."""
        if landed is None:
            return False
        try:
            return landed(self._get_item(key)[0], replaced)
        except BackendUnavailable as exc:
            raise OutcomeUnknown(exc.message) from failure

    def _made_current(self, version: str) -> Landed:
        """A write making ``version`` current landed when it is current, or in the history or the
        trash already (replaced or deleted since): a new version is nowhere else."""
        return lambda current, _replaced: (
            (current is not None and current.version == version) or (self._get_retired(version) is not None)
        )

    @staticmethod
    def _is_current(version: str) -> Landed:
        """A restore of ``version`` landed when it is current (it was retired before, so only that counts)."""
        return lambda current, _replaced: current is not None and current.version == version

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
                record.favourite = old.favourite  # the heart belongs to the photo, not a version
                record.lineage = old.lineage = old.lineage or record.lineage
                actions.append(self._usage(IMAGES, 0, record.bytes - old.bytes))
                if keep_until is not None:
                    actions += [self._retired_put(old, HISTORY, keep_until), self._usage(HISTORY, 1, old.bytes)]
            # A version is born once: a late repeat of this write (botocore's retry after a lost
            # answer, once the request token has lapsed or where it is ignored) must not revive
            # it after it was replaced or deleted, which would jam the key.
            unborn = {
                "ConditionCheck": {
                    "TableName": self.table,
                    "Key": {"pk": _s(f"retired#{record.version}")},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            return [self._image_put(record, ver), unborn, *actions]

        return self._transact(record.key, build, self._made_current(record.version))

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

        def landed(current, replaced):
            if replaced is None or (current is not None and current.version == replaced.version):
                return False
            return trash_until is None or self._get_retired(replaced.version) is not None

        deleted = self._transact(key, build, landed)
        if deleted is None or trash_until is not None:
            return deleted, []
        dropped = [deleted]
        for retired in self._lineage(deleted.lineage):  # nothing to keep: its history goes too
            if self._drop(retired.record, HISTORY):
                dropped.append(retired.record)
        return deleted, dropped

    def amend(self, key: str, version: str, changes: dict) -> bool:
        outcome = {}

        def build(old, ver):  # called again after a conflict: the last call says what happened
            outcome["amended"] = old is not None and old.version == version
            if not outcome["amended"]:
                return None
            new = amended(old, changes)
            # Label and word items carry torder, and the date taken may be what changed (its month
            # with it); the EXIF's camera make and model are search words.
            return [
                self._image_put(new, ver),
                *self._label_actions(old, new),
                *self._word_actions(old, new),
                *self._month_actions(old, new),
            ]

        self._transact(key, build)
        return outcome["amended"]

    def mend_jam(self, key: str) -> bool:
        current = self.get(key)
        found = self._get_retired(current.version) if current is not None else None
        return found is not None and self._drop(found[0].record, found[1])

    def put_many(self, records, *, keep_until: float | None = None, batch_size: int = 100) -> list[ImageRecord]:
        """``put`` for many records, batched: keys not taken yet are written with BatchWriteItem
        (25 items a request, no transaction: an import's records are new) and their counters added
        once per batch; a taken or repeated key goes through ``put``'s transaction. Returns the
        replaced records that were not kept. A batch's index items (its word pairs too) are
        written before its image items, which are therefore settled (ix INDEX_VERSION) at once: an
        import stopped halfway leaves index items of images not written, hints the search skips."""
        dropped: list[ImageRecord] = []
        chunk: list[ImageRecord] = []
        for record in records:
            chunk.append(record)
            if len(chunk) >= batch_size:
                dropped += self._put_batch(chunk, keep_until)
                chunk = []
        if chunk:
            dropped += self._put_batch(chunk, keep_until)
        return dropped

    def _put_batch(self, records: list[ImageRecord], keep_until: float | None) -> list[ImageRecord]:
        taken = self._existing({record.key for record in records})
        fresh: dict[str, ImageRecord] = {}
        slow: list[ImageRecord] = []
        for record in records:
            if record.key in taken or record.key in fresh:
                slow.append(record)
            else:
                fresh[record.key] = record
        items, image_items, counters = [], [], {}
        for record in fresh.values():
            record = self._clean(record)
            record.lineage = record.lineage or uuid.uuid4().hex
            image_items.append({"PutRequest": {"Item": self._image_put(record, 0, INDEX_VERSION)["Put"]["Item"]}})
            items += self._pair_requests(record.key, set(), record)
            for action in self._index_actions(None, record):
                if "Put" in action:
                    items.append({"PutRequest": {"Item": action["Put"]["Item"]}})
                else:  # a counter: added up, written once per batch
                    update = action["Update"]
                    pk = update["Key"]["pk"]["S"]
                    name = pk.rsplit("#", 1)[0] if pk.startswith("count#") else pk  # a counter's shards as one
                    counters.setdefault(name, [update, 0])[1] += int(update["ExpressionAttributeValues"][":d"]["N"])
        items += image_items
        for i in range(0, len(items), 25):
            self._write_items(items[i : i + 25])
        if fresh:
            size = sum(r.bytes for r in fresh.values())
            self._call("write", "update_item", **self._usage(IMAGES, len(fresh), size)["Update"])
        for update, total in counters.values():
            update["ExpressionAttributeValues"][":d"] = {"N": str(total)}
            self._call("write", "update_item", **update)
        dropped = []
        for record in slow:
            previous = self.put(record, keep_until=keep_until)
            if previous is not None and keep_until is None:
                dropped.append(previous)
        return dropped

    def _existing(self, keys: set[str]) -> set[str]:
        """Which of ``keys`` have a current image (BatchGetItem of their keys only)."""
        found, ordered = set(), sorted(keys)
        for i in range(0, len(ordered), 100):
            request = {
                self.table: {
                    "Keys": [{"pk": _s(f"image#{k}")} for k in ordered[i : i + 100]],
                    "ProjectionExpression": "#k",
                    "ExpressionAttributeNames": {"#k": "key"},
                }
            }
            for attempt in range(_RETRIES):
                response = self._call("read", "batch_get_item", RequestItems=request)
                found.update(item["key"]["S"] for item in response.get("Responses", {}).get(self.table, []))
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                time.sleep(0.05 * 2**attempt)
        return found
