"""Photos larger than API Gateway and Lambda carry (6 MB a request or an answer), against a moto
server: large originals are redirected to a short-lived presigned S3 URL, large files reach
Processing and Recognition through a staged direct upload, large results are fetched from S3,
and a body over the app's limit gets a 413 that names the way to send it."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
import requests
from conftest import Api, make_image
from PIL import Image

from app import create_app

pytest_plugins = ["cloud"]

MB = 1024 * 1024


def noise_png(side: int, seed: int = 1) -> bytes:
    """Incompressible pixels: a PNG of about 3 × side² bytes."""
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG", compress_level=1)
    return out.getvalue()


@pytest.fixture(scope="module")
def five_mb() -> bytes:
    data = noise_png(1300)
    assert 4.5 * MB < len(data) < 6 * MB
    return data


@pytest.fixture
def s3_app(aws, tmp_path):
    def make(**overrides):
        app = create_app(
            {
                "GALLERY_DATA_DIR": str(tmp_path / "data"),
                "GALLERY_STORAGE": "s3",
                "GALLERY_METADATA": "dynamodb",
                "GALLERY_S3_BUCKET": aws["bucket"],
                "GALLERY_DYNAMODB_TABLE": aws["table"],
                "GALLERY_RECOGNIZER": "rekognition",
                "SECRET_KEY": "test-secret",
                "TESTING": True,
                **overrides,
            }
        )
        assert app.test_cli_runner().invoke(args=["gallery", "init"]).exit_code == 0
        return app

    return make


def test_a_large_original_is_a_redirect_whose_location_is_the_exact_bytes(s3_app, five_mb):
    app = s3_app()
    gallery = app.extensions["services"]
    record, _ = gallery.library.upload("big/noise.png", five_mb)
    gallery.library.upload("small.png", make_image("PNG"))
    client = app.test_client()

    for _ in range(2):  # the fast path, then again (nothing large was cached)
        response = client.get("/images/big/noise.png")
        assert response.status_code == 302
        assert response.headers["Cache-Control"] == "private, max-age=60"
        fetched = requests.get(response.headers["Location"], timeout=10)
        assert fetched.status_code == 200 and fetched.content == five_mb
        assert fetched.headers["Content-Type"] == "image/png"

    download = client.get("/images/big/noise.png?download=1")
    assert download.status_code == 302
    fetched = requests.get(download.headers["Location"], timeout=10)
    assert fetched.headers["Content-Disposition"] == 'attachment; filename="noise.png"'
    assert fetched.content == five_mb

    version = client.get(f"/images/big/noise.png?version={record.version}")
    assert version.status_code == 302
    assert requests.get(version.headers["Location"], timeout=10).content == five_mb

    # Processing reads (and caches) the original; serving it still redirects.
    assert gallery.images.get_original("big/noise.png").data == five_mb
    assert client.get("/images/big/noise.png").status_code == 302

    # Thumbnails and small originals pass through the app as before.
    thumb = client.get("/thumbs/big/noise.png")
    assert thumb.status_code == 200 and thumb.mimetype == "image/webp"
    assert client.get("/images/small.png").status_code == 200


def test_pages_let_images_load_from_the_bucket(s3_app):
    app = s3_app()
    csp = app.test_client().get("/gallery").headers["Content-Security-Policy"]
    origin = app.extensions["services"].media.download_origin()
    assert origin.startswith("http://127.0.0.1:")
    assert f"img-src 'self' {origin} data: blob:" in csp


def test_redirects_can_be_turned_off(s3_app, five_mb):
    app = s3_app(GALLERY_REDIRECT_OVER_MB="0")
    app.extensions["services"].library.upload("big.png", five_mb)
    response = app.test_client().get("/images/big.png")
    assert response.status_code == 200 and response.data == five_mb


def staged_upload(api, data: bytes, content_type: str = "image/png") -> str:
    """As static/app.js stageFile does: a grant without a key, then the file straight to S3."""
    grant = api.post("/api/uploads", json={"content_type": content_type, "bytes": len(data)})
    assert grant.status_code == 201, grant.get_json()
    grant = grant.get_json()
    sent = requests.post(grant["url"], data=grant["fields"], files={"file": ("f", data, content_type)}, timeout=10)
    assert sent.status_code in (200, 201, 204)
    return grant["upload_id"]


def test_a_body_over_the_limit_gets_a_413_naming_the_direct_upload(s3_app):
    app = s3_app(GALLERY_MAX_BODY_MB="1")
    api = Api(app.test_client())
    big = noise_png(700)
    assert len(big) > MB
    for path, fields in (
        ("/api/images", {"key": "big.png"}),
        ("/api/process", {"ops": "[]"}),
        ("/api/recognize", {}),
    ):
        response = api.post(
            path, data={**fields, "file": (io.BytesIO(big), "big.png")}, content_type="multipart/form-data"
        )
        assert response.status_code == 413, path
        message = response.get_json()["error"]["message"]
        assert message.startswith("Files over 1 MB cannot be sent through this server: use the Upload page")
        assert "POST /api/uploads (files up to 25 MB go straight to storage)" in message
        assert "staged_id=<upload_id> to /api/process or /api/recognize" in message


def test_processing_and_recognition_work_on_a_staged_upload(s3_app, five_mb):
    app = s3_app(GALLERY_MAX_BODY_MB="4")
    client = app.test_client()
    api = Api(client)
    page = client.get("/process").get_data(as_text=True)
    assert f'data-stage-over="{4 * MB}"' in page and 'data-uploads-url="/api/uploads"' in page
    assert f'data-stage-over="{4 * MB}"' in client.get("/recognize").get_data(as_text=True)

    staged = staged_upload(api, five_mb)
    small = api.post("/api/process", data={"staged_id": staged, "ops": '[{"op": "resize", "width": 100}]'})
    assert small.status_code == 200 and small.headers["X-Image-Width"] == "100"

    # A result too large to answer through Lambda is fetched from S3 (303 See Other).
    large = api.post("/api/process", data={"staged_id": staged, "ops": '[{"op": "rotate", "angle": 90}]'})
    assert large.status_code == 303 and large.headers["X-Image-Width"] == "1300"
    result = requests.get(large.headers["Location"], timeout=10)
    assert result.headers["Content-Type"] == "image/png"
    rotated = np.asarray(Image.open(io.BytesIO(result.content)))
    assert np.array_equal(rotated, np.rot90(np.asarray(Image.open(io.BytesIO(five_mb)))))  # counter-clockwise

    saved = api.post("/api/process", data={"staged_id": staged, "ops": "[]", "save_as": "from-staged.png"})
    assert saved.status_code == 201 and saved.get_json()["bytes"] > 4 * MB

    labels = api.post("/api/recognize", data={"staged_id": staged})
    assert labels.status_code == 200 and labels.get_json()["Labels"]
    page = api.post("/recognize", data={"staged_id": staged}).get_data(as_text=True)
    assert re.search(r'<img[^>]+src="data:image/webp;base64,', page)
    assert [item["key"] for item in client.get("/api/images").get_json()["items"]] == ["from-staged.png"]


@pytest.mark.parametrize(
    ("staged_id", "status"), [("not-an-id", 400), ("0" * 32, 404)], ids=["malformed", "never-sent"]
)
def test_a_bad_staged_id_is_a_clear_error(s3_app, staged_id, status):
    api = Api(s3_app().test_client())
    response = api.post("/api/process", data={"staged_id": staged_id, "ops": "[]"})
    assert response.status_code == status
    assert "staged" in response.get_json()["error"]["message"]


def test_staging_needs_s3(tmp_path):
    from conftest import make_app

    api = Api(make_app(tmp_path).test_client())
    response = api.post("/api/process", data={"staged_id": "0" * 32, "ops": "[]"})
    assert response.status_code == 400 and "S3" in response.get_json()["error"]["message"]
