"""The length-prefixed cache value shared by cached blobs and processing results."""

from __future__ import annotations

from app.core import packing


def test_round_trip():
    data = b"\x00\x01binary\xff" * 10
    for header in (["image/png", "etag", "v1"], {"width": 3, "timings": {"decode": 1.5}}, []):
        assert packing.unpack(packing.pack(header, data)) == (header, data)


def test_layout_is_stable():
    """Values written before an upgrade stay readable: a 4-byte big-endian length, JSON, the data."""
    raw = packing.pack(["a", 1], b"DATA")
    assert raw == b'\x00\x00\x00\x08["a", 1]DATA'
