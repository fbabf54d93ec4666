"""The gallery's date-taken timeline as pages show it (app/web/pages.py, templates/gallery.html):
"Date unknown" at the end, the scrubber's months with their counts, a month jump, and the
heading's "12 of 73 photos" while a search or filter is on (exact only when known cheaply)."""

from __future__ import annotations

import re

import pytest
from conftest import make_app, make_image
from test_exif import exif_photo
from test_pages import Page

TAKEN = {"t/2021-03.jpg": "2021:03:09 10:00:00", "t/2021-01.jpg": "2021:01:20 10:00:00"}
TAKEN |= {"t/2019-05.jpg": "2019:05:01 10:00:00"}


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path, GALLERY_PAGE_SIZE=2)  # a page of two: the listings go on over pages


@pytest.fixture
def photos(api, gallery):
    for key, taken in TAKEN.items():
        assert api.upload(key, exif_photo(size=(48, 32), taken=taken, offset="")).status_code == 201
    assert api.upload("t/scan.png", make_image(color=(9, 9, 9))).status_code == 201
    assert api.upload("other/cat.png", make_image(color=(1, 2, 3))).status_code == 201
    for key in ("t/2021-03.jpg", "t/scan.png"):
        gallery.metadata.set_labels(key, ["cat"])
    return gallery


def heading(html: str) -> str:
    return re.sub(r"\s+", " ", re.search(r'<small class="count"[^>]*>(.*?)</small>', html, re.S).group(1)).strip()


def tile_keys(html: str) -> list[str]:
    return re.findall(r'name="keys" value="([^"]+)"', html)


def test_undated_photos_sit_under_date_unknown_at_the_end(client, photos):
    keys, page = [], client.get("/gallery?sort=taken").get_data(as_text=True)
    headings = []
    while True:  # every page, by the Older link
        keys += tile_keys(page)
        headings += re.findall(r'<h2 class="timeline-heading" id="t-([\w-]+)">([^<]+)</h2>', page)
        older = re.search(r'<a rel="next" href="([^"]+)"', page)
        if not older:
            break
        page = client.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert keys[:3] == ["t/2021-03.jpg", "t/2021-01.jpg", "t/2019-05.jpg"]
    assert sorted(keys[3:]) == ["other/cat.png", "t/scan.png"]  # newest upload first among them
    assert headings[-1] == ("undated", "Date unknown") and ("2021-03", "March 2021") in headings


def test_the_scrubber_lists_every_month_with_its_count(client, photos):
    html = client.get("/gallery?sort=taken").get_data(as_text=True)
    nav = Page(html).find("nav")
    assert any(attrs.get("id") == "scrubber" and attrs.get("aria-label") == "Jump to a month" for attrs in nav)
    links = re.findall(r'<a href="([^"]+)" data-month="([\w-]+)" aria-label="([^"]+)"', html)
    assert [(month, label) for _, month, label in links] == [
        ("2021-03", "March 2021: 1 photo"),
        ("2021-01", "January 2021: 1 photo"),
        ("2019-05", "May 2019: 1 photo"),
        ("undated", "Date unknown: 2 photos"),
    ]
    assert links[1][0].replace("&amp;", "&") == "/gallery?sort=taken&month=2021-01"
    # The scrubber belongs to the whole gallery in the date-taken order only.
    assert 'id="scrubber"' not in client.get("/gallery").get_data(as_text=True)
    assert 'id="scrubber"' not in client.get("/gallery?sort=taken&label=cat").get_data(as_text=True)


def test_a_month_jump_starts_the_page_at_that_month(client, photos):
    html = client.get("/gallery?sort=taken&month=2021-01").get_data(as_text=True)
    assert tile_keys(html) == ["t/2021-01.jpg", "t/2019-05.jpg"]
    assert '<h2 class="timeline-heading" id="t-2021-01">January 2021</h2>' in html
    assert 'data-month="2021-01" aria-label="January 2021: 1 photo" aria-current="true"' in html
    assert '<a href="/gallery?sort=taken">« Newest</a>' in html
    older = re.search(r'<a rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "month=" not in older  # the cursor says where to go on
    assert tile_keys(client.get(older).get_data(as_text=True))[0] in ("t/scan.png", "other/cat.png")
    assert tile_keys(client.get("/gallery?sort=taken&month=undated").get_data(as_text=True)) == [
        "other/cat.png",
        "t/scan.png",
    ]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("sort=taken&month=2021-13", "month must be a month like 2023-07"),
        ("sort=taken&month=%3Cscript%3E", "month must be a month like 2023-07"),
        ("sort=taken&month=2021-01&q=cat", "clear the filters"),
        ("month=2021-01", "sorted by date taken"),
    ],
)
def test_a_bad_month_is_a_400_that_says_why(client, photos, query, message):
    before = photos.metadata.months()
    response = client.get(f"/gallery?{query}")
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert "<script>" not in response.get_data(as_text=True)
    assert photos.metadata.months() == before


def test_the_heading_counts_what_a_filter_finds_when_that_is_cheap(client, photos):
    assert heading(client.get("/gallery").get_data(as_text=True)) == "5 photos"
    assert heading(client.get("/gallery?label=cat").get_data(as_text=True)) == "2 of 5 photos"  # its counter
    assert heading(client.get("/gallery?prefix=other/").get_data(as_text=True)) == "1 of 5 photos"  # one page holds all
    # Three matches, two a page: no count without counting them, so it says what is shown.
    many = client.get("/gallery?prefix=t/&q=jpg").get_data(as_text=True)
    assert heading(many) == "5 photos · 2+ shown"
    assert 'data-shown="2"' in many  # timeline.js counts on from there as pages load
    assert heading(client.get("/gallery?q=nothingmatches").get_data(as_text=True)) == "0 of 5 photos"
