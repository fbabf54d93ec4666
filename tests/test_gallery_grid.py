"""The gallery page's grid as served: the count, what each tile hands the viewer and the
justified layout, month headings by date taken, and the viewer's files (vendored, no CDN)."""

from __future__ import annotations

import json
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
    ratios = [attrs["data-ratio"] for attrs in page.find("li") if "data-ratio" in attrs]
    assert sorted(ratios) == ["1.3333", "2.0000"]
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
