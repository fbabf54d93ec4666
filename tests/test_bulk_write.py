"""The SQLite bulk write (issue 19 point 2): a big mixed batch, written as a first load (indexes
built at the end) and then into the filled library (batch by batch), leaves exactly what one
``put`` per record leaves: the same rows, versions, counters, month and folder counts."""

from __future__ import annotations

import gc
import random
import sqlite3
import time

import pytest
from test_storage_limits import kept, recounted

from app.metadata.base import ImageRecord, ancestors
from app.metadata.sqlite import SqliteMetadataStore
from app.metadata.sqlite.bulk_rows import INSERT_TRIGGERS, folder_counts

LATER = time.time() + 86400
LABELS = ["dog", "cat", "person", "car", "Boat"]


def mixed(rng: random.Random, n: int, keys: int, start: int = 0) -> list[ImageRecord]:
    """``n`` records over ``keys`` keys (so many replace one another), in folders, some undated,
    unlabelled, favourite or of an upload batch."""
    records = []
    for i in range(start, start + n):
        k = rng.randrange(keys)
        dated = rng.random() < 0.8
        records.append(
            ImageRecord(
                key=f"{2010 + k % 7}/trip-{k % 13}/IMG_{k:05d}.JPG" if k % 9 else f"loose_{k}.png",
                content_type="image/jpeg",
                bytes=rng.randint(1, 10_000),
                width=4,
                height=3,
                sha256=f"{i:064x}",
                created_at=1000.0 + i,
                updated_at=2000.0 + i,
                version=f"v{i:08d}",
                labels=sorted(set(rng.sample(LABELS, rng.randint(0, 3)))),
                labelled=rng.random() < 0.9,
                favourite=rng.random() < 0.05,
                batch="0123456789abcdef" if rng.random() < 0.1 else "",
                taken_at=f"{2000 + k % 20}-{1 + k % 12:02d}-0{1 + k % 9}T10:00:00" if dated else None,
                exif={"make": "Canon", "model": f"EOS {k % 4}D"} if dated else {},
            )
        )
    return records


def copies(records: list[ImageRecord]) -> list[ImageRecord]:
    return [ImageRecord.from_dict(r.to_dict()) for r in records]


def tables(path: str) -> dict:
    """Every row a write leaves, the lineage ids (random per store) and the retire time left out."""
    db = sqlite3.connect(path)
    found = {}
    for table, columns in (
        ("images", "key, updated_at, taken, bytes, json_remove(record, '$.lineage')"),
        ("labels", "label, key"),
        ("words", "word, key"),
        ("unlabelled", "key"),
        ("favourites", "key"),
        ("retired", "version, key, state, expires_at, bytes"),
        ("months", "month, n"),
        ("folders", "path, parent, count, cover"),
        ("counters", "name, n, b"),
    ):
        found[table] = sorted(db.execute(f"SELECT {columns} FROM {table}").fetchall())  # noqa: S608
    found["schema"] = db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
    return found


def written_one_at_a_time(path: str, *loads: list[ImageRecord]) -> SqliteMetadataStore:
    store = SqliteMetadataStore(path)
    for load in loads:
        for r in copies(load):
            store.put(r, keep_until=LATER)
    return store


def test_a_big_mixed_batch_writes_what_puts_would(tmp_path):
    rng = random.Random(19)
    first, second = mixed(rng, 3000, 1200), mixed(rng, 2000, 1600, start=3000)
    one = written_one_at_a_time(str(tmp_path / "one.sqlite3"), first, second)
    many = SqliteMetadataStore(str(tmp_path / "many.sqlite3"))
    assert many.put_many(copies(first), keep_until=LATER, batch_size=400) == []  # a first load
    assert many.put_many(copies(second), keep_until=LATER, batch_size=400) == []  # into a filled library
    assert tables(many.path) == tables(one.path)
    assert kept(many) == kept(one) == recounted(many.path)
    assert many.months() == one.months() and many.folders() == one.folders()
    for key in ("2011/trip-1/IMG_00001.JPG", "loose_9.png"):
        assert [v.record.version for v in many.versions(key)] == [v.record.version for v in one.versions(key)]
    for query in (["img"], ["eos"], ["trip", "dog"], ["@0123456789abcdef"]):
        found = [[(r.key, r.version) for r in store.list(words=query, limit=500)[0]] for store in (many, one)]
        assert found[0] == found[1] and found[0]


def test_a_first_load_leaves_every_index_and_trigger_in_place(tmp_path):
    rng = random.Random(7)
    store = SqliteMetadataStore(str(tmp_path / "m.sqlite3"))
    before = tables(store.path)["schema"]
    store.put_many(mixed(rng, 900, 500), keep_until=LATER, batch_size=100)
    assert tables(store.path)["schema"] == before
    names = {name for _, name, _ in before}
    assert set(INSERT_TRIGGERS) <= names and {"words_by_key", "images_sha256", "images_by_folder"} <= names


def failing(records: list[ImageRecord]):
    yield from records
    raise RuntimeError("the source went away")


def test_a_first_load_that_fails_leaves_the_library_empty(tmp_path):
    store = SqliteMetadataStore(str(tmp_path / "m.sqlite3"))
    before = tables(store.path)
    with pytest.raises(RuntimeError):
        store.put_many(failing(mixed(random.Random(4), 350, 1000)), batch_size=100)
    assert tables(store.path) == before and store.count() == 0


def test_a_later_bulk_write_that_fails_keeps_its_whole_batches(tmp_path):
    store = SqliteMetadataStore(str(tmp_path / "m.sqlite3"))
    earlier, later = mixed(random.Random(3), 50, 40), mixed(random.Random(4), 350, 1000, start=50)
    store.put_many(earlier)
    with pytest.raises(RuntimeError):
        store.put_many(failing(later), batch_size=100)
    assert store.count() == len({r.key for r in earlier + later[:300]})  # three batches of 100 went in
    assert kept(store) == recounted(store.path)
    assert {"words_by_key", "count_image_in"} <= {name for _, name, _ in tables(store.path)["schema"]}


def test_replacing_without_keeping_returns_the_replaced_and_keeps_the_heart(tmp_path):
    store = SqliteMetadataStore(str(tmp_path / "m.sqlite3"))
    original = mixed(random.Random(5), 1, 1)[0]
    original.favourite = True
    store.put(original)
    newer = ImageRecord.from_dict({**original.to_dict(), "version": "v-new", "favourite": False})
    gone = store.put_many([newer])
    assert [g.version for g in gone] == [original.version]
    assert store.get(original.key).favourite and store.list(favourite=True)[0][0].version == "v-new"


def test_the_folder_counts_of_a_batch_are_those_of_one_count_per_key():
    rng = random.Random(11)
    for _ in range(300):
        keys = [
            "/".join(rng.choice("ab") for _ in range(rng.randint(0, 3))) + f"/f{rng.randrange(40)}" for _ in range(30)
        ]
        keys = [key.lstrip("/") for key in keys]
        added, cover = {}, {}
        for key in keys:  # folders.count_photo, one key at a time
            for path in ancestors(key):
                added[path] = added.get(path, 0) + 1
                cover[path] = key
        assert folder_counts(keys) == [(path, added[path], cover[path]) for path in sorted(added)]


@pytest.mark.parametrize("enabled", [True, False])
def test_a_bulk_write_leaves_the_cycle_collector_as_it_found_it(tmp_path, enabled):
    store = SqliteMetadataStore(str(tmp_path / "m.sqlite3"))
    seen = []
    records = mixed(random.Random(6), 20, 20)

    def watched():
        for record in records:
            seen.append(gc.isenabled())
            yield record

    (gc.enable if enabled else gc.disable)()
    try:
        store.put_many(watched(), batch_size=5)
        assert gc.isenabled() is enabled and not any(seen) and store.count() == len({r.key for r in records})
    finally:
        gc.enable()
