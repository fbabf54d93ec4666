"""A selection ZIP larger than Lambda may answer is built into S3 (streamed, multipart) and
answered with a 303 to a presigned SigV4 URL; a small one is still answered directly."""

from __future__ import annotations

import io
import zipfile
from urllib.parse import parse_qs, urlsplit

import boto3
import numpy as np
import pytest
import requests
from conftest import Api, make_image
from PIL import Image

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
            "GALLERY_DYNAMODB_TABLE": aws["table"],
            "GALLERY_MAX_UPLOAD_MB": 12,
            "GALLERY_MAX_BODY_MB": 4,  # the Lambda settings
            "GALLERY_REDIRECT_OVER_MB": 4,
            "GALLERY_LABEL_ON_UPLOAD": False,
            "SECRET_KEY": "test-secret",
            "TESTING": True,
        }
    )
    assert app.test_cli_runner().invoke(args=["gallery", "init"]).exit_code == 0
    app.bucket = aws["bucket"]
    return app


def noise_png(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (1700, 2000, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, "PNG", compress_level=1)
    return out.getvalue()


def test_a_30_mb_selection_zip_is_a_303_to_s3(s3_app):
    library = s3_app.extensions["services"].library
    originals = {f"big/{n}.png": noise_png(n) for n in range(3)}
    for key, data in originals.items():
        library.upload(key, data)
    assert sum(map(len, originals.values())) > 30_000_000

    answer = Api(s3_app.test_client()).post("/api/images/zip", json={"keys": list(originals)})
    assert answer.status_code == 303 and not answer.data.startswith(b"PK")
    location = answer.headers["Location"]
    query = parse_qs(urlsplit(location).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and "X-Amz-Signature" in query
    assert "gallery-selection.zip" in query["response-content-disposition"][0]

    fetched = requests.get(location, timeout=30)
    assert fetched.status_code == 200 and fetched.headers["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(fetched.content))
    assert {name: archive.read(name) for name in archive.namelist()} == originals
    # Built in parts, under the staging prefix its lifecycle rule expires; no upload left open.
    s3 = boto3.client("s3")
    staged = s3.list_objects_v2(Bucket=s3_app.bucket, Prefix="uploads/zip-")["Contents"]
    assert len(staged) == 1 and staged[0]["ETag"].strip('"').endswith("-4")
    assert not s3.list_multipart_uploads(Bucket=s3_app.bucket).get("Uploads")


def test_a_small_selection_zip_is_answered_directly(s3_app):
    library = s3_app.extensions["services"].library
    library.upload("small/a.png", make_image())
    answer = Api(s3_app.test_client()).post("/api/images/zip", json={"keys": ["small/a.png"]})
    assert answer.status_code == 200 and answer.headers["Content-Disposition"] == 'attachment; filename="a.png.zip"'
    assert zipfile.ZipFile(io.BytesIO(answer.data)).namelist() == ["small/a.png"]
