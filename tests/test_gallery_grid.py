"""The gallery page's grid as served: the count, what each tile hands the viewer and the
justified layout (each tile's shape and colour in a <style> block the page's policy allows by its
hash), alt text, month headings by date taken, trashing back to the filtered page, and the viewer's
files (vendored, no CDN)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

from conftest import make_image
from test_exif import exif_photo
from test_pages import Page

from app.web.api import VIEWER_FIELDS

STATIC = Path(__file__).resolve().parents[1] / "static"


def test_tiles_carry_the_viewer_data_the_shape_and_the_colour(client, api):
    assert api.upload("wide.png", make_image(size=(200, 100))).status_code == 201
    assert api.upload("camera.jpg", exif_photo(), filename="camera.jpg").status_code == 201
    page = Page(client.get("/gallery").get_data(as_text=True))
    assert "2 photos" in "".join(page.text)
    photos = {}
    for attrs in page.find("a"):
        if "data-photo" in attrs:
            photo = json.loads(attrs["data-photo"])
            assert set(photo) == set(VIEWER_FIELDS)
            assert attrs["href"] == f"/browse?key={photo['key']}"  # works without JavaScript
            photos[photo["key"]] = photo
    assert photos["camera.jpg"]["exif"]["model"] == "Canon EOS R5"
    assert photos["camera.jpg"]["display_url"].startswith("/display/camera.jpg?v=")
    assert all(attrs.get("data-color", "").startswith("#") for attrs in page.find("img"))
    root = page.find("section", id="gallery-grid")[0]
    assert "data-viewer" in root and root["data-api"] == "/api/images"


def test_date_taken_order_has_month_headings(client, api):
    api.upload("camera.jpg", exif_photo(), filename="camera.jpg")
    html = client.get("/gallery?sort=taken").get_data(as_text=True)
    assert '<h2 class="timeline-heading" id="t-2023-07">July 2023</h2>' in html
    assert "timeline-heading" not in client.get("/gallery").get_data(as_text=True)


def test_the_viewer_is_vendored_with_its_licence():
    vendor = STATIC / "vendor" / "photoswipe"
    for name in ["photoswipe.esm.min.js", "photoswipe-lightbox.esm.min.js", "photoswipe.css", "LICENSE"]:
        assert (vendor / name).stat().st_size > 0
    assert "5.4.4" in (vendor / "README.md").read_text()
    assert "./vendor/photoswipe/" in (STATIC / "viewer.js").read_text()


def test_the_first_paint_has_each_tiles_shape_and_colour(client, api, gallery):
    assert api.upload("wide.png", make_image(size=(200, 100))).status_code == 201
    assert api.upload("tall.png", make_image(size=(100, 400), color=(0, 90, 200))).status_code == 201
    response = client.get("/gallery")
    html = response.get_data(as_text=True)
    block = re.search(r"<style>(.*?)</style>", html).group(1)
    tiles = {attrs["id"]: attrs for attrs in Page(html).find("li") if attrs.get("class") == "tile"}
    for key, ratio in (("wide.png", "2.0000"), ("tall.png", "0.4000")):  # a strip is held at 0.4
        record = gallery.catalog.get_record(key)
        tile = re.search(rf'<li class="tile" id="(tile-\d+)">\s*<a class="tile-photo" href="/browse\?key={key}"', html)
        assert tile and tile.group(1) in tiles
        assert f"#{tile.group(1)}{{--ratio:{ratio};--color:{record.color}}}" in block
    # The page's policy allows exactly this block, and still no inline style or script otherwise.
    digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
    policy = response.headers["Content-Security-Policy"]
    assert f"style-src 'self' 'sha256-{digest}';" in policy and "unsafe-inline" not in policy
    assert "script-src 'self';" in policy


def test_an_empty_gallery_has_no_style_block(client):
    response = client.get("/gallery")
    assert "<style>" not in response.get_data(as_text=True)


def test_alt_text_says_what_and_when_not_the_file_name(client, api, gallery):
    api.upload("camera.jpg", exif_photo(), filename="camera.jpg")
    api.upload("plain.png", make_image())
    gallery.metadata.set_labels("camera.jpg", ["dog", "ball"])
    alts = {attrs["alt"] for attrs in Page(client.get("/gallery").get_data(as_text=True)).find("img")}
    assert "Ball, dog, 14 July 2023" in alts  # labels as stored (sorted)
    assert any(re.fullmatch(r"Photo, \d{1,2} [A-Z][a-z]+ \d{4}", alt) for alt in alts)
    assert not any(alt in ("camera.jpg", "plain.png") for alt in alts)


def test_trashing_from_a_filtered_page_returns_to_it(client, api):
    for n in range(3):
        api.upload(f"holidays/{n}.png", make_image())
    api.upload("other.png", make_image())
    page = client.get("/gallery?prefix=holidays/&sort=taken").get_data(as_text=True)
    back = re.search(r'name="back" value="([^"]*)"', page).group(1)
    assert back.replace("&amp;", "&") == "prefix=holidays%2F&sort=taken"
    one = api.post("/delete/holidays/0.png", data={"back": "prefix=holidays%2F&sort=taken&evil=1"})
    assert one.status_code == 303
    assert one.headers["Location"] == "/gallery?prefix=holidays/&sort=taken&deleted=holidays/0.png"
    many = api.post(
        "/selection", data={"action": "trash", "keys": ["holidays/1.png"], "back": "prefix=holidays%2F&cursor=abc"}
    )
    assert many.headers["Location"] == "/gallery?prefix=holidays/&cursor=abc&trashed=1"
    plain = api.post("/delete/holidays/2.png")  # from elsewhere (no back): the whole gallery
    assert plain.headers["Location"] == "/gallery?deleted=holidays/2.png"
