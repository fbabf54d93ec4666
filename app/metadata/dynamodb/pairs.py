"""Word-pair items ``pair#<a4>+<b2>#<key>``: one per pair of the image's words (see
``layout.pair_start``), in the search indexes beside the word-start items, so a two-word search
reads about what it shows.

An image has up to ~100 of them: more than its transaction can hold (≤ 100 actions, see
``layout``), so they are written after it, by BatchWriteItem. That makes them hints, never the
truth: the search re-checks every record it returns against the query (``word_search._matches``),
so an item a crash left behind (a pair the image no longer has, an image deleted) shows nothing
wrong, it only costs a read. What must not be lost is a pair an image *has*: the transaction writes
the image item with ``ix`` PAIRS_PENDING and ``settle`` raises it to INDEX_VERSION once the pairs
are written; an image left pending by a crash between the two is found and settled by
``gallery init`` (``provisioning._index_older_items``), like the earlier index backfills.
"""

from __future__ import annotations

import logging

from ..base import ImageRecord
from .indexes import search_item
from .layout import INDEX_VERSION, _pair_starts, _s
from .records import ImageItems

log = logging.getLogger(__name__)

BATCH = 25  # requests in one BatchWriteItem
SETTLE_TRIES = 3  # a key rewritten meanwhile: read it again and settle what is there now


def pair_content(record: ImageRecord | None) -> tuple:
    """What the pair items of ``record`` hold: when two records give the same, so are their items."""
    if record is None:
        return ()
    return (_pair_starts(record), search_item("", "", record))


class PairItems(ImageItems):
    def _pair_requests(self, key: str, dropped: set[str], new: ImageRecord | None) -> list[dict]:
        """BatchWriteItem requests: a Put for each pair of ``new``, a Delete for each of ``dropped`` it has not."""
        kept = _pair_starts(new) if new is not None else set()
        puts = [{"PutRequest": {"Item": search_item(f"pair#{p}#{key}", p, new)}} for p in sorted(kept)]
        deletes = [{"DeleteRequest": {"Key": {"pk": _s(f"pair#{p}#{key}")}}} for p in sorted(dropped - kept)]
        return puts + deletes

    def _settle(self, key: str, old: ImageRecord | None, new: ImageRecord | None, ver: int) -> None:
        """After a transaction made ``new`` (version number ``ver``; None: deleted) current in place
        of ``old``: write the pairs of ``new``, delete those of ``old`` it drops, then mark the image
        item settled (ix INDEX_VERSION) if it is still version ``ver``. If another write came in
        between, ours may have overwritten its pairs: settle again from what is current now."""
        dropped = _pair_starts(old) if old is not None else set()
        for _ in range(SETTLE_TRIES):
            requests = self._pair_requests(key, dropped, new)
            for i in range(0, len(requests), BATCH):
                self._write_items(requests[i : i + BATCH])
            if new is None or self._mark_settled(key, ver):
                return
            dropped |= _pair_starts(new)  # ours, maybe not the current record's
            new, ver = self._get_item(key)
        log.warning("Pairs of %r still pending after %d tries: `gallery init` settles them.", key, SETTLE_TRIES)

    def _mark_settled(self, key: str, ver: int) -> bool:
        """Raise the image item's ``ix`` to INDEX_VERSION if it is still version ``ver``."""
        return self._conditional(
            "write",
            "update_item",
            "ConditionalCheckFailedException",
            TableName=self.table,
            Key={"pk": _s(f"image#{key}")},
            UpdateExpression="SET ix = :ix",
            ConditionExpression="ver = :v",
            ExpressionAttributeValues={":ix": {"N": INDEX_VERSION}, ":v": {"N": str(ver)}},
        )
