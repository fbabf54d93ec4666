"""Share links and folders through the web app (SQLite): the owner makes links, a visitor with no
login reaches only what a link shares, and a revoked or expired link is a 404 at once."""

from __future__ import annotations

import hashlib
import io
import re

import pytest
from conftest import make_app, make_image
from PIL import Image

from app.core.redaction import redact

TOKEN = "owner-token"
OWNER = {"Authorization": f"Bearer {TOKEN}"}


def image(n: int) -> bytes:
    return make_image("PNG", size=(60 + n, 40), color=(n * 41 % 256, 90, 40))


@pytest.fixture
def app(tmp_path):
    # Write protection on and reads private: a visitor has nothing but the link.
    return make_app(tmp_path, GALLERY_API_TOKENS=TOKEN, GALLERY_PUBLIC_READ=False)


@pytest.fixture
def owner(app):
    client = app.test_client()
    for n, key in enumerate(["trips/a.png", "trips/b.png", "trips/2024/c.png", "home/d.png", "top.png"]):
        files = {"file": (io.BytesIO(image(n)), "x.png")}
        response = client.post("/api/images", data={"key": key, **files}, headers=OWNER)
        assert response.status_code == 201, response.get_json()
    return client


def share(owner, **body):
    response = owner.post("/api/shares", json=body, headers=OWNER)
    return response


def test_a_folder_link_shows_that_folder_and_nothing_else(app, owner):
    made = share(owner, prefix="trips", expires_in=3600)
    assert made.status_code == 201, made.get_json()
    link = made.get_json()
    assert re.fullmatch(r"/s/[A-Za-z0-9_-]{43}", link["url"]) and link["kind"] == "prefix"
    assert link["target"] == "trips/" and link["allow_download"] is False and link["password"] is False
    visitor = app.test_client()
    page = visitor.get(link["url"])
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "private, no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    html = page.get_data(as_text=True)
    assert "trips/a.png" in html and "trips/2024/c.png" in html and "home/d.png" not in html
    assert "/images/" not in html and "/thumbs/" not in html.replace(f"{link['url']}/thumbs/", "")
    items = visitor.get(f"{link['url']}/items").get_json()["items"]
    assert sorted(i["key"] for i in items) == ["trips/2024/c.png", "trips/a.png", "trips/b.png"]
    for item in items:  # every URL is inside the link; no original without downloads
        for name in ("url", "thumb_url", "display_url"):
            assert item[name].startswith(link["url"] + "/") and "/images/" not in item[name]
        assert visitor.get(item["display_url"]).status_code == 200
    # Nothing outside: another key, the gallery's routes, the API, an original, another version.
    assert visitor.get(f"{link['url']}/display/home/d.png").status_code == 404
    assert visitor.get(f"{link['url']}/items/home/d.png").status_code == 404
    assert visitor.get(f"{link['url']}/images/trips/a.png").status_code == 404
    assert visitor.get("/images/home/d.png").status_code == 401
    assert visitor.get("/api/images").status_code == 401
    assert visitor.get("/api/images?prefix=trips/").status_code == 401
    assert visitor.get("/api/shares").status_code == 401
    assert visitor.get("/shares").status_code in (401, 302)


def test_a_shared_photo_is_served_at_its_current_version_only(app, owner):
    link = share(owner, key="trips/a.png").get_json()
    old = owner.get("/api/images/trips/a.png", headers=OWNER).get_json()["version"]
    files = {"file": (io.BytesIO(image(50)), "x.png")}
    assert owner.post("/api/images", data={"key": "trips/a.png", **files}, headers=OWNER).status_code == 200
    visitor = app.test_client()
    served = visitor.get(f"{link['url']}/thumbs/trips/a.png?v={old}")
    assert served.status_code == 200
    assert served.headers["ETag"] == f'"thumb-{hashlib.sha256(image(50)).hexdigest()}"'  # not the old version
    assert visitor.get(f"{link['url']}/thumbs/trips/b.png").status_code == 404


def test_revoked_and_expired_links_are_404_at_once(app, owner, monkeypatch):
    link = share(owner, prefix="trips/", expires_in=120).get_json()
    visitor = app.test_client()
    thumb = visitor.get(f"{link['url']}/items").get_json()["items"][0]["thumb_url"]
    assert visitor.get(thumb).status_code == 200
    listed = owner.get("/api/shares", headers=OWNER).get_json()["items"]
    assert [s["id"] for s in listed] == [link["id"]] and listed[0]["views"] == 0
    assert "url" not in listed[0]
    services = app.extensions["services"]
    monkeypatch.setattr(services.shares, "clock", lambda: link["created_at"] + 121)
    assert visitor.get(link["url"]).status_code == 404
    assert visitor.get(thumb).status_code == 404
    monkeypatch.undo()
    assert owner.delete(f"/api/shares/{link['id']}", headers=OWNER).status_code == 204
    for url in (link["url"], thumb, f"{link['url']}/items"):
        assert visitor.get(url).status_code == 404
    assert owner.delete(f"/api/shares/{link['id']}", headers=OWNER).status_code == 404


def test_the_store_keeps_only_the_tokens_digest(app, owner):
    link = share(owner, key="top.png", password="open sesame").get_json()
    token = link["url"].rsplit("/", 1)[-1]
    stored = app.extensions["services"].metadata.get_share(link["id"])
    assert stored.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(stored) and "open sesame" not in repr(stored)
    database = app.extensions["services"].metadata.path
    for path in (database, database + "-wal"):  # the database and its write-ahead log
        with open(path, "rb") as f:
            assert token.encode() not in f.read()


def test_a_password_protected_link_asks_for_its_password(app, owner):
    link = share(owner, prefix="trips/", password="open sesame").get_json()
    visitor = app.test_client()
    page = visitor.get(link["url"]).get_data(as_text=True)
    assert 'type="password"' in page and "trips/a.png" not in page
    assert visitor.get(f"{link['url']}/items").status_code == 403
    assert visitor.get(f"{link['url']}/thumbs/trips/a.png").status_code == 403
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    wrong = visitor.post(link["url"], data={"password": "guess", "csrf_token": csrf})
    assert wrong.status_code == 401
    right = visitor.post(link["url"], data={"password": "open sesame", "csrf_token": csrf})
    assert right.status_code == 303
    assert "trips/a.png" in visitor.get(link["url"]).get_data(as_text=True)
    assert visitor.get(f"{link['url']}/thumbs/trips/a.png").status_code == 200


def test_downloads_of_originals_only_when_allowed(app, owner):
    without = share(owner, key="top.png").get_json()
    allowed = share(owner, key="top.png", allow_download=True).get_json()
    visitor = app.test_client()
    assert visitor.get(f"{without['url']}/images/top.png").status_code == 404
    original = visitor.get(f"{allowed['url']}/images/top.png")
    assert original.status_code == 200 and original.data == image(4)
    assert "attachment" in original.headers["Content-Disposition"]


@pytest.mark.parametrize(
    "body, status",
    [
        ({}, 400),
        ({"key": "top.png", "prefix": "trips/"}, 400),
        ({"prefix": ""}, 400),
        ({"key": "../x"}, 400),
        ({"key": "missing.png"}, 404),
        ({"prefix": "nowhere/"}, 404),
        ({"key": "top.png", "expires_in": 5}, 400),
        ({"key": "top.png", "password": "x" * 201}, 400),
        ({"album": "a1"}, 404),  # no such album
    ],
)
def test_refused_shares_change_nothing(app, owner, body, status):
    response = share(owner, **body)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["message"]
    assert app.extensions["services"].metadata.shares() == []


def test_an_album_link_shows_the_album_and_nothing_else(app, owner):
    albums = app.extensions["services"].albums
    plain = albums.create("Best")
    albums.add(plain.id, ["trips/a.png", "home/d.png"])
    smart = albums.create("Home", query={"prefix": "home/"})
    visitor = app.test_client()
    for album, shown in ((plain, ["home/d.png", "trips/a.png"]), (smart, ["home/d.png"])):
        link = share(owner, album=album.id).get_json()
        items = visitor.get(f"{link['url']}/items").get_json()["items"]
        assert sorted(i["key"] for i in items) == shown
        assert visitor.get(f"{link['url']}/thumbs/home/d.png").status_code == 200
        assert visitor.get(f"{link['url']}/thumbs/top.png").status_code == 404  # not in the album
    albums.remove(plain.id, ["home/d.png"])  # a photo taken out of the album is out of its link too
    link = share(owner, album=plain.id).get_json()
    assert visitor.get(f"{link['url']}/thumbs/home/d.png").status_code == 404


def test_visitors_cannot_make_or_revoke_links(app, owner):
    link = share(owner, key="top.png").get_json()
    visitor = app.test_client()
    assert visitor.post("/api/shares", json={"key": "top.png"}).status_code in (400, 401)
    assert visitor.delete(f"/api/shares/{link['id']}").status_code in (400, 401)
    assert len(app.extensions["services"].metadata.shares()) == 1


def test_a_bad_or_guessed_token_is_a_plain_404(app, owner):
    visitor = app.test_client()
    for token in ("not-a-token", "A" * 43, "A" * 300):
        response = visitor.get(f"/s/{token}")
        assert response.status_code == 404 and token not in response.get_data(as_text=True)
        assert "revoked or has expired" in response.get_data(as_text=True)


def test_opening_links_is_rate_limited(app, owner):
    link = share(owner, key="top.png").get_json()
    visitor = app.test_client()
    statuses = [visitor.get(link["url"]).status_code for _ in range(61)]
    assert statuses[:60] == [200] * 60 and statuses[60] == 429


def test_views_and_last_use_are_counted(app, owner):
    link = share(owner, key="top.png").get_json()
    app.test_client().get(link["url"])
    app.test_client().get(link["url"])
    listed = owner.get("/api/shares", headers=OWNER).get_json()["items"][0]
    assert listed["views"] == 2 and listed["last_used"] >= link["created_at"]


def test_tokens_are_redacted_from_log_lines():
    assert redact('GET /s/AbC_-9 HTTP/1.1" 200 "http://host:8000/s/AbC_-9/items"') == (
        'GET /s/<redacted> HTTP/1.1" 200 "http://host:8000/s/<redacted>/items"'
    )
    assert redact("/images/s/photo.png") == "/images/s/photo.png"


# -- folders ---------------------------------------------------------------------------------
def test_the_folder_view_and_its_api(app, owner):
    top = owner.get("/api/folders", headers=OWNER).get_json()
    assert top["count"] == 5 and [(f["path"], f["count"]) for f in top["folders"]] == [("home/", 1), ("trips/", 3)]
    assert [i["key"] for i in top["items"]] == ["top.png"]
    trips = owner.get("/api/folders/trips", headers=OWNER).get_json()
    assert trips["path"] == "trips/" and trips["count"] == 3
    assert [(f["name"], f["count"], f["cover"]) for f in trips["folders"]] == [("2024", 1, "trips/2024/c.png")]
    assert sorted(i["key"] for i in trips["items"]) == ["trips/a.png", "trips/b.png"]
    page = owner.get("/folders/trips/", headers=OWNER).get_data(as_text=True)
    assert "All folders" in page and 'href="/folders/trips/2024/"' in page and "trips/a.png" in page
    assert owner.get("/folders/..", headers=OWNER).status_code == 400
    owner.delete("/api/images/trips/2024/c.png", headers=OWNER)
    assert owner.get("/api/folders/trips", headers=OWNER).get_json()["folders"] == []


def test_folder_pages_page_through_photos(app, owner):
    for n in range(5):
        files = {"file": (io.BytesIO(image(10 + n)), "x.png")}
        owner.post("/api/images", data={"key": f"many/{n}.png", **files}, headers=OWNER)
    first = owner.get("/api/folders/many?limit=3", headers=OWNER).get_json()
    second = owner.get(f"/api/folders/many?limit=3&cursor={first['next_cursor']}", headers=OWNER).get_json()
    keys = [i["key"] for i in first["items"] + second["items"]]
    assert sorted(keys) == [f"many/{n}.png" for n in range(5)] and second["next_cursor"] is None


def test_a_visitor_gets_no_gps_from_a_photo_that_had_it(app, owner):
    from test_exif import exif_photo

    files = {"file": (io.BytesIO(exif_photo(size=(1600, 1200))), "camera.jpg")}
    assert owner.post("/api/images", data={"key": "camera/photo.jpg", **files}, headers=OWNER).status_code == 201
    link = share(owner, prefix="camera/").get_json()
    visitor = app.test_client()
    item = visitor.get(f"{link['url']}/items").get_json()["items"][0]
    assert "gps" not in str(item).lower() and item["exif"]["model"] == "Canon EOS R5"
    for url in (item["thumb_url"], item["display_url"], item["display_url"].replace("/display/", "/large/", 1)):
        served = visitor.get(url)
        assert served.status_code == 200, url
        with Image.open(io.BytesIO(served.data)) as picture:
            assert 0x8825 not in picture.getexif() and not picture.getexif().get_ifd(0x8825)  # no GPS IFD
    assert item["width"] <= 2 * max(item["display_width"], item["display_height"])  # no original's size
