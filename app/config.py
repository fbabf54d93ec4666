"""Every setting the app reads, declared once: the fields of ``Settings``.

Like thumbor's ``Config.define``, each option carries its default, a description and a group,
and the README's configuration table is generated from them (``python -m app.config``, ``make
docs``), so the docs cannot drift from the code. A field ``max_upload_mb`` is read from the
environment variable ``GALLERY_MAX_UPLOAD_MB``; the few that keep a conventional name say so
(``SECRET_KEY``, ``AWS_REGION``, ``HOST``, ``PORT``, ``FORWARDED_ALLOW_IPS``).

``load_settings()`` returns one frozen ``Settings``; each backend gets its own values from it
as constructor arguments, and templates see only what they display (``web.register``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from .core.units import megabytes


def option(default: Any, description: str, group: str, env: str = "") -> Any:
    return field(default=default, metadata={"description": description, "group": group, "env": env})


@dataclass(frozen=True)
class Settings:
    # -- Backends
    storage: str = option("local", "Blob store for image bytes: `local` or `s3`.", "Backends")
    metadata: str = option("sqlite", "Key→metadata store: `sqlite` or `dynamodb`.", "Backends")
    cache: str = option(
        "memory",
        "Image cache: `memory` (in-process; refused on Lambda), `memcached`, or `none`.",
        "Backends",
    )
    recognizer: str = option("local", "Object detector: `local` (bundled SSD MobileNet) or `rekognition`.", "Backends")
    data_dir: str = option("", "Folder for local blobs and the SQLite file (default: `instance/data`).", "Backends")
    # -- Limits
    max_upload_mb: float = option(25.0, "Largest accepted upload, in MB (413 above it).", "Limits")
    max_pixels: int = option(
        50_000_000, "Largest accepted image, in pixels (width × height); checked before decoding.", "Limits"
    )
    max_frames: int = option(1000, "Most frames accepted in an animated GIF/WebP/TIFF.", "Limits")
    max_decoded_mb: float = option(
        200.0,
        "Largest decoded image, in MB (pixels × channels × bytes per sample, from the header, before "
        "decoding): 50 MP of 8-bit RGBA (191 MB) pass, 50 MP of 16-bit RGBA (381 MB) are a 413.",
        "Limits",
    )
    page_size: int = option(48, "Thumbnails per gallery page.", "Limits")
    thumb_size: int = option(360, "Longest side of thumbnails, in pixels (2x thumbnails have twice that).", "Limits")
    display_size: int = option(
        1920,
        "Longest side of the display rendition pages show instead of the original, in pixels "
        "(`flask --app wsgi gallery renditions` makes it for images stored before).",
        "Limits",
    )
    display_format: str = option(
        "webp",
        "Format of display renditions: `webp`, or `jpeg` (less CPU per upload, about twice the bytes; "
        "WebP all the same for images with transparency).",
        "Limits",
    )
    max_body_mb: float = option(
        0.0,
        "Largest request body the app takes itself, in MB (`0`: the upload limit). Behind API Gateway and "
        "Lambda (6 MB per request) use `4`: bigger files go straight to S3 through `POST /api/uploads`, "
        "and a bigger body gets a 413 saying so.",
        "Limits",
    )
    redirect_over_mb: float = option(
        4.0,
        "On S3, originals larger than this (MB) are answered with a redirect to a short-lived presigned "
        "S3 URL instead of passing through the app (Lambda answers at most 6 MB); `0` never redirects.",
        "Limits",
    )
    retention_days: float = option(
        30.0,
        "Days that replaced versions and deleted images are kept (history and trash) before "
        "`gallery purge` removes them; `0` keeps nothing.",
        "Limits",
    )
    # -- Work budget
    work_budget: float = option(
        8.0,
        "Estimated CPU seconds one processing request may cost (decode, each step, encode); above it a 422 "
        "suggests resizing first.",
        "Work budget",
    )
    work_memory_mb: float = option(
        768.0,
        "Estimated working memory one processing request may use, in MB; above it a 422 as for the CPU budget.",
        "Work budget",
    )
    work_timeout: float = option(
        10.0,
        "Hard limit, in CPU seconds (and twice that in wall seconds), on the image work of one request "
        "(decoding, processing, recognition): the worker process doing it is killed and replaced, and the "
        "request gets a 422.",
        "Work budget",
    )
    work_processes: int = option(
        2,
        "Worker processes for costly image work; `0` runs it in the request's thread under the budget alone "
        "(no hard limit).",
        "Work budget",
    )
    work_client_processes: int = option(
        1,
        "Worker processes one client (address, API token or login) may hold at once; its further image work "
        "waits behind it, and the workers go round-robin between the clients waiting. Per server process.",
        "Work budget",
    )
    work_client_queue: int = option(
        2,
        "Pieces of image work one client may have waiting for a worker; beyond that a 429 with Retry-After.",
        "Work budget",
    )
    work_queue_size: int = option(
        16,
        "Pieces of image work that may wait for a worker, all clients together, per server process; when "
        "full a 503 with Retry-After at once.",
        "Work budget",
    )
    work_queue_wait: float = option(
        10.0,
        "Longest wait for a worker, in seconds; then a 503 with Retry-After (a 429 when the client's own "
        "work held it).",
        "Work budget",
    )
    work_backoff: float = option(
        10.0,
        "Seconds a client's image work is refused (429 with Retry-After) after a piece of it was stopped at "
        "the hard limit; doubled for each further stop, up to `GALLERY_WORK_BACKOFF_MAX`. Per server process.",
        "Work budget",
    )
    work_backoff_max: float = option(
        300.0,
        "Longest back-off after stops at the hard limit, in seconds; a client stopped nothing for this long "
        "after its last back-off starts again from `GALLERY_WORK_BACKOFF`.",
        "Work budget",
    )
    # -- Cache
    cache_capacity_mb: float = option(64.0, "Capacity of the in-process cache, in MB.", "Cache")
    cache_policy: str = option("lru", "Replacement policy of the in-process cache: `lru` or `random`.", "Cache")
    memcached_servers: str = option("127.0.0.1:11211", "Comma-separated `host:port` list of memcached nodes.", "Cache")
    memcached_timeout: float = option(0.25, "Seconds before a memcached node counts as down.", "Cache")
    memcached_tls: bool = option(
        False, "Talk to memcached over TLS (ElastiCache in-transit encryption); certificates are verified.", "Cache"
    )
    memcached_tls_ca_file: str = option(
        "", "PEM file of the CA that signed the memcached nodes' certificates (default: the system's CAs).", "Cache"
    )
    # -- AWS
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
        "display renditions and static files from it instead of the app. S3 storage and public reads only.",
        "AWS",
    )
    aws_region: str = option("us-east-1", "AWS region (AWS_DEFAULT_REGION is honoured too).", "AWS", env="AWS_REGION")
    # -- Recognition
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
    # -- Security
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
    )
    rate_limit_login: str = option("10/minute", "Login attempts per client (`off` disables a limit).", "Security")
    rate_limit_process: str = option(
        "30/minute",
        "Processing runs (page and `/api/process`) per client; a result served from the cache is free.",
        "Security",
    )
    rate_limit_preview: str = option(
        "600/minute", "Live previews (`/api/process` with `preview`) per client; cache hits are free.", "Security"
    )
    rate_limit_recognize: str = option(
        "30/minute", "Recognition runs (page and `/api/recognize`) per client.", "Security"
    )
    rate_limit_upload: str = option(
        "120/minute",
        "Uploaded files per client (Upload page, `POST /api/images`, direct-upload commits).",
        "Security",
    )
    session_hours: float = option(
        12.0, "Hours a login lasts. Logging out or changing the password ends every earlier login.", "Security"
    )
    allow_anonymous_writes: bool = option(
        False,
        "Start on AWS Lambda, on a non-loopback `HOST` or behind a proxy (`GALLERY_PROXY_COUNT`) even though no "
        "password hash or API token protects writes (the default refuses).",
        "Security",
    )
    # -- Server (read by gunicorn.conf.py and serve.py)
    host: str = option(
        "127.0.0.1",
        "Address the server listens on (`make run HOST=0.0.0.0`); other than loopback, writes need a credential.",
        "Server",
        env="HOST",
    )
    port: int = option(8000, "Port the server listens on.", "Server", env="PORT")
    workers: int = option(
        1,
        "gunicorn worker processes. One keeps a single in-process cache; raise it with memcached.",
        "Server",
    )
    threads: int = option(8, "Threads per gunicorn worker process, and of `make run`'s server.", "Server")
    read_timeout: float = option(
        30.0,
        "Seconds `make run`'s server (waitress) keeps a connection that neither sends nor accepts a byte "
        "(half-way through a request, or with its response waiting); then it is closed. Behind nginx, nginx's timeouts apply (docs/deploy.md).",
        "Server",
    )
    forwarded_allow_ips: str = option(
        "127.0.0.1",
        "Addresses of proxies whose `X-Forwarded-*` headers gunicorn trusts (`*` for any).",
        "Server",
        env="FORWARDED_ALLOW_IPS",
    )

    @property
    def labels_after_upload(self) -> bool:
        """Whether uploads leave labelling to the bucket's event (see ``label_async``)."""
        if self.label_async == "auto":
            return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))
        if self.label_async not in ("0", "1"):
            raise SystemExit(f"GALLERY_LABEL_ASYNC={self.label_async!r} is not one of: 0, 1, auto")
        return self.label_async == "1"

    @property
    def max_upload_bytes(self) -> int:
        return megabytes(self.max_upload_mb)

    @property
    def max_body_bytes(self) -> int:
        """The largest file the app takes in a request body (above it: the direct upload to S3)."""
        limit = self.max_upload_bytes
        return min(limit, megabytes(self.max_body_mb)) if self.max_body_mb > 0 else limit

    @property
    def redirect_over_bytes(self) -> int | None:
        return megabytes(self.redirect_over_mb) if self.redirect_over_mb > 0 else None

    @property
    def max_decoded_bytes(self) -> int:
        return megabytes(self.max_decoded_mb)

    @property
    def cache_capacity_bytes(self) -> int:
        return megabytes(self.cache_capacity_mb)


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(value: str) -> int:
    return int(value.strip())


def _float(value: str) -> float:
    return float(value.strip())


_PARSERS: dict[str, Callable[[str], Any]] = {"str": str, "int": _int, "float": _float, "bool": _bool}


@dataclass(frozen=True)
class Option:
    name: str  # the environment variable
    attr: str  # the Settings field
    default: Any
    description: str
    group: str
    parse: Callable[[str], Any]

    def read(self, raw: str) -> Any:
        try:
            return self.parse(raw)
        except ValueError as exc:
            raise SystemExit(f"{self.name}={raw!r} is not valid: {exc}") from exc


OPTIONS: list[Option] = [
    Option(
        name=f.metadata["env"] or f"GALLERY_{f.name.upper()}",
        attr=f.name,
        default=f.default,
        description=f.metadata["description"],
        group=f.metadata["group"],
        parse=_PARSERS[f.type],
    )
    for f in fields(Settings)
]


def load_settings(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Every option from ``environ`` (default: the process environment; unset or empty means the
    default), then from ``overrides`` keyed by the same variable names: strings there are read like
    the environment's, other values are taken as they are. Other keys are ignored."""
    environ = os.environ if environ is None else environ
    overrides = overrides or {}
    values = {}
    for option in OPTIONS:
        if option.name in overrides:
            raw = overrides[option.name]
            values[option.attr] = option.read(raw) if isinstance(raw, str) else raw
            continue
        raw = environ.get(option.name)
        if option.name == "AWS_REGION" and not raw:
            raw = environ.get("AWS_DEFAULT_REGION")
        if raw:
            values[option.attr] = option.read(raw)
    return Settings(**values)


def markdown_table() -> str:
    """The configuration table for the README."""
    lines = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    group = None
    for option in OPTIONS:
        if option.group != group:
            group = option.group
            lines.append(f"| **{group}** | | |")
        default = option.default
        shown = f"`{default:g}`" if isinstance(default, float) else f"`{default}`" if default != "" else "—"
        lines.append(f"| `{option.name}` | {shown} | {option.description} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
