"""Decode bombs are refused from the header: the decoded size in bytes (not just pixels) and the
number of JPEG scans, counted by walking the segments (app/decoding.py)."""

from __future__ import annotations

import io
import struct
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import make_app
from PIL import Image

from app.core.errors import BadImage, TooLarge
from app.imaging import decoding, images

sys.path.insert(0, str(Path(__file__).resolve().parent / "corpus"))
import make_corpus as corpus  # noqa: E402


def cv2_bytes(array: np.ndarray, ext: str, *params) -> bytes:
    return cv2.imencode(ext, array, list(params))[1].tobytes()


def pil_bytes(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def layout_of(data: bytes) -> decoding.Layout:
    return images.inspect(data, 10**9)


def progressive_jpeg(scans_added: int, size=(64, 48)) -> bytes:
    """A small progressive JPEG whose last scan is repeated ``scans_added`` more times."""
    data = pil_bytes(corpus.gradient(size), "JPEG", progressive=True)
    last = data.rindex(b"\xff\xda")
    return data[:-2] + data[last:-2] * scans_added + data[-2:]


def translucent() -> Image.Image:
    image = corpus.gradient()
    image.putalpha(128)
    return image


RAMP16 = (np.arange(48 * 64, dtype=np.uint32).reshape(48, 64) * 21).astype(np.uint16)


@pytest.mark.parametrize(
    ("data", "channels", "sample_bytes"),
    [
        (cv2_bytes(np.dstack([RAMP16] * 4), ".png"), 4, 2),
        (cv2_bytes(np.dstack([RAMP16] * 3), ".png"), 3, 2),
        (cv2_bytes(RAMP16, ".png"), 1, 2),
        (cv2_bytes(np.dstack([RAMP16] * 4), ".tif"), 4, 2),
        (cv2_bytes(RAMP16, ".tif"), 1, 2),
        (pil_bytes(Image.fromarray(np.zeros((8, 8), np.float32)), "TIFF"), 1, 4),
        (pil_bytes(corpus.gradient(mode="RGBA"), "PNG"), 4, 1),
        (pil_bytes(corpus.gradient(), "PNG"), 3, 1),
        (pil_bytes(corpus.gradient(mode="L"), "PNG"), 1, 1),
        (pil_bytes(corpus.gradient().convert("P"), "PNG"), 3, 1),
        (pil_bytes(corpus.gradient().convert("P"), "PNG", transparency=0), 4, 1),
        (pil_bytes(corpus.gradient(mode="LA"), "PNG"), 4, 1),
        (pil_bytes(corpus.gradient().convert("CMYK"), "JPEG"), 4, 1),
        (pil_bytes(corpus.gradient(), "GIF"), 3, 1),
        (pil_bytes(translucent(), "WEBP"), 4, 1),
        (pil_bytes(corpus.gradient(), "BMP"), 3, 1),
    ],
    ids=[
        "png-16-rgba",
        "png-16-rgb",
        "png-16-gray",
        "tiff-16-rgba",
        "tiff-16-gray",
        "tiff-float",
        "png-rgba",
        "png-rgb",
        "png-gray",
        "png-palette",
        "png-palette-transparent",
        "png-la",
        "jpeg-cmyk",
        "gif",
        "webp-rgba",
        "bmp",
    ],
)
def test_layout_reads_channels_and_sample_depth_from_the_header(data, channels, sample_bytes):
    found = layout_of(data)
    assert (found.channels, found.sample_bytes) == (channels, sample_bytes)
    assert found.decoded_bytes == found.width * found.height * channels * sample_bytes
    # What OpenCV really decodes (the processing decoder) never exceeds the estimate.
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if decoded is not None:
        assert decoded.nbytes <= found.decoded_bytes


def test_the_default_limit_admits_50mp_of_8bit_rgba_but_not_of_16bit():
    eight = decoding.Layout("PNG", 7071, 7071, 4, 1)
    sixteen = decoding.Layout("PNG", 7071, 7071, 4, 2)
    decoding.check(eight, images.DEFAULT_MAX_DECODED)
    with pytest.raises(TooLarge, match=r"381.5 MB to decode \(7071×7071 pixels × 4 channels × 16-bit\)"):
        decoding.check(sixteen, images.DEFAULT_MAX_DECODED)


def test_jpeg_scans_are_counted_by_walking_the_segments():
    assert decoding.jpeg_scans(pil_bytes(corpus.gradient(), "JPEG")) == 1
    progressive = pil_bytes(corpus.gradient(), "JPEG", progressive=True)
    assert 2 < decoding.jpeg_scans(progressive) < 20
    scans = decoding.jpeg_scans(progressive)
    # Start-of-scan bytes inside a segment's payload, or after the end of the image, are not scans.
    comment = b"\xff\xda" * 500
    segment = b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment
    assert decoding.jpeg_scans(progressive[:2] + segment + progressive[2:]) == scans
    assert decoding.jpeg_scans(progressive + progressive * 20) == scans
    assert decoding.jpeg_scans(progressive_jpeg(200)) == decoding.MAX_JPEG_SCANS + 1  # stops counting there


def test_a_sequential_jpeg_interleaving_every_component_is_one_scan_without_reading_further():
    """libjpeg decodes such a file in one scan and refuses or ignores any later one, so the
    entropy data (most of the file) need not be searched: camera photos cost nothing to check."""
    data = pil_bytes(corpus.gradient((64, 48)), "JPEG")
    scan = data[data.index(b"\xff\xda") : -2]
    padded = data[:-2] + scan * 200 + data[-2:]
    assert decoding.jpeg_scans(padded) == 1
    with pytest.raises(OSError):
        Image.open(io.BytesIO(padded)).load()


def test_a_sequential_jpeg_whose_first_scan_holds_one_component_is_counted():
    data = pil_bytes(corpus.gradient((64, 48)), "JPEG")
    sos = data.index(b"\xff\xda")
    header_end = sos + 2 + int.from_bytes(data[sos + 2 : sos + 4], "big")
    one = b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00" + data[header_end:-2]  # component 1 only
    crafted = data[:sos] + one * 200 + data[-2:]
    assert decoding.jpeg_scans(crafted) == decoding.MAX_JPEG_SCANS + 1


def test_restart_markers_and_stuffed_bytes_in_the_entropy_data_are_not_markers():
    noise = np.random.default_rng(3).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    data = cv2_bytes(
        noise, ".jpg", cv2.IMWRITE_JPEG_QUALITY, 100, cv2.IMWRITE_JPEG_RST_INTERVAL, 1, cv2.IMWRITE_JPEG_PROGRESSIVE, 1
    )
    assert data.count(b"\xff\x00") > 100 and data.count(b"\xff\xd0") > 10
    assert decoding.jpeg_scans(data) == data.count(b"\xff\xda") < 20


def test_a_jpeg_at_the_scan_limit_is_accepted_one_above_is_refused(tmp_path):
    base = decoding.jpeg_scans(progressive_jpeg(0))
    at_limit = progressive_jpeg(decoding.MAX_JPEG_SCANS - base)
    assert decoding.jpeg_scans(at_limit) == decoding.MAX_JPEG_SCANS
    assert images.analyse(at_limit, 10**8, 64).width == 64
    with pytest.raises(BadImage, match="more than 100 scans"):
        images.analyse(progressive_jpeg(decoding.MAX_JPEG_SCANS - base + 1), 10**8, 64)


def test_max_decoded_mb_is_a_setting(tmp_path):
    client = make_app(tmp_path, GALLERY_MAX_DECODED_MB="1").test_client()
    token = client.get("/upload") and _token(client)

    def upload(key, data):
        return client.post(
            "/api/images",
            data={"key": key, "file": (io.BytesIO(data), key)},
            headers={"X-CSRFToken": token},
            content_type="multipart/form-data",
        )

    assert upload("small16.png", cv2_bytes(np.zeros((256, 256, 4), np.uint16), ".png")).status_code == 201  # 0.5 MB
    big = upload("big16.png", cv2_bytes(np.zeros((512, 512, 4), np.uint16), ".png"))  # 2 MB decoded
    assert big.status_code == 413
    assert "2 MB to decode (512×512 pixels × 4 channels × 16-bit); the limit is 1 MB" in big.json["error"]["message"]
    assert upload("big8.png", cv2_bytes(np.zeros((512, 512), np.uint8), ".png")).status_code == 201  # 0.25 MB


def _token(client) -> str:
    from conftest import csrf_token

    return csrf_token(client)


def test_16bit_gray_thumbnails_scale_as_before():
    """The banded conversion gives exactly what the whole-array one gave."""
    values = np.array([[0, 1, 128, 255, 256, 257, 32768, 65279, 65280, 65534, 65535]], np.uint16)
    image = Image.fromarray(values)
    expected = np.clip(values.astype(np.float64) * (255.0 / 65535.0), 0, 255).astype(np.uint8)
    assert np.array_equal(np.asarray(images._to_8bit(image)), expected)


def test_png_16bit_header_bomb_is_small():
    data = corpus.png_16bit_header(7071, 7071, 6)
    assert len(data) < 4096 and zlib.decompress(data[41:-16])  # committed with the corpus
