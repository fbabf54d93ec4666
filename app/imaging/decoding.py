"""What decoding an image will cost, read from its header before a single pixel is decoded.

A pixel limit alone lets two kinds of decode bomb through. Wide samples: 50 MP of 16-bit
RGBA decode to 400 MB, twice 50 MP of 8-bit RGBA, and every copy an operation makes is as
large. Scans: each scan of a progressive JPEG makes libjpeg pass over the whole image's
coefficients, so a 7071×7071 JPEG followed by 10,000 tiny identical scans (846 KB) costs
over a minute of CPU. :class:`Layout` reads the decoded size and the scan count from the
bytes; :func:`check` refuses what is out of proportion.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from ..core.errors import BadImage, TooLarge
from ..core.units import format_mb
from . import structure

# Real encoders write about 10 scans (libjpeg's progressive script), rarely a few dozen;
# libjpeg-turbo's tools refuse more than 100 for exactly this attack.
MAX_JPEG_SCANS = 100

# Channels as our decoders produce them: OpenCV and Pillow expand a palette to colour (with alpha
# when it has transparency) and gray + alpha to four channels.
_ONE = frozenset({"1", "L", "I", "F", "I;16", "I;16L", "I;16B", "I;16N"})
_THREE = frozenset({"RGB", "YCbCr", "LAB", "HSV"})

# Estimated CPU nanoseconds per decoded byte, per format (measured with OpenCV 4.13 and Pillow 13
# on one x86-64 core, rounded up): what a request costs before any operation runs.
_DECODE_NS = {"JPEG": 2.0, "MPO": 2.0, "PNG": 8.0, "WEBP": 8.0, "TIFF": 8.0, "GIF": 12.0, "BMP": 1.0}
_JPEG_SCAN_NS = 0.3  # and per scan of a JPEG: one more pass over the coefficients


@dataclass(frozen=True)
class Layout:
    """An image's size in memory once decoded, and its scan count, from the header."""

    format: str  # Pillow's name: JPEG, PNG, ...
    width: int
    height: int
    channels: int  # as decoded: 1 (gray), 3 (colour), 4 (with alpha)
    sample_bytes: int  # 1, 2 (16-bit) or 4 (32-bit integer or float)
    scans: int = 1  # JPEG: scans before the end of the first image

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def decoded_bytes(self) -> int:
        return self.pixels * self.channels * self.sample_bytes

    def decode_seconds(self) -> float:
        """Estimated CPU seconds of one full decode (a reduced JPEG decode costs less; this is an upper bound)."""
        per_byte = _DECODE_NS.get(self.format, 12.0)
        if self.format in ("JPEG", "MPO"):
            per_byte += _JPEG_SCAN_NS * self.scans
        return self.decoded_bytes * per_byte / 1e9


def layout(image: Image.Image, data: bytes) -> Layout:
    """The layout of an opened (not yet decoded) image."""
    mode = image.mode
    if mode in _ONE:
        channels = 1
    elif mode in _THREE or (mode == "P" and "transparency" not in image.info):
        channels = 3
    else:
        channels = 4
    scans = jpeg_scans(data) if image.format in ("JPEG", "MPO") else 1
    return Layout(image.format, image.width, image.height, channels, _sample_bytes(image), scans)


def _sample_bytes(image: Image.Image) -> int:
    """Pillow shows 16-bit colour PNG and TIFF as 8-bit modes; the tile's raw mode says what is stored."""
    if image.mode in ("I", "F"):
        return 4
    if image.mode.startswith("I;16"):
        return 2
    for tile in image.tile[:1]:
        args = tile.args
        raw = args if isinstance(args, str) else args[0] if isinstance(args, tuple) and args else ""
        if isinstance(raw, str) and ("16" in raw or "32" in raw):
            return 4 if "32" in raw else 2
    return 1


def check(found: Layout, max_decoded: int) -> None:
    """Refuse an image whose decoding alone is out of proportion to any real photo."""
    if found.decoded_bytes > max_decoded:
        depth = f"{found.sample_bytes * 8}-bit"
        raise TooLarge(
            f"The image would take {format_mb(found.decoded_bytes)} to decode ({found.width}×{found.height} pixels "
            f"× {found.channels} channels × {depth}); the limit is {format_mb(max_decoded)}. Save it smaller or "
            "with 8 bits per channel."
        )
    if found.scans > MAX_JPEG_SCANS:
        raise BadImage(
            f"The JPEG has more than {MAX_JPEG_SCANS} scans; encoders write about 10. "
            "Each scan is decoded over the whole image, so it is refused."
        )


def jpeg_scans(data: bytes, limit: int = MAX_JPEG_SCANS) -> int:
    """Start-of-scan markers of the first image in a JPEG, counted by walking its segments (up to
    ``limit + 1``) without decoding.

    A sequential JPEG whose first scan holds every component (every camera's) is decoded in one
    scan: libjpeg stops there, so nothing after it needs reading. Otherwise (progressive, or a
    first scan of one component) every scan is found: entropy-coded data never holds 0xFF followed
    by anything but 0x00 or a restart marker, so every other 0xFF xx is a marker candidate; numpy
    finds them at memory speed, and the walk jumps from segment to segment, skipping candidates
    inside segment payloads.
    """
    first = _first_scan(data)
    if first is not None and first[0] in (0xC0, 0xC1) and first[1] == first[2]:
        return 1
    import numpy as np  # only for progressive JPEGs: pages and cold starts never load it

    buf = np.frombuffer(data, np.uint8)
    ff = np.flatnonzero(buf[:-1] == 0xFF)
    following = buf[ff + 1]
    candidates = ff[(following != 0) & (following != 0xFF) & ((following < 0xD0) | (following > 0xD7))]
    scans, segments, pos, end = 0, 0, 2, len(data)
    while True:
        segments += 1
        if segments > structure.MAX_JPEG_SEGMENTS:  # APP segments between scans: each a step of this loop
            raise structure.too_much("JPEG", "segments", structure.MAX_JPEG_SEGMENTS, "cameras write about 15.")
        i = int(np.searchsorted(candidates, pos))
        if i == len(candidates):
            return scans
        pos = int(candidates[i])
        marker = data[pos + 1]
        if marker == 0xD9:  # end of image: anything after it (a second MPO frame, a ZIP) is never decoded
            return scans
        if marker in (0x01, 0xD8):  # markers without a length
            pos += 2
            continue
        if pos + 4 > end:
            return scans
        if marker == 0xDA:
            scans += 1
            if scans > limit:
                return scans
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")


_FRAMES = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def _first_scan(data: bytes) -> tuple[int, int, int] | None:
    """(frame marker, components in the frame, components in the first scan), read from the headers
    before the first scan; None when they do not walk cleanly."""
    pos, frame, end = 2, None, len(data)
    while pos + 4 <= end and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _FRAMES and pos + 10 <= end:
            frame = (marker, data[pos + 9])
        elif marker == 0xDA:
            return None if frame is None else (*frame, data[pos + 4])
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return None
