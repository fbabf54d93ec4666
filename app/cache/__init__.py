"""Caches: ``memory`` (in-process, default) and ``memcached``; the protocol is ``base.Cache``."""

from __future__ import annotations

from ..config import Settings
from .base import Cache


def create_cache(settings: Settings) -> Cache:
    if settings.cache == "memory":
        from .memory import MemoryCache

        return MemoryCache(settings.cache_capacity_bytes, settings.cache_policy)
    if settings.cache == "memcached":
        from .memcached import MemcachedCache

        servers = [s.strip() for s in settings.memcached_servers.split(",") if s.strip()]
        return MemcachedCache(servers, timeout=settings.memcached_timeout)
    raise SystemExit(f"GALLERY_CACHE={settings.cache!r} is not one of: memory, memcached")
