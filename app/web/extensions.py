"""The Flask extensions, created once and bound to each app by ``create_app``."""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect

from ..cache import tls_context
from ..config import Settings

csrf = CSRFProtect()
# Per client address. The limits themselves are decorators on the views (web/ratelimits.py)
# that read the app's configured values on each request; where the counters live comes from the
# app's config (limiter_config). Each init_app starts them afresh (one app per process in production).
limiter = Limiter(key_func=get_remote_address, headers_enabled=True, default_limits=[])


def limiter_config(settings: Settings) -> dict:
    """Flask-Limiter's settings: counters in memcached when the image cache is there, so every
    worker and Lambda container counts against one budget per client; else in this process.
    A memcached outage falls back to counting in this process rather than failing requests.
    Under GALLERY_MEMCACHED_TLS the counters' client verifies the nodes as the cache's does;
    without it a TLS-only node never answers and every container would count on its own."""
    config = {"RATELIMIT_STORAGE_URI": "memory://", "RATELIMIT_KEY_PREFIX": "gallery"}
    if settings.cache == "memcached":
        servers = ",".join(s.strip() for s in settings.memcached_servers.split(",") if s.strip())
        timeout = settings.memcached_timeout
        config["RATELIMIT_STORAGE_URI"] = f"memcached://{servers}"
        # Always named, None included: Flask-Limiter merges each init_app's options into the last's.
        config["RATELIMIT_STORAGE_OPTIONS"] = {
            "connect_timeout": timeout,
            "timeout": timeout,
            "tls_context": tls_context(settings),  # pymemcache's clients take it as they are made
        }
        config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] = True
    return config
