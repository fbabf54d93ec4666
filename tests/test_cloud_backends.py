"""Each backend on its own, against real servers: S3 and DynamoDB on moto_server over HTTP, the
cache on three memcached processes. Where a behaviour is part of a protocol, the embedded
backend runs the same test beside it."""

from __future__ import annotations

import base64
import json
import threading
import time

import boto3
import pytest

from app.cache.memcached import CHUNK_BYTES, MemcachedCache
from app.cache.memory import MemoryCache
from app.core.errors import BackendUnavailable, InvalidParameter, NotFound
from app.metadata.base import ImageRecord
from app.metadata.dynamodb import DynamoMetadataStore
from app.metadata.dynamodb.layout import FEED_SHARDS
from app.metadata.sqlite import SqliteMetadataStore
from app.storage.local import LocalBlobStore
from app.storage.s3 import CACHE_CONTROL, S3BlobStore

pytest_plugins = ["cloud"]


def _record(key: str, t: float, labels=(), **extra) -> ImageRecord:
    return ImageRecord(
        key=key,
        content_type="image/png",
        bytes=10,
        width=2,
        height=3,
        sha256="0" * 64,
        created_at=t,
        updated_at=t,
        version=f"v{t}",
        labels=list(labels),
        **({"lineage": f"L-{key}"} | extra),
    )


# Blob stores -------------------------------------------------------------------------------------


@pytest.fixture(params=["local", "s3"])
def blobs(request, tmp_path):
    if request.param == "local":
        return LocalBlobStore(str(tmp_path))
    aws = request.getfixturevalue("aws")
    store = S3BlobStore(aws["bucket"], "gallery/", "us-east-1")
    store.provision()
    return store


def test_blob_round_trip(blobs):
    blobs.put("originals/a/b.png", b"first", "image/png")
    assert blobs.size("originals/a/b.png") == 5
    assert blobs.get("originals/a/b.png") == b"first"
    blobs.put("originals/a/b.png", b"second", "image/png")
    assert blobs.get("originals/a/b.png") == b"second"
    blobs.delete("originals/a/b.png")
    blobs.delete("originals/a/b.png")  # absent is not an error
    for read in (blobs.get, blobs.size):
        with pytest.raises(NotFound):
            read("originals/a/b.png")


def test_s3_object_headers_prefix_and_etag(aws):
    store = S3BlobStore(aws["bucket"], "gallery/", "us-east-1")
    store.provision()
    store.put("originals/cat.jpg", b"\xff\xd8jpeg", "image/jpeg")
    raw = boto3.client("s3").head_object(Bucket=aws["bucket"], Key="gallery/originals/cat.jpg")
    assert raw["ContentType"] == "image/jpeg"
    assert raw["CacheControl"] == CACHE_CONTROL
    assert store.get("originals/cat.jpg") == b"\xff\xd8jpeg" and store.size("originals/cat.jpg") == 6
    assert store.external_ref("originals/cat.jpg") == (aws["bucket"], "gallery/originals/cat.jpg")


def test_s3_large_upload_is_multipart(aws):
    store = S3BlobStore(aws["bucket"], "", "us-east-1")
    store.provision()
    data = bytes(range(256)) * (20 * 1024 * 1024 // 256)  # 20 MB: three 8 MB parts
    store.put("originals/big.bin", data, "application/octet-stream")
    etag = boto3.client("s3").head_object(Bucket=aws["bucket"], Key="originals/big.bin")["ETag"]
    assert etag.strip('"').endswith("-3")  # S3 marks multipart ETags with the part count
    assert store.get("originals/big.bin") == data


def test_s3_missing_bucket_and_dead_endpoint_are_clear_503s(aws, monkeypatch):
    from cloud import free_port

    missing = S3BlobStore(aws["bucket"] + "-missing", "", "us-east-1")
    with pytest.raises(BackendUnavailable, match="does not exist.*gallery init"):
        missing.put("originals/x", b"x", "image/png")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    dead = S3BlobStore(aws["bucket"], "", "us-east-1")
    for call in (lambda: dead.get("x"), lambda: dead.put("x", b"x", "image/png"), lambda: dead.size("x")):
        with pytest.raises(BackendUnavailable, match="Image storage is unavailable") as info:
            call()
        assert info.value.status == 503


def test_s3_provision_is_idempotent_and_expires_staging(aws):
    store = S3BlobStore(aws["bucket"], "g/", "us-east-1")
    assert any(line.startswith("created bucket") for line in store.provision("uploads/"))
    assert any("already exists" in line for line in store.provision("uploads/"))
    rules = boto3.client("s3").get_bucket_lifecycle_configuration(Bucket=aws["bucket"])["Rules"]
    assert rules[0]["Filter"]["Prefix"] == "g/uploads/" and rules[0]["Expiration"]["Days"] == 1


def test_s3_direct_upload_form_carries_size_and_type_conditions(aws):
    store = S3BlobStore(aws["bucket"], "", "us-east-1")
    store.provision()
    form = store.direct_upload_form("uploads/abc", "image/png", 1234)
    assert form["url"].startswith(aws["server"].url)
    assert form["fields"]["key"] == "uploads/abc" and form["fields"]["Content-Type"] == "image/png"
    policy = json.loads(base64.b64decode(form["fields"]["policy"]))
    assert ["content-length-range", 1, 1234] in policy["conditions"]
    assert {"Content-Type": "image/png"} in policy["conditions"]


# Metadata stores -------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "dynamodb"])
def meta(request, tmp_path):
    if request.param == "sqlite":
        return SqliteMetadataStore(str(tmp_path / "gallery.sqlite3"))
    aws = request.getfixturevalue("aws")
    store = DynamoMetadataStore(aws["table"], "us-east-1")
    store.provision()
    return store


def test_metadata_put_get_replace_delete(meta):
    assert meta.put(_record("a/one.png", 100.0, ["cat", "dog"])) is None
    assert meta.get("a/one.png") == _record("a/one.png", 100.0, ["cat", "dog"])
    replaced = meta.put(_record("a/one.png", 200.0, ["cat"]))
    assert replaced.updated_at == 100.0
    assert meta.get("a/one.png").updated_at == 200.0
    assert meta.count() == 1
    deleted, dropped = meta.delete("a/one.png")  # no retention given: gone for good, with its history
    assert deleted.updated_at == 200.0 and [r.updated_at for r in dropped] == [200.0]
    assert meta.get("a/one.png") is None and meta.delete("a/one.png") == (None, [])
    assert meta.count() == 0


def test_metadata_listing_newest_first_with_cursors_and_filters(meta):
    for i in range(7):
        meta.put(_record(f"{'cats' if i % 2 else 'dogs'}/{i}.png", 1000.0 + i, ["cat"] if i % 2 else ["dog"]))
    meta.put(_record("dogs/tie-a.png", 1003.0))  # same time as cats/3.png: the key breaks the tie
    seen, cursor = [], None
    while True:
        page, cursor = meta.list(limit=3, after=cursor)
        assert len(page) <= 3
        seen += [r.key for r in page]
        if cursor is None:
            break
    expected = ["cats/5.png", "dogs/4.png", "dogs/tie-a.png", "cats/3.png", "dogs/2.png", "cats/1.png"]
    assert seen == ["dogs/6.png", *expected, "dogs/0.png"]

    page, cursor = meta.list(prefix="cats/", limit=2)
    assert [r.key for r in page] == ["cats/5.png", "cats/3.png"] and cursor
    page, cursor = meta.list(prefix="cats/", limit=2, after=cursor)
    assert [r.key for r in page] == ["cats/1.png"] and cursor is None

    page, cursor = meta.list(label="DOG", limit=3)
    assert [r.key for r in page] == ["dogs/6.png", "dogs/4.png", "dogs/2.png"] and cursor
    page, cursor = meta.list(label="dog", limit=3, after=cursor)
    assert [r.key for r in page] == ["dogs/0.png"] and cursor is None
    assert [r.key for r in meta.list(label="cat", prefix="dogs/")[0]] == []
    assert meta.list(label="giraffe") == ([], None)
    assert meta.suggest("dogs/", limit=3) == ["dogs/0.png", "dogs/2.png", "dogs/4.png"]


def test_metadata_rejects_malformed_positions(meta):
    for i in range(3):
        meta.put(_record(f"k{i}", 10.0 + i, ["x"]))
    for bad in ("not-a-cursor", {}, ["a"], [1, 2], {"i": 1}):
        with pytest.raises(InvalidParameter):
            meta.list(limit=1, after=bad)


def test_metadata_labels_follow_overwrites_and_deletes(meta):
    meta.put(_record("p.png", 1.0, ["dog", "person"]))
    meta.put(_record("q.png", 2.0, ["dog"]))
    meta.put(_record("p.png", 3.0, ["person"]))  # overwrite drops "dog"
    assert [r.key for r in meta.list(label="dog")[0]] == ["q.png"]
    meta.set_labels("q.png", ["Car"])
    assert [r.key for r in meta.list(label="car")[0]] == ["q.png"]
    assert meta.list(label="dog") == ([], None)
    meta.delete("p.png")
    assert meta.list(label="person") == ([], None)
    assert dict(meta.all_labels()) == {"car": 1}


def test_metadata_labels_for_a_replaced_version_are_dropped(meta):
    meta.put(_record("r.png", 1.0))
    meta.put(_record("r.png", 2.0))  # replaced while the detector looked at version v1.0
    meta.set_labels("r.png", ["dog"], version="v1.0")
    assert meta.get("r.png").labels == [] and meta.list(label="dog") == ([], None)
    meta.set_labels("r.png", ["dog"], version="v2.0")
    assert meta.get("r.png").labels == ["dog"] and [r.key for r in meta.list(label="dog")[0]] == ["r.png"]


def test_metadata_shared_state_and_exclusive_claims(meta):
    assert meta.get_state("epoch") is None
    assert meta.put_state("epoch", "one") and meta.get_state("epoch") == "one"
    assert meta.put_state("epoch", "two") and meta.get_state("epoch") == "two"
    assert not meta.put_state("epoch", "three", if_absent=True) and meta.get_state("epoch") == "two"
    meta.delete_state("epoch")
    meta.delete_state("epoch")  # absent: no error
    assert meta.get_state("epoch") is None
    assert meta.list() == ([], None) and meta.count() == 0  # state is not an image
    # Of many requests claiming one name at once, exactly one gets it.
    wins = []
    threads = [
        threading.Thread(target=lambda i=i: wins.append(meta.put_state("claim", str(i), if_absent=True)))
        for i in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False] * 7 + [True]


def counting_queries(store, monkeypatch) -> list[dict]:
    calls = []
    query = store.client.query

    def counted(**kwargs):
        calls.append(kwargs)
        return query(**kwargs)

    monkeypatch.setattr(store.client, "query", counted)
    return calls


def test_dynamodb_prefix_listing_is_bounded(aws, monkeypatch):
    store = DynamoMetadataStore(aws["table"], "us-east-1")
    store.provision()
    store.put(_record("rare/oldest.png", 1.0))
    for i in range(30):
        store.put(_record(f"common/{i:02}.png", 100.0 + i))
    calls = counting_queries(store, monkeypatch)
    # No key has the prefix: one Query of each shard of the key index, not a read of the whole feed.
    assert store.list(prefix="missing/", limit=10) == ([], None)
    assert len(calls) == FEED_SHARDS and {c["IndexName"] for c in calls} == {"by_key"}
    # A rare one: each call reads a bounded number of pages and says where to go on.
    monkeypatch.setattr("app.metadata.dynamodb.listing.FILTERED_PAGE_ITEMS", 4)
    monkeypatch.setattr("app.metadata.dynamodb.listing.FILTERED_PAGES", 2)
    found, cursor, rounds = [], None, 0
    while True:
        calls.clear()
        page, cursor = store.list(prefix="rare/", limit=2, after=cursor)
        assert len(calls) <= 2 * FEED_SHARDS + 2, calls  # the key check, the shards' first reads, the budget
        found += [r.key for r in page]
        rounds += 1
        if cursor is None:
            break
    assert found == ["rare/oldest.png"] and rounds >= 4  # 31 items, 8 read per call
    assert [r.key for r in store.list(prefix="common/", limit=3)[0]] == [
        "common/29.png",
        "common/28.png",
        "common/27.png",
    ]


def test_dynamodb_cursor_is_bound_to_its_listing(aws):
    store = DynamoMetadataStore(aws["table"], "us-east-1")
    store.provision()
    for i in range(3):
        store.put(_record(f"k{i}", 10.0 + i, ["x"]))
    _, cursor = store.list(limit=1)
    with pytest.raises(InvalidParameter, match="another listing"):
        store.list(label="x", limit=1, after=cursor)
    assert any("already exists" in line for line in store.provision())


def test_dynamodb_concurrent_overwrites_keep_items_consistent(aws):
    store = DynamoMetadataStore(aws["table"], "us-east-1")
    store.provision()
    labels = [["a"], ["b"], ["a", "c"], ["d"], [], ["b", "c"], ["e"], ["a"]]
    errors = []

    def write(i):
        try:
            store.put(_record("same.png", 100.0 + i, labels[i]))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    final = store.get("same.png")
    listed = {label: [r.key for r in store.list(label=label)[0]] for label in "abcde"}
    assert {label for label, keys in listed.items() if keys} == set(final.labels)
    assert dict(store.all_labels()) == {label: 1 for label in final.labels}
    assert store.count() == 1


def test_dynamodb_missing_table_is_a_clear_503(aws):
    store = DynamoMetadataStore(aws["table"] + "-missing", "us-east-1")
    with pytest.raises(BackendUnavailable, match="does not exist.*gallery init"):
        store.get("x")


# Caches ------------------------------------------------------------------------------------------


@pytest.fixture(params=["memory", "memcached"])
def cache(request):
    if request.param == "memory":
        return MemoryCache(64 * 1024 * 1024)
    return MemcachedCache(request.getfixturevalue("memcached_servers"), timeout=0.5)


def test_cache_round_trip_and_counts(cache):
    assert cache.get("thumb:v1") is None
    cache.set("thumb:v1", b"small")
    assert cache.get("thumb:v1") == b"small"
    cache.delete("thumb:v1")
    assert cache.get("thumb:v1") is None
    stats = cache.stats()
    assert (stats["hits"], stats["misses"], stats["requests"]) == (1, 2, 3)
    assert stats["hit_rate"] == pytest.approx(1 / 3)


def test_cache_values_over_one_megabyte(cache):
    big = bytes(range(256)) * (3 * CHUNK_BYTES // 256 + 7)
    cache.set("original:v-big", big)
    assert cache.get("original:v-big") == big
    cache.set("original:v-big", b"now small")
    assert cache.get("original:v-big") == b"now small"
    cache.set("original:v-big", big[::-1])
    assert cache.get("original:v-big") == big[::-1]


def test_memcached_spreads_keys_and_reports_every_node(own_memcached_pool):
    memcached_servers = own_memcached_pool.servers  # fresh nodes, so item counts are exact
    cache = MemcachedCache(memcached_servers, timeout=0.5)
    for i in range(60):
        cache.set(f"k{i}", b"x" * 100)
    owners = {cache.node_for(f"k{i}") for i in range(60)}
    assert owners == set(memcached_servers)
    stats = cache.stats()
    assert [n["server"] for n in stats["nodes"]] == memcached_servers
    assert all(n["up"] and n["in_ring"] and n["items"] > 0 for n in stats["nodes"])
    assert stats["items"] == 60  # the nodes hold the statistics' own few keys besides
    assert 60 <= sum(n["items"] for n in stats["nodes"]) <= 63
    assert stats["capacity_bytes"] == 3 * 64 * 1024 * 1024


def test_memcached_lost_chunk_is_a_miss(memcached_servers):
    cache = MemcachedCache(memcached_servers, timeout=0.5)
    cache.set("original:v2", b"z" * (2 * CHUNK_BYTES + 5))
    manifest = cache._client.get(cache._mkey("original:v2"))
    cache._client.delete(f"{cache._mkey('original:v2')}:{manifest.token}:1")
    assert cache.get("original:v2") is None


def test_memcached_odd_keys_are_hashed(memcached_servers):
    cache = MemcachedCache(memcached_servers, timeout=0.5)
    for key in ("x" * 400, "with space", "naïve/é.png"):
        cache.set(key, key.encode())
        assert cache.get(key) == key.encode()


def test_memcached_dead_node_is_a_quick_miss_and_shown_down(own_memcached_pool):
    servers = own_memcached_pool.servers
    cache = MemcachedCache(servers, timeout=0.3, dead_timeout=60)
    keys = [f"img:{i}" for i in range(90)]
    for key in keys:
        cache.set(key, key.encode())
    victim = own_memcached_pool.nodes[1]
    victim.kill()
    on_victim = [k for k in keys if cache.node_for(k) == victim.address]
    elsewhere = [k for k in keys if cache.node_for(k) != victim.address]
    assert on_victim and elsewhere
    started = time.monotonic()
    results = {key: cache.get(key) for key in keys}  # never raises
    elapsed = time.monotonic() - started
    assert all(results[k] is None for k in on_victim)
    assert all(results[k] == k.encode() for k in elsewhere)
    assert elapsed < 0.3 * 3 + 1.0  # a refused connection fails fast; the node is then skipped
    cache.set(on_victim[0], b"again")  # no error while the node is down
    nodes = {n["server"]: n for n in cache.stats()["nodes"]}
    assert nodes[victim.address]["up"] is False and nodes[victim.address]["error"]
    assert all(nodes[s]["up"] for s in servers if s != victim.address)
