"""The DynamoDB image feed written to shards and read merged (issue 19 point 7), on moto_server:
the order and the pages equal SQLite's, a page reads at most twice what it shows, and a table
written before the shards (every item in the one partition ``images``) reads the same."""

from __future__ import annotations

import pytest
from cloud import counting_store

from app.metadata.base import ImageRecord
from app.metadata.dynamodb import DynamoMetadataStore
from app.metadata.dynamodb.layout import IMAGES, feed_shards
from app.metadata.sqlite import SqliteMetadataStore

pytest_plugins = ["cloud"]


def record(i: int) -> ImageRecord:
    return ImageRecord(
        key=f"roll/{i:03}.jpg",
        content_type="image/jpeg",
        bytes=10,
        width=4,
        height=3,
        sha256=f"{i:064x}",
        created_at=100.0 + i,
        updated_at=100.0 + i,
        version=f"v{i}",
        labelled=i % 2 == 0,
        taken_at=None if i % 5 == 0 else f"20{10 + (i * 7) % 13:02}-05-{1 + i % 28:02}T10:00:00",
    )


@pytest.fixture
def store(aws, monkeypatch):
    """Each Query read: items read (ScannedCount)."""
    return counting_store(
        aws, monkeypatch, [record(i) for i in range(150)], lambda _, response: response["ScannedCount"]
    )


@pytest.fixture
def reference(tmp_path):
    same = SqliteMetadataStore(str(tmp_path / "m.sqlite3"))
    same.put_many([record(i) for i in range(150)])
    return same


def pages(store, limit: int, **query) -> list[list[str]]:
    """Every page of a listing; on DynamoDB a gallery-sized page (48) reads at most twice what it
    shows (+1: whether a next page exists), however its items are spread over the shards."""
    found, cursor = [], None
    while True:
        counted = isinstance(store, DynamoMetadataStore)
        if counted:
            store.read = []
        page, cursor = store.list(limit=limit, after=cursor, **query)
        found.append([r.key for r in page])
        if counted and limit >= 48:
            assert sum(store.read) <= 2 * (limit + 1), (store.read, len(page))
        if cursor is None:
            return found


def feeds(store) -> set[str]:
    items = store.client.scan(TableName=store.table, ProjectionExpression="feed")["Items"]
    return {i["feed"]["S"] for i in items if i.get("feed", {}).get("S", "").startswith(IMAGES)}


def test_uploads_spread_over_the_shards_and_pages_merge_in_order(store, reference):
    assert len(feeds(store)) == len(feed_shards())  # no one partition takes every upload
    for sort in ("uploaded", "taken"):
        assert pages(store, 48, sort=sort) == pages(reference, 48, sort=sort)
        assert pages(store, 7, sort=sort) == pages(reference, 7, sort=sort)
    assert store.suggest("roll/01", 5) == reference.suggest("roll/01", 5)
    keys, cursor = [], None
    while True:
        page, cursor = store.unlabelled(limit=7, after=cursor)
        keys += page
        if cursor is None:
            break
    assert keys == sorted(f"roll/{i:03}.jpg" for i in range(1, 150, 2))


def test_a_table_written_before_the_shards_reads_the_same(store, reference):
    for key in [f"roll/{i:03}.jpg" for i in range(150)]:  # as an older version wrote them: one partition
        store.client.update_item(
            TableName=store.table,
            Key={"pk": {"S": f"image#{key}"}},
            UpdateExpression="SET feed = :f",
            ExpressionAttributeValues={":f": {"S": IMAGES}},
        )
    assert feeds(store) == {IMAGES}
    assert pages(store, 48) == pages(reference, 48)
    store.put(record(150))  # a new upload goes to its shard; the listing merges old and new
    reference.put(record(150))
    assert pages(store, 48, sort="taken") == pages(reference, 48, sort="taken")
    assert pages(store, 7, sort="taken") == pages(reference, 7, sort="taken")
    moment = reference.list(limit=30, sort="taken")[0][-1].taken_time()  # a month jump lands in every shard
    jumped = store.list(limit=5, sort="taken", after=store.taken_position(moment))[0]
    expected = reference.list(limit=5, sort="taken", after=reference.taken_position(moment))[0]
    assert [r.key for r in jumped] == [r.key for r in expected]
