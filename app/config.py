"""Every setting the app reads, declared once with its default and description.

Like thumbor's ``Config.define``: the README's configuration table is generated from
``OPTIONS`` (``python -m app.config``), so the docs cannot drift from the code.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Option:
    name: str
    default: Any
    description: str
    group: str
    parse: Callable[[str], Any] = str


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(value: str) -> int:
    return int(value.strip())


def _float(value: str) -> float:
    return float(value.strip())


OPTIONS: list[Option] = []


def define(name, default, description, group, parse=str):
    OPTIONS.append(Option(name, default, description, group, parse))


# Backends
define("GALLERY_STORAGE", "local", "Blob store for image bytes: `local` or `s3`.", "Backends")
define("GALLERY_METADATA", "sqlite", "Key→metadata store: `sqlite` or `dynamodb`.", "Backends")
define("GALLERY_CACHE", "memory", "Image cache: `memory` (in-process) or `memcached`.", "Backends")
define("GALLERY_RECOGNIZER", "local", "Object detector: `local` (bundled SSD MobileNet) or `rekognition`.", "Backends")
define(
    "GALLERY_DATA_DIR",
    "",
    "Folder for local blobs and the SQLite file (default: `instance/data`).",
    "Backends",
)
# Limits
define("GALLERY_MAX_UPLOAD_MB", 25, "Largest accepted upload, in MB (413 above it).", "Limits", _float)
define(
    "GALLERY_MAX_PIXELS",
    50_000_000,
    "Largest accepted image, in pixels (width × height); checked before decoding.",
    "Limits",
    _int,
)
define("GALLERY_MAX_FRAMES", 1000, "Most frames accepted in an animated GIF/WebP/TIFF.", "Limits", _int)
define("GALLERY_PAGE_SIZE", 48, "Thumbnails per gallery page.", "Limits", _int)
define("GALLERY_THUMB_SIZE", 360, "Longest side of thumbnails, in pixels.", "Limits", _int)
define(
    "GALLERY_RETENTION_DAYS",
    30,
    "Days that replaced versions and deleted images are kept (history and trash) before `gallery purge` "
    "removes them; `0` keeps nothing.",
    "Limits",
    _float,
)
# Cache
define("GALLERY_CACHE_CAPACITY_MB", 64, "Capacity of the in-process cache, in MB.", "Cache", _float)
define("GALLERY_CACHE_POLICY", "lru", "Replacement policy of the in-process cache: `lru` or `random`.", "Cache")
define(
    "GALLERY_MEMCACHED_SERVERS",
    "127.0.0.1:11211",
    "Comma-separated `host:port` list of memcached nodes.",
    "Cache",
)
define("GALLERY_MEMCACHED_TIMEOUT", 0.25, "Seconds before a memcached node counts as down.", "Cache", _float)
# AWS
define("GALLERY_S3_BUCKET", "cloud-image-gallery", "S3 bucket for image bytes.", "AWS")
define("GALLERY_S3_PREFIX", "", "Key prefix inside the bucket (e.g. `gallery/`).", "AWS")
define("GALLERY_DYNAMODB_TABLE", "cloud-image-gallery", "DynamoDB table for metadata.", "AWS")
define("AWS_REGION", "us-east-1", "AWS region (AWS_DEFAULT_REGION is honoured too).", "AWS")
# Recognition
define(
    "GALLERY_LABEL_ON_UPLOAD", False, "Run object detection on every upload and store the labels.", "Recognition", _bool
)
# Security
define("SECRET_KEY", "", "Flask secret key; generated and kept in the instance folder when unset.", "Security")
define(
    "GALLERY_ADMIN_PASSWORD",
    "",
    "When set (or the hash below), uploads, saves, deletes and cache changes need a login or an API token.",
    "Security",
)
define(
    "GALLERY_ADMIN_PASSWORD_HASH",
    "",
    "The admin password as a `werkzeug.security.generate_password_hash` string (instead of the plain one).",
    "Security",
)
define(
    "GALLERY_API_TOKENS",
    "",
    "Comma-separated tokens accepted as `Authorization: Bearer <token>` for writes (no CSRF token needed).",
    "Security",
)
define(
    "GALLERY_PUBLIC_READ",
    True,
    "With a password or tokens set: `1` keeps pages and images public, `0` needs a login for everything.",
    "Security",
    _bool,
)
define(
    "GALLERY_SECURE_COOKIES",
    False,
    "Always mark the session cookie `Secure` (it is anyway on requests that arrive over HTTPS).",
    "Security",
    _bool,
)
define(
    "GALLERY_PROXY_COUNT",
    0,
    "Reverse proxies in front of the app whose `X-Forwarded-For/-Proto/-Host` are trusted (client IP, HTTPS).",
    "Security",
    _int,
)
define("GALLERY_RATE_LIMIT_LOGIN", "10/minute", "Login attempts per client (`off` disables a limit).", "Security")
define("GALLERY_RATE_LIMIT_PROCESS", "30/minute", "Processing runs (page and `/api/process`) per client.", "Security")
define(
    "GALLERY_RATE_LIMIT_RECOGNIZE",
    "30/minute",
    "Recognition runs (page and `/api/recognize`) per client.",
    "Security",
)


def load_settings(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Read every option from the environment, falling back to its default."""
    environ = os.environ if environ is None else environ
    settings = {}
    for option in OPTIONS:
        raw = environ.get(option.name)
        if option.name == "AWS_REGION" and raw is None:
            raw = environ.get("AWS_DEFAULT_REGION")
        if raw is None or raw == "":
            settings[option.name] = option.default
        else:
            try:
                settings[option.name] = option.parse(raw)
            except ValueError as exc:
                raise SystemExit(f"{option.name}={raw!r} is not valid: {exc}") from exc
    return settings


def markdown_table() -> str:
    """The configuration table for the README."""
    lines = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    group = None
    for option in OPTIONS:
        if option.group != group:
            group = option.group
            lines.append(f"| **{group}** | | |")
        default = f"`{option.default}`" if option.default not in ("", None) else "—"
        lines.append(f"| `{option.name}` | {default} | {option.description} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
