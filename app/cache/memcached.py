"""Image cache on a pool of memcached nodes.

pymemcache's ``HashClient`` spreads keys by rendezvous hashing, so adding or removing a node
moves only that node's share of keys. With ``ignore_exc`` a failing node answers "miss" (after
at most ``timeout``); after ``retry_attempts`` failures it leaves the ring for ``dead_timeout``
seconds and its keys go to the others. Nothing here ever raises into a request: a cache is only
a cache.

memcached refuses items over 1 MB (its default ``-I``), so larger values are stored as chunks
under keys unique to that write plus a small manifest under the value's own key, written last:
a reader sees the whole new value, the whole old one, or a miss.

Hits and misses are counted in memcached itself (``memcached_stats``), so the status page shows
every process's and container's lookups, not one worker's.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time

from pymemcache.client.hash import HashClient

from .base import Cache
from .memcached_stats import SharedStats

log = logging.getLogger(__name__)

CHUNK_BYTES = 1_000_000  # below memcached's 1 MiB item limit with room for key and header
_RAW, _MANIFEST = 0, 1  # memcached item flags


class _Manifest:
    def __init__(self, token: str, parts: int, size: int):
        self.token, self.parts, self.size = token, parts, size

    def encode(self) -> bytes:
        return f"{self.token}:{self.parts}:{self.size}".encode()

    @classmethod
    def decode(cls, raw: bytes) -> _Manifest | None:
        try:
            token, parts, size = raw.decode().split(":")
            return cls(token, int(parts), int(size))
        except ValueError:
            return None


class _Serde:
    """Bytes stay bytes (flag 0); a manifest is flagged 1 so it can never be mistaken for an image."""

    def serialize(self, key, value):
        if isinstance(value, _Manifest):
            return value.encode(), _MANIFEST
        return bytes(value), _RAW

    def deserialize(self, key, value, flags):
        if flags == _MANIFEST:
            return _Manifest.decode(value)
        return value


def parse_server(spec: str) -> tuple[str, int]:
    host, _, port = spec.strip().rpartition(":")
    if not host or not port.isdigit():
        raise SystemExit(f"GALLERY_MEMCACHED_SERVERS entry {spec!r} is not host:port")
    return host, int(port)


class MemcachedCache(Cache):
    kind = "memcached"
    policy = "lru"  # memcached evicts by (segmented) LRU per slab class

    def __init__(
        self,
        servers: list[str],
        timeout: float = 0.25,
        dead_timeout: float = 10.0,
        ttl: int = 86400,
        namespace: str = "gallery",
        tls_context=None,
        clock=time.time,
    ):
        if not servers:
            raise SystemExit("GALLERY_MEMCACHED_SERVERS lists no server")
        self.servers = [parse_server(s) for s in servers]
        self.timeout = timeout
        self.ttl = ttl
        self.namespace = namespace
        self._client = HashClient(
            self.servers,
            serde=_Serde(),
            connect_timeout=timeout,
            timeout=timeout,
            ignore_exc=True,
            retry_attempts=2,
            retry_timeout=1,
            dead_timeout=dead_timeout,
            use_pooling=True,  # one connection per thread at a time: the app serves requests in threads
            max_pool_size=16,
            default_noreply=False,  # acknowledged writes: a get right after a set sees it
            tls_context=tls_context,  # ElastiCache in-transit encryption
        )
        self._lock = threading.Lock()
        self.errors = 0
        self._stats = SharedStats(self._ring, self._mkey, self._node_totals, clock)

    # -- keys ----------------------------------------------------------------------------------
    def _mkey(self, key: str) -> str:
        # memcached keys are ≤ 250 printable bytes without spaces; anything else is hashed.
        if len(key) <= 200 and key.isascii() and key.isprintable() and " " not in key:
            return f"{self.namespace}:{key}"
        return f"{self.namespace}:h:{hashlib.blake2b(key.encode(), digest_size=20).hexdigest()}"

    def node_for(self, key: str) -> str:
        """The ``host:port`` that holds ``key`` (its manifest when chunked)."""
        return self._client.hasher.get_node(self._mkey(key))

    # -- the protocol ----------------------------------------------------------------------------
    def get(self, key: str) -> bytes | None:
        value = self._safe(self._get, key)
        self._stats.count(hit=value is not None)
        return value

    def _get(self, key: str) -> bytes | None:
        mkey = self._mkey(key)
        value = self._client.get(mkey)
        if not isinstance(value, _Manifest):
            return value
        names = [f"{mkey}:{value.token}:{i}" for i in range(value.parts)]
        found = self._client.get_many(names)
        if len(found) != value.parts:
            return None  # a chunk was evicted or its node is down
        data = b"".join(found[name] for name in names)
        return data if len(data) == value.size else None

    def set(self, key: str, value: bytes) -> None:
        if not self._safe(self._set, key, value):
            # Never leave an older value readable under this key after a failed write.
            self._safe(self._client.delete, self._mkey(key))

    def _set(self, key: str, value: bytes) -> bool:
        mkey = self._mkey(key)
        if len(value) <= CHUNK_BYTES:
            return bool(self._client.set(mkey, value, expire=self.ttl))
        token = secrets.token_hex(6)
        view = memoryview(value)
        chunks = {
            f"{mkey}:{token}:{n}": view[i : i + CHUNK_BYTES] for n, i in enumerate(range(0, len(value), CHUNK_BYTES))
        }
        if self._client.set_many(chunks, expire=self.ttl):  # returns the keys that failed
            return False
        return bool(self._client.set(mkey, _Manifest(token, len(chunks), len(value)), expire=self.ttl))

    def delete(self, key: str) -> None:
        # Chunks of a deleted value are unreachable without the manifest; memcached's LRU reclaims them.
        self._safe(self._client.delete, self._mkey(key))

    def clear(self) -> None:
        kept = self._stats.saved()  # the statistics survive emptying the cache
        self._safe(self._client.flush_all)
        if kept:
            self._stats.restore(kept)

    def _safe(self, func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except Exception as exc:  # HashClient's failover bookkeeping is not thread-safe; a race is a miss
            with self._lock:
                self.errors += 1
            log.warning("memcached %s failed: %s", func.__name__, exc)
            return None

    def reset_stats(self) -> None:
        """Start every process's counts again from zero."""
        with self._lock:
            self.errors = 0
        self._stats.reset()

    # -- statistics --------------------------------------------------------------------------------
    def node_stats(self) -> list[dict]:
        """memcached's own ``stats`` from every configured node; a node that does not answer
        within ``timeout`` is reported down."""
        in_ring = set(self._client.hasher.nodes)
        nodes = []
        for host, port in self.servers:
            name = f"{host}:{port}"
            node = {"server": name, "up": False, "in_ring": name in in_ring, "error": ""}
            client = self._client.clients.get(name)
            try:
                raw = {k.decode() if isinstance(k, bytes) else k: v for k, v in client.stats().items()}
                node.update(
                    up=True,
                    items=int(raw.get("curr_items", 0)),
                    bytes=int(raw.get("bytes", 0)),
                    capacity_bytes=int(raw.get("limit_maxbytes", 0)),
                    hits=int(raw.get("get_hits", 0)),
                    misses=int(raw.get("get_misses", 0)),
                    evictions=int(raw.get("evictions", 0)),
                    uptime=int(raw.get("uptime", 0)),
                    version=raw.get("version", b"").decode() if isinstance(raw.get("version"), bytes) else "",
                )
            except Exception as exc:
                node["error"] = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            nodes.append(node)
        return nodes

    def _ring(self) -> list[tuple[str, object]]:
        """``(host:port, client)`` of each node in the ring, in configured order."""
        ring = set(self._client.hasher.nodes)
        names = (f"{host}:{port}" for host, port in self.servers)
        return [(name, self._client.clients[name]) for name in names if name in ring]

    def _node_totals(self) -> tuple[int, int] | None:
        up = [n for n in self.node_stats() if n["up"]]
        return (sum(n["items"] for n in up), sum(n["bytes"] for n in up)) if up else None

    def series(self) -> dict:
        items, size = self._node_totals() or (None, None)
        return self._stats.chart(items, size)

    def check(self) -> str:
        """Health: 'ok' when every node answers ``stats``, else how many do (a down node only costs misses)."""
        nodes = self.node_stats()
        up = sum(node["up"] for node in nodes)
        return "ok" if up == len(nodes) else f"{up} of {len(nodes)} nodes up"

    def stats(self) -> dict:
        hits, misses = self._stats.totals()  # every process's, from memcached
        own = self._stats.own_keys()
        nodes = self.node_stats()
        up = [n for n in nodes if n["up"]]
        with self._lock:
            errors = self.errors
        requests = hits + misses
        return {
            "backend": self.kind,
            "hits": hits,
            "misses": misses,
            "requests": requests,
            "hit_rate": hits / requests if requests else 0.0,
            "errors": errors,
            "items": max(0, sum(n["items"] for n in up) - own),  # the images, not the statistics' keys
            "bytes": sum(n["bytes"] for n in up),
            "capacity_bytes": sum(n["capacity_bytes"] for n in up),
            "evictions": sum(n["evictions"] for n in up),
            "policy": self.policy,
            "nodes_up": len(up),
            "nodes": nodes,
        }

    def provision(self) -> list[str]:
        nodes = self.node_stats()
        down = [n["server"] for n in nodes if not n["up"]]
        line = f"cache: memcached, {len(nodes) - len(down)} of {len(nodes)} node(s) answering"
        return [line + (f"; down: {', '.join(down)}" if down else "")]
