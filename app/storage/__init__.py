"""Blob stores: ``local`` (file system, default) and ``s3``; the protocol is ``base.BlobStore``."""

from __future__ import annotations

from ..config import Settings
from .base import BlobStore


def create_blob_store(settings: Settings, instance_path: str) -> BlobStore:
    if settings.storage == "local":
        from .local import LocalBlobStore

        return LocalBlobStore(settings.data_dir or f"{instance_path}/data")
    if settings.storage == "s3":
        from .s3 import S3BlobStore

        return S3BlobStore(settings.s3_bucket, settings.s3_prefix, settings.aws_region)
    raise SystemExit(f"GALLERY_STORAGE={settings.storage!r} is not one of: local, s3")
