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
import time

from ..core.errors import NotFound
from .base import BlobStore

STAGING_PREFIX = "uploads/"  # uploads waiting for an answer; abandoned ones expire


class LocalBlobStore(BlobStore):
    kind = "local"

    def __init__(self, root: str):
        self.root = os.path.abspath(os.path.join(root, "blobs"))
        self.staging = os.path.abspath(os.path.join(root, "staging"))
        os.makedirs(self.root, exist_ok=True)

    def path(self, name: str) -> str:
        digest = hashlib.sha256(name.encode()).hexdigest()
        if name.startswith(STAGING_PREFIX):  # one folder, so abandoned ones can be swept by age
            return os.path.join(self.staging, digest)
        return os.path.join(self.root, digest[:2], digest[2:4], digest)

    def expire_staging(self, max_age: float) -> int:
        """Remove staged uploads older than ``max_age`` seconds (S3 has a lifecycle rule for this)."""
        removed, cutoff = 0, time.time() - max_age
        with os.scandir(self.staging) if os.path.isdir(self.staging) else contextlib.nullcontext([]) as entries:
            for entry in entries:
                with contextlib.suppress(FileNotFoundError):
                    if entry.stat().st_mtime < cutoff:
                        os.unlink(entry.path)
                        removed += 1
        return removed

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

    def size(self, name: str) -> int:
        try:
            return os.path.getsize(self.path(name))
        except FileNotFoundError:
            raise NotFound(f"No stored bytes for {name!r}.") from None

    def provision(self, staging_prefix: str = "", public_origin: str = "") -> list[str]:
        return [f"storage: local files under {self.root} (created on start)"]

    def check(self) -> str:
        """Health: 'ok' when the data folder is there and writable."""
        return "ok" if os.access(self.root, os.W_OK) else "data folder is missing or read-only"
