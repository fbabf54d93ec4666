"""Decoding and validation of uploads: formats by content, limits before decoding, EXIF, thumbnails."""

from __future__ import annotations

import functools
import hashlib
import io
import struct
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import make_image
from PIL import Image, ImageOps

from app.core.errors import BadImage, NotAnImage, TooLarge
from app.imaging import images

DATA = Path(__file__).parent / "data"
LIMIT = 50_000_000


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


@functools.cache
def png_bomb(width: int = 20_000, height: int = 20_000) -> bytes:
    """A complete, valid 1-bit PNG of ``width``×``height`` black pixels in a few tens of KB."""
    raw = bytes((1 + (width + 7) // 8) * height)  # a filter byte and packed bits per row, all zero
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b"")
    )


def oriented_jpeg(orientation: int, size=(640, 480)) -> bytes:
    """A JPEG whose stored pixels are ``size`` and whose EXIF asks for ``orientation``."""
    image = Image.new("RGB", size, (20, 160, 40))
    image.paste((230, 20, 20), (0, 0, size[0] // 4, size[1] // 4))  # a marker in the stored top-left
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


FORMATS = [
    ("JPEG", "image/jpeg", {}),
    ("PNG", "image/png", {}),
    ("GIF", "image/gif", {}),
    ("WEBP", "image/webp", {}),
    ("BMP", "image/bmp", {}),
    ("TIFF", "image/tiff", {}),
    ("TIFF", "image/tiff", {"compression": "tiff_lzw"}),
]


@pytest.mark.parametrize(("fmt", "content_type", "options"), FORMATS)
def test_the_six_formats_are_accepted_by_content(fmt, content_type, options):
    data = make_image(fmt, size=(500, 250), **options)
    analysed = images.analyse(data, LIMIT, 360)
    assert analysed.content_type == content_type
    assert (analysed.width, analysed.height) == (500, 250)
    assert analysed.sha256 == hashlib.sha256(data).hexdigest()
    thumb = decode(analysed.thumbnail)
    assert thumb.format == "WEBP"
    assert thumb.size == (360, 180) == (analysed.thumb_width, analysed.thumb_height)


@pytest.mark.parametrize("fmt", ["ICO", "PCX", "PPM", "TGA", "EPS"])
def test_other_image_formats_are_not_accepted(fmt):
    if fmt == "EPS":
        data = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"
    else:
        data = make_image(fmt, size=(32, 32))
    with pytest.raises(NotAnImage) as raised:
        images.analyse(data, LIMIT, 360)
    assert raised.value.status == 415
    assert "JPEG, PNG, GIF, WebP, BMP, TIFF, HEIC or AVIF" in raised.value.message


@pytest.mark.parametrize(
    "data",
    [b"", b"hello, this is a text file renamed .jpg\n", b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"%PDF-1.7\n"],
)
def test_non_images_are_415(data):
    with pytest.raises(NotAnImage):
        images.analyse(data, LIMIT, 360)


def test_the_pixel_limit_is_checked_from_the_header_without_decoding():
    bomb = png_bomb()
    assert len(bomb) < 200_000  # a 400-megapixel image in a small file: the classic bomb
    tracemalloc.start()
    try:
        with pytest.raises(TooLarge) as raised:
            images.analyse(bomb, LIMIT, 360)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert raised.value.status == 413
    assert "20000×20000" in raised.value.message
    assert peak < 5_000_000  # decoding would need 50 MB even at one bit per pixel


def test_an_image_exactly_at_the_pixel_limit_is_accepted():
    data = make_image("PNG", size=(100, 50))
    assert images.analyse(data, 5000, 360).width == 100
    with pytest.raises(TooLarge):
        images.analyse(data, 4999, 360)


def test_the_frame_limit():
    frames = [Image.new("RGB", (8, 8), (i * 40, 0, 0)) for i in range(5)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=50)
    assert images.analyse(out.getvalue(), LIMIT, 360, max_frames=5).content_type == "image/gif"
    with pytest.raises(BadImage):
        images.analyse(out.getvalue(), LIMIT, 360, max_frames=4)


@pytest.mark.parametrize("cut", [0.5, 0.9, 0.99])
def test_a_truncated_jpeg_is_422(cut):
    data = make_image("JPEG", size=(640, 480))
    with pytest.raises(BadImage) as raised:
        images.analyse(data[: int(len(data) * cut)], LIMIT, 360)
    assert raised.value.status == 422


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "GIF"])
def test_other_truncated_images_are_422(fmt):
    data = make_image(fmt, size=(300, 200))
    with pytest.raises(BadImage):
        images.analyse(data[: len(data) // 2], LIMIT, 360)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_honoured_in_dimensions_and_thumbnail(orientation):
    data = oriented_jpeg(orientation)
    analysed = images.analyse(data, LIMIT, 360)
    turned = orientation in (5, 6, 7, 8)
    assert (analysed.width, analysed.height) == ((480, 640) if turned else (640, 480))
    thumb = decode(analysed.thumbnail)
    assert thumb.size == ((270, 360) if turned else (360, 270))
    # The red marker moves with the orientation exactly as Pillow's own transpose puts it.
    expected = np.asarray(ImageOps.exif_transpose(decode(data)).resize(thumb.size, Image.Resampling.BOX), dtype=float)
    assert np.abs(np.asarray(thumb.convert("RGB"), dtype=float) - expected).mean() < 12


def test_thumbnail_longest_side_and_size():
    photo = (DATA / "dog.jpg").read_bytes()
    analysed = images.analyse(photo, LIMIT, 360)
    assert max(analysed.thumb_width, analysed.thumb_height) == 360
    assert len(analysed.thumbnail) < 60_000  # a few tens of KB
    assert decode(analysed.thumbnail).format == "WEBP"


def test_small_images_are_not_upscaled():
    analysed = images.analyse(make_image("PNG", size=(40, 30)), LIMIT, 360)
    assert (analysed.thumb_width, analysed.thumb_height) == (40, 30)


def test_thumbnails_keep_transparency():
    analysed = images.analyse(make_image("PNG", size=(400, 400), mode="RGBA"), LIMIT, 360)
    thumb = decode(analysed.thumbnail)
    assert thumb.mode == "RGBA"
    assert 100 < np.asarray(thumb)[..., 3].mean() < 160  # the source alpha is 128 everywhere


def test_sixteen_bit_grayscale_is_scaled_not_clipped():
    ramp = (np.linspace(0, 65535, 400)[None, :].repeat(100, 0)).astype(np.uint16)
    out = io.BytesIO()
    Image.fromarray(ramp).save(out, "PNG")
    thumb = np.asarray(decode(images.analyse(out.getvalue(), LIMIT, 360).thumbnail).convert("L"), dtype=float)
    assert thumb[:, :20].mean() < 30 and thumb[:, -20:].mean() > 225
    assert 100 < thumb[:, 170:190].mean() < 160  # mid-grey in the middle, not white


def test_unreadable_exif_falls_back_to_stored_pixels():
    data = bytearray(oriented_jpeg(6, size=(200, 100)))
    start = data.index(b"Exif\x00\x00") + 6
    data[start : start + 8] = b"XXXXXXXX"  # the TIFF header inside the EXIF block is garbage
    analysed = images.analyse(bytes(data), LIMIT, 360)
    assert (analysed.width, analysed.height) in ((200, 100), (100, 200))
    assert decode(analysed.thumbnail).size in ((200, 100), (100, 200))


def test_check_size():
    images.check_size(b"x" * 100, 100)
    with pytest.raises(TooLarge):
        images.check_size(b"x" * 101, 100)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_upright_turns_opencv_arrays_as_it_turns_pillow_images(orientation):
    """Processing decodes with OpenCV; its pixels must turn exactly as the uploads' do."""
    pixels = np.arange(3 * 5 * 3, dtype=np.uint8).reshape(3, 5, 3)
    expected = np.asarray(images.upright(Image.fromarray(pixels), orientation))
    assert np.array_equal(images.upright(pixels, orientation), expected)
    as_16_bits = pixels.astype(np.uint16) * 257  # a type Pillow cannot hold as RGB
    assert np.array_equal(images.upright(as_16_bits, orientation), expected.astype(np.uint16) * 257)
