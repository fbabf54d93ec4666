"""Changes to current images: each is one transaction conditioned on the version read just before,
retried on conflict, so the image item, its index items and the counters never disagree."""

from __future__ import annotations

import random
import time
import uuid

from botocore.exceptions import BotoCoreError, ClientError

from ...core.errors import BackendUnavailable
from ..base import Conflict, ImageRecord, amended
from .indexes import IndexItems
from .layout import HISTORY, IMAGES, TRASH, _s
from .records import ImageItems
from .retired import RetiredItems
from .table import _RETRIES


class CurrentImages(RetiredItems, IndexItems, ImageItems):
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

    def amend(self, key: str, version: str, changes: dict) -> bool:
        outcome = {}

        def build(old, ver):  # called again after a conflict: the last call says what happened
            outcome["amended"] = old is not None and old.version == version
            if not outcome["amended"]:
                return None
            new = amended(old, changes)
            # Label items carry torder, and the date taken may be what changed (its month with it).
            return [self._image_put(new, ver), *self._label_actions(old, new), *self._month_actions(old, new)]

        self._transact(key, build)
        return outcome["amended"]
