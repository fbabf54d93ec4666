"""Caches: ``memory`` (in-process, default) and ``memcached``."""


def create_cache(settings: dict):
    kind = settings["GALLERY_CACHE"]
    if kind == "memory":
        from .memory import MemoryCache

        return MemoryCache(int(settings["GALLERY_CACHE_CAPACITY_MB"] * 1024 * 1024), settings["GALLERY_CACHE_POLICY"])
    if kind == "memcached":
        from .memcached import MemcachedCache

        servers = [s.strip() for s in settings["GALLERY_MEMCACHED_SERVERS"].split(",") if s.strip()]
        return MemcachedCache(servers, timeout=settings["GALLERY_MEMCACHED_TIMEOUT"])
    raise SystemExit(f"GALLERY_CACHE={kind!r} is not one of: memory, memcached")
