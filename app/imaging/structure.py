"""Container structure counted before a decoder walks it.

Pillow reads a file's structure in Python, and some of its walks cost far more than the bytes
suggest: a TIFF's page list is searched once per page (100,000 tiny pages: a minute of CPU),
a JPEG's segments before the first scan are read one by one into lists (6.5 million empty APP
segments: over a minute and a gigabyte), a PNG's chunks and a GIF's data sub-blocks are each a
few Python calls (23 MB of one-byte ones: seconds); an AVIF's or HEIC's header may hide its real
size (``heif``). :func:`check` walks the same structure here,
with plain ``struct`` arithmetic over the bytes, once, and stops at a cap no real image comes
near: refusing such a file costs milliseconds, whatever its size. It decides nothing else: a
file it cannot follow is left to the decoder, which refuses it as before.
"""

from __future__ import annotations

import re
import struct

from ..core.errors import BadImage, TooLarge
from . import heif

# Segments before a JPEG's first scan, and in its whole first image: cameras write about 15,
# a 64 KB-chunked ICC profile or extended XMP a few hundred more.
MAX_JPEG_SEGMENTS = 4000
# Fill (0xFF) and stray bytes between JPEG segments, which Pillow reads one at a time.
MAX_JPEG_STRAY_BYTES = 64 * 1024
# PNG chunks: 8 KB IDAT chunks (libpng's size) make one per 8 KB; even one per row of a 16,384-row
# image fits. A file of one-byte chunks has one per 13 bytes.
PNG_CHUNKS_BASE, PNG_BYTES_PER_CHUNK = 20_000, 1024
# GIF data sub-blocks: encoders write them 255 bytes long; one-byte ones are an attack.
GIF_BLOCKS_BASE, GIF_BYTES_PER_BLOCK = 100_000, 128
MAX_WEBP_CHUNKS = 50_000
# IFD entries over all of a TIFF's pages: real pages carry 10 to 60 tags.
MAX_TIFF_ENTRIES = 100_000

_FILL = re.compile(rb"\xff+")


def check(data: bytes, max_pixels: int, max_frames: int) -> None:
    """Refuse a file whose container holds more structure than any real image: a ``BadImage``
    (or ``TooLarge`` for pixels hidden from the header) that says what was counted."""
    if data[:3] == b"\xff\xd8\xff":
        jpeg_segments(data)
    elif data[:8] == b"\x89PNG\r\n\x1a\n":
        png_chunks(data, max_frames)
    elif data[:6] in (b"GIF87a", b"GIF89a"):
        gif_frames(data, max_pixels, max_frames)
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        webp_frames(data, max_frames)
    elif data[:4] in (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"):
        tiff_pages(data, max_frames)
    elif data[4:8] == b"ftyp":
        heif.check(data, max_pixels)


def too_much(kind: str, what: str, cap: int, why: str) -> BadImage:
    return BadImage(f"The {kind} file has more than {cap:,} {what}; {why} It is refused.")


def jpeg_segments(data: bytes) -> int:
    """Segments of a JPEG before its first scan (scans and what follows are counted by
    ``decoding.jpeg_scans``)."""
    pos, end, segments, stray = 2, len(data), 0, 0
    while pos + 4 <= end:
        if data[pos] != 0xFF:  # stray bytes: the decoders skip to the next 0xFF
            following = data.find(b"\xff", pos)
            following = end if following < 0 else following
            stray += following - pos
            pos = following
        else:
            run = _FILL.match(data, pos).end() - pos - 1  # fill bytes before the marker
            stray += run
            pos += run
            if pos + 4 > end:
                break
            marker = data[pos + 1]
            if marker == 0xDA or marker == 0xD9:
                break
            segments += 1
            if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:  # no length
                pos += 2
            else:
                pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        if segments > MAX_JPEG_SEGMENTS:
            raise too_much("JPEG", "segments before its picture", MAX_JPEG_SEGMENTS, "cameras write about 15.")
        if stray > MAX_JPEG_STRAY_BYTES:
            raise BadImage(
                f"The JPEG file has more than {MAX_JPEG_STRAY_BYTES:,} stray bytes between its segments; "
                "it is damaged or padded, and is refused."
            )
    return segments


def png_chunks(data: bytes, max_frames: int) -> int:
    """Chunks of a PNG up to IEND, and its animation frames (fcTL chunks)."""
    cap = PNG_CHUNKS_BASE + len(data) // PNG_BYTES_PER_CHUNK
    pos, end, chunks, frames = 8, len(data), 0, 0
    while pos + 8 <= end:
        length, kind = struct.unpack_from(">I4s", data, pos)
        chunks += 1
        if chunks > cap:
            raise too_much("PNG", "chunks", cap, "real encoders write one per 8 KB of pixels or fewer.")
        if kind == b"fcTL":
            frames += 1
            if frames > max_frames:
                raise BadImage(f"The image has more than {max_frames:,} frames; at most {max_frames:,} are accepted.")
        if kind == b"IEND":
            break
        pos += 12 + length
    return chunks


def gif_frames(data: bytes, max_pixels: int, max_frames: int) -> int:
    """Frames of a GIF, each frame's size, and its data sub-blocks."""
    end = len(data)
    if end < 13:
        return 0
    cap = GIF_BLOCKS_BASE + end // GIF_BYTES_PER_BLOCK
    flags = data[10]
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    frames = blocks = 0
    while pos < end:
        introducer = data[pos]
        if introducer == 0x21:  # extension: label, then sub-blocks
            pos += 2
        elif introducer == 0x2C:  # image descriptor, local palette, LZW code size, then sub-blocks
            if pos + 10 > end:
                break
            frames += 1
            if frames > max_frames:
                raise BadImage(f"The image has more than {max_frames:,} frames; at most {max_frames:,} are accepted.")
            left, top, width, height, flags = struct.unpack_from("<HHHHB", data, pos + 1)
            if (left + width) * (top + height) > max_pixels:
                raise TooLarge(
                    f"A frame of the GIF reaches {left + width}×{top + height} pixels; "
                    f"the limit is {max_pixels:,} pixels."
                )
            pos += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0) + 1
        else:  # the trailer, or junk the decoders stop at too
            break
        while pos < end:  # sub-blocks: a length byte, that many bytes; a zero length ends them
            size = data[pos]
            pos += 1 + size
            blocks += 1
            if size == 0:
                break
            if blocks > cap:
                raise too_much("GIF", "data blocks", cap, "encoders write them 255 bytes long.")
    return frames


def webp_frames(data: bytes, max_frames: int) -> int:
    """Animation frames (ANMF chunks) of a WebP, and its chunks."""
    end = min(len(data), 8 + int.from_bytes(data[4:8], "little"))
    pos, chunks, frames = 12, 0, 0
    while pos + 8 <= end:
        kind, size = struct.unpack_from("<4sI", data, pos)
        chunks += 1
        if chunks > MAX_WEBP_CHUNKS:
            raise too_much("WebP", "chunks", MAX_WEBP_CHUNKS, "encoders write a few per frame.")
        if kind == b"ANMF":
            frames += 1
            if frames > max_frames:
                raise BadImage(f"The image has more than {max_frames:,} frames; at most {max_frames:,} are accepted.")
        pos += 8 + size + (size & 1)
    return frames


def tiff_pages(data: bytes, max_frames: int) -> int:
    """Pages (IFDs) of a TIFF, classic or BigTIFF, and their entries; a chain that comes back
    to a page already seen is refused (Pillow searches its list of pages once per page)."""
    order = "<" if data[:2] == b"II" else ">"
    big = data[2:4] in (b"+\0", b"\0+")
    count_format, offset_format, entry_size = ("Q", "Q", 20) if big else ("H", "I", 12)
    count_size, offset_size = struct.calcsize(count_format), struct.calcsize(offset_format)
    first = 8 if big else 4
    if len(data) < first + offset_size:
        return 0
    (offset,) = struct.unpack_from(order + offset_format, data, first)
    seen: set[int] = set()
    entries = 0
    while offset and offset + count_size <= len(data):
        if offset in seen:
            raise BadImage("The TIFF file is damaged: its list of pages loops back on itself.")
        seen.add(offset)
        if len(seen) > max_frames:
            raise BadImage(f"The image has more than {max_frames:,} frames; at most {max_frames:,} are accepted.")
        (count,) = struct.unpack_from(order + count_format, data, offset)
        entries += count
        if entries > MAX_TIFF_ENTRIES:
            raise too_much("TIFF", "tags over its pages", MAX_TIFF_ENTRIES, "real pages carry a few dozen.")
        following = offset + count_size + count * entry_size
        if following + offset_size > len(data):
            break
        (offset,) = struct.unpack_from(order + offset_format, data, following)
    return len(seen)
