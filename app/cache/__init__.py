"""Caches: ``memory`` (in-process, default), ``memcached`` and ``none``; the protocol is ``base.Cache``."""

from __future__ import annotations

import ssl

from ..config import Settings
from .base import Cache


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """With GALLERY_MEMCACHED_TLS: a client context that verifies the nodes' certificates and names."""
    if not settings.memcached_tls:
        return None
    try:
        return ssl.create_default_context(cafile=settings.memcached_tls_ca_file or None)
    except (OSError, ssl.SSLError) as exc:
        raise SystemExit(
            f"GALLERY_MEMCACHED_TLS_CA_FILE={settings.memcached_tls_ca_file!r} is not usable: {exc}"
        ) from exc


def create_cache(settings: Settings) -> Cache:
    if settings.cache == "memory":
        from .memory import MemoryCache

        return MemoryCache(settings.cache_capacity_bytes, settings.cache_policy)
    if settings.cache == "memcached":
        from .memcached import MemcachedCache

        servers = [s.strip() for s in settings.memcached_servers.split(",") if s.strip()]
        return MemcachedCache(servers, timeout=settings.memcached_timeout, tls_context=tls_context(settings))
    if settings.cache == "none":
        from .memory import NoCache

        return NoCache()
    raise SystemExit(f"GALLERY_CACHE={settings.cache!r} is not one of: memory, memcached, none")
