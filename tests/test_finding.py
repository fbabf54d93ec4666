"""Finding photos through the app: ``GET /api/images?q=``, the gallery's search box and batch
filter, labels on every upload (a failed detection keeps the upload; ``gallery label --missing``
labels what is left), the unlabelled notice, the upload summary and page wording."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from conftest import Api, csrf_token, make_app, make_image

from app.core.errors import BackendUnavailable

DATA = Path(__file__).parent / "data"


def keys_of(response) -> list[str]:
    return [item["key"] for item in response.get_json()["items"]]


@pytest.fixture
def seeded(gallery):
    for key in ["people/katherine.jpg", "holidays/IMG_0001.jpg", "holidays/IMG_0002.png", "kathmandu/street.jpg"]:
        gallery.library.upload(key, make_image("PNG", size=(40, 30)))
    gallery.metadata.set_labels("holidays/IMG_0001.jpg", ["dog"])
    return gallery


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("katherine", ["people/katherine.jpg"]),
        ("PEOPLE/", ["people/katherine.jpg"]),
        ("kath", ["kathmandu/street.jpg", "people/katherine.jpg"]),
        ("img", ["holidays/IMG_0002.png", "holidays/IMG_0001.jpg"]),
        ("0001", ["holidays/IMG_0001.jpg"]),
        ("dog", ["holidays/IMG_0001.jpg"]),
        ("holidays png", ["holidays/IMG_0002.png"]),
        ("nothing", []),
    ],
)
def test_api_search(client, seeded, query, expected):
    assert keys_of(client.get("/api/images", query_string={"q": query})) == expected


def test_api_search_with_prefix_label_and_cursor(client, seeded):
    assert keys_of(client.get("/api/images?q=jpg&prefix=holidays/")) == ["holidays/IMG_0001.jpg"]
    assert keys_of(client.get("/api/images?q=holidays&label=dog")) == ["holidays/IMG_0001.jpg"]
    first = client.get("/api/images?q=jpg&limit=2").get_json()
    second = client.get("/api/images", query_string={"q": "jpg", "limit": 2, "cursor": first["next_cursor"]})
    assert [i["key"] for i in first["items"] + second.get_json()["items"]] == [
        "kathmandu/street.jpg",
        "holidays/IMG_0001.jpg",
        "people/katherine.jpg",
    ]
    assert second.get_json()["next_cursor"] is None
    bad = client.get("/api/images?q=a")
    assert bad.status_code == 400 and "two letters or digits" in bad.get_json()["error"]["message"]


def test_gallery_search_box(client, seeded):
    page = client.get("/gallery?q=katherine").get_data(as_text=True)
    assert 'name="q" value="katherine"' in page
    assert re.findall(r'class="tile-key"[^>]*title="([^"]+)"', page) == ["people/katherine.jpg"]
    one_letter = client.get("/gallery?q=k")
    assert one_letter.status_code == 400
    assert "Search for a word of at least two letters or digits." in one_letter.get_data(as_text=True)
    assert 'name="q" value="k"' in one_letter.get_data(as_text=True)  # the page, with the message


def test_gallery_pages_keep_the_search(tmp_path):
    app = make_app(tmp_path, GALLERY_PAGE_SIZE=2)
    client, gallery = app.test_client(), app.extensions["services"]
    for i in range(3):
        gallery.library.upload(f"walk/p{i}.png", make_image("PNG", size=(40, 30)))
    page = client.get("/gallery?q=walk").get_data(as_text=True)
    older = re.search(r'rel="next" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert "q=walk" in older
    assert re.findall(r'class="tile-key"[^>]*title="([^"]+)"', client.get(older).get_data(as_text=True)) == [
        "walk/p0.png"
    ]


def test_label_filter_says_how_many_are_not_labelled(client, seeded):
    page = client.get("/gallery?label=dog").get_data(as_text=True)
    assert "3 photos are not labelled yet, so results may be partial." in page
    assert "not labelled yet" not in client.get("/gallery").get_data(as_text=True)


def test_upload_is_labelled_by_default_and_a_failed_detection_keeps_it(tmp_path, monkeypatch):
    app = make_app(tmp_path, GALLERY_LABEL_ON_UPLOAD=True)
    gallery, api = app.extensions["services"], Api(app.test_client())
    dog = (DATA / "dog.jpg").read_bytes()
    assert api.upload("pets/rex.jpg", dog).get_json()["labelled"] is True
    assert keys_of(api.client.get("/api/images?label=dog")) == ["pets/rex.jpg"]

    def broken(*args, **kwargs):
        raise BackendUnavailable("The detector is down.")

    monkeypatch.setattr(gallery.recognition.detector, "detect_prepared", broken)
    response = api.upload("pets/rover.jpg", dog)
    assert response.status_code == 201 and response.get_json()["labelled"] is False
    assert gallery.catalog.unlabelled_count() == 1
    assert "1 photo is not labelled yet" in api.client.get("/gallery?label=dog").get_data(as_text=True)

    failed = app.test_cli_runner().invoke(args=["gallery", "label", "--missing"])
    assert failed.exit_code == 1 and "pets/rover.jpg: The detector is down." in failed.output
    monkeypatch.undo()
    done = app.test_cli_runner().invoke(args=["gallery", "label", "--missing"])
    assert done.exit_code == 0, done.output
    assert "labelled 1 image(s); 0 failed" in done.output
    assert keys_of(api.client.get("/api/images?label=dog")) == ["pets/rover.jpg", "pets/rex.jpg"]
    assert gallery.catalog.unlabelled_count() == 0
    again = app.test_cli_runner().invoke(args=["gallery", "label", "--missing"])
    assert "labelled 0 image(s)" in again.output


def test_label_needs_missing(app):
    result = app.test_cli_runner().invoke(args=["gallery", "label"])
    assert result.exit_code == 2 and "--missing" in result.output


def form_upload(client, files, **fields):
    data = {"csrf_token": csrf_token(client), "on_conflict": "ask", **fields}
    data["file"] = [(io.BytesIO(body), name) for name, body in files]
    return client.post("/upload", data=data, content_type="multipart/form-data")


def test_form_upload_summary_links_to_its_batch(client, gallery):
    gallery.library.upload("old.png", make_image("PNG"))
    files = [(f"p{i}.png", make_image("PNG", size=(30 + i, 20))) for i in range(3)] + [("bad.jpg", b"text")]
    page = form_upload(client, files, prefix="trip/").get_data(as_text=True)
    assert "3 stored · 1 failed." in page
    batch = re.search(r'id="batch-link" href="/gallery\?batch=([0-9a-f]{16})"', page).group(1)
    assert len(re.findall(r'<img src="/thumbs/trip/p\d\.png', page)) == 3
    assert "trip/bad.jpg</strong>: This file is not a supported image" in page
    shown = client.get(f"/gallery?batch={batch}").get_data(as_text=True)
    assert sorted(re.findall(r'class="tile-key"[^>]*title="([^"]+)"', shown)) == [f"trip/p{i}.png" for i in range(3)]
    assert "Showing the photos of one upload." in shown
    assert keys_of(client.get(f"/api/images?batch={batch}&limit=2")) == ["trip/p2.png", "trip/p1.png"]


def test_held_uploads_join_the_batch_of_their_first_page(client, gallery):
    gallery.library.upload("trip/p0.png", make_image("PNG"))
    files = [("p0.png", make_image("PNG", size=(50, 20))), ("p1.png", make_image("PNG"))]
    asked = form_upload(client, files, prefix="trip/").get_data(as_text=True)
    batch = re.search(r'name="batch" value="([0-9a-f]{16})"', asked).group(1)
    token = re.search(r'name="token" value="([^"]+)"', asked).group(1)
    resolved = client.post(
        "/upload/resolve",
        data={"csrf_token": csrf_token(client), "token": token, "choice-0": "replace", "batch": batch},
    ).get_data(as_text=True)
    assert f"/gallery?batch={batch}" in resolved
    assert sorted(r.key for r in gallery.catalog.list(batch=batch)[0]) == ["trip/p0.png", "trip/p1.png"]


def test_api_upload_takes_a_batch(api, gallery):
    assert api.upload("a.png", make_image("PNG")).get_json()["batch"] == ""
    response = api.client.post(
        "/api/images",
        data={"key": "b.png", "batch": "Not-A-Batch", "file": (io.BytesIO(make_image("PNG")), "b.png")},
        headers={"X-CSRFToken": api.token},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and "batch must be 16" in response.get_json()["error"]["message"]


def test_recognition_page_speaks_of_photos_not_fields(client, api):
    page = client.post("/recognize", data={"csrf_token": csrf_token(client)}).get_data(as_text=True)
    assert "Choose a photo from your computer or type the key of a gallery photo." in page
    assert "multipart field" not in page
    bad = client.post("/recognize", data={"csrf_token": csrf_token(client), "source_key": "x", "min_confidence": "500"})
    assert "Set the minimum confidence from 0 to 100 %" in bad.get_data(as_text=True)
    body = api.post("/api/recognize", data={}).get_json()  # the API keeps its field names
    assert "'file'" in body["error"]["message"] and "'source_key'" in body["error"]["message"]


def test_browse_lists_processing_steps_as_text(client, gallery):
    gallery.library.upload("src.png", make_image("PNG", size=(64, 48)))
    gallery.processing.process(
        [{"op": "resize", "width": 32}, {"op": "color", "mode": "gray"}], key="src.png", save_as="out.png"
    )
    page = client.get("/browse?key=out.png").get_data(as_text=True)
    assert "Resize: width 32 px" in page and "Color: mode gray" in page
    assert "{&#34;op&#34;" not in page and '{"op"' not in page
    assert 'href="/process?source_key=src.png"' in page


def test_key_fields_explain_their_rules(client):
    page = client.get("/upload").get_data(as_text=True)
    for field in ("key", "prefix"):
        tag = re.search(rf'<input id="{field}"[^>]*>', page, re.S).group(0)
        assert 'data-invalid="Use letters, digits' in tag and 'aria-describedby="key-rules"' in tag
    assert 'id="key-rules"' in page
