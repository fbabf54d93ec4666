"""Image cache protocol. A cache is only a cache: failures are misses, never errors."""

from typing import Protocol


class Cache(Protocol):
    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes) -> None: ...

    def delete(self, key: str) -> None: ...

    def clear(self) -> None: ...

    def stats(self) -> dict:
        """At least: hits, misses, hit_rate, items, bytes, capacity_bytes, policy, requests."""
