"""Counters kept as rows are written, the bulk write, the per-key version cap, the storage quota
and the paged version history (issue 19 points 1-2, issue 23 point 5)."""

from __future__ import annotations

import html
import os
import random
import re
import sqlite3
import time

import pytest
from conftest import Api, make_app, make_image, snapshot

from app.core.blobs import VARIANTS
from app.metadata.base import ImageRecord
from app.metadata.sqlite import SqliteMetadataStore

LATER = time.time() + 86400


def record(key: str, size: int, labels=(), labelled=True, version: str = "") -> ImageRecord:
    return ImageRecord(
        key=key,
        content_type="image/jpeg",
        bytes=size,
        width=4,
        height=3,
        sha256="0" * 64,
        created_at=1.0,
        updated_at=time.time(),
        version=version or f"v{random.getrandbits(64):016x}",
        labels=list(labels),
        labelled=labelled,
    )


def recounted(path: str) -> dict:
    """Every counter summed from the tables, the way the old code did on each page."""
    db = sqlite3.connect(path)
    images, current = db.execute(
        "SELECT COUNT(*), COALESCE(SUM(json_extract(record, '$.bytes')), 0) FROM images"
    ).fetchone()
    usage = {"images": images, "current_bytes": current}
    for state, name in (("history", "history"), ("trash", "trashed")):
        n, b = db.execute("SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM retired WHERE state = ?", (state,)).fetchone()
        usage |= {name: n, f"{state}_bytes": b}
    labels = db.execute("SELECT label, COUNT(*) FROM labels GROUP BY label ORDER BY label").fetchall()
    unlabelled = db.execute("SELECT COUNT(*) FROM unlabelled").fetchone()[0]
    return {"usage": usage, "labels": [tuple(r) for r in labels], "unlabelled": unlabelled}


def kept(store: SqliteMetadataStore) -> dict:
    return {"usage": store.usage(), "labels": store.all_labels(), "unlabelled": store.unlabelled_count()}


def test_counters_agree_with_the_tables_after_every_kind_of_write(tmp_path):
    path = str(tmp_path / "m.sqlite3")
    store = SqliteMetadataStore(path)
    rng = random.Random(19)
    names = ["dog", "cat", "person", "car"]
    keys = [f"k{i}.jpg" for i in range(12)]
    for step in range(400):
        key = rng.choice(keys)
        action = rng.randrange(8)
        labels = rng.sample(names, rng.randint(0, 2))
        if action <= 2:
            store.put(record(key, rng.randint(1, 1000), labels, rng.random() < 0.7), keep_until=LATER)
        elif action == 3:
            store.delete(key, trash_until=LATER if rng.random() < 0.8 else None)
        elif action == 4:
            store.set_labels(key, labels)
        elif action == 5:
            trashed, _ = store.trash(limit=5)
            if trashed:
                item = rng.choice(trashed)
                target = rng.choice(keys)
                store.restore_trashed(item.record.key, item.record.version, target=target, replace_until=LATER)
        elif action == 6:
            store.put_many([record(rng.choice(keys), rng.randint(1, 1000), labels) for _ in range(3)], keep_until=LATER)
        else:
            store.purge(LATER + 1 if step % 50 == 0 else 0, trash=step % 97 == 0)
        if step % 40 == 0:
            assert kept(store) == recounted(path), f"after step {step}"
    assert kept(store) == recounted(path)


def test_an_older_database_gets_its_counters_filled_once(tmp_path):
    path = str(tmp_path / "old.sqlite3")
    store = SqliteMetadataStore(path)
    store.put_many([record(f"a{i}.jpg", 100 + i, ["dog"] if i % 2 else [], i % 3 > 0) for i in range(30)])
    store.put(record("a1.jpg", 7), keep_until=LATER)
    store.delete("a2.jpg", trash_until=LATER)
    expected = recounted(path)
    # As an earlier version left it: no counters, no bytes column, user_version 1.
    db = sqlite3.connect(path)
    triggers = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")]
    db.executescript(
        "".join(f"DROP TRIGGER {name};" for name in triggers)
        + "DROP TABLE counters; ALTER TABLE images DROP COLUMN bytes; PRAGMA user_version = 1;"
    )
    db.close()
    reopened = SqliteMetadataStore(path)
    assert kept(reopened) == expected
    reopened.put(record("new.jpg", 5, ["cat"]))
    assert kept(reopened) == recounted(path)


def test_put_many_writes_what_puts_would(tmp_path):
    one, many = SqliteMetadataStore(str(tmp_path / "one.sqlite3")), SqliteMetadataStore(str(tmp_path / "many.sqlite3"))
    batch = [
        record(f"f/{i % 40}.jpg", i + 1, ["dog"] if i % 3 else ["cat", "pet"], bool(i % 2), f"v{i:04d}")
        for i in range(120)
    ]
    for r in batch:
        one.put(ImageRecord.from_dict(r.to_dict()), keep_until=LATER)
    dropped = many.put_many([ImageRecord.from_dict(r.to_dict()) for r in batch], keep_until=LATER, batch_size=50)
    assert dropped == []
    assert kept(one) == kept(many) == recounted(many.path)
    assert many.folders() == one.folders() and many.get_folder("f/").count == 40
    listed = [(r.key, r.version, r.labels) for r in many.list(limit=100)[0]]
    assert listed == [(r.key, r.version, r.labels) for r in one.list(limit=100)[0]]
    assert [r.key for r in many.list(words=["dog"], limit=100)[0]] == [
        r.key for r in one.list(words=["dog"], limit=100)[0]
    ]
    # Without keep_until the replaced records come back, so their blobs can go.
    gone = many.put_many([record("f/1.jpg", 3)])
    assert [g.key for g in gone] == ["f/1.jpg"] and many.count() == 40


@pytest.fixture
def capped(tmp_path):
    return make_app(tmp_path, GALLERY_MAX_VERSIONS_PER_KEY=3, GALLERY_WORK_PROCESSES=0)


def test_a_thousand_replacements_keep_at_most_the_cap(capped):
    gallery = capped.extensions["services"]
    data = [make_image("PNG", size=(8 + n % 5, 8)) for n in range(5)]
    for n in range(1000):
        gallery.library.upload("busy.png", data[n % 5])
    current, history = gallery.history.versions("busy.png")
    assert len(history) == 2  # with the current one: the cap of 3
    assert gallery.metadata.dropped_versions("busy.png") == 997
    usage = gallery.metadata.usage()
    assert (usage["images"], usage["history"]) == (1, 2)
    blob_files = [name for _, _, names in os.walk(gallery.blobs.root) for name in names]
    assert len(blob_files) == len(VARIANTS) * 3  # the dropped versions' bytes went with them
    api = Api(capped.test_client())
    answer = api.client.get("/api/images/busy.png/versions").get_json()
    assert answer["dropped"] == 997 and len(answer["items"]) == 3
    page = api.client.get("/browse?key=busy.png").get_data(as_text=True)
    assert 'id="history-dropped"' in page and "997 older versions" in page


def test_the_version_history_is_paged_by_cursor(tmp_path):
    app = make_app(tmp_path, GALLERY_MAX_VERSIONS_PER_KEY=0, GALLERY_WORK_PROCESSES=0, GALLERY_PAGE_SIZE=3)
    gallery = app.extensions["services"]
    for n in range(7):
        gallery.library.upload("p.png", make_image("PNG", size=(8 + n, 8)))
    client = app.test_client()
    first = client.get("/api/images/p.png/versions?limit=3").get_json()
    assert [v["current"] for v in first["items"]] == [True, False, False, False] and first["dropped"] == 0
    seen, cursor = [v["version"] for v in first["items"]], first["next_cursor"]
    while cursor:
        page = client.get("/api/images/p.png/versions", query_string={"limit": 3, "cursor": cursor}).get_json()
        assert not any(v["current"] for v in page["items"])
        seen += [v["version"] for v in page["items"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 7
    assert [v.record.version for v in gallery.history.versions("p.png")[1]] == seen[1:]  # newest replaced first
    # A cursor of another key's history is refused, not followed.
    gallery.library.upload("q.png", make_image("PNG"))
    wrong = client.get("/api/images/q.png/versions", query_string={"cursor": first["next_cursor"]})
    assert wrong.status_code == 400
    browse = client.get("/browse?key=p.png").get_data(as_text=True)
    older = re.search(r'<a rel="next" href="([^"]+)">Older versions</a>', browse)
    assert older and browse.count('class="versions"') == 1
    second = client.get(html.unescape(older.group(1))).get_data(as_text=True)
    assert "Newest versions" in second and seen[4] in second


def test_a_full_quota_answers_507_and_changes_nothing(tmp_path):
    app = make_app(tmp_path, GALLERY_QUOTA_GB=1000 / 1024**3, GALLERY_WORK_PROCESSES=0)
    gallery = app.extensions["services"]
    api = Api(app.test_client())
    small = make_image("PNG", size=(16, 16))
    assert api.upload("first.png", small).status_code == 201
    big = make_image("PNG", size=(400, 300), color=(1, 2, 3))
    assert len(small) <= 1000 < len(small) + len(big)
    before = snapshot(gallery, stats=False)
    usage = gallery.metadata.usage()
    refused = api.upload("second.png", big)
    assert refused.status_code == 507
    error = refused.get_json()["error"]
    assert error["code"] == "insufficient_storage" and "storage is full" in error["message"]
    assert snapshot(gallery, stats=False) == before and gallery.metadata.usage() == usage
    status = api.client.get("/cache").get_data(as_text=True)
    assert 'id="storage-quota"' in status and "% used" in status
