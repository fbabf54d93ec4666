"""Use-case services, each doing one job over only the ports it uses, built by ``build_services``.

``Images`` is the small core they share (records, versions and bytes through the cache);
``ImageWork`` is the one door for costly decoding and pixel work; ``Retention`` decides what is
kept and purges the rest.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ..cache.base import Cache
from ..config import Settings
from ..core.cursors import CursorCodec
from ..imaging.images import DISPLAY_FORMATS
from ..metadata.base import MetadataStore
from ..recognition.base import Detector
from ..storage.base import BlobStore
from .admin import Admin
from .albums import Albums
from .catalog import Catalog
from .folders import Folders
from .history import History
from .images import Images
from .imagework import ImageWork
from .library import Library
from .media import Media
from .processing import Processing
from .recognition import Recognition
from .retention import Retention
from .shares import Shares
from .uploads import DirectUploads


@dataclass(frozen=True)
class Services:
    """What views and commands call, one service per use case."""

    library: Library
    history: History
    catalog: Catalog
    albums: Albums
    media: Media
    processing: Processing
    recognition: Recognition
    uploads: DirectUploads
    admin: Admin
    folders: Folders
    shares: Shares
    images: Images  # the shared core, and through it the ports (commands and tests inspect them)
    work: ImageWork
    retention: Retention

    @property
    def blobs(self) -> BlobStore:
        return self.images.blobs

    @property
    def metadata(self) -> MetadataStore:
        return self.images.metadata

    @property
    def cache(self) -> Cache:
        return self.images.cache


def build_services(
    blobs: BlobStore,
    metadata: MetadataStore,
    cache: Cache,
    detector: Detector | Callable[[], Detector],
    settings: Settings,
    secret: str = "",
    clock=time.time,
) -> Services:
    if settings.display_format not in DISPLAY_FORMATS:
        raise SystemExit(
            f"GALLERY_DISPLAY_FORMAT={settings.display_format!r} is not one of: {', '.join(DISPLAY_FORMATS)}"
        )
    images = Images(blobs, metadata, cache)
    work = ImageWork(settings)
    retention = Retention(images, settings.retention_days, clock, settings.max_versions_per_key, settings.quota_bytes)
    cursors = CursorCodec(secret or settings.secret_key or "gallery")  # the app passes its secret
    recognition = Recognition(images, work, detector, settings.max_upload_bytes)
    labelled_in_request = settings.label_on_upload and not settings.labels_after_upload
    labeller = recognition.labels_for_upload if labelled_in_request else None
    library = Library(images, work, retention, settings, labeller)
    catalog = Catalog(images, cursors, settings.page_size)
    media = Media(images, work, settings)
    albums = Albums(images, catalog, cursors, settings.page_size)
    return Services(
        library=library,
        history=History(images, retention, cursors, settings.page_size, library.free_key),
        catalog=catalog,
        albums=albums,
        media=media,
        processing=Processing(images, work, library, settings.max_upload_bytes, settings.max_pixels),
        recognition=recognition,
        uploads=DirectUploads(blobs, library, settings),
        admin=Admin(images, work, settings.public_origin),
        folders=Folders(images, cursors, settings.page_size),
        shares=Shares(images, catalog, media, cursors, settings.page_size, clock, albums=albums),
        images=images,
        work=work,
        retention=retention,
    )
