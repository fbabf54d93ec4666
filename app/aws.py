"""What every AWS backend shares: how its boto3 client is made and how its failures read.

boto3 itself honours ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>`` (moto_server, MinIO)
and the usual credential chain, so nothing here names an endpoint.
"""

from __future__ import annotations

import logging

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from .errors import BackendUnavailable

log = logging.getLogger(__name__)


def make_client(region: str, service: str = "s3"):
    """A client with short timeouts and standard retries: a slow backend becomes a 503, not a hung worker."""
    config = Config(
        region_name=region,
        connect_timeout=5,
        read_timeout=30,
        retries={"max_attempts": 3, "mode": "standard"},
        max_pool_connections=32,
    )
    return boto3.session.Session().client(service, config=config)


def error_code(exc: Exception) -> str:
    """The service's error code (``NoSuchBucket``...), or '' for a network or client-side failure."""
    return exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""


def unavailable(
    part: str, service: str, action: str, exc: Exception, missing: tuple[str, str], subject: str = ""
) -> BackendUnavailable:
    """A clear 503 for a failed call. ``missing`` is (the code meaning the resource does not exist,
    what that resource is), e.g. ``("NoSuchBucket", "bucket 'photos'")``; ``subject`` (an object
    name, say) goes to the log only."""
    log.warning("%s %s %s failed: %s", service, action, subject, exc)
    code = error_code(exc)
    if code == missing[0]:
        return BackendUnavailable(
            f"{part} is unavailable: {service} {missing[1]} does not exist (run `flask --app wsgi gallery init`)."
        )
    detail = code or type(exc).__name__
    return BackendUnavailable(f"{part} is unavailable: {service} {action} failed ({detail}). Try again shortly.")
