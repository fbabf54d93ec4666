"""Decoding and validation of uploaded images, EXIF orientation, thumbnails and display renditions.

Uploads are trusted only after Pillow has identified the format from the bytes and decoded
them completely; the container's structure is counted first (``structure``: pages, segments,
chunks, frames, the real size of an AVIF or HEIC picture), before Pillow walks it, and the pixel, frame,
decoded-size and JPEG-scan limits are checked from the header (``decoding``), before decoding, so
a decompression bomb costs a few bytes of reading, not gigabytes of memory or minutes of CPU.

One decode makes every rendition of an upload (``analyse``): the display rendition, the 2× and
1× thumbnails and the dominant colour, each from the one before. Renditions are upright sRGB
WebP without EXIF (so without GPS); the display rendition may be JPEG instead (less CPU per
upload, nearly twice the bytes; WebP all the same when it has transparency). The original keeps
its bytes as uploaded.
"""

from __future__ import annotations

import base64
import hashlib
import io
import math
import re
import struct
import warnings
from dataclasses import dataclass, field

import pillow_heif
from PIL import Image, ImageCms, UnidentifiedImageError

from ..core.errors import BadImage, NotAnImage, TooLarge
from ..core.units import format_mb
from . import decoding, exif, formats, structure

# Pillow's own bomb check warns or raises at a fixed size; ours is configurable and runs first.
Image.MAX_IMAGE_PIXELS = None
# GALLERY_MAX_DECODED_MB's default: 50 MP of 8-bit RGBA (191 MB) decode; 50 MP of 16-bit RGBA do not.
DEFAULT_MAX_DECODED = 200 * 1024 * 1024

THUMB_CONTENT_TYPE = formats.OUTPUTS["webp"]
THUMB_QUALITY = 80
DISPLAY_QUALITY = {"webp": 80, "jpeg": 82}
DISPLAY_FORMATS = tuple(DISPLAY_QUALITY)
pillow_heif.register_heif_opener()  # HEIC/HEIF; Pillow itself reads AVIF
# Major brands of the HEIF container (ISO BMFF ``ftyp``) that HEIC and AVIF files carry.
HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"})
Image.init()
# Only the decoders of the format table ever look at an upload (MPO comes from the JPEG opener).
OPENERS = [f.pillow for f in formats.TABLE if f.pillow in Image.OPEN]
# What Pillow's plugins and the HEIF/AVIF libraries raise on damaged or hostile bytes (a TIFF tag
# of the wrong type gives TypeError, libheif's security limits RuntimeError): all mean "this file
# cannot be read", a 4xx; anything else is our bug.
DECODER_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    RuntimeError,
    EOFError,
    TypeError,
    IndexError,
    KeyError,
    ZeroDivisionError,
    struct.error,
    Image.DecompressionBombError,
)


@dataclass
class AnalysedImage:
    content_type: str
    width: int  # as displayed, after EXIF orientation
    height: int
    sha256: str
    thumbnail: bytes
    thumb_width: int
    thumb_height: int
    thumb2x: bytes = b""  # twice the thumbnail's size, for 2x screens
    thumb2x_width: int = 0
    thumb2x_height: int = 0
    display: bytes = b""  # what pages show instead of the original; empty when not asked for
    display_content_type: str = ""
    display_width: int = 0
    display_height: int = 0
    color: str = ""  # dominant colour, "#rrggbb"
    taken_at: str | None = None  # ISO 8601, see exif.taken
    exif: dict = field(default_factory=dict)  # see exif.FIELDS


def open_image(
    data: bytes, max_pixels: int, max_frames: int = 1000, max_decoded: int = DEFAULT_MAX_DECODED
) -> Image.Image:
    """Identify ``data`` and check its limits from the header; nothing is decoded yet."""
    return open_checked(data, max_pixels, max_frames, max_decoded)[0]


def open_checked(
    data: bytes, max_pixels: int, max_frames: int = 1000, max_decoded: int = DEFAULT_MAX_DECODED
) -> tuple[Image.Image, decoding.Layout]:
    """``open_image`` and the layout it checked (decoded size, JPEG scans), for estimating the work."""
    if not data:
        raise NotAnImage("The file is empty.")
    structure.check(data, max_pixels, max_frames)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(io.BytesIO(data), formats=OPENERS)
    except UnidentifiedImageError as exc:
        if data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS:  # the plugins refuse a damaged one outright
            raise BadImage("The HEIC/AVIF file is damaged: its picture cannot be read.") from exc
        raise NotAnImage(f"This file is not a supported image. Upload a {formats.ACCEPTED} file.") from exc
    except DECODER_ERRORS as exc:
        raise damaged_header(exc) from exc
    try:
        return image, _checked_layout(image, data, max_pixels, max_frames, max_decoded)
    except DECODER_ERRORS as exc:  # counting frames reads more of the file
        raise damaged_header(exc) from exc


def damaged_header(exc: Exception) -> BadImage:
    return BadImage(
        f"The image header is damaged ({exc}).",
        page="This file looks damaged: its image header cannot be read. Export or save it again and retry.",
    )


def _checked_layout(
    image: Image.Image, data: bytes, max_pixels: int, max_frames: int, max_decoded: int
) -> decoding.Layout:
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
    found = decoding.layout(image, data)
    decoding.check(found, max_decoded)
    return found


def inspect(data: bytes, max_pixels: int, max_frames: int = 1000, max_decoded: int = DEFAULT_MAX_DECODED):
    """Check an image's limits from its header alone and return its layout."""
    image, found = open_checked(data, max_pixels, max_frames, max_decoded)
    image.close()
    return found


def analyse(
    data: bytes,
    max_pixels: int,
    thumb_size: int,
    max_frames: int = 1000,
    display_size: int = 0,
    display_format: str = "webp",
    max_decoded: int = DEFAULT_MAX_DECODED,
) -> AnalysedImage:
    """Validate an upload completely and make its renditions in one decode: a display rendition of
    at most ``display_size`` px (none when 0) in ``display_format``, 2x and 1x thumbnails, the
    dominant colour; and read its EXIF facts."""
    image = open_image(data, max_pixels, max_frames, max_decoded)
    content_type = formats.BY_PILLOW[image.format].mime
    orientation = header_orientation(image)
    width, height = image.size
    if orientation >= 5:
        width, height = height, width
    pixels = rgb8(srgb(load_upright(image, orientation, max(display_size, 2 * thumb_size))))
    taken_at, facts = exif.read(image, width, height)  # after decoding: PNG's EXIF may follow the pixels
    display = fit(pixels, display_size) if display_size else pixels
    thumb2x = fit(display, 2 * thumb_size)
    thumb = fit(thumb2x, thumb_size)
    display_data, display_type = encode_display(display, display_format) if display_size else (b"", "")
    return AnalysedImage(
        content_type=content_type,
        width=width,
        height=height,
        sha256=hashlib.sha256(data).hexdigest(),
        thumbnail=webp(thumb, THUMB_QUALITY),
        thumb_width=thumb.width,
        thumb_height=thumb.height,
        thumb2x=webp(thumb2x, THUMB_QUALITY),
        thumb2x_width=thumb2x.width,
        thumb2x_height=thumb2x.height,
        display=display_data,
        display_content_type=display_type,
        display_width=display.width if display_size else 0,
        display_height=display.height if display_size else 0,
        color=dominant_color(thumb),
        taken_at=taken_at,
        exif=facts,
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
        elif image.format in ("JPEG", "MPO", "WEBP", "TIFF", "AVIF"):  # AVIF: Pillow puts irot/imir here
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


def preview(
    data: bytes, max_pixels: int, side: int = 1024, max_decoded: int = DEFAULT_MAX_DECODED
) -> tuple[bytes, int, int]:
    """A WebP of at most ``side`` px, upright, for showing an image that is not stored (a data:
    URL in a page must not carry the whole upload); with the image's own upright size. One decode."""
    image = open_image(data, max_pixels, max_decoded=max_decoded)
    orientation = header_orientation(image)
    width, height = image.size
    if orientation >= 5:
        width, height = height, width
    webp, _, _ = shrink(image, orientation, side)
    return webp, width, height


def shrink(image: Image.Image, orientation: int, side: int) -> tuple[bytes, int, int]:
    """Decode an opened image completely and return it upright as a WebP of at most ``side`` px."""
    return make_thumbnail(load_upright(image, orientation, side), side)


def load_upright(image: Image.Image, orientation: int, side: int) -> Image.Image:
    """Decode an opened image completely, at least ``side`` px on its longest side where it has
    them, and turn it upright."""
    width, height = image.size
    scale = min(1.0, side / max(width, height))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # JPEGs decode at a reduced DCT scale when ``side`` is much smaller (a no-op for other
            # formats): the whole stream is still read, so truncation is detected, in less memory.
            image.draft("RGB", (max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))))
            image.load()
    except DECODER_ERRORS as exc:
        raise undecodable(exc) from exc
    return upright(image, orientation)


_HIDDEN_SIZE = re.compile(r"Security limit exceeded: Image size (\d+)x(\d+)")


def undecodable(exc: Exception) -> BadImage:
    """The error for pixels that could not be decoded; libheif's refusal of a picture larger than
    its header declares is said as such."""
    hidden = _HIDDEN_SIZE.search(str(exc))
    if hidden:
        width, height = hidden.groups()
        return BadImage(
            f"The image file is damaged: its picture is {width}×{height} pixels, larger than its header says."
        )
    return BadImage(
        f"The image could not be decoded: it looks truncated or corrupt ({exc}).",
        page="This image looks truncated or corrupt, so it cannot be read. Export or save it again and retry.",
    )


def data_url(content_type: str, data: bytes) -> str:
    return f"data:{content_type};base64,{base64.b64encode(data).decode()}"


def make_thumbnail(image: Image.Image, size: int) -> tuple[bytes, int, int]:
    """WebP thumbnail, longest side ``size``; keeps transparency, drops animation."""
    small = fit(rgb8(image), size)
    return webp(small, THUMB_QUALITY), small.width, small.height


def rgb8(image: Image.Image) -> Image.Image:
    """The image as 8-bit RGB, or RGBA when it has transparency."""
    if image.mode in ("RGB", "RGBA"):
        return image
    has_alpha = image.mode in ("LA", "PA", "RGBa", "La") or "transparency" in image.info
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        image = _to_8bit(image)
    return image.convert("RGBA" if has_alpha else "RGB")


def fit(image: Image.Image, size: int) -> Image.Image:
    """A copy no larger than ``size`` px on its longest side (never enlarged)."""
    image = image.copy()
    image.thumbnail((size, size), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return image


def encode_display(image: Image.Image, fmt: str = "webp") -> tuple[bytes, str]:
    """The display rendition's bytes and content type. WebP at libwebp effort 2 (effort 4 takes
    twice as long at 1920 px for 5% fewer bytes); JPEG only for opaque images."""
    if fmt == "webp" or image.mode == "RGBA":
        return webp(image, DISPLAY_QUALITY["webp"], method=2), formats.OUTPUTS["webp"]
    out = io.BytesIO()
    image.save(out, "JPEG", quality=DISPLAY_QUALITY["jpeg"], optimize=True)  # no EXIF or ICC unless asked for
    return out.getvalue(), formats.OUTPUTS["jpeg"]


def webp(image: Image.Image, quality: int, method: int = 4) -> bytes:
    """WebP bytes with no metadata: Pillow writes EXIF, ICC or XMP only when asked to."""
    out = io.BytesIO()
    image.save(out, "WEBP", quality=quality, method=method)
    return out.getvalue()


_SRGB = None


def srgb(image: Image.Image) -> Image.Image:
    """Pixels with an embedded colour profile (Display P3 from phones, Adobe RGB, CMYK) converted
    to sRGB, which is what a browser assumes of renditions that carry no profile."""
    global _SRGB
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if image.mode != "CMYK" and "srgb" in ImageCms.getProfileDescription(profile).lower():
            return image
        _SRGB = _SRGB or ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
        return ImageCms.profileToProfile(image, profile, _SRGB, outputMode="RGBA" if image.mode == "RGBA" else "RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image  # a broken profile: show the numbers as they are


def dominant_color(image: Image.Image) -> str:
    """The most common of a few representative colours, as ``#rrggbb`` (a placeholder's colour)."""
    if image.mode == "RGBA":  # transparent pixels count as the white a page shows through them
        image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image)
    small = image.convert("RGB").resize((24, 24), Image.Resampling.BOX)
    paletted = small.quantize(colors=4, method=Image.Quantize.MEDIANCUT)
    _, index = max(paletted.getcolors())
    red, green, blue = paletted.getpalette()[index * 3 : index * 3 + 3]
    return f"#{red:02x}{green:02x}{blue:02x}"


def _to_8bit(image: Image.Image) -> Image.Image:
    """Scale a 16-bit or float grayscale image to 0–255 (Pillow's convert would clip it), a band of
    rows at a time: the float64 copy of a whole 50 MP image would be 400 MB."""
    import numpy as np

    array = np.asarray(image)
    top = 65535.0 if image.mode.startswith("I;16") or array.max() > 255 else 255.0
    out = np.empty(array.shape, np.uint8)
    for y in range(0, array.shape[0], 512):
        out[y : y + 512] = np.clip(array[y : y + 512].astype(np.float64) * (255.0 / top), 0, 255)
    return Image.fromarray(out, "L")


def check_size(data: bytes, max_bytes: int) -> None:
    if len(data) > max_bytes:
        raise TooLarge(f"The file is {format_mb(len(data))}; the limit is {format_mb(max_bytes)}.")
