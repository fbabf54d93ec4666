"""Metadata stores: ``sqlite`` (default) and ``dynamodb``."""


def create_metadata_store(settings: dict, instance_path: str):
    kind = settings["GALLERY_METADATA"]
    if kind == "sqlite":
        from .sqlite import SqliteMetadataStore

        data_dir = settings["GALLERY_DATA_DIR"] or f"{instance_path}/data"
        return SqliteMetadataStore(f"{data_dir}/gallery.sqlite3")
    if kind == "dynamodb":
        from .dynamodb import DynamoMetadataStore

        return DynamoMetadataStore(settings["GALLERY_DYNAMODB_TABLE"], settings["AWS_REGION"])
    raise SystemExit(f"GALLERY_METADATA={kind!r} is not one of: sqlite, dynamodb")
