"""Renditions made on demand, after upload: the *large* one the photo viewer loads when a zoom
outgrows the display rendition (about twice its size), so a pinch never costs the original.
Pure (no Flask); run in the work pool through ``ImageWork``."""

from __future__ import annotations

from . import images
from .images import DEFAULT_MAX_DECODED

# WebP (core.blobs.LARGE_CONTENT_TYPE) whatever GALLERY_DISPLAY_FORMAT says: every browser draws
# it, alpha included, and an on-demand rendition has no record field to say otherwise.
LARGE_QUALITY = images.DISPLAY_QUALITY["webp"]


def large(data: bytes, max_pixels: int, side: int, max_decoded: int = DEFAULT_MAX_DECODED) -> bytes:
    """A WebP of at most ``side`` px on its longest side (never enlarged), upright and in sRGB like
    the display rendition, so swapping one for the other changes only the detail."""
    image = images.open_image(data, max_pixels, max_decoded=max_decoded)
    orientation = images.header_orientation(image)
    pixels = images.rgb8(images.srgb(images.load_upright(image, orientation, side)))
    return images.webp(images.fit(pixels, side), LARGE_QUALITY, method=2)
