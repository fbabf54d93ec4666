"""Metadata stores: ``sqlite`` (default) and ``dynamodb``; the protocol is ``base.MetadataStore``."""

from __future__ import annotations

from ..config import Settings
from .base import MetadataStore


def create_metadata_store(settings: Settings, instance_path: str) -> MetadataStore:
    if settings.metadata == "sqlite":
        from .sqlite import SqliteMetadataStore

        data_dir = settings.data_dir or f"{instance_path}/data"
        return SqliteMetadataStore(f"{data_dir}/gallery.sqlite3")
    if settings.metadata == "dynamodb":
        from .dynamodb import DynamoMetadataStore

        return DynamoMetadataStore(settings.dynamodb_table, settings.aws_region)
    raise SystemExit(f"GALLERY_METADATA={settings.metadata!r} is not one of: sqlite, dynamodb")
