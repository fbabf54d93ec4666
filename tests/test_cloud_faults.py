"""Faults on real servers: a memcached node dies, S3 goes away, DynamoDB fails after the bytes
are in S3, and eight writers race on one key. S3 and DynamoDB run on separate moto servers here
(``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL_DYNAMODB``) so either can fail alone."""

from __future__ import annotations

import hashlib
import threading
from collections import Counter

import boto3
import pytest
from conftest import Api, make_image

from app import create_app
from app.core.blobs import ORIGINAL, THUMB, CachedBlob, version_cache_key

pytest_plugins = ["cloud"]


@pytest.fixture
def split_aws(monkeypatch):
    """One moto server for S3 and another for DynamoDB."""
    from cloud import MotoServer  # imported after pytest_plugins loaded it, so asserts are rewritten

    s3, dynamodb = MotoServer(), MotoServer()
    for name, value in s3.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb.url)
    yield {"s3": s3, "dynamodb": dynamodb}
    s3.stop()
    dynamodb.stop()


def cloud_app(tmp_path, servers: list[str]):
    app = create_app(
        {
            "GALLERY_DATA_DIR": str(tmp_path / "data"),
            "GALLERY_STORAGE": "s3",
            "GALLERY_METADATA": "dynamodb",
            "GALLERY_CACHE": "memcached",
            "GALLERY_S3_BUCKET": "faults",
            "GALLERY_S3_PREFIX": "gallery/",
            "GALLERY_DYNAMODB_TABLE": "faults",
            "GALLERY_MEMCACHED_SERVERS": ",".join(servers),
            "GALLERY_LABEL_ON_UPLOAD": False,
            "SECRET_KEY": "test-secret",
            "TESTING": True,
        }
    )
    result = app.test_cli_runner().invoke(args=["gallery", "init"])
    assert result.exit_code == 0, result.output
    return app


def image(n: int) -> bytes:
    return make_image("PNG", size=(48 + n, 40), color=(n * 29 % 256, n * 71 % 256, 90))


def stored_names(variant: str, key: str) -> list[str]:
    listing = boto3.client("s3").list_objects_v2(Bucket="faults", Prefix=f"gallery/{variant}/{key}/")
    return [item["Key"].rsplit("/", 1)[-1] for item in listing.get("Contents", [])]


def test_dead_memcached_node_costs_misses_not_errors(split_aws, own_memcached_pool, tmp_path):
    app = cloud_app(tmp_path, own_memcached_pool.servers)
    api, service = Api(app.test_client()), app.extensions["services"]
    images = {f"photos/{i}.png": image(i) for i in range(12)}
    for key, data in images.items():
        assert api.upload(key, data).status_code == 201
        assert api.client.get(f"/images/{key}").data == data  # warm the cache
    # The victim is the node holding the most originals (with random versions, a given node holds
    # none of twelve about once in 130 runs).
    versions = [service.catalog.get_record(k).version for k in images]
    holders = Counter(service.cache.node_for(version_cache_key(ORIGINAL, v)) for v in versions)
    victim = next(node for node in own_memcached_pool.nodes if node.address == holders.most_common(1)[0][0])
    victim.kill()

    for _ in range(2):
        for key, data in images.items():
            response = api.client.get(f"/images/{key}")
            assert response.status_code == 200 and response.data == data
    assert api.upload("photos/after.png", image(20)).status_code == 201
    stats = api.client.get("/api/cache/stats").get_json()
    nodes = {node["server"]: node for node in stats["nodes"]}
    assert nodes[victim.address]["up"] is False
    assert all(nodes[s]["up"] for s in own_memcached_pool.servers if s != victim.address)
    page = api.client.get("/cache").get_data(as_text=True)
    assert victim.address in page and 'title="' in page and ">down</td>" in page


def test_s3_failure_writes_no_metadata_and_says_503(split_aws, memcached_servers, tmp_path):
    app = cloud_app(tmp_path, memcached_servers)
    api, service = Api(app.test_client()), app.extensions["services"]
    assert api.upload("kept.png", image(1)).status_code == 201
    split_aws["s3"].stop()

    response = api.upload("lost.png", image(2))
    assert response.status_code == 503
    error = response.get_json()["error"]
    assert error["code"] == "backend_unavailable" and "Image storage is unavailable" in error["message"]
    assert service.metadata.get("lost.png") is None
    assert [r.key for r in service.catalog.list()[0]] == ["kept.png"] and service.metadata.count() == 1


def test_dynamodb_failure_after_s3_put_leaves_nothing_behind(split_aws, memcached_servers, tmp_path, monkeypatch):
    app = cloud_app(tmp_path, memcached_servers)
    api, service = Api(app.test_client()), app.extensions["services"]
    assert api.upload("kept.png", image(1)).status_code == 201
    put = service.blobs.put

    def put_then_lose_dynamodb(name, data, content_type):
        put(name, data, content_type)
        if name.startswith(f"{ORIGINAL}/half.png/"):
            split_aws["dynamodb"].stop()  # the bytes are in S3; the metadata write will fail

    monkeypatch.setattr(service.blobs, "put", put_then_lose_dynamodb)
    response = api.upload("half.png", image(2))
    assert response.status_code == 503
    assert "Image metadata is unavailable" in response.get_json()["error"]["message"]
    assert stored_names(ORIGINAL, "half.png") == [] and stored_names(THUMB, "half.png") == []
    assert len(stored_names(ORIGINAL, "kept.png")) == 1


@pytest.mark.parametrize("combo", ["local", "cloud"])
def test_eight_concurrent_overwrites_agree(combo, request, tmp_path):
    if combo == "cloud":
        request.getfixturevalue("split_aws")
        app = cloud_app(tmp_path, request.getfixturevalue("memcached_servers"))
    else:
        app = create_app(
            {
                "GALLERY_DATA_DIR": str(tmp_path / "data"),
                "GALLERY_LABEL_ON_UPLOAD": False,
                "SECRET_KEY": "t",
                "TESTING": True,
            }
        )
    service, client = app.extensions["services"], app.test_client()
    service.library.upload("race.png", image(0))
    uploads = {hashlib.sha256(image(i)).hexdigest(): image(i) for i in range(1, 9)}
    errors, done = [], threading.Event()

    def writer(data):
        try:
            service.library.upload("race.png", data)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    def reader():
        while not done.is_set():
            blob = service.images.read(ORIGINAL, "race.png")  # every read is one whole version
            if hashlib.sha256(blob.data).hexdigest() != blob.etag:
                errors.append(AssertionError("torn read"))

    readers = [threading.Thread(target=reader) for _ in range(2)]
    writers = [threading.Thread(target=writer, args=(data,)) for data in uploads.values()]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    for t in readers:
        t.join()
    assert not errors, errors

    record = service.catalog.get_record("race.png")
    assert record.sha256 in uploads
    served = client.get("/images/race.png")
    assert served.status_code == 200 and served.data == uploads[record.sha256]
    cached = service.cache.get(version_cache_key(ORIGINAL, record.version))
    assert cached is not None and CachedBlob.unpack(cached).version == record.version
    assert CachedBlob.unpack(cached).data == uploads[record.sha256]
    if combo == "cloud":  # every version is stored once: the current one and the 8 it replaced, in its history
        kept = sorted([record.version] + [r.record.version for r in service.metadata.versions("race.png")])
        assert len(kept) == 9 and stored_names(ORIGINAL, "race.png") == kept == stored_names(THUMB, "race.png")
    assert service.metadata.count() == 1
