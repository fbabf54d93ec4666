"""Blob store protocol: named byte objects. Names look like ``originals/<key>``."""

from typing import Protocol


class BlobStore(Protocol):
    def put(self, name: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``name`` atomically: readers see the old bytes or the new, never a part."""

    def get(self, name: str) -> bytes:
        """Return the bytes; raise ``app.errors.NotFound`` when absent."""

    def delete(self, name: str) -> None:
        """Remove ``name``; absent names are not an error."""

    def exists(self, name: str) -> bool: ...
