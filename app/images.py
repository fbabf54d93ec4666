"""Decoding and validation of uploaded images, EXIF orientation and thumbnails.

Uploads are trusted only after Pillow has identified the format from the bytes and decoded
them completely; the pixel and frame limits are checked from the header, before decoding,
so a decompression bomb costs a few bytes of reading, not gigabytes of memory.
"""

from __future__ import annotations

import base64
import hashlib
import io
import struct
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from . import formats
from .errors import BadImage, NotAnImage, TooLarge
from .units import format_mb

# Pillow's own bomb check warns or raises at a fixed size; ours is configurable and runs first.
Image.MAX_IMAGE_PIXELS = None

THUMB_CONTENT_TYPE = formats.OUTPUTS["webp"]
Image.init()
# Only the decoders of the format table ever look at an upload (MPO comes from the JPEG opener).
OPENERS = [f.pillow for f in formats.TABLE if f.pillow in Image.OPEN]


@dataclass
class AnalysedImage:
    content_type: str
    width: int  # as displayed, after EXIF orientation
    height: int
    sha256: str
    thumbnail: bytes
    thumb_width: int
    thumb_height: int


def open_image(data: bytes, max_pixels: int, max_frames: int = 1000) -> Image.Image:
    """Identify ``data`` and check its limits from the header; nothing is decoded yet."""
    if not data:
        raise NotAnImage("The file is empty.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(io.BytesIO(data), formats=OPENERS)
    except UnidentifiedImageError as exc:
        raise NotAnImage(f"This file is not a supported image. Upload a {formats.ACCEPTED} file.") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise BadImage(
            f"The image header is damaged ({exc}).",
            page="This file looks damaged: its image header cannot be read. Export or save it again and retry.",
        ) from exc
    width, height = image.size
    if width < 1 or height < 1:
        raise BadImage("The image has no pixels.")
    if width * height > max_pixels:
        raise TooLarge(
            f"The image is {width}×{height} = {width * height:,} pixels; the limit is {max_pixels:,} pixels."
        )
    frames = getattr(image, "n_frames", 1)
    if frames > max_frames:
        raise BadImage(f"The image has {frames:,} frames; at most {max_frames:,} are accepted.")
    return image


def analyse(data: bytes, max_pixels: int, thumb_size: int, max_frames: int = 1000) -> AnalysedImage:
    """Validate an upload completely and make its thumbnail in one decode."""
    image = open_image(data, max_pixels, max_frames)
    content_type = formats.BY_PILLOW[image.format].mime
    orientation = header_orientation(image)
    width, height = image.size
    if orientation >= 5:
        width, height = height, width
    thumbnail, thumb_width, thumb_height = shrink(image, orientation, thumb_size)
    return AnalysedImage(
        content_type=content_type,
        width=width,
        height=height,
        sha256=hashlib.sha256(data).hexdigest(),
        thumbnail=thumbnail,
        thumb_width=thumb_width,
        thumb_height=thumb_height,
    )


def header_orientation(image: Image.Image) -> int:
    """EXIF orientation (1–8) read from the header alone, without decoding pixels.

    Pillow's PNG ``getexif()`` decodes the whole image when no eXIf chunk precedes the pixels,
    so for PNG only such a chunk counts (as the PNG spec wants). Unreadable EXIF counts as 1:
    the pixels are shown as stored.
    """
    try:
        if image.format == "PNG":
            raw = image.info.get("exif")
            if not raw:
                return 1
            exif = Image.Exif()
            exif.load(raw)
            value = exif.get(0x0112, 1)
        elif image.format in ("JPEG", "MPO", "WEBP", "TIFF"):
            value = image.getexif().get(0x0112, 1)
        else:
            return 1
    except (OSError, ValueError, SyntaxError, TypeError, struct.error):
        return 1
    return value if value in range(1, 9) else 1


_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def upright(image, orientation: int):
    """The pixels turned as EXIF orientation asks (what ``ImageOps.exif_transpose`` does): a Pillow
    image, or an OpenCV array (processing decodes with OpenCV to keep 16 bits and alpha)."""
    method = _TRANSPOSE.get(orientation)
    if method is None:
        return image
    if isinstance(image, Image.Image):
        return image.transpose(method)
    return _transpose_array(image, method)


def _transpose_array(array, method: Image.Transpose):
    """Pillow's transpose on an OpenCV array (OpenCV's own copies are several times faster than numpy's)."""
    import cv2

    if method == Image.Transpose.TRANSPOSE:
        return cv2.transpose(array)
    if method == Image.Transpose.TRANSVERSE:
        return cv2.flip(cv2.transpose(array), -1)
    if method == Image.Transpose.FLIP_LEFT_RIGHT:
        return cv2.flip(array, 1)
    if method == Image.Transpose.FLIP_TOP_BOTTOM:
        return cv2.flip(array, 0)
    turns = {  # Pillow turns counter-clockwise
        Image.Transpose.ROTATE_90: cv2.ROTATE_90_COUNTERCLOCKWISE,
        Image.Transpose.ROTATE_180: cv2.ROTATE_180,
        Image.Transpose.ROTATE_270: cv2.ROTATE_90_CLOCKWISE,
    }
    return cv2.rotate(array, turns[method])


def preview(data: bytes, max_pixels: int, side: int = 1024) -> tuple[bytes, int, int]:
    """A WebP of at most ``side`` px, upright, for showing an image that is not stored (a data:
    URL in a page must not carry the whole upload); with the image's own upright size. One decode."""
    image = open_image(data, max_pixels)
    orientation = header_orientation(image)
    width, height = image.size
    if orientation >= 5:
        width, height = height, width
    webp, _, _ = shrink(image, orientation, side)
    return webp, width, height


def shrink(image: Image.Image, orientation: int, side: int) -> tuple[bytes, int, int]:
    """Decode an opened image completely and return it upright as a WebP of at most ``side`` px."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # JPEGs decode at a reduced DCT scale when ``side`` is much smaller (a no-op for other
            # formats): the whole stream is still read, so truncation is detected, in less memory.
            image.draft("RGB", (side, side))
            image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise BadImage(
            f"The image could not be decoded: it looks truncated or corrupt ({exc}).",
            page="This image looks truncated or corrupt, so it cannot be read. Export or save it again and retry.",
        ) from exc
    return make_thumbnail(upright(image, orientation), side)


def data_url(content_type: str, data: bytes) -> str:
    return f"data:{content_type};base64,{base64.b64encode(data).decode()}"


def make_thumbnail(image: Image.Image, size: int) -> tuple[bytes, int, int]:
    """WebP thumbnail, longest side ``size``; keeps transparency, drops animation."""
    image = image.copy()
    if image.mode not in ("RGB", "RGBA"):
        has_alpha = image.mode in ("LA", "PA", "RGBa", "La") or "transparency" in image.info
        if image.mode.startswith("I;16") or image.mode in ("I", "F"):
            image = _to_8bit(image)
        image = image.convert("RGBA" if has_alpha else "RGB")
    image.thumbnail((size, size), Image.Resampling.LANCZOS, reducing_gap=3.0)
    out = io.BytesIO()
    image.save(out, "WEBP", quality=80, method=4)
    return out.getvalue(), image.width, image.height


def _to_8bit(image: Image.Image) -> Image.Image:
    """Scale a 16-bit or float grayscale image to 0–255 (Pillow's convert would clip it)."""
    import numpy as np

    array = np.asarray(image, dtype=np.float64)
    top = 65535.0 if image.mode.startswith("I;16") or array.max() > 255 else 255.0
    return Image.fromarray(np.clip(array * (255.0 / top), 0, 255).astype(np.uint8), "L")


def check_size(data: bytes, max_bytes: int) -> None:
    if len(data) > max_bytes:
        raise TooLarge(f"The file is {format_mb(len(data))}; the limit is {format_mb(max_bytes)}.")
