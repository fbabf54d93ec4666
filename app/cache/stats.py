"""The cache's last 30 minutes as 5-second samples, for the status page's charts.

A sample is ``[hits, misses, items, bytes]`` for one 5-s bucket (``bucket = int(time // 5)``):
hits and misses counted in that bucket, items and bytes as last seen in it (``None``: not seen;
the chart carries the previous value forward). The in-process cache keeps its samples in
memory (``LocalSeries``); memcached keeps them in memcached itself, so every process and
container adds to the same ones (``memcached.py``). Both are drawn by ``chart``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

STEP = 5  # seconds per sample
SPAN = 30 * 60  # seconds charted
WINDOW = 60  # each point's rates are over the minute that ends with it
POINTS = SPAN // STEP
PER_WINDOW = WINDOW // STEP
KEEP = POINTS + PER_WINDOW - 1  # buckets a chart reads


def bucket_of(moment: float) -> int:
    return int(moment // STEP)


def chart_buckets(now: float) -> range:
    """The buckets a chart ending at ``now`` reads: its points and the minute before the first."""
    last = bucket_of(now)
    return range(last - KEEP + 1, last + 1)


def chart(samples: Mapping[int, list], now: float, carry: tuple[int, int] | None = None) -> dict:
    """Columns of one point per 5 s over the last 30 minutes, oldest first: hit and miss rate and
    requests per minute over the minute ending at each point (``None`` rates: no request), and
    items and bytes (``None`` until first seen; ``carry``: what was seen before the first bucket)."""
    last = bucket_of(now)
    first = last - POINTS + 1
    columns: dict = {"hit_rate": [], "miss_rate": [], "requests_per_minute": [], "items": [], "bytes": []}
    items, size = carry if carry else (None, None)
    hits = misses = 0
    start = last - KEEP + 1
    for bucket in range(start, last + 1):  # a sliding one-minute sum
        sample = samples.get(bucket)
        if sample:
            hits, misses = hits + sample[0], misses + sample[1]
            if sample[2] is not None:
                items, size = sample[2], sample[3]
        gone = samples.get(bucket - PER_WINDOW) if bucket - PER_WINDOW >= start else None
        if gone:
            hits, misses = hits - gone[0], misses - gone[1]
        if bucket < first:
            continue
        requests = hits + misses
        columns["hit_rate"].append(hits / requests if requests else None)
        columns["miss_rate"].append(misses / requests if requests else None)
        columns["requests_per_minute"].append(requests)
        columns["items"].append(items)
        columns["bytes"].append(size)
    return {"start": first * STEP, "step_seconds": STEP, "window_seconds": WINDOW, **columns}


class LocalSeries:
    """Samples kept in this process. Not thread-safe: the owner holds its own lock."""

    def __init__(self, clock: Callable[[], float] = time.time):
        self.clock = clock
        self.samples: dict[int, list] = {}
        self.carry: tuple[int, int] | None = None  # items and bytes last seen in a dropped sample

    def count(self, hits: int = 0, misses: int = 0) -> None:
        sample = self._current()
        sample[0] += hits
        sample[1] += misses

    def gauge(self, items: int, size: int) -> None:
        sample = self._current()
        sample[2], sample[3] = items, size

    def chart(self) -> dict:
        return chart(self.samples, self.clock(), self.carry)

    def _current(self) -> list:
        bucket = bucket_of(self.clock())
        sample = self.samples.get(bucket)
        if sample is None:
            sample = self.samples[bucket] = [0, 0, None, None]
            for old in sorted(b for b in self.samples if b <= bucket - KEEP):
                dropped = self.samples.pop(old)
                if dropped[2] is not None:
                    self.carry = (dropped[2], dropped[3])
        return sample
