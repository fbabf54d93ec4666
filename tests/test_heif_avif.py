"""HEIC/HEIF (pillow-heif) and AVIF (Pillow) uploads: accepted by decoding, kept as uploaded,
turned upright in every rendition, and usable by processing and recognition. The files are made
here, small, with the same libraries."""

from __future__ import annotations

import io
import json
from pathlib import Path

import cv2
import pytest
from PIL import Image

from app.imaging import images
from app.recognition.prepare import fit_jpeg_png

DOG = Path(__file__).parent / "data" / "dog.jpg"
FORMATS = [("HEIF", "image/heic", "photo.heic"), ("AVIF", "image/avif", "photo.avif")]


def encoded(fmt: str, orientation: int = 1, size=(320, 240)) -> bytes:
    """The dog photo as ``fmt``; a marker in the stored top-left corner shows how it was turned.
    Both encoders turn an EXIF orientation into the container's rotation boxes (irot/imir)."""
    image = Image.open(DOG).convert("RGB").resize(size)
    image.paste((250, 0, 250), (0, 0, size[0] // 5, size[1] // 5))
    tags = Image.Exif()
    tags[0x0112] = orientation
    tags.get_ifd(0x8769)[0x9003] = "2024:03:02 11:12:13"
    out = io.BytesIO()
    image.save(out, fmt, exif=tags.tobytes(), quality=90)
    return out.getvalue()


def is_marker(pixel) -> bool:
    r, g, b = pixel[:3]
    return r > 200 and b > 200 and g < 80


@pytest.mark.parametrize(("fmt", "mime", "name"), FORMATS)
def test_upload_keeps_the_original_and_serves_upright_renditions(api, client, fmt, mime, name):
    data = encoded(fmt, orientation=6)
    response = api.upload(name, data, filename=name)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["content_type"] == mime and (body["width"], body["height"]) == (240, 320)
    assert body["taken_at"] == "2024-03-02T11:12:13"
    original = client.get(body["url"])
    assert original.data == data and original.content_type == mime
    for url in (body["display_url"], body["thumb_url"], body["thumb2x_url"]):
        served = Image.open(io.BytesIO(client.get(url).data)).convert("RGB")
        assert served.width < served.height  # upright portrait
        # Orientation 6 turns the picture a quarter clockwise: the stored top-left goes top-right.
        assert is_marker(served.getpixel((served.width - 3, 3))) and not is_marker(served.getpixel((3, 3)))
    assert client.get(f"/browse?key={name}").status_code == 200


@pytest.mark.parametrize(("fmt", "mime", "name"), FORMATS)
def test_a_truncated_file_is_refused(api, gallery, fmt, mime, name):
    data = encoded(fmt)
    for cut in (len(data) // 2, len(data) - 10):
        response = api.upload(name, data[:cut], filename=name)
        assert response.status_code == 422, response.get_json()
    assert gallery.metadata.count() == 0


@pytest.mark.parametrize(("fmt", "mime", "name"), FORMATS)
def test_processing_decodes_them_with_pillow(api, gallery, monkeypatch, fmt, mime, name):
    gallery.library.upload(name, encoded(fmt, orientation=6))

    def no_opencv(*args):
        raise AssertionError("OpenCV cannot read this format; Pillow decodes it")

    monkeypatch.setattr(cv2, "imdecode", no_opencv)
    response = api.post(
        "/api/process",
        data={"source_key": name, "ops": json.dumps([{"op": "resize", "width": 120}]), "format": "webp"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.get_json()
    result = Image.open(io.BytesIO(response.data))
    assert result.size == (120, 160)
    assert is_marker(result.convert("RGB").getpixel((result.width - 2, 2)))


@pytest.mark.parametrize(("fmt", "mime", "name"), FORMATS)
def test_recognition_finds_the_dog(api, gallery, fmt, mime, name):
    gallery.library.upload(name, encoded(fmt, size=(640, 480)))
    response = api.post("/api/recognize", data={"source_key": name}, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    assert "dog" in response.get_json()["stored_labels"]


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_rekognition_gets_a_jpeg(fmt):
    sent = fit_jpeg_png(encoded(fmt, orientation=6), 5 * 1024 * 1024, 50_000_000)
    image = Image.open(io.BytesIO(sent))
    assert image.format == "JPEG" and image.size == (240, 320)


def test_the_heif_opener_is_registered_for_uploads_only_through_the_table():
    assert {"HEIF", "AVIF"} <= set(images.OPENERS)
