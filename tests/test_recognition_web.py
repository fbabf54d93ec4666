"""The Image Recognition tab and ``POST /api/recognize`` on the default (local) detector: results,
stored labels and the label filter, label-on-upload, and bad requests as clear 4xx."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from conftest import csrf_token

from app import create_app

DATA = Path(__file__).parent / "data"


def dog() -> bytes:
    return (DATA / "dog.jpg").read_bytes()


def recognize(api, **form):
    data = dict(form)
    if "file" in data:
        data["file"] = (io.BytesIO(data["file"]), "photo.jpg")
    return api.post("/api/recognize", data=data, content_type="multipart/form-data")


def names(body) -> set[str]:
    return {label["Name"] for label in body["Labels"]}


def test_api_detects_an_uploaded_file(api):
    response = recognize(api, file=dog())
    assert response.status_code == 200
    body = response.get_json()
    assert {"Dog", "Bicycle", "Car"} <= names(body)
    assert body["model"] == "ssd_mobilenet_v2_coco_2018_03_29"
    assert "OpenCV" in body["detector"]
    assert body["elapsed_ms"] > 0
    assert "source_key" not in body


def test_api_honours_min_confidence_and_max_labels(api):
    body = recognize(api, file=dog(), min_confidence="90", max_labels="2").get_json()
    assert len(body["Labels"]) == 2 and all(label["Confidence"] >= 90 for label in body["Labels"])


def test_gallery_image_labels_are_stored_and_filterable(api, client):
    assert api.upload("pets/dog.jpg", dog(), "dog.jpg").status_code == 201
    assert api.upload("pets/horses.jpg", (DATA / "horses.jpg").read_bytes(), "horses.jpg").status_code == 201
    assert client.get("/api/images?label=dog").get_json()["items"] == []

    # A high slider must not shrink what is stored: stored labels use the default minimum (50).
    body = recognize(api, source_key="pets/dog.jpg", min_confidence="95").get_json()
    assert body["source_key"] == "pets/dog.jpg"
    assert "Dog" not in names(body)
    assert {"dog", "bicycle", "car", "animal", "vehicle"} <= set(body["stored_labels"])
    assert client.get("/api/images/pets/dog.jpg").get_json()["labels"] == body["stored_labels"]

    recognize(api, source_key="pets/horses.jpg")
    keys = lambda label: [i["key"] for i in client.get(f"/api/images?label={label}").get_json()["items"]]  # noqa: E731
    assert keys("dog") == ["pets/dog.jpg"]
    assert keys("Horse") == ["pets/horses.jpg"]
    assert sorted(keys("animal")) == ["pets/dog.jpg", "pets/horses.jpg"]
    page = client.get("/gallery?label=dog").get_data(as_text=True)
    assert "pets/dog.jpg" in page and "pets/horses.jpg" not in page


def test_replacing_an_image_drops_its_old_labels(api, client):
    api.upload("photo.jpg", dog(), "photo.jpg")
    recognize(api, source_key="photo.jpg")
    assert client.get("/api/images/photo.jpg").get_json()["labels"]
    api.upload("photo.jpg", (DATA / "horses.jpg").read_bytes(), "photo.jpg")
    assert client.get("/api/images?label=dog").get_json()["items"] == []


@pytest.mark.parametrize(
    ("form", "status", "code"),
    [
        ({}, 400, "invalid_parameter"),
        ({"file": b"x", "source_key": "a.jpg"}, 400, "invalid_parameter"),
        ({"source_key": "missing.jpg"}, 404, "not_found"),
        ({"source_key": "../etc"}, 400, "invalid_key"),
        ({"file": b"not an image at all"}, 415, "unsupported_media_type"),
        ({"file": b""}, 415, "unsupported_media_type"),
        ({"file": "truncated"}, 422, "unprocessable_image"),
        ({"file": None, "min_confidence": "150"}, 400, "invalid_parameter"),
        ({"file": None, "max_labels": "lots"}, 400, "invalid_parameter"),
    ],
)
def test_api_bad_requests_are_clear_4xx(api, form, status, code):
    real = {None: dog(), "truncated": dog()[:2000]}
    form = {k: (real[v] if k == "file" and not isinstance(v, bytes) else v) for k, v in form.items()}
    response = recognize(api, **form)
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"]


def test_api_needs_the_csrf_token(client):
    response = client.post(
        "/api/recognize", data={"file": (io.BytesIO(dog()), "d.jpg")}, content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "csrf_failed"


def test_label_on_upload(tmp_path):
    app = create_app(
        {
            "GALLERY_DATA_DIR": str(tmp_path / "data"),
            "SECRET_KEY": "test-secret",
            "TESTING": True,
            "GALLERY_LABEL_ON_UPLOAD": True,
        }
    )
    client = app.test_client()
    token = csrf_token(client)
    response = client.post(
        "/api/images",
        data={"key": "auto.jpg", "file": (io.BytesIO((DATA / "person.jpg").read_bytes()), "p.jpg")},
        headers={"X-CSRFToken": token},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201
    assert {"person", "horse", "dog"} <= set(response.get_json()["labels"])
    assert [i["key"] for i in client.get("/api/images?label=horse").get_json()["items"]] == ["auto.jpg"]


def test_page_renders_the_form_and_names_the_detector(client):
    page = client.get("/recognize?source_key=pets/a.jpg").get_data(as_text=True)
    assert 'name="min_confidence"' in page and 'type="range"' in page
    assert 'value="pets/a.jpg"' in page
    assert "SSD MobileNet" in page
    assert not re.search(r"<script(?![^>]*\bsrc=)", page), "inline scripts are forbidden by the CSP"
    assert "recognize.js" in page


def form_post(client, **fields):
    fields["csrf_token"] = csrf_token(client)
    if "file" in fields:
        fields["file"] = (io.BytesIO(fields["file"]), "photo.jpg")
    return client.post("/recognize", data=fields, content_type="multipart/form-data")


def test_page_shows_boxes_labels_time_and_detector_for_an_upload(client):
    response = form_post(client, file=dog(), min_confidence="50")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    figure = page[page.index('class="recog-figure"') :]
    assert 'src="data:image/webp;base64,' in figure  # a preview, not the whole upload
    assert 'viewBox="0 0 640 480"' in figure
    assert len(re.findall(r'<g class="box c\d"', figure)) == 3  # dog, bicycle, car
    for name in ("Dog", "Bicycle", "Car"):
        assert f'<th scope="row">{name}</th>' in page
    assert "<meter" in page and " ms</strong>" in page and "SSD MobileNet" in page


def test_page_for_a_gallery_image_links_its_stored_labels(client, api):
    version = api.upload("street/dog.jpg", dog(), "dog.jpg").get_json()["version"]
    page = form_post(client, source_key="street/dog.jpg").get_data(as_text=True)
    assert f'<img src="/display/street/dog.jpg?v={version}"' in page  # the display rendition, not the original
    assert 'href="/gallery?label=dog"' in page


def test_page_errors_are_shown_on_the_form(client):
    response = form_post(client, file=b"not an image")
    assert response.status_code == 415
    page = response.get_data(as_text=True)
    assert 'class="error-message"' in page and 'name="min_confidence"' in page


def test_openapi_describes_the_endpoint(client):
    spec = client.get("/api/openapi.json").get_json()
    operation = spec["paths"]["/api/recognize"]["post"]
    fields = operation["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert {"file", "source_key", "min_confidence", "max_labels"} <= fields.keys()
