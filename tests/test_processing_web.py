"""The /process page and POST /api/process: results, bad input, saving with provenance, caching."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from app.web.processing import apply_edit, derived_key, form_steps

DOG = (Path(__file__).parent / "data" / "dog.jpg").read_bytes()
PIPELINE = [{"op": "resize", "width": 320}, {"op": "sharpen", "amount": 1.5}, {"op": "rotate", "angle": 90}]


@pytest.fixture
def stored(gallery):
    record, _ = gallery.library.upload("photos/dog.jpg", DOG)
    return record


def image_of(response) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(response.data, np.uint8), cv2.IMREAD_UNCHANGED)


def process(api, **fields):
    if "ops" in fields and not isinstance(fields["ops"], str):
        fields["ops"] = json.dumps(fields["ops"])
    return api.post("/api/process", data=fields, content_type="multipart/form-data")


def test_gallery_image_through_a_pipeline(api, stored):
    response = process(api, source_key=stored.key, ops=PIPELINE)
    assert response.status_code == 200
    assert response.content_type == "image/jpeg"
    img = image_of(response)
    assert img.shape == (320, 240, 3)  # resized to 320×240, then turned a quarter
    assert response.headers["X-Image-Width"] == "240" and response.headers["X-Image-Height"] == "320"
    assert float(response.headers["X-Processing-Ms"]) > 0


def test_uploaded_file_and_output_format(api):
    response = api.post(
        "/api/process",
        data={"file": (io.BytesIO(DOG), "dog.jpg"), "ops": '[{"op": "color", "mode": "gray"}]', "format": "png"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200 and response.content_type == "image/png"
    assert image_of(response).ndim == 2


def test_json_body(api, stored):
    response = api.post("/api/process", json={"source_key": stored.key, "ops": PIPELINE[:1], "format": "webp"})
    assert response.status_code == 200 and response.content_type == "image/webp"


def test_repeat_is_a_cache_hit(api, gallery, stored):
    first = process(api, source_key=stored.key, ops=PIPELINE)
    hits = gallery.cache.stats()["hits"]
    # The same transform spelled differently normalises to the same cache entry.
    respelled = [{"op": "resize", "width": "320", "fit": "CONTAIN"}, *PIPELINE[1:]]
    second = process(api, source_key=stored.key, ops=respelled)
    assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("miss", "hit")
    assert second.data == first.data
    assert gallery.cache.stats()["hits"] == hits + 1
    other = process(api, source_key=stored.key, ops=PIPELINE, quality=60)
    assert other.headers["X-Cache"] == "miss" and len(other.data) < len(first.data)


def test_replacing_the_source_does_not_serve_the_old_result(api, gallery, stored):
    first = process(api, source_key=stored.key, ops=PIPELINE)
    gallery.library.upload(stored.key, cv2.imencode(".png", np.zeros((100, 100, 3), np.uint8))[1].tobytes())
    second = process(api, source_key=stored.key, ops=PIPELINE)
    assert second.headers["X-Cache"] == "miss" and second.data != first.data


def test_save_with_provenance(api, client, gallery, stored):
    response = process(api, source_key=stored.key, ops=PIPELINE, save_as="photos/dog-small.jpg")
    assert response.status_code == 201
    body = response.get_json()
    assert body["key"] == "photos/dog-small.jpg" and (body["width"], body["height"]) == (240, 320)
    provenance = body["provenance"]
    assert provenance["source_key"] == stored.key
    assert provenance["source_sha256"] == stored.sha256
    assert [step["op"] for step in provenance["ops"]] == ["resize", "sharpen", "rotate"]
    assert provenance["ops"][1] == {"op": "sharpen", "amount": 1.5, "radius": 1.0, "threshold": 0}
    saved = gallery.catalog.get_record("photos/dog-small.jpg")
    assert saved.provenance == provenance
    page = client.get("/browse?key=photos/dog-small.jpg").get_data(as_text=True)
    assert stored.sha256 in page and "Sharpen: amount 1.5" in page
    again = process(api, source_key=stored.key, ops=PIPELINE, save_as="photos/dog-small.jpg")
    assert again.status_code == 200 and again.get_json()["replaced"] is True


@pytest.mark.parametrize(
    "fields,status,words",
    [
        ({"ops": [{"op": "resize", "width": 0}]}, 400, ["width", "1", "16384"]),
        ({"ops": [{"op": "blur", "size": 4}]}, 400, ["size", "odd"]),
        ({"ops": [{"op": "rotate", "angle": 1000}]}, 400, ["angle", "-360", "360"]),
        ({"ops": [{"op": "explode"}]}, 400, ["op"]),
        ({"ops": "not json"}, 400, ["JSON"]),
        ({"ops": [{"op": "color"}] * 11}, 400, ["10"]),
        ({"ops": [], "quality": "0"}, 400, ["quality", "1", "100"]),
        ({"ops": [], "format": "gif"}, 400, ["format", "jpeg"]),
        ({"ops": [], "save_as": "../evil"}, 400, ["key"]),
        ({"ops": [], "source_key": "photos/nope.jpg"}, 404, ["photos/nope.jpg"]),
        ({"ops": [{"op": "resize", "scale": 10}, {"op": "resize", "scale": 10}]}, 400, ["pixels"]),
    ],
)
def test_bad_input_is_rejected_and_nothing_saved(api, gallery, stored, fields, status, words):
    fields = {"source_key": stored.key, "save_as": "photos/out.jpg", **fields}
    before = gallery.metadata.count()
    response = process(api, **fields)
    assert response.status_code == status
    message = response.get_json()["error"]["message"]
    for word in words:
        assert word in message
    assert gallery.metadata.count() == before
    assert gallery.metadata.get("photos/out.jpg") is None


def test_file_and_key_together_is_ambiguous(api, stored):
    response = api.post(
        "/api/process",
        data={"file": (io.BytesIO(DOG), "dog.jpg"), "source_key": stored.key, "ops": "[]"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and "either" in response.get_json()["error"]["message"]


def test_not_an_image(api):
    response = api.post(
        "/api/process", data={"file": (io.BytesIO(b"hello"), "x.jpg"), "ops": "[]"}, content_type="multipart/form-data"
    )
    assert response.status_code == 415


# ----------------------------------------------------------------------------- the page


def test_page_has_the_editor_and_no_inline_script(client):
    html = client.get("/process?key=photos/dog.jpg").get_data(as_text=True)
    assert 'name="steps-0-op"' in html and 'value="photos/dog-edit.jpg"' in html
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag
    spec = json.loads(
        re.search(r'<script type="application/json" id="process-spec">(.*?)</script>', html, re.S).group(1)
    )
    assert [s["op"] for s in spec["ops"]] == [
        "resize",
        "sharpen",
        "threshold",
        "color",
        "blur",
        "rotate",
        "crop",
        "flip",
    ]
    assert [p["name"] for p in spec["presets"]] == ["web", "bw", "thumbnail", "mirror"]


def form(api, **fields):
    return api.client.post("/process", data={"csrf_token": api.token, **fields})


def test_plain_form_step_editing(api):
    base = {"source_key": "photos/dog.jpg", "steps-0-op": "resize", "steps-0-width": "300"}
    page = form(api, **base, edit="add", new_op="blur").get_data(as_text=True)
    assert 'name="steps-1-op"' in page and 'name="steps-1-kind"' in page
    page = form(api, **base, **{"steps-1-op": "rotate"}, edit="up-1").get_data(as_text=True)
    assert page.index('name="steps-0-angle"') < page.index('name="steps-1-width"')
    page = form(api, **base, edit="remove-0").get_data(as_text=True)
    assert 'name="steps-0-op"' not in page


def test_plain_form_preview_and_save(api, gallery, stored):
    fields = {"source_key": stored.key, "steps-0-op": "resize", "steps-0-width": "200"}
    page = form(api, **fields, action="preview").get_data(as_text=True)
    assert "data:image/jpeg;base64," in page and "200×150" in page
    response = form(api, **fields, action="save", save_as="photos/dog-200.jpg")
    assert response.status_code == 200
    assert gallery.catalog.get_record("photos/dog-200.jpg").provenance["source_key"] == stored.key
    bad = form(api, **{**fields, "steps-0-width": "0"}, action="save", save_as="photos/bad.jpg")
    assert bad.status_code == 400 and "width must be" in bad.get_data(as_text=True)
    assert gallery.metadata.get("photos/bad.jpg") is None


def test_plain_form_with_an_upload_shows_previews_not_the_whole_file(api, gallery):
    rng = np.random.default_rng(3)
    noisy = Image.fromarray(rng.integers(0, 255, (1500, 2000, 3), dtype=np.uint8))  # incompressible
    out = io.BytesIO()
    noisy.save(out, "PNG")
    upload = out.getvalue()
    assert len(upload) > 8_000_000
    fields = {"steps-0-op": "rotate", "steps-0-angle": "90", "format": "png"}
    response = api.client.post(
        "/process",
        data={"csrf_token": api.token, **fields, "action": "preview", "file": (io.BytesIO(upload), "noise.png")},
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "1500×2000" in page  # the real result size in the caption
    assert "2000×1500" in page  # and the original's
    assert len(page) < 4_000_000, "the page must carry previews, not 2 × 12 MB of base64"
    assert gallery.metadata.count() == 0


def test_form_helpers():
    assert derived_key("photos/dog.jpg", None) == "photos/dog-edit.jpg"
    assert derived_key("photos/dog.jpg", "png") == "photos/dog-edit.png"
    assert derived_key("scan", None) == "scan-edit.jpg"
    assert derived_key("my photo (1).JPG", "webp") == "my-photo-1-edit.webp"
    steps = form_steps(
        {"steps-1-op": "blur", "steps-1-size": "3", "steps-0-op": "resize", "steps-0-width": "5", "steps-0-size": "9"}
    )
    assert steps == [{"op": "resize", "width": "5"}, {"op": "blur", "size": "3"}]
    assert apply_edit(steps, "down-0", "") == list(reversed(steps))
    assert len(apply_edit(steps, "add", "color")) == 3


def test_openapi_describes_every_step(client):
    spec = client.get("/api/openapi.json").get_json()
    body = spec["paths"]["/api/process"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    steps = body["properties"]["ops"]["contentSchema"]["items"]["oneOf"]
    assert [s["properties"]["op"]["const"] for s in steps] == [
        "resize",
        "sharpen",
        "threshold",
        "color",
        "blur",
        "rotate",
        "crop",
        "flip",
    ]
    assert steps[0]["properties"]["width"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 16384,
        "description": "Target width in pixels.",
    }


def test_browse_process_link_prefills_the_source_key(client, api):
    from tests.conftest import make_image

    assert api.upload("links/photo.png", make_image()).status_code == 201
    browse = client.get("/browse?key=links/photo.png").get_data(as_text=True)
    assert "/process?source_key=links/photo.png" in browse
    page = client.get("/process?source_key=links/photo.png").get_data(as_text=True)
    assert 'value="links/photo.png"' in page
