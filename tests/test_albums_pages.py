"""The album pages and forms without JavaScript: the gallery's "Add to album" and "Save as smart
album", an album page's details, order, cover, removal and deletion, and the heart's form."""

from __future__ import annotations

from conftest import csrf_token, make_image


def post(client, path, data):
    return client.post(path, data={**data, "csrf_token": csrf_token(client)})


def seed(gallery, n=4):
    for i in range(n):
        gallery.library.upload(f"s/{i}.png", make_image("PNG", size=(40, 30), color=(i * 40, 0, 0)))


def test_add_a_selection_to_a_new_album_then_edit_it_on_its_page(client, gallery):
    seed(gallery)
    added = post(client, "/albums/add", {"keys": ["s/0.png", "s/2.png"], "new_album": "Walks"})
    assert added.status_code == 303
    album = gallery.albums.list()[0]
    assert added.headers["Location"].endswith(f"/albums/{album.id}")
    page = client.get(f"/albums/{album.id}").get_data(as_text=True)
    assert "Walks" in page and "s/2.png" in page and "s/1.png" not in page
    assert "style-src 'self' 'sha256-" in client.get(f"/albums/{album.id}").headers["Content-Security-Policy"]
    post(client, "/albums/add", {"keys": ["s/3.png"], "album": album.id})
    post(client, f"/albums/{album.id}", {"action": "details", "name": "Long walks", "description": "Sundays"})
    post(client, f"/albums/{album.id}", {"action": "cover", "key": "s/2.png"})
    post(client, f"/albums/{album.id}", {"action": "front", "keys": ["s/0.png"]})
    post(client, f"/albums/{album.id}", {"action": "remove", "keys": ["s/3.png"]})
    album = gallery.albums.get(album.id)
    assert (album.name, album.description, album.cover, album.sort) == ("Long walks", "Sundays", "s/2.png", "manual")
    assert [r.key for r in gallery.albums.images(album.id)[0]] == ["s/0.png", "s/2.png"]
    listing = client.get("/albums").get_data(as_text=True)
    assert "Long walks" in listing and "/thumbs/s/2.png" in listing
    assert post(client, f"/albums/{album.id}", {"action": "delete"}).status_code == 303
    assert gallery.albums.list() == [] and gallery.catalog.usage()["images"] == 4


def test_a_refused_form_changes_nothing(client, gallery):
    seed(gallery, 2)
    post(client, "/albums", {"name": "Walks"})
    album = gallery.albums.list()[0]
    for path, data, status in (
        ("/albums", {"name": "walks"}, 409),
        ("/albums/add", {"keys": ["s/0.png", "s/9.png"], "album": album.id}, 404),
        ("/albums/add", {"keys": ["s/0.png"], "new_album": "Walks"}, 409),
        (f"/albums/{album.id}", {"action": "explode"}, 400),
        (f"/albums/{album.id}", {"action": "cover", "key": "s/1.png"}, 400),
    ):
        response = post(client, path, data)
        assert response.status_code == status, (path, data)
        assert response.mimetype == "text/html"
    assert [a.name for a in gallery.albums.list()] == ["Walks"]
    assert gallery.metadata.album_keys(album.id) == []


def test_save_the_gallery_filter_as_a_smart_album(client, gallery):
    seed(gallery, 3)
    gallery.metadata.set_labels("s/1.png", ["cat"])
    page = client.get("/gallery?label=cat").get_data(as_text=True)
    assert "Save as smart album" in page and 'name="label" value="cat"' in page
    assert "Save as smart album" not in client.get("/gallery").get_data(as_text=True)
    created = post(client, "/albums", {"smart": "1", "name": "Cats", "label": "cat", "q": ""})
    album = gallery.albums.list()[0]
    assert created.status_code == 303 and album.query == {"label": "cat"}
    assert [r.key for r in gallery.albums.images(album.id)[0]] == ["s/1.png"]


def test_the_heart_form_goes_back_only_to_this_site(client, gallery):
    seed(gallery, 1)
    back = post(client, "/favourite/s/0.png", {"favourite": "1", "next": "/gallery?favourite=1"})
    assert back.headers["Location"].endswith("/gallery?favourite=1")
    assert gallery.catalog.get_record("s/0.png").favourite is True
    assert 'aria-pressed="true"' in client.get("/gallery").get_data(as_text=True)
    away = post(client, "/favourite/s/0.png", {"favourite": "0", "next": "//evil.example/"})
    assert "evil" not in away.headers["Location"] and gallery.catalog.get_record("s/0.png").favourite is False
    assert post(client, "/favourite/s/9.png", {"favourite": "1"}).status_code == 404
