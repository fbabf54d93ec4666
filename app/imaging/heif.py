"""An AVIF's or HEIC's real picture size, read from its bitstream rather than from its header.

Pillow reports their size from the container's ``ispe`` box, which is only a claim: an AVIF
whose ``ispe`` says 64×64 over a 12000×12000 AV1 frame passed every limit, and libavif then
decoded the whole frame (Pillow gives no way to set libavif's own size limit); libheif refuses
such a HEIC itself, but only when decoding. The coded size is in the AV1 sequence header at the
start of each AV1 item's data (found through the ``meta`` box's item list, ``iinf``, and item
locations, ``iloc``) and in the HEVC sequence parameter set of each ``hvcC`` property.
:func:`check` reads them there and refuses a frame over the pixel limit, or larger than every
size the header declares (a grid's tiles are each smaller than the grid).
"""

from __future__ import annotations

import struct

from ..core.errors import BadImage, TooLarge

_MAX_BOXES = 10_000  # boxes read in all; a real file has a few dozen
_MAX_OBUS = 16
# A coded HEVC picture is padded to whole coding blocks (up to 64 px) and cropped when decoded.
_PADDING = 64  # OBUs before the sequence header: a temporal delimiter, some metadata


def check(data: bytes, max_pixels: int) -> None:
    """Refuse an AVIF or HEIC whose coded frames exceed ``max_pixels`` or what its ``ispe`` boxes declare."""
    meta = _child(data, 0, len(data), b"meta")
    if meta is None:
        return
    start, end = meta[0] + 4, meta[1]  # meta is a full box: version and flags first
    ipco = _ipco(data, start, end) or (0, 0)
    frames = [size for box in _children(data, *ipco, b"hvcC") if (size := hevc_size(data[box[0] : box[1]]))]
    types = _item_types(data, _child(data, start, end, b"iinf"))
    av1_items = {item for item, kind in types.items() if kind == b"av01"}
    idat = _child(data, start, end, b"idat")
    for item, (method, offset, length) in _item_locations(data, _child(data, start, end, b"iloc")).items():
        if item not in av1_items:
            continue
        base = idat[0] if method == 1 and idat else 0 if method == 0 else None
        if base is None:
            continue
        size = frame_size(data[base + offset : base + offset + min(length or len(data), 4096)])
        if size:
            frames.append(size)
    if not frames:
        return
    width, height = max(frames, key=lambda s: s[0] * s[1])
    if width * height > max_pixels:
        raise TooLarge(
            f"The picture is {width}×{height} = {width * height:,} pixels; the limit is {max_pixels:,} pixels."
        )
    declared = [_ispe(data, box) for box in _children(data, *ipco, b"ispe")]
    widest, tallest = max((w for w, _ in declared), default=0), max((h for _, h in declared), default=0)
    if any(w > widest + _PADDING or h > tallest + _PADDING for w, h in frames):
        raise BadImage(
            f"The image file is damaged: its picture is {width}×{height} pixels, larger than its header says."
        )


# -- ISO base media boxes ------------------------------------------------------------------------
def _boxes(data: bytes, start: int, end: int):
    """(type, payload start, payload end) of the boxes between ``start`` and ``end``."""
    pos, count = start, 0
    while pos + 8 <= end and count < _MAX_BOXES:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1 and pos + 16 <= end:
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            return
        yield kind, pos + header, pos + size
        pos += size
        count += 1


def _children(data: bytes, start: int, end: int, kind: bytes):
    return [(s, e) for k, s, e in _boxes(data, start, end) if k == kind]


def _child(data: bytes, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    found = _children(data, start, end, kind)
    return found[0] if found else None


def _ipco(data: bytes, start: int, end: int) -> tuple[int, int] | None:
    iprp = _child(data, start, end, b"iprp")
    return _child(data, *iprp, b"ipco") if iprp else None


def _ispe(data: bytes, box: tuple[int, int]) -> tuple[int, int]:
    start, end = box
    return struct.unpack_from(">II", data, start + 4) if start + 12 <= end else (0, 0)


def _item_types(data: bytes, box: tuple[int, int] | None) -> dict[int, bytes]:
    """item ID -> item type, from ``iinf``'s ``infe`` entries (versions 2 and 3)."""
    if box is None:
        return {}
    start, end = box
    version = data[start]
    first = start + (6 if version == 0 else 8)
    types = {}
    for kind, s, e in _boxes(data, first, end):
        if kind != b"infe" or s + 12 > e:
            continue
        if data[s] == 2:
            item, kind4 = struct.unpack_from(">H2x4s", data, s + 4)
        elif data[s] == 3:
            item, kind4 = struct.unpack_from(">I2x4s", data, s + 4)
        else:
            continue
        types[item] = kind4
    return types


def _item_locations(data: bytes, box: tuple[int, int] | None) -> dict[int, tuple[int, int, int]]:
    """item ID -> (construction method, offset, length) of its first extent, from ``iloc``."""
    if box is None:
        return {}
    start, end = box
    version = data[start]
    if start + 8 > end or version > 2:
        return {}
    sizes = data[start + 4], data[start + 5]
    offset_size, length_size = sizes[0] >> 4, sizes[0] & 15
    base_size, index_size = sizes[1] >> 4, (sizes[1] & 15) if version else 0
    pos = start + 6
    count, pos = _uint(data, pos, 2 if version < 2 else 4)
    found = {}
    try:
        for _ in range(min(count, _MAX_BOXES)):
            item, pos = _uint(data, pos, 2 if version < 2 else 4)
            method = 0
            if version:
                method, pos = _uint(data, pos, 2)
                method &= 15
            pos += 2  # data reference index
            base, pos = _uint(data, pos, base_size)
            extents, pos = _uint(data, pos, 2)
            for index in range(extents):
                pos += index_size
                offset, pos = _uint(data, pos, offset_size)
                length, pos = _uint(data, pos, length_size)
                if index == 0:
                    found[item] = (method, base + offset, length)
            if pos > end:
                break
    except struct.error:
        pass
    return found


def _uint(data: bytes, pos: int, size: int) -> tuple[int, int]:
    if size == 0:
        return 0, pos
    if pos + size > len(data):
        raise struct.error("past the end")
    return int.from_bytes(data[pos : pos + size], "big"), pos + size


# -- AV1 -------------------------------------------------------------------------------------------
def frame_size(obus: bytes) -> tuple[int, int] | None:
    """The largest frame size an AV1 stream's sequence header allows, or None if not found."""
    pos = 0
    for _ in range(_MAX_OBUS):
        if pos >= len(obus):
            return None
        header = obus[pos]
        kind, extension, has_size = (header >> 3) & 15, header & 4, header & 2
        pos += 2 if extension else 1
        if has_size:
            size, pos = _leb128(obus, pos)
        else:
            size = len(obus) - pos
        if kind == 1:
            try:
                return _sequence_header_size(obus[pos : pos + size])
            except IndexError:
                return None
        pos += size
    return None


def _leb128(data: bytes, pos: int) -> tuple[int, int]:
    value = 0
    for i in range(8):
        if pos >= len(data):
            break
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            break
    return value, pos


class _Bits:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def read(self, n: int) -> int:
        value = 0
        for _ in range(n):
            value = (value << 1) | ((self.data[self.pos >> 3] >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return value

    def uvlc(self) -> int:
        zeros = 0
        while not self.read(1):
            zeros += 1
            if zeros >= 32:
                return (1 << 32) - 1
        return self.read(zeros) + (1 << zeros) - 1


def _sequence_header_size(payload: bytes) -> tuple[int, int]:
    """max_frame_width and max_frame_height of an AV1 sequence header (AV1 spec 5.5.1)."""
    bits = _Bits(payload)
    bits.read(3)  # seq_profile
    bits.read(1)  # still_picture
    if bits.read(1):  # reduced_still_picture_header
        bits.read(5)  # seq_level_idx[0]
    else:
        decoder_model = False
        delay_length = 0
        if bits.read(1):  # timing_info_present_flag
            bits.read(32)
            bits.read(32)
            if bits.read(1):  # equal_picture_interval
                bits.uvlc()
            decoder_model = bool(bits.read(1))
            if decoder_model:
                delay_length = bits.read(5) + 1
                bits.read(32)
                bits.read(10)  # buffer_removal_time_length_minus_1, frame_presentation_time_length_minus_1
        display_delay = bits.read(1)
        for _ in range(bits.read(5) + 1):  # operating points
            bits.read(12)  # operating_point_idc
            if bits.read(5) > 7:  # seq_level_idx
                bits.read(1)  # seq_tier
            if decoder_model and bits.read(1):
                bits.read(2 * delay_length + 1)
            if display_delay and bits.read(1):
                bits.read(4)
    width_bits, height_bits = bits.read(4) + 1, bits.read(4) + 1
    return bits.read(width_bits) + 1, bits.read(height_bits) + 1


# -- HEVC ------------------------------------------------------------------------------------------
def hevc_size(hvcc: bytes) -> tuple[int, int] | None:
    """The picture size of the first sequence parameter set (NAL type 33) in an ``hvcC`` payload."""
    if len(hvcc) < 23:
        return None
    pos = 23
    for _ in range(hvcc[22]):  # arrays of NAL units, by type
        if pos + 3 > len(hvcc):
            return None
        kind, count = hvcc[pos] & 0x3F, int.from_bytes(hvcc[pos + 1 : pos + 3], "big")
        pos += 3
        for _ in range(count):
            length = int.from_bytes(hvcc[pos : pos + 2], "big")
            nal = hvcc[pos + 2 : pos + 2 + length]
            pos += 2 + length
            if kind == 33:
                try:
                    return _sps_size(nal[2:].replace(b"\0\0\3", b"\0\0"))  # emulation prevention
                except IndexError:
                    return None
    return None


def _ue(bits: _Bits) -> int:
    zeros = 0
    while not bits.read(1):
        zeros += 1
        if zeros > 31:
            raise IndexError("not an Exp-Golomb code")
    return (1 << zeros) - 1 + bits.read(zeros)


def _sps_size(rbsp: bytes) -> tuple[int, int]:
    """pic_width_in_luma_samples and pic_height_in_luma_samples of an HEVC SPS (H.265 7.3.2.2)."""
    bits = _Bits(rbsp)
    bits.read(4)  # sps_video_parameter_set_id
    sub_layers = bits.read(3)  # sps_max_sub_layers_minus1
    bits.read(1)
    bits.read(96)  # general profile, tier and level
    present = [(bits.read(1), bits.read(1)) for _ in range(sub_layers)]
    if sub_layers:
        bits.read(2 * (8 - sub_layers))
    for profile, level in present:
        bits.read(88 if profile else 0)
        bits.read(8 if level else 0)
    _ue(bits)  # sps_seq_parameter_set_id
    if _ue(bits) == 3:  # chroma_format_idc
        bits.read(1)
    return _ue(bits), _ue(bits)
