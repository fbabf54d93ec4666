"""The bulk write (``put_many``): an import's or a benchmark's many records, a batch at a time.

What a row-at-a-time write pays per row is paid here once per batch: each table's rows go in with
one ``executemany`` in its key order (``bulk_rows``), the counters the insert triggers keep are
summed in Python and written once (the triggers are dropped inside the batch's transaction and
created again before it commits, so no other connection ever sees them missing), the folder
counts of the batch's new keys are added once per folder, and the versions it replaces are
retired with one ``executemany``. Python's cycle collector is paused meanwhile.

A first load (an empty library and at least one full batch) goes further: it is one transaction
in which the secondary indexes of ``images``, ``labels`` and ``words`` are dropped and built again
at the end, a sort each instead of a million random inserts into B-trees larger than the cache.
Readers (WAL) see the empty library with its indexes until it commits; other writers wait for
it (and give up after the connection's busy timeout), so it suits an import or a benchmark.
"""

from __future__ import annotations

import gc
import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import islice

from ..base import ImageRecord
from .bulk_rows import INSERT_TRIGGERS, BatchRows, WordCache, folder_counts
from .folders import count_new_photos
from .writes import CurrentImages

BULK_CACHE_KIB = -262144  # page cache of a bulk write: 256 MiB (negative: in KiB)
DEFERRED_INDEX_TABLES = ("images", "labels", "words")  # a first load builds their indexes at the end
KEYS_PER_SELECT = 500  # SQLite takes at most 32,766 parameters


class BulkWrites(CurrentImages):
    def put_many(self, records, *, keep_until: float | None = None, batch_size: int = 5000) -> list[ImageRecord]:
        """``put`` for many records, ``batch_size`` per transaction (or one transaction for a first
        load, see the module doc). A key already taken is replaced as ``put`` would (the replaced
        record joins the history with ``keep_until``, its favourite mark stays); returns the replaced
        records whose blobs may go (those not kept)."""
        dropped: list[ImageRecord] = []
        word_cache = WordCache()
        batches = _batches(records, batch_size)
        with _collector_paused(), self._bulk_settings() as db:
            for batch in batches:
                with self._bulk_transaction() as transaction:
                    empty = db.execute("SELECT 1 FROM images LIMIT 1").fetchone() is None
                    if not (empty and len(batch) == batch_size):
                        dropped += self._put_batch(db, batch, keep_until, word_cache, first_load=False)
                        continue
                    transaction.defer_indexes()  # a first load: every batch left joins this transaction
                    for part in _chain(batch, batches):
                        dropped += self._put_batch(db, part, keep_until, word_cache, first_load=True)
                # The write-ahead log now holds the whole library: copy it into the database here
                # rather than in the next upload's commit.
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return dropped

    @contextmanager
    def _bulk_settings(self):
        db = self._connect()
        cache_size = db.execute("PRAGMA cache_size").fetchone()[0]
        db.execute(f"PRAGMA cache_size = {BULK_CACHE_KIB}")  # the indexes' pages stay in memory meanwhile
        # Every index row written here belongs to an images row of the same transaction: checking
        # each one's key against ``images`` proves nothing more.
        db.execute("PRAGMA foreign_keys = OFF")
        try:
            yield db
        finally:
            db.execute("PRAGMA foreign_keys = ON")
            db.execute(f"PRAGMA cache_size = {int(cache_size)}")

    @contextmanager
    def _bulk_transaction(self):
        with self._write() as db:
            transaction = _SchemaSetAside(db)
            transaction.set_aside("trigger", "name", INSERT_TRIGGERS)
            yield transaction
            transaction.restore()

    def _put_batch(self, db, records: list[ImageRecord], keep_until, word_cache: WordCache, *, first_load: bool):
        dropped = []
        keys = list(dict.fromkeys(record.key for record in records))
        current: dict[str, ImageRecord] = {}  # each key's current record as the batch goes on
        for i in range(0, len(keys), KEYS_PER_SELECT):
            part = keys[i : i + KEYS_PER_SELECT]
            sql = f"SELECT record FROM images WHERE key IN ({', '.join('?' * len(part))})"  # noqa: S608 - only placeholders
            current.update((r.key, r) for r in (self._row(row[0]) for row in db.execute(sql, part)))
        self._remove_replaced(db, list(current.values()), word_cache, by_key=not first_load)
        count_new_photos(db, folder_counts(key for key in keys if key not in current))
        retired = []
        for record in records:  # a key given twice: the later one replaces the earlier, as with puts
            old = current.get(record.key)
            if old is not None:
                record.created_at = old.created_at
                record.favourite = old.favourite  # the heart belongs to the photo, not a version
                record.lineage = old.lineage = old.lineage or record.lineage or uuid.uuid4().hex
                if keep_until is not None:
                    retired.append(old)
                else:
                    dropped.append(old)
            record.lineage = record.lineage or os.urandom(16).hex()  # as uuid4().hex, in a third of the time
            current[record.key] = record
        if retired:  # counted here: ``count_retired_in`` is set aside with the other insert triggers
            self._retire_many(db, retired, "history", keep_until)
            db.execute(
                "UPDATE counters SET n = n + ?, b = b + ? WHERE name = 'history'",
                (len(retired), sum(r.bytes for r in retired)),
            )
        BatchRows.of([current[key] for key in keys], word_cache).insert(db)
        return dropped

    @staticmethod
    def _remove_replaced(db, replaced: list[ImageRecord], word_cache: WordCache, *, by_key: bool) -> None:
        """The rows of records about to be replaced (the images row and its label, word and
        unlabelled rows; the favourite mark stays with the key); the delete triggers take their
        counts off. In a first load, whose ``by key`` indexes are not there, each row is found by
        its primary key: the replaced records were written by the same load, so their rows are
        exactly what ``BatchRows`` makes of them."""
        db.executemany("DELETE FROM images WHERE key = ?", [(r.key,) for r in replaced])
        if by_key:
            for table in ("labels", "words", "unlabelled"):
                db.executemany(f"DELETE FROM {table} WHERE key = ?", [(r.key,) for r in replaced])  # noqa: S608
            return
        db.executemany(
            "DELETE FROM labels WHERE label = ? AND key = ?", [(x, r.key) for r in replaced for x in set(r.labels)]
        )
        db.executemany(
            "DELETE FROM words WHERE word = ? AND key = ?", [(w, r.key) for r in replaced for w in word_cache.of(r)]
        )
        db.executemany("DELETE FROM unlabelled WHERE key = ?", [(r.key,) for r in replaced])


class _SchemaSetAside:
    """Triggers and indexes dropped inside one write transaction and created again, from their own
    SQL, before it commits (a rollback brings them back too)."""

    def __init__(self, db):
        self.db = db
        self.deferred = False
        self._statements: list[str] = []

    def set_aside(self, kind: str, column: str, values: tuple[str, ...]) -> None:
        """Drop the ``kind`` (trigger, index) objects whose ``column`` (name, tbl_name) is one of ``values``."""
        marks = ", ".join("?" * len(values))
        rows = self.db.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = ? AND sql IS NOT NULL AND {column} IN ({marks})",  # noqa: S608
            (kind, *values),
        ).fetchall()
        for name, sql in rows:
            self.db.execute(f'DROP {kind.upper()} "{name}"')
            self._statements.append(sql)

    def defer_indexes(self) -> None:
        self.set_aside("index", "tbl_name", DEFERRED_INDEX_TABLES)
        self.deferred = True

    def restore(self) -> None:
        for sql in self._statements:
            self.db.execute(sql)


@contextmanager
def _collector_paused():
    """Python's cycle collector off for the write (as it was before, after): the write makes no
    reference cycles, and the collector's passes over the rows it makes, a batch's worth of tuples
    at a time, were 5-8% of its CPU. Process-wide while it lasts, which suits an import or a
    benchmark; garbage that other threads make meanwhile is collected after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _batches(records: Iterable[ImageRecord], size: int) -> Iterator[list[ImageRecord]]:
    it = iter(records)
    while batch := list(islice(it, size)):
        yield batch


def _chain(first: list, rest: Iterator[list]) -> Iterator[list]:
    yield first
    yield from rest
