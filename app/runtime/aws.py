"""What every AWS backend shares: how its boto3 client is made and how its failures read.

boto3 itself honours ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>`` (moto_server, MinIO)
and the usual credential chain, so nothing here names an endpoint.
"""

from __future__ import annotations

import functools
import logging

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, ReadTimeoutError

from ..core.errors import BackendUnavailable

log = logging.getLogger(__name__)


# A hung backend must be a 503 within 5 s, not a worker held for minutes. A silent server costs
# attempts × read timeout (+ ≤ 50 ms backoff): 2 s, or 4 s for an S3 upload, where botocore first
# waits up to 1 s for "100 Continue". The read timeout bounds each socket read, not a whole
# transfer, so multipart uploads and large downloads are unaffected. Rekognition can take a few
# seconds to answer, so it gets one longer attempt instead of two short ones.
CONNECT_TIMEOUT = 1.0
TIMEOUTS = {"rekognition": (4.0, 1)}  # service: (read timeout, attempts in all)
DEFAULT_TIMEOUT = (1.0, 2)


def make_client(region: str, service: str = "s3", extra: Config | None = None):
    """A client with short timeouts and few retries: a slow backend becomes a 503, not a hung worker.
    Standard retries also keep a per-client retry quota, so a backend that keeps timing out soon
    gets one attempt per call instead of two. ``extra`` adds service-specific settings (S3's
    signature version, say)."""
    read_timeout, attempts = TIMEOUTS.get(service, DEFAULT_TIMEOUT)
    config = Config(
        region_name=region,
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=read_timeout,
        retries={"total_max_attempts": attempts, "mode": "standard"},
        max_pool_connections=32,
    )
    if extra is not None:
        config = config.merge(extra)
    # A session of its own (credentials and settings are read when the client is made), but one
    # loader for all: each session would otherwise parse botocore's endpoint and service models
    # again, most of a cold start's client set-up.
    core = botocore.session.get_session()
    core.register_component("data_loader", _shared_loader())
    return boto3.session.Session(botocore_session=core).client(service, config=config)


@functools.cache
def _shared_loader() -> botocore.loaders.Loader:
    return botocore.loaders.create_loader()


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
    if isinstance(exc, ConnectTimeoutError | ReadTimeoutError):
        return BackendUnavailable(
            f"{part} is unavailable: {service} did not answer the {action} in time. Try again shortly."
        )
    detail = code or type(exc).__name__
    return BackendUnavailable(f"{part} is unavailable: {service} {action} failed ({detail}). Try again shortly.")


def probe(call, missing: tuple[set[str], str]) -> str:
    """Health check: run one cheap request; 'ok', or why it failed in a few words (no names:
    /healthz is public). ``missing`` is (the codes meaning the resource does not exist, what it is)."""
    try:
        call()
        return "ok"
    except (BotoCoreError, ClientError) as exc:
        code = error_code(exc)
        if code in missing[0]:
            return f"{missing[1]} does not exist"
        if isinstance(exc, ConnectTimeoutError | ReadTimeoutError):
            return "no answer in time"
        return f"failed ({code or type(exc).__name__})"
