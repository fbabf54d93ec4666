"""S3 blob store.

One boto3 client per store. boto3 itself honours ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3``
(moto_server, MinIO) and the usual credential chain, so nothing here names an endpoint.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterable
from urllib.parse import urlsplit

from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ..core.errors import BackendUnavailable, NotFound
from ..core.units import MB
from ..runtime.aws import error_code, make_client, probe, unavailable
from .base import BlobStore, ObjectRef

# Objects are overwritable under the same key, so caches must revalidate (ETag) on every use.
CACHE_CONTROL = "no-cache"
# Multipart above 8 MB: parts upload in parallel and a failed part is retried alone.
TRANSFER = TransferConfig(multipart_threshold=8 * MB, multipart_chunksize=8 * MB, max_concurrency=4)
PART_BYTES = 8 * MB  # streamed multipart parts (S3 takes 5 MB..5 GB, the last smaller)
_MISSING = {"404", "NoSuchKey", "NotFound"}
# The IDs of the rules `gallery init` owns; other rules in the bucket are the operator's and stay.
LIFECYCLE_RULE = "expire-abandoned-direct-uploads"
CORS_RULE = "gallery-browser-uploads"
# boto3 still presigns SigV2 for us-east-1 by default, and buckets created since June 2020 refuse
# SigV2; the regional endpoint (not s3.amazonaws.com) keeps presigned URLs valid from the first
# second for a new bucket, without the global endpoint's 307 to the region.
SIGV4 = Config(signature_version="s3v4", s3={"us_east_1_regional_endpoint": "regional"})


class S3BlobStore(BlobStore):
    kind = "s3"
    supports_direct_upload = True
    supports_download_url = True

    def __init__(self, bucket: str, prefix: str = "", region: str = "us-east-1", client=None):
        self.bucket = bucket
        self.prefix = prefix
        self.region = region
        self.client = client or make_client(region, "s3", SIGV4)
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

    def put_stream(self, name: str, chunks: Iterable[bytes], content_type: str) -> int:
        """A multipart upload fed part by part as ``chunks`` arrive: memory holds one part. The
        object appears whole when the upload completes; any failure aborts it (nothing is left)."""
        key, size, parts, buffer = self._name(name), 0, [], bytearray()
        try:
            upload = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=key, ContentType=content_type, CacheControl=CACHE_CONTROL
            )["UploadId"]
        except (BotoCoreError, ClientError) as exc:
            raise self._unavailable("upload", name, exc) from exc
        try:

            def send(data: bytes) -> None:
                number = len(parts) + 1
                answer = self.client.upload_part(
                    Bucket=self.bucket, Key=key, UploadId=upload, PartNumber=number, Body=data
                )
                parts.append({"ETag": answer["ETag"], "PartNumber": number})

            for chunk in chunks:
                buffer += chunk
                size += len(chunk)
                if len(buffer) >= PART_BYTES:
                    send(bytes(buffer))
                    buffer.clear()
            if buffer or not parts:
                send(bytes(buffer))
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": parts}
            )
        except BaseException as exc:
            # If even the abort fails, the staging lifecycle rule aborts it after a day.
            with contextlib.suppress(BotoCoreError, ClientError):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload)
            if isinstance(exc, BotoCoreError | ClientError):
                raise self._unavailable("upload", name, exc) from exc
            raise
        return size

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

    def provision(self, staging_prefix: str = "", public_origin: str = "", staging_days: int = 1) -> list[str]:
        """Create the bucket if missing, then make each setting the gallery needs true, leaving
        everything else an operator set in place: the rule that expires abandoned direct uploads
        (beside other lifecycle rules), CORS for the site's origin (beside other CORS rules), the
        public-access block and default encryption. Say what was done, or that it was already so."""
        try:
            done = [self._provision_bucket()]
            if staging_prefix:
                done.append(self._provision_lifecycle(self._name(staging_prefix), staging_days))
            done.append(self._provision_cors(public_origin))
            done.append(self._provision_public_access_block())
            done.append(self._provision_encryption())
        except (BotoCoreError, ClientError) as exc:
            raise self._unavailable("bucket setup", self.bucket, exc) from exc
        return done

    def _provision_bucket(self) -> str:
        try:
            self.client.head_bucket(Bucket=self.bucket)
            return f"bucket s3://{self.bucket} already exists"
        except ClientError as exc:
            if error_code(exc) not in _MISSING | {"NoSuchBucket"}:
                raise
        args = {"Bucket": self.bucket}
        if self.region != "us-east-1":
            args["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        self.client.create_bucket(**args)
        return f"created bucket s3://{self.bucket} in {self.region}"

    def _current(self, method: str, field: str, absent: str):
        """One bucket setting as S3 returns it; None when the bucket has none."""
        try:
            return getattr(self.client, method)(Bucket=self.bucket)[field]
        except ClientError as exc:
            if error_code(exc) == absent:
                return None
            raise

    def _provision_lifecycle(self, prefix: str, days: int) -> str:
        rule = {
            "ID": LIFECYCLE_RULE,
            "Filter": {"Prefix": prefix},
            "Status": "Enabled",
            "Expiration": {"Days": days},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        }
        rules = self._current("get_bucket_lifecycle_configuration", "Rules", "NoSuchLifecycleConfiguration") or []
        others = [r for r in rules if r.get("ID") != LIFECYCLE_RULE]
        kept = f" ({len(others)} other rule(s) kept)" if others else ""
        if any(r == rule for r in rules):
            return f"lifecycle: uploads under {prefix} already expire after {days} day(s){kept}"
        self.client.put_bucket_lifecycle_configuration(
            Bucket=self.bucket, LifecycleConfiguration={"Rules": [*others, rule]}
        )
        return f"lifecycle: uploads under {prefix} expire after {days} day(s){kept}"

    def _provision_cors(self, origin: str) -> str:
        if not origin:
            return (
                "CORS: not set; set GALLERY_PUBLIC_ORIGIN (e.g. https://gallery.example.com) and run init again "
                "so browsers can send large files straight to the bucket"
            )
        rule = {
            "ID": CORS_RULE,
            "AllowedOrigins": [origin.rstrip("/")],
            "AllowedMethods": ["GET", "POST"],
            "AllowedHeaders": ["*"],
            "MaxAgeSeconds": 3600,
        }
        rules = self._current("get_bucket_cors", "CORSRules", "NoSuchCORSConfiguration") or []
        others = [r for r in rules if r.get("ID") != CORS_RULE]
        kept = f" ({len(others)} other rule(s) kept)" if others else ""
        if any(r == rule for r in rules):
            return f"CORS: {rule['AllowedOrigins'][0]} may already GET and POST{kept}"
        self.client.put_bucket_cors(Bucket=self.bucket, CORSConfiguration={"CORSRules": [*others, rule]})
        return f"CORS: {rule['AllowedOrigins'][0]} may GET and POST{kept}"

    def _provision_public_access_block(self) -> str:
        wanted = dict.fromkeys(
            ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
        )
        current = self._current(
            "get_public_access_block", "PublicAccessBlockConfiguration", "NoSuchPublicAccessBlockConfiguration"
        )
        if current == wanted:
            return "public access: already blocked"
        self.client.put_public_access_block(Bucket=self.bucket, PublicAccessBlockConfiguration=wanted)
        return "public access: blocked (objects are reached through the app or presigned URLs only)"

    def _provision_encryption(self) -> str:
        current = self._current(
            "get_bucket_encryption",
            "ServerSideEncryptionConfiguration",
            "ServerSideEncryptionConfigurationNotFoundError",
        )
        for rule in (current or {}).get("Rules", []):
            algorithm = rule.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm")
            if algorithm:  # SSE-S3, or the operator's own KMS key: either is kept
                return f"encryption: already on by default ({algorithm})"
        self.client.put_bucket_encryption(
            Bucket=self.bucket,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
        )
        return "encryption: on by default (SSE-S3, AES256)"
