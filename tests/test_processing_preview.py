"""Live previews: the display-size rendition, steps rewritten for it, POST /api/process with
preview, the rate limits (previews have their own; cache hits are free) and safe saves."""

from __future__ import annotations

import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import make_app

from app import processing as P
from app.core.errors import InvalidParameter, NotFound
from app.processing.preview import PREVIEW_SIDE, make_rendition, preview_steps, render_preview

DOG = (Path(__file__).parent / "data" / "dog.jpg").read_bytes()


@pytest.fixture(scope="module")
def big() -> bytes:
    """A 4000×3000 JPEG (the dog, enlarged): a camera-sized source."""
    photo = cv2.imdecode(np.frombuffer(DOG, np.uint8), cv2.IMREAD_COLOR)
    return cv2.imencode(".jpg", cv2.resize(photo, (4000, 3000), interpolation=cv2.INTER_CUBIC))[1].tobytes()


def decoded(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def steps(*raw) -> list[dict]:
    return P.normalize_ops(list(raw))


# ----------------------------------------------------------------------------- the rendition


def test_a_large_source_is_brought_down_to_display_size_once(big):
    rendition = make_rendition(big, P.DEFAULT_MAX_PIXELS)
    assert (rendition.width, rendition.height, rendition.format) == (4000, 3000, "jpeg")
    assert decoded(rendition.data).shape[:2] == (1200, PREVIEW_SIDE)


def test_a_small_source_is_its_own_rendition():
    rendition = make_rendition(DOG, P.DEFAULT_MAX_PIXELS)
    assert rendition.data is DOG and (rendition.width, rendition.height) == (640, 480)


def test_steps_are_rewritten_for_the_rendition():
    real, shown = (4000, 3000), (1600, 1200)
    out = preview_steps(
        steps(
            {"op": "crop", "x": 1000, "y": 500, "width": 2000, "height": 1500},
            {"op": "blur", "size": 25, "sigma": 4},
            {"op": "resize", "width": 500},
            {"op": "sharpen", "radius": 2},
        ),
        real,
        shown,
        P.DEFAULT_MAX_PIXELS,
    )
    assert {k: out[0][k] for k in ("x", "y", "width", "height")} == {"x": 400, "y": 200, "width": 800, "height": 600}
    assert (out[1]["size"], out[1]["sigma"]) == (11, 1.6)  # distances scale with the image (kept odd)
    assert (out[2]["width"], out[2]["height"]) == (500, 375)  # a result that fits is made at its real size
    assert out[3]["radius"] == 2  # ... and the steps after it work at real scale again


def test_a_result_larger_than_the_display_is_shown_at_display_size():
    out = preview_steps(steps({"op": "resize", "scale": 2}), (4000, 3000), (1600, 1200), P.DEFAULT_MAX_PIXELS)
    assert (out[0]["width"], out[0]["height"], out[0]["scale"]) == (1600, 1200, None)


def test_the_preview_looks_like_the_full_result_at_display_size(big):
    chain = steps(
        {"op": "crop", "x": 400, "y": 300, "width": 3200, "height": 2400},
        {"op": "blur", "size": 15},
        {"op": "rotate", "angle": 15},
        {"op": "sharpen", "amount": 1},
    )
    full = P.run(big, chain)
    shown = render_preview(make_rendition(big, P.DEFAULT_MAX_PIXELS), chain, None, None, P.DEFAULT_MAX_PIXELS)
    assert (shown.full_width, shown.full_height) == (full.width, full.height)
    preview = decoded(shown.rendered.data)
    assert max(preview.shape[:2]) <= PREVIEW_SIDE
    expected = cv2.resize(decoded(full.data), preview.shape[1::-1], interpolation=cv2.INTER_AREA)
    assert np.abs(preview.astype(int) - expected).mean() < 6


def test_a_preview_refuses_what_a_save_would_refuse(big):
    rendition = make_rendition(big, P.DEFAULT_MAX_PIXELS)
    with pytest.raises(InvalidParameter, match="4000×3000"):  # the real size, not the rendition's
        render_preview(rendition, steps({"op": "crop", "x": 3000, "width": 1500}), None, None, P.DEFAULT_MAX_PIXELS)


# ----------------------------------------------------------------------------- the service


def test_gallery_preview_reads_the_source_once(gallery, big, monkeypatch):
    gallery.library.upload("photos/big.jpg", big)
    shown, sha256 = gallery.processing.preview([{"op": "color", "mode": "gray"}], key="photos/big.jpg")
    assert sha256 == gallery.catalog.get_record("photos/big.jpg").sha256
    assert (shown.full_width, shown.full_height) == (4000, 3000)
    assert (shown.rendered.width, shown.rendered.height) == (1600, 1200)

    def no_reads(*args):
        raise AssertionError("the rendition is cached: the source is not read again")

    monkeypatch.setattr(gallery.images, "get_original", no_reads)
    again, _ = gallery.processing.preview([{"op": "flip"}, {"op": "resize", "width": 400}], key="photos/big.jpg")
    assert (again.full_width, again.rendered.width) == (400, 400)
    repeat, _ = gallery.processing.preview([{"op": "flip"}, {"op": "resize", "width": 400}], key="photos/big.jpg")
    assert repeat.rendered.cached and repeat.rendered.data == again.rendered.data


def test_an_upload_is_named_by_its_hash_after_its_first_preview(gallery):
    _, sha256 = gallery.processing.preview([], data=DOG)
    shown, _ = gallery.processing.preview([{"op": "resize", "width": 100}], source_sha256=sha256)
    assert shown.rendered.width == 100
    gallery.cache.clear()
    with pytest.raises(NotFound, match="choose the file again"):
        gallery.processing.preview([], source_sha256=sha256)
    with pytest.raises(InvalidParameter, match="64"):
        gallery.processing.preview([], source_sha256="abc")
    with pytest.raises(InvalidParameter, match="either"):
        gallery.processing.preview([], data=DOG, source_sha256=sha256)


# ----------------------------------------------------------------------------- the API


@pytest.fixture
def stored(gallery):
    record, _ = gallery.library.upload("photos/dog.jpg", DOG)
    return record


def process(api, **fields):
    if "ops" in fields and not isinstance(fields["ops"], str):
        fields["ops"] = json.dumps(fields["ops"])
    return api.post("/api/process", data=fields, content_type="multipart/form-data")


def test_preview_answers_with_the_full_size_in_headers(api, gallery, big):
    gallery.library.upload("photos/big.jpg", big)
    response = process(api, source_key="photos/big.jpg", ops=[{"op": "rotate", "angle": 90}], preview="1")
    assert response.status_code == 200 and response.content_type == "image/jpeg"
    h = response.headers
    assert (h["X-Image-Width"], h["X-Image-Height"]) == ("1200", "1600")
    assert (h["X-Full-Width"], h["X-Full-Height"]) == ("3000", "4000")
    assert h["X-Source-Sha256"] == gallery.catalog.get_record("photos/big.jpg").sha256
    assert decoded(response.data).shape[:2] == (1600, 1200)
    json_body = api.post("/api/process", json={"source_key": "photos/big.jpg", "ops": [], "preview": True})
    assert json_body.status_code == 200 and json_body.headers["X-Full-Width"] == "4000"


def test_an_uploaded_file_previews_by_hash(api):
    first = api.post(
        "/api/process",
        data={"file": (io.BytesIO(DOG), "dog.jpg"), "ops": "[]", "preview": "true"},
        content_type="multipart/form-data",
    )
    sha256 = first.headers["X-Source-Sha256"]
    again = process(api, source_sha256=sha256, ops=[{"op": "crop", "width": 100, "height": 50}], preview="1")
    assert again.status_code == 200 and again.headers["X-Image-Width"] == "100"


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"preview": "1", "save_as": "photos/x.jpg"}, ["never saved"]),
        ({"preview": "maybe"}, ["preview", "true or false"]),
        ({"source_sha256": "0" * 64}, ["preview"]),
        ({"preview": "1", "ops": [{"op": "crop", "x": 640}]}, ["640×480"]),
    ],
)
def test_bad_previews_are_refused(api, gallery, stored, fields, words):
    response = process(api, source_key=stored.key, **fields)
    assert response.status_code == 400
    for word in words:
        assert word in response.get_json()["error"]["message"]
    assert gallery.metadata.get("photos/x.jpg") is None


def test_previews_and_cache_hits_do_not_use_up_the_processing_budget(tmp_path):
    app = make_app(tmp_path, GALLERY_RATE_LIMIT_PROCESS="2/minute", GALLERY_RATE_LIMIT_PREVIEW="3/minute")
    app.extensions["services"].library.upload("photos/dog.jpg", DOG)
    from conftest import Api

    api = Api(app.test_client())
    ops = [{"op": "resize", "width": 64}]
    # Three different previews use up the preview budget; repeating one (a cache hit) costs nothing.
    previews = [
        process(api, source_key="photos/dog.jpg", ops=[{"op": "resize", "width": w}], preview="1") for w in (10, 20, 30)
    ]
    assert [r.status_code for r in previews] == [200] * 3
    assert (
        process(api, source_key="photos/dog.jpg", ops=[{"op": "resize", "width": 40}], preview="1").status_code == 429
    )
    # Full runs have their own budget: a miss counts, hits of it do not.
    runs = [process(api, source_key="photos/dog.jpg", ops=ops).headers.get("X-Cache") for _ in range(5)]
    assert runs == ["miss", "hit", "hit", "hit", "hit"]
    assert process(api, source_key="photos/dog.jpg", ops=[{"op": "flip"}]).status_code == 200
    assert process(api, source_key="photos/dog.jpg", ops=[{"op": "color"}]).status_code == 429


# ----------------------------------------------------------------------------- safe saves


def test_free_key(api, gallery, stored):
    assert api.client.get("/api/free-key?key=photos/new.jpg").get_json() == {"key": "photos/new.jpg"}
    assert api.client.get("/api/free-key?key=photos/dog.jpg").get_json() == {"key": "photos/dog-2.jpg"}
    assert api.client.get("/api/free-key?key=../x").status_code == 400


def test_the_page_suggests_a_fresh_key(client, gallery, stored):
    assert 'value="photos/dog-edit.jpg"' in client.get("/process?key=photos/dog.jpg").get_data(as_text=True)
    gallery.library.upload("photos/dog-edit.jpg", DOG)
    assert 'value="photos/dog-edit-2.jpg"' in client.get("/process?key=photos/dog.jpg").get_data(as_text=True)


def test_saving_over_a_key_with_on_conflict_fail_changes_nothing(api, gallery, stored):
    before = gallery.catalog.get_record(stored.key)
    response = process(api, source_key=stored.key, ops=[{"op": "flip"}], save_as=stored.key, on_conflict="fail")
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "conflict"
    assert gallery.catalog.get_record(stored.key).version == before.version
    assert gallery.metadata.versions(stored.key) == []


def form(api, **fields):
    return api.client.post("/process", data={"csrf_token": api.token, **fields})


def test_the_plain_form_asks_before_replacing(api, gallery, stored):
    fields = {"source_key": stored.key, "steps-0-op": "flip", "save_as": stored.key}
    asked = form(api, **fields, action="save")
    page = asked.get_data(as_text=True)
    assert asked.status_code == 409
    assert "There is already an image called" in page and 'value="save-replace"' in page
    assert 'Save as <span id="proc-free-key">photos/dog-2.jpg</span>' in page
    assert "data:image/jpeg;base64," in page  # the result is still shown
    assert gallery.catalog.get_record(stored.key).version == stored.version

    renamed = form(api, **fields, action="save-rename")
    assert renamed.status_code == 200 and "Saved as" in renamed.get_data(as_text=True)
    assert gallery.catalog.get_record("photos/dog-2.jpg").provenance["source_key"] == stored.key
    assert gallery.catalog.get_record(stored.key).version == stored.version

    replaced = form(api, **fields, action="save-replace")
    assert replaced.status_code == 200 and "kept in its history" in replaced.get_data(as_text=True)
    assert gallery.catalog.get_record(stored.key).version != stored.version
    assert [v.record.version for v in gallery.metadata.versions(stored.key)] == [stored.version]


def test_the_plain_form_has_presets_checkboxes_and_colour_pickers(api):
    page = form(api, source_key="", edit="preset-thumbnail").get_data(as_text=True)
    assert 'name="steps-0-width" value="320"' in page and "<option selected>cover</option>" in page
    assert '<option data-extension=".webp" selected>webp</option>' in page
    fields = {"steps-0-op": "rotate", "steps-0-background": "#ff0000", "steps-0-background-alpha": "50"}
    page = form(api, **fields, **{"steps-0-expand": "false"}, edit="refresh").get_data(as_text=True)
    assert 'type="color" id="steps-0-background" name="steps-0-background" value="#ff0000"' in page
    assert 'name="steps-0-background-alpha" value="50"' in page
    assert 'type="checkbox" id="steps-0-expand" name="steps-0-expand" value="true">' in page  # unchecked
