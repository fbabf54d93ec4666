"""memcached hit vs S3 miss through the app, and key movement when a fourth node joins.

Starts its own moto server (S3 + DynamoDB over HTTP) and memcached nodes on free loopback
ports, builds the app on s3 + dynamodb + memcached, and in one run, interleaved:

- times ``GET /images/<key>`` through the whole WSGI app when memcached holds the image (hit:
  with ``?v=<version>``, as pages link it, memcached alone; unversioned, a DynamoDB read for
  the current version first) and right after its entry was dropped (miss: DynamoDB read + S3
  GET + cache fill);
- stores keys on three nodes, adds a fourth, and counts the keys that now map elsewhere
  (rendezvous hashing should move about 1/4; target ≤ 35 %), both from the hash and by
  reading the keys back through a four-node client.

    python bench/cache.py [--images 20] [--rounds 15] [--keys 5000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from cloud import MemcachedPool, MotoServer  # noqa: E402  (test helpers: real processes, stopped by pid)


def sample_jpeg(seed: int, size=(1024, 768)) -> bytes:
    import io

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    base = np.linspace(0, 255, size[0], dtype=np.uint8)[None, :, None].repeat(size[1], 0).repeat(3, 2)
    noise = rng.integers(0, 40, (size[1], size[0], 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(base // 2 + noise).save(out, "JPEG", quality=90)
    return out.getvalue()


def timed_get(client, url: str, expected: bytes) -> float:
    started = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200 and response.data == expected, response.status_code
    return elapsed


def hit_vs_miss(servers: list[str], images: int, rounds: int) -> None:
    from app import create_app
    from app.core.blobs import ORIGINAL, version_cache_key

    with tempfile.TemporaryDirectory() as data_dir:
        app = create_app(
            {
                "GALLERY_DATA_DIR": data_dir,
                "GALLERY_STORAGE": "s3",
                "GALLERY_METADATA": "dynamodb",
                "GALLERY_CACHE": "memcached",
                "GALLERY_S3_BUCKET": "bench-cache",
                "GALLERY_DYNAMODB_TABLE": "bench-cache",
                "GALLERY_MEMCACHED_SERVERS": ",".join(servers),
                "SECRET_KEY": "bench",
            }
        )
        result = app.test_cli_runner().invoke(args=["gallery", "init"])
        assert result.exit_code == 0, result.output
        service, client = app.extensions["services"], app.test_client()
        stored = {}
        for i in range(images):
            data = sample_jpeg(i)
            record, _ = service.library.upload(f"bench/{i}.jpg", data)
            stored[f"bench/{i}.jpg"] = (data, record.version)
        hits, versioned_hits, misses = [], [], []
        for _ in range(rounds):
            for key, (data, version) in stored.items():
                service.cache.delete(version_cache_key(ORIGINAL, version))
                misses.append(timed_get(client, f"/images/{key}", data))
                hits.append(timed_get(client, f"/images/{key}", data))
                versioned_hits.append(timed_get(client, f"/images/{key}?v={version}", data))
        size = statistics.median(len(d) for d, _ in stored.values())
        hit, miss, versioned = statistics.median(hits), statistics.median(misses), statistics.median(versioned_hits)
        print(f"GET /images/<key> through the app, {len(hits)} requests each, median image {size / 1024:.0f} KB:")
        print(f"  memcached hit, ?v=<version> : {versioned * 1000:7.2f} ms  (memcached only)")
        print(f"  memcached hit, unversioned  : {hit * 1000:7.2f} ms  (DynamoDB GetItem on moto + memcached)")
        print(f"  S3 miss                     : {miss * 1000:7.2f} ms  (GetItem + S3 GetObject on moto + cache fill)")
        print(f"  miss / versioned hit        : {miss / versioned:7.1f}x  (target ≥ 5x)")
        stats = service.cache.stats()
        print(f"  app hit rate  : {stats['hit_rate']:.1%} over {stats['requests']} cache lookups")


def key_movement(pool: MemcachedPool, keys: int) -> None:
    from app.cache.memcached import MemcachedCache
    from app.core.blobs import ORIGINAL, version_cache_key

    names = [version_cache_key(ORIGINAL, f"{i:032x}") for i in range(keys)]
    three = MemcachedCache(pool.servers, timeout=1.0)
    for name in names:
        three.set(name, b"v")
    before = {name: three.node_for(name) for name in names}
    pool.add()
    four = MemcachedCache(pool.servers, timeout=1.0)
    after = {name: four.node_for(name) for name in names}
    moved = sum(before[n] != after[n] for n in names)
    to_new = sum(after[n] == pool.servers[-1] for n in names if before[n] != after[n])
    still_found = sum(four.get(n) is not None for n in names)
    print(f"Adding a 4th memcached node to 3, {keys} keys:")
    print(
        f"  keys whose node changed : {moved / keys:.1%} (target ≤ 35%; ideal 25%), all to the new node: {to_new == moved}"
    )
    print(f"  keys still readable     : {still_found / keys:.1%} (measured through the 4-node client)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--keys", type=int, default=5000)
    args = parser.parse_args()
    moto = MotoServer()
    pool = None
    try:
        os.environ.update(moto.env())
        pool = MemcachedPool(3)
        hit_vs_miss(pool.servers, args.images, args.rounds)
        pool.flush()
        key_movement(pool, args.keys)
    finally:
        if pool:
            pool.stop()
        moto.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
