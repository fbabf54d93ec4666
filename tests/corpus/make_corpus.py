"""The bad-input corpus: malicious or broken uploads, each with the outcome the app must give.

Every case is built here from a few lines of code, so the corpus is reviewable and
reproducible. Small files (at most ``COMMIT_LIMIT`` bytes) are also committed under
``files/`` for other tools; the big ones (bombs, thousands of frames, oversize bodies) are
only built when needed. ``python tests/corpus/make_corpus.py`` rewrites ``files/``;
``tests/test_bad_inputs.py`` checks the committed files still match this script.

An expectation is ``reject(status, code, phrase)`` — a 4xx whose message contains ``phrase``
— or ``accept(content_type)`` for inputs that are odd but valid (16-bit, CMYK, a lying
extension, trailing junk after a complete image): refusing those would be a bug too.
"""

from __future__ import annotations

import io
import struct
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"
COMMIT_LIMIT = 4096

NOT_AN_IMAGE = (415, "unsupported_media_type", "not a supported image")
EMPTY = (415, "unsupported_media_type", "The file is empty")
TOO_MANY_PIXELS = (413, "too_large", "pixels; the limit is")
TOO_MANY_BYTES = (413, "too_large", "to decode")
TOO_MANY_SCANS = (422, "unprocessable_image", "scans")
CORRUPT = (422, "unprocessable_image", "")
TRUNCATED = (422, "unprocessable_image", "truncated or corrupt")
DAMAGED_HEADER = (422, "unprocessable_image", "header is damaged")
TOO_MANY_FRAMES = (422, "unprocessable_image", "frames; at most")
HIDDEN_PICTURE = (422, "unprocessable_image", "larger than its header says")


@dataclass(frozen=True)
class Case:
    name: str  # also the upload's file name (the extension may lie on purpose)
    build: object  # () -> bytes
    status: int
    code: str = ""
    phrase: str = ""
    content_type: str = ""  # accepted cases: the type the bytes really are
    why: str = ""

    @property
    def accepted(self) -> bool:
        return self.status < 300


def reject(name, build, expected, why):
    status, code, phrase = expected
    return Case(name, build, status, code, phrase, why=why)


def accept(name, build, content_type, why):
    return Case(name, build, 201, content_type=content_type, why=why)


# -- building blocks -------------------------------------------------------------------------
def encode(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def gradient(size=(48, 32), mode="RGB") -> Image.Image:
    width, height = size
    x = np.linspace(0, 255, width, dtype=np.uint8)[None, :].repeat(height, 0)
    y = np.linspace(0, 255, height, dtype=np.uint8)[:, None].repeat(width, 1)
    rgb = Image.fromarray(np.dstack([x, y, 255 - x]), "RGB")
    return rgb if mode == "RGB" else rgb.convert(mode)


def jpeg(**options) -> bytes:
    return encode(gradient(), "JPEG", quality=80, **options)


def big_jpeg() -> bytes:
    """Big enough that cutting it in half lands inside the compressed scan, not the headers."""
    return encode(gradient((160, 120)), "JPEG", quality=90)


def png(**options) -> bytes:
    return encode(gradient(), "PNG", **options)


def gif() -> bytes:
    return encode(gradient().convert("P"), "GIF")


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_from_chunks(*chunks: bytes) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def ihdr(width, height, depth=8, color=0) -> bytes:
    return chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0))


def png_huge_header(width, height) -> bytes:
    """A PNG whose header claims a huge size; its one IDAT holds a single row."""
    return png_from_chunks(ihdr(width, height), chunk(b"IDAT", zlib.compress(b"\0" * 64)), chunk(b"IEND", b""))


def png_with(extra: bytes) -> bytes:
    """A valid PNG with an extra chunk placed right after IHDR."""
    data = png()
    return data[:33] + extra + data[33:]


def png_text_bomb(kind: bytes) -> bytes:
    """zTXt/iCCP whose compressed payload inflates to 64 MB (Pillow caps text chunks)."""
    inflated = zlib.compress(b"\0" * (64 * 1024 * 1024), 9)
    return png_with(chunk(kind, b"bomb\0\0" + inflated))


def patch(data: bytes, offset: int, packed: bytes) -> bytes:
    return data[:offset] + packed + data[offset + len(packed) :]


def jpeg_huge_sof() -> bytes:
    """A small JPEG whose frame header (SOF0) claims 65500×65500 pixels."""
    data = jpeg()
    sof = data.index(b"\xff\xc0")
    return patch(data, sof + 5, struct.pack(">HH", 65500, 65500))


def jpeg_with_segment(marker: int, payload: bytes) -> bytes:
    data = jpeg()
    segment = bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload
    return data[:2] + segment + data[2:]


def exif_segment(tiff: bytes) -> bytes:
    return jpeg_with_segment(0xE1, b"Exif\0\0" + tiff)


def exif_ifd_loop() -> bytes:
    """IFD0 whose next-IFD offset points at itself, plus an ExifIFD pointer to IFD0."""
    entries = [(0x0112, 3, 1, 6), (0x8769, 4, 1, 8)]  # Orientation, ExifIFD -> offset 8 (IFD0 again)
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        ifd += struct.pack("<HHII", tag, kind, count, value)
    ifd += struct.pack("<I", 8)
    return exif_segment(b"II*\0" + struct.pack("<I", 8) + ifd)


def exif_huge_count() -> bytes:
    """An ASCII entry claiming 4 GB of text at an offset past the end."""
    ifd = struct.pack("<H", 1) + struct.pack("<HHII", 0x010E, 2, 0xFFFFFFF0, 0x7FFFFFF0) + struct.pack("<I", 0)
    return exif_segment(b"II*\0" + struct.pack("<I", 8) + ifd)


def exif_orientation(value: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = value
    return encode(gradient(), "JPEG", exif=exif)


def gif_huge_screen() -> bytes:
    return patch(gif(), 6, struct.pack("<HH", 65535, 65535))


def gif_zero_size() -> bytes:
    data = patch(gif(), 6, struct.pack("<HH", 0, 0))
    descriptor = data.index(b"\x2c")  # the image descriptor's width/height too
    return patch(data, descriptor + 5, struct.pack("<HH", 0, 0))


def gif_frames(count: int) -> bytes:
    frames = [Image.new("P", (1, 1), i % 2) for i in range(count)]
    for frame in frames:
        frame.putpalette([0, 0, 0, 255, 255, 255])
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=10, optimize=False)


def bmp_huge() -> bytes:
    data = encode(gradient((4, 4)), "BMP")
    return patch(data, 18, struct.pack("<ii", 100_000, 100_000))


def bmp_bad_depth() -> bytes:
    data = encode(gradient((4, 4)), "BMP")
    return patch(data, 28, struct.pack("<H", 7))  # 7 bits per pixel does not exist


def tiff_minimal(width: int, height: int, strip: bytes, compression: int = 1) -> bytes:
    """A grayscale little-endian TIFF written by hand, so the header can say anything."""
    entries = [
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 1, 8),
        (259, 3, 1, compression),
        (262, 3, 1, 1),
        (273, 4, 1, 0),  # StripOffsets, patched below
        (278, 4, 1, height),
        (279, 4, 1, len(strip)),
    ]
    ifd_size = 2 + 12 * len(entries) + 4
    data_offset = 8 + ifd_size
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        value = data_offset if tag == 273 else value
        if kind == 3:
            ifd += struct.pack("<HHIHH", tag, kind, count, value, 0)
        else:
            ifd += struct.pack("<HHII", tag, kind, count, value)
    ifd += struct.pack("<I", 0)
    return b"II*\0" + struct.pack("<I", 8) + ifd + strip


def png_16bit_header(width: int, height: int, color: int) -> bytes:
    """A 16-bit PNG that claims ``width``×``height`` (color type 2 RGB, 6 RGBA); one row of pixels
    follows. Refused from the header, so the rest is never needed."""
    row = b"\0" * (1 + width * (8 if color == 6 else 6))
    return png_from_chunks(ihdr(width, height, 16, color), chunk(b"IDAT", zlib.compress(row, 9)), chunk(b"IEND", b""))


def jpeg_scan_bomb(scans: int = 10_000) -> bytes:
    """A flat 7071×7071 progressive JPEG (196 KB) whose last AC scan (75 bytes: its end-of-band runs
    cover every block) is repeated ``scans`` times: libjpeg decodes each, passing over all 50 MP."""
    data = encode(Image.new("L", (7071, 7071), 128), "JPEG", progressive=True, quality=75)
    last = data.rindex(b"\xff\xda")
    return data[:-2] + data[last:-2] * scans + data[-2:]


# -- crafted containers (issue 23): structure that costs a decoder far more than its bytes ------
def tiff_pages(count: int, loop: bool = False) -> bytes:
    """A TIFF of ``count`` 1×1 pages in 42-byte IFDs (three tags each; Pillow searched its list of
    pages once per page: 100,000 of them cost a minute); with ``loop`` the last points at the first."""
    pixel_at = 8 + 42 * count
    pages = bytearray()
    for i in range(count):
        following = 8 + 42 * (i + 1) if i + 1 < count else (8 if loop else 0)
        pages += struct.pack("<H", 3)
        pages += struct.pack("<HHII", 256, 4, 1, 1) + struct.pack("<HHII", 257, 4, 1, 1)
        pages += struct.pack("<HHII", 273, 4, 1, pixel_at) + struct.pack("<I", following)
    return b"II*\0" + struct.pack("<I", 8) + bytes(pages) + b"\0"


def tiff_retyped(tag: int, kind: int) -> bytes:
    """A 118-byte TIFF whose ``tag`` has the TIFF type ``kind`` (FLOAT strip offsets made Pillow
    raise TypeError: a 500)."""
    data = tiff_minimal(4, 2, b"\0" * 8)
    entry = 10 + 12 * [256, 257, 258, 259, 262, 273, 278, 279].index(tag)
    return patch(data, entry + 2, struct.pack("<H", kind))


def jpeg_padded(segments: int, segment: bytes = b"\xff\xe0\x00\x02") -> bytes:
    """A JPEG with ``segments`` empty APP0 segments before its frame: 6.5 million (25 MB) cost
    Pillow over a minute and more than a gigabyte, and were stored."""
    data = jpeg()
    return data[:2] + segment * segments + data[2:]


def png_one_byte_chunks(count: int) -> bytes:
    """A PNG with ``count`` one-byte private ancillary chunks before its pixels (13 bytes each)."""
    data = png()
    return data[:33] + chunk(b"raNd", b"x") * count + data[33:]


def gif_one_byte_blocks(count: int) -> bytes:
    """A GIF whose comment is ``count`` one-byte data sub-blocks (2 bytes each)."""
    data = gif()
    start = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    return data[:start] + b"\x21\xfe" + b"\x01x" * count + b"\0" + data[start:]


def heif_lying(fmt: str, real: tuple[int, int] = (2000, 2000), claimed: tuple[int, int] = (64, 64)) -> bytes:
    """An AVIF or HEIC of a ``real``-sized flat frame whose ``ispe`` box claims ``claimed``: the
    AVIF passed every limit and libavif decoded the whole frame; the HEIC answered 500."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    options = {"speed": 10, "quality": 10} if fmt == "AVIF" else {"quality": 10}
    data = encode(Image.new("RGB", real, (90, 120, 200)), fmt, **options)
    ispe = data.index(b"ispe")
    return patch(data, ispe + 8, struct.pack(">II", *claimed))


def sixteen_bit_png(color: bool) -> bytes:
    ramp = np.linspace(0, 65535, 48, dtype=np.uint16)[None, :].repeat(32, 0)
    if not color:
        return encode(Image.fromarray(ramp), "PNG")
    # Pillow cannot write 48-bit PNG; build it from raw rows.
    rgb = np.dstack([ramp, ramp[::-1], np.full_like(ramp, 30000)]).astype(">u2")
    rows = b"".join(b"\0" + row.tobytes() for row in rgb)
    return png_from_chunks(ihdr(48, 32, 16, 2), chunk(b"IDAT", zlib.compress(rows)), chunk(b"IEND", b""))


def cmyk_jpeg() -> bytes:
    return encode(gradient().convert("CMYK"), "JPEG", quality=85)


def polyglot_gif_js() -> bytes:
    """The classic GIF/JavaScript polyglot: a valid GIF whose header also parses as a script."""
    return gif() + b"*/=1;alert(document.domain);/*<script>alert(1)</script>"


def html_with_png_magic() -> bytes:
    return b"\x89PNG\r\n\x1a\n<html><body><script>alert(document.cookie)</script></body></html>"


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'


# -- the corpus ------------------------------------------------------------------------------
# Crafted containers (issue 23): structure that cost a decoder minutes or a 500, now refused from
# a count of that structure in milliseconds, by every route that reads an image.
ATTACK_CASES: list[Case] = [
    reject("tiff-100000-pages.tif", lambda: tiff_pages(100_000), TOO_MANY_FRAMES, "100,000 42-byte pages (4.2 MB)"),
    reject(
        "tiff-page-loop.tif",
        lambda: tiff_pages(3, loop=True),
        (422, "unprocessable_image", "loops back"),
        "the page list loops",
    ),
    reject(
        "jpeg-6500000-app-segments.jpg",
        lambda: jpeg_padded(6_500_000),
        (422, "unprocessable_image", "segments before its picture"),
        "6.5 million empty APP0 segments (25 MB)",
    ),
    reject(
        "jpeg-fill-bytes.jpg",
        lambda: jpeg_padded(1, b"\xff" * (1024 * 1024) + b"\xe0\x00\x02"),
        (422, "unprocessable_image", "stray bytes"),
        "1 MB of 0xFF fill before a marker (Pillow reads them one at a time)",
    ),
    reject(
        "png-one-byte-chunks.png",
        lambda: png_one_byte_chunks(1_800_000),
        (422, "unprocessable_image", "chunks"),
        "1.8 million one-byte chunks (23 MB)",
    ),
    reject(
        "gif-one-byte-blocks.gif",
        lambda: gif_one_byte_blocks(11_500_000),
        (422, "unprocessable_image", "data blocks"),
        "11.5 million one-byte comment sub-blocks (23 MB)",
    ),
    reject("avif-lying-ispe.avif", lambda: heif_lying("AVIF"), HIDDEN_PICTURE, "ispe says 64×64 over 2000×2000"),
    reject("heic-lying-ispe.heic", lambda: heif_lying("HEIF"), HIDDEN_PICTURE, "ispe says 64×64 over 2000×2000"),
    reject("tiff-float-strip-offsets.tif", lambda: tiff_retyped(273, 11), CORRUPT, "118 bytes: was a 500"),
    reject("tiff-rational-strip-offsets.tif", lambda: tiff_retyped(273, 5), CORRUPT, "118 bytes: was a 500"),
]

CASES: list[Case] = [
    # Nothing, or not an image at all
    reject("zero-byte.png", lambda: b"", EMPTY, "empty upload"),
    reject("random-bytes.jpg", lambda: np.random.default_rng(7).bytes(1024), NOT_AN_IMAGE, "noise"),
    reject("nul-bytes.gif", lambda: b"\0" * 1024, NOT_AN_IMAGE, "all zero"),
    reject("text.png", lambda: b"just some text, not pixels\n" * 8, NOT_AN_IMAGE, "plain text"),
    reject("image.svg", lambda: SVG, NOT_AN_IMAGE, "SVG can carry script: refused"),
    reject("svg-named.png", lambda: SVG, NOT_AN_IMAGE, "SVG behind a .png name"),
    reject("svgz.svgz", lambda: zlib.compress(SVG), NOT_AN_IMAGE, "compressed SVG"),
    reject("page.html.jpg", lambda: b"<!doctype html><script>alert(1)</script>", NOT_AN_IMAGE, "HTML as .jpg"),
    reject("script.js.png", lambda: b"alert(document.cookie);//", NOT_AN_IMAGE, "JavaScript as .png"),
    reject("html-png-magic.png", html_with_png_magic, NOT_AN_IMAGE, "PNG magic followed by HTML"),
    reject("php-gif-magic.gif", lambda: b"GIF89a<?php system($_GET['c']); ?>", NOT_AN_IMAGE, "GIF magic + PHP"),
    reject(
        "postscript.eps",
        lambda: b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 1 1\n",
        NOT_AN_IMAGE,
        "EPS must never reach Ghostscript",
    ),
    reject("document.pdf", lambda: b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", NOT_AN_IMAGE, "PDF"),
    reject("archive.zip", lambda: b"PK\x05\x06" + b"\0" * 18, NOT_AN_IMAGE, "empty ZIP"),
    reject(
        "icon.ico",
        lambda: encode(gradient((16, 16)), "ICO"),
        NOT_AN_IMAGE,
        "a format Pillow reads but we do not accept",
    ),
    reject("image.psd", lambda: b"8BPS\0\1" + b"\0" * 6 + struct.pack(">HIIHH", 3, 8, 8, 8, 3), NOT_AN_IMAGE, "PSD"),
    reject("image.tga", lambda: encode(gradient((8, 8)), "TGA"), NOT_AN_IMAGE, "TGA: header has no magic"),
    # Truncated or corrupt
    reject("truncated-half.jpg", lambda: big_jpeg()[: len(big_jpeg()) // 2], TRUNCATED, "half a JPEG"),
    reject("truncated-header.jpg", lambda: jpeg()[:300], DAMAGED_HEADER, "JPEG cut inside its headers"),
    reject("jpeg-soi-only.jpg", lambda: b"\xff\xd8\xff", NOT_AN_IMAGE, "just the start-of-image marker"),
    reject("truncated-idat.png", lambda: png()[:-40], TRUNCATED, "PNG cut inside IDAT"),
    reject("png-bad-crc.png", lambda: patch(png(), 29, b"\0\0\0\0"), NOT_AN_IMAGE, "IHDR checksum wrong"),
    reject("png-zero-width.png", lambda: png_huge_header(0, 10), NOT_AN_IMAGE, "0 pixels wide"),
    reject(
        "png-bad-idat.png",
        lambda: png_from_chunks(ihdr(8, 8), chunk(b"IDAT", b"not zlib data"), chunk(b"IEND", b"")),
        TRUNCATED,
        "IDAT is not zlib",
    ),
    reject("gif-zero-size.gif", gif_zero_size, NOT_AN_IMAGE, "a GIF of 0×0"),
    reject("truncated.gif", lambda: gif()[:40], NOT_AN_IMAGE, "GIF cut inside its palette"),
    reject("truncated.webp", lambda: encode(gradient(), "WEBP")[:60], CORRUPT, "WebP cut short"),
    reject("bmp-bad-depth.bmp", bmp_bad_depth, CORRUPT, "impossible bits per pixel"),
    reject(
        "tiff-short-strip.tif", lambda: tiff_minimal(64, 64, b"\x80" * 16), TRUNCATED, "strip shorter than the image"
    ),
    reject(
        "tiff-bad-compression.tif",
        lambda: tiff_minimal(8, 8, b"\0" * 64, compression=99),
        NOT_AN_IMAGE,
        "unknown compression",
    ),
    # Bombs: tiny files, enormous images
    reject(
        "png-bomb-100mp.png",
        lambda: encode(Image.new("1", (10_000, 10_000)), "PNG", optimize=True),
        TOO_MANY_PIXELS,
        "100 MP in a few KB",
    ),
    reject("png-huge-header.png", lambda: png_huge_header(65535, 65535), TOO_MANY_PIXELS, "4 gigapixels claimed"),
    reject("jpeg-huge-sof.jpg", jpeg_huge_sof, TOO_MANY_PIXELS, "65500×65500 claimed"),
    reject("gif-huge-screen.gif", gif_huge_screen, TOO_MANY_PIXELS, "65535×65535 logical screen"),
    reject("bmp-huge.bmp", bmp_huge, TOO_MANY_PIXELS, "10 gigapixels claimed"),
    reject(
        "tiff-huge.tif", lambda: tiff_minimal(200_000, 200_000, b"\0" * 16), TOO_MANY_PIXELS, "40 gigapixels claimed"
    ),
    reject("jpeg-scan-bomb.jpg", jpeg_scan_bomb, TOO_MANY_SCANS, "50 MP progressive JPEG + 10,000 tiny AC scans"),
    reject(
        "png-16bit-rgba-50mp.png",
        lambda: png_16bit_header(7071, 7071, 6),
        TOO_MANY_BYTES,
        "50 MP of 16-bit RGBA: 381 MB decoded",
    ),
    reject(
        "png-16bit-rgb-50mp.png", lambda: png_16bit_header(7071, 7071, 2), TOO_MANY_BYTES, "50 MP of 48-bit RGB: 286 MB"
    ),
    reject("png-ztxt-bomb.png", lambda: png_text_bomb(b"zTXt"), DAMAGED_HEADER, "text chunk inflating to 64 MB"),
    reject("png-iccp-bomb.png", lambda: png_text_bomb(b"iCCP"), DAMAGED_HEADER, "colour profile inflating to 64 MB"),
    reject(
        "gif-1500-frames.gif",
        lambda: gif_frames(1500),
        (422, "unprocessable_image", "frames; at most"),
        "more frames than GALLERY_MAX_FRAMES",
    ),
    reject(
        "oversize-26mb.jpg",
        lambda: jpeg() + b"\0" * (26 * 1024 * 1024),
        (413, "too_large", "MB limit"),
        "over the upload limit",
    ),
    *ATTACK_CASES,
    # Polyglots that are complete, valid images: stored, and only ever served as that image
    accept("polyglot-gif-js.gif", polyglot_gif_js, "image/gif", "GIF/JS polyglot"),
    accept(
        "jpeg-html-comment.jpg",
        lambda: jpeg_with_segment(0xFE, b"<html><script>alert(1)</script></html>"),
        "image/jpeg",
        "HTML in a JPEG comment",
    ),
    accept(
        "png-html-text.png",
        lambda: png_with(chunk(b"tEXt", b"Comment\0<script>alert(1)</script>")),
        "image/png",
        "HTML in a PNG text chunk",
    ),
    accept(
        "jpeg-zip-appended.jpg",
        lambda: jpeg() + b"PK\x03\x04" + b"<?php phpinfo(); ?>" + b"\0" * 26,
        "image/jpeg",
        "JPEG + ZIP/PHP tail",
    ),
    # Odd EXIF: ignored, the pixels are shown as stored
    accept("exif-garbage.jpg", lambda: exif_segment(b"\xde\xad\xbe\xef" * 16), "image/jpeg", "EXIF that is not TIFF"),
    accept("exif-ifd-loop.jpg", exif_ifd_loop, "image/jpeg", "IFD pointing at itself"),
    accept("exif-huge-count.jpg", exif_huge_count, "image/jpeg", "4 GB text entry"),
    accept("exif-orientation-9.jpg", lambda: exif_orientation(9), "image/jpeg", "orientation out of range"),
    # Valid images in unusual forms: must be accepted
    accept("gray-16bit.png", lambda: sixteen_bit_png(False), "image/png", "16-bit grayscale"),
    accept("rgb-16bit.png", lambda: sixteen_bit_png(True), "image/png", "48-bit RGB"),
    accept(
        "gray-16bit.tif",
        lambda: encode(Image.fromarray(np.arange(48 * 32, dtype=np.uint16).reshape(32, 48) * 40), "TIFF"),
        "image/tiff",
        "16-bit TIFF",
    ),
    accept("cmyk.jpg", cmyk_jpeg, "image/jpeg", "CMYK JPEG"),
    accept("cmyk.tif", lambda: encode(gradient().convert("CMYK"), "TIFF"), "image/tiff", "CMYK TIFF"),
    accept("png-named.jpg", png, "image/png", "the extension lies: the bytes decide"),
    accept("jpeg-named.gif", jpeg, "image/jpeg", "the extension lies: the bytes decide"),
    accept("no-extension", gif, "image/gif", "no extension at all"),
    accept("gif-5-frames.gif", lambda: gif_frames(5), "image/gif", "a small animation"),
]


# -- keys: every one refused with 400 invalid_key, wherever a key is accepted ---------------------
BAD_KEYS: list[tuple[str, str]] = [
    ("", "A key is required"),
    ("../etc/passwd", "'..' path segments"),
    ("a/../../b.png", "'..' path segments"),
    ("./a.png", "'..' path segments"),
    ("a//b.png", "'..' path segments"),
    ("..", "'..' path segments"),
    ("/etc/passwd", "must not start or end with '/'"),
    ("dir/", "must not start or end with '/'"),
    ("..%2f..%2fetc%2fpasswd", "not allowed ('%')"),
    ("C:\\Windows\\win.ini", "not allowed (':', '\\\\')"),
    ("a\\b.png", "not allowed"),
    ("ключ.png", "not allowed"),
    ("cafe\u0301.png", "not allowed"),
    ("ｆｕｌｌ.png", "not allowed"),
    ("evil\u202egnp.exe", "not allowed"),
    ("a\x00b.png", "not allowed ('\\x00')"),
    ("a\nb.png", "not allowed ('\\n')"),
    ("a\r\nSet-Cookie: x=1", "not allowed"),
    ("tab\there.png", "not allowed"),
    ("\x1b[31mred.png", "not allowed"),
    ("space in.png", "not allowed (' ')"),
    ("<script>.png", "not allowed ('<', '>')"),
    ("a" * 256, "256 characters long; at most 255"),
    ("x/" * 5000 + "y", "10001 characters long"),
]

# -- POST /api/process: each (fields, status, code, phrase); "seed.png" exists in the gallery ---
RESIZE = {"op": "resize", "width": 20}
BAD_PROCESS: list[tuple[dict, int, str, str]] = [
    ({"source_key": "seed.png", "ops": "[{"}, 400, "invalid_parameter", "ops must be a JSON list"),
    ({"source_key": "seed.png", "ops": '{"op": "resize"}'}, 400, "invalid_parameter", "ops must be a list"),
    ({"source_key": "seed.png", "ops": '"resize"'}, 400, "invalid_parameter", "ops must be a list"),
    ({"source_key": "seed.png", "ops": "[" * 100_000 + "]" * 100_000}, 400, "invalid_parameter", "ops"),
    ({"source_key": "seed.png", "ops": [RESIZE] * 11}, 400, "invalid_parameter", "at most 10 steps"),
    ({"source_key": "seed.png", "ops": [{"op": "explode"}]}, 400, "invalid_parameter", "op must be one of"),
    ({"source_key": "seed.png", "ops": [{"op": "__class__"}]}, 400, "invalid_parameter", "op must be one of"),
    ({"source_key": "seed.png", "ops": [42]}, 400, "invalid_parameter", "must be an object"),
    (
        {"source_key": "seed.png", "ops": [{"op": "resize", "width": 0}]},
        400,
        "invalid_parameter",
        "width must be an integer from 1 to 16384",
    ),
    (
        {"source_key": "seed.png", "ops": [{"op": "resize", "width": 100_000}]},
        400,
        "invalid_parameter",
        "width must be",
    ),
    ({"source_key": "seed.png", "ops": [{"op": "resize", "width": "abc"}]}, 400, "invalid_parameter", "width must be"),
    ({"source_key": "seed.png", "ops": [{"op": "resize", "width": 1.5}]}, 400, "invalid_parameter", "width must be"),
    (
        {"source_key": "seed.png", "ops": '[{"op": "resize", "width": 1e999}]'},
        400,
        "invalid_parameter",
        "width must be",
    ),
    ({"source_key": "seed.png", "ops": '[{"op": "resize", "scale": NaN}]'}, 400, "invalid_parameter", "scale must be"),
    (
        {"source_key": "seed.png", "ops": [{"op": "resize", "width": 10**400}]},
        400,
        "invalid_parameter",
        "width must be",
    ),
    ({"source_key": "seed.png", "ops": [{"op": "resize", "width": True}]}, 400, "invalid_parameter", "width must be"),
    ({"source_key": "seed.png", "ops": [{"op": "resize", "width": [800]}]}, 400, "invalid_parameter", "width must be"),
    ({"source_key": "seed.png", "ops": [{"op": "resize", "scale": 0}]}, 400, "invalid_parameter", "scale must be"),
    (
        {"source_key": "seed.png", "ops": [{"op": "resize", "scale": 2, "width": 10}]},
        400,
        "invalid_parameter",
        "not both",
    ),
    ({"source_key": "seed.png", "ops": [{"op": "resize"}]}, 400, "invalid_parameter", "is required"),
    ({"source_key": "seed.png", "ops": [{"op": "blur", "size": 4}]}, 400, "invalid_parameter", "odd integer"),
    (
        {"source_key": "seed.png", "ops": [{"op": "blur", "kind": "bilateral", "size": 99}]},
        400,
        "invalid_parameter",
        "1 to 25",
    ),
    (
        {"source_key": "seed.png", "ops": [{"op": "threshold", "method": "adaptive_mean", "block_size": 4}]},
        400,
        "invalid_parameter",
        "block_size must be an odd integer",
    ),
    ({"source_key": "seed.png", "ops": [{"op": "rotate", "angle": 720}]}, 400, "invalid_parameter", "angle must be"),
    (
        {"source_key": "seed.png", "ops": [{"op": "rotate", "background": "red;}</style>"}]},
        400,
        "invalid_parameter",
        "background must be a colour",
    ),
    (
        {"source_key": "seed.png", "ops": [{"op": "sharpen", "evil": 1}]},
        400,
        "invalid_parameter",
        "unknown parameter 'evil'",
    ),
    ({"source_key": "seed.png", "ops": [RESIZE], "format": "gif"}, 400, "invalid_parameter", "format must be one of"),
    ({"source_key": "seed.png", "ops": [RESIZE], "format": "svg"}, 400, "invalid_parameter", "format must be one of"),
    (
        {"source_key": "seed.png", "ops": [RESIZE], "format": "jpeg", "quality": 0},
        400,
        "invalid_parameter",
        "quality must be",
    ),
    (
        {"source_key": "seed.png", "ops": [RESIZE], "format": "jpeg", "quality": 101},
        400,
        "invalid_parameter",
        "quality must be",
    ),
    ({"source_key": "seed.png", "ops": [RESIZE], "save_as": "../escape.png"}, 400, "invalid_key", "'..' path segments"),
    ({"source_key": "seed.png", "ops": [RESIZE], "save_as": "a" * 300}, 400, "invalid_key", "at most 255"),
    ({"source_key": "../../etc/passwd", "ops": [RESIZE]}, 400, "invalid_key", "'..' path segments"),
    ({"source_key": "missing.png", "ops": [RESIZE]}, 404, "not_found", "no image with the key 'missing.png'"),
    ({"ops": [RESIZE]}, 400, "invalid_parameter", "either an image file or the key"),
    (
        {"source_key": "seed.png", "ops": [{"op": "resize", "width": 16384, "height": 16384, "fit": "fill"}]},
        400,
        "invalid_parameter",
        "at most 50,000,000 are allowed",
    ),
]


ATTACKS = [case.name for case in ATTACK_CASES]


def build_all() -> dict[str, bytes]:
    return {case.name: case.build() for case in CASES}


def main() -> int:
    FILES.mkdir(exist_ok=True)
    for old in FILES.iterdir():
        old.unlink()
    kept = 0
    for name, data in build_all().items():
        if len(data) <= COMMIT_LIMIT:
            (FILES / name).write_bytes(data)
            kept += 1
    print(f"{len(CASES)} cases; {kept} small files written to {FILES.relative_to(HERE.parents[1])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
