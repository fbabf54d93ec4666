"""A ZIP archive written as a stream of chunks, one member at a time.

``zipfile`` writes to any object with ``write``; when it cannot ``seek`` it puts each member's
sizes in a data descriptor after its bytes, so nothing needs to be rewritten later. Memory stays
at one member, however large the archive grows.
"""

from __future__ import annotations

import io
import itertools
import time
import zipfile
from collections.abc import Iterable, Iterator


class _Chunks(io.RawIOBase):
    def __init__(self):
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def zip_chunks(members: Iterable[tuple[str, float, bytes]]) -> Iterator[bytes]:
    """``(name, unix time, bytes)`` members in, ZIP bytes out. Photos are already compressed, so
    members are stored as they are (no CPU spent deflating JPEGs for nothing)."""
    sink = _Chunks()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, moment, data in members:
            stamp = time.gmtime(max(moment, 315532800))[:6]  # ZIP dates start in 1980
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_STORED
            with archive.open(info, "w", force_zip64=len(data) > 0x7FFFFFFF) as member:
                member.write(data)
            yield sink.take()
    yield sink.take()


def whole_if_small(chunks: Iterable[bytes], limit: int) -> tuple[bytes | None, Iterator[bytes]]:
    """Read ``chunks`` up to ``limit`` bytes: ``(all the bytes, nothing)`` when they end within it,
    else ``(None, every chunk from the first)`` for the caller to stream elsewhere."""
    chunks = iter(chunks)
    head: list[bytes] = []
    size = 0
    for chunk in chunks:
        head.append(chunk)
        size += len(chunk)
        if size > limit:
            return None, itertools.chain(head, chunks)
    return b"".join(head), iter(())
