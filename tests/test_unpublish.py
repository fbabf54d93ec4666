"""Deleting unpublishes: on a write-protected gallery with public reads, what is in the trash
(the list, its page, its versions' bytes, old versioned URLs) is the admin's alone."""

from __future__ import annotations

import io

import pytest
from conftest import make_app, make_image

TOKEN = "unpublish-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def protected(tmp_path):
    return make_app(tmp_path, GALLERY_API_TOKENS=TOKEN, GALLERY_ADMIN_PASSWORD="admin-pw")


def upload(client, key: str, colour: tuple = (200, 30, 40)) -> dict:
    data = {"key": key, "file": (io.BytesIO(make_image(color=colour)), "a.png")}
    response = client.post("/api/images", data=data, headers=AUTH, content_type="multipart/form-data")
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()


def test_the_trash_and_a_deleted_images_bytes_are_the_admins(protected):
    client = protected.test_client()
    record = upload(client, "private/party.png")
    old_urls = [record["url"], record["thumb_url"], record["display_url"]]
    for url in old_urls:  # published while it is current, also from the cache
        assert client.get(url).status_code == 200
    assert client.delete("/api/images/private/party.png", headers=AUTH).status_code == 204

    assert client.get("/api/trash").status_code == 401
    assert client.get("/trash").status_code in (302, 401)  # the login page, for a person
    version = f"/images/private/party.png?version={record['version']}"
    assert client.get(version).status_code == 404
    for url in old_urls:
        assert client.get(url).status_code == 404, url

    browse = f"/browse?key=private/party.png&version={record['version']}"
    assert client.get(browse).status_code == 404  # the page's door: not even the record
    assert client.get(browse, headers=AUTH).status_code == 200

    listed = client.get("/api/trash", headers=AUTH).get_json()["items"]
    assert [item["key"] for item in listed] == ["private/party.png"]
    assert client.get(version, headers=AUTH).status_code == 200


def test_earlier_versions_of_a_current_image_stay_public(protected):
    client = protected.test_client()
    first = upload(client, "public/cat.png", (200, 30, 40))
    upload(client, "public/cat.png", (20, 30, 200))
    assert client.get(f"/images/public/cat.png?version={first['version']}").status_code == 200
    assert client.get(first["url"]).status_code == 200  # the old ?v= URL: an earlier version


def test_an_open_gallery_says_that_anyone_sees_its_trash(tmp_path):
    client = make_app(tmp_path).test_client()
    page = client.get("/trash").get_data(as_text=True)
    assert 'id="trash-public"' in page and "anyone who can open this gallery" in page


def test_a_protected_gallery_does_not_warn_the_admin(protected):
    client = protected.test_client()
    page = client.get("/trash", headers=AUTH).get_data(as_text=True)
    assert client.get("/trash", headers=AUTH).status_code == 200 and 'id="trash-public"' not in page
