"""One cache value for bytes and what describes them: a 4-byte big-endian length, that many bytes
of JSON header, then the data. Used for cached originals, thumbnails and processing results."""

from __future__ import annotations

import json
from typing import Any


def pack(header: list | dict, data: bytes) -> bytes:
    head = json.dumps(header).encode()
    return len(head).to_bytes(4, "big") + head + data


def unpack(raw: bytes) -> tuple[Any, bytes]:
    """``(header, data)`` of what ``pack`` made."""
    size = int.from_bytes(raw[:4], "big")
    return json.loads(raw[4 : 4 + size]), raw[4 + size :]
