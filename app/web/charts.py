"""The cache's last 30 minutes as line charts: inline SVG drawn here, on the server.

No script and no chart library: five polylines need neither, and the Content-Security-Policy
allows no inline script or ``style`` attribute (SVG presentation attributes and classes styled
from ``app.css`` are fine).
"""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT = 360, 100  # the SVG's viewBox: one unit per 5-s sample across


@dataclass
class Chart:
    id: str
    title: str
    latest: str  # the newest value, for people
    top: str  # the value at the top of the chart
    lines: list[str]  # polyline point lists; a gap (no data) splits the line

    @property
    def empty(self) -> bool:
        return not self.lines


def _count(n: float) -> str:
    return f"{n:,.0f}"


def _percent(x: float) -> str:
    return f"{x * 100:.1f}%"


def _bytes(n: float) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:.0f} B"


def _nice_top(peak: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10ⁿ at or above ``peak`` (so the top label is round)."""
    if peak <= 0:
        return 1
    scale = 1
    while scale * 10 <= peak:
        scale *= 10
    return next(scale * m for m in (1, 2, 2.5, 5, 10) if scale * m >= peak)


def polylines(values: list[float | None], top: float) -> list[str]:
    """``values`` (oldest first) as SVG point lists scaled into WIDTH × HEIGHT, split at gaps."""
    step = WIDTH / max(len(values) - 1, 1)
    lines, points = [], []
    for i, value in enumerate([*values, None]):
        if value is None:
            if len(points) == 1:  # a lone sample still shows, as a short dash
                x, y = points[0].split(",")
                points.append(f"{float(x) + 1.5:.1f},{y}")
            if points:
                lines.append(" ".join(points))
            points = []
            continue
        y = HEIGHT - min(value / top, 1.0) * HEIGHT
        points.append(f"{i * step:.1f},{y:.1f}")
    return lines


def _chart(id_: str, title: str, values: list, fmt, top: float | None = None) -> Chart:
    seen = [v for v in values if v is not None]
    top = top or _nice_top(max(seen, default=0))
    return Chart(id_, title, fmt(seen[-1]) if seen else "—", fmt(top), polylines(values, top))


def cache_charts(series: dict) -> list[Chart]:
    """The status page's charts from a cache's ``series`` (see ``app.cache.stats.chart``)."""
    return [
        _chart("hit-rate", "Hit rate", series["hit_rate"], _percent, top=1.0),
        _chart("miss-rate", "Miss rate", series["miss_rate"], _percent, top=1.0),
        _chart("requests", "Requests per minute", series["requests_per_minute"], _count),
        _chart("items", "Items", series["items"], _count),
        _chart("bytes", "Bytes", series["bytes"], _bytes),
    ]
