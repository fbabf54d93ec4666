"""S3 blob store.

One boto3 client per store. boto3 itself honours ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3``
(moto_server, MinIO) and the usual credential chain, so nothing here names an endpoint.
"""

from __future__ import annotations

import io
from urllib.parse import urlsplit

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError

from ..aws import make_client, probe, unavailable
from ..errors import BackendUnavailable, NotFound
from ..units import MB
from .base import BlobStore, ObjectRef

# Objects are overwritable under the same key, so caches must revalidate (ETag) on every use.
CACHE_CONTROL = "no-cache"
# Multipart above 8 MB: parts upload in parallel and a failed part is retried alone.
TRANSFER = TransferConfig(multipart_threshold=8 * MB, multipart_chunksize=8 * MB, max_concurrency=4)
_MISSING = {"404", "NoSuchKey", "NotFound"}


class S3BlobStore(BlobStore):
    kind = "s3"
    supports_direct_upload = True
    supports_download_url = True

    def __init__(self, bucket: str, prefix: str = "", region: str = "us-east-1", client=None):
        self.bucket = bucket
        self.prefix = prefix
        self.region = region
        self.client = client or make_client(region)
        self._origin: str | None = None
        self._download_origin: str | None = None

    def _name(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def _unavailable(self, action: str, name: str, exc: Exception) -> BackendUnavailable:
        return unavailable(
            "Image storage", "S3", f"{action} of {name}", exc, ("NoSuchBucket", f"bucket '{self.bucket}'")
        )

    def put(self, name: str, data: bytes, content_type: str) -> None:
        # A single PUT and a completed multipart upload both replace the object atomically.
        extra = {"ContentType": content_type, "CacheControl": CACHE_CONTROL}
        try:
            self.client.upload_fileobj(
                io.BytesIO(data), self.bucket, self._name(name), ExtraArgs=extra, Config=TRANSFER
            )
        except (BotoCoreError, ClientError) as exc:
            raise self._unavailable("upload", name, exc) from exc
        except Exception as exc:  # s3transfer wraps some failures in its own types
            raise self._unavailable("upload", name, exc) from exc

    def get(self, name: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._name(name))["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                raise NotFound(f"No stored object named '{name}'.") from exc
            raise self._unavailable("download", name, exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable("download", name, exc) from exc

    def delete(self, name: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._name(name))
        except (BotoCoreError, ClientError) as exc:
            raise self._unavailable("delete", name, exc) from exc

    def check(self) -> str:
        """Health: 'ok' when the bucket answers (one HEAD), else why not."""
        return probe(lambda: self.client.head_bucket(Bucket=self.bucket), (_MISSING | {"NoSuchBucket"}, "bucket"))

    # Direct browser uploads -------------------------------------------------------------------

    def direct_upload_form(self, name: str, content_type: str, max_bytes: int, expires: int = 600) -> dict:
        """A presigned POST the browser sends straight to S3. S3 itself rejects a body outside
        1..``max_bytes`` or with another content type, so Lambda never sees the bytes."""
        key = self._name(name)
        try:
            return self.client.generate_presigned_post(
                Bucket=self.bucket,
                Key=key,
                Fields={"Content-Type": content_type},
                Conditions=[["content-length-range", 1, int(max_bytes)], {"Content-Type": content_type}],
                ExpiresIn=expires,
            )
        except (BotoCoreError, ClientError) as exc:
            raise self._unavailable("presign", name, exc) from exc

    def direct_upload_origin(self) -> str:
        """Computed locally from a presigned form (no request), once."""
        if self._origin is None:
            url = urlsplit(self.direct_upload_form("origin-probe", "image/png", 1, 60)["url"])
            self._origin = f"{url.scheme}://{url.netloc}"
        return self._origin

    def download_url(self, name: str, expires: int, content_type: str, filename: str | None = None) -> str:
        """A presigned GET (computed locally, no request): the bytes go from S3 to the client."""
        params = {
            "Bucket": self.bucket,
            "Key": self._name(name),
            "ResponseContentType": content_type,
            # Blob names carry the version, so what this URL answers never changes.
            "ResponseCacheControl": "private, max-age=31536000, immutable",
        }
        if filename:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        try:
            return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires)
        except (BotoCoreError, ClientError) as exc:
            raise self._unavailable("presign", name, exc) from exc

    def download_origin(self) -> str:
        if self._download_origin is None:
            url = urlsplit(self.download_url("origin-probe", 60, "image/png"))
            self._download_origin = f"{url.scheme}://{url.netloc}"
        return self._download_origin

    def size(self, name: str) -> int:
        try:
            response = self.client.head_object(Bucket=self.bucket, Key=self._name(name))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                raise NotFound(f"No stored object named '{name}'.") from exc
            raise self._unavailable("lookup", name, exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable("lookup", name, exc) from exc
        return response["ContentLength"]

    def external_ref(self, name: str) -> ObjectRef:
        return ObjectRef(self.bucket, self._name(name))

    # Provisioning (`flask gallery init`) --------------------------------------------------------

    def provision(self, staging_prefix: str = "", staging_days: int = 1) -> list[str]:
        """Create the bucket if missing and expire abandoned direct uploads; return what was done."""
        done = []
        try:
            try:
                self.client.head_bucket(Bucket=self.bucket)
                done.append(f"bucket s3://{self.bucket} already exists")
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in _MISSING | {"NoSuchBucket"}:
                    raise
                args = {"Bucket": self.bucket}
                if self.region != "us-east-1":
                    args["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
                self.client.create_bucket(**args)
                done.append(f"created bucket s3://{self.bucket} in {self.region}")
            if staging_prefix:
                rule = {
                    "ID": "expire-abandoned-direct-uploads",
                    "Filter": {"Prefix": self._name(staging_prefix)},
                    "Status": "Enabled",
                    "Expiration": {"Days": staging_days},
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                }
                self.client.put_bucket_lifecycle_configuration(
                    Bucket=self.bucket, LifecycleConfiguration={"Rules": [rule]}
                )
                done.append(f"uploads under {self._name(staging_prefix)} expire after {staging_days} day(s)")
        except (BotoCoreError, ClientError) as exc:
            raise self._unavailable("bucket setup", self.bucket, exc) from exc
        return done
