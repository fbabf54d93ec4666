"""Cache statistics: a 30-minute series of 5-s samples, shared by every process with memcached,
charted as inline SVG on the status page and returned by ``GET /api/cache/stats``."""

from __future__ import annotations

import re

import pytest
from conftest import make_app, make_image

from app.cache.memcached import MemcachedCache
from app.cache.memory import MemoryCache
from app.cache.stats import POINTS, chart
from app.web.charts import HEIGHT, polylines
from app.web.common import CONTENT_SECURITY_POLICY

pytest_plugins = ["cloud"]

T0 = 1_700_000_000.0  # a bucket boundary (divisible by 5)


class Clock:
    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_chart_is_360_points_with_rates_over_the_last_minute():
    first = int(T0 // 5) - POINTS + 1
    samples = {first + 100: [3, 1, 10, 1000], first + 105: [0, 4, None, None], first + 200: [0, 0, 12, 1200]}
    series = chart(samples, T0)
    assert series["start"] == first * 5 and series["step_seconds"] == 5 and series["window_seconds"] == 60
    for name in ("hit_rate", "miss_rate", "requests_per_minute", "items", "bytes"):
        assert len(series[name]) == POINTS
    assert series["hit_rate"][99] is None and series["requests_per_minute"][99] == 0
    assert (series["hit_rate"][100], series["miss_rate"][100], series["requests_per_minute"][100]) == (0.75, 0.25, 4)
    assert series["requests_per_minute"][105] == 8 and series["hit_rate"][105] == 3 / 8
    assert (
        series["requests_per_minute"][111] == 8 and series["requests_per_minute"][112] == 4
    )  # the first left the minute
    assert series["requests_per_minute"][117] == 0 and series["hit_rate"][117] is None
    assert series["items"][99] is None and series["items"][100] == series["items"][199] == 10  # carried forward
    assert series["items"][-1] == 12 and series["bytes"][-1] == 1200


def test_in_process_series_counts_lookups_and_sizes_and_forgets_after_half_an_hour():
    clock = Clock()
    cache = MemoryCache(1000, clock=clock)
    cache.set("a", b"12345")
    for key in ("a", "a", "b"):
        cache.get(key)
    clock.now += 30
    cache.get("a")
    series = cache.series()
    assert series["requests_per_minute"][-1] == 4 and series["hit_rate"][-1] == 0.75
    assert series["miss_rate"][-1] == 0.25 and (series["items"][-1], series["bytes"][-1]) == (1, 5)
    clock.now += 31 * 60
    series = cache.series()
    assert series["requests_per_minute"][-1] == 0 and set(series["hit_rate"]) == {None}
    assert series["items"][0] == 1  # the size seen long ago still stands
    assert len(cache._series.samples) <= POINTS + 12


def test_memcached_counts_every_process_together(own_memcached_pool):
    """Two processes (two clients): each counts locally and adds to memcached once a second; the
    totals and the series either one reports are both processes' lookups. Its own nodes: after
    flush_all memcached still counts flushed items in curr_items until it reclaims them."""
    clock = Clock()
    one, two = (MemcachedCache(own_memcached_pool.servers, timeout=0.5, clock=clock) for _ in range(2))
    one.set("img", b"x" * 100)
    for cache, lookups in ((one, ["img", "img", "nope"]), (two, ["img", "nope", "nope", "nope"])):
        for key in lookups:
            cache.get(key)
    clock.now += 1.5  # the next lookup flushes what this process counted
    two.get("img")
    one.get("img")
    for cache in (one, two):
        stats = cache.stats()
        assert (stats["hits"], stats["misses"], stats["requests"]) == (5, 4, 9)
        assert stats["hit_rate"] == pytest.approx(5 / 9)
    clock.now += 20
    two.get("img")
    clock.now += 1.5
    one.get("nope")
    series = one.series()
    assert series["requests_per_minute"][-1] == 11 and series["hit_rate"][-1] == pytest.approx(6 / 11)
    assert series["items"][-1] == one.stats()["items"] == 1  # the image; the statistics' own keys are not counted
    assert series == two.series()


def test_memcached_statistics_survive_clearing_and_reset_for_everyone(memcached_servers):
    clock = Clock()
    one, two = (MemcachedCache(memcached_servers, timeout=0.5, clock=clock) for _ in range(2))
    one.set("img", b"abc")
    one.get("img")
    two.get("img")
    clock.now += 6
    one.get("none")
    two.clear()
    assert one.get("img") is None
    assert (one.stats()["hits"], one.stats()["misses"]) == (2, 2)
    assert one.series()["requests_per_minute"][-1] == 4
    two.reset_stats()
    assert (one.stats()["hits"], one.stats()["misses"]) == (0, 0)


def test_a_dead_memcached_costs_statistics_not_requests():
    cache = MemcachedCache(["127.0.0.1:9"], timeout=0.1)  # nothing listens there
    assert cache.get("x") is None
    stats, series = cache.stats(), cache.series()
    assert stats["requests"] == 0 and len(series["hit_rate"]) == POINTS


def test_polylines_scale_split_at_gaps_and_show_lone_samples():
    lines = polylines([0, 5, None, 10, None, None], top=10)  # 360 units across: 72 per step
    assert lines == ["0.0,100.0 72.0,50.0", "216.0,0.0 217.5,0.0"]
    assert polylines([None, None], top=1) == []
    assert polylines([20], top=10) == [f"0.0,0.0 1.5,{0:.1f}"]  # clipped at the top
    assert HEIGHT == 100


def shown_charts(html: str) -> dict[str, tuple[str, list[str]]]:
    found = {}
    for figure in re.findall(r'<figure class="chart" id="chart-([a-z-]+)">(.*?)</figure>', html, re.S):
        name, body = figure
        latest = re.search(r"<strong>(.*?)</strong>", body).group(1)
        found[name] = (latest, re.findall(r'<polyline points="([^"]+)"/>', body))
    return found


def test_status_page_charts_the_last_half_hour_as_inline_svg(api, client, gallery):
    assert api.upload("a.png", make_image()).status_code == 201
    for _ in range(3):
        client.get("/images/a.png")
    client.get("/images/missing.png?v=0123")
    response = client.get("/cache")
    html = response.get_data(as_text=True)
    charts = shown_charts(html)
    assert list(charts) == ["hit-rate", "miss-rate", "requests", "items", "bytes"]
    assert charts["hit-rate"][0] == "50.0%" and charts["miss-rate"][0] == "50.0%"
    assert charts["requests"][0] == "4" and charts["items"][0] == "1"
    assert all(lines for _, lines in charts.values())
    assert html.count("<svg") == 5 and "<script" not in html.split("<main")[1].split("</main>")[0]
    assert not re.search(r"\sstyle=", html)  # the CSP allows no inline style
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "style-src 'self'" in CONTENT_SECURITY_POLICY


def test_api_returns_the_series(client, gallery):
    gallery.cache.get("anything")
    body = client.get("/api/cache/stats").get_json()
    series = body["series"]
    assert series["step_seconds"] == 5 and len(series["requests_per_minute"]) == POINTS
    assert series["requests_per_minute"][-1] == 1 and series["miss_rate"][-1] == 1.0


def test_cache_none_keeps_nothing_and_counts_misses(tmp_path):
    app = make_app(tmp_path, GALLERY_CACHE="none")
    gallery, client = app.extensions["services"], app.test_client()
    gallery.library.upload("a.png", make_image())
    assert client.get("/images/a.png").status_code == 200 and client.get("/images/a.png").status_code == 200
    stats = gallery.admin.cache_stats()
    assert (stats["backend"], stats["items"], stats["hits"], stats["misses"]) == ("none", 0, 0, 2)
    assert client.get("/cache").status_code == 200
