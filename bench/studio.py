"""Processing studio benchmark: a live preview against the full-size run it stands for.

    python bench/studio.py [--repeat N]

The source is a 4032×3024 JPEG (12 MP) stored in the gallery (bench/processing.py makes it).
Each request is ``POST /api/process`` through the whole app in this process (routing, form
parsing, the service, the cache) with a 4-step chain — crop, rotate 3°, sharpen, sepia —
whose sharpen amount changes on every request, as a slider does, so no result is a cache
hit. ``preview=1`` runs it on the source's display-size rendition (made on the first preview,
timed separately, then cached); without it, on the full 12 MP. Target: preview p50 ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from processing import HEIGHT, WIDTH, make_source  # noqa: E402

from app import create_app  # noqa: E402
from app.processing.preview import PREVIEW_SIDE  # noqa: E402

TARGET_MS = 100


def chain(i: int) -> list[dict]:
    return [
        {"op": "crop", "x": 200, "y": 150, "width": WIDTH - 400, "height": HEIGHT - 300},
        {"op": "rotate", "angle": 3},
        {"op": "sharpen", "amount": round(0.5 + i * 0.01, 2), "radius": 2},
        {"op": "color", "mode": "sepia"},
    ]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "GALLERY_DATA_DIR": tmp,
                "SECRET_KEY": "bench",
                "GALLERY_API_TOKENS": "bench",
                "GALLERY_RATE_LIMIT_PROCESS": "off",
                "GALLERY_RATE_LIMIT_PREVIEW": "off",
                "GALLERY_CACHE_CAPACITY_MB": "256",
            }
        )
        source = make_source()
        app.extensions["services"].library.upload("bench/12mp.jpg", source)
        client = app.test_client()
        headers = {"Authorization": "Bearer bench"}

        def post(i: int, preview: bool) -> float:
            fields = {"source_key": "bench/12mp.jpg", "ops": json.dumps(chain(i))}
            if preview:
                fields["preview"] = "1"
            start = time.perf_counter()
            response = client.post("/api/process", data=fields, headers=headers)
            elapsed = (time.perf_counter() - start) * 1000
            assert response.status_code == 200, response.get_data(as_text=True)
            assert response.headers["X-Cache"] == "miss"
            return elapsed

        first = post(0, preview=True)  # makes and caches the rendition
        preview = [post(i, preview=True) for i in range(1, args.repeat + 1)]
        full = [post(i, preview=False) for i in range(1, max(5, args.repeat // 3) + 1)]

    print(f"Source {WIDTH}×{HEIGHT} JPEG ({len(source) / 1e6:.1f} MB); chain: crop, rotate 3°, sharpen, sepia")
    print(f"rendition ≤ {PREVIEW_SIDE} px, made once on the first preview: {first:.0f} ms")
    header = f"{'POST /api/process':<22}{'runs':>6}{'p50 ms':>9}{'p95 ms':>9}"
    print(header + "\n" + "-" * len(header))
    for name, times in (("preview=1", preview), ("full size", full)):
        print(f"{name:<22}{len(times):>6}{statistics.median(times):>9.1f}{percentile(times, 0.95):>9.1f}")
    p50 = statistics.median(preview)
    print(f"full / preview (p50): {statistics.median(full) / p50:.1f}×")
    print(f"preview p50 {p50:.1f} ms: {'meets' if p50 <= TARGET_MS else 'MISSES'} the {TARGET_MS} ms target")


if __name__ == "__main__":
    main()
