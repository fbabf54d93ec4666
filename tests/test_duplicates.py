"""Uploads that know the library: ``on_duplicate=skip|keep`` on ``POST /api/images``."""

from __future__ import annotations

import io

from conftest import make_image, snapshot
from test_openapi import document


def upload(api, key, data, **fields):
    form = {"key": key, "file": (io.BytesIO(data), "photo.png"), **fields}
    return api.post("/api/images", data=form, content_type="multipart/form-data")


def test_skip_answers_200_with_the_stored_image_and_stores_nothing(api, gallery):
    data = make_image("PNG", color=(10, 200, 30))
    assert upload(api, "trips/beach.png", data).status_code == 201
    before = snapshot(gallery)
    again = upload(api, "elsewhere/beach-copy.png", data, on_duplicate="skip", on_conflict="fail")
    assert again.status_code == 200, again.get_json()
    body = again.get_json()
    assert body["duplicate_of"] == body["key"] == "trips/beach.png" and body["replaced"] is False
    assert snapshot(gallery) == before


def test_skip_comes_before_a_key_conflict(api, gallery):
    data = make_image("PNG", color=(1, 2, 3))
    assert upload(api, "a.png", data).status_code == 201
    same_key = upload(api, "a.png", data, on_duplicate="skip", on_conflict="fail")
    assert same_key.status_code == 200 and same_key.get_json()["duplicate_of"] == "a.png"


def test_keep_is_the_default_and_stores_the_bytes_again(api, gallery):
    data = make_image("PNG", color=(40, 50, 60))
    assert upload(api, "a.png", data).status_code == 201
    kept = upload(api, "b.png", data)
    assert kept.status_code == 201 and "duplicate_of" not in kept.get_json()
    assert upload(api, "c.png", data, on_duplicate="keep").status_code == 201
    assert gallery.metadata.count() == 3


def test_skip_stores_new_bytes_as_usual(api, gallery):
    assert upload(api, "a.png", make_image("PNG", color=(1, 1, 1))).status_code == 201
    fresh = upload(api, "b.png", make_image("PNG", color=(1, 250, 1)), on_duplicate="skip")
    assert fresh.status_code == 201 and "duplicate_of" not in fresh.get_json()


def test_an_unknown_choice_is_a_400_that_changes_nothing(api, gallery):
    before = snapshot(gallery)
    refused = upload(api, "a.png", make_image(), on_duplicate="ignore")
    assert refused.status_code == 400
    assert "on_duplicate must be one of keep, skip" in refused.get_json()["error"]["message"]
    assert snapshot(gallery) == before


def test_the_choice_is_in_the_api_document(tmp_path):
    from conftest import make_app

    doc = document(make_app(tmp_path))
    upload_doc = doc["paths"]["/api/images"]["post"]
    fields = upload_doc["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert fields["on_duplicate"]["enum"] == ["keep", "skip"] and fields["on_duplicate"]["default"] == "keep"
    assert "duplicate_of" in doc["components"]["schemas"]["ImageRecord"]["properties"]


def post_page(api, files: dict[str, bytes], **fields):
    form = {"file": [(io.BytesIO(data), name) for name, data in files.items()], "csrf_token": api.token, **fields}
    return api.client.post("/upload", data=form, content_type="multipart/form-data")


def test_the_upload_form_skips_a_stored_photo_and_says_where_it_is(api, gallery):
    data = make_image("PNG", color=(5, 6, 7))
    assert upload(api, "kept/original.png", data).status_code == 201
    fresh = make_image("PNG", color=(5, 99, 7))
    page = post_page(api, {"again.png": data, "new.png": fresh}, on_duplicate="skip", prefix="up/")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "1 stored" in text and "1 already in the gallery (skipped)" in text
    assert "<code>up/again.png</code> is already in the gallery as" in text and "kept/original.png" in text
    assert gallery.metadata.get("up/again.png") is None and gallery.metadata.get("up/new.png") is not None


def test_the_upload_form_keeps_both_when_asked_and_refuses_an_unknown_choice(api, gallery):
    data = make_image("PNG", color=(8, 9, 10))
    assert upload(api, "a.png", data).status_code == 201
    assert post_page(api, {"b.png": data}, on_duplicate="keep").status_code == 200
    assert gallery.metadata.get("b.png").sha256 == gallery.metadata.get("a.png").sha256
    before = snapshot(gallery)
    refused = post_page(api, {"c.png": data}, on_duplicate="maybe")
    assert refused.status_code == 400 and "already in the gallery" in refused.get_data(as_text=True)
    assert snapshot(gallery) == before
