"""Presigned grants are SigV4 (AWS refuses SigV2 for new buckets) and work against moto's S3."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from app.storage.s3 import S3BlobStore

pytest_plugins = ["cloud"]


@pytest.fixture
def store(aws):
    store = S3BlobStore(aws["bucket"], prefix="g/", region="us-east-1")
    store.provision()
    return store


def test_presigned_post_is_sigv4_and_accepted(store):
    grant = store.direct_upload_form("uploads/one", "image/png", 1024)
    fields = grant["fields"]
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert fields["x-amz-credential"].endswith("/us-east-1/s3/aws4_request")
    assert len(fields["x-amz-signature"]) == 64 and "policy" in fields
    assert not {"AWSAccessKeyId", "signature"} & set(fields)
    answer = requests.post(grant["url"], data=fields, files={"file": ("f", b"\x89PNG", "image/png")}, timeout=10)
    assert answer.status_code in (200, 201, 204), answer.text
    assert store.get("uploads/one") == b"\x89PNG"


def test_presigned_get_is_sigv4_and_answers(store):
    store.put("originals/big", b"bytes", "image/jpeg")
    url = store.download_url("originals/big", 60, "image/jpeg", "big.jpg")
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Credential"][0].endswith("/us-east-1/s3/aws4_request")
    assert len(query["X-Amz-Signature"][0]) == 64
    assert not {"AWSAccessKeyId", "Signature", "Expires"} & set(query)
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 200 and answer.content == b"bytes"


def test_us_east_1_uses_the_regional_endpoint(monkeypatch):
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    store = S3BlobStore("photos", region="us-east-1")
    assert urlsplit(store.download_url("x", 60, "image/png")).netloc == "photos.s3.us-east-1.amazonaws.com"
    assert store.direct_upload_origin() == "https://photos.s3.us-east-1.amazonaws.com"
