"""Direct browser uploads against a moto server: presign, POST the file to S3 as a browser
would, commit; bad files are rejected and their staging objects removed."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
import requests
from conftest import Api, make_image

from app import create_app

pytest_plugins = ["cloud"]


@pytest.fixture
def s3_app(aws, tmp_path):
    app = create_app(
        {
            "GALLERY_DATA_DIR": str(tmp_path / "data"),
            "GALLERY_STORAGE": "s3",
            "GALLERY_METADATA": "dynamodb",
            "GALLERY_S3_BUCKET": aws["bucket"],
            "GALLERY_S3_PREFIX": "g/",
            "GALLERY_DYNAMODB_TABLE": aws["table"],
            "GALLERY_MAX_UPLOAD_MB": 1,
            "GALLERY_LABEL_ON_UPLOAD": False,
            "SECRET_KEY": "test-secret",
            "TESTING": True,
        }
    )
    assert app.test_cli_runner().invoke(args=["gallery", "init"]).exit_code == 0
    app.bucket = aws["bucket"]
    return app


def staged(app) -> list[str]:
    listing = boto3.client("s3").list_objects_v2(Bucket=app.bucket, Prefix="g/uploads/")
    return [item["Key"] for item in listing.get("Contents", [])]


def browser_post(grant: dict, data: bytes, content_type: str) -> int:
    """What static/upload.js sends: the presigned fields, then the file last."""
    response = requests.post(
        grant["url"], data=grant["fields"], files={"file": ("photo", data, content_type)}, timeout=10
    )
    return response.status_code


def test_presign_post_commit_stores_the_image(s3_app):
    api, data = Api(s3_app.test_client()), make_image("PNG", size=(80, 60))
    grant = api.post("/api/uploads", json={"key": "direct/one.png", "content_type": "image/png", "bytes": len(data)})
    assert grant.status_code == 201, grant.get_json()
    grant = grant.get_json()
    assert grant["fields"]["key"] == f"g/uploads/{grant['upload_id']}" and grant["max_bytes"] == 1024 * 1024
    assert browser_post(grant, data, "image/png") in (200, 201, 204)
    assert staged(s3_app) == [grant["fields"]["key"]]

    committed = api.post(grant["commit_url"], json={"key": "direct/one.png"})
    assert committed.status_code == 201, committed.get_json()
    assert (committed.get_json()["width"], committed.get_json()["replaced"]) == (80, False)
    assert api.client.get("/images/direct/one.png").data == data
    assert staged(s3_app) == []
    again = api.post(grant["commit_url"], json={"key": "direct/one.png"})
    assert again.status_code == 404 and "already committed" in again.get_json()["error"]["message"]


def test_concurrent_commits_of_one_upload_store_it_once(s3_app, monkeypatch):
    clients = [Api(s3_app.test_client()) for _ in range(4)]
    data = make_image("PNG", size=(40, 30))
    grant = clients[0].post("/api/uploads", json={"key": "race/a.png", "content_type": "image/png", "bytes": len(data)})
    grant = grant.get_json()
    assert browser_post(grant, data, "image/png") in (200, 201, 204)
    blobs = s3_app.extensions["services"].blobs
    read = blobs.get
    monkeypatch.setattr(blobs, "get", lambda name: (time.sleep(0.5), read(name))[1])  # a slow commit
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(lambda i: clients[i].post(grant["commit_url"], json={"key": f"race/{i}.png"}), range(4))
        )
    statuses = sorted(a.status_code for a in answers)
    assert statuses[0] == 201 and all(status in (404, 409) for status in statuses[1:]), statuses
    stored = [r["key"] for r in clients[0].client.get("/api/images").get_json()["items"]]
    assert len(stored) == 1, stored
    assert staged(s3_app) == []


def test_commit_rejects_a_non_image_and_deletes_it(s3_app):
    api = Api(s3_app.test_client())
    grant = api.post("/api/uploads", json={"key": "fake.png", "content_type": "image/png", "bytes": 20}).get_json()
    assert browser_post(grant, b"<html>not an image</html>", "image/png") in (200, 201, 204)
    response = api.post(grant["commit_url"], json={"key": "fake.png"})
    assert response.status_code == 415 and "not a supported image" in response.get_json()["error"]["message"]
    assert staged(s3_app) == []
    assert api.client.get("/api/images/fake.png").status_code == 404


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"key": "../x.png", "content_type": "image/png", "bytes": 10}, 400),
        ({"key": "x.png", "content_type": "text/html", "bytes": 10}, 415),
        ({"key": "x.png", "content_type": "image/png", "bytes": 2 * 1024 * 1024}, 413),
        ({"key": "x.png", "content_type": "image/png", "bytes": "10"}, 400),
        ({"key": "x.png", "content_type": "image/png"}, 400),
    ],
    ids=["bad-key", "not-an-image-type", "too-large", "size-not-a-number", "no-size"],
)
def test_presign_checks_before_signing(s3_app, body, status):
    response = Api(s3_app.test_client()).post("/api/uploads", json=body)
    assert response.status_code == status and "upload_id" not in response.get_json()


def test_commit_of_unknown_or_malformed_ids(s3_app):
    api = Api(s3_app.test_client())
    assert api.post(f"/api/uploads/{'0' * 32}/commit", json={"key": "x.png"}).status_code == 404
    assert api.post("/api/uploads/not-hex/commit", json={"key": "x.png"}).status_code == 400


def test_upload_page_uses_direct_uploads_only_with_s3(s3_app, client):
    page = s3_app.test_client().get("/upload")
    assert 'data-direct="s3"' in page.get_data(as_text=True)
    moto_origin = boto3.client("s3").meta.endpoint_url.rstrip("/")
    assert f"connect-src 'self' {moto_origin}" in page.headers["Content-Security-Policy"]

    local = client.get("/upload")  # the default app: local files
    assert "upload.js" in local.get_data(as_text=True) and "data-direct" not in local.get_data(as_text=True)
    assert "connect-src" not in local.headers["Content-Security-Policy"]
    response = Api(client).post("/api/uploads", json={"key": "x.png", "content_type": "image/png", "bytes": 5})
    assert response.status_code == 400 and "/api/images" in response.get_json()["error"]["message"]
