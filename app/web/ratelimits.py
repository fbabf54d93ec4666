"""Per-client rate limits on login and on the requests that make the server work, as
decorators for the views and one charge the processing views make themselves.

Each limit is read from the app's settings when a request comes (Flask-Limiter accepts a
callable), so every app that ``create_app`` builds keeps its own; ``off`` disables one. The
counters live where ``extensions.limiter_config`` puts them (memcached when configured).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time

from flask import g, request
from flask_limiter.util import get_remote_address
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

from ..core.errors import GalleryError
from .common import app_settings, bearer_token
from .extensions import limiter

log = logging.getLogger(__name__)

# What a 429 says was counted, by the limit's scope (shared limits) or the blueprint.
RATE_LIMITED = {
    "auth": "login attempts",
    "processing": "processing runs",
    "preview": "live previews",
    "recognition": "recognition runs",
    "uploads": "uploaded files",
    "share-opens": "share link openings",
    "share-passwords": "share link passwords",
    "share-media": "shared photo requests",
}


class RateLimited(GalleryError):
    """This client's budget for this kind of work is spent for now; the Retry-After header says for how long."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


def client_identity() -> str:
    """Who is asking, for the per-client share of the image workers: the API token (a digest of it)
    or the admin's login once authenticated (``auth.check_request`` ran first), else the address
    the rate limits count by."""
    if g.get("auth") == "bearer":
        return "token:" + hashlib.sha256((bearer_token() or "").encode()).hexdigest()[:16]
    if g.get("auth") == "session":
        return "login"
    return "address:" + get_remote_address()


def counted(exc) -> str:
    """What the limit a ``RateLimitExceeded`` names was counting."""
    scope = exc.limit.scope if isinstance(exc.limit.scope, str) else None
    return RATE_LIMITED.get(scope or request.blueprint or "", "requests")


def configured(value: str) -> str:
    """The limit as Flask-Limiter reads it (``10/minute``); '' means none."""
    value = value.strip()
    return "" if value.lower() in ("", "off", "none", "0") else value


def uploaded_files() -> int:
    """What an upload request costs: one per file it stores (the page form may carry several;
    answering "this key exists" stores each held file again)."""
    if request.endpoint == "pages.upload_submit":
        return max(1, sum(1 for f in request.files.getlist("file") if f.filename))
    if request.endpoint == "pages.upload_resolve":
        return max(1, len(request.form.getlist("token")))
    return 1


def is_preview() -> bool:
    """A live preview (``preview`` on /api/process): small work, counted in a budget of its own."""
    if request.is_json:
        try:
            body = request.get_json(silent=True)
        except RecursionError:  # the view answers that one
            body = None
        value = body.get("preview") if isinstance(body, dict) else None
    else:
        value = request.form.get("preview")
    return str(value).strip().lower() in ("1", "true", "on", "yes")


def ran_something(response) -> bool:
    """A result the cache answered cost nothing, so it is not counted."""
    return response.headers.get("X-Cache") != "hit"


# Only on submitting the password: logging out must always work.
login_attempts = limiter.limit(lambda: configured(app_settings().rate_limit_login))
# The page form and the JSON route share one budget per client. Every request counts, even a
# refused one: each may run the detector.
recognition_runs = limiter.shared_limit(lambda: configured(app_settings().rate_limit_recognize), scope="recognition")
# The Upload page, POST /api/images and direct-upload commits share one budget, counted in files.
uploads = limiter.shared_limit(
    lambda: configured(app_settings().rate_limit_upload), scope="uploads", cost=uploaded_files
)

# Share links, per address: opening a page (or its JSON pages), trying a password, and the photos
# a shared page loads (a page of thumbnails and a viewer's prefetching: many, small). Guessing a
# 256-bit token is hopeless anyway; these keep a link from being hammered or a password from
# being guessed.
SHARE_OPENS, SHARE_PASSWORDS, SHARE_MEDIA = "60/minute", "10/minute", "1200/minute"
share_opens = limiter.shared_limit(SHARE_OPENS, scope="share-opens")
share_passwords = limiter.shared_limit(SHARE_PASSWORDS, scope="share-passwords")
share_media = limiter.shared_limit(SHARE_MEDIA, scope="share-media")


# -- processing: only real work counts ------------------------------------------------------
# A result served from the cache costs next to nothing, so processing is charged by the view when
# work is about to happen (``Gallery.process(on_run=...)``), not on arrival. The charge is atomic
# (increment, then compare), so concurrent requests cannot overdraw the budget, and whether a
# result was cached is the server's own finding: a client cannot claim it.
@functools.cache
def _local_limiter() -> FixedWindowRateLimiter:
    """Counts in this process while the shared storage is unreachable."""
    return FixedWindowRateLimiter(MemoryStorage())


def charge_processing() -> None:
    """Count one processing run for this client, at most once per request; ``RateLimited`` (429)
    when the budget is spent."""
    _charge("processing", app_settings().rate_limit_process)


def charge_preview() -> None:
    """Count one live preview (a budget of its own, larger: each is small work at display size)."""
    _charge("preview", app_settings().rate_limit_preview)


def _charge(scope: str, limit: str) -> None:
    value = configured(limit)
    if not value or g.get(f"{scope}_charged"):
        return
    g.setdefault(f"{scope}_charged", True)
    item, who = parse(value), ("gallery", scope, get_remote_address())
    try:
        strategy = limiter.limiter
        allowed = strategy.hit(item, *who)
    except Exception as exc:  # shared storage down: count in this process rather than fail
        log.warning("Rate limit storage failed (%s); counting in this process", exc)
        strategy = _local_limiter()
        allowed = strategy.hit(item, *who)
    if allowed:
        return
    try:
        retry_after = max(1, int(strategy.get_window_stats(item, *who).reset_time - time.time()) + 1)
    except Exception:  # noqa: BLE001 - the storage failed since the hit: any positive wait will do
        retry_after = item.get_expiry()
    raise RateLimited(
        f"Too many {RATE_LIMITED[scope]} from your address: the limit is {item}. "
        "Wait a little (see the Retry-After header) and try again.",
        retry_after,
    )
