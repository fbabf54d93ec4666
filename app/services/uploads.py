"""Direct browser uploads (S3): a presigned form straight to the bucket, then a commit that stores
the staged file like any upload. Files too large for a request body reach processing and
recognition the same way, by their upload id, without entering the gallery."""

from __future__ import annotations

import re
import uuid

from ..config import Settings
from ..core.blobs import STAGING_PREFIX
from ..core.errors import InvalidParameter, NotAnImage, NotFound, TooLarge
from ..core.keys import validate_key
from ..core.units import format_mb
from ..imaging import formats
from ..metadata.base import ImageRecord
from ..storage.base import BlobStore
from .library import Library

DIRECT_UPLOAD_TYPES = frozenset(formats.UPLOAD_MIME_TYPES)
UPLOAD_ID = re.compile(r"[0-9a-f]{32}")
PRESIGN_SECONDS = 900
NO_DIRECT_UPLOAD = "Direct uploads need S3 storage; post the file to /api/images instead."


class DirectUploads:
    def __init__(self, blobs: BlobStore, library: Library, settings: Settings):
        self.blobs = blobs
        self.library = library
        self.max_upload_bytes = settings.max_upload_bytes

    @property
    def supports_direct_upload(self) -> bool:
        return self.blobs.supports_direct_upload

    def direct_upload_origin(self) -> str | None:
        """Where browsers post direct uploads (the upload page lets its script connect there)."""
        return self.blobs.direct_upload_origin()

    def start_direct_upload(self, key, content_type, size) -> dict:
        """Check an upload before any byte is sent and grant a form that stores the file under a
        fresh staging name; the store itself enforces the size range and content type. Without a
        ``key`` the file is only staged, for processing or recognition by its ``upload_id``."""
        self._check_supported()
        key = None if key is None else validate_key(key)
        if content_type not in DIRECT_UPLOAD_TYPES:
            raise NotAnImage(f"Only {formats.ACCEPTED} files can be uploaded.")
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise InvalidParameter("bytes must be the file's size, a whole number above 0.")
        self._check_size(size)
        upload_id = uuid.uuid4().hex
        limit = self.max_upload_bytes
        form = self.blobs.direct_upload_form(STAGING_PREFIX + upload_id, content_type, limit, PRESIGN_SECONDS)
        return {
            "upload_id": upload_id,
            "key": key,
            "url": form["url"],
            "fields": form["fields"],
            "max_bytes": limit,
            "expires_in": PRESIGN_SECONDS,
        }

    def commit_direct_upload(
        self, upload_id: str, key, on_conflict: str | None = None, batch: str = ""
    ) -> tuple[ImageRecord, bool]:
        """Store a staged upload under ``key`` like any upload (same decoding, limits and write
        order); the staging object goes whether the image was accepted or not. Concurrent commits
        of one upload: one stores it, the others get a Conflict (or NotFound once it is gone)."""
        self._check_supported()
        if not UPLOAD_ID.fullmatch(upload_id):
            raise InvalidParameter("The upload id is not valid.")
        key, name = validate_key(key), STAGING_PREFIX + upload_id
        with self.library.claimed(name):
            try:
                size = self.blobs.size(name)
            except NotFound:
                raise NotFound(
                    "No upload with this id: it was never sent, was already committed, or expired."
                ) from None
            try:
                self._check_size(size)
                return self.library.upload(key, self.blobs.get(name), on_conflict=on_conflict, batch=batch)
            finally:
                self.blobs.delete(name)

    def read_staged(self, upload_id) -> bytes:
        """The bytes of a direct upload that was not committed (``staged_id`` of processing and
        recognition): files too large for a request body are worked on without entering the gallery.
        It stays staged, for further previews, until the bucket's lifecycle rule expires it."""
        self._check_supported()
        if not isinstance(upload_id, str) or not UPLOAD_ID.fullmatch(upload_id):
            raise InvalidParameter("staged_id must be the upload_id that POST /api/uploads returned.")
        name = STAGING_PREFIX + upload_id
        try:
            self._check_size(self.blobs.size(name))
            return self.blobs.get(name)
        except NotFound:
            raise NotFound("No staged upload with this id: it was never sent or has expired; send it again.") from None

    def _check_supported(self) -> None:
        if not self.supports_direct_upload:
            raise InvalidParameter(NO_DIRECT_UPLOAD)

    def _check_size(self, size: int) -> None:
        if size > self.max_upload_bytes:
            raise TooLarge(f"The file is {format_mb(size)}; at most {format_mb(self.max_upload_bytes)} is accepted.")
