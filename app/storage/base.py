"""What the gallery asks of a blob store: named byte objects. Names look like ``originals/<key>/<version>``.

Like thumbor's ``BaseStorage``: the base class declares every method the gallery calls.
Backends must implement ``put``, ``get`` and ``delete``; the rest are capabilities with a
harmless default that means "not supported" (or "nothing to do"), so nothing ever asks a
store what it can do with ``hasattr``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import NamedTuple


class ObjectRef(NamedTuple):
    """A stored object as another AWS service can read it by itself (Rekognition's ``S3Object``)."""

    bucket: str
    key: str


class BlobStore(ABC):
    kind = ""  # the GALLERY_STORAGE name
    supports_direct_upload = False  # browsers may post files straight to the store (direct_upload_form)
    supports_download_url = False  # clients may fetch objects straight from the store (download_url)

    @abstractmethod
    def put(self, name: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``name`` atomically: readers see the old bytes or the new, never a part."""

    @abstractmethod
    def get(self, name: str) -> bytes:
        """Return the bytes; raise ``app.core.errors.NotFound`` when absent."""

    @abstractmethod
    def delete(self, name: str) -> None:
        """Remove ``name``; absent names are not an error."""

    def put_stream(self, name: str, chunks: Iterable[bytes], content_type: str) -> int:
        """Store the concatenated ``chunks`` under ``name`` atomically and return its size; stores
        that can write in parts (S3 multipart) never hold it all in memory."""
        data = b"".join(chunks)
        self.put(name, data, content_type)
        return len(data)

    def size(self, name: str) -> int:
        """The stored object's size in bytes; ``NotFound`` when absent."""
        return len(self.get(name))

    def external_ref(self, name: str) -> ObjectRef | None:
        """Where another service can read ``name`` itself; None when only this app can."""
        return None

    def direct_upload_form(self, name: str, content_type: str, max_bytes: int, expires: int) -> dict | None:
        """A form (``{"url", "fields"}``) with which a browser stores one file of ``content_type``
        and 1..``max_bytes`` bytes under ``name`` itself; None when the store cannot take that."""
        return None

    def direct_upload_origin(self) -> str | None:
        """The origin browsers post ``direct_upload_form`` forms to (for the page's CSP)."""
        return None

    def download_url(self, name: str, expires: int, content_type: str, filename: str | None = None) -> str | None:
        """A URL from which a client fetches ``name`` itself for ``expires`` seconds, answered with
        ``content_type`` (and as an attachment named ``filename``); None when only this app can serve it."""
        return None

    def download_origin(self) -> str | None:
        """The origin of ``download_url`` URLs (for the pages' CSP)."""
        return None

    def check(self) -> str:
        """Health: "ok", or a short reason (no names, it is public), answered quickly (see app.runtime.health)."""
        return "ok"

    def expire_staging(self, max_age: float) -> int:
        """Remove staged uploads older than ``max_age`` seconds; how many went (0: the store expires
        them by itself, as S3 does by the lifecycle rule ``provision`` sets)."""
        return 0

    def provision(self, staging_prefix: str = "", public_origin: str = "") -> list[str]:
        """Create what the store needs (``flask gallery init``), idempotently; say what was done.
        ``staging_prefix`` holds direct uploads that may never be committed; ``public_origin`` is
        the site browsers send them from."""
        return [f"storage: {self.kind} (nothing to create)"]
