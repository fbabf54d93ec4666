"""Getting uploaded bytes ready for a detector without paying for a full-size decode.

A detector needs a few hundred pixels a side, so JPEGs are decoded at 1/2, 1/4 or 1/8 scale by
libjpeg itself (Pillow's ``draft``): a 12 MP photo never exists in memory at full size. The pixel
limit is checked from the header, before any decoding.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import BadImage, NotAnImage

# Formats a detector accepts; anything else (EPS, PSD, ...) is refused before a decoder runs.
FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")


def open_image(data: bytes, max_pixels: int) -> Image.Image:
    if not data:
        raise NotAnImage("The file is empty.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)
    except UnidentifiedImageError:
        raise NotAnImage("The file is not an image in a supported format (JPEG, PNG, WebP, GIF, BMP, TIFF).") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadImage("The image has too many pixels to process.") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise BadImage(f"The image header cannot be read: {exc}.") from None
    width, height = image.size
    if width * height > max_pixels:
        raise BadImage(f"The image is {width}×{height} pixels; at most {max_pixels:,} pixels are accepted.")
    return image


def load_rgb(data: bytes, min_side: int, max_pixels: int) -> np.ndarray:
    """Decode to an upright RGB array whose sides are at least ``min_side`` where the source allows,
    at reduced scale when the format supports it (JPEG)."""
    image = open_image(data, max_pixels)
    try:
        image.draft("RGB", (min_side, min_side))  # no-op for formats without scaled decoding
        image = ImageOps.exif_transpose(image)
        rgb = image.convert("RGB")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise BadImage(f"The image cannot be decoded: {exc}.") from None
    return np.asarray(rgb)


def fit_jpeg_png(data: bytes, max_bytes: int, max_pixels: int, max_side: int = 4096) -> bytes:
    """Bytes a service limited to JPEG/PNG of ``max_bytes`` accepts: the original when it already
    fits, else an upright JPEG re-encode, downscaled until it fits."""
    image = open_image(data, max_pixels)
    if image.format in ("JPEG", "PNG") and len(data) <= max_bytes:
        return data
    try:
        image.draft("RGB", (max_side, max_side))
        image = ImageOps.exif_transpose(image).convert("RGB")
    except (OSError, ValueError, SyntaxError) as exc:
        raise BadImage(f"The image cannot be decoded: {exc}.") from None
    side = max_side
    while True:
        image.thumbnail((side, side), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        image.save(out, "JPEG", quality=88)
        if out.tell() <= max_bytes or side <= 256:
            return out.getvalue()
        side //= 2


def preview_jpeg(data: bytes, max_pixels: int, side: int = 1024) -> tuple[bytes, int, int]:
    """An upright JPEG of at most ``side`` px for showing an upload that is not stored, with its size."""
    image = open_image(data, max_pixels)
    try:
        image.draft("RGB", (side, side))
        image = ImageOps.exif_transpose(image).convert("RGB")
    except (OSError, ValueError, SyntaxError) as exc:
        raise BadImage(f"The image cannot be decoded: {exc}.") from None
    image.thumbnail((side, side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=82)
    return out.getvalue(), image.width, image.height
