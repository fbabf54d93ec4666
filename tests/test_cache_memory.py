"""The in-process cache: byte capacity, LRU and random replacement, exact statistics."""

from __future__ import annotations

import threading
from collections import OrderedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.cache import create_cache
from app.cache.memory import MemoryCache
from app.config import load_settings
from app.core.errors import InvalidParameter


def check_invariants(cache: MemoryCache, expected_values: dict[str, bytes] | None = None) -> None:
    stats = cache.stats()
    listed = cache.keys()
    held = {key: cache._entries[key] for key in listed}
    assert stats["bytes"] == sum(len(v) for v in held.values())
    assert stats["bytes"] <= stats["capacity_bytes"]
    assert stats["items"] == len(held)
    assert sorted(cache._keys) == sorted(held)  # the random-victim index matches the entries
    assert all(cache._keys[slot] == key for key, slot in cache._slots.items())
    if expected_values is not None:
        for key, value in held.items():
            assert value == expected_values[key]  # never a stale or foreign value


class LruModel:
    """A reference LRU with a byte budget, written as plainly as possible."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.entries: OrderedDict[str, bytes] = OrderedDict()
        self.hits = self.misses = 0

    def get(self, key):
        if key in self.entries:
            self.hits += 1
            self.entries.move_to_end(key)
            return self.entries[key]
        self.misses += 1
        return None

    def set(self, key, value):
        self.entries.pop(key, None)
        if len(value) > self.capacity:
            return
        while sum(map(len, self.entries.values())) + len(value) > self.capacity:
            self.entries.popitem(last=False)
        self.entries[key] = value

    def delete(self, key):
        self.entries.pop(key, None)


operations = st.lists(
    st.tuples(
        st.sampled_from(["get", "set", "set", "delete"]),
        st.sampled_from([f"k{i}" for i in range(8)]),
        st.integers(min_value=0, max_value=120),
    ),
    max_size=80,
)


@settings(max_examples=150, deadline=None)
@given(operations, st.integers(min_value=0, max_value=300))
def test_lru_matches_a_reference_model_and_never_exceeds_capacity(ops, capacity):
    cache, model = MemoryCache(capacity, "lru"), LruModel(capacity)
    for n, (op, key, size) in enumerate(ops):
        if op == "get":
            assert cache.get(key) == model.get(key)
        elif op == "set":
            value = bytes([n % 256]) * size
            cache.set(key, value)
            model.set(key, value)
        else:
            cache.delete(key)
            model.delete(key)
        check_invariants(cache)
        assert cache.keys() == list(model.entries)  # same eviction order, victim first
    stats = cache.stats()
    assert (stats["hits"], stats["misses"]) == (model.hits, model.misses)
    assert stats["requests"] == model.hits + model.misses


@settings(max_examples=150, deadline=None)
@given(operations, st.integers(min_value=0, max_value=300), st.integers(min_value=0, max_value=2**32))
def test_random_policy_keeps_the_invariants(ops, capacity, seed):
    cache = MemoryCache(capacity, "random", seed=seed)
    current: dict[str, bytes] = {}
    gets = hits = 0
    for n, (op, key, size) in enumerate(ops):
        if op == "get":
            gets += 1
            value = cache.get(key)
            hits += value is not None
            assert value is None or value == current[key]
        elif op == "set":
            value = bytes([n % 256]) * size
            current[key] = value
            cache.set(key, value)
            # The value just set is held whenever it fits: eviction never picks the newcomer.
            assert (cache.get(key) == value) if size <= capacity else (cache.get(key) is None)
            gets += 1
            hits += size <= capacity
        else:
            current.pop(key, None)
            cache.delete(key)
            listed = cache.keys()
            assert key not in listed
        check_invariants(cache, current)
    stats = cache.stats()
    assert (stats["requests"], stats["hits"], stats["misses"]) == (gets, hits, gets - hits)


def test_exact_hit_miss_and_request_counts():
    cache = MemoryCache(1000, "lru")
    assert cache.get("a") is None
    cache.set("a", b"x" * 10)
    assert cache.get("a") == b"x" * 10
    assert cache.get("a") == b"x" * 10
    assert cache.get("b") is None
    stats = cache.stats()
    assert stats == stats | {"hits": 2, "misses": 2, "requests": 4, "hit_rate": 0.5, "items": 1, "bytes": 10}
    assert stats["capacity_bytes"] == 1000 and stats["policy"] == "lru"
    cache.reset_stats()
    after = cache.stats()
    assert (after["hits"], after["misses"], after["requests"], after["hit_rate"]) == (0, 0, 0, 0.0)
    assert after["items"] == 1  # resetting counters keeps the entries


def test_lru_evicts_the_least_recently_used():
    cache = MemoryCache(30, "lru")
    for key in "abc":
        cache.set(key, key.encode() * 10)
    assert cache.get("a") == b"a" * 10  # 'a' is now the most recent; 'b' is next to go
    cache.set("d", b"d" * 10)
    assert cache.keys() == ["c", "a", "d"]
    cache.set("e", b"e" * 15)  # needs two victims: 'c' then 'a'
    assert cache.keys() == ["d", "e"]
    assert cache.stats()["evictions"] == 3
    assert cache.stats()["bytes"] == 25


def test_overwriting_a_key_replaces_its_bytes_and_refreshes_it():
    cache = MemoryCache(100, "lru")
    cache.set("a", b"1" * 40)
    cache.set("b", b"2" * 40)
    cache.set("a", b"3" * 10)
    assert cache.get("a") == b"3" * 10
    assert cache.stats()["bytes"] == 50 and cache.stats()["items"] == 2
    assert cache.keys() == ["b", "a"]


@pytest.mark.parametrize("policy", ["lru", "random"])
def test_an_item_larger_than_the_capacity_is_not_cached(policy):
    cache = MemoryCache(100, policy, seed=1)
    cache.set("small", b"s" * 60)
    cache.set("huge", b"h" * 101)
    assert cache.get("huge") is None
    assert cache.get("small") == b"s" * 60  # nothing was evicted for it
    cache.set("small", b"s" * 101)  # an oversized overwrite drops the old value too
    assert cache.get("small") is None
    assert cache.stats()["bytes"] == 0
    cache.set("exact", b"e" * 100)
    assert cache.get("exact") == b"e" * 100


@pytest.mark.parametrize("policy", ["lru", "random"])
def test_capacity_is_never_exceeded_under_random_sets(policy):
    import random

    rng = random.Random(7)
    cache = MemoryCache(10_000, policy, seed=3)
    for n in range(3000):
        cache.set(f"k{rng.randrange(400)}", bytes(rng.randrange(1, 2500)))
        if n % 50 == 0:
            check_invariants(cache)
        assert cache.stats()["bytes"] <= 10_000
    check_invariants(cache)
    assert cache.stats()["evictions"] > 0


def test_random_policy_with_a_seed_is_reproducible_and_evicts():
    def run(seed):
        cache = MemoryCache(50, "random", seed=seed)
        for i in range(40):
            cache.set(f"k{i}", bytes(10))
        return cache.keys(), cache.stats()["evictions"]

    first, evictions = run(42)
    assert run(42) == (first, evictions)
    assert evictions == 35 and len(first) == 5
    assert "k39" in first
    # Random replacement does not simply keep the newest five as LRU would.
    assert {tuple(run(seed)[0]) for seed in range(10)} != {("k35", "k36", "k37", "k38", "k39")}


def test_delete_and_clear():
    cache = MemoryCache(100, "random", seed=0)
    cache.set("a", b"1")
    cache.set("b", b"22")
    cache.delete("a")
    cache.delete("missing")  # absent keys are not an error
    assert cache.keys() == ["b"]
    check_invariants(cache)
    cache.clear()
    assert cache.stats()["items"] == 0 and cache.stats()["bytes"] == 0
    cache.set("c", b"333")
    assert cache.get("c") == b"333"
    check_invariants(cache)


def test_configure_shrinks_by_evicting_and_switches_policy():
    cache = MemoryCache(100, "lru")
    for key in "abcde":
        cache.set(key, bytes(20))
    cache.get("a")
    cache.configure(capacity_bytes=40)
    assert cache.keys() == ["e", "a"]
    cache.configure(policy="random")
    assert cache.stats()["policy"] == "random"
    cache.set("f", bytes(20))
    check_invariants(cache)
    with pytest.raises(InvalidParameter):
        cache.configure(capacity_bytes=1000, policy="fifo")
    assert cache.stats()["capacity_bytes"] == 40  # a rejected change changes nothing


def test_unknown_policy_is_rejected():
    with pytest.raises(InvalidParameter):
        MemoryCache(10, "mru")


def test_statistics_stay_exact_under_threads():
    cache = MemoryCache(1000, "lru")
    cache.set("hot", b"x")

    def worker():
        for i in range(500):
            cache.get("hot" if i % 2 else "cold")

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = cache.stats()
    assert (stats["hits"], stats["misses"], stats["requests"]) == (2000, 2000, 4000)


def test_factory_reads_capacity_and_policy_from_settings():
    config = {"GALLERY_CACHE": "memory", "GALLERY_CACHE_CAPACITY_MB": "2", "GALLERY_CACHE_POLICY": "random"}
    cache = create_cache(load_settings(config, environ={}))
    assert cache.stats()["capacity_bytes"] == 2 * 1024 * 1024
    assert cache.stats()["policy"] == "random"
