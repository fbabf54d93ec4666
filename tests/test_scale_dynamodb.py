"""DynamoDB at scale (issue 19 points 1-2, issue 23 point 5), on moto_server: sharded counters
summed on read, search in either order, the batched bulk write, the paged and capped history,
and no Scan on any read."""

from __future__ import annotations

import time

import pytest

from app.metadata.base import ImageRecord
from app.metadata.dynamodb import DynamoMetadataStore
from app.metadata.sqlite import SqliteMetadataStore

pytest_plugins = ["cloud"]
LATER = time.time() + 86400


def record(key: str, t: float, labels=(), taken: str | None = None, size: int = 10) -> ImageRecord:
    return ImageRecord(
        key=key,
        content_type="image/jpeg",
        bytes=size,
        width=4,
        height=3,
        sha256="0" * 64,
        created_at=t,
        updated_at=t,
        version=f"v{key}{t}",
        labels=list(labels),
        labelled=bool(labels),
        taken_at=taken,
    )


@pytest.fixture
def store(aws, monkeypatch):
    monkeypatch.setattr("app.runtime.aws.DEFAULT_TIMEOUT", (10.0, 1))  # moto_server on a busy machine
    store = DynamoMetadataStore(aws["table"], "us-east-1")
    store.provision()
    calls = store.calls = []
    client = store.client
    for method in ("query", "scan", "get_item", "batch_get_item"):
        original = getattr(client, method)

        def counted(_original=original, _method=method, **kwargs):
            calls.append(_method)
            return _original(**kwargs)

        setattr(client, method, counted)
    return store


def library() -> list[ImageRecord]:
    return [
        record(
            f"trip/{i:02}.jpg",
            100.0 + i,
            ["dog"] if i % 3 == 0 else ["cat"] if i % 3 == 1 else [],
            taken=None if i % 4 == 0 else f"20{10 + (i * 7) % 13:02}-05-01T10:00:00",
            size=100 + i,
        )
        for i in range(30)
    ]


def test_bulk_write_then_counters_and_labels_sum_their_shards(store, tmp_path):
    assert store.put_many(library(), keep_until=LATER) == []
    store.put(record("trip/00.jpg", 500.0, ["dog", "bird"], size=7), keep_until=LATER)  # a replacement: a transaction
    store.delete("trip/01.jpg", trash_until=LATER)
    same = SqliteMetadataStore(str(tmp_path / "m.sqlite3"))  # the reference: what SQLite counts
    same.put_many(library(), keep_until=LATER)
    same.put(record("trip/00.jpg", 500.0, ["dog", "bird"], size=7), keep_until=LATER)
    same.delete("trip/01.jpg", trash_until=LATER)
    assert store.usage() == same.usage() and store.count() == 29
    assert store.all_labels() == same.all_labels() == [("bird", 1), ("cat", 9), ("dog", 10)]
    assert store.unlabelled_count() == same.unlabelled_count()
    assert "scan" not in store.calls  # the reads above queried and got, never scanned
    shards = {
        pk
        for pk in (i["pk"]["S"] for i in store.client.scan(TableName=store.table)["Items"])
        if pk.startswith("count#images")
    }
    assert len(shards) > 1  # spread over several items, so no one key takes every upload


def test_search_honours_the_date_taken_order(store, tmp_path):
    store.put_many(library())
    same = SqliteMetadataStore(str(tmp_path / "m.sqlite3"))
    same.put_many(library())
    for query in ({"words": ["trip"]}, {"words": ["trip"], "label": "dog"}, {"words": ["jpg", "trip"]}):
        expected, cursor = [], None
        while True:
            page, cursor = same.list(limit=4, sort="taken", after=cursor, **query)
            expected += [r.key for r in page]
            if cursor is None:
                break
        found, cursor = [], None
        while True:
            page, cursor = store.list(limit=4, sort="taken", after=cursor, **query)
            found += [r.key for r in page]
            if cursor is None:
                break
        assert found == expected and found != sorted(found, reverse=True)  # taken order, not upload order
    assert "scan" not in store.calls


def test_history_is_paged_and_capped(store):
    for n in range(9):
        store.put(record("k.jpg", 10.0 + n, size=n + 1), keep_until=LATER)
    pages, cursor = [], None
    while True:
        page, cursor = store.history_page("k.jpg", limit=3, after=cursor)
        pages.append([r.record.updated_at for r in page])
        if cursor is None:
            break
    assert pages == [[17.0, 16.0, 15.0], [14.0, 13.0, 12.0], [11.0, 10.0]]
    dropped = store.trim_history("k.jpg", 3)
    assert sorted(r.updated_at for r in dropped) == [10.0, 11.0, 12.0, 13.0, 14.0]  # the oldest went
    assert [r.record.updated_at for r in store.versions("k.jpg")] == [17.0, 16.0, 15.0]
    assert store.dropped_versions("k.jpg") == 5 and store.usage()["history"] == 3
    assert "scan" not in store.calls
