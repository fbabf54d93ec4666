"""SQLite metadata: WAL mode, newest-first cursor pages, prefix ranges, labels, thread safety."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading

import pytest
from conftest import is_stored, make_image

from app.core.blobs import ORIGINAL, THUMB, VARIANTS, blob_name
from app.core.errors import InvalidParameter
from app.metadata.base import ImageRecord
from app.metadata.sqlite import SqliteMetadataStore


def record(key: str, updated_at: float = 1000.0, **fields) -> ImageRecord:
    return ImageRecord(
        key=key,
        content_type="image/png",
        bytes=10,
        width=4,
        height=3,
        sha256=hashlib.sha256(key.encode()).hexdigest(),
        created_at=updated_at,
        updated_at=updated_at,
        version=f"v-{key}-{updated_at}",
        **fields,
    )


@pytest.fixture
def store(tmp_path):
    return SqliteMetadataStore(str(tmp_path / "meta" / "gallery.sqlite3"))


def walk(store, limit, **filters) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        items, cursor = store.list(limit=limit, after=cursor, **filters)
        pages.append([r.key for r in items])
        if cursor is None:
            return pages


def test_wal_mode_is_on(store):
    store.put(record("a"))
    assert store._connect().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # The mode is a property of the database file, so any other connection sees it too.
    other = sqlite3.connect(store.path)
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    other.close()


def test_put_get_delete_round_trip(store):
    original = record("a/b", labels=["dog"], provenance={"source_key": "x", "ops": [{"op": "blur"}]})
    assert store.put(original) is None
    assert store.get("a/b") == original
    replacement = record("a/b", updated_at=2000.0)
    assert store.put(replacement) == original  # put returns what it replaced
    assert store.get("a/b") == replacement
    assert store.count() == 1
    assert store.delete("a/b") == (replacement, [replacement])  # nothing kept: gone for good
    assert store.delete("a/b") == (None, [])
    assert store.get("a/b") is None
    assert store.count() == 0


def test_records_survive_reopening(store):
    store.put(record("kept", lineage="l1"))
    assert SqliteMetadataStore(store.path).get("kept") == record("kept", lineage="l1")


def test_list_is_newest_first_without_duplicates_or_gaps(store):
    # Ties on updated_at are common (bulk imports); the key breaks them, and pages must not
    # repeat or skip a record at a tie that spans a page boundary.
    records = [record(f"t{t}-k{k}", 1000.0 + t) for t in range(5) for k in range(7)]
    for r in records:
        store.put(r)
    expected = sorted(records, key=lambda r: (r.updated_at, r.key), reverse=True)
    for limit in (1, 3, 7, 10, 35, 100):
        pages = walk(store, limit)
        flat = [key for page in pages for key in page]
        assert flat == [r.key for r in expected]
        assert all(len(page) == limit for page in pages[:-1])
        assert len(pages) == max(1, -(-35 // limit))


def test_the_last_full_page_has_no_next_cursor(store):
    for i in range(4):
        store.put(record(f"k{i}", 1000.0 + i))
    items, cursor = store.list(limit=4)
    assert len(items) == 4 and cursor is None


def test_fractional_timestamps_round_trip_through_the_cursor(store):
    times = [1700000000.123456, 1700000000.1234561, 1700000000.1234562]
    for i, t in enumerate(times):
        store.put(record(f"k{i}", t))
    assert walk(store, 1) == [["k2"], ["k1"], ["k0"]]


@pytest.mark.parametrize("position", ["!!!", {}, [], [1], ["a", "b"], [1, 2], [True, "k"], [1, "k", "x"]])
def test_an_invalid_position_is_a_clear_error(store, position):
    store.put(record("a"))
    with pytest.raises(InvalidParameter):
        store.list(after=position)


def test_prefix_is_a_literal_range_not_a_pattern(store):
    for key in ["a_b", "axb", "a_", "a%b", "ab", "b", "a_b/c", "A_b"]:
        store.put(record(key))
    assert sorted(r.key for r in store.list(prefix="a_")[0]) == ["a_", "a_b", "a_b/c"]
    assert sorted(r.key for r in store.list(prefix="a_b/")[0]) == ["a_b/c"]
    assert store.list(prefix="zz")[0] == []
    assert store.suggest("a_") == ["a_", "a_b", "a_b/c"]
    assert store.suggest("a", limit=2) == ["a%b", "a_"]
    assert store.suggest("") == sorted(["a_b", "axb", "a_", "a%b", "ab", "b", "a_b/c", "A_b"])


def test_labels_filter_the_listing(store):
    for key in ["cat1", "dog1", "dog2", "both"]:
        store.put(record(key))
    store.set_labels("dog1", ["Dog", "person"])
    store.set_labels("dog2", ["dog"])
    store.set_labels("both", ["dog", "cat", "dog"])
    store.set_labels("cat1", ["cat"])
    store.set_labels("missing", ["dog"])  # no record: nothing happens
    assert sorted(r.key for r in store.list(label="dog")[0]) == ["both", "dog1", "dog2"]
    assert sorted(r.key for r in store.list(label="cat")[0]) == ["both", "cat1"]
    assert store.list(label="horse")[0] == []
    assert store.get("both").labels == ["cat", "dog"]
    assert store.all_labels() == [("cat", 2), ("dog", 3), ("person", 1)]
    assert [r.key for r in store.list(label="dog", prefix="dog")[0]] == ["dog2", "dog1"]
    # Labels are paged like everything else.
    assert [k for page in walk(store, 1, label="dog") for k in page] == ["dog2", "dog1", "both"]
    # Deleting an image drops its labels; replacing it sets the new record's labels.
    store.delete("dog1")
    store.put(record("dog2", labels=["bird"]))
    assert store.all_labels() == [("bird", 1), ("cat", 2), ("dog", 1)]
    assert store.get("missing") is None


def test_concurrent_puts_serialise_and_each_sees_its_predecessor(store):
    previous: list[str | None] = []
    lock = threading.Lock()

    def writer(n):
        for i in range(20):
            before = store.put(record("same", 1000.0 + n * 100 + i))
            with lock:
                previous.append(before.version if before else None)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Every put replaced exactly one earlier version (or none, once): no lost or doubled replace.
    assert previous.count(None) == 1
    replaced = [v for v in previous if v is not None]
    assert len(replaced) == len(set(replaced)) == 159
    assert store.get("same").version not in replaced
    assert store.count() == 1


def test_concurrent_uploads_to_one_key_leave_metadata_and_blob_agreeing(gallery):
    bodies = [make_image("PNG", size=(16 + n, 16)) for n in range(8)]
    errors = []

    def upload(data):
        try:
            for _ in range(3):
                gallery.library.upload("contended", data)
        except Exception as exc:  # surfaced below: a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=upload, args=(data,)) for data in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    final = gallery.metadata.get("contended")
    data = gallery.blobs.get(blob_name(ORIGINAL, final))
    assert hashlib.sha256(data).hexdigest() == final.sha256
    assert data in bodies and final.width == 16 + bodies.index(data)
    assert is_stored(gallery.blobs, blob_name(THUMB, final))
    # Every replaced version is in the history, its blobs kept.
    current, history = gallery.history.versions("contended")
    assert len(history) == 23 and len({r.record.version for r in history} | {current.version}) == 24
    blob_files = [name for _, _, names in os.walk(gallery.blobs.root) for name in names]
    assert len(blob_files) == len(VARIANTS) * 24  # every variant of every version
    assert gallery.images.get_original("contended").data == data
