"""Server-rendered pages: the five-tab layout, upload form, gallery, browse, delete and cache status."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser

import pytest
from conftest import CSRF_META, csrf_token, make_app, make_image, snapshot
from test_images import png_bomb

from app.core.blobs import VARIANTS

PAGES = ["/", "/gallery", "/upload", "/browse", "/process", "/recognize", "/cache"]
TABS = [
    ("/gallery", "Image Gallery"),
    ("/upload", "Upload"),
    ("/browse", "Browse"),
    ("/process", "Image Processing"),
    ("/recognize", "Image Recognition"),
]
NAV_TABS = [*TABS[:3], ("/folders", "Folders"), *TABS[3:]]  # the five of the home page, and Folders


class Page(HTMLParser):
    """The parts of a page the tests look at: every tag with its attributes, and the text."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self._nav_depth = 0
        self.nav_links: list[tuple[str, str, dict]] = []
        self._in_link: dict | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "nav" and attrs.get("aria-label") == "Main":
            self._nav_depth = 1
        elif tag == "nav" and self._nav_depth:
            self._nav_depth += 1
        if tag == "a" and self._nav_depth:
            self._in_link = attrs | {"_text": ""}

    def handle_endtag(self, tag):
        if tag == "nav" and self._nav_depth:
            self._nav_depth -= 1
        if tag == "a" and self._in_link is not None:
            link = self._in_link
            self.nav_links.append((link.pop("href"), link.pop("_text").strip(), link))
            self._in_link = None

    def handle_data(self, data):
        self.text.append(data)
        if self._in_link is not None:
            self._in_link["_text"] += data

    def find(self, tag: str, **attrs) -> list[dict]:
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]

    @property
    def plain(self) -> str:
        return re.sub(r"\s+", " ", "".join(self.text))


def page(response) -> Page:
    return Page(response.get_data(as_text=True))


def form_post(client, path, data=None, token=True, **kwargs):
    data = dict(data or {})
    if token:
        data["csrf_token"] = csrf_token(client)
    return client.post(path, data=data, **kwargs)


def upload_form(client, files, key="", prefix="", token=True, on_conflict="ask"):
    data = {"key": key, "prefix": prefix, "on_conflict": on_conflict}
    data["file"] = [(io.BytesIO(body), name) for name, body in files]
    return form_post(client, "/upload", data, token=token, content_type="multipart/form-data")


# -- layout --------------------------------------------------------------------------------
@pytest.mark.parametrize("path", PAGES)
def test_every_page_is_200_with_csrf_meta_and_the_five_tabs(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert CSRF_META.search(response.get_data(as_text=True))
    parsed = page(response)
    assert [(href, text) for href, text, _ in parsed.nav_links] == NAV_TABS
    current = [href for href, _, attrs in parsed.nav_links if attrs.get("aria-current") == "page"]
    assert current == ([path] if path in dict(NAV_TABS) else [])
    assert parsed.find("a", href="/cache")  # the footer link to the status page
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_home_has_five_cards_with_a_line_each(client):
    parsed = page(client.get("/"))
    cards = parsed.find("a", **{"class": "card"})
    assert [card["href"] for card in cards] == [href for href, _ in TABS]
    for _, title in TABS:
        assert title in parsed.plain
    assert "newest first" in parsed.plain  # each card says what the tab does


def test_error_pages_share_the_layout(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert [(href, text) for href, text, _ in page(response).nav_links] == NAV_TABS


# -- upload form ---------------------------------------------------------------------------
def test_upload_one_file_then_replace_it(client, gallery):
    first = upload_form(client, [("beach.png", make_image("PNG"))], key="holidays/beach")
    assert first.status_code == 200
    parsed = page(first)
    assert "Stored as holidays/beach" in parsed.plain
    assert "replaced" not in parsed.plain
    assert parsed.find("a", href="/browse?key=holidays/beach")
    assert parsed.find("a", href="/gallery")
    thumbs = [img for img in parsed.find("img") if img["src"].startswith("/thumbs/holidays/beach?v=")]
    assert len(thumbs) == 1
    assert client.get(thumbs[0]["src"]).status_code == 200

    client.get("/images/holidays/beach")  # cached, so the replacement must invalidate it
    gif = make_image("GIF", size=(30, 20))
    asked = upload_form(client, [("other.gif", gif)], key="holidays/beach")  # nothing replaced without an answer
    assert asked.status_code == 200 and "Some keys already exist" in page(asked).plain
    assert client.get("/images/holidays/beach").content_type != "image/gif"
    second = upload_form(client, [("other.gif", gif)], key="holidays/beach", on_conflict="replace")
    assert second.status_code == 200
    assert "It replaced the image with this key; the old one is in its version history." in page(second).plain
    assert client.get("/images/holidays/beach").content_type == "image/gif"
    assert gallery.metadata.count() == 1


def test_a_blank_key_uses_the_file_name(client, gallery):
    response = upload_form(client, [("My Holiday (1).JPG", make_image("JPEG"))])
    assert response.status_code == 200
    assert [r.key for r in gallery.catalog.list()[0]] == ["My-Holiday-1-.JPG"]


def test_upload_several_files_with_a_prefix(client, gallery):
    files = [(f"img{i}.{fmt.lower()}", make_image(fmt)) for i, fmt in enumerate(["PNG", "JPEG", "WEBP"])]
    response = upload_form(client, files, prefix="trip/")
    assert response.status_code == 200
    assert sorted(r.key for r in gallery.catalog.list(prefix="trip/")[0]) == [
        "trip/img0.png",
        "trip/img1.jpeg",
        "trip/img2.webp",
    ]
    assert page(response).plain.count("Stored as trip/") == 3


def test_several_files_where_some_fail(client, gallery):
    files = [("good.png", make_image("PNG")), ("notes.jpg", b"just some text"), ("good2.bmp", make_image("BMP"))]
    response = upload_form(client, files, prefix="mixed/")
    assert response.status_code == 200
    text = page(response).plain
    assert "Some uploads failed" in text
    assert "mixed/notes.jpg: This file is not a supported image" in text
    assert sorted(r.key for r in gallery.catalog.list()[0]) == ["mixed/good.png", "mixed/good2.bmp"]


def test_several_files_that_all_fail_return_the_error_status(client, gallery):
    response = upload_form(client, [("a.jpg", b"text"), ("b.jpg", b"more text")], prefix="x/")
    assert response.status_code == 415
    assert "Upload failed" in page(response).plain
    assert gallery.metadata.count() == 0


@pytest.fixture
def seeded(client):
    response = upload_form(client, [("e.png", make_image("PNG"))], key="existing")
    assert response.status_code == 200
    client.get("/images/existing")
    client.get("/thumbs/existing")


@pytest.mark.parametrize(
    ("key", "name", "body", "status", "message"),
    [
        ("../../etc/passwd", "x.png", "png", 400, "must not contain empty, '.' or '..'"),
        ("bad key", "x.png", "png", 400, "not allowed"),
        ("existing", "photo.jpg", "text", 415, "not a supported image"),
        ("existing", "photo.jpg", "truncated", 422, "truncated or corrupt"),
        ("existing", "bomb.png", "bomb", 413, "20000×20000"),
    ],
)
def test_bad_form_uploads_show_a_clear_error_and_change_nothing(
    client, gallery, seeded, key, name, body, status, message
):
    data = {
        "png": make_image("PNG"),
        "text": b"hello, I am text\n",
        "truncated": make_image("JPEG", size=(640, 480))[:3000],
        "bomb": png_bomb(),
    }[body]
    before = snapshot(gallery)
    response = upload_form(client, [(name, data)], key=key)
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert message in page(response).plain
    assert "Traceback" not in response.get_data(as_text=True)
    assert snapshot(gallery) == before


def test_form_upload_without_csrf_or_file_is_400(client, gallery, seeded):
    before = snapshot(gallery)
    response = upload_form(client, [("x.png", make_image("PNG"))], key="existing", token=False)
    assert response.status_code == 400
    assert "This form has expired" in page(response).plain
    assert upload_form(client, [], key="existing").status_code == 400
    assert snapshot(gallery) == before


def test_an_oversized_form_upload_is_a_413_page(tmp_path):
    app = make_app(tmp_path, GALLERY_MAX_UPLOAD_MB=0.05)
    client = app.test_client()
    response = upload_form(client, [("big.bmp", make_image("BMP", size=(300, 300)))], key="big")
    assert response.status_code == 413
    assert "Too large" in page(response).plain and "0.05 MB" in page(response).plain
    assert app.extensions["services"].metadata.count() == 0


# -- gallery -------------------------------------------------------------------------------
def seed(gallery, keys):
    for key in keys:
        gallery.library.upload(key, make_image("PNG", size=(40, 30)))


def tile_keys(parsed: Page) -> list[str]:
    return [a["title"] for a in parsed.find("a", **{"class": "tile-key"})]


def test_gallery_thumbnails_are_lazy_sized_and_link_to_browse(client, gallery):
    seed(gallery, ["a", "b/c"])
    parsed = page(client.get("/gallery"))
    assert tile_keys(parsed) == ["b/c", "a"]
    thumbs = [img for img in parsed.find("img") if img["src"].startswith("/thumbs/")]
    assert len(thumbs) == 2
    for img in thumbs:
        assert img["loading"] == "lazy"
        assert (img["width"], img["height"]) == ("40", "30")
    assert parsed.find("a", href="/browse?key=b/c")
    forms = parsed.find("form", action="/delete/b/c")
    assert forms and forms[0]["method"] == "post"
    assert len(parsed.find("input", name="csrf_token")) == 5  # two tiles' trash and heart forms, the selection form
    assert [box["value"] for box in parsed.find("input", name="keys")] == ["b/c", "a"]


def test_gallery_pages_by_cursor(tmp_path):
    app = make_app(tmp_path, GALLERY_PAGE_SIZE=3)
    client, gallery = app.test_client(), app.extensions["services"]
    keys = [f"img{i}" for i in range(8)]
    seed(gallery, keys)
    seen, url = [], "/gallery"
    while url:
        parsed = page(client.get(url))
        seen.append(tile_keys(parsed))
        older = parsed.find("a", rel="next")
        url = older[0]["href"] if older else None
        assert url is None or re.fullmatch(r"/gallery\?cursor=[\w.-]+", url)
    assert seen == [["img7", "img6", "img5"], ["img4", "img3", "img2"], ["img1", "img0"]]


def test_gallery_prefix_filter(client, gallery):
    seed(gallery, ["a_b", "axb", "a_b/c", "zz"])
    parsed = page(client.get("/gallery?prefix=a_"))
    assert sorted(tile_keys(parsed)) == ["a_b", "a_b/c"]
    assert "No images match" in page(client.get("/gallery?prefix=nothing")).plain


def test_an_empty_gallery_invites_an_upload(client):
    parsed = page(client.get("/gallery"))
    assert tile_keys(parsed) == [] and "Upload the first one" in parsed.plain
    assert not parsed.find("a", rel="next")


def test_gallery_rejects_a_bad_cursor_or_prefix(client):
    assert client.get("/gallery?cursor=garbage").status_code == 400
    assert client.get("/gallery?prefix=%3Cscript%3E").status_code == 400


def test_gallery_deleted_notice_is_escaped(client):
    response = client.get("/gallery?deleted=%3Cscript%3Ealert(1)%3C/script%3E")
    body = response.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


# -- browse --------------------------------------------------------------------------------
def test_browse_shows_the_image_metadata_and_links(client, gallery):
    data = make_image("PNG", size=(64, 48))
    record, _ = gallery.library.upload("pets/rex.png", data)
    response = client.get("/browse?key=pets/rex.png")
    assert response.status_code == 200
    parsed = page(response)
    text = parsed.plain
    for fact in (f"{len(data):,} bytes", "64 × 48 px", "image/png", record.sha256, "UTC"):
        assert fact in text
    assert parsed.find(
        "img", src=f"/display/pets/rex.png?v={record.version}"
    )  # the display rendition, not the original
    hrefs = {a.get("href") for _, a in parsed.tags if a.get("href")}
    assert "/images/pets/rex.png?download=1" in hrefs
    assert "/delete/pets/rex.png" in hrefs
    assert any(h.startswith("/process?") and "rex.png" in h for h in hrefs)
    assert parsed.find("form", action="/recognize", method="post")  # Recognize runs detection at once
    assert parsed.find("input", name="source_key", value="pets/rex.png")
    key_input = parsed.find("input", name="key")[0]
    assert key_input["data-suggest"] == "/api/keys" and key_input["list"]


def browse_links(parsed) -> list[str]:
    return list(dict.fromkeys(a["href"] for a in parsed.find("a") if a.get("href", "").startswith("/browse?key=")))


def test_browse_unknown_key_is_a_404_with_suggestions(client, gallery):
    seed(gallery, ["pets/rex.png", "pets/rover.png", "cars/mini.png"])
    response = client.get("/browse?key=pets/rx.jpg")  # no key starts so, no image has these words
    assert response.status_code == 404
    parsed = page(response)
    assert "pets/rx.jpg" in parsed.plain
    assert browse_links(parsed) == ["/browse?key=pets/rex.png", "/browse?key=pets/rover.png"]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("pets/", ["pets/rex.png", "pets/rover.png"]),  # the start of keys
        ("pets/re.png", ["pets/rex.png"]),  # words: pets, re..., png
        ("REX", ["pets/rex.png"]),
        ("mini", ["cars/mini.png"]),
    ],
)
def test_browse_a_partial_key_lists_the_matches(client, gallery, typed, expected):
    seed(gallery, ["pets/rex.png", "pets/rover.png", "cars/mini.png"])
    response = client.get("/browse", query_string={"key": typed})
    assert response.status_code == 200
    assert browse_links(page(response)) == [f"/browse?key={key}" for key in expected]


def test_browse_matches_sharing_the_longest_start_come_first(client, gallery):
    seed(gallery, ["v1.2.3/a.png", "v1.2.4/a.png", "v12/x.png"])
    parsed = page(client.get("/browse?key=v1.2.3/b.png"))
    assert browse_links(parsed)[0] == "/browse?key=v1.2.3/a.png"


@pytest.mark.parametrize("key", ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>'])
def test_browse_escapes_a_hostile_key(client, gallery, key):
    seed(gallery, ["scripts/ok.png"])
    response = client.get("/browse", query_string={"key": key})
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert key not in body
    assert "<script>alert" not in body and "<img src=x" not in body
    assert "&lt;" in body and key in page(response).plain  # shown to the reader, as text
    assert "/browse?key=scripts/ok.png" not in body  # sharing "script" does not make it similar


# -- delete --------------------------------------------------------------------------------
def test_delete_through_the_confirmation_page(client, gallery):
    seed(gallery, ["old/photo.png"])
    client.get("/images/old/photo.png")
    confirm = client.get("/delete/old/photo.png")
    assert confirm.status_code == 200
    parsed = page(confirm)
    form = parsed.find("form", action="/delete/old/photo.png")[0]
    assert form["method"] == "post"
    token = parsed.find("input", name="csrf_token")[0]["value"]
    response = client.post("/delete/old/photo.png", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/gallery?deleted=old")
    assert gallery.metadata.count() == 0
    assert len(snapshot(gallery)["files"]) == len(VARIANTS) and gallery.cache.stats()["items"] == 0  # kept in the trash
    assert [item.record.key for item in gallery.history.trash()[0]] == ["old/photo.png"]
    assert "Moved old/photo.png to the trash" in page(client.get(response.headers["Location"])).plain
    assert client.get("/delete/old/photo.png").status_code == 404


def test_delete_without_csrf_changes_nothing(client, gallery):
    seed(gallery, ["keep.png"])
    client.get("/images/keep.png")
    before = snapshot(gallery)
    for data in ({}, {"csrf_token": "forged"}):
        response = client.post("/delete/keep.png", data=data)
        assert response.status_code == 400
        assert "This form has expired" in page(response).plain
    assert snapshot(gallery) == before


def test_delete_of_a_missing_key_is_404(client):
    assert form_post(client, "/delete/ghost.png").status_code == 404


# -- cache status ----------------------------------------------------------------------------
def shown_stats(client) -> dict[str, str]:
    html = client.get("/cache").get_data(as_text=True)
    return dict(re.findall(r"<span>([^<]+)</span><strong>([^<]+)</strong>", html))


def test_cache_page_shows_the_statistics(client, gallery):
    seed(gallery, ["a"])
    client.get("/images/a")
    client.get("/images/a")
    shown = shown_stats(client)
    expected = {"Policy": "LRU", "Capacity": "64.0 MB", "Items": "1", "Requests": "2", "Hits": "1", "Misses": "1"}
    assert shown == shown | expected
    assert shown["Hit rate"] == "50.0%"


def test_cache_clear_and_configure(client, gallery):
    seed(gallery, ["a"])
    client.get("/images/a")
    response = form_post(client, "/cache", {"action": "clear"})
    assert response.status_code == 303 and response.headers["Location"] == "/cache?done=clear"
    assert gallery.cache.stats()["items"] == 0
    response = form_post(client, "/cache", {"action": "configure", "capacity_mb": "2", "policy": "random"})
    assert response.status_code == 303
    stats = gallery.cache.stats()
    assert (stats["capacity_bytes"], stats["policy"]) == (2 * 1024 * 1024, "random")
    assert shown_stats(client)["Policy"] == "RANDOM"
    form_post(client, "/cache", {"action": "reset"})
    assert gallery.cache.stats()["requests"] == 0


@pytest.mark.parametrize(
    "form",
    [
        {"action": "configure", "capacity_mb": "abc", "policy": "lru"},
        {"action": "configure", "capacity_mb": "0", "policy": "lru"},
        {"action": "configure", "capacity_mb": "-5", "policy": "lru"},
        {"action": "configure", "capacity_mb": "99999", "policy": "lru"},
        {"action": "configure", "capacity_mb": "nan", "policy": "lru"},
        {"action": "configure", "capacity_mb": "", "policy": "lru"},
        {"action": "configure", "capacity_mb": "8", "policy": "fifo"},
        {"action": "explode"},
    ],
)
def test_bad_cache_settings_are_400_and_change_nothing(client, gallery, form):
    seed(gallery, ["a"])
    client.get("/images/a")
    before = gallery.cache.stats()
    response = form_post(client, "/cache", form)
    assert response.status_code == 400
    assert page(response).find("p", **{"class": "error-message", "role": "alert"})
    assert gallery.cache.stats() == before


def test_cache_forms_need_csrf(client, gallery):
    seed(gallery, ["a"])
    client.get("/images/a")
    assert form_post(client, "/cache", {"action": "clear"}, token=False).status_code == 400
    assert gallery.cache.stats()["items"] == 1


def test_browse_without_a_key_lists_recent_images(client, api):
    for name in ("old.png", "new.png"):
        assert api.upload(f"recent/{name}", make_image()).status_code == 201
    page = client.get("/browse").get_data(as_text=True)
    assert "Recent images" in page
    assert page.index("recent/new.png") < page.index("recent/old.png")


def test_browse_without_a_key_on_an_empty_gallery_shows_just_the_form(client):
    page = client.get("/browse").get_data(as_text=True)
    assert 'name="key"' in page and "Recent images" not in page
