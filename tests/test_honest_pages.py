"""Issue 21, the pages half, server side: edits saved in a format browsers show under a key that
says so, with the original's date taken and camera; the default step never enlarges; camera
makes are searchable in both stores; Recognition and Processing draw the display rendition; and
the small untruths of point 8 (similar keys, Back after a delete, the cache page's silence, the
ignored Key prefix, the home card's missing operations)."""

from __future__ import annotations

import io
import json
import re

import pytest
from conftest import Api, csrf_token, make_app, make_image
from PIL import Image

from app.core.search import query_words
from app.metadata.base import ImageRecord
from app.metadata.dynamodb import DynamoMetadataStore
from app.metadata.sqlite import SqliteMetadataStore
from app.processing import OPS, as_source, output_key
from app.web.processing import DEFAULT_STEP

pytest_plugins = ["cloud"]


def photo(fmt: str = "HEIF", size=(451, 300), mode: str = "RGB", make="Apple", model="iPhone 15 Pro") -> bytes:
    """A small photo in ``fmt`` whose EXIF names a camera and when it was taken."""
    image = Image.new(mode, size, (40, 120, 200, 255) if mode == "RGBA" else (40, 120, 200))
    image.paste((250, 200, 0) + ((128,) if mode == "RGBA" else ()), (0, 0, size[0] // 3, size[1] // 3))
    tags = Image.Exif()
    tags[0x010F], tags[0x0110] = make, model  # Make, Model
    tags.get_ifd(0x8769)[0x9003] = "2019:07:14 16:05:00"  # DateTimeOriginal
    out = io.BytesIO()
    image.save(out, fmt, exif=tags.tobytes(), quality=90)
    return out.getvalue()


def process(api: Api, **fields):
    fields.setdefault("ops", json.dumps([DEFAULT_STEP]))
    return api.post("/api/process", data=fields, content_type="multipart/form-data")


# -- edits ---------------------------------------------------------------------------------
def test_editing_a_heic_saves_a_jpeg_named_jpg_with_its_date_and_camera(api, gallery):
    assert api.upload("chelsea.heic", photo(), filename="chelsea.heic").status_code == 201
    page = api.client.get("/process?source_key=chelsea.heic").get_data(as_text=True)
    suggested = re.search(r'id="proc-save-as" name="save_as" value="([^"]*)"', page).group(1)
    assert suggested == "chelsea-edit.jpg"

    saved = process(api, source_key="chelsea.heic", save_as=suggested)
    assert saved.status_code == 201, saved.get_json()
    body = saved.get_json()
    assert body["key"] == "chelsea-edit.jpg" and body["content_type"] == "image/jpeg"
    assert (body["width"], body["height"]) == (451, 300)  # the default first step did not enlarge it
    record = gallery.catalog.get_record("chelsea-edit.jpg")
    assert record.taken_at == "2019-07-14T16:05:00"  # sorts by when the photo was taken
    assert record.exif["make"] == "Apple" and record.exif["model"] == "iPhone 15 Pro"
    assert (record.exif["width"], record.exif["height"]) == (451, 300)  # the edit's own size
    assert record.provenance["taken_at"] == "2019-07-14T16:05:00"
    assert record.provenance["camera"] == {"make": "Apple", "model": "iPhone 15 Pro"}
    served = api.client.get(body["url"])
    assert served.content_type == "image/jpeg" and served.data[:2] == b"\xff\xd8"


def test_a_key_naming_another_format_is_given_the_outputs_extension(api, gallery):
    api.upload("chelsea.heic", photo(), filename="chelsea.heic")
    saved = process(api, source_key="chelsea.heic", save_as="edits/chelsea-edit.heic")
    assert saved.get_json()["key"] == "edits/chelsea-edit.jpg"
    assert gallery.catalog.get_record_or_none("edits/chelsea-edit.heic") is None
    webp = process(api, source_key="chelsea.heic", save_as="edits/small.jpg", format="webp")
    assert webp.get_json()["key"] == "edits/small.webp"
    plain = process(api, source_key="chelsea.heic", save_as="edits/no-extension")
    assert plain.get_json()["key"] == "edits/no-extension"  # no format named: left as typed


def test_an_upload_with_transparency_is_saved_as_png(api, gallery):
    data = photo("HEIF", mode="RGBA")
    saved = process(api, file=(io.BytesIO(data), "logo.heic"), save_as="logo-edit.jpg")
    assert saved.status_code == 201, saved.get_json()
    body = saved.get_json()
    assert body["key"] == "logo-edit.png" and body["content_type"] == "image/png"
    assert gallery.catalog.get_record("logo-edit.png").taken_at == "2019-07-14T16:05:00"


@pytest.mark.parametrize(
    ("source", "alpha", "output"),
    [("jpeg", False, "jpeg"), ("webp", True, "webp"), ("heic", False, "jpeg"), ("avif", False, "jpeg")]
    + [("heic", True, "png"), ("avif", True, "png"), ("gif", False, "png"), ("tiff", False, "png")],
)
def test_as_the_source_is_a_format_browsers_show(source, alpha, output):
    assert as_source(source, alpha) == output


def test_output_keys():
    assert output_key("a/chelsea-edit.HEIC", "jpeg") == "a/chelsea-edit.jpg"
    assert output_key("a/b.jpeg", "jpeg") == "a/b.jpeg"
    assert output_key("a.v2/b", "png") == "a.v2/b"
    assert output_key("notes.txt", "png") == "notes.txt"


def test_the_default_step_never_enlarges_but_shrinks(api):
    api.upload("small.jpg", photo("JPEG"), filename="small.jpg")
    api.upload("big.jpg", photo("JPEG", size=(1600, 1000)), filename="big.jpg")
    small = process(api, source_key="small.jpg")
    assert (small.headers["X-Image-Width"], small.headers["X-Image-Height"]) == ("451", "300")
    big = process(api, source_key="big.jpg")
    assert (big.headers["X-Image-Width"], big.headers["X-Image-Height"]) == ("800", "500")
    page = api.client.get("/process").get_data(as_text=True)  # the no-JavaScript form's first step
    assert 'name="steps-0-enlarge" value="true"' in page and 'name="steps-0-enlarge" value="true" checked' not in page


# -- search --------------------------------------------------------------------------------
@pytest.fixture(params=["sqlite", "dynamodb"])
def meta(request, tmp_path):
    if request.param == "sqlite":
        return SqliteMetadataStore(str(tmp_path / "gallery.sqlite3"))
    aws = request.getfixturevalue("aws")
    store = DynamoMetadataStore(aws["table"], "us-east-1")
    store.provision()
    return store


def camera_record(key: str, t: float, make: str, model: str) -> ImageRecord:
    return ImageRecord(
        key=key,
        content_type="image/jpeg",
        bytes=10,
        width=4,
        height=3,
        sha256="0" * 64,
        created_at=t,
        updated_at=t,
        version=f"v{t}",
        exif={"make": make, "model": model, "width": 4, "height": 3},
    )


def test_camera_makes_are_searchable_in_both_stores(meta):
    meta.put(camera_record("a.jpg", 1.0, "SONY", "ILCE-7M3"))
    meta.put(camera_record("b.jpg", 2.0, "Apple", "iPhone 15 Pro"))
    meta.put(camera_record("c.jpg", 3.0, "FUJIFILM", "X-T5"))
    meta.put(camera_record("d.jpg", 4.0, "Canon", "Canon EOS R5"))

    def found(q: str) -> list[str]:
        return [r.key for r in meta.list(words=query_words(q))[0]]

    assert found("sony") == ["a.jpg"] and found("apple") == ["b.jpg"] and found("fujifilm") == ["c.jpg"]
    assert found("fuji") == ["c.jpg"] and found("iphone") == ["b.jpg"] and found("canon eos") == ["d.jpg"]


# -- the display rendition, never the original -----------------------------------------------
def test_recognition_and_processing_pages_draw_the_display_rendition(api, client):
    body = api.upload("chelsea.heic", photo(size=(2400, 1600)), filename="chelsea.heic").get_json()
    token = csrf_token(client)
    recognized = client.post("/recognize", data={"csrf_token": token, "source_key": "chelsea.heic"})
    processed = client.post("/process", data={"csrf_token": token, "source_key": "chelsea.heic", "action": "preview"})
    for response in (recognized, processed):
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert f'src="{body["display_url"]}"' in html or f'src="/display/chelsea.heic?v={body["version"]}"' in html
        assert "/images/chelsea.heic" not in html.split("<footer")[0].replace('href="/images/', "")


# -- point 8 -------------------------------------------------------------------------------
def seed(gallery, keys):
    for key in keys:
        gallery.library.upload(key, make_image("PNG"))


def test_browse_offers_only_keys_that_look_like_the_missing_one(client, gallery):
    seed(gallery, ["dog.jpg", "horses.jpg", "person.jpg", "zoo/lion.jpg", "cars/mini.png"])
    zebra = client.get("/browse?key=zebra")
    assert zebra.status_code == 404
    assert "/browse?key=" not in zebra.get_data(as_text=True).split('id="main"')[1]  # nothing unrelated
    typo = client.get("/browse?key=dgo.jpg").get_data(as_text=True)
    assert 'href="/browse?key=dog.jpg"' in typo


def test_back_after_a_delete_says_the_photo_is_in_the_trash(client, gallery):
    seed(gallery, ["party.png"])
    token = csrf_token(client)
    assert client.post("/delete/party.png", data={"csrf_token": token}).status_code == 303
    for back in ("/browse?key=party.png", "/delete/party.png"):
        response = client.get(back)
        assert response.status_code == 404
        html = response.get_data(as_text=True)
        assert "moved to the trash" in html and 'href="/trash"' in html.split('id="main"')[1], back


def test_back_after_a_delete_on_a_protected_gallery_names_no_deleted_key(tmp_path):
    app = make_app(tmp_path, GALLERY_API_TOKENS="t0ken", GALLERY_ADMIN_PASSWORD="admin-pw")
    client = app.test_client()
    app.extensions["services"].library.upload("private.png", make_image("PNG"))
    app.extensions["services"].library.delete("private.png")
    html = client.get("/browse?key=private.png").get_data(as_text=True)
    assert "moved to the trash" not in html  # an anonymous reader is not told what was deleted
    assert "it may be in the trash" in html and "/login?next=/trash" in html


def test_the_cache_page_says_what_clear_and_apply_did(client, gallery):
    token = csrf_token(client)
    cleared = client.post("/cache", data={"csrf_token": token, "action": "clear"}, follow_redirects=True)
    assert "Cleared the cache" in cleared.get_data(as_text=True)
    applied = client.post(
        "/cache",
        data={"csrf_token": token, "action": "configure", "capacity_mb": "8", "policy": "random"},
        follow_redirects=True,
    )
    assert "Applied the new settings" in applied.get_data(as_text=True)
    assert 'id="cache-done" role="status"' in applied.get_data(as_text=True)
    assert "Cleared" not in client.get("/cache").get_data(as_text=True)  # a later visit is quiet


@pytest.mark.parametrize(
    ("files", "key", "prefix", "stored"),
    [
        (["a.png"], "beach.png", "trip", ["trip/beach.png"]),
        (["a.png"], "", "trip/", ["trip/a.png"]),
        (["a.png", "b.png"], "day1", "trip/", ["trip/day1/a.png", "trip/day1/b.png"]),
        (["a.png", "b.png"], "", "", ["a.png", "b.png"]),
    ],
)
def test_the_key_prefix_goes_in_front_of_the_key(client, gallery, files, key, prefix, stored):
    data = {"csrf_token": csrf_token(client), "key": key, "prefix": prefix, "on_conflict": "ask"}
    data["file"] = [(io.BytesIO(make_image("PNG")), name) for name in files]
    assert client.post("/upload", data=data, content_type="multipart/form-data").status_code == 200
    assert sorted(r.key for r in gallery.catalog.list()[0]) == stored


def test_the_upload_page_explains_how_key_and_prefix_combine(client):
    html = client.get("/upload").get_data(as_text=True)
    assert "<code>trip/beach.jpg</code>" in html


def test_the_home_card_names_every_operation(client):
    html = client.get("/").get_data(as_text=True)
    card = re.search(r"<strong>Image Processing</strong><span>([^<]*)</span>", html).group(1)
    assert len(OPS) == 8
    for name in OPS:
        assert name in card.lower(), name
