"""GET /images/<key> and /thumbs/<key>: headers, conditional requests, read-through and freshness."""

from __future__ import annotations

import hashlib
import io

import pytest
from conftest import make_image
from PIL import Image

IMMUTABLE = "public, max-age=31536000, immutable"


@pytest.fixture
def stored(api):
    data = make_image("JPEG", size=(640, 480))
    body = api.upload("photos/cat.jpg", data).get_json()
    return data, body


def test_original_is_served_byte_identical_with_headers(client, stored):
    data, body = stored
    response = client.get("/images/photos/cat.jpg")
    assert response.status_code == 200
    assert response.data == data
    assert response.content_type == "image/jpeg"
    assert response.headers["ETag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "public, no-cache"  # unversioned: revalidate
    assert int(response.headers["Content-Length"]) == len(data)


def test_thumbnail_is_webp_with_longest_side_360(client, stored):
    data, body = stored
    response = client.get("/thumbs/photos/cat.jpg")
    assert response.status_code == 200
    assert response.content_type == "image/webp"
    assert response.headers["ETag"] == f'"thumb-{hashlib.sha256(data).hexdigest()}"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    image = Image.open(io.BytesIO(response.data))
    assert image.format == "WEBP" and image.size == (360, 270)
    assert (body["thumb_width"], body["thumb_height"]) == (360, 270)


@pytest.mark.parametrize("url_field", ["url", "thumb_url"])
def test_versioned_urls_are_cached_for_a_year(client, stored, url_field):
    _, body = stored
    assert "?v=" in body[url_field]
    assert client.get(body[url_field]).headers["Cache-Control"] == IMMUTABLE
    stale = body[url_field].split("?v=")[0] + "?v=not-the-version"
    assert client.get(stale).headers["Cache-Control"] == "public, no-cache"


@pytest.mark.parametrize("path", ["/images/photos/cat.jpg", "/thumbs/photos/cat.jpg"])
def test_if_none_match_gives_304(client, stored, path):
    etag = client.get(path).headers["ETag"]
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        response = client.get(path, headers={"If-None-Match": header})
        assert response.status_code == 304, header
        assert response.data == b""
        assert response.headers["ETag"] == etag
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get(path, headers={"If-None-Match": '"something-else"'}).status_code == 200


def test_head_and_download_go_through_the_flask_route(client, stored):
    data, _ = stored
    head = client.head("/images/photos/cat.jpg")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["ETag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    download = client.get("/images/photos/cat.jpg?download=1")
    assert download.data == data
    assert download.headers["Content-Disposition"] == 'attachment; filename="cat.jpg"'
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    conditional = client.get("/images/photos/cat.jpg?download=1", headers={"If-None-Match": download.headers["ETag"]})
    assert conditional.status_code == 304


def test_second_get_is_a_cache_hit(client, gallery, stored):
    gallery.cache.clear()
    gallery.cache.reset_stats()
    first = client.get("/images/photos/cat.jpg")
    assert gallery.cache.stats()["misses"] == 1 and gallery.cache.stats()["hits"] == 0
    second = client.get("/images/photos/cat.jpg")
    assert gallery.cache.stats()["hits"] == 1 and gallery.cache.stats()["misses"] == 1
    assert first.data == second.data and first.headers["ETag"] == second.headers["ETag"]
    client.get("/thumbs/photos/cat.jpg")
    client.get("/thumbs/photos/cat.jpg")
    stats = gallery.cache.stats()
    assert (stats["hits"], stats["misses"], stats["requests"], stats["items"]) == (2, 2, 4, 2)


def test_a_versioned_hit_is_served_without_reading_the_stores(client, gallery, stored, monkeypatch):
    data, body = stored
    client.get("/images/photos/cat.jpg")

    def forbidden(*args):
        raise AssertionError("the cache should have answered")

    monkeypatch.setattr(gallery.blobs, "get", forbidden)
    assert client.get("/images/photos/cat.jpg").data == data  # asks the metadata which version is current
    monkeypatch.setattr(gallery.metadata, "get", forbidden)
    monkeypatch.setattr(gallery.metadata, "get_version", forbidden)
    assert client.get(body["url"]).data == data


@pytest.mark.parametrize("prefix", ["/images/", "/thumbs/"])
def test_no_stale_bytes_after_overwrite_even_for_the_same_url(api, client, stored, prefix):
    old_data, old_body = stored
    url = prefix + "photos/cat.jpg"
    before = client.get(url)
    client.get(url)  # definitely cached now
    new_data = make_image("PNG", size=(300, 100), color=(0, 0, 255))
    new_body = api.upload("photos/cat.jpg", new_data).get_json()
    after = client.get(url)
    assert after.headers["ETag"] != before.headers["ETag"]
    assert after.data != before.data
    if prefix == "/images/":
        assert after.data == new_data and after.content_type == "image/png"
    else:
        assert Image.open(io.BytesIO(after.data)).size == (300, 100)
    # A versioned URL never changes meaning: the old one still shows the old version (kept in
    # the history), the new one the new version; both immutable.
    field = "url" if prefix == "/images/" else "thumb_url"
    old, new = client.get(old_body[field]), client.get(new_body[field])
    assert (old.data, new.data) == (before.data, after.data)
    assert old.headers["Cache-Control"] == new.headers["Cache-Control"] == IMMUTABLE
    # A browser revalidating with the old ETag gets the new bytes, not a 304.
    assert client.get(url, headers={"If-None-Match": before.headers["ETag"]}).status_code == 200


def test_deleted_images_are_not_served_from_the_cache(api, client, gallery, stored):
    client.get("/images/photos/cat.jpg")
    client.get("/thumbs/photos/cat.jpg")
    assert api.delete("photos/cat.jpg").status_code == 204
    assert gallery.cache.stats()["items"] == 0
    for path in ("/images/photos/cat.jpg", "/thumbs/photos/cat.jpg"):
        response = client.get(path)
        assert response.status_code == 404
        assert "photos/cat.jpg" in response.get_data(as_text=True)


def test_unknown_and_invalid_keys(client, stored):
    missing = client.get("/images/photos/dog.jpg")
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    assert client.get("/thumbs/nothing").status_code == 404
    assert client.get("/images/bad%20key").status_code == 400
    for bad in ("/images/a//b", "/images/a/./b", "/images/photos/../photos/cat.jpg", "/thumbs/photos/cat.jpg/"):
        assert client.get(bad).status_code == 400, bad
    hostile = client.get("/images/%3Cscript%3Ealert(1)%3C/script%3E")
    assert hostile.status_code == 400
    assert "<script>alert(1)</script>" not in hostile.get_data(as_text=True)


def test_original_bytes_keep_their_exif_while_the_record_is_oriented(api, client):
    image = Image.new("RGB", (640, 480), (20, 160, 40))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise for display
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    data = out.getvalue()
    body = api.upload("rotated.jpg", data).get_json()
    assert (body["width"], body["height"]) == (480, 640)
    served = client.get("/images/rotated.jpg").data
    assert served == data
    assert Image.open(io.BytesIO(served)).getexif()[0x0112] == 6
    thumb = Image.open(io.BytesIO(client.get("/thumbs/rotated.jpg").data))
    assert thumb.size == (270, 360)


@pytest.mark.parametrize("path", ["/images/missing.png", "/thumbs/missing.png", "/images/bad%20key"])
def test_a_failed_request_is_at_most_one_cache_miss(client, gallery, path):
    """The statistics count requests exactly: an error answer is one lookup (a versioned URL looks
    in the cache first), not two; an unversioned one learns from the metadata that there is nothing."""
    for query, lookups in (("?v=0123abcd", 1), ("", 0)):
        gallery.cache.reset_stats()
        assert client.get(path + query).status_code in (400, 404)
        stats = gallery.cache.stats()
        assert (stats["requests"], stats["misses"]) == (lookups, lookups)
