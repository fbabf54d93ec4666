"""Blob store on the local file system.

A blob's file name is the SHA-256 of its name, fanned out in two folder levels. Keys are
never used as paths, so no key can escape the data folder, two keys can never collide (not
even ``a`` and ``A`` on a case-insensitive disk, nor ``a`` and ``a/b``), and any key that
passes validation maps to a legal file name whatever its length.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile

from ..errors import NotFound


class LocalBlobStore:
    def __init__(self, root: str):
        self.root = os.path.abspath(os.path.join(root, "blobs"))
        os.makedirs(self.root, exist_ok=True)

    def path(self, name: str) -> str:
        digest = hashlib.sha256(name.encode()).hexdigest()
        return os.path.join(self.root, digest[:2], digest[2:4], digest)

    def put(self, name: str, data: bytes, content_type: str) -> None:
        target = self.path(name)
        folder = os.path.dirname(target)
        os.makedirs(folder, exist_ok=True)
        # Write a temporary file beside the target, then rename: readers see all or nothing.
        fd, temp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise

    def get(self, name: str) -> bytes:
        try:
            with open(self.path(name), "rb") as f:
                return f.read()
        except FileNotFoundError:
            raise NotFound(f"No stored bytes for {name!r}.") from None

    def delete(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path(name))

    def exists(self, name: str) -> bool:
        return os.path.exists(self.path(name))

    def check(self) -> str:
        """Health: 'ok' when the data folder is there and writable."""
        return "ok" if os.access(self.root, os.W_OK) else "data folder is missing or read-only"
