"""GET /large/<key>: the viewer's zoom rendition, twice the display size, made through the work
pool on the first request, stored under its version and then served like the other renditions."""

from __future__ import annotations

import hashlib
import io

import pytest
from conftest import is_stored, make_app, make_image
from PIL import Image

from app.core.blobs import LARGE, blob_name

IMMUTABLE = "public, max-age=31536000, immutable"


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path, GALLERY_DISPLAY_SIZE=200)  # large: 400 px


@pytest.fixture
def stored(api):
    data = make_image("JPEG", size=(1000, 750))
    return data, api.upload("photos/cat.jpg", data).get_json()


def test_made_on_first_request_then_stored_and_cached(client, gallery, stored, monkeypatch):
    data, body = stored
    record = gallery.catalog.get_record("photos/cat.jpg")
    assert not is_stored(gallery.blobs, blob_name(LARGE, record))  # nothing made at upload
    url = body["display_url"].replace("/display/", "/large/")
    first = client.get(url)
    assert first.status_code == 200 and first.content_type == "image/webp"
    assert Image.open(io.BytesIO(first.data)).size == (400, 300)
    assert first.headers["ETag"] == f'"large-{hashlib.sha256(data).hexdigest()}"'
    assert first.headers["Cache-Control"] == IMMUTABLE
    assert is_stored(gallery.blobs, blob_name(LARGE, record))

    def no_more_work(*args):
        raise AssertionError("the stored rendition should have answered")

    monkeypatch.setattr(gallery.work, "large_rendition", no_more_work)
    assert client.get(url).data == first.data  # from the cache
    gallery.cache.clear()
    assert client.get("/large/photos/cat.jpg").data == first.data  # from the store


def test_never_larger_than_the_original(api, client):
    api.upload("small.png", make_image("PNG", size=(300, 120)))
    assert Image.open(io.BytesIO(client.get("/large/small.png").data)).size == (300, 120)


def test_unknown_deleted_and_bad_keys_change_nothing(api, client, gallery, stored):
    assert client.get("/large/photos/dog.jpg").status_code == 404
    assert client.get("/large/bad%20key").status_code == 400
    _, body = stored
    record = gallery.catalog.get_record("photos/cat.jpg")
    assert api.delete("photos/cat.jpg").status_code == 204
    assert client.get(f"/large/photos/cat.jpg?v={body['version']}").status_code == 404  # deleting unpublishes
    assert not is_stored(gallery.blobs, blob_name(LARGE, record))
    # ?version= of a trashed image is the admin's view (anyone's in an open gallery), as for originals
    assert client.get(f"/large/photos/cat.jpg?version={body['version']}").status_code == 200


def test_a_replaced_version_keeps_its_own_large_rendition(api, client, stored):
    _, old = stored
    new = api.upload("photos/cat.jpg", make_image("PNG", size=(600, 600), color=(0, 0, 255))).get_json()
    old_large = Image.open(io.BytesIO(client.get(f"/large/photos/cat.jpg?v={old['version']}").data))
    new_large = Image.open(io.BytesIO(client.get(f"/large/photos/cat.jpg?v={new['version']}").data))
    assert (old_large.size, new_large.size) == ((400, 300), (400, 400))


def test_purging_removes_it_with_the_other_blobs(gallery, client, stored):
    record = gallery.catalog.get_record("photos/cat.jpg")
    client.get("/large/photos/cat.jpg")
    gallery.images.remove_blobs(record)
    assert not is_stored(gallery.blobs, blob_name(LARGE, record))
