"""Start-up checks: configuration problems that must stop the app, all reported at once.

The first check is ``load_settings`` itself: every value that cannot be read (a misspelt boolean
or backend name, a malformed number) is listed in one ``StartupError``. Then each check here is a
function of the settings and the process environment returning the problems it finds, each
naming the setting that fixes it. ``create_app`` runs every check in ``CHECKS`` before building
anything, so an operator fixes everything in one round instead of one failed deployment per
setting. To add a check, write such a function and append it to ``CHECKS``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from ..config import Settings, StartupError
from .secret_key import SecretUnavailable, ssm_secret

Check = Callable[[Settings, Mapping[str, str]], list[str]]


def on_lambda(environ: Mapping[str, str]) -> bool:
    """AWS Lambda sets this in every function's environment."""
    return bool(environ.get("AWS_LAMBDA_FUNCTION_NAME"))


def writes_protected(settings: Settings) -> bool:
    return bool(settings.admin_password or settings.admin_password_hash or settings.api_tokens.strip(" ,"))


def private_reads_need_a_credential(settings: Settings, environ: Mapping[str, str]) -> list[str]:
    if settings.public_read or writes_protected(settings):
        return []
    return ["GALLERY_PUBLIC_READ=0 needs GALLERY_ADMIN_PASSWORD(_HASH) or GALLERY_API_TOKENS: nobody could log in."]


def lambda_writes_protected(settings: Settings, environ: Mapping[str, str]) -> list[str]:
    """A Lambda stage has a public URL: uploads, deletes, cache changes and paid Rekognition calls
    must not be open to anyone unless the operator says so."""
    if not on_lambda(environ) or writes_protected(settings) or settings.allow_anonymous_writes:
        return []
    return [
        "On AWS Lambda anyone could upload, delete and run paid recognitions: set GALLERY_ADMIN_PASSWORD_HASH "
        "(a login) and/or GALLERY_API_TOKENS (scripts), or GALLERY_ALLOW_ANONYMOUS_WRITES=1 to allow it."
    ]


LOOPBACK = ("127.", "::1", "[::1]", "localhost")


def network_writes_protected(settings: Settings, environ: Mapping[str, str]) -> list[str]:
    """Listening on a non-loopback address, or behind a proxy that forwards outside clients (nginx on
    EC2: gunicorn itself listens on loopback), anyone who reaches the port could write."""
    facing = not settings.host.startswith(LOOPBACK) or settings.proxy_count > 0
    if not facing or writes_protected(settings) or settings.allow_anonymous_writes:
        return []
    proxied = "Behind a proxy (GALLERY_PROXY_COUNT)"
    where = f"HOST={settings.host}" if not settings.host.startswith(LOOPBACK) else proxied
    return [
        f"{where}, anyone who reaches the server could upload, delete and run recognitions: set "
        "GALLERY_ADMIN_PASSWORD_HASH (a login) and/or GALLERY_API_TOKENS (scripts), or "
        "GALLERY_ALLOW_ANONYMOUS_WRITES=1 to allow it."
    ]


def lambda_cache_shared(settings: Settings, environ: Mapping[str, str]) -> list[str]:
    """Each Lambda container has its own memory: an in-process cache there is paid for in every
    container, and its hit rate and statistics are per container."""
    if not on_lambda(environ) or settings.cache != "memory":
        return []
    return [
        "GALLERY_CACHE=memory keeps a separate cache in every Lambda container (memory paid in each, "
        "hit rates and statistics per container): set GALLERY_CACHE=memcached with GALLERY_MEMCACHED_SERVERS "
        "(ElastiCache), or GALLERY_CACHE=none."
    ]


def lambda_secret_key(settings: Settings, environ: Mapping[str, str]) -> list[str]:
    """Every container must sign sessions and CSRF tokens with the same key; a key made per container
    fails every form that another container rendered."""
    if not on_lambda(environ) or settings.secret_key:
        return []
    if not settings.secret_key_ssm:
        return [
            "No SECRET_KEY: every Lambda container would make its own, and forms rendered by one fail on "
            "another. Set GALLERY_SECRET_KEY_SSM to the name of an SSM SecureString holding the key "
            "(aws ssm put-parameter --type SecureString ...), or SECRET_KEY in the function's environment."
        ]
    try:
        ssm_secret(settings.secret_key_ssm, settings.aws_region)
    except SecretUnavailable as exc:
        return [str(exc)]
    return []


def media_url_fits(settings: Settings, environ: Mapping[str, str]) -> list[str]:
    """A CDN serves the bucket's renditions: from S3, and, when reads are private, only to signed
    URLs, so the key that signs them must be named and readable now, not at the first page."""
    if not settings.media_url:
        return []
    problems = []
    if not settings.media_url.startswith("https://"):
        problems.append(f"GALLERY_MEDIA_URL={settings.media_url!r} must be an https:// URL (the CDN's origin).")
    if settings.storage != "s3":
        problems.append("GALLERY_MEDIA_URL is a CDN in front of the S3 bucket: it needs GALLERY_STORAGE=s3.")
    if not settings.public_read:
        problems += cdn_signing_ready(settings)
    return problems


def cdn_signing_ready(settings: Settings) -> list[str]:
    key_sources = [name for name in ("cdn_private_key_ssm", "cdn_private_key_file") if getattr(settings, name)]
    if not settings.cdn_key_pair_id or not key_sources:
        return [
            "GALLERY_MEDIA_URL with GALLERY_PUBLIC_READ=0 gives readers signed CDN URLs: set GALLERY_CDN_KEY_PAIR_ID "
            "(the ID of the CloudFront public key in the distribution's trusted key group) and "
            "GALLERY_CDN_PRIVATE_KEY_SSM (an SSM SecureString holding its private key) or GALLERY_CDN_PRIVATE_KEY_FILE; "
            "`gallery init --cdn` prints the steps. Or unset GALLERY_MEDIA_URL."
        ]
    if len(key_sources) > 1:
        return ["Set one of GALLERY_CDN_PRIVATE_KEY_SSM and GALLERY_CDN_PRIVATE_KEY_FILE, not both."]
    from .cdn_key import CdnKeyUnavailable, signing_key  # the rsa package: only for private CDN galleries

    try:
        signing_key(settings)
    except CdnKeyUnavailable as exc:
        return [str(exc)]
    return []


CHECKS: list[Check] = [
    media_url_fits,
    private_reads_need_a_credential,
    lambda_writes_protected,
    network_writes_protected,
    lambda_cache_shared,
    lambda_secret_key,
]


def run_checks(settings: Settings, environ: Mapping[str, str] | None = None, checks: list[Check] | None = None) -> None:
    """Raise ``StartupError`` listing every problem the checks find (nothing when all pass)."""
    environ = os.environ if environ is None else environ
    checks = CHECKS if checks is None else checks
    problems = [problem for check in checks for problem in check(settings, environ)]
    if problems:
        raise StartupError(problems)
