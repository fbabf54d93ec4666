"""Labelling benchmark: what labels on every photo cost an upload with the local model.

Run: .venv/bin/python bench/labelling.py [--rounds 10]

Two apps side by side in one process, one with ``GALLERY_LABEL_ON_UPLOAD=1`` (the default) and one
with it off, take the same uploads interleaved round by round (``Gallery.upload``: decode, checks,
thumbnail, blobs on the local disk, SQLite record; and with labelling, detection). The photos are
the test photos and a 12 MP JPEG. The difference is what labelling adds to each upload.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from bench.recognition import PHOTOS, twelve_megapixels  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    photos = {name: (ROOT / "tests" / "data" / name).read_bytes() for name in PHOTOS}
    photos["12-MP-4000x3000.jpg"] = twelve_megapixels()

    with tempfile.TemporaryDirectory() as tmp:
        services = {
            labelled: create_app(
                {"GALLERY_DATA_DIR": f"{tmp}/{labelled}", "SECRET_KEY": "bench", "GALLERY_LABEL_ON_UPLOAD": labelled}
            ).extensions["services"]
            for labelled in (False, True)
        }
        for service in services.values():  # warm-up: model load, first forwards
            for name, data in photos.items():
                service.library.upload(f"warm/{name}", data)
        times = {(name, on): [] for name in photos for on in (False, True)}
        for i in range(args.rounds):
            for name, data in photos.items():
                for on, service in services.items():
                    started = time.perf_counter()
                    record, _ = service.library.upload(f"round{i}/{name}", data)
                    times[name, on].append((time.perf_counter() - started) * 1000)
                    assert record.labelled is on
        labels = services[True].get_record(f"round0/{PHOTOS[0]}").labels

    print(f"upload with the local model, median of {args.rounds} (labels of {PHOTOS[0]}: {', '.join(labels)})")
    print(f"{'photo':<20}{'labelling off':>15}{'labelling on':>14}{'added':>10}")
    added = []
    for name in photos:
        off, on = statistics.median(times[name, False]), statistics.median(times[name, True])
        added.append(on - off)
        print(f"{name:<20}{off:>12.1f} ms{on:>11.1f} ms{on - off:>7.1f} ms")
    print(f"labelling adds {statistics.median(added):.0f} ms per upload (median over the photos)")


if __name__ == "__main__":
    main()
