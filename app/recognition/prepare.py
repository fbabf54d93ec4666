"""Getting uploaded bytes ready for a detector without paying for a full-size decode.

A detector needs a few hundred pixels a side, so JPEGs are decoded at 1/2, 1/4 or 1/8 scale by
libjpeg itself (Pillow's ``draft``): a 12 MP photo never exists in memory at full size. The pixel
limit is checked from the header, before any decoding.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from ..imaging import formats, images


def open_image(data: bytes, max_pixels: int, max_decoded: int = images.DEFAULT_MAX_DECODED) -> Image.Image:
    """The header, checked against the limits before any decoding (shared with uploads)."""
    return images.open_image(data, max_pixels, max_decoded=max_decoded)


def load_rgb(data: bytes, min_side: int, max_pixels: int, max_decoded: int = images.DEFAULT_MAX_DECODED) -> np.ndarray:
    """Decode to an upright RGB array whose sides are at least ``min_side`` where the source allows,
    at reduced scale when the format supports it (JPEG)."""
    image = open_image(data, max_pixels, max_decoded)
    try:
        image.draft("RGB", (min_side, min_side))  # no-op for formats without scaled decoding
        rgb = images.upright(image, images.header_orientation(image)).convert("RGB")
    except images.DECODER_ERRORS as exc:
        raise images.undecodable(exc) from None
    return np.asarray(rgb)


def fit_jpeg_png(
    data: bytes, max_bytes: int, max_pixels: int, max_side: int = 4096, max_decoded: int = images.DEFAULT_MAX_DECODED
) -> bytes:
    """Bytes Rekognition accepts (the formats it reads, at most ``max_bytes``): the original when it
    already fits, else an upright JPEG re-encode, downscaled until it fits."""
    image = open_image(data, max_pixels, max_decoded)
    if formats.BY_PILLOW[image.format].rekognition and len(data) <= max_bytes:
        return data
    try:
        image.draft("RGB", (max_side, max_side))
        image = images.upright(image, images.header_orientation(image)).convert("RGB")
    except images.DECODER_ERRORS as exc:
        raise images.undecodable(exc) from None
    side = max_side
    while True:
        image.thumbnail((side, side), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        image.save(out, "JPEG", quality=88)
        if out.tell() <= max_bytes or side <= 256:
            return out.getvalue()
        side //= 2
