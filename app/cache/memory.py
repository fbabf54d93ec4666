"""In-process byte cache with a byte capacity and LRU or random replacement.

Statistics are exact: every ``get`` is one request and exactly one hit or one miss, all
counted under the same lock that guards the entries, with the last 30 minutes in 5-s samples.
They are this process's own: behind several workers or containers, use memcached.
"""

from __future__ import annotations

import random
import threading
import time
from collections import OrderedDict

from ..core.errors import InvalidParameter
from .base import Cache
from .stats import LocalSeries

POLICIES = ("lru", "random")


def check_policy(policy: str) -> str:
    if policy not in POLICIES:
        raise InvalidParameter(f"Cache policy must be one of {', '.join(POLICIES)}; got {policy!r}.")
    return policy


class MemoryCache(Cache):
    kind = "memory"

    def __init__(self, capacity_bytes: int, policy: str = "lru", seed: int | None = None, clock=time.time):
        self._lock = threading.Lock()
        self._series = LocalSeries(clock)
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        # For random replacement: a list of keys and each key's slot, so picking and removing
        # a random victim are both O(1).
        self._keys: list[str] = []
        self._slots: dict[str, int] = {}
        self._random = random.Random(seed)
        self.capacity_bytes = int(capacity_bytes)
        self.policy = check_policy(policy)
        self._bytes = 0
        self.hits = self.misses = self.evictions = 0

    # -- the protocol -------------------------------------------------------------------
    def get(self, key: str) -> bytes | None:
        with self._lock:
            value = self._entries.get(key)
            if value is None:
                self.misses += 1
                self._series.count(misses=1)
                return None
            self.hits += 1
            self._series.count(hits=1)
            if self.policy == "lru":
                self._entries.move_to_end(key)
            return value

    def set(self, key: str, value: bytes) -> None:
        size = len(value)
        with self._lock:
            self._remove(key)
            if size > self.capacity_bytes:
                return  # would evict everything and still not fit
            while self._bytes + size > self.capacity_bytes:
                self._evict_one()
            self._entries[key] = value
            self._slots[key] = len(self._keys)
            self._keys.append(key)
            self._bytes += size
            self._gauge()

    def delete(self, key: str) -> None:
        with self._lock:
            self._remove(key)
            self._gauge()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._keys.clear()
            self._slots.clear()
            self._bytes = 0
            self._gauge()

    def stats(self) -> dict:
        with self._lock:
            requests = self.hits + self.misses
            return {
                "backend": self.kind,
                "hits": self.hits,
                "misses": self.misses,
                "requests": requests,
                "hit_rate": (self.hits / requests) if requests else 0.0,
                "items": len(self._entries),
                "bytes": self._bytes,
                "capacity_bytes": self.capacity_bytes,
                "policy": self.policy,
                "evictions": self.evictions,
            }

    def series(self) -> dict:
        with self._lock:
            self._gauge()
            return self._series.chart()

    def check(self) -> str:
        return "ok"  # in this process: up whenever the app is

    # -- settings from the cache page ---------------------------------------------------
    def configure(self, capacity_bytes: int | None = None, policy: str | None = None) -> None:
        with self._lock:
            if policy is not None:
                self.policy = check_policy(policy)
            if capacity_bytes is not None:
                self.capacity_bytes = int(capacity_bytes)
                while self._bytes > self.capacity_bytes:
                    self._evict_one()
                self._gauge()

    def reset_stats(self) -> None:
        with self._lock:
            self.hits = self.misses = self.evictions = 0

    def keys(self) -> list[str]:
        """Keys from the next victim (LRU) to the most recently used."""
        with self._lock:
            return list(self._entries)

    # -- internals (lock held) ----------------------------------------------------------
    def _gauge(self) -> None:
        self._series.gauge(len(self._entries), self._bytes)

    def _remove(self, key: str) -> None:
        value = self._entries.pop(key, None)
        if value is None:
            return
        self._bytes -= len(value)
        slot = self._slots.pop(key)
        last = self._keys.pop()
        if last != key:  # move the last key into the freed slot
            self._keys[slot] = last
            self._slots[last] = slot

    def _evict_one(self) -> None:
        if self.policy == "lru":
            victim = next(iter(self._entries))
        else:
            victim = self._keys[self._random.randrange(len(self._keys))]
        self._remove(victim)
        self.evictions += 1


class NoCache(MemoryCache):
    """``GALLERY_CACHE=none``: nothing is kept, every read goes to the stores (and counts as a
    miss). For a Lambda stage without memcached, where an in-process cache would be one per
    container."""

    kind = "none"

    def __init__(self, clock=time.time):
        super().__init__(0, clock=clock)

    def set(self, key: str, value: bytes) -> None:
        pass

    def configure(self, capacity_bytes: int | None = None, policy: str | None = None) -> None:
        raise InvalidParameter("GALLERY_CACHE=none keeps nothing: there is nothing to configure.")
