"""Gallery benchmark: gallery page at 10,000 images, and cache hit vs miss for GET /images/<key>.

Run: .venv/bin/python bench/gallery.py [--records 10000] [--repeat 200]

Everything is measured in one process, side by side, as server time: the WSGI app called
with a prepared request environ and its whole body consumed (what gunicorn calls per
request; the HTTP parsing and socket are the same for every route), so the ratios hold
on a noisy machine. A hit on a versioned URL (``?v=``, what pages link) asks only the cache; an
unversioned one also reads the current version from the metadata. Targets (issue 3): gallery page <= 50 ms median and
<= 200 KB of HTML at 10,000 images; a cache hit >= 2x faster than a miss from local disk.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image
from werkzeug.test import EnvironBuilder

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import create_app  # noqa: E402

PHOTO = Path(__file__).resolve().parents[1] / "tests" / "data" / "dog.jpg"


def photo_bytes(size=(2048, 1536)) -> bytes:
    """A realistic photo-sized JPEG (about 1 MB): a committed photo upscaled, or noise."""
    if PHOTO.exists():
        image = Image.open(PHOTO).convert("RGB").resize(size, Image.Resampling.LANCZOS)
    else:
        image = Image.fromarray(np.random.default_rng(1).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


class Server:
    """Calls the WSGI app as a server would, timing only the app."""

    def __init__(self, app):
        self.app = app

    def get(self, path: str):
        environ = EnvironBuilder(path=path).get_environ()
        status = []
        body = b"".join(self.app.wsgi_app(environ, lambda s, h, exc_info=None: status.append(s)))
        return int(status[0].split()[0]), body


def median_ms(fn, repeat: int, before=None) -> float:
    times = []
    for _ in range(repeat):
        if before:
            before()
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"GALLERY_DATA_DIR": tmp, "SECRET_KEY": "bench", "GALLERY_CACHE_CAPACITY_MB": 256})
        gallery = app.extensions["services"]
        client = Server(app)

        # 20 real uploads (bytes, thumbnails, metadata) ...
        photo = photo_bytes()
        real = [gallery.library.upload(f"photos/real-{i:02d}.jpg", photo)[0] for i in range(20)]
        # ... then metadata for the rest, cloned from them: the gallery page reads only metadata.
        start = time.time()
        for i in range(args.records - len(real)):
            template = real[i % len(real)]
            gallery.metadata.put(
                replace(template, key=f"photos/{i:05d}.jpg", version=uuid.uuid4().hex, updated_at=start - i)
            )
        count = gallery.metadata.count()

        status, page = client.get("/gallery")
        assert status == 200, status
        html_kb = len(page) / 1024
        second_url = "/gallery?cursor=" + gallery.catalog.list()[1]
        gallery_ms = median_ms(lambda: client.get("/gallery"), args.repeat)
        gallery_next_ms = median_ms(lambda: client.get(second_url), args.repeat)
        prefix_ms = median_ms(lambda: client.get("/gallery?prefix=photos/09"), args.repeat)

        key = real[0].key
        url = f"/images/{key}"
        assert client.get(url)[0] == 200
        hit_ms = median_ms(lambda: client.get(url), args.repeat)
        versioned = f"{url}?v={real[0].version}"  # what every page links: no metadata read on a hit
        versioned_hit_ms = median_ms(lambda: client.get(versioned), args.repeat)
        hits_before = gallery.cache.stats()["hits"]
        miss_ms = median_ms(lambda: client.get(url), args.repeat, before=gallery.cache.clear)
        stats = gallery.cache.stats()
        assert stats["hits"] == hits_before, "the miss loop must not hit"

        thumb = f"/thumbs/{key}"
        client.get(thumb)
        thumb_hit_ms = median_ms(lambda: client.get(thumb), args.repeat)
        thumb_miss_ms = median_ms(lambda: client.get(thumb), args.repeat, before=gallery.cache.clear)

    print(f"records: {count:,}; photo: {len(photo) / 1024:.0f} KB JPEG; median of {args.repeat} requests")
    print(f"{'measurement':42} {'median ms':>10}  target")
    print(f"{'GET /gallery (first page, 48 thumbs)':42} {gallery_ms:10.2f}  <= 50 ms")
    print(f"{'GET /gallery?cursor=... (second page)':42} {gallery_next_ms:10.2f}  <= 50 ms")
    print(f"{'GET /gallery?prefix=photos/09':42} {prefix_ms:10.2f}  <= 50 ms")
    print(f"{'gallery page HTML size (KB)':42} {html_kb:10.1f}  <= 200 KB")
    print(f"{'GET /images/<key>?v=<version>  cache hit':42} {versioned_hit_ms:10.3f}")
    print(f"{'GET /images/<key>  cache hit':42} {hit_ms:10.3f}")
    print(f"{'GET /images/<key>  cache miss (local disk)':42} {miss_ms:10.3f}")
    print(f"{'GET /thumbs/<key>  cache hit':42} {thumb_hit_ms:10.3f}")
    print(f"{'GET /thumbs/<key>  cache miss (local disk)':42} {thumb_miss_ms:10.3f}")
    ratio = miss_ms / versioned_hit_ms  # pages link versioned URLs
    print(
        f"original: miss / versioned hit = {ratio:.2f}x  (target >= 2x); miss / unversioned hit = {miss_ms / hit_ms:.2f}x"
    )
    print(f"thumbnail: miss / hit = {thumb_miss_ms / thumb_hit_ms:.2f}x")
    ok = gallery_ms <= 50 and html_kb <= 200 and ratio >= 2
    print("targets met" if ok else "TARGETS MISSED")


if __name__ == "__main__":
    main()
