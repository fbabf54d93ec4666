"""The one contract the gallery keeps end to end, through the Gallery service and the JSON API.

Run on two deployments: all embedded (local files, SQLite, in-process cache) and all cloud (S3
and DynamoDB on a moto server over HTTP, three memcached processes), so every assertion here
runs against every adapter of every port. Each port's own contract is tested per adapter beside
it (``test_cloud_backends.py``, ``test_history_store.py``, ``test_search.py``), so the mixed
combinations (S3 with SQLite...) would only repeat what those prove. The backends are set up with
``flask gallery init``, as an operator would: for each embedded test, and once per test process
for the cloud tests, whose bucket and table are then emptied before each test (``cloud_gallery``).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import uuid

import pytest
from conftest import Api, is_stored, make_image, snapshot
from itsdangerous import URLSafeSerializer
from test_exif import exif_photo

from app import create_app
from app.cache.memory import MemoryCache
from app.config import OPTIONS
from app.core.blobs import ORIGINAL, RENDITIONS, THUMB, blob_name, version_cache_key
from app.core.errors import InvalidParameter, NotFound
from app.storage.local import LocalBlobStore
from app.web.selection import MAX_SELECTION

pytest_plugins = ["cloud"]

# (storage, metadata, cache) of each deployment.
DEPLOYMENTS = {"embedded": ("local", "sqlite", "memory"), "cloud": ("s3", "dynamodb", "memcached")}


def test_every_adapter_of_every_port_meets_the_contract():
    """A backend added to the settings' choices needs a deployment here (``none``, no cache, keeps nothing)."""
    choices = {o.name: set(o.choices) for o in OPTIONS}
    ports = ("GALLERY_STORAGE", "GALLERY_METADATA", "GALLERY_CACHE")
    for port, adapters in zip(ports, zip(*DEPLOYMENTS.values(), strict=True), strict=True):
        assert set(adapters) == choices[port] - {"none"}, port


def base_config(deployment: str, data_dir) -> dict:
    storage, metadata, cache = DEPLOYMENTS[deployment]
    return {
        "GALLERY_DATA_DIR": str(data_dir / "data"),
        "GALLERY_STORAGE": storage,
        "GALLERY_METADATA": metadata,
        "GALLERY_CACHE": cache,
        "GALLERY_LABEL_ON_UPLOAD": False,
        "SECRET_KEY": "test-secret",
        "TESTING": True,
    }


def init(app) -> str:
    result = app.test_cli_runner().invoke(args=["gallery", "init"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def cloud_gallery(moto_server, memcached_pool, tmp_path_factory):
    """The bucket and table of this module's cloud tests (in each test process), on new names,
    set up once by ``flask gallery init`` as an operator would; ``empty_cloud_app`` gives each
    test them emptied. Provisioning anew for each test cost ~25 AWS calls, a third of the cloud
    tests' CPU."""
    from cloud import point_at  # here: loaded first as a plugin, so that its asserts are rewritten

    suffix = uuid.uuid4().hex[:10]
    names = {
        "GALLERY_S3_BUCKET": f"gallery-contract-{suffix}",
        "GALLERY_S3_PREFIX": "gallery/",
        "GALLERY_DYNAMODB_TABLE": f"gallery-contract-{suffix}",
        "GALLERY_MEMCACHED_SERVERS": ",".join(memcached_pool.servers),
    }
    with pytest.MonkeyPatch.context() as monkeypatch:
        point_at(moto_server, monkeypatch)
        app = create_app(base_config("cloud", tmp_path_factory.mktemp("init")) | names)
        output = init(app)
        again = init(app)  # what init says of a gallery that needs nothing more
    assert f"created bucket s3://{names['GALLERY_S3_BUCKET']}" in output
    assert f"created DynamoDB table {names['GALLERY_DYNAMODB_TABLE']}" in output
    return {"config": names, "settled": again}


@pytest.fixture(scope="module")
def one_client_per_service():
    """The cloud tests' apps share a boto3 client per service: all talk to the same moto server with
    the same settings, and making two clients was half of what a cloud test's app cost (~30 ms).
    ``make_client`` itself still makes every client of the other cloud modules."""
    from app.runtime.aws import make_client

    made = {}

    def shared(region, service="s3", extra=None):
        key = (region, service, extra, os.environ.get("AWS_ENDPOINT_URL"))
        if key not in made:
            made[key] = make_client(region, service, extra)
        return made[key]

    with pytest.MonkeyPatch.context() as monkeypatch:
        for module in ("app.storage.s3", "app.metadata.dynamodb.table"):
            monkeypatch.setattr(f"{module}.make_client", shared)
        yield


def empty_cloud_app(request, data_dir):
    """An app on the module's bucket, table and memcached pool, all emptied first."""
    from cloud import point_at

    names = request.getfixturevalue("cloud_gallery")["config"]
    moto_server = request.getfixturevalue("moto_server")
    request.getfixturevalue("one_client_per_service")
    point_at(moto_server, request.getfixturevalue("monkeypatch"))
    moto_server.empty(names["GALLERY_S3_BUCKET"], names["GALLERY_DYNAMODB_TABLE"])
    request.getfixturevalue("memcached_pool").flush()
    return create_app(base_config("cloud", data_dir) | names)


def test_a_cloud_test_sees_nothing_the_one_before_it_wrote(request, moto_server, tmp_path):
    """Emptying between cloud tests leaves no trace of a test (objects, a stopped multipart upload,
    items of every kind: records, retired versions, counters, word pairs, folder counts, albums,
    shares; cache entries) and keeps the bucket and table as ``gallery init`` made them."""
    gallery = request.getfixturevalue("cloud_gallery")
    bucket, table = gallery["config"]["GALLERY_S3_BUCKET"], gallery["config"]["GALLERY_DYNAMODB_TABLE"]
    before = empty_cloud_app(request, tmp_path / "before")
    api, service = Api(before.test_client()), before.extensions["services"]
    for key, n in (("trips/a.png", 1), ("trips/a.png", 2), ("home/b.png", 3)):
        assert upload(api, key, image(n)).status_code in (200, 201)
    assert api.delete("home/b.png").status_code == 204
    album = post_json(api, "/api/albums", {"name": "Trips"}).get_json()["id"]
    assert post_json(api, f"/api/albums/{album}/images", {"keys": ["trips/a.png"]}).status_code == 200
    assert post_json(api, "/api/shares", {"prefix": "trips/", "expires_in": 600}).status_code == 201
    assert api.client.put("/api/images/trips/a.png/favourite", headers={"X-CSRFToken": api.token}).status_code == 200
    for path in ("/images/trips/a.png", "/thumbs/trips/a.png"):
        assert api.client.get(path).status_code == 200
    version = service.catalog.get_record("trips/a.png").version
    cached = [version_cache_key(variant, version) for variant in (ORIGINAL, THUMB)]
    assert all(service.cache.get(name) is not None for name in cached)
    s3, dynamodb = service.blobs.client, service.metadata.client
    s3.create_multipart_upload(Bucket=bucket, Key="gallery/stopped.png")
    assert dynamodb.scan(TableName=table, Select="COUNT")["Count"] > 0 and s3.list_objects_v2(Bucket=bucket)["KeyCount"]

    after = empty_cloud_app(request, tmp_path / "after")
    api, service = Api(after.test_client()), after.extensions["services"]
    assert dynamodb.scan(TableName=table, Select="COUNT")["Count"] == 0
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")
    assert all(service.cache.get(name) is None for name in cached)
    assert api.client.get("/api/images").get_json()["items"] == [] and service.metadata.count() == 0
    assert service.metadata.folders("")[0] == [] and service.metadata.trash()[0] == []
    assert init(after) == gallery["settled"]  # nothing to create or turn on


@pytest.fixture(params=list(DEPLOYMENTS))
def backend_app(request, tmp_path):
    if request.param == "cloud":
        return empty_cloud_app(request, tmp_path)
    app = create_app(base_config(request.param, tmp_path))
    init(app)
    return app


@pytest.fixture
def service(backend_app):
    return backend_app.extensions["services"]


@pytest.fixture
def api(backend_app):
    return Api(backend_app.test_client())


def image(n: int, size=(64, 48)) -> bytes:
    return make_image("PNG", size=size, color=(n * 37 % 256, n * 91 % 256, 40))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_upload_then_get_bytes_thumb_and_record(api, service):
    data = image(1)
    response = api.upload("trips/beach.png", data)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["key"] == "trips/beach.png" and body["replaced"] is False
    assert (body["width"], body["height"], body["sha256"]) == (64, 48, sha(data))
    assert api.client.get("/api/images/trips/beach.png").get_json()["version"] == body["version"]
    for _ in range(2):  # the second read is served by the cache
        got = api.client.get("/images/trips/beach.png")
        assert got.status_code == 200 and got.data == data and got.headers["Content-Type"] == "image/png"
    assert got.headers["ETag"] == f'"{sha(data)}"'
    assert api.client.get("/images/trips/beach.png", headers={"If-None-Match": got.headers["ETag"]}).status_code == 304
    thumb = api.client.get(body["thumb_url"])
    assert thumb.status_code == 200 and thumb.headers["Content-Type"] == "image/webp"
    stats = api.client.get("/api/cache/stats").get_json()
    assert stats["hits"] >= 1 and stats["misses"] >= 1
    assert service.blobs.get(blob_name(ORIGINAL, service.catalog.get_record("trips/beach.png"))) == data


def test_overwrite_serves_the_new_bytes_and_drops_the_old(api, service):
    first, second = image(1), image(2, size=(32, 80))
    assert api.upload("k.png", first).status_code == 201
    old = service.catalog.get_record("k.png")
    assert api.client.get("/images/k.png").data == first  # now cached
    response = api.upload("k.png", second)
    assert response.status_code == 200 and response.get_json()["replaced"] is True
    new = service.catalog.get_record("k.png")
    assert (new.width, new.height, new.created_at) == (32, 80, old.created_at) and new.version != old.version
    assert api.client.get("/images/k.png").data == second
    versions = api.client.get("/api/images/k.png/versions").get_json()["items"]
    assert [(v["version"], v["current"]) for v in versions] == [(new.version, True), (old.version, False)]
    assert api.client.get(versions[1]["url"]).data == first  # the old version is kept, byte for byte
    assert service.metadata.count() == 1


def test_list_newest_first_with_cursors(api, service):
    keys = [f"album/{i:02d}.png" for i in range(7)]
    for i, key in enumerate(keys):
        service.library.upload(key, image(i))
    seen, cursor = [], None
    while True:
        query = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = api.client.get("/api/images", query_string=query).get_json()
        assert len(body["items"]) <= 3
        seen += [item["key"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == keys[::-1]
    assert service.catalog.list(limit=100) == (list(reversed([service.catalog.get_record(k) for k in keys])), None)


def test_prefix_and_label_filters(api, service):
    for i, key in enumerate(["cats/a.png", "cats/b.png", "dogs/a.png", "dogsled.png"]):
        service.library.upload(key, image(i))
    service.metadata.set_labels("cats/b.png", ["cat", "person"])
    service.metadata.set_labels("dogs/a.png", ["dog", "person"])

    def keys(**query):
        return [item["key"] for item in api.client.get("/api/images", query_string=query).get_json()["items"]]

    assert keys(prefix="cats/") == ["cats/b.png", "cats/a.png"]
    assert keys(prefix="dogs") == ["dogsled.png", "dogs/a.png"]
    assert keys(label="person") == ["dogs/a.png", "cats/b.png"]
    assert keys(label="Person", prefix="cats/") == ["cats/b.png"]
    assert keys(label="giraffe") == []
    assert api.client.get("/api/keys", query_string={"prefix": "dogs"}).get_json()["keys"] == [
        "dogs/a.png",
        "dogsled.png",
    ]
    page = api.client.get("/api/images", query_string={"label": "person", "limit": 1}).get_json()
    rest = api.client.get("/api/images", query_string={"label": "person", "cursor": page["next_cursor"]}).get_json()
    assert [i["key"] for i in page["items"] + rest["items"]] == ["dogs/a.png", "cats/b.png"]


def test_delete_removes_record_bytes_and_cache(api, service):
    data = image(3)
    api.upload("gone.png", data)
    record = service.catalog.get_record("gone.png")
    assert api.client.get("/images/gone.png").data == data
    assert api.delete("gone.png").status_code == 204
    assert api.client.get("/images/gone.png").status_code == 404
    assert api.client.get("/api/images/gone.png").status_code == 404
    assert api.client.get("/api/images").get_json()["items"] == []
    trashed = api.client.get("/api/trash").get_json()["items"]
    assert [(t["key"], t["version"]) for t in trashed] == [("gone.png", record.version)]
    response = api.delete("gone.png")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    # Emptying the trash removes the bytes for good.
    assert api.client.delete("/api/trash", headers={"X-CSRFToken": api.token}).get_json()["versions"] == 1
    assert api.client.get(trashed[0]["url"]).status_code == 404
    with pytest.raises(NotFound):
        service.blobs.get(blob_name(ORIGINAL, record))


@pytest.mark.parametrize(
    ("key", "data", "status", "code"),
    [
        ("../escape.png", None, 400, "invalid_key"),
        ("bad key.png", None, 400, "invalid_key"),
        ("notes.txt", b"just some text, not an image", 415, "unsupported_media_type"),
        ("truncated.png", image(7)[:60], 422, "unprocessable_image"),
    ],
    ids=["dotdot-key", "space-key", "not-an-image", "truncated-png"],
)
def test_bad_uploads_are_4xx_and_change_nothing(api, service, key, data, status, code):
    api.upload("keep.png", image(5))
    response = api.upload(key, data or image(6))
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["code"] == code
    assert [r.key for r in service.catalog.list()[0]] == ["keep.png"]
    assert service.metadata.count() == 1


def test_bad_cursor_and_limit_are_400(api):
    assert api.client.get("/api/images", query_string={"cursor": "garbage"}).status_code == 400
    assert api.client.get("/api/images", query_string={"limit": 0}).status_code == 400
    assert api.client.get("/api/images/no/such.png").status_code == 404


# -- never lose a photo: versions, trash, restore, purge ---------------------------------------


def post_json(api, path, body):
    return api.client.post(path, json=body, headers={"X-CSRFToken": api.token})


def upload(api, key, data, on_conflict=None):
    fields = {"key": key, "file": (io.BytesIO(data), "x.png")}
    if on_conflict:
        fields["on_conflict"] = on_conflict
    return api.client.post(
        "/api/images", data=fields, headers={"X-CSRFToken": api.token}, content_type="multipart/form-data"
    )


def test_conflicts_rename_or_fail_without_changing_anything(api, service):
    first, second = image(11), image(12)
    assert upload(api, "photos/IMG_0001.jpg", first).status_code == 201
    refused = upload(api, "photos/IMG_0001.jpg", second, "fail")
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "conflict"
    assert api.client.get("/images/photos/IMG_0001.jpg").data == first
    assert len(api.client.get("/api/images/photos/IMG_0001.jpg/versions").get_json()["items"]) == 1
    renamed = [upload(api, "photos/IMG_0001.jpg", second, "rename").get_json()["key"] for _ in range(2)]
    assert renamed == ["photos/IMG_0001-2.jpg", "photos/IMG_0001-3.jpg"]
    assert api.client.get("/images/photos/IMG_0001-3.jpg").data == second


def test_find_by_sha256_names_the_current_image_with_those_bytes(api, service):
    first, second, third = image(15), image(16), image(17)
    find = service.metadata.find_by_sha256
    assert find(sha(first)) is None
    assert upload(api, "trips/b.png", first).status_code == 201
    assert upload(api, "trips/a.png", first).status_code == 201  # the same bytes twice: the first key answers
    assert upload(api, "other.png", second).status_code == 201
    found = find(sha(first))
    assert (found.key, found.sha256) == ("trips/a.png", sha(first))
    assert find(sha(second)).key == "other.png"
    assert upload(api, "other.png", third).status_code == 200  # replaced: the old bytes are history, not current
    assert find(sha(second)) is None and find(sha(third)).key == "other.png"
    assert api.delete("trips/a.png").status_code == 204
    assert find(sha(first)).key == "trips/b.png"
    assert find("0" * 64) is None


def test_restore_an_earlier_version_byte_for_byte(api, service):
    first, second = image(13), image(14)
    upload(api, "v.png", first)
    upload(api, "v.png", second)
    old = api.client.get("/api/images/v.png/versions").get_json()["items"][1]
    response = post_json(api, f"/api/images/v.png/versions/{old['version']}/restore", {})
    assert response.status_code == 200 and response.get_json()["version"] == old["version"]
    assert api.client.get("/images/v.png").data == first  # the cache was not left stale
    items = api.client.get("/api/images/v.png/versions").get_json()["items"]
    assert [i["current"] for i in items] == [True, False] and items[1]["sha256"] == sha(second)
    missing = post_json(api, "/api/images/v.png/versions/nope/restore", {})
    assert missing.status_code == 404 and api.client.get("/images/v.png").data == first


def test_trash_restore_with_and_without_conflict(api, service):
    first, second = image(15), image(16)
    upload(api, "t.png", first)
    assert api.delete("t.png").status_code == 204
    version = api.client.get("/api/trash").get_json()["items"][0]["version"]
    upload(api, "t.png", second)  # the key is taken again
    taken = post_json(api, "/api/trash/restore", {"key": "t.png", "version": version})
    assert taken.status_code == 409 and api.client.get("/images/t.png").data == second
    kept = post_json(api, "/api/trash/restore", {"key": "t.png", "version": version, "on_conflict": "rename"})
    assert kept.status_code == 200 and kept.get_json()["key"] == "t-2.png"
    assert api.client.get("/images/t-2.png").data == first and api.client.get("/images/t.png").data == second
    assert api.client.get("/api/trash").get_json()["items"] == []


def test_purge_removes_expired_versions_and_their_bytes(api, service, monkeypatch):
    upload(api, "p.png", image(17))
    upload(api, "p.png", image(18))
    old = service.history.versions("p.png")[1][0].record
    assert service.history.purge().versions == 0  # nothing has expired yet
    later = service.retention.clock() + 31 * 86400
    monkeypatch.setattr(service.retention, "clock", lambda: later)
    freed = service.history.purge()
    assert (freed.versions, freed.bytes) == (1, old.bytes)
    assert service.history.versions("p.png")[1] == []
    with pytest.raises(NotFound):
        service.blobs.get(blob_name(ORIGINAL, old))


def test_zip_of_a_selection(api, service):
    import zipfile

    files = {f"z/{i}.png": image(20 + i) for i in range(3)}
    for key, data in files.items():
        upload(api, key, data)
    response = post_json(api, "/api/images/zip", {"keys": [*files, "z/missing.png"]})
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert {name: archive.read(name) for name in archive.namelist()} == files


# -- refused requests: the right status, and nothing changes ----------------------------------


def state(service, held=()) -> dict:
    """What a refused request must leave alone. On local files with the in-process cache, exactly
    (conftest.snapshot: every file, record and cache entry in LRU order); elsewhere every record,
    earlier version and trashed image, the bytes of each, the cache entries naming them and the
    ``held`` staging objects."""
    if isinstance(service.blobs, LocalBlobStore) and isinstance(service.cache, MemoryCache):
        return snapshot(service, stats=False)
    records, after = [], None
    while True:
        items, after = service.metadata.list(limit=500, after=after)
        records += items
        if after is None:
            break
    retired = [r for current in records for r in service.metadata.versions(current.key)]
    retired += service.metadata.trash(limit=1000)[0]
    every = records + [r.record for r in retired]

    def digest(read, name):
        try:
            value = read(name)
        except NotFound:
            return None
        return None if value is None else sha(value)

    names = {blob_name(v, r) for r in every for v in (ORIGINAL, THUMB)} | set(held)
    entries = {version_cache_key(v, r.version) for r in every for v in (ORIGINAL, THUMB)}
    return {
        "records": [r.to_dict() for r in records],
        "retired": [(r.record.to_dict(), r.expires_at) for r in retired],
        "blobs": {name: digest(service.blobs.get, name) for name in sorted(names)},
        "cache": {name: digest(service.cache.get, name) for name in sorted(entries)},
    }


@pytest.fixture
def seeded(api, service):
    """``v.png`` with one earlier version (both in the cache), ``t.png`` in the trash with another
    ``t.png`` current; returns the versions: earlier v.png, trashed t.png."""
    upload(api, "v.png", image(30))
    upload(api, "v.png", image(31))
    upload(api, "t.png", image(32))
    trashed = service.catalog.get_record("t.png").version
    assert api.delete("t.png").status_code == 204
    upload(api, "t.png", image(33))
    earlier = service.history.versions("v.png")[1][0].record.version
    for path in ("/images/v.png", "/thumbs/v.png", f"/images/v.png?version={earlier}"):
        assert api.client.get(path).status_code == 200
    return {"earlier": earlier, "trashed": trashed}


REFUSED = [
    # (method, path, JSON body, status, API error code); {earlier} and {trashed} are the seeded versions.
    ("GET", "/api/images/nope.png/versions", None, 404, "not_found"),
    ("GET", "/images/v.png?version=nope", None, 404, None),
    ("GET", "/thumbs/v.png?version=nope", None, 404, None),
    ("GET", "/images/nope.png?version={trashed}", None, 404, None),
    ("POST", "/api/images/nope.png/versions/{earlier}/restore", {}, 404, "not_found"),
    ("POST", "/api/images/v.png/versions/nope/restore", {}, 404, "not_found"),
    ("POST", "/api/images/v.png/versions/{trashed}/restore", {}, 404, "not_found"),  # another image's version
    ("POST", "/api/images/../v.png/versions/{earlier}/restore", {}, 400, "invalid_key"),
    ("POST", "/api/trash/restore", {"key": "t.png", "version": "nope"}, 404, "not_found"),
    ("POST", "/api/trash/restore", {"key": "t.png", "version": "nope", "on_conflict": "rename"}, 404, "not_found"),
    ("POST", "/api/trash/restore", {"key": "t.png", "version": "nope", "on_conflict": "replace"}, 404, "not_found"),
    ("POST", "/api/trash/restore", {"key": "nope.png", "version": "{trashed}"}, 404, "not_found"),
    ("POST", "/api/trash/restore", {"key": "v.png", "version": "{earlier}"}, 404, "not_found"),  # history, not trash
    ("POST", "/api/trash/restore", {"key": "t.png", "version": "{trashed}"}, 409, "conflict"),  # t.png is taken
    ("POST", "/api/trash/restore", {"key": "t.png", "version": "{trashed}", "on_conflict": "fail"}, 409, "conflict"),
    ("POST", "/api/trash/restore", {"key": "t.png", "version": "{trashed}", "on_conflict": "merge"}, 400, None),
    ("POST", "/api/trash/restore", ["t.png"], 400, None),
    ("POST", "/api/images/zip", {"keys": []}, 400, "invalid_parameter"),
    ("POST", "/api/images/zip", {}, 400, "invalid_parameter"),
    ("POST", "/api/images/zip", {"keys": "v.png"}, 400, "invalid_parameter"),
    ("POST", "/api/images/zip", {"keys": ["v.png"] * (MAX_SELECTION + 1)}, 400, "invalid_parameter"),
    ("POST", "/api/images/zip", {"keys": ["v.png", "../x"]}, 400, "invalid_key"),
    ("POST", "/api/images/zip", {"keys": ["v.png", ["t.png"]]}, 400, "invalid_key"),
    ("POST", "/api/images/trash", {"keys": []}, 400, "invalid_parameter"),
    ("POST", "/api/images/trash", {"keys": ["v.png"] * (MAX_SELECTION + 1)}, 400, "invalid_parameter"),
    ("POST", "/api/images/trash", {"keys": ["t.png", "bad key"]}, 400, "invalid_key"),  # none is trashed
]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"), REFUSED, ids=[f"{m} {p} {b}"[:70] for m, p, b, *_ in REFUSED]
)
def test_refused_history_requests_change_nothing(api, service, seeded, method, path, body, status, code):
    def fill(value):
        if isinstance(value, str):
            return value.format(**seeded)
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    before = state(service)
    response = api.client.get(fill(path)) if method == "GET" else post_json(api, fill(path), fill(body))
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    if code:
        assert response.get_json()["error"]["code"] == code
    assert state(service) == before


def test_a_tampered_held_upload_token_is_400_and_changes_nothing(api, service):
    """The no-JS Upload page holds a file whose key exists until its owner answers; the answer
    form names it by a signed token, so a forged or altered one is refused before anything moves."""
    upload(api, "same.jpg", image(40))
    held = api.client.post(
        "/upload",
        data={"csrf_token": api.token, "file": [(io.BytesIO(image(41)), "same.jpg"), (io.BytesIO(image(42)), "b.jpg")]},
        content_type="multipart/form-data",
    )
    assert held.status_code == 200 and "Some keys already exist" in held.get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', held.get_data(as_text=True)).group(1)
    name = URLSafeSerializer("test-secret", salt="held-upload").loads(token)[0]
    assert is_stored(service.blobs, name)
    before = state(service, held=[name])
    forged = URLSafeSerializer("another-secret", salt="held-upload").dumps([name, "same.jpg", "same.jpg"])
    for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), forged, "not-a-token"):
        for tokens in ([bad], [token, bad]):  # also after a valid one: nothing of it is stored either
            response = api.client.post(
                "/upload/resolve", data={"csrf_token": api.token, "token": tokens, "choice-0": "replace", "all": ""}
            )
            assert response.status_code == 400, response.get_data(as_text=True)[:300]
            assert state(service, held=[name]) == before
    # The genuine answer still works afterwards.
    done = api.client.post("/upload/resolve", data={"csrf_token": api.token, "token": token, "choice-0": "rename"})
    assert done.status_code == 200 and api.client.get("/images/same-2.jpg").data == image(41)


def test_renditions_and_the_taken_order(api, service):
    for key, taken in (("t/2019.jpg", "2019:05:01 10:00:00"), ("t/2021.jpg", "2021:05:01 10:00:00")):
        assert api.upload(key, exif_photo(size=(96, 64), taken=taken, offset="")).status_code == 201
    upload(api, "t/undated.png", image(30))
    body = api.client.get("/api/images/t/2019.jpg").get_json()
    assert body["taken_at"] == "2019-05-01T10:00:00" and body["exif"]["make"] == "Canon"
    for url in (body["display_url"], body["thumb2x_url"]):
        for _ in range(2):  # the second read is served by the cache
            served = api.client.get(url)
            assert served.status_code == 200 and served.headers["Content-Type"] == "image/webp"
    pages, cursor = [], None
    while True:
        query = {"sort": "taken", "limit": 2, **({"cursor": cursor} if cursor else {})}
        listed = api.client.get("/api/images", query_string=query).get_json()
        pages += [item["key"] for item in listed["items"]]
        cursor = listed["next_cursor"]
        if not cursor:
            break
    assert pages == ["t/2021.jpg", "t/2019.jpg", "t/undated.png"]  # undated photos at the end
    record = service.catalog.get_record("t/2019.jpg")
    api.delete("t/2019.jpg")
    service.history.empty_trash()
    for variant in RENDITIONS:
        with pytest.raises(NotFound):
            service.blobs.get(blob_name(variant, record))


def test_month_counts_and_the_month_jump_follow_every_write(api, service):
    """The scrubber's figures are kept by the writes (upload, replace, amend, delete, restore) and a
    jump starts the date-taken order at its month; undated photos come last, under their own month."""
    dated = {"m/2021-03.jpg": "2021:03:09 10:00:00", "m/2021-01.jpg": "2021:01:20 10:00:00"}
    dated |= {"m/2019-05.jpg": "2019:05:01 23:30:00", "m/2019-05b.jpg": "2019:05:01 08:00:00"}
    for key, taken in dated.items():
        assert api.upload(key, exif_photo(size=(48, 32), taken=taken, offset="")).status_code == 201
    upload(api, "m/undated.png", image(50))
    months = service.catalog.months
    assert months() == [("2021-03", 1), ("2021-01", 1), ("2019-05", 2), ("undated", 1)]

    def jump(month):
        return [r.key for r in service.catalog.list(sort="taken", month=month, limit=10)[0]]

    assert jump("2021-01") == ["m/2021-01.jpg", "m/2019-05.jpg", "m/2019-05b.jpg", "m/undated.png"]
    assert jump("2020-06") == ["m/2019-05.jpg", "m/2019-05b.jpg", "m/undated.png"]  # an empty month: the next older
    assert jump("undated") == ["m/undated.png"]
    first, cursor = service.catalog.list(sort="taken", month="2021-03", limit=2)
    assert [r.key for r in first] == ["m/2021-03.jpg", "m/2021-01.jpg"]
    rest, _ = service.catalog.list(sort="taken", cursor=cursor, limit=10)  # the cursor goes on from there
    assert [r.key for r in rest] == ["m/2019-05.jpg", "m/2019-05b.jpg", "m/undated.png"]

    upload(api, "m/2021-03.jpg", image(51))  # replaced by an undated photo: its month moves
    record = service.catalog.get_record("m/2019-05b.jpg")
    assert service.metadata.amend(record.key, record.version, {"taken_at": "2021-01-02T00:00:00"})
    assert months() == [("2021-01", 2), ("2019-05", 1), ("undated", 2)]
    api.delete("m/2021-01.jpg")
    assert months() == [("2021-01", 1), ("2019-05", 1), ("undated", 2)]
    trashed = service.history.trash()[0][0].record
    service.history.restore_trashed(trashed.key, trashed.version)
    assert months() == [("2021-01", 2), ("2019-05", 1), ("undated", 2)]
    for bad in ("2021-13", "21-01", "soon"):
        with pytest.raises(InvalidParameter, match="month"):
            service.catalog.list(sort="taken", month=bad)
    with pytest.raises(InvalidParameter, match="clear the filters"):
        service.catalog.list(sort="taken", month="2021-01", label="dog")


# -- albums, smart albums and favourites --------------------------------------------------------


def send(api, method, path, body=None):
    return api.client.open(path, method=method, json=body, headers={"X-CSRFToken": api.token})


def listed(api, **query) -> list[str]:
    """Every key a listing gives, page by page."""
    keys, cursor = [], None
    while True:
        page = api.client.get(
            "/api/images", query_string={**query, "limit": 2, **({"cursor": cursor} if cursor else {})}
        )
        assert page.status_code == 200, page.get_json()
        keys += [item["key"] for item in page.get_json()["items"]]
        cursor = page.get_json()["next_cursor"]
        if not cursor:
            return keys


def test_an_album_keeps_its_photos_through_trash_versions_and_order(api, service):
    for i in range(5):
        upload(api, f"a/{i}.png", image(50 + i))
    created = post_json(api, "/api/albums", {"name": "Summer", "description": "Beach days"})
    assert created.status_code == 201, created.get_json()
    album = created.get_json()
    assert (album["name"], album["count"], album["smart"], album["query"]) == ("Summer", 0, False, None)
    added = post_json(api, f"/api/albums/{album['id']}/images", {"keys": ["a/1.png", "a/3.png", "a/4.png", "a/1.png"]})
    assert added.status_code == 200 and (added.get_json()["added"], added.get_json()["count"]) == (3, 3)
    again = post_json(api, f"/api/albums/{album['id']}/images", {"keys": ["a/3.png"]})
    assert again.get_json()["added"] == 0  # already a member
    assert listed(api, album=album["id"]) == ["a/4.png", "a/3.png", "a/1.png"]  # newest first by default
    # By hand: a/1 first, the others keep their order after it.
    ordered = send(api, "PUT", f"/api/albums/{album['id']}/order", {"keys": ["a/1.png"]})
    assert ordered.status_code == 200 and ordered.get_json()["sort"] == "manual"
    assert listed(api, album=album["id"]) == ["a/1.png", "a/3.png", "a/4.png"]
    cover = send(api, "PATCH", f"/api/albums/{album['id']}", {"cover": "a/4.png", "name": "Summer 24"})
    assert cover.status_code == 200 and cover.get_json()["cover"] == "a/4.png"
    assert cover.get_json()["cover_thumb_url"].startswith("/thumbs/a/4.png")
    # Trash: the photo leaves the album's page and returns on restore; a new version stays in.
    assert api.delete("a/3.png").status_code == 204
    assert listed(api, album=album["id"]) == ["a/1.png", "a/4.png"]
    assert api.client.get(f"/api/albums/{album['id']}").get_json()["count"] == 2
    version = api.client.get("/api/trash").get_json()["items"][0]["version"]
    assert post_json(api, "/api/trash/restore", {"key": "a/3.png", "version": version}).status_code == 200
    upload(api, "a/4.png", image(70))  # replaced
    assert listed(api, album=album["id"]) == ["a/1.png", "a/3.png", "a/4.png"]
    assert api.client.get("/images/a/4.png").data == image(70)
    removed = send(api, "DELETE", f"/api/albums/{album['id']}/images", {"keys": ["a/1.png"]})
    assert removed.status_code == 200 and removed.get_json()["removed"] == 1
    assert [a["name"] for a in api.client.get("/api/albums").get_json()["items"]] == ["Summer 24"]
    assert send(api, "DELETE", f"/api/albums/{album['id']}").status_code == 204
    assert api.client.get("/api/albums").get_json()["items"] == []
    assert api.client.get(f"/api/images?album={album['id']}").status_code == 404
    assert len(listed(api)) == 5  # the photos stay


def test_a_smart_album_is_its_filter_read_now(api, service):
    for i in range(3):
        upload(api, f"pets/{i}.png", image(80 + i))
    service.metadata.set_labels("pets/0.png", ["cat"])
    service.metadata.set_labels("pets/2.png", ["cat", "sofa"])
    created = post_json(api, "/api/albums", {"name": "Cats", "query": {"label": "Cat", "q": ""}})
    assert created.status_code == 201, created.get_json()
    smart = created.get_json()
    assert smart["smart"] is True and smart["query"] == {"label": "cat"} and smart["count"] is None
    assert listed(api, album=smart["id"]) == ["pets/2.png", "pets/0.png"]
    upload(api, "pets/3.png", image(90))
    service.metadata.set_labels("pets/3.png", ["cat"])
    assert listed(api, album=smart["id"]) == ["pets/3.png", "pets/2.png", "pets/0.png"]
    refused = post_json(api, f"/api/albums/{smart['id']}/images", {"keys": ["pets/1.png"]})
    assert refused.status_code == 400 and listed(api, album=smart["id"])[-1] == "pets/0.png"
    both = post_json(api, "/api/albums", {"name": "Sofa cats", "query": {"label": "cat", "q": "sofa"}})
    assert listed(api, album=both.get_json()["id"]) == ["pets/2.png"]
    names = {a["name"]: a["smart"] for a in api.client.get("/api/albums").get_json()["items"]}
    assert names == {"Cats": True, "Sofa cats": True}


def test_favourites_camera_and_date_taken_filters(api, service):
    upload(api, "f/plain.png", image(95))
    for key, taken in (("f/2019.jpg", "2019:05:01 10:00:00"), ("f/2021.jpg", "2021:05:01 10:00:00")):
        assert api.upload(key, exif_photo(size=(96, 64), taken=taken, offset="")).status_code == 201
    hearted = send(api, "PUT", "/api/images/f/2019.jpg/favourite")
    assert hearted.status_code == 200 and hearted.get_json()["favourite"] is True
    send(api, "PUT", "/api/images/f/plain.png/favourite")
    assert listed(api, favourite=1) == ["f/2019.jpg", "f/plain.png"]
    assert listed(api, favourite=1, sort="taken") == ["f/2019.jpg", "f/plain.png"]  # undated last
    assert (
        api.upload("f/2019.jpg", exif_photo(size=(80, 64), taken="2019:05:01 10:00:00", offset="")).status_code == 200
    )
    assert api.client.get("/api/images/f/2019.jpg").get_json()["favourite"] is True  # a new version keeps it
    assert send(api, "DELETE", "/api/images/f/plain.png/favourite").get_json()["favourite"] is False
    assert listed(api, favourite=1) == ["f/2019.jpg"]
    assert send(api, "PUT", "/api/images/f/missing.png/favourite").status_code == 404
    assert set(listed(api, camera="canon eos r5")) == {"f/2019.jpg", "f/2021.jpg"}
    assert listed(api, camera="Canon EOS") == []  # the model, not a part of it
    for sort in ("taken", "uploaded"):
        assert listed(api, taken_from="2020-01-01", taken_to="2021-12-31", sort=sort) == ["f/2021.jpg"]
        assert listed(api, taken_to="2019-05-01", sort=sort) == ["f/2019.jpg"]
        assert listed(api, taken_to="2019-05-01", favourite=1, sort=sort) == ["f/2019.jpg"]
    smart = post_json(api, "/api/albums", {"name": "Hearts", "query": {"favourite": True}}).get_json()
    assert listed(api, album=smart["id"]) == ["f/2019.jpg"]
    assert api.client.get("/api/images", query_string={"taken_from": "May"}).status_code == 400


def album_state(service) -> dict:
    albums = service.metadata.albums()
    return {
        "albums": [a.to_dict() for a in albums],
        "members": {a.id: service.metadata.album_keys(a.id) for a in albums},
        "records": [r.to_dict() for r in service.metadata.list(limit=500)[0]],
    }


@pytest.mark.parametrize(
    "method, path, body, status",
    [
        ("POST", "/api/albums", {"name": "trips"}, 409),  # the name is taken (any case)
        ("POST", "/api/albums", {"name": ""}, 400),
        ("POST", "/api/albums", {"name": "x" * 101}, 400),
        ("POST", "/api/albums", {"name": "Odd", "query": {"lable": "cat"}}, 400),
        ("POST", "/api/albums", {"name": "Odd", "query": {"prefix": "a b"}}, 400),
        ("POST", "/api/albums", {"name": "Odd", "query": {"taken_from": "2024-02-01", "taken_to": "2024-01-01"}}, 400),
        ("PATCH", "/api/albums/{trips}", {"name": "Pets"}, 409),
        ("PATCH", "/api/albums/{trips}", {"sort": "random"}, 400),
        ("PATCH", "/api/albums/{trips}", {"cover": "m/2.png"}, 400),  # not a member
        ("PATCH", "/api/albums/{pets}", {"sort": "manual"}, 400),  # a smart album has no hand order
        ("PATCH", "/api/albums/nope", {"name": "New"}, 404),
        ("POST", "/api/albums/{trips}/images", {"keys": ["m/2.png", "m/missing.png"]}, 404),  # all or none
        ("POST", "/api/albums/{trips}/images", {"keys": []}, 400),
        ("POST", "/api/albums/{trips}/images", {"keys": ["../x"]}, 400),
        ("POST", "/api/albums/{pets}/images", {"keys": ["m/2.png"]}, 400),
        ("PUT", "/api/albums/{trips}/order", {"keys": ["m/2.png"]}, 400),  # not a member
        ("DELETE", "/api/albums/nope", None, 404),
        ("PUT", "/api/images/m/missing.png/favourite", None, 404),
    ],
)
def test_refused_album_requests_change_nothing(api, service, method, path, body, status):
    for i in range(3):
        upload(api, f"m/{i}.png", image(100 + i))
    trips = post_json(api, "/api/albums", {"name": "Trips"}).get_json()["id"]
    pets = post_json(api, "/api/albums", {"name": "Pets", "query": {"label": "cat"}}).get_json()["id"]
    post_json(api, f"/api/albums/{trips}/images", {"keys": ["m/0.png", "m/1.png"]})
    before = album_state(service)
    response = send(api, method, path.format(trips=trips, pets=pets), body)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["message"]
    assert album_state(service) == before


# -- folders and share links ---------------------------------------------------------------------
def test_folder_counts_follow_uploads_deletes_and_restores(backend_app):
    api, service = Api(backend_app.test_client()), backend_app.extensions["services"]
    keys = ["trips/a.png", "trips/b.png", "trips/2024/c.png", "trips/2024/may/d.png", "home/e.png", "top.png"]
    for n, key in enumerate(keys):
        assert api.upload(key, image(n)).status_code == 201
    store = service.metadata

    def counts(parent: str) -> list[tuple[str, int]]:
        return [(f.path, f.count) for f in store.folders(parent)[0]]

    assert counts("") == [("home/", 1), ("trips/", 4)]
    assert counts("trips/") == [("trips/2024/", 2)] and counts("trips/2024/") == [("trips/2024/may/", 1)]
    assert api.upload("trips/a.png", image(20)).status_code == 200  # a replacement adds no photo
    assert counts("") == [("home/", 1), ("trips/", 4)]
    assert [r.key for r in store.folder_images("trips/")[0]] == ["trips/a.png", "trips/b.png"]  # a: replaced last
    assert api.delete("trips/2024/may/d.png").status_code == 204
    assert counts("trips/2024/") == [] and store.get_folder("trips/2024/").count == 1
    assert api.delete("home/e.png").status_code == 204
    assert counts("") == [("trips/", 3)] and store.get_folder("home/") is None
    trashed = store.trash()[0][0].record
    service.history.restore_trashed(trashed.key, trashed.version)
    assert counts("") == [("home/", 1), ("trips/", 3)]
    # Paging the sub-folders and the photos of a folder.
    first, after = store.folders("", limit=1)
    assert [f.path for f in first] == ["home/"] and [f.path for f in store.folders("", 1, after)[0]] == ["trips/"]
    page, position = store.folder_images("trips/", limit=1)
    rest, end = store.folder_images("trips/", limit=5, after=position)
    assert [r.key for r in page + rest] == ["trips/a.png", "trips/b.png"] and end is None


def test_folder_view_service_with_covers_and_breadcrumbs(backend_app):
    api, service = Api(backend_app.test_client()), backend_app.extensions["services"]
    for n, key in enumerate(["a/b/one.png", "a/b/two.png", "a/three.png"]):
        assert api.upload(key, image(n)).status_code == 201
    view = service.folders.view("a/b")
    assert view.path == "a/b/" and view.count == 2 and view.crumbs == [("a", "a/"), ("b", "a/b/")]
    top = service.folders.view("")
    assert top.count == 3 and [(s.folder.path, s.folder.count) for s in top.subfolders] == [("a/", 3)]
    assert top.subfolders[0].cover.key == "a/three.png"  # the latest photo added under it
    assert api.delete("a/three.png").status_code == 204
    assert service.folders.view("").subfolders[0].cover.key.startswith("a/b/")  # found again


def test_share_links_are_kept_by_digest_counted_and_revoked(backend_app, monkeypatch):
    api, service = Api(backend_app.test_client()), backend_app.extensions["services"]
    assert api.upload("trips/a.png", image(1)).status_code == 201
    assert api.upload("home/b.png", image(2)).status_code == 201
    made = post_json(api, "/api/shares", {"prefix": "trips/", "expires_in": 600, "password": "pw"})
    assert made.status_code == 201, made.get_json()
    link = made.get_json()
    token = link["url"].removeprefix("/s/")
    stored = service.metadata.get_share(link["id"])
    assert stored.token_sha256 == sha(token.encode()) and stored.password_hash and "pw" not in stored.password_hash
    opened = service.shares.open(token)
    assert service.shares.record(opened, "trips/a.png").key == "trips/a.png"
    with pytest.raises(NotFound):
        service.shares.record(opened, "home/b.png")
    service.shares.viewed(opened)
    listed = api.client.get("/api/shares").get_json()["items"]
    assert [(s["id"], s["views"], s["password"]) for s in listed] == [(link["id"], 1, True)]
    monkeypatch.setattr(service.shares, "clock", lambda: link["created_at"] + 601)
    with pytest.raises(NotFound):
        service.shares.open(token)
    monkeypatch.undo()
    assert api.client.delete(f"/api/shares/{link['id']}", headers={"X-CSRFToken": api.token}).status_code == 204
    with pytest.raises(NotFound):
        service.shares.open(token)
    assert service.metadata.shares() == [] and service.metadata.get_share(link["id"]) is None


def test_refused_share_requests_change_nothing(backend_app):
    api, service = Api(backend_app.test_client()), backend_app.extensions["services"]
    assert api.upload("trips/a.png", image(1)).status_code == 201
    for body, status in [
        ({"prefix": "trips/", "key": "trips/a.png"}, 400),
        ({"key": "nope.png"}, 404),
        ({"prefix": "none/"}, 404),
        ({"key": "trips/a.png", "expires_in": -1}, 400),
        ({"album": "x"}, 404),  # no such album
    ]:
        response = post_json(api, "/api/shares", body)
        assert response.status_code == status, (body, response.get_json())
    assert service.metadata.shares() == []
    assert api.client.delete("/api/shares/0123", headers={"X-CSRFToken": api.token}).status_code == 404


def test_an_album_share_link_serves_the_album_only(api, service):
    for i in range(3):
        upload(api, f"sh/{i}.png", image(110 + i))
    album = post_json(api, "/api/albums", {"name": "Shared"}).get_json()
    post_json(api, f"/api/albums/{album['id']}/images", {"keys": ["sh/0.png", "sh/2.png"]})
    link = post_json(api, "/api/shares", {"album": album["id"]})
    assert link.status_code == 201, link.get_json()
    visitor = api.client.application.test_client()
    url = link.get_json()["url"]
    assert sorted(i["key"] for i in visitor.get(f"{url}/items").get_json()["items"]) == ["sh/0.png", "sh/2.png"]
    assert visitor.get(f"{url}/thumbs/sh/1.png").status_code == 404
    api.delete("sh/2.png")  # trashed: out of the album, so out of its link
    assert [i["key"] for i in visitor.get(f"{url}/items").get_json()["items"]] == ["sh/0.png"]
    assert visitor.get(f"{url}/thumbs/sh/2.png").status_code == 404
