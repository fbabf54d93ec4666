"""Blob stores: ``local`` (file system, default) and ``s3``."""


def create_blob_store(settings: dict, instance_path: str):
    kind = settings["GALLERY_STORAGE"]
    if kind == "local":
        from .local import LocalBlobStore

        return LocalBlobStore(settings["GALLERY_DATA_DIR"] or f"{instance_path}/data")
    if kind == "s3":
        from .s3 import S3BlobStore

        return S3BlobStore(settings["GALLERY_S3_BUCKET"], settings["GALLERY_S3_PREFIX"], settings["AWS_REGION"])
    raise SystemExit(f"GALLERY_STORAGE={kind!r} is not one of: local, s3")
