"""Header probing, decoding (reduced-scale and luma-only JPEG decodes, EXIF orientation as
``images.upright`` turns uploads) and encoding for the pipeline."""

from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from ..core.errors import BadImage, InvalidParameter
from ..imaging import decoding, formats, images
from .params import DEFAULT_MAX_PIXELS, DEFAULT_QUALITY
from .pixels import split_alpha, to_depth


@dataclass
class Source:
    format: str  # jpeg, png, webp, tiff, gif, bmp, ...
    width: int  # as displayed, i.e. after EXIF orientation
    height: int
    orientation: int
    grayscale: bool
    layout: decoding.Layout | None = None  # decoded size and scans, for the work budget
    alpha: bool = False  # it has transparency ("as the source" then keeps it: PNG)


def probe(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS, max_decoded: int = images.DEFAULT_MAX_DECODED) -> Source:
    """Read only the header: format, size, EXIF orientation; reject what is too large to decode."""
    im, layout = images.open_checked(data, max_pixels, max_decoded=max_decoded)
    with im:
        fmt = formats.BY_PILLOW[im.format].name
        width, height = im.size
        orientation = images.header_orientation(im)
        grayscale = im.mode in ("L", "1")
        alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
    if orientation >= 5:
        width, height = height, width
    return Source(fmt, width, height, orientation, grayscale, layout, alpha)


_JPEG_FLAGS = {  # (reduce, gray) -> imdecode flag
    (1, False): cv2.IMREAD_COLOR,
    (1, True): cv2.IMREAD_GRAYSCALE,
    (2, False): cv2.IMREAD_REDUCED_COLOR_2,
    (4, False): cv2.IMREAD_REDUCED_COLOR_4,
    (8, False): cv2.IMREAD_REDUCED_COLOR_8,
    (2, True): cv2.IMREAD_REDUCED_GRAYSCALE_2,
    (4, True): cv2.IMREAD_REDUCED_GRAYSCALE_4,
    (8, True): cv2.IMREAD_REDUCED_GRAYSCALE_8,
}


def decode(data: bytes, source: Source, reduce: int = 1, luma_only: bool = False) -> np.ndarray:
    """Decode once, upright. JPEGs optionally at 1/``reduce`` size or as their luma plane only
    (the JPEG's own Y, which is what BGR→gray computes, give or take rounding). Alpha and 16
    bits are kept."""
    buf = np.frombuffer(data, np.uint8)
    if source.format in formats.PILLOW_DECODES:  # HEIC, AVIF: OpenCV has no reader for them (or not ours)
        img = None
    elif source.format == "jpeg":
        gray = source.grayscale or luma_only
        img = cv2.imdecode(buf, _JPEG_FLAGS[reduce, gray] | cv2.IMREAD_IGNORE_ORIENTATION)
    else:
        img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)  # keeps alpha and 16 bits, ignores orientation
    if img is None:
        img = _decode_with_pillow(data)
    if img.dtype not in (np.uint8, np.uint16):
        img = _normalise_depth(img)
    return images.upright(img, source.orientation)


def _decode_with_pillow(data: bytes) -> np.ndarray:
    """For what OpenCV cannot read (HEIC, AVIF, some GIF/TIFF variants): first frame only, as
    stored (``decode`` turns it upright as the header's orientation says)."""
    try:
        with Image.open(io.BytesIO(data), formats=images.OPENERS) as im:
            if im.mode in ("I;16", "I;16B", "I;16L"):
                return np.asarray(im.convert("I;16"), dtype=np.uint16)
            if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:
                return cv2.cvtColor(np.asarray(im.convert("RGBA")), cv2.COLOR_RGBA2BGRA)
            if im.mode in ("L", "1"):
                return np.asarray(im.convert("L"))
            return cv2.cvtColor(np.asarray(im.convert("RGB")), cv2.COLOR_RGB2BGR)
    except Exception as exc:
        raise images.undecodable(exc) from None


def _normalise_depth(img: np.ndarray) -> np.ndarray:
    if img.dtype.kind == "f":  # float TIFFs hold 0..1
        return np.clip(img * 65535 + 0.5, 0, 65535).astype(np.uint16)
    info = np.iinfo(img.dtype)
    scaled = (img.astype(np.float64) - info.min) / (info.max - info.min)
    return (scaled * 65535 + 0.5).astype(np.uint16)


def _over_white(img: np.ndarray) -> np.ndarray:
    color, alpha = split_alpha(img)
    if alpha is None:
        return img
    if alpha.min() == alpha.max() == (255 if alpha.dtype == np.uint8 else 65535):
        return color
    a = alpha.astype(np.float32) / (255 if alpha.dtype == np.uint8 else 65535)
    white = 255 if color.dtype == np.uint8 else 65535
    out = color.astype(np.float32) * a[..., None] + white * (1 - a[..., None])
    return out.round().astype(color.dtype)


def encode(img: np.ndarray, fmt: str, quality: int | None = None) -> bytes:
    """JPEG and WebP are 8-bit (JPEG flattens alpha onto white); PNG keeps 16 bits and alpha."""
    if fmt == "jpeg":
        img = to_depth(_over_white(img), np.uint8)
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality or DEFAULT_QUALITY["jpeg"]])
    elif fmt == "webp":
        ok, buf = cv2.imencode(
            ".webp", to_depth(img, np.uint8), [cv2.IMWRITE_WEBP_QUALITY, quality or DEFAULT_QUALITY["webp"]]
        )
    elif fmt == "png":
        ok, buf = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 3])
    else:
        raise InvalidParameter(f"format must be one of {', '.join(formats.OUTPUTS)}; got {fmt!r}.")
    if not ok:
        raise BadImage(f"The result could not be encoded as {fmt}.")
    return buf.tobytes()
