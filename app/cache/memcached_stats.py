"""Cache statistics kept in memcached itself, so every process and container counts together.

They live on one node, the first configured one that is up (so every process picks the same
one), addressed directly: reading the ~750 keys of a chart then costs one round trip and no
hashing (pymemcache hashes each key in Python, ~20 µs a node).

A lookup costs a lock and an addition in this process; at most once a second (``FLUSH_EVERY``)
the process adds what it counted to memcached with ``incr``:

- ``stats:hits`` and ``stats:misses``: every process's lookups since the last reset;
- ``stats:<bucket>``: the lookups of one 5-s bucket, hits and misses in one counter
  (``hits << 32 | misses``, so a flush is one ``incr`` per bucket);
- ``stats:<bucket>:size``: ``items bytes`` of all nodes, written once per bucket by whichever
  process flushes first in it (it claims the key with ``add``).

Bucket keys expire just after the chart stops reading them. ``items`` is the nodes' own count
less these few hundred small keys (``bytes`` keeps their few dozen KB). Counts are as
approximate as the cache: when the statistics node dies its counts go with it (the next node
takes over), and a process that is killed loses its last second of lookups. A node that fails
a statistics call is skipped for ``DOWN_FOR`` seconds, so a hung node costs one timeout.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from .stats import KEEP, STEP, bucket_of, chart

log = logging.getLogger(__name__)

FLUSH_EVERY = 1.0  # seconds between a process's flushes
DOWN_FOR = 10.0  # seconds a node that failed a statistics call is not asked again
TTL = (KEEP + 2) * STEP  # a bucket's keys outlive the chart's reach by a bucket or two
TOTALS = ("stats:hits", "stats:misses")
MISSES = (1 << 32) - 1  # the low half of a bucket's counter


class SharedStats:
    def __init__(self, nodes: Callable[[], list], mkey: Callable[[str], str], node_totals: Callable, clock=time.time):
        self._nodes = nodes  # [(name, pymemcache client)] of the nodes in the ring, in configured order
        self._mkey = mkey
        self._node_totals = node_totals  # (items, bytes) of the nodes that answer, or None
        self.clock = clock
        self._down: dict[str, float] = {}  # node -> monotonic time until which it is skipped
        self._lock = threading.Lock()
        self._pending: dict[int, list[int]] = {}  # bucket -> [hits, misses] not yet in memcached
        self._flushed_at = clock()
        self._claimed: int | None = None  # the last bucket this process tried to size

    # -- the hot path --------------------------------------------------------------------------
    def count(self, hit: bool) -> None:
        now = self.clock()
        with self._lock:
            counts = self._pending.get(bucket_of(now))
            if counts is None:
                counts = self._pending[bucket_of(now)] = [0, 0]
            counts[0 if hit else 1] += 1
            due = now - self._flushed_at >= FLUSH_EVERY
        if due:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
            self._flushed_at = self.clock()
        if pending:
            self._run(self._add_counts, pending)
        self._run(self._size)

    def _add_counts(self, client, pending: dict[int, list[int]]) -> None:
        for bucket, (hits, misses) in pending.items():
            self._incr(client, f"stats:{bucket}", hits << 32 | misses, TTL)
        self._incr(client, TOTALS[0], sum(c[0] for c in pending.values()))
        self._incr(client, TOTALS[1], sum(c[1] for c in pending.values()))

    def _incr(self, client, name: str, n: int, expire: int = 0) -> None:
        if not n:
            return
        key = self._mkey(name)
        if client.incr(key, n) is None and not client.add(key, str(n).encode(), expire=expire):
            client.incr(key, n)  # another process created it meanwhile

    def _size(self, client) -> None:
        """Once per bucket, whichever process claims it first records the nodes' items and bytes."""
        bucket = bucket_of(self.clock())
        if bucket == self._claimed:
            return
        self._claimed = bucket
        key = self._mkey(f"stats:{bucket}:size")
        if not client.add(key, b"-", expire=TTL):
            return  # another process sizes this bucket
        nodes = self._node_totals()
        if nodes is not None:
            own = len(self._read(client, bucket * STEP)) + len(TOTALS)
            client.set(key, f"{max(0, nodes[0] - own)} {nodes[1]}".encode(), expire=TTL)

    def _run(self, work, *args, default=None):
        """``work(client, *args)`` on the statistics node; a failure is logged and that node skipped for a while."""
        now = time.monotonic()
        node = next((node for node in self._nodes() if self._down.get(node[0], 0.0) <= now), None)
        if node is None:
            return default
        name, client = node
        try:
            return work(client, *args)
        except Exception as exc:  # statistics never fail a request
            self._down[name] = now + DOWN_FOR
            log.warning("memcached statistics on %s failed: %s", name, exc)
            return default

    # -- reading -------------------------------------------------------------------------------
    def totals(self) -> tuple[int, int]:
        """Every process's hits and misses since the last reset (this one's included now)."""
        self.flush()
        return self._run(self._totals, default=(0, 0))

    def _totals(self, client) -> tuple[int, int]:
        keys = [self._mkey(name) for name in TOTALS]
        found = client.get_many(keys)
        return _int(found.get(keys[0])), _int(found.get(keys[1]))

    def own_keys(self) -> int:
        """How many keys the statistics hold now (to leave out of the item count)."""
        return self._run(lambda client: len(self._saved(client)), default=0)

    def _names(self, now: float) -> dict[str, tuple[int, str]]:
        last = bucket_of(now)
        names = {}
        for bucket in range(last - KEEP + 1, last + 1):
            names[self._mkey(f"stats:{bucket}")] = (bucket, "count")
            names[self._mkey(f"stats:{bucket}:size")] = (bucket, "size")
        return names

    def _read(self, client, now: float) -> dict[str, bytes]:
        return client.get_many(list(self._names(now)))

    def chart(self, items: int | None = None, size: int | None = None) -> dict:
        """The shared series (``stats.chart``); ``items`` and ``size``: the nodes' counts now."""
        self.flush()
        now = self.clock()
        found = self._run(self._read, now, default={})
        names = self._names(now)
        samples: dict[int, list] = {}
        for key, raw in found.items():
            bucket, kind = names[key]
            sample = samples.setdefault(bucket, [0, 0, None, None])
            parts = raw.split()
            if kind == "count":
                sample[0], sample[1] = _int(raw) >> 32, _int(raw) & MISSES
            elif len(parts) == 2:  # (a claimed bucket reads "-" until it is sized)
                sample[2], sample[3] = int(parts[0]), int(parts[1])
        if items is not None:  # the newest point shows the nodes as they are now
            sample = samples.setdefault(bucket_of(now), [0, 0, None, None])
            sample[2], sample[3] = max(0, items - len(found) - len(TOTALS)), size
        return chart(samples, now)

    # -- resets ----------------------------------------------------------------------------------
    def reset(self) -> None:
        with self._lock:
            self._pending = {}
        self._run(lambda client: client.delete_many([self._mkey(name) for name in TOTALS]))

    def saved(self) -> dict[str, bytes]:
        """The statistics' own keys, to put back after a ``flush_all`` empties the cache."""
        self.flush()
        return self._run(self._saved, default={})

    def _saved(self, client) -> dict[str, bytes]:
        return client.get_many([self._mkey(name) for name in TOTALS]) | self._read(client, self.clock())

    def restore(self, saved: dict[str, bytes]) -> None:
        totals = {self._mkey(name) for name in TOTALS}

        def put_back(client):
            client.set_many({k: v for k, v in saved.items() if k in totals})
            client.set_many({k: v for k, v in saved.items() if k not in totals}, expire=TTL)

        self._run(put_back)


def _int(raw) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return 0
