"""What the gallery asks of an image cache. A cache is only a cache: failures are misses, never errors.

Backends implement the abstract methods; the others have a harmless default, so nothing asks a
cache what it can do.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod

from ..core.errors import InvalidParameter
from .stats import chart


class Cache(ABC):
    kind = ""  # the GALLERY_CACHE name, shown on the status page

    @abstractmethod
    def get(self, key: str) -> bytes | None: ...

    @abstractmethod
    def set(self, key: str, value: bytes) -> None: ...

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def clear(self) -> None: ...

    def check(self) -> str:
        """Health: "ok", or a short reason (no names, it is public), answered quickly (see app.runtime.health)."""
        return "ok"

    @abstractmethod
    def stats(self) -> dict:
        """At least: backend, hits, misses, hit_rate, items, bytes, capacity_bytes, policy, requests."""

    def series(self) -> dict:
        """The last 30 minutes in 5-s samples (``stats.chart``): hit and miss rate, requests per
        minute, items and bytes."""
        return chart({}, time.time())

    @abstractmethod
    def reset_stats(self) -> None:
        """Start the counters that ``stats`` reports again from zero."""

    def configure(self, capacity_bytes: int | None = None, policy: str | None = None) -> None:
        """Change capacity and replacement policy at run time, where the app owns them."""
        raise InvalidParameter("This cache backend is configured by its servers, not from this page.")

    def provision(self) -> list[str]:
        """Check or create what the cache needs (``flask gallery init``); say what was found."""
        return [f"cache: {self.kind} (nothing to create)"]
