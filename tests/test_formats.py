"""The format table that uploads, processing, direct uploads and Rekognition share."""

from __future__ import annotations

import io

import pytest
from conftest import make_image
from PIL import Image

from app.imaging import formats, images
from app.processing import FORMATS, probe
from app.recognition.rekognition import S3_FORMATS
from app.services.uploads import DIRECT_UPLOAD_TYPES as CONTENT_TYPES


def test_every_listed_format_is_accepted_and_stored_with_its_mime_type():
    for fmt in formats.LISTED:
        data = make_image(fmt.pillow)
        assert images.analyse(data, 50_000_000, 64).content_type == fmt.mime
        assert probe(data).format == fmt.name
        assert Image.open(io.BytesIO(data)).format == fmt.pillow


def test_the_parts_read_the_table():
    assert [f.pillow for f in formats.LISTED] == images.OPENERS  # MPO comes from the JPEG opener
    assert {"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/tiff"} < CONTENT_TYPES
    assert {"image/heic", "image/heif", "image/avif"} < CONTENT_TYPES
    assert FORMATS == {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
    assert S3_FORMATS == ("image/jpeg", "image/png")
    assert formats.ACCEPTED == "JPEG, PNG, GIF, WebP, BMP, TIFF, HEIC or AVIF"
    assert formats.REKOGNITION_READS == "JPEG and PNG"


@pytest.mark.parametrize(("labels", "text"), [(["A"], "A"), (["A", "B"], "A or B"), (["A", "B", "C"], "A, B or C")])
def test_either(labels, text):
    assert formats.either(labels) == text
