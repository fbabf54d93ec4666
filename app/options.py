"""The options, declared once each with their default, description, group and accepted values,
in one frozen dataclass per group; ``app.config.Settings`` joins them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .core.values import rate_limit


def option(
    default: Any,
    description: str,
    group: str,
    env: str = "",
    choices: tuple[str, ...] = (),
    minimum: float | None = None,
    maximum: float | None = None,
    check: Callable[[str], None] | None = None,
) -> Any:
    """One setting: its default, what it means, its README group, and what it accepts beyond its
    type: a fixed set of ``choices`` (shown in the README table), numeric bounds, or a ``check``
    that raises ``ValueError`` saying what is wrong."""
    metadata = {
        "description": description,
        "group": group,
        "env": env,
        "choices": choices,
        "minimum": minimum,
        "maximum": maximum,
        "check": check,
    }
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class _BackendsSettings:
    """Backends."""

    storage: str = option("local", "Blob store for image bytes.", "Backends", choices=("local", "s3"))
    metadata: str = option("sqlite", "Key→metadata store.", "Backends", choices=("sqlite", "dynamodb"))
    cache: str = option(
        "memory",
        "Image cache (`memory`: in-process, refused on Lambda; `none`: no cache).",
        "Backends",
        choices=("memory", "memcached", "none"),
    )
    recognizer: str = option(
        "local",
        "Object detector (`local`: the bundled SSD MobileNet).",
        "Backends",
        choices=("local", "rekognition"),
    )
    data_dir: str = option("", "Folder for local blobs and the SQLite file (default: `instance/data`).", "Backends")


@dataclass(frozen=True)
class _LimitsSettings:
    """Limits."""

    max_upload_mb: float = option(25.0, "Largest accepted upload, in MB (413 above it).", "Limits", minimum=0)
    max_pixels: int = option(
        50_000_000, "Largest accepted image, in pixels (width × height); checked before decoding.", "Limits", minimum=1
    )
    max_frames: int = option(1000, "Most frames accepted in an animated GIF/WebP/TIFF.", "Limits", minimum=1)
    max_decoded_mb: float = option(
        200.0,
        "Largest decoded image, in MB (pixels × channels × bytes per sample, from the header, before "
        "decoding): 50 MP of 8-bit RGBA (191 MB) pass, 50 MP of 16-bit RGBA (381 MB) are a 413.",
        "Limits",
        minimum=0,
    )
    page_size: int = option(48, "Thumbnails per gallery page.", "Limits", minimum=1)
    thumb_size: int = option(
        360, "Longest side of thumbnails, in pixels (2x thumbnails have twice that).", "Limits", minimum=1
    )
    display_size: int = option(
        1920,
        "Longest side of the display rendition pages show instead of the original, in pixels "
        "(`flask --app wsgi gallery renditions` makes it for images stored before); `0` makes none.",
        "Limits",
        minimum=0,
    )
    display_format: str = option(
        "webp",
        "Format of display renditions: `jpeg` takes less CPU per upload and about twice the bytes "
        "(WebP all the same for images with transparency).",
        "Limits",
        choices=("webp", "jpeg"),
    )
    max_body_mb: float = option(
        0.0,
        "Largest request body the app takes itself, in MB (`0`: the upload limit). Behind API Gateway and "
        "Lambda (6 MB per request) use `4`: bigger files go straight to S3 through `POST /api/uploads`, "
        "and a bigger body gets a 413 saying so.",
        "Limits",
        minimum=0,
    )
    redirect_over_mb: float = option(
        4.0,
        "On S3, originals larger than this (MB) are answered with a redirect to a short-lived presigned "
        "S3 URL instead of passing through the app (Lambda answers at most 6 MB); `0` never redirects.",
        "Limits",
        minimum=0,
    )
    retention_days: float = option(
        30.0,
        "Days that replaced versions and deleted images are kept (history and trash) before "
        "`gallery purge` removes them; `0` keeps nothing.",
        "Limits",
        minimum=0,
    )
    max_versions_per_key: int = option(
        20,
        "Most versions one key keeps, the current one included: a replacement beyond it removes the oldest "
        "earlier versions for good (the history says how many); `0` sets no cap.",
        "Limits",
        minimum=0,
    )
    quota_gb: float = option(
        0.0,
        "Storage quota in GB (originals of current images, earlier versions and the trash); an upload that "
        "would go over it is refused with 507, changing nothing. `0`: no quota.",
        "Limits",
        minimum=0,
    )


@dataclass(frozen=True)
class _WorkBudgetSettings:
    """Work budget."""

    work_budget: float = option(
        8.0,
        "Estimated CPU seconds one processing request may cost (decode, each step, encode); above it a 422 "
        "suggests resizing first.",
        "Work budget",
        minimum=0,
    )
    work_memory_mb: float = option(
        768.0,
        "Estimated working memory one processing request may use, in MB; above it a 422 as for the CPU budget.",
        "Work budget",
        minimum=0,
    )
    work_timeout: float = option(
        10.0,
        "Hard limit, in CPU seconds (and twice that in wall seconds), on the image work of one request "
        "(decoding, processing, recognition): the worker process doing it is killed and replaced, and the "
        "request gets a 422.",
        "Work budget",
        minimum=0,
    )
    work_processes: int = option(
        2,
        "Worker processes for costly image work; `0` runs it in the request's thread under the budget alone "
        "(no hard limit).",
        "Work budget",
        minimum=0,
    )
    work_client_processes: int = option(
        1,
        "Worker processes one client (address, API token or login) may hold at once; its further image work "
        "waits behind it, and the workers go round-robin between the clients waiting. Per server process.",
        "Work budget",
        minimum=0,
    )
    work_client_queue: int = option(
        2,
        "Pieces of image work one client may have waiting for a worker; beyond that a 429 with Retry-After.",
        "Work budget",
        minimum=0,
    )
    work_queue_size: int = option(
        16,
        "Pieces of image work that may wait for a worker, all clients together, per server process; when "
        "full a 503 with Retry-After at once.",
        "Work budget",
        minimum=0,
    )
    work_queue_wait: float = option(
        10.0,
        "Longest wait for a worker, in seconds; then a 503 with Retry-After (a 429 when the client's own "
        "work held it).",
        "Work budget",
        minimum=0,
    )
    work_backoff: float = option(
        10.0,
        "Seconds a client's image work is refused (429 with Retry-After) after a piece of it was stopped at "
        "the hard limit; doubled for each further stop, up to `GALLERY_WORK_BACKOFF_MAX`. Per server process.",
        "Work budget",
        minimum=0,
    )
    work_backoff_max: float = option(
        300.0,
        "Longest back-off after stops at the hard limit, in seconds; a client stopped nothing for this long "
        "after its last back-off starts again from `GALLERY_WORK_BACKOFF`.",
        "Work budget",
        minimum=0,
    )


@dataclass(frozen=True)
class _CacheSettings:
    """Cache."""

    cache_capacity_mb: float = option(64.0, "Capacity of the in-process cache, in MB.", "Cache", minimum=0)
    cache_policy: str = option("lru", "Replacement policy of the in-process cache.", "Cache", choices=("lru", "random"))
    memcached_servers: str = option("127.0.0.1:11211", "Comma-separated `host:port` list of memcached nodes.", "Cache")
    memcached_timeout: float = option(0.25, "Seconds before a memcached node counts as down.", "Cache", minimum=0)
    memcached_tls: bool = option(
        False, "Talk to memcached over TLS (ElastiCache in-transit encryption); certificates are verified.", "Cache"
    )
    memcached_tls_ca_file: str = option(
        "", "PEM file of the CA that signed the memcached nodes' certificates (default: the system's CAs).", "Cache"
    )


@dataclass(frozen=True)
class _AwsSettings:
    """AWS."""

    s3_bucket: str = option("cloud-image-gallery", "S3 bucket for image bytes.", "AWS")
    s3_prefix: str = option("", "Key prefix inside the bucket (e.g. `gallery/`).", "AWS")
    dynamodb_table: str = option("cloud-image-gallery", "DynamoDB table for metadata.", "AWS")
    public_origin: str = option(
        "",
        "The site's origin as browsers see it (e.g. `https://gallery.example.com`): `gallery init` lets it "
        "post uploads to the bucket and read from it (CORS).",
        "AWS",
    )
    media_url: str = option(
        "",
        "A CDN in front of the bucket (e.g. `https://d111111abcdef8.cloudfront.net`, a CloudFront "
        "distribution with origin access control; `gallery init --cdn` says how): pages load thumbnails, "
        "display renditions and static files from it instead of the app. S3 storage only; with private reads "
        "(`GALLERY_PUBLIC_READ=0`) media URLs are signed (`GALLERY_CDN_KEY_PAIR_ID` and a private key below).",
        "AWS",
    )
    cdn_key_pair_id: str = option(
        "",
        "ID of the CloudFront public key (in the distribution's trusted key group) whose private key signs "
        "media URLs when reads are private.",
        "AWS",
    )
    cdn_private_key_ssm: str = option(
        "",
        "Name of an SSM SecureString holding that private key (RSA, PEM), read once at start-up.",
        "AWS",
    )
    cdn_private_key_file: str = option(
        "", "A PEM file holding that private key instead (EC2: readable by the app's user only).", "AWS"
    )
    cdn_url_minutes: int = option(
        60,
        "How long a signed media URL works, at least: expiry is rounded up to the end of the next whole "
        "period, so pages show the same URLs for a period (browser copies stay good, one signature "
        "serves the period) and each works for up to twice this.",
        "AWS",
        minimum=1,
    )
    aws_region: str = option("us-east-1", "AWS region (AWS_DEFAULT_REGION is honoured too).", "AWS", env="AWS_REGION")


@dataclass(frozen=True)
class _RecognitionSettings:
    """Recognition."""

    label_on_upload: bool = option(
        True,
        "Run object detection on every upload and store the labels, so every photo can be found by "
        "label (a failed detection keeps the upload; `gallery label --missing` retries).",
        "Recognition",
    )
    label_async: str = option(
        "auto",
        "With `GALLERY_LABEL_ON_UPLOAD`: `1` answers the upload first and labels it from the bucket's "
        "S3 event (`app.events.label_uploaded`, in `zappa_settings.json`'s `events`); `0` labels inside "
        "the upload request; `auto` is `1` on AWS Lambda. `gallery label --missing` sweeps what is left.",
        "Recognition",
    )


@dataclass(frozen=True)
class _SecuritySettings:
    """Security."""

    secret_key: str = option(
        "",
        "Flask secret key; generated and kept in the instance folder when unset.",
        "Security",
        env="SECRET_KEY",
    )
    secret_key_ssm: str = option(
        "",
        "Name of an SSM SecureString holding the secret key, read at start-up when `SECRET_KEY` is unset "
        "(on Lambda one of the two is required).",
        "Security",
    )
    admin_password: str = option(
        "",
        "When set (or the hash below), uploads, saves, deletes and cache changes need a login or an API token.",
        "Security",
    )
    admin_password_hash: str = option(
        "",
        "The admin password as a `werkzeug.security.generate_password_hash` string (instead of the plain one).",
        "Security",
    )
    api_tokens: str = option(
        "",
        "Comma-separated tokens accepted as `Authorization: Bearer <token>` for writes (no CSRF token needed).",
        "Security",
    )
    admin_password_hash_ssm: str = option(
        "",
        "Name of an SSM SecureString holding `GALLERY_ADMIN_PASSWORD_HASH`, read once at start-up "
        "(keeps the hash out of `zappa_settings.json` and the function's configuration).",
        "Security",
    )
    api_tokens_ssm: str = option(
        "",
        "Name of an SSM SecureString holding `GALLERY_API_TOKENS` (comma-separated), read once at start-up.",
        "Security",
    )
    public_read: bool = option(
        True,
        "With a password or tokens set: `1` keeps pages and images public, `0` needs a login for everything.",
        "Security",
    )
    secure_cookies: bool = option(
        False,
        "Always mark the session cookie `Secure` (it is anyway on requests that arrive over HTTPS).",
        "Security",
    )
    proxy_count: int = option(
        0,
        "Reverse proxies in front of the app whose `X-Forwarded-For/-Proto/-Host` are trusted (client IP, HTTPS).",
        "Security",
        minimum=0,
    )
    rate_limit_login: str = option(
        "10/minute", "Login attempts per client (`off` disables a limit).", "Security", check=rate_limit
    )
    rate_limit_process: str = option(
        "30/minute",
        "Processing runs (page and `/api/process`) per client; a result served from the cache is free.",
        "Security",
        check=rate_limit,
    )
    rate_limit_preview: str = option(
        "600/minute",
        "Live previews (`/api/process` with `preview`) per client; cache hits are free.",
        "Security",
        check=rate_limit,
    )
    rate_limit_recognize: str = option(
        "30/minute", "Recognition runs (page and `/api/recognize`) per client.", "Security", check=rate_limit
    )
    rate_limit_upload: str = option(
        "120/minute",
        "Uploaded files per client (Upload page, `POST /api/images`, direct-upload commits).",
        "Security",
        check=rate_limit,
    )
    session_hours: float = option(
        12.0,
        "Hours a login lasts. Logging out or changing the password ends every earlier login.",
        "Security",
        minimum=0,
    )
    allow_anonymous_writes: bool = option(
        False,
        "Start on AWS Lambda, on a non-loopback `HOST` or behind a proxy (`GALLERY_PROXY_COUNT`) even though no "
        "password hash or API token protects writes (the default refuses).",
        "Security",
    )


@dataclass(frozen=True)
class _ServerSettings:
    """Server (read by gunicorn.conf.py and serve.py)."""

    host: str = option(
        "127.0.0.1",
        "Address the server listens on (`make run HOST=0.0.0.0`); other than loopback, writes need a credential.",
        "Server",
        env="HOST",
    )
    port: int = option(8000, "Port the server listens on.", "Server", env="PORT", minimum=0, maximum=65535)
    workers: int = option(
        1,
        "gunicorn worker processes. One keeps a single in-process cache; raise it with memcached.",
        "Server",
        minimum=1,
    )
    threads: int = option(8, "Threads per gunicorn worker process, and of `make run`'s server.", "Server", minimum=1)
    read_timeout: float = option(
        30.0,
        "Seconds `make run`'s server (waitress) keeps a connection that neither sends nor accepts a byte "
        "(half-way through a request, or with its response waiting); then it is closed. Behind nginx, nginx's timeouts apply (docs/deploy.md).",
        "Server",
        minimum=0,
    )
    forwarded_allow_ips: str = option(
        "127.0.0.1",
        "Addresses of proxies whose `X-Forwarded-*` headers gunicorn trusts (`*` for any).",
        "Server",
        env="FORWARDED_ALLOW_IPS",
    )
