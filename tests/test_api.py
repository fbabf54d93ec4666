"""JSON API: uploads and their errors (each bad input changes nothing), listing, records, delete,
cache statistics, OpenAPI and health."""

from __future__ import annotations

import hashlib
import io
import os
import re

import pytest
from conftest import Api, make_app, make_image, snapshot
from PIL import ImageFile
from test_images import png_bomb

from app.core.blobs import VARIANTS

RECORD_FIELDS = {"key", "content_type", "bytes", "width", "height", "sha256", "created_at", "updated_at"}


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["message"].strip()
    if code:
        assert body["error"]["code"] == code
    return body["error"]


@pytest.fixture
def seeded(api, client, gallery):
    """One stored image whose original and thumbnail are in the cache."""
    data = make_image("PNG", size=(64, 48))
    assert api.upload("existing", data).status_code == 201
    assert client.get("/images/existing").status_code == 200
    assert client.get("/thumbs/existing").status_code == 200
    return data


# -- upload --------------------------------------------------------------------------------
def test_upload_new_then_replace(api, client):
    first = make_image("PNG", size=(64, 48))
    response = api.upload("holidays/beach.png", first)
    assert response.status_code == 201
    body = response.get_json()
    assert body["replaced"] is False
    assert RECORD_FIELDS | {"url", "thumb_url"} <= set(body)
    assert (body["key"], body["content_type"], body["bytes"], body["width"], body["height"]) == (
        "holidays/beach.png",
        "image/png",
        len(first),
        64,
        48,
    )
    assert body["sha256"] == hashlib.sha256(first).hexdigest()
    assert body["url"] == f"/images/holidays/beach.png?v={body['version']}"
    assert body["thumb_url"] == f"/thumbs/holidays/beach.png?v={body['version']}"
    assert client.get(body["url"]).data == first

    second = make_image("JPEG", size=(100, 50))
    response = api.upload("holidays/beach.png", second, filename="other.jpg")
    assert response.status_code == 200
    replaced = response.get_json()
    assert replaced["replaced"] is True
    assert replaced["content_type"] == "image/jpeg" and replaced["width"] == 100
    assert replaced["created_at"] == body["created_at"]
    assert replaced["updated_at"] >= body["updated_at"]
    assert client.get("/api/images/holidays/beach.png").get_json()["sha256"] == hashlib.sha256(second).hexdigest()


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [
        ("JPEG", "image/jpeg"),
        ("PNG", "image/png"),
        ("GIF", "image/gif"),
        ("WEBP", "image/webp"),
        ("BMP", "image/bmp"),
        ("TIFF", "image/tiff"),
    ],
)
def test_all_six_formats_are_accepted(api, client, fmt, content_type):
    data = make_image(fmt, size=(50, 30))
    # The client's file name and content type are ignored: the bytes decide.
    response = api.upload(f"img.{fmt.lower()}", data, filename="misleading.txt")
    assert response.status_code == 201
    assert response.get_json()["content_type"] == content_type
    served = client.get(f"/images/img.{fmt.lower()}")
    assert served.content_type == content_type and served.data == data


TEXT = b"This is a plain text file that someone renamed to photo.jpg\n" * 20


def truncated_jpeg() -> bytes:
    data = make_image("JPEG", size=(640, 480))
    return data[: len(data) * 2 // 3]


@pytest.mark.parametrize(
    ("key", "data", "status", "code"),
    [
        ("../../etc/passwd", "png", 400, "invalid_key"),
        ("", "png", 400, "invalid_key"),
        ("/leading", "png", 400, "invalid_key"),
        ("a//b", "png", 400, "invalid_key"),
        ("spaces are bad", "png", 400, "invalid_key"),
        ("k" * 256, "png", 400, "invalid_key"),
        ("existing", "text", 415, "unsupported_media_type"),
        ("fresh", "text", 415, "unsupported_media_type"),
        ("existing", "empty", 415, "unsupported_media_type"),
        ("existing", "truncated", 422, "unprocessable_image"),
        ("fresh", "truncated", 422, "unprocessable_image"),
    ],
)
def test_bad_uploads_are_rejected_and_change_nothing(api, gallery, seeded, key, data, status, code):
    body = {"png": make_image("PNG"), "text": TEXT, "empty": b"", "truncated": truncated_jpeg()}[data]
    before = snapshot(gallery)
    assert_error(api.upload(key, body, filename="photo.jpg"), status, code)
    assert snapshot(gallery) == before


def test_a_decompression_bomb_is_refused_before_decoding(api, gallery, seeded, monkeypatch):
    def no_decoding(self):
        raise AssertionError("the bomb's pixels must not be decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    before = snapshot(gallery)
    error = assert_error(api.upload("existing", png_bomb(), filename="bomb.png"), 413, "too_large")
    assert "20000×20000" in error["message"] and "pixels" in error["message"]
    assert snapshot(gallery) == before


def test_over_the_byte_limit_is_413_whichever_layer_catches_it(tmp_path):
    """A small limit keeps this fast: 0.05 MB. Just over it is caught by the gallery's own
    check; far over it, by the request size limit before the body is parsed."""
    app = make_app(tmp_path, GALLERY_MAX_UPLOAD_MB=0.05)
    api, gallery = Api(app.test_client()), app.extensions["services"]
    limit = int(0.05 * 1024 * 1024)
    fits = make_image("BMP", size=(120, 120))  # 43 KB
    assert len(fits) < limit
    assert api.upload("fits", fits).status_code == 201
    app.test_client().get("/images/fits")
    before = snapshot(gallery)
    just_over = make_image("BMP", size=(140, 140))  # 59 KB: passes the request limit, fails the gallery's
    assert limit < len(just_over) < app.config["MAX_CONTENT_LENGTH"]
    error = assert_error(api.upload("fits", just_over), 413, "too_large")
    assert "MB" in error["message"]
    far_over = make_image("BMP", size=(300, 300))  # 270 KB
    assert len(far_over) > app.config["MAX_CONTENT_LENGTH"]
    assert_error(api.upload("fits", far_over), 413, "too_large")
    assert snapshot(gallery) == before


def test_a_real_30_mb_upload_is_413_at_the_default_limit(api, gallery, seeded):
    assert gallery.library.settings.max_upload_mb == 25
    big = make_image("PNG") + os.urandom(30 * 1024 * 1024)
    before = snapshot(gallery)
    error = assert_error(api.upload("existing", big, filename="big.png"), 413, "too_large")
    assert "25 MB" in error["message"]
    assert snapshot(gallery) == before


def test_upload_without_a_file_is_400(api, gallery, seeded):
    before = snapshot(gallery)
    assert_error(api.post("/api/images", data={"key": "x"}), 400, "invalid_parameter")
    assert snapshot(gallery) == before


@pytest.mark.parametrize("headers", [{}, {"X-CSRFToken": "forged"}])
def test_writes_without_a_valid_csrf_token_are_400_and_change_nothing(client, gallery, seeded, headers):
    before = snapshot(gallery)
    response = client.post(
        "/api/images",
        data={"key": "existing", "file": (io.BytesIO(make_image("GIF")), "x.gif")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert_error(response, 400, "csrf_failed")
    assert_error(client.delete("/api/images/existing", headers=headers), 400, "csrf_failed")
    assert_error(client.post("/api/cache/clear", headers=headers), 400, "csrf_failed")
    assert snapshot(gallery) == before


def test_the_token_only_works_with_its_session(app, api, gallery, seeded):
    stranger = app.test_client()  # no session cookie: the token alone is not enough
    before = snapshot(gallery)
    assert_error(stranger.delete("/api/images/existing", headers={"X-CSRFToken": api.token}), 400, "csrf_failed")
    assert snapshot(gallery) == before


# -- records, listing, suggestions ---------------------------------------------------------
def test_get_record_and_404(api, client, seeded):
    body = client.get("/api/images/existing").get_json()
    assert RECORD_FIELDS | {"url", "thumb_url", "version"} <= set(body)
    assert body["sha256"] == hashlib.sha256(seeded).hexdigest()
    assert "replaced" not in body
    assert_error(client.get("/api/images/missing"), 404, "not_found")
    assert_error(client.get("/api/images/a//b"), 400, "invalid_key")


def upload_many(api, keys):
    for key in keys:
        assert api.upload(key, make_image("PNG", size=(8, 8))).status_code == 201


def walk(client, limit, **params) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        query = {"limit": limit, **params} | ({"cursor": cursor} if cursor else {})
        body = client.get("/api/images", query_string=query).get_json()
        pages.append([item["key"] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def test_listing_is_newest_first_by_cursor_without_duplicates_or_gaps(api, client):
    keys = [f"k{i:02d}" for i in range(11)]
    upload_many(api, keys)
    for limit in (1, 2, 3, 5, 11, 50):
        pages = walk(client, limit)
        assert [k for page in pages for k in page] == keys[::-1]
        assert all(len(page) == limit for page in pages[:-1])
    # A page stays correct when newer uploads arrive between requests: nothing shifts.
    first = client.get("/api/images", query_string={"limit": 4}).get_json()
    upload_many(api, ["newer"])
    rest = walk(client, 4, cursor=first["next_cursor"])
    assert [i["key"] for i in first["items"]] + [k for page in rest for k in page] == keys[::-1]


@pytest.mark.parametrize("cursor", ["garbage", "!!!", "e30", "WzEsMiwzXQ", "W251bGwsImsiXQ"])
def test_an_invalid_cursor_is_400(api, client, cursor):
    upload_many(api, ["a"])
    assert_error(client.get("/api/images", query_string={"cursor": cursor}), 400, "invalid_parameter")


@pytest.mark.parametrize("limit", ["0", "501", "-1", "ten", "1.5"])
def test_an_invalid_limit_is_400(client, limit):
    assert_error(client.get("/api/images", query_string={"limit": limit}), 400, "invalid_parameter")


def test_prefix_filter_is_literal(api, client):
    upload_many(api, ["a_b", "axb", "a_b/c", "ab", "b/a_b"])
    assert sorted(walk(client, 10, prefix="a_")[0]) == ["a_b", "a_b/c"]
    assert walk(client, 10, prefix="a_b/")[0] == ["a_b/c"]
    assert_error(client.get("/api/images", query_string={"prefix": "a%"}), 400, "invalid_key")


def test_key_suggestions(api, client):
    upload_many(api, ["cats/1", "cats/2", "cars/1", "dogs/1"])
    assert client.get("/api/keys?prefix=ca").get_json() == {"keys": ["cars/1", "cats/1", "cats/2"]}
    assert client.get("/api/keys?prefix=cats/&limit=1").get_json() == {"keys": ["cats/1"]}
    assert client.get("/api/keys?prefix=z").get_json() == {"keys": []}
    assert_error(client.get("/api/keys?prefix=<script>"), 400, "invalid_key")
    assert_error(client.get("/api/keys?limit=1000"), 400, "invalid_parameter")


# -- delete ----------------------------------------------------------------------------------
def test_delete(api, client, gallery, seeded):
    response = api.delete("existing")
    assert response.status_code == 204 and response.data == b""
    assert gallery.metadata.count() == 0
    assert len(snapshot(gallery)["files"]) == len(VARIANTS)  # in the trash: bytes kept until it is emptied
    assert gallery.cache.stats()["items"] == 0
    assert_error(client.get("/api/images/existing"), 404, "not_found")
    assert client.get("/images/existing").status_code == 404
    assert_error(api.delete("existing"), 404, "not_found")


def test_delete_with_a_bad_key_changes_nothing(api, gallery, seeded):
    before = snapshot(gallery)
    assert_error(api.delete("a//b"), 400, "invalid_key")
    assert_error(api.delete("missing"), 404, "not_found")
    assert snapshot(gallery) == before


# -- cache, OpenAPI, health, errors ------------------------------------------------------------
def test_cache_stats_and_clear(api, client, seeded):
    client.get("/images/existing")  # a hit
    client.get("/api/cache/stats")
    stats = client.get("/api/cache/stats").get_json()
    assert {"hits", "misses", "hit_rate", "items", "bytes", "capacity_bytes", "policy", "requests"} <= set(stats)
    assert (stats["hits"], stats["misses"], stats["requests"], stats["items"]) == (1, 2, 3, 2)
    assert stats["hit_rate"] == pytest.approx(1 / 3)
    assert stats["capacity_bytes"] == 64 * 1024 * 1024 and stats["policy"] == "lru"
    cleared = api.post("/api/cache/clear").get_json()
    assert (cleared["items"], cleared["bytes"]) == (0, 0)
    client.get("/images/existing")
    assert client.get("/api/cache/stats").get_json()["misses"] == 3


def test_openapi_describes_every_core_api_route(app, client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in ["/api/images", "/api/images/{key}", "/api/keys", "/api/cache/stats", "/healthz"]:
        assert path in spec["paths"]
    assert {"get", "post"} <= set(spec["paths"]["/api/images"])
    assert {"get", "delete"} <= set(spec["paths"]["/api/images/{key}"])
    # The core's own routes; the processing and recognition blueprints document theirs.
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.openapi":
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            assert path in spec["paths"], f"{rule.rule} is not in the OpenAPI document"
            methods = set(rule.methods) - {"HEAD", "OPTIONS"}
            assert {m.lower() for m in methods} <= set(spec["paths"][path]), rule.rule
    assert spec["components"]["schemas"]["Error"]["required"] == ["error"]


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "checks": {"storage": "ok", "metadata": "ok", "cache": "ok"}}


def test_api_errors_are_json_even_for_routing_errors(api, client):
    assert_error(client.get("/api/nothing-here"), 404)
    assert_error(client.put("/api/images/x", headers={"X-CSRFToken": api.token}), 405)


def test_an_unexpected_failure_is_a_json_500_without_details(client, gallery, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(gallery.metadata, "get", broken)
    error = assert_error(client.get("/api/images/x"), 500, "internal_error")
    assert "secret" not in error["message"]
